/*
 * test_imapd_fetch - unit tests for imapd/imapd_fetch.c (item parsing,
 * malformed items, rendering of a message held in memory) and
 * imapd/imapd_quote.c (names, dates)
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

static const struct imap_arg *args(const char *text, size_t *n)
{
	struct imap_command cmd;
	char *line;
	size_t used;
	struct imap_parser_limits limits;

	imap_parser_free(&parser);
	imap_parser_limits_init(&limits, true);
	parser = imap_parser_create(&limits, 0);
	if (asprintf(&line, "A FETCH %s\r\n", text) < 0)
		abort();
	if (imap_parser_parse(parser, line, strlen(line), &used, &cmd) != 1) {
		free(line);
		return NULL; /* imap_parser refused it already */
	}
	free(line);
	*n = cmd.args_count;
	return cmd.args;
}

static const char msg[] = "From: a@example.org\n"
			  "To: b@example.org\n"
			  "Subject: hi\n"
			  "MIME-Version: 1.0\n"
			  "Content-Type: multipart/mixed; boundary=XX\n"
			  "\n"
			  "--XX\n"
			  "Content-Type: text/plain\n"
			  "\n"
			  "hello\n"
			  "--XX\n"
			  "Content-Type: application/octet-stream\n"
			  "Content-Transfer-Encoding: base64\n"
			  "\n"
			  "AAECAw==\n"
			  "--XX--\n";

static const char *load(void *ctx, size_t *len_r)
{
	(void)ctx;
	*len_r = sizeof(msg) - 1;
	return msg;
}

/* render - the FETCH items for msg, as text */
static char *render(const char *items)
{
	struct imapd_fetch f;
	struct imapd_msgview mv;
	const struct imap_arg *a;
	const char *error;
	struct strbuf out;
	size_t n;

	a = args(items, &n);
	assert_int_equal(imapd_fetch_parse(a, n, &f, &error), 0);
	memset(&mv, 0, sizeof(mv));
	mv.seq = 1;
	mv.uid = 7;
	mv.flags = MAIL_SEEN | MAIL_DELETED;
	mv.size = imapd_fetch_crlf_size(msg, sizeof(msg) - 1);
	mv.modseq = 9;
	mv.load = load;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(imapd_fetch_render(&f, &mv, 0, &out, &error), 0);
	imapd_fetch_clear(&f);
	return strbuf_steal(&out);
}

static void test_parse(void **state)
{
	struct imapd_fetch f;
	const struct imap_arg *a;
	const char *error;
	size_t n;

	(void)state;
	a = args("FAST", &n);
	assert_int_equal(imapd_fetch_parse(a, n, &f, &error), 0);
	assert_int_equal(f.attrs, IMAPD_FETCH_FLAGS | IMAPD_FETCH_INTERNALDATE |
					  IMAPD_FETCH_RFC822_SIZE);
	assert_false(f.needs_content);
	imapd_fetch_clear(&f);

	a = args("(UID BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10> "
		 "BODY[1.MIME] binary.size[2]) (CHANGEDSINCE 5)",
		 &n);
	assert_int_equal(imapd_fetch_parse(a, n, &f, &error), 0);
	assert_int_equal(f.section_count, 3);
	assert_true(f.sections[0].peek);
	assert_int_equal(f.sections[0].kind, IMAPD_SECTION_HEADER_FIELDS);
	assert_int_equal(f.sections[0].field_count, 2);
	assert_string_equal(f.sections[0].fields[1], "To");
	assert_true(f.sections[0].partial);
	assert_int_equal(f.sections[0].length, 10);
	assert_string_equal(f.sections[1].part, "1");
	assert_int_equal(f.sections[1].kind, IMAPD_SECTION_MIME);
	assert_true(f.sections[2].binary_size);
	assert_true(f.sets_seen);
	assert_true(f.changedsince_given);
	assert_int_equal(f.changedsince, 5);
	imapd_fetch_clear(&f);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"BOGUS",
		"(FLAGS ALL)",
		"()",
		"BODY[",
		"BODY[0]",
		"BODY[1.]",
		"BODY[HEADER.FIELDS]",
		"BODY[HEADER.FIELDS ()]",
		"BODY[HEADER.FIELDS (a]",
		"BODY[MIME]",
		"BODY[TEXTX]",
		"BODY[]<1>",
		"BODY[]<1.0>",
		"BODY[]<a.1>",
		"BODY[]<1.2",
		"BINARY[HEADER]",
		"BINARY.SIZE[1]<0.1>",
		"BODYX[]",
		"\"FLAGS\"",
		"FLAGS (CHANGEDSINCE)",
		"FLAGS (BOGUS 1)",
		"FLAGS FLAGS",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct imapd_fetch f;
		const struct imap_arg *a;
		const char *error = NULL;
		size_t n;

		a = args(bad[i], &n);
		if (a == NULL)
			continue;
		assert_int_equal(imapd_fetch_parse(a, n, &f, &error), -1);
		assert_non_null(error);
	}
}

static void test_render(void **state)
{
	char *r;

	(void)state;
	/* 244 octets in 16 lines: 260 with CRLF. */
	assert_int_equal(sizeof(msg) - 1, 244);
	r = render("(UID FLAGS RFC822.SIZE MODSEQ)");
	assert_string_equal(r, "UID 7 FLAGS (\\Deleted \\Seen) RFC822.SIZE "
			       "260 MODSEQ (9)");
	free(r);
	r = render("BODY[1]");
	assert_string_equal(r, "BODY[1] {5}\r\nhello");
	free(r);
	r = render("BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
	assert_string_equal(r, "BODY[HEADER.FIELDS (SUBJECT)] {15}\r\n"
			       "Subject: hi\r\n\r\n");
	free(r);
	r = render("BODY[]<1.3>");
	assert_string_equal(r, "BODY[]<1> {3}\r\nrom");
	free(r);
	r = render("BODY[]<1000.3>");
	assert_string_equal(r, "BODY[]<1000> {0}\r\n");
	free(r);
	r = render("BINARY[2]");
	assert_int_equal(memcmp(r, "BINARY[2] ~{4}\r\n\0\1\2\3", 20), 0);
	free(r);
	r = render("BINARY.SIZE[2]");
	assert_string_equal(r, "BINARY.SIZE[2] 4");
	free(r);
	r = render("BODY[9]");
	assert_string_equal(r, "BODY[9] {0}\r\n");
	free(r);
	r = render("RFC822.HEADER");
	assert_true(strncmp(r, "RFC822.HEADER {", 15) == 0);
	assert_non_null(strstr(r, "boundary=XX\r\n\r\n"));
	free(r);
	r = render("ENVELOPE");
	assert_non_null(strstr(r, "\"hi\""));
	free(r);
	r = render("BODYSTRUCTURE");
	assert_non_null(strstr(r, "\"mixed\""));
	free(r);
}

/* Which loader the renderer used (header-only or whole message). */
static int loads, header_loads;

static const char *count_load(void *ctx, size_t *len_r)
{
	loads++;
	return load(ctx, len_r);
}

static const char *header_load(void *ctx, size_t *len_r)
{
	const char *end = strstr(msg, "\n\n");

	(void)ctx;
	header_loads++;
	*len_r = (size_t)(end + 2 - msg);
	return msg;
}

/* render_split - render with both loaders; *header_only_r: only the
 * header was read */
static char *render_split(const char *items, bool *header_only_r)
{
	struct imapd_fetch f;
	struct imapd_msgview mv;
	const struct imap_arg *a;
	const char *error;
	struct strbuf out;
	size_t n;

	a = args(items, &n);
	assert_int_equal(imapd_fetch_parse(a, n, &f, &error), 0);
	memset(&mv, 0, sizeof(mv));
	mv.seq = 1;
	mv.uid = 7;
	mv.size = imapd_fetch_crlf_size(msg, sizeof(msg) - 1);
	mv.load = count_load;
	mv.load_header = header_load;
	loads = header_loads = 0;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(imapd_fetch_render(&f, &mv, 0, &out, &error), 0);
	imapd_fetch_clear(&f);
	*header_only_r = header_loads == 1 && loads == 0;
	return strbuf_steal(&out);
}

/* Items within the header read only the header, and answer the same. */
static void test_header_only(void **state)
{
	static const struct {
		const char *items;
		bool header_only;
	} cases[] = {
		{"ENVELOPE", true},
		{"RFC822.HEADER", true},
		{"BODY.PEEK[HEADER]", true},
		{"BODY.PEEK[HEADER.FIELDS (SUBJECT)]", true},
		{"BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]", true},
		{"(ENVELOPE BODY.PEEK[HEADER])", true},
		{"BODY.PEEK[]", false},
		{"BODY.PEEK[TEXT]", false},
		{"BODY.PEEK[1]", false},
		{"BODY.PEEK[2.MIME]", false},
		{"BODYSTRUCTURE", false},
		{"(ENVELOPE RFC822.SIZE BODY.PEEK[])", false},
		{"RFC822", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool header_only;
		char *full = render(cases[i].items);
		char *split = render_split(cases[i].items, &header_only);

		assert_int_equal(header_only, cases[i].header_only);
		assert_string_equal(full, split);
		free(full);
		free(split);
	}
}

static void test_quote(void **state)
{
	struct strbuf out;
	const char *error;
	time_t t;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	assert_int_equal(imapd_quote_mailbox("Entw\xc3\xbcrfe", false, &out),
			 0);
	assert_string_equal(out.data, "\"Entw&APw-rfe\"");
	strbuf_reset(&out);
	assert_int_equal(imapd_quote_mailbox("Entw\xc3\xbcrfe", true, &out), 0);
	assert_string_equal(out.data, "\"Entw\xc3\xbcrfe\"");
	strbuf_reset(&out);
	assert_int_equal(
		imapd_mailbox_name_decode("inbox", 5, false, &out, &error), 0);
	assert_string_equal(out.data, "INBOX");
	strbuf_reset(&out);
	assert_int_equal(
		imapd_mailbox_name_decode("a&APw-", 6, false, &out, &error), 0);
	assert_string_equal(out.data, "a\xc3\xbc");
	strbuf_reset(&out);
	assert_int_equal(
		imapd_mailbox_name_decode("a&AGE-", 6, false, &out, &error),
		-1);
	assert_int_equal(imapd_mailbox_name_decode("", 0, false, &out, &error),
			 -1);
	assert_int_equal(
		imapd_mailbox_name_decode("a\xff", 2, true, &out, &error), -1);
	/* Longer than the caller's limit: an error, never a NULL name. */
	{
		struct strbuf small;
		char big[300];

		memset(big, 'a', sizeof(big));
		strbuf_init(&small, 256);
		assert_int_equal(imapd_mailbox_name_decode(big, sizeof(big),
							   true, &small,
							   &error),
				 -1);
		assert_int_equal(imapd_mailbox_name_decode(big, sizeof(big),
							   false, &small,
							   &error),
				 -1);
		strbuf_release(&small);
	}
	strbuf_release(&out);

	assert_int_equal(
		imapd_parse_datetime("17-Jul-1996 02:44:25 -0700", 26, &t), 0);
	assert_int_equal((long long)t, 837596665LL);
	assert_int_equal(
		imapd_parse_datetime(" 7-Jul-1996 02:44:25 +0000", 26, &t), 0);
	assert_int_equal(
		imapd_parse_datetime("7-Jul-1996 02:44:25 +0000", 25, &t), 0);
	assert_int_equal(
		imapd_parse_datetime("17-Jux-1996 02:44:25 -0700", 26, &t), -1);
	assert_int_equal(
		imapd_parse_datetime("17-Jul-1996 25:44:25 -0700", 26, &t), -1);
	assert_int_equal(imapd_parse_datetime("17-Jul-1996", 11, &t), -1);
	assert_int_equal(imapd_search_parse_date("1-Jan-1970", 10), 0);
	assert_int_equal(imapd_search_parse_date("02-Jan-1970", 11), 1);
	assert_int_equal(imapd_search_parse_date("2-Jan-70", 8), -1);
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
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_quote),
	};
	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
