/*
 * test_local_lists - unit tests for the parsers of local: the
 * Delivered-To: header scan (local_loop.c) and the .forward / :include:
 * list splitter (local_forward.c), with malformed input
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "local.h"

/* local_forward.c reports through local.c's setter: a copy for the test. */
void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...)
{
	va_list ap;

	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* loop - parse text, compare with the expected values */
static void loop(const char *text, const char *const *want, size_t nwant)
{
	size_t count = 99;
	char **list = local_loop_parse(text, strlen(text), &count);

	assert_int_equal(count, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(list[i], want[i]);
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

static void test_loop_basic(void **state)
{
	static const char *const one[] = {"bob@example.test"};
	static const char *const two[] = {"a@x.test", "b@y.test"};

	(void)state;
	loop("Subject: x\r\nDelivered-To: Bob@Example.TEST\r\n\r\n"
	     "Delivered-To: body@x.test\r\n",
	     one, 1);
	loop("delivered-to:a@x.test\nX: y\nDELIVERED-TO:   b@y.test  \n\n", two,
	     2);
	/* Folded. */
	loop("Delivered-To:\r\n bob@example.test\r\n\r\n", one, 1);
}

static void test_loop_malformed(void **state)
{
	static const char *const one[] = {"bob@example.test"};
	char big[3000];

	(void)state;
	loop("", NULL, 0);
	loop("\r\n", NULL, 0);
	loop("Delivered-To:\r\n\r\n", NULL, 0);		/* empty value */
	loop("Delivered-Tox: a@b\r\n\r\n", NULL, 0);	/* another field */
	loop("Delivered-To", NULL, 0);			/* no colon, no end */
	loop(" Delivered-To: a@b\r\n", NULL, 0);	/* a continuation */
	loop("Delivered-To: bob@example.test", one, 1); /* no line end */
	loop("X: \0y\r\n", NULL, 0);
	/* Over the value limit: ignored. */
	memcpy(big, "Delivered-To: ", 14);
	memset(big + 14, 'a', sizeof(big) - 15);
	big[sizeof(big) - 1] = '\0';
	loop(big, NULL, 0);
}

static void test_loop_limit(void **state)
{
	char *text = malloc(200 * 32);
	size_t len = 0, count;
	char **list;

	(void)state;
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, "Delivered-To: u%d@x\n", i);
	list = local_loop_parse(text, len, &count);
	assert_int_equal(count, LOCAL_LOOP_MAX);
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
	free(text);
}

/* split - split text, compare */
static void split(const char *text, const char *const *want, size_t nwant)
{
	const char *error = NULL;
	char **list = local_forward_split(text, strlen(text), &error);
	size_t n = 0;

	assert_non_null(list);
	while (list[n] != NULL)
		n++;
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(list[i], want[i]);
	local_forward_free(list);
}

static void test_split(void **state)
{
	static const char *const a[] = {"bob@x.test", "\\me", "|cmd arg",
					"/var/mail/me"};
	static const char *const b[] = {"|vacation, -a me", "x@y"};
	static const char *const c[] = {"a", "b"};

	(void)state;
	split("# comment, with commas\nbob@x.test, \\me\r\n|cmd arg\n"
	      "/var/mail/me\n",
	      a, 4);
	split("\"|vacation, -a me\",x@y", b, 2);
	split("a,,, ,\n\n\t,b", c, 2);
}

static void test_split_malformed(void **state)
{
	static const char *const q[] = {"\"unterminated", "next"};
	const char *error = NULL;
	char *many;
	char **list;

	(void)state;
	split("", NULL, 0);
	split("#only a comment", NULL, 0);
	split(",\n,", NULL, 0);
	/* An open quote ends at the end of its line. */
	split("\"unterminated\nnext", q, 2);
	/* A NUL separates entries instead of hiding the rest. */
	{
		static const char text[] = "a\0b";
		static const char *const ab[] = {"a", "b"};

		list = local_forward_split(text, 3, &error);
		assert_non_null(list);
		assert_string_equal(list[0], ab[0]);
		assert_string_equal(list[1], ab[1]);
		assert_null(list[2]);
		local_forward_free(list);
	}
	/* Too many entries. */
	many = malloc(LOCAL_ALIAS_TARGETS_MAX * 3 + 10);
	for (size_t i = 0; i <= LOCAL_ALIAS_TARGETS_MAX; i++)
		memcpy(many + i * 2, "a,", 2);
	many[(LOCAL_ALIAS_TARGETS_MAX + 1) * 2] = '\0';
	list = local_forward_split(many, strlen(many), &error);
	assert_null(list);
	assert_string_equal(error, "too many entries");
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_basic),
		cmocka_unit_test(test_loop_malformed),
		cmocka_unit_test(test_loop_limit),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
