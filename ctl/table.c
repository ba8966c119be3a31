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
