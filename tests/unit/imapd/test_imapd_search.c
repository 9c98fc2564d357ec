/*
 * test_imapd_search - unit tests for imapd/imapd_search.c: every key,
 * malformed programs, matching over messages held in memory
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap_parser.h"
#include "imapd.h"
#include "mailbox.h"

static struct imap_parser *parser;

/* args - the arguments of "A SEARCH text" as imap_parser gives them */
static const struct imap_arg *args(const char *text, size_t *n)
{
	struct imap_command cmd;
	char *line;
	size_t used;
	struct imap_parser_limits limits;

	imap_parser_free(&parser);
	imap_parser_limits_init(&limits, true);
	parser = imap_parser_create(&limits, IMAP_PARSER_FLAG_LITERAL_PLUS);
	if (asprintf(&line, "A SEARCH %s\r\n", text) < 0)
		abort();
	assert_int_equal(
		imap_parser_parse(parser, line, strlen(line), &used, &cmd), 1);
	free(line);
	*n = cmd.args_count;
	return cmd.args;
}

static const char msg1[] =
	"Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
	"From: Fred Foobar <foobar@Blurdybloop.example>\n"
	"Subject: =?ISO-8859-1?Q?Caf=E9?= afternoon meeting\n"
	"To: mooch@owatagu.siam.edu.example\n"
	"Cc: Team <team@example.org>\n"
	"Message-Id: <B27397-0100000@Blurdybloop.example>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Hello Joe, do you think we can meet at 3:30 tomorrow? Cr=E8me.\n";

static const char *load1(void *ctx, size_t *len_r)
{
	(void)ctx;
	*len_r = sizeof(msg1) - 1;
	return msg1;
}

static const char *load_fail(void *ctx, size_t *len_r)
{
	(void)ctx;
	*len_r = 0;
	return NULL;
}

static const char *const kwnames[] = {"$Junk", "Work"};

static void view(struct imapd_msgview *mv)
{
	memset(mv, 0, sizeof(*mv));
	mv->seq = 3;
	mv->uid = 42;
	mv->flags = MAIL_SEEN | MAIL_FLAGGED;
	mv->keywords = 0x2; /* Work */
	mv->keyword_names = kwnames;
	mv->keyword_count = 2;
	mv->modseq = 17;
	mv->size = 1000;
	mv->internal = 760600000; /* 1994-02-08 06:66 UTC */
	mv->load = load1;
}

static int match(const char *text)
{
	struct imapd_msgview mv;
	struct imapd_search *s;
	const struct imap_arg *a;
	const char *error = NULL;
	bool bad;
	size_t n;
	int ret;

	a = args(text, &n);
	s = imapd_search_parse(a, n, &error, &bad);
	if (s == NULL)
		return -1;
	view(&mv);
	ret = imapd_search_match(s, &mv, 10, 50) ? 1 : 0;
	imapd_search_free(&s);
	return ret;
}

static void test_flags(void **state)
{
	(void)state;
	assert_int_equal(match("ALL"), 1);
	assert_int_equal(match("SEEN"), 1);
	assert_int_equal(match("UNSEEN"), 0);
	assert_int_equal(match("FLAGGED"), 1);
	assert_int_equal(match("UNFLAGGED"), 0);
	assert_int_equal(match("ANSWERED"), 0);
	assert_int_equal(match("UNANSWERED"), 1);
	assert_int_equal(match("DELETED"), 0);
	assert_int_equal(match("UNDELETED"), 1);
	assert_int_equal(match("DRAFT"), 0);
	assert_int_equal(match("UNDRAFT"), 1);
	assert_int_equal(match("RECENT"), 0);
	assert_int_equal(match("UNRECENT"), 1);
	assert_int_equal(match("NEW"), 0);
	assert_int_equal(match("OLD"), 1);
	assert_int_equal(match("KEYWORD Work"), 1);
	assert_int_equal(match("KEYWORD work"), 1);
	assert_int_equal(match("KEYWORD $Junk"), 0);
	assert_int_equal(match("UNKEYWORD $Junk"), 1);
	assert_int_equal(match("UNKEYWORD Nothing"), 1);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(match("3"), 1);
	assert_int_equal(match("1:2,4:*"), 0);
	assert_int_equal(match("*"), 0);
	assert_int_equal(match("1:*"), 1);
	assert_int_equal(match("UID 42"), 1);
	assert_int_equal(match("UID 1:41,43:*"), 0);
	assert_int_equal(match("UID 50:*"), 0);
	assert_int_equal(match("LARGER 999"), 1);
	assert_int_equal(match("LARGER 1000"), 0);
	assert_int_equal(match("SMALLER 1001"), 1);
	assert_int_equal(match("SMALLER 1000"), 0);
	assert_int_equal(match("MODSEQ 17"), 1);
	assert_int_equal(match("MODSEQ 18"), 0);
	assert_int_equal(match("MODSEQ \"/flags/\\\\Seen\" all 5"), 1);
}

static void test_logic(void **state)
{
	(void)state;
	assert_int_equal(match("SEEN FLAGGED"), 1);
	assert_int_equal(match("SEEN DELETED"), 0);
	assert_int_equal(match("OR DELETED FLAGGED"), 1);
	assert_int_equal(match("OR DELETED DRAFT"), 0);
	assert_int_equal(match("NOT DELETED"), 1);
	assert_int_equal(match("NOT NOT DELETED"), 0);
	assert_int_equal(match("(SEEN (FLAGGED UID 42))"), 1);
	assert_int_equal(match("OR (DELETED SEEN) (NOT SEEN)"), 0);
	assert_int_equal(match("CHARSET UTF-8 SEEN"), 1);
	assert_int_equal(match("charset us-ascii seen"), 1);
}

static void test_dates(void **state)
{
	(void)state;
	/* Sent on 7-Feb-1994 in its own zone (-0800). */
	assert_int_equal(match("SENTON 7-Feb-1994"), 1);
	assert_int_equal(match("SENTON 07-Feb-1994"), 1);
	assert_int_equal(match("SENTBEFORE 8-Feb-1994"), 1);
	assert_int_equal(match("SENTBEFORE 7-Feb-1994"), 0);
	assert_int_equal(match("SENTSINCE 7-Feb-1994"), 1);
	assert_int_equal(match("SENTSINCE 8-Feb-1994"), 0);
	assert_int_equal(match("SINCE 1-Jan-1994"), 1);
	assert_int_equal(match("BEFORE 1-Jan-1994"), 0);
	assert_int_equal(match("BEFORE 1-Jan-2030"), 1);
	assert_int_equal(match("ON \"1-Jan-1994\""), 0);
}

static void test_strings(void **state)
{
	(void)state;
	assert_int_equal(match("FROM foobar"), 1);
	assert_int_equal(match("FROM FOOBAR"), 1);
	assert_int_equal(match("FROM nobody"), 0);
	assert_int_equal(match("TO mooch"), 1);
	assert_int_equal(match("CC team@example"), 1);
	assert_int_equal(match("BCC x"), 0);
	/* RFC 2047 decoded, case-insensitive. */
	assert_int_equal(match("SUBJECT \"caf\xc3\xa9 AFTERNOON\""), 1);
	assert_int_equal(match("SUBJECT evening"), 0);
	assert_int_equal(match("HEADER Message-ID B27397"), 1);
	assert_int_equal(match("HEADER X-Missing \"\""), 0);
	assert_int_equal(match("HEADER MIME-Version \"\""), 1);
	/* Quoted-printable and ISO-8859-1 undone in the body. */
	assert_int_equal(match("BODY \"cr\xc3\xa8me\""), 1);
	assert_int_equal(match("BODY \"3:30 TOMORROW\""), 1);
	assert_int_equal(match("BODY foobar"), 0);
	assert_int_equal(match("TEXT foobar"), 1);
	assert_int_equal(match("TEXT tomorrow"), 1);
	assert_int_equal(match("TEXT {5+}\r\nnomat"), 0);
	assert_int_equal(match("BODY \"\""), 1);
}

static void test_unreadable(void **state)
{
	struct imapd_msgview mv;
	struct imapd_search *s;
	const struct imap_arg *a;
	const char *error;
	bool bad;
	size_t n;

	(void)state;
	a = args("OR BODY x SEEN", &n);
	s = imapd_search_parse(a, n, &error, &bad);
	assert_non_null(s);
	view(&mv);
	mv.load = load_fail;
	assert_true(imapd_search_match(s, &mv, 10, 50));
	imapd_search_free(&s);
	a = args("NOT SUBJECT x", &n);
	s = imapd_search_parse(a, n, &error, &bad);
	view(&mv);
	mv.load = load_fail;
	assert_true(imapd_search_match(s, &mv, 10, 50));
	imapd_search_free(&s);
}

static void test_return(void **state)
{
	struct imapd_search *s;
	const struct imap_arg *a;
	const char *error;
	bool bad;
	size_t n;

	(void)state;
	a = args("RETURN (MIN MAX COUNT) ALL", &n);
	s = imapd_search_parse(a, n, &error, &bad);
	assert_non_null(s);
	assert_true(imapd_search_has_return(s));
	assert_int_equal(imapd_search_return(s),
			 IMAPD_SEARCH_RETURN_MIN | IMAPD_SEARCH_RETURN_MAX |
				 IMAPD_SEARCH_RETURN_COUNT);
	imapd_search_free(&s);
	a = args("RETURN () SEEN", &n);
	s = imapd_search_parse(a, n, &error, &bad);
	assert_int_equal(imapd_search_return(s), IMAPD_SEARCH_RETURN_ALL);
	imapd_search_free(&s);
	a = args("SEEN", &n);
	s = imapd_search_parse(a, n, &error, &bad);
	assert_false(imapd_search_has_return(s));
	assert_false(imapd_search_uses_modseq(s));
	imapd_search_free(&s);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"FOO",
		"SINCE",
		"SINCE 1-Foo-2000",
		"SINCE 32-Jan-2000",
		"SINCE 1-Jan-20",
		"SINCE 2000-01-01",
		"LARGER",
		"LARGER x",
		"SMALLER -1",
		"OR SEEN",
		"OR",
		"NOT",
		"()",
		"(SEEN",
		"UID",
		"UID x",
		"UID 0",
		"1:0",
		"0",
		"FROM",
		"HEADER Subject",
		"HEADER \"\" x",
		"KEYWORD",
		"KEYWORD (a)",
		"MODSEQ",
		"MODSEQ \"/flags/x\" bogus 1",
		"MODSEQ \"/flags/x\" all",
		"RETURN",
		"RETURN (BOGUS) ALL",
		"RETURN (MIN)",
		"CHARSET",
		"CHARSET UTF-8",
		"\"SEEN\"",
		"SEEN )",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const struct imap_arg *a;
		const char *error = NULL;
		bool badcs;
		size_t n;

		if (strcmp(bad[i], "SEEN )") == 0 || bad[i][0] == '\0' ||
		    strcmp(bad[i], "(SEEN") == 0)
			continue; /* rejected by imap_parser already */
		a = args(bad[i], &n);
		assert_null(imapd_search_parse(a, n, &error, &badcs));
		assert_non_null(error);
		assert_false(badcs);
	}
}

static void test_badcharset(void **state)
{
	const struct imap_arg *a;
	const char *error;
	bool badcs;
	size_t n;

	(void)state;
	a = args("CHARSET KOI8-R SUBJECT x", &n);
	assert_null(imapd_search_parse(a, n, &error, &badcs));
	assert_true(badcs);
}

static void test_limits(void **state)
{
	char *text = malloc(20 * 2000 + 1);
	const struct imap_arg *a;
	const char *error;
	bool badcs;
	size_t n, len = 0;

	(void)state;
	/* Too many keys. */
	for (int i = 0; i < 2000; i++)
		len += (size_t)sprintf(text + len, "SEEN ");
	a = args(text, &n);
	assert_null(imapd_search_parse(a, n, &error, &badcs));
	/* Too deep: NOT NOT NOT ... */
	len = 0;
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, "NOT ");
	sprintf(text + len, "SEEN");
	a = args(text, &n);
	assert_null(imapd_search_parse(a, n, &error, &badcs));
	free(text);
}

static int teardown(void **state)
{
	(void)state;
	imap_parser_free(&parser);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_return),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_badcharset),
		cmocka_unit_test(test_limits),
	};
	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
