/*
 * text: make untrusted text (a worker's output, an HTTP response, an error)
 * safe to store in a row, print on a terminal or write to a log.
 */
#ifndef HIVEJOB_TEXT_H
#define HIVEJOB_TEXT_H

#include <stddef.h>

/*
 * Copy at most cap bytes of valid UTF-8 derived from in[0..len) into a new
 * NUL-terminated string: NUL bytes removed, each byte that does not begin a
 * well-formed sequence (overlong forms, surrogates and code points past
 * U+10FFFF are not well formed) replaced by U+FFFD, terminal escape
 * sequences removed whole (ESC [ ... final byte; ESC ] ... BEL or ESC \;
 * ESC P, X, ^ or _ ... ESC \; any other ESC, its intermediate bytes and
 * one more byte), C1 controls U+0080..U+009F removed, those that introduce
 * sequences (CSI U+009B, OSC U+009D, ...) with their sequences, and every
 * other C0 control but \n and \t, and DEL, removed. An unterminated
 * sequence runs to the end of the input. The result's strlen is at most
 * cap; a cut text ends with "..." within cap and is never cut inside a
 * UTF-8 sequence. cap >= 4. Reading stops once cap is reached, so a huge
 * input costs little. Returns NULL only if in is NULL.
 *
 * Sanitize before redacting: an escape sequence inside a secret would
 * hide it from text_redact and then vanish. To cap a redacted text, give
 * text_sanitize a cap of SIZE_MAX, redact, then sanitize again with the
 * real cap, so that the cut cannot leave half a secret.
 */
char	*text_sanitize(const char *, size_t, size_t);

/*
 * Replace every occurrence of each secret of at least 4 bytes (shorter
 * ones and NULLs are ignored) in s with "[REDACTED]". Occurrences that
 * overlap, of one secret or of several, become one "[REDACTED]", so no
 * part of any secret survives. s must come from malloc; if anything was
 * replaced it is freed and a new string returned, so always use the
 * return value. nsecrets may be 0.
 */
char	*text_redact(char *, const char *const *, size_t);

/*
 * The last line of s[0..len) that is not blank, without its trailing
 * spaces, tabs and CR (a new string; "" if none).
 */
char	*text_last_line(const char *, size_t);

#endif
