/*
 * base64 - RFC 4648 base64, strict or lenient, into a bounded strbuf
 *
 * SYNOPSIS
 *	#include "base64.h"
 *
 * DESCRIPTION
 *	See base64.h.  Decoding keeps a 24-bit accumulator and flushes it
 *	every four characters; the tail (two or three characters) yields one
 *	or two bytes, a single dangling character none.
 *
 * DIAGNOSTICS
 *	-1 for refused input or a full output buffer; 1 for damage that the
 *	lenient mode decoded past.
 */
#include "autoconf.h"

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_value - a character's 6-bit value, or -1 */
int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* flush_tail - the bytes of a final group of n (2 or 3) characters */
static int flush_tail(unsigned long acc, size_t n, struct strbuf *out)
{
	char b[2];

	acc <<= 6 * (4 - n);
	b[0] = (char)(acc >> 16);
	b[1] = (char)(acc >> 8);
	return strbuf_append(out, b, n - 1);
}

/* base64_decode - decode in the given mode */
int base64_decode(const void *in, size_t len, enum base64_mode mode,
		  struct strbuf *out)
{
	const unsigned char *s = in;
	unsigned long acc = 0;
	size_t i, n = 0, pad = 0;
	int damaged = 0;

	if (mode == BASE64_STRICT && len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		int v = base64_value(s[i]);

		if (s[i] == '=') {
			if (mode == BASE64_LENIENT)
				break; /* padding: the end of the data */
			/* At most two, and only at the very end. */
			if (++pad > 2 || (mode == BASE64_STRICT && i + 2 < len))
				return -1;
			continue;
		}
		if (v < 0) {
			if (mode != BASE64_LENIENT)
				return -1;
			if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' &&
			    s[i] != '\t')
				damaged = 1;
			continue;
		}
		if (pad > 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		if (++n == 4) {
			char b[3] = {(char)(acc >> 16), (char)(acc >> 8),
				     (char)acc};

			if (strbuf_append(out, b, 3) < 0)
				return -1;
			acc = 0;
			n = 0;
		}
	}
	if (n == 1) {
		if (mode != BASE64_LENIENT)
			return -1;
		damaged = 1;
	} else if (n >= 2 && flush_tail(acc, n, out) < 0) {
		return -1;
	}
	/* Strict padding, when present, completes the last group. */
	if (mode == BASE64_STRICT && pad > 0 && (n == 0 || n + pad != 4))
		return -1;
	return damaged;
}

/* base64_valid - strict syntax check without decoding */
bool base64_valid(const void *in, size_t len)
{
	const unsigned char *s = in;
	size_t pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i + 2 < len)
				return false;
			pad++;
		} else if (pad > 0 || base64_value(s[i]) < 0) {
			return false;
		}
	}
	return true;
}

/* base64_encode - padded encoding */
int base64_encode(const void *in, size_t len, struct strbuf *out)
{
	const unsigned char *s = in;
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 |
				  (unsigned long)s[i + 1] << 8 | s[i + 2];
		char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63],
			     alphabet[(v >> 6) & 63], alphabet[v & 63]};

		if (strbuf_append(out, q, 4) < 0)
			return -1;
	}
	if (i < len) {
		unsigned long v = (unsigned long)s[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (unsigned long)s[i + 1] << 8;
		q[0] = alphabet[v >> 18];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		q[3] = '=';
		if (strbuf_append(out, q, 4) < 0)
			return -1;
	}
	return 0;
}
