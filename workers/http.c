/*
 * http: one outbound request over libcurl, with the SSRF defence of
 * protocols.md. The address check sits in the open-socket callback, so a
 * denied address never sees a packet, whatever the URL's spelling or the
 * DNS says; the pre-request callback checks the connected address again.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "netcheck.h"
#include "util.h"

struct ctx {
	const struct http_req	*req;
	struct http_resp	*resp;
	size_t			 max;		/* body bytes kept */
	size_t			 alloc;		/* resp->body's size */
	size_t			 hdr_total;
	int			 hdr_too_big;
	int			 saw_retry_after;
	char			 location[1024];
	int			 nallowed;	/* sockets opened */
	int			 nblocked;	/* addresses refused */
	int			 prereq_blocked;
	char			 blocked_ip[INET6_ADDRSTRLEN];
	const char		*blocked_reason;
};

int
http_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
http_cleanup(void)
{
	curl_global_cleanup();
}

void
http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/* Copy s[0..len) with non-printable bytes as '?', cut to fit dst. */
static void
copy_printable(char *dst, size_t cap, const char *s, size_t len)
{
	size_t i;

	if (len > cap - 1)
		len = cap - 1;
	for (i = 0; i < len; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[len] = '\0';
}

static void
printable_inplace(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ctx		*c = arg;
	struct http_resp	*r = c->resp;
	size_t			 n = size * nmemb, take, want;

	take = c->max - r->body_len;
	if (take > n)
		take = n;
	if (take > 0) {
		want = r->body_len + take + 1;
		if (want > c->alloc) {
			c->alloc = c->alloc * 2 > want ? c->alloc * 2 : want;
			if (c->alloc < 16384)
				c->alloc = 16384;
			if (c->alloc > c->max + 1)
				c->alloc = c->max + 1;
			r->body = xrealloc(r->body, c->alloc);
		}
		memcpy(r->body + r->body_len, ptr, take);
		r->body_len += take;
		r->body[r->body_len] = '\0';
	}
	if (take < n) {
		/* Past the cap: stop here (CURLE_WRITE_ERROR). */
		r->body_truncated = 1;
		return 0;
	}
	return n;
}

/* A non-negative decimal, a fraction ignored; -1 if it is not one. */
static long
parse_ms(const char *s, size_t len)
{
	long	v = 0;
	size_t	i = 0;

	if (len == 0)
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v > (LONG_MAX - 9) / 10 ? LONG_MAX : v * 10 + (s[i] - '0');
	if (i == 0)
		return -1;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	return i == len ? v : -1;
}

static int
hdr_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct ctx		*c = arg;
	struct http_resp	*r = c->resp;
	size_t			 n = size * nitems, nlen, vlen;
	const char		*colon, *v;

	c->hdr_total += n;
	if (c->hdr_total > HTTP_MAX_HEADERS_SIZE) {
		c->hdr_too_big = 1;
		return 0;
	}
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the last one's. */
		r->retry_after_ms = -1;
		r->should_retry = -1;
		r->content_type[0] = r->request_id[0] = '\0';
		c->location[0] = '\0';
		c->saw_retry_after = 0;
		return n;
	}
	if ((colon = memchr(buf, ':', n)) == NULL)
		return n;
	nlen = (size_t)(colon - buf);
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (hdr_is(buf, nlen, "retry-after"))
		c->saw_retry_after = 1;
	else if (hdr_is(buf, nlen, "retry-after-ms"))
		r->retry_after_ms = parse_ms(v, vlen);
	else if (hdr_is(buf, nlen, "x-should-retry")) {
		if (vlen == 4 && strncasecmp(v, "true", 4) == 0)
			r->should_retry = 1;
		else if (vlen == 5 && strncasecmp(v, "false", 5) == 0)
			r->should_retry = 0;
	} else if (hdr_is(buf, nlen, "content-type"))
		copy_printable(r->content_type, sizeof(r->content_type), v, vlen);
	else if (hdr_is(buf, nlen, "x-request-id"))
		copy_printable(r->request_id, sizeof(r->request_id), v, vlen);
	else if (hdr_is(buf, nlen, "location"))
		copy_printable(c->location, sizeof(c->location), v, vlen);
	return n;
}

static void
blocked(struct ctx *c, const struct sockaddr *sa, const char *why)
{
	if (c->nblocked++ == 0) {
		net_ntop(sa, c->blocked_ip, sizeof(c->blocked_ip));
		c->blocked_reason = why;
	}
}

static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ctx	*c = arg;
	const char	*why;
	curl_socket_t	 fd;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    (a->family == AF_INET && a->addrlen < sizeof(struct sockaddr_in)) ||
	    (a->family == AF_INET6 && a->addrlen < sizeof(struct sockaddr_in6))) {
		blocked(c, &a->addr, "not an IP connection");
		return CURL_SOCKET_BAD;
	}
	if (net_check(&a->addr, c->req->allow, &why) != NET_ALLOWED) {
		blocked(c, &a->addr, why);
		return CURL_SOCKET_BAD;
	}
	c->nallowed++;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* Once connected, before the request is sent: the same check again. */
static int
prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct ctx		*c = arg;
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	struct sockaddr		*sa;
	const char		*why;

	(void)local_ip, (void)port, (void)local_port;
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	s4.sin_family = AF_INET;
	s6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1)
		sa = (struct sockaddr *)&s4;
	else if (inet_pton(AF_INET6, ip, &s6.sin6_addr) == 1)
		sa = (struct sockaddr *)&s6;
	else {
		c->prereq_blocked = 1;
		c->nblocked++;
		copy_printable(c->blocked_ip, sizeof(c->blocked_ip), ip,
		    strlen(ip));
		c->blocked_reason = "not an IP address";
		return CURL_PREREQFUNC_ABORT;
	}
	if (net_check(sa, c->req->allow, &why) != NET_ALLOWED) {
		c->prereq_blocked = 1;
		c->nblocked++;
		net_ntop(sa, c->blocked_ip, sizeof(c->blocked_ip));
		c->blocked_reason = why;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
#endif

static int
fail(struct http_resp *r, const char *class, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct http_resp *r, const char *class, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	printable_inplace(r->error);
	r->class = class;
	r->status = 0;
	return rc;
}

static int
is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Everything about the request that can be judged before connecting. */
static int
check_input(const struct http_req *req, CURLU *u, struct http_resp *r)
{
	const char	*m = req->method;
	char		*part = NULL;
	size_t		 i, j;
	CURLUcode	 uc;

	if (req->url == NULL || req->url[0] == '\0')
		return fail(r, "bad_input", HTTP_EINPUT, "invalid URL: empty");
	if (strlen(req->url) > HTTP_MAX_URL)
		return fail(r, "bad_input", HTTP_EINPUT,
		    "invalid URL: longer than %d bytes", HTTP_MAX_URL);
	if ((uc = curl_url_set(u, CURLUPART_URL, req->url,
	    CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK)
		return fail(r, "bad_input", HTTP_EINPUT, "invalid URL: %s",
		    curl_url_strerror(uc));
	if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK)
		return fail(r, "bad_input", HTTP_EINPUT, "invalid URL: no scheme");
	if (strcmp(part, "https") != 0 &&
	    (req->https_only || strcmp(part, "http") != 0)) {
		fail(r, "bad_input", HTTP_EINPUT, "invalid URL: scheme \"%.20s\" "
		    "not allowed (%s only)", part,
		    req->https_only ? "https" : "http and https");
		curl_free(part);
		return HTTP_EINPUT;
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK ||
	    part[0] == '\0') {
		curl_free(part);
		return fail(r, "bad_input", HTTP_EINPUT, "invalid URL: no host");
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD ||
	    curl_url_get(u, CURLUPART_OPTIONS, &part, 0) != CURLUE_NO_OPTIONS) {
		curl_free(part);
		return fail(r, "bad_input", HTTP_EINPUT,
		    "invalid URL: user information (credentials) not allowed");
	}

	if (m != NULL) {
		for (i = 0; m[i] >= 'A' && m[i] <= 'Z'; i++)
			;
		if (i == 0 || i > 16 || m[i] != '\0')
			return fail(r, "bad_input", HTTP_EINPUT,
			    "invalid method: not 1 to 16 capital letters");
		if ((strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) &&
		    (req->body != NULL || req->body_len > 0))
			return fail(r, "bad_input", HTTP_EINPUT,
			    "invalid request: a body with %s", m);
	}
	if (req->body == NULL && req->body_len > 0)
		return fail(r, "bad_input", HTTP_EINPUT,
		    "invalid request: body_len without a body");
	for (i = 0; i < req->nheaders; i++) {
		const char *h = req->headers[i];

		if (h == NULL || strlen(h) > 8192 || strpbrk(h, "\r\n") != NULL)
			return fail(r, "bad_input", HTTP_EINPUT,
			    "invalid header %zu: CR, LF or too long", i + 1);
		for (j = 0; is_tchar(h[j]); j++)
			;
		if (j == 0 || h[j] != ':')
			return fail(r, "bad_input", HTTP_EINPUT,
			    "invalid header %zu: not \"Name: value\"", i + 1);
	}
	if (req->user_agent != NULL && (strlen(req->user_agent) > 512 ||
	    strpbrk(req->user_agent, "\r\n") != NULL))
		return fail(r, "bad_input", HTTP_EINPUT,
		    "invalid user agent: CR, LF or too long");
	return HTTP_OK;
}

static int
is_tls(CURLcode cc)
{
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
#if LIBCURL_VERSION_NUM >= 0x074900
	case CURLE_SSL_CLIENTCERT:
#endif
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

static int
is_bad_response(CURLcode cc)
{
	switch (cc) {
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:	/* HTTP/0.9 */
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		return 1;
	default:
		return 0;
	}
}

#define SETOPT(opt, val) do {						\
	if ((cc = curl_easy_setopt(e, opt, val)) != CURLE_OK) {		\
		rc = fail(resp, "network", HTTP_EFAIL,			\
		    "libcurl: setting %s: %s", #opt,			\
		    curl_easy_strerror(cc));				\
		goto out;						\
	}								\
} while (0)

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why there was no response, in resp. */
static int
no_response(struct ctx *c, CURL *e, CURLcode cc, const char *errbuf,
    long cto, long tto)
{
	struct http_resp	*resp = c->resp;
	const char		*msg = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	curl_off_t		 connect_us = 0;
	size_t			 len;
	int			 rc;

	if (c->hdr_too_big)
		return fail(resp, "bad_response", HTTP_EFAIL,
		    "bad response: headers larger than %d bytes",
		    HTTP_MAX_HEADERS_SIZE);
	if ((cc == CURLE_COULDNT_CONNECT && c->nblocked > 0 &&
	    c->nallowed == 0) ||
	    (cc == CURLE_ABORTED_BY_CALLBACK && c->prereq_blocked)) {
		snprintf(resp->ip, sizeof(resp->ip), "%s", c->blocked_ip);
		rc = fail(resp, "blocked", HTTP_EFAIL,
		    "connect to %s refused by the address policy: %s",
		    c->blocked_ip, c->blocked_reason);
		if (c->nblocked > 1) {
			len = strlen(resp->error);
			snprintf(resp->error + len, sizeof(resp->error) - len,
			    " (and %d more address%s)", c->nblocked - 1,
			    c->nblocked > 2 ? "es" : "");
		}
		return rc;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
		if (connect_us == 0 && cto < tto)
			return fail(resp, "network", HTTP_EFAIL,
			    "connect timeout after %ld ms", cto);
		return fail(resp, "network", HTTP_EFAIL,
		    "timeout after %ld ms", tto);
	}
	if (is_tls(cc))
		return fail(resp, "tls", HTTP_EFAIL, "TLS: %s", msg);
	if (is_bad_response(cc))
		return fail(resp, "bad_response", HTTP_EFAIL, "bad response: %s",
		    msg);
	if (cc == CURLE_URL_MALFORMAT)
		return fail(resp, "bad_input", HTTP_EINPUT, "invalid URL: %s", msg);
	rc = fail(resp, "network", HTTP_EFAIL, "%s", msg);
	if (c->nblocked > 0) {
		len = strlen(resp->error);
		snprintf(resp->error + len, sizeof(resp->error) - len,
		    " (and %s refused by the address policy: %s)",
		    c->blocked_ip, c->blocked_reason);
	}
	return rc;
}

int
http_request(const struct http_req *req, struct http_resp *resp)
{
	struct ctx		 c;
	struct curl_slist	*hl = NULL, *tmp;
	CURL			*e = NULL;
	CURLU			*u = NULL;
	CURLcode		 cc;
	const char		*method, *protos, *ip = NULL;
	char			 errbuf[CURL_ERROR_SIZE], *redir = NULL;
	long			 cto, tto, code = 0;
	curl_off_t		 ra = 0;
	int64_t			 t0;
	size_t			 i;
	int			 rc = HTTP_EFAIL, expect = 0;

	memset(resp, 0, sizeof(*resp));
	resp->body = xmalloc(1);
	resp->body[0] = '\0';
	resp->retry_after_s = resp->retry_after_ms = -1;
	resp->should_retry = -1;
	resp->class = "";
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.resp = resp;
	c.max = req->max_response ? req->max_response : HTTP_MAX_RESPONSE;
	if (c.max > SIZE_MAX / 4)
		c.max = SIZE_MAX / 4;
	c.alloc = 1;
	errbuf[0] = '\0';
	cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    HTTP_CONNECT_TIMEOUT_MS;
	tto = req->total_timeout_ms > 0 ? req->total_timeout_ms :
	    HTTP_TOTAL_TIMEOUT_MS;
	t0 = now_ms();

	if ((u = curl_url()) == NULL) {
		rc = fail(resp, "network", HTTP_EFAIL, "libcurl: out of memory");
		goto out;
	}
	if ((rc = check_input(req, u, resp)) != HTTP_OK)
		goto out;
	rc = HTTP_EFAIL;
	method = req->method ? req->method : req->body ? "POST" : "GET";
	for (i = 0; i < req->nheaders; i++) {
		if (strncasecmp(req->headers[i], "Expect:", 7) == 0)
			expect = 1;
		if ((tmp = curl_slist_append(hl, req->headers[i])) == NULL)
			goto oom;
		hl = tmp;
	}
	/* No "Expect: 100-continue" round trip for a large body. */
	if (!expect) {
		if ((tmp = curl_slist_append(hl, "Expect:")) == NULL)
			goto oom;
		hl = tmp;
	}
	if ((e = curl_easy_init()) == NULL)
		goto oom;

	protos = req->https_only ? "https" : "http,https";
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_CURLU, u);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, protos);
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, protos);
#else
	SETOPT(CURLOPT_PROTOCOLS, req->https_only ? CURLPROTO_HTTPS :
	    CURLPROTO_HTTP | CURLPROTO_HTTPS);
	SETOPT(CURLOPT_REDIR_PROTOCOLS, req->https_only ? CURLPROTO_HTTPS :
	    CURLPROTO_HTTP | CURLPROTO_HTTPS);
	(void)protos;
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_MAXREDIRS, 0L);
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOPROXY, "*");
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SETOPT(CURLOPT_HTTP09_ALLOWED, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, cto);
	SETOPT(CURLOPT_TIMEOUT_MS, tto);
	SETOPT(CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	SETOPT(CURLOPT_OPENSOCKETDATA, &c);
#if LIBCURL_VERSION_NUM >= 0x075000
	SETOPT(CURLOPT_PREREQFUNCTION, prereq_cb);
	SETOPT(CURLOPT_PREREQDATA, &c);
#endif
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, &c);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, &c);
	SETOPT(CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "hivejob");
	SETOPT(CURLOPT_HTTPHEADER, hl);
	if (strcmp(method, "GET") == 0)
		SETOPT(CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		SETOPT(CURLOPT_NOBODY, 1L);
	else {
		if (strcmp(method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, method);
		if (req->body != NULL || strcmp(method, "POST") == 0) {
			SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SETOPT(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		}
	}

	cc = curl_easy_perform(e);

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
	    ip != NULL)
		copy_printable(resp->ip, sizeof(resp->ip), ip, strlen(ip));
	if (!(cc == CURLE_OK || (cc == CURLE_WRITE_ERROR &&
	    resp->body_truncated && !c.hdr_too_big && code > 0))) {
		rc = no_response(&c, e, cc, errbuf, cto, tto);
		goto out;
	}
	rc = HTTP_OK;
	resp->status = code;
	if (c.saw_retry_after &&
	    curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK)
		resp->retry_after_s = ra < 0 ? 0 : ra > LONG_MAX ? LONG_MAX :
		    (long)ra;
	if (code >= 300 && code < 400) {
		if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &redir) !=
		    CURLE_OK || redir == NULL)
			redir = c.location[0] ? c.location : NULL;
		if (redir != NULL)
			snprintf(resp->error, sizeof(resp->error),
			    "redirect not followed (%ld to %.400s)", code, redir);
		else
			snprintf(resp->error, sizeof(resp->error),
			    "redirect not followed (%ld without a Location)",
			    code);
		printable_inplace(resp->error);
	}
	goto out;

oom:
	rc = fail(resp, "network", HTTP_EFAIL, "libcurl: out of memory");
out:
	resp->elapsed_ms = (long)(now_ms() - t0);
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(hl);
	curl_url_cleanup(u);
	return rc;
}
