/*
 * test_passwd_file - unit tests for lib/global/passwd_file.c
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "passwd_file.h"
#include "testlib.h"

/* parse - a database that must parse */
static struct passwd_file *parse(const char *text)
{
	const char *error = NULL;
	struct passwd_file *pf =
		passwd_file_parse("test", text, strlen(text), &error);

	if (pf == NULL)
		fail_msg("parse failed: %s", error);
	return pf;
}

/* parse_error - the error of a text that must not parse */
static const char *parse_error(const char *text, size_t len)
{
	const char *error = NULL;
	struct passwd_file *pf = passwd_file_parse("test", text, len, &error);

	assert_null(pf);
	assert_non_null(error);
	return error;
}

static void test_full_line(void **state)
{
	struct passwd_file *pf = parse(
		"bob@example.com:{PLAIN}pw:1000:1001:Bob:/home/bob:/bin/sh:"
		"userdb_quota_rule=*:storage=1G:x\n");
	const struct passwd_entry *e;

	(void)state;
	assert_int_equal(passwd_file_count(pf), 1);
	e = passwd_file_lookup(pf, "bob@example.com");
	assert_non_null(e);
	assert_string_equal(e->user, "bob@example.com");
	assert_string_equal(e->password, "{PLAIN}pw");
	assert_true(e->has_uid);
	assert_true(e->has_gid);
	assert_int_equal(e->uid, 1000);
	assert_int_equal(e->gid, 1001);
	assert_string_equal(e->home, "/home/bob");
	/* extra keeps its colons. */
	assert_string_equal(e->extra, "userdb_quota_rule=*:storage=1G:x");
	assert_int_equal(e->line, 1);
	assert_null(passwd_file_lookup(pf, "bob"));
	assert_null(passwd_file_lookup(pf, "bob@example.co"));
	passwd_file_free(&pf);
	assert_null(pf);
}

static void test_fewer_and_empty_fields(void **state)
{
	struct passwd_file *pf = parse("a\n"
				       "b:{PLAIN}x\n"
				       "c:{PLAIN}y:::::\n"
				       "d::5\n"
				       "e:{PLAIN}z:::gecos:/h\n");
	const struct passwd_entry *e;

	(void)state;
	assert_int_equal(passwd_file_count(pf), 5);
	e = passwd_file_lookup(pf, "a");
	assert_non_null(e);
	assert_string_equal(e->password, "");
	assert_false(e->has_uid);
	assert_false(e->has_gid);
	assert_string_equal(e->home, "");
	assert_string_equal(e->extra, "");
	e = passwd_file_lookup(pf, "c");
	assert_string_equal(e->password, "{PLAIN}y");
	assert_false(e->has_uid);
	e = passwd_file_lookup(pf, "d");
	assert_true(e->has_uid);
	assert_int_equal(e->uid, 5);
	assert_false(e->has_gid);
	e = passwd_file_lookup(pf, "e");
	assert_string_equal(e->home, "/h");
	assert_int_equal(e->line, 5);
	/* File order is kept. */
	assert_string_equal(passwd_file_entry(pf, 0)->user, "a");
	assert_string_equal(passwd_file_entry(pf, 4)->user, "e");
	passwd_file_free(&pf);
}

static void test_comments_blank_crlf(void **state)
{
	struct passwd_file *pf = parse("# comment\r\n"
				       "\r\n"
				       "   \n"
				       "  # indented comment\n"
				       "x@d:{PLAIN}p:1:2::/home/x::\r\n"
				       "y@d:{PLAIN}q\r\n"
				       "z@d:{PLAIN}last-no-newline");
	const struct passwd_entry *e;

	(void)state;
	assert_int_equal(passwd_file_count(pf), 3);
	e = passwd_file_lookup(pf, "x@d");
	assert_non_null(e);
	assert_int_equal(e->line, 5);
	assert_string_equal(e->extra, "");
	assert_string_equal(e->home, "/home/x");
	e = passwd_file_lookup(pf, "y@d");
	assert_string_equal(e->password, "{PLAIN}q");
	e = passwd_file_lookup(pf, "z@d");
	assert_string_equal(e->password, "{PLAIN}last-no-newline");
	passwd_file_free(&pf);

	pf = parse("");
	assert_int_equal(passwd_file_count(pf), 0);
	assert_null(passwd_file_lookup(pf, "x"));
	passwd_file_free(&pf);
}

static void test_case(void **state)
{
	struct passwd_file *pf = parse("Bob@Example.COM:{PLAIN}x\n"
				       "Carol:{PLAIN}y\n");
	char *c;

	(void)state;
	/* Domain lowercased, local part kept. */
	assert_non_null(passwd_file_lookup(pf, "Bob@example.com"));
	assert_null(passwd_file_lookup(pf, "bob@example.com"));
	assert_null(passwd_file_lookup(pf, "Bob@Example.COM"));
	assert_non_null(passwd_file_lookup(pf, "Carol"));
	assert_null(passwd_file_lookup(pf, "carol"));
	c = passwd_file_canon_user("A@b@C.Org");
	assert_string_equal(c, "A@b@c.org");
	free(c);
	passwd_file_free(&pf);
}

static void test_names_for_ids(void **state)
{
	struct passwd_file *pf = parse("u:{PLAIN}x:root:root\n");
	const struct passwd_entry *e = passwd_file_lookup(pf, "u");

	(void)state;
	assert_true(e->has_uid && e->has_gid);
	assert_int_equal(e->uid, 0);
	assert_int_equal(e->gid, 0);
	passwd_file_free(&pf);
}

static void test_errors(void **state)
{
	static const char nul[] = "a:x\nb\0:y\n";
	char *long_line;

	(void)state;
	assert_string_equal(parse_error(":{PLAIN}x\n", 10),
			    "test:1: empty user name");
	assert_string_equal(parse_error("ok\n\n:x\n", 7),
			    "test:3: empty user name");
	assert_string_equal(parse_error("a:x:12x\n", 8),
			    "test:1: bad uid '12x'");
	assert_string_equal(parse_error("a:x:-1\n", 7), "test:1: bad uid '-1'");
	assert_string_equal(parse_error("a:x:4294967295\n", 15),
			    "test:1: bad uid '4294967295'");
	assert_string_equal(parse_error("a:x:99999999999\n", 16),
			    "test:1: bad uid '99999999999'");
	assert_string_equal(parse_error("a:x:1:nosuchgroup-facteur\n", 26),
			    "test:1: bad gid 'nosuchgroup-facteur'");
	assert_string_equal(parse_error("a:x:nosuchuser-facteur\n", 23),
			    "test:1: bad uid 'nosuchuser-facteur'");
	assert_string_equal(parse_error(nul, sizeof(nul) - 1),
			    "test:2: NUL byte");
	assert_string_equal(parse_error("a b:x\n", 6),
			    "test:1: blank or control character in user name");

	long_line = xmalloc(PASSWD_FILE_LINE_MAX + 10);
	memset(long_line, 'a', PASSWD_FILE_LINE_MAX + 1);
	long_line[PASSWD_FILE_LINE_MAX + 1] = '\n';
	assert_string_equal(parse_error(long_line, PASSWD_FILE_LINE_MAX + 2),
			    "test:1: line too long");
	/* Exactly the limit is fine. */
	long_line[PASSWD_FILE_LINE_MAX] = '\n';
	{
		const char *error;
		struct passwd_file *pf = passwd_file_parse(
			"test", long_line, PASSWD_FILE_LINE_MAX + 1, &error);

		assert_non_null(pf);
		assert_int_equal(passwd_file_count(pf), 1);
		passwd_file_free(&pf);
	}
	free(long_line);
}

static void test_duplicates(void **state)
{
	struct passwd_file *pf;
	const struct passwd_entry *e;

	(void)state;
	testlib_capture_logs();
	pf = parse("a:{PLAIN}first\n"
		   "b:{PLAIN}b\n"
		   "a:{PLAIN}second\n"
		   "A@X:{PLAIN}1\n"
		   "A@x:{PLAIN}2\n");
	assert_int_equal(passwd_file_count(pf), 3);
	e = passwd_file_lookup(pf, "a");
	assert_string_equal(e->password, "{PLAIN}first");
	assert_int_equal(e->line, 1);
	e = passwd_file_lookup(pf, "A@x");
	assert_string_equal(e->password, "{PLAIN}1");
	assert_true(testlib_log_contains(
		"warning: test:3: duplicate user a ignored (first defined on "
		"line 1)"));
	assert_true(testlib_log_contains("test:5: duplicate user A@x"));
	assert_string_equal(passwd_file_entry(pf, 0)->user, "a");
	assert_string_equal(passwd_file_entry(pf, 1)->user, "b");
	assert_string_equal(passwd_file_entry(pf, 2)->user, "A@x");
	passwd_file_free(&pf);
	testlib_release_logs();
}

static void test_many_lookups(void **state)
{
	char *text = xmalloc(1000 * 32);
	size_t len = 0;
	struct passwd_file *pf;

	(void)state;
	for (int i = 999; i >= 0; i--)
		len += (size_t)snprintf(text + len, 32, "u%d@d:{PLAIN}%d\n", i,
					i);
	pf = parse(text);
	assert_int_equal(passwd_file_count(pf), 1000);
	for (int i = 0; i < 1000; i++) {
		char user[32], pw[32];
		const struct passwd_entry *e;

		snprintf(user, sizeof(user), "u%d@d", i);
		snprintf(pw, sizeof(pw), "{PLAIN}%d", i);
		e = passwd_file_lookup(pf, user);
		assert_non_null(e);
		assert_string_equal(e->password, pw);
	}
	assert_null(passwd_file_lookup(pf, "u1000@d"));
	passwd_file_free(&pf);
	free(text);
}

/* rewrite - replace path's contents (new inode, like `facteur user`) */
static void rewrite(const char *dir, const char *text)
{
	char *tmp = testlib_write_file(dir, "passwd.tmp", text);
	char *path = xasprintf("%s/passwd", dir);

	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
	free(path);
}

static void test_open_refresh(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = testlib_write_file(dir, "passwd", "a:{PLAIN}1\n");
	const char *error = NULL;
	struct passwd_file *pf;
	FILE *fp;

	(void)state;
	pf = passwd_file_open(path, &error);
	assert_non_null(pf);
	assert_string_equal(passwd_file_lookup(pf, "a")->password, "{PLAIN}1");

	/* Unchanged: nothing happens. */
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_count(pf), 1);

	/* Replaced by rename. */
	rewrite(dir, "a:{PLAIN}2\nb:{PLAIN}3\n");
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_count(pf), 2);
	assert_string_equal(passwd_file_lookup(pf, "a")->password, "{PLAIN}2");

	/* Appended in place (same inode, new size). */
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("c:{PLAIN}4\n", fp);
	fclose(fp);
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_non_null(passwd_file_lookup(pf, "c"));

	/* A broken file keeps the old contents. */
	rewrite(dir, "a:{PLAIN}5:bad-uid-x\n");
	error = NULL;
	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	assert_non_null(strstr(error, "/passwd:1: bad uid"));
	assert_string_equal(passwd_file_lookup(pf, "a")->password, "{PLAIN}2");
	assert_int_equal(passwd_file_count(pf), 3);

	/* Gone: also kept. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	assert_non_null(strstr(error, "stat "));
	assert_int_equal(passwd_file_count(pf), 3);

	/* Back, fixed. */
	rewrite(dir, "z:{PLAIN}6\n");
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_count(pf), 1);
	assert_null(passwd_file_lookup(pf, "a"));
	assert_non_null(passwd_file_lookup(pf, "z"));
	passwd_file_free(&pf);

	assert_null(passwd_file_open("/nonexistent/passwd", &error));
	assert_string_equal(error, "open /nonexistent/passwd: No such file or "
				   "directory");
	assert_null(passwd_file_open(dir, &error));
	assert_non_null(strstr(error, "not a regular file"));

	testlib_rmtree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_fewer_and_empty_fields),
		cmocka_unit_test(test_comments_blank_crlf),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_names_for_ids),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_many_lookups),
		cmocka_unit_test(test_open_refresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
