/*
 * jobs: the database side of the supervisor. When the work connection is
 * idle, jobs_next_task picks what to send, in order: setup after a connect,
 * pending finishes, loads, a claim, the scheduler, the queue rows. Every
 * result comes back to jobs_result. Finishing is safe to repeat: the SQL
 * guards on state, attempt and our id, so an outcome whose commit was lost
 * with the connection is simply sent again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hivejobd.h"
#include "log.h"
#include "migrate.h"

#define FINISH_BATCH	500
#define QUEUES_EVERY	(10 * 60000 - 30000)

static struct job *loading_inflight;
static struct finish *finish_tail;
static int	queue_full_batch;	/* the last claim filled its batch */
static int	claim_round;		/* queues tried in this round */
static int	claim_asked;
static int	startup_recovered;

static void	send_setup(void);
static void	listen_start(void);
static char	*channel(const char *, const char *);
static void	setup_done(PGresult *);
static void	send_recover(void);
static void	recover_done(PGresult *);
static void	send_finish(void);
static void	send_load(void);
static int	send_claim(void);
static void	claimed(PGresult *);
static void	loaded(PGresult *);
static void	job_route(struct job *);
static char	*known_ids(void);
static void	list_push(struct job **, struct job *);
static const char *queue_array(struct buf *);
static void	job_cancel(int64_t);

static void
list_push(struct job **head, struct job *j)
{
	struct job **p = head;

	while (*p)
		p = &(*p)->next;
	j->next = NULL;
	*p = j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->kind);
	free(j->queue);
	free(j->args);
	free(j->metadata);
	free(j->scheduled_at);
	free(j->input);
	free(j);
}

void
finish_add(int64_t id, char *json)
{
	struct finish *f = xcalloc(1, sizeof(*f));

	f->job_id = id;
	f->json = json;
	if (sup.finishes == NULL)
		sup.finishes = f;
	else
		finish_tail->next = f;
	finish_tail = f;
	sup.nfinishes++;
}

/* A job that ends without running: bad args, unknown kind, a load's word. */
int
job_finish_early(struct job *j, const char *outcome, const char *class,
    const char *error)
{
	struct buf	 b;
	char		*retry = retry_json(conf_kind(sup.conf, j->kind));

	buf_init(&b);
	buf_printf(&b, "{\"id\":%lld,\"attempt\":%d,\"outcome\":\"%s\",\"error\":",
	    (long long)j->id, j->attempt, outcome);
	json_str(&b, error);
	buf_printf(&b, ",\"retry\":%s", retry);
	free(retry);
	buf_adds(&b, ",\"meta\":{\"class\":");
	json_str(&b, class);
	buf_adds(&b, ",\"supervisor\":");
	json_str(&b, sup.conf->id);
	buf_adds(&b, "}}");
	log_info("job=%lld kind=%s attempt=%d outcome=%s%s%s: %s", (long long)j->id,
	    j->kind, j->attempt, outcome, *class ? " class=" : "", class, error);
	finish_add(j->id, b.data);
	metrics_job_end(j->kind, metrics_outcome(outcome, j->attempt,
	    j->max_attempts), class, -1);
	job_free(j);
	return 0;
}

/* River's channel: "<schema>.<topic>", cut at 63 bytes like an identifier. */
static char *
channel(const char *schema, const char *topic)
{
	char	*s = xasprintf("%s.%s", schema, topic);
	size_t	 n = strlen(s);

	if (n > 63) {
		n = 63;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s[n] = '\0';
	}
	return s;
}

/* The configured queues' names as a text[] literal, in b. */
static const char *
queue_array(struct buf *b)
{
	int i;

	pg_array_open(b);
	for (i = 0; i < sup.conf->nqueues; i++)
		pg_array_add(b, sup.conf->queues[i].name);
	return pg_array_close(b);
}

/* Every job id we hold: the rows that are running because of us. */
static char *
known_ids(void)
{
	struct buf	 b;
	struct job	*j;
	struct finish	*f;
	int		 i, n = 0;

	buf_init(&b);
	buf_addc(&b, '{');
	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid)
			buf_printf(&b, "%s%lld", n++ ? "," : "",
			    (long long)sup.children[i].job->id);
	for (j = sup.ready; j; j = j->next)
		buf_printf(&b, "%s%lld", n++ ? "," : "", (long long)j->id);
	for (j = sup.loading; j; j = j->next)
		buf_printf(&b, "%s%lld", n++ ? "," : "", (long long)j->id);
	for (j = loading_inflight; j; j = j->next)
		buf_printf(&b, "%s%lld", n++ ? "," : "", (long long)j->id);
	for (f = sup.finishes; f; f = f->next)
		buf_printf(&b, "%s%lld", n++ ? "," : "", (long long)f->job_id);
	buf_addc(&b, '}');
	return b.data;
}

void
jobs_on_connect(void)
{
	if (sup.db.state == PG_IDLE && !sup.db.ready) {
		sup.db.checked = 0;
		sup.acquired = 0;
		jobs_next_task();
	}
	listen_start();
}

/* LISTEN once the schema, and so the channel names, are known. */
static void
listen_start(void)
{
	if (sup.listen.state == PG_IDLE && !sup.listen.ready && sup.chan_insert) {
		char *a = PQescapeIdentifier(sup.listen.conn, sup.chan_insert,
		    strlen(sup.chan_insert));
		char *b = PQescapeIdentifier(sup.listen.conn, sup.chan_control,
		    strlen(sup.chan_control));
		char *c = PQescapeIdentifier(sup.listen.conn, sup.chan_leader,
		    strlen(sup.chan_leader));
		char *q = xasprintf("LISTEN %s; LISTEN %s; LISTEN %s", a, b, c);

		PQfreemem(a);
		PQfreemem(b);
		PQfreemem(c);
		pg_send(&sup.listen, TASK_LISTEN, q, 0, NULL);
		free(q);
	}
}

/*
 * After every connect, first the schema and the migration line, then the
 * rows still running under our id that we do not hold. At startup those
 * belong to a predecessor with our id and are lost; after a reconnect they
 * are claims whose reply never reached us, and their attempt is given back.
 */
static void
send_setup(void)
{
	const char *p[1] = { sup.conf->id };

	pg_send(&sup.db, TASK_SETUP, "SELECT current_schema(),"
	    " (SELECT coalesce(max(version), 0) FROM river_migration"
	    "  WHERE line = 'hivejob'),"
	    " (SELECT host FROM hivejob_supervisor WHERE id = $1),"
	    " (SELECT pid FROM hivejob_supervisor WHERE id = $1)", 1, p);
}

static void
setup_done(PGresult *r)
{
	int have = atoi(PQgetvalue(r, 0, 1)), want = migrate_latest("hivejob");

	if (have != want) {
		log_err("the database's hivejob migration line is at version %d, this "
		    "hivejobd needs %d: %s", have, want, have < want ?
		    "run 'hivejobctl migrate' with the hivejobctl of this release" :
		    "upgrade hivejobd to the release that migrated it");
		exit(78);
	}
	lease_setup_row(r);
	if (sup.schema == NULL) {
		sup.schema = xstrdup(PQgetvalue(r, 0, 0));
		sup.chan_insert = channel(sup.schema, "river_insert");
		sup.chan_control = channel(sup.schema, "river_control");
		sup.chan_leader = channel(sup.schema, "hivejob_leadership");
		log_info("working schema \"%s\" as supervisor \"%s\"", sup.schema,
		    sup.conf->id);
		listen_start();
	}
	sup.db.checked = 1;
}

static void
send_recover(void)
{
	const char	*p[4];
	char		*ids = known_ids();

	p[0] = sup.conf->id;
	p[1] = ids;
	p[2] = startup_recovered ? "release" : "retry";
	p[3] = "the supervisor that ran this attempt stopped; it was restarted";
	pg_send(&sup.db, TASK_RECOVER,
	    "SELECT count(*) FROM hivejob_finish($1, (SELECT coalesce(jsonb_agg("
	    "  jsonb_build_object('id', id, 'attempt', attempt, 'outcome', $3::text,"
	    "  'error', $4::text, 'meta', jsonb_build_object('class', 'lost',"
	    "  'supervisor', $1::text), 'retry', '{\"policy\": \"exponential\"}'::jsonb)),"
	    "  '[]') FROM river_job WHERE state = 'running'"
	    "  AND attempted_by[array_upper(attempted_by, 1)] = $1"
	    "  AND NOT (id = ANY($2::bigint[])))) WHERE job_state IS NOT NULL", 4, p);
	free(ids);
}

static void
recover_done(PGresult *r)
{
	if (atoi(PQgetvalue(r, 0, 0)) > 0)
		log_notice("recovered %s job(s) left running under supervisor id \"%s\" (%s)",
		    PQgetvalue(r, 0, 0), sup.conf->id,
		    startup_recovered ? "claims whose reply was lost: attempt given back" :
		    "a predecessor's: retried, class lost");
	startup_recovered = 1;
	sup.db.ready = 1;
	sup.claim_wanted = 1;
	sup.next_queues_ms = 0;
}

static void
send_finish(void)
{
	struct buf	 b;
	struct finish	*f, **tail;
	const char	*p[2];
	int		 n = 0;

	buf_init(&b);
	buf_addc(&b, '[');
	tail = &sup.inflight;
	while ((f = sup.finishes) != NULL && n < FINISH_BATCH) {
		sup.finishes = f->next;
		sup.nfinishes--;
		f->next = NULL;
		*tail = f;
		tail = &f->next;
		if (n++)
			buf_addc(&b, ',');
		buf_adds(&b, f->json);
	}
	if (sup.finishes == NULL)
		finish_tail = NULL;
	buf_addc(&b, ']');
	p[0] = sup.conf->id;
	p[1] = b.data;
	pg_send(&sup.db, TASK_FINISH,
	    "SELECT job_id, job_state FROM hivejob_finish($1, $2::jsonb)", 2, p);
	buf_free(&b);
}

static void
finish_done(PGresult *r)
{
	struct finish	*f;
	int		 i;

	for (i = 0; i < PQntuples(r); i++)
		if (PQgetisnull(r, i, 1))
			log_notice("job=%s: finish not applied, the row is no longer this "
			    "attempt's (rescued, retried or cancelled meanwhile)",
			    PQgetvalue(r, i, 0));
	while ((f = sup.inflight) != NULL) {
		sup.inflight = f->next;
		free(f->json);
		free(f);
	}
}

/* The sent finishes go back in front: sending them again is safe. */
static void
finish_requeue(void)
{
	struct finish *f, *last;

	if (sup.inflight == NULL)
		return;
	for (last = sup.inflight, f = last; f; f = f->next) {
		last = f;
		sup.nfinishes++;
	}
	last->next = sup.finishes;
	if (sup.finishes == NULL)
		finish_tail = last;
	sup.finishes = sup.inflight;
	sup.inflight = NULL;
}

/* One load call for the jobs of the first loading job's kind. */
static void
send_load(void)
{
	const struct kind_conf	*k = conf_kind(sup.conf, sup.loading->kind);
	struct job		*j, **pp;
	struct buf		 b;
	const char		*p[2];
	char			*kind = xstrdup(sup.loading->kind), *doc, *settings;
	int			 n = 0;

	if (k == NULL || k->load == NULL) {
		/* A reload dropped the kind, or its load, after the claim. */
		for (pp = &sup.loading; (j = *pp) != NULL;) {
			if (strcmp(j->kind, kind) != 0) {
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			sup.nloading--;
			job_route(j);
		}
		free(kind);
		jobs_next_task();
		return;
	}
	settings = jobdoc_settings(k, 0);
	buf_init(&b);
	buf_addc(&b, '[');
	for (pp = &sup.loading; (j = *pp) != NULL;) {
		if (strcmp(j->kind, kind) != 0 || n >= 200) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		sup.nloading--;
		list_push(&loading_inflight, j);
		doc = jobdoc_build(j, settings, 0);
		buf_printf(&b, "%s%.*s", n++ ? "," : "", (int)strcspn(doc, "\n"), doc);
		free(doc);
	}
	buf_addc(&b, ']');
	p[0] = k->load;
	p[1] = b.data;
	pg_send(&sup.db, TASK_LOAD, "SELECT job_id, result::text, error, errcode"
	    " FROM hivejob_load($1, $2::jsonb)", 2, p);
	buf_free(&b);
	free(settings);
	free(kind);
}

static void
loaded(PGresult *r)
{
	struct job	*j, **pp;
	json_object	*o, *v;
	char		*msg;
	int		 i;

	for (i = 0; i < PQntuples(r); i++) {
		int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);

		for (pp = &loading_inflight; (j = *pp) != NULL; pp = &j->next)
			if (j->id == id)
				break;
		if (j == NULL)
			continue;
		*pp = j->next;
		if (j->cancelled) {
			job_finish_early(j, "cancel", "", "job cancelled by request "
			    "before it started");
			continue;
		}
		if (!PQgetisnull(r, i, 2)) {
			const char *st = PQgetvalue(r, i, 3);
			int bad = strncmp(st, "22", 2) == 0;
			msg = xasprintf("%s: %s (SQLSTATE %s)", bad ? "args rejected by load" :
			    "load failed", PQgetvalue(r, i, 2), st);
			job_finish_early(j, bad ? "cancel" : "retry", bad ? "bad_args" : "load", msg);
			free(msg);
			continue;
		}
		if (PQgetisnull(r, i, 1)) {
			job_finish_early(j, "cancel", "load", "load found nothing for this "
			    "job: the record it refers to is gone");
			continue;
		}
		o = json_tokener_parse(PQgetvalue(r, i, 1));
		if (o && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "complete", &v)) {
			msg = xasprintf("completed by load: %s", json_object_get_string(v));
			job_finish_early(j, "complete", "", msg);
		} else if (o && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "cancel", &v)) {
			msg = xasprintf("cancelled by load: %s", json_object_get_string(v));
			job_finish_early(j, "cancel", "load", msg);
		} else {
			msg = NULL;
			j->input = xstrdup(PQgetvalue(r, i, 1));
			list_push(&sup.ready, j);
			sup.nready++;
		}
		free(msg);
		json_object_put(o);
	}
	/* Rows the load did not return: try again with the next batch. */
	while ((j = loading_inflight) != NULL) {
		loading_inflight = j->next;
		list_push(&sup.loading, j);
		sup.nloading++;
	}
}

/*
 * Claim for the next queue that has room, sized by free slots overall, in
 * the queue, and per kind; kinds at their limit are left for later.
 */
static int
send_claim(void)
{
	struct buf		 full, lim, rem;
	const char		*p[7];
	char			 n_s[16], max_s[24];
	int			 i, tries, n, free_slots, nk = 0;
	struct queue_conf	*q = NULL;
	struct job		*j;

	free_slots = child_free_slots() - sup.nready - sup.nloading;
	if (free_slots <= 0)
		return 0;
	for (tries = 0; tries < sup.conf->nqueues; tries++) {
		q = &sup.conf->queues[sup.claim_queue_next];
		sup.claim_queue_next = (sup.claim_queue_next + 1) % sup.conf->nqueues;
		claim_round++;
		n = free_slots;
		if (q->max_children) {
			int used = child_running_queue(q->name);
			for (j = sup.loading; j; j = j->next)
				used += strcmp(j->queue, q->name) == 0;
			if (q->max_children - used < n)
				n = q->max_children - used;
		}
		if (n > 0)
			break;
		q = NULL;
	}
	if (q == NULL)
		return 0;

	pg_array_open(&full);
	pg_array_open(&lim);
	pg_array_open(&rem);
	for (i = 0; i < sup.conf->nkinds; i++) {
		const struct kind_conf *k = &sup.conf->kinds[i];
		int used, left;

		if (k->max_children == 0)
			continue;
		used = child_running_kind(k->name);
		for (j = sup.loading; j; j = j->next)
			used += strcmp(j->kind, k->name) == 0;
		left = k->max_children - used;
		if (left <= 0) {
			pg_array_add(&full, k->name);
		} else {
			pg_array_add(&lim, k->name);
			buf_printf(&rem, "%s%d", nk ? "," : "", left);
			nk++;
		}
	}
	pg_array_close(&full);
	pg_array_close(&lim);
	buf_addc(&rem, '}');
	snprintf(n_s, sizeof(n_s), "%d", n);
	snprintf(max_s, sizeof(max_s), "%llu", (unsigned long long)sup.conf->max_args);
	p[0] = q->name;
	p[1] = n_s;
	p[2] = sup.conf->id;
	p[3] = full.data;
	p[4] = lim.data;
	p[5] = rem.data;
	p[6] = max_s;
	claim_asked = n;
	pg_send(&sup.db, TASK_CLAIM,
	    "WITH locked AS ("
	    "  SELECT id, kind, priority, scheduled_at FROM river_job"
	    "  WHERE state = 'available' AND queue = $1 AND scheduled_at <= now()"
	    "  AND NOT (kind = ANY($4::text[]))"
	    "  AND NOT EXISTS (SELECT 1 FROM river_queue rq"
	    "   WHERE rq.name = $1 AND rq.paused_at IS NOT NULL)"
	    "  ORDER BY priority, scheduled_at, id"
	    "  LIMIT $2::int FOR UPDATE SKIP LOCKED"
	    "), picked AS ("
	    "  SELECT l.id FROM (SELECT id, kind, row_number() OVER"
	    "   (PARTITION BY kind ORDER BY priority, scheduled_at, id) AS rn FROM locked) l"
	    "  LEFT JOIN unnest($5::text[], $6::int[]) AS lim(kind, n) ON lim.kind = l.kind"
	    "  WHERE lim.n IS NULL OR l.rn <= lim.n"
	    ")"
	    " UPDATE river_job j SET state = 'running', attempt = j.attempt + 1,"
	    "  attempted_at = now(),"
	    "  attempted_by = (array_append(coalesce(j.attempted_by, '{}'), $3::text))"
	    "   [greatest(1, coalesce(array_length(j.attempted_by, 1), 0) - 98):]"
	    " FROM picked WHERE j.id = picked.id"
	    " RETURNING j.id, j.kind, j.attempt, j.max_attempts, j.queue, j.priority,"
	    "  CASE WHEN octet_length(j.args::text) <= $7::bigint THEN j.args::text END,"
	    "  octet_length(j.args::text), j.metadata::text,"
	    "  extract(epoch FROM j.scheduled_at)::text",
	    7, p);
	buf_free(&full);
	buf_free(&lim);
	buf_free(&rem);
	return 1;
}

/* A claimed row goes to load, straight to a slot, or ends without running. */
static void
job_route(struct job *j)
{
	const struct kind_conf	*k = conf_kind(sup.conf, j->kind);
	const char		*a;
	char			*msg;

	if (j->args == NULL) {
		msg = xasprintf("args are %lld bytes, over the max_args limit of %llu",
		    (long long)j->args_len, (unsigned long long)sup.conf->max_args);
		job_finish_early(j, "cancel", "bad_args", msg);
		free(msg);
		return;
	}
	for (a = j->args; *a == ' ' || *a == '\n' || *a == '\t'; a++)
		;
	if (*a != '{') {
		msg = xasprintf("args must be a JSON object, not %s",
		    *a == '[' ? "an array" : *a == '"' ? "a string" :
		    *a == 'n' ? "null" : "a scalar");
		job_finish_early(j, "cancel", "bad_args", msg);
		free(msg);
		return;
	}
	if (k == NULL) {
		/* River's own words, so River's tools read it the same. */
		msg = xasprintf("job kind is not registered in the client's Workers "
		    "bundle: %s", j->kind);
		job_finish_early(j, "retry", "unknown_kind", msg);
		free(msg);
		return;
	}
	if (k->load) {
		list_push(&sup.loading, j);
		sup.nloading++;
		return;
	}
	list_push(&sup.ready, j);
	sup.nready++;
}

static void
claimed(PGresult *r)
{
	struct job	*j;
	struct timespec	 ts;
	double		 now_real;
	int		 i, n = PQntuples(r);

	clock_gettime(CLOCK_REALTIME, &ts);
	now_real = ts.tv_sec + ts.tv_nsec / 1e9;
	queue_full_batch |= n >= claim_asked;
	for (i = 0; i < n; i++) {
		j = xcalloc(1, sizeof(*j));
		j->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		j->kind = xstrdup(PQgetvalue(r, i, 1));
		j->attempt = atoi(PQgetvalue(r, i, 2));
		j->max_attempts = atoi(PQgetvalue(r, i, 3));
		j->queue = xstrdup(PQgetvalue(r, i, 4));
		j->priority = atoi(PQgetvalue(r, i, 5));
		j->args = PQgetisnull(r, i, 6) ? NULL : xstrdup(PQgetvalue(r, i, 6));
		j->args_len = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		j->metadata = xstrdup(PQgetvalue(r, i, 8));
		j->scheduled_at = xstrdup(PQgetvalue(r, i, 9));
		j->claimed_at = now_real;
		job_route(j);
	}
	if (claim_round >= sup.conf->nqueues) {
		/* A round over every queue: go on only if one had more. */
		if (!queue_full_batch)
			sup.claim_wanted = 0;
		queue_full_batch = 0;
		claim_round = 0;
	}
}

void
jobs_next_task(void)
{
	struct buf	b;
	int64_t		now = now_ms();

	if (sup.db.state != PG_IDLE)
		return;
	if (!sup.db.checked) {
		send_setup();
		return;
	}
	if (sup.acquired && !sup.db.ready) {
		send_recover();
		return;
	}
	if (lease_next_task(0))
		return;
	if (sup.finishes) {
		send_finish();
		return;
	}
	if (sup.loading) {
		send_load();
		return;
	}
	if (lease_next_task(1))
		return;
	if (sup.claim_wanted && sup.leased && !sup.stopping && send_claim())
		return;
	if (lease_next_task(2))
		return;
	if (!sup.stopping && metrics_depth_due(now)) {
		const char *p[1];

		p[0] = queue_array(&b);
		pg_send(&sup.db, TASK_DEPTH, "SELECT queue, state::text, count(*)"
		    " FROM river_job WHERE queue = ANY($1::text[])"
		    " AND state IN ('available', 'scheduled', 'retryable', 'running')"
		    " GROUP BY 1, 2", 1, p);
		buf_free(&b);
		return;
	}
	if (now >= sup.next_queues_ms && !sup.stopping) {
		const char *p[1];

		sup.next_queues_ms = now + QUEUES_EVERY;
		p[0] = queue_array(&b);
		pg_send(&sup.db, TASK_QUEUES,
		    "INSERT INTO river_queue (name, updated_at)"
		    " SELECT unnest($1::text[]), now()"
		    " ON CONFLICT (name) DO UPDATE SET updated_at = now()", 1, p);
		buf_free(&b);
	}
}

void
jobs_result(enum pg_task t, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK && t != TASK_QUEUES && t != TASK_LISTEN)
		return;	/* e.g. SET before a SELECT */
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		log_warnx("database: %s failed: %s", t == TASK_FINISH ? "finish" :
		    t == TASK_CLAIM ? "claim" : t == TASK_LOAD ? "load" :
		    t == TASK_SETUP ? "setup" : t == TASK_RECOVER ? "recovery" :
	    t == TASK_SCHEDULE ? "scheduler" :
		    t == TASK_LISTEN ? "listen" : "queue upsert",
		    m ? m : PQerrorMessage(sup.db.conn));
		if ((t == TASK_SETUP || t == TASK_RECOVER) &&
		    PQresultErrorField(r, PG_DIAG_SQLSTATE) &&
		    strncmp(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42", 2) == 0) {
			log_err("schema lacks River's and hivejob's tables: run "
			    "'hivejobctl migrate'");
			exit(78);
		}
		jobs_task_failed(t);
		return;
	}
	switch (t) {
	case TASK_LEASE:
	case TASK_RENEW:
	case TASK_CANCELS:
	case TASK_LEADER:
	case TASK_RESCUE:
	case TASK_CLEAN:
	case TASK_PERIODIC_READ:
	case TASK_PERIODIC_RUN:
	case TASK_RESIGN:
		lease_result(t, r);
		break;
	case TASK_DEPTH:
		metrics_depth_result(r);
		break;
	case TASK_SETUP:
		setup_done(r);
		break;
	case TASK_RECOVER:
		recover_done(r);
		break;
	case TASK_FINISH:
		finish_done(r);
		break;
	case TASK_LOAD:
		loaded(r);
		break;
	case TASK_CLAIM:
		claimed(r);
		break;
	case TASK_SCHEDULE:
		if (atoi(PQgetvalue(r, 0, 0)) >= 1000)
			sup.next_schedule_ms = 0;	/* more are due: go on */
		if (atoi(PQgetvalue(r, 0, 0)) > 0)
			sup.claim_wanted = 1;
		break;
	case TASK_LISTEN:
		sup.listen.ready = 1;
		sup.claim_wanted = 1;	/* what was inserted while we were away */
		break;
	default:
		break;
	}
}

/*
 * A statement failed or its connection died: nothing it held may be lost.
 * Finishes and loads go back to their queues; a claim whose reply was lost
 * is found again by the setup after the reconnect.
 */
void
jobs_task_failed(enum pg_task t)
{
	struct job *j;

	switch (t) {
	case TASK_FINISH:
		finish_requeue();
		break;
	case TASK_LOAD:
		while ((j = loading_inflight) != NULL) {
			loading_inflight = j->next;
			list_push(&sup.loading, j);
			sup.nloading++;
		}
		break;
	case TASK_CLAIM:
		/* If the claim committed, its rows carry our id: setup finds them. */
		if (sup.db.state == PG_IDLE || sup.db.state == PG_BUSY)
			sup.db.ready = 0;	/* recover again, now */
		break;
	default:
		break;
	}
}

/* Stopping: claimed jobs that never started go back, attempt and all. */
void
jobs_release_pending(void)
{
	struct job *j;

	while ((j = sup.ready) != NULL) {
		sup.ready = j->next;
		sup.nready--;
		job_finish_early(j, "release", "", "released: the supervisor is stopping");
	}
	while ((j = sup.loading) != NULL) {
		sup.loading = j->next;
		sup.nloading--;
		job_finish_early(j, "release", "", "released: the supervisor is stopping");
	}
}

/*
 * A cancel for a job of ours, wherever it is: running (kill its group),
 * claimed and waiting (end it now), or inside a load round trip (end it
 * when the load returns).
 */
static void
job_cancel(int64_t id)
{
	struct job **lists[2] = { &sup.ready, &sup.loading }, **pp, *j;
	int i;

	child_cancel(id);
	for (i = 0; i < 2; i++)
		for (pp = lists[i]; (j = *pp) != NULL; pp = &j->next)
			if (j->id == id) {
				*pp = j->next;
				if (i == 0)
					sup.nready--;
				else
					sup.nloading--;
				job_finish_early(j, "cancel", "", "job cancelled by request "
				    "before it started");
				return;
			}
	for (j = loading_inflight; j; j = j->next)
		if (j->id == id)
			j->cancelled = 1;
}

/* A NOTIFY on the LISTEN connection. */
void
jobs_notify(const char *channel, const char *payload)
{
	json_object	*o, *v;
	const char	*action = NULL, *queue = NULL;
	int		 i;

	if ((o = json_tokener_parse(payload)) == NULL)
		return;
	if (json_object_object_get_ex(o, "queue", &v))
		queue = json_object_get_string(v);
	if (strcmp(channel, sup.chan_insert) == 0) {
		for (i = 0; queue && i < sup.conf->nqueues; i++)
			if (strcmp(queue, sup.conf->queues[i].name) == 0)
				sup.claim_wanted = 1;
	} else if (sup.chan_leader && strcmp(channel, sup.chan_leader) == 0) {
		lease_notify(payload);
	} else if (strcmp(channel, sup.chan_control) == 0) {
		if (json_object_object_get_ex(o, "action", &v))
			action = json_object_get_string(v);
		if (action && strcmp(action, "cancel") == 0 &&
		    json_object_object_get_ex(o, "job_id", &v))
			job_cancel(json_object_get_int64(v));
		else if (action && (strcmp(action, "resume") == 0 ||
		    strcmp(action, "pause") == 0)) {
			log_info("queue %s %sd", queue ? queue : "?", action);
			sup.claim_wanted = 1;
		}
	}
	json_object_put(o);
}
