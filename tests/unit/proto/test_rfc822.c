/*
 * test_rfc822 - unit tests for lib/proto/rfc822.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfc822.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_hdr_block - fields, folding, offsets, the empty line */
static void test_hdr_block(void **state)
{
	static const char msg[] = "Subject: hello\r\n"
				  " world\r\n"
				  "X-Empty:\r\n"
				  "Bad line\r\n"
				  "To : a@b\n"
				  "\r\n"
				  "body\r\n";
	struct rfc822_hdr_parser p;
	struct rfc822_header h;
	struct strbuf sb;

	(void)state;
	rfc822_hdr_init(&p, msg, sizeof(msg) - 1);
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_true(rfc822_hdr_name_is(&h, "subject"));
	assert_int_equal(h.offset, 0);
	assert_int_equal(h.size, 24);
	assert_int_equal(h.value_len, 13);
	assert_memory_equal(h.value, "hello\r\n world", 13);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(rfc822_unfold(h.value, h.value_len, &sb), 0);
	assert_string_equal(sb.data, "hello world");
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_true(rfc822_hdr_name_is(&h, "X-Empty"));
	assert_int_equal(h.value_len, 0);
	assert_int_equal(h.offset, 24);
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_true(h.broken);
	assert_int_equal(h.name_len, 8);
	assert_false(rfc822_hdr_name_is(&h, "Bad line"));
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_true(rfc822_hdr_name_is(&h, "To")); /* obsolete "To :" */
	assert_int_equal(h.value_len, 3);
	assert_int_equal(h.size, 9);
	assert_int_equal(rfc822_hdr_next(&p, &h), 0);
	assert_int_equal(p.body_offset, 55);
	assert_int_equal(rfc822_hdr_next(&p, &h), 0);

	/* Only headers, no final line break; and no headers at all. */
	rfc822_hdr_init(&p, "A: b\r\nC: d", 10);
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_int_equal(rfc822_hdr_next(&p, &h), 1);
	assert_int_equal(h.value_len, 1);
	assert_int_equal(h.size, 4);
	assert_int_equal(rfc822_hdr_next(&p, &h), 0);
	assert_int_equal(p.body_offset, 10);
	rfc822_hdr_init(&p, "\nbody", 5);
	assert_int_equal(rfc822_hdr_next(&p, &h), 0);
	assert_int_equal(p.body_offset, 1);
	rfc822_hdr_init(&p, "", 0);
	assert_int_equal(rfc822_hdr_next(&p, &h), 0);
	assert_int_equal(p.body_offset, 0);

	/* Unfolding: LF and CRLF folds, trailing space, limit. */
	strbuf_reset(&sb);
	assert_int_equal(rfc822_unfold("a\n\tb\r\n c  \r\n", 12, &sb), 0);
	assert_string_equal(sb.data, "a\tb c");
	strbuf_release(&sb);
	strbuf_init(&sb, 3);
	assert_int_equal(rfc822_unfold("abcdef", 6, &sb), -1);
	assert_int_equal(sb.len, 3);
	strbuf_release(&sb);
}

/* One address-list case and its ENVELOPE rendering. */
struct addr_case {
	const char *in;
	const char *out;
	size_t count;
};

static const struct addr_case addr_cases[] = {
	{"a@b.c", "((NIL NIL \"a\" \"b.c\"))", 1},
	{"\"Joe Q. Public\" <john.q.public@example.com>",
	 "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))", 1},
	{"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	 "((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" "
	 "\"example.org\")(\"Who?\" NIL \"one\" \"y.test\"))",
	 3},
	/* Comments are skipped, escapes undone. */
	{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	 "((\"Pete\" NIL \"pete\" \"silly.test\"))", 1},
	{"\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	 "((\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\"))",
	 1},
	/* Encoded words stay encoded in ENVELOPE. */
	{"=?utf-8?q?J=C3=B6rg?= <j@x.de>",
	 "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.de\"))", 1},
	/* Groups, empty and not (RFC 3501 §7.4.2 markers). */
	{"undisclosed-recipients:;",
	 "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))", 2},
	{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	 "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
	 "(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")"
	 "(NIL NIL NIL NIL))",
	 5},
	{"g: a@b, c@d;, e@f",
	 "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")"
	 "(NIL NIL NIL NIL)(NIL NIL \"e\" \"f\"))",
	 5},
	/* An unterminated group still gets its end marker. */
	{"g: a@b",
	 "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))", 3},
	/* Missing '>', local part, domain. */
	{"Name <a@b.c", "((\"Name\" NIL \"a\" \"b.c\"))", 1},
	{"user", "((NIL NIL \"user\" \"MISSING_DOMAIN\"))", 1},
	{"<@b.c>", "((NIL NIL \"MISSING_MAILBOX\" \"b.c\"))", 1},
	{"<>", "((NIL NIL \"\" \"\"))", 1},
	/* Obsolete route and quoted local part, domain literal. */
	{"<@r1.test,@r2.test:u@h.test>",
	 "((NIL \"@r1.test,@r2.test\" \"u\" \"h.test\"))", 1},
	{"\"a b\"@[1.2.3.4]", "((NIL NIL \"a b\" \"[1.2.3.4]\"))", 1},
	{"a . b @ c . d", "((NIL NIL \"a.b\" \"c.d\"))", 1},
	/* Garbage: skipped to the next comma. */
	{"a@b junk junk, c@d", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))",
	 2},
	{",,, ;;; <<<", "NIL", 0},
	{"", "NIL", 0},
	{"  (only a comment)  ", "NIL", 0},
	{"\"unterminated <a@b>",
	 "((NIL NIL \"unterminated <a@b>\" "
	 "\"MISSING_DOMAIN\"))",
	 1},
	/* 8-bit and line breaks force literals. */
	{"J\xc3\xb6rg <j@x>", "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\"))", 1},
};

/* test_addr_list - table of address lists */
static void test_addr_list(void **state)
{
	struct strbuf sb;
	size_t i, count;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (i = 0; i < NELEM(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		struct rfc822_addr *l =
			rfc822_addr_parse(c->in, strlen(c->in), &count);

		strbuf_reset(&sb);
		assert_int_equal(rfc822_render_addr_list(l, 0, &sb), 0);
		if (strcmp(sb.len ? sb.data : "", c->out) != 0)
			fail_msg("case %zu: %s\n got %s", i, c->in, sb.data);
		assert_int_equal(count, c->count);
		rfc822_addr_free(&l);
		assert_null(l);
	}
	strbuf_release(&sb);
}

/* test_addr_utf8 - with UTF8=ACCEPT, 8-bit goes quoted */
static void test_addr_utf8(void **state)
{
	static const char in[] = "J\xc3\xb6rg <j@x>";
	struct rfc822_addr *l = rfc822_addr_parse(in, sizeof(in) - 1, NULL);
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(rfc822_render_addr_list(l, RFC822_IMAP_UTF8, &sb), 0);
	assert_string_equal(sb.data, "((\"J\xc3\xb6rg\" NIL \"j\" \"x\"))");
	rfc822_addr_free(&l);
	strbuf_release(&sb);
}

/* test_addr_limit - a huge list stops at RFC822_ADDR_MAX */
static void test_addr_limit(void **state)
{
	struct strbuf sb;
	struct rfc822_addr *l;
	size_t i, count;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (i = 0; i < RFC822_ADDR_MAX + 100; i++)
		assert_int_equal(strbuf_append_str(&sb, "a@b,"), 0);
	l = rfc822_addr_parse(sb.data, sb.len, &count);
	assert_int_equal(count, RFC822_ADDR_MAX);
	rfc822_addr_free(&l);
	/* Deeply nested comments are counted, not recursed. */
	strbuf_reset(&sb);
	for (i = 0; i < 100000; i++)
		(void)strbuf_append_char(&sb, '(');
	(void)strbuf_append_str(&sb, "x@y");
	l = rfc822_addr_parse(sb.data, sb.len, &count);
	assert_int_equal(count, 0);
	assert_null(l);
	strbuf_release(&sb);
}

/* One date case. */
struct date_case {
	const char *in;
	int ok;
	long long t;
	int tz;
};

static const struct date_case date_cases[] = {
	{"Tue, 1 Jul 2003 10:52:37 +0200", 1, 1057049557, 120},
	{"Fri, 21 Nov 1997 09:55:06 -0600", 1, 880127706, -360},
	{"21 Nov 1997 09:55 -0600", 1, 880127700, -360},
	{"Thu, 13 Feb 1969 23:32:54 -0330", 1, -27723426, -210},
	/* Obsolete: two-digit years, named zones, comments, spacing. */
	{"Fri, 21 Nov 97 09:55:06 GMT", 1, 880106106, 0},
	{"Mon, 3 Jan 05 00:00:00 EST", 1, 1104728400, -300},
	{"Sat, 1 Jan 2000 12:00:00 PDT", 1, 946753200, -420},
	{"Thu,\r\n  13\r\n  Feb\r\n  1969\r\n  23:32\r\n  -0330 (Newfoundland Time)",
	 1, -27723480, -210},
	{"1 Jan 2000 00:00:00 A", 1, 946684800, 0},
	{"1 Jan 2000 00:00:00 UT", 1, 946684800, 0},
	{"1 jan 100 00:00:00 +0000", 1, 946684800, 0},
	{"29 Feb 2000 00:00:00 +0000", 1, 951782400, 0},
	{"31 Dec 2099 23:59:60 +0000", 1, 4102444800, 0},
	{"1 Jan 2000 00:00:00", 1, 946684800, 0}, /* no zone */
	/* Garbage. */
	{"", 0, 0, 0},
	{"yesterday", 0, 0, 0},
	{"29 Feb 1900 00:00:00 +0000", 0, 0, 0},
	{"32 Jan 2000 00:00:00 +0000", 0, 0, 0},
	{"1 Foo 2000 00:00:00 +0000", 0, 0, 0},
	{"1 Jan 2000 24:00:00 +0000", 0, 0, 0},
	{"1 Jan 2000 00:60:00 +0000", 0, 0, 0},
	{"1 Jan 2000 00:00:00 +00", 0, 0, 0},
	{"1 Jan 2000 00:00:00 +0099", 0, 0, 0},
	{"1 Jan 2000 00:00:00 +0000 trailing", 0, 0, 0},
	{"1 Jan 2000 00:00:00 XYZ", 0, 0, 0},
	{"1 Jan 2000 00:00:00 J", 0, 0, 0},
	{"1 Jan 20000 00:00:00 +0000", 0, 0, 0},
	{"123 Jan 2000 00:00:00 +0000", 0, 0, 0},
	{"Monday, 1 Jan 2000 00:00:00 +0000", 0, 0, 0},
	{"1 Jan 2000 00", 0, 0, 0},
};

/* test_dates - table of dates */
static void test_dates(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(date_cases); i++) {
		const struct date_case *c = &date_cases[i];
		time_t t = 0;
		int tz = 0, rc;

		rc = rfc822_parse_date(c->in, strlen(c->in), &t, &tz);
		if (rc != (c->ok ? 0 : -1))
			fail_msg("case %zu: %s: rc %d", i, c->in, rc);
		if (c->ok && ((long long)t != c->t || tz != c->tz))
			fail_msg("case %zu: %s: got %lld %d", i, c->in,
				 (long long)t, tz);
	}
}

/* test_imap_string - quoting rules */
static void test_imap_string(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(rfc822_imap_string("a\"b\\c", 5, 0, &sb), 0);
	assert_string_equal(sb.data, "\"a\\\"b\\\\c\"");
	strbuf_reset(&sb);
	assert_int_equal(rfc822_imap_string("a\r\nb", 4, 0, &sb), 0);
	assert_string_equal(sb.data, "{4}\r\na\r\nb");
	strbuf_reset(&sb);
	assert_int_equal(rfc822_imap_string("a\0b", 3, 0, &sb), 0);
	assert_string_equal(sb.data, "\"ab\"");
	strbuf_reset(&sb);
	assert_int_equal(rfc822_imap_nstring(NULL, 0, 0, &sb), 0);
	assert_int_equal(rfc822_imap_nstring("", 0, 0, &sb), 0);
	assert_string_equal(sb.data, "NIL\"\"");
	strbuf_release(&sb);
	strbuf_init(&sb, 4);
	assert_int_equal(rfc822_imap_string("abcdef", 6, 0, &sb), -1);
	strbuf_release(&sb);
}

/* test_envelope - whole ENVELOPE strings */
static void test_envelope(void **state)
{
	static const char msg1[] =
		"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
		"From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
		"Subject: Is dinner\r\n ready?\r\n"
		"To: Mary Smith <mary@x.test>\r\n"
		"Reply-To: r@x.test\r\n"
		"Cc: g:;\r\n"
		"Bcc:\r\n"
		"Sender: \r\n"
		"In-Reply-To: <3456@example.net>\r\n"
		"Message-ID: <5678.21-Nov-1997@example.com>\r\n"
		"Subject: second subject is ignored\r\n"
		"\r\n"
		"From: not@a.header\r\n";
	static const char msg2[] = "X-Nothing: at all\n\nbody\n";
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(rfc822_render_envelope(msg1, sizeof(msg1) - 1, 0, &sb),
			 0);
	assert_string_equal(
		sb.data,
		"(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"Is dinner ready?\" "
		"((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
		"((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
		"((NIL NIL \"r\" \"x.test\")) "
		"((\"Mary Smith\" NIL \"mary\" \"x.test\")) "
		"((NIL NIL \"g\" NIL)(NIL NIL NIL NIL)) NIL "
		"\"<3456@example.net>\" \"<5678.21-Nov-1997@example.com>\")");
	strbuf_reset(&sb);
	assert_int_equal(rfc822_render_envelope(msg2, sizeof(msg2) - 1, 0, &sb),
			 0);
	assert_string_equal(sb.data,
			    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	strbuf_reset(&sb);
	assert_int_equal(rfc822_render_envelope("", 0, 0, &sb), 0);
	assert_string_equal(sb.data,
			    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_block),
		cmocka_unit_test(test_addr_list),
		cmocka_unit_test(test_addr_utf8),
		cmocka_unit_test(test_addr_limit),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_imap_string),
		cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
