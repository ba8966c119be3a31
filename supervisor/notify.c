/*
 * notify: the sd_notify(3) protocol without libsystemd. When the service
 * manager sets $NOTIFY_SOCKET (a path, or an abstract name spelt "@name"),
 * hivejobd sends it datagrams: READY=1 once the lease is held and the
 * LISTEN connection is up, STATUS= every few seconds, STOPPING=1 when a
 * stop begins, and WATCHDOG=1 at half of $WATCHDOG_USEC. Nothing here ever
 * blocks: a full or absent receiver loses a datagram, never the loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hivejobd.h"
#include "log.h"

#define STATUS_EVERY_MS	2000

static int			 nfd = -1;
static struct sockaddr_un	 naddr;
static socklen_t		 nlen;
static int			 nready;
static int64_t			 wd_every_ms;	/* 0: no watchdog */
static int64_t			 next_wd_ms, next_status_ms;

void
notify_init(void)
{
	const char	*p = getenv("NOTIFY_SOCKET"), *w, *wp;
	size_t		 len;
	long long	 usec;
	char		*end;

	if ((w = getenv("WATCHDOG_USEC")) != NULL) {
		errno = 0;
		usec = strtoll(w, &end, 10);
		wp = getenv("WATCHDOG_PID");
		if (errno == 0 && *w != '\0' && *end == '\0' && usec > 0 &&
		    (wp == NULL || atoll(wp) == (long long)getpid())) {
			wd_every_ms = usec / 2000;
			if (wd_every_ms < 1)
				wd_every_ms = 1;
		}
	}
	if (p == NULL || *p == '\0')
		return;
	len = strlen(p);
	if ((p[0] != '/' && p[0] != '@') || len >= sizeof(naddr.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%s\" is not a usable socket name: ignored", p);
		wd_every_ms = 0;
		return;
	}
	memset(&naddr, 0, sizeof(naddr));
	naddr.sun_family = AF_UNIX;
	memcpy(naddr.sun_path, p, len);
	if (p[0] == '@')
		naddr.sun_path[0] = '\0';	/* abstract: not NUL-terminated */
	nlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (p[0] == '@' ? 0 : 1));
	if ((nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		log_warn("NOTIFY_SOCKET: socket");
	next_wd_ms = now_ms();
}

static void
notify_send(const char *msg)
{
	if (nfd == -1)
		return;
	if (sendto(nfd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&naddr, nlen) == -1)
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
}

static void
status_line(char *b, size_t sz, const char *pre)
{
	snprintf(b, sz, "%sSTATUS=%d running, %llu done, %s", pre, sup.nrunning,
	    (unsigned long long)sup.jobs_done, sup.leader ? "leader" : "follower");
}

/* Called once per loop turn; does what is due. */
void
notify_tick(int64_t now)
{
	char	b[256];

	if (nfd == -1)
		return;
	if (!nready && sup.acquired && sup.listen.state != PG_DOWN &&
	    sup.listen.ready && !sup.stopping) {
		nready = 1;
		status_line(b, sizeof(b), "READY=1\n");
		notify_send(b);
		next_status_ms = now + STATUS_EVERY_MS;
	}
	if (nready && now >= next_status_ms) {
		status_line(b, sizeof(b), "");
		notify_send(b);
		next_status_ms = now + STATUS_EVERY_MS;
	}
	if (wd_every_ms && now >= next_wd_ms) {
		notify_send("WATCHDOG=1");
		next_wd_ms = now + wd_every_ms;
	}
}

int64_t
notify_next_timer(void)
{
	int64_t t = INT64_MAX;

	if (nfd == -1)
		return t;
	if (!nready && sup.acquired && sup.listen.ready && !sup.stopping)
		return 0;	/* READY=1 is due now */
	if (nready)
		t = next_status_ms;
	if (wd_every_ms && next_wd_ms < t)
		t = next_wd_ms;
	return t;
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}
