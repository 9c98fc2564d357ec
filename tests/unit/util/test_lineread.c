/*
 * test_lineread - unit tests for lib/util/lineread.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "lineread.h"
#include "strbuf.h"

struct fixture {
	struct evbuffer *in;
	struct strbuf line;
	struct lineread lr;
};

static int setup(void **state)
{
	static struct fixture fx;

	fx.in = evbuffer_new();
	strbuf_init(&fx.line, 16);
	lineread_init(&fx.lr, 10);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	evbuffer_free(fx->in);
	strbuf_release(&fx->line);
	return 0;
}

static void feed(struct fixture *fx, const char *s)
{
	evbuffer_add(fx->in, s, strlen(s));
}

static void test_crlf_and_lf(void **state)
{
	struct fixture *fx = *state;

	feed(fx, "HELO a\r\nNOOP\nQUIT");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "HELO a");
	assert_true(fx->lr.had_cr);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "NOOP");
	assert_false(fx->lr.had_cr);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_MORE);
	feed(fx, "\r");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_MORE);
	feed(fx, "\n");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "QUIT");
	assert_int_equal(evbuffer_get_length(fx->in), 0);
}

static void test_exact_limit(void **state)
{
	struct fixture *fx = *state;

	feed(fx, "0123456789\r\n0123456789\n");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "0123456789");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_int_equal(fx->line.len, 10);
}

static void test_too_long_complete(void **state)
{
	struct fixture *fx = *state;

	feed(fx, "0123456789A\r\nNEXT\r\n");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_TOO_LONG);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "NEXT");
}

static void test_too_long_streaming(void **state)
{
	struct fixture *fx = *state;

	/* A peer that never sends LF: reported once, never buffered. */
	feed(fx, "AAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_TOO_LONG);
	assert_true(evbuffer_get_length(fx->in) <= 1);
	for (int i = 0; i < 100; i++) {
		feed(fx, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
		assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
				 LINEREAD_MORE);
		assert_true(evbuffer_get_length(fx->in) <= 1);
	}
	feed(fx, "tail\r\nok\r\n");
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_string_equal(strbuf_cstr(&fx->line), "ok");
}

static void test_binary_and_empty(void **state)
{
	struct fixture *fx = *state;

	evbuffer_add(fx->in, "a\0b\r\n\r\n\n", 8);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_int_equal(fx->line.len, 3);
	assert_memory_equal(fx->line.data, "a\0b", 3);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_int_equal(fx->line.len, 0);
	assert_true(fx->lr.had_cr);
	assert_int_equal(lineread_next(&fx->lr, fx->in, &fx->line),
			 LINEREAD_LINE);
	assert_int_equal(fx->line.len, 0);
	assert_false(fx->lr.had_cr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crlf_and_lf, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exact_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_long_complete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_long_streaming, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_empty, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
