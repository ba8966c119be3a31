/* Unit tests of the small parsers everything else leans on. */
#include <errno.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "util.h"

Test(duration, units)
{
	int64_t ms;

	cr_assert_eq(parse_duration_ms("500ms", &ms), 0); cr_assert_eq(ms, 500);
	cr_assert_eq(parse_duration_ms("30s", &ms), 0); cr_assert_eq(ms, 30000);
	cr_assert_eq(parse_duration_ms("5m", &ms), 0); cr_assert_eq(ms, 300000);
	cr_assert_eq(parse_duration_ms("2h", &ms), 0); cr_assert_eq(ms, 7200000);
	cr_assert_eq(parse_duration_ms("5d", &ms), 0); cr_assert_eq(ms, 432000000);
	cr_assert_eq(parse_duration_ms("0s", &ms), 0); cr_assert_eq(ms, 0);
}

Test(duration, refuses_what_it_cannot_read)
{
	const char *bad[] = { "", "30", "s", "-5s", "5 s", "5sec", "1.5s", "5S",
	    "99999999999999999999d", "9223372036854775807d", NULL };
	int64_t ms;
	int i;

	for (i = 0; bad[i]; i++) {
		errno = 0;
		cr_assert_eq(parse_duration_ms(bad[i], &ms), -1, "accepted '%s'", bad[i]);
		cr_assert_eq(errno, EINVAL);
	}
	cr_assert_eq(parse_duration_ms(NULL, &ms), -1);
}

Test(duration, format_reads_back)
{
	int64_t v[] = { 0, 1, 999, 1000, 61000, 60000, 3600000, 86400000, 90061001 };
	char s[32];
	int64_t back;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		format_duration_ms(v[i], s, sizeof(s));
		cr_assert_eq(parse_duration_ms(s, &back), 0, "%s", s);
		cr_assert_eq(back, v[i], "%s", s);
	}
	format_duration_ms(300000, s, sizeof(s));
	cr_assert_str_eq(s, "5m");
}

Test(size, units)
{
	uint64_t n;

	cr_assert_eq(parse_size("64K", &n), 0); cr_assert_eq(n, 65536);
	cr_assert_eq(parse_size("256M", &n), 0); cr_assert_eq(n, 268435456);
	cr_assert_eq(parse_size("1G", &n), 0); cr_assert_eq(n, 1073741824);
	cr_assert_eq(parse_size("4096", &n), 0); cr_assert_eq(n, 4096);
	cr_assert_eq(parse_size("1T", &n), -1);
	cr_assert_eq(parse_size("M", &n), -1);
	cr_assert_eq(parse_size("-1K", &n), -1);
	cr_assert_eq(parse_size("99999999999999999999G", &n), -1);
}

Test(buf, grows_and_terminates)
{
	struct buf b;
	int i;

	buf_init(&b);
	cr_assert_str_eq(buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	cr_assert_eq(b.len, 3890);
	cr_assert_eq(b.data[b.len], '\0');
	buf_reset(&b);
	buf_adds(&b, "x");
	cr_assert_str_eq(buf_str(&b), "x");
	buf_free(&b);
}
