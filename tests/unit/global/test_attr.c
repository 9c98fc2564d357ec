/*
 * test_attr - unit tests for lib/global/attr.c, the IPC framing
 *
 * Frames are built both with the writer and by hand (hand-built bytes pin
 * the wire format down, so that a change to the writer that the decoder
 * happens to mirror still fails here).  Every error is checked by its
 * exact text.
 */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attr.h"
#include "log.h"
#include "strbuf.h"

/* ---------------------------------------------------------- helpers */

static jmp_buf panic_jmp;
static int panic_count;
static char last_log[LOG_LINE_MAX];

/* quiet_hook - keep log output out of the test report, remember the last */
static void quiet_hook(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)ctx;
	snprintf(last_log, sizeof(last_log), "%s", text);
}

/* jump_exit_hook - turn log_panic() into a longjmp back to the test */
static void jump_exit_hook(enum log_level level)
{
	(void)level;
	panic_count++;
	longjmp(panic_jmp, 1);
}

static int setup(void **state)
{
	(void)state;
	log_set_hook(quiet_hook, NULL);
	log_set_exit_hook(jump_exit_hook);
	return 0;
}

/* Hand-made payloads: append one raw attribute. */
static void raw_attr(struct strbuf *sb, const char *name, size_t nlen,
		     const void *value, uint32_t vlen)
{
	unsigned char hdr[4] = {
		(unsigned char)(vlen >> 24), (unsigned char)(vlen >> 16),
		(unsigned char)(vlen >> 8), (unsigned char)vlen};
	unsigned char nl = (unsigned char)nlen;

	assert_int_equal(strbuf_append(sb, &nl, 1), 0);
	assert_int_equal(strbuf_append(sb, name, nlen), 0);
	assert_int_equal(strbuf_append(sb, hdr, 4), 0);
	assert_int_equal(strbuf_append(sb, value, vlen), 0);
}

static void raw_str(struct strbuf *sb, const char *name, const char *value)
{
	raw_attr(sb, name, strlen(name), value, (uint32_t)strlen(value));
}

/* decode_error - decode a payload that must fail; returns the error */
static const char *decode_error(const struct strbuf *sb)
{
	const char *error = NULL;
	struct attr_list *list = attr_decode(sb->data, sb->len, &error);

	assert_null(list);
	assert_non_null(error);
	return error;
}

/* build_sample - a frame used by several tests */
static void build_sample(struct strbuf *out, int n)
{
	struct attr_writer w;

	attr_writer_begin(&w, out, "test/1");
	attr_put_int(&w, "seq", n);
	attr_put_str(&w, "text", "hello");
	attr_writer_end(&w);
}

/* check_sample - a decoded build_sample() frame */
static void check_sample(struct attr_list *list, int n)
{
	const char *error = NULL, *text;
	int64_t seq;

	assert_string_equal(list->proto, "test/1");
	assert_int_equal(attr_get_int(list, "seq", &seq, &error), 0);
	assert_int_equal(seq, n);
	assert_int_equal(attr_get_str(list, "text", &text, &error), 0);
	assert_string_equal(text, "hello");
	assert_int_equal(attr_list_end(list, &error), 0);
}

/* ---------------------------------------------------------- writer */

static void test_wire_format(void **state)
{
	static const unsigned char expect[] = {
		0,   0,	  0,   27,			  /* payload */
		5,   'p', 'r', 'o', 't', 'o', 0, 0, 0, 3, /* proto */
		'p', '/', '1', 1,   'n', 0,   0, 0, 2,	  /* n */
		'-', '7', 1,   'e', 0,	 0,   0, 0,	  /* e="" */
	};
	struct strbuf out;
	struct attr_writer w;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(strbuf_append_str(&out, "xy"), 0);
	attr_writer_begin(&w, &out, "p/1");
	assert_int_equal(w.start, 2);
	attr_put_int(&w, "n", -7);
	attr_put_str(&w, "e", "");
	attr_writer_end(&w);
	assert_int_equal(out.len, 2 + sizeof(expect));
	assert_memory_equal(out.data, "xy", 2);
	assert_memory_equal(out.data + 2, expect, sizeof(expect));
	strbuf_release(&out);
}

static void test_roundtrip(void **state)
{
	unsigned char bytes[256];
	static const char nul_data[] = {'a', '\0', 'b', '\0'};
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	const char *error = NULL, *s;
	const void *data;
	size_t len;
	int64_t num;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)i;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, "status/1");
	attr_put_str(&w, "name", "smtpd");
	attr_put_data(&w, "all_bytes", bytes, sizeof(bytes));
	attr_put_data(&w, "with_nul", nul_data, sizeof(nul_data));
	attr_put_int(&w, "min", INT64_MIN);
	attr_put_int(&w, "max", INT64_MAX);
	attr_put_int(&w, "zero", 0);
	attr_put_str(&w, "empty", "");
	attr_put_data(&w, "empty_data", NULL, 0);
	attr_writer_end(&w);

	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_non_null(list);
	assert_int_equal(list->count, 9);
	assert_string_equal(list->proto, "status/1");
	assert_string_equal(list->attrs[0].name, "proto");

	assert_int_equal(attr_get_str(list, "name", &s, &error), 0);
	assert_string_equal(s, "smtpd");
	assert_int_equal(attr_get_data(list, "all_bytes", &data, &len, &error),
			 0);
	assert_int_equal(len, 256);
	assert_memory_equal(data, bytes, 256);
	assert_int_equal(attr_get_data(list, "with_nul", &data, &len, &error),
			 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, nul_data, 4);
	assert_int_equal(attr_get_int(list, "min", &num, &error), 0);
	assert_true(num == INT64_MIN);
	assert_int_equal(attr_get_int(list, "max", &num, &error), 0);
	assert_true(num == INT64_MAX);
	assert_int_equal(attr_get_int(list, "zero", &num, &error), 0);
	assert_int_equal(num, 0);
	assert_int_equal(attr_get_str(list, "empty", &s, &error), 0);
	assert_string_equal(s, "");
	assert_int_equal(attr_get_data(list, "empty_data", &data, &len, &error),
			 0);
	assert_int_equal(len, 0);
	assert_int_equal(attr_list_end(list, &error), 0);
	attr_list_free(&list);
	assert_null(list);
	attr_list_free(&list); /* NULL is fine */
	strbuf_release(&out);
}

static void test_writer_panics(void **state)
{
	struct strbuf out;
	struct attr_writer w;
	static const char *bad_names[] = {
		"",
		"Proto",
		"a-b",
		"a b",
		"x2345678901234567890123456789012345678901234567890123456789012345",
	};
	char *big;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		panic_count = 0;
		strbuf_reset(&out);
		attr_writer_begin(&w, &out, "t/1");
		if (setjmp(panic_jmp) == 0)
			attr_put_str(&w, bad_names[i], "v");
		assert_int_equal(panic_count, 1);
	}
	/* A 64-byte name is the longest legal one. */
	strbuf_reset(&out);
	attr_writer_begin(&w, &out, "t/1");
	attr_put_str(&w,
		     "x23456789012345678901234567890123456789012345678901"
		     "2345678901234",
		     "v");
	attr_writer_end(&w);

	/* Two values that each fit but together pass the frame limit. */
	big = malloc(ATTR_FRAME_MAX / 2 + 1);
	assert_non_null(big);
	memset(big, 'z', ATTR_FRAME_MAX / 2 + 1);
	strbuf_reset(&out);
	attr_writer_begin(&w, &out, "t/1");
	attr_put_data(&w, "a", big, ATTR_FRAME_MAX / 2);
	attr_put_data(&w, "b", big, ATTR_FRAME_MAX / 2);
	panic_count = 0;
	if (setjmp(panic_jmp) == 0)
		attr_writer_end(&w);
	assert_int_equal(panic_count, 1);
	assert_non_null(strstr(last_log, "exceeds the limit of 1048576"));
	free(big);
	strbuf_release(&out);
}

/* ---------------------------------------------------------- getters */

static void test_strict_end(void **state)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	const char *error = NULL;
	int64_t pid;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, "status/1");
	attr_put_int(&w, "pid", 42);
	attr_put_int(&w, "avail", 1);
	attr_writer_end(&w);
	list = attr_decode(out.data + 4, out.len - 4, &error);
	assert_non_null(list);
	assert_int_equal(attr_get_int(list, "pid", &pid, &error), 0);
	assert_int_equal(pid, 42);
	assert_int_equal(attr_list_end(list, &error), -1);
	assert_string_equal(error, "unexpected attribute 'avail'");
	assert_int_equal(attr_list_end_tolerant(list), 0);
	/* Reading it afterwards makes the strict end pass. */
	assert_int_equal(attr_get_int(list, "avail", &pid, &error), 0);
	assert_int_equal(attr_list_end(list, &error), 0);
	attr_list_free(&list);
	strbuf_release(&out);
}

static void test_getter_errors(void **state)
{
	static const struct {
		const char *value;
		size_t len;
	} not_numbers[] = {
		{"", 0},
		{"x", 1},
		{"12x", 3},
		{"+1", 2},
		{" 1", 2},
		{"1 ", 2},
		{"-", 1},
		{"--1", 3},
		{"0x10", 4},
		{"9223372036854775808", 19},
		{"-9223372036854775809", 20},
		{"12\0", 3},
	};
	struct strbuf sb;
	struct attr_list *list;
	const char *error = NULL, *s;
	const void *data;
	size_t len;
	int64_t num;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]);
	     i++) {
		strbuf_reset(&sb);
		raw_str(&sb, "proto", "t/1");
		raw_attr(&sb, "n", 1, not_numbers[i].value,
			 (uint32_t)not_numbers[i].len);
		list = attr_decode(sb.data, sb.len, &error);
		assert_non_null(list);
		num = 99;
		assert_int_equal(attr_get_int(list, "n", &num, &error), -1);
		assert_string_equal(error, "attribute 'n': not a number");
		assert_int_equal(num, 99);
		/* A failed getter does not count as reading. */
		assert_int_equal(attr_list_end(list, &error), -1);
		assert_string_equal(error, "unexpected attribute 'n'");
		attr_list_free(&list);
	}

	strbuf_reset(&sb);
	raw_str(&sb, "proto", "t/1");
	raw_attr(&sb, "d", 1, "a\0b", 3);
	raw_str(&sb, "neg", "-17");
	list = attr_decode(sb.data, sb.len, &error);
	assert_non_null(list);
	assert_int_equal(attr_get_str(list, "pid", &s, &error), -1);
	assert_string_equal(error, "missing attribute 'pid'");
	assert_int_equal(attr_get_int(list, "pid", &num, &error), -1);
	assert_string_equal(error, "missing attribute 'pid'");
	assert_int_equal(attr_get_data(list, "pid", &data, &len, &error), -1);
	assert_string_equal(error, "missing attribute 'pid'");
	assert_int_equal(attr_get_str(list, "d", &s, &error), -1);
	assert_string_equal(error, "attribute 'd': contains a NUL byte");
	assert_int_equal(attr_get_data(list, "d", &data, &len, &error), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "a\0b", 3);
	assert_int_equal(attr_get_int(list, "neg", &num, &error), 0);
	assert_int_equal(num, -17);
	assert_int_equal(attr_list_end(list, &error), 0);
	attr_list_free(&list);
	strbuf_release(&sb);
}

/* ---------------------------------------------------------- decoder */

static void test_truncated_everywhere(void **state)
{
	/* Layout of the payload, to know what each cut must report. */
	struct strbuf sb;
	struct {
		size_t nlen, vlen;
	} layout[] = {{5, 3}, {3, 5}, {1, 0}, {2, 4}};
	size_t boundary[5], pos = 0;
	const char *error = NULL;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	raw_str(&sb, "proto", "t/1");
	raw_str(&sb, "abc", "hello");
	raw_str(&sb, "e", "");
	raw_attr(&sb, "nn", 2, "\0\1\2\3", 4);
	boundary[0] = 0;
	for (size_t i = 0; i < 4; i++) {
		pos += 1 + layout[i].nlen + 4 + layout[i].vlen;
		boundary[i + 1] = pos;
	}
	assert_int_equal(pos, sb.len);

	for (size_t cut = 0; cut <= sb.len; cut++) {
		struct attr_list *list = attr_decode(sb.data, cut, &error);
		size_t i = 0;
		const char *expect;

		while (i < 4 && boundary[i + 1] <= cut)
			i++;
		if (cut == 0) {
			assert_null(list);
			assert_string_equal(error,
					    "first attribute is not proto");
			continue;
		}
		if (cut == boundary[i]) {
			assert_non_null(list);
			assert_int_equal(list->count, i);
			attr_list_free(&list);
			continue;
		}
		pos = cut - boundary[i];
		if (pos <= layout[i].nlen)
			expect = "truncated attribute name";
		else if (pos < 1 + layout[i].nlen + 4)
			expect = "truncated attribute length";
		else
			expect = "truncated attribute value";
		assert_null(list);
		assert_string_equal(error, expect);
	}
	strbuf_release(&sb);
}

static void test_bad_names(void **state)
{
	static const struct {
		const char *name;
		size_t len;
	} bad[] = {
		{"", 0},
		{"Pid", 3},
		{"a-b", 3},
		{"a.b", 3},
		{"a b", 3},
		{"a\0b", 3},
		{"\xc3\xa9", 2},
		{"x23456789012345678901234567890123456789012345678901234567890"
		 "12345",
		 65},
	};
	struct strbuf sb;
	const char *error = NULL;
	struct attr_list *list;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* In first place and after a good proto. */
		strbuf_reset(&sb);
		raw_attr(&sb, bad[i].name, bad[i].len, "v", 1);
		assert_string_equal(decode_error(&sb), "bad attribute name");
		strbuf_reset(&sb);
		raw_str(&sb, "proto", "t/1");
		raw_attr(&sb, bad[i].name, bad[i].len, "v", 1);
		assert_string_equal(decode_error(&sb), "bad attribute name");
	}
	/* The longest legal name and every legal character. */
	strbuf_reset(&sb);
	raw_str(&sb, "proto", "t/1");
	raw_str(&sb,
		"x23456789012345678901234567890123456789012345678901234567890"
		"1234",
		"v");
	raw_str(&sb, "abcdefghijklmnopqrstuvwxyz_0123456789", "v");
	list = attr_decode(sb.data, sb.len, &error);
	assert_non_null(list);
	assert_int_equal(list->count, 3);
	attr_list_free(&list);
	strbuf_release(&sb);
}

static void test_proto_rules(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_string_equal(decode_error(&sb), "first attribute is not proto");

	raw_str(&sb, "pid", "1");
	assert_string_equal(decode_error(&sb), "first attribute is not proto");

	strbuf_reset(&sb);
	raw_str(&sb, "pid", "1");
	raw_str(&sb, "proto", "t/1");
	assert_string_equal(decode_error(&sb), "first attribute is not proto");

	strbuf_reset(&sb);
	raw_str(&sb, "protox", "t/1");
	assert_string_equal(decode_error(&sb), "first attribute is not proto");

	strbuf_reset(&sb);
	raw_str(&sb, "proto", "");
	assert_string_equal(decode_error(&sb), "empty proto attribute");

	strbuf_reset(&sb);
	raw_attr(&sb, "proto", 5, "t\0/1", 4);
	assert_string_equal(decode_error(&sb), "bad proto attribute");
	strbuf_release(&sb);
}

static void test_duplicates(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	raw_str(&sb, "proto", "t/1");
	raw_str(&sb, "pid", "1");
	raw_str(&sb, "avail", "1");
	raw_str(&sb, "pid", "2");
	assert_string_equal(decode_error(&sb), "duplicate attribute 'pid'");

	strbuf_reset(&sb);
	raw_str(&sb, "proto", "t/1");
	raw_str(&sb, "proto", "t/2");
	assert_string_equal(decode_error(&sb), "duplicate attribute 'proto'");

	/* A prefix of another name is not a duplicate. */
	strbuf_reset(&sb);
	raw_str(&sb, "proto", "t/1");
	raw_str(&sb, "pid", "1");
	raw_str(&sb, "pi", "1");
	raw_str(&sb, "pidx", "1");
	{
		const char *error = NULL;
		struct attr_list *list = attr_decode(sb.data, sb.len, &error);

		assert_non_null(list);
		assert_int_equal(list->count, 4);
		attr_list_free(&list);
	}
	strbuf_release(&sb);
}

static void test_too_many(void **state)
{
	struct strbuf sb;
	struct attr_list *list;
	const char *error = NULL;
	char name[16];

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	raw_str(&sb, "proto", "t/1");
	for (int i = 1; i < ATTR_COUNT_MAX; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		raw_str(&sb, name, "");
	}
	list = attr_decode(sb.data, sb.len, &error);
	assert_non_null(list);
	assert_int_equal(list->count, 256);
	attr_list_free(&list);
	raw_str(&sb, "one_more", "");
	assert_string_equal(decode_error(&sb), "too many attributes");
	strbuf_release(&sb);
}

static void test_huge_lengths(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	/* Value lengths that would wrap pos + len on a 32-bit size_t. */
	raw_str(&sb, "proto", "t/1");
	assert_int_equal(strbuf_append(&sb,
				       "\1a\xff\xff\xff\xff"
				       "x",
				       7),
			 0);
	assert_string_equal(decode_error(&sb), "truncated attribute value");
	strbuf_reset(&sb);
	raw_str(&sb, "proto", "t/1");
	assert_int_equal(strbuf_append(&sb, "\1a\xff\xff\xff\xfc", 6), 0);
	assert_string_equal(decode_error(&sb), "truncated attribute value");
	strbuf_reset(&sb);
	assert_int_equal(strbuf_append(&sb, "\5proto\x80\0\0\0t/1", 13), 0);
	assert_string_equal(decode_error(&sb), "truncated attribute value");
	strbuf_release(&sb);
}

static void test_garbage(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *error;
	} cases[] = {
		{"\xff\xff\xff\xff", 4, "bad attribute name"},
		{"\0\0\0\0", 4, "bad attribute name"},
		{"GET / HTTP/1.0\r\n", 16, "bad attribute name"},
		{"\5proto", 6, "truncated attribute length"},
		{"\5prot", 5, "truncated attribute name"},
		{"\5proto\0\0\0", 9, "truncated attribute length"},
	};
	unsigned int seed = 12345;
	unsigned char buf[64];
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error = NULL;
		assert_null(attr_decode(cases[i].bytes, cases[i].len, &error));
		assert_string_equal(error, cases[i].error);
	}
	/* Pseudo-random payloads: none may crash, leak or decode. */
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		struct attr_list *list;

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		list = attr_decode(buf, len, &error);
		assert_null(list);
	}
}

/* ---------------------------------------------------------- reader */

static void test_reader_bytewise(void **state)
{
	struct strbuf stream;
	struct attr_reader *reader = attr_reader_create(1024);
	struct attr_list *list = NULL;
	const char *error = NULL;
	int frames = 0;

	(void)state;
	strbuf_init(&stream, STRBUF_NO_LIMIT);
	for (int n = 0; n < 3; n++)
		build_sample(&stream, n);
	for (size_t i = 0; i < stream.len; i++) {
		int ret;

		assert_int_equal(attr_reader_feed(reader, stream.data + i, 1),
				 0);
		ret = attr_reader_next(reader, &list, &error);
		if (ret == 0)
			continue;
		assert_int_equal(ret, 1);
		/* A frame comes out exactly on its last byte. */
		assert_int_equal(i + 1, stream.len / 3 * (size_t)(frames + 1));
		check_sample(list, frames++);
		attr_list_free(&list);
		assert_int_equal(attr_reader_next(reader, &list, &error), 0);
	}
	assert_int_equal(frames, 3);
	attr_reader_free(&reader);
	assert_null(reader);
	attr_reader_free(&reader);
	strbuf_release(&stream);
}

static void test_reader_two_in_one(void **state)
{
	struct strbuf stream;
	struct attr_reader *reader = attr_reader_create(ATTR_FRAME_MAX);
	struct attr_list *list = NULL;
	const char *error = NULL;

	(void)state;
	strbuf_init(&stream, STRBUF_NO_LIMIT);
	build_sample(&stream, 7);
	build_sample(&stream, 8);
	/* Plus the first half of a third frame's header. */
	assert_int_equal(strbuf_append(&stream, "\0\0", 2), 0);
	assert_int_equal(attr_reader_feed(reader, stream.data, stream.len), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), 1);
	check_sample(list, 7);
	attr_list_free(&list);
	assert_int_equal(attr_reader_next(reader, &list, &error), 1);
	check_sample(list, 8);
	attr_list_free(&list);
	assert_int_equal(attr_reader_next(reader, &list, &error), 0);
	attr_reader_free(&reader);
	strbuf_release(&stream);
}

static void test_reader_oversize(void **state)
{
	struct attr_reader *reader = attr_reader_create(100);
	struct attr_list *list = NULL;
	const char *error = NULL;
	struct strbuf sb;
	char payload[100];

	(void)state;
	/* The header alone is enough to refuse. */
	assert_int_equal(attr_reader_feed(reader, "\0\0\0\x65", 4), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_string_equal(error,
			    "frame of 101 bytes exceeds the limit of 100");
	/* And the stream stays broken. */
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_null(list);
	attr_reader_free(&reader);

	reader = attr_reader_create(100);
	assert_int_equal(attr_reader_feed(reader, "\xff\xff\xff\xff", 4), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_string_equal(
		error, "frame of 4294967295 bytes exceeds the limit of 100");
	attr_reader_free(&reader);

	/* Exactly max_frame bytes pass. */
	reader = attr_reader_create(100);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(strbuf_append(&sb, "\0\0\0\x64", 4), 0);
	memset(payload, 'v', sizeof(payload));
	raw_attr(&sb, "proto", 5, payload, 100 - 10);
	assert_int_equal(sb.len, 104);
	assert_int_equal(attr_reader_feed(reader, sb.data, sb.len), 0);
	/* But nothing more fits in the buffer until it is taken out. */
	assert_int_equal(attr_reader_feed(reader, "x", 1), -1);
	assert_int_equal(attr_reader_next(reader, &list, &error), 1);
	assert_int_equal(strlen(list->proto), 90);
	attr_list_free(&list);
	assert_int_equal(attr_reader_feed(reader, "x", 1), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), 0);
	attr_reader_free(&reader);
	strbuf_release(&sb);

	/* A larger cap than ATTR_FRAME_MAX is clamped. */
	reader = attr_reader_create((size_t)-1);
	assert_int_equal(attr_reader_feed(reader, "\0\x10\0\x01", 4), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_string_equal(error, "frame of 1048577 bytes exceeds the limit "
				   "of 1048576");
	attr_reader_free(&reader);
}

static void test_reader_malformed(void **state)
{
	struct attr_reader *reader = attr_reader_create(1024);
	struct attr_list *list = NULL;
	const char *error = NULL;
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(strbuf_append(&sb, "\0\0\0\x0a", 4), 0);
	raw_str(&sb, "pid", ""); /* 1 + 3 + 4 + 0 = 8 bytes */
	assert_int_equal(strbuf_append(&sb, "zz", 2), 0);
	build_sample(&sb, 1);
	assert_int_equal(attr_reader_feed(reader, sb.data, sb.len), 0);
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_string_equal(error, "first attribute is not proto");
	/* The good frame behind it is not handed out: the stream is dead. */
	assert_int_equal(attr_reader_next(reader, &list, &error), -1);
	assert_null(list);
	attr_reader_free(&reader);
	strbuf_release(&sb);
}

/* ---------------------------------------------------------- fd helpers */

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_fd_roundtrip(void **state)
{
	struct strbuf sb;
	struct attr_list *list = NULL;
	const char *error = NULL;
	int sv[2];

	(void)state;
	make_pair(sv);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	build_sample(&sb, 1);
	build_sample(&sb, 2);
	assert_int_equal(attr_write_fd(sv[0], &sb), 0);
	close(sv[0]);
	assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), 1);
	check_sample(list, 1);
	attr_list_free(&list);
	assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), 1);
	check_sample(list, 2);
	attr_list_free(&list);
	/* Clean end of file between frames. */
	assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), 0);
	close(sv[1]);
	strbuf_release(&sb);
}

static void test_fd_truncated(void **state)
{
	struct strbuf sb;
	struct attr_list *list = NULL;
	const char *error = NULL;
	int sv[2];

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	build_sample(&sb, 1);
	for (size_t cut = 1; cut < sb.len; cut++) {
		make_pair(sv);
		assert_int_equal(write(sv[0], sb.data, cut), (ssize_t)cut);
		close(sv[0]);
		error = NULL;
		assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), -1);
		assert_string_equal(error, "unexpected end of file");
		assert_null(list);
		close(sv[1]);
	}
	strbuf_release(&sb);
}

static void test_fd_oversize(void **state)
{
	struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
	struct attr_list *list = NULL;
	const char *error = NULL;
	int sv[2];

	(void)state;
	make_pair(sv);
	/* Only the header, and the writer stays open: a reader that waited
	 * for the payload would time out and fail with another error. */
	assert_int_equal(
		setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(write(sv[0], "\0\0\4\1", 4), 4);
	assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), -1);
	assert_string_equal(error, "frame of 1025 bytes exceeds the limit of "
				   "1024");
	close(sv[0]);
	close(sv[1]);

	/* A malformed payload is reported as such. */
	make_pair(sv);
	assert_int_equal(write(sv[0], "\0\0\0\2\0\0", 6), 6);
	assert_int_equal(attr_read_fd(sv[1], 1024, &list, &error), -1);
	assert_string_equal(error, "bad attribute name");
	close(sv[0]);
	close(sv[1]);
}

static void test_fd_errors(void **state)
{
	struct strbuf sb;
	struct attr_list *list = NULL;
	const char *error = NULL;
	int sv[2];

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	build_sample(&sb, 1);
	make_pair(sv);
	close(sv[1]);
	errno = 0;
	assert_int_equal(attr_write_fd(sv[0], &sb), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[0]);

	errno = 0;
	assert_int_equal(attr_read_fd(-1, 1024, &list, &error), -1);
	assert_int_equal(errno, EBADF);
	assert_string_equal(error, "read: Bad file descriptor");
	strbuf_release(&sb);
}

/* A frame far larger than the socket buffer: short writes and reads. */
static void test_fd_large(void **state)
{
	struct strbuf sb;
	struct attr_writer w;
	struct attr_list *list = NULL;
	const char *error = NULL;
	const void *data;
	size_t len, size = ATTR_FRAME_MAX - 100;
	unsigned char *big = malloc(size);
	int sv[2], status;
	pid_t pid;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < size; i++)
		big[i] = (unsigned char)(i * 7);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &sb, "big/1");
	attr_put_data(&w, "blob", big, size);
	attr_writer_end(&w);
	make_pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(attr_write_fd(sv[0], &sb) == 0 ? 0 : 1);
	}
	close(sv[0]);
	assert_int_equal(attr_read_fd(sv[1], ATTR_FRAME_MAX, &list, &error), 1);
	assert_int_equal(attr_get_data(list, "blob", &data, &len, &error), 0);
	assert_int_equal(len, size);
	assert_memory_equal(data, big, size);
	assert_int_equal(attr_list_end(list, &error), 0);
	attr_list_free(&list);
	assert_int_equal(attr_read_fd(sv[1], ATTR_FRAME_MAX, &list, &error), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	free(big);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_writer_panics),
		cmocka_unit_test(test_strict_end),
		cmocka_unit_test(test_getter_errors),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_proto_rules),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_huge_lengths),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_reader_bytewise),
		cmocka_unit_test(test_reader_two_in_one),
		cmocka_unit_test(test_reader_oversize),
		cmocka_unit_test(test_reader_malformed),
		cmocka_unit_test(test_fd_roundtrip),
		cmocka_unit_test(test_fd_truncated),
		cmocka_unit_test(test_fd_oversize),
		cmocka_unit_test(test_fd_errors),
		cmocka_unit_test(test_fd_large),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, NULL);
}
