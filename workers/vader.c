/*
 * vader: VADER sentiment (Hutto and Gilbert, ICWSM 2014) in C.
 *
 * The scoring is that of vaderSentiment 3.3.2's SentimentIntensityAnalyzer,
 * rule for rule and quirk for quirk, so that its published figures hold:
 *
 *  - emoji characters (single code points of emoji_utf8_lexicon.txt) are
 *    replaced by their description before anything else;
 *  - tokens are split on white space; leading and trailing ASCII
 *    punctuation is stripped when at least 3 characters remain, otherwise
 *    the token stays as written (":)", "ok.");
 *  - a lexicon word takes its valence; "no" before another lexicon word
 *    counts 0, and a word 1 or 2 after "no" (or 3 after "no ... or/nor")
 *    is multiplied by N_SCALAR; an ALL-CAPS word in a text that is not all
 *    caps gains C_INCR away from zero;
 *  - each of the 3 words before it that is not itself a lexicon word may
 *    be a booster (B_INCR or B_DECR, scaled 1, 0.95, 0.9 by distance, with
 *    C_INCR more in caps) and a negation (N_SCALAR), with the "never so",
 *    "never this" (x1.25) and "without doubt" special cases, and at a
 *    distance of 3 the special idioms and the two-word boosters;
 *  - "least" before a word negates it, except "at least" and "very least";
 *  - after the first "but", valences before it count half and after it one
 *    and a half (3.3.2 finds each value's position with list.index(), so
 *    a repeated value scales its first occurrence; kept as is);
 *  - up to 4 '!' add 0.292 each, 2 or 3 '?' 0.18 each, more 0.96, away
 *    from zero; compound = x / sqrt(x^2 + 15) clamped to [-1, 1].
 *
 * The one departure: case is ASCII only (str.lower() and str.isupper() in
 * Python know every script). The lexicon's reachable keys are ASCII, so
 * only the ALL-CAPS test of a word written wholly in non-ASCII letters can
 * differ.
 *
 * Unless VADER_PLAIN, hivejob adds three rules for customer feedback:
 *
 *  - the phrases of hivejob_phrases.txt ("NOT work", "stopped working",
 *    "save your money"), each with a valence, are joined into one token
 *    before the rules above run, so they are negated, boosted and weighed
 *    around "but" as any lexicon word; a single word overrides the lexicon;
 *  - a booster given a valence there ("incredible") boosts a lexicon word
 *    right after it, and otherwise counts as a word of that valence;
 *  - "too" before a word of no valence ("too small") makes that word a
 *    mild complaint; "too" followed by punctuation ("me too.") is "also".
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vader.h"

#define B_INCR		0.293
#define B_DECR		(-0.293)
#define C_INCR		0.733
#define N_SCALAR	(-0.74)
#define EP_INCR		0.292	/* per '!', up to EP_MAX */
#define EP_MAX		4
#define QM_INCR		0.18	/* per '?' when 2 or 3 */
#define QM_MANY		0.96	/* 4 or more '?' */
#define ALPHA		15.0

#define PHRASE_MAXWORDS	6
#define NGRAM_MAX	256	/* bytes of a joined n-gram worth looking up */
#define TOO_VALENCE	(-1.2)	/* "too" + a word of no valence */

/* struct word flags */
#define W_LEX		0x01	/* vader_lexicon.txt */
#define W_BOOST		0x02	/* booster or dampener */
#define W_NEGATE	0x04	/* negation word */
#define W_SPECIAL	0x08	/* special-case idiom */

/* An entry of hivejob_phrases.txt. */
struct phrase {
	char		*key;		/* the words joined by spaces */
	char		*words[PHRASE_MAXWORDS];
	int		 nwords;
	double		 valence;
	struct phrase	*next;		/* of the same first word */
};

struct word {
	const char	*key;
	size_t		 len;
	uint32_t	 hash;
	unsigned	 flags;
	double		 lex;
	double		 boost;
	double		 special;
	struct phrase	*phrases;	/* phrases starting with this word */
};

struct emoji {
	uint32_t	 cp;
	uint32_t	 order;		/* line number: the last one wins */
	const char	*desc;
};

struct vader {
	struct word	*tab;
	size_t		 mask;
	size_t		 nwords;
	size_t		 maxkey;
	struct emoji	*emoji;
	size_t		 nemoji;
	char		*files[3];
	unsigned	 flags;
	struct phrase	*phrases;	/* all of them */
	size_t		 nphrases;
	struct phrase	*notphrases;	/* those starting with NOT */
};

struct tok {
	const char	*s;		/* as written, after stripping */
	size_t		 len;
	const char	*low;		/* lower case, NUL-terminated */
	const char	*bare;		/* low without edge punctuation */
	int		 upper;		/* str.isupper() */
	int		 punct_after;	/* written with punctuation after it */
	int		 haslex;	/* a lexicon word (or a phrase) */
	int		 adjective;	/* a booster scored as a word */
	double		 lex;
	const struct word *w;		/* entry of low, or NULL */
};

static const char *const negations[] = {
	"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt",
	"doesnt", "ain't", "aren't", "can't", "couldn't", "daren't", "didn't",
	"doesn't", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt",
	"mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't",
	"mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope",
	"nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt",
	"uhuh", "wasnt", "werent", "oughtn't", "shan't", "shouldn't", "uh-uh",
	"wasn't", "weren't", "without", "wont", "wouldnt", "won't", "wouldn't",
	"rarely", "seldom", "despite",
};

static const char *const boosters_up[] = {
	"absolutely", "amazingly", "awfully", "completely", "considerable",
	"considerably", "decidedly", "deeply", "effing", "enormous",
	"enormously", "entirely", "especially", "exceptional",
	"exceptionally", "extreme", "extremely", "fabulously", "flipping",
	"flippin", "frackin", "fracking", "fricking", "frickin", "frigging",
	"friggin", "fully", "fuckin", "fucking", "fuggin", "fugging",
	"greatly", "hella", "highly", "hugely", "incredible", "incredibly",
	"intensely", "major", "majorly", "more", "most", "particularly",
	"purely", "quite", "really", "remarkably", "so", "substantially",
	"thoroughly", "total", "totally", "tremendous", "tremendously", "uber",
	"unbelievably", "unusually", "utter", "utterly", "very",
};

static const char *const boosters_down[] = {
	"almost", "barely", "hardly", "just enough", "kind of", "kinda",
	"kindof", "kind-of", "less", "little", "marginal", "marginally",
	"occasional", "occasionally", "partly", "scarce", "scarcely", "slight",
	"slightly", "somewhat", "sort of", "sorta", "sortof", "sort-of",
};

static const struct {
	const char	*key;
	double		 valence;
} specials[] = {
	{ "the shit", 3 }, { "the bomb", 3 }, { "bad ass", 1.5 },
	{ "badass", 1.5 }, { "bus stop", 0.0 }, { "yeah right", -2 },
	{ "kiss of death", -1.5 }, { "to die for", 3 },
	{ "beating heart", 3.1 }, { "broken heart", -2.9 },
};

static uint32_t		 hash(const char *, size_t);
static struct word	*word_get(struct vader *, const char *, size_t);
static const struct word *word_find(const struct vader *, const char *, size_t);
static const struct word *ngram_find(const struct vader *, const struct tok *,
			    size_t);
static char		*slurp(const char *, char *, size_t);
static char		*line_cut(char **);
static int		 parse_number(const char *, double *);
static int		 load_lexicon(struct vader *, char *, const char *,
			    char *, size_t);
static int		 load_emoji(struct vader *, char *, const char *,
			    char *, size_t);
static int		 load_phrases(struct vader *, char *, const char *,
			    char *, size_t);
static int		 emoji_cmp(const void *, const void *);
static const char	*emoji_find(const struct vader *, uint32_t);
static uint32_t		 utf8_next(const unsigned char *, const unsigned char *,
			    size_t *);
static size_t		 space_len(const unsigned char *, const unsigned char *);
static int		 is_punct(unsigned char);
static size_t		 tokenize(const struct vader *, const char *, size_t,
			    struct tok *, char *);
static int		 phrase_match(const struct phrase *, const struct tok *,
			    size_t);
static size_t		 join_phrases(const struct vader *, struct tok *,
			    size_t);
static void		 hivejob_rules(const struct vader *, struct tok *,
			    size_t);
static int		 is(const struct tok *, const char *);
static int		 negated(const struct tok *);
static double		 scalar_inc_dec(const struct tok *, double, int);
static double		 negation_check(const struct tok *, int, size_t, double);
static double		 idioms_check(const struct vader *, const struct tok *,
			    size_t, size_t, double);
static double		 least_check(const struct tok *, size_t, double);
static double		 valence_at(const struct vader *, const struct tok *,
			    size_t, size_t, int);
static void		 but_check(const struct tok *, size_t, double *);

/* FNV-1a */
static uint32_t
hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	while (len-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* The entry of key, added when missing; the table never fills up. */
static struct word *
word_get(struct vader *v, const char *key, size_t len)
{
	uint32_t	 h = hash(key, len);
	size_t		 i;
	struct word	*w;

	for (i = h & v->mask;; i = (i + 1) & v->mask) {
		w = &v->tab[i];
		if (w->key == NULL)
			break;
		if (w->hash == h && w->len == len &&
		    memcmp(w->key, key, len) == 0)
			return w;
	}
	if ((v->nwords + 1) * 2 > v->mask + 1) {
		struct word	*old = v->tab;
		size_t		 n = v->mask + 1, j;

		v->mask = n * 2 - 1;
		v->tab = xcalloc(n * 2, sizeof(*v->tab));
		for (j = 0; j < n; j++) {
			if (old[j].key == NULL)
				continue;
			for (i = old[j].hash & v->mask; v->tab[i].key != NULL;
			    i = (i + 1) & v->mask)
				;
			v->tab[i] = old[j];
		}
		free(old);
		for (i = h & v->mask; v->tab[i].key != NULL;
		    i = (i + 1) & v->mask)
			;
		w = &v->tab[i];
	}
	w->key = key;
	w->len = len;
	w->hash = h;
	v->nwords++;
	if (len > v->maxkey)
		v->maxkey = len;
	return w;
}

static const struct word *
word_find(const struct vader *v, const char *key, size_t len)
{
	uint32_t		 h;
	size_t			 i;
	const struct word	*w;

	if (len > v->maxkey)
		return NULL;
	h = hash(key, len);
	for (i = h & v->mask;; i = (i + 1) & v->mask) {
		w = &v->tab[i];
		if (w->key == NULL)
			return NULL;
		if (w->hash == h && w->len == len &&
		    memcmp(w->key, key, len) == 0)
			return w;
	}
}

/* The entry of n tokens' lower case forms joined by spaces. */
static const struct word *
ngram_find(const struct vader *v, const struct tok *t, size_t n)
{
	char	 buf[NGRAM_MAX];
	size_t	 len = 0, i, l;

	for (i = 0; i < n; i++) {
		l = strlen(t[i].low);
		if (len + l + 1 > sizeof(buf))
			return NULL;
		if (i > 0)
			buf[len++] = ' ';
		memcpy(buf + len, t[i].low, l);
		len += l;
	}
	return word_find(v, buf, len);
}

/* The whole of a file, NUL-terminated. */
static char *
slurp(const char *path, char *err, size_t errlen)
{
	char		*data;
	struct stat	 st;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, data + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", path,
			    n == 0 ? "short read" : strerror(errno));
			close(fd);
			free(data);
			return NULL;
		}
		off += (size_t)n;
	}
	data[off] = '\0';
	close(fd);
	return data;
}

/*
 * [+-]digits[.digits], as Python's float() reads the lexicon: an exact
 * integer over an exact power of ten is correctly rounded, and the locale
 * does not matter.
 */
static int
parse_number(const char *s, double *out)
{
	static const double	 p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
				    1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
				    1e14, 1e15 };
	uint64_t		 m = 0;
	int			 neg = 0, digits = 0, frac = -1;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s != '\0'; s++) {
		if (*s == '.' && frac == -1) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || digits == 15)
			return -1;
		m = m * 10 + (uint64_t)(*s - '0');
		digits++;
		if (frac != -1)
			frac++;
	}
	if (digits == 0)
		return -1;
	*out = (double)m / p10[frac == -1 ? 0 : frac];
	if (neg)
		*out = -*out;
	return 0;
}

/*
 * The next line of a file read whole, cut in place and without its
 * trailing blanks and CR; NULL at the end.
 */
static char *
line_cut(char **cur)
{
	char *line = *cur, *next, *end;

	if (*line == '\0')
		return NULL;
	if ((next = strchr(line, '\n')) != NULL)
		*next++ = '\0';
	else
		next = line + strlen(line);
	*cur = next;
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return line;
}

/*
 * Lines of TOKEN<TAB>MEAN<TAB>...; a later line for the same token wins,
 * as in a Python dict. Fields point into data, which the caller keeps.
 */
static int
load_lexicon(struct vader *v, char *data, const char *name, char *err,
    size_t errlen)
{
	char		*line, *cur, *key, *val, *end;
	struct word	*w;
	double		 d;
	size_t		 lineno = 0;

	for (cur = data; (line = line_cut(&cur)) != NULL;) {
		lineno++;
		while (*line == ' ' || *line == '\t' || *line == '\r')
			line++;
		if (*line == '\0')
			continue;
		key = line;
		if ((val = strchr(key, '\t')) == NULL)
			goto bad;
		*val++ = '\0';
		if ((end = strchr(val, '\t')) != NULL)
			*end = '\0';
		if (parse_number(val, &d) == -1)
			goto bad;
		w = word_get(v, key, strlen(key));
		w->flags |= W_LEX;
		w->lex = d;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s line %zu: not TOKEN<TAB>VALENCE", name,
	    lineno);
	return -1;
}

/*
 * Lines of EMOJI<TAB>DESCRIPTION. Python replaces one character at a
 * time, so only single code points can ever match: the rest are skipped.
 */
static int
load_emoji(struct vader *v, char *data, const char *name, char *err,
    size_t errlen)
{
	char			*line, *cur, *desc, *end;
	const unsigned char	*k;
	size_t			 lineno = 0, n, cap = 0, i, j;
	uint32_t		 cp;

	for (cur = data; (line = line_cut(&cur)) != NULL;) {
		lineno++;
		if (*line == '\0')
			continue;
		if ((desc = strchr(line, '\t')) == NULL) {
			snprintf(err, errlen,
			    "%s line %zu: not EMOJI<TAB>DESCRIPTION", name,
			    lineno);
			return -1;
		}
		*desc++ = '\0';
		if ((end = strchr(desc, '\t')) != NULL)
			*end = '\0';
		k = (const unsigned char *)line;
		cp = utf8_next(k, k + strlen(line), &n);
		if (k[n] != '\0' || cp == UINT32_MAX)
			continue;
		if (v->nemoji == cap) {
			cap = cap ? cap * 2 : 2048;
			v->emoji = xrealloc(v->emoji, cap * sizeof(*v->emoji));
		}
		v->emoji[v->nemoji].cp = cp;
		v->emoji[v->nemoji].order = (uint32_t)lineno;
		v->emoji[v->nemoji].desc = desc;
		v->nemoji++;
	}
	qsort(v->emoji, v->nemoji, sizeof(*v->emoji), emoji_cmp);
	for (i = j = 0; i < v->nemoji; i++) {
		if (i + 1 < v->nemoji && v->emoji[i + 1].cp == v->emoji[i].cp)
			continue;
		v->emoji[j++] = v->emoji[i];
	}
	v->nemoji = j;
	return 0;
}

/*
 * hivejob_phrases.txt: '#' comments, blank lines, and lines of
 * PHRASE<TAB>VALENCE: lower case words separated by single spaces, where
 * NOT stands for any negation and * for any one word (never the first).
 */
static int
load_phrases(struct vader *v, char *data, const char *name, char *err,
    size_t errlen)
{
	char		*line, *cur, *val, *p, *q, *sp;
	struct phrase	*ph;
	struct word	*w;
	size_t		 lineno = 0, cap = 0, i;

	for (cur = data; (line = line_cut(&cur)) != NULL;) {
		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		if ((val = strchr(line, '\t')) == NULL)
			goto bad;
		*val++ = '\0';
		while (*val == '\t')
			val++;
		if (v->nphrases == cap) {
			cap = cap ? cap * 2 : 64;
			v->phrases = xrealloc(v->phrases,
			    cap * sizeof(*v->phrases));
		}
		ph = &v->phrases[v->nphrases];
		memset(ph, 0, sizeof(*ph));
		if (parse_number(val, &ph->valence) == -1 || *line == ' ')
			goto bad;
		/* The key stays whole; the words are copied apart. */
		ph->key = line;
		p = xstrdup(line);
		for (q = strtok_r(p, " ", &sp); q != NULL;
		    q = strtok_r(NULL, " ", &sp)) {
			if (ph->nwords == PHRASE_MAXWORDS) {
				free(p);
				goto bad;
			}
			ph->words[ph->nwords++] = q;
		}
		if (ph->nwords == 0 || strstr(line, "  ") != NULL ||
		    strcmp(ph->words[0], "*") == 0) {
			free(p);
			goto bad;
		}
		for (i = 0; i < (size_t)ph->nwords; i++) {
			if (strcmp(ph->words[i], "NOT") != 0 &&
			    strpbrk(ph->words[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
				free(p);
				goto bad;
			}
		}
		v->nphrases++;
	}
	/* Chained once the array has stopped moving. */
	for (i = 0; i < v->nphrases; i++) {
		ph = &v->phrases[i];
		if (strcmp(ph->words[0], "NOT") == 0) {
			ph->next = v->notphrases;
			v->notphrases = ph;
		} else {
			w = word_get(v, ph->words[0], strlen(ph->words[0]));
			ph->next = w->phrases;
			w->phrases = ph;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "%s line %zu: not PHRASE<TAB>VALENCE (lower "
	    "case but NOT, at most %d words)", name, lineno, PHRASE_MAXWORDS);
	return -1;
}

static int
emoji_cmp(const void *a, const void *b)
{
	const struct emoji *x = a, *y = b;

	if (x->cp != y->cp)
		return x->cp < y->cp ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *
emoji_find(const struct vader *v, uint32_t cp)
{
	size_t lo = 0, hi = v->nemoji, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->emoji[mid].cp == cp)
			return v->emoji[mid].desc;
		if (v->emoji[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct vader *
vader_load(const char *dir, char *err, size_t errlen)
{
	return vader_load_flags(dir, 0, err, errlen);
}

struct vader *
vader_load_flags(const char *dir, unsigned flags, char *err, size_t errlen)
{
	static const char *const names[] = { "vader_lexicon.txt",
				    "emoji_utf8_lexicon.txt",
				    "hivejob_phrases.txt" };
	struct vader	*v;
	struct word	*w;
	char		*paths[3];
	size_t		 i, nfiles;
	int		 rc = 0;

	v = xcalloc(1, sizeof(*v));
	v->flags = flags;
	v->mask = 16384 - 1;
	v->tab = xcalloc(v->mask + 1, sizeof(*v->tab));
	nfiles = (flags & VADER_PLAIN) ? 2 : 3;
	for (i = 0; i < nfiles; i++)
		paths[i] = xasprintf("%s/%s", dir, names[i]);
	for (i = 0; i < nfiles && rc == 0; i++) {
		if ((v->files[i] = slurp(paths[i], err, errlen)) == NULL)
			rc = -1;
	}
	if (rc == 0)
		rc = load_lexicon(v, v->files[0], paths[0], err, errlen);
	if (rc == 0)
		rc = load_emoji(v, v->files[1], paths[1], err, errlen);
	if (rc == 0 && nfiles > 2)
		rc = load_phrases(v, v->files[2], paths[2], err, errlen);
	for (i = 0; i < nfiles; i++)
		free(paths[i]);
	if (rc == -1) {
		vader_free(v);
		return NULL;
	}
	for (i = 0; i < nitems(negations); i++)
		word_get(v, negations[i], strlen(negations[i]))->flags |=
		    W_NEGATE;
	for (i = 0; i < nitems(boosters_up); i++) {
		w = word_get(v, boosters_up[i], strlen(boosters_up[i]));
		w->flags |= W_BOOST;
		w->boost = B_INCR;
	}
	for (i = 0; i < nitems(boosters_down); i++) {
		w = word_get(v, boosters_down[i], strlen(boosters_down[i]));
		w->flags |= W_BOOST;
		w->boost = B_DECR;
	}
	for (i = 0; i < nitems(specials); i++) {
		w = word_get(v, specials[i].key, strlen(specials[i].key));
		w->flags |= W_SPECIAL;
		w->special = specials[i].valence;
	}
	return v;
}

void
vader_free(struct vader *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < nitems(v->files); i++)
		free(v->files[i]);
	for (i = 0; i < v->nphrases; i++)
		free(v->phrases[i].words[0]);
	free(v->phrases);
	free(v->tab);
	free(v->emoji);
	free(v);
}

/*
 * The code point at p and its length in *len; UINT32_MAX (and length 1)
 * for a byte that does not start a valid UTF-8 sequence.
 */
static uint32_t
utf8_next(const unsigned char *p, const unsigned char *end, size_t *len)
{
	uint32_t	cp;
	size_t		n, i;

	*len = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return UINT32_MAX;
	if ((size_t)(end - p) < n)
		return UINT32_MAX;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return UINT32_MAX;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return UINT32_MAX;
	*len = n;
	return cp;
}

/* The length of the white space character at p (str.isspace()), or 0. */
static size_t
space_len(const unsigned char *p, const unsigned char *end)
{
	uint32_t	cp;
	size_t		n;

	if (*p < 0x80)
		return (*p == ' ' || (*p >= '\t' && *p <= '\r') ||
		    (*p >= 0x1c && *p <= 0x1f)) ? 1 : 0;
	cp = utf8_next(p, end, &n);
	switch (cp) {
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return n;
	default:
		return (cp >= 0x2000 && cp <= 0x200a) ? n : 0;
	}
}

/* Python's string.punctuation */
static int
is_punct(unsigned char c)
{
	return c != '\0' && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c);
}

/*
 * SentiText's words_and_emoticons: t gets the tokens, low their lower
 * case and bare forms (room for 2 * (len + tokens) bytes). Returns the
 * count.
 */
static size_t
tokenize(const struct vader *v, const char *text, size_t len, struct tok *t,
    char *low)
{
	const unsigned char	*p = (const unsigned char *)text;
	const unsigned char	*end = p + len, *s, *e, *a, *b;
	size_t			 n = 0, sl, chars, i;
	int			 lower, upper;
	char			*l;

	while (p < end) {
		if ((sl = space_len(p, end)) > 0) {
			p += sl;
			continue;
		}
		for (s = p; p < end && space_len(p, end) == 0; p++)
			;
		e = p;
		for (a = s; a < e && is_punct(*a); a++)
			;
		for (b = e; b > a && is_punct(b[-1]); b--)
			;
		t[n].punct_after = b < e;
		for (chars = 0, i = 0; a + i < b; i++)
			chars += (a[i] & 0xc0) != 0x80;
		if (chars > 2) {
			s = a;
			e = b;
		}
		t[n].s = (const char *)s;
		t[n].len = (size_t)(e - s);
		t[n].low = l = low;
		lower = upper = 0;
		for (i = 0; i < t[n].len; i++) {
			unsigned char c = s[i];

			if (c >= 'A' && c <= 'Z') {
				upper = 1;
				c += 'a' - 'A';
			} else if (c >= 'a' && c <= 'z')
				lower = 1;
			*l++ = (char)c;
		}
		*l++ = '\0';
		t[n].upper = upper && !lower;
		/* What phrases are matched on: no edge punctuation. */
		t[n].bare = l;
		for (i = 0; i < (size_t)(b - a); i++)
			*l++ = t[n].low[(size_t)(a - s) + i];
		if (chars > 2)
			t[n].bare = t[n].low;
		*l++ = '\0';
		low = l;
		t[n].w = word_find(v, t[n].low, t[n].len);
		t[n].haslex = t[n].w != NULL && (t[n].w->flags & W_LEX);
		t[n].lex = t[n].haslex ? t[n].w->lex : 0;
		t[n].adjective = 0;
		n++;
	}
	return n;
}

/* Whether phrase p matches the words from t on (n of them). */
static int
phrase_match(const struct phrase *p, const struct tok *t, size_t n)
{
	int k;

	if ((size_t)p->nwords > n)
		return 0;
	for (k = 0; k < p->nwords; k++) {
		if (strcmp(p->words[k], "NOT") == 0) {
			if (!negated(&t[k]))
				return 0;
		} else if (strcmp(p->words[k], "*") == 0) {
			if (t[k].bare[0] == '\0')
				return 0;
		} else if (strcmp(p->words[k], t[k].bare) != 0)
			return 0;
	}
	return 1;
}

/*
 * The longest phrase starting at a word takes the place of its words, as
 * one lexicon word with the phrase's valence. A booster alone is left to
 * hivejob_rules.
 */
static size_t
join_phrases(const struct vader *v, struct tok *t, size_t n)
{
	const struct phrase	*p, *best;
	const struct word	*w;
	size_t			 i, k, out = 0;
	int			 upper, pass;

	for (i = 0; i < n; i += best != NULL ? (size_t)best->nwords : 1) {
		best = NULL;
		w = word_find(v, t[i].bare, strlen(t[i].bare));
		for (pass = 0; pass < 2; pass++) {
			p = pass == 0 ? (negated(&t[i]) ? v->notphrases : NULL) :
			    (w != NULL ? w->phrases : NULL);
			for (; p != NULL; p = p->next) {
				if ((best == NULL || p->nwords > best->nwords) &&
				    phrase_match(p, &t[i], n - i))
					best = p;
			}
		}
		if (best != NULL && best->nwords == 1 && t[i].w != NULL &&
		    (t[i].w->flags & W_BOOST))
			best = NULL;
		t[out] = t[i];
		if (best != NULL) {
			upper = 1;
			for (k = 0; k < (size_t)best->nwords; k++)
				upper &= t[i + k].upper;
			k = (size_t)best->nwords - 1;
			t[out].len = (size_t)(t[i + k].s + t[i + k].len - t[i].s);
			t[out].punct_after = t[i + k].punct_after;
			t[out].upper = upper;
			if (best->nwords > 1)
				t[out].low = t[out].bare = best->key;
			t[out].w = best->nwords > 1 ? NULL : t[i].w;
			t[out].haslex = 1;
			t[out].lex = best->valence;
		}
		out++;
	}
	return out;
}

/*
 * Two rules of hivejob's own, on top of the phrases:
 *  - a booster that is also a judgement ("incredible", with a valence in
 *    the phrases file) boosts a lexicon word right after it, as VADER has
 *    it, and otherwise counts as a word of that valence ("incredible
 *    pictures");
 *  - "too" before a word of no valence ("too small", "too slow") makes it
 *    a mild complaint, TOO_VALENCE; "too" followed by punctuation or by
 *    nothing means "also" and is left alone.
 */
static void
hivejob_rules(const struct vader *v, struct tok *t, size_t n)
{
	const struct word	*w;
	const struct phrase	*p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (t[i].w != NULL && (t[i].w->flags & W_BOOST) &&
		    (i + 1 == n || !t[i + 1].haslex)) {
			w = word_find(v, t[i].bare, strlen(t[i].bare));
			for (p = w != NULL ? w->phrases : NULL; p != NULL;
			    p = p->next) {
				if (p->nwords == 1) {
					t[i].haslex = t[i].adjective = 1;
					t[i].lex = p->valence;
					break;
				}
			}
		}
		if (is(&t[i], "too") && !t[i].punct_after && i + 1 < n &&
		    !t[i + 1].haslex && t[i + 1].bare[0] != '\0' &&
		    (t[i + 1].w == NULL ||
		    !(t[i + 1].w->flags & (W_BOOST | W_NEGATE)))) {
			t[i + 1].haslex = 1;
			t[i + 1].lex = TOO_VALENCE;
		}
	}
}

static int
is(const struct tok *t, const char *s)
{
	return strcmp(t->low, s) == 0;
}

static int
negated(const struct tok *t)
{
	return (t->w != NULL && (t->w->flags & W_NEGATE)) ||
	    strstr(t->low, "n't") != NULL;
}

static double
scalar_inc_dec(const struct tok *t, double valence, int capdiff)
{
	double scalar;

	if (t->w == NULL || !(t->w->flags & W_BOOST))
		return 0.0;
	scalar = t->w->boost;
	if (valence < 0)
		scalar = -scalar;
	if (t->upper && capdiff)
		scalar += valence > 0 ? C_INCR : -C_INCR;
	return scalar;
}

/*
 * The word k + 1 before t[i] negates it, with the "never so/this" and
 * "without doubt" special cases. At k == 2, 3.3.2 reads
 * "A and B or C" as "(A and B) or C": t[i - 1] being "so" or "this" is
 * enough for the x1.25. Kept.
 */
static double
negation_check(const struct tok *t, int k, size_t i, double valence)
{
	switch (k) {
	case 0:
		if (negated(&t[i - 1]))
			valence *= N_SCALAR;
		break;
	case 1:
		if (is(&t[i - 2], "never") &&
		    (is(&t[i - 1], "so") || is(&t[i - 1], "this")))
			valence *= 1.25;
		else if (is(&t[i - 2], "without") && is(&t[i - 1], "doubt"))
			;
		else if (negated(&t[i - 2]))
			valence *= N_SCALAR;
		break;
	case 2:
		if ((is(&t[i - 3], "never") &&
		    (is(&t[i - 2], "so") || is(&t[i - 2], "this"))) ||
		    is(&t[i - 1], "so") || is(&t[i - 1], "this"))
			valence *= 1.25;
		else if (is(&t[i - 3], "without") &&
		    (is(&t[i - 2], "doubt") || is(&t[i - 1], "doubt")))
			;
		else if (negated(&t[i - 3]))
			valence *= N_SCALAR;
		break;
	}
	return valence;
}

/* Special idioms around t[i] (i >= 3), then two- and three-word boosters. */
static double
idioms_check(const struct vader *v, const struct tok *t, size_t n, size_t i,
    double valence)
{
	static const struct {
		size_t	back, len;
	} seqs[] = { { 1, 2 }, { 2, 3 }, { 2, 2 }, { 3, 3 }, { 3, 2 } };
	const struct word	*w;
	size_t			 k;

	for (k = 0; k < nitems(seqs); k++) {
		w = ngram_find(v, &t[i - seqs[k].back], seqs[k].len);
		if (w != NULL && (w->flags & W_SPECIAL)) {
			valence = w->special;
			break;
		}
	}
	if (n - 1 > i && (w = ngram_find(v, &t[i], 2)) != NULL &&
	    (w->flags & W_SPECIAL))
		valence = w->special;
	if (n - 1 > i + 1 && (w = ngram_find(v, &t[i], 3)) != NULL &&
	    (w->flags & W_SPECIAL))
		valence = w->special;
	if ((w = ngram_find(v, &t[i - 3], 3)) != NULL && (w->flags & W_BOOST))
		valence += w->boost;
	if ((w = ngram_find(v, &t[i - 3], 2)) != NULL && (w->flags & W_BOOST))
		valence += w->boost;
	if ((w = ngram_find(v, &t[i - 2], 2)) != NULL && (w->flags & W_BOOST))
		valence += w->boost;
	return valence;
}

static double
least_check(const struct tok *t, size_t i, double valence)
{
	if (i > 1 && !t[i - 1].haslex && is(&t[i - 1], "least")) {
		if (!is(&t[i - 2], "at") && !is(&t[i - 2], "very"))
			valence *= N_SCALAR;
	} else if (i > 0 && !t[i - 1].haslex && is(&t[i - 1], "least"))
		valence *= N_SCALAR;
	return valence;
}

/* sentiment_valence() for t[i]. */
static double
valence_at(const struct vader *v, const struct tok *t, size_t n, size_t i,
    int capdiff)
{
	double	valence, s;
	size_t	k;

	if (!t[i].haslex)
		return 0.0;
	valence = t[i].lex;
	if (is(&t[i], "no") && i != n - 1 && t[i + 1].haslex)
		valence = 0.0;
	if ((i > 0 && is(&t[i - 1], "no")) || (i > 1 && is(&t[i - 2], "no")) ||
	    (i > 2 && is(&t[i - 3], "no") &&
	    (is(&t[i - 1], "or") || is(&t[i - 1], "nor"))))
		valence = t[i].lex * N_SCALAR;
	if (t[i].upper && capdiff)
		valence += valence > 0 ? C_INCR : -C_INCR;
	for (k = 0; k < 3; k++) {
		if (i <= k || t[i - k - 1].haslex)
			continue;
		s = scalar_inc_dec(&t[i - k - 1], valence, capdiff);
		if (k == 1)
			s *= 0.95;
		else if (k == 2)
			s *= 0.9;
		valence += s;
		valence = negation_check(t, (int)k, i, valence);
		if (k == 2)
			valence = idioms_check(v, t, n, i, valence);
	}
	return least_check(t, i, valence);
}

/*
 * After the first "but": before x0.5, after x1.5. Python walks the list
 * and rescales the first element equal to the current one
 * (sentiments.index()); the same walk here.
 */
static void
but_check(const struct tok *t, size_t n, double *sent)
{
	size_t	bi, k, si;
	double	s;

	for (bi = 0; bi < n && !is(&t[bi], "but"); bi++)
		;
	if (bi == n)
		return;
	for (k = 0; k < n; k++) {
		s = sent[k];
		for (si = 0; sent[si] != s; si++)
			;
		if (si < bi)
			sent[si] = s * 0.5;
		else if (si > bi)
			sent[si] = s * 1.5;
	}
}

void
vader_score(const struct vader *v, const char *text, struct vader_scores *out)
{
	struct buf		 b;
	const unsigned char	*p, *end;
	const char		*desc, *s;
	struct tok		*t;
	char			*low;
	double			*sent, sum, pos, neg, amp, total;
	size_t			 len, n, max, i, cl, allcaps, ep = 0, qm = 0, neu;
	uint32_t		 cp;
	int			 prev_space = 1, capdiff;

	/* Emoji become their descriptions. */
	buf_init(&b);
	len = strlen(text);
	p = (const unsigned char *)text;
	end = p + len;
	for (i = 0; i < len; i += cl) {
		cp = utf8_next(p + i, end, &cl);
		if (v->nemoji > 0 && cp >= v->emoji[0].cp &&
		    (desc = emoji_find(v, cp)) != NULL) {
			if (b.data == NULL)
				buf_add(&b, text, i);
			if (!prev_space)
				buf_addc(&b, ' ');
			buf_adds(&b, desc);
			prev_space = 0;
			continue;
		}
		if (b.data != NULL)
			buf_add(&b, p + i, cl);
		prev_space = cp == ' ';
	}
	s = text;
	if (b.data != NULL) {
		s = b.data;
		len = b.len;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '!')
			ep++;
		else if (s[i] == '?')
			qm++;
	}

	/*
	 * At most one token per two bytes; the lower case and bare forms
	 * take at most len + max bytes each.
	 */
	max = len / 2 + 1;
	t = xmalloc(max * sizeof(*t));
	low = xmalloc(2 * (len + max));
	sent = xmalloc(max * sizeof(*sent));
	n = tokenize(v, s, len, t, low);
	if (!(v->flags & VADER_PLAIN)) {
		n = join_phrases(v, t, n);
		hivejob_rules(v, t, n);
	}

	for (allcaps = 0, i = 0; i < n; i++)
		allcaps += t[i].upper != 0;
	capdiff = n - allcaps > 0 && n - allcaps < n;

	for (i = 0; i < n; i++) {
		if ((t[i].w != NULL && (t[i].w->flags & W_BOOST) &&
		    !t[i].adjective) ||
		    (i < n - 1 && is(&t[i], "kind") && is(&t[i + 1], "of")))
			sent[i] = 0;
		else
			sent[i] = valence_at(v, t, n, i, capdiff);
	}
	but_check(t, n, sent);

	memset(out, 0, sizeof(*out));
	if (n > 0) {
		amp = (ep > EP_MAX ? EP_MAX : ep) * EP_INCR;
		if (qm > 3)
			amp += QM_MANY;
		else if (qm > 1)
			amp += qm * QM_INCR;
		for (sum = pos = neg = 0, neu = 0, i = 0; i < n; i++) {
			sum += sent[i];
			if (sent[i] > 0)
				pos += sent[i] + 1;
			else if (sent[i] < 0)
				neg += sent[i] - 1;
			else
				neu++;
		}
		if (sum > 0)
			sum += amp;
		else if (sum < 0)
			sum -= amp;
		out->compound = sum / sqrt(sum * sum + ALPHA);
		if (out->compound < -1.0)
			out->compound = -1.0;
		else if (out->compound > 1.0)
			out->compound = 1.0;
		if (pos > fabs(neg))
			pos += amp;
		else if (pos < fabs(neg))
			neg -= amp;
		total = pos + fabs(neg) + (double)neu;
		out->pos = fabs(pos / total);
		out->neg = fabs(neg / total);
		out->neu = fabs((double)neu / total);
	}
	free(sent);
	free(low);
	free(t);
	buf_free(&b);
}
