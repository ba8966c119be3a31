/*
 * cron: five-field schedules for [periodic.NAME] (hivejobd.conf(5)).
 *
 * A schedule is a bit set per field. The next run is found on the wall
 * clock of the schedule's time zone, a field at a time (a month, a day or
 * an hour that cannot match is skipped whole), and each matching wall time
 * is then turned back into an instant: a wall time that the zone skips (a
 * spring-forward gap) does not run, and one that it shows twice (a
 * fall-back overlap) runs once, at its first occurrence.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "util.h"

#define CRON_TEXT_MAX	512
#define CRON_YEARS	5
#define DAY_S		86400

enum {
	F_MINUTE,
	F_HOUR,
	F_MDAY,
	F_MONTH,
	F_WDAY,
	F_COUNT
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const struct field {
	const char		*name;
	int			 lo, hi;	/* what may be written */
	int			 top;	/* where * and N/STEP end */
	const char *const	*names;	/* names[i] is name_base + i */
	int			 name_base;
} fields[F_COUNT] = {
	{ "minute", 0, 59, 59, NULL, 0 },
	{ "hour", 0, 23, 23, NULL, 0 },
	{ "day-of-month", 1, 31, 31, NULL, 0 },
	{ "month", 1, 12, 12, month_names, 1 },
	{ "day-of-week", 0, 7, 6, wday_names, 0 },	/* 7: Sunday again */
};

static const struct {
	const char	*name;
	const char	*fields;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static int	cron_error(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	value_parse(const struct field *, const char *, size_t, int *,
		    char *, size_t);
static int	field_parse(const struct field *, const char *, uint64_t *,
		    int *, char *, size_t);
static int64_t	days_from_civil(int64_t, int, int);
static int	days_in_month(int64_t, int);
static int	day_match(const struct cron *, int, int64_t);
static int	next_bit(uint64_t, int, int);
static int	wall_resolve(int64_t, time_t, time_t *);
static int	search(const struct cron *, time_t, time_t *);

static int
cron_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * One number or name of field f: s[0..len). -1 when it is neither, -2
 * (with the message written) when it is out of range.
 */
static int
value_parse(const struct field *f, const char *s, size_t len, int *out,
    char *err, size_t errlen)
{
	size_t	i;
	int	n = 0;

	if (len == 0)
		return -1;
	if (isdigit((unsigned char)*s)) {
		for (i = 0; i < len; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -1;
			if (n < 1000)
				n = n * 10 + (s[i] - '0');
		}
		if (n < f->lo || n > f->hi) {
			cron_error(err, errlen, "%s %.*s out of range %d-%d",
			    f->name, (int)len, s, f->lo, f->hi);
			return -2;
		}
		*out = n;
		return 0;
	}
	if (f->names != NULL && len == 3)
		for (i = 0; f->names[i] != NULL; i++)
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->name_base + (int)i;
				return 0;
			}
	return -1;
}

/*
 * A comma list of *, N, N-M, each with an optional /STEP; N/STEP is
 * N-max/STEP. *star is set when the field is * (or * / 1) alone.
 */
static int
field_parse(const struct field *f, const char *text, uint64_t *bits,
    int *star, char *err, size_t errlen)
{
	const char	*item, *end, *s, *dash, *slash;
	int		 lo, hi, step, v, r = -1;
	uint64_t	 set = 0;

	*star = 0;
	for (item = text;; item = end + 1) {
		end = item + strcspn(item, ",");
		slash = memchr(item, '/', end - item);
		s = slash != NULL ? slash : end;
		step = 1;
		if (end == item)
			goto bad;
		if (*item == '*') {
			if (s != item + 1)
				goto bad;
			lo = f->lo;
			hi = f->top;
		} else {
			dash = memchr(item, '-', s - item);
			if ((r = value_parse(f, item, (dash ? dash : s) - item,
			    &lo, err, errlen)) < 0)
				goto bad_value;
			hi = lo;
			if (dash != NULL) {
				if ((r = value_parse(f, dash + 1, s - dash - 1,
				    &hi, err, errlen)) < 0)
					goto bad_value;
				if (hi < lo)
					return cron_error(err, errlen, "%s "
					    "range %.*s goes backwards",
					    f->name, (int)(s - item), item);
			} else if (slash != NULL)
				hi = lo > f->top ? lo : f->top;
		}
		if (slash != NULL) {
			step = 0;
			for (s = slash + 1; s < end; s++) {
				if (!isdigit((unsigned char)*s))
					goto bad;
				if (step < 1000)
					step = step * 10 + (*s - '0');
			}
			if (s == slash + 1)
				goto bad;
			if (step < 1 || step > f->hi)
				return cron_error(err, errlen, "%s step %.*s "
				    "out of range 1-%d", f->name,
				    (int)(end - slash - 1), slash + 1, f->hi);
		}
		for (v = lo; v <= hi; v += step)
			set |= 1ULL << v;
		if (*item == '*' && step == 1 && item == text && *end == '\0')
			*star = 1;
		if (*end == '\0')
			break;
	}
	*bits = set;
	return 0;
bad_value:
	if (r == -2)
		return -1;
bad:
	return cron_error(err, errlen, "invalid %s '%s'", f->name, text);
}

int
cron_parse(const char *text, struct cron *cron, char *err, size_t errlen)
{
	char		 buf[CRON_TEXT_MAX];
	char		*word[F_COUNT + 1], *s;
	uint64_t	 bits[F_COUNT];
	int		 star[F_COUNT];
	size_t		 len, i;
	int		 n = 0;

	if (err != NULL && errlen > 0)
		*err = '\0';
	while (isspace((unsigned char)*text))
		text++;
	len = strlen(text);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len >= sizeof(buf))
		return cron_error(err, errlen, "schedule is longer than %zu "
		    "bytes", sizeof(buf) - 1);
	memcpy(buf, text, len);
	buf[len] = '\0';

	memset(cron, 0, sizeof(*cron));
	/*
	 * "@every 30s": a fixed interval, aligned to the Unix epoch so that
	 * every leader computes the same runs (River's PeriodicInterval, and
	 * what short schedules in tests need).
	 */
	if (strncasecmp(buf, "@every ", 7) == 0) {
		int64_t ms;

		if (parse_duration_ms(buf + 7, &ms) == -1 || ms < 1000 || ms % 1000)
			return cron_error(err, errlen, "@every takes whole seconds, "
			    "at least 1s, such as 30s, 5m or 2h");
		cron->every_s = ms / 1000;
		return 0;
	}
	if (*buf == '@') {
		for (i = 0; i < nitems(macros); i++)
			if (strcasecmp(buf, macros[i].name) == 0)
				return cron_parse(macros[i].fields, cron, err,
				    errlen);
		return cron_error(err, errlen, "unknown macro '%s' (use "
		    "@yearly, @monthly, @weekly, @daily, @hourly or @every "
		    "DURATION)", buf);
	}
	for (s = strtok(buf, " \t"); s != NULL; s = strtok(NULL, " \t")) {
		if (n == F_COUNT)
			return cron_error(err, errlen, "expected 5 fields "
			    "(minute hour day-of-month month day-of-week), "
			    "found more");
		word[n++] = s;
	}
	if (n != F_COUNT)
		return cron_error(err, errlen, "expected 5 fields (minute hour "
		    "day-of-month month day-of-week), found %d", n);
	for (i = 0; i < F_COUNT; i++)
		if (field_parse(&fields[i], word[i], &bits[i], &star[i], err,
		    errlen) == -1)
			return -1;

	memset(cron, 0, sizeof(*cron));
	cron->minutes = bits[F_MINUTE];
	cron->hours = (uint32_t)bits[F_HOUR];
	cron->mdays = (uint32_t)bits[F_MDAY];
	cron->months = (uint16_t)bits[F_MONTH];
	/* Sunday is 0 and 7. */
	cron->wdays = (uint8_t)((bits[F_WDAY] | bits[F_WDAY] >> 7) & 0x7f);
	cron->mday_star = star[F_MDAY];
	cron->wday_star = star[F_WDAY];
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/*
 * Vixie cron: when day-of-month and day-of-week are both restricted a day
 * matches either; when one is *, the other decides.
 */
static int
day_match(const struct cron *c, int d, int64_t day)
{
	int	wday, dom, dow;

	wday = (int)(((day % 7) + 7 + 4) % 7);	/* 1970-01-01: Thursday */
	dom = (c->mdays >> d) & 1;
	dow = (c->wdays >> wday) & 1;
	if (c->mday_star || c->wday_star)
		return dom && dow;
	return dom || dow;
}

/* The lowest set bit of bits that is >= from and <= max, or -1. */
static int
next_bit(uint64_t bits, int from, int max)
{
	uint64_t	m;
	int		b;

	if (from > max)
		return -1;
	m = bits >> from << from;
	if (m == 0)
		return -1;
	b = __builtin_ctzll(m);
	return b <= max ? b : -1;
}

/*
 * The first instant whose local wall clock reads wall (seconds since the
 * epoch as if the zone were UTC), provided it is after t. A wall time in
 * a gap has no instant; one in an overlap has two, and only the first
 * counts: if that one is not after t, the wall time is spent.
 */
static int
wall_resolve(int64_t wall, time_t t, time_t *out)
{
	struct tm	tm;
	time_t		probe, x, best = 0;
	int		i, found = 0;

	for (i = -1; i <= 1; i++) {
		probe = (time_t)(wall + i * DAY_S);
		if (localtime_r(&probe, &tm) == NULL)
			continue;
		x = (time_t)(wall - tm.tm_gmtoff);
		if (localtime_r(&x, &tm) == NULL ||
		    (int64_t)x + tm.tm_gmtoff != wall)
			continue;
		if (!found || x < best)
			best = x;
		found = 1;
	}
	if (!found || best <= t)
		return -1;
	*out = best;
	return 0;
}

static int
search(const struct cron *c, time_t t, time_t *next)
{
	struct tm	tm;
	int64_t		y, day, limit;
	int		m, d, h, mi, b;
	time_t		x;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	y = (int64_t)tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	d = tm.tm_mday;
	h = tm.tm_hour;
	mi = tm.tm_min;
	limit = days_from_civil(y, m, d) + CRON_YEARS * 366;

	for (;;) {
		if (d > days_in_month(y, m) || !((c->months >> m) & 1)) {
			/* The first day of the next month. */
			if (++m > 12) {
				m = 1;
				y++;
			}
			d = 1;
			h = mi = 0;
			if (days_from_civil(y, m, d) > limit)
				return -1;
			continue;
		}
		day = days_from_civil(y, m, d);
		if (day > limit)
			return -1;
		if (!day_match(c, d, day) ||
		    (b = next_bit(c->hours, h, 23)) == -1) {
			d++;
			h = mi = 0;
			continue;
		}
		if (b != h) {
			h = b;
			mi = 0;
		}
		if ((b = next_bit(c->minutes, mi, 59)) == -1) {
			h++;
			mi = 0;
			if (h > 23) {
				d++;
				h = 0;
			}
			continue;
		}
		mi = b;
		if (wall_resolve(day * DAY_S + h * 3600 + mi * 60, t,
		    &x) == 0) {
			*next = x;
			return 0;
		}
		if (++mi > 59) {
			mi = 0;
			if (++h > 23) {
				h = 0;
				d++;
			}
		}
	}
}

int
cron_next(const struct cron *c, const char *tz, time_t t, time_t *next)
{
	const char	*env;
	char		*saved = NULL;
	int		 switched = 0, rv;

	if (c->every_s > 0) {
		*next = (t / c->every_s + 1) * c->every_s;
		return 0;
	}
	if (tz == NULL || *tz == '\0')
		tz = "UTC";
	env = getenv("TZ");
	if (env == NULL || strcmp(env, tz) != 0) {
		if (env != NULL)
			saved = xstrdup(env);
		setenv("TZ", tz, 1);
		switched = 1;
	}
	tzset();
	rv = search(c, t, next);
	if (switched) {
		if (saved != NULL)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
		free(saved);
	}
	return rv;
}
