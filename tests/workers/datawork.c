/*
 * datawork: a worker for the data-path tests (test_runner_data), driven by
 * its args, read with strstr/sscanf (no JSON library in test workers):
 *
 *   "need_input": true	exit 3 when the job document's input is null
 *   "sleep": N		sleep N seconds
 *   "wait_go": true	wait until MARKER_DIR/ID.go exists (at most 60 s)
 *   "exit": N		exit N (default 0)
 *
 * With a marker_dir setting it first appends a line to MARKER_DIR/ID, so
 * a test can tell whether, and how often, it ran. A non-null input is
 * sent back as the result's output on fd 3.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char	doc[1 << 20];

/* The number after "key": in the args, or def. */
static int
arg_int(const char *args, const char *key, int def)
{
	char		 pat[64];
	const char	*p;
	int		 v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (args == NULL || (p = strstr(args, pat)) == NULL)
		return def;
	if (sscanf(p + strlen(pat), " %d", &v) != 1)
		return def;
	return v;
}

static int
arg_true(const char *args, const char *key)
{
	char		 pat[64];
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (args == NULL || (p = strstr(args, pat)) == NULL)
		return 0;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return strncmp(p, "true", 4) == 0;
}

int
main(void)
{
	char		 marker[1024], go[1100], *args, *input, *p, *e;
	const char	*id = getenv("HIVEJOB_JOB_ID");
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, i, s;

	while (len < sizeof(doc) - 1 &&
	    (n = read(0, doc + len, sizeof(doc) - 1 - len)) > 0)
		len += (size_t)n;
	doc[len] = '\0';
	if (id == NULL || len == 0) {
		fprintf(stderr, "datawork: no job\n");
		return 2;
	}

	/* The marker directory, from the settings. */
	marker[0] = '\0';
	if ((p = memmem(doc, len, "\"marker_dir\":\"", 14)) != NULL &&
	    sscanf(p + 14, "%1000[^\"]", marker) == 1) {
		snprintf(go, sizeof(go), "%s/%s", marker, id);
		if ((fd = open(go, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			dprintf(fd, "ran attempt %s\n", getenv("HIVEJOB_ATTEMPT"));
			close(fd);
		}
	}

	/* input is the document's last member: {...,"input":X}\n */
	input = NULL;
	for (p = doc; (p = strstr(p, ",\"input\":")) != NULL; p++)
		input = p + 9;
	if (input) {
		e = doc + len;
		if (e > input && e[-1] == '\n')
			e--;
		if (e > input && e[-1] == '}')
			e--;
		*e = '\0';
	}

	/* args: from "args": to ,"attempt": (our test args hold neither). */
	args = strstr(doc, "\"args\":");
	if (args && (e = strstr(args, ",\"attempt\":")) != NULL)
		*e = '\0';

	if (arg_true(args, "need_input") && (input == NULL || strcmp(input, "null") == 0)) {
		fprintf(stderr, "datawork: input missing\n");
		return 3;
	}
	if ((s = arg_int(args, "sleep", 0)) > 0)
		sleep((unsigned)s);
	if (arg_true(args, "wait_go") && marker[0]) {
		snprintf(go, sizeof(go), "%s/%s.go", marker, id);
		for (i = 0; i < 1200 && access(go, F_OK) == -1; i++)
			usleep(50000);
	}
	if (input && strcmp(input, "null") != 0)
		dprintf(3, "{\"output\":%s}", input);
	printf("datawork: job %s done\n", id);
	return arg_int(args, "exit", 0);
}
