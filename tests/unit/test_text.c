/*
 * Unit tests of text: what a hostile worker writes must reach a row, a log
 * or a terminal as harmless, valid UTF-8, without the secrets it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "text.h"
#include "util.h"

#define FFFD	"\xef\xbf\xbd"

/* Sanitize a literal (which may hold NULs) with a generous cap. */
#define SAN(lit)	san(lit, sizeof(lit) - 1, 4096)

static char *
san(const char *in, size_t len, size_t cap)
{
	char *s = text_sanitize(in, len, cap);

	cr_assert_not_null(s);
	return s;
}

static void
expect(const char *in, size_t len, size_t cap, const char *want)
{
	char *s = san(in, len, cap);

	cr_assert_str_eq(s, want);
	free(s);
}

#define EXPECT(lit, want)	expect(lit, sizeof(lit) - 1, 4096, want)

/* Nothing that reaches a terminal may start or hide inside a sequence. */
static void
assert_harmless(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t',
		    "control 0x%02x at %zu", *p, (size_t)(p - (const unsigned char *)s));
		cr_assert_neq(*p, 0x7f);
		if (*p == 0xc2)
			cr_assert(p[1] >= 0xa0, "C1 control at %zu",
			    (size_t)(p - (const unsigned char *)s));
	}
}

/* Well-formed UTF-8, by a decoder written apart from the one under test. */
static int
utf8_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	int			 n, i;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 2; cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 3; cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 4; cp = *p & 0x07;
		} else
			return 0;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n;
	}
	return 1;
}

Test(sanitize, plain_text_unchanged)
{
	EXPECT("hello, world\n\tindented\n", "hello, world\n\tindented\n");
	EXPECT("", "");
}

Test(sanitize, null_input)
{
	cr_assert_null(text_sanitize(NULL, 10, 64));
}

Test(sanitize, removes_nul)
{
	EXPECT("a\0b\0\0c", "abc");
	EXPECT("\0", "");
}

Test(sanitize, reads_only_len_bytes)
{
	expect("abcdef", 3, 64, "abc");
	/* A sequence cut by len is judged on what len shows. */
	expect("\xc3\xa9", 1, 64, FFFD);
}

Test(sanitize, removes_controls)
{
	EXPECT("a\rb\r\nc", "ab\nc");
	EXPECT("bell\a back\b del\x7f vt\v ff\f", "bell back del vt ff");
	EXPECT("\x01\x02\x1f", "");
}

Test(sanitize, invalid_utf8_replaced)
{
	/* A lone continuation byte. */
	EXPECT("a\x80z", "a" FFFD "z");
	EXPECT("\xbf", FFFD);
	/* A sequence cut short by the end of input: one U+FFFD a byte. */
	EXPECT("ok\xe6\x97", "ok" FFFD FFFD);
	EXPECT("ok\xf0\x9f\x98", "ok" FFFD FFFD FFFD);
	EXPECT("\xc3", FFFD);
	/* ...or by a byte that is not a continuation. */
	EXPECT("\xc3(", FFFD "(");
	/* Overlong forms of '/' and of NUL. */
	EXPECT("\xc0\xaf", FFFD FFFD);
	EXPECT("\xc1\xbf", FFFD FFFD);
	EXPECT("\xe0\x80\xaf", FFFD FFFD FFFD);
	EXPECT("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
	EXPECT("\xc0\x80", FFFD FFFD);
	/* Surrogates U+D800 and U+DFFF. */
	EXPECT("\xed\xa0\x80", FFFD FFFD FFFD);
	EXPECT("\xed\xbf\xbf", FFFD FFFD FFFD);
	/* Past U+10FFFF, and bytes that never occur. */
	EXPECT("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
	EXPECT("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
	EXPECT("\xf8\xfe\xff", FFFD FFFD FFFD);
}

/*
 * Every 2- and 3-byte sequence and a spread of 4-byte ones: kept exactly
 * when well formed, and replaced otherwise.
 */
Test(sanitize, agrees_with_a_second_decoder)
{
	static const unsigned char tail[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f,
	    0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	unsigned char	 in[5];
	size_t		 n, a, b, c;
	char		*s;

	for (a = 0x80; a <= 0xff; a++) {
		for (b = 0; b <= 0xff; b++) {
			for (c = 0; c <= (a >= 0xe0 ? 0xff : 0); c++) {
				in[0] = (unsigned char)a;
				in[1] = (unsigned char)b;
				in[2] = (unsigned char)c;
				n = a >= 0xe0 ? 3 : 2;
				if (b < 0x20 || (n == 3 && c < 0x20) ||
				    (a == 0xc2 && b < 0xa0))
					continue;	/* controls */
				in[n] = '\0';
				s = san((char *)in, n, 64);
				cr_assert_eq(strcmp(s, (char *)in) == 0,
				    utf8_ok((char *)in),
				    "%02zx %02zx %02zx", a, b, c);
				cr_assert(utf8_ok(s));
				free(s);
			}
		}
	}
	for (a = 0xf0; a <= 0xff; a++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < nitems(tail) * nitems(tail); c++) {
				in[0] = (unsigned char)a;
				in[1] = (unsigned char)b;
				in[2] = tail[c % nitems(tail)];
				in[3] = tail[c / nitems(tail)];
				in[4] = '\0';
				if (b < 0x20 || in[2] < 0x20 || in[3] < 0x20)
					continue;
				s = san((char *)in, 4, 64);
				cr_assert_eq(strcmp(s, (char *)in) == 0,
				    utf8_ok((char *)in), "%02zx %02zx %02x %02x",
				    a, b, in[2], in[3]);
				free(s);
			}
}

Test(sanitize, valid_multibyte_kept)
{
	EXPECT("caf\xc3\xa9", "caf\xc3\xa9");
	EXPECT("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	EXPECT("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!");
	/* The edges: U+00A0, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF. */
	EXPECT("\xc2\xa0\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	    "\xc2\xa0\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}

Test(sanitize, csi_removed)
{
	EXPECT("\x1b[31mred\x1b[0m", "red");
	EXPECT("\x1b[1;38;5;196mbold\x1b[m plain", "bold plain");
	EXPECT("\x1b[2J\x1b[H\x1b[?25lcleared", "cleared");
	/* Unterminated at the end of input. */
	EXPECT("text\x1b[31", "text");
	EXPECT("text\x1b", "text");
	/* A newline cannot be part of a CSI: it ends it and stays. */
	EXPECT("a\x1b[3\nb", "a\nb");
}

Test(sanitize, osc_and_strings_removed)
{
	EXPECT("\x1b]0;pwned\x07" "after", "after");
	EXPECT("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link");
	EXPECT("\x1b]52;c;ZXZpbA==\x1b\\x", "x");
	EXPECT("before\x1b]0;never ends", "before");
	EXPECT("\x1bPq#0;2;0;0;0\x1b\\dcs", "dcs");
	EXPECT("\x1b_apc\x07" "still apc\x1b\\x", "x");
	EXPECT("\x1bXsos\x1b\\\x1b^pm\x1b\\y", "y");
	/* An ESC inside a string ends it and starts a sequence of its own. */
	EXPECT("\x1b]0;t\x1b[31mz", "z");
}

Test(sanitize, other_escapes_removed)
{
	EXPECT("a\x1b" "7b\x1b" "8c", "abc");
	EXPECT("\x1b" "cReset", "Reset");
	EXPECT("\x1b(B\x1b[mx", "x");		/* tput sgr0 */
	EXPECT("\x1b\x1b[31mx", "x");
}

Test(sanitize, c1_controls_removed)
{
	EXPECT("\xc2\x9b" "31mred", "red");
	EXPECT("a\xc2\x85" "b\xc2\x80\xc2\x9a" "c", "abc");
	/* U+009F is APC: a string, not a lone control. */
	EXPECT("\xc2\x9f" "apc\x1b\\c", "c");
	EXPECT("\xc2\x9d" "0;title\x07z", "z");
	EXPECT("\xc2\x90" "dcs\xc2\x9c" "z", "z");
	/* Raw 8-bit C1 bytes are not UTF-8 at all. */
	EXPECT("\x9b" "31m", FFFD "31m");
}

Test(sanitize, output_is_always_harmless)
{
	unsigned char	 in[4096];
	char		*s;
	size_t		 i, cap;
	int		 round;

	srand(42);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(in); i++) {
			/* Weighted towards the bytes that matter. */
			switch (rand() % 8) {
			case 0: in[i] = 0x1b; break;
			case 1: in[i] = 0xc2; break;
			case 2: in[i] = 0x80 + rand() % 0x40; break;
			case 3: in[i] = "[]P\\\a\0\r\n"[rand() % 8]; break;
			default: in[i] = (unsigned char)rand(); break;
			}
		}
		cap = 4 + (size_t)rand() % 8192;
		s = san((char *)in, sizeof(in), cap);
		cr_assert_leq(strlen(s), cap);
		assert_harmless(s);
		cr_assert(utf8_ok(s), "round %d", round);
		free(s);
	}
}

Test(sanitize, cap_cuts_with_ellipsis)
{
	char	*s;

	expect("abcdefghij", 10, 10, "abcdefghij");
	expect("abcdefghijk", 11, 10, "abcdefg...");
	expect("abcdefghij", 10, 4, "a...");
	/* Only what is kept counts against cap. */
	EXPECT("\x1b[31mabc\x1b[0m", "abc");
	expect("\x1b[31mabcd\x1b[0m", 13, 4, "abcd");
	/* Never inside a UTF-8 sequence: 'é' is 2 bytes, '日' is 3. */
	expect("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 7, "\xc3\xa9\xc3\xa9...");
	expect("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 6, "\xc3\xa9...");
	expect("\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5", 9, 8,
	    "\xe6\x97\xa5...");
	expect("a\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 9, 8,
	    "a\xf0\x9f\x98\x80...");
	expect("a\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 9, 7, "a...");
	/* A replacement character is 3 bytes too. */
	expect("\x80\x80\x80", 3, 8, FFFD "...");

	s = san("ab\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5zz", 15, 12);
	cr_assert_leq(strlen(s), 12);
	cr_assert(utf8_ok(s));
	cr_assert_str_eq(s, "ab\xe6\x97\xa5\xe6\x97\xa5...");
	free(s);
}

Test(sanitize, huge_input_stops_at_cap, .timeout = 30)
{
	static const char pat[] = "lorem ipsum\x1b[0m dolor\r\n";
	size_t	 len = 100u << 20, cap = 64u << 10, i;
	char	*in, *s;
	clock_t	 t0;

	in = xmalloc(len);
	/* Mostly text, with a sequence or a control every few bytes. */
	for (i = 0; i < len; i++)
		in[i] = pat[i % (sizeof(pat) - 1)];
	t0 = clock();
	s = san(in, len, cap);
	cr_assert_leq(strlen(s), cap);
	cr_assert_geq(strlen(s), cap - 8);
	cr_assert_str_eq(s + strlen(s) - 3, "...");
	cr_assert_eq(strncmp(s, "lorem ipsum dolor\nlorem", 23), 0);
	free(s);

	/* Nothing kept at all: the whole input has to be read. */
	memset(in, 0, len);
	s = san(in, len, cap);
	cr_assert_str_eq(s, "");
	free(s);
	cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 10.0);
	free(in);
}

static char *
redact(const char *s, const char *const *secrets, size_t n)
{
	return text_redact(xstrdup(s), secrets, n);
}

static void
expect_redact(const char *s, const char *const *secrets, size_t n,
    const char *want)
{
	char *r = redact(s, secrets, n);

	cr_assert_str_eq(r, want);
	free(r);
}

Test(redact, every_occurrence)
{
	const char *sec[] = { "hunter2" };

	expect_redact("pw=hunter2 again hunter2.", sec, 1,
	    "pw=[REDACTED] again [REDACTED].");
	expect_redact("nothing here", sec, 1, "nothing here");
}

Test(redact, at_the_boundaries)
{
	const char *sec[] = { "s3cr3t" };

	expect_redact("s3cr3t", sec, 1, "[REDACTED]");
	expect_redact("s3cr3t tail", sec, 1, "[REDACTED] tail");
	expect_redact("head s3cr3t", sec, 1, "head [REDACTED]");
	expect_redact("s3cr3ts3cr3t", sec, 1, "[REDACTED][REDACTED]");
	expect_redact("s3cr3", sec, 1, "s3cr3");
}

Test(redact, several_secrets)
{
	const char *sec[] = { "alpha-key", "beta-token", "gamma" };

	expect_redact("a=alpha-key b=beta-token c=gamma", sec, 3,
	    "a=[REDACTED] b=[REDACTED] c=[REDACTED]");
}

Test(redact, containing_and_overlapping)
{
	/* Given short first: the longer must still go whole. */
	const char *nested[] = { "token", "token-extended" };
	const char *overlap[] = { "abcdef", "defghi" };
	const char *self[] = { "abab" };
	const char *word[] = { "ACTED" };	/* is in "[REDACTED]" */

	expect_redact("x token-extended y token", nested, 2,
	    "x [REDACTED] y [REDACTED]");
	expect_redact("<abcdefghi>", overlap, 2, "<[REDACTED]>");
	expect_redact("ababab", self, 1, "[REDACTED]");
	expect_redact("ACTED", word, 1, "[REDACTED]");
}

Test(redact, short_and_missing_secrets_ignored)
{
	const char *sec[] = { "abc", "", NULL, "longer" };
	char *s;

	expect_redact("abc abc longer", sec, 4, "abc abc [REDACTED]");
	expect_redact("abc", sec, 0, "abc");
	s = xstrdup("abc");
	cr_assert_eq(text_redact(s, NULL, 0), s);
	free(s);
	cr_assert_null(text_redact(NULL, sec, 4));
}

static void
expect_last(const char *in, const char *want)
{
	char *s = text_last_line(in, strlen(in));

	cr_assert_str_eq(s, want);
	free(s);
}

Test(last_line, picks_last_non_blank)
{
	expect_last("one\ntwo\nthree", "three");
	expect_last("one\ntwo\nthree\n", "three");
	expect_last("one\nerror: boom  \n\n   \n\t\n", "error: boom");
	expect_last("one\r\nerror: crlf\r\n\r\n", "error: crlf");
	expect_last("  indented kept", "  indented kept");
	expect_last("single", "single");
}

Test(last_line, nothing_to_find)
{
	char *s;

	expect_last("", "");
	expect_last("\n\n \r\n\t", "");
	s = text_last_line(NULL, 0);
	cr_assert_str_eq(s, "");
	free(s);
	/* Only len bytes count. */
	s = text_last_line("first\nsecond", 5);
	cr_assert_str_eq(s, "first");
	free(s);
}
