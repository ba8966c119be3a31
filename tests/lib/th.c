#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "th.h"

static char	 th_dbname[64];
static PGconn	*th_pg;

static PGconn	*th_connect(const char *);
static char	*th_vsql(int, const char *, va_list);
static int	 th_drain(int, char **, size_t *);

static PGconn *
th_connect(const char *db)
{
	const char	*keys[] = { "dbname", NULL };
	const char	*vals[] = { db, NULL };
	PGconn		*c;

	c = PQconnectdbParams(keys, vals, 0);
	cr_assert(PQstatus(c) == CONNECTION_OK, "connect %s: %s", db,
	    PQerrorMessage(c));
	return c;
}

/*
 * A database of its own for this test, named after the process: Criterion
 * runs each test in a fresh process, so names never collide and tests may
 * run in parallel. PGDATABASE points the programs under test at it.
 */
void
th_db_fresh(void)
{
	static unsigned	 n;
	PGconn		*admin;
	PGresult	*r;
	char		 q[128];

	snprintf(th_dbname, sizeof(th_dbname), "t_%ld_%u", (long)getpid(), n++);
	admin = th_connect("postgres");
	snprintf(q, sizeof(q), "CREATE DATABASE %s TEMPLATE template0", th_dbname);
	r = PQexec(admin, q);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", q,
	    PQerrorMessage(admin));
	PQclear(r);
	PQfinish(admin);
	setenv("PGDATABASE", th_dbname, 1);
	if (th_pg)
		PQfinish(th_pg);
	th_pg = th_connect(th_dbname);
}

const char *
th_db_name(void)
{
	return th_dbname;
}

PGconn *
th_conn(void)
{
	return th_pg;
}

/* want_ok: the statement must succeed (value of row 0, column 0, or NULL). */
static char *
th_vsql(int want_ok, const char *fmt, va_list ap)
{
	char		*q, *v = NULL;
	PGresult	*r;
	int		 ok;

	cr_assert(vasprintf(&q, fmt, ap) >= 0);
	r = PQexec(th_pg, q);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK ||
	    PQresultStatus(r) == PGRES_COMMAND_OK;
	if (want_ok) {
		cr_assert(ok, "SQL failed: %s\n%s", q, PQresultErrorMessage(r));
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		    !PQgetisnull(r, 0, 0))
			v = strdup(PQgetvalue(r, 0, 0));
	} else {
		cr_assert(!ok, "SQL should have failed: %s", q);
		v = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	}
	PQclear(r);
	free(q);
	return v;
}

char *
th_sql(const char *fmt, ...)
{
	va_list	 ap;
	char	*v;

	va_start(ap, fmt);
	v = th_vsql(1, fmt, ap);
	va_end(ap);
	return v;
}

void
th_sql_ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(th_vsql(1, fmt, ap));
	va_end(ap);
}

/* The statement must fail; returns its SQLSTATE. */
char *
th_sql_err(const char *fmt, ...)
{
	va_list	 ap;
	char	*v;

	va_start(ap, fmt);
	v = th_vsql(0, fmt, ap);
	va_end(ap);
	return v;
}

const char *
th_bin(const char *name)
{
	static char	 path[4096];
	const char	*dir = getenv("HIVEJOB_BIN");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/bin", name);
	return path;
}

/* Read what is there; 1 at end of file. */
static int
th_drain(int fd, char **acc, size_t *len)
{
	char	buf[65536];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*acc = realloc(*acc, *len + (size_t)n + 1);
		memcpy(*acc + *len, buf, (size_t)n);
		*len += (size_t)n;
		(*acc)[*len] = '\0';
	}
	return n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR);
}

/*
 * Run argv, collecting stdout and stderr (each may be NULL to discard).
 * Returns the exit status, or 128 + the signal that killed it.
 */
int
th_run(char **out, char **err, const char *const *argv)
{
	int	 po[2], pe[2], st;
	char	*o = calloc(1, 1), *e = calloc(1, 1);
	size_t	 ol = 0, el = 0;
	pid_t	 pid;
	struct pollfd pfd[2];

	cr_assert(pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	pfd[0] = (struct pollfd){ .fd = po[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents && th_drain(po[0], &o, &ol))
			pfd[0].fd = -1;
		if (pfd[1].revents && th_drain(pe[0], &e, &el))
			pfd[1].fd = -1;
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run build/bin/hivejobctl with the given arguments (NULL-terminated). */
int
th_ctl(char **out, char **err, ...)
{
	const char	*argv[64];
	va_list		 ap;
	int		 n = 0;

	argv[n++] = strdup(th_bin("hivejobctl"));
	va_start(ap, err);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return th_run(out, err, argv);
}

int
th_root(void)
{
	return geteuid() == 0;
}

const char *
th_prefix(void)
{
	const char *p = getenv("HIVEJOB_TEST_PREFIX");

	cr_assert_not_null(p, "HIVEJOB_TEST_PREFIX is not set: run the tests with tests/run");
	return p;
}

/* fork and exec hivejobd -v -c d->conf, its log in d->log (truncated). */
static void
th_daemon_exec(struct th_daemon *d)
{
	int fd;

	d->pid = fork();
	cr_assert(d->pid >= 0);
	if (d->pid == 0) {
		fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		dup2(fd, 1);
		setenv("HIVEJOB_LIBEXEC", th_prefix(), 1);
		execl(th_bin("hivejobd"), "hivejobd", "-v", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
}

static void
th_daemon_wait_up(struct th_daemon *d)
{
	cr_assert(th_daemon_log_wait(d, "database connection listen established", 20),
	    "hivejobd did not come up:\n%s", th_daemon_log(d));
}

/*
 * Write d's config with the given id and uid base, then start it. Tests run
 * in parallel: each test's daemons use a block of 64 uids no other test uses.
 */
static void
th_daemon_vstart(struct th_daemon *d, int n, int wait, const char *fmt, va_list ap)
{
	FILE	*f;
	char	*extra;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/hivejob-test.XXXXXX");
	cr_assert_not_null(mkdtemp(d->dir));
	chmod(d->dir, 0755);
	snprintf(d->conf, sizeof(d->conf), "%s/hivejobd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	d->uid_base = 2100000 + (unsigned)(getpid() % 20000) * 64;
	if (n < 0)
		snprintf(d->id, sizeof(d->id), "test-%ld", (long)getpid());
	else {
		snprintf(d->id, sizeof(d->id), "test-%ld-%d", (long)getpid(), n);
		d->uid_base += (unsigned)n * 16;
	}

	cr_assert(vasprintf(&extra, fmt, ap) >= 0);
	cr_assert_not_null(f = fopen(d->conf, "w"));
	fprintf(f, "[database]\nconninfo =\n\n[supervisor]\nid = %s\n"
	    "job_uid_base = %u\nworkdir = %s/work\npoll_interval = 200ms\n"
	    "kill_grace = 1s\n%s\n%s\n", d->id, d->uid_base, d->dir,
	    th_root() ? "user = nobody" : "isolation = same-uid", extra);
	fclose(f);
	free(extra);
	/* The config holds no secret of the tests' own; root-only all the same. */
	chmod(d->conf, 0644);
	if (th_root())
		chown(d->dir, 65534, 65534);

	th_daemon_exec(d);
	if (wait)
		th_daemon_wait_up(d);
}

void
th_daemon_start(struct th_daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_daemon_vstart(d, -1, 1, fmt, ap);
	va_end(ap);
}

void
th_daemon_start_n(struct th_daemon *d, int n, const char *fmt, ...)
{
	va_list ap;

	cr_assert(n >= 0 && n < 4, "th_daemon_start_n: n is 0..3");
	va_start(ap, fmt);
	th_daemon_vstart(d, n, 1, fmt, ap);
	va_end(ap);
}

void
th_daemon_spawn_n(struct th_daemon *d, int n, const char *fmt, ...)
{
	va_list ap;

	cr_assert(n >= 0 && n < 4, "th_daemon_spawn_n: n is 0..3");
	va_start(ap, fmt);
	th_daemon_vstart(d, n, 0, fmt, ap);
	va_end(ap);
}

/* SIGKILL and reap: a crash. Returns the wait status's signal. */
int
th_daemon_kill(struct th_daemon *d)
{
	int st;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &st, 0) == -1 && errno == EINTR)
		;
	d->pid = 0;
	return WIFSIGNALED(st) ? WTERMSIG(st) : -1;
}

/*
 * Start d again with the same config (and so the same id and uids): what
 * systemd does after a crash. The previous log is kept as log.N.
 */
void
th_daemon_restart(struct th_daemon *d)
{
	char old[320];

	cr_assert(d->pid <= 0, "th_daemon_restart: still running");
	snprintf(old, sizeof(old), "%s.%d", d->log, ++d->restarts);
	cr_assert(rename(d->log, old) == 0, "rename %s: %s", d->log, strerror(errno));
	th_daemon_exec(d);
	th_daemon_wait_up(d);
}

/* Wait up to seconds for d to exit: its exit status, 128 + signal, or -1. */
int
th_daemon_wait(struct th_daemon *d, int seconds)
{
	int st, i;

	if (d->pid <= 0)
		return -1;
	for (i = 0;; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (i >= seconds * 20)
			return -1;
		usleep(50000);
	}
}

/* SIGTERM and wait; returns the exit status (128 + signal if killed). */
int
th_daemon_stop(struct th_daemon *d)
{
	int st, i;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (i = 0; i < 600; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(100000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	cr_assert_fail("hivejobd did not stop within 60 s of SIGTERM");
	return -1;
}

char *
th_daemon_log(const struct th_daemon *d)
{
	FILE	*f = fopen(d->log, "r");
	char	*s = NULL;
	size_t	 n = 0;

	if (f == NULL)
		return strdup("");
	if (getdelim(&s, &n, '\0', f) == -1) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

/* Wait up to seconds for text to appear in the daemon's log. */
int
th_daemon_log_wait(const struct th_daemon *d, const char *text, int seconds)
{
	int	 i, found;
	char	*s;

	for (i = 0; i < seconds * 20; i++) {
		s = th_daemon_log(d);
		found = strstr(s, text) != NULL;
		free(s);
		if (found)
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * Poll a query until its first value equals want, up to seconds. Returns 1
 * when it did. Waiting on the row, not on time, keeps tests free of sleeps
 * that a loaded machine would break.
 */
int
th_wait_sql(const char *want, int seconds, const char *fmt, ...)
{
	va_list	 ap;
	char	*q, *v;
	int	 i, ok = 0;
	PGresult *r;

	va_start(ap, fmt);
	cr_assert(vasprintf(&q, fmt, ap) >= 0);
	va_end(ap);
	for (i = 0; i < seconds * 20 && !ok; i++) {
		r = PQexec(th_pg, q);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
			v = PQgetvalue(r, 0, 0);
			ok = strcmp(v, want) == 0;
		}
		PQclear(r);
		if (!ok)
			usleep(50000);
	}
	free(q);
	return ok;
}

char *
q(const char *f, ...)
{
	va_list	 ap;
	char	*s, *v;

	va_start(ap, f);
	cr_assert(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	v = th_sql("%s", s);
	free(s);
	return v ? v : strdup("NULL");
}

long
qlong(const char *f, ...)
{
	va_list	 ap;
	char	*s, *v;
	long	 n;

	va_start(ap, f);
	cr_assert(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	v = th_sql("%s", s);
	cr_assert_not_null(v, "NULL from %s", s);
	n = atol(v);
	free(v);
	free(s);
	return n;
}

char *
fmt(const char *f, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, f);
	cr_assert(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
states(void)
{
	return q("SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n"
	    " FROM river_job GROUP BY state ORDER BY state) s");
}

/*
 * A helper server for tests (node and a script): argv[0] is run from PATH,
 * its stderr goes to errpath, and the first line it prints is its port.
 */
void
th_server_start(struct th_server *s, const char *const *argv, const char *errpath)
{
	char		 buf[64];
	int		 p[2];
	size_t		 len = 0;
	ssize_t		 r;
	struct pollfd	 pfd;
	struct timespec	 t0, t1;

	cr_assert(pipe2(p, O_CLOEXEC) == 0);
	s->pid = fork();
	cr_assert(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		if (fd != -1)
			dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	s->out = p[0];
	/* The first line is the port. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pfd = (struct pollfd){ .fd = s->out, .events = POLLIN };
		clock_gettime(CLOCK_MONOTONIC, &t1);
		cr_assert(t1.tv_sec - t0.tv_sec < 20, "%s printed no port", argv[1]);
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		r = read(s->out, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0) {
			char *err = NULL;
			FILE *f = fopen(errpath, "r");
			size_t cap = 0;

			if (f) {
				if (getdelim(&err, &cap, '\0', f) == -1)
					err = NULL;
				fclose(f);
			}
			cr_assert_fail("%s exited before printing its port:\n%s",
			    argv[1], err ? err : "");
		}
		len += (size_t)r;
		buf[len] = '\0';
		if (strchr(buf, '\n'))
			break;
		cr_assert(len < sizeof(buf) - 1);
	}
	s->port = atoi(buf);
	cr_assert(s->port > 0 && s->port < 65536, "port: %s", buf);
}

void
th_server_stop(struct th_server *s)
{
	int st, i;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (i = 0; i < 40; i++) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			break;
		usleep(50000);
	}
	if (i == 40) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &st, 0);
	}
	s->pid = 0;
	if (s->out != -1)
		close(s->out);
	s->out = -1;
}

/* POST a JSON object to the server's control endpoint, /_control. */
void
th_server_control(const struct th_server *s, const char *json)
{
	struct sockaddr_in	 sa;
	char			*req, reply[1024];
	size_t			 len = 0;
	ssize_t			 r;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)s->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	    "connect to the helper server: %s", strerror(errno));
	req = fmt("POST /_control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    strlen(json), json);
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (len < sizeof(reply) - 1 &&
	    (r = read(fd, reply + len, sizeof(reply) - 1 - len)) > 0)
		len += (size_t)r;
	reply[len] = '\0';
	close(fd);
	cr_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0, "control %s: %s", json, reply);
	free(req);
}

/* A JSON-lines log as an array, skipping a last line still being written. */
json_object *
th_jsonl(const char *path)
{
	json_object	*a = json_object_new_array(), *o;
	FILE		*f = fopen(path, "r");
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;

	if (f == NULL)
		return a;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;		/* being written */
		o = json_tokener_parse(line);
		cr_assert_not_null(o, "%s: %s", path, line);
		json_object_array_add(a, o);
	}
	free(line);
	fclose(f);
	return a;
}
