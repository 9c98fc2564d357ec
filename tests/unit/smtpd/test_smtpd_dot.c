/*
 * test_smtpd_dot - unit tests for smtpd/smtpd_dot.c, the content filter
 *
 * Every case is fed whole, one byte at a time, and split at every
 * position: the filter must give the same result however the content
 * arrives (it is resumable at any byte).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtpd.h"

struct result {
	int done;	/* end of DATA found */
	size_t used;	/* bytes consumed in total */
	char out[4096]; /* filtered content */
	size_t out_len;
	bool bare_lf;
	bool header_too_big;
	char msgid[SMTPD_MSGID_MAX + 1];
};

/* run - feed in as chunks of the given sizes (0: the rest) */
static void run(const char *in, size_t len, enum smtpd_bare_newline mode,
		bool raw, uint64_t hlimit, size_t split, bool bytewise,
		struct result *r)
{
	struct smtpd_dot d;
	struct strbuf out;
	size_t pos = 0, used;

	memset(r, 0, sizeof(*r));
	smtpd_dot_init(&d, mode, raw, hlimit);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	while (pos < len && !r->done) {
		size_t n = len - pos;

		if (bytewise)
			n = 1;
		else if (split > pos && split < len)
			n = split - pos;
		r->done = smtpd_dot_feed(&d, in + pos, n, &out, &used);
		pos += used;
	}
	if (r->done || raw)
		smtpd_dot_finish(&d, &out);
	r->used = pos;
	assert_true(out.len < sizeof(r->out));
	memcpy(r->out, out.data, out.len);
	r->out_len = out.len;
	r->bare_lf = d.bare_lf;
	r->header_too_big = d.header_too_big;
	memcpy(r->msgid, d.msgid, sizeof(r->msgid));
	strbuf_release(&out);
	smtpd_dot_release(&d);
}

/* check - the same result whole, bytewise and split anywhere */
static void check(const char *in, enum smtpd_bare_newline mode, int done,
		  const char *want, size_t want_used)
{
	size_t len = strlen(in);
	struct result r;

	for (size_t split = 0; split <= len + 1; split++) {
		run(in, len, mode, false, 100000, split, split == len + 1, &r);
		assert_int_equal(r.done, done);
		if (done)
			assert_int_equal(r.used, want_used);
		if (r.out_len != strlen(want) ||
		    memcmp(r.out, want, r.out_len) != 0)
			fail_msg("input %s split %zu: got \"%.*s\"", in, split,
				 (int)r.out_len, r.out);
	}
}

static void test_end_and_unstuffing(void **state)
{
	(void)state;
	check("a\r\n.\r\n", SMTPD_BARE_NORMALIZE, 1, "a\r\n", 6);
	check(".\r\n", SMTPD_BARE_NORMALIZE, 1, "", 3);
	check("a\r\n.\r\nMAIL", SMTPD_BARE_NORMALIZE, 1, "a\r\n", 6);
	check("..x\r\n...\r\n.\r\n", SMTPD_BARE_NORMALIZE, 1, ".x\r\n..\r\n",
	      13);
	check(". \r\n.\r\n", SMTPD_BARE_NORMALIZE, 1, " \r\n", 7);
}

static void test_smuggling(void **state)
{
	(void)state;
	/* None of these ends the message. */
	check("a\n.\r\nb", SMTPD_BARE_NORMALIZE, 0, "a\r\n\r\nb", 0);
	check("a\r\n.\nb", SMTPD_BARE_NORMALIZE, 0, "a\r\n\r\nb", 0);
	check("a\n.\nb", SMTPD_BARE_NORMALIZE, 0, "a\r\n\r\nb", 0);
	check("a\r.\r\nb", SMTPD_BARE_NORMALIZE, 0, "a\r.\r\nb", 0);
	check("a\r\n.\rb", SMTPD_BARE_NORMALIZE, 0, "a\r\n\rb", 0);
	/* After the smuggled dot line, a real end still works. */
	check("a\n.\r\n.\r\n", SMTPD_BARE_NORMALIZE, 1, "a\r\n\r\n", 8);
	/* "no": bare LF is a full line end (legacy, unsafe). */
	check("a\n.\nb", SMTPD_BARE_ALLOW, 1, "a\r\n", 4);
	check("a\n.\r\nb", SMTPD_BARE_ALLOW, 1, "a\r\n", 5);
}

static void test_bare_cr_lf(void **state)
{
	struct result r;

	(void)state;
	check("a\rb\r\r\n.\r\n", SMTPD_BARE_NORMALIZE, 1, "a\rb\r\r\n", 9);
	run("x\ny\r\n.\r\n", 8, SMTPD_BARE_REJECT, false, 1000, 0, false, &r);
	assert_true(r.bare_lf);
	assert_int_equal(r.done, 1);
	run("x\r\n.\r\n", 6, SMTPD_BARE_REJECT, false, 1000, 0, false, &r);
	assert_false(r.bare_lf);
}

static void test_raw_bdat(void **state)
{
	struct result r;
	const char *in = ".a\r\n.\r\nb\nc\r";

	(void)state;
	run(in, strlen(in), SMTPD_BARE_NORMALIZE, true, 1000, 0, false, &r);
	assert_int_equal(r.done, 0);
	assert_int_equal(r.out_len, strlen(".a\r\n.\r\nb\r\nc\r"));
	assert_memory_equal(r.out, ".a\r\n.\r\nb\r\nc\r", r.out_len);
}

static void test_header(void **state)
{
	struct result r;
	const char *in = "Subject: x\r\nMessage-ID:\r\n <id\x01@x>\r\n\r\n"
			 "Message-ID: <body@x>\r\n.\r\n";
	char big[400];

	(void)state;
	run(in, strlen(in), SMTPD_BARE_NORMALIZE, false, 1000, 0, false, &r);
	assert_string_equal(r.msgid, "<id?@x>");
	assert_false(r.header_too_big);
	/* A header section over the limit. */
	memset(big, 'h', sizeof(big));
	memcpy(big, "X: ", 3);
	memcpy(big + sizeof(big) - 9, "\r\n\r\n.\r\n", 8);
	big[sizeof(big) - 1] = '\0';
	run(big, strlen(big), SMTPD_BARE_NORMALIZE, false, 100, 0, false, &r);
	assert_true(r.header_too_big);
	assert_int_equal(r.done, 1);
	/* The same bytes pass however the long line arrives. */
	for (size_t split = 1; split <= strlen(big) + 1; split++) {
		struct result other;

		run(big, strlen(big), SMTPD_BARE_NORMALIZE, false, 100, split,
		    split == strlen(big) + 1, &other);
		assert_true(other.header_too_big);
		assert_int_equal(other.out_len, r.out_len);
		assert_memory_equal(other.out, r.out, r.out_len);
	}
	/* The body may be as long as it likes. */
	memcpy(big, "X: y\r\n\r\n", 8);
	run(big, strlen(big), SMTPD_BARE_NORMALIZE, false, 100, 0, false, &r);
	assert_false(r.header_too_big);
}

static void test_add_missing(void **state)
{
	struct smtpd_dot d;
	struct strbuf out;
	size_t used;
	const char *in = "Subject: s\r\n\r\nb\r\n.\r\n";

	(void)state;
	smtpd_dot_init(&d, SMTPD_BARE_NORMALIZE, false, 1000);
	d.add_msgid = "Message-ID: <q@h>\r\n";
	d.add_date = "Date: now\r\n";
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(smtpd_dot_feed(&d, in, strlen(in), &out, &used), 1);
	smtpd_dot_finish(&d, &out);
	assert_string_equal(out.data, "Subject: s\r\nMessage-ID: <q@h>\r\n"
				      "Date: now\r\n\r\nb\r\n");
	strbuf_release(&out);
	smtpd_dot_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_and_unstuffing),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_bare_cr_lf),
		cmocka_unit_test(test_raw_bdat),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_add_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
