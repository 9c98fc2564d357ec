/*
 * test_rfc2047 - unit tests for lib/proto/rfc2047.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfc2047.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct dec_case {
	const char *in;
	const char *out;
};

static const struct dec_case dec_cases[] = {
	{"plain text", "plain text"},
	{"", ""},
	/* RFC 2047 §8 examples. */
	{"=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"},
	{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard"},
	{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=",
	 "If you can read this yo"},
	{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
	{"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"},
	{"=?ISO-8859-1?Q?a?=\r\n  \t=?ISO-8859-1?Q?b?=", "ab"},
	{"=?ISO-8859-1?Q?a_b?=", "a b"},
	{"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a =?ISO-8859-2?Q?_b?="},
	/* A UTF-8 character split across two joined B words. */
	{"=?utf-8?B?w6k=?= =?UTF-8?b?w6nD?= =?utf-8?B?qQ==?=",
	 "\xc3\xa9\xc3\xa9\xc3\xa9"},
	/* Different charsets: converted apart, the space still dropped. */
	{"=?utf-8?q?=C3=A9?= =?iso-8859-15?q?=A4?=", "\xc3\xa9\xe2\x82\xac"},
	{"=?windows-1252?q?=80=93=9D?=", "\xe2\x82\xac\xe2\x80\x9c\xc2\x9d"},
	{"=?utf-8*en?q?x?=", "x"}, /* RFC 2231 §5 language */
	/* Text between words is kept. */
	{"a =?utf-8?q?b?= c", "a b c"},
	/* Bad words are left alone. */
	{"=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="},
	{"=?utf-8?B?w6k*?=", "=?utf-8?B?w6k*?="},
	{"=?utf-8?B?w?=", "=?utf-8?B?w?="},
	{"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
	{"=?utf-8?q?abc", "=?utf-8?q?abc"},
	{"=??q?abc?=", "=??q?abc?="},
	{"=?utf-8?q?a\r\n b?=", "=?utf-8?q?a\r\n b?="},
	{"=?utf-8?q?=ZZ=4?=", "=ZZ=4"}, /* lenient Q */
	{"=?utf-8?q?\xff?=", "\xef\xbf\xbd"},
	{"=?us-ascii?q?caf=E9?=", "caf\xef\xbf\xbd"},
	{"raw \xc3\xa9 \xff", "raw \xc3\xa9 \xef\xbf\xbd"},
	{"==?utf-8?q?x?==", "=x="},
	{"=?=?utf-8?q?x?=", "=?x"},
};

/* test_decode - table of header values */
static void test_decode(void **state)
{
	struct strbuf sb;
	size_t i;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (i = 0; i < NELEM(dec_cases); i++) {
		strbuf_reset(&sb);
		assert_int_equal(rfc2047_decode(dec_cases[i].in,
						strlen(dec_cases[i].in), &sb),
				 0);
		if (strcmp(sb.len ? sb.data : "", dec_cases[i].out) != 0)
			fail_msg("case %zu: %s: got %s", i, dec_cases[i].in,
				 sb.data);
	}
	strbuf_release(&sb);
}

/* test_convert - charset tables */
static void test_convert(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(rfc2047_convert("latin1", 6, "\xe9\xff", 2, &sb), 0);
	assert_string_equal(sb.data, "\xc3\xa9\xc3\xbf");
	strbuf_reset(&sb);
	assert_int_equal(rfc2047_convert("ISO-8859-15", 11, "\xa4\xbe", 2, &sb),
			 0);
	assert_string_equal(sb.data, "\xe2\x82\xac\xc5\xb8");
	strbuf_reset(&sb);
	/* Overlong, surrogate, truncated sequences. */
	assert_int_equal(rfc2047_convert("utf-8", 5,
					 "\xc0\xaf\xed\xa0\x80\xe2\x82", 7,
					 &sb),
			 0);
	assert_int_equal(sb.len, 7 * 3);
	strbuf_reset(&sb);
	assert_int_equal(rfc2047_convert("koi8-r", 6, "x", 1, &sb), -1);
	assert_int_equal(sb.len, 0);
	assert_true(rfc2047_charset_known("CP1252", 6));
	assert_false(rfc2047_charset_known("utf-16", 6));
	strbuf_release(&sb);
	/* The output limit is reported. */
	strbuf_init(&sb, 2);
	assert_int_equal(rfc2047_decode("=?utf-8?q?abcdef?=", 18, &sb), -1);
	strbuf_release(&sb);
}

/* test_linear - many candidate words without an end stay fast */
static void test_linear(void **state)
{
	struct strbuf in, out;
	size_t i;

	(void)state;
	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (i = 0; i < 200000; i++)
		(void)strbuf_append_str(&in, "=?utf-8?q?a");
	assert_int_equal(rfc2047_decode(in.data, in.len, &out), 0);
	assert_int_equal(out.len, in.len);
	strbuf_release(&in);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
