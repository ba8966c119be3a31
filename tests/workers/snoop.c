/*
 * snoop: a hostile job, for the isolation test in test_runner_data. It
 * looks for strings it must never find everywhere a job could reach: its
 * own memory, environment and open fds; given files (the configuration,
 * a secret file, the daemon's log); the environment, memory, command line
 * and fds of the supervisor, of another job and of every other process.
 * It also tries to signal and trace the supervisor and the other job.
 *
 * The strings arrive reversed and are compared reversed, so they never sit
 * in its memory in plain. A canary arrives both plain and reversed: it
 * must be found in its own memory, which shows that the search works.
 *
 * args (read with strstr/sscanf: values hold no quote or backslash):
 *   "n1", "n2": reversed secrets; "nc": the reversed canary; "canary"
 *   "sup", "holder": pids; "files": paths separated by ':'
 *   "attack": true (signal and trace sup and holder)
 *   "all": true (every other process in /proc too)
 *
 * snoop FILE reads the job document from FILE and touches neither its
 * inherited fds nor fd 3: the test runs it so, as root, to show that the
 * same search finds what is there to find.
 *
 * stdout: one line per finding or attempt; "PROBLEM" lines are failures.
 * No problem and the canary found: exit 0 and the report as output on
 * fd 3. Otherwise exit 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK	(1 << 20)
#define MAXFD	1024

extern char **environ;

struct needle {
	const char	*name;
	char		 rev[256];
	size_t		 len;
	int		 secret;
};

static struct needle	nd[3] = { { "n1", "", 0, 1 }, { "n2", "", 0, 1 },
			    { "nc", "", 0, 0 } };
static char		doc[1 << 20];
static unsigned char	chunk[CHUNK];
static char		report[1 << 16];
static size_t		reportlen;
static int		problems, canary_self;
static char		seen[256][160];
static int		nseen;
static int		openfds[MAXFD], nopenfds;

static void
say(int problem, const char *fmt, ...)
{
	va_list	ap;
	char	line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s%s\n", problem ? "PROBLEM " : "", line);
	fflush(stdout);
	if (problem)
		problems++;
	if (reportlen + strlen(line) + 16 < sizeof(report))
		reportlen += (size_t)snprintf(report + reportlen,
		    sizeof(report) - reportlen, "%s%s\n", problem ? "PROBLEM " : "", line);
}

static void
found(const char *where, const struct needle *n)
{
	char	key[160];
	int	i;

	snprintf(key, sizeof(key), "%s|%s", n->name, where);
	for (i = 0; i < nseen; i++)
		if (strcmp(seen[i], key) == 0)
			return;
	if (nseen < 256)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", key);
	if (!n->secret) {
		if (strcmp(where, "self mem") == 0)
			canary_self = 1;
		say(0, "FOUND %s in %s", n->name, where);
	} else
		say(1, "FOUND %s in %s", n->name, where);
}

/* Look for every needle's plain form in b, comparing against its reverse. */
static void
scan(const char *where, const unsigned char *b, size_t n)
{
	const unsigned char	*p, *end = b + n;
	size_t			 k, j, L;
	unsigned char		 first;

	for (k = 0; k < 3; k++) {
		if ((L = nd[k].len) == 0 || n < L)
			continue;
		first = (unsigned char)nd[k].rev[L - 1];
		for (p = b; p + L <= end &&
		    (p = memchr(p, first, (size_t)(end - p) - L + 1)) != NULL; p++) {
			for (j = 1; j < L && p[j] == (unsigned char)nd[k].rev[L - 1 - j]; j++)
				;
			if (j == L) {
				found(where, &nd[k]);
				break;
			}
		}
	}
}

/* A whole file; returns 0 when it could be read. */
static int
scan_file(const char *where, const char *path, int quiet)
{
	ssize_t	n;
	size_t	len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK)) == -1) {
		if (!quiet)
			say(0, "open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk + len, CHUNK - len)) > 0) {
		len += (size_t)n;
		if (len == CHUNK) {
			scan(where, chunk, len);
			memmove(chunk, chunk + len - 256, 256);
			len = 256;
		}
	}
	if (n == -1 && len == 0) {
		if (!quiet)
			say(0, "read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	scan(where, chunk, len);
	close(fd);
	if (!quiet)
		say(0, "read %s", path);
	return 0;
}

/* Every readable mapping of pid ("self" or a number). */
static int
scan_mem(const char *label, const char *pid, int quiet)
{
	char		 path[64], line[1024], where[128], perms[8];
	unsigned long	 lo, hi, a;
	FILE		*maps;
	ssize_t		 n;
	size_t		 want;
	int		 fd, regions = 0;

	snprintf(where, sizeof(where), "%s mem", label);
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	if ((maps = fopen(path, "r")) == NULL) {
		if (!quiet)
			say(0, "%s maps: %s", label, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	if ((fd = open(path, O_RDONLY)) == -1) {
		if (!quiet)
			say(0, "%s mem: %s", label, strerror(errno));
		fclose(maps);
		return -1;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		if (strstr(line, "[vvar") || strstr(line, "[vsyscall]"))
			continue;
		for (a = lo; a < hi; a += CHUNK - 256) {
			want = hi - a < CHUNK ? hi - a : CHUNK;
			if ((n = pread(fd, chunk, want, (off_t)a)) <= 0)
				break;
			scan(where, chunk, (size_t)n);
			if (want < CHUNK)
				break;
		}
		regions++;
	}
	close(fd);
	fclose(maps);
	if (!quiet)
		say(0, "%s mem: %d region(s) read", label, regions);
	return 0;
}

/*
 * A process that is not ours: what may a job read of it? Its fds are
 * opened only as a job (must_deny): as root that would read from the
 * supervisor's pipes.
 */
static void
scan_proc(const char *label, pid_t pid, int must_deny)
{
	char	path[64], where[128], num[32];
	int	fd, opened = 0;

	snprintf(num, sizeof(num), "%d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	snprintf(where, sizeof(where), "%s environ", label);
	if (scan_file(where, path, !must_deny) == 0 && must_deny)
		say(1, "%s environ is readable", label);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	snprintf(where, sizeof(where), "%s cmdline", label);
	(void)scan_file(where, path, 1);
	if (scan_mem(label, num, !must_deny) == 0 && must_deny)
		say(1, "%s mem is readable", label);
	for (fd = 0; must_deny && fd < 64; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		snprintf(where, sizeof(where), "%s fd %d", label, fd);
		if (scan_file(where, path, 1) == 0)
			opened++;
	}
	if (opened && must_deny)
		say(1, "%s: %d of its fds could be opened", label, opened);
}

static const char *
errname(int e)
{
	return e == EPERM ? "EPERM" : e == ESRCH ? "ESRCH" : e == EACCES ? "EACCES" :
	    strerror(e);
}

static void
attack(const char *label, pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	if (kill(pid, sig) == 0)
		say(1, "kill(%s, %d) succeeded", label, sig);
	else
		say(errno != EPERM, "kill(%s, %d): %s", label, sig, errname(errno));
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
		say(1, "ptrace attach to %s succeeded", label);
		(void)waitpid(pid, NULL, __WALL);
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	} else
		say(errno != EPERM, "ptrace attach to %s: %s", label, errname(errno));
}

/* The string after "key": (JSON-quoted, no escapes), or NULL. */
static int
arg_str(const char *key, char *out, size_t cap)
{
	char		 pat[64];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(doc, pat)) == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"' || (e = strchr(p, '"')) == NULL || (size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static long
arg_long(const char *key)
{
	char		 pat[64];
	const char	*p;
	long		 v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(doc, pat)) == NULL || sscanf(p + strlen(pat), " %ld", &v) != 1)
		return 0;
	return v;
}

static int
arg_true(const char *key)
{
	char		 pat[64];
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(doc, pat)) == NULL)
		return 0;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return strncmp(p, "true", 4) == 0;
}

static void
json_out(int fd, const char *s)
{
	dprintf(fd, "{\"output\":{\"report\":\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			dprintf(fd, "\\%c", *s);
		else if (*s == '\n')
			dprintf(fd, "\\n");
		else if ((unsigned char)*s >= 0x20)
			dprintf(fd, "%c", *s);
	}
	dprintf(fd, "\"}}");
}

int
main(int argc, char **argv)
{
	char		 files[4096], *f, *next, path[64], where[64], link[256];
	const char	*keys[3] = { "n1", "n2", "nc" };
	pid_t		 sup, holder, self = getpid();
	size_t		 len = 0, k;
	ssize_t		 n;
	int		 fd, infd = 0, jobmode = argc < 2, i, expected;
	DIR		*d;
	struct dirent	*de;

	/* First of all, before we open anything: which fds came with us? */
	if (jobmode)
		for (fd = 0; fd < MAXFD; fd++)
			if (fcntl(fd, F_GETFD) != -1)
				openfds[nopenfds++] = fd;

	if (!jobmode && (infd = open(argv[1], O_RDONLY)) == -1) {
		perror(argv[1]);
		return 2;
	}
	while (len < sizeof(doc) - 1 &&
	    (n = read(infd, doc + len, sizeof(doc) - 1 - len)) > 0)
		len += (size_t)n;
	doc[len] = '\0';
	for (k = 0; k < 3; k++) {
		if (arg_str(keys[k], nd[k].rev, sizeof(nd[k].rev)) == -1) {
			printf("snoop: no %s in the job's args\n", keys[k]);
			return 2;
		}
		nd[k].len = strlen(nd[k].rev);
	}
	sup = (pid_t)arg_long("sup");
	holder = (pid_t)arg_long("holder");
	say(0, "snoop pid %d uid %d: supervisor %d, holder %d", (int)self,
	    (int)getuid(), (int)sup, (int)holder);

	/* Our own memory first: the canary must be there, the secrets not. */
	if (scan_mem("self", "self", 0) == -1)
		say(1, "cannot read our own memory: the search proves nothing");
	for (i = 0; environ[i]; i++)
		scan("self environ", (const unsigned char *)environ[i], strlen(environ[i]));
	(void)scan_file("self environ file", "/proc/self/environ", 0);
	(void)scan_file("self cmdline", "/proc/self/cmdline", 1);

	if (jobmode) {
		for (i = 0; i < nopenfds; i++) {
			fd = openfds[i];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
				n = 0;
			link[n] = '\0';
			expected = fd <= 3;
			say(!expected, "fd %d open: %s", fd, link);
			snprintf(where, sizeof(where), "fd %d", fd);
			if ((n = pread(fd, chunk, CHUNK, 0)) > 0)
				scan(where, chunk, (size_t)n);
			else {
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
				while ((n = read(fd, chunk, CHUNK)) > 0)
					scan(where, chunk, (size_t)n);
			}
		}
	}

	if (arg_str("files", files, sizeof(files)) == 0)
		for (f = files; f && *f; f = next) {
			if ((next = strchr(f, ':')) != NULL)
				*next++ = '\0';
			(void)scan_file(f, f, 0);
		}

	if (sup > 0)
		scan_proc("supervisor", sup, jobmode);
	if (holder > 0)
		scan_proc("holder", holder, jobmode);
	if (arg_true("all") && (d = opendir("/proc")) != NULL) {
		int nproc = 0;
		while ((de = readdir(d)) != NULL) {
			pid_t p = (pid_t)atoi(de->d_name);
			char label[32];
			if (p <= 0 || p == self || p == sup || p == holder)
				continue;
			snprintf(label, sizeof(label), "pid %d", (int)p);
			scan_proc(label, p, 0);	/* kernel threads have empty, "readable" environs */
			nproc++;
		}
		closedir(d);
		say(0, "looked at %d other process(es)", nproc);
	}

	if (jobmode && arg_true("attack")) {
		attack("supervisor", sup, 0);
		attack("holder", holder, SIGKILL);
	}

	if (!canary_self)
		say(1, "the canary was not found in our own memory: the search is broken");
	if (problems) {
		printf("snoop: %d problem(s)\n", problems);
		return 1;
	}
	if (jobmode)
		json_out(3, report);
	printf("snoop: nothing found\n");
	return 0;
}
