/*
 * test_smtp_pure - unit tests for the smtp agent's pure parts: the nexthop
 * parser (smtp_nexthop.c) and the content encoder (smtp_dot.c)
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

static void ok(const char *nexthop, bool lmtp, enum smtp_dest_kind kind,
	       const char *host, unsigned port)
{
	struct smtp_dest d;
	const char *err = NULL;

	assert_int_equal(
		smtp_nexthop_parse(nexthop, lmtp, lmtp ? 24 : 25, &d, &err), 0);
	assert_int_equal(d.kind, kind);
	assert_string_equal(d.host, host);
	assert_int_equal(d.port, port);
}

static void bad(const char *nexthop, bool lmtp)
{
	struct smtp_dest d;
	const char *err = NULL;

	if (smtp_nexthop_parse(nexthop, lmtp, 25, &d, &err) != -1)
		fail_msg("accepted: %s", nexthop);
	assert_non_null(strstr(err, "bad nexthop"));
}

static void test_nexthop_smtp(void **state)
{
	(void)state;
	ok("example.com", false, SMTP_DEST_MX, "example.com", 25);
	ok("example.com:2525", false, SMTP_DEST_MX, "example.com", 2525);
	ok("example.com.", false, SMTP_DEST_MX, "example.com", 25);
	ok("[mx.example.com]", false, SMTP_DEST_HOST, "mx.example.com", 25);
	ok("[mx.example.com]:587", false, SMTP_DEST_HOST, "mx.example.com",
	   587);
	ok("[192.0.2.1]:2525", false, SMTP_DEST_HOST, "192.0.2.1", 2525);
	ok("[ipv6:2001:db8::1]:25", false, SMTP_DEST_HOST, "2001:db8::1", 25);
	ok("[2001:db8::1]", false, SMTP_DEST_HOST, "2001:db8::1", 25);
}

static void test_nexthop_lmtp(void **state)
{
	struct smtp_dest d;
	const char *err;

	(void)state;
	assert_int_equal(smtp_nexthop_parse("unix:/run/dovecot/lmtp", true, 24,
					    &d, &err),
			 0);
	assert_int_equal(d.kind, SMTP_DEST_UNIX);
	assert_string_equal(d.path, "/run/dovecot/lmtp");
	ok("inet:127.0.0.1:24", true, SMTP_DEST_HOST, "127.0.0.1", 24);
	ok("inet:[::1]:2400", true, SMTP_DEST_HOST, "::1", 2400);
	ok("inet:lmtp.example.com", true, SMTP_DEST_HOST, "lmtp.example.com",
	   24);
	ok("lmtp.example.com:25", true, SMTP_DEST_HOST, "lmtp.example.com", 25);
}

static void test_nexthop_malformed(void **state)
{
	(void)state;
	bad("", false);
	bad("[", false);
	bad("[]", false);
	bad("[mx.example.com", false);
	bad("[mx.example.com]x", false);
	bad("[mx.example.com]:", false);
	bad("[mx.example.com]:0", false);
	bad("[mx.example.com]:65536", false);
	bad("[mx.example.com]:25x", false);
	bad("example.com:-1", false);
	bad("exa mple.com", false);
	bad("example..com", false);
	bad("[ipv6:192.0.2.1]", false);
	bad("[ipv6:nonsense]", false);
	bad("unix:/run/x", false); /* only for lmtp */
	bad("unix:relative", true);
	bad("inet:", true);
	{
		char long_name[400];

		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		bad(long_name, false);
	}
}

/* encode in chunks of step bytes and compare with expect */
static void dot(const char *in, const char *expect, size_t step)
{
	struct smtp_dot d;
	struct strbuf out;
	size_t len = strlen(in);

	strbuf_init(&out, STRBUF_NO_LIMIT);
	smtp_dot_init(&d);
	for (size_t off = 0; off < len; off += step)
		smtp_dot_encode(&d, in + off,
				len - off < step ? len - off : step, &out);
	smtp_dot_finish(&d, &out);
	assert_int_equal(out.len, strlen(expect));
	assert_memory_equal(out.data, expect, out.len);
	strbuf_release(&out);
}

static void test_dot(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{"a\r", "a\r\n.\r\n"},
		{"a\nb\n", "a\r\nb\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"x\r\n.y\r\n..\r\n", "x\r\n..y\r\n...\r\n.\r\n"},
		{"x\n.\n", "x\r\n..\r\n.\r\n"},
		{"a\rb\r\n", "a\rb\r\n.\r\n"},
		{"a.\r\n", "a.\r\n.\r\n"},
		{"\r\n\r\n", "\r\n\r\n.\r\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t step = 1; step <= 4; step++)
			dot(cases[i].in, cases[i].out, step);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nexthop_smtp),
		cmocka_unit_test(test_nexthop_lmtp),
		cmocka_unit_test(test_nexthop_malformed),
		cmocka_unit_test(test_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
