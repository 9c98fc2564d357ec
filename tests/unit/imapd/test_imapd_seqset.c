/*
 * test_imapd_seqset - unit tests for imapd/imapd_seqset.c
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imapd.h"

static void parse_ok(const char *text, struct imapd_seqset *set)
{
	const char *error = NULL;

	assert_int_equal(imapd_seqset_parse(text, strlen(text), set, &error),
			 0);
}

static void test_contains(void **state)
{
	struct imapd_seqset set;

	(void)state;
	parse_ok("1:3,7,10:*", &set);
	assert_true(imapd_seqset_contains(&set, 1, 20));
	assert_true(imapd_seqset_contains(&set, 3, 20));
	assert_false(imapd_seqset_contains(&set, 4, 20));
	assert_true(imapd_seqset_contains(&set, 7, 20));
	assert_false(imapd_seqset_contains(&set, 8, 20));
	assert_true(imapd_seqset_contains(&set, 20, 20));
	assert_false(imapd_seqset_contains(&set, 21, 20));
	assert_false(imapd_seqset_contains(&set, 0, 20));
	imapd_seqset_clear(&set);

	/* Reversed ranges and '*' below the first number. */
	parse_ok("5:2", &set);
	assert_true(imapd_seqset_contains(&set, 2, 9));
	assert_true(imapd_seqset_contains(&set, 5, 9));
	assert_false(imapd_seqset_contains(&set, 6, 9));
	imapd_seqset_clear(&set);
	parse_ok("10:*", &set);
	/* With max 4, "10:*" is "4:10" (RFC 9051 §9). */
	assert_true(imapd_seqset_contains(&set, 4, 4));
	assert_false(imapd_seqset_contains(&set, 3, 4));
	/* An empty view: '*' is nothing, but 10 is still 1..10. */
	assert_false(imapd_seqset_contains(&set, 11, 0));
	imapd_seqset_clear(&set);
	parse_ok("*", &set);
	assert_false(imapd_seqset_contains(&set, 1, 0));
	assert_true(imapd_seqset_contains(&set, 7, 7));
	assert_false(imapd_seqset_contains(&set, 6, 7));
	imapd_seqset_clear(&set);
}

static void test_within(void **state)
{
	struct imapd_seqset set;

	(void)state;
	parse_ok("1:3", &set);
	assert_true(imapd_seqset_within(&set, 3));
	assert_false(imapd_seqset_within(&set, 2));
	imapd_seqset_clear(&set);
	parse_ok("1:*", &set);
	assert_true(imapd_seqset_within(&set, 5));
	assert_false(imapd_seqset_within(&set, 0));
	imapd_seqset_clear(&set);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {"",	"0",	 "1:0",	 "a",
					  "1,", ",1",	 "1::2", "4294967296",
					  "-1", "1:2:3", "**",	 "1 2"};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct imapd_seqset set;
		const char *error = NULL;

		assert_int_equal(imapd_seqset_parse(bad[i], strlen(bad[i]),
						    &set, &error),
				 -1);
		assert_non_null(error);
	}
}

static void test_format(void **state)
{
	static const uint32_t v[] = {1, 2, 3, 5, 7, 8, 100};
	struct strbuf out;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(imapd_seqset_format(v, 7, &out), 0);
	assert_string_equal(out.data, "1:3,5,7:8,100");
	strbuf_reset(&out);
	assert_int_equal(imapd_seqset_format(v + 3, 1, &out), 0);
	assert_string_equal(out.data, "5");
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
