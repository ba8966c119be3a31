/*
 * jobdoc: the JSON a worker reads on stdin (hivejob-worker(7)). args,
 * metadata and input arrive from Postgres as JSON text and are spliced in
 * as they are; only our own strings need escaping.
 */
#include <stdio.h>
#include <string.h>

#include "hivejobd.h"

/* Append s as a JSON string. */
void
json_str(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

/*
 * The kind's settings as a JSON object: with secrets for the worker,
 * without them for the load and apply functions, which see the rest
 * (a model name, say) but never a key.
 */
char *
jobdoc_settings(const struct kind_conf *k, int with_secrets)
{
	struct buf	b;
	int		i, n = 0;

	buf_init(&b);
	buf_addc(&b, '{');
	for (i = 0; k && i < k->nsettings; i++) {
		if (k->settings[i].secret && !with_secrets)
			continue;
		if (n++)
			buf_addc(&b, ',');
		json_str(&b, k->settings[i].key);
		buf_addc(&b, ':');
		json_str(&b, k->settings[i].value);
	}
	buf_addc(&b, '}');
	return b.data;
}

/* The job document; settings is a JSON object's text, or NULL. */
char *
jobdoc_build(const struct job *j, const char *settings, int64_t deadline_s)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "{\"id\":%lld,\"kind\":", (long long)j->id);
	json_str(&b, j->kind);
	buf_adds(&b, ",\"args\":");
	buf_adds(&b, j->args ? j->args : "null");
	buf_printf(&b, ",\"attempt\":%d,\"max_attempts\":%d,\"queue\":",
	    j->attempt, j->max_attempts);
	json_str(&b, j->queue);
	buf_printf(&b, ",\"priority\":%d,\"metadata\":%s,\"scheduled_at\":%s",
	    j->priority, j->metadata ? j->metadata : "{}",
	    j->scheduled_at ? j->scheduled_at : "null");
	if (deadline_s)
		buf_printf(&b, ",\"deadline\":%lld", (long long)deadline_s);
	if (settings)
		buf_printf(&b, ",\"settings\":%s", settings);
	buf_adds(&b, ",\"input\":");
	buf_adds(&b, j->input ? j->input : "null");
	buf_adds(&b, "}\n");
	return b.data;
}

/* The kind's retry policy for hivejob_retry_delay(); no kind: the default. */
char *
retry_json(const struct kind_conf *k)
{
	struct buf	b;
	int		i;

	buf_init(&b);
	if (k == NULL || k->retry == RETRY_EXPONENTIAL) {
		buf_printf(&b, "{\"policy\":\"exponential\",\"cap\":%.3f}",
		    (k ? k->retry_cap_ms : 3600000) / 1000.0);
		return b.data;
	}
	buf_adds(&b, "{\"policy\":\"schedule\",\"steps\":[");
	for (i = 0; i < k->nschedule; i++)
		buf_printf(&b, "%s%.3f", i ? "," : "", k->schedule_ms[i] / 1000.0);
	buf_adds(&b, "]}");
	return b.data;
}
