/*
 * rfc2047 - MIME encoded-word decoding and charset conversion to UTF-8
 *
 * SYNOPSIS
 *	#include "rfc2047.h"
 *
 *	int rfc2047_charset_known(cs, len)
 *	int rfc2047_convert(cs, cslen, in, len, out)
 *	int rfc2047_decode(in, len, out)
 *
 * DESCRIPTION
 *	Turns "=?charset?B|Q?text?=" words (RFC 2047, with the RFC 2231
 *	§5 language suffix) into UTF-8 for SEARCH and for header checks.
 *
 *	Charsets are converted by table, not by iconv(3): the readers of
 *	mail run chrooted, where glibc's gconv modules are not available,
 *	and a table gives the same answer on every system.  The table
 *	covers what nearly all mail uses: UTF-8, US-ASCII, ISO-8859-1,
 *	ISO-8859-15 and Windows-1252 (the latter also stands in for
 *	mislabelled Latin-1, whose C1 controls it maps to themselves where
 *	Windows-1252 has holes).  Any other charset leaves the word
 *	encoded, which is what RFC 2047 §6.3 allows.
 *
 *	The scan is linear: the search for a word's "?=" is remembered
 *	between candidate words, and a word is at most RFC2047_WORD_MAX
 *	bytes long.
 *
 * DIAGNOSTICS
 *	Nothing is logged.  Functions return -1 when the output buffer's
 *	limit is hit; rfc2047_convert() also for an unknown charset.
 *
 * SECURITY
 *	Decodes untrusted header text; never reads past the given
 *	length, and emits only valid UTF-8 (U+FFFD for what does not map).
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "rfc2047.h"

enum charset { CS_UNKNOWN, CS_UTF8, CS_ASCII, CS_LATIN1, CS_LATIN9, CS_CP1252 };

/* Windows-1252 0x80-0x9F; the five holes map to the C1 controls. */
static const uint16_t cp1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

/* lookup_charset - which table a charset name selects */
static enum charset lookup_charset(const char *cs, size_t len)
{
	static const struct {
		const char *name;
		enum charset cs;
	} names[] = {
		{"utf-8", CS_UTF8},	      {"utf8", CS_UTF8},
		{"us-ascii", CS_ASCII},	      {"ascii", CS_ASCII},
		{"ansi_x3.4-1968", CS_ASCII}, {"iso-8859-1", CS_LATIN1},
		{"iso8859-1", CS_LATIN1},     {"iso_8859-1", CS_LATIN1},
		{"latin1", CS_LATIN1},	      {"l1", CS_LATIN1},
		{"iso-8859-15", CS_LATIN9},   {"iso8859-15", CS_LATIN9},
		{"iso_8859-15", CS_LATIN9},   {"latin-9", CS_LATIN9},
		{"latin9", CS_LATIN9},	      {"windows-1252", CS_CP1252},
		{"cp1252", CS_CP1252},
	};
	const char *star = memchr(cs, '*', len);
	size_t i, j;

	if (star != NULL)
		len = (size_t)(star - cs); /* RFC 2231 §5 language */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) != len)
			continue;
		for (j = 0; j < len; j++) {
			unsigned char c = (unsigned char)cs[j];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != (unsigned char)names[i].name[j])
				break;
		}
		if (j == len)
			return names[i].cs;
	}
	return CS_UNKNOWN;
}

/* rfc2047_charset_known - can we convert from cs */
int rfc2047_charset_known(const char *cs, size_t len)
{
	return lookup_charset(cs, len) != CS_UNKNOWN;
}

/* put_cp - append a code point as UTF-8 */
static int put_cp(struct strbuf *out, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		return strbuf_append(out, b, 1);
	}
	if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		return strbuf_append(out, b, 2);
	}
	b[0] = (char)(0xE0 | (cp >> 12));
	b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	b[2] = (char)(0x80 | (cp & 0x3F));
	return strbuf_append(out, b, 3);
}

/* utf8_seq - length of the well-formed UTF-8 sequence at s, or 0 */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

/* convert - append in[] in a known charset as UTF-8 */
static int convert(enum charset cs, const unsigned char *in, size_t len,
		   struct strbuf *out)
{
	size_t i = 0, n;
	int rc = 0;

	while (i < len && rc == 0) {
		unsigned char c = in[i];

		if (c < 0x80) {
			/* Runs of ASCII go in one append. */
			for (n = i; n < len && in[n] < 0x80; n++)
				;
			rc = strbuf_append(out, in + i, n - i);
			i = n;
			continue;
		}
		switch (cs) {
		case CS_UTF8:
			n = utf8_seq(in + i, len - i);
			if (n == 0) {
				rc = put_cp(out, 0xFFFD);
				n = 1;
			} else {
				rc = strbuf_append(out, in + i, n);
			}
			i += n;
			continue;
		case CS_LATIN1:
			rc = put_cp(out, c);
			break;
		case CS_LATIN9:
			switch (c) {
			case 0xA4:
				rc = put_cp(out, 0x20AC);
				break;
			case 0xA6:
				rc = put_cp(out, 0x0160);
				break;
			case 0xA8:
				rc = put_cp(out, 0x0161);
				break;
			case 0xB4:
				rc = put_cp(out, 0x017D);
				break;
			case 0xB8:
				rc = put_cp(out, 0x017E);
				break;
			case 0xBC:
				rc = put_cp(out, 0x0152);
				break;
			case 0xBD:
				rc = put_cp(out, 0x0153);
				break;
			case 0xBE:
				rc = put_cp(out, 0x0178);
				break;
			default:
				rc = put_cp(out, c);
				break;
			}
			break;
		case CS_CP1252:
			rc = put_cp(out, c < 0xA0 ? cp1252[c - 0x80] : c);
			break;
		default:
			rc = put_cp(out, 0xFFFD);
			break;
		}
		i++;
	}
	return rc;
}

/* rfc2047_convert - charset to UTF-8 */
int rfc2047_convert(const char *cs, size_t cslen, const void *in, size_t len,
		    struct strbuf *out)
{
	enum charset c = lookup_charset(cs, cslen);

	if (c == CS_UNKNOWN)
		return -1;
	return convert(c, in, len, out);
}

/* hexval - value of a hex digit, or -1 */
static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decode_b - base64 (RFC 2047 §4.1) of a word; -1 when invalid
 * (missing padding is forgiven, as everybody does) */
static int decode_b(const unsigned char *s, size_t len, struct strbuf *out)
{
	return base64_decode(s, len, BASE64_PAD_OPTIONAL, out) < 0 ? -1 : 0;
}

/* decode_q - the Q encoding (RFC 2047 §4.2), lenient about bad '=' */
static void decode_q(const unsigned char *s, size_t len, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = (char)s[i];

		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		(void)strbuf_append_char(out, c);
	}
}

/* is_ws - white space that may separate adjacent encoded words */
static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A parsed encoded word. */
struct word {
	size_t start, end; /* the whole "=?...?=" */
	const unsigned char *cs;
	size_t cs_len;
	enum charset charset;
	struct strbuf bytes; /* the decoded octets, still in cs */
};

/* parse_word - is there a valid, decodable word at j?  *qpos caches the
 * last "?=" found, so that the scan stays linear. */
static int parse_word(const unsigned char *s, size_t len, size_t j,
		      size_t *qpos, struct word *w)
{
	size_t k, t, q;
	unsigned char enc;

	/* "=?" charset "?" */
	for (k = j + 2;
	     k < len && k < j + 2 + 64 && s[k] != '?' && !is_ws(s[k]); k++)
		;
	if (k >= len || s[k] != '?' || k == j + 2)
		return 0;
	w->cs = s + j + 2;
	w->cs_len = k - (j + 2);
	/* encoding "?" */
	if (k + 2 >= len || s[k + 2] != '?')
		return 0;
	enc = s[k + 1] | 0x20;
	if (enc != 'b' && enc != 'q')
		return 0;
	t = k + 3;
	/* The first "?=" at or after t. */
	if (*qpos == (size_t)-1 || *qpos < t) {
		const unsigned char *p = s + t;

		*qpos = len;
		while (p < s + len) {
			p = memchr(p, '?', (size_t)(s + len - p));
			if (p == NULL || p + 1 >= s + len)
				break;
			if (p[1] == '=') {
				*qpos = (size_t)(p - s);
				break;
			}
			p++;
		}
	}
	q = *qpos;
	if (q >= len || q - j + 2 > RFC2047_WORD_MAX)
		return 0;
	/* No line break inside a word (§2); a space is tolerated. */
	if (memchr(s + t, '\n', q - t) != NULL)
		return 0;
	w->charset = lookup_charset((const char *)w->cs, w->cs_len);
	if (w->charset == CS_UNKNOWN)
		return 0;
	strbuf_reset(&w->bytes);
	if (enc == 'b') {
		if (decode_b(s + t, q - t, &w->bytes) < 0)
			return 0;
	} else {
		decode_q(s + t, q - t, &w->bytes);
	}
	w->start = j;
	w->end = q + 2;
	return 1;
}

/* rfc2047_decode - decode the encoded words of a header value */
int rfc2047_decode(const char *in, size_t len, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	struct strbuf pending;
	struct word w;
	enum charset pending_cs = CS_UNKNOWN;
	size_t i = 0, j, lit = 0, qpos = (size_t)-1;
	int rc = 0, have_pending = 0;

	strbuf_init(&pending, STRBUF_NO_LIMIT);
	strbuf_init(&w.bytes, STRBUF_NO_LIMIT);
	/* lit: start of text not yet copied; i: where to look next. */
	while (i + 1 < len) {
		const unsigned char *p = memchr(s + i, '=', len - i - 1);

		if (p == NULL)
			break;
		j = (size_t)(p - s);
		if (s[j + 1] != '?' || !parse_word(s, len, j, &qpos, &w)) {
			i = j + 1;
			continue;
		}
		/* Between the last word and this one: only white space? */
		if (have_pending) {
			size_t k;

			for (k = lit; k < j && is_ws(s[k]); k++)
				;
			if (k < j || w.charset != pending_cs) {
				rc |= convert(
					pending_cs,
					(const unsigned char *)pending.data,
					pending.len, out);
				strbuf_reset(&pending);
				have_pending = 0;
				if (k < j)
					rc |= convert(CS_UTF8, s + lit, j - lit,
						      out);
			}
		} else {
			rc |= convert(CS_UTF8, s + lit, j - lit, out);
		}
		rc |= strbuf_append(&pending, w.bytes.data, w.bytes.len);
		pending_cs = w.charset;
		have_pending = 1;
		i = lit = w.end;
	}
	if (have_pending)
		rc |= convert(pending_cs, (const unsigned char *)pending.data,
			      pending.len, out);
	rc |= convert(CS_UTF8, s + lit, len - lit, out);
	strbuf_release(&pending);
	strbuf_release(&w.bytes);
	return rc < 0 ? -1 : 0;
}
