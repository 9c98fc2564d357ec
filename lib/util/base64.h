/*
 * base64 - RFC 4648 base64, strict or lenient, into a bounded strbuf
 *
 * One decoder for everything that reads base64: SASL responses (strict:
 * RFC 4954 wants canonical padding), RFC 2047 encoded words (padding may
 * be missing, as every mailer forgives) and MIME bodies (lenient, RFC 2045
 * §6.8: characters outside the alphabet are skipped, '=' ends the data).
 * Output goes to a strbuf, so its limit bounds what a peer can make us
 * allocate.  IMAP's modified base64 (RFC 3501 §5.1.3) has another alphabet
 * and lives in imap_utf7.c.
 */
#ifndef FACTEUR_BASE64_H
#define FACTEUR_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

enum base64_mode {
	BASE64_STRICT,	     /* length a multiple of 4, '=' only as padding */
	BASE64_PAD_OPTIONAL, /* as strict, but the padding may be left out */
	BASE64_LENIENT,	     /* RFC 2045: skip junk, stop at '=' */
};

/* The 6-bit value of c in the alphabet, or -1. */
int base64_value(unsigned char c);

/*
 * base64_decode - append the decoding of in to out.  Returns 0; 1 in
 * lenient mode when the input was damaged (junk other than white space,
 * a dangling character) but decoded anyway; -1 for input the mode
 * refuses or when out's limit was reached (out then holds part of it).
 */
int base64_decode(const void *in, size_t len, enum base64_mode mode,
		  struct strbuf *out);

/* base64_valid - whether in is strict base64 (non-empty). */
bool base64_valid(const void *in, size_t len);

/* base64_encode - append the padded encoding of in; -1 at out's limit. */
int base64_encode(const void *in, size_t len, struct strbuf *out);

#endif
