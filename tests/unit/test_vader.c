/*
 * Unit tests of vader: the gold values of VADER's README, a few rules of
 * the algorithm checked against vaderSentiment 3.3.2's behaviour, hivejob's
 * rules, and the figures on the sentiment dev set (shared/, not in the
 * repository: its README grants no licence to copy it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "util.h"
#include "vader.h"

#define DATA		"data/vader"
#define DEVSET		"data/sentiment-dev/amazon_review_snippets.tsv"

/* Floors on the dev set; the JavaScript port of VADER: 0.572 / 0.588. */
#define FLOOR_R		0.56
#define FLOOR_ACC	0.575

static const struct {
	const char	*text;
	double		 compound;
} gold[] = {
	{ "The book was good.", 0.4404 },
	{ "VADER is smart, handsome, and funny.", 0.8316 },
	{ "VADER is not smart, handsome, nor funny.", -0.7424 },
	{ "The plot was good, but the characters are uncompelling and the "
	    "dialog is not great.", -0.7042 },
	{ "Today SUX!", -0.5461 },
	{ "Not bad at all", 0.431 },
	{ "Make sure you :) or :D today!", 0.8633 },
};

static struct vader *
load(unsigned flags)
{
	struct vader	*v;
	char		 err[512];

	v = vader_load_flags(DATA, flags, err, sizeof(err));
	cr_assert_not_null(v, "vader_load: %s", err);
	return v;
}

static double
compound(const struct vader *v, const char *text)
{
	struct vader_scores s;

	vader_score(v, text, &s);
	return s.compound;
}

static void
check_gold(unsigned flags)
{
	struct vader	*v = load(flags);
	size_t		 i;
	double		 c;

	for (i = 0; i < sizeof(gold) / sizeof(gold[0]); i++) {
		c = compound(v, gold[i].text);
		cr_expect(fabs(c - gold[i].compound) <= 0.001,
		    "\"%s\": %.4f, want %.4f", gold[i].text, c,
		    gold[i].compound);
	}
	vader_free(v);
}

Test(vader, gold_plain)
{
	check_gold(VADER_PLAIN);
}

Test(vader, gold_default)
{
	check_gold(0);
}

Test(vader, proportions)
{
	struct vader		*v = load(VADER_PLAIN);
	struct vader_scores	 s;

	vader_score(v, "The book was good.", &s);
	cr_expect(fabs(s.neg - 0.0) < 0.0005 && fabs(s.neu - 0.508) < 0.0005 &&
	    fabs(s.pos - 0.492) < 0.0005, "%.3f %.3f %.3f", s.neg, s.neu,
	    s.pos);
	vader_score(v, "VADER is smart, handsome, and funny.", &s);
	cr_expect(fabs(s.neu - 0.254) < 0.0005 && fabs(s.pos - 0.746) < 0.0005,
	    "%.3f %.3f", s.neu, s.pos);
	vader_score(v, "", &s);
	cr_expect(s.neg == 0 && s.neu == 0 && s.pos == 0 && s.compound == 0);
	vader_score(v, "the table", &s);
	cr_expect(s.neu == 1 && s.compound == 0);
	vader_free(v);
}

/*
 * Values of vaderSentiment 3.3.2's algorithm, including its quirks: the
 * first "but" only, list.index() in the "but" rule, "so" right before a
 * word at distance 3, emoji replaced by their descriptions (a variation
 * selector stays glued to the description).
 */
Test(vader, rules)
{
	static const struct {
		const char	*text;
		double		 compound;
	} cases[] = {
		{ "I love it \xf0\x9f\x98\x80\xf0\x9f\x98\x80 so much"
		    "\xf0\x9f\x98\x8d!!", 0.9195 },
		{ "THIS IS GREAT but i HATE the ending", -0.6408 },
		{ "good good but good bad good", 0.7050 },
		{ "it was no good at all, no worse or better", -0.3089 },
		{ "at least it is good; the least good thing; very least bad",
		    -0.5080 },
		{ "never so good. never this bad thing here. so nice. without "
		    "doubt great", 0.8660 },
		{ "kind of good. I kind of like the sort of nice thing. the "
		    "shit is bomb", 0.7914 },
		{ "\xc2\xa9\xc2\xae\xe2\x84\xa2 \xf0\x9f\x91\x8d "
		    "\xe2\x9d\xa4\xef\xb8\x8f \xf0\x9f\x92\x94 "
		    "\xf0\x9f\x98\xa1", -0.8316 },
		{ "ok. lol! d: :-p O.o :D XD", 0.9388 },
		{ "WTF!!!! ???? ?? !?", -0.8253 },
		{ "Not BAD AT ALL", 0.5255 },
		{ "no", -0.2960 },
	};
	struct vader	*v = load(VADER_PLAIN);
	size_t		 i;
	double		 c;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = compound(v, cases[i].text);
		cr_expect(fabs(c - cases[i].compound) < 0.00006,
		    "\"%s\": %.4f, want %.4f", cases[i].text, c,
		    cases[i].compound);
	}
	/* Invalid UTF-8 and odd white space are words like any other. */
	c = compound(v, "\xff\xfe good\xc2\xa0\xe2\x80\x83great \xc3");
	cr_expect(c > 0.5, "%.4f", c);
	vader_free(v);
}

Test(vader, hivejob_rules)
{
	static const struct {
		const char	*text;
		int		 sign;	/* with hivejob's rules */
	} cases[] = {
		{ "It does not work at all.", -1 },
		{ "It stopped working after a week", -1 },
		{ "Still waiting for my order, it never arrived", -1 },
		{ "I sent it back for a refund", -1 },
		{ "Do yourself a favor and save your money", -1 },
		{ "The screen is too small", -1 },
		{ "The screen is not too small", 1 },
		{ "I couldn't be happier", 1 },
		{ "It takes incredible pictures", 1 },
		{ "I bought one too.", 0 },
	};
	struct vader	*v = load(0), *plain = load(VADER_PLAIN);
	size_t		 i;
	double		 c;
	int		 sign;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = compound(v, cases[i].text);
		sign = c >= VADER_POSITIVE ? 1 : c <= VADER_NEGATIVE ? -1 : 0;
		cr_expect(sign == cases[i].sign, "\"%s\": %.4f", cases[i].text,
		    c);
	}
	/* Plain VADER sees no sentiment in a broken product. */
	cr_expect(compound(plain, "It does not work at all.") == 0);
	vader_free(plain);
	vader_free(v);
}

Test(vader, load_errors)
{
	char	 err[512];

	cr_assert_null(vader_load("/nonexistent", err, sizeof(err)));
	cr_expect(strstr(err, "/nonexistent/vader_lexicon.txt") != NULL, "%s",
	    err);
	vader_free(NULL);
}

struct figures {
	double	r, acc;
	size_t	n;
};

/* Pearson r against the human mean, and 3-class accuracy. */
static void
evaluate(const struct vader *v, char **texts, const double *human, size_t n,
    struct figures *f)
{
	double	*x = xcalloc(n, sizeof(*x)), mx = 0, my = 0, sxy = 0, sxx = 0;
	double	 syy = 0;
	size_t	 i, right = 0;
	int	 h, p;

	for (i = 0; i < n; i++) {
		x[i] = compound(v, texts[i]);
		h = fabs(human[i]) < 0.5 ? 0 : human[i] > 0 ? 1 : -1;
		p = x[i] >= VADER_POSITIVE ? 1 : x[i] <= VADER_NEGATIVE ? -1 : 0;
		right += h == p;
		mx += x[i];
		my += human[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (i = 0; i < n; i++) {
		sxy += (x[i] - mx) * (human[i] - my);
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (human[i] - my) * (human[i] - my);
	}
	f->r = sxy / sqrt(sxx * syy);
	f->acc = (double)right / (double)n;
	f->n = n;
	free(x);
}

Test(vader, devset)
{
	const char	*shared = getenv("HIVEJOB_SHARED");
	char		 path[4096], *line = NULL, *tab, *text, **texts = NULL;
	double		*human = NULL;
	size_t		 cap = 0, n = 0, max = 0, i;
	struct figures	 plain, improved;
	struct vader	*v;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s",
	    shared != NULL && *shared != '\0' ? shared : "../shared", DEVSET);
	if ((f = fopen(path, "r")) == NULL) {
		cr_skip_test("no dev set at %s (set HIVEJOB_SHARED to the "
		    "shared/ directory)", path);
	}
	while (getline(&line, &cap, f) != -1) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((tab = strchr(line, '\t')) == NULL ||
		    (text = strchr(tab + 1, '\t')) == NULL)
			continue;
		if (n == max) {
			max = max ? max * 2 : 4096;
			texts = xrealloc(texts, max * sizeof(*texts));
			human = xrealloc(human, max * sizeof(*human));
		}
		human[n] = strtod(tab + 1, NULL);
		texts[n] = xstrdup(text + 1);
		n++;
	}
	free(line);
	fclose(f);
	cr_assert_gt(n, 1000, "%s: %zu lines", path, n);

	v = load(VADER_PLAIN);
	evaluate(v, texts, human, n, &plain);
	vader_free(v);
	v = load(0);
	evaluate(v, texts, human, n, &improved);
	vader_free(v);
	/* On stderr, so that the figures show without --verbose. */
	fprintf(stderr, "test_vader: dev set (%zu snippets): VADER 3.3.2 "
	    "r = %.4f, accuracy = %.4f; with hivejob's rules r = %.4f, "
	    "accuracy = %.4f\n", n, plain.r, plain.acc, improved.r,
	    improved.acc);

	cr_expect_geq(improved.r, FLOOR_R, "r %.4f", improved.r);
	cr_expect_geq(improved.acc, FLOOR_ACC, "accuracy %.4f", improved.acc);
	cr_expect_geq(plain.r, FLOOR_R, "plain r %.4f", plain.r);
	cr_expect_geq(plain.acc, FLOOR_ACC, "plain accuracy %.4f", plain.acc);
	/* The rules are the default only because they do better. */
	cr_expect_gt(improved.r, plain.r);
	cr_expect_gt(improved.acc, plain.acc);

	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(human);
}
