/*
 * hivejobctl supervisors, ps and stuck: what the supervisors' leases say.
 *
 * Every live hivejobd renews its row in hivejob_supervisor a few times per
 * lease, with a snapshot of its children (job, pid, slot, start, deadline,
 * peak memory). ps reads those snapshots, so it needs no access to the
 * hosts; it is as fresh as the last renewal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

/* The claimer of a running row: the last element of attempted_by. */
#define LAST_CLAIMER "j.attempted_by[array_upper(j.attempted_by, 1)]"

static int	json_only(const char *, int, char **, int *);

/* Commands whose only option is --json and that take no arguments. */
static int
json_only(const char *cmd, int argc, char **argv, int *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*json = 1;
			break;
		default:
			return ctl_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return EX_OK;
}

int
cmd_supervisors(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tcol cols[] = {
		{ "ID", "id", TF_TEXT, 40 },
		{ "HOST", "host", TF_TEXT, 30 },
		{ "PID", "pid", TF_TEXT, 0 },
		{ "VERSION", "version", TF_TEXT, 20 },
		{ "LEADER", "leader", TF_BOOL, 0 },
		{ "LIVE", "live", TF_BOOL, 0 },
		{ "RENEWED", "lease_age_s", TF_AGE, 0 },
		{ "LEASE_ENDS", "expires_in_s", TF_IN, 0 },
		{ "CHILDREN", "children", TF_TEXT, 0 },
		{ "RUNNING", "running_jobs", TF_TEXT, 0 },
	};
	const char	*p[1];
	char		 since[32], *out;
	int64_t		 since_ms = 3600000;
	int		 ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_duration_ms(optarg, &since_ms) == -1)
				return ctl_usage("supervisors", "--since '%s': a duration such "
				    "as 0s, 30m, 1h or 7d", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case ':':
			return ctl_usage("supervisors", "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return ctl_usage("supervisors", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("supervisors", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	snprintf(since, sizeof(since), "%.3f", since_ms / 1000.0);
	p[0] = since;
	rc = ctl_json_query(c, "supervisors",
	    "SELECT coalesce(json_agg(json_build_object('id', s.id, 'host', s.host,"
	    "  'pid', s.pid, 'version', s.version, 'leader', l.leader_id IS NOT NULL,"
	    "  'live', s.lease_expires_at > now(), 'started_at', s.started_at,"
	    "  'heartbeat_at', s.heartbeat_at, 'lease_expires_at', s.lease_expires_at,"
	    "  'lease_age_s', extract(epoch FROM now() - s.heartbeat_at)::float8,"
	    "  'expires_in_s', extract(epoch FROM s.lease_expires_at - now())::float8,"
	    "  'children', CASE WHEN jsonb_typeof(s.children) = 'array'"
	    "   THEN jsonb_array_length(s.children) ELSE 0 END,"
	    "  'running_jobs', (SELECT count(*) FROM river_job j WHERE j.state = 'running'"
	    "   AND " LAST_CLAIMER " = s.id),"
	    "  'uid_base', s.uid_base, 'uid_count', s.uid_count)"
	    "  ORDER BY s.lease_expires_at > now() DESC, s.id), '[]')"
	    " FROM hivejob_supervisor s LEFT JOIN hivejob_leader l"
	    "  ON l.leader_id = s.id AND l.expires_at > now()"
	    " WHERE s.lease_expires_at > now() - $1::float8 * interval '1 second'",
	    1, p, &out);
	if (rc != EX_OK)
		return rc;
	rc = ctl_print(out, json, cols, (int)nitems(cols));
	free(out);
	return rc;
}

int
cmd_ps(struct ctl *c, int argc, char **argv)
{
	static const struct tcol cols[] = {
		{ "SUPERVISOR", "supervisor", TF_TEXT, 30 },
		{ "JOB", "job_id", TF_TEXT, 0 },
		{ "KIND", "kind", TF_TEXT, 30 },
		{ "QUEUE", "queue", TF_TEXT, 20 },
		{ "PID", "pid", TF_TEXT, 0 },
		{ "SLOT", "slot", TF_TEXT, 0 },
		{ "AGE", "age_s", TF_AGE, 0 },
		{ "DEADLINE", "deadline_in_s", TF_IN, 0 },
		{ "PEAK_RSS", "peak_rss_kb", TF_KB, 0 },
	};
	char	*out;
	int	 json = 0, rc;

	if ((rc = json_only("ps", argc, argv, &json)) != EX_OK)
		return rc;
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	rc = ctl_json_query(c, "ps",
	    "SELECT coalesce(json_agg(x ORDER BY x.supervisor, x.slot, x.job_id), '[]')"
	    " FROM (SELECT s.id AS supervisor, s.host, k.job_id,"
	    "  coalesce(j.kind, k.kind) AS kind, j.queue, j.state, j.attempt, k.pid, k.slot,"
	    "  to_timestamp(k.started_at) AS started_at,"
	    "  extract(epoch FROM now())::float8 - k.started_at AS age_s,"
	    "  to_timestamp(k.deadline) AS deadline,"
	    "  k.deadline - extract(epoch FROM now())::float8 AS deadline_in_s,"
	    "  k.peak_rss_kb, s.heartbeat_at AS snapshot_at"
	    "  FROM hivejob_supervisor s CROSS JOIN LATERAL jsonb_to_recordset("
	    "   CASE WHEN jsonb_typeof(s.children) = 'array' THEN s.children"
	    "   ELSE '[]' END) AS k(job_id bigint, kind text, pid integer, slot integer,"
	    "   started_at float8, deadline float8, peak_rss_kb float8)"
	    "  LEFT JOIN river_job j ON j.id = k.job_id"
	    "  WHERE s.lease_expires_at > now()) x",
	    0, NULL, &out);
	if (rc != EX_OK)
		return rc;
	rc = ctl_print(out, json, cols, (int)nitems(cols));
	free(out);
	return rc;
}

/*
 * Running rows nobody is working: their hivejob supervisor's lease lapsed
 * (the leader's rescuer will retry them), and, apart, running rows whose
 * claimer is no hivejob supervisor at all (a River client in the same
 * schema: hivejob never rescues those).
 */
int
cmd_stuck(struct ctl *c, int argc, char **argv)
{
	static const struct tcol lcols[] = {
		{ "JOB", "id", TF_TEXT, 0 },
		{ "KIND", "kind", TF_TEXT, 30 },
		{ "QUEUE", "queue", TF_TEXT, 20 },
		{ "ATTEMPT", "attempt", TF_TEXT, 0 },
		{ "RUNNING_FOR", "running_s", TF_AGE, 0 },
		{ "SUPERVISOR", "supervisor", TF_TEXT, 30 },
		{ "HOST", "host", TF_TEXT, 30 },
		{ "LEASE_ENDED", "lapsed_s", TF_AGE, 0 },
	};
	static const struct tcol ocols[] = {
		{ "JOB", "id", TF_TEXT, 0 },
		{ "KIND", "kind", TF_TEXT, 30 },
		{ "QUEUE", "queue", TF_TEXT, 20 },
		{ "ATTEMPT", "attempt", TF_TEXT, 0 },
		{ "RUNNING_FOR", "running_s", TF_AGE, 0 },
		{ "CLAIMED_BY", "claimed_by", TF_TEXT, 40 },
	};
	json_object	*o, *l = NULL, *r = NULL;
	char		*out;
	int		 json = 0, rc;

	if ((rc = json_only("stuck", argc, argv, &json)) != EX_OK)
		return rc;
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	rc = ctl_json_query(c, "stuck",
	    "SELECT json_build_object("
	    " 'lease_lapsed', (SELECT coalesce(json_agg(x ORDER BY x.id), '[]') FROM ("
	    "  SELECT j.id, j.kind, j.queue, j.attempt, j.attempted_at,"
	    "  extract(epoch FROM now() - j.attempted_at)::float8 AS running_s,"
	    "  s.id AS supervisor, s.host, s.pid, s.lease_expires_at,"
	    "  extract(epoch FROM now() - s.lease_expires_at)::float8 AS lapsed_s"
	    "  FROM river_job j JOIN hivejob_supervisor s ON s.id = " LAST_CLAIMER
	    "  WHERE j.state = 'running' AND s.lease_expires_at < now()) x),"
	    " 'other_runner', (SELECT coalesce(json_agg(x ORDER BY x.id), '[]') FROM ("
	    "  SELECT j.id, j.kind, j.queue, j.attempt, j.attempted_at,"
	    "  extract(epoch FROM now() - j.attempted_at)::float8 AS running_s,"
	    "  " LAST_CLAIMER " AS claimed_by"
	    "  FROM river_job j WHERE j.state = 'running' AND NOT EXISTS ("
	    "   SELECT 1 FROM hivejob_supervisor s WHERE s.id = " LAST_CLAIMER ")) x))",
	    0, NULL, &out);
	if (rc != EX_OK)
		return rc;
	if (json) {
		printf("%s\n", out);
		free(out);
		return EX_OK;
	}
	if ((o = ctl_json_parse(out)) == NULL) {
		free(out);
		return EX_SOFTWARE;
	}
	(void)json_object_object_get_ex(o, "lease_lapsed", &l);
	(void)json_object_object_get_ex(o, "other_runner", &r);
	printf("running, but their supervisor's lease lapsed (the leader rescues these):\n");
	table_json(stdout, l, lcols, (int)nitems(lcols));
	printf("\nrunning, claimed by another runner (not a hivejob supervisor):\n");
	table_json(stdout, r, ocols, (int)nitems(ocols));
	json_object_put(o);
	free(out);
	return EX_OK;
}
