/*
 * hivejobd: claim River jobs and run each in its own confined child.
 * See hivejobd(8) and hivejobd.conf(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "hivejobd.h"
#include "log.h"

struct sup sup;

static void	usage(void) __attribute__((noreturn));
static int	workdir_make(const struct conf *);

static void
usage(void)
{
	fprintf(stderr, "usage: hivejobd [-nv] [-c file]\n");
	exit(EX_USAGE);
}

/*
 * The base of the slot directories. With uid isolation the slots create
 * their own directories in it, so it is sticky and writable by all but
 * listable by nobody else, like /tmp without the reading.
 */
static int
workdir_make(const struct conf *cf)
{
	mode_t mode = cf->isolation == ISOLATION_UID ? 01733 : 0700;

	if (mkdir(cf->workdir, mode) == -1 && errno != EEXIST)
		return -1;
	return chmod(cf->workdir, mode);
}

/*
 * SIGHUP: read the file again. A broken file changes nothing; a good one
 * takes effect for jobs started from now on (running ones keep what they
 * started with). What names this process to the world or shapes its
 * slots (database, id, max_children, uids, user, isolation, workdir) needs
 * a restart, and the old value is kept with a warning.
 */
void
conf_reload(void)
{
	struct conf	*n, *o = sup.conf;
	char		 err[1024];

	if ((n = conf_load(sup.conf_path, err, sizeof(err))) == NULL) {
		log_err("reload refused, keeping the running configuration: %s", err);
		return;
	}
#define KEEP_STR(f) do {						\
	if (strcmp(n->f ? n->f : "", o->f ? o->f : "") != 0)		\
		log_warnx("reload: %s changes only with a restart", #f);	\
	free(n->f);							\
	n->f = o->f ? xstrdup(o->f) : NULL;				\
} while (0)
#define KEEP_NUM(f) do {						\
	if (n->f != o->f)						\
		log_warnx("reload: %s changes only with a restart", #f);	\
	n->f = o->f;							\
} while (0)
	KEEP_STR(conninfo);
	KEEP_STR(schema);
	KEEP_STR(id);
	KEEP_STR(user);
	KEEP_STR(workdir);
	KEEP_NUM(max_children);
	KEEP_NUM(job_uid_base);
	KEEP_NUM(isolation);
	KEEP_NUM(lease_ms);
#undef KEEP_STR
#undef KEEP_NUM
	sup.conf = n;
	lease_reload();
	metrics_reload();
	sup.claim_queue_next = 0;
	sup.claim_wanted = 1;
	conf_free(o);
	log_notice("configuration reloaded from %s: %d kind(s), %d queue(s), "
	    "%d periodic job(s)", sup.conf_path, n->nkinds, n->nqueues, n->nperiodics);
}

int
main(int argc, char **argv)
{
	const char	*path = CONF_DEFAULT_PATH;
	char		 err[1024];
	sigset_t	 mask;
	struct stat	 st;
	int		 ch, check = 0, verbose = 0, i, devnull;

	while ((ch = getopt(argc, argv, "c:nv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("hivejobd", check ? LOG_STYLE_CLI : LOG_STYLE_DAEMON, verbose);
	if ((sup.conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	/*
	 * As libpq does for .pgpass: a password in a file others can read is
	 * refused, since a job (or anyone) could read it.
	 */
	if (sup.conf->conninfo && strstr(sup.conf->conninfo, "password") &&
	    stat(path, &st) == 0 && (st.st_mode & 077)) {
		fprintf(stderr, "%s: [database] conninfo holds a password but the file "
		    "is readable by others (mode %03o): chmod 600 it, or use PGPASSFILE\n",
		    path, (unsigned)(st.st_mode & 0777));
		return EX_CONFIG;
	}
	if (check) {
		fprintf(stderr, "%s: configuration OK\n", path);
		return EX_OK;
	}
	sup.conf_path = path;

	/* stdin is nobody's business; fds 0-2 must exist before any pipe. */
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		if (devnull > 2)
			close(devnull);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	srandom((unsigned)(time(NULL) ^ getpid()));

	if (priv_setup(sup.conf) == -1) {
		log_warn("cannot set up privileges");
		return EX_NOPERM;
	}
	if (workdir_make(sup.conf) == -1) {
		log_warn("workdir %s", sup.conf->workdir);
		return EX_CANTCREAT;
	}

	/* Signals arrive through the loop, never as handlers. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	if ((sup.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	notify_init();
	metrics_reload();

	sup.children = xcalloc((size_t)sup.conf->max_children, sizeof(struct child));
	for (i = 0; i < sup.conf->max_children; i++) {
		sup.children[i].slot = i;
		sup.children[i].out_fd = sup.children[i].result_fd =
		    sup.children[i].status_fd = -1;
	}
	if (gethostname(sup.host, sizeof(sup.host)) == -1)
		snprintf(sup.host, sizeof(sup.host), "unknown");
	sup.host[sizeof(sup.host) - 1] = '\0';
	sup.db.name = "work";
	sup.listen.name = "listen";
	sup.db.state = sup.listen.state = PG_DOWN;
	sup.db.reconnect_ms = sup.listen.reconnect_ms = 0;

	log_notice("hivejobd %s starting: supervisor \"%s\", %d slot(s), uids %u-%u%s",
	    HIVEJOB_VERSION, sup.conf->id, sup.conf->max_children,
	    (unsigned)sup.conf->job_uid_base,
	    (unsigned)(sup.conf->job_uid_base + (uid_t)sup.conf->max_children - 1),
	    sup.conf->isolation == ISOLATION_SAME_UID ? " (same-uid: not isolated)" : "");
	loop_run();
	child_sweep_all();
	(void)metrics_write();
	log_notice("stopped after %llu job(s)", (unsigned long long)sup.jobs_done);
	return EX_OK;
}
