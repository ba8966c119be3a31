/*
 * text: make untrusted text (a worker's output, an HTTP response, an error)
 * safe to store in a row, print on a terminal or write to a log.
 */
#ifndef HIVEJOB_TEXT_H
#define HIVEJOB_TEXT_H

#include <stddef.h>

/*
 * Copy at most cap bytes of valid UTF-8 derived from in[0..len) into a new
 * NUL-terminated string: NUL bytes removed, invalid UTF-8 sequences replaced
 * by U+FFFD, terminal escape sequences removed whole (ESC [ ... final byte,
 * ESC ] ... BEL or ESC \, any other ESC x, and C1 controls U+0080..U+009F
 * including CSI U+009B), and every other C0 control but \n and \t, and DEL,
 * removed. Never cut inside a UTF-8 sequence; a cut text ends with "..."
 * within cap. cap >= 4. Returns NULL only if in is NULL.
 */
char	*text_sanitize(const char *, size_t, size_t);

/*
 * Replace every occurrence of each non-empty secret (of at least 4 bytes)
 * in s, in place or by reallocation, with "[REDACTED]". Returns the
 * (possibly new) string. nsecrets may be 0.
 */
char	*text_redact(char *, const char *const *, size_t);

/* The last line of text that is not blank (a new string; "" if none). */
char	*text_last_line(const char *, size_t);

#endif
