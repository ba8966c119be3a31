/*
 * worker: reading a job and answering on fd 3. A worker that cannot read
 * its own job document exits non-zero: that is the supervisor's problem
 * to record, and a retry is the right answer to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"
#include "worker.h"

#define JOBDOC_MAX	(64 * 1024 * 1024)

void
worker_read(struct wjob *w)
{
	struct buf	 b;
	char		 chunk[65536];
	ssize_t		 n;
	json_object	*v;

	memset(w, 0, sizeof(*w));
	buf_init(&b);
	while ((n = read(0, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "cannot read the job document: %s\n", strerror(errno));
			exit(74);
		}
		if (b.len + (size_t)n > JOBDOC_MAX) {
			fprintf(stderr, "the job document is larger than %d bytes\n", JOBDOC_MAX);
			exit(65);
		}
		buf_add(&b, chunk, (size_t)n);
	}
	w->doc = json_tokener_parse(buf_str(&b));
	buf_free(&b);
	if (w->doc == NULL || !json_object_is_type(w->doc, json_type_object)) {
		fprintf(stderr, "the job document is not a JSON object\n");
		exit(65);
	}
	if (!json_object_object_get_ex(w->doc, "args", &w->args) ||
	    !json_object_is_type(w->args, json_type_object)) {
		w->args = json_object_new_object();
		json_object_object_add(w->doc, "args_missing", w->args);
	}
	if (!json_object_object_get_ex(w->doc, "settings", &w->settings) ||
	    !json_object_is_type(w->settings, json_type_object)) {
		w->settings = json_object_new_object();
		json_object_object_add(w->doc, "settings_missing", w->settings);
	}
	if (json_object_object_get_ex(w->doc, "input", &v) &&
	    json_object_is_type(v, json_type_object))
		w->input = v;
	if (json_object_object_get_ex(w->doc, "id", &v))
		w->id = json_object_get_int64(v);
	if (json_object_object_get_ex(w->doc, "attempt", &v))
		w->attempt = json_object_get_int(v);
	if (json_object_object_get_ex(w->doc, "max_attempts", &v))
		w->max_attempts = json_object_get_int(v);
	if (json_object_object_get_ex(w->doc, "deadline", &v))
		w->deadline = (time_t)json_object_get_int64(v);
}

const char *
worker_setting(const struct wjob *w, const char *key, const char *def)
{
	json_object *v;

	if (json_object_object_get_ex(w->settings, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

/* A setting the operator got wrong is a configuration error: exit 78. */
int64_t
worker_setting_ms(const struct wjob *w, const char *key, int64_t def)
{
	const char	*s = worker_setting(w, key, NULL);
	int64_t		 ms;

	if (s == NULL)
		return def;
	if (parse_duration_ms(s, &ms) == -1) {
		fprintf(stderr, "setting %s: invalid duration '%s'\n", key, s);
		exit(78);
	}
	return ms;
}

uint64_t
worker_setting_size(const struct wjob *w, const char *key, uint64_t def)
{
	const char	*s = worker_setting(w, key, NULL);
	uint64_t	 n;

	if (s == NULL)
		return def;
	if (parse_size(s, &n) == -1) {
		fprintf(stderr, "setting %s: invalid size '%s'\n", key, s);
		exit(78);
	}
	return n;
}

int
worker_setting_bool(const struct wjob *w, const char *key, int def)
{
	const char *s = worker_setting(w, key, NULL);

	if (s == NULL)
		return def;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	    strcmp(s, "0") == 0)
		return 0;
	fprintf(stderr, "setting %s: '%s' is not true or false\n", key, s);
	exit(78);
}

const char *
worker_input_str(const struct wjob *w, const char *key)
{
	json_object *v;

	if (w->input && json_object_object_get_ex(w->input, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* Write the result document on fd 3 and end the worker. */
void
worker_result(const char *outcome, const char *error, const char *class,
    double retry_after, json_object *output)
{
	json_object	*r = json_object_new_object();
	const char	*s;
	size_t		 len, off = 0;
	ssize_t		 n;

	json_object_object_add(r, "outcome", json_object_new_string(outcome));
	if (error && *error)
		json_object_object_add(r, "error", json_object_new_string(error));
	if (class && *class)
		json_object_object_add(r, "class", json_object_new_string(class));
	if (retry_after >= 0)
		json_object_object_add(r, "retry_after_seconds",
		    json_object_new_double(retry_after));
	if (output)
		json_object_object_add(r, "output", output);
	s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	while (off < len) {
		n = write(3, s + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	/* Also for people reading the output tail. */
	if (error && *error)
		fprintf(stderr, "%s\n", error);
	exit(0);
}
