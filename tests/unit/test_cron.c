/*
 * Unit tests of the cron schedules of [periodic.NAME]: every form the
 * parser takes, the exact message of each mistake, and next runs checked
 * as UTC instants, in UTC and in zones with daylight saving time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "conf.h"

#define ALL(n)		((1ULL << (n)) - 1)

static char	err[256];

/* A UTC instant. */
static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static struct cron
parse(const char *text)
{
	struct cron c;

	cr_assert_eq(cron_parse(text, &c, err, sizeof(err)), 0,
	    "'%s' refused: %s", text, err);
	return c;
}

static void
parse_err(const char *text, const char *msg)
{
	struct cron c;

	cr_assert_eq(cron_parse(text, &c, err, sizeof(err)), -1,
	    "'%s' accepted", text);
	cr_assert_str_eq(err, msg, "'%s'", text);
}

static void
fmt(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The next run after t is want. */
static void
next_is(const char *sched, const char *tz, time_t t, time_t want)
{
	struct cron	c = parse(sched);
	time_t		got = 0;
	char		a[64], b[64], w[64];

	fmt(t, a, sizeof(a));
	fmt(want, w, sizeof(w));
	cr_assert_eq(cron_next(&c, tz, t, &got), 0, "'%s' in %s after %s: "
	    "none, want %s", sched, tz, a, w);
	fmt(got, b, sizeof(b));
	cr_assert_eq(got, want, "'%s' in %s after %s: %s, want %s", sched, tz,
	    a, b, w);
}

/* Runs one after the other from t: want[] ends with 0. */
static void
runs_are(const char *sched, const char *tz, time_t t, const time_t *want)
{
	for (; *want; t = *want++)
		next_is(sched, tz, t, *want);
}

Test(cron_parse, every_field_star)
{
	struct cron c = parse("* * * * *");

	cr_assert_eq(c.minutes, ALL(60));
	cr_assert_eq(c.hours, ALL(24));
	cr_assert_eq(c.mdays, ALL(32) & ~1ULL);
	cr_assert_eq(c.months, ALL(13) & ~1ULL);
	cr_assert_eq(c.wdays, ALL(7));
	cr_assert_eq(c.mday_star, 1);
	cr_assert_eq(c.wday_star, 1);
}

Test(cron_parse, lists_ranges_steps_and_names)
{
	struct cron c;

	c = parse("*/15 0-23/6 1,15 jan-mar,DEC sun-sat/2");
	cr_assert_eq(c.minutes, 1ULL << 0 | 1ULL << 15 | 1ULL << 30 |
	    1ULL << 45);
	cr_assert_eq(c.hours, 1U << 0 | 1U << 6 | 1U << 12 | 1U << 18);
	cr_assert_eq(c.mdays, 1U << 1 | 1U << 15);
	cr_assert_eq(c.months, 1U << 1 | 1U << 2 | 1U << 3 | 1U << 12);
	cr_assert_eq(c.wdays, 1U << 0 | 1U << 2 | 1U << 4 | 1U << 6);
	cr_assert_eq(c.mday_star, 0);
	cr_assert_eq(c.wday_star, 0);

	/* N/STEP runs from N to the field's end. */
	c = parse("5/10 20/2 25/3 11/1 1/2");
	cr_assert_eq(c.minutes, 1ULL << 5 | 1ULL << 15 | 1ULL << 25 |
	    1ULL << 35 | 1ULL << 45 | 1ULL << 55);
	cr_assert_eq(c.hours, 1U << 20 | 1U << 22);
	cr_assert_eq(c.mdays, 1U << 25 | 1U << 28 | 1U << 31);
	cr_assert_eq(c.months, 1U << 11 | 1U << 12);
	cr_assert_eq(c.wdays, 1U << 1 | 1U << 3 | 1U << 5);

	c = parse("1-30/5 0 1 * *");
	cr_assert_eq(c.minutes, 1ULL << 1 | 1ULL << 6 | 1ULL << 11 |
	    1ULL << 16 | 1ULL << 21 | 1ULL << 26);

	/* Sunday is 0 and 7; names in any case. */
	cr_assert_eq(parse("0 0 * * 7").wdays, 1U << 0);
	cr_assert_eq(parse("0 0 * * 0").wdays, 1U << 0);
	cr_assert_eq(parse("0 0 * * 5-7").wdays, 1U << 0 | 1U << 5 | 1U << 6);
	cr_assert_eq(parse("0 0 * * 0-7").wdays, ALL(7));
	cr_assert_eq(parse("0 0 * * MON-fri").wdays, ALL(6) & ~1ULL);
	cr_assert_eq(parse("0 0 * * Sat,SUN").wdays, 1U << 0 | 1U << 6);
	cr_assert_eq(parse("0 0 * Feb,aug-Oct *").months,
	    1U << 2 | 1U << 8 | 1U << 9 | 1U << 10);
	cr_assert_eq(parse("59 23 31 12 6").minutes, 1ULL << 59);
	cr_assert_eq(parse("0,0,0 0 * * *").minutes, 1ULL);

	/* Blanks: any number of spaces and tabs, around and between. */
	c = parse(" \t0\t 12   *  * *  ");
	cr_assert_eq(c.minutes, 1ULL);
	cr_assert_eq(c.hours, 1U << 12);
}

Test(cron_parse, star_is_only_star)
{
	struct cron c;

	c = parse("0 0 */1 * */1");
	cr_assert_eq(c.mday_star, 1);
	cr_assert_eq(c.wday_star, 1);
	c = parse("0 0 */2 * 1-7");
	cr_assert_eq(c.mday_star, 0);
	cr_assert_eq(c.wday_star, 0);
	c = parse("0 0 1-31 * *,1");
	cr_assert_eq(c.mday_star, 0);
	cr_assert_eq(c.wday_star, 0);
	c = parse("0 0 13 * *");
	cr_assert_eq(c.mday_star, 0);
	cr_assert_eq(c.wday_star, 1);
}

Test(cron_parse, macros)
{
	static const struct {
		const char	*macro;
		const char	*same;
	} t[] = {
		{ "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" },
		{ "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
		{ "@DAILY", "0 0 * * *" },
		{ "  @Hourly\t", "0 * * * *" },
	};
	struct cron	a, b;
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = parse(t[i].macro);
		b = parse(t[i].same);
		cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s", t[i].macro);
	}
}

Test(cron_parse, errors)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} t[] = {
		{ "", "expected 5 fields (minute hour day-of-month month "
		  "day-of-week), found 0" },
		{ " \t ", "expected 5 fields (minute hour day-of-month month "
		  "day-of-week), found 0" },
		{ "* * * *", "expected 5 fields (minute hour day-of-month month "
		  "day-of-week), found 4" },
		{ "* * * * * *", "expected 5 fields (minute hour day-of-month "
		  "month day-of-week), found more" },
		{ "61 * * * *", "minute 61 out of range 0-59" },
		{ "60 * * * *", "minute 60 out of range 0-59" },
		{ "99999999999 * * * *",
		  "minute 99999999999 out of range 0-59" },
		{ "* 24 * * *", "hour 24 out of range 0-23" },
		{ "* * 0 * *", "day-of-month 0 out of range 1-31" },
		{ "* * 32 * *", "day-of-month 32 out of range 1-31" },
		{ "* * 1-32 * *", "day-of-month 32 out of range 1-31" },
		{ "* * * 0 *", "month 0 out of range 1-12" },
		{ "* * * 13 *", "month 13 out of range 1-12" },
		{ "* * * * 8", "day-of-week 8 out of range 0-7" },
		{ "x * * * *", "invalid minute 'x'" },
		{ "jan * * * *", "invalid minute 'jan'" },
		{ "* * mon * *", "invalid day-of-month 'mon'" },
		{ "* * * foo *", "invalid month 'foo'" },
		{ "* * * january *", "invalid month 'january'" },
		{ "* * * * sunday", "invalid day-of-week 'sunday'" },
		{ "1,,2 * * * *", "invalid minute '1,,2'" },
		{ "1, * * * *", "invalid minute '1,'" },
		{ ",1 * * * *", "invalid minute ',1'" },
		{ "-5 * * * *", "invalid minute '-5'" },
		{ "5- * * * *", "invalid minute '5-'" },
		{ "1-2-3 * * * *", "invalid minute '1-2-3'" },
		{ "** * * * *", "invalid minute '**'" },
		{ "*-5 * * * *", "invalid minute '*-5'" },
		{ "*/ * * * *", "invalid minute '*/'" },
		{ "*/x * * * *", "invalid minute '*/x'" },
		{ "1/2/3 * * * *", "invalid minute '1/2/3'" },
		{ "/5 * * * *", "invalid minute '/5'" },
		{ "+5 * * * *", "invalid minute '+5'" },
		{ "*/0 * * * *", "minute step 0 out of range 1-59" },
		{ "*/60 * * * *", "minute step 60 out of range 1-59" },
		{ "* */24 * * *", "hour step 24 out of range 1-23" },
		{ "* * * * */8", "day-of-week step 8 out of range 1-7" },
		{ "30-10 * * * *", "minute range 30-10 goes backwards" },
		{ "* * * dec-jan *", "month range dec-jan goes backwards" },
		{ "* * * * fri-mon", "day-of-week range fri-mon goes backwards" },
		{ "@reboot", "unknown macro '@reboot' (use @yearly, @monthly, "
		  "@weekly, @daily, @hourly or @every DURATION)" },
		{ "@daily 1", "unknown macro '@daily 1' (use @yearly, @monthly, "
		  "@weekly, @daily, @hourly or @every DURATION)" },
	};
	struct cron	c;
	char		big[600];
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_err(t[i].text, t[i].msg);

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_err(big, "schedule is longer than 511 bytes");

	/* No buffer, or a short one, is fine. */
	cr_assert_eq(cron_parse("61 * * * *", &c, NULL, 0), -1);
	cr_assert_eq(cron_parse("61 * * * *", &c, err, 7), -1);
	cr_assert_str_eq(err, "minute");
}

Test(cron_next, every_minute)
{
	const time_t t = utc(2026, 1, 1, 0, 0, 0);

	next_is("* * * * *", "UTC", t, t + 60);
	next_is("* * * * *", "UTC", t + 1, t + 60);
	next_is("* * * * *", "UTC", t + 59, t + 60);
	next_is("* * * * *", "UTC", t - 1, t);
	next_is("* * * * *", "UTC", utc(2026, 12, 31, 23, 59, 30),
	    utc(2027, 1, 1, 0, 0, 0));
	/* NULL and "" mean UTC. */
	next_is("* * * * *", NULL, t, t + 60);
	next_is("* * * * *", "", t, t + 60);
}

Test(cron_next, steps_and_hourly)
{
	next_is("*/15 * * * *", "UTC", utc(2026, 5, 4, 10, 7, 0),
	    utc(2026, 5, 4, 10, 15, 0));
	next_is("*/15 * * * *", "UTC", utc(2026, 5, 4, 10, 15, 0),
	    utc(2026, 5, 4, 10, 30, 0));
	next_is("*/15 * * * *", "UTC", utc(2026, 5, 4, 10, 45, 0),
	    utc(2026, 5, 4, 11, 0, 0));
	next_is("*/15 * * * *", "UTC", utc(2026, 5, 4, 23, 50, 0),
	    utc(2026, 5, 5, 0, 0, 0));
	next_is("30 * * * *", "UTC", utc(2026, 5, 4, 10, 29, 59),
	    utc(2026, 5, 4, 10, 30, 0));
	next_is("30 * * * *", "UTC", utc(2026, 5, 4, 10, 30, 0),
	    utc(2026, 5, 4, 11, 30, 0));
	next_is("@hourly", "UTC", utc(2026, 5, 4, 10, 30, 0),
	    utc(2026, 5, 4, 11, 0, 0));
	next_is("0 9-17/4 * * *", "UTC", utc(2026, 5, 4, 13, 0, 0),
	    utc(2026, 5, 4, 17, 0, 0));
	next_is("0 9-17/4 * * *", "UTC", utc(2026, 5, 4, 17, 0, 0),
	    utc(2026, 5, 5, 9, 0, 0));
	/* An hour in another zone: Asia/Kolkata is 5:30 ahead. */
	next_is("0 * * * *", "Asia/Kolkata", utc(2026, 5, 4, 10, 0, 0),
	    utc(2026, 5, 4, 10, 30, 0));
}

Test(cron_next, daily_in_utc_and_berlin)
{
	next_is("0 3 * * *", "UTC", utc(2026, 6, 1, 3, 0, 0),
	    utc(2026, 6, 2, 3, 0, 0));
	next_is("0 3 * * *", "UTC", utc(2026, 6, 1, 2, 59, 0),
	    utc(2026, 6, 1, 3, 0, 0));
	/* CET is UTC+1, CEST UTC+2. */
	next_is("0 3 * * *", "Europe/Berlin", utc(2026, 1, 15, 12, 0, 0),
	    utc(2026, 1, 16, 2, 0, 0));
	next_is("0 3 * * *", "Europe/Berlin", utc(2026, 7, 15, 12, 0, 0),
	    utc(2026, 7, 16, 1, 0, 0));
	/* Across the changes of 2026-03-29 and 2026-10-25. */
	next_is("0 3 * * *", "Europe/Berlin", utc(2026, 3, 28, 12, 0, 0),
	    utc(2026, 3, 29, 1, 0, 0));
	next_is("0 3 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0, 0),
	    utc(2026, 10, 25, 2, 0, 0));
	/* Local midnight: the previous UTC day. */
	next_is("@daily", "Europe/Berlin", utc(2026, 7, 15, 12, 0, 0),
	    utc(2026, 7, 15, 22, 0, 0));
}

Test(cron_next, weekly_and_monthly)
{
	time_t want[8];

	/* 2026-01-01 is a Thursday. */
	next_is("0 9 * * 1", "UTC", utc(2026, 1, 1, 0, 0, 0),
	    utc(2026, 1, 5, 9, 0, 0));
	next_is("0 9 * * mon", "UTC", utc(2026, 1, 5, 9, 0, 0),
	    utc(2026, 1, 12, 9, 0, 0));
	next_is("@weekly", "UTC", utc(2026, 1, 1, 0, 0, 0),
	    utc(2026, 1, 4, 0, 0, 0));
	next_is("0 0 * * 7", "UTC", utc(2026, 1, 1, 0, 0, 0),
	    utc(2026, 1, 4, 0, 0, 0));
	next_is("@monthly", "UTC", utc(2026, 1, 1, 0, 0, 0),
	    utc(2026, 2, 1, 0, 0, 0));
	next_is("@yearly", "UTC", utc(2026, 1, 1, 0, 0, 0),
	    utc(2027, 1, 1, 0, 0, 0));

	/* The 31st: months without one are skipped. */
	want[0] = utc(2026, 1, 31, 0, 0, 0);
	want[1] = utc(2026, 3, 31, 0, 0, 0);
	want[2] = utc(2026, 5, 31, 0, 0, 0);
	want[3] = utc(2026, 7, 31, 0, 0, 0);
	want[4] = utc(2026, 8, 31, 0, 0, 0);
	want[5] = utc(2026, 10, 31, 0, 0, 0);
	want[6] = utc(2026, 12, 31, 0, 0, 0);
	want[7] = 0;
	runs_are("0 0 31 * *", "UTC", utc(2026, 1, 15, 0, 0, 0), want);
}

Test(cron_next, leap_day)
{
	time_t want[] = { utc(2028, 2, 29, 0, 0, 0), utc(2032, 2, 29, 0, 0, 0),
	    utc(2036, 2, 29, 0, 0, 0), 0 };

	runs_are("0 0 29 2 *", "UTC", utc(2026, 1, 1, 0, 0, 0), want);
	/* 2100 is no leap year; 2096 to 2104 is beyond five years. */
	next_is("0 0 29 2 *", "UTC", utc(2095, 3, 1, 0, 0, 0),
	    utc(2096, 2, 29, 0, 0, 0));
	next_is("0 0 28 2 *", "UTC", utc(2100, 2, 1, 0, 0, 0),
	    utc(2100, 2, 28, 0, 0, 0));
	next_is("0 0 1 3 *", "UTC", utc(2100, 2, 28, 0, 0, 0),
	    utc(2100, 3, 1, 0, 0, 0));
}

Test(cron_next, day_of_month_or_day_of_week)
{
	/* Both restricted: the 13th or a Friday. 2026-04-10 is a Friday. */
	time_t want[] = { utc(2026, 4, 13, 0, 0, 0), utc(2026, 4, 17, 0, 0, 0),
	    utc(2026, 4, 24, 0, 0, 0), utc(2026, 5, 1, 0, 0, 0),
	    utc(2026, 5, 8, 0, 0, 0), utc(2026, 5, 13, 0, 0, 0),
	    utc(2026, 5, 15, 0, 0, 0), 0 };

	runs_are("0 0 13 * 5", "UTC", utc(2026, 4, 10, 0, 0, 0), want);
	runs_are("0 0 13 * fri", "UTC", utc(2026, 4, 10, 0, 0, 0), want);
	/* One of them *: only the other counts. */
	next_is("0 0 13 * *", "UTC", utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 4, 13, 0, 0, 0));
	next_is("0 0 13 * *", "UTC", utc(2026, 4, 13, 0, 0, 0),
	    utc(2026, 5, 13, 0, 0, 0));
	next_is("0 0 * * 5", "UTC", utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 4, 17, 0, 0, 0));
	next_is("0 0 */1 * 5", "UTC", utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 4, 17, 0, 0, 0));
	/* 1-31 restricts, so with a day of week any day matches. */
	next_is("0 0 1-31 * 5", "UTC", utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 4, 11, 0, 0, 0));
	/* With a month: only days of that month, either way. */
	next_is("0 0 1 6 1", "UTC", utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 6, 1, 0, 0, 0));
	next_is("0 0 1 6 1", "UTC", utc(2026, 6, 1, 0, 0, 0),
	    utc(2026, 6, 8, 0, 0, 0));
}

Test(cron_next, spring_forward_gap)
{
	/* New York, 2026-03-08: 02:00 EST becomes 03:00 EDT. */
	next_is("30 2 * * *", "America/New_York", utc(2026, 3, 6, 12, 0, 0),
	    utc(2026, 3, 7, 7, 30, 0));
	next_is("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12, 0, 0),
	    utc(2026, 3, 9, 6, 30, 0));
	/* Every minute: 01:59 EST, then 03:00 EDT a minute later. */
	next_is("* * * * *", "America/New_York", utc(2026, 3, 8, 6, 59, 0),
	    utc(2026, 3, 8, 7, 0, 0));
	next_is("0 * * * *", "America/New_York", utc(2026, 3, 8, 6, 0, 0),
	    utc(2026, 3, 8, 7, 0, 0));
	next_is("0 3 * * *", "America/New_York", utc(2026, 3, 8, 5, 0, 0),
	    utc(2026, 3, 8, 7, 0, 0));
	/* Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST. */
	next_is("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12, 0, 0),
	    utc(2026, 3, 30, 0, 30, 0));
}

Test(cron_next, fall_back_overlap)
{
	/* New York, 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 twice. */
	time_t want[] = { utc(2026, 11, 1, 5, 30, 0), utc(2026, 11, 2, 6, 30, 0),
	    utc(2026, 11, 3, 6, 30, 0), 0 };

	runs_are("30 1 * * *", "America/New_York", utc(2026, 11, 1, 4, 0, 0),
	    want);
	/* From inside the second 01:00-02:00 the first has passed. */
	next_is("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 0, 0),
	    utc(2026, 11, 2, 6, 30, 0));
	next_is("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 29, 0),
	    utc(2026, 11, 2, 6, 30, 0));
	/* Every 15 minutes: the repeated wall times do not run again. */
	next_is("*/15 * * * *", "America/New_York", utc(2026, 11, 1, 5, 45, 0),
	    utc(2026, 11, 1, 7, 0, 0));
	next_is("*/15 * * * *", "America/New_York", utc(2026, 11, 1, 6, 10, 0),
	    utc(2026, 11, 1, 7, 0, 0));
	next_is("0 2 * * *", "America/New_York", utc(2026, 11, 1, 5, 0, 0),
	    utc(2026, 11, 1, 7, 0, 0));
}

Test(cron_next, impossible_dates)
{
	struct cron	c;
	time_t		got = 123;

	c = parse("0 0 30 2 *");
	cr_assert_eq(cron_next(&c, "UTC", utc(2026, 1, 1, 0, 0, 0), &got), -1);
	cr_assert_eq(got, 123);
	c = parse("0 0 31 4,6,9,11 *");
	cr_assert_eq(cron_next(&c, "Europe/Berlin", utc(2026, 1, 1, 0, 0, 0),
	    &got), -1);
	/* Feb 29 2104 is more than five years after 2097. */
	c = parse("0 0 29 2 *");
	cr_assert_eq(cron_next(&c, "UTC", utc(2097, 1, 1, 0, 0, 0), &got), -1);
	/* An empty schedule never runs. */
	memset(&c, 0, sizeof(c));
	cr_assert_eq(cron_next(&c, "UTC", utc(2026, 1, 1, 0, 0, 0), &got), -1);
}

Test(cron_next, tz_restored)
{
	struct cron	c = parse("0 3 * * *");
	struct tm	tm;
	time_t		got, t = utc(2026, 7, 1, 0, 0, 0);

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	cr_assert_eq(cron_next(&c, "America/New_York", t, &got), 0);
	cr_assert_eq(got, utc(2026, 7, 1, 7, 0, 0));
	cr_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
	localtime_r(&t, &tm);
	cr_assert_eq(tm.tm_gmtoff, 9 * 3600);

	/* The same zone as the process's. */
	cr_assert_eq(cron_next(&c, "Asia/Tokyo", t, &got), 0);
	cr_assert_eq(got, utc(2026, 7, 1, 18, 0, 0));
	cr_assert_str_eq(getenv("TZ"), "Asia/Tokyo");

	unsetenv("TZ");
	tzset();
	cr_assert_eq(cron_next(&c, "Europe/Berlin", t, &got), 0);
	cr_assert_eq(got, utc(2026, 7, 1, 1, 0, 0));
	cr_assert_null(getenv("TZ"));

	setenv("TZ", "UTC", 1);
	tzset();
	cr_assert_eq(cron_next(&c, "Europe/Berlin", t, &got), 0);
	cr_assert_str_eq(getenv("TZ"), "UTC");
	localtime_r(&t, &tm);
	cr_assert_eq(tm.tm_gmtoff, 0);
	cr_assert_eq(tm.tm_hour, 0);
}

Test(cron_next, fast)
{
	static const char *const sched[] = { "* * * * *", "*/15 * * * *",
	    "30 2 * * *", "0 9 * * mon-fri", "0 0 31 * *", "0 0 29 2 *",
	    "0 0 13 * 5", "0 0 30 2 *", NULL };
	struct cron	c;
	struct timespec	a, b;
	time_t		got, t = utc(2026, 3, 1, 0, 0, 0);
	double		worst = 0, us;
	int		i, n;

	for (i = 0; sched[i]; i++) {
		c = parse(sched[i]);
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (n = 0; n < 100; n++)
			(void)cron_next(&c, "America/New_York", t + n * 3607,
			    &got);
		clock_gettime(CLOCK_MONOTONIC, &b);
		us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
		    1e3 / n;
		cr_log_info("%-16s %8.1f us", sched[i], us);
		if (us > worst)
			worst = us;
	}
	/* Typically far less; the bound leaves room for a loaded machine. */
	cr_assert_lt(worst, 1000.0, "%.1f us per call", worst);
}

Test(cron, every_interval_is_aligned_to_the_epoch)
{
	struct cron	c;
	char		msg[128];
	time_t		next;

	cr_assert_eq(cron_parse("@every 5s", &c, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(cron_next(&c, "Europe/Berlin", 1000000002, &next), 0);
	cr_assert_eq(next, 1000000005);
	cr_assert_eq(cron_next(&c, "UTC", 1000000005, &next), 0);
	cr_assert_eq(next, 1000000010);
	cr_assert_eq(cron_parse("@every 2m", &c, msg, sizeof(msg)), 0);
	cr_assert_eq(cron_next(&c, "UTC", 59, &next), 0);
	cr_assert_eq(next, 120);
	cr_assert_eq(cron_parse("@every 500ms", &c, msg, sizeof(msg)), -1);
	cr_assert(strstr(msg, "whole seconds"), "%s", msg);
	cr_assert_eq(cron_parse("@every", &c, msg, sizeof(msg)), -1);
	cr_assert_eq(cron_parse("@every 0s", &c, msg, sizeof(msg)), -1);
}
