/*
 * loop: the one event loop. poll() over the signalfd, both database
 * sockets and every child's pipes, with a timeout set by the nearest timer.
 * Signal handlers do not exist: signals are read from the signalfd here.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "hivejobd.h"
#include "log.h"

#define MAX_FDS	(3 + 3 * 4096)

static void	signals_read(void);
static void	db_events(struct pgconn *, short);
static void	timers(int64_t);
static int64_t	next_timer(void);

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
signals_read(void)
{
	struct signalfd_siginfo	si;

	while (read(sup.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			child_reap_all();
			break;
		case SIGTERM:
		case SIGINT:
			if (sup.stopping) {
				log_notice("second stop signal: killing %d job(s) now",
				    sup.nrunning);
				sup.stopping = 2;
				child_kill_all(SIGKILL);
			} else {
				log_notice("stopping: no new claims, %d job(s) running",
				    sup.nrunning);
				sup.stopping = 1;
			}
			break;
		case SIGHUP:
			conf_reload();
			break;
		default:
			break;
		}
	}
}

static void
db_events(struct pgconn *c, short rev)
{
	PGresult	*r;
	PGnotify	*n;

	if (c->state == PG_CONNECTING) {
		pg_poll_connect(c);
		return;
	}
	if (rev & POLLOUT)
		(void)PQflush(c->conn);
	if (!(rev & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (!PQconsumeInput(c->conn)) {
		pg_lost(c, PQerrorMessage(c->conn));
		return;
	}
	while (c->state == PG_BUSY && !PQisBusy(c->conn)) {
		if ((r = PQgetResult(c->conn)) == NULL) {
			c->state = PG_IDLE;
			c->task = TASK_NONE;
			break;
		}
		jobs_result(c->task, r);
		PQclear(r);
		if (c->conn == NULL)
			return;	/* lost while handling */
	}
	while ((n = PQnotifies(c->conn)) != NULL) {
		jobs_notify(n->relname, n->extra);
		PQfreemem(n);
	}
	if (PQstatus(c->conn) == CONNECTION_BAD)
		pg_lost(c, PQerrorMessage(c->conn));
}

static void
timers(int64_t now)
{
	struct pgconn *cs[2] = { &sup.db, &sup.listen };
	int i;

	for (i = 0; i < 2; i++) {
		struct pgconn *c = cs[i];
		if (c->state == PG_DOWN && now >= c->reconnect_ms && sup.stopping < 2)
			pg_start(c);
		else if ((c->state == PG_CONNECTING || c->state == PG_BUSY) &&
		    now >= c->deadline_ms)
			pg_lost(c, c->state == PG_CONNECTING ? "connect timed out" :
			    "no reply in time");
	}
	if (now >= sup.next_poll_ms) {
		/* River polls every second with up to 10 % jitter; so do we. */
		sup.next_poll_ms = now + sup.conf->poll_interval_ms -
		    (int64_t)(random() % (sup.conf->poll_interval_ms / 10 + 1));
		sup.claim_wanted = 1;
	}
	child_deadlines(now);
	lease_check(now);
	if (now >= sup.next_sweep_ms) {
		sup.next_sweep_ms = now + 1000;
		child_sweep_idle(now);
	}
	notify_tick(now);
	metrics_tick(now);
}

static int64_t
next_timer(void)
{
	int64_t t = sup.next_poll_ms;

	if (child_next_deadline() < t)
		t = child_next_deadline();
	if (sup.next_sweep_ms < t)
		t = sup.next_sweep_ms;
	if (sup.db.state == PG_DOWN && sup.db.reconnect_ms < t)
		t = sup.db.reconnect_ms;
	if (sup.listen.state == PG_DOWN && sup.listen.reconnect_ms < t)
		t = sup.listen.reconnect_ms;
	if (sup.db.state != PG_DOWN && sup.db.state != PG_IDLE && sup.db.deadline_ms < t)
		t = sup.db.deadline_ms;
	if (lease_next_timer() < t)
		t = lease_next_timer();
	if (notify_next_timer() < t)
		t = notify_next_timer();
	if (metrics_next_timer() < t)
		t = metrics_next_timer();
	if (sup.stopping == 1 && sup.drain_deadline_ms < t)
		t = sup.drain_deadline_ms;
	return t;
}

/* Runs until a stop has drained every job and written every outcome. */
void
loop_run(void)
{
	struct pollfd	 pfd[MAX_FDS];
	struct child	*owner[MAX_FDS];
	struct pgconn	*cs[2] = { &sup.db, &sup.listen };
	int		 n, i, k, timeout;
	int64_t		 now, t;

	for (;;) {
		now = now_ms();
		timers(now);
		if (sup.stopping && sup.drain_deadline_ms == 0) {
			sup.drain_deadline_ms = now + sup.conf->drain_timeout_ms;
			notify_stopping();
		}
		if (sup.stopping == 1 && now >= sup.drain_deadline_ms) {
			log_notice("drain timeout: killing %d job(s)", sup.nrunning);
			sup.stopping = 2;
			child_kill_all(SIGKILL);
		}
		/* Ready jobs start as soon as they are ready. */
		while (sup.ready && child_free_slots() > 0 && !sup.stopping) {
			struct job *j = sup.ready;
			sup.ready = j->next;
			sup.nready--;
			child_start(j);
		}
		if (sup.stopping)
			jobs_release_pending();
		jobs_next_task();
		lease_renew_maybe(now_ms());
		if (sup.stopping && sup.resigned)
			return;
		if (sup.stopping == 2 && sup.nrunning == 0 && sup.db.state == PG_DOWN)
			return;	/* nobody to tell: the next start recovers */

		n = 0;
		pfd[n].fd = sup.sigfd;
		pfd[n].events = POLLIN;
		owner[n++] = NULL;
		for (i = 0; i < 2; i++) {
			int fd = pg_fd(cs[i]);
			if (fd == -1 || cs[i]->state == PG_DOWN)
				continue;
			pfd[n].fd = fd;
			pfd[n].events = POLLIN | (pg_wants_write(cs[i]) ? POLLOUT : 0);
			owner[n++] = NULL;
		}
		for (i = 0; i < sup.conf->max_children; i++) {
			struct child *c = &sup.children[i];
			int fds[3] = { c->out_fd, c->result_fd, c->status_fd };
			if (c->pid == 0)
				continue;
			for (k = 0; k < 3; k++) {
				if (fds[k] == -1)
					continue;
				pfd[n].fd = fds[k];
				pfd[n].events = POLLIN;
				owner[n++] = c;
			}
		}
		t = next_timer() - now_ms();
		timeout = t < 0 ? 0 : t > 60000 ? 60000 : (int)t;
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == sup.sigfd)
				signals_read();
			else if (owner[i] != NULL) {
				if (owner[i]->pid)
					child_io(owner[i], pfd[i].fd);
			} else {
				for (k = 0; k < 2; k++)
					if (cs[k]->conn && pg_fd(cs[k]) == pfd[i].fd)
						db_events(cs[k], pfd[i].revents);
			}
		}
	}
}
