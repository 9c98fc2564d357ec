/*
 * test_maildir - unit tests for lib/store/maildir.c
 *
 * Deliveries go to a temporary directory; the tests check the bytes on
 * disk, the names, that tmp/ is empty afterwards and that a failed
 * delivery leaves nothing in new/.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "maildir.h"
#include "testlib.h"

/* A reader over a string, in chunks of at most step bytes. */
struct src {
	const char *data;
	size_t len, pos, step;
	size_t fail_at; /* return -1 once pos reaches this (0: never) */
};

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (s->fail_at != 0 && s->pos >= s->fail_at) {
		errno = EIO;
		return -1;
	}
	if (n > len)
		n = len;
	if (s->step != 0 && n > s->step)
		n = s->step;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/* count_entries - names in dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* slurp - the file's bytes */
static char *slurp(const char *path, size_t *len_r)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* sub - dir/name, malloc'd */
static char *sub(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void deliver_ok(const char *maildir, const char *content, size_t step,
		       const char *expect)
{
	struct src s = {content, strlen(content), 0, step, 0};
	struct maildir_msg msg = {"alice@example.test", "bob@example.test",
				  src_read, &s};
	const char *error = NULL;
	char *path = NULL, *data, *tmpdir, *want_suffix;
	size_t len;

	assert_int_equal(maildir_deliver(maildir, &msg, MAILDIR_NO_SYMLINK,
					 &path, &error),
			 0);
	assert_non_null(path);
	data = slurp(path, &len);
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(data, expect, len);
	{
		size_t lf = 0;

		for (size_t i = 0; i < len; i++)
			lf += data[i] == '\n';
		/* ",W=": the size with every LF counted as CRLF. */
		want_suffix = xasprintf(",S=%zu,W=%zu", len, len + lf);
	}
	assert_non_null(strstr(path, "/new/"));
	assert_string_equal(path + strlen(path) - strlen(want_suffix),
			    want_suffix);
	tmpdir = sub(maildir, "tmp");
	assert_int_equal(count_entries(tmpdir), 0);
	free(tmpdir);
	free(want_suffix);
	free(data);
	free(path);
}

static void test_bytes(void **state)
{
	char *dir = testlib_tmpdir();
	char *md = sub(dir, "a/b/Maildir/");
	static const char expect[] =
		"Return-Path: <alice@example.test>\n"
		"Delivered-To: bob@example.test\n"
		"Subject: hi\n\nline 1\nbare\rcr\ntwo\r\nlf only\nend\r";

	(void)state;
	/* Every chunking, including a CR at a chunk's end. */
	for (size_t step = 0; step < 8; step++)
		deliver_ok(md,
			   "Subject: hi\r\n\r\nline 1\r\nbare\rcr\r\n"
			   "two\r\r\nlf only\nend\r",
			   step, expect);
	{
		char *new = sub(md, "new"), *cur = sub(md, "cur");
		struct stat st;

		assert_int_equal(count_entries(new), 8);
		assert_int_equal(count_entries(cur), 0);
		assert_int_equal(stat(new, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
		free(new);
		free(cur);
	}
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static void test_null_sender_no_headers(void **state)
{
	char *dir = testlib_tmpdir();
	struct src s = {"x\r\n", 3, 0, 0, 0};
	struct maildir_msg msg = {"", NULL, src_read, &s};
	const char *error;
	char *path, *data;
	size_t len;

	(void)state;
	assert_int_equal(maildir_deliver(dir, &msg, 0, &path, &error), 0);
	data = slurp(path, &len);
	assert_string_equal(data, "Return-Path: <>\nx\n");
	free(data);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

static void test_unique_names(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_int_equal(maildir_unique_name(a, sizeof(a)), 0);
	assert_int_equal(maildir_unique_name(b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	assert_non_null(strstr(a, ".M"));
	assert_int_equal(maildir_unique_name(a, 5), -1);
}

static void test_read_failure_leaves_nothing(void **state)
{
	char *dir = testlib_tmpdir();
	char *big = xmalloc(300000), *new, *tmp;
	struct src s;
	struct maildir_msg msg = {"a@b", "c@d", src_read, &s};
	const char *error = NULL;
	char *path = NULL;

	(void)state;
	memset(big, 'x', 300000);
	s = (struct src){big, 300000, 0, 0, 200000};
	assert_int_equal(maildir_deliver(dir, &msg, 0, &path, &error),
			 MAILDIR_ERR_TEMP);
	assert_null(path);
	assert_non_null(strstr(error, "write"));
	new = sub(dir, "new");
	tmp = sub(dir, "tmp");
	assert_int_equal(count_entries(new), 0);
	assert_int_equal(count_entries(tmp), 0);
	free(new);
	free(tmp);
	free(big);
	testlib_rmtree(dir);
	free(dir);
}

static void test_symlink_refused(void **state)
{
	char *dir = testlib_tmpdir();
	char *real = sub(dir, "real"), *link = sub(dir, "link");
	struct src s = {"x\n", 2, 0, 0, 0};
	struct maildir_msg msg = {"a@b", "c@d", src_read, &s};
	const char *error = NULL;
	char *path = NULL;

	(void)state;
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(
		maildir_deliver(link, &msg, MAILDIR_NO_SYMLINK, &path, &error),
		MAILDIR_ERR_TEMP);
	assert_non_null(strstr(error, "symlink"));
	assert_int_equal(count_entries(real), 0);
	/* Without the flag (a user delivering as himself) it is followed. */
	assert_int_equal(maildir_deliver(link, &msg, 0, &path, &error), 0);
	free(path);
	testlib_rmtree(dir);
	free(real);
	free(link);
	free(dir);
}

static void test_unwritable(void **state)
{
	char *dir, *md;
	struct src s = {"x\n", 2, 0, 0, 0};
	struct maildir_msg msg = {"a@b", "c@d", src_read, &s};
	const char *error = NULL;

	(void)state;
	/* Permissions do not stop root. */
	if (geteuid() == 0)
		skip();
	dir = testlib_tmpdir();
	md = sub(dir, "Maildir");
	assert_int_equal(chmod(dir, 0500), 0);
	assert_int_equal(maildir_deliver(md, &msg, 0, NULL, &error),
			 MAILDIR_ERR_TEMP);
	assert_non_null(strstr(error, "Permission denied"));
	assert_int_equal(chmod(dir, 0700), 0);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_null_sender_no_headers),
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_read_failure_leaves_nothing),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
