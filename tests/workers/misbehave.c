/*
 * misbehave: a test worker that ends in whatever way its job asks for, to
 * test how hivejobd turns the end of a child into an outcome. The mode is
 * argv[1] or, without one, the args' "mode" member (args {"mode": "segv"}).
 * Some modes take "file", a path to write a pid to or to read one from.
 *
 * Dependency-free on purpose: the job document is searched with strstr,
 * which is enough for the flat args the tests send.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char	*doc;

static void
doc_read(void)
{
	size_t	len = 0, cap = 4096;
	ssize_t	n;

	doc = malloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			doc = realloc(doc, cap + 1);
		}
		n = read(0, doc + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	doc[len] = '\0';
}

/* The string value of "key" in args (the first one in the document). */
static char *
arg(const char *key)
{
	char	 pat[64], *p, *e;
	char	*a = strstr(doc, "\"args\"");

	if (a == NULL)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(a, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"' || (e = strchr(p, '"')) == NULL)
		return NULL;
	return strndup(p, (size_t)(e - p));
}

static void
result(const char *json)
{
	size_t	off = 0, len = strlen(json);
	ssize_t	n;

	while (off < len) {
		n = write(3, json + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(99);
		off += (size_t)n;
	}
}

static void
pid_write(const char *path, pid_t pid)
{
	char	tmp[4096], s[32];
	int	fd, n;

	if (path == NULL) {
		fprintf(stderr, "no file in args\n");
		exit(98);
	}
	/* Written whole, then renamed: a reader never sees half a pid. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(s, sizeof(s), "%d\n", (int)pid);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, s, (size_t)n) != n || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		perror(path);
		exit(98);
	}
}

/* 1 when pid is a live process (a zombie has already died). */
static int
alive(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	size_t	n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

static void
spin(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}

int
main(int argc, char **argv)
{
	const char	*mode;
	char		*file;
	char		 line[128];
	size_t		 i;

	if (argc > 1 && strcmp(argv[1], "noread") == 0)
		return 0;	/* ends without reading its job */
	doc_read();
	mode = argc > 1 ? argv[1] : arg("mode");
	file = arg("file");
	if (mode == NULL) {
		fprintf(stderr, "no mode in args\n");
		return 97;
	}

	/* Precedence: a valid result document against the exit status. */
	if (strcmp(mode, "complete_exit1") == 0) {
		puts("the exit status says failure, the result says complete");
		result("{\"outcome\":\"complete\"}");
		return 1;
	}
	if (strcmp(mode, "retry_exit0") == 0) {
		result("{\"outcome\":\"retry\",\"error\":\"upstream returned 503\","
		    "\"class\":\"http_5xx\"}");
		return 0;
	}
	if (strcmp(mode, "cancel") == 0) {
		result("{\"outcome\":\"cancel\",\"error\":\"the customer is gone\","
		    "\"class\":\"gone\"}");
		return 0;
	}
	if (strcmp(mode, "snooze") == 0) {
		result("{\"outcome\":\"snooze\",\"snooze_seconds\":30}");
		return 0;
	}
	if (strcmp(mode, "result_then_sigkill") == 0) {
		result("{\"outcome\":\"complete\"}");
		raise(SIGKILL);
	}
	if (strcmp(mode, "weird_class") == 0) {
		result("{\"outcome\":\"retry\",\"error\":\"something odd\","
		    "\"class\":\"weird\"}");
		return 0;
	}
	if (strcmp(mode, "invalid_result") == 0) {
		/* Would say retry if it were read leniently. */
		result("{\"outcome\": \"retry\", \"error\": \"half a doc");
		return 0;
	}
	if (strcmp(mode, "retry_after") == 0) {
		result("{\"outcome\":\"retry\",\"error\":\"rate limited\","
		    "\"class\":\"http_429\",\"retry_after_seconds\":99999}");
		return 0;
	}
	if (strcmp(mode, "fail") == 0) {
		puts("failing on purpose");
		return 1;
	}

	/* Deaths. */
	if (strcmp(mode, "sigkill_self") == 0) {
		puts("about to die");
		fflush(stdout);
		raise(SIGKILL);
	}
	if (strcmp(mode, "wait_kill") == 0) {
		pid_write(file, getpid());
		for (i = 0; i < 600; i++)
			sleep(1);
		return 0;
	}
	if (strcmp(mode, "segv") == 0) {
		volatile int *p = NULL;
		*p = 1;
		return 0;
	}
	if (strcmp(mode, "sleep") == 0) {
		sleep(30);
		return 0;
	}
	if (strcmp(mode, "hang") == 0) {
		signal(SIGALRM, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		puts("hanging");
		fflush(stdout);
		for (;;)
			pause();
	}

	/* Limits. */
	if (strcmp(mode, "membomb") == 0) {
		size_t mb = 0;
		char *p;
		/* 4G at most, whatever the limit: never a danger to the host. */
		while (mb < 4096 * 4 && (p = malloc(256 * 1024)) != NULL) {
			memset(p, 1, 256 * 1024);
			mb++;
		}
		fprintf(stderr, "out of memory after %zu KiB\n", mb * 256);
		return 1;
	}
	if (strcmp(mode, "forkbomb") == 0) {
		/* Linear, not exponential: it tests the limit, not the host. */
		int n;
		pid_t pid;
		for (n = 0; n < 10000; n++) {
			if ((pid = fork()) == -1) {
				fprintf(stderr, "fork failed after %d children: %s\n", n,
				    strerror(errno));
				return 1;
			}
			if (pid == 0) {
				for (;;)
					pause();
			}
		}
		fprintf(stderr, "forked %d children without hitting a limit\n", n);
		return 2;
	}
	if (strcmp(mode, "cpuspin") == 0)
		spin();
	if (strcmp(mode, "orphan") == 0) {
		/* Out of its session and process group, then out of our sight. */
		int fd[2];
		pid_t pid, gc = 0;
		if (pipe(fd) == -1 || (pid = fork()) == -1)
			return 96;
		if (pid == 0) {
			close(fd[0]);
			setsid();
			if ((pid = fork()) == -1)
				_exit(1);
			if (pid == 0) {
				gc = getpid();
				(void)!write(fd[1], &gc, sizeof(gc));
				close(fd[1]);
				for (i = 0; i < 4; i++)
					close((int)i);
				for (;;)
					pause();
			}
			_exit(0);
		}
		close(fd[1]);
		if (read(fd[0], &gc, sizeof(gc)) != sizeof(gc))
			return 95;
		waitpid(pid, NULL, 0);
		pid_write(file, gc);
		printf("left grandchild %d behind\n", (int)gc);
		return 0;
	}
	if (strcmp(mode, "probe") == 0) {
		/* Is the pid in file still alive when this job starts? */
		FILE *f = file ? fopen(file, "r") : NULL;
		int pid = 0;
		char buf[256];
		if (f == NULL || fscanf(f, "%d", &pid) != 1) {
			fprintf(stderr, "cannot read a pid from %s\n", file ? file : "?");
			return 94;
		}
		fclose(f);
		/* A SIGKILL sent just before our exec may take a moment. */
		for (i = 0; i < 40 && alive(pid); i++)
			usleep(50000);
		if (!alive(pid))
			return 0;
		snprintf(buf, sizeof(buf), "{\"outcome\":\"retry\",\"error\":"
		    "\"pid %d is still alive\"}", pid);
		result(buf);
		return 0;
	}

	/* Output. */
	if (strcmp(mode, "spam") == 0) {
		static char block[65536];
		size_t off, k;
		for (off = 0; off + 64 <= sizeof(block); off += 64) {
			memset(block + off, 'x', 63);
			block[off + 63] = '\n';
		}
		for (k = 0; k < 100 * 1024 * 1024 / sizeof(block); k++)
			if (fwrite(block, 1, sizeof(block), stdout) != sizeof(block))
				return 93;
		puts("the last words");
		return 1;
	}
	if (strcmp(mode, "hostile") == 0) {
		static const char out[] =
		    "\x1b[2J\x1b[Hclear screen\n"
		    "\xc2\x9b" "31mC1 CSI\n"
		    "\x1b[31mred\x1b[0m \x1b]0;x\x07title nul\0byte bad\xff\xfeutf8 "
		    "\xc3\x28 end\r\n";
		fwrite(out, 1, sizeof(out) - 1, stdout);
		return 1;
	}

	snprintf(line, sizeof(line), "unknown mode %s", mode);
	fprintf(stderr, "%s\n", line);
	return 97;
}
