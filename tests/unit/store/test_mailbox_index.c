/*
 * test_mailbox_index - the folder index and dovecot-uidlist parsers
 *
 * Good files give the expected state; every kind of damage (bad
 * numbers, overflow, UIDs out of order, NUL bytes, bad names, unknown
 * versions) is an error and never a crash; a torn last line is left for
 * later instead.
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

#include "mailbox.h"
#include "mailbox_index.h"
#include "mailbox_private.h"
#include "strbuf.h"

static int parse(const char *text, struct mbx_index *ix, size_t *used_r)
{
	const char *error = NULL;
	size_t used;
	int r;

	mbx_index_init(ix);
	r = mbx_index_parse(ix, text, strlen(text), true, &used, &error);
	if (r < 0)
		assert_non_null(error);
	if (used_r != NULL)
		*used_r = used;
	return r;
}

static void test_index_good(void **state)
{
	static const char text[] =
		"FACTEUR-INDEX 1 V1700000000 N5 M7 R3\n"
		"+1 1 0 0 12 1700000000 1700000000.M1P1.h,S=12\n"
		"+2 2 1 0 13 1700000001 1700000001.M2P1.h,S=13\n"
		"+3 3 0 0 14 1700000002 c\n"
		"-2 4\n"
		"+1 6 9 3 12 1700000000 1700000000.M1P1.h,S=12\n"
		"-2 5\n"
		"+2 7 0 0 13 1700000001 1700000001.M2P1.h,S=13\n"
		"R4\n"
		"+4 8 0 0 1 1 d\n"
		"+5 9 0 0 1 1 torn";
	struct mbx_index ix;
	struct strbuf out;
	size_t used;

	(void)state;
	assert_int_equal(parse(text, &ix, &used), 0);
	assert_int_equal(used, strlen(text) - strlen("+5 9 0 0 1 1 torn"));
	assert_int_equal(ix.uidvalidity, 1700000000);
	assert_int_equal(ix.uidnext, 5);
	assert_int_equal(ix.highestmodseq, 8);
	assert_int_equal(ix.first_recent, 4);
	assert_int_equal(ix.count, 3);
	assert_int_equal(ix.recs[0].uid, 1);
	assert_int_equal(ix.recs[0].flags, MAIL_SEEN | MAIL_DELETED);
	assert_int_equal(ix.recs[0].keywords, 3);
	assert_int_equal(ix.recs[0].modseq, 6);
	assert_int_equal(ix.recs[1].uid, 3);
	assert_string_equal(ix.recs[1].base, "c");
	assert_int_equal(ix.recs[2].uid, 4);
	assert_null(mbx_index_find(&ix, 2));
	/* Written out and read back: the same. */
	strbuf_init(&out, STRBUF_NO_LIMIT);
	mbx_index_format_header(&ix, &out);
	for (size_t i = 0; i < ix.count; i++)
		mbx_index_format_rec(&ix.recs[i], &out);
	assert_string_equal(out.data,
			    "FACTEUR-INDEX 1 V1700000000 N5 M8 R4\n"
			    "+1 6 9 3 12 1700000000 1700000000.M1P1.h,S=12\n"
			    "+3 3 0 0 14 1700000002 c\n"
			    "+4 8 0 0 1 1 d\n");
	strbuf_release(&out);
	mbx_index_clear(&ix);
}

static void test_index_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"FACTEUR-INDEX 2 V1 N1 M0 R1\n",
		"FACTEUR-INDEX 1 V0 N1 M0 R1\n",
		"FACTEUR-INDEX 1 V1 N0 M0 R0\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R2\n",
		"FACTEUR-INDEX 1 V4294967296 N1 M0 R1\n",
		"FACTEUR-INDEX 1 V1 N1 M18446744073709551616 R1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1 extra\n",
		"FACTEUR-INDEX 1 V-1 N1 M0 R1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+0 1 0 0 1 1 a\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 \n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 64 0 1 1 a\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 67108864 1 1 a\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 a/b\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 a:2,S\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 .hidden\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1  1 0 0 1 1 a\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 a\tb\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+4294967295 1 0 0 1 1 a\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n-0 1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n-1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\nR9\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\nX1\n",
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n\n",
		/* A UID never changes its file. */
		"FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 0 1 1 a\n+1 2 0 0 1 1 b\n",
	};
	struct mbx_index ix;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse(bad[i], &ix, NULL) != -1)
			fail_msg("accepted: %s", bad[i]);
		mbx_index_clear(&ix);
	}
	/* NUL inside a line. */
	{
		static const char nul[] = "FACTEUR-INDEX 1 V1 N1 M0 R1\n+1 1 0 "
					  "0 1 1 a\0b\n";
		const char *error;
		size_t used;

		mbx_index_init(&ix);
		assert_int_equal(mbx_index_parse(&ix, nul, sizeof(nul) - 1,
						 true, &used, &error),
				 -1);
		mbx_index_clear(&ix);
	}
	/* Only a torn header: no error, nothing taken (the caller sees an
	 * index without a header, which it treats as damaged). */
	assert_int_equal(parse("FACTEUR-INDEX 1 V1", &ix, NULL), -1);
	mbx_index_clear(&ix);
}

static int uidlist(const char *text, struct mbx_index *ix)
{
	const char *error = NULL;
	int r;

	mbx_index_init(ix);
	r = mbx_uidlist_parse(ix, text, strlen(text), &error);
	if (r < 0)
		assert_non_null(error);
	return r;
}

static void test_uidlist_good(void **state)
{
	struct mbx_index ix;

	(void)state;
	assert_int_equal(
		uidlist("3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
			"25017 :1275660208.M1P2.host,S=100,W=102\n"
			"25018 W102 S100 :1275660209.M2P2.host\n"
			"25020 G00ff :1275660210.M3P2.host\n",
			&ix),
		0);
	assert_int_equal(ix.uidvalidity, 1275660208);
	assert_int_equal(ix.uidnext, 25022);
	assert_int_equal(ix.count, 3);
	assert_string_equal(ix.recs[0].base,
			    "1275660208.M1P2.host,S=100,W=102");
	assert_int_equal(ix.recs[0].size, UINT64_MAX);
	assert_int_equal(ix.recs[1].uid, 25018);
	assert_int_equal(ix.recs[1].size, 100);
	assert_string_equal(ix.recs[2].base, "1275660210.M3P2.host");
	mbx_index_clear(&ix);
	/* Version 1 (Courier's), and a next UID lower than the last. */
	assert_int_equal(uidlist("1 1000 2\n1 a.b\n4 c.d\n", &ix), 0);
	assert_int_equal(ix.uidvalidity, 1000);
	assert_int_equal(ix.uidnext, 5);
	assert_int_equal(ix.count, 2);
	assert_string_equal(ix.recs[1].base, "c.d");
	mbx_index_clear(&ix);
	/* No final newline, header only. */
	assert_int_equal(uidlist("3 V7 N1", &ix), 0);
	assert_int_equal(ix.count, 0);
	mbx_index_clear(&ix);
}

static void test_uidlist_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"2 V1 N1\n",
		"3 V0 N1\n",
		"3 V1\n",
		"3 N5\n",
		"3 V1 N1 \n",
		"3  V1 N1\n",
		"3 V99999999999 N1\n",
		"3 Vx N1\n",
		"x\n",
		"3 V1 N5\n2 :a\n1 :b\n",
		"3 V1 N5\n2 :a\n2 :b\n",
		"3 V1 N5\n0 :a\n",
		"3 V1 N5\n4294967295 :a\n",
		"3 V1 N5\n1\n",
		"3 V1 N5\n1 \n",
		"3 V1 N5\n1 :\n",
		"3 V1 N5\n1 :a/b\n",
		"3 V1 N5\n1 :../x\n",
		"3 V1 N5\n1 :a\tb\n",
		"3 V1 N5\n1 W5 S5\n",
		"3 V1 N5\n1x :a\n",
		"1 5\n",
	};
	struct mbx_index ix;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (uidlist(bad[i], &ix) != -1)
			fail_msg("accepted: %s", bad[i]);
		mbx_index_clear(&ix);
	}
	{
		static const char nul[] = "3 V1 N5\n1 :a\0b\n";
		const char *error;

		mbx_index_init(&ix);
		assert_int_equal(
			mbx_uidlist_parse(&ix, nul, sizeof(nul) - 1, &error),
			-1);
		mbx_index_clear(&ix);
	}
}

static void test_flag_letters(void **state)
{
	struct strbuf sb;
	unsigned flags;
	uint32_t kw;

	(void)state;
	mbx_flags_parse("DFPRSTaz", &flags, &kw);
	assert_int_equal(flags, MAIL_DRAFT | MAIL_FLAGGED | MAIL_PASSED |
					MAIL_ANSWERED | MAIL_SEEN |
					MAIL_DELETED);
	assert_int_equal(kw, 1u | (1u << 25));
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	mbx_flags_format(flags, kw, &sb);
	assert_string_equal(sb.data, "DFPRSTaz");
	strbuf_release(&sb);
	/* Unknown letters are ignored; ',' ends the flags. */
	mbx_flags_parse("XS,T", &flags, &kw);
	assert_int_equal(flags, MAIL_SEEN);
	assert_int_equal(kw, 0);
}

static void test_keywords_file(void **state)
{
	static const char text[] = "3 gap\n"
				   "0 first\n"
				   "0 again\n"
				   "26 toohigh\n"
				   "99999999999999999999 huge\n"
				   "1 bad name\n"
				   "2 \\Seen\n"
				   "x y\n"
				   " 4 lead\n"
				   "5 \n"
				   "1 Work";
	struct mbx_keywords kw;

	(void)state;
	memset(&kw, 0, sizeof(kw));
	mbx_keywords_parse(&kw, text, sizeof(text) - 1);
	/* The first of two lines for a letter wins; bad lines are skipped;
	 * the names usable are those up to the first gap. */
	assert_string_equal(kw.names[0], "first");
	assert_string_equal(kw.names[1], "Work");
	assert_null(kw.names[2]);
	assert_string_equal(kw.names[3], "gap");
	assert_null(kw.names[4]);
	assert_null(kw.names[5]);
	assert_int_equal(kw.count, 2);
	mbx_keywords_parse(&kw, "\0\0\n\xff", 4);
	assert_int_equal(kw.count, 0);
	mbx_keywords_clear(&kw);
}

static void test_subscriptions_file(void **state)
{
	static const char v2[] = "V\t2\n\ninbox\nSent\nEntw\xc3\xbcrfe\n"
				 "a\tb\tc\nSent\n..\n\tx\n";
	static const char v1[] = "INBOX\nEntw&APw-rfe\nbad..name\n.x\nx/y\n"
				 "Sent\n&Jjo-\n&-\n";
	size_t count;
	char **names;

	(void)state;
	/* Sorted, without duplicates. */
	names = mbx_subscriptions_parse(v2, sizeof(v2) - 1, &count);
	assert_int_equal(count, 4);
	assert_string_equal(names[0], "Entwürfe");
	assert_string_equal(names[1], "INBOX");
	assert_string_equal(names[2], "Sent");
	assert_string_equal(names[3], "a.b.c");
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	names = mbx_subscriptions_parse(v1, sizeof(v1) - 1, &count);
	assert_int_equal(count, 5);
	assert_string_equal(names[0], "&");
	assert_string_equal(names[1], "Entwürfe");
	assert_string_equal(names[2], "INBOX");
	assert_string_equal(names[3], "Sent");
	assert_string_equal(names[4], "\xe2\x98\xba");
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	names = mbx_subscriptions_parse("", 0, &count);
	assert_int_equal(count, 0);
	free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_good),
		cmocka_unit_test(test_index_bad),
		cmocka_unit_test(test_uidlist_good),
		cmocka_unit_test(test_uidlist_bad),
		cmocka_unit_test(test_flag_letters),
		cmocka_unit_test(test_keywords_file),
		cmocka_unit_test(test_subscriptions_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
