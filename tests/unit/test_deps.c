/*
 * scripts/deps: silent and apt-free when everything is installed; the exact
 * apt-get line and exit 69 when something is missing and it is not root.
 * Fake dpkg-query and apt-get programs on PATH stand in for the package
 * database, so the test never changes the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static char dir[] = "/tmp/hivejob-deps.XXXXXX";

static void
fake(const char *name, const char *body)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

static void
setup(void)
{
	char cmd[512];

	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	/* The checkout may be unreadable to other users: copy the script out. */
	snprintf(cmd, sizeof(cmd), "cp scripts/deps %s/deps && chmod 0755 %s/deps", dir, dir);
	cr_assert_eq(system(cmd), 0);
	fake("apt-get", "echo apt-get \"$@\" >>\"$(dirname \"$0\")/apt.log\"; exit 0");
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

TestSuite(deps, .init = setup, .fini = teardown, .timeout = 30);

Test(deps, nothing_to_do_means_no_apt)
{
	char script[512], *out, *err, log[300];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };

	fake("dpkg-query", "printf installed");
	snprintf(script, sizeof(script), "PATH=%s:$PATH %s/deps test", dir, dir);
	cr_assert_eq(th_run(&out, &err, argv), 0, "%s", err);
	cr_assert_str_eq(err, "");
	snprintf(log, sizeof(log), "%s/apt.log", dir);
	cr_assert_eq(access(log, F_OK), -1, "apt-get was called");
}

Test(deps, missing_package_as_root_installs)
{
	char script[512], *out, *err, log[300], *line = NULL;
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	size_t n = 0;
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	fake("dpkg-query", "case \"$3\" in mandoc) printf not-installed ;; *) printf installed ;; esac");
	snprintf(script, sizeof(script), "PATH=%s:$PATH %s/deps test", dir, dir);
	cr_assert_eq(th_run(&out, &err, argv), 0, "%s", err);
	snprintf(log, sizeof(log), "%s/apt.log", dir);
	cr_assert_not_null(f = fopen(log, "r"), "apt-get was not called");
	cr_assert(getline(&line, &n, f) > 0);
	cr_assert(strstr(line, "apt-get update"), "%s", line);
	cr_assert(getline(&line, &n, f) > 0);
	cr_assert(strstr(line, "install") && strstr(line, " mandoc"), "%s", line);
	cr_assert_null(strstr(line, "libpq-dev"), "installs what is present: %s", line);
	fclose(f);
}

Test(deps, missing_package_not_root_says_how)
{
	char script[512], *out, *err;
	const char *argv[] = { "/bin/sh", "-c", script, NULL };

	if (geteuid() != 0)
		cr_skip_test("needs root to become another user");
	fake("dpkg-query", "case \"$3\" in libcriterion-dev) printf not-installed ;; *) printf installed ;; esac");
	snprintf(script, sizeof(script), "setpriv --reuid=nobody --regid=nogroup --clear-groups"
	    " env PATH=%s:$PATH %s/deps test", dir, dir);
	cr_assert_eq(th_run(&out, &err, argv), 69, "%s", err);
	cr_assert(strstr(err, "apt-get update && apt-get install -y libcriterion-dev"), "%s", err);
}
