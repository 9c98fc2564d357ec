/*
 * test_mailbox_cache - FOLDER/facteur-cache: the record parser and the
 * file as sessions and processes use it
 *
 * Good records parse; a torn or damaged record ends the good prefix and
 * nothing after it is taken (bad numbers, overflow, a wrong length or
 * checksum, a missing newline).  Through the store: what a session put
 * is found by the next one after the file was read again; a truncated
 * tail, a file of garbage, or one of another UIDVALIDITY is ignored and
 * started again by the next writer, never served.
 */
#include "autoconf.h"

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
#include "mailbox.h"
#include "mailbox_cache.h"
#include "maildir.h"
#include "strbuf.h"
#include "testlib.h"

struct got {
	size_t n;
	uint32_t uid[8];
	unsigned variant[8];
	uint64_t vsize[8];
	char data[8][64];
};

static void collect(void *ctx, uint32_t uid, unsigned variant, uint64_t vsize,
		    const char *data, size_t len)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	assert_true(len < 64);
	g->uid[g->n] = uid;
	g->variant[g->n] = variant;
	g->vsize[g->n] = vsize;
	memcpy(g->data[g->n], data, len);
	g->data[g->n][len] = '\0';
	g->n++;
}

static size_t parse(const char *text, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return mbx_cache_parse(text, strlen(text), collect, g);
}

static void test_format_parse(void **state)
{
	struct strbuf out;
	struct got g;
	uint32_t uidv;
	size_t used;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	mbx_cache_format(&out, 1, 0, 4301, "(NIL \"a\")", 9);
	mbx_cache_format(&out, 7, 1, 0, "x\r\ny\n", 5); /* a literal */
	mbx_cache_format(&out, 4294967295u, 0, 1, "", 0);
	assert_int_equal(parse(out.data, &g), out.len);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.uid[0], 1);
	assert_int_equal(g.vsize[0], 4301);
	assert_string_equal(g.data[0], "(NIL \"a\")");
	assert_int_equal(g.uid[1], 7);
	assert_int_equal(g.variant[1], 1);
	assert_string_equal(g.data[1], "x\r\ny\n");
	assert_int_equal(g.uid[2], 4294967295u);
	assert_string_equal(g.data[2], "");
	/* Every cut of the last record leaves the first two. */
	size_t two = out.len - strlen("E 4294967295 0 1 0 811c9dc5\n\n");
	for (size_t cut = two; cut < out.len; cut++) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(mbx_cache_parse(out.data, cut, collect, &g),
				 two);
		assert_int_equal(g.n, 2);
	}
	strbuf_release(&out);

	assert_int_equal(mbx_cache_parse_header("FACTEUR-CACHE 1 1700000000\nE",
						28, &uidv, &used),
			 0);
	assert_int_equal(uidv, 1700000000);
	assert_int_equal(used, 27);
	assert_int_equal(
		mbx_cache_parse_header("FACTEUR-CACHE 1 0\n", 18, &uidv, &used),
		-1);
	assert_int_equal(
		mbx_cache_parse_header("FACTEUR-CACHE 2 5\n", 18, &uidv, &used),
		-1);
	assert_int_equal(mbx_cache_parse_header("FACTEUR-CACHE 1 4294967296\n",
						27, &uidv, &used),
			 -1);
	assert_int_equal(
		mbx_cache_parse_header("FACTEUR-CACHE 1 5", 17, &uidv, &used),
		-1);
}

static void test_bad_records(void **state)
{
	static const char *const bad[] = {
		"E 0 0 0 1 e40c292c\na\n",	    /* UID 0 */
		"E 1 2 0 1 e40c292c\na\n",	    /* variant 2 */
		"E 4294967296 0 0 1 e40c292c\na\n", /* UID overflow */
		"E 1 0 99999999999999999999 1 e40c292c\na\n",
		"E 1 0 0 262145 e40c292c\na\n", /* too long */
		"E 1 0 0 1 e40c292d\na\n",	/* checksum */
		"E 1 0 0 1 E40C292C\na\n",	/* upper-case hex */
		"E 1 0 0 2 e40c292c\na\n",	/* length past the end */
		"E 1 0 0 1 e40c292c\nab",	/* no newline after */
		"E 1 0 0 1 e40c292c \na\n",	/* extra field */
		"E  1 0 0 1 e40c292c\na\n",	/* double space */
		"E -1 0 0 1 e40c292c\na\n",	/* sign */
		"E 01 0 0 1 e40c292c\na\n",	/* leading zero */
		"X 1 0 0 1 e40c292c\na\n",	/* unknown kind */
		"\0 1 0 0 1 e40c292c\na\n",	/* NUL */
		"E 1 0 0 1 e40c292",		/* torn */
		"\n",
	};
	struct got g;

	(void)state;
	/* The one good form of the same record. */
	assert_int_equal(parse("E 1 0 0 1 e40c292c\na\n", &g), 21);
	assert_int_equal(g.n, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[128];

		snprintf(text, sizeof(text), "E 9 0 0 1 e40c292c\na\n%s",
			 bad[i]);
		assert_int_equal(parse(text, &g), 21);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.uid[0], 9);
	}
	/* Nothing after a bad record counts, even good records. */
	assert_int_equal(
		parse("E 1 0 0 1 00000000\na\nE 2 0 0 1 e40c292c\na\n", &g), 0);
	assert_int_equal(g.n, 0);
}

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	const char **p = ctx;
	size_t n = strlen(*p);

	if (n > len)
		n = len;
	memcpy(buf, *p, n);
	*p += n;
	return (ssize_t)n;
}

static struct mailbox *open_ok(const char *md)
{
	const char *error;
	bool notfound;
	struct mailbox *mb = mailbox_open(md, "INBOX", 0, &notfound, &error);

	assert_non_null(mb);
	return mb;
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	return buf;
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_store(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *path = xasprintf("%s/facteur-cache", md), *text;
	struct mailbox *mb;
	const char *data, *error;
	size_t len;
	uint64_t vsize;
	struct stat st;

	(void)state;
	for (int i = 0; i < 3; i++) {
		const char *p = "Subject: x\n\nbody\n";
		struct maildir_msg msg = {NULL, NULL, src_read, &p};

		assert_int_equal(maildir_deliver(md, &msg, 0, NULL, &error), 0);
	}
	mb = open_ok(md);
	assert_int_equal(mailbox_count(mb), 3);
	/* No file yet: nothing cached, and looking makes no file. */
	assert_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	assert_int_equal(stat(path, &st), -1);
	mailbox_cache_put(mb, 0, 0, 17, "ENV-A", 5);
	mailbox_cache_put(mb, 1, 1, 0, "ENV-B", 5);
	/* Seen at once in memory, on disk after the flush. */
	data = mailbox_cache_get(mb, 0, 0, &len, &vsize);
	assert_non_null(data);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "ENV-A", 5);
	assert_int_equal(vsize, 17);
	assert_null(mailbox_cache_get(mb, 0, 1, &len, &vsize));
	mailbox_cache_flush(mb);
	mailbox_close(&mb);
	mailbox_drop_closed();

	/* Read again by the next open: both records. */
	mb = open_ok(md);
	data = mailbox_cache_get(mb, 1, 1, &len, &vsize);
	assert_non_null(data);
	assert_memory_equal(data, "ENV-B", 5);
	assert_non_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	mailbox_close(&mb);
	mailbox_drop_closed();

	/* A torn tail (a writer killed in the middle of its record):
	 * the first record holds, the second is not served ... */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 3), 0);
	mb = open_ok(md);
	assert_non_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	assert_null(mailbox_cache_get(mb, 1, 1, &len, &vsize));
	/* ... and the next writer cuts it off before appending. */
	mailbox_cache_put(mb, 2, 0, 0, "ENV-C", 5);
	mailbox_close(&mb);
	mailbox_drop_closed();
	text = slurp(path);
	assert_non_null(strstr(text, "\nENV-A\n"));
	assert_null(strstr(text, "ENV-B"));
	assert_non_null(strstr(text, "\nENV-C\n"));
	free(text);
	mb = open_ok(md);
	assert_non_null(mailbox_cache_get(mb, 2, 0, &len, &vsize));
	mailbox_close(&mb);
	mailbox_drop_closed();

	/* Garbage: ignored, and started again by the next writer. */
	write_file(path, "garbage\nE 1 0 0 5 00000000\nENV-X\n", 33);
	mb = open_ok(md);
	assert_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	mailbox_cache_put(mb, 0, 0, 0, "ENV-D", 5);
	mailbox_close(&mb);
	mailbox_drop_closed();
	text = slurp(path);
	assert_true(strncmp(text, "FACTEUR-CACHE 1 ", 16) == 0);
	assert_null(strstr(text, "garbage"));
	assert_non_null(strstr(text, "\nENV-D\n"));
	free(text);

	/* Another UIDVALIDITY (an index since rebuilt): not served. */
	mb = open_ok(md);
	char other[128];
	struct strbuf rec;

	strbuf_init(&rec, STRBUF_NO_LIMIT);
	snprintf(other, sizeof(other), "FACTEUR-CACHE 1 %lu\n",
		 (unsigned long)mailbox_uidvalidity(mb) + 1);
	strbuf_append_str(&rec, other);
	mbx_cache_format(&rec, mailbox_uid(mb, 0), 0, 0, "ENV-OLD", 7);
	mailbox_close(&mb);
	mailbox_drop_closed();
	write_file(path, rec.data, rec.len);
	strbuf_release(&rec);
	mb = open_ok(md);
	assert_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	mailbox_close(&mb);
	mailbox_drop_closed();

	/* Not a regular file: never read, never written through. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	mb = open_ok(md);
	assert_null(mailbox_cache_get(mb, 0, 0, &len, &vsize));
	mailbox_cache_put(mb, 0, 0, 0, "ENV-E", 5);
	mailbox_close(&mb);
	mailbox_drop_closed();
	rmdir(path);

	free(path);
	free(md);
	testlib_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
