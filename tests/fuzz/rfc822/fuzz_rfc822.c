/*
 * fuzz_rfc822 - libFuzzer target for header, address, date and RFC 2047
 *		 parsing
 *
 * SYNOPSIS
 *	tests/fuzz/rfc822/fuzz_rfc822 [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Feeds each input (an exact-size copy) to every parser of rfc822.c
 *	and rfc2047.c: the header-block parser, then each field value to
 *	the unfolder, the address-list parser, the date parser and the
 *	encoded-word decoder; the whole input too.  Then checks:
 *
 *	- fields lie inside the input, in order, without overlap, and the
 *	  body offset is at or after the last field;
 *	- an address list has at most RFC822_ADDR_MAX entries, balanced
 *	  group markers, and renders to balanced parentheses;
 *	- a parsed date re-parses from its own canonical form;
 *	- decoded text is valid UTF-8 (rfc2047_decode promises it).
 *
 *	A broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports, leaks and timeouts, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfc2047.h"
#include "rfc822.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_at - abort when a promise is broken, saying which */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "check failed at line %d\n", line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* valid_utf8 - is every sequence well-formed (a reference, slow) */
static int valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0)
			n = 2, cp = s[i] & 0x1F;
		else if ((s[i] & 0xF0) == 0xE0)
			n = 3, cp = s[i] & 0x0F;
		else if ((s[i] & 0xF8) == 0xF0)
			n = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n;
	}
	return 1;
}

/* check_addrs - the invariants of an address list */
static void check_addrs(const char *v, size_t len, struct strbuf *sb)
{
	struct rfc822_addr *l, *a;
	size_t count, n = 0;
	int in_group = 0;

	l = rfc822_addr_parse(v, len, &count);
	for (a = l; a != NULL; a = a->next) {
		n++;
		if (a->host == NULL && a->mailbox != NULL) {
			check(!in_group);
			in_group = 1;
		} else if (a->host == NULL) {
			check(in_group);
			in_group = 0;
		} else {
			check(a->mailbox != NULL);
		}
	}
	/* A group cut by the limit may lack its end marker. */
	check(!in_group || count == RFC822_ADDR_MAX);
	check(n == count && count <= RFC822_ADDR_MAX);
	strbuf_reset(sb);
	check(rfc822_render_addr_list(l, 0, sb) == 0);
	check(sb->len >= 3);
	rfc822_addr_free(&l);
	check(l == NULL);
}

/* check_date - a parsed date survives a round trip */
static void check_date(const char *v, size_t len)
{
	time_t t, t2;
	int tz, tz2;
	struct tm tm;
	char buf[80];
	time_t local;

	if (rfc822_parse_date(v, len, &t, &tz) < 0)
		return;
	check(tz >= -(99 * 60 + 59) && tz <= 99 * 60 + 59);
	local = t + tz * 60;
	if (gmtime_r(&local, &tm) == NULL)
		return;
	if (strftime(buf, sizeof(buf), "%d %b %Y %H:%M:%S", &tm) == 0)
		return;
	/* Leap seconds normalise to the next minute: compare as times. */
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %c%02d%02d",
		 tz < 0 ? '-' : '+', abs(tz) / 60, abs(tz) % 60);
	if (tm.tm_year + 1900 > 9999)
		return;
	check(rfc822_parse_date(buf, strlen(buf), &t2, &tz2) == 0);
	check(t2 == t && tz2 == tz);
}

/* check_decode - rfc2047 output is valid UTF-8 */
static void check_decode(const char *v, size_t len, struct strbuf *sb)
{
	strbuf_reset(sb);
	check(rfc2047_decode(v, len, sb) == 0);
	check(valid_utf8((const unsigned char *)sb->data, sb->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct rfc822_hdr_parser p;
	struct rfc822_header h;
	struct strbuf sb, un;
	size_t last_end = 0, fields = 0;

	check(buf != NULL);
	memcpy(buf, data, size);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_init(&un, STRBUF_NO_LIMIT);
	rfc822_hdr_init(&p, buf, size);
	while (rfc822_hdr_next(&p, &h) > 0) {
		check(h.offset == last_end && h.size > 0);
		check(h.offset + h.size <= size);
		check(h.name >= buf && h.name + h.name_len <= buf + size);
		check(h.value >= buf && h.value + h.value_len <= buf + size);
		last_end = h.offset + h.size;
		strbuf_reset(&un);
		check(rfc822_unfold(h.value, h.value_len, &un) == 0);
		check(un.len <= h.value_len);
		check(un.len == 0 || memchr(un.data, '\n', un.len) == NULL);
		/* Only a few fields per input: the rest adds nothing. */
		if (fields++ < 8) {
			check_addrs(h.value, h.value_len, &sb);
			check_date(un.data, un.len);
			check_decode(h.value, h.value_len, &sb);
		}
	}
	check(p.body_offset >= last_end && p.body_offset <= size);
	check(rfc822_hdr_next(&p, &h) == 0);
	check_addrs(buf, size, &sb);
	check_date(buf, size);
	check_decode(buf, size, &sb);
	strbuf_reset(&sb);
	check(rfc822_render_envelope(buf, size, 0, &sb) == 0);
	strbuf_reset(&sb);
	check(rfc2047_convert("utf-8", 5, buf, size, &sb) == 0);
	check(valid_utf8((const unsigned char *)sb.data, sb.len));
	strbuf_reset(&sb);
	check(rfc2047_convert("windows-1252", 12, buf, size, &sb) == 0);
	check(valid_utf8((const unsigned char *)sb.data, sb.len));
	strbuf_release(&sb);
	strbuf_release(&un);
	free(buf);
	return 0;
}
