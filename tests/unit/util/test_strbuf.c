/*
 * test_strbuf - unit tests for lib/util/strbuf.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"

static void test_append_and_terminate(void **state)
{
	struct strbuf *sb = strbuf_create(STRBUF_NO_LIMIT);

	(void)state;
	assert_string_equal(strbuf_cstr(sb), "");
	assert_int_equal(strbuf_append_str(sb, "hello"), 0);
	assert_int_equal(strbuf_append_char(sb, ' '), 0);
	assert_int_equal(strbuf_appendf(sb, "%s %d", "world", 42), 0);
	assert_int_equal(sb->len, 14);
	assert_string_equal(strbuf_cstr(sb), "hello world 42");
	strbuf_free(&sb);
	assert_null(sb);
	strbuf_free(&sb); /* NULL is fine */
}

static void test_binary_safe(void **state)
{
	struct strbuf sb;
	const char bytes[] = {'a', '\0', 'b', '\xff', '\0'};

	(void)state;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_append(&sb, bytes, sizeof(bytes)), 0);
	assert_int_equal(sb.len, sizeof(bytes));
	assert_memory_equal(sb.data, bytes, sizeof(bytes));
	assert_int_equal(sb.data[sb.len], '\0');
	strbuf_release(&sb);
}

static void test_limit_is_hard(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 8);
	assert_int_equal(strbuf_append_str(&sb, "12345678"), 0);
	/* One byte over: refused, buffer unchanged. */
	assert_int_equal(strbuf_append_char(&sb, '9'), -1);
	assert_int_equal(strbuf_appendf(&sb, "%d", 1), -1);
	assert_int_equal(sb.len, 8);
	assert_string_equal(sb.data, "12345678");
	assert_true(sb.cap <= 9);
	strbuf_reset(&sb);
	assert_int_equal(strbuf_append_str(&sb, "123456789"), -1);
	assert_int_equal(sb.len, 0);
	/* A length that would overflow size_t arithmetic is refused too. */
	assert_int_equal(strbuf_append(&sb, "x", (size_t)-1), -1);
	strbuf_release(&sb);
}

static void test_growth_many_appends(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 100000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(strbuf_append_str(&sb, "0123456789"), 0);
	assert_int_equal(sb.len, 100000);
	assert_int_equal(strbuf_append_char(&sb, 'x'), -1);
	assert_int_equal(sb.data[99999], '9');
	strbuf_release(&sb);
}

static void test_truncate_consume_steal(void **state)
{
	struct strbuf sb;
	char *data;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_append_str(&sb, "abcdef");
	strbuf_truncate(&sb, 10); /* longer: no-op */
	assert_string_equal(sb.data, "abcdef");
	strbuf_truncate(&sb, 4);
	assert_string_equal(sb.data, "abcd");
	strbuf_consume(&sb, 1);
	assert_string_equal(sb.data, "bcd");
	assert_int_equal(sb.len, 3);
	strbuf_consume(&sb, 99);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	strbuf_append_str(&sb, "xyz");
	data = strbuf_steal(&sb);
	assert_string_equal(data, "xyz");
	assert_int_equal(sb.len, 0);
	free(data);
	data = strbuf_steal(&sb); /* empty buffer still yields a string */
	assert_string_equal(data, "");
	free(data);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_binary_safe),
		cmocka_unit_test(test_limit_is_hard),
		cmocka_unit_test(test_growth_many_appends),
		cmocka_unit_test(test_truncate_consume_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
