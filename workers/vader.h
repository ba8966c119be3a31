/*
 * vader: sentiment of a short English text with VADER (Hutto and Gilbert,
 * ICWSM 2014), a lexicon and rules; no network and no model weights.
 * The scoring follows vaderSentiment 3.3.2's SentimentIntensityAnalyzer;
 * the lexicon files and their MIT licence are in data/vader/.
 */
#ifndef HIVEJOB_VADER_H
#define HIVEJOB_VADER_H

#include <stddef.h>

struct vader;

struct vader_scores {
	double	neg, neu, pos;	/* proportions, summing to 1 (0 for no words) */
	double	compound;	/* normalised sum of valences, -1..1 */
};

/* Labels from the compound score, as VADER's authors suggest. */
#define VADER_POSITIVE	0.05	/* compound >= this: positive */
#define VADER_NEGATIVE	-0.05	/* compound <= this: negative */

/* vader_load_flags: */
#define VADER_PLAIN	0x01	/* vaderSentiment 3.3.2 only: no hivejob rules */

/*
 * Read vader_lexicon.txt, emoji_utf8_lexicon.txt and, unless VADER_PLAIN,
 * hivejob_phrases.txt from dir. NULL with a message in err on failure.
 * vader_load is vader_load_flags with no flags.
 */
struct vader	*vader_load(const char *, char *, size_t);
struct vader	*vader_load_flags(const char *, unsigned, char *, size_t);
void		 vader_free(struct vader *);

/* Score a NUL-terminated UTF-8 text. Safe to call from several threads. */
void		 vader_score(const struct vader *, const char *,
		    struct vader_scores *);

#endif
