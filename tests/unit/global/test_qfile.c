/*
 * test_qfile - unit tests for lib/global/qfile.c
 *
 * Files are written with the real writer into a temporary directory and
 * read back through both reader paths (descriptor and buffer); damaged
 * files are made by editing the bytes of a good one.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "qfile.h"
#include "queue_id.h"
#include "testlib.h"

/* Content with NULs, 8-bit bytes and every line ending. */
static const char binary_content[] =
	"Subject: t\r\n\r\nCRLF line\r\nLF line\nCR line\rLFCR line\n\r"
	"nul\0byte\0\0 and \xff\xfe 8-bit \xc3\xa9t\xc3\xa9\r\n.\r\n"
	"no final newline";

/* count_entries - names in dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* slurp - the whole file at path */
static unsigned char *slurp(const char *path, size_t *len_r)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* read_content - all content of q through qfile_content_pread */
static unsigned char *read_content(const struct qfile *q, int fd,
				   size_t bufsize)
{
	unsigned char *out = xmalloc(q->content_size + 1);
	uint64_t pos = 0;

	for (;;) {
		size_t want = bufsize;
		ssize_t n;

		if (pos + want > q->content_size)
			want = (size_t)(q->content_size - pos);
		n = qfile_content_pread(q, fd, out + pos, want, pos);
		assert_true(n >= 0);
		if (n == 0)
			break;
		pos += (uint64_t)n;
	}
	assert_true(pos == q->content_size);
	return out;
}

/* small_message - commit a small message into dir; returns its path */
static char *small_message(const char *dir, const char *content, size_t len)
{
	struct qfile_writer *w;
	const char *error = NULL;
	char *path;

	w = qfile_writer_create(dir, NULL, &error);
	assert_non_null(w);
	assert_int_equal(qfile_write_sender(w, "a@example.org", &error), 0);
	assert_int_equal(qfile_write_attr(w, "size", "12", &error), 0);
	assert_int_equal(qfile_write_recipient(w, "b@example.com",
					       "rfc822;b@example.com",
					       QFILE_NOTIFY_FAILURE, &error),
			 0);
	assert_int_equal(
		qfile_write_recipient(w, "c@example.com", NULL, 0, &error), 0);
	assert_int_equal(qfile_write_content(w, content, len, &error), 0);
	assert_int_equal(qfile_commit(w, NULL, 0, &error), 0);
	path = xstrdup(qfile_writer_path(w));
	qfile_writer_free(&w);
	return path;
}

static void test_round_trip(void **state)
{
	char *dir = testlib_tmpdir();
	char *incoming = xasprintf("%s/incoming", dir);
	struct timeval arrival = {1700000000, 654321};
	struct qfile_writer *w;
	struct qfile *q = NULL;
	const char *error = NULL;
	char id[QUEUE_ID_MAX + 1];
	char hash[QUEUE_ID_HASH_DIR_MAX];
	char *path, *expect;
	unsigned char *content;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(incoming, 0700), 0);
	w = qfile_writer_create(incoming, &arrival, &error);
	assert_non_null(w);
	assert_true(queue_id_valid(qfile_writer_id(w)));
	assert_int_equal(qfile_write_sender(w, "", &error), 0);
	assert_int_equal(qfile_write_attr(w, QFILE_ATTR_CLIENT_ADDR,
					  "192.0.2.7", &error),
			 0);
	assert_int_equal(qfile_write_attr(w, QFILE_ATTR_HELO, "", &error), 0);
	assert_int_equal(qfile_write_attr(w, QFILE_ATTR_SMTPUTF8, "1", &error),
			 0);
	assert_int_equal(qfile_write_recipient(
				 w, "bob@example.com", "rfc822;bob@example.com",
				 QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_DELAY,
				 &error),
			 0);
	assert_int_equal(qfile_write_recipient(w,
					       "j\xc3\xb6rg@b\xc3\xbc"
					       "cher.example",
					       NULL, QFILE_NOTIFY_NEVER,
					       &error),
			 0);
	assert_int_equal(qfile_write_recipient(w, "postmaster", "", 0, &error),
			 0);
	/* Byte by byte and then the rest: chunking must not matter. */
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(
			qfile_write_content(w, binary_content + i, 1, &error),
			0);
	assert_int_equal(qfile_write_content(w, binary_content + 10,
					     sizeof(binary_content) - 10,
					     &error),
			 0);
	assert_true(qfile_writer_content_size(w) == sizeof(binary_content));
	memcpy(id, qfile_writer_id(w), sizeof(id));
	assert_int_equal(qfile_commit(w, NULL, 1, &error), 0);
	assert_int_equal(queue_id_hash_dir(id, 1, hash, sizeof(hash)), 0);
	expect = xasprintf("%s/%s/%s", incoming, hash, id);
	assert_string_equal(qfile_writer_path(w), expect);
	qfile_writer_free(&w);
	assert_null(w);

	/* Exactly one entry, the hash directory, holding exactly the file,
	 * mode 0600. */
	assert_int_equal(count_entries(incoming), 1);
	path = xasprintf("%s/%s", incoming, hash);
	assert_int_equal(count_entries(path), 1);
	assert_int_equal(stat(expect, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(S_ISREG(st.st_mode));
	free(path);

	assert_int_equal(qfile_open(expect, false, NULL, &q, &error), 0);
	assert_true(q->arrival_sec == 1700000000);
	assert_int_equal(q->arrival_usec, 654321);
	assert_string_equal(q->sender, "");
	assert_int_equal(q->attr_count, 3);
	assert_string_equal(qfile_attr(q, QFILE_ATTR_CLIENT_ADDR), "192.0.2.7");
	assert_string_equal(qfile_attr(q, QFILE_ATTR_HELO), "");
	assert_string_equal(qfile_attr(q, QFILE_ATTR_SMTPUTF8), "1");
	assert_null(qfile_attr(q, QFILE_ATTR_SASL_USER));
	assert_int_equal(q->rcpt_count, 3);
	assert_string_equal(q->rcpts[0].address, "bob@example.com");
	assert_string_equal(q->rcpts[0].orcpt, "rfc822;bob@example.com");
	assert_int_equal(q->rcpts[0].notify,
			 QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_DELAY);
	assert_string_equal(q->rcpts[1].address, "j\xc3\xb6rg@b\xc3\xbc"
						 "cher.example");
	assert_string_equal(q->rcpts[1].orcpt, "");
	assert_int_equal(q->rcpts[1].notify, QFILE_NOTIFY_NEVER);
	assert_string_equal(q->rcpts[2].address, "postmaster");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(q->rcpts[i].status, QFILE_RCPT_PENDING);
	assert_int_equal(qfile_pending_count(q), 3);
	assert_true(q->content_size == sizeof(binary_content));
	/* Under one chunk: one contiguous segment. */
	assert_int_equal(q->segment_count, 1);
	content = read_content(q, q->fd, 7);
	assert_memory_equal(content, binary_content, sizeof(binary_content));
	free(content);
	/* The documented contiguous range holds the same bytes. */
	content = xmalloc(sizeof(binary_content));
	assert_int_equal(pread(q->fd, content, sizeof(binary_content),
			       q->content_offset),
			 sizeof(binary_content));
	assert_memory_equal(content, binary_content, sizeof(binary_content));
	free(content);
	qfile_free(&q);
	assert_null(q);
	qfile_free(&q);

	free(expect);
	free(incoming);
	testlib_rmtree(dir);
	free(dir);
}

static void test_large_chunked(void **state)
{
	char *dir = testlib_tmpdir();
	const size_t total = 3 * QFILE_CHUNK_SIZE + 12345;
	unsigned char *msg = xmalloc(total);
	struct qfile_writer *w;
	struct qfile *q = NULL;
	const char *error = NULL;
	unsigned char *back;
	size_t off = 0, step = 1;

	(void)state;
	for (size_t i = 0; i < total; i++)
		msg[i] = (unsigned char)(i * 7 + i / 251);
	w = qfile_writer_create(dir, NULL, &error);
	assert_non_null(w);
	assert_int_equal(qfile_write_sender(w, "a@example.org", &error), 0);
	assert_int_equal(
		qfile_write_recipient(w, "b@example.com", NULL, 0, &error), 0);
	/* Irregular chunks, some larger than a record. */
	while (off < total) {
		size_t n = step % 3 == 0 ? QFILE_CHUNK_SIZE + step : step * 37;

		if (n > total - off)
			n = total - off;
		assert_int_equal(qfile_write_content(w, msg + off, n, &error),
				 0);
		off += n;
		step++;
	}
	assert_int_equal(qfile_commit(w, NULL, 2, &error), 0);
	assert_int_equal(
		qfile_open(qfile_writer_path(w), false, NULL, &q, &error), 0);
	qfile_writer_free(&w);
	assert_true(q->content_size == total);
	assert_int_equal(q->segment_count, 4);
	/* Buffer sizes that straddle record boundaries. */
	back = read_content(q, q->fd, 4093);
	assert_memory_equal(back, msg, total);
	free(back);
	back = read_content(q, q->fd, 1 << 20);
	assert_memory_equal(back, msg, total);
	free(back);
	/* Reads at arbitrary positions stop at the segment end. */
	{
		unsigned char b[10];
		uint64_t pos = QFILE_CHUNK_SIZE - 3;

		assert_int_equal(qfile_content_pread(q, q->fd, b, 10, pos), 3);
		assert_memory_equal(b, msg + pos, 3);
		assert_int_equal(qfile_content_pread(q, q->fd, b, 10, total),
				 0);
	}
	qfile_free(&q);
	free(msg);
	testlib_rmtree(dir);
	free(dir);
}

static void test_mark_recipient(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = small_message(dir, "hi\r\n", 4);
	struct qfile *q = NULL;
	const char *error = NULL;
	off_t off;

	(void)state;
	assert_int_equal(qfile_open(path, true, NULL, &q, &error), 0);
	assert_int_equal(qfile_mark_recipient(q->fd, q->rcpts[1].status_offset,
					      QFILE_RCPT_DELIVERED, &error),
			 0);
	/* Refused: a byte that is not a status, a bad status. */
	assert_int_equal(qfile_mark_recipient(q->fd, q->content_offset,
					      QFILE_RCPT_BOUNCED, &error),
			 -1);
	assert_non_null(strstr(error, "not a recipient status"));
	assert_int_equal(qfile_mark_recipient(q->fd, q->rcpts[0].status_offset,
					      'Q', &error),
			 -1);
	assert_int_equal(qfile_mark_recipient(q->fd, q->file_size + 10,
					      QFILE_RCPT_BOUNCED, &error),
			 -1);
	off = q->rcpts[0].status_offset;
	qfile_free(&q);

	assert_int_equal(qfile_open(path, false, NULL, &q, &error), 0);
	assert_int_equal(q->rcpts[0].status, QFILE_RCPT_PENDING);
	assert_int_equal(q->rcpts[1].status, QFILE_RCPT_DELIVERED);
	assert_int_equal(qfile_pending_count(q), 1);
	assert_true(q->rcpts[0].status_offset == off);
	qfile_free(&q);

	/* Marking the last one leaves none pending. */
	assert_int_equal(qfile_open(path, true, NULL, &q, &error), 0);
	assert_int_equal(
		qfile_mark_recipient(q->fd, off, QFILE_RCPT_EXPIRED, &error),
		0);
	qfile_free(&q);
	assert_int_equal(qfile_open(path, false, NULL, &q, &error), 0);
	assert_int_equal(q->rcpts[0].status, QFILE_RCPT_EXPIRED);
	assert_int_equal(qfile_pending_count(q), 0);
	assert_false(q->rcpts[0].delay_warned);
	qfile_free(&q);

	/* The delay-notice flag: kept apart from NOTIFY, checked first. */
	assert_int_equal(qfile_open(path, true, NULL, &q, &error), 0);
	assert_int_equal(qfile_mark_delay_warned(q->fd, off, &error), 0);
	assert_int_equal(
		qfile_mark_delay_warned(q->fd, q->content_offset, &error), -1);
	assert_non_null(strstr(error, "not a recipient status"));
	assert_int_equal(
		qfile_mark_delay_warned(q->fd, q->file_size + 10, &error), -1);
	qfile_free(&q);
	assert_int_equal(qfile_open(path, false, NULL, &q, &error), 0);
	assert_true(q->rcpts[0].delay_warned);
	assert_false(q->rcpts[1].delay_warned);
	assert_int_equal(q->rcpts[0].status, QFILE_RCPT_EXPIRED);
	assert_int_equal(q->rcpts[0].notify, QFILE_NOTIFY_FAILURE);
	qfile_free(&q);

	free(path);
	testlib_rmtree(dir);
	free(dir);
}

/*
 * test_window - a descriptor is read through a window of a few KiB: an
 * envelope of many KiB, with records across the window's edges, and the
 * records after 200 KiB of content parse from a descriptor exactly as
 * from memory.
 */
static void test_window(void **state)
{
	char *dir = testlib_tmpdir();
	struct qfile_writer *w;
	struct qfile *qf = NULL, *qb = NULL;
	const char *error = NULL;
	char long_value[3000];
	size_t content_len = 200 * 1024, len;
	char *content = xmalloc(content_len);
	unsigned char *buf;
	char *path;

	(void)state;
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	for (size_t i = 0; i < content_len; i++)
		content[i] = (char)('a' + i % 26);
	w = qfile_writer_create(dir, NULL, &error);
	assert_non_null(w);
	assert_int_equal(qfile_write_sender(w, "a@example.org", &error), 0);
	assert_int_equal(qfile_write_attr(w, "envid", long_value, &error), 0);
	for (int i = 0; i < 700; i++) {
		char rcpt[64];

		snprintf(rcpt, sizeof(rcpt), "recipient-%d@example.com", i);
		assert_int_equal(
			qfile_write_recipient(w, rcpt, NULL, 0, &error), 0);
	}
	assert_int_equal(qfile_write_content(w, content, content_len, &error),
			 0);
	assert_int_equal(qfile_commit(w, NULL, 0, &error), 0);
	path = xstrdup(qfile_writer_path(w));
	qfile_writer_free(&w);

	buf = slurp(path, &len);
	assert_true(len > 3 * 8192 + content_len);
	assert_int_equal(qfile_read_buf(buf, len, NULL, &qb, &error), 0);
	assert_int_equal(qfile_open(path, false, NULL, &qf, &error), 0);
	assert_int_equal(qf->rcpt_count, 700);
	assert_int_equal(qf->rcpt_count, qb->rcpt_count);
	for (size_t i = 0; i < qf->rcpt_count; i++) {
		assert_string_equal(qf->rcpts[i].address, qb->rcpts[i].address);
		assert_true(qf->rcpts[i].status_offset ==
			    qb->rcpts[i].status_offset);
	}
	assert_string_equal(qfile_attr(qf, "envid"), long_value);
	assert_true(qf->content_size == content_len);
	assert_int_equal(qf->segment_count, qb->segment_count);
	qfile_free(&qf);
	qfile_free(&qb);
	free(buf);
	free(content);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

/*
 * A crash between the rename and the fsync (qfile_commit renames first)
 * can leave the final name with its last blocks unwritten: cut short
 * (test_truncated_everywhere) or, on some filesystems, zero-filled at its
 * full size.  Neither may read as a valid message.
 */
static void test_zero_tail(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = small_message(dir, "Subject: x\r\n\r\nbody\r\n", 20);
	struct qfile *q = NULL;
	const char *error = NULL;
	unsigned char *buf;
	size_t len;

	(void)state;
	buf = slurp(path, &len);
	for (size_t n = 0; n < len; n++) {
		unsigned char *torn = xmalloc(len);

		memcpy(torn, buf, n);
		memset(torn + n, 0, len - n);
		error = NULL;
		assert_true(qfile_read_buf(torn, len, NULL, &q, &error) < 0);
		assert_null(q);
		assert_non_null(error);
		free(torn);
	}
	free(buf);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

static void test_truncated_everywhere(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = small_message(dir, "Subject: x\r\n\r\nbody\r\n", 20);
	char *cut = xasprintf("%s/cut", dir);
	struct qfile *q = NULL;
	const char *error = NULL;
	unsigned char *buf;
	size_t len;

	(void)state;
	buf = slurp(path, &len);
	assert_int_equal(qfile_read_buf(buf, len, NULL, &q, &error), 0);
	qfile_free(&q);
	for (size_t n = 0; n < len; n++) {
		int fd, ret;

		/* A copy of exactly n bytes, so ASan sees any overread. */
		unsigned char *part = xmalloc(n > 0 ? n : 1);

		memcpy(part, buf, n);
		error = NULL;
		ret = qfile_read_buf(part, n, NULL, &q, &error);
		free(part);
		assert_int_equal(ret, QFILE_ERR_INCOMPLETE);
		assert_null(q);
		assert_non_null(error);
		assert_true(strstr(error, "truncated") != NULL ||
			    strstr(error, "missing end marker") != NULL ||
			    strstr(error, "empty") != NULL);
		/* And through a descriptor. */
		fd = open(cut, O_RDWR | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		close(fd);
		assert_int_equal(qfile_open(cut, false, NULL, &q, &error),
				 QFILE_ERR_INCOMPLETE);
		assert_null(q);
	}
	/* Cut at the end marker: says so. */
	assert_int_equal(qfile_read_buf(buf, len - 17, NULL, &q, &error),
			 QFILE_ERR_INCOMPLETE);
	assert_non_null(strstr(error, "missing end marker"));
	free(buf);
	free(cut);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

/* expect_corrupt - buf must be refused as corrupt with text in the error */
static void expect_corrupt(const unsigned char *buf, size_t len,
			   const struct qfile_limits *limits, const char *text)
{
	struct qfile *q = NULL;
	const char *error = NULL;
	int ret = qfile_read_buf(buf, len, limits, &q, &error);

	if (ret != QFILE_ERR_CORRUPT || strstr(error, text) == NULL)
		fail_msg("want corrupt \"%s\", got %d \"%s\"", text, ret,
			 error != NULL ? error : "(null)");
	assert_null(q);
}

/* find_record - offset of the n-th record of type in buf */
static size_t find_record(const unsigned char *buf, size_t len, int type, int n)
{
	size_t off = 0;

	while (off + 5 <= len) {
		size_t rlen = (size_t)buf[off + 1] << 24 |
			      (size_t)buf[off + 2] << 16 |
			      (size_t)buf[off + 3] << 8 | buf[off + 4];

		if (buf[off] == type && n-- == 0)
			return off;
		off += 5 + rlen;
	}
	fail_msg("no record %c", type);
	return 0;
}

static void test_corrupt(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = small_message(dir, "hello\r\n", 7);
	struct qfile_limits one = {1, 64}, noattr = {10, 0};
	unsigned char *good, *b;
	size_t len, r0, r1, m, e, s;
	char want[64];

	(void)state;
	good = slurp(path, &len);
	b = xmalloc(len + 64);
	r0 = find_record(good, len, 'R', 0);
	r1 = find_record(good, len, 'R', 1);
	m = find_record(good, len, 'M', 0);
	e = find_record(good, len, 'E', 0);
	s = find_record(good, len, 'S', 0);

#define RESET() memcpy(b, good, len)
	RESET();
	b[0] = 0x7f;
	expect_corrupt(b, len, NULL, "bad record type 0x7f at offset 0");
	RESET();
	b[0] = 'R';
	expect_corrupt(b, len, NULL, "not a queue file");
	RESET();
	b[r1] = 0x00;
	(void)snprintf(want, sizeof(want), "bad record type 0x00 at offset %zu",
		       r1);
	expect_corrupt(b, len, NULL, want);
	RESET();
	b[19] = '2'; /* "facteur-qfile/2" */
	expect_corrupt(b, len, NULL, "unsupported queue file version");
	RESET();
	b[5] = 'X';
	expect_corrupt(b, len, NULL, "bad magic");
	/* Lengths: over the cap, or past the end of the file. */
	RESET();
	b[r0 + 1] = 0x7f;
	expect_corrupt(b, len, NULL, "recipient record too long");
	RESET();
	b[s + 3] = 0x10;
	expect_corrupt(b, len, NULL, "sender address too long");
	RESET();
	b[m + 2] = 0x01; /* M of 64 KiB + 7 in a small file */
	{
		struct qfile *q = NULL;
		const char *error = NULL;

		assert_int_equal(qfile_read_buf(b, len, NULL, &q, &error),
				 QFILE_ERR_INCOMPLETE);
		assert_non_null(strstr(error, "truncated content record"));
	}
	RESET();
	b[m + 1] = 0x7f;
	expect_corrupt(b, len, NULL, "content record too long");
	/* Recipient innards. */
	RESET();
	b[r0 + 5] = 'Z';
	expect_corrupt(b, len, NULL, "bad recipient status");
	RESET();
	b[r0 + 6] = 0x10;
	expect_corrupt(b, len, NULL, "bad NOTIFY flags");
	RESET();
	b[r0 + 7] = 0x04; /* address length 1024 + 13 */
	expect_corrupt(b, len, NULL, "recipient address too long");
	RESET();
	b[r0 + 8] = 0x7f;
	expect_corrupt(b, len, NULL, "overruns");
	RESET();
	b[r0 + 7] = 0;
	b[r0 + 8] = 0;
	expect_corrupt(b, len, NULL, "empty recipient address");
	RESET();
	b[r0 + 10] = '\0';
	expect_corrupt(b, len, NULL, "NUL in recipient record");
	RESET();
	b[s + 6] = '\0';
	expect_corrupt(b, len, NULL, "NUL in sender");
	/* End marker that disagrees; data after it. */
	RESET();
	b[e + 12] ^= 1;
	expect_corrupt(b, len, NULL, "content size mismatch");
	RESET();
	b[e + 16] ^= 1;
	expect_corrupt(b, len, NULL, "recipient count mismatch");
	RESET();
	b[len] = 'M';
	expect_corrupt(b, len + 1, NULL, "trailing data after end marker");
	/* Order: content before the envelope is complete, a duplicate. */
	RESET();
	b[r0] = 'M';
	expect_corrupt(b, len, NULL, "unexpected content record");
	RESET();
	b[m] = 'R';
	expect_corrupt(b, len, NULL, "unexpected recipient record");
	RESET();
	b[s] = 'T';
	expect_corrupt(b, len, NULL, "bad time record length");
	/* Limits. */
	expect_corrupt(good, len, &one, "too many recipients (limit 1)");
	expect_corrupt(good, len, &noattr, "too many attributes (limit 0)");
#undef RESET

	/* A file without recipients: made by dropping both R records. */
	{
		size_t rend = m - 5; /* the C record sits before M */
		size_t n = 0;

		memcpy(b, good, r0);
		n = r0;
		memcpy(b + n, good + rend, len - rend);
		n += len - rend;
		expect_corrupt(b, n, NULL, "no recipient");
	}
	free(b);
	free(good);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}

static void test_abort(void **state)
{
	char *dir = testlib_tmpdir();
	struct qfile_writer *w;
	const char *error = NULL;
	struct stat st;
	char *tmp;
	char big[QFILE_ADDR_MAX + 2];

	(void)state;
	w = qfile_writer_create(dir, NULL, &error);
	assert_non_null(w);
	tmp = xstrdup(qfile_writer_path(w));
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Temporary names are never queue ids. */
	assert_false(queue_id_valid(strrchr(tmp, '/') + 1));
	assert_int_equal(qfile_write_sender(w, "a@example.org", &error), 0);
	/* Over the limits: refused, and the writer goes on. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(qfile_write_recipient(w, big, NULL, 0, &error), -1);
	assert_string_equal(error, "recipient address too long");
	assert_int_equal(qfile_write_recipient(w, "", NULL, 0, &error), -1);
	assert_int_equal(qfile_write_attr(w, "Bad-Name", "v", &error), -1);
	assert_int_equal(qfile_write_attr(w, "", "v", &error), -1);
	assert_int_equal(
		qfile_write_recipient(w, "b@example.com", NULL, 0, &error), 0);
	assert_int_equal(qfile_write_content(w, "x", 1, &error), 0);
	assert_int_equal(count_entries(dir), 1);
	qfile_writer_free(&w);
	assert_null(w);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(stat(tmp, &st), -1);
	qfile_writer_free(&w);
	free(tmp);

	/* A directory that is not there. */
	tmp = xasprintf("%s/missing", dir);
	assert_null(qfile_writer_create(tmp, NULL, &error));
	assert_non_null(strstr(error, "missing"));
	free(tmp);
	testlib_rmtree(dir);
	free(dir);
}

static void test_commit_elsewhere(void **state)
{
	char *dir = testlib_tmpdir();
	char *incoming = xasprintf("%s/incoming", dir);
	char *active = xasprintf("%s/active", dir);
	struct qfile_writer *w1, *w2;
	struct qfile *q = NULL;
	const char *error = NULL;
	char hash[QUEUE_ID_HASH_DIR_MAX];
	char *expect;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(incoming, 0700), 0);
	assert_int_equal(mkdir(active, 0700), 0);
	/* Two writers at once: two files, two ids. */
	w1 = qfile_writer_create(incoming, NULL, &error);
	w2 = qfile_writer_create(incoming, NULL, &error);
	assert_non_null(w1);
	assert_non_null(w2);
	assert_string_not_equal(qfile_writer_id(w1), qfile_writer_id(w2));
	assert_string_not_equal(qfile_writer_path(w1), qfile_writer_path(w2));
	assert_int_equal(qfile_write_sender(w1, "a@b", &error), 0);
	assert_int_equal(qfile_write_recipient(w1, "c@d", NULL, 0, &error), 0);
	/* No content at all is a valid (empty) message. */
	assert_int_equal(qfile_commit(w1, active, 2, &error), 0);
	assert_int_equal(
		queue_id_hash_dir(qfile_writer_id(w1), 2, hash, sizeof(hash)),
		0);
	expect = xasprintf("%s/%s/%s", active, hash, qfile_writer_id(w1));
	assert_string_equal(qfile_writer_path(w1), expect);
	assert_int_equal(stat(expect, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(active), 1);
	/* Only w2's temporary file is left in incoming. */
	assert_int_equal(count_entries(incoming), 1);
	qfile_writer_free(&w1);
	qfile_writer_free(&w2);
	assert_int_equal(count_entries(incoming), 0);

	assert_int_equal(qfile_open(expect, false, NULL, &q, &error), 0);
	assert_true(q->content_size == 0);
	assert_int_equal(q->segment_count, 0);
	{
		char c;

		assert_int_equal(qfile_content_pread(q, q->fd, &c, 1, 0), 0);
	}
	qfile_free(&q);

	/* Not regular files, symlinks: refused. */
	assert_int_equal(qfile_open(dir, false, NULL, &q, &error),
			 QFILE_ERR_CORRUPT);
	{
		char *link = xasprintf("%s/link", dir);

		assert_int_equal(symlink(expect, link), 0);
		assert_int_equal(qfile_open(link, false, NULL, &q, &error),
				 QFILE_ERR_SYSTEM);
		assert_null(q);
		free(link);
	}
	free(expect);
	free(incoming);
	free(active);
	testlib_rmtree(dir);
	free(dir);
}

/* commit_as_writer_only - in a child that cannot read dir, queue a file */
static int commit_as_writer_only(const char *dir)
{
	struct qfile_writer *w;
	const char *error = NULL;
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Root reads every directory: become nobody to be refused. */
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		w = qfile_writer_create(dir, NULL, &error);
		if (w == NULL || qfile_write_sender(w, "a@b", &error) < 0 ||
		    qfile_write_recipient(w, "c@d", NULL, 0, &error) < 0 ||
		    qfile_write_content(w, "x\r\n", 3, &error) < 0 ||
		    qfile_commit(w, NULL, 0, &error) < 0) {
			fprintf(stderr, "write-only commit: %s\n", error);
			_exit(1);
		}
		qfile_writer_free(&w);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A maildrop-like directory its writer may not read (sendmail's 1730). */
static void test_write_only_dir(void **state)
{
	char *dir = testlib_tmpdir();
	char *drop = xasprintf("%s/maildrop", dir);

	(void)state;
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(mkdir(drop, 0700), 0);
	/* -wx for whoever the child is: search and create, never list. */
	assert_int_equal(chmod(drop, geteuid() == 0 ? 0733 : 0300), 0);
	assert_int_equal(commit_as_writer_only(drop), 0);
	assert_int_equal(chmod(drop, 0700), 0);
	assert_int_equal(count_entries(drop), 1);
	free(drop);
	testlib_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_large_chunked),
		cmocka_unit_test(test_mark_recipient),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_zero_tail),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_commit_elsewhere),
		cmocka_unit_test(test_write_only_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
