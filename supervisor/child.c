/*
 * child: the slots. Start a job in a free slot, collect its output, enforce
 * its deadline, reap it, and queue its outcome for the database. A slot's
 * uid is job_uid_base + slot; a slot's directory is workdir/slot-N.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hivejobd.h"
#include "log.h"
#include "runner.h"
#include "text.h"

#define ERROR_CAP	2000	/* bytes of error text kept on the row */
#define TRACE_CAP	8192	/* bytes of output tail kept as the trace */

static struct child *child_by_pid(pid_t);
static void	 child_read(struct child *, int);
static void	 child_end(struct child *, int, struct rusage *);
static void	 secrets_collect(struct child *, const struct kind_conf *, const char *);
static void	 secrets_walk(struct child *, json_object *, int);
static char	*clean(const struct child *, const char *, size_t, size_t);
static char	*slot_dir(int);

static char *
slot_dir(int slot)
{
	return xasprintf("%s/slot-%d", sup.conf->workdir, slot);
}

static struct child *
child_by_pid(pid_t pid)
{
	int i;

	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid == pid)
			return &sup.children[i];
	return NULL;
}

int
child_free_slots(void)
{
	int i, n = 0;

	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid == 0 && sup.children[i].sweeper == 0)
			n++;
	return n;
}

int
child_running_kind(const char *kind)
{
	int i, n = 0;

	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid && strcmp(sup.children[i].job->kind, kind) == 0)
			n++;
	return n;
}

int
child_running_queue(const char *queue)
{
	int i, n = 0;

	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid && strcmp(sup.children[i].job->queue, queue) == 0)
			n++;
	return n;
}


/*
 * Values the error text must never show: the kind's *_file settings, and
 * input members whose names say they are secret.
 */
static void
secrets_walk(struct child *c, json_object *o, int secret)
{
	size_t i;

	if (o == NULL)
		return;
	if (json_object_is_type(o, json_type_string)) {
		if (secret) {
			c->secrets = xrealloc(c->secrets,
			    (size_t)(c->nsecrets + 1) * sizeof(char *));
			c->secrets[c->nsecrets++] = xstrdup(json_object_get_string(o));
		}
		return;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			secrets_walk(c, json_object_array_get_idx(o, i), secret);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, key, val) {
		size_t n = strlen(key);
		int s = secret || strstr(key, "secret") || strstr(key, "password") ||
		    strstr(key, "token") || (n >= 3 && strcmp(key + n - 3, "key") == 0);
		secrets_walk(c, val, s);
	}
}

static void
secrets_collect(struct child *c, const struct kind_conf *k, const char *input)
{
	json_object	*o;
	int		 i;

	for (i = 0; k && i < k->nsettings; i++) {
		if (!k->settings[i].secret)
			continue;
		c->secrets = xrealloc(c->secrets, (size_t)(c->nsecrets + 1) * sizeof(char *));
		c->secrets[c->nsecrets++] = xstrdup(k->settings[i].value);
	}
	if (input && (o = json_tokener_parse(input)) != NULL) {
		secrets_walk(c, o, 0);
		json_object_put(o);
	}
}

/*
 * Untrusted text made fit for a row: valid UTF-8, no NUL or escapes, no
 * secret, at most cap bytes. Redaction runs before the cut, so a secret
 * is never half shown; a tail that starts inside a secret loses it too.
 */
static char *
clean(const struct child *c, const char *s, size_t len, size_t cap)
{
	char	*t, *cut;
	size_t	 n, i, k;

	t = text_sanitize(s, len, len * 3 + 8);
	t = text_redact(t, (const char *const *)c->secrets, (size_t)c->nsecrets);
	n = strlen(t);
	for (i = 0; i < (size_t)c->nsecrets; i++) {
		size_t sl = strlen(c->secrets[i]);
		for (k = 4; k < sl && k <= n; k++)
			if (memcmp(t, c->secrets[i] + sl - k, k) == 0) {
				memset(t, '*', k);
				break;
			}
	}
	if (n <= cap) {
		return t;
	}
	/* Keep the tail: the end of the output says why it failed. */
	cut = t + n - cap + 3;
	while (((unsigned char)*cut & 0xc0) == 0x80)
		cut++;
	cut = xasprintf("...%s", cut);
	free(t);
	return cut;
}

void
child_start(struct job *j)
{
	const struct kind_conf	*k = conf_kind(sup.conf, j->kind);
	struct spawn_req	 r;
	struct spawn_res	 res;
	struct child		*c = NULL;
	char			*envp[16], *doc, *dir, *settings;
	int			 i, ne = 0;
	int64_t			 deadline_s;
	const char		*v;

	/* A slot whose sweeper still runs is not free: its kill(-1) is coming. */
	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid == 0 && sup.children[i].sweeper == 0) {
			c = &sup.children[i];
			break;
		}
	if (c == NULL)
		fatalx("child_start: no free slot for job %lld", (long long)j->id);
	if (k == NULL) {
		/* A reload dropped its kind after the claim: as for any unknown kind. */
		char *msg = xasprintf("job kind is not registered in the client's "
		    "Workers bundle: %s", j->kind);
		job_finish_early(j, "retry", "unknown_kind", msg);
		free(msg);
		return;
	}

	deadline_s = time(NULL) + (k->timeout_ms + 999) / 1000;
	settings = jobdoc_settings(k, 1);
	doc = jobdoc_build(j, settings, deadline_s);
	explicit_bzero(settings, strlen(settings));
	free(settings);
	dir = slot_dir(c->slot);

	envp[ne++] = xasprintf("PATH=%s", (v = getenv("PATH")) ? v :
	    "/usr/local/bin:/usr/bin:/bin");
	envp[ne++] = xasprintf("LANG=%s", (v = getenv("LANG")) ? v : "C.UTF-8");
	envp[ne++] = xasprintf("TZ=%s", (v = getenv("TZ")) ? v : "UTC");
	envp[ne++] = xasprintf("TMPDIR=%s", dir);
	envp[ne++] = xasprintf("HIVEJOB_JOB_ID=%lld", (long long)j->id);
	envp[ne++] = xasprintf("HIVEJOB_KIND=%s", j->kind);
	envp[ne++] = xasprintf("HIVEJOB_ATTEMPT=%d", j->attempt);
	envp[ne++] = xasprintf("HIVEJOB_DEADLINE=%lld", (long long)deadline_s);
	envp[ne++] = xasprintf("HIVEJOB_RESULT_FD=3");
	envp[ne++] = xasprintf("HIVEJOB_WORKDIR=%s", dir);
	envp[ne] = NULL;

	memset(&r, 0, sizeof(r));
	r.argv = k->argv;
	r.envp = envp;
	r.uid = sup.conf->job_uid_base + (uid_t)c->slot;
	r.same_uid = sup.conf->isolation == ISOLATION_SAME_UID;
	r.workdir = dir;
	r.jobdoc = doc;
	r.jobdoc_len = strlen(doc);
	r.alarm_s = (unsigned)((k->timeout_ms + 999) / 1000);
	r.rl_as = k->memory;
	r.rl_cpu_s = (uint64_t)((k->cpu_ms + 999) / 1000);
	r.rl_nofile = k->files;
	r.rl_nproc = k->processes;
	r.rl_fsize = k->fsize;

	if (child_spawn(&r, &res) == -1) {
		char *msg = xasprintf("could not start the job: %s", strerror(errno));
		log_warn("job=%lld kind=%s: fork", (long long)j->id, j->kind);
		job_finish_early(j, "retry", "exec", msg);
		free(msg);
		goto out;
	}

	c->pid = res.pid;
	c->job = j;
	c->out_fd = res.out_fd;
	c->result_fd = res.result_fd;
	c->status_fd = res.status_fd;
	c->ring_cap = k->output;
	c->ring = xmalloc(c->ring_cap);
	c->ring_total = 0;
	buf_init(&c->result);
	buf_init(&c->status);
	c->result_trunc = 0;
	c->start_ms = now_ms();
	c->start_wall = time(NULL);
	c->timeout_ms = k->timeout_ms;
	c->deadline_ms = c->start_ms + k->timeout_ms + 1000;
	c->kill_ms = 0;
	c->sig_sent = c->timed_out = c->cancelled = c->interrupted = 0;
	c->rl_as = k->memory;
	c->rl_cpu_s = r.rl_cpu_s;
	c->rl_fsize = k->fsize;
	c->rl_nproc = k->processes;
	c->retry_json = retry_json(k);
	c->apply = k->apply ? xstrdup(k->apply) : NULL;
	c->apply_order = k->apply_order ? xstrdup(k->apply_order) : NULL;
	c->sql_settings = c->apply ? jobdoc_settings(k, 0) : NULL;
	c->secrets = NULL;
	c->nsecrets = 0;
	secrets_collect(c, k, j->input);
	c->dirty = 1;
	sup.nrunning++;
	/* Queue wait: from scheduled_at until our claim. */
	metrics_job_start(j->kind, j->scheduled_at && j->claimed_at > 0 ?
	    j->claimed_at - strtod(j->scheduled_at, NULL) : 0);
	log_debug("job=%lld kind=%s attempt=%d started pid=%d slot=%d",
	    (long long)j->id, j->kind, j->attempt, (int)c->pid, c->slot);
	/* Without apply the row's data is no longer needed: stay small. */
	if (c->apply == NULL) {
		free(j->args);
		free(j->input);
		free(j->metadata);
		j->args = j->input = j->metadata = NULL;
	}
	j = NULL;
out:
	if (j)
		job_free(j);
	for (i = 0; i < ne; i++)
		free(envp[i]);
	free(doc);
	free(dir);
}

static void
child_read(struct child *c, int fd)
{
	char	buf[65536];
	ssize_t	n;
	size_t	i, pos;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fd == c->out_fd) {
			for (i = 0; i < (size_t)n; i++) {
				pos = (c->ring_total + i) % c->ring_cap;
				c->ring[pos] = buf[i];
			}
			c->ring_total += (size_t)n;
		} else if (fd == c->result_fd) {
			if (c->result.len + (size_t)n > c->ring_cap) {
				c->result_trunc = 1;
				continue;
			}
			buf_add(&c->result, buf, (size_t)n);
		} else if (c->status.len < 1024)
			buf_add(&c->status, buf, (size_t)n);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		/* EOF: stop polling it. */
		close(fd);
		if (fd == c->out_fd)
			c->out_fd = -1;
		else if (fd == c->result_fd)
			c->result_fd = -1;
		else
			c->status_fd = -1;
	}
}

void
child_io(struct child *c, int fd)
{
	child_read(c, fd);
}

/* The pid ended: everything it left turns into one finish. */
static void
child_end(struct child *c, int wstatus, struct rusage *ru)
{
	struct child_end	 e;
	struct outcome		 o;
	struct buf		 b;
	char			*tail, *err, *trace;
	size_t			 tlen, start;
	const char		*state;

	/* What the pipes still hold, then the whole group goes. */
	if (c->out_fd != -1)
		child_read(c, c->out_fd);
	if (c->result_fd != -1)
		child_read(c, c->result_fd);
	if (c->status_fd != -1)
		child_read(c, c->status_fd);
	(void)kill(-c->pid, SIGKILL);
	if (c->out_fd != -1)
		close(c->out_fd);
	if (c->result_fd != -1)
		close(c->result_fd);
	if (c->status_fd != -1)
		close(c->status_fd);

	tlen = c->ring_total < c->ring_cap ? c->ring_total : c->ring_cap;
	tail = xmalloc(tlen + 1);
	start = c->ring_total < c->ring_cap ? 0 : c->ring_total % c->ring_cap;
	memcpy(tail, c->ring + start, tlen - start);
	memcpy(tail + (tlen - start), c->ring, start);
	tail[tlen] = '\0';

	memset(&e, 0, sizeof(e));
	e.wstatus = wstatus;
	e.ru = *ru;
	e.wall_ms = now_ms() - c->start_ms;
	e.timed_out = c->timed_out;
	e.sig_sent = c->sig_sent;
	e.cancelled = c->cancelled;
	e.timeout_ms = c->timeout_ms;
	e.rl_as = c->rl_as;
	e.rl_cpu_s = c->rl_cpu_s;
	e.rl_fsize = c->rl_fsize;
	e.rl_nproc = c->rl_nproc;
	e.setup_error = c->status.len ? buf_str(&c->status) : NULL;
	e.output = tail;
	e.output_len = tlen;
	e.result = c->result.len ? buf_str(&c->result) : NULL;
	e.result_len = c->result.len;
	e.result_truncated = c->result_trunc;
	outcome_decide(&e, &o);

	err = clean(c, o.error, strlen(o.error), ERROR_CAP);
	trace = o.kind == OUTCOME_COMPLETE ? xstrdup("") :
	    clean(c, tail, tlen, TRACE_CAP);
	state = o.kind == OUTCOME_COMPLETE ? "complete" : o.kind == OUTCOME_CANCEL ?
	    "cancel" : o.kind == OUTCOME_SNOOZE ? "snooze" : "retry";
	if (c->interrupted && o.kind != OUTCOME_COMPLETE) {
		/* Stopped by our shutdown, not by its own doing. */
		state = "interrupt";
		o.class = "interrupted";
		free(err);
		err = xstrdup("interrupted: the supervisor stopped before the job ended");
	}

	buf_init(&b);
	buf_printf(&b, "{\"id\":%lld,\"attempt\":%d,\"outcome\":\"%s\",\"error\":",
	    (long long)c->job->id, c->job->attempt, state);
	json_str(&b, err);
	buf_adds(&b, ",\"trace\":");
	json_str(&b, trace);
	buf_printf(&b, ",\"retry\":%s,\"max_interrupts\":%d", c->retry_json,
	    sup.conf->max_interruptions);
	if (o.retry_after_s >= 0)
		buf_printf(&b, ",\"retry_after\":%.3f", o.retry_after_s);
	if (o.kind == OUTCOME_SNOOZE)
		buf_printf(&b, ",\"snooze\":%.3f", o.snooze_s);
	buf_adds(&b, ",\"meta\":{\"class\":");
	json_str(&b, o.class);
	buf_printf(&b, ",\"wall_ms\":%lld,\"user_ms\":%lld,\"sys_ms\":%lld,"
	    "\"max_rss_kb\":%ld,\"output_bytes\":%zu",
	    (long long)e.wall_ms,
	    (long long)ru->ru_utime.tv_sec * 1000 + ru->ru_utime.tv_usec / 1000,
	    (long long)ru->ru_stime.tv_sec * 1000 + ru->ru_stime.tv_usec / 1000,
	    ru->ru_maxrss, c->ring_total);
	if (WIFEXITED(wstatus))
		buf_printf(&b, ",\"exit\":%d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		buf_printf(&b, ",\"signal\":%d", WTERMSIG(wstatus));
	buf_adds(&b, ",\"supervisor\":");
	json_str(&b, sup.conf->id);
	buf_addc(&b, '}');
	if (c->apply) {
		char *doc = jobdoc_build(c->job, c->sql_settings, 0);
		json_object *args, *v;

		if (c->apply_order && (args = json_tokener_parse(c->job->args)) != NULL) {
			if (json_object_object_get_ex(args, c->apply_order, &v) &&
			    json_object_is_type(v, json_type_string)) {
				buf_adds(&b, ",\"order\":");
				json_str(&b, json_object_get_string(v));
			}
			json_object_put(args);
		}
		buf_adds(&b, ",\"apply\":");
		json_str(&b, c->apply);
		buf_printf(&b, ",\"job\":%.*s", (int)strcspn(doc, "\n"), doc);
		free(doc);
		buf_printf(&b, ",\"result\":%s", o.result ? o.result : "null");
	}
	buf_addc(&b, '}');

	log_info("job=%lld kind=%s attempt=%d outcome=%s%s%s duration_ms=%lld",
	    (long long)c->job->id, c->job->kind, c->job->attempt, state,
	    *o.class ? " class=" : "", o.class, (long long)e.wall_ms);
	finish_add(c->job->id, b.data);
	metrics_job_end(c->job->kind, metrics_outcome(state, c->job->attempt,
	    c->job->max_attempts), o.class, e.wall_ms);

	outcome_free(&o);
	free(err);
	free(trace);
	free(tail);
	free(c->ring);
	buf_free(&c->result);
	buf_free(&c->status);
	free(c->retry_json);
	free(c->apply);
	free(c->apply_order);
	c->apply_order = NULL;
	free(c->sql_settings);
	c->sql_settings = NULL;
	while (c->nsecrets > 0)
		free(c->secrets[--c->nsecrets]);
	free(c->secrets);
	c->secrets = NULL;
	job_free(c->job);
	c->job = NULL;
	c->ring = NULL;
	c->pid = 0;
	c->freed_ms = now_ms();
	sup.nrunning--;
	sup.jobs_done++;
	sup.claim_wanted = 1;
}

void
child_reap_all(void)
{
	struct rusage	 ru;
	struct child	*c;
	pid_t		 pid;
	int		 st, i;

	for (;;) {
		pid = wait4(-1, &st, WNOHANG, &ru);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		/* Orphans reparented to us end here unremarked. */
		if ((c = child_by_pid(pid)) != NULL)
			child_end(c, st, &ru);
		else
			for (i = 0; i < sup.conf->max_children; i++)
				if (sup.children[i].sweeper == pid) {
					sup.children[i].sweeper = 0;
					sup.claim_wanted = 1;
				}
	}
}

/* SIGTERM to the group at the deadline; SIGKILL after the grace period. */
void
child_deadlines(int64_t now)
{
	struct child	*c;
	int		 i;

	for (i = 0; i < sup.conf->max_children; i++) {
		c = &sup.children[i];
		if (c->pid == 0)
			continue;
		if (c->sig_sent == 0 && now >= c->deadline_ms) {
			c->timed_out = 1;
			c->sig_sent = SIGTERM;
			c->kill_ms = now + sup.conf->kill_grace_ms;
			(void)kill(-c->pid, SIGTERM);
			log_notice("job=%lld kind=%s deadline passed: SIGTERM to its group",
			    (long long)c->job->id, c->job->kind);
		} else if (c->sig_sent == SIGTERM && now >= c->kill_ms) {
			c->sig_sent = SIGKILL;
			(void)kill(-c->pid, SIGKILL);
		}
	}
}

int64_t
child_next_deadline(void)
{
	int64_t	 t = INT64_MAX;
	int	 i;

	for (i = 0; i < sup.conf->max_children; i++) {
		struct child *c = &sup.children[i];
		if (c->pid == 0)
			continue;
		if (c->sig_sent == 0 && c->deadline_ms < t)
			t = c->deadline_ms;
		else if (c->sig_sent == SIGTERM && c->kill_ms < t)
			t = c->kill_ms;
	}
	return t;
}

/* A cancel from hivejobctl or River UI for a job we run. */
void
child_cancel(int64_t job_id)
{
	int i;

	for (i = 0; i < sup.conf->max_children; i++) {
		struct child *c = &sup.children[i];
		if (c->pid == 0 || c->job->id != job_id || c->cancelled)
			continue;
		c->cancelled = 1;
		if (c->sig_sent == 0) {
			c->sig_sent = SIGTERM;
			c->kill_ms = now_ms() + sup.conf->kill_grace_ms;
			(void)kill(-c->pid, SIGTERM);
		}
		log_info("job=%lld kind=%s cancelled by request: SIGTERM to its group",
		    (long long)job_id, c->job->kind);
	}
}

/* The end of a drain: what still runs is interrupted, not failed. */
void
child_kill_all(int sig)
{
	int i;

	for (i = 0; i < sup.conf->max_children; i++)
		if (sup.children[i].pid) {
			sup.children[i].interrupted = 1;
			(void)kill(-sup.children[i].pid, sig);
		}
}

/*
 * A slot left idle after a job is swept from a process of its uid: what
 * the job left running dies and its directory goes, without waiting for
 * the slot's next job (which would also sweep it).
 */
void
child_sweep_idle(int64_t now)
{
	char	*dir;
	int	 i;
	pid_t	 pid;

	for (i = 0; i < sup.conf->max_children; i++) {
		struct child *c = &sup.children[i];
		if (c->pid || c->sweeper || !c->dirty || now - c->freed_ms < 1000)
			continue;
		dir = slot_dir(c->slot);
		pid = slot_sweep(sup.conf->job_uid_base + (uid_t)c->slot, dir,
		    sup.conf->isolation == ISOLATION_SAME_UID);
		free(dir);
		if (pid == -1)
			log_warn("sweep of slot %d", c->slot);
		else {
			c->dirty = 0;
			c->sweeper = pid;
		}
	}
}

/* At exit: every slot that ran a job is swept, and we wait for it. */
void
child_sweep_all(void)
{
	char	*dir;
	pid_t	 pid;
	int	 i;

	for (i = 0; i < sup.conf->max_children; i++) {
		struct child *c = &sup.children[i];

		if (c->sweeper)
			(void)waitpid(c->sweeper, NULL, 0);
		if (c->pid || !c->dirty)
			continue;
		dir = slot_dir(c->slot);
		pid = slot_sweep(sup.conf->job_uid_base + (uid_t)c->slot, dir,
		    sup.conf->isolation == ISOLATION_SAME_UID);
		free(dir);
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
	}
}
