/*
 * test_imap_utf7 - unit tests for lib/proto/imap_utf7.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"
#include "imap_utf7.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Pairs that convert both ways. */
static const struct {
	const char *utf8, *utf7;
} pairs[] = {
	{"", ""},
	{"INBOX", "INBOX"},
	{"&", "&-"},
	{"a&b&&", "a&-b&-&-"},
	{"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	 "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"\xc3\xa4", "&AOQ-"},
	{"\xc3\xa4\xc3\xb6", "&AOQA9g-"},
	{"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
	{"\t", "&AAk-"},
	{"\x7f", "&AH8-"},
	{"\xf0\x9f\x98\x80", "&2D3eAA-"},
	{"&\xc3\xa4", "&-&AOQ-"},
	{"\xc3\xa4&", "&AOQ-&-"},
	{"-\xc3\xa4-", "-&AOQ--"},
	{"\xef\xbf\xbf", "&,,8-"},
	{"\xf4\x8f\xbf\xbf", "&2,,f,w-"},
};

/* Not canonical modified UTF-7. */
static const char *const bad7[] = {
	"&AGE-",      /* 'a' in BASE64 */
	"&ACY-",      /* '&' in BASE64 */
	"&ACA-",      /* SP in BASE64 */
	"&AOQ",	      /* unterminated */
	"&",	      /* unterminated */
	"a&",	      /* unterminated */
	"&A-",	      /* 6 bits: no full unit */
	"&AOQA-",     /* 8 bits left over */
	"&AOR-",      /* padding bits not zero */
	"&AOQ-&APY-", /* two shifts in a row */
	"&2D0-",      /* lone high surrogate */
	"&2D3YPQ-",   /* high followed by high */
	"&3gA-",      /* lone low surrogate */
	"&3gDYPQ-",   /* low before high */
	"&AAA-",      /* NUL */
	"&AOQAAA-",   /* NUL after a good unit */
	"&AOQ/-",     /* '/' is not modified BASE64 */
	"&AOQ=-",     /* no '=' padding */
	"&AO Q-",     /* SP in BASE64 */
	"\xc3\xa4",   /* 8-bit */
	"a\tb",	      /* control */
	"a\x7f",      /* DEL */
	"&Jjo!-",     /* bad char */
	"&&-",	      /* '&' in BASE64 */
};

/* Not valid UTF-8 (or holding NUL). */
static const char *const bad8[] = {
	"\xc3",		    /* truncated */
	"\xe6\x97",	    /* truncated */
	"\xc0\x80",	    /* overlong NUL */
	"\xc1\xbf",	    /* overlong */
	"\xe0\x80\xaf",	    /* overlong */
	"\xf0\x80\x80\xaf", /* overlong */
	"\xed\xa0\x80",	    /* surrogate */
	"\xed\xbf\xbf",	    /* surrogate */
	"\xf4\x90\x80\x80", /* above U+10FFFF */
	"\xf5\x80\x80\x80", /* above U+10FFFF */
	"\xff",
	"\x80",	     /* lone continuation */
	"a\xc3\x28", /* bad continuation */
};

static void test_pairs(void **state)
{
	struct strbuf out;
	size_t i;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (i = 0; i < NELEM(pairs); i++) {
		strbuf_reset(&out);
		assert_int_equal(imap_utf8_to_utf7(pairs[i].utf8,
						   strlen(pairs[i].utf8), &out),
				 0);
		assert_string_equal(out.data, pairs[i].utf7);
		strbuf_reset(&out);
		assert_int_equal(imap_utf7_to_utf8(pairs[i].utf7,
						   strlen(pairs[i].utf7), &out),
				 0);
		assert_string_equal(out.data, pairs[i].utf8);
		assert_true(imap_utf7_is_valid(pairs[i].utf7,
					       strlen(pairs[i].utf7)));
	}
	strbuf_release(&out);
}

static void test_bad(void **state)
{
	struct strbuf out;
	size_t i;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_append_str(&out, "keep");
	for (i = 0; i < NELEM(bad7); i++) {
		if (imap_utf7_to_utf8(bad7[i], strlen(bad7[i]), &out) != -1)
			fail_msg("accepted mUTF-7 \"%s\"", bad7[i]);
		assert_string_equal(out.data, "keep");
		assert_false(imap_utf7_is_valid(bad7[i], strlen(bad7[i])));
	}
	for (i = 0; i < NELEM(bad8); i++) {
		if (imap_utf8_to_utf7(bad8[i], strlen(bad8[i]), &out) != -1)
			fail_msg("accepted UTF-8 #%zu", i);
		assert_string_equal(out.data, "keep");
	}
	/* NUL, given by length. */
	assert_int_equal(imap_utf8_to_utf7("a\0b", 3, &out), -1);
	assert_int_equal(imap_utf7_to_utf8("a\0b", 3, &out), -1);
	/* Only len bytes are read. */
	assert_int_equal(imap_utf7_to_utf8("&AOQ-", 4, &out), -1);
	assert_int_equal(imap_utf8_to_utf7("\xc3\xa4", 1, &out), -1);
	assert_string_equal(out.data, "keep");
	strbuf_release(&out);
}

/* test_limit - a full output buffer fails and is left as it was */
static void test_limit(void **state)
{
	struct strbuf out;

	(void)state;
	strbuf_init(&out, 6);
	assert_int_equal(imap_utf8_to_utf7("\xc3\xa4\xc3\xa4", 4, &out), -1);
	assert_int_equal(out.len, 0);
	assert_int_equal(imap_utf8_to_utf7("\xc3\xa4", 2, &out), 0);
	assert_string_equal(out.data, "&AOQ-");
	strbuf_reset(&out);
	assert_int_equal(imap_utf7_to_utf8("abcdefg", 7, &out), -1);
	assert_int_equal(out.len, 0);
	strbuf_release(&out);
}

/* put - one scalar value as UTF-8 */
static size_t put(unsigned char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* test_round_trip - every scalar value, alone and between others */
static void test_round_trip(void **state)
{
	struct strbuf enc, dec;
	unsigned char in[16];
	uint32_t cp;
	size_t n;

	(void)state;
	strbuf_init(&enc, STRBUF_NO_LIMIT);
	strbuf_init(&dec, STRBUF_NO_LIMIT);
	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = put(in, cp);
		/* "a<cp>x<cp><cp>": shifts of one and two units */
		in[n] = 'x';
		n += 1 + put(in + n + 1, cp);
		n += put(in + n, cp);
		strbuf_reset(&enc);
		strbuf_reset(&dec);
		assert_int_equal(imap_utf8_to_utf7((char *)in, n, &enc), 0);
		assert_int_equal(imap_utf7_to_utf8(enc.data, enc.len, &dec), 0);
		if (dec.len != n || memcmp(dec.data, in, n) != 0)
			fail_msg("round trip U+%04X", (unsigned)cp);
	}
	strbuf_release(&enc);
	strbuf_release(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
