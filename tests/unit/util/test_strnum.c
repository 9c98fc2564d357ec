/*
 * test_strnum - unit tests for lib/util/strnum.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>

#include <cmocka.h>

#include "strnum.h"

static void test_u64(void **state)
{
	static const char *const bad[] = {
		"",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1a",
		"0x10",
		"18446744073709551616",
		"99999999999999999999",
		"1.0",
		"\t",
	};
	uint64_t v = 7;

	(void)state;
	assert_int_equal(str_to_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_to_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(str_to_u64("007", &v), 0);
	assert_int_equal(v, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		assert_int_equal(str_to_u64(bad[i], &v), -1);
		assert_int_equal(v, 42); /* untouched on failure */
	}
	assert_int_equal(strn_to_u64("12345", 3, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(strn_to_u64("12345", 0, &v), -1);
}

static void test_i64(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(str_to_i64("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(str_to_i64("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(str_to_i64("9223372036854775808", &v), -1);
	assert_int_equal(str_to_i64("-9223372036854775809", &v), -1);
	assert_int_equal(str_to_i64("-", &v), -1);
	assert_int_equal(str_to_i64("--1", &v), -1);
	assert_int_equal(str_to_i64("-0", &v), 0);
	assert_int_equal(v, 0);
}

static void test_int_ranges(void **state)
{
	int i;
	unsigned u;

	(void)state;
	assert_int_equal(str_to_int("2147483647", &i), 0);
	assert_int_equal(i, INT_MAX);
	assert_int_equal(str_to_int("2147483648", &i), -1);
	assert_int_equal(str_to_int("-2147483648", &i), 0);
	assert_int_equal(i, INT_MIN);
	assert_int_equal(str_to_uint("4294967295", &u), 0);
	assert_int_equal(u, UINT_MAX);
	assert_int_equal(str_to_uint("4294967296", &u), -1);
	assert_int_equal(str_to_uint("-1", &u), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_int_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
