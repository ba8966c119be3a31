/* log: messages to stderr, journald priority prefixes for daemons. */
#ifndef HIVEJOB_LOG_H
#define HIVEJOB_LOG_H

#include <stdarg.h>

enum log_style {
	LOG_STYLE_CLI,		/* "hivejobctl: message" */
	LOG_STYLE_DAEMON	/* "<3>message", read by journald */
};

void	log_init(const char *, enum log_style, int);
void	log_set_verbose(int);
int	log_verbose(void);

void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
