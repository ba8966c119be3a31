/*
 * lease: staying alive in the database's eyes, and the leader's work.
 *
 * Each supervisor holds a lease row (hivejob_supervisor) renewed every
 * third of its length, over the LISTEN connection; a supervisor whose lease lapses is gone, and the
 * rows it claimed may be rescued. One supervisor leads (hivejob_leader,
 * never River's river_leader) and runs the maintenance: the scheduler, the
 * rescuer (only after leading for a whole lease, so a supervisor that is
 * merely reconnecting is not robbed), retention, and periodic jobs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hivejobd.h"
#include "log.h"

#define SCHEDULE_EVERY	5000
#define CLEAN_EVERY	30000
#define PERIODIC_EVERY	1000
#define PERIODIC_GRACE	60	/* seconds late that still count as on time */

/* Periodic runs worked out from one read, sent one statement at a time. */
struct prun {
	int	 idx;		/* into conf->periodics */
	char	 expect[64];	/* the stored next run, as stored (the guard), or "" */
	char	 run[32];	/* the run to enqueue, or "" to skip */
	char	 next[32];
	char	 key[64];	/* RFC 3339 of the run, for the unique key */
	int	 more;		/* the next run is due already: a backlog */
};

static struct prun	*pruns;
static int		 npruns, prun_next;

static int	send_acquire(void);
static int	send_renew(struct pgconn *);
static int	send_leader(void);
static int	send_periodic(void);
static void	periodic_plan(PGresult *);
static void	rfc3339(time_t, char *, size_t);
static int	pid_alive_hivejobd(int);

/*
 * Is pid, on this host, a running hivejobd? A zombie is not: it died and
 * its parent has not reaped it yet. Where we cannot tell, it lives.
 */
static int
pid_alive_hivejobd(int pid)
{
	char	 path[64], stat[512], *p;
	FILE	*f;

	if (pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return errno != ENOENT;
	if (fgets(stat, sizeof(stat), f) == NULL)
		stat[0] = '\0';
	fclose(f);
	/* "pid (comm) S ...": comm may hold anything, so find the last ')'. */
	if ((p = strrchr(stat, ')')) == NULL || p[1] != ' ')
		return 1;
	if (p[2] == 'Z' || p[2] == 'X')
		return 0;
	*p = '\0';
	return (p = strchr(stat, '(')) != NULL && strcmp(p + 1, "hivejobd") == 0;
}

/* From the setup row: who holds our id now (host, pid), if anyone. */
void
lease_setup_row(PGresult *r)
{
	free(sup.peek_host);
	sup.peek_host = PQgetisnull(r, 0, 2) ? NULL : xstrdup(PQgetvalue(r, 0, 2));
	sup.peek_pid = PQgetisnull(r, 0, 3) ? 0 : atoi(PQgetvalue(r, 0, 3));
}

/*
 * A holder of our id on our own host that is no longer running (we were
 * restarted after a crash) is taken over at once: that is what brings a
 * crashed supervisor's jobs back within seconds rather than a lease.
 */
static int
send_acquire(void)
{
	const char	*p[8];
	char		 pid[16], base[24], count[16], lease[32], dead[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(base, sizeof(base), "%u", (unsigned)sup.conf->job_uid_base);
	snprintf(count, sizeof(count), "%d", sup.conf->max_children);
	snprintf(lease, sizeof(lease), "%.3f", sup.conf->lease_ms / 1000.0);
	snprintf(dead, sizeof(dead), "%d", sup.peek_host && sup.peek_pid &&
	    strcmp(sup.peek_host, sup.host) == 0 && sup.peek_pid != getpid() &&
	    !pid_alive_hivejobd(sup.peek_pid) ? sup.peek_pid : 0);
	p[0] = sup.conf->id;
	p[1] = sup.host;
	p[2] = pid;
	p[3] = HIVEJOB_VERSION;
	p[4] = base;
	p[5] = count;
	p[6] = lease;
	p[7] = dead;
	sup.lease_valid_ms = now_ms() + sup.conf->lease_ms;
	return pg_send(&sup.db, TASK_LEASE, "SELECT hivejob_lease_acquire($1, $2,"
	    " $3::int, $4, $5::bigint, $6::int, $7::float8, $8::int)", 8, p) == 0;
}

char *
children_snapshot(void)
{
	struct buf	 b;
	char		 path[64], line[256];
	FILE		*f;
	long		 hwm;
	int		 i, n = 0;

	buf_init(&b);
	buf_addc(&b, '[');
	for (i = 0; i < sup.conf->max_children; i++) {
		struct child *c = &sup.children[i];
		if (c->pid == 0)
			continue;
		hwm = 0;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
		if ((f = fopen(path, "r")) != NULL) {
			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "VmHWM: %ld", &hwm) == 1)
					break;
			fclose(f);
		}
		buf_printf(&b, "%s{\"job_id\":%lld,\"kind\":", n++ ? "," : "",
		    (long long)c->job->id);
		json_str(&b, c->job->kind);
		buf_printf(&b, ",\"pid\":%d,\"slot\":%d,\"started_at\":%lld,"
		    "\"deadline\":%lld,\"peak_rss_kb\":%ld}", (int)c->pid, c->slot,
		    (long long)c->start_wall,
		    (long long)(c->start_wall + (c->timeout_ms + 999) / 1000 + 1), hwm);
	}
	buf_addc(&b, ']');
	return b.data;
}

static int
send_renew(struct pgconn *c)
{
	const char	*p[4];
	char		 pid[16], lease[32], *kids = children_snapshot();
	int		 rc;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(lease, sizeof(lease), "%.3f", sup.conf->lease_ms / 1000.0);
	p[0] = sup.conf->id;
	p[1] = pid;
	p[2] = lease;
	p[3] = kids;
	sup.next_renew_ms = now_ms() + sup.conf->lease_ms / 3;
	/* Counted from the send: the database's clock starts no earlier. */
	sup.renew_sent_ms = now_ms();
	rc = pg_send(c, TASK_RENEW, "SELECT coalesce(hivejob_lease_renew($1,"
	    " $2::int, $3::float8, $4::jsonb), false)", 4, p);
	free(kids);
	return rc == 0;
}

static int
send_leader(void)
{
	const char	*p[2];
	char		 ttl[32];

	snprintf(ttl, sizeof(ttl), "%.3f", sup.conf->lease_ms / 1000.0);
	p[0] = sup.conf->id;
	p[1] = ttl;
	sup.next_leader_ms = now_ms() + sup.conf->lease_ms / 5;
	return pg_send(&sup.db, TASK_LEADER,
	    "SELECT hivejob_leader_attempt($1, $2::float8)", 2, p) == 0;
}

static void
rfc3339(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Work out, from the stored next runs and the database's clock, what each
 * schedule enqueues now. A run late by up to PERIODIC_GRACE is on time (a
 * restart, a change of leader); one later than that was missed while no
 * supervisor was up, and catch_up decides: none skips, last runs the
 * latest missed one once.
 */
static void
periodic_plan(PGresult *r)
{
	time_t	 now = (time_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	time_t	 stored, run, next, t;
	int	 i, k, nrow = PQntuples(r);

	free(pruns);
	pruns = xcalloc((size_t)sup.conf->nperiodics, sizeof(*pruns));
	npruns = prun_next = 0;
	for (i = 0; i < sup.conf->nperiodics; i++) {
		const struct periodic_conf *pc = &sup.conf->periodics[i];
		struct prun *pr = &pruns[npruns];

		for (k = 0; k < nrow; k++)
			if (!PQgetisnull(r, k, 1) &&
			    strcmp(PQgetvalue(r, k, 1), pc->name) == 0)
				break;
		if (k == nrow) {
			/* New: it starts from now, with no run of the past. */
			if (cron_next(&pc->cron, pc->timezone, now, &next) == -1)
				continue;
			pr->idx = i;
			snprintf(pr->next, sizeof(pr->next), "%lld", (long long)next);
			npruns++;
			continue;
		}
		stored = (time_t)strtoll(PQgetvalue(r, k, 2), NULL, 10);
		if (stored > now)
			continue;
		run = stored;
		if (now - stored > PERIODIC_GRACE) {
			for (t = stored; cron_next(&pc->cron, pc->timezone, t, &next) == 0 &&
			    next <= now; t = next)
				run = next;
			log_notice("periodic %s: runs missed since %s while no supervisor "
			    "was up; catch_up = %s", pc->name, PQgetvalue(r, k, 3),
			    pc->catch_up == CATCH_UP_LAST ? "last: running the latest once" :
			    "none: skipped");
			if (pc->catch_up == CATCH_UP_NONE)
				run = 0;
		}
		if (cron_next(&pc->cron, pc->timezone, run ? run : now, &next) == -1)
			continue;
		pr->idx = i;
		/* Its text, not its seconds: a row set by hand may hold a fraction. */
		snprintf(pr->expect, sizeof(pr->expect), "%s", PQgetvalue(r, k, 3));
		if (run) {
			snprintf(pr->run, sizeof(pr->run), "%lld", (long long)run);
			rfc3339(run, pr->key, sizeof(pr->key));
		}
		snprintf(pr->next, sizeof(pr->next), "%lld", (long long)next);
		pr->more = next <= now;
		npruns++;
	}
}

static int
send_periodic(void)
{
	const struct periodic_conf	*pc;
	struct prun			*pr = &pruns[prun_next++];
	const char			*p[10];
	char				 pri[8], maxa[8], *key = NULL;
	int				 rc;

	pc = &sup.conf->periodics[pr->idx];
	snprintf(pri, sizeof(pri), "%d", pc->priority);
	snprintf(maxa, sizeof(maxa), "%d", pc->max_attempts);
	if (*pr->run)
		key = xasprintf("&kind=%s&args=%s&period=%s&queue=%s", pc->kind,
		    pc->args, pr->key, pc->queue);
	p[0] = pc->name;
	p[1] = *pr->expect ? pr->expect : NULL;
	p[2] = *pr->run ? pr->run : NULL;
	p[3] = pr->next;
	p[4] = pc->kind;
	p[5] = pc->args;
	p[6] = pc->queue;
	p[7] = pri;
	p[8] = maxa;
	p[9] = key;
	rc = pg_send(&sup.db, TASK_PERIODIC_RUN, "SELECT $1::text, to_char(to_timestamp($3::float8) AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " hivejob_periodic_run($1, $2::timestamptz, to_timestamp($3::float8),"
	    " to_timestamp($4::float8), $5, $6::jsonb, $7, $8::int, $9::int, $10)", 10, p);
	free(key);
	return rc == 0;
}

/*
 * What the lease and the leader need sent now, if anything, at three
 * points of jobs_next_task: 0 before everything else (acquire, renew,
 * cancels), 1 before claiming (leadership), 2 after (maintenance, and the
 * goodbye at the end of a stop). Returns 1 when it sent something.
 */
int
lease_next_task(int phase)
{
	int64_t	 now = now_ms();
	char	*ids, pid[16];

	if (phase == 0) {
		if (!sup.acquired)
			return send_acquire();
		/* The LISTEN connection is down: renew here rather than lapse. */
		if (now >= sup.next_renew_ms && !(sup.listen.state == PG_IDLE &&
		    sup.listen.ready) && sup.listen.task != TASK_RENEW)
			return send_renew(&sup.db);
		if (!sup.cancels_checked && sup.nrunning > 0) {
			struct buf b;
			const char *p[1];
			int i, n = 0;

			sup.cancels_checked = 1;
			buf_init(&b);
			buf_addc(&b, '{');
			for (i = 0; i < sup.conf->max_children; i++)
				if (sup.children[i].pid)
					buf_printf(&b, "%s%lld", n++ ? "," : "",
					    (long long)sup.children[i].job->id);
			buf_addc(&b, '}');
			p[0] = b.data;
			pg_send(&sup.db, TASK_CANCELS, "SELECT id FROM river_job"
			    " WHERE id = ANY($1::bigint[]) AND metadata ? 'cancel_attempted_at'",
			    1, p);
			buf_free(&b);
			return 1;
		}
		return 0;
	}
	if (phase == 1)
		return !sup.stopping && now >= sup.next_leader_ms ? send_leader() : 0;

	if (sup.stopping) {
		if (sup.nrunning || sup.ready || sup.loading || sup.finishes ||
		    sup.inflight || sup.resigned)
			return 0;
		/* Drained: give up leadership and let our lease go. */
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		ids = xasprintf("%s.hivejob_leadership", sup.schema ? sup.schema : "");
		{
			const char *p[3] = { sup.conf->id, ids, pid };

			pg_send(&sup.db, TASK_RESIGN, "WITH l AS (UPDATE hivejob_supervisor"
			    " SET lease_expires_at = now(), children = '[]'"
			    " WHERE id = $1 AND pid = $3::int RETURNING 1)"
			    " SELECT hivejob_leader_resign($1, left($2, 63)), (SELECT count(*) FROM l)",
			    3, p);
		}
		free(ids);
		return 1;
	}
	if (!sup.leader)
		return 0;
	if (now >= sup.next_schedule_ms) {
		sup.next_schedule_ms = now + SCHEDULE_EVERY;
		return pg_send(&sup.db, TASK_SCHEDULE, "SELECT hivejob_schedule(1000)",
		    0, NULL) == 0;
	}
	if (now >= sup.next_rescue_ms && now - sup.leader_since_ms >= sup.conf->lease_ms) {
		sup.next_rescue_ms = now + sup.conf->lease_ms / 5;
		return pg_send(&sup.db, TASK_RESCUE, "SELECT hivejob_rescue(1000)",
		    0, NULL) == 0;
	}
	if (now >= sup.next_clean_ms) {
		const char *p[3];
		char a[32], b[32], c[32];

		sup.next_clean_ms = now + CLEAN_EVERY;
		snprintf(a, sizeof(a), "%.3f", sup.conf->keep_completed_ms / 1000.0);
		snprintf(b, sizeof(b), "%.3f", sup.conf->keep_cancelled_ms / 1000.0);
		snprintf(c, sizeof(c), "%.3f", sup.conf->keep_discarded_ms / 1000.0);
		p[0] = a;
		p[1] = b;
		p[2] = c;
		return pg_send(&sup.db, TASK_CLEAN, "SELECT hivejob_clean($1::float8,"
		    " $2::float8, $3::float8, 1000)", 3, p) == 0;
	}
	if (prun_next < npruns)
		return send_periodic();
	if (sup.conf->nperiodics > 0 && now >= sup.next_periodic_ms) {
		struct buf b;
		const char *p[1];
		int i;

		sup.next_periodic_ms = now + PERIODIC_EVERY;
		pg_array_open(&b);
		for (i = 0; i < sup.conf->nperiodics; i++)
			pg_array_add(&b, sup.conf->periodics[i].name);
		p[0] = pg_array_close(&b);
		/* A row per call, so an empty table still says the time. */
		/* Whole seconds rounded down: a run is never enqueued early. */
		pg_send(&sup.db, TASK_PERIODIC_READ, "SELECT floor(extract(epoch FROM now()))::bigint,"
		    " p.name, floor(extract(epoch FROM p.next_run_at))::bigint, p.next_run_at"
		    " FROM (SELECT 1) one LEFT JOIN hivejob_periodic p"
		    " ON p.name = ANY($1::text[])", 1, p);
		buf_free(&b);
		return 1;
	}
	return 0;
}

void
lease_result(enum pg_task t, PGresult *r)
{
	const char	*v = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
	int		 i, was;

	switch (t) {
	case TASK_LEASE:
		if (strcmp(v, "ok") != 0) {
			log_err("cannot take the lease: %s", v);
			if (sup.nrunning) {
				/* Someone else has our id: our jobs are theirs to rescue. */
				child_kill_all(SIGKILL);
			}
			exit(78);
		}
		sup.leased = sup.acquired = 1;
		sup.cancels_checked = 0;
		sup.next_renew_ms = now_ms() + sup.conf->lease_ms / 3;
		sup.next_leader_ms = 0;
		log_info("lease taken as supervisor \"%s\" on %s (uids %u-%u)",
		    sup.conf->id, sup.host, (unsigned)sup.conf->job_uid_base,
		    (unsigned)(sup.conf->job_uid_base + (uid_t)sup.conf->max_children - 1));
		break;
	case TASK_RENEW:
		if (strcmp(v, "t") != 0) {
			log_err("our lease row was taken by another process with id \"%s\": "
			    "stopping, and killing %d job(s) that are now theirs",
			    sup.conf->id, sup.nrunning);
			child_kill_all(SIGKILL);
			exit(75);
		}
		sup.lease_valid_ms = sup.renew_sent_ms + sup.conf->lease_ms;
		break;
	case TASK_CANCELS:
		for (i = 0; i < PQntuples(r); i++)
			child_cancel(strtoll(PQgetvalue(r, i, 0), NULL, 10));
		break;
	case TASK_LEADER:
		was = sup.leader;
		sup.leader = !PQgetisnull(r, 0, 0);
		if (sup.leader && !was) {
			/*
			 * Counted from now even when the row is older (a restart
			 * under the same id): a new leader waits a whole lease.
			 */
			sup.leader_since_ms = now_ms();
			sup.next_rescue_ms = sup.leader_since_ms + sup.conf->lease_ms;
			sup.next_schedule_ms = sup.next_clean_ms = sup.next_periodic_ms = 0;
			log_notice("leading the hivejob supervisors: scheduler, rescuer "
			    "(from %lld ms on), cleaner%s", (long long)(sup.leader_since_ms +
			    sup.conf->lease_ms - now_ms()), sup.conf->nperiodics ?
			    ", periodic jobs" : "");
		} else if (!sup.leader && was)
			log_notice("no longer the leader");
		break;
	case TASK_RESCUE:
		if (atoi(v) > 0)
			log_notice("rescued %s job(s) of supervisors whose lease lapsed", v);
		if (atoi(v) >= 1000)
			sup.next_rescue_ms = 0;
		break;
	case TASK_CLEAN:
		if (atoi(v) >= 1000)
			sup.next_clean_ms = 0;
		if (atoi(v) > 0)
			log_debug("retention removed %s finalized job(s)", v);
		break;
	case TASK_PERIODIC_READ:
		periodic_plan(r);
		break;
	case TASK_PERIODIC_RUN:
		if (!PQgetisnull(r, 0, 2)) {
			log_info("periodic %s: run at %s enqueued as job %s", v,
			    PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
			/*
			 * Runs late after a restart or a change of leader: read
			 * again at once, or a schedule of a run a second would
			 * never catch up (one run per read).
			 */
			if (pruns && prun_next > 0 && pruns[prun_next - 1].more)
				sup.next_periodic_ms = 0;
		}
		break;
	case TASK_RESIGN:
		sup.resigned = 1;
		sup.leader = 0;
		break;
	default:
		break;
	}
}

/*
 * Renewals go over the LISTEN connection, which is otherwise idle, so a
 * slow statement on the work connection can never starve our lease. It is
 * one autocommit statement: that connection still never holds a
 * transaction open.
 */
void
lease_renew_maybe(int64_t now)
{
	if (sup.acquired && sup.listen.state == PG_IDLE && sup.listen.ready &&
	    now >= sup.next_renew_ms)
		send_renew(&sup.listen);
}

/*
 * Without a renewal our lease runs out, and from then on another
 * supervisor may rescue and rerun our jobs: they must not run twice, so
 * ours die first, a second before the lease does.
 */
void
lease_check(int64_t now)
{
	if (!sup.leased || now < sup.lease_valid_ms - 1000)
		return;
	log_err("lease renewal failed for %lld ms (database unreachable): killing "
	    "%d job(s), which will run again",
	    (long long)(now - (sup.lease_valid_ms - sup.conf->lease_ms)), sup.nrunning);
	child_kill_all(SIGKILL);
	sup.leased = 0;
	sup.leader = 0;
	sup.claim_wanted = 0;
}

int64_t
lease_next_timer(void)
{
	int64_t t = INT64_MAX;

	if (sup.leased && sup.nrunning)
		t = sup.lease_valid_ms - 1000;
	if (sup.acquired && (sup.listen.state == PG_IDLE || sup.db.state == PG_IDLE) &&
	    sup.next_renew_ms < t)
		t = sup.next_renew_ms;
	if (sup.db.state == PG_IDLE) {
		if (sup.next_leader_ms < t)
			t = sup.next_leader_ms;
		if (sup.leader && sup.next_rescue_ms < t)
			t = sup.next_rescue_ms;
		if (sup.leader && sup.next_schedule_ms < t)
			t = sup.next_schedule_ms;
		if (sup.leader && sup.conf->nperiodics && sup.next_periodic_ms < t)
			t = sup.next_periodic_ms;
	}
	return t;
}

/* The periodic plan indexes the old configuration: drop it. */
void
lease_reload(void)
{
	free(pruns);
	pruns = NULL;
	npruns = prun_next = 0;
	sup.next_periodic_ms = 0;
}

/* Somebody resigned: try for leadership now. */
void
lease_notify(const char *payload)
{
	(void)payload;
	sup.next_leader_ms = 0;
}
