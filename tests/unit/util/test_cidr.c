/*
 * test_cidr - unit tests for lib/util/cidr.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "cidr.h"

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",	     "/8",	   "1.2.3.4/33", "1.2.3.4/",
		"1.2.3.4/x", "1.2.3.1/24", "[::1]/129",	 "host.example",
		"[::1",	     "::1]/128",   "1.2.3.4/-1", "1.2.3.4/ 8",
	};
	struct cidr c;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(cidr_parse(bad[i], &c, &err), -1);
		assert_non_null(err);
	}
}

static void test_match(void **state)
{
	static const char *const nets[] = {"127.0.0.0/8", "[::1]/128",
					   "192.0.2.7", "2001:db8::/32",
					   "10.1.0.0/17"};
	struct cidr list[5];
	const char *err;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(cidr_parse(nets[i], &list[i], &err), 0);
	assert_true(cidr_match_text(list, 5, "127.0.0.1"));
	assert_true(cidr_match_text(list, 5, "127.255.255.255"));
	assert_false(cidr_match_text(list, 5, "128.0.0.1"));
	assert_true(cidr_match_text(list, 5, "::1"));
	assert_false(cidr_match_text(list, 5, "::2"));
	assert_true(cidr_match_text(list, 5, "192.0.2.7"));
	assert_false(cidr_match_text(list, 5, "192.0.2.8"));
	assert_true(cidr_match_text(list, 5, "2001:db8:ffff::1"));
	assert_false(cidr_match_text(list, 5, "2001:db9::1"));
	assert_true(cidr_match_text(list, 5, "::ffff:127.0.0.1"));
	assert_true(cidr_match_text(list, 5, "10.1.127.255"));
	assert_false(cidr_match_text(list, 5, "10.1.128.0"));
	assert_false(cidr_match_text(list, 5, "garbage"));
	assert_false(cidr_match_text(list, 5, ""));
	assert_false(cidr_match_text(list, 0, "127.0.0.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
