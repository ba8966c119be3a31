/*
 * scripts/pgtmp: the throwaway cluster is private, listens on no TCP port,
 * and is removed however its user ends: normally, by a signal, or by
 * SIGKILL (the watchdog).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

TestSuite(pgtmp, .timeout = 120);

static char *
run_script(const char *script, int *rc)
{
	const char	*argv[] = { "scripts/pgtmp", "run", "/bin/sh", "-c", script, NULL };
	char		*out, *err;

	*rc = th_run(&out, &err, argv);
	out[strcspn(out, "\n")] = '\0';
	cr_assert(strncmp(out, "/", 1) == 0, "no directory printed: '%s' (%s)", out, err);
	return out;
}

static int
gone_within(const char *dir, int seconds)
{
	struct stat st;
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (stat(dir, &st) == -1)
			return 1;
		usleep(100000);
	}
	return 0;
}

Test(pgtmp, removed_after_failure_and_exit_status_kept)
{
	int rc;
	char *dir = run_script("echo $PGTMP_DIR; psql -XAtc 'select 1' >/dev/null || exit 9; exit 3", &rc);

	cr_assert_eq(rc, 3);
	cr_assert(gone_within(dir, 1), "%s still there", dir);
}

Test(pgtmp, no_tcp_listener)
{
	int rc;
	char *dir = run_script("echo $PGTMP_DIR;"
	    " test \"$(psql -XAtc 'show listen_addresses')\" = '' || exit 4;"
	    " test \"$(psql -XAtc 'show unix_socket_directories')\" = \"$PGHOST\" || exit 5", &rc);

	cr_assert_eq(rc, 0, "exit %d", rc);
	cr_assert(gone_within(dir, 1));
}

Test(pgtmp, removed_when_interrupted)
{
	int rc;
	char *dir = run_script("echo $PGTMP_DIR; kill -INT $PPID; sleep 30", &rc);

	cr_assert_eq(rc, 130);
	cr_assert(gone_within(dir, 10), "%s still there", dir);
}

Test(pgtmp, removed_when_its_user_is_killed)
{
	int rc;
	char *dir = run_script("echo $PGTMP_DIR; kill -KILL $PPID", &rc);

	cr_assert(gone_within(dir, 20), "%s still there after SIGKILL", dir);
}

Test(pgtmp, two_clusters_side_by_side)
{
	int rc;
	char *dir = run_script("echo $PGTMP_DIR; scripts/pgtmp run sh -c"
	    " 'test \"$PGHOST\" != \"$0\" && psql -XAtc \"select 1\"' \"$PGHOST\" >/dev/null"
	    " && psql -XAtc 'select 1' >/dev/null", &rc);

	cr_assert_eq(rc, 0, "exit %d", rc);
	cr_assert(gone_within(dir, 1));
}
