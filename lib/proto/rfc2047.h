/*
 * rfc2047.h - MIME encoded-word decoding and charset conversion to UTF-8
 */
#ifndef FACTEUR_RFC2047_H
#define FACTEUR_RFC2047_H

#include <stddef.h>

#include "strbuf.h"

/* Longest encoded word looked at (RFC 2047 §2 says 75; broken mailers
 * send longer ones, which we still decode up to this size). */
#define RFC2047_WORD_MAX 2048

/*
 * Is the charset one we convert?  cs[0..len) is the name without
 * quotes; an RFC 2231 language suffix ("utf-8*en") is ignored.  Known:
 * UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15, Windows-1252 (and their
 * usual aliases).
 */
int rfc2047_charset_known(const char *cs, size_t len);

/*
 * Append in[0..len), in charset cs, to out as UTF-8.  Bytes that do
 * not map (8-bit in US-ASCII, malformed UTF-8) become U+FFFD, so out
 * always receives valid UTF-8.  Returns 0; -1 for an unknown charset
 * (nothing appended) or when out's limit was hit.
 */
int rfc2047_convert(const char *cs, size_t cslen, const void *in, size_t len,
		    struct strbuf *out);

/*
 * Decode the encoded words (RFC 2047 §2-§6) of a header value to UTF-8
 * and append the result to out.  Q and B encodings are handled;
 * white space between two encoded words is dropped (§6.2), and
 * adjacent words in the same charset are joined before conversion, so
 * a character split across words survives.  A word that is not valid
 * (unknown charset, bad base64, no "?=") is copied as it is.  Text
 * outside words is copied, with malformed UTF-8 replaced by U+FFFD.
 * Returns 0, or -1 when out's limit was hit.
 */
int rfc2047_decode(const char *in, size_t len, struct strbuf *out);

#endif
