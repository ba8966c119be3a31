/*
 * The documentation: the manual pages pass mandoc's lint and render, each
 * has the sections every page here carries, and the bash completion parses
 * and knows every command (and every option) hivejobctl --help lists.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

#define COMPLETION	"etc/hivejobctl.bash-completion"

TestSuite(docs, .timeout = 60);

static const char *const sections[] = {
	"NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES",
	"EXIT STATUS", "EXAMPLES", "SEE ALSO",
};

/* A program's path, from PATH: th_run does not search it. */
static const char *
prog(const char *name)
{
	static char	 found[8][1024];
	static int	 next;
	const char	*path = getenv("PATH");
	char		*dirs, *dir, *save, *buf = found[next++ % 8];

	dirs = strdup(path && *path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(found[0]), "%s/%s", dir, name);
		if (access(buf, X_OK) == 0) {
			free(dirs);
			return buf;
		}
	}
	free(dirs);
	cr_assert_fail("%s is not in PATH (%s)", name, path ? path : "");
	return NULL;
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 2);
	s[0] = '\n';		/* so that a line match may look for "\n" first */
	cr_assert_eq(fread(s + 1, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* The manual pages, at least the five written so far. */
static glob_t
pages(void)
{
	glob_t g;

	memset(&g, 0, sizeof(g));
	cr_assert_eq(glob("man/*.[578]", 0, NULL, &g), 0, "no manual pages under man/");
	cr_assert_geq(g.gl_pathc, 5, "expected at least 5 manual pages");
	return g;
}

Test(docs, mandoc_lint_is_silent)
{
	const char *argv[] = { prog("sh"), "-c",
	    "exec mandoc -Tlint -Wwarning man/*.5 man/*.7 man/*.8", NULL };
	char *out, *err;
	int rc;

	rc = th_run(&out, &err, argv);
	cr_assert_eq(rc, 0, "mandoc -Tlint exited %d:\n%s%s", rc, out, err);
	cr_assert_str_empty(out, "mandoc -Tlint:\n%s", out);
	cr_assert_str_empty(err, "mandoc -Tlint:\n%s", err);
}

Test(docs, every_page_has_the_sections)
{
	glob_t	g = pages();
	size_t	i, k;
	char	*s, *want;

	for (i = 0; i < g.gl_pathc; i++) {
		s = slurp(g.gl_pathv[i]);
		for (k = 0; k < sizeof(sections) / sizeof(sections[0]); k++) {
			want = fmt("\n.Sh %s\n", sections[k]);
			cr_expect_not_null(strstr(s, want), "%s lacks .Sh %s",
			    g.gl_pathv[i], sections[k]);
			free(want);
		}
		free(s);
	}
	globfree(&g);
}

/* Plain text of mandoc's terminal output: no overstrike ("N\bN", "_\bx"). */
static void
plain(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[1] == '\b' && s[2] != '\0') {
			s++;
			continue;
		}
		*w++ = *s;
	}
	*w = '\0';
}

Test(docs, every_page_renders)
{
	glob_t	 g = pages();
	size_t	 i;
	char	*out, *err;

	for (i = 0; i < g.gl_pathc; i++) {
		const char *argv[] = { prog("mandoc"), "-Tutf8", g.gl_pathv[i], NULL };

		cr_assert_eq(th_run(&out, &err, argv), 0, "%s: %s", g.gl_pathv[i], err);
		plain(out);
		cr_expect_not_null(strstr(out, "NAME"), "%s rendered without NAME:\n%s",
		    g.gl_pathv[i], out);
		cr_expect_not_null(strstr(out, "SEE ALSO"), "%s rendered without "
		    "SEE ALSO", g.gl_pathv[i]);
		free(out);
		free(err);
	}
	globfree(&g);
}

Test(docs, hivejob_7_is_referenced_from_hivejobctl_8)
{
	char *s = slurp("man/hivejobctl.8");

	cr_assert_not_null(strstr(s, "\n.Xr hivejob 7 ,\n"), "hivejobctl.8 does not "
	    "refer to hivejob(7)");
	free(s);
}

Test(docs, completion_parses)
{
	const char *argv[] = { prog("bash"), "-n", COMPLETION, NULL };
	char *err;

	cr_assert_eq(th_run(NULL, &err, argv), 0, "%s", err);
}

/* What the completion offers after the words given, one per line. */
static char *
complete(const char *words)
{
	const char *argv[] = { prog("bash"), "-c",
	    "source " COMPLETION " || exit 1\n"
	    "eval \"COMP_WORDS=($1)\"\n"
	    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
	    "_hivejobctl\n"
	    "printf '%s\\n' \"${COMPREPLY[@]}\"\n",
	    "complete", words, NULL };
	char *out, *err;

	cr_assert_eq(th_run(&out, &err, argv), 0, "completing %s: %s", words, err);
	free(err);
	return out;
}

/* Whether word is one of the lines of list. */
static int
has_line(const char *list, const char *word)
{
	char	*w = fmt("\n%s\n", word), *l = fmt("\n%s", list);
	int	 found = strstr(l, w) != NULL;

	free(w);
	free(l);
	return found;
}

/*
 * Every command of hivejobctl --help is completed as a command, and every
 * option its usage names as one of its options.
 */
Test(docs, completion_knows_every_command_and_option)
{
	char	*help, *err, *cmds, *opts, *line, *save, *p, cmd[64], opt[64];
	int	 ncmd = 0, n;

	cr_assert_eq(th_ctl(&help, &err, "--help", NULL), 0, "%s", err);
	cmds = complete("hivejobctl ''");
	opts = NULL;
	cmd[0] = '\0';
	for (line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z') {
			/* "  list [--state S] ...": a command's usage */
			n = 0;
			while (line[2 + n] && line[2 + n] != ' ' && n < 63) {
				cmd[n] = line[2 + n];
				n++;
			}
			cmd[n] = '\0';
			cr_expect(has_line(cmds, cmd), "the completion lacks the command %s; "
			    "it offers:\n%s", cmd, cmds);
			free(opts);
			opts = complete(fmt("hivejobctl %s --", cmd));
			ncmd++;
		} else if (strncmp(line, "          ", 10) != 0 || cmd[0] == '\0')
			continue;	/* help text, not a usage's continuation */
		for (p = strstr(line, "--"); p; p = strstr(p + 2, "--")) {
			n = 0;
			while ((p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')) && n < 63) {
				opt[n] = p[n];
				n++;
			}
			opt[n] = '\0';
			if (n > 2)
				cr_expect(has_line(opts, opt), "the completion lacks %s for "
				    "%s; it offers:\n%s", opt, cmd, opts);
		}
	}
	cr_assert_geq(ncmd, 17, "only %d commands found in:\n%s", ncmd, help);
	free(opts);
	free(cmds);
}

Test(docs, completion_offers_states_after_state)
{
	char *out = complete("hivejobctl list --state ''");

	cr_assert(has_line(out, "discarded") && has_line(out, "running") &&
	    has_line(out, "retryable"), "%s", out);
	free(out);
}
