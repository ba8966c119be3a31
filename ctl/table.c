/*
 * table: print rows in aligned columns. Every cell is cleaned first: a job's
 * error text comes from a worker, and a worker may be hostile, so control
 * characters and escape sequences never reach the operator's terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

struct table {
	int	 ncols;
	int	 nrows;
	char	**cells;	/* (nrows + 1) * ncols, header first */
};

static int	utf8_width(const char *);
static void	fmt_cell(json_object *, enum tcol_fmt, char *, size_t);
static void	cell_cut(char *, int);

/*
 * Copy s into out (NUL-terminated), replacing newlines and tabs by spaces
 * and other control characters (C0, DEL, C1 and ESC sequences) by '?'.
 */
void
text_clean(const char *s, char *out, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0;

	if (len == 0)
		return;
	for (; *p && o + 1 < len; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r')
			out[o++] = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			out[o++] = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
			out[o++] = '?';	/* C1 control, e.g. CSI */
			p++;
		} else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

/* Display width, counting each UTF-8 sequence as one column. */
static int
utf8_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

struct table *
table_new(int ncols, const char *const *header)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	table_add(t, header);
	t->nrows = 0;
	return t;
}

void
table_add(struct table *t, const char *const *row)
{
	int	 i, base = (t->nrows + 1) * t->ncols;
	char	*c;
	size_t	 n;

	if (t->cells == NULL)
		base = 0;
	t->cells = xrealloc(t->cells, (size_t)(base + t->ncols) * sizeof(char *));
	for (i = 0; i < t->ncols; i++) {
		n = strlen(row[i] ? row[i] : "") + 1;
		c = xmalloc(n);
		text_clean(row[i] ? row[i] : "", c, n);
		t->cells[base + i] = c;
	}
	if (base)
		t->nrows++;
}

void
table_print(struct table *t, FILE *out)
{
	int	*w, r, i;

	w = xcalloc((size_t)t->ncols, sizeof(int));
	for (r = 0; r <= t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			int cw = utf8_width(t->cells[r * t->ncols + i]);
			if (cw > w[i])
				w[i] = cw;
		}
	for (r = 0; r <= t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];
			if (i == t->ncols - 1)
				fputs(c, out);
			else
				fprintf(out, "%s%*s  ", c, w[i] - utf8_width(c), "");
		}
		fputc('\n', out);
	}
	free(w);
}

void
table_free(struct table *t)
{
	int i;

	for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/*
 * A duration for people: "12.5ms", "850ms", "4.2s", "42s", "3m12s",
 * "2h05m", "3d04h".
 */
void
fmt_seconds(double s, char *out, size_t len)
{
	const char	*sign = s < 0 ? "-" : "";
	long long	 n;

	if (s < 0)
		s = -s;
	n = (long long)s;
	if (s < 0.1)
		snprintf(out, len, "%s%.1fms", sign, s * 1000);
	else if (s < 1)
		snprintf(out, len, "%s%.0fms", sign, s * 1000);
	else if (s < 10)
		snprintf(out, len, "%s%.1fs", sign, s);
	else if (n < 60)
		snprintf(out, len, "%s%llds", sign, n);
	else if (n < 3600)
		snprintf(out, len, "%s%lldm%02llds", sign, n / 60, n % 60);
	else if (n < 86400)
		snprintf(out, len, "%s%lldh%02lldm", sign, n / 3600, n % 3600 / 60);
	else
		snprintf(out, len, "%s%lldd%02lldh", sign, n / 86400, n % 86400 / 3600);
}

static void
fmt_cell(json_object *v, enum tcol_fmt fmt, char *out, size_t len)
{
	const char	*s;
	double		 d;
	char		 t[64];

	if (v == NULL || json_object_is_type(v, json_type_null)) {
		snprintf(out, len, "-");
		return;
	}
	switch (fmt) {
	case TF_TIME:
		/* "2026-01-02T03:04:05.123+00:00": the ctl session's zone is UTC. */
		s = json_object_get_string(v);
		snprintf(out, len, "%.19s", s);
		if (strlen(out) > 10 && out[10] == 'T')
			out[10] = ' ';
		return;
	case TF_AGE:
		fmt_seconds(json_object_get_double(v), out, len);
		return;
	case TF_IN:
		d = json_object_get_double(v);
		fmt_seconds(d < 0 ? -d : d, t, sizeof(t));
		snprintf(out, len, d < 0 ? "%s ago" : "in %s", t);
		return;
	case TF_MS:
		fmt_seconds(json_object_get_double(v) / 1000, out, len);
		return;
	case TF_KB:
		d = json_object_get_double(v);
		if (d < 1024)
			snprintf(out, len, "%.0fK", d);
		else if (d < 1024 * 1024)
			snprintf(out, len, "%.1fM", d / 1024);
		else
			snprintf(out, len, "%.1fG", d / (1024 * 1024));
		return;
	case TF_BOOL:
		snprintf(out, len, "%s", json_object_get_boolean(v) ? "yes" : "no");
		return;
	case TF_TEXT:
		break;
	}
	if (json_object_is_type(v, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(v));
	else
		snprintf(out, len, "%s", json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/*
 * Cut s to at most width characters (0: only mend a sequence that snprintf
 * cut in half), ending in "..." when something was cut.
 */
static void
cell_cut(char *s, int width)
{
	size_t	i, n = strlen(s), at = n;
	int	w = 0;

	if (n > 0) {
		/* A UTF-8 sequence cut short by the buffer's end. */
		i = n - 1;
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
		if ((unsigned char)s[i] >= 0xc0) {
			size_t need = (unsigned char)s[i] >= 0xf0 ? 4 :
			    (unsigned char)s[i] >= 0xe0 ? 3 : 2;
			if (n - i < need)
				s[n = i] = '\0';
		}
	}
	if (width <= 3)
		return;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && w++ == width - 3)
			at = i;
	if (w > width)
		memcpy(s + at, "...", 4);
}

void
table_json(FILE *out, json_object *arr, const struct tcol *cols, int ncols)
{
	struct table	 *t;
	const char	**row;
	char		**cells;
	size_t		  r, n;
	int		  i;

	row = xcalloc((size_t)ncols, sizeof(*row));
	cells = xcalloc((size_t)ncols, sizeof(*cells));
	for (i = 0; i < ncols; i++) {
		row[i] = cols[i].head;
		cells[i] = xmalloc(512);
	}
	t = table_new(ncols, row);
	n = arr && json_object_is_type(arr, json_type_array) ?
	    json_object_array_length(arr) : 0;
	for (r = 0; r < n; r++) {
		json_object *o = json_object_array_get_idx(arr, r), *v;

		for (i = 0; i < ncols; i++) {
			v = NULL;
			if (o && json_object_is_type(o, json_type_object))
				(void)json_object_object_get_ex(o, cols[i].key, &v);
			fmt_cell(v, cols[i].fmt, cells[i], 512);
			cell_cut(cells[i], cols[i].width);
			row[i] = cells[i];
		}
		table_add(t, row);
	}
	table_print(t, out);
	table_free(t);
	for (i = 0; i < ncols; i++)
		free(cells[i]);
	free(cells);
	free(row);
}
