/*
 * hivejobd as a systemd service: the unit's hardening score, the sd_notify
 * datagrams (READY, STATUS, WATCHDOG, STOPPING), the example config, and
 * what make install and make uninstall put down and take away.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon d;

static void
setup_db(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

static void
teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
}

TestSuite(service, .timeout = 120);
TestSuite(notify, .init = setup_db, .fini = teardown, .timeout = 120);

static int
have(const char *prog)
{
	char *cmd = fmt("command -v %s >/dev/null 2>&1", prog);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

static int
exists(const char *root, const char *path)
{
	struct stat	 st;
	char		*p = fmt("%s%s", root, path);
	int		 rc = stat(p, &st) == 0;

	free(p);
	return rc;
}

Test(service, unit_security_score)
{
	FILE	*f;
	char	 line[1024], *p;
	double	 score = -1;

	if (!have("systemd-analyze"))
		cr_skip_test("systemd-analyze is not installed (Debian package "
		    "systemd): the unit's security score is not measured");
	f = popen("systemd-analyze security --offline=true etc/hivejobd.service 2>&1", "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, "Overall exposure level")) != NULL &&
		    (p = strstr(p, ": ")) != NULL)
			score = strtod(p + 2, NULL);
	pclose(f);
	cr_assert(score >= 0, "no \"Overall exposure level\" line from systemd-analyze");
	cr_assert(score <= 2.0, "exposure level %.1f, more than 2.0", score);
}

Test(service, example_config_is_accepted)
{
	const char *argv[] = { th_bin("hivejobd"), "-n", "-c",
	    "etc/hivejobd.conf.example", NULL };
	char *out, *err;

	cr_assert_eq(th_run(&out, &err, argv), 0, "%s", err);
}

Test(service, install_and_uninstall, .timeout = 300)
{
	static const char *const files[] = {
		"/usr/bin/hivejobctl",
		"/usr/sbin/hivejobd",
		"/usr/libexec/hivejob/hivejob-noop",
		"/usr/libexec/hivejob/hivejob-webhook",
		"/usr/libexec/hivejob/hivejob-embed",
		"/usr/libexec/hivejob/hivejob-sentiment",
		"/usr/lib/systemd/system/hivejobd.service",
		"/usr/lib/sysusers.d/hivejob.conf",
		"/usr/share/hivejob/hivejobd.conf.example",
		"/usr/share/hivejob/sql/river/main.sql",
		"/usr/share/hivejob/sql/hivejob/001_supervisors.sql",
		"/usr/share/man/man8/hivejobd.8",
		"/usr/share/man/man8/hivejobctl.8",
		"/usr/share/man/man5/hivejobd.conf.5",
		"/usr/share/man/man7/hivejob-worker.7",
		NULL
	};
	char	 tmp[] = "/tmp/hivejob-install.XXXXXX", *root, *b, *unit, *out, *err;
	int	 i;

	if (!have("make"))
		cr_skip_test("make is not installed");
	cr_assert_not_null(mkdtemp(tmp));
	root = fmt("DESTDIR=%s/root", tmp);
	/* A build directory of its own: PREFIX=/usr must not rebuild build/. */
	b = fmt("B=%s/build", tmp);
	{
		const char *argv[] = { "/usr/bin/make", "-s", "install", root,
		    "PREFIX=/usr", b, NULL };
		cr_assert_eq(th_run(&out, &err, argv), 0, "make install:\n%s%s", out, err);
	}
	free(root);
	root = fmt("%s/root", tmp);
	for (i = 0; files[i] != NULL; i++)
		cr_expect(exists(root, files[i]), "make install did not put %s", files[i]);
	cr_expect(!exists(root, "/etc"), "make install wrote under /etc");
	unit = fmt("cat %s/usr/lib/systemd/system/hivejobd.service | "
	    "grep -q '^ExecStart=/usr/sbin/hivejobd '", root);
	cr_expect_eq(system(unit), 0, "the installed unit does not name /usr/sbin/hivejobd");
	free(unit);
	{
		char *dest = fmt("DESTDIR=%s", root);
		const char *argv[] = { "/usr/bin/make", "-s", "uninstall", dest,
		    "PREFIX=/usr", b, NULL };
		cr_assert_eq(th_run(&out, &err, argv), 0, "make uninstall:\n%s%s", out, err);
		free(dest);
	}
	for (i = 0; files[i] != NULL; i++)
		cr_expect(!exists(root, files[i]), "make uninstall left %s", files[i]);
	cr_assert_eq(system(fmt("rm -rf %s", tmp)), 0);
}

/* The datagrams hivejobd sent, read until want appears or ms pass. */
struct notes {
	int	 fd;
	char	 all[65536];
	int	 watchdogs, statuses;
};

static int
notes_wait(struct notes *n, const char *want, int ms)
{
	long	 end = mono_ms() + ms;
	char	 buf[4096];
	ssize_t	 r;
	struct pollfd pfd = { .fd = n->fd, .events = POLLIN };

	for (;;) {
		if (want != NULL && strstr(n->all, want) != NULL)
			return 1;
		if (mono_ms() >= end)
			return 0;
		if (poll(&pfd, 1, (int)(end - mono_ms())) <= 0)
			continue;
		while ((r = recv(n->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
			buf[r] = '\0';
			if (strcmp(buf, "WATCHDOG=1") == 0)
				n->watchdogs++;
			if (strncmp(buf, "STATUS=", 7) == 0 || strstr(buf, "\nSTATUS=") != NULL)
				n->statuses++;
			if (strlen(n->all) + (size_t)r + 2 < sizeof(n->all)) {
				strcat(n->all, buf);
				strcat(n->all, "\n");
			}
		}
	}
}

Test(notify, ready_status_watchdog_stopping)
{
	char			 dir[] = "/tmp/hivejob-notify.XXXXXX", *path;
	struct sockaddr_un	 sa = { .sun_family = AF_UNIX };
	struct notes		*n = calloc(1, sizeof(*n));
	int			 w0, rc;

	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);	/* hivejobd may run as nobody */
	path = fmt("%s/notify", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(n->fd >= 0);
	cr_assert_eq(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s",
	    strerror(errno));
	chmod(path, 0666);

	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	unsetenv("WATCHDOG_PID");
	th_daemon_start(&d, "%s", "");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	cr_assert(notes_wait(n, "READY=1", 20000), "no READY=1; got:\n%s\nlog:\n%s",
	    n->all, th_daemon_log(&d));
	cr_assert(strstr(n->all, "READY=1\nSTATUS=") != NULL, "READY=1 without STATUS=:\n%s",
	    n->all);
	cr_assert(strstr(n->all, "STOPPING=1") == NULL);

	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE id = 1"),
	    "%s", th_daemon_log(&d));

	/* WATCHDOG_USEC = 2 s: one every second. */
	w0 = n->watchdogs;
	notes_wait(n, NULL, 3200);
	cr_assert(n->watchdogs - w0 >= 2, "%d WATCHDOG=1 in 3.2 s:\n%s",
	    n->watchdogs - w0, n->all);
	cr_assert(n->statuses >= 2, "STATUS= only %d time(s):\n%s", n->statuses, n->all);
	cr_assert(notes_wait(n, " running, 1 done, ", 5000),
	    "no STATUS counting the finished job:\n%s", n->all);
	cr_assert(strstr(n->all, "leader") != NULL || strstr(n->all, "follower") != NULL);

	cr_assert_eq(kill(d.pid, SIGTERM), 0);
	cr_assert(notes_wait(n, "STOPPING=1", 10000), "no STOPPING=1:\n%s", n->all);
	rc = th_daemon_wait(&d, 20);
	cr_assert_eq(rc, 0, "hivejobd exited %d:\n%s", rc, th_daemon_log(&d));

	close(n->fd);
	unlink(path);
	rmdir(dir);
	free(n);
	free(path);
}
