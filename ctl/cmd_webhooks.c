/*
 * hivejobctl webhooks, webhooks enable and deliveries: the endpoints of the
 * webhook_dispatch kind, their health, and their delivery log. Secrets are
 * never printed, and a password in an endpoint's URL is masked.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

#define WEBHOOK_JSON \
	"json_build_object('id', w.id," \
	" 'url', regexp_replace(w.url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@', '\\1***@')," \
	" 'enabled', w.enabled, 'event_types', w.event_types," \
	" 'last_status', w.last_status, 'last_error', w.last_error," \
	" 'last_attempt_at', w.last_attempt_at, 'last_success_at', w.last_success_at," \
	" 'first_failure_at', w.first_failure_at," \
	" 'failing_for_s', extract(epoch FROM now() - w.first_failure_at)::float8," \
	" 'consecutive_failures', w.consecutive_failures," \
	" 'disabled_at', w.disabled_at, 'disabled_reason', w.disabled_reason," \
	" 'created_at', w.created_at)"

static const struct tcol webhook_cols[] = {
	{ "ID", "id", TF_TEXT, 0 },
	{ "URL", "url", TF_TEXT, 50 },
	{ "ENABLED", "enabled", TF_BOOL, 0 },
	{ "LAST_STATUS", "last_status", TF_TEXT, 0 },
	{ "FAILING_SINCE", "first_failure_at", TF_TIME, 0 },
	{ "FAILURES", "consecutive_failures", TF_TEXT, 0 },
	{ "DISABLED_AT", "disabled_at", TF_TIME, 0 },
	{ "REASON", "disabled_reason", TF_TEXT, 50 },
};

/*
 * Turn an endpoint on again, health forgotten: it starts afresh, as if it
 * had never failed.
 */
static int
webhook_enable(struct ctl *c, const char *id, int json)
{
	const char	*p[1] = { id };
	char		*out, *arr;
	int		 rc;

	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	rc = ctl_json_query(c, "webhooks enable",
	    "WITH w AS (UPDATE webhooks SET enabled = true, disabled_at = NULL,"
	    "  disabled_reason = NULL, first_failure_at = NULL, consecutive_failures = 0"
	    "  WHERE id = $1::uuid RETURNING *)"
	    " SELECT (SELECT " WEBHOOK_JSON " FROM w)",
	    1, p, &out);
	if (rc != EX_OK)
		return rc;
	if (strcmp(out, "null") == 0) {
		log_warnx("no webhook with id %s", id);
		free(out);
		return EX_DATAERR;
	}
	if (json)
		printf("%s\n", out);
	else {
		arr = xasprintf("[%s]", out);
		rc = ctl_print(arr, 0, webhook_cols, (int)nitems(webhook_cols));
		free(arr);
	}
	free(out);
	return rc;
}

int
cmd_webhooks(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	char	*out;
	int	 ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage("webhooks", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind], "enable") != 0)
			return ctl_usage("webhooks", "unknown subcommand '%s' (only "
			    "enable)", argv[optind]);
		if (argc - optind != 2)
			return ctl_usage("webhooks", "enable takes one webhook ID");
		if (!ctl_uuid_valid(argv[optind + 1]))
			return ctl_usage("webhooks", "webhook ID must be a uuid, got '%s'",
			    argv[optind + 1]);
		return webhook_enable(c, argv[optind + 1], json);
	}
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	rc = ctl_json_query(c, "webhooks",
	    "SELECT coalesce(json_agg(" WEBHOOK_JSON " ORDER BY w.created_at, w.id), '[]')"
	    " FROM webhooks w",
	    0, NULL, &out);
	if (rc != EX_OK)
		return rc;
	rc = ctl_print(out, json, webhook_cols, (int)nitems(webhook_cols));
	free(out);
	return rc;
}

int
cmd_deliveries(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tcol cols[] = {
		{ "TIME", "created_at", TF_TIME, 0 },
		{ "JOB", "job_id", TF_TEXT, 0 },
		{ "ATTEMPT", "attempt", TF_TEXT, 0 },
		{ "STATUS", "status", TF_TEXT, 0 },
		{ "CLASS", "class", TF_TEXT, 0 },
		{ "DURATION", "duration_ms", TF_MS, 0 },
		{ "EVENT", "event_id", TF_TEXT, 30 },
		{ "ERROR", "error", TF_TEXT, 60 },
	};
	const char	*p[2];
	char		 lim[16], *out;
	long		 limit = 20;
	int		 ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (ctl_long_arg(optarg, 1, 100000, &limit) == -1)
				return ctl_usage("deliveries", "--limit must be 1 to 100000, "
				    "got '%s'", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case ':':
			return ctl_usage("deliveries", "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return ctl_usage("deliveries", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage("deliveries", "expected one WEBHOOK_ID");
	if (!ctl_uuid_valid(argv[optind]))
		return ctl_usage("deliveries", "WEBHOOK_ID must be a uuid, got '%s'",
		    argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	snprintf(lim, sizeof(lim), "%ld", limit);
	p[0] = argv[optind];
	p[1] = lim;
	rc = ctl_json_query(c, "deliveries",
	    "SELECT CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE id = $1::uuid) THEN"
	    " (SELECT coalesce(json_agg(d ORDER BY d.created_at DESC, d.id DESC), '[]')"
	    "  FROM (SELECT id, job_id, event_id, attempt, status, error, class,"
	    "  duration_ms, response_excerpt, created_at FROM webhook_deliveries"
	    "  WHERE webhook_id = $1::uuid ORDER BY created_at DESC, id DESC"
	    "  LIMIT $2::int) d) END",
	    2, p, &out);
	if (rc != EX_OK)
		return rc;
	if (strcmp(out, "null") == 0) {
		log_warnx("no webhook with id %s", argv[optind]);
		free(out);
		return EX_DATAERR;
	}
	rc = ctl_print(out, json, cols, (int)nitems(cols));
	free(out);
	return rc;
}
