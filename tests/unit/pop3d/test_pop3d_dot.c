/*
 * test_pop3d_dot - unit tests for pop3d/pop3d_dot.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pop3d.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ALL	 UINT64_MAX

struct dot_case {
	const char *in;
	bool top;
	uint64_t lines;
	const char *out; /* terminating ".\r\n" included */
};

static const struct dot_case cases[] = {
	{"", false, 0, ".\r\n"},
	{"a\n", false, 0, "a\r\n.\r\n"},
	{"a", false, 0, "a\r\n.\r\n"},
	{"a\r\n", false, 0, "a\r\n.\r\n"},
	{"a\nb\n", false, 0, "a\r\nb\r\n.\r\n"},
	{".\n", false, 0, "..\r\n.\r\n"},
	{".a\n..b\nc.\n", false, 0, "..a\r\n...b\r\nc.\r\n.\r\n"},
	{"x\n.", false, 0, "x\r\n..\r\n.\r\n"},
	{"a\rb\n", false, 0, "a\rb\r\n.\r\n"},
	{"\r.\n", false, 0, "\r.\r\n.\r\n"},
	{"a\r", false, 0, "a\r\n.\r\n"},
	{"\n\n", false, 0, "\r\n\r\n.\r\n"},
	/* TOP: the header, the empty line, n body lines. */
	{"H: 1\nH: 2\n\nb1\nb2\nb3\n", true, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n"},
	{"H: 1\nH: 2\n\nb1\nb2\nb3\n", true, 2,
	 "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n"},
	{"H: 1\n\nb1\nb2\n", true, 10, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"},
	{"H: 1\n\nb1\nb2", true, 10, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"},
	{"H: 1\r\n\r\n.b1\r\nb2\r\n", true, 1, "H: 1\r\n\r\n..b1\r\n.\r\n"},
	{"H: 1\nH: 2\n", true, 0, "H: 1\r\nH: 2\r\n.\r\n"},
	{"H: 1", true, 0, "H: 1\r\n.\r\n"},
	{"\nbody\n", true, 0, "\r\n.\r\n"},
	{"\nbody\n", true, 1, "\r\nbody\r\n.\r\n"},
	/* A CR alone on a line is content, not the empty line. */
	{"H: 1\n\r\r\nb\n\nc\n", true, 0, "H: 1\r\n\r\r\nb\r\n\r\n.\r\n"},
	{"H: 1\n\nb\n", true, ALL, "H: 1\r\n\r\nb\r\n.\r\n"},
};

/* run - filter in, split at every possible point, compare with want */
static void run(const struct dot_case *c)
{
	size_t len = strlen(c->in);

	for (size_t split = 0; split <= len; split++) {
		struct pop3d_dot d;
		struct strbuf out;

		strbuf_init(&out, STRBUF_NO_LIMIT);
		pop3d_dot_init(&d, c->top, c->lines);
		if (pop3d_dot_feed(&d, c->in, split, &out) == 0)
			pop3d_dot_feed(&d, c->in + split, len - split, &out);
		pop3d_dot_finish(&d, &out);
		if (out.len != strlen(c->out) ||
		    memcmp(out.data, c->out, out.len) != 0)
			fail_msg("\"%s\" split %zu: got \"%s\"", c->in, split,
				 out.data);
		strbuf_release(&out);
	}
}

/* test_cases - the table, fed in two pieces split everywhere */
static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		run(&cases[i]);
}

/* test_byte_at_a_time - one byte per call */
static void test_byte_at_a_time(void **state)
{
	const char *in = "From: a\n.\n\n..x\r\n\r\nend";
	const char *want = "From: a\r\n..\r\n\r\n...x\r\n\r\nend\r\n.\r\n";
	struct pop3d_dot d;
	struct strbuf out;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	pop3d_dot_init(&d, false, 0);
	for (size_t i = 0; in[i]; i++)
		assert_int_equal(pop3d_dot_feed(&d, in + i, 1, &out), 0);
	pop3d_dot_finish(&d, &out);
	assert_string_equal(out.data, want);
	strbuf_release(&out);
}

/* test_top_done - feed says 1 once TOP has what it needs */
static void test_top_done(void **state)
{
	struct pop3d_dot d;
	struct strbuf out;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	pop3d_dot_init(&d, true, 1);
	assert_int_equal(pop3d_dot_feed(&d, "H: x\n\n", 6, &out), 0);
	assert_int_equal(pop3d_dot_feed(&d, "one\ntwo\n", 8, &out), 1);
	/* Nothing more is taken. */
	assert_int_equal(pop3d_dot_feed(&d, "three\n", 6, &out), 1);
	pop3d_dot_finish(&d, &out);
	assert_string_equal(out.data, "H: x\r\n\r\none\r\n.\r\n");
	strbuf_release(&out);
}

/* test_size - the CRLF size, across pieces */
static void test_size(void **state)
{
	static const struct {
		const char *in;
		uint64_t size;
	} sizes[] = {
		{"", 0},       {"a", 1},	 {"a\n", 3},	  {"a\r\n", 3},
		{"a\nb\n", 6}, {"\n\n\n", 6},	 {"\r\n\r\n", 4}, {"a\rb", 3},
		{".\n", 3},    {"x\r\ny\nz", 7},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(sizes); i++) {
		size_t len = strlen(sizes[i].in);

		for (size_t split = 0; split <= len; split++) {
			struct pop3d_dot_size z = {0};

			pop3d_dot_size(&z, sizes[i].in, split);
			if (pop3d_dot_size(&z, sizes[i].in + split,
					   len - split) != sizes[i].size)
				fail_msg("\"%s\" split %zu: %llu", sizes[i].in,
					 split, (unsigned long long)z.size);
		}
	}
}

/* test_size_matches_retr - the size is the RETR output minus stuffing
 * and the terminator, for a terminated message */
static void test_size_matches_retr(void **state)
{
	const char *in = "Subject: x\n\nline\r\nother\n\n";
	struct pop3d_dot d;
	struct pop3d_dot_size z = {0};
	struct strbuf out;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	pop3d_dot_init(&d, false, 0);
	pop3d_dot_feed(&d, in, strlen(in), &out);
	assert_int_equal(pop3d_dot_size(&z, in, strlen(in)), out.len);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_top_done),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_size_matches_retr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
