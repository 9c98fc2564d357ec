/*
 * test_smtp_cmd - unit tests for lib/proto/smtp_cmd.c
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
#include "smtp_cmd.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define F_U8   SMTP_CMD_FLAG_SMTPUTF8
#define F_TXN  SMTP_CMD_FLAG_UTF8_TXN
#define F_STR  SMTP_CMD_FLAG_STRICT
#define UNKN   SMTP_CMD_UNKNOWN
#define OK     SMTP_CMD_OK
#define E_SYN  SMTP_CMD_ERR_SYNTAX
#define E_PSYN SMTP_CMD_ERR_PARAM_SYNTAX
#define E_PVAL SMTP_CMD_ERR_PARAM_VALUE
#define E_PDUP SMTP_CMD_ERR_PARAM_DUP
#define E_PUNK SMTP_CMD_ERR_PARAM_UNKNOWN

/* One line, the verb it should be seen as, and the outcome. */
struct verdict {
	const char *in;
	size_t len; /* 0: strlen(in) */
	unsigned flags;
	enum smtp_cmd_verb verb;
	enum smtp_cmd_error err;
};

static const struct verdict verdicts[] = {
	/* Verbs, any case, blanks around them tolerated. */
	{"QUIT", 0, 0, SMTP_CMD_QUIT, OK},
	{"quit", 0, 0, SMTP_CMD_QUIT, OK},
	{"QuIt  ", 0, 0, SMTP_CMD_QUIT, OK},
	{" \tQUIT", 0, 0, SMTP_CMD_QUIT, OK},
	{"DATA", 0, 0, SMTP_CMD_DATA, OK},
	{"RSET", 0, 0, SMTP_CMD_RSET, OK},
	{"StartTLS", 0, 0, SMTP_CMD_STARTTLS, OK},
	{"NOOP", 0, 0, SMTP_CMD_NOOP, OK},
	{"NOOP hello there", 0, 0, SMTP_CMD_NOOP, OK},
	{"HELP", 0, 0, SMTP_CMD_HELP, OK},
	{"help mail", 0, 0, SMTP_CMD_HELP, OK},
	{"", 0, 0, UNKN, SMTP_CMD_ERR_EMPTY},
	{"   ", 0, 0, UNKN, SMTP_CMD_ERR_EMPTY},
	{"XYZZY", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	{"QUITX", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	{"QUI", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	{"MAILFROM:<a@b>", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	{"STARTTLSX", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	{"Q\xd5IT", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	/* No arguments allowed. */
	{"DATA x", 0, 0, SMTP_CMD_DATA, SMTP_CMD_ERR_NO_ARGS},
	{"RSET now", 0, 0, SMTP_CMD_RSET, SMTP_CMD_ERR_NO_ARGS},
	{"QUIT bye", 0, 0, SMTP_CMD_QUIT, SMTP_CMD_ERR_NO_ARGS},
	{"STARTTLS x", 0, 0, SMTP_CMD_STARTTLS, SMTP_CMD_ERR_NO_ARGS},
	/* NUL, controls, 8-bit. */
	{"QUIT\0", 5, 0, UNKN, SMTP_CMD_ERR_BAD_CHAR},
	{"QUIT \0", 6, 0, SMTP_CMD_QUIT, SMTP_CMD_ERR_BAD_CHAR},
	{"\0QUIT", 5, 0, UNKN, SMTP_CMD_ERR_BAD_CHAR},
	{"QU\0IT", 5, 0, UNKN, SMTP_CMD_ERR_BAD_CHAR},
	{"MAIL FROM:<a\0@b>", 16, 0, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_CHAR},
	{"NOOP \r", 0, 0, SMTP_CMD_NOOP, SMTP_CMD_ERR_BAD_CHAR},
	{"NOOP a\nb", 0, 0, SMTP_CMD_NOOP, SMTP_CMD_ERR_BAD_CHAR},
	{"NOOP \x7f", 0, 0, SMTP_CMD_NOOP, SMTP_CMD_ERR_BAD_CHAR},
	{"\x1b[0m", 0, 0, UNKN, SMTP_CMD_ERR_BAD_CHAR},
	{"NOOP \xff\xfe", 0, F_U8 | F_TXN, SMTP_CMD_NOOP, SMTP_CMD_ERR_8BIT},
	{"HELP \xc3\xa9", 0, F_U8 | F_TXN, SMTP_CMD_HELP, SMTP_CMD_ERR_8BIT},
	{"\x80\x81\x82", 0, 0, UNKN, SMTP_CMD_ERR_UNKNOWN_VERB},
	/* HELO/EHLO. */
	{"HELO mail.example.com", 0, 0, SMTP_CMD_HELO, OK},
	{"EHLO [192.0.2.1]", 0, 0, SMTP_CMD_EHLO, OK},
	{"EHLO not_a_domain!", 0, 0, SMTP_CMD_EHLO, OK},
	{"HELO", 0, 0, SMTP_CMD_HELO, E_SYN},
	{"EHLO   ", 0, 0, SMTP_CMD_EHLO, E_SYN},
	{"EHLO b\xc3\xbc.de", 0, F_U8 | F_TXN, SMTP_CMD_EHLO,
	 SMTP_CMD_ERR_8BIT},
	/* MAIL. */
	{"MAIL FROM:<a@b>", 0, 0, SMTP_CMD_MAIL, OK},
	{"mail from:<a@b>", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<>", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM: <a@b>", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:a@b", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM: <a@b>", 0, F_STR, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM:a@b", 0, F_STR, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM:", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM:   ", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL TO:<a@b>", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM :<a@b>", 0, 0, SMTP_CMD_MAIL, E_SYN},
	{"MAIL FROM:<a@b", 0, 0, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<a@b>x", 0, 0, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<a@b>SIZE=1", 0, 0, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<a..b@c>", 0, 0, SMTP_CMD_MAIL, SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<postmaster>", 0, 0, SMTP_CMD_MAIL,
	 SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<j\xc3\xb6rg@x>", 0, 0, SMTP_CMD_MAIL,
	 SMTP_CMD_ERR_UTF8_ADDR},
	{"MAIL FROM:<j\xc3\xb6rg@x>", 0, F_U8, SMTP_CMD_MAIL,
	 SMTP_CMD_ERR_UTF8_ADDR},
	{"MAIL FROM:<j\xc3\xb6rg@x> SMTPUTF8", 0, F_U8, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<j\xc3\xb6rg@x> SMTPUTF8", 0, 0, SMTP_CMD_MAIL,
	 SMTP_CMD_ERR_UTF8_ADDR},
	{"MAIL FROM:<a@b> SMTPUTF8", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	{"MAIL FROM:<a@b> SMTPUTF8", 0, F_U8, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<j\xc3@x> SMTPUTF8", 0, F_U8, SMTP_CMD_MAIL,
	 SMTP_CMD_ERR_BAD_SENDER},
	{"MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b>   SIZE=100   BODY=8BITMIME", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> SIZE", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> SIZE=", 0, 0, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> SIZE=-1", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> SIZE=+1", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> SIZE=1k", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> SIZE=18446744073709551615", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> SIZE=18446744073709551616", 0, 0, SMTP_CMD_MAIL,
	 E_PVAL},
	{"MAIL FROM:<a@b> SIZE=000000000000000000001", 0, 0, SMTP_CMD_MAIL,
	 E_PVAL},
	{"MAIL FROM:<a@b> SIZE=1 SIZE=2", 0, 0, SMTP_CMD_MAIL, E_PDUP},
	{"MAIL FROM:<a@b> size=1 Size=2", 0, 0, SMTP_CMD_MAIL, E_PDUP},
	{"MAIL FROM:<a@b> BODY=7bit", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> BODY=BINARYMIME", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> BODY=9BIT", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> BODY", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> SMTPUTF8=yes", 0, F_U8, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> RET=FULL", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> RET=hdrs", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> RET=ALL", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> ENVID=QQ314159", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> ENVID=a+2", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> ENVID=a+GG", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> ENVID=a+00", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> ENVID=a+0A", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> AUTH=<>", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> AUTH=e+3Dmc2@example.com", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> AUTH=e+3", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> AUTH", 0, 0, SMTP_CMD_MAIL, E_PVAL},
	{"MAIL FROM:<a@b> NOTIFY=NEVER", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	{"MAIL FROM:<a@b> ORCPT=rfc822;a@b", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	{"MAIL FROM:<a@b> X-FOO", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	{"MAIL FROM:<a@b> X-FOO=bar", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	{"MAIL FROM:<a@b> -X=1", 0, 0, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> X_Y=1", 0, 0, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> =1", 0, 0, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> SIZE=1=2", 0, 0, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> SIZE=\xc3\xa9", 0, F_U8, SMTP_CMD_MAIL, E_PSYN},
	{"MAIL FROM:<a@b> SIZE=1\t BODY=7BIT", 0, 0, SMTP_CMD_MAIL, OK},
	{"MAIL FROM:<a@b> X-A X-B X-C", 0, 0, SMTP_CMD_MAIL, E_PUNK},
	/* RCPT. */
	{"RCPT TO:<a@b>", 0, 0, SMTP_CMD_RCPT, OK},
	{"rcpt to: <a@b>", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:a@b", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<postmaster>", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<Postmaster>", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<>", 0, 0, SMTP_CMD_RCPT, SMTP_CMD_ERR_BAD_RECIPIENT},
	{"RCPT TO:<user>", 0, 0, SMTP_CMD_RCPT, SMTP_CMD_ERR_BAD_RECIPIENT},
	{"RCPT FROM:<a@b>", 0, 0, SMTP_CMD_RCPT, E_SYN},
	{"RCPT TO:", 0, 0, SMTP_CMD_RCPT, E_SYN},
	{"RCPT TO:<@x,@y:a@b>", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@[IPv6:::1]>", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@[IPv6:::g]>", 0, 0, SMTP_CMD_RCPT,
	 SMTP_CMD_ERR_BAD_RECIPIENT},
	{"RCPT TO:<j\xc3\xb6rg@x>", 0, F_U8, SMTP_CMD_RCPT,
	 SMTP_CMD_ERR_UTF8_ADDR},
	{"RCPT TO:<j\xc3\xb6rg@x>", 0, F_U8 | F_TXN, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<j\xb6rg@x>", 0, F_U8 | F_TXN, SMTP_CMD_RCPT,
	 SMTP_CMD_ERR_BAD_RECIPIENT},
	{"RCPT TO:<a@b> SMTPUTF8", 0, F_U8 | F_TXN, SMTP_CMD_RCPT, E_PUNK},
	{"RCPT TO:<a@b> NOTIFY=NEVER", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@b> NOTIFY=failure", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@b> NOTIFY=NEVER,DELAY", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY=SUCCESS,", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY=,SUCCESS", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY=ALWAYS", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", 0, 0, SMTP_CMD_RCPT,
	 E_PDUP},
	{"RCPT TO:<a@b> ORCPT=rfc822;a@b", 0, 0, SMTP_CMD_RCPT, OK},
	{"RCPT TO:<a@b> ORCPT=rfc822;", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> ORCPT=;a@b", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> ORCPT=a@b", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> ORCPT=rf(c;a@b", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> ORCPT=rfc822;a+4", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> ORCPT=rfc822;a+0D+0A", 0, 0, SMTP_CMD_RCPT, E_PVAL},
	{"RCPT TO:<a@b> SIZE=10", 0, 0, SMTP_CMD_RCPT, E_PUNK},
	/* BDAT (RFC 3030). */
	{"BDAT 0", 0, 0, SMTP_CMD_BDAT, OK},
	{"BDAT 1000 LAST", 0, 0, SMTP_CMD_BDAT, OK},
	{"bdat 0 last", 0, 0, SMTP_CMD_BDAT, OK},
	{"BDAT  12   LAST  ", 0, 0, SMTP_CMD_BDAT, OK},
	{"BDAT", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT LAST", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT -1", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT +1", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT 0x10", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT 10 FIRST", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT 10 LAST x", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT 10 LASTX", 0, 0, SMTP_CMD_BDAT, E_SYN},
	{"BDAT 18446744073709551616", 0, 0, SMTP_CMD_BDAT, E_SYN},
	/* AUTH (RFC 4954). */
	{"AUTH PLAIN", 0, 0, SMTP_CMD_AUTH, OK},
	{"AUTH plain AGFsaWNlAHNlY3JldA==", 0, 0, SMTP_CMD_AUTH, OK},
	{"AUTH PLAIN =", 0, 0, SMTP_CMD_AUTH, OK},
	{"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM",
	 0, 0, SMTP_CMD_AUTH, OK},
	{"AUTH X_OAUTH2-12345678901", 0, 0, SMTP_CMD_AUTH, OK},
	{"AUTH", 0, 0, SMTP_CMD_AUTH, E_SYN},
	{"AUTH ABCDEFGHIJKLMNOPQRSTU", 0, 0, SMTP_CMD_AUTH, E_SYN},
	{"AUTH PL@IN", 0, 0, SMTP_CMD_AUTH, E_SYN},
	{"AUTH PLAIN AGFs aWNl", 0, 0, SMTP_CMD_AUTH, E_SYN},
	{"AUTH PLAIN AGFsa", 0, 0, SMTP_CMD_AUTH, SMTP_CMD_ERR_BAD_BASE64},
	{"AUTH PLAIN AG=sa", 0, 0, SMTP_CMD_AUTH, SMTP_CMD_ERR_BAD_BASE64},
	{"AUTH PLAIN A===", 0, 0, SMTP_CMD_AUTH, SMTP_CMD_ERR_BAD_BASE64},
	{"AUTH PLAIN AGF*", 0, 0, SMTP_CMD_AUTH, SMTP_CMD_ERR_BAD_BASE64},
	{"AUTH PLAIN ==", 0, 0, SMTP_CMD_AUTH, SMTP_CMD_ERR_BAD_BASE64},
	/* VRFY/EXPN. */
	{"VRFY root", 0, 0, SMTP_CMD_VRFY, OK},
	{"EXPN staff list", 0, 0, SMTP_CMD_EXPN, OK},
	{"VRFY", 0, 0, SMTP_CMD_VRFY, E_SYN},
	{"EXPN ", 0, 0, SMTP_CMD_EXPN, E_SYN},
	{"VRFY j\xc3\xb6rg", 0, 0, SMTP_CMD_VRFY, SMTP_CMD_ERR_8BIT},
	{"VRFY j\xc3\xb6rg", 0, F_U8, SMTP_CMD_VRFY, SMTP_CMD_ERR_8BIT},
	{"VRFY j\xc3\xb6rg SMTPUTF8", 0, F_U8, SMTP_CMD_VRFY, OK},
	{"VRFY j\xc3\xb6rg SMTPUTF8", 0, 0, SMTP_CMD_VRFY, SMTP_CMD_ERR_8BIT},
	{"VRFY j\xc3\xb6rg", 0, F_TXN, SMTP_CMD_VRFY, OK},
	{"VRFY j\xc3rg SMTPUTF8", 0, F_U8, SMTP_CMD_VRFY,
	 SMTP_CMD_ERR_BAD_UTF8},
};

static void test_verdicts(void **state)
{
	struct smtp_cmd cmd;
	size_t i, len;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(verdicts); i++) {
		len = verdicts[i].len ? verdicts[i].len
				      : strlen(verdicts[i].in);
		rc = smtp_cmd_parse(verdicts[i].in, len, verdicts[i].flags,
				    &cmd);
		if (cmd.verb != verdicts[i].verb ||
		    cmd.error != verdicts[i].err ||
		    rc != (verdicts[i].err == OK ? 0 : -1))
			fail_msg("case %zu \"%s\": rc %d verb %s error %d (%s: "
				 "%s), want verb %s error %d",
				 i, verdicts[i].in, rc,
				 smtp_cmd_verb_name(cmd.verb), (int)cmd.error,
				 smtp_cmd_error_text(cmd.error),
				 cmd.detail ? cmd.detail : "-",
				 smtp_cmd_verb_name(verdicts[i].verb),
				 (int)verdicts[i].err);
	}
}

/* parse_ok - parse s (a C string), which must succeed */
static void parse_ok(const char *s, unsigned flags, struct smtp_cmd *cmd)
{
	if (smtp_cmd_parse(s, strlen(s), flags, cmd) != 0)
		fail_msg("\"%s\": %s (%s)", s, smtp_cmd_error_text(cmd->error),
			 cmd->detail ? cmd->detail : "-");
}

/* parse_err - parse s, which must fail with err */
static void parse_err(const char *s, unsigned flags, enum smtp_cmd_error err,
		      struct smtp_cmd *cmd)
{
	assert_int_equal(smtp_cmd_parse(s, strlen(s), flags, cmd), -1);
	assert_int_equal(cmd->error, err);
}

/* assert_mem - buf[0..len) equals the C string s */
static void assert_mem(const char *buf, size_t len, const char *s)
{
	assert_non_null(buf);
	assert_int_equal(len, strlen(s));
	assert_memory_equal(buf, s, len);
}

static void test_helo(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	parse_ok("EHLO mail.example.com", 0, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_EHLO);
	assert_mem(cmd.arg, cmd.arg_len, "mail.example.com");
	assert_true(cmd.helo_valid);
	parse_ok("helo   [IPv6:2001:db8::5]  ", 0, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_HELO);
	assert_mem(cmd.verb_text, cmd.verb_len, "helo");
	assert_mem(cmd.arg, cmd.arg_len, "[IPv6:2001:db8::5]");
	assert_true(cmd.helo_valid);
	parse_ok("EHLO my_pc", 0, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "my_pc");
	assert_false(cmd.helo_valid);
	/* Postfix keeps "HELO two words" whole; so do we, as invalid. */
	parse_ok("HELO two words", 0, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "two words");
	assert_false(cmd.helo_valid);
	parse_ok("EHLO [300.1.1.1]", 0, &cmd);
	assert_false(cmd.helo_valid);
	parse_err("EHLO", 0, SMTP_CMD_ERR_SYNTAX, &cmd);
	assert_string_equal(cmd.detail, "Syntax: EHLO hostname");
}

static void test_mail(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	parse_ok("MAIL FROM:<bob@example.org> SIZE=12345 BODY=8BITMIME "
		 "RET=HDRS ENVID=QQ+2B314159 AUTH=bob+2Bx@example.org",
		 0, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_MAIL);
	assert_string_equal(cmd.addr.addr, "bob@example.org");
	assert_false(cmd.path_lenient);
	assert_true(cmd.mail.has_size);
	assert_true(cmd.mail.size == 12345);
	assert_int_equal(cmd.mail.body, SMTP_CMD_BODY_8BITMIME);
	assert_int_equal(cmd.mail.ret, SMTP_CMD_RET_HDRS);
	assert_true(cmd.mail.has_envid);
	assert_string_equal(cmd.mail.envid, "QQ+314159");
	assert_true(cmd.mail.has_auth);
	assert_false(cmd.mail.auth_null);
	assert_string_equal(cmd.mail.auth, "bob+x@example.org");
	assert_false(cmd.smtputf8);
	assert_int_equal(cmd.nparams, 5);
	assert_mem(cmd.params[0].keyword, cmd.params[0].keyword_len, "SIZE");
	assert_mem(cmd.params[0].value, cmd.params[0].value_len, "12345");
	assert_mem(cmd.params[3].value, cmd.params[3].value_len, "QQ+2B314159");
	assert_int_equal(cmd.error, SMTP_CMD_OK);
	assert_int_equal(cmd.error_param, -1);

	parse_ok("MAIL FROM:<>", 0, &cmd);
	assert_true(cmd.addr.null);
	assert_string_equal(cmd.addr.addr, "");
	assert_int_equal(cmd.nparams, 0);
	assert_false(cmd.mail.has_size);
	assert_int_equal(cmd.mail.body, SMTP_CMD_BODY_NONE);
	assert_int_equal(cmd.mail.ret, SMTP_CMD_RET_NONE);

	parse_ok("MAIL FROM: <a@b>", 0, &cmd);
	assert_true(cmd.path_lenient);
	assert_true(cmd.addr.bracketed);
	parse_ok("MAIL FROM:a@b SIZE=0", 0, &cmd);
	assert_true(cmd.path_lenient);
	assert_false(cmd.addr.bracketed);
	assert_string_equal(cmd.addr.addr, "a@b");
	assert_true(cmd.mail.has_size);
	assert_true(cmd.mail.size == 0);

	parse_ok("MAIL FROM:<a@b> SIZE=18446744073709551615", 0, &cmd);
	assert_true(cmd.mail.size == UINT64_MAX);
	parse_ok("MAIL FROM:<a@b> AUTH=<>", 0, &cmd);
	assert_true(cmd.mail.has_auth);
	assert_true(cmd.mail.auth_null);
	parse_ok("MAIL FROM:<a@b> body=binarymime", 0, &cmd);
	assert_int_equal(cmd.mail.body, SMTP_CMD_BODY_BINARYMIME);
	parse_ok("MAIL FROM:<a@b> BODY=7BIT ret=full", 0, &cmd);
	assert_int_equal(cmd.mail.body, SMTP_CMD_BODY_7BIT);
	assert_int_equal(cmd.mail.ret, SMTP_CMD_RET_FULL);

	parse_ok("MAIL FROM:<\xe7\x94\xa8@\xe4\xbe\x8b.cn> SMTPUTF8", F_U8,
		 &cmd);
	assert_true(cmd.smtputf8);
	assert_true(cmd.addr.utf8);
	assert_string_equal(cmd.addr.domain, "\xe4\xbe\x8b.cn");

	/* Errors carry the reply and point at the parameter. */
	parse_err("MAIL FROM:<a@b> BODY=8BITMIME SIZE=1x", 0,
		  SMTP_CMD_ERR_PARAM_VALUE, &cmd);
	assert_int_equal(cmd.error_param, 1);
	assert_string_equal(cmd.detail, "Bad message size syntax");
	parse_err("MAIL FROM:<a@b> SIZE=1 X-UNKNOWN=2", 0,
		  SMTP_CMD_ERR_PARAM_UNKNOWN, &cmd);
	assert_int_equal(cmd.error_param, 1);
	assert_mem(cmd.params[1].keyword, cmd.params[1].keyword_len,
		   "X-UNKNOWN");
	assert_int_equal(smtp_cmd_error_code(cmd.error), 555);
	assert_string_equal(smtp_cmd_error_dsn(cmd.error), "5.5.4");
	parse_err("MAIL FROM:<a@b> RET=FULL ret=HDRS", 0,
		  SMTP_CMD_ERR_PARAM_DUP, &cmd);
	assert_int_equal(cmd.error_param, 1);
	parse_err("MAIL FROM:<a..b@c>", 0, SMTP_CMD_ERR_BAD_SENDER, &cmd);
	assert_string_equal(cmd.detail, "bad local part syntax");
	assert_int_equal(smtp_cmd_error_code(cmd.error), 501);
	assert_string_equal(smtp_cmd_error_dsn(cmd.error), "5.1.7");
	parse_err("MAIL FROM:<\xc3\xa9@x>", 0, SMTP_CMD_ERR_UTF8_ADDR, &cmd);
	assert_int_equal(smtp_cmd_error_code(cmd.error), 553);
	assert_string_equal(smtp_cmd_error_dsn(cmd.error), "5.6.7");
	parse_err("MAIL FROM:", 0, SMTP_CMD_ERR_SYNTAX, &cmd);
	assert_string_equal(cmd.detail,
			    "Syntax: MAIL FROM:<address> [parameters]");
}

static void test_mail_limits(void **state)
{
	struct smtp_cmd cmd;
	char line[2048];
	size_t len, i;

	(void)state;
	/* SMTP_CMD_PARAMS_MAX parameters are read, one more is refused
	 * before anything is done with it. */
	len = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b>");
	for (i = 0; i < SMTP_CMD_PARAMS_MAX + 1; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					" X%zu=1", i);
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), -1);
	assert_int_equal(cmd.error, SMTP_CMD_ERR_PARAM_UNKNOWN);
	assert_int_equal(cmd.error_param, 0);
	len = (size_t)snprintf(line, sizeof(line),
			       "MAIL FROM:<a@b> SIZE=1 BODY=7BIT RET=FULL");
	for (i = 0; i < SMTP_CMD_PARAMS_MAX; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					" ENVID=%zu", i);
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), -1);
	assert_int_equal(cmd.error, SMTP_CMD_ERR_PARAM_DUP);
	assert_int_equal(cmd.error_param, 4);

	/* ENVID: 100 decoded characters, not 101. */
	len = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b> ENVID=");
	memset(line + len, 'e', 98);
	len += 98;
	memcpy(line + len, "+2B", 3); /* one more decoded character */
	len += 3;
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), 0);
	assert_int_equal(strlen(cmd.mail.envid), 99);
	line[len++] = 'x';
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), 0);
	assert_int_equal(strlen(cmd.mail.envid), 100);
	line[len++] = 'x';
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), -1);
	assert_int_equal(cmd.error, SMTP_CMD_ERR_PARAM_VALUE);

	/* AUTH=: up to SMTP_CMD_AUTH_PARAM_MAX decoded. */
	len = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b> AUTH=");
	memset(line + len, 'u', SMTP_CMD_AUTH_PARAM_MAX);
	len += SMTP_CMD_AUTH_PARAM_MAX;
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), 0);
	line[len++] = 'u';
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), -1);
	assert_int_equal(cmd.error, SMTP_CMD_ERR_PARAM_VALUE);

	/* An address over the limits is a bad sender. */
	len = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<");
	memset(line + len, 'l', 65);
	len += 65;
	len += (size_t)snprintf(line + len, sizeof(line) - len, "@b>");
	assert_int_equal(smtp_cmd_parse(line, len, 0, &cmd), -1);
	assert_int_equal(cmd.error, SMTP_CMD_ERR_BAD_SENDER);
	assert_string_equal(cmd.detail, "local part too long");
}

static void test_rcpt(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	parse_ok("RCPT TO:<alice@example.com> NOTIFY=SUCCESS,DELAY "
		 "ORCPT=rfc822;alice+2Bfoo@example.com",
		 0, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_RCPT);
	assert_string_equal(cmd.addr.addr, "alice@example.com");
	assert_int_equal(cmd.rcpt.notify,
			 SMTP_CMD_NOTIFY_SUCCESS | SMTP_CMD_NOTIFY_DELAY);
	assert_true(cmd.rcpt.has_orcpt);
	assert_string_equal(cmd.rcpt.orcpt_type, "rfc822");
	assert_string_equal(cmd.rcpt.orcpt, "alice+foo@example.com");

	parse_ok("RCPT TO:<a@b> NOTIFY=never", 0, &cmd);
	assert_int_equal(cmd.rcpt.notify, SMTP_CMD_NOTIFY_NEVER);
	parse_ok("RCPT TO:<a@b> NOTIFY=FAILURE,FAILURE", 0, &cmd);
	assert_int_equal(cmd.rcpt.notify, SMTP_CMD_NOTIFY_FAILURE);
	parse_ok("RCPT TO:<a@b>", 0, &cmd);
	assert_int_equal(cmd.rcpt.notify, 0);
	assert_false(cmd.rcpt.has_orcpt);

	parse_ok("RCPT TO:<POSTMASTER>", 0, &cmd);
	assert_true(cmd.addr.postmaster);
	assert_string_equal(cmd.addr.addr, "POSTMASTER");
	assert_string_equal(cmd.addr.domain, "");
	parse_ok("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>", 0, &cmd);
	assert_true(cmd.addr.routed);
	assert_string_equal(cmd.addr.addr, "userc@d.bar.org");
	parse_ok("RCPT TO:<\"john doe\"@example.com>", 0, &cmd);
	assert_string_equal(cmd.addr.addr, "\"john doe\"@example.com");
	assert_string_equal(cmd.addr.local_unquoted, "john doe");
	parse_ok("RCPT TO:<x@y> ORCPT=utf-8;\\x{E9}t\\x{E9}@y", 0, &cmd);
	assert_string_equal(cmd.rcpt.orcpt_type, "utf-8");
	assert_string_equal(cmd.rcpt.orcpt, "\\x{E9}t\\x{E9}@y");

	parse_err("RCPT TO:<>", 0, SMTP_CMD_ERR_BAD_RECIPIENT, &cmd);
	assert_int_equal(smtp_cmd_error_code(cmd.error), 501);
	assert_string_equal(smtp_cmd_error_dsn(cmd.error), "5.1.3");
	assert_string_equal(smtp_cmd_error_text(cmd.error),
			    "Bad recipient address syntax");
	assert_string_equal(cmd.detail, "null address not allowed here");
	parse_err("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS", 0,
		  SMTP_CMD_ERR_PARAM_VALUE, &cmd);
	assert_string_equal(cmd.detail, "Bad NOTIFY parameter value");
	assert_int_equal(cmd.error_param, 0);
}

static void test_bdat_auth(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	parse_ok("BDAT 86", 0, &cmd);
	assert_true(cmd.bdat.size == 86);
	assert_false(cmd.bdat.last);
	parse_ok("BDAT 0 LAST", 0, &cmd);
	assert_true(cmd.bdat.size == 0);
	assert_true(cmd.bdat.last);
	parse_ok("BDAT 18446744073709551615 last", 0, &cmd);
	assert_true(cmd.bdat.size == UINT64_MAX);
	assert_true(cmd.bdat.last);
	parse_err("BDAT 1.5", 0, SMTP_CMD_ERR_SYNTAX, &cmd);
	assert_string_equal(cmd.detail, "Syntax: BDAT chunk-size [LAST]");

	parse_ok("AUTH LOGIN", 0, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_AUTH);
	assert_mem(cmd.auth.mech, cmd.auth.mech_len, "LOGIN");
	assert_null(cmd.auth.initial);
	parse_ok("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", 0, &cmd);
	assert_mem(cmd.auth.mech, cmd.auth.mech_len, "PLAIN");
	assert_mem(cmd.auth.initial, cmd.auth.initial_len,
		   "dGVzdAB0ZXN0AHRlc3Q=");
	parse_ok("AUTH EXTERNAL =", 0, &cmd);
	assert_mem(cmd.auth.initial, cmd.auth.initial_len, "=");
	parse_err("AUTH PLAIN dGVzd", 0, SMTP_CMD_ERR_BAD_BASE64, &cmd);
	assert_int_equal(smtp_cmd_error_code(cmd.error), 501);
	assert_string_equal(smtp_cmd_error_dsn(cmd.error), "5.5.2");
}

static void test_strings(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	parse_ok("VRFY  Smith  ", 0, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "Smith");
	assert_false(cmd.smtputf8);
	parse_ok("VRFY J\xc3\xb6rg M\xc3\xbcller  smtputf8", F_U8, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "J\xc3\xb6rg M\xc3\xbcller");
	assert_true(cmd.smtputf8);
	/* Without the extension, "SMTPUTF8" is just part of the string. */
	parse_ok("EXPN list SMTPUTF8", 0, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "list SMTPUTF8");
	assert_false(cmd.smtputf8);
	parse_ok("NOOP", 0, &cmd);
	assert_null(cmd.arg);
	assert_int_equal(cmd.arg_len, 0);
	parse_ok("HELP DATA", 0, &cmd);
	assert_mem(cmd.arg, cmd.arg_len, "DATA");
}

static void test_errors(void **state)
{
	static const struct {
		enum smtp_cmd_error err;
		int code;
		const char *dsn;
	} table[] = {
		{SMTP_CMD_ERR_EMPTY, 500, "5.5.2"},
		{SMTP_CMD_ERR_UNKNOWN_VERB, 500, "5.5.2"},
		{SMTP_CMD_ERR_BAD_CHAR, 500, "5.5.2"},
		{SMTP_CMD_ERR_SYNTAX, 501, "5.5.4"},
		{SMTP_CMD_ERR_NO_ARGS, 501, "5.5.4"},
		{SMTP_CMD_ERR_8BIT, 501, "5.5.4"},
		{SMTP_CMD_ERR_BAD_UTF8, 500, "5.5.2"},
		{SMTP_CMD_ERR_BAD_SENDER, 501, "5.1.7"},
		{SMTP_CMD_ERR_BAD_RECIPIENT, 501, "5.1.3"},
		{SMTP_CMD_ERR_UTF8_ADDR, 553, "5.6.7"},
		{SMTP_CMD_ERR_PARAM_SYNTAX, 501, "5.5.4"},
		{SMTP_CMD_ERR_PARAM_VALUE, 501, "5.5.4"},
		{SMTP_CMD_ERR_PARAM_DUP, 501, "5.5.4"},
		{SMTP_CMD_ERR_PARAM_UNKNOWN, 555, "5.5.4"},
		{SMTP_CMD_ERR_PARAM_TOO_MANY, 501, "5.5.4"},
		{SMTP_CMD_ERR_BAD_BASE64, 501, "5.5.2"},
	};
	struct smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(table); i++) {
		assert_int_equal(smtp_cmd_error_code(table[i].err),
				 table[i].code);
		assert_string_equal(smtp_cmd_error_dsn(table[i].err),
				    table[i].dsn);
		assert_non_null(smtp_cmd_error_text(table[i].err));
	}
	assert_string_equal(smtp_cmd_error_text(SMTP_CMD_ERR_UNKNOWN_VERB),
			    "Error: command not recognized");
	assert_string_equal(smtp_cmd_error_text(SMTP_CMD_ERR_PARAM_UNKNOWN),
			    "Unsupported option");

	parse_err("FOO bar", 0, SMTP_CMD_ERR_UNKNOWN_VERB, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_mem(cmd.verb_text, cmd.verb_len, "FOO");
	assert_int_equal(cmd.error_param, -1);
	parse_err("DATA now", 0, SMTP_CMD_ERR_NO_ARGS, &cmd);
	assert_int_equal(cmd.verb, SMTP_CMD_DATA);
	assert_string_equal(cmd.detail, "Syntax: DATA");

	assert_string_equal(smtp_cmd_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_cmd_verb_name(SMTP_CMD_BDAT), "BDAT");
	assert_string_equal(smtp_cmd_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	for (i = SMTP_CMD_HELO; i < SMTP_CMD_UNKNOWN; i++) {
		const char *name = smtp_cmd_verb_name((enum smtp_cmd_verb)i);

		/* Every verb name parses back to its verb. */
		smtp_cmd_parse(name, strlen(name), 0, &cmd);
		assert_int_equal(cmd.verb, i);
	}
}

static void test_xtext(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} good[] = {
		{"", ""},	   {"abc", "abc"},  {"a+2Bb", "a+b"},
		{"a+3Db", "a=b"},  {"+20", " "},    {"+2b+2B", "++"},
		{"x+00y", "x\0y"}, {"+FF", "\xff"}, {"!~<>", "!~<>"},
	};
	static const char *const bad[] = {
		"+", "+2", "+2G", "+G2", "a=b", "a b", "a\tb", "\x80", "a+-1",
	};
	char out[32];
	size_t i, n;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		size_t want = strcmp(good[i].in, "x+00y") == 0
				      ? 3
				      : strlen(good[i].out);

		assert_int_equal(smtp_cmd_xtext_decode(good[i].in,
						       strlen(good[i].in), out,
						       sizeof(out), &n),
				 0);
		assert_int_equal(n, want);
		assert_memory_equal(out, good[i].out, n);
		assert_int_equal(out[n], 0);
	}
	for (i = 0; i < NELEM(bad); i++)
		assert_int_equal(smtp_cmd_xtext_decode(bad[i], strlen(bad[i]),
						       out, sizeof(out), &n),
				 -1);
	/* Room for the NUL is required. */
	assert_int_equal(smtp_cmd_xtext_decode("abc", 3, out, 4, &n), 0);
	assert_int_equal(smtp_cmd_xtext_decode("abc", 3, out, 3, &n), -1);
	assert_int_equal(smtp_cmd_xtext_decode("", 0, out, 0, &n), -1);
	/* len is respected: "+2B" cut to "+2" is a bad escape. */
	assert_int_equal(smtp_cmd_xtext_decode("+2B", 2, out, sizeof(out), &n),
			 -1);
}

static void test_xtext_encode(void **state)
{
	struct strbuf sb;
	char out[1024], all[256];
	size_t n, i;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(smtp_cmd_xtext_encode("a+b=c d\xff", 8, &sb), 0);
	assert_string_equal(strbuf_cstr(&sb), "a+2Bb+3Dc+20d+FF");
	strbuf_reset(&sb);
	assert_int_equal(smtp_cmd_xtext_encode("x\0y", 3, &sb), 0);
	assert_string_equal(strbuf_cstr(&sb), "x+00y");

	/* Round trip over every byte value. */
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	strbuf_reset(&sb);
	assert_int_equal(smtp_cmd_xtext_encode(all, sizeof(all), &sb), 0);
	assert_int_equal(
		smtp_cmd_xtext_decode(sb.data, sb.len, out, sizeof(out), &n),
		0);
	assert_int_equal(n, 256);
	assert_memory_equal(out, all, 256);
	strbuf_release(&sb);

	/* A full buffer leaves the output as it was. */
	strbuf_init(&sb, 6);
	assert_int_equal(strbuf_append_str(&sb, "ab"), 0);
	assert_int_equal(smtp_cmd_xtext_encode("c d", 3, &sb), -1);
	assert_string_equal(strbuf_cstr(&sb), "ab");
	assert_int_equal(smtp_cmd_xtext_encode("cde", 3, &sb), 0);
	assert_string_equal(strbuf_cstr(&sb), "abcde");
	strbuf_release(&sb);
}

static void test_junk(void **state)
{
	struct smtp_cmd cmd;
	unsigned char line[600];
	unsigned seed = 12345, flags;
	size_t i, j, len;

	(void)state;
	/* Random bytes after each verb: whatever the outcome, the parser
	 * returns and says OK only with no error, and never reports a
	 * pointer outside the line. */
	for (i = 0; i < 20000; i++) {
		const char *verb = smtp_cmd_verb_name(
			(enum smtp_cmd_verb)(i % (SMTP_CMD_UNKNOWN + 1)));
		size_t vl = strlen(verb);

		memcpy(line, verb, vl);
		line[vl] = ' ';
		len = vl + 1 + i % 80;
		for (j = vl + 1; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			line[j] = (unsigned char)(seed >> 16);
			if ((seed >> 8) % 4)
				line[j] = (unsigned char)(" <>@:=.a\"\\+,;["
							  "]F9"[(seed >> 3) %
								16]);
		}
		flags = (unsigned)i % 8;
		if (smtp_cmd_parse((const char *)line, len, flags, &cmd) == 0)
			assert_int_equal(cmd.error, SMTP_CMD_OK);
		else
			assert_int_not_equal(cmd.error, SMTP_CMD_OK);
		if (cmd.arg != NULL)
			assert_true((const unsigned char *)cmd.arg >= line &&
				    (const unsigned char *)cmd.arg +
						    cmd.arg_len <=
					    line + len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_mail_limits),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_bdat_auth),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_xtext_encode),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
