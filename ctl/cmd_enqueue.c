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

static int	tag_valid(const char *);
static int	args_validate(const char *);
static int	key_cmp(const void *, const void *);
static char	*args_sorted(const char *);
static int	unique_by_parse(const char *, int *, int *, int64_t *);

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

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The args as River's unique key spells them: top-level keys sorted by
 * byte, nothing between the tokens, values as json-c writes them compactly
 * (a number keeps the spelling it was given). The supervisor's periodic
 * jobs use the same form. args was validated already.
 */
static char *
args_sorted(const char *args)
{
	const int		 flags = JSON_C_TO_STRING_PLAIN |
				    JSON_C_TO_STRING_NOSLASHESCAPE;
	struct json_object	*obj, *ks;
	const char		**keys;
	struct buf		 b;
	size_t			 n = 0, i;
	char			*out;

	if ((obj = json_tokener_parse(args)) == NULL)
		return NULL;
	keys = xcalloc(json_object_object_length(obj) + 1, sizeof(*keys));
	{
		json_object_object_foreach(obj, k, v) {
			(void)v;
			keys[n++] = k;
		}
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	buf_init(&b);
	buf_addc(&b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		ks = json_object_new_string(keys[i]);
		buf_adds(&b, json_object_to_json_string_ext(ks, flags));
		json_object_put(ks);
		buf_addc(&b, ':');
		buf_adds(&b, json_object_to_json_string_ext(
		    json_object_object_get(obj, keys[i]), flags));
	}
	buf_addc(&b, '}');
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	free(keys);
	json_object_put(obj);
	return out;
}

/*
 * --unique-by: a comma-separated list of args, queue, period=DURATION (and
 * kind, which is always part of the key). -1 after saying what is wrong.
 */
static int
unique_by_parse(const char *spec, int *by_args, int *by_queue, int64_t *period_ms)
{
	char	*copy = xstrdup(spec), *tok, *save = NULL;
	int	 rc = 0, n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		n++;
		if (strcmp(tok, "args") == 0)
			*by_args = 1;
		else if (strcmp(tok, "queue") == 0)
			*by_queue = 1;
		else if (strcmp(tok, "kind") == 0)
			;
		else if (strncmp(tok, "period=", 7) == 0) {
			if (parse_duration_ms(tok + 7, period_ms) == -1 || *period_ms < 1000) {
				rc = ctl_usage("enqueue", "--unique-by: '%s': a period is a "
				    "duration of at least 1s, such as period=15m or period=1h",
				    tok);
				break;
			}
		} else {
			rc = ctl_usage("enqueue", "--unique-by: '%s' is not args, queue, "
			    "kind or period=DURATION", tok);
			break;
		}
	}
	if (rc == 0 && n == 0)
		rc = ctl_usage("enqueue", "--unique-by needs args, queue, kind or "
		    "period=DURATION");
	free(copy);
	return rc == 0 ? 0 : -1;
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
		{ "unique-by", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*queue = "default", *at = NULL, *kind, *args;
	const char	*tags[MAX_TAGS];
	const char	*p[13];
	char		 pri[8], maxa[8], delay[32], chan[64], per[32];
	char		*sorted = NULL;
	struct buf	 tagarr;
	PGresult	*res = NULL;
	long		 priority = 1, max_attempts = 25;
	int64_t		 delay_ms = -1, period_ms = 0;
	int		 ch, ntags = 0, i, rc, n, json = 0, unique = 0;
	int		 by_args = 0, by_queue = 0, tries;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			queue = optarg;
			n = ctl_name_chars(queue);
			if (n < 1 || n > 127)
				return ctl_usage("enqueue", "--queue must be 1 to 127 "
				    "characters of UTF-8, got %d", n);
			break;
		case 'p':
			if (ctl_long_arg(optarg, 1, 4, &priority) == -1)
				return ctl_usage("enqueue", "--priority must be 1, 2, 3 or 4, "
				    "got '%s'", optarg);
			break;
		case 'm':
			if (ctl_long_arg(optarg, 1, 32767, &max_attempts) == -1)
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
		case 'u':
			if (unique_by_parse(optarg, &by_args, &by_queue, &period_ms) == -1)
				return EX_USAGE;
			unique = 1;
			break;
		case 'j':
			json = 1;
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
	n = ctl_name_chars(kind);
	if (n < 1 || n > 127) {
		log_warnx("KIND must be 1 to 127 characters of UTF-8, got %s",
		    n < 0 ? "invalid UTF-8" : n == 0 ? "an empty string" :
		    "a longer one");
		return EX_DATAERR;
	}
	if (args_validate(args) == -1)
		return EX_DATAERR;
	if (by_args && (sorted = args_sorted(args)) == NULL) {
		log_warnx("ARGS_JSON could not be read back for its unique key");
		return EX_DATAERR;
	}

	if ((rc = ctl_connect(c, 1)) != EX_OK) {
		free(sorted);
		return rc;
	}

	buf_init(&tagarr);
	buf_addc(&tagarr, '{');
	for (i = 0; i < ntags; i++)
		buf_printf(&tagarr, "%s\"%s\"", i ? "," : "", tags[i]);
	buf_addc(&tagarr, '}');
	snprintf(pri, sizeof(pri), "%ld", priority);
	snprintf(maxa, sizeof(maxa), "%ld", max_attempts);
	snprintf(delay, sizeof(delay), "%lld", (long long)delay_ms);
	snprintf(per, sizeof(per), "%lld", (long long)period_ms);
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
	p[9] = unique ? "t" : "f";
	p[10] = sorted;
	p[11] = period_ms > 0 ? per : NULL;
	p[12] = by_queue ? "t" : "f";
	/*
	 * A future time makes the row 'scheduled', as River's client does; the
	 * scheduler moves it to 'available' when it is due.
	 *
	 * The unique key is River's: the SHA-256 of "&kind=K", then "&args=" and
	 * the sorted args, "&period=" and the scheduled time truncated to the
	 * period as Go's time.Truncate does (counted from January 1 of year 1,
	 * not from 1970: the two differ for periods that do not divide a day),
	 * in RFC 3339 without fractions, and "&queue=Q". A conflict on River's
	 * partial unique index inserts nothing; the row holding the key is
	 * returned instead. If that row leaves the index before this statement
	 * sees it, the statement runs again.
	 */
	for (tries = 0; tries < 3; tries++) {
		PQclear(res);
		res = PQexecParams(c->conn,
		    "WITH t AS (SELECT coalesce($6::timestamptz,"
		    "   now() + $7::bigint * interval '1 millisecond', now()) AS at),"
		    " k AS (SELECT CASE WHEN $10::boolean THEN sha256(convert_to("
		    "   '&kind=' || $2 || coalesce('&args=' || $11, '')"
		    "   || CASE WHEN $12::bigint IS NOT NULL THEN '&period=' || to_char("
		    "     to_timestamp((floor((extract(epoch FROM t.at) * 1000"
		    "       + 62135596800000) / $12::bigint) * $12::bigint"
		    "       - 62135596800000) / 1000) AT TIME ZONE 'UTC',"
		    "     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE '' END"
		    "   || CASE WHEN $13::boolean THEN '&queue=' || $5 ELSE '' END,"
		    "   'UTF8')) END AS key FROM t),"
		    " ins AS (INSERT INTO river_job (args, kind, max_attempts, priority,"
		    "   queue, scheduled_at, state, tags, unique_key, unique_states)"
		    "   SELECT $1::jsonb, $2, $3::smallint, $4::smallint, $5, t.at,"
		    "   CASE WHEN t.at > now() THEN 'scheduled' ELSE 'available' END::river_job_state,"
		    "   $8::varchar(255)[], k.key,"
		    "   CASE WHEN k.key IS NOT NULL THEN x'F5'::bit(8) END FROM t, k"
		    "   ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL"
		    "   AND unique_states IS NOT NULL"
		    "   AND river_job_state_in_bitmask(unique_states, state) DO NOTHING"
		    "   RETURNING id, state, queue, unique_key),"
		    " r AS (SELECT id, false AS duplicate, state, unique_key,"
		    "   CASE WHEN state = 'available' THEN"
		    "   pg_notify($9, json_build_object('queue', queue)::text)::text END AS n"
		    "  FROM ins"
		    "  UNION ALL"
		    "  SELECT j.id, true, j.state, j.unique_key, NULL FROM river_job j, k"
		    "  WHERE NOT EXISTS (SELECT 1 FROM ins) AND j.unique_key = k.key"
		    "  AND j.unique_states IS NOT NULL"
		    "  AND river_job_state_in_bitmask(j.unique_states, j.state))"
		    " SELECT id, duplicate, state, json_build_object('id', id,"
		    "  'duplicate', duplicate, 'state', state,"
		    "  'unique_key', encode(unique_key, 'hex')), n"
		    " FROM r LIMIT 1",
		    13, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 1)
			break;
	}
	buf_free(&tagarr);
	free(sorted);
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
	if (PQntuples(res) != 1) {
		log_warnx("enqueue: the unique key is taken, but its job keeps changing "
		    "state; try again");
		PQclear(res);
		return EX_TEMPFAIL;
	}
	if (json)
		printf("%s\n", PQgetvalue(res, 0, 3));
	else
		printf("%s\n", PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		log_notice("duplicate: job %s (%s) already holds this unique key; "
		    "nothing was inserted", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	PQclear(res);
	return EX_OK;
}
