/*
 * http: the one outbound HTTP request of a worker (webhook delivery,
 * embeddings, chat completions), over libcurl, with the SSRF defence of
 * protocols.md: http/https only, no redirects followed, no proxy, the
 * address connected to checked against netcheck's policy before any
 * packet is sent, a capped response, bounded time.
 *
 * libcurl's resolver is threaded: use this in an exec'd worker, never in
 * a process that forks afterwards.
 */
#ifndef HIVEJOB_HTTP_H
#define HIVEJOB_HTTP_H

#include <netinet/in.h>
#include <stddef.h>

#include "netcheck.h"

#define HTTP_CONNECT_TIMEOUT_MS	10000	/* when connect_timeout_ms is 0 */
#define HTTP_TOTAL_TIMEOUT_MS	30000	/* when total_timeout_ms is 0 */
#define HTTP_MAX_RESPONSE	(1024 * 1024)	/* when max_response is 0 */
#define HTTP_MAX_URL		8192
#define HTTP_MAX_HEADERS_SIZE	(256 * 1024)	/* all response headers */

struct http_req {
	const char		*method;	/* NULL: POST with a body, else GET */
	const char		*url;
	const char *const	*headers;	/* "Name: value", no CR or LF */
	size_t			 nheaders;
	const void		*body;		/* sent as is; may be NULL */
	size_t			 body_len;
	long			 connect_timeout_ms;
	long			 total_timeout_ms;
	size_t			 max_response;	/* body bytes kept */
	const struct net_cidrs	*allow;		/* may be NULL */
	int			 https_only;
	const char		*user_agent;	/* NULL: "hivejob" */
};

struct http_resp {
	long		 status;	/* 0 unless a response was received */
	char		*body;		/* NUL-terminated, never NULL */
	size_t		 body_len;	/* <= max_response; may hold NULs */
	int		 body_truncated;
	long		 retry_after_s;	/* Retry-After (seconds or date); -1 */
	long		 retry_after_ms;	/* retry-after-ms; -1 */
	int		 should_retry;	/* x-should-retry: 1 true, 0 false, -1 */
	char		 content_type[128];	/* printable ASCII, cut */
	char		 request_id[128];	/* x-request-id, printable, cut */
	/*
	 * "" when a response was received (any status, a truncated body
	 * included), else "network", "tls", "blocked", "bad_response" or
	 * "bad_input".
	 */
	const char	*class;
	/*
	 * Printable ASCII for people: why it failed, or for a 3xx
	 * "redirect not followed (302 to URL)". Never holds the request URL.
	 */
	char		 error[512];
	char		 ip[INET6_ADDRSTRLEN];	/* connected; or refused if blocked */
	long		 elapsed_ms;
};

/* What http_request returns. */
#define HTTP_OK		0	/* a response: see status */
#define HTTP_EFAIL	(-1)	/* no response: network, tls, blocked, bad_response */
#define HTTP_EINPUT	(-2)	/* bad_input: invalid URL, method or header; nothing sent */

/*
 * Optional, once, early in main: libcurl otherwise initialises itself on
 * the first request. http_cleanup releases what it holds (for valgrind).
 */
int	 http_init(void);
void	 http_cleanup(void);

/*
 * Perform one request. resp is always filled in (release it with
 * http_resp_free), whatever is returned. The URL must be http or https
 * (https only with https_only) with a host and no user information. A
 * Content-Type for the body goes into headers (libcurl's default for a
 * POST is application/x-www-form-urlencoded).
 */
int	 http_request(const struct http_req *, struct http_resp *);
void	 http_resp_free(struct http_resp *);

#endif
