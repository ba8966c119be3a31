/*
 * text: untrusted bytes in, text that is safe for a row, a terminal or a log
 * out. The sanitizer's output can hold no ESC, no C1 control and no C0
 * control but newline and tab, however the input is built: whatever a
 * terminal would make of a sequence we parse differently, its introducer is
 * gone, so nothing we emit can be read as part of one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#define ESC		0x1b
#define REDACTED	"[REDACTED]"
#define SECRET_MIN	4

static const unsigned char replacement[] = { 0xef, 0xbf, 0xbd };

struct out {
	char	*p;
	size_t	 len;
	size_t	 cap;	/* the caller's cap, or all the input can make */
	size_t	 ell;	/* bytes of "..." that fit in cap */
	size_t	 safe;	/* longest prefix that still leaves room for "..." */
	int	 full;
};

static void	emit(struct out *, const unsigned char *, size_t, int);
static size_t	utf8_valid(const unsigned char *, size_t);
static size_t	csi_end(const unsigned char *, size_t, size_t);
static size_t	string_end(const unsigned char *, size_t, size_t, int);
static size_t	esc_end(const unsigned char *, size_t, size_t);
static int	span_cmp(const void *, const void *);

/*
 * Append n bytes: one whole character, or with ascii set a run of ASCII any
 * of whose bytes is a character boundary. The cut point is remembered as we
 * go, so a cut never has to look back for a boundary.
 */
static void
emit(struct out *o, const unsigned char *s, size_t n, int ascii)
{
	size_t	lim = o->cap - o->ell;
	int	cut = n > o->cap - o->len;

	if (ascii && o->len <= lim) {
		o->safe = o->len + n < lim ? o->len + n : lim;
		if (cut)
			memcpy(o->p + o->len, s, o->safe - o->len);
	}
	if (cut) {
		o->len = o->safe;
		memcpy(o->p + o->len, "...", o->ell);
		o->len += o->ell;
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	if (o->len <= lim)
		o->safe = o->len;
}

/*
 * Length of the well-formed UTF-8 sequence of two or more bytes at s, or 0.
 * The second byte's range for E0, ED, F0 and F4 is what keeps out overlong
 * forms, surrogates and code points past U+10FFFF (RFC 3629, section 4).
 */
static size_t
utf8_valid(const unsigned char *s, size_t avail)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * A control sequence runs through parameter and intermediate bytes to a
 * final byte. Any other byte ends it unconsumed and is then judged on its
 * own, so a stray newline is kept and a fresh ESC starts a new sequence.
 */
static size_t
csi_end(const unsigned char *in, size_t len, size_t i)
{
	for (; i < len; i++) {
		if (in[i] >= 0x40 && in[i] <= 0x7e)
			return i + 1;
		if (in[i] < 0x20 || in[i] > 0x3f)
			return i;
	}
	return len;
}

/*
 * OSC, DCS, SOS, PM and APC strings end at ST (ESC \ or U+009C), OSC also at
 * BEL. Another ESC ends the string unconsumed and starts a new sequence, and
 * CAN and SUB cancel it, as in a terminal's parser. An unterminated string
 * runs to the end of the input: its text was never meant to be shown.
 */
static size_t
string_end(const unsigned char *in, size_t len, size_t i, int bel)
{
	for (; i < len; i++) {
		switch (in[i]) {
		case 0x07:
			if (bel)
				return i + 1;
			break;
		case 0x18:
		case 0x1a:
			return i + 1;
		case ESC:
			if (i + 1 < len && in[i + 1] == '\\')
				return i + 2;
			return i;
		case 0xc2:
			if (i + 1 < len && in[i + 1] == 0x9c)
				return i + 2;
			break;
		}
	}
	return len;
}

/* The end of an escape sequence whose ESC is at in[i]. */
static size_t
esc_end(const unsigned char *in, size_t len, size_t i)
{
	if (++i >= len)
		return len;
	switch (in[i]) {
	case '[':
		return csi_end(in, len, i + 1);
	case ']':
		return string_end(in, len, i + 1, 1);
	case 'P':
	case 'X':
	case '^':
	case '_':
		return string_end(in, len, i + 1, 0);
	case ESC:
		/* A second ESC restarts the sequence; drop the first alone. */
		return i;
	}
	/* ESC, intermediate bytes (as in ESC ( B), then one final byte. */
	while (i < len && in[i] >= 0x20 && in[i] <= 0x2f)
		i++;
	return i < len ? i + 1 : len;
}

char *
text_sanitize(const char *text, size_t len, size_t cap)
{
	const unsigned char	*in = (const unsigned char *)text;
	struct out		 o;
	size_t			 i, n, size;

	if (in == NULL)
		return NULL;

	/* Each input byte makes at most 3 output bytes (U+FFFD). */
	if (cap > SIZE_MAX - 1)
		cap = SIZE_MAX - 1;
	size = len <= cap / 3 ? 3 * len : cap;
	o.p = xmalloc(size + 1);
	o.len = o.safe = 0;
	o.cap = size;
	o.ell = size < 3 ? size : 3;
	o.full = 0;

	for (i = 0; i < len && !o.full;) {
		if (in[i] >= 0x20 && in[i] < 0x7f) {
			/* The common case: a run of printable ASCII. */
			/* Looking one byte past the room left is enough. */
			for (n = 1; n <= o.cap - o.len && i + n < len &&
			    in[i + n] >= 0x20 && in[i + n] < 0x7f; n++)
				;
			emit(&o, in + i, n, 1);
			i += n;
		} else if (in[i] == '\n' || in[i] == '\t') {
			emit(&o, in + i, 1, 0);
			i++;
		} else if (in[i] == ESC)
			i = esc_end(in, len, i);
		else if (in[i] < 0x80)
			i++;	/* NUL, CR, BEL, DEL and the other controls */
		else if ((n = utf8_valid(in + i, len - i)) == 0) {
			emit(&o, replacement, sizeof(replacement), 0);
			i++;
		} else if (n == 2 && in[i] == 0xc2 && in[i + 1] < 0xa0) {
			/* C1 controls, some of which introduce sequences. */
			switch (in[i + 1]) {
			case 0x9b:
				i = csi_end(in, len, i + 2);
				break;
			case 0x9d:
				i = string_end(in, len, i + 2, 1);
				break;
			case 0x90:
			case 0x98:
			case 0x9e:
			case 0x9f:
				i = string_end(in, len, i + 2, 0);
				break;
			default:
				i += 2;
				break;
			}
		} else {
			emit(&o, in + i, n, 0);
			i += n;
		}
	}
	o.p[o.len] = '\0';

	/* A generous guess for a short result is given back. */
	if (size - o.len > 4096)
		o.p = xrealloc(o.p, o.len + 1);
	return o.p;
}

struct span {
	size_t	start;
	size_t	end;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span	*x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/*
 * Every occurrence of every secret is found in the original text first and
 * overlapping ones are merged, so a secret that contains, overlaps or
 * extends another is hidden whole, and "[REDACTED]" itself is never searched.
 */
char *
text_redact(char *s, const char *const *secrets, size_t nsecrets)
{
	struct span	*sp = NULL;
	struct buf	 b;
	const char	*p;
	size_t		 i, n = 0, nalloc = 0, len, slen, at, start, end;

	if (s == NULL || secrets == NULL)
		return s;
	len = strlen(s);
	for (i = 0; i < nsecrets; i++) {
		if (secrets[i] == NULL ||
		    (slen = strlen(secrets[i])) < SECRET_MIN)
			continue;
		/* Overlapping matches too: "abab" in "ababab" hides it all. */
		for (at = 0; at + slen <= len; at = (size_t)(p - s) + 1) {
			if ((p = memmem(s + at, len - at, secrets[i],
			    slen)) == NULL)
				break;
			if (n == nalloc) {
				nalloc = nalloc ? nalloc * 2 : 8;
				sp = xrealloc(sp, nalloc * sizeof(*sp));
			}
			sp[n].start = (size_t)(p - s);
			sp[n].end = sp[n].start + slen;
			n++;
		}
	}
	if (n == 0)
		return s;

	qsort(sp, n, sizeof(*sp), span_cmp);
	buf_init(&b);
	for (at = 0, i = 0; i < n;) {
		start = sp[i].start;
		end = sp[i].end;
		/* Merge overlaps; two secrets merely side by side stay two. */
		for (i++; i < n && sp[i].start < end; i++)
			if (sp[i].end > end)
				end = sp[i].end;
		buf_add(&b, s + at, start - at);
		buf_adds(&b, REDACTED);
		at = end;
	}
	buf_adds(&b, s + at);
	free(sp);
	free(s);
	return b.data;
}

char *
text_last_line(const char *s, size_t len)
{
	const char	*nl;
	char		*line;
	size_t		 start, end = len;

	if (s == NULL)
		return xstrdup("");
	/* Trailing blank lines, CRs and spaces are all one thing to skip. */
	while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t' ||
	    s[end - 1] == '\r' || s[end - 1] == '\n'))
		end--;
	nl = memrchr(s, '\n', end);
	start = nl ? (size_t)(nl - s) + 1 : 0;
	line = xmalloc(end - start + 1);
	memcpy(line, s + start, end - start);
	line[end - start] = '\0';
	return line;
}
