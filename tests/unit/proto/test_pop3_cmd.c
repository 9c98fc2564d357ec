/*
 * test_pop3_cmd - unit tests for lib/proto/pop3_cmd.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pop3_cmd.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define UNKN POP3_CMD_UNKNOWN
#define OK   POP3_CMD_OK
#define F_U8 POP3_CMD_FLAG_UTF8

/* One line, the keyword it should be seen as, and the outcome. */
struct verdict {
	const char *in;
	size_t len; /* 0: strlen(in) */
	unsigned flags;
	enum pop3_cmd_verb verb;
	enum pop3_cmd_error err;
};

static const struct verdict verdicts[] = {
	/* Keywords, any case. */
	{"QUIT", 0, 0, POP3_CMD_QUIT, OK},
	{"quit", 0, 0, POP3_CMD_QUIT, OK},
	{"QuIt ", 0, 0, POP3_CMD_QUIT, OK},
	{"  STAT", 0, 0, POP3_CMD_STAT, OK},
	{"capa", 0, 0, POP3_CMD_CAPA, OK},
	{"STLS", 0, 0, POP3_CMD_STLS, OK},
	{"utf8", 0, 0, POP3_CMD_UTF8, OK},
	{"NOOP", 0, 0, POP3_CMD_NOOP, OK},
	{"RSET", 0, 0, POP3_CMD_RSET, OK},
	{"", 0, 0, UNKN, POP3_CMD_ERR_EMPTY},
	{"    ", 0, 0, UNKN, POP3_CMD_ERR_EMPTY},
	{"XYZZY", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"QUITS", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"QUI", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"LAST", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"APOP bob 0123456789abcdef0123456789abcdef", 0, 0, UNKN,
	 POP3_CMD_ERR_UNKNOWN},
	{"Q\xd5IT", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"\x80\x81", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	/* No arguments allowed. */
	{"QUIT now", 0, 0, POP3_CMD_QUIT, POP3_CMD_ERR_NO_ARGS},
	{"STAT 1", 0, 0, POP3_CMD_STAT, POP3_CMD_ERR_NO_ARGS},
	{"STLS x", 0, 0, POP3_CMD_STLS, POP3_CMD_ERR_NO_ARGS},
	{"UTF8 on", 0, 0, POP3_CMD_UTF8, POP3_CMD_ERR_NO_ARGS},
	/* NUL, controls, 8-bit. */
	{"QUIT\0", 5, 0, UNKN, POP3_CMD_ERR_BAD_CHAR},
	{"\0QUIT", 5, 0, UNKN, POP3_CMD_ERR_BAD_CHAR},
	{"QU\0IT", 5, 0, UNKN, POP3_CMD_ERR_BAD_CHAR},
	{"RETR 1\0", 7, 0, POP3_CMD_RETR, POP3_CMD_ERR_BAD_CHAR},
	{"NOOP \r", 0, 0, POP3_CMD_NOOP, POP3_CMD_ERR_BAD_CHAR},
	{"LIST\t1", 0, 0, UNKN, POP3_CMD_ERR_BAD_CHAR},
	{"LIST \x7f", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_BAD_CHAR},
	{"PASS a\nb", 0, 0, POP3_CMD_PASS, POP3_CMD_ERR_BAD_CHAR},
	{"\x1b[0m", 0, 0, UNKN, POP3_CMD_ERR_BAD_CHAR},
	{"LIST \xc3\xa9", 0, F_U8, POP3_CMD_LIST, POP3_CMD_ERR_8BIT},
	/* USER. */
	{"USER bob", 0, 0, POP3_CMD_USER, OK},
	{"USER bob@example.com", 0, 0, POP3_CMD_USER, OK},
	{"USER  bob  ", 0, 0, POP3_CMD_USER, OK},
	{"USER", 0, 0, POP3_CMD_USER, POP3_CMD_ERR_MISSING},
	{"USER ", 0, 0, POP3_CMD_USER, POP3_CMD_ERR_MISSING},
	{"USER    ", 0, 0, POP3_CMD_USER, POP3_CMD_ERR_MISSING},
	{"USERbob", 0, 0, UNKN, POP3_CMD_ERR_UNKNOWN},
	{"USER j\xc3\xb6rg", 0, 0, POP3_CMD_USER, POP3_CMD_ERR_8BIT},
	{"USER j\xc3\xb6rg", 0, F_U8, POP3_CMD_USER, OK},
	{"USER j\xc3rg", 0, F_U8, POP3_CMD_USER, POP3_CMD_ERR_BAD_UTF8},
	{"USER \xed\xa0\x80", 0, F_U8, POP3_CMD_USER, POP3_CMD_ERR_BAD_UTF8},
	{"USER \xc0\xaf", 0, F_U8, POP3_CMD_USER, POP3_CMD_ERR_BAD_UTF8},
	{"USER \xf0\x9f\x93\xa7", 0, F_U8, POP3_CMD_USER, OK},
	/* PASS: the rest of the line, 8-bit allowed. */
	{"PASS secret", 0, 0, POP3_CMD_PASS, OK},
	{"PASS two words ", 0, 0, POP3_CMD_PASS, OK},
	{"PASS  ", 0, 0, POP3_CMD_PASS, OK},
	{"PASS \xe9t\xe9", 0, 0, POP3_CMD_PASS, OK},
	{"PASS", 0, 0, POP3_CMD_PASS, POP3_CMD_ERR_MISSING},
	{"PASS ", 0, 0, POP3_CMD_PASS, POP3_CMD_ERR_MISSING},
	/* AUTH. */
	{"AUTH", 0, 0, POP3_CMD_AUTH, OK},
	{"AUTH PLAIN", 0, 0, POP3_CMD_AUTH, OK},
	{"auth plain AGJvYgBzZWNyZXQ=", 0, 0, POP3_CMD_AUTH, OK},
	{"AUTH PLAIN =", 0, 0, POP3_CMD_AUTH, OK},
	{"AUTH X-OAUTH_2", 0, 0, POP3_CMD_AUTH, OK},
	{"AUTH PLAIN AGJvYgBzZWNyZXQ", 0, 0, POP3_CMD_AUTH,
	 POP3_CMD_ERR_BASE64},
	{"AUTH PLAIN ==", 0, 0, POP3_CMD_AUTH, POP3_CMD_ERR_BASE64},
	{"AUTH PLAIN a b", 0, 0, POP3_CMD_AUTH, POP3_CMD_ERR_EXTRA},
	{"AUTH PL.AIN", 0, 0, POP3_CMD_AUTH, POP3_CMD_ERR_MECH},
	{"AUTH ABCDEFGHIJKLMNOPQRSTU", 0, 0, POP3_CMD_AUTH, POP3_CMD_ERR_MECH},
	{"AUTH ABCDEFGHIJKLMNOPQRST", 0, 0, POP3_CMD_AUTH, OK},
	/* Message numbers. */
	{"LIST", 0, 0, POP3_CMD_LIST, OK},
	{"LIST 1", 0, 0, POP3_CMD_LIST, OK},
	{"LIST  7 ", 0, 0, POP3_CMD_LIST, OK},
	{"LIST 0", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST -1", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST +1", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST 1x", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST 0x10", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST 4294967295", 0, 0, POP3_CMD_LIST, OK},
	{"LIST 4294967296", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_NUMBER},
	{"LIST 99999999999999999999999", 0, 0, POP3_CMD_LIST,
	 POP3_CMD_ERR_NUMBER},
	{"LIST 1 2", 0, 0, POP3_CMD_LIST, POP3_CMD_ERR_EXTRA},
	{"UIDL", 0, 0, POP3_CMD_UIDL, OK},
	{"UIDL 3", 0, 0, POP3_CMD_UIDL, OK},
	{"UIDL x", 0, 0, POP3_CMD_UIDL, POP3_CMD_ERR_NUMBER},
	{"RETR 1", 0, 0, POP3_CMD_RETR, OK},
	{"RETR", 0, 0, POP3_CMD_RETR, POP3_CMD_ERR_MISSING},
	{"RETR ", 0, 0, POP3_CMD_RETR, POP3_CMD_ERR_MISSING},
	{"RETR 1 2", 0, 0, POP3_CMD_RETR, POP3_CMD_ERR_EXTRA},
	{"DELE 12", 0, 0, POP3_CMD_DELE, OK},
	{"DELE one", 0, 0, POP3_CMD_DELE, POP3_CMD_ERR_NUMBER},
	{"TOP 1 0", 0, 0, POP3_CMD_TOP, OK},
	{"top 2 10", 0, 0, POP3_CMD_TOP, OK},
	{"TOP 1 18446744073709551615", 0, 0, POP3_CMD_TOP, OK},
	{"TOP 1 18446744073709551616", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_LINES},
	{"TOP 1 -1", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_LINES},
	{"TOP 1", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_MISSING},
	{"TOP", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_MISSING},
	{"TOP 0 1", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_NUMBER},
	{"TOP 1 2 3", 0, 0, POP3_CMD_TOP, POP3_CMD_ERR_EXTRA},
};

/* test_verdicts - every line of the table */
static void test_verdicts(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(verdicts); i++) {
		const struct verdict *v = &verdicts[i];
		size_t len = v->len ? v->len : strlen(v->in);
		struct pop3_cmd cmd;
		int rc = pop3_cmd_parse(v->in, len, v->flags, &cmd);

		if (cmd.verb != v->verb || cmd.error != v->err ||
		    rc != (v->err == OK ? 0 : -1))
			fail_msg("case %zu \"%s\": verb %s error %d rc %d", i,
				 v->in, pop3_cmd_verb_name(cmd.verb),
				 (int)cmd.error, rc);
	}
}

/* test_values - what the parser hands back */
static void test_values(void **state)
{
	struct pop3_cmd cmd;
	const char *l;

	(void)state;
	l = "USER  bob@example.com ";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_int_equal(cmd.arg_len, 15);
	assert_memory_equal(cmd.arg, "bob@example.com", 15);
	assert_ptr_equal(cmd.verb_text, l);
	assert_int_equal(cmd.verb_len, 4);

	l = "PASS  two words ";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_int_equal(cmd.arg_len, 11);
	assert_memory_equal(cmd.arg, " two words ", 11);

	l = "AUTH PLAIN AGJvYgBzZWNyZXQ=";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_int_equal(cmd.arg_len, 5);
	assert_memory_equal(cmd.arg, "PLAIN", 5);
	assert_int_equal(cmd.initial_len, 16);
	assert_ptr_equal(cmd.initial, l + 11);

	l = "AUTH PLAIN";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_null(cmd.initial);
	l = "AUTH";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_null(cmd.arg);

	l = "LIST";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_false(cmd.has_msg);
	l = "list 0042";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 42);

	l = "TOP 3 25";
	assert_int_equal(pop3_cmd_parse(l, strlen(l), 0, &cmd), 0);
	assert_int_equal(cmd.msg, 3);
	assert_int_equal(cmd.lines, 25);
}

/* test_length - RFC 2449 §4: 255 octets with CRLF */
static void test_length(void **state)
{
	char line[POP3_CMD_LINE_MAX + 2];
	struct pop3_cmd cmd;

	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line, "USER ", 5);
	assert_int_equal(pop3_cmd_parse(line, POP3_CMD_LINE_MAX, 0, &cmd), 0);
	assert_int_equal(cmd.arg_len, POP3_CMD_LINE_MAX - 5);
	assert_int_equal(pop3_cmd_parse(line, POP3_CMD_LINE_MAX + 1, 0, &cmd),
			 -1);
	assert_int_equal(cmd.error, POP3_CMD_ERR_TOO_LONG);
	assert_int_equal(cmd.verb, POP3_CMD_UNKNOWN);
}

/* test_texts - every error has a text; names round-trip */
static void test_texts(void **state)
{
	(void)state;
	for (int e = POP3_CMD_OK; e <= POP3_CMD_ERR_BASE64; e++)
		assert_non_null(pop3_cmd_error_text((enum pop3_cmd_error)e));
	assert_string_equal(pop3_cmd_error_text(POP3_CMD_ERR_UNKNOWN),
			    "Unknown command");
	assert_string_equal(pop3_cmd_error_text((enum pop3_cmd_error)999),
			    "Syntax error");
	for (int v = POP3_CMD_USER; v < POP3_CMD_UNKNOWN; v++) {
		const char *name = pop3_cmd_verb_name((enum pop3_cmd_verb)v);
		struct pop3_cmd cmd;

		pop3_cmd_parse(name, strlen(name), 0, &cmd);
		assert_int_equal(cmd.verb, v);
	}
	assert_string_equal(pop3_cmd_verb_name(POP3_CMD_UNKNOWN), "UNKNOWN");
}

/* test_all_bytes - every single byte after a keyword: never a crash,
 * controls always refused */
static void test_all_bytes(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char line[8] = "NOOP  ";
		struct pop3_cmd cmd;
		int rc;

		line[5] = (char)c;
		rc = pop3_cmd_parse(line, 6, 0, &cmd);
		if (c < 0x20 || c == 0x7f)
			assert_int_equal(cmd.error, POP3_CMD_ERR_BAD_CHAR);
		else if (c >= 0x80)
			assert_int_equal(cmd.error, POP3_CMD_ERR_8BIT);
		else if (c == ' ')
			assert_int_equal(rc, 0);
		else
			assert_int_equal(cmd.error, POP3_CMD_ERR_NO_ARGS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),  cmocka_unit_test(test_values),
		cmocka_unit_test(test_length),	  cmocka_unit_test(test_texts),
		cmocka_unit_test(test_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
