/*
 * metrics: counters kept in memory and written every [metrics] interval
 * as a Prometheus text file for node_exporter's textfile collector.
 *
 * Memory is bounded: one row per configured kind plus "other" for kinds
 * we do not know, with fixed lists of outcomes and classes. Nothing grows
 * with the jobs worked. Labels are only kind, outcome, class, id and
 * version: never args, errors or settings, which may hold secrets.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hivejobd.h"
#include "log.h"
#include "util.h"

static const char *const outcomes[] = {
	"completed", "retried", "cancelled", "discarded", "snoozed",
	"interrupted"
};
#define NOUTCOMES	(sizeof(outcomes) / sizeof(outcomes[0]))

/* runner/outcome.c's vocabulary, then "other" for anything else. */
static const char *const classes[] = {
	"exit", "signal", "timeout", "limit", "exec", "unknown_kind", "bad_args",
	"load", "apply", "lost", "interrupted",
	"http_4xx", "http_429", "http_5xx", "network", "tls", "blocked",
	"bad_response", "bad_input", "quota", "gone",
	"other"
};
#define NCLASSES	(sizeof(classes) / sizeof(classes[0]))

static const double bounds[] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300
};
#define NBOUNDS		(sizeof(bounds) / sizeof(bounds[0]))

struct hist {
	uint64_t	bucket[NBOUNDS];	/* not cumulative; +Inf is count */
	uint64_t	count;
	double		sum;
};

struct kstat {
	char		*name;
	uint64_t	 jobs[NOUTCOMES];
	uint64_t	 failures[NCLASSES];
	struct hist	 duration, wait;
	double		 last_success;	/* unix seconds; 0 = never */
};

/*
 * The configured kinds in order, then "other" for the rest (unless a kind
 * is itself named "other": then it takes them, one series, not two).
 */
static struct kstat	*ks;
static int		 nks, other;
static int64_t		 next_write_ms = INT64_MAX;
static int		 write_failed;

/*
 * Queue depth: the pending states of the configured queues only, so the
 * label set stays small; read from the database once per interval.
 */
static const char *const depth_states[] = {
	"available", "scheduled", "retryable", "running"
};
#define NDEPTH		(sizeof(depth_states) / sizeof(depth_states[0]))
static int64_t		*depth;		/* nqueues * NDEPTH; -1 = not read yet */
static int		 ndepth_queues;
static int64_t		 next_depth_ms;

static struct kstat *
kstat_find(const char *kind)
{
	int i;

	for (i = 0; kind != NULL && i < nks; i++)
		if (strcmp(ks[i].name, kind) == 0)
			return &ks[i];
	return &ks[other];
}

/* At start and after a reload: counts carry over for kinds kept. */
void
metrics_reload(void)
{	int	d;

	free(depth);
	ndepth_queues = sup.conf->nqueues;
	depth = xcalloc((size_t)ndepth_queues * NDEPTH, sizeof(*depth));
	for (d = 0; d < ndepth_queues * (int)NDEPTH; d++)
		depth[d] = -1;
	next_depth_ms = 0;

	struct kstat	*n;
	int		 i, j, nn = 0;

	n = xcalloc((size_t)sup.conf->nkinds + 1, sizeof(*n));
	other = -1;
	for (i = 0; i <= sup.conf->nkinds; i++) {
		const char *name = i < sup.conf->nkinds ?
		    sup.conf->kinds[i].name : "other";

		if (i == sup.conf->nkinds && other != -1)
			break;
		if (strcmp(name, "other") == 0)
			other = nn;
		for (j = 0; j < nks; j++)
			if (ks[j].name != NULL && strcmp(ks[j].name, name) == 0)
				break;
		if (j < nks) {
			n[nn] = ks[j];
			ks[j].name = NULL;
		} else
			n[nn].name = xstrdup(name);
		nn++;
	}
	for (j = 0; j < nks; j++)
		free(ks[j].name);
	free(ks);
	ks = n;
	nks = nn;
	if (*sup.conf->metrics_textfile != '\0') {
		next_write_ms = now_ms();
		write_failed = 0;
	} else
		next_write_ms = INT64_MAX;
}

/* The supervisor's state and a job's attempts, as an outcome label. */
const char *
metrics_outcome(const char *state, int attempt, int max_attempts)
{
	if (strcmp(state, "complete") == 0)
		return "completed";
	if (strcmp(state, "cancel") == 0)
		return "cancelled";
	if (strcmp(state, "snooze") == 0)
		return "snoozed";
	if (strcmp(state, "interrupt") == 0)
		return "interrupted";
	if (max_attempts > 0 && attempt >= max_attempts)
		return "discarded";
	return "retried";
}

static void
hist_observe(struct hist *h, double v)
{
	size_t i;

	if (!(v >= 0) || isinf(v))
		v = v > 0 ? v : 0;
	for (i = 0; i < NBOUNDS; i++)
		if (v <= bounds[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	if (!isinf(v))
		h->sum += v;
}

void
metrics_job_start(const char *kind, double wait_s)
{
	if (ks == NULL)
		return;
	hist_observe(&kstat_find(kind)->wait, wait_s < 0 ? 0 : wait_s);
}

/* wall_ms < 0: the job never ran, no duration. */
void
metrics_job_end(const char *kind, const char *outcome, const char *class,
    int64_t wall_ms)
{
	struct kstat	*k;
	size_t		 i;
	struct timespec	 ts;

	if (ks == NULL)
		return;
	k = kstat_find(kind);
	for (i = 0; i < NOUTCOMES; i++)
		if (strcmp(outcomes[i], outcome) == 0) {
			k->jobs[i]++;
			break;
		}
	if (class != NULL && *class != '\0') {
		for (i = 0; i < NCLASSES - 1; i++)
			if (strcmp(classes[i], class) == 0)
				break;
		k->failures[i]++;
	}
	if (wall_ms >= 0)
		hist_observe(&k->duration, wall_ms / 1000.0);
	if (strcmp(outcome, "completed") == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		k->last_success = ts.tv_sec + ts.tv_nsec / 1e9;
	}
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(b, "\\\\");
		else if (*s == '"')
			buf_adds(b, "\\\"");
		else if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static void
header(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
hist_write(struct buf *b, const char *name, const char *kind,
    const struct hist *h)
{
	uint64_t	cum = 0;
	size_t		i;

	for (i = 0; i < NBOUNDS; i++) {
		cum += h->bucket[i];
		buf_printf(b, "%s_bucket{kind=", name);
		label(b, kind);
		buf_printf(b, ",le=\"%g\"} %llu\n", bounds[i],
		    (unsigned long long)cum);
	}
	buf_printf(b, "%s_bucket{kind=", name);
	label(b, kind);
	buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
	buf_printf(b, "%s_sum{kind=", name);
	label(b, kind);
	buf_printf(b, "} %.6f\n", h->sum);
	buf_printf(b, "%s_count{kind=", name);
	label(b, kind);
	buf_printf(b, "} %llu\n", (unsigned long long)h->count);
}

/* The whole exposition, in Prometheus' text format. */
char *
metrics_text(void)
{
	struct buf	b;
	int		i;
	size_t		j;

	buf_init(&b);
	header(&b, "hivejob_jobs_total", "counter",
	    "Jobs ended by this supervisor, by kind and outcome.");
	for (i = 0; i < nks; i++)
		for (j = 0; j < NOUTCOMES; j++) {
			buf_adds(&b, "hivejob_jobs_total{kind=");
			label(&b, ks[i].name);
			buf_printf(&b, ",outcome=\"%s\"} %llu\n", outcomes[j],
			    (unsigned long long)ks[i].jobs[j]);
		}
	header(&b, "hivejob_job_failures_total", "counter",
	    "Job attempts that ended with a failure class, by kind and class.");
	for (i = 0; i < nks; i++)
		for (j = 0; j < NCLASSES; j++) {
			buf_adds(&b, "hivejob_job_failures_total{kind=");
			label(&b, ks[i].name);
			buf_printf(&b, ",class=\"%s\"} %llu\n", classes[j],
			    (unsigned long long)ks[i].failures[j]);
		}
	header(&b, "hivejob_job_duration_seconds", "histogram",
	    "Wall-clock run time of job attempts, by kind.");
	for (i = 0; i < nks; i++)
		hist_write(&b, "hivejob_job_duration_seconds", ks[i].name,
		    &ks[i].duration);
	header(&b, "hivejob_job_queue_wait_seconds", "histogram",
	    "Time from a job's scheduled_at until its claim, by kind.");
	for (i = 0; i < nks; i++)
		hist_write(&b, "hivejob_job_queue_wait_seconds", ks[i].name,
		    &ks[i].wait);
	header(&b, "hivejob_children_running", "gauge",
	    "Job processes running now.");
	buf_printf(&b, "hivejob_children_running %d\n", sup.nrunning);
	header(&b, "hivejob_children_max", "gauge",
	    "The configured limit on job processes (max_children).");
	buf_printf(&b, "hivejob_children_max %d\n", sup.conf->max_children);
	header(&b, "hivejob_last_success_timestamp_seconds", "gauge",
	    "Unix time of the last completed job, by kind; 0 if none yet.");
	for (i = 0; i < nks; i++) {
		buf_adds(&b, "hivejob_last_success_timestamp_seconds{kind=");
		label(&b, ks[i].name);
		buf_printf(&b, "} %.3f\n", ks[i].last_success);
	}
	header(&b, "hivejob_queue_depth", "gauge",
	    "Jobs waiting or running in each configured queue, by state.");
	for (i = 0; i < ndepth_queues && i < sup.conf->nqueues; i++)
		for (j = 0; j < NDEPTH; j++) {
			if (depth[i * NDEPTH + j] < 0)
				continue;
			buf_adds(&b, "hivejob_queue_depth{queue=");
			label(&b, sup.conf->queues[i].name);
			buf_printf(&b, ",state=\"%s\"} %lld\n", depth_states[j],
			    (long long)depth[i * NDEPTH + j]);
		}
	header(&b, "hivejob_supervisor_info", "gauge",
	    "Always 1: the supervisor's id and version as labels.");
	buf_adds(&b, "hivejob_supervisor_info{id=");
	label(&b, sup.conf->id);
	buf_adds(&b, ",version=");
	label(&b, HIVEJOB_VERSION);
	buf_adds(&b, "} 1\n");
	header(&b, "hivejob_leader", "gauge",
	    "1 while this supervisor is the elected leader, else 0.");
	buf_printf(&b, "hivejob_leader %d\n", sup.leader ? 1 : 0);
	return b.data;
}

/* Written whole to a temp name (not *.prom), then renamed into place. */
int
metrics_write(void)
{
	const char	*path = sup.conf->metrics_textfile;
	char		*tmp, *text;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 fd, rv = -1;

	if (ks == NULL || *path == '\0')
		return 0;
	text = metrics_text();
	len = strlen(text);
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1)
		goto fail;
	(void)fchmod(fd, 0644);
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			close(fd);
			goto fail_unlink;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1)
		goto fail_unlink;
	if (write_failed)
		log_notice("metrics: writing %s again", path);
	write_failed = 0;
	rv = 0;
	goto out;
fail_unlink:
	{
		int e = errno;
		(void)unlink(tmp);
		errno = e;
	}
fail:
	/* Said once until it works again: not every interval. */
	if (!write_failed)
		log_warn("metrics: %s", tmp);
	write_failed = 1;
out:
	free(tmp);
	free(text);
	return rv;
}

void
metrics_tick(int64_t now)
{
	if (now < next_write_ms)
		return;
	next_write_ms = now + sup.conf->metrics_interval_ms;
	(void)metrics_write();
}

int64_t
metrics_next_timer(void)
{
	return next_write_ms;
}

/* Is a depth reading due? Only with a textfile to write it to. */
int
metrics_depth_due(int64_t now)
{
	if (sup.conf->metrics_textfile == NULL || *sup.conf->metrics_textfile == '\0' ||
	    now < next_depth_ms)
		return 0;
	next_depth_ms = now + sup.conf->metrics_interval_ms;
	return 1;
}

/* Rows of (queue, state, count); absent pairs are zero. */
void
metrics_depth_result(PGresult *r)
{
	int	i, k;
	size_t	j;

	for (k = 0; k < ndepth_queues * (int)NDEPTH; k++)
		depth[k] = 0;
	for (i = 0; i < PQntuples(r); i++)
		for (k = 0; k < ndepth_queues && k < sup.conf->nqueues; k++) {
			if (strcmp(PQgetvalue(r, i, 0), sup.conf->queues[k].name) != 0)
				continue;
			for (j = 0; j < NDEPTH; j++)
				if (strcmp(PQgetvalue(r, i, 1), depth_states[j]) == 0)
					depth[k * NDEPTH + j] = strtoll(PQgetvalue(r, i, 2),
					    NULL, 10);
		}
}
