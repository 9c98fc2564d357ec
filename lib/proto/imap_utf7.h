/*
 * imap_utf7 - modified UTF-7 mailbox names (RFC 3501 §5.1.3)
 *
 * IMAP4rev1 clients name mailboxes in modified UTF-7: printable ASCII
 * stands for itself ('&' as "&-"), everything else is UTF-16 in a
 * modified BASE64 (',' for '/', no padding) between '&' and '-'.  IMAP4rev2
 * (RFC 9051 §5.1, UTF8=ACCEPT) uses UTF-8 instead; the store keeps UTF-8,
 * so imapd converts at the edge with these functions.
 *
 * Both directions are strict, so that decode(encode(x)) == x and
 * encode(decode(y)) == y whenever they succeed: see imap_utf7.c.
 */
#ifndef FACTEUR_IMAP_UTF7_H
#define FACTEUR_IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/*
 * Append the mUTF-7 form of the UTF-8 src[0..len) to out.  Returns 0, or
 * -1 (out truncated back to its old length) when src is not valid UTF-8,
 * holds NUL, or out's limit is reached.
 */
int imap_utf8_to_utf7(const char *src, size_t len, struct strbuf *out);

/*
 * Append the UTF-8 form of the mUTF-7 src[0..len) to out.  Returns 0, or
 * -1 (out truncated back) for anything not in canonical mUTF-7: bytes
 * outside 0x20..0x7e, '&' in BASE64 (other than "&-"), an unterminated
 * shift, a bad BASE64 character, non-zero or excess padding bits, printable
 * ASCII or NUL encoded in BASE64, a lone or reversed surrogate, two shifts
 * in a row ("&AOQ-&AOQ-" is spelled "&AOQA5A-"), or out's limit reached.
 */
int imap_utf7_to_utf8(const char *src, size_t len, struct strbuf *out);

/* Is src[0..len) canonical mUTF-7 (what imap_utf7_to_utf8 accepts)? */
bool imap_utf7_is_valid(const char *src, size_t len);

#endif
