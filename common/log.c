/*
 * log: one line per event on stderr. Under systemd the daemon style prefixes
 * each line with its syslog priority (<3> err ... <7> debug) so journald
 * records levels without a syslog socket. log_warn and fatal append
 * strerror(errno) like their OpenBSD namesakes; the x variants do not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char	*log_prog = "hivejob";
static enum log_style	 log_style = LOG_STYLE_CLI;
static int		 log_verbosity;

static void	log_vwrite(int, int, const char *, va_list);

void
log_init(const char *prog, enum log_style style, int verbose)
{
	log_prog = prog;
	log_style = style;
	log_verbosity = verbose;
}

void
log_set_verbose(int v)
{
	log_verbosity = v;
}

int
log_verbose(void)
{
	return log_verbosity;
}

static void
log_vwrite(int prio, int with_errno, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_style == LOG_STYLE_DAEMON) {
		if (with_errno)
			fprintf(stderr, "<%d>%s: %s\n", prio, msg, strerror(saved));
		else
			fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		if (with_errno)
			fprintf(stderr, "%s: %s: %s\n", log_prog, msg, strerror(saved));
		else
			fprintf(stderr, "%s: %s\n", log_prog, msg);
	}
	errno = saved;
}

#define LOG_FN(name, prio, witherr, cond)			\
void								\
name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	if (!(cond))						\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite(prio, witherr, fmt, ap);			\
	va_end(ap);						\
}

LOG_FN(log_err, 3, 0, 1)
LOG_FN(log_warn, 4, 1, 1)
LOG_FN(log_warnx, 4, 0, 1)
LOG_FN(log_notice, 5, 0, 1)
LOG_FN(log_info, 6, 0, 1)
LOG_FN(log_debug, 7, 0, log_verbosity > 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(2, 1, fmt, ap);
	va_end(ap);
	exit(70);	/* EX_SOFTWARE */
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(2, 0, fmt, ap);
	va_end(ap);
	exit(70);
}
