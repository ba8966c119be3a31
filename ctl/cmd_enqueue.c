/*
 * hivejobctl enqueue KIND ARGS_JSON [options]: insert a row River itself
 * would accept, and wake the workers with River's insert notification in the
 * same transaction. Everything is validated before the database is touched,
 * so bad input writes nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>

#include "ctl.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define MAX_TAGS	64

static int	name_chars(const char *);
static int	tag_valid(const char *);
static int	int_arg(const char *, long, long, long *);
static int	args_validate(const char *);

/* Characters in s, or -1 when s is not valid UTF-8. */
static int
name_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 n = 0, k;

	while (*p) {
		if (*p < 0x80)
			k = 0;
		else if ((*p & 0xe0) == 0xc0)
			k = 1;
		else if ((*p & 0xf0) == 0xe0)
			k = 2;
		else if ((*p & 0xf8) == 0xf0)
			k = 3;
		else
			return -1;
		for (p++; k > 0; k--, p++)
			if ((*p & 0xc0) != 0x80)
				return -1;
		n++;
	}
	return n;
}

/* River's rule for tags: word characters with inner hyphens, 1..255 long. */
static int
tag_valid(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (isalnum(ch) || ch == '_')
			continue;
		if (ch == '-' && i > 0 && i < n - 1)
			continue;
		return 0;
	}
	return 1;
}

static int
int_arg(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* 0 when args is one JSON object and nothing else; -1 after saying why. */
static int
args_validate(const char *args)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 len = strlen(args), used;
	int			 rc = -1;

	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, args, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			log_warnx("ARGS_JSON is not valid JSON: unexpected end of input");
		else
			log_warnx("ARGS_JSON is not valid JSON: %s at byte %zu",
			    json_tokener_error_desc(jerr), used);
		goto out;
	}
	while (used < len && isspace((unsigned char)args[used]))
		used++;
	if (used != len) {
		log_warnx("ARGS_JSON is not valid JSON: trailing data at byte %zu", used);
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		log_warnx("ARGS_JSON must be a JSON object, not %s",
		    json_type_to_name(json_object_get_type(obj)));
		goto out;
	}
	rc = 0;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

int
cmd_enqueue(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "priority", required_argument, NULL, 'p' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "at", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*queue = "default", *at = NULL, *kind, *args;
	const char	*tags[MAX_TAGS];
	const char	*p[9];
	char		 pri[8], maxa[8], delay[32], chan[64];
	struct buf	 tagarr;
	PGresult	*res;
	long		 priority = 1, max_attempts = 25;
	int64_t		 delay_ms = -1;
	int		 ch, ntags = 0, i, rc, n;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			queue = optarg;
			n = name_chars(queue);
			if (n < 1 || n > 127)
				return ctl_usage("enqueue", "--queue must be 1 to 127 "
				    "characters of UTF-8, got %d", n);
			break;
		case 'p':
			if (int_arg(optarg, 1, 4, &priority) == -1)
				return ctl_usage("enqueue", "--priority must be 1, 2, 3 or 4, "
				    "got '%s'", optarg);
			break;
		case 'm':
			if (int_arg(optarg, 1, 32767, &max_attempts) == -1)
				return ctl_usage("enqueue", "--max-attempts must be 1 to "
				    "32767, got '%s'", optarg);
			break;
		case 'a':
			at = optarg;
			if (*at == '+' && parse_duration_ms(at + 1, &delay_ms) == -1)
				return ctl_usage("enqueue", "--at '%s': a delay is + and a "
				    "duration such as +30s, +5m, +2h", at);
			break;
		case 't':
			if (ntags == MAX_TAGS)
				return ctl_usage("enqueue", "at most %d tags", MAX_TAGS);
			if (!tag_valid(optarg))
				return ctl_usage("enqueue", "--tag '%s': a tag is 1 to 255 "
				    "letters, digits, '_' and inner '-'", optarg);
			tags[ntags++] = optarg;
			break;
		case ':':
			return ctl_usage("enqueue", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("enqueue", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return ctl_usage("enqueue", "expected KIND and ARGS_JSON, got %d "
		    "argument%s", argc - optind, argc - optind == 1 ? "" : "s");
	kind = argv[optind];
	args = argv[optind + 1];
	n = name_chars(kind);
	if (n < 1 || n > 127) {
		log_warnx("KIND must be 1 to 127 characters of UTF-8, got %s",
		    n < 0 ? "invalid UTF-8" : n == 0 ? "an empty string" :
		    "a longer one");
		return EX_DATAERR;
	}
	if (args_validate(args) == -1)
		return EX_DATAERR;

	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;

	buf_init(&tagarr);
	buf_addc(&tagarr, '{');
	for (i = 0; i < ntags; i++)
		buf_printf(&tagarr, "%s\"%s\"", i ? "," : "", tags[i]);
	buf_addc(&tagarr, '}');
	snprintf(pri, sizeof(pri), "%ld", priority);
	snprintf(maxa, sizeof(maxa), "%ld", max_attempts);
	snprintf(delay, sizeof(delay), "%lld", (long long)delay_ms);
	ctl_channel(c->schema, "river_insert", chan, sizeof(chan));

	p[0] = args;
	p[1] = kind;
	p[2] = maxa;
	p[3] = pri;
	p[4] = queue;
	p[5] = (at && *at != '+') ? at : NULL;
	p[6] = delay_ms >= 0 ? delay : NULL;
	p[7] = buf_str(&tagarr);
	p[8] = chan;
	/*
	 * A future time makes the row 'scheduled', as River's client does; the
	 * scheduler moves it to 'available' when it is due.
	 */
	res = PQexecParams(c->conn,
	    "WITH t AS (SELECT coalesce($6::timestamptz,"
	    "   now() + $7::bigint * interval '1 millisecond', now()) AS at),"
	    " ins AS (INSERT INTO river_job"
	    "   (args, kind, max_attempts, priority, queue, scheduled_at, state, tags)"
	    "   SELECT $1::jsonb, $2, $3::smallint, $4::smallint, $5, t.at,"
	    "   CASE WHEN t.at > now() THEN 'scheduled' ELSE 'available' END::river_job_state,"
	    "   $8::varchar(255)[] FROM t"
	    "   RETURNING id, state, queue)"
	    " SELECT id, CASE WHEN state = 'available' THEN"
	    "   pg_notify($9, json_build_object('queue', queue)::text) END"
	    " FROM ins",
	    9, NULL, p, NULL, NULL, 0);
	buf_free(&tagarr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (at && st && strncmp(st, "22", 2) == 0 &&
		    strstr(db_error(c->conn, res), "time") != NULL) {
			log_warnx("--at '%s': %s", at, db_error(c->conn, res));
			PQclear(res);
			return EX_USAGE;
		}
		rc = ctl_db_fail(c, res, "enqueue");
		PQclear(res);
		return rc;
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return EX_OK;
}
