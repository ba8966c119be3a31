/* hivejobctl migrate [--status] */
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>

#include "ctl.h"
#include "migrate.h"

int
cmd_migrate(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, status = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			status = 1;
			break;
		default:
			return ctl_usage("migrate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("migrate", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 0)) != EX_OK)
		return rc;
	if (status)
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
