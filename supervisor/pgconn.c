/*
 * pgconn: a libpq connection driven by the event loop. Connecting uses
 * PQconnectStartParams/PQconnectPoll under a deadline the loop enforces
 * (libpq ignores connect_timeout there); a lost connection is retried with
 * capped, jittered backoff. One statement is in flight at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "hivejobd.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS	10000
#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		15000

static void	pg_notice(void *, const char *);

static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * Begin a connection. Every statement carries statement_timeout and
 * lock_timeout, so a lock held by somebody else can never hang us.
 */
void
pg_start(struct pgconn *c)
{
	const char	*keys[] = { "dbname", "fallback_application_name", "options", NULL };
	const char	*vals[] = { sup.conf->conninfo, "hivejobd", NULL, NULL };
	const char	*s;
	struct buf	 o;

	/*
	 * The schema goes in the startup packet, so no statement is needed
	 * before work: a double-quoted identifier, with libpq's backslash
	 * escapes for blanks and backslashes in the options string.
	 */
	buf_init(&o);
	buf_adds(&o, "-c statement_timeout=30s -c lock_timeout=5s"
	    " -c idle_in_transaction_session_timeout=60s -c TimeZone=UTC");
	if (sup.conf->schema && *sup.conf->schema) {
		buf_adds(&o, " -c search_path=\"");
		for (s = sup.conf->schema; *s; s++) {
			if (*s == ' ' || *s == '\\')
				buf_addc(&o, '\\');
			if (*s == '"')
				buf_addc(&o, '"');
			buf_addc(&o, *s);
		}
		buf_addc(&o, '"');
	}
	vals[2] = buf_str(&o);
	c->conn = PQconnectStartParams(keys, vals, 1);
	buf_free(&o);
	c->ready = 0;
	c->checked = 0;
	c->task = TASK_NONE;
	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		pg_lost(c, c->conn ? PQerrorMessage(c->conn) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(c->conn, pg_notice, NULL);
	c->state = PG_CONNECTING;
	c->want_write = 1;	/* libpq: start as if PQconnectPoll said WRITING */
	c->deadline_ms = now_ms() + CONNECT_TIMEOUT_MS;
}

void
pg_poll_connect(struct pgconn *c)
{
	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->conn, 1) == -1) {
			pg_lost(c, PQerrorMessage(c->conn));
			return;
		}
		c->state = PG_IDLE;
		c->backoff_ms = 0;
		log_info("database connection %s established", c->name);
		jobs_on_connect();
		return;
	case PGRES_POLLING_FAILED:
		pg_lost(c, PQerrorMessage(c->conn));
		return;
	case PGRES_POLLING_WRITING:
		c->want_write = 1;
		return;
	default:
		c->want_write = 0;
		return;
	}
}

/* Drop the connection and schedule the next attempt. */
void
pg_lost(struct pgconn *c, const char *why)
{
	char		 msg[512];
	enum pg_task	 t = c->task;
	size_t		 n;

	snprintf(msg, sizeof(msg), "%s", why ? why : "");
	while ((n = strlen(msg)) > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[n - 1] = '\0';
	for (n = 0; msg[n]; n++)
		if (msg[n] == '\n' || msg[n] == '\t')
			msg[n] = ' ';
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->state = PG_DOWN;
	c->task = TASK_NONE;
	c->ready = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	/* Full jitter over the upper half: supervisors do not reconnect in step. */
	c->reconnect_ms = now_ms() + c->backoff_ms / 2 +
	    (int64_t)(random() % (c->backoff_ms / 2 + 1));
	log_warnx("database connection %s lost: %s; reconnecting in %lld ms",
	    c->name, msg, (long long)(c->reconnect_ms - now_ms()));
	if (t != TASK_NONE)
		jobs_task_failed(t);
}

int
pg_send(struct pgconn *c, enum pg_task t, const char *sql, int n,
    const char *const *params)
{
	int ok;

	if (n > 0)
		ok = PQsendQueryParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
	else
		ok = PQsendQuery(c->conn, sql);
	if (!ok) {
		c->task = t;
		pg_lost(c, PQerrorMessage(c->conn));
		return -1;
	}
	c->state = PG_BUSY;
	c->task = t;
	c->deadline_ms = now_ms() + 45000;
	return 0;
}

int
pg_fd(const struct pgconn *c)
{
	return c->conn ? PQsocket(c->conn) : -1;
}

/* Does the connection need POLLOUT: while connecting, or flushing a send? */
int
pg_wants_write(const struct pgconn *c)
{
	if (c->conn == NULL)
		return 0;
	if (c->state == PG_CONNECTING)
		return c->want_write;
	return PQflush(c->conn) == 1;
}

/*
 * Postgres array literals, for text[] parameters: "{" on open, each
 * element double-quoted with '"' and '\\' escaped, "}" on close. Names
 * from the configuration may hold commas, blanks or quotes.
 */
void
pg_array_open(struct buf *b)
{
	buf_init(b);
	buf_addc(b, '{');
}

void
pg_array_add(struct buf *b, const char *s)
{
	if (b->len > 1)
		buf_addc(b, ',');
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

const char *
pg_array_close(struct buf *b)
{
	buf_addc(b, '}');
	return b->data;
}
