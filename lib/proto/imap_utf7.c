/*
 * imap_utf7 - modified UTF-7 mailbox names (RFC 3501 §5.1.3)
 *
 * SYNOPSIS
 *	#include "imap_utf7.h"
 *
 *	int imap_utf8_to_utf7(src, len, out)
 *	int imap_utf7_to_utf8(src, len, out)
 *	bool imap_utf7_is_valid(src, len)
 *
 * DESCRIPTION
 *	Encoding: printable US-ASCII (0x20..0x7e) represents itself, '&' is
 *	"&-", and each maximal run of other characters becomes its UTF-16BE
 *	form (surrogate pairs above U+FFFF) in BASE64 with ',' for '/',
 *	between '&' and '-', the last sextet padded with zero bits.  The
 *	UTF-8 input must be well formed (RFC 3629 §3: no overlong forms, no
 *	surrogates, nothing above U+10FFFF) and must not contain NUL.
 *
 *	Decoding accepts exactly what encoding produces, because RFC 3501
 *	§5.1.3 forbids the alternatives ("MUST NOT be used to represent any
 *	printing US-ASCII character which can represent itself") and
 *	because two spellings of one name would let a client create two
 *	mailboxes that look the same, or get around an ACL by name.
 *
 * DIAGNOSTICS
 *	-1 for invalid input or a full output buffer; nothing is logged.
 *
 * SECURITY
 *	Input comes from the network.  Each function reads src once, never
 *	past len, and the output only grows through the strbuf limit.
 */
#include "autoconf.h"

#include <stdint.h>

#include "strbuf.h"
#include "imap_utf7.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* b64_value - the sextet of a modified BASE64 character, or -1 */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* utf8_next - decode one scalar value strictly; bytes used, 0 if invalid */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, overlong lead, or > 0xf4 */
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* put_utf8 - append one scalar value as UTF-8 */
static int put_utf8(struct strbuf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	}
	return strbuf_append(out, b, n);
}

/* imap_utf8_to_utf7 - UTF-8 to modified UTF-7 */
int imap_utf8_to_utf7(const char *src, size_t len, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t old = out->len, i = 0, n;
	uint32_t bits = 0, cp;
	unsigned nbits = 0;
	bool shifted = false;
	int ret = 0;

	while (i < len) {
		n = utf8_next(s + i, len - i, &cp);
		if (n == 0 || cp == 0)
			goto bad;
		i += n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				if (nbits > 0)
					ret |= strbuf_append_char(
						out, b64[(bits << (6 - nbits)) &
							 0x3f]);
				ret |= strbuf_append_char(out, '-');
				shifted = false;
				nbits = 0;
			}
			ret |= strbuf_append_char(out, (char)cp);
			if (cp == '&')
				ret |= strbuf_append_char(out, '-');
		} else {
			uint32_t units[2];
			size_t nu = 1, u;

			if (!shifted) {
				ret |= strbuf_append_char(out, '&');
				shifted = true;
				bits = nbits = 0;
			}
			if (cp >= 0x10000) {
				units[0] = 0xd800 + ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
				nu = 2;
			} else {
				units[0] = cp;
			}
			for (u = 0; u < nu; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					ret |= strbuf_append_char(
						out,
						b64[(bits >> nbits) & 0x3f]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (ret != 0)
			goto bad;
	}
	if (shifted) {
		if (nbits > 0)
			ret |= strbuf_append_char(
				out, b64[(bits << (6 - nbits)) & 0x3f]);
		ret |= strbuf_append_char(out, '-');
		if (ret != 0)
			goto bad;
	}
	return 0;
bad:
	strbuf_truncate(out, old);
	return -1;
}

/* decode_shift - one "&...-" run starting after '&'; returns the index
 * after '-', or 0 when invalid */
static size_t decode_shift(const unsigned char *s, size_t len, size_t i,
			   struct strbuf *out)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t start = i;
	int v;

	for (; i < len && s[i] != '-'; i++) {
		if ((v = b64_value(s[i])) < 0)
			return 0;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			uint32_t u;

			nbits -= 16;
			u = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return 0; /* high not followed by low */
				if (put_utf8(out,
					     0x10000 + ((high - 0xd800) << 10) +
						     (u - 0xdc00)) < 0)
					return 0;
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return 0; /* lone low surrogate */
			} else if (u == 0 || (u >= 0x20 && u <= 0x7e)) {
				return 0; /* NUL, or ASCII that is itself */
			} else if (put_utf8(out, u) < 0) {
				return 0;
			}
		}
	}
	if (i == len)
		return 0; /* unterminated */
	if (i == start)
		return i + 1; /* "&-" is '&': the caller wrote it */
	/* Canonical padding: fewer than 6 bits left, all zero. */
	if (high != 0 || nbits >= 6 || bits != 0)
		return 0;
	return i + 1;
}

/* imap_utf7_to_utf8 - modified UTF-7 to UTF-8 */
int imap_utf7_to_utf8(const char *src, size_t len, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t old = out->len, i = 0, next;
	bool after_shift = false;

	while (i < len) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			goto bad;
		if (s[i] != '&') {
			if (strbuf_append_char(out, (char)s[i]) < 0)
				goto bad;
			i++;
			after_shift = false;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '-') {
			if (strbuf_append_char(out, '&') < 0)
				goto bad;
			i += 2;
			after_shift = false;
			continue;
		}
		/* The encoder merges adjacent runs into one shift. */
		if (after_shift)
			goto bad;
		next = decode_shift(s, len, i + 1, out);
		if (next == 0)
			goto bad;
		i = next;
		after_shift = true;
	}
	return 0;
bad:
	strbuf_truncate(out, old);
	return -1;
}

/* imap_utf7_is_valid - canonical mUTF-7? */
bool imap_utf7_is_valid(const char *src, size_t len)
{
	struct strbuf tmp;
	bool ok;

	strbuf_init(&tmp, STRBUF_NO_LIMIT);
	ok = imap_utf7_to_utf8(src, len, &tmp) == 0;
	strbuf_release(&tmp);
	return ok;
}
