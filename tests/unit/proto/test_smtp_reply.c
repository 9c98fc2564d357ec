/*
 * test_smtp_reply - unit tests for lib/proto/smtp_reply.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"
#include "smtp_reply.h"

/* parse_all - feed s in pieces of step bytes (0: at once) until one reply
 * or an error; returns parse's result, with the bytes used */
static int parse_all(struct smtp_reply_parser *p, const char *s, size_t len,
		     size_t step, size_t *used_r, const struct smtp_reply **r,
		     const char **err)
{
	size_t off = 0, n, used;
	int ret = 0;

	*err = NULL;
	while (off < len) {
		n = step == 0 || len - off < step ? len - off : step;
		ret = smtp_reply_parse(p, s + off, n, &used, r, err);
		off += used;
		if (ret != 0)
			break;
		assert_int_equal(used, n);
	}
	*used_r = off;
	return ret;
}

/* one - parse s at once: expect a reply with code, status and lines */
static void one(const char *s, unsigned code, const char *status, size_t nlines,
		const char *formatted)
{
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	struct strbuf out;
	const char *err;
	size_t used, step;

	for (step = 0; step <= 3; step++) {
		smtp_reply_parser_reset(p);
		assert_int_equal(
			parse_all(p, s, strlen(s), step, &used, &r, &err), 1);
		assert_int_equal(used, strlen(s));
		assert_int_equal(r->code, code);
		assert_string_equal(r->status, status);
		assert_int_equal(r->nlines, nlines);
		strbuf_init(&out, STRBUF_NO_LIMIT);
		smtp_reply_format(p, &out, 990);
		assert_string_equal(out.data, formatted);
		strbuf_release(&out);
	}
	smtp_reply_parser_free(&p);
	assert_null(p);
}

/* bad - parse s: expect error text err */
static void bad(const char *s, size_t len, const char *expect)
{
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	const char *err;
	size_t used;

	assert_int_equal(parse_all(p, s, len, 0, &used, &r, &err), -1);
	assert_string_equal(err, expect);
	smtp_reply_parser_free(&p);
}

static void test_single(void **state)
{
	(void)state;
	one("220 mx.example.com ESMTP ready\r\n", 220, "", 1,
	    "220 mx.example.com ESMTP ready");
	one("250 2.1.0 Ok\r\n", 250, "2.1.0", 1, "250 2.1.0 Ok");
	one("550 5.1.1 <u@example.com>: Recipient address rejected\r\n", 550,
	    "5.1.1", 1,
	    "550 5.1.1 <u@example.com>: Recipient address rejected");
	one("354\r\n", 354, "", 1, "354");     /* text is optional */
	one("250 ok\n", 250, "", 1, "250 ok"); /* bare LF */
	one("421 4.3.2  \r\n", 421, "4.3.2", 1, "421 4.3.2");
	one("250 2.0.0\r\n", 250, "2.0.0", 1, "250 2.0.0");
	one("451 4.123.456 x\r\n", 451, "4.123.456", 1, "451 4.123.456 x");
}

static void test_multi(void **state)
{
	(void)state;
	one("250-mx.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", 250,
	    "", 3, "250 mx.example.com PIPELINING SIZE 1000");
	one("550-5.7.1 line one\r\n550-5.7.1 line two\r\n550 5.7.1 end\r\n",
	    550, "5.7.1", 3, "550 5.7.1 line one line two end");
	one("451-4.7.1 first\n451-\n451 last\n", 451, "4.7.1", 3,
	    "451 4.7.1 first last");
	one("554-bad\tbyte \x80\r\n554 x\r\n", 554, "", 2, "554 bad?byte ? x");
}

static void test_enhanced(void **state)
{
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	const char *err;
	size_t used;

	(void)state;
	/* Class disagrees with the code: ignored, left in the text. */
	assert_int_equal(
		parse_all(p, "250 5.1.1 odd\r\n", 15, 0, &used, &r, &err), 1);
	assert_string_equal(r->status, "");
	assert_true(r->status_mismatch);
	/* Not a status: too many digits, junk after, wrong class. */
	one("250 2.1.1234 x\r\n", 250, "", 1, "250 2.1.1234 x");
	one("250 2.1.0x y\r\n", 250, "", 1, "250 2.1.0x y");
	one("250 3.1.0 y\r\n", 250, "", 1, "250 3.1.0 y");
	one("250 2..0 y\r\n", 250, "", 1, "250 2..0 y");
	one("250 1.2.3\r\n", 250, "", 1, "250 1.2.3");
	smtp_reply_parser_free(&p);
}

static void test_errors(void **state)
{
	(void)state;
	bad("099 no\r\n", 8, "bad reply code");
	bad("600 no\r\n", 8, "bad reply code");
	bad("25\r\n", 4, "bad reply code");
	bad("\r\n", 2, "bad reply code");
	bad("2a0 x\r\n", 7, "bad reply code");
	bad("250x\r\n", 6, "no space or dash after the reply code");
	bad("250_ok\r\n", 8, "no space or dash after the reply code");
	bad("250-a\r\n251 b\r\n", 14, "reply code differs between lines");
	bad("250-a\r\n550 b\r\n", 14, "reply code differs between lines");
	bad("250 a\0b\r\n", 9, "NUL byte in reply");
}

static void test_limits(void **state)
{
	struct smtp_reply_parser *p;
	const struct smtp_reply *r;
	struct strbuf sb;
	const char *err;
	size_t used, i;

	(void)state;
	/* SMTP_REPLY_LINE_MAX octets plus CRLF are fine; one more is not. */
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_append_str(&sb, "250 ");
	for (i = 4; i < SMTP_REPLY_LINE_MAX; i++)
		strbuf_append_char(&sb, 'x');
	strbuf_append_str(&sb, "\r\n");
	p = smtp_reply_parser_create();
	assert_int_equal(parse_all(p, sb.data, sb.len, 0, &used, &r, &err), 1);
	smtp_reply_parser_free(&p);
	strbuf_reset(&sb);
	strbuf_append_str(&sb, "250 ");
	for (i = 4; i < SMTP_REPLY_LINE_MAX + 1; i++)
		strbuf_append_char(&sb, 'x');
	strbuf_append_str(&sb, "\r\n");
	bad(sb.data, sb.len, "reply line too long");
	/* Without any line end, the line stops growing at the limit. */
	bad(sb.data, sb.len - 2 + 1, "reply line too long");

	strbuf_reset(&sb);
	for (i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		strbuf_append_str(&sb, "250-x\r\n");
	strbuf_append_str(&sb, "250 x\r\n");
	p = smtp_reply_parser_create();
	assert_int_equal(parse_all(p, sb.data, sb.len, 0, &used, &r, &err), 1);
	assert_int_equal(r->nlines, SMTP_REPLY_LINES_MAX);
	smtp_reply_parser_free(&p);
	strbuf_reset(&sb);
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		strbuf_append_str(&sb, "250-x\r\n");
	strbuf_append_str(&sb, "250 x\r\n");
	bad(sb.data, sb.len, "too many reply lines");

	/* Total size: 40 lines of 2000 octets pass 64 KiB. */
	strbuf_reset(&sb);
	for (i = 0; i < 40; i++) {
		strbuf_append_str(&sb, "250-");
		while (sb.len % 2006 != 2004)
			strbuf_append_char(&sb, 'y');
		strbuf_append_str(&sb, "\r\n");
	}
	bad(sb.data, sb.len, "reply too large");
	strbuf_release(&sb);
}

static void test_pipelined(void **state)
{
	static const char in[] = "250 2.1.0 Ok\r\n250-2.1.5 a\r\n250 2.1.5 "
				 "b\r\n354 go\r\n221";
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	const char *err, *text;
	size_t used, off = 0, len;

	(void)state;
	assert_int_equal(
		smtp_reply_parse(p, in, sizeof(in) - 1, &used, &r, &err), 1);
	assert_int_equal(used, 14);
	assert_int_equal(r->code, 250);
	off += used;
	assert_int_equal(smtp_reply_parse(p, in + off, sizeof(in) - 1 - off,
					  &used, &r, &err),
			 1);
	assert_int_equal(r->nlines, 2);
	text = smtp_reply_line(p, 1, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(text, "2.1.5 b", 7);
	smtp_reply_line(p, 2, &len);
	assert_int_equal(len, 0);
	off += used;
	assert_int_equal(smtp_reply_parse(p, in + off, sizeof(in) - 1 - off,
					  &used, &r, &err),
			 1);
	assert_int_equal(r->code, 354);
	assert_int_equal(r->nlines, 1);
	off += used;
	assert_int_equal(smtp_reply_parse(p, in + off, sizeof(in) - 1 - off,
					  &used, &r, &err),
			 0);
	assert_int_equal(used, 3);
	assert_int_equal(smtp_reply_parse(p, " bye\r\n", 6, &used, &r, &err),
			 1);
	assert_int_equal(r->code, 221);
	smtp_reply_parser_free(&p);
	smtp_reply_parser_free(&p); /* NULL is fine */
}

static void test_format_cut(void **state)
{
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	struct strbuf out;
	const char *err;
	size_t used;

	(void)state;
	assert_int_equal(parse_all(p, "550 5.0.0 abcdefghij\r\n", 22, 0, &used,
				   &r, &err),
			 1);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	smtp_reply_format(p, &out, 14);
	assert_string_equal(out.data, "550 5.0.0 abcd");
	strbuf_release(&out);
	smtp_reply_parser_free(&p);
}

/* ehlo - parse s and decode its EHLO keywords */
static void ehlo(const char *s, struct smtp_ehlo *e, int expect)
{
	struct smtp_reply_parser *p = smtp_reply_parser_create();
	const struct smtp_reply *r;
	const char *err;
	size_t used;

	assert_int_equal(parse_all(p, s, strlen(s), 0, &used, &r, &err), 1);
	assert_int_equal(smtp_reply_ehlo(p, e), expect);
	smtp_reply_parser_free(&p);
}

static void test_ehlo(void **state)
{
	struct smtp_ehlo e;

	(void)state;
	ehlo("250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE "
	     "10240000\r\n250-8BITMIME\r\n250-smtputf8\r\n250-STARTTLS\r\n"
	     "250-AUTH PLAIN login  CRAM-MD5\r\n250-AUTH=LOGIN XOAUTH2\r\n"
	     "250-DSN\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-VRFY\r\n"
	     "250-X-UNKNOWN foo\r\n250 ENHANCEDSTATUSCODES\r\n",
	     &e, 0);
	assert_int_equal(e.ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
					SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
					SMTP_EXT_STARTTLS | SMTP_EXT_AUTH |
					SMTP_EXT_DSN | SMTP_EXT_CHUNKING |
					SMTP_EXT_BINARYMIME |
					SMTP_EXT_ENHANCEDSTATUSCODES);
	assert_int_equal(e.size_max, 10240000);
	assert_string_equal(e.auth, "PLAIN LOGIN CRAM-MD5 XOAUTH2");
	assert_true(smtp_ehlo_has_auth(&e, "plain"));
	assert_true(smtp_ehlo_has_auth(&e, "XOAUTH2"));
	assert_false(smtp_ehlo_has_auth(&e, "LOG"));
	assert_false(smtp_ehlo_has_auth(&e, "GSSAPI"));

	/* The greeting line is not a keyword; SIZE alone or junk: no limit. */
	ehlo("250-PIPELINING\r\n250-SIZE\r\n250 size 12x\r\n", &e, 0);
	assert_int_equal(e.ext, SMTP_EXT_SIZE);
	assert_int_equal(e.size_max, 0);
	ehlo("250 only.greeting\r\n", &e, 0);
	assert_int_equal(e.ext, 0);
	ehlo("502 5.5.1 no EHLO\r\n", &e, -1);
	assert_int_equal(e.ext, 0);
}

static void test_ehlo_auth_overflow(void **state)
{
	struct strbuf sb;
	struct smtp_ehlo e;
	int i;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_append_str(&sb, "250-x\r\n250 AUTH");
	for (i = 0; i < 100; i++)
		strbuf_appendf(&sb, " MECH-%03d", i);
	strbuf_append_str(&sb, "\r\n");
	ehlo(sb.data, &e, 0);
	assert_true(strlen(e.auth) < SMTP_EHLO_AUTH_MAX);
	assert_true(smtp_ehlo_has_auth(&e, "MECH-000"));
	assert_false(smtp_ehlo_has_auth(&e, "MECH-099"));
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_format_cut),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_ehlo_auth_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
