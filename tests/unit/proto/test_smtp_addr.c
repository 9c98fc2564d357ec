/*
 * test_smtp_addr - unit tests for lib/proto/smtp_addr.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_addr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NUL  SMTP_ADDR_FLAG_NULL_OK
#define PM   SMTP_ADDR_FLAG_POSTMASTER_OK
#define U8   SMTP_ADDR_FLAG_UTF8
#define BARE SMTP_ADDR_FLAG_BARE_OK

/* Bits for the booleans of struct smtp_addr in the tables below. */
#define B_NULL	 (1 << 0)
#define B_PM	 (1 << 1)
#define B_BRACK	 (1 << 2)
#define B_ROUTE	 (1 << 3)
#define B_QUOTED (1 << 4)
#define B_LIT	 (1 << 5)
#define B_UTF8	 (1 << 6)

struct good {
	const char *in;
	unsigned flags;
	const char *addr;
	const char *local;
	const char *unquoted;
	const char *domain;
	unsigned bits;
};

static const struct good good[] = {
	{"<>", NUL, "", "", "", "", B_NULL | B_BRACK},
	{"<a@b>", 0, "a@b", "a", "a", "b", B_BRACK},
	{"<john.doe@example.com>", 0, "john.doe@example.com", "john.doe",
	 "john.doe", "example.com", B_BRACK},
	{"<User+Tag@Example.COM>", 0, "User+Tag@Example.COM", "User+Tag",
	 "User+Tag", "Example.COM", B_BRACK},
	{"<!#$%&'*+-/=?^_`{|}~@x.y>", 0, "!#$%&'*+-/=?^_`{|}~@x.y",
	 "!#$%&'*+-/=?^_`{|}~", "!#$%&'*+-/=?^_`{|}~", "x.y", B_BRACK},
	{"<\"john doe\"@example.com>", 0, "\"john doe\"@example.com",
	 "\"john doe\"", "john doe", "example.com", B_BRACK | B_QUOTED},
	{"<\"joe\"@x.org>", 0, "joe@x.org", "\"joe\"", "joe", "x.org",
	 B_BRACK | B_QUOTED},
	{"<\"a\\\"b\\\\c\"@x>", 0, "\"a\\\"b\\\\c\"@x", "\"a\\\"b\\\\c\"",
	 "a\"b\\c", "x", B_BRACK | B_QUOTED},
	{"<\"\"@x>", 0, "\"\"@x", "\"\"", "", "x", B_BRACK | B_QUOTED},
	{"<\"a>b c\"@x>", 0, "\"a>b c\"@x", "\"a>b c\"", "a>b c", "x",
	 B_BRACK | B_QUOTED},
	{"<@a,@b.c:user@d.e>", 0, "user@d.e", "user", "user", "d.e",
	 B_BRACK | B_ROUTE},
	{"<@relay.example:u@x>", 0, "u@x", "u", "u", "x", B_BRACK | B_ROUTE},
	{"<u@[192.0.2.1]>", 0, "u@[192.0.2.1]", "u", "u", "[192.0.2.1]",
	 B_BRACK | B_LIT},
	{"<u@[IPv6:2001:db8::1]>", 0, "u@[IPv6:2001:db8::1]", "u", "u",
	 "[IPv6:2001:db8::1]", B_BRACK | B_LIT},
	{"<u@[ipv6:::ffff:192.0.2.1]>", 0, "u@[ipv6:::ffff:192.0.2.1]", "u",
	 "u", "[ipv6:::ffff:192.0.2.1]", B_BRACK | B_LIT},
	{"<postmaster>", PM, "postmaster", "postmaster", "postmaster", "",
	 B_BRACK | B_PM},
	{"<PostMaster>", PM, "PostMaster", "PostMaster", "PostMaster", "",
	 B_BRACK | B_PM},
	{"<postmaster@x>", PM, "postmaster@x", "postmaster", "postmaster", "x",
	 B_BRACK},
	{"a@b.c", BARE, "a@b.c", "a", "a", "b.c", 0},
	{"postmaster", PM | BARE, "postmaster", "postmaster", "postmaster", "",
	 B_PM},
	{"<1-2.x-y.123>" /* no '@': only postmaster */, 0, NULL, NULL, NULL,
	 NULL, 0},
	{"<a@1.2.3.4>", 0, "a@1.2.3.4", "a", "a", "1.2.3.4", B_BRACK},
	{"<a@x--y.example>", 0, "a@x--y.example", "a", "a", "x--y.example",
	 B_BRACK},
	/* RFC 6531: UTF-8 in local part and domain. */
	{"<j\xc3\xb6rg@b\xc3\xbc"
	 "cher.example>",
	 U8,
	 "j\xc3\xb6rg@b\xc3\xbc"
	 "cher.example",
	 "j\xc3\xb6rg", "j\xc3\xb6rg",
	 "b\xc3\xbc"
	 "cher.example",
	 B_BRACK | B_UTF8},
	{"<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac"
	 "\xe5\x8f\xb8>",
	 U8,
	 "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac"
	 "\xe5\x8f\xb8",
	 "\xe7\x94\xa8\xe6\x88\xb7", "\xe7\x94\xa8\xe6\x88\xb7",
	 "\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8", B_BRACK | B_UTF8},
	{"<\"\xf0\x9f\x98\x80 x\"@y>", U8, "\"\xf0\x9f\x98\x80 x\"@y",
	 "\"\xf0\x9f\x98\x80 x\"", "\xf0\x9f\x98\x80 x", "y",
	 B_BRACK | B_QUOTED | B_UTF8},
	{"<\"\xc3\xa9\"@y>", U8, "\xc3\xa9@y", "\"\xc3\xa9\"", "\xc3\xa9", "y",
	 B_BRACK | B_QUOTED | B_UTF8},
};

struct bad {
	const char *in;
	size_t len; /* 0: strlen(in) */
	unsigned flags;
	enum smtp_addr_error err;
};

static const struct bad bad[] = {
	{"", 0, NUL | PM | BARE, SMTP_ADDR_ERR_EMPTY},
	{"<>", 0, 0, SMTP_ADDR_ERR_NULL},
	{"<>", 0, PM | U8 | BARE, SMTP_ADDR_ERR_NULL},
	{"a@b", 0, 0, SMTP_ADDR_ERR_BRACKETS},
	{"<a@b", 0, 0, SMTP_ADDR_ERR_BRACKETS},
	{"<a", 0, 0, SMTP_ADDR_ERR_BRACKETS},
	{"<", 0, NUL, SMTP_ADDR_ERR_LOCAL},
	{"<a@b>>", 0, 0, SMTP_ADDR_ERR_TRAILING},
	{"<a@b> ", 0, 0, SMTP_ADDR_ERR_TRAILING},
	{"<<a@b>>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a>", 0, 0, SMTP_ADDR_ERR_NO_DOMAIN},
	{"<postmaster>", 0, 0, SMTP_ADDR_ERR_NO_DOMAIN},
	{"<\"postmaster\">", 0, PM, SMTP_ADDR_ERR_NO_DOMAIN},
	{"<@x:postmaster>", 0, PM, SMTP_ADDR_ERR_NO_DOMAIN},
	{"<postmasters>", 0, PM, SMTP_ADDR_ERR_NO_DOMAIN},
	{"<a@>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<@b>", 0, 0, SMTP_ADDR_ERR_ROUTE},
	{"<@a,b:u@x>", 0, 0, SMTP_ADDR_ERR_ROUTE},
	{"<@a:@b:u@x>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<@a;u@x>", 0, 0, SMTP_ADDR_ERR_ROUTE},
	{"<@[1.2.3.4]:u@x>", 0, 0, SMTP_ADDR_ERR_ROUTE},
	{"<@-a:u@x>", 0, 0, SMTP_ADDR_ERR_ROUTE},
	{"<.a@b>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a.@b>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a..b@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a b@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a(b)@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a,b@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<\"a@b>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<\"a\\", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<\"a\tb\"@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<\"a\"b@c>", 0, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a@b..c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@.b>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b.>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@-b.c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b-.c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b->", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b_c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@b@c>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@[1.2.3]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[256.1.1.1]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[1.2.3.4>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[IPv6:]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[IPv6:1.2.3.4]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[IPv6:2001:db8:::1]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[2001:db8::1]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[x-tag:abc]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"<a@[1.2.3.4]x>", 0, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<a@[1.2\\.3.4]>", 0, 0, SMTP_ADDR_ERR_LITERAL},
	{"a@b>", 0, BARE, SMTP_ADDR_ERR_DOMAIN},
	{"a@b c", 0, BARE, SMTP_ADDR_ERR_TRAILING},
	{"a", 0, BARE, SMTP_ADDR_ERR_NO_DOMAIN},
	{"@a:b@c", 0, BARE, SMTP_ADDR_ERR_LOCAL},
	/* NUL and 8-bit junk. */
	{"<a\0b@c>", 7, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a@b\0c>", 7, 0, SMTP_ADDR_ERR_DOMAIN},
	{"<\"a\0\"@c>", 8, 0, SMTP_ADDR_ERR_LOCAL},
	{"<a@b>\0", 6, 0, SMTP_ADDR_ERR_TRAILING},
	{"<\0>", 3, NUL, SMTP_ADDR_ERR_LOCAL},
	{"<j\xc3\xb6rg@x>", 0, 0, SMTP_ADDR_ERR_8BIT},
	{"<a@b\xc3\xbc.de>", 0, 0, SMTP_ADDR_ERR_8BIT},
	{"<\"\xc3\xa9\"@y>", 0, 0, SMTP_ADDR_ERR_8BIT},
	{"<@r\xc3\xa9:a@b>", 0, 0, SMTP_ADDR_ERR_8BIT},
	{"<\xff@x>", 0, U8, SMTP_ADDR_ERR_UTF8},
	{"<\xc3@x>", 0, U8, SMTP_ADDR_ERR_UTF8},	     /* cut */
	{"<\xc0\xaf@x>", 0, U8, SMTP_ADDR_ERR_UTF8},	     /* overlong */
	{"<\xe0\x80\xaf@x>", 0, U8, SMTP_ADDR_ERR_UTF8},     /* overlong */
	{"<\xed\xa0\x80@x>", 0, U8, SMTP_ADDR_ERR_UTF8},     /* surrogate */
	{"<\xf4\x90\x80\x80@x>", 0, U8, SMTP_ADDR_ERR_UTF8}, /* > 10FFFF */
	{"<a@\x80>", 0, U8, SMTP_ADDR_ERR_UTF8},
	{"<\"\xa9\"@x>", 0, U8, SMTP_ADDR_ERR_UTF8},
	{"<\"\\\xc3\xa9\"@x>", 0, U8, SMTP_ADDR_ERR_LOCAL}, /* pair is ASCII */
	{"<a@b\xc3\xa9>", 3, U8, SMTP_ADDR_ERR_DOMAIN},	    /* len respected */
	{"<a@b\xc3\xa9>", 5, U8, SMTP_ADDR_ERR_UTF8},
};

/* bits_of - the booleans of addr as B_* bits */
static unsigned bits_of(const struct smtp_addr *a)
{
	return (a->null ? B_NULL : 0) | (a->postmaster ? B_PM : 0) |
	       (a->bracketed ? B_BRACK : 0) | (a->routed ? B_ROUTE : 0) |
	       (a->quoted ? B_QUOTED : 0) | (a->literal ? B_LIT : 0) |
	       (a->utf8 ? B_UTF8 : 0);
}

static void test_good(void **state)
{
	struct smtp_addr a;
	enum smtp_addr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		err = smtp_addr_parse(good[i].in, strlen(good[i].in),
				      good[i].flags, &a);
		if (good[i].addr == NULL) {
			assert_int_not_equal(err, SMTP_ADDR_OK);
			continue;
		}
		if (err != SMTP_ADDR_OK)
			fail_msg("case %zu \"%s\": %s", i, good[i].in,
				 smtp_addr_error_text(err));
		assert_string_equal(a.addr, good[i].addr);
		assert_string_equal(a.local, good[i].local);
		assert_string_equal(a.local_unquoted, good[i].unquoted);
		assert_string_equal(a.domain, good[i].domain);
		assert_int_equal(bits_of(&a), good[i].bits);
	}
}

static void test_bad(void **state)
{
	struct smtp_addr a;
	enum smtp_addr_error err;
	size_t i, len;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		len = bad[i].len ? bad[i].len : strlen(bad[i].in);
		err = smtp_addr_parse(bad[i].in, len, bad[i].flags, &a);
		if (err != bad[i].err)
			fail_msg("case %zu: got %d (%s), want %d (%s)", i,
				 (int)err, smtp_addr_error_text(err),
				 (int)bad[i].err,
				 smtp_addr_error_text(bad[i].err));
	}
}

/* cat - append s to the C string in buf, which has room for size bytes */
static void cat(char *buf, size_t size, const char *s)
{
	size_t bl = strlen(buf), sl = strlen(s);

	assert_true(bl + sl < size);
	memcpy(buf + bl, s, sl + 1);
}

/* fill - buf = prefix, n copies of c, suffix; returns the length */
static size_t fill(char *buf, size_t size, const char *prefix, char c, size_t n,
		   const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	assert_true(pl + n + sl < size);
	memcpy(buf, prefix, pl);
	memset(buf + pl, c, n);
	memcpy(buf + pl + n, suffix, sl + 1);
	return pl + n + sl;
}

static void test_limits(void **state)
{
	struct smtp_addr a;
	char buf[1024], lab[64];
	size_t len, i;

	(void)state;
	/* Local part: 64 octets as given, quotes included. */
	len = fill(buf, sizeof(buf), "<", 'x', 64, "@b>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a), SMTP_ADDR_OK);
	assert_int_equal(strlen(a.local), 64);
	len = fill(buf, sizeof(buf), "<", 'x', 65, "@b>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_LOCAL_LEN);
	len = fill(buf, sizeof(buf), "<\"", 'x', 62, "\"@b>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a), SMTP_ADDR_OK);
	assert_int_equal(strlen(a.local_unquoted), 62);
	assert_int_equal(strlen(a.addr), 64); /* quotes dropped */
	len = fill(buf, sizeof(buf), "<\"", 'x', 63, "\"@b>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_LOCAL_LEN);
	len = fill(buf, sizeof(buf), "<\"", 'x', 500, "\"@b>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_LOCAL_LEN);
	/* 21 UTF-8 characters of 3 octets: 63 octets, one more is 66. */
	buf[0] = 0;
	cat(buf, sizeof(buf), "<");
	for (i = 0; i < 21; i++)
		cat(buf, sizeof(buf), "\xe2\x82\xac");
	cat(buf, sizeof(buf), "@b>");
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), U8, &a),
			 SMTP_ADDR_OK);
	memmove(buf + 4, buf + 1, strlen(buf + 1) + 1);
	memcpy(buf + 1, "\xe2\x82\xac", 3);
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), U8, &a),
			 SMTP_ADDR_ERR_LOCAL_LEN);

	/* Label: 63 octets. */
	len = fill(buf, sizeof(buf), "<a@", 'd', 63, ".com>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a), SMTP_ADDR_OK);
	len = fill(buf, sizeof(buf), "<a@", 'd', 64, ".com>");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_DOMAIN_LEN);
	len = fill(buf, sizeof(buf), "<a@x.", 'd', 64, ">");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_DOMAIN_LEN);

	/* Domain: 255 octets, but the path limit (256 with "<a@" ">")
	 * bites first: domain <= 252 with a one-letter local part. */
	memset(lab, 'd', 63);
	lab[63] = 0;
	snprintf(buf, sizeof(buf), "<a@%s.%s.%s.%s>", lab, lab, lab,
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		 "dddd"); /* 63*3 + 3 + 60 = 252 */
	assert_int_equal(strlen(buf), 256);
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), 0, &a),
			 SMTP_ADDR_OK);
	assert_int_equal(strlen(a.domain), 252);
	assert_int_equal(strlen(a.addr), 254);
	snprintf(buf, sizeof(buf), "<ab@%s.%s.%s.%s>", lab, lab, lab,
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		 "dddd");
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), 0, &a),
			 SMTP_ADDR_ERR_PATH_LEN);
	/* Bare addresses count as if they had their brackets. */
	assert_int_equal(smtp_addr_parse(buf + 1, strlen(buf) - 2, BARE, &a),
			 SMTP_ADDR_ERR_PATH_LEN);
	/* 256 octets of domain is over 255 whatever the path. */
	snprintf(buf, sizeof(buf), "<a@%s.%s.%s.%s>", lab, lab, lab,
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		 "dddddddd"); /* 256 */
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), 0, &a),
			 SMTP_ADDR_ERR_DOMAIN_LEN);
	/* A long route makes the path too long on its own. */
	buf[0] = 0;
	cat(buf, sizeof(buf), "<");
	for (i = 0; i < 40; i++)
		cat(buf, sizeof(buf), "@relay.example,");
	cat(buf, sizeof(buf), "@x:a@b>");
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), 0, &a),
			 SMTP_ADDR_ERR_PATH_LEN);
	/* A huge input is refused without reading it all into anything. */
	len = fill(buf, sizeof(buf), "<a@", 'd', 1000, ">");
	assert_int_equal(smtp_addr_parse(buf, len, 0, &a),
			 SMTP_ADDR_ERR_DOMAIN_LEN);
}

static void test_prefix(void **state)
{
	struct smtp_addr a;
	size_t used = 99;
	const char *s;

	(void)state;
	s = "<a@b> SIZE=10";
	assert_int_equal(smtp_addr_parse_prefix(s, strlen(s), 0, &a, &used),
			 SMTP_ADDR_OK);
	assert_int_equal(used, 5);
	s = "<\"x> y\"@b> BODY=8BITMIME";
	assert_int_equal(smtp_addr_parse_prefix(s, strlen(s), 0, &a, &used),
			 SMTP_ADDR_OK);
	assert_int_equal(used, 10);
	assert_string_equal(a.local_unquoted, "x> y");
	s = "a@b.c SIZE=10";
	assert_int_equal(smtp_addr_parse_prefix(s, strlen(s), BARE, &a, &used),
			 SMTP_ADDR_OK);
	assert_int_equal(used, 5);
	s = "<> x";
	assert_int_equal(smtp_addr_parse_prefix(s, strlen(s), NUL, &a, &used),
			 SMTP_ADDR_OK);
	assert_int_equal(used, 2);
	assert_true(a.null);
	s = "<a@b";
	assert_int_equal(smtp_addr_parse_prefix(s, strlen(s), 0, &a, &used),
			 SMTP_ADDR_ERR_BRACKETS);
	assert_int_equal(used, 0);
}

static void test_check_domain(void **state)
{
	static const struct {
		const char *in;
		unsigned flags;
		enum smtp_addr_error err;
	} cases[] = {
		{"mail.example.com", 0, SMTP_ADDR_OK},
		{"localhost", 0, SMTP_ADDR_OK},
		{"[192.0.2.1]", 0, SMTP_ADDR_OK},
		{"[IPv6:::1]", 0, SMTP_ADDR_OK},
		{"", 0, SMTP_ADDR_ERR_EMPTY},
		{"foo_bar", 0, SMTP_ADDR_ERR_DOMAIN},
		{"foo bar", 0, SMTP_ADDR_ERR_DOMAIN},
		{"foo.", 0, SMTP_ADDR_ERR_DOMAIN},
		{"[1.2.3.4", 0, SMTP_ADDR_ERR_LITERAL},
		{"[999.1.1.1]", 0, SMTP_ADDR_ERR_LITERAL},
		{"b\xc3\xbc.de", 0, SMTP_ADDR_ERR_8BIT},
		{"b\xc3\xbc.de", U8, SMTP_ADDR_OK},
		{"b\xc3.de", U8, SMTP_ADDR_ERR_UTF8},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		assert_int_equal(smtp_addr_check_domain(cases[i].in,
							strlen(cases[i].in),
							cases[i].flags),
				 cases[i].err);
}

static void test_utf8_seq(void **state)
{
	(void)state;
	assert_int_equal(smtp_addr_utf8_seq("a", 1), 1);
	assert_int_equal(smtp_addr_utf8_seq("", 0), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xc3\xa9", 2), 2);
	assert_int_equal(smtp_addr_utf8_seq("\xc3\xa9", 1), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xe2\x82\xac", 3), 3);
	assert_int_equal(smtp_addr_utf8_seq("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(smtp_addr_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4);
	assert_int_equal(smtp_addr_utf8_seq("\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xf5\x80\x80\x80", 4), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xc1\xbf", 2), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xe0\x9f\xbf", 3), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xed\x9f\xbf", 3), 3);
	assert_int_equal(smtp_addr_utf8_seq("\xed\xa0\x80", 3), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xf0\x8f\xbf\xbf", 4), 0);
	assert_int_equal(smtp_addr_utf8_seq("\xc3\x41", 2), 0);
	assert_int_equal(smtp_addr_utf8_seq("\x80", 1), 0);
}

static void test_error_text(void **state)
{
	int e;

	(void)state;
	assert_string_equal(smtp_addr_error_text(SMTP_ADDR_ERR_LOCAL_LEN),
			    "local part too long");
	for (e = SMTP_ADDR_OK; e <= SMTP_ADDR_ERR_TRAILING; e++)
		assert_string_not_equal(
			smtp_addr_error_text((enum smtp_addr_error)e),
			"unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_check_domain),
		cmocka_unit_test(test_utf8_seq),
		cmocka_unit_test(test_error_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
