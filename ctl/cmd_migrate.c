/* hivejobctl migrate [--status [--json]] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <json-c/json.h>

#include "ctl.h"
#include "migrate.h"
#include "util.h"

static int	status_json(struct ctl *);

/*
 * {"schema": S, "schema_exists": B, "lines": [{"line", "applied",
 * "latest", "current", "state"}, ...]}
 */
static int
status_json(struct ctl *c)
{
	static const char *const lines[] = { "main", "hivejob" };
	struct migrate_state	 st;
	json_object		*doc, *arr, *l;
	const char		*state;
	int			 applied, latest, rc;
	size_t			 i;

	if ((rc = migrate_read_state(c->conn, c->schema, &st)) != MIGRATE_OK)
		return rc;
	doc = json_object_new_object();
	json_object_object_add(doc, "schema", json_object_new_string(c->schema));
	json_object_object_add(doc, "schema_exists",
	    json_object_new_boolean(st.schema_exists));
	arr = json_object_new_array();
	for (i = 0; i < nitems(lines); i++) {
		state = migrate_line_state(&st, lines[i], &applied, &latest);
		l = json_object_new_object();
		json_object_object_add(l, "line", json_object_new_string(lines[i]));
		json_object_object_add(l, "applied", json_object_new_int(applied));
		json_object_object_add(l, "latest", json_object_new_int(latest));
		json_object_object_add(l, "current",
		    json_object_new_boolean(strcmp(state, "up to date") == 0));
		json_object_object_add(l, "state", json_object_new_string(state));
		json_object_array_add(arr, l);
	}
	json_object_object_add(doc, "lines", arr);
	printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return MIGRATE_OK;
}

int
cmd_migrate(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, status = 0, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			status = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage("migrate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("migrate", "unexpected argument '%s'", argv[optind]);
	if (json && !status)
		return ctl_usage("migrate", "--json goes with --status");
	if ((rc = ctl_connect(c, 0)) != EX_OK)
		return rc;
	if (status && json)
		rc = status_json(c);
	else if (status)
		rc = migrate_print_status(c->conn, c->schema, stdout);
	else
		rc = migrate_apply(c->conn, c->schema, stdout);
	switch (rc) {
	case MIGRATE_OK:
		return EX_OK;
	case MIGRATE_REFUSED:
		return EX_DATAERR;
	default:
		return EX_UNAVAILABLE;
	}
}
