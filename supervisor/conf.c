/*
 * conf: read hivejobd.conf(5). One pass over the file fills a struct conf
 * that starts out holding the defaults and the built-in kinds; what depends
 * on the whole file (the queue list, libexec, the uid range) is settled at
 * the end, so the order of sections never matters.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "util.h"

#ifndef HIVEJOB_LIBEXECDIR
#define HIVEJOB_LIBEXECDIR	"/usr/local/libexec/hivejob"
#endif

#define NAME_LEN_MAX	127
#define SECRET_MAX	(64 * 1024)
/*
 * Slot uids stay below 2^31 - 1: some tools still read uids as signed
 * 32-bit numbers, and (uid_t)-1 means "unchanged" to setresuid().
 */
#define UID_LIMIT	2147483646ULL
#define DURATION_HINT	"(use 500ms, 30s, 5m, 2h, 5d)"
#define ZONEINFO_DIR	"/usr/share/zoneinfo"

enum section {
	SEC_NONE,
	SEC_DATABASE,
	SEC_SUPERVISOR,
	SEC_QUEUE,
	SEC_KIND,
	SEC_PERIODIC,
	SEC_METRICS
};

enum key_type {
	K_STR,		/* a string of min..max bytes, no control characters */
	K_PATH,		/* an absolute path */
	K_INT,		/* an int in min..max */
	K_COUNT,	/* a uint64_t in min..max */
	K_DURATION,	/* an int64_t of milliseconds in min..max */
	K_SIZE,		/* a uint64_t of bytes in min..max */
	K_SQLNAME,	/* [schema.]function, or NULL */
	K_FN		/* fn does it all */
};

struct parser;

struct key_def {
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	uint64_t	 min;
	uint64_t	 max;
	const char	*range;		/* "from 1 to 4096", for messages */
	int		(*fn)(struct parser *, void *, const char *);
};

struct seen {
	char	*name;
	int	 line;
};

struct parser {
	struct conf	*conf;
	const char	*path;
	char		*dir;		/* relative KEY_file paths start here */
	int		 line;
	char		*err;
	size_t		 errlen;

	enum section	 sec;
	char		*secname;	/* "kind.noop", for messages */
	int		 secline;
	int		 idx;		/* the queue, kind or periodic being read */
	struct seen	*sections;
	int		 nsections;
	struct seen	*keys;		/* the current section's */
	int		 nkeys;

	char		**listed;	/* [supervisor] queues */
	int		 nlisted;
	int		 queues_set;
	int		 uid_base_line;
	int		 max_children_line;
};

static int	p_error(struct parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	*trim(char *);
static int	key_valid(const char *);
static int	name_check(struct parser *, const char *, const char *);
static int	uint_parse(const char *, uint64_t *);
static int	value_unquote(struct parser *, char *, char **);
static int	line_parse(struct parser *, char *);
static int	section_start(struct parser *, char *);
static int	section_end(struct parser *);
static int	periodic_check(struct parser *);
static int	key_set(struct parser *, const char *, char *);
static int	key_typed(struct parser *, const struct key_def *, void *,
		    const char *);
static int	sqlname_valid(const char *);
static int	set_queues(struct parser *, void *, const char *);
static int	set_uid_base(struct parser *, void *, const char *);
static int	set_isolation(struct parser *, void *, const char *);
static int	set_textfile(struct parser *, void *, const char *);
static int	set_exec(struct parser *, void *, const char *);
static int	set_retry(struct parser *, void *, const char *);
static int	set_name(struct parser *, const char *, const char *,
		    char **);
static int	set_periodic_kind(struct parser *, void *, const char *);
static int	set_periodic_queue(struct parser *, void *, const char *);
static int	set_args(struct parser *, void *, const char *);
static int	set_schedule(struct parser *, void *, const char *);
static int	set_timezone(struct parser *, void *, const char *);
static int	set_catch_up(struct parser *, void *, const char *);
static int	json_object_canon(const char *, char **, char *, size_t);
static int	key_cmp(const void *, const void *);
static void	periodic_free(struct periodic_conf *);
static int	setting_add(struct parser *, const char *, const char *);
static int	secret_read(struct parser *, const char *, const char *,
		    char **);
static int	kind_add(struct conf *, const char *, const char *);
static void	kind_free(struct kind_conf *);
static void	builtin_schedule(struct kind_conf *, const char *);
static int	words_split(const char *, const char *, char ***);
static void	words_free(char **);
static int	conf_finish(struct parser *);
static int	queues_settle(struct parser *);
static int	exec_resolve(struct conf *);
static void	parser_free(struct parser *);

#define CONF_OFF(f)	offsetof(struct conf, f)
#define KIND_OFF(f)	offsetof(struct kind_conf, f)
#define PERIODIC_OFF(f)	offsetof(struct periodic_conf, f)

static const struct key_def database_keys[] = {
	{ "conninfo", K_STR, CONF_OFF(conninfo), 0, 65536, NULL, NULL },
	{ "schema", K_STR, CONF_OFF(schema), 0, 63, "at most 63 bytes long",
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct key_def supervisor_keys[] = {
	{ "id", K_STR, CONF_OFF(id), 1, NAME_LEN_MAX,
	    "1 to 127 bytes long", NULL },
	{ "queues", K_FN, 0, 0, 0, NULL, set_queues },
	{ "max_children", K_INT, CONF_OFF(max_children), 1, 4096,
	    "from 1 to 4096", NULL },
	{ "poll_interval", K_DURATION, CONF_OFF(poll_interval_ms), 10,
	    INT64_MAX, "at least 10ms", NULL },
	{ "user", K_STR, CONF_OFF(user), 1, 255, "1 to 255 bytes long", NULL },
	{ "job_uid_base", K_FN, 0, 0, 0, NULL, set_uid_base },
	{ "libexec", K_PATH, CONF_OFF(libexec), 0, 0, NULL, NULL },
	{ "isolation", K_FN, 0, 0, 0, NULL, set_isolation },
	{ "workdir", K_PATH, CONF_OFF(workdir), 0, 0, NULL, NULL },
	{ "kill_grace", K_DURATION, CONF_OFF(kill_grace_ms), 0, INT64_MAX,
	    NULL, NULL },
	{ "max_args", K_SIZE, CONF_OFF(max_args), 1, UINT64_MAX,
	    "at least 1", NULL },
	{ "lease", K_DURATION, CONF_OFF(lease_ms), 2000, 600000,
	    "from 2s to 10m", NULL },
	{ "drain_timeout", K_DURATION, CONF_OFF(drain_timeout_ms), 0,
	    INT64_MAX, NULL, NULL },
	{ "max_interruptions", K_INT, CONF_OFF(max_interruptions), 0, 1000,
	    "from 0 to 1000", NULL },
	{ "keep_completed", K_DURATION, CONF_OFF(keep_completed_ms), 60000,
	    INT64_MAX, "at least 1m", NULL },
	{ "keep_cancelled", K_DURATION, CONF_OFF(keep_cancelled_ms), 60000,
	    INT64_MAX, "at least 1m", NULL },
	{ "keep_discarded", K_DURATION, CONF_OFF(keep_discarded_ms), 60000,
	    INT64_MAX, "at least 1m", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct key_def queue_keys[] = {
	{ "max_children", K_INT, offsetof(struct queue_conf, max_children),
	    0, 4096, "from 0 to 4096", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct key_def kind_keys[] = {
	{ "exec", K_FN, 0, 0, 0, NULL, set_exec },
	{ "timeout", K_DURATION, KIND_OFF(timeout_ms), 1, INT64_MAX,
	    "more than 0s", NULL },
	{ "memory", K_SIZE, KIND_OFF(memory), 0, UINT64_MAX, NULL, NULL },
	{ "cpu", K_DURATION, KIND_OFF(cpu_ms), 0, INT64_MAX, NULL, NULL },
	{ "files", K_COUNT, KIND_OFF(files), 1, 1048576,
	    "from 1 to 1048576", NULL },
	{ "processes", K_COUNT, KIND_OFF(processes), 1, 4194304,
	    "from 1 to 4194304", NULL },
	{ "fsize", K_SIZE, KIND_OFF(fsize), 0, UINT64_MAX, NULL, NULL },
	{ "output", K_SIZE, KIND_OFF(output), 1024, 64 * 1024 * 1024,
	    "from 1K to 64M", NULL },
	{ "max_children", K_INT, KIND_OFF(max_children), 0, 4096,
	    "from 0 to 4096", NULL },
	{ "retry", K_FN, 0, 0, 0, NULL, set_retry },
	{ "retry_cap", K_DURATION, KIND_OFF(retry_cap_ms), 0, INT64_MAX,
	    NULL, NULL },
	{ "load", K_SQLNAME, KIND_OFF(load), 0, 0, NULL, NULL },
	{ "apply", K_SQLNAME, KIND_OFF(apply), 0, 0, NULL, NULL },
	{ "apply_order", K_STR, KIND_OFF(apply_order), 1, 127, "1 to 127 bytes long",
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct key_def metrics_keys[] = {
	{ "textfile", K_FN, 0, 0, 0, NULL, set_textfile },
	{ "interval", K_DURATION, CONF_OFF(metrics_interval_ms), 1000,
	    INT64_MAX, "at least 1s", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct key_def periodic_keys[] = {
	{ "kind", K_FN, 0, 0, 0, NULL, set_periodic_kind },
	{ "args", K_FN, 0, 0, 0, NULL, set_args },
	{ "schedule", K_FN, 0, 0, 0, NULL, set_schedule },
	{ "queue", K_FN, 0, 0, 0, NULL, set_periodic_queue },
	{ "timezone", K_FN, 0, 0, 0, NULL, set_timezone },
	{ "catch_up", K_FN, 0, 0, 0, NULL, set_catch_up },
	{ "priority", K_INT, PERIODIC_OFF(priority), 1, 4, "from 1 to 4",
	    NULL },
	{ "max_attempts", K_INT, PERIODIC_OFF(max_attempts), 1, 32767,
	    "from 1 to 32767", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct {
	const char	*name;
	const char	*exec;
	const char	*load;
	const char	*apply;
	const char	*order;
	const char	*retry;
} builtins[] = {
	{ "noop", "hivejob-noop", NULL, NULL, NULL, NULL },
	/* The record is loaded and the result applied in SQL (005_feedback). */
	{ "sentiment_analysis", "hivejob-sentiment", "hivejob_feedback_load",
	    "hivejob_sentiment_apply", "feedback_record_id", NULL },
	{ "feedback_embedding", "hivejob-embed", "hivejob_feedback_load",
	    "hivejob_embedding_apply", "feedback_record_id", NULL },
	/*
	 * Standard Webhooks' schedule in Svix's spirit: at once, then 5s, 5m,
	 * 30m, 2h, 5h, 10h, 10h...; finishes in endpoint order, so deliveries
	 * to shared endpoints never lock them in opposite orders.
	 */
	{ "webhook_dispatch", "hivejob-webhook", "hivejob_webhook_load",
	    "hivejob_webhook_apply", "webhook_id",
	    "0 5s 5m 30m 2h 5h 10h 10h" },
};

/*
 * "file:line: message". Control characters become '?': the message quotes
 * what the file said, and hivejobd -n prints it on a terminal.
 */
static int
p_error(struct parser *p, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];
	char	*c;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	for (c = p->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Setting names may become environment variable names: keep them plain. */
static int
key_valid(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/*
 * Queue, kind and periodic names; a queue name cannot hold the list's
 * comma.
 */
static int
name_check(struct parser *p, const char *what, const char *name)
{
	const unsigned char	*c;
	size_t			 len = strlen(name);
	int			 queue = strcmp(what, "queue") == 0;

	for (c = (const unsigned char *)name; *c; c++)
		if (isspace(*c) || *c < 0x20 || *c == 0x7f ||
		    (queue && *c == ','))
			break;
	if (len == 0 || len > NAME_LEN_MAX || *c != '\0')
		return p_error(p, "invalid %s name '%s' (1 to 127 bytes, no "
		    "blanks%s or control characters)", what, name,
		    queue ? ", commas" : "");
	return 0;
}

/* A plain decimal number: no sign, no blanks, no base prefix. */
static int
uint_parse(const char *s, uint64_t *out)
{
	unsigned long long	 n;
	char			*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

/*
 * A value in double quotes keeps its outer blanks (a model's document
 * prefix ends in one); only \" and \\ are escapes. Unquoted values are
 * taken as they are, quotes and all.
 */
static int
value_unquote(struct parser *p, char *s, char **out)
{
	char	*r, *w;

	*out = s;
	if (*s != '"')
		return 0;
	for (r = w = s + 1; *r != '"'; r++) {
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\' && *r != '\0')
				return p_error(p, "unknown escape '\\%c' in "
				    "quoted value (only \\\" and \\\\)", *r);
		}
		if (*r == '\0')
			return p_error(p, "unterminated quoted value");
		*w++ = *r;
	}
	if (*trim(r + 1) != '\0')
		return p_error(p, "text after the closing quote");
	*w = '\0';
	*out = s + 1;
	return 0;
}

static int
line_parse(struct parser *p, char *line)
{
	char	*s, *eq, *key, *val;
	size_t	 len;

	s = trim(line);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	len = strlen(s);
	if (*s == '[' && s[len - 1] == ']') {
		s[len - 1] = '\0';
		return section_start(p, trim(s + 1));
	}
	if (*s == '[' || (eq = strchr(s, '=')) == NULL || eq == s)
		return p_error(p, "line is not 'key = value' or [section]");
	*eq = '\0';
	key = trim(s);
	if (!key_valid(key))
		return p_error(p, "invalid key '%s' (letters, digits and _)",
		    key);
	if (p->sec == SEC_NONE)
		return p_error(p, "key '%s' before any [section]", key);
	if (value_unquote(p, trim(eq + 1), &val) == -1)
		return -1;
	return key_set(p, key, val);
}

static int
section_start(struct parser *p, char *name)
{
	struct conf	*c = p->conf;
	int		 i;

	if (section_end(p) == -1)
		return -1;
	if (strcmp(name, "database") == 0)
		p->sec = SEC_DATABASE;
	else if (strcmp(name, "supervisor") == 0)
		p->sec = SEC_SUPERVISOR;
	else if (strcmp(name, "metrics") == 0)
		p->sec = SEC_METRICS;
	else if (strncmp(name, "queue.", 6) == 0) {
		if (name_check(p, "queue", name + 6) == -1)
			return -1;
		p->sec = SEC_QUEUE;
	} else if (strncmp(name, "kind.", 5) == 0) {
		if (name_check(p, "kind", name + 5) == -1)
			return -1;
		p->sec = SEC_KIND;
	} else if (strncmp(name, "periodic.", 9) == 0) {
		if (name_check(p, "periodic", name + 9) == -1)
			return -1;
		p->sec = SEC_PERIODIC;
	} else if (strcmp(name, "queue") == 0 || strcmp(name, "kind") == 0 ||
	    strcmp(name, "periodic") == 0)
		return p_error(p, "section [%s] needs a name: [%s.NAME]",
		    name, name);
	else
		return p_error(p, "unknown section [%s]", name);

	for (i = 0; i < p->nsections; i++)
		if (strcmp(p->sections[i].name, name) == 0)
			return p_error(p, "duplicate section [%s] (first on "
			    "line %d)", name, p->sections[i].line);
	p->sections = xrealloc(p->sections,
	    (p->nsections + 1) * sizeof(*p->sections));
	p->sections[p->nsections].name = xstrdup(name);
	p->sections[p->nsections++].line = p->line;
	p->secname = p->sections[p->nsections - 1].name;
	p->secline = p->line;

	if (p->sec == SEC_QUEUE) {
		c->queues = xrealloc(c->queues,
		    (c->nqueues + 1) * sizeof(*c->queues));
		c->queues[c->nqueues].name = xstrdup(name + 6);
		c->queues[c->nqueues].max_children = 0;
		p->idx = c->nqueues++;
	} else if (p->sec == SEC_KIND) {
		for (i = 0; i < c->nkinds; i++)
			if (strcmp(c->kinds[i].name, name + 5) == 0)
				break;
		p->idx = i < c->nkinds ? i : kind_add(c, name + 5, NULL);
	} else if (p->sec == SEC_PERIODIC) {
		struct periodic_conf *pc;

		c->periodics = xrealloc(c->periodics,
		    (c->nperiodics + 1) * sizeof(*c->periodics));
		pc = &c->periodics[c->nperiodics];
		memset(pc, 0, sizeof(*pc));
		pc->name = xstrdup(name + 9);
		pc->args = xstrdup("{}");
		pc->queue = xstrdup("default");
		pc->timezone = xstrdup("UTC");
		pc->catch_up = CATCH_UP_LAST;
		pc->priority = 1;
		pc->max_attempts = 25;
		p->idx = c->nperiodics++;
	}
	return 0;
}

/*
 * A periodic needs a kind and a schedule, and a schedule that never comes
 * due (the 30th of February) is a mistake, judged in the section's zone.
 */
static int
periodic_check(struct parser *p)
{
	struct periodic_conf	*pc = &p->conf->periodics[p->idx];
	time_t			 next;
	int			 i;

	if (pc->kind == NULL || pc->schedule == NULL) {
		p->line = p->secline;
		return p_error(p, "[%s] needs kind and schedule", p->secname);
	}
	if (cron_next(&pc->cron, pc->timezone, time(NULL), &next) == -1) {
		for (i = 0; i < p->nkeys; i++)
			if (strcmp(p->keys[i].name, "schedule") == 0)
				p->line = p->keys[i].line;
		return p_error(p, "schedule '%s' never comes due (no run in "
		    "the next 5 years)", pc->schedule);
	}
	return 0;
}

/* What can only be judged once a section's last key is read. */
static int
section_end(struct parser *p)
{
	int i;

	if (p->sec == SEC_KIND && p->conf->kinds[p->idx].argc == 0) {
		p->line = p->secline;
		return p_error(p, "[%s] has no exec", p->secname);
	}
	if (p->sec == SEC_PERIODIC && periodic_check(p) == -1)
		return -1;
	for (i = 0; i < p->nkeys; i++)
		free(p->keys[i].name);
	p->nkeys = 0;
	p->sec = SEC_NONE;
	return 0;
}

static int
key_set(struct parser *p, const char *key, char *val)
{
	const struct key_def	*defs, *d;
	void			*base;
	int			 i;

	for (i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].name, key) == 0)
			return p_error(p, "duplicate key '%s' in [%s] (first "
			    "on line %d)", key, p->secname, p->keys[i].line);
	p->keys = xrealloc(p->keys, (p->nkeys + 1) * sizeof(*p->keys));
	p->keys[p->nkeys].name = xstrdup(key);
	p->keys[p->nkeys++].line = p->line;

	switch (p->sec) {
	case SEC_DATABASE:
		defs = database_keys;
		base = p->conf;
		break;
	case SEC_SUPERVISOR:
		defs = supervisor_keys;
		base = p->conf;
		break;
	case SEC_METRICS:
		defs = metrics_keys;
		base = p->conf;
		break;
	case SEC_QUEUE:
		defs = queue_keys;
		base = &p->conf->queues[p->idx];
		break;
	case SEC_KIND:
		defs = kind_keys;
		base = &p->conf->kinds[p->idx];
		break;
	case SEC_PERIODIC:
		defs = periodic_keys;
		base = &p->conf->periodics[p->idx];
		break;
	default:
		return p_error(p, "key '%s' before any [section]", key);
	}
	for (d = defs; d->name != NULL; d++)
		if (strcmp(d->name, key) == 0)
			break;
	if (d->name != NULL) {
		if (p->sec == SEC_SUPERVISOR && strcmp(key, "max_children") == 0)
			p->max_children_line = p->line;
		return key_typed(p, d, base, val);
	}
	if (p->sec == SEC_KIND)
		return setting_add(p, key, val);
	return p_error(p, "unknown key '%s' in [%s]", key, p->secname);
}

static int
key_typed(struct parser *p, const struct key_def *d, void *base,
    const char *val)
{
	char		*field = (char *)base + d->off;
	const char	*c;
	uint64_t	 u;
	int64_t		 ms;
	size_t		 len;

	switch (d->type) {
	case K_STR:
		len = strlen(val);
		for (c = val; *c; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') ||
			    *c == 0x7f)
				return p_error(p, "%s contains a control "
				    "character", d->name);
		if (len < d->min || len > d->max)
			return p_error(p, "%s must be %s", d->name,
			    d->range ? d->range : "shorter");
		free(*(char **)field);
		*(char **)field = xstrdup(val);
		return 0;
	case K_PATH:
		if (*val != '/')
			return p_error(p, "%s must be an absolute path",
			    d->name);
		free(*(char **)field);
		*(char **)field = xstrdup(val);
		return 0;
	case K_INT:
	case K_COUNT:
		if (uint_parse(val, &u) == -1)
			return p_error(p, "invalid number '%s' for %s", val,
			    d->name);
		if (u < d->min || u > d->max)
			return p_error(p, "%s must be %s", d->name, d->range);
		if (d->type == K_INT)
			*(int *)field = (int)u;
		else
			*(uint64_t *)field = u;
		return 0;
	case K_DURATION:
		if (parse_duration_ms(val, &ms) == -1)
			return p_error(p, "invalid duration '%s' for %s "
			    DURATION_HINT, val, d->name);
		if ((uint64_t)ms < d->min || (uint64_t)ms > d->max)
			return p_error(p, "%s must be %s", d->name, d->range);
		*(int64_t *)field = ms;
		return 0;
	case K_SIZE:
		if (parse_size(val, &u) == -1)
			return p_error(p, "invalid size '%s' for %s (use "
			    "4096, 64K, 256M, 1G)", val, d->name);
		if (u < d->min || u > d->max)
			return p_error(p, "%s must be %s", d->name, d->range);
		*(uint64_t *)field = u;
		return 0;
	case K_SQLNAME:
		if (!sqlname_valid(val))
			return p_error(p, "invalid function name '%s' for %s "
			    "(letters, digits and _, as name or schema.name)",
			    val, d->name);
		free(*(char **)field);
		*(char **)field = xstrdup(val);
		return 0;
	case K_FN:
		return d->fn(p, base, val);
	}
	return p_error(p, "unknown key '%s' in [%s]", d->name, p->secname);
}

/*
 * The supervisor splices load and apply into SQL as they are, so they are
 * held to a spelling that needs no quoting.
 */
static int
sqlname_valid(const char *s)
{
	int	dots = 0, run = 0;

	for (; *s; s++) {
		if (*s == '.') {
			if (run == 0 || ++dots > 1)
				return 0;
			run = 0;
		} else if (isalnum((unsigned char)*s) || *s == '_')
			run++;
		else
			return 0;
	}
	return run > 0;
}

static int
set_queues(struct parser *p, void *base, const char *val)
{
	char	**w;
	int	  i, j, n;

	(void)base;
	n = words_split(val, ", \t", &w);
	if (n == 0) {
		free(w);
		return p_error(p, "queues names no queue");
	}
	for (i = 0; i < n; i++) {
		if (name_check(p, "queue", w[i]) == -1)
			goto bad;
		for (j = 0; j < i; j++)
			if (strcmp(w[i], w[j]) == 0) {
				p_error(p, "queue '%s' is listed twice", w[i]);
				goto bad;
			}
	}
	p->listed = w;
	p->nlisted = n;
	p->queues_set = 1;
	return 0;
bad:
	words_free(w);
	return -1;
}

static int
set_uid_base(struct parser *p, void *base, const char *val)
{
	uint64_t u;

	(void)base;
	if (uint_parse(val, &u) == -1)
		return p_error(p, "invalid number '%s' for job_uid_base", val);
	if (u < 1000 || u >= UID_LIMIT)
		return p_error(p, "job_uid_base must be from 1000 to %llu",
		    UID_LIMIT - 1);
	p->conf->job_uid_base = (uid_t)u;
	p->uid_base_line = p->line;
	return 0;
}

static int
set_isolation(struct parser *p, void *base, const char *val)
{
	(void)base;
	if (strcmp(val, "uid") == 0)
		p->conf->isolation = ISOLATION_UID;
	else if (strcmp(val, "same-uid") == 0)
		p->conf->isolation = ISOLATION_SAME_UID;
	else
		return p_error(p, "invalid isolation '%s' (use uid or "
		    "same-uid)", val);
	return 0;
}

/* The metrics file: an absolute path, or empty for none. */
static int
set_textfile(struct parser *p, void *base, const char *val)
{
	const char *c;

	(void)base;
	if (*val != '\0' && *val != '/')
		return p_error(p, "textfile must be an absolute path or empty");
	for (c = val; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return p_error(p, "textfile contains a control character");
	if (*val != '\0' && val[strlen(val) - 1] == '/')
		return p_error(p, "textfile must name a file, not a directory");
	free(p->conf->metrics_textfile);
	p->conf->metrics_textfile = xstrdup(val);
	return 0;
}

/* No shell and no quoting: a worker's command line is a few plain words. */
static int
set_exec(struct parser *p, void *base, const char *val)
{
	struct kind_conf *k = base;

	(void)p;
	words_free(k->argv);
	k->argc = words_split(val, " \t", &k->argv);
	if (k->argc == 0) {
		free(k->argv);
		k->argv = NULL;
	}
	return 0;
}

static int
set_retry(struct parser *p, void *base, const char *val)
{
	struct kind_conf	 *k = base;
	char			**w;
	int64_t			 *steps;
	int			  i, n;

	if (strcmp(val, "exponential") == 0) {
		k->retry = RETRY_EXPONENTIAL;
		free(k->schedule_ms);
		k->schedule_ms = NULL;
		k->nschedule = 0;
		return 0;
	}
	n = words_split(val, " \t", &w);
	if (n == 0 || strcmp(w[0], "schedule") != 0) {
		words_free(w);
		return p_error(p, "invalid retry '%s' (use exponential, or "
		    "schedule and durations)", val);
	}
	if (n == 1) {
		words_free(w);
		return p_error(p, "retry schedule needs at least one duration");
	}
	steps = xcalloc(n - 1, sizeof(*steps));
	for (i = 1; i < n; i++) {
		if (strcmp(w[i], "0") == 0)
			steps[i - 1] = 0;
		else if (parse_duration_ms(w[i], &steps[i - 1]) == -1) {
			p_error(p, "invalid duration '%s' in retry schedule "
			    DURATION_HINT, w[i]);
			free(steps);
			words_free(w);
			return -1;
		}
	}
	words_free(w);
	free(k->schedule_ms);
	k->retry = RETRY_SCHEDULE;
	k->schedule_ms = steps;
	k->nschedule = n - 1;
	return 0;
}

/* A kind or queue name as a value: the same rules as in a section name. */
static int
set_name(struct parser *p, const char *what, const char *val, char **field)
{
	if (name_check(p, what, val) == -1)
		return -1;
	free(*field);
	*field = xstrdup(val);
	return 0;
}

static int
set_periodic_kind(struct parser *p, void *base, const char *val)
{
	return set_name(p, "kind", val, &((struct periodic_conf *)base)->kind);
}

/*
 * The queue need not be one this supervisor works: a periodic job may be
 * for workers elsewhere.
 */
static int
set_periodic_queue(struct parser *p, void *base, const char *val)
{
	return set_name(p, "queue", val,
	    &((struct periodic_conf *)base)->queue);
}

static int
set_args(struct parser *p, void *base, const char *val)
{
	struct periodic_conf	*pc = base;
	char			*canon, msg[256];

	if (json_object_canon(val, &canon, msg, sizeof(msg)) == -1)
		return p_error(p, "%s", msg);
	free(pc->args);
	pc->args = canon;
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A JSON object in River's unique-key form: top-level keys sorted by
 * byte, nothing between the tokens, values as json-c writes them
 * compactly. The same args then give the same unique key however the
 * file spells them.
 */
static int
json_object_canon(const char *text, char **out, char *msg, size_t msglen)
{
	const int		 flags = JSON_C_TO_STRING_PLAIN |
				    JSON_C_TO_STRING_NOSLASHESCAPE;
	struct json_tokener	*tok;
	struct json_object	*obj, *ks;
	enum json_tokener_error	 jerr;
	struct buf		 b;
	const char		**keys;
	size_t			 len = strlen(text), n = 0, i;

	if (len > INT32_MAX - 1) {
		snprintf(msg, msglen, "args is not valid JSON: too long");
		return -1;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* The NUL included: the input ends here. */
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(msg, msglen, "args is not valid JSON: %s",
		    json_tokener_error_desc(jerr));
		return -1;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		snprintf(msg, msglen, "args must be a JSON object");
		return -1;
	}
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
	*out = xstrdup(buf_str(&b));
	buf_free(&b);
	free(keys);
	json_object_put(obj);
	return 0;
}

static int
set_schedule(struct parser *p, void *base, const char *val)
{
	struct periodic_conf	*pc = base;
	struct cron		 cron;
	char			 msg[256];

	if (cron_parse(val, &cron, msg, sizeof(msg)) == -1)
		return p_error(p, "invalid schedule '%s': %s", val, msg);
	free(pc->schedule);
	pc->schedule = xstrdup(val);
	pc->cron = cron;
	return 0;
}

/*
 * An IANA zone name that this host's tz database holds: cron_next hands
 * it to TZ, where a name that is not found would silently mean UTC.
 */
static int
set_timezone(struct parser *p, void *base, const char *val)
{
	struct periodic_conf	*pc = base;
	struct stat		 st;
	const unsigned char	*c;
	char			*path, magic[4];
	int			 fd, ok = 0;

	if (strcmp(val, "UTC") != 0) {
		for (c = (const unsigned char *)val; *c; c++)
			if (*c <= 0x20 || *c == 0x7f)
				break;
		if (*val == '\0' || *val == '/' || *c != '\0' ||
		    strstr(val, "..") != NULL || strlen(val) > NAME_LEN_MAX)
			return p_error(p, "invalid timezone '%s' (use an IANA "
			    "name such as Europe/Berlin, or UTC)", val);
		path = xasprintf("%s/%s", ZONEINFO_DIR, val);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK)) != -1) {
			ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    read(fd, magic, sizeof(magic)) == sizeof(magic) &&
			    memcmp(magic, "TZif", sizeof(magic)) == 0;
			close(fd);
		}
		free(path);
		if (!ok)
			return p_error(p, "unknown timezone '%s' (not in "
			    ZONEINFO_DIR ")", val);
	}
	free(pc->timezone);
	pc->timezone = xstrdup(val);
	return 0;
}

static int
set_catch_up(struct parser *p, void *base, const char *val)
{
	struct periodic_conf *pc = base;

	if (strcmp(val, "none") == 0)
		pc->catch_up = CATCH_UP_NONE;
	else if (strcmp(val, "last") == 0)
		pc->catch_up = CATCH_UP_LAST;
	else
		return p_error(p, "invalid catch_up '%s' (use none or last)",
		    val);
	return 0;
}

static void
periodic_free(struct periodic_conf *pc)
{
	free(pc->name);
	free(pc->kind);
	free(pc->args);
	free(pc->queue);
	free(pc->schedule);
	free(pc->timezone);
}

/* Any other key in a kind section is the worker's; KEY_file is a secret. */
static int
setting_add(struct parser *p, const char *key, const char *val)
{
	struct kind_conf	*k = &p->conf->kinds[p->idx];
	struct setting		*s;
	char			*name, *value = NULL;
	size_t			 len = strlen(key);
	int			 secret = 0, i;

	if (len > 5 && strcmp(key + len - 5, "_file") == 0) {
		name = xstrdup(key);
		name[len - 5] = '\0';
		secret = 1;
	} else
		name = xstrdup(key);
	for (i = 0; i < k->nsettings; i++)
		if (strcmp(k->settings[i].key, name) == 0) {
			p_error(p, "duplicate setting '%s' in [%s]", name,
			    p->secname);
			free(name);
			return -1;
		}
	if (secret) {
		if (secret_read(p, key, val, &value) == -1) {
			free(name);
			return -1;
		}
	} else
		value = xstrdup(val);
	k->settings = xrealloc(k->settings,
	    (k->nsettings + 1) * sizeof(*k->settings));
	s = &k->settings[k->nsettings++];
	s->key = name;
	s->value = value;
	s->secret = secret;
	return 0;
}

/*
 * Read a secret file, relative paths from the configuration's directory.
 * Messages name the file, never what is in it.
 */
static int
secret_read(struct parser *p, const char *key, const char *file, char **out)
{
	struct stat	 st;
	char		*path, *buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, rv = -1;

	if (*file == '\0')
		return p_error(p, "%s names no file", key);
	path = *file == '/' ? xstrdup(file) : xasprintf("%s/%s", p->dir, file);
	buf = xmalloc(SECRET_MAX + 2);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK))
	    == -1) {
		p_error(p, "%s: cannot read '%s': %s", key, path,
		    strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) == -1) {
		p_error(p, "%s: cannot read '%s': %s", key, path,
		    strerror(errno));
		goto done;
	}
	/* A FIFO or a device could block the load or never end. */
	if (!S_ISREG(st.st_mode)) {
		p_error(p, "%s: cannot read '%s': %s", key, path,
		    S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		    "not a regular file");
		goto done;
	}
	while (len <= SECRET_MAX) {
		n = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			p_error(p, "%s: cannot read '%s': %s", key, path,
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRET_MAX) {
		p_error(p, "%s: '%s' is larger than 64K", key, path);
		goto done;
	}
	if (memchr(buf, '\0', len) != NULL) {
		p_error(p, "%s: '%s' contains a NUL byte", key, path);
		goto done;
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	*out = xstrdup(buf);
	rv = 0;
done:
	if (fd != -1)
		close(fd);
	explicit_bzero(buf, SECRET_MAX + 2);
	free(buf);
	free(path);
	return rv;
}

/* Append a kind with the defaults; returns its index. */
static int
kind_add(struct conf *c, const char *name, const char *exec)
{
	struct kind_conf *k;

	c->kinds = xrealloc(c->kinds, (c->nkinds + 1) * sizeof(*c->kinds));
	k = &c->kinds[c->nkinds];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(name);
	if (exec != NULL) {
		k->argc = words_split(exec, " \t", &k->argv);
		k->builtin = 1;
	}
	k->timeout_ms = 60 * 1000;
	k->files = 256;
	k->processes = 64;
	k->fsize = 1024ULL * 1024 * 1024;
	k->output = 64 * 1024;
	k->retry = RETRY_EXPONENTIAL;
	k->retry_cap_ms = 60 * 60 * 1000;
	return c->nkinds++;
}

/* A built-in kind's retry schedule, written like the file's (known good). */
static void
builtin_schedule(struct kind_conf *k, const char *text)
{
	char	**w;
	int	  i, n = words_split(text, " \t", &w);

	k->schedule_ms = xcalloc((size_t)n, sizeof(int64_t));
	for (i = 0; i < n; i++)
		if (strcmp(w[i], "0") != 0)
			(void)parse_duration_ms(w[i], &k->schedule_ms[i]);
	k->nschedule = n;
	k->retry = RETRY_SCHEDULE;
	words_free(w);
}

static void
kind_free(struct kind_conf *k)
{
	int i;

	free(k->name);
	words_free(k->argv);
	free(k->schedule_ms);
	free(k->load);
	free(k->apply);
	free(k->apply_order);
	for (i = 0; i < k->nsettings; i++) {
		free(k->settings[i].key);
		if (k->settings[i].secret)
			explicit_bzero(k->settings[i].value,
			    strlen(k->settings[i].value));
		free(k->settings[i].value);
	}
	free(k->settings);
}

/* Split s on any of sep; *out is NULL-terminated. Returns the count. */
static int
words_split(const char *s, const char *sep, char ***out)
{
	char	**w = NULL;
	size_t	  len;
	int	  n = 0;

	for (;;) {
		s += strspn(s, sep);
		if (*s == '\0')
			break;
		len = strcspn(s, sep);
		w = xrealloc(w, (n + 2) * sizeof(*w));
		w[n] = xmalloc(len + 1);
		memcpy(w[n], s, len);
		w[n++][len] = '\0';
		s += len;
	}
	if (w == NULL)
		w = xcalloc(1, sizeof(*w));
	w[n] = NULL;
	*out = w;
	return n;
}

static void
words_free(char **w)
{
	char **v;

	if (w == NULL)
		return;
	for (v = w; *v != NULL; v++)
		free(*v);
	free(w);
}

static int
conf_finish(struct parser *p)
{
	struct conf	*c = p->conf;
	char		 host[256];

	if (section_end(p) == -1 || queues_settle(p) == -1)
		return -1;
	if (c->id == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || *host == '\0')
			snprintf(host, sizeof(host), "hivejobd");
		host[sizeof(host) - 1] = '\0';
		host[NAME_LEN_MAX] = '\0';
		c->id = xstrdup(host);
	}
	if ((uint64_t)c->job_uid_base + (uint64_t)c->max_children >
	    UID_LIMIT) {
		p->line = p->uid_base_line > p->max_children_line ?
		    p->uid_base_line : p->max_children_line;
		return p_error(p, "job_uid_base %llu plus max_children %d is "
		    "more than %llu", (unsigned long long)c->job_uid_base,
		    c->max_children, UID_LIMIT);
	}
	return exec_resolve(c);
}

/*
 * The listed queues in their order, then those that only have a section:
 * a [queue.NAME] section would be pointless for a queue nobody works.
 */
static int
queues_settle(struct parser *p)
{
	struct conf		*c = p->conf;
	struct queue_conf	*q;
	int			 i, j, n = 0;

	if (!p->queues_set) {
		p->listed = xcalloc(2, sizeof(*p->listed));
		p->listed[0] = xstrdup("default");
		p->nlisted = 1;
	}
	q = xcalloc(p->nlisted + c->nqueues, sizeof(*q));
	for (i = 0; i < p->nlisted; i++) {
		q[n].name = xstrdup(p->listed[i]);
		for (j = 0; j < c->nqueues; j++)
			if (strcmp(c->queues[j].name, p->listed[i]) == 0)
				q[n].max_children = c->queues[j].max_children;
		n++;
	}
	for (j = 0; j < c->nqueues; j++) {
		for (i = 0; i < p->nlisted; i++)
			if (strcmp(c->queues[j].name, p->listed[i]) == 0)
				break;
		if (i == p->nlisted)
			q[n++] = c->queues[j];
		else
			free(c->queues[j].name);
	}
	free(c->queues);
	c->queues = q;
	c->nqueues = n;
	return 0;
}

/* Relative worker programs live in libexec: $HIVEJOB_LIBEXEC wins. */
static int
exec_resolve(struct conf *c)
{
	const char	*env = getenv("HIVEJOB_LIBEXEC");
	const char	*sep;
	char		*path;
	size_t		 len;
	int		 i;

	if (env != NULL && *env != '\0') {
		free(c->libexec);
		c->libexec = xstrdup(env);
	} else if (c->libexec == NULL)
		c->libexec = xstrdup(HIVEJOB_LIBEXECDIR);
	len = strlen(c->libexec);
	sep = len > 0 && c->libexec[len - 1] == '/' ? "" : "/";
	for (i = 0; i < c->nkinds; i++) {
		if (strchr(c->kinds[i].argv[0], '/') != NULL)
			continue;
		path = xasprintf("%s%s%s", c->libexec, sep,
		    c->kinds[i].argv[0]);
		free(c->kinds[i].argv[0]);
		c->kinds[i].argv[0] = path;
	}
	return 0;
}

static void
parser_free(struct parser *p)
{
	int i;

	for (i = 0; i < p->nsections; i++)
		free(p->sections[i].name);
	free(p->sections);
	for (i = 0; i < p->nkeys; i++)
		free(p->keys[i].name);
	free(p->keys);
	words_free(p->listed);
	free(p->dir);
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct parser	 p;
	struct conf	*c;
	FILE		*f;
	char		*line = NULL, *slash;
	size_t		 cap = 0;
	ssize_t		 n;
	size_t		 i;
	int		 rv = -1;

	if (path == NULL)
		path = CONF_DEFAULT_PATH;
	if (err != NULL && errlen > 0)
		*err = '\0';
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	if ((f = fopen(path, "re")) == NULL) {
		p_error(&p, "cannot open: %s", strerror(errno));
		return NULL;
	}

	c = p.conf = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->conninfo = xstrdup("");
	c->schema = xstrdup("");
	c->max_children = 4;
	c->poll_interval_ms = 1000;
	c->job_uid_base = 2100000;
	c->isolation = ISOLATION_UID;
	c->workdir = xstrdup("/run/hivejob");
	c->metrics_textfile = xstrdup("");
	c->metrics_interval_ms = 15 * 1000;
	c->kill_grace_ms = 5000;
	c->max_args = 1024 * 1024;
	c->lease_ms = 10 * 1000;
	c->drain_timeout_ms = 30 * 1000;
	c->max_interruptions = 3;
	c->keep_completed_ms = 24 * 60 * 60 * 1000LL;
	c->keep_cancelled_ms = 24 * 60 * 60 * 1000LL;
	c->keep_discarded_ms = 7 * 24 * 60 * 60 * 1000LL;
	for (i = 0; i < nitems(builtins); i++) {
		int		 idx = kind_add(c, builtins[i].name, builtins[i].exec);
		struct kind_conf *k = &c->kinds[idx];
		k->load = builtins[i].load ? xstrdup(builtins[i].load) : NULL;
		k->apply = builtins[i].apply ? xstrdup(builtins[i].apply) : NULL;
		k->apply_order = builtins[i].order ? xstrdup(builtins[i].order) : NULL;
		if (builtins[i].retry)
			builtin_schedule(k, builtins[i].retry);
	}

	if ((slash = strrchr(path, '/')) == NULL)
		p.dir = xstrdup(".");
	else if (slash == path)
		p.dir = xstrdup("/");
	else
		p.dir = xasprintf("%.*s", (int)(slash - path), path);

	while ((n = getline(&line, &cap, f)) != -1) {
		p.line++;
		if (memchr(line, '\0', (size_t)n) != NULL) {
			p_error(&p, "line holds a NUL byte");
			goto done;
		}
		line[strcspn(line, "\n")] = '\0';
		if (line_parse(&p, line) == -1)
			goto done;
	}
	if (ferror(f)) {
		p.line = 0;
		p_error(&p, "cannot read: %s", strerror(errno));
		goto done;
	}
	rv = conf_finish(&p);
done:
	/* The file may hold a password in conninfo. */
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	parser_free(&p);
	if (rv == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	int i;

	if (c == NULL)
		return;
	free(c->path);
	if (c->conninfo != NULL)
		explicit_bzero(c->conninfo, strlen(c->conninfo));
	free(c->conninfo);
	free(c->schema);
	free(c->id);
	free(c->user);
	free(c->libexec);
	free(c->workdir);
	free(c->metrics_textfile);
	for (i = 0; i < c->nqueues; i++)
		free(c->queues[i].name);
	free(c->queues);
	for (i = 0; i < c->nkinds; i++)
		kind_free(&c->kinds[i]);
	free(c->kinds);
	for (i = 0; i < c->nperiodics; i++)
		periodic_free(&c->periodics[i]);
	free(c->periodics);
	free(c);
}

struct kind_conf *
conf_kind(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nkinds; i++)
		if (strcmp(c->kinds[i].name, name) == 0)
			return &c->kinds[i];
	return NULL;
}

struct queue_conf *
conf_queue(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nqueues; i++)
		if (strcmp(c->queues[i].name, name) == 0)
			return &c->queues[i];
	return NULL;
}
