/*
 * test_mapsrc - unit tests for lib/maps/mapsrc.c
 *
 * Entries are collected as "key=value@line" lines and compared as one
 * string, so a test shows the whole parse at a glance.  Errors are checked
 * by their exact "FILE:LINE: ..." text, which `facteur map` shows the
 * admin as it is.  Every input is also parsed fed one byte at a time, which
 * must give the same result: the parser is resumable at any byte.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "mapsrc.h"
#include "strbuf.h"
#include "testlib.h"

#define FN "src"

/* ---------------------------------------------------------- helpers */

/* collect - mapsrc callback: append "key=value@line\n" */
static int collect(const struct mapsrc_entry *entry, void *ctx,
		   const char **error_r)
{
	struct strbuf *out = ctx;

	(void)error_r;
	assert_int_equal(strlen(entry->key), entry->key_len);
	assert_int_equal(strlen(entry->value), entry->value_len);
	strbuf_appendf(out, "%s=%s@%u\n", entry->key, entry->value,
		       entry->line);
	return 0;
}

/* parse_bytewise - parse with the raw API, one byte of input at a time;
 * returns the entries, or the error prefixed "ERROR " */
static char *parse_bytewise(const char *text, size_t len, unsigned int flags,
			    size_t line_max)
{
	struct mapsrc_parser *parser =
		mapsrc_parser_create(FN, flags, line_max);
	struct strbuf out;
	struct mapsrc_entry entry;
	const char *error;
	int ret = 0;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (size_t i = 0; i <= len && ret >= 0; i++) {
		if (i < len)
			mapsrc_parser_input(parser, text + i, 1);
		else
			mapsrc_parser_eof(parser);
		while ((ret = mapsrc_parser_next(parser, &entry, &error)) > 0)
			collect(&entry, &out, NULL);
	}
	if (ret < 0) {
		strbuf_reset(&out);
		strbuf_appendf(&out, "ERROR %s", error);
	}
	mapsrc_parser_free(&parser);
	return strbuf_steal(&out);
}

/* parse - parse text both ways; the results must agree; caller frees */
static char *parse_len(const char *text, size_t len, unsigned int flags)
{
	struct strbuf out;
	const char *error;
	char *bytewise;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	if (mapsrc_parse_buffer(FN, text, len, flags, collect, &out, &error) <
	    0) {
		strbuf_reset(&out);
		strbuf_appendf(&out, "ERROR %s", error);
	}
	bytewise = parse_bytewise(text, len, flags, 0);
	assert_string_equal(bytewise, strbuf_cstr(&out));
	free(bytewise);
	return strbuf_steal(&out);
}

static char *parse(const char *text, unsigned int flags)
{
	return parse_len(text, strlen(text), flags);
}

/* check - text parses to expect (entries, or "ERROR ...") */
static void check(const char *text, unsigned int flags, const char *expect)
{
	char *got = parse(text, flags);

	assert_string_equal(got, expect);
	free(got);
}

/* ------------------------------------------------------------ tests */

static void test_plain(void **state)
{
	(void)state;
	check("# a comment\n"
	      "\n"
	      "postmaster@Example.COM   root\n"
	      "   \t \n"
	      "user@example.com\tsmtp:[relay.example.com]:587   \n"
	      "  # indented comment\n"
	      "@example.org  discard:no such domain here\n"
	      "multi a,\n"
	      "\tb,\n"
	      "# a comment inside a logical line\n"
	      "\n"
	      "   c\n"
	      "last value",
	      0,
	      "postmaster@example.com=root@3\n"
	      "user@example.com=smtp:[relay.example.com]:587@5\n"
	      "@example.org=discard:no such domain here@7\n"
	      "multi=a, b, c@8\n"
	      "last=value@13\n");
}

static void test_keep_case(void **state)
{
	(void)state;
	check("Key Value\nKEY2 VaLuE\n", MAPSRC_KEEP_CASE,
	      "Key=Value@1\nKEY2=VaLuE@2\n");
	check("Key Value\nKEY2 VaLuE\n", 0, "key=Value@1\nkey2=VaLuE@2\n");
}

static void test_crlf(void **state)
{
	(void)state;
	check("a b\r\nc  d e \r\n\r\n  f\r\n", 0, "a=b@1\nc=d e f@2\n");
}

static void test_value_with_spaces(void **state)
{
	(void)state;
	/* Inside a line, whitespace is kept as written. */
	check("k  550   5.1.1  User unknown\n", 0,
	      "k=550   5.1.1  User unknown@1\n");
}

static void test_empty(void **state)
{
	(void)state;
	check("", 0, "");
	check("\n\n# nothing\n   \n", 0, "");
	check("", MAPSRC_ALIASES, "");
	check("#only", MAPSRC_ALIASES, "");
}

static void test_aliases(void **state)
{
	(void)state;
	check("# /etc/aliases\n"
	      "MAILER-DAEMON: postmaster\n"
	      "postmaster:root\n"
	      "staff : alice, bob,\n"
	      "\tcarol,\n"
	      "    dave\n"
	      "\"john doe\": jd\n"
	      "pipe: \"|/usr/bin/prog arg\"\n"
	      "url: http://example.com/x\n",
	      MAPSRC_ALIASES,
	      "mailer-daemon=postmaster@2\n"
	      "postmaster=root@3\n"
	      "staff=alice, bob, carol, dave@4\n"
	      "john doe=jd@7\n"
	      "pipe=\"|/usr/bin/prog arg\"@8\n"
	      "url=http://example.com/x@9\n");
	check("Root: X\n", MAPSRC_ALIASES | MAPSRC_KEEP_CASE, "Root=X@1\n");
	/* A quoted name may hold a colon; spaces before the colon go. */
	check("\"a:b\"  : c\n", MAPSRC_ALIASES, "a:b=c@1\n");
}

static void test_errors(void **state)
{
	(void)state;
	check("a b\nnovalue\n", 0,
	      "ERROR src:2: expected format: key whitespace value");
	/* The value may come on a continuation line. */
	check("a b\nnovalue   \n c\n", 0, "a=b@1\nnovalue=c@2\n");
	check("\n\nkey   \n", 0,
	      "ERROR src:3: expected format: key whitespace value");
	check(" a b\n", 0,
	      "ERROR src:1: continuation line without a preceding line");
	check("# c\n\n\t a b\n", 0,
	      "ERROR src:3: continuation line without a preceding line");
	check("a: b\nnocolon x\n", MAPSRC_ALIASES,
	      "ERROR src:2: expected format: name: value");
	check(": x\n", MAPSRC_ALIASES,
	      "ERROR src:1: expected format: name: value");
	check("a:\n", MAPSRC_ALIASES,
	      "ERROR src:1: expected format: name: value");
	check("a:   \n\n", MAPSRC_ALIASES,
	      "ERROR src:1: expected format: name: value");
	check("\"\": x\n", MAPSRC_ALIASES,
	      "ERROR src:1: expected format: name: value");
	check("\"a b: x\n", MAPSRC_ALIASES,
	      "ERROR src:1: unterminated quoted name");
	check("\"a\" b: x\n", MAPSRC_ALIASES,
	      "ERROR src:1: expected format: name: value");
}

static void test_nul(void **state)
{
	char *got;

	(void)state;
	got = parse_len("a b\nc d\0e\nf g\n", 14, 0);
	assert_string_equal(got, "ERROR src:2: NUL byte in line");
	free(got);
	/* Also in a comment: a NUL has no business in a source. */
	got = parse_len("# \0\n", 4, 0);
	assert_string_equal(got, "ERROR src:1: NUL byte in line");
	free(got);
}

static void test_too_long(void **state)
{
	const char *error = NULL;
	char *got, *text;

	(void)state;
	/* Exactly at the limit is fine, one more is not. */
	got = parse_bytewise("k 12345678\nkk 12345678\n", 23, 0, 10);
	assert_string_equal(got, "ERROR src:2: line too long (limit 10 bytes)");
	free(got);
	got = parse_bytewise("k 1234567\n", 10, 0, 10);
	assert_string_equal(got, "k=1234567@1\n");
	free(got);
	/* Continuations count towards the limit: "k 12 34 56" is 10. */
	got = parse_bytewise("k 12\n 34\n 56\n", 13, 0, 10);
	assert_string_equal(got, "k=12 34 56@1\n");
	free(got);
	got = parse_bytewise("k 12\n 34\n 567\n", 14, 0, 10);
	assert_string_equal(got, "ERROR src:3: line too long (limit 10 bytes)");
	free(got);
	/* A line that never ends is refused before it is all buffered. */
	got = parse_bytewise("a b\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40, 0,
			     10);
	assert_string_equal(got, "ERROR src:2: line too long (limit 10 bytes)");
	free(got);

	/* Length is checked before NUL bytes, so that the error does not
	 * depend on whether the line arrived whole. */
	got = parse_bytewise("a\0xxxxxxxxxxxx\n", 15, 0, 10);
	assert_string_equal(got, "ERROR src:1: line too long (limit 10 bytes)");
	free(got);
	got = parse_bytewise("a\0x\n", 4, 0, 10);
	assert_string_equal(got, "ERROR src:1: NUL byte in line");
	free(got);

	/* The default limit, through the buffer wrapper. */
	text = xmalloc(MAPSRC_LINE_MAX + 10);
	memset(text, 'x', MAPSRC_LINE_MAX + 10);
	text[1] = ' ';
	assert_int_equal(mapsrc_parse_buffer(FN, text, MAPSRC_LINE_MAX + 10, 0,
					     collect, NULL, &error),
			 -1);
	assert_string_equal(error, "src:1: line too long (limit 262144 bytes)");
	free(text);
}

static void test_error_is_final(void **state)
{
	struct mapsrc_parser *parser = mapsrc_parser_create(FN, 0, 0);
	struct mapsrc_entry entry;
	const char *error = NULL;

	(void)state;
	mapsrc_parser_input(parser, "bad\nok x\n", 9);
	mapsrc_parser_eof(parser);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), -1);
	assert_string_equal(error,
			    "src:1: expected format: key whitespace value");
	error = NULL;
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), -1);
	assert_string_equal(error,
			    "src:1: expected format: key whitespace value");
	mapsrc_parser_free(&parser);
	assert_null(parser);
	mapsrc_parser_free(&parser);
}

static void test_need_more(void **state)
{
	struct mapsrc_parser *parser = mapsrc_parser_create(FN, 0, 0);
	struct mapsrc_entry entry;
	const char *error;

	(void)state;
	/* "a b" could still be continued until the next line starts. */
	mapsrc_parser_input(parser, "a b\n", 4);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 0);
	mapsrc_parser_input(parser, " c\nd e", 6);
	/* Complete once the next line has been read whole. */
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 0);
	mapsrc_parser_input(parser, "\n", 1);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 1);
	assert_string_equal(entry.key, "a");
	assert_string_equal(entry.value, "b c");
	assert_int_equal(entry.line, 1);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 0);
	mapsrc_parser_eof(parser);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 1);
	assert_string_equal(entry.key, "d");
	assert_string_equal(entry.value, "e");
	assert_int_equal(entry.line, 3);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 0);
	assert_int_equal(mapsrc_parser_next(parser, &entry, &error), 0);
	mapsrc_parser_free(&parser);
}

/* stop_at_b - a callback that refuses the key "b" */
static int stop_at_b(const struct mapsrc_entry *entry, void *ctx,
		     const char **error_r)
{
	int *count = ctx;

	if (strcmp(entry->key, "b") == 0) {
		*error_r = "no b please";
		return -1;
	}
	(*count)++;
	return 0;
}

static void test_callback_error(void **state)
{
	const char *error = NULL;
	int count = 0;

	(void)state;
	assert_int_equal(mapsrc_parse_buffer(FN, "a 1\nb 2\nc 3\n", 12, 0,
					     stop_at_b, &count, &error),
			 -1);
	assert_string_equal(error, "no b please");
	assert_int_equal(count, 1);
}

static void test_file(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = testlib_write_file(dir, "virtual", "A b\n c\n#x\nd e\n");
	char *missing = xasprintf("%s/missing", dir);
	char *expect;
	struct strbuf out;
	const char *error = NULL;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(mapsrc_parse_file(path, 0, collect, &out, &error), 0);
	assert_string_equal(strbuf_cstr(&out), "a=b c@1\nd=e@4\n");

	assert_int_equal(mapsrc_parse_file(missing, 0, collect, &out, &error),
			 -1);
	expect = xasprintf("open %s: No such file or directory", missing);
	assert_string_equal(error, expect);
	free(expect);

	/* File name in parse errors is the path. */
	free(path);
	path = testlib_write_file(dir, "bad", "a b\nc\n");
	assert_int_equal(mapsrc_parse_file(path, 0, collect, &out, &error), -1);
	expect = xasprintf("%s:2: expected format: key whitespace value", path);
	assert_string_equal(error, expect);
	free(expect);

	/* A directory cannot be read. */
	assert_int_equal(mapsrc_parse_file(dir, 0, collect, &out, &error), -1);
	expect = xasprintf("read %s: Is a directory", dir);
	assert_string_equal(error, expect);
	free(expect);

	strbuf_release(&out);
	free(missing);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

static void test_big_file(void **state)
{
	char *dir = testlib_tmpdir();
	struct strbuf text, out;
	char *path;
	const char *error;

	(void)state;
	/* Larger than the wrappers' read chunk, so lines straddle reads. */
	strbuf_init(&text, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (int i = 0; i < 20000; i++)
		strbuf_appendf(&text, "Key%d value-%d\n%s", i, i,
			       i % 7 == 0 ? "  more\n" : "");
	path = testlib_write_file(dir, "big", strbuf_cstr(&text));
	assert_int_equal(mapsrc_parse_file(path, 0, collect, &out, &error), 0);
	assert_non_null(
		strstr(strbuf_cstr(&out), "\nkey19999=value-19999 more@"));
	assert_non_null(strstr(strbuf_cstr(&out), "\nkey7=value-7 more@9\n"));
	assert_non_null(strstr(strbuf_cstr(&out), "\nkey8=value-8@11\n"));
	strbuf_release(&text);
	strbuf_release(&out);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_keep_case),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_value_with_spaces),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_error_is_final),
		cmocka_unit_test(test_need_more),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_big_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
