#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz ? sz : 1)) == NULL)
		fatal("calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	return s;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	buf_add(b, s, (size_t)n);
	free(s);
}

const char *
buf_str(struct buf *b)
{
	if (b->data == NULL)
		buf_add(b, "", 0);
	return b->data;
}

/*
 * Durations are a number and a unit: 500ms, 30s, 5m, 2h, 5d. A bare number
 * is refused rather than guessed at: "timeout = 30" has cost people hours.
 */
int
parse_duration_ms(const char *s, int64_t *out)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	char		*end;
	long long	 n;
	size_t		 i;

	if (s == NULL || !isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || n < 0)
		goto bad;
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(end, units[i].u) == 0) {
			if (n > INT64_MAX / units[i].ms)
				goto bad;
			*out = n * units[i].ms;
			return 0;
		}
	}
bad:
	errno = EINVAL;
	return -1;
}

/* Sizes: a number with an optional K, M or G (powers of 1024). */
int
parse_size(const char *s, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;
	uint64_t		 mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
		mul = 1024;
	else if (strcmp(end, "M") == 0)
		mul = 1024 * 1024;
	else if (strcmp(end, "G") == 0)
		mul = 1024ULL * 1024 * 1024;
	else if (*end != '\0')
		goto bad;
	if (n > UINT64_MAX / mul)
		goto bad;
	*out = n * mul;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* The shortest exact spelling parse_duration_ms reads back. */
void
format_duration_ms(int64_t ms, char *out, size_t len)
{
	if (ms % 86400000 == 0 && ms)
		snprintf(out, len, "%lldd", (long long)(ms / 86400000));
	else if (ms % 3600000 == 0 && ms)
		snprintf(out, len, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms)
		snprintf(out, len, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(out, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(out, len, "%lldms", (long long)ms);
}
