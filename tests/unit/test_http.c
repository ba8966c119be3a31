/*
 * Unit tests of http: real requests to tiny HTTP servers that this process
 * forks on loopback addresses (127.0.0.0/8 and ::1 only, never anything
 * else). Each server is forked before the test first calls libcurl, answers
 * with a canned behaviour, counts the connections it accepted and reports
 * the count through a pipe when told to stop. A server child never returns
 * into Criterion: it ends with _exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"
#include "netcheck.h"

enum behave {
	CANNED,		/* send the canned text, close */
	ECHO,		/* 200 with the request's head and body size */
	HANG,		/* read the request, answer nothing */
	CHUNKED,	/* 200 and an endless chunked body */
	RESET,		/* read the request, close with RST */
	BIGHEAD,	/* 200 and 300 KB of headers */
	BLURT,		/* send the canned text at once, unasked */
};

struct srv {
	pid_t	 pid;
	int	 port;
	int	 ctl;		/* parent writes: stop */
	int	 res;		/* child writes: accept count */
};

#define MAXSRV	4
static int	 other_fds[2 * MAXSRV];
static size_t	 nother;

static int
write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = send(fd, c, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read a request: its head into buf (NUL-terminated), its body counted
 * and its first bytes after the head in buf too. Returns the body size,
 * or -1.
 */
static long
read_request(int fd, char *buf, size_t cap, size_t *headlen)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	size_t		 len = 0;
	long		 clen = 0, got;
	char		*end, *cl, sink[65536];
	ssize_t		 r;

	for (;;) {
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		if ((r = read(fd, buf + len, cap - 1 - len)) <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (len == cap - 1)
			return -1;
	}
	*headlen = (size_t)(end + 4 - buf);
	for (cl = buf; (cl = strchr(cl, '\n')) != NULL && cl < end; cl++)
		if (strncasecmp(cl + 1, "content-length:", 15) == 0)
			clen = strtol(cl + 16, NULL, 10);
	got = (long)(len - *headlen);
	while (got < clen) {
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		if ((r = read(fd, sink, sizeof(sink))) <= 0)
			return -1;
		got += r;
	}
	return clen;
}

static void
serve(int fd, int ctl, enum behave b, const char *canned)
{
	static char	 req[65536], out[70000];
	struct linger	 lg = { 1, 0 };
	struct timeval	 tv = { 5, 0 };
	struct pollfd	 p = { ctl, POLLIN, 0 };
	char		 chunk[4096 + 16], tail[64];
	size_t		 headlen = 0, i;
	long		 blen;
	int		 n, tl;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (b == BLURT) {
		write_all(fd, canned, strlen(canned));
		shutdown(fd, SHUT_WR);
		read_request(fd, req, sizeof(req), &headlen);
		close(fd);
		return;
	}
	blen = read_request(fd, req, sizeof(req), &headlen);
	switch (b) {
	case CANNED:
		write_all(fd, canned, strlen(canned));
		break;
	case ECHO:
		if (blen < 0)
			break;
		tl = snprintf(tail, sizeof(tail), "body-bytes: %ld\n", blen);
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/plain\r\nConnection: close\r\n"
		    "Content-Length: %zu\r\n\r\n%.*s%s", headlen + (size_t)tl,
		    (int)headlen, req, tail);
		write_all(fd, out, (size_t)n);
		break;
	case HANG:
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		break;
	case CHUNKED:
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		if (write_all(fd, out, (size_t)n) == -1)
			break;
		memcpy(chunk, "1000\r\n", 6);
		memset(chunk + 6, 'x', 4096);
		memcpy(chunk + 6 + 4096, "\r\n", 2);
		/* "Endless": 256 MB, far past any cap in these tests. */
		for (i = 0; i < 65536; i++)
			if (write_all(fd, chunk, 6 + 4096 + 2) == -1)
				break;
		break;
	case RESET:
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	case BLURT:
		break;
	case BIGHEAD:
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n");
		write_all(fd, out, (size_t)n);
		memset(out, 'a', 1000);
		memcpy(out, "X-Big: ", 7);
		memcpy(out + 998, "\r\n", 2);
		for (i = 0; i < 300; i++)
			if (write_all(fd, out, 1000) == -1)
				break;
		write_all(fd, "Content-Length: 0\r\n\r\n", 21);
		break;
	}
	close(fd);
}

static void __attribute__((noreturn))
srv_child(int lfd, int ctl, int res, enum behave b, const char *canned)
{
	struct pollfd	 p[2];
	size_t		 i;
	int		 fd, count = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nother; i++)
		close(other_fds[i]);
	for (;;) {
		p[0].fd = lfd;
		p[0].events = POLLIN;
		p[1].fd = ctl;
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)		/* stop, or the parent is gone */
			break;
		if ((p[0].revents & POLLIN) &&
		    (fd = accept(lfd, NULL, NULL)) >= 0) {
			count++;
			serve(fd, ctl, b, canned);
		}
	}
	/* Count what the kernel completed but was not accepted yet. */
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		count++;
		close(fd);
	}
	if (write(res, &count, sizeof(count)) != sizeof(count))
		_exit(1);
	_exit(0);
}

/* A listening socket on ip (port 0: any); -1 if ip cannot be bound. */
static int
listen_on(const char *ip, int port, int *bound)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sl;
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		sl = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		sl = sizeof(*s4);
	}
	cr_assert((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		close(fd);
		return -1;
	}
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*bound = ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port);
	return fd;
}

/* Fork a server on ip:port (0: any); returns -1 if ip:port is unusable. */
static int
srv_start(struct srv *s, const char *ip, int port, enum behave b,
    const char *canned)
{
	int lfd, ctl[2], res[2];

	if ((lfd = listen_on(ip, port, &s->port)) == -1)
		return -1;
	cr_assert_eq(pipe(ctl), 0);
	cr_assert_eq(pipe(res), 0);
	cr_assert((s->pid = fork()) >= 0);
	if (s->pid == 0) {
		close(ctl[1]);
		close(res[0]);
		srv_child(lfd, ctl[0], res[1], b, canned);
	}
	close(lfd);
	close(ctl[0]);
	close(res[1]);
	s->ctl = ctl[1];
	s->res = res[0];
	cr_assert(nother + 2 <= sizeof(other_fds) / sizeof(other_fds[0]));
	other_fds[nother++] = s->ctl;
	other_fds[nother++] = s->res;
	return 0;
}

/* Stop a server; the number of connections it accepted. */
static int
srv_stop(struct srv *s)
{
	struct pollfd	 p = { s->res, POLLIN, 0 };
	int		 count = -1, st;

	cr_assert_eq(write(s->ctl, "x", 1), 1);
	if (poll(&p, 1, 5000) != 1 ||
	    read(s->res, &count, sizeof(count)) != sizeof(count)) {
		kill(s->pid, SIGKILL);
		count = -1;
	}
	waitpid(s->pid, &st, 0);
	close(s->ctl);
	close(s->res);
	return count;
}

static const struct net_cidrs *
allow_lo(void)
{
	static struct net_cidrs	 c;
	char			 err[128];

	cr_assert_eq(net_parse_cidrs("127.0.0.1/32", &c, err, sizeof(err)), 0);
	return &c;
}

static struct http_req
req_for(const char *url, const struct net_cidrs *allow)
{
	struct http_req r;

	memset(&r, 0, sizeof(r));
	r.url = url;
	r.connect_timeout_ms = 5000;
	r.total_timeout_ms = 10000;
	r.max_response = 1024 * 1024;
	r.allow = allow;
	r.user_agent = "hivejob-test/1";
	return r;
}

static char *
url_of(const char *fmt, int port)
{
	static char	 url[256];

	snprintf(url, sizeof(url), fmt, port);
	return url;
}

#define OK_RESPONSE	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
			"X-Request-Id: req_abc\x01\r\nContent-Length: 11\r\n" \
			"Connection: close\r\n\r\n{\"ok\":true}"

TestSuite(http, .timeout = 30);

Test(http, ok_200_with_body)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	req = req_for(url_of("http://127.0.0.1:%d/hook", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.class, "");
	cr_assert_str_eq(resp.error, "");
	cr_assert_str_eq(resp.body, "{\"ok\":true}");
	cr_assert_eq(resp.body_len, 11);
	cr_assert_eq(resp.body_truncated, 0);
	cr_assert_eq(resp.retry_after_s, -1);
	cr_assert_eq(resp.retry_after_ms, -1);
	cr_assert_eq(resp.should_retry, -1);
	cr_assert_str_eq(resp.content_type, "application/json");
	cr_assert_str_eq(resp.request_id, "req_abc?");
	cr_assert_str_eq(resp.ip, "127.0.0.1");
	http_resp_free(&resp);
	cr_assert_null(resp.body);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, post_sends_body_and_headers)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json",
		"webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek",
	};
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;
	size_t			 n = 2 * 1024 * 1024;
	char			*body;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, ECHO, NULL), 0);
	body = malloc(n);
	memset(body, 'a', n);
	body[1] = '\0';		/* sent as bytes, not as a string */
	req = req_for(url_of("http://127.0.0.1:%d/in", s.port), allow_lo());
	req.headers = hdrs;
	req.nheaders = 2;
	req.body = body;
	req.body_len = n;
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert(strncmp(resp.body, "POST /in HTTP/1.1\r\n", 19) == 0, "%s",
	    resp.body);
	cr_assert_not_null(strstr(resp.body, "\r\nwebhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\r\n"));
	cr_assert_not_null(strstr(resp.body, "\r\nContent-Type: application/json\r\n"));
	cr_assert_not_null(strstr(resp.body, "\r\nUser-Agent: hivejob-test/1\r\n"));
	cr_assert_not_null(strstr(resp.body, "\r\nContent-Length: 2097152\r\n"));
	cr_assert_null(strcasestr(resp.body, "expect:"), "%s", resp.body);
	cr_assert_null(strcasestr(resp.body, "accept-encoding"));
	cr_assert_null(strcasestr(resp.body, "proxy"));
	cr_assert_not_null(strstr(resp.body, "body-bytes: 2097152\n"), "%s",
	    resp.body);
	http_resp_free(&resp);
	free(body);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, get_and_empty_post)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, ECHO, NULL), 0);
	req = req_for(url_of("http://127.0.0.1:%d/x?q=1", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert(strncmp(resp.body, "GET /x?q=1 HTTP/1.1\r\n", 21) == 0, "%s",
	    resp.body);
	http_resp_free(&resp);
	req.method = "POST";
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert(strncmp(resp.body, "POST /x?q=1 HTTP/1.1\r\n", 22) == 0);
	cr_assert_not_null(strstr(resp.body, "\r\nContent-Length: 0\r\n"));
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 2);
}

Test(http, status_500)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
	    "Connection: close\r\n\r\noops"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.body = "{}";
	req.body_len = 2;
	cr_assert_eq(http_request(&req, &resp), HTTP_OK);
	cr_assert_eq(resp.status, 500);
	cr_assert_str_eq(resp.class, "");
	cr_assert_str_eq(resp.body, "oops");
	cr_assert_eq(resp.retry_after_s, -1);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, status_429_retry_after)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
	    "retry-after-ms: 1500.25\r\nX-Should-Retry: true\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 429);
	cr_assert_eq(resp.retry_after_s, 7);
	cr_assert_eq(resp.retry_after_ms, 1500);
	cr_assert_eq(resp.should_retry, 1);
	cr_assert_str_eq(resp.body, "");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, status_503_retry_after_zero_and_garbage)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
	    "retry-after-ms: soon\r\nx-should-retry: false\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 503);
	cr_assert_eq(resp.retry_after_s, 0);
	cr_assert_eq(resp.retry_after_ms, -1);
	cr_assert_eq(resp.should_retry, 0);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, retry_after_http_date)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: Fri, 31 Dec 2100 23:59:59 GMT\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 503);
	cr_assert_gt(resp.retry_after_s, 2000000000L);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, redirect_not_followed)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;
	char			 want[128];

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 302 Found\r\nLocation: /again\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/first", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 302);
	cr_assert_str_eq(resp.class, "");
	snprintf(want, sizeof(want), "redirect not followed (302 to "
	    "http://127.0.0.1:%d/again)", s.port);
	cr_assert_str_eq(resp.error, want);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1, "the redirect was followed");
}

Test(http, redirect_location_is_cleaned)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /a\x1b[31m\x7f\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 307);
	cr_assert(strncmp(resp.error, "redirect not followed (307 to ", 30) == 0,
	    "%s", resp.error);
	cr_assert_null(strchr(resp.error, '\x1b'), "%s", resp.error);
	cr_assert_null(strchr(resp.error, '\x7f'), "%s", resp.error);
	cr_log_info("dirty Location: %s", resp.error);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, redirect_without_location)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 300 Multiple Choices\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 300);
	cr_assert_str_eq(resp.error, "redirect not followed (300 without a Location)");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, redirect_to_another_host_not_followed)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "HTTP/1.1 301 Moved Permanently\r\n"
	    "Location: http://127.0.0.3:9/metadata\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 301);
	cr_assert_str_eq(resp.error, "redirect not followed "
	    "(301 to http://127.0.0.3:9/metadata)");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, hang_times_out)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, HANG, NULL), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.total_timeout_ms = 500;
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_eq(resp.status, 0);
	cr_assert_str_eq(resp.class, "network");
	cr_assert_str_eq(resp.error, "timeout after 500 ms");
	cr_assert_geq(resp.elapsed_ms, 450);
	cr_assert_lt(resp.elapsed_ms, 2500);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, endless_chunked_body_is_cut)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;
	size_t			 i;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CHUNKED, NULL), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.max_response = 64 * 1024;
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.class, "");
	cr_assert_eq(resp.body_truncated, 1);
	cr_assert_eq(resp.body_len, 64 * 1024);
	cr_assert_eq(strlen(resp.body), 64 * 1024);
	for (i = 0; i < resp.body_len; i++)
		cr_assert_eq(resp.body[i], 'x');
	cr_assert_lt(resp.elapsed_ms, 3000);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, body_cap_is_exact)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.max_response = 11;
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.body_truncated, 0);
	cr_assert_str_eq(resp.body, "{\"ok\":true}");
	http_resp_free(&resp);
	req.max_response = 10;
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert_eq(resp.body_truncated, 1);
	cr_assert_str_eq(resp.body, "{\"ok\":true");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 2);
}

Test(http, reset_is_network)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, RESET, NULL), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_eq(resp.status, 0);
	cr_assert_str_eq(resp.class, "network");
	cr_assert_neq(resp.error[0], '\0');
	cr_log_info("reset: %s", resp.error);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, refused_is_network_not_blocked)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fd;

	/* A bound port nobody listens on: the connect is refused. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", ntohs(sin.sin_port)),
	    allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "network");
	cr_assert_null(strstr(resp.error, "policy"));
	cr_log_info("refused: %s", resp.error);
	http_resp_free(&resp);
	close(fd);
}

Test(http, other_loopback_address_blocked)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.2", 0, CANNED, OK_RESPONSE), 0);
	req = req_for(url_of("http://127.0.0.2:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_eq(resp.status, 0);
	cr_assert_str_eq(resp.class, "blocked");
	cr_assert_str_eq(resp.error, "connect to 127.0.0.2 refused by the "
	    "address policy: 127.0.0.0/8 (loopback)");
	cr_assert_str_eq(resp.ip, "127.0.0.2");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 0, "a connection reached 127.0.0.2");
}

Test(http, no_allowlist_blocks_loopback)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), NULL);
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "blocked");
	cr_assert_str_eq(resp.error, "connect to 127.0.0.1 refused by the "
	    "address policy: 127.0.0.0/8 (loopback)");
	http_resp_free(&resp);
	req.url = url_of("http://[::ffff:127.0.0.1]:%d/", s.port);
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "blocked");
	cr_assert_str_eq(resp.error, "connect to ::ffff:127.0.0.1 refused by "
	    "the address policy: 127.0.0.0/8 (loopback)");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 0);
}

Test(http, localhost)
{
	struct srv		 s4, s6;
	struct http_req		 req;
	struct http_resp	 resp;
	int			 have6;

	cr_assert_eq(srv_start(&s4, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	/* The same port on ::1, to see whether anything reaches it. */
	have6 = srv_start(&s6, "::1", s4.port, CANNED, OK_RESPONSE) == 0;
	if (!have6)
		cr_log_warn("no [::1]:%d server; the ::1 half is not proven",
		    s4.port);
	req = req_for(url_of("http://localhost:%d/", s4.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.ip, "127.0.0.1");
	http_resp_free(&resp);

	/* Without the allowlist both addresses are refused. */
	req.allow = NULL;
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "blocked");
	cr_assert(strncmp(resp.error, "connect to ", 11) == 0);
	cr_assert_not_null(strstr(resp.error, "refused by the address policy"));
	cr_log_info("localhost without allowlist: %s", resp.error);
	http_resp_free(&resp);

	cr_assert_eq(srv_stop(&s4), 1);
	if (have6)
		cr_assert_eq(srv_stop(&s6), 0, "a connection reached ::1");
}

/* 127.0.0.1 refused (nobody listens), ::1 tried next and blocked. */
Test(http, localhost_ipv6_half_blocked)
{
	struct srv		 s6;
	struct http_req		 req;
	struct http_resp	 resp;
	struct sockaddr_in	 sin;
	int			 fd;

	if (srv_start(&s6, "::1", 0, CANNED, OK_RESPONSE) == -1)
		cr_skip_test("no IPv6 loopback");
	/* Hold 127.0.0.1:port without listening: a connect there is refused. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)s6.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		srv_stop(&s6);
		cr_skip_test("127.0.0.1:%d is in use", s6.port);
	}
	req = req_for(url_of("http://localhost:%d/", s6.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_log_info("localhost, nothing on 127.0.0.1: %s (%s)", resp.error,
	    resp.class);
	if (strstr(resp.error, "::1") != NULL) {
		cr_assert_str_eq(resp.class, "network");
		cr_assert_not_null(strstr(resp.error, " (and ::1 refused by the "
		    "address policy: ::1/128 (loopback))"), "%s", resp.error);
	} else
		cr_log_warn("localhost did not resolve to ::1 here");
	http_resp_free(&resp);
	close(fd);
	cr_assert_eq(srv_stop(&s6), 0, "a connection reached ::1");
}

Test(http, ipv6_loopback_blocked)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	if (srv_start(&s, "::1", 0, CANNED, OK_RESPONSE) == -1)
		cr_skip_test("no IPv6 loopback");
	req = req_for(url_of("http://[::1]:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "blocked");
	cr_assert_str_eq(resp.error, "connect to ::1 refused by the address "
	    "policy: ::1/128 (loopback)");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 0);
}

Test(http, numeric_host_spellings)
{
	static const char *const spellings[] = {
		"http://2130706433:%d/",	/* decimal */
		"http://0x7f.1:%d/",		/* hex and short */
		"http://0177.0.0.1:%d/",	/* octal */
		"http://127.1:%d/",
	};
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;
	size_t			 i;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		req = req_for(url_of(spellings[i], s.port), allow_lo());
		cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s: %s",
		    spellings[i], resp.error);
		cr_assert_eq(resp.status, 200);
		cr_assert_str_eq(resp.ip, "127.0.0.1");
		http_resp_free(&resp);

		req.allow = NULL;
		cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL, "%s",
		    spellings[i]);
		cr_assert_str_eq(resp.class, "blocked");
		cr_assert_str_eq(resp.error, "connect to 127.0.0.1 refused by "
		    "the address policy: 127.0.0.0/8 (loopback)");
		http_resp_free(&resp);
	}
	cr_assert_eq(srv_stop(&s), (int)i);
}

Test(http, bad_urls_refused_before_connecting)
{
	static const struct {
		const char	*url;
		const char	*error;
	} bad[] = {
		{ "http://user:secret@127.0.0.1:%d/", "invalid URL: user information" },
		{ "http://user@127.0.0.1:%d/", "invalid URL: user information" },
		{ "http://:secret@127.0.0.1:%d/", "invalid URL: user information" },
		{ "ftp://127.0.0.1:%d/", "invalid URL: scheme \"ftp\" not allowed" },
		{ "gopher://127.0.0.1:%d/", "invalid URL: scheme \"gopher\"" },
		{ "dict://127.0.0.1:%d/", "invalid URL: scheme \"dict\"" },
		{ "file:///etc/passwd#%d", "invalid URL" },
		{ "127.0.0.1:%d/", "invalid URL" },
		{ "http://:%d/", "invalid URL" },
		{ "http://127.0.0.1:%d/a b", "invalid URL" },
		{ "http://127.0.0.1:%d9999999/", "invalid URL" },
		{ "", "invalid URL: empty" },
	};
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;
	size_t			 i;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req = req_for(url_of(bad[i].url, s.port), allow_lo());
		cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT, "%s",
		    req.url);
		cr_assert_str_eq(resp.class, "bad_input");
		cr_assert_eq(resp.status, 0);
		cr_assert(strncmp(resp.error, bad[i].error,
		    strlen(bad[i].error)) == 0, "%s: %s", req.url, resp.error);
		cr_assert_null(strstr(resp.error, "secret"));
		cr_assert_str_eq(resp.body, "");
		http_resp_free(&resp);
	}
	req = req_for(NULL, allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.https_only = 1;
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	cr_assert_str_eq(resp.error, "invalid URL: scheme \"http\" not allowed "
	    "(https only)");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 0, "a refused URL reached the server");
}

Test(http, bad_requests_refused_before_connecting)
{
	static const char *const injected[] = { "X-A: 1\r\nX-B: 2" };
	static const char *const noname[] = { ": value" };
	static const char *const nocolon[] = { "X-A value" };
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	req.headers = injected;
	req.nheaders = 1;
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	cr_assert_str_eq(resp.class, "bad_input");
	http_resp_free(&resp);
	req.headers = noname;
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	req.headers = nocolon;
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	req.headers = NULL;
	req.nheaders = 0;
	req.method = "post";
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	req.method = "GET";
	req.body = "x";
	req.body_len = 1;
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	req.method = NULL;
	req.body = NULL;
	req.user_agent = "evil\r\nX-Injected: 1";
	cr_assert_eq(http_request(&req, &resp), HTTP_EINPUT);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 0);
}

Test(http, tls_error)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	/* A plain-HTTP server answering a TLS client hello. */
	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, BLURT, OK_RESPONSE), 0);
	req = req_for(url_of("https://127.0.0.1:%d/", s.port), allow_lo());
	req.https_only = 1;
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "tls");
	cr_assert(strncmp(resp.error, "TLS: ", 5) == 0, "%s", resp.error);
	cr_log_info("tls: %s", resp.error);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, not_http_is_bad_response)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED,
	    "SSH-2.0-OpenSSH_9.2\r\n\r\n"), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "bad_response");
	cr_assert_eq(resp.status, 0);
	cr_log_info("not http: %s", resp.error);
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, huge_headers_are_bad_response)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, BIGHEAD, NULL), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_EFAIL);
	cr_assert_str_eq(resp.class, "bad_response");
	cr_assert_str_eq(resp.error, "bad response: headers larger than "
	    "262144 bytes");
	http_resp_free(&resp);
	cr_assert_eq(srv_stop(&s), 1);
}

Test(http, init_and_cleanup)
{
	struct srv		 s;
	struct http_req		 req;
	struct http_resp	 resp;

	cr_assert_eq(srv_start(&s, "127.0.0.1", 0, CANNED, OK_RESPONSE), 0);
	cr_assert_eq(http_init(), 0);
	req = req_for(url_of("http://127.0.0.1:%d/", s.port), allow_lo());
	cr_assert_eq(http_request(&req, &resp), HTTP_OK, "%s", resp.error);
	http_resp_free(&resp);
	http_cleanup();
	cr_assert_eq(srv_stop(&s), 1);
}
