/*
 * test_imap_parser - unit tests for lib/proto/imap_parser.c
 *
 * Each table case is parsed from one buffer and its transcript (every
 * command in a compact notation, every error with its tag) is compared
 * exactly; then the same input is fed one byte at a time and split in two
 * at every position, and must give the same transcript.
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

#include "strbuf.h"
#include "imap_parser.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define LP  IMAP_PARSER_FLAG_LITERAL_PLUS
#define LM  IMAP_PARSER_FLAG_LITERAL_MINUS
#define BIN IMAP_PARSER_FLAG_BINARY

/* dump_str - bytes, with anything unprintable or ')' as \xHH */
static void dump_str(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			strbuf_appendf(out, "\\x%02x", c);
		else
			strbuf_append_char(out, (char)c);
	}
}

/* dump_args - A(atom) N(num) NIL S(str) L(lit) L+() L8() (list) */
static void dump_args(struct strbuf *out, const struct imap_arg *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_append_char(out, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			strbuf_append_str(out, "A(");
			break;
		case IMAP_ARG_NUMBER:
			strbuf_appendf(out, "N%llu(",
				       (unsigned long long)a[i].num);
			break;
		case IMAP_ARG_NIL:
			strbuf_append_str(out, "NIL(");
			break;
		case IMAP_ARG_STRING:
			strbuf_append_str(out, "S(");
			break;
		case IMAP_ARG_LITERAL:
			strbuf_append_str(out, "L");
			if (a[i].flags & IMAP_ARG_FLAG_NONSYNC)
				strbuf_append_str(out, "+");
			if (a[i].flags & IMAP_ARG_FLAG_LITERAL8)
				strbuf_append_str(out, "8");
			strbuf_append_str(out, "(");
			break;
		case IMAP_ARG_LIST:
			strbuf_append_str(out, "(");
			dump_args(out, a[i].list, a[i].list_count);
			strbuf_append_str(out, ")");
			continue;
		}
		assert_int_equal(a[i].str[a[i].len], '\0');
		dump_str(out, a[i].str, a[i].len);
		strbuf_append_char(out, ')');
	}
}

static const char *const err_names[] = {
	"OK",
	"TAG_MISSING",
	"TAG_INVALID",
	"COMMAND_MISSING",
	"COMMAND_INVALID",
	"LINE_TOO_LONG",
	"ATOM_INVALID",
	"BRACKET",
	"STRING_NUL",
	"STRING_CRLF",
	"STRING_ESCAPE",
	"LITERAL_SYNTAX",
	"LITERAL_TOO_LARGE",
	"LITERAL_NONSYNC",
	"LITERAL8",
	"LITERAL_NUL",
	"LIST_CLOSE",
	"LIST_OPEN",
	"LIST_TOO_DEEP",
	"TOO_MANY_ARGS",
	"MISSING_SPACE",
	"BARE_CR",
	"COMMAND_TOO_LARGE",
	"LINE_NUL",
};

/* small_limits - tight limits for the limit cases */
static void small_limits(struct imap_parser_limits *l)
{
	l->max_line_size = 32;
	l->max_literal_size = 10;
	l->max_command_size = 48;
	l->max_list_depth = 3;
	l->max_args = 5;
}

/* run - parse input fed in chunks of the given sizes (0: whole); the
 * transcript goes to out, one line per result, "..." when unfinished */
static void run(const char *in, size_t len, unsigned flags, bool small,
		const size_t *splits, size_t nsplits, struct strbuf *out)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	size_t pos = 0, k = 0;

	if (small)
		small_limits(&lim);
	else
		imap_parser_limits_init(&lim, true);
	p = imap_parser_create(&lim, flags);
	while (pos < len) {
		size_t end = k < nsplits ? splits[k++] : len;

		if (end > len)
			end = len;
		while (pos < end) {
			struct imap_command cmd;
			size_t used = 0;
			int ret = imap_parser_parse(p, in + pos, end - pos,
						    &used, &cmd);

			assert_true(used <= end - pos);
			pos += used;
			if (ret == 0) {
				assert_int_equal(pos, end);
				if (imap_parser_literal_needs_continuation(p))
					imap_parser_literal_continued(p);
			} else if (ret == 1) {
				strbuf_appendf(out, "%s %s", cmd.tag, cmd.name);
				if (cmd.args_count > 0)
					strbuf_append_char(out, ' ');
				dump_args(out, cmd.args, cmd.args_count);
				strbuf_append_char(out, '\n');
			} else {
				const char *tag = imap_parser_error_tag(p);

				assert_int_equal(ret, -1);
				assert_true(used > 0);
				strbuf_appendf(out, "ERR %s %s\n",
					       err_names[imap_parser_error(p)],
					       tag != NULL ? tag : "*");
			}
		}
	}
	if (!imap_parser_idle(p))
		strbuf_append_str(out, "...\n");
	imap_parser_free(&p);
	assert_null(p);
}

struct pcase {
	const char *in;
	size_t len; /* 0: strlen */
	unsigned flags;
	bool small;
	const char *want;
};

#define S(x) x, sizeof(x) - 1
static const struct pcase pcases[] = {
	/* Commands, names any case, bare LF, several per buffer. */
	{S("a1 NOOP\r\n"), 0, 0, "a1 NOOP\n"},
	{S("a1 noop\r\n"), 0, 0, "a1 NOOP\n"},
	{S("a1 NoOp\n"), 0, 0, "a1 NOOP\n"},
	{S("a]1 NOOP\r\nb CAPABILITY\r\n"), 0, 0, "a]1 NOOP\nb CAPABILITY\n"},
	{S("a NOOP  \r\n"), 0, 0, "a NOOP\n"},
	{S("a NOOP"), 0, 0, "...\n"},
	{S("a UID FETCH 1 FLAGS\r\n"), 0, 0, "a UID A(FETCH) N1(1) A(FLAGS)\n"},
	/* Atoms, numbers, NIL. */
	{S("a X 0 123 4294967296 007 18446744073709551615\r\n"), 0, 0,
	 "a X N0(0) N123(123) N4294967296(4294967296) N7(007) "
	 "N18446744073709551615(18446744073709551615)\n"},
	{S("a X 18446744073709551616 12a -1\r\n"), 0, 0,
	 "a X A(18446744073709551616) A(12a) A(-1)\n"},
	{S("a X NIL nil Nil NILS\r\n"), 0, 0,
	 "a X NIL(NIL) NIL(nil) NIL(Nil) A(NILS)\n"},
	{S("a STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n"), 0, 0,
	 "a STORE A(1:*) A(+FLAGS) (A(\\x5cSeen) A(\\x5cDeleted))\n"},
	{S("a LIST \"\" %\r\na LIST \"\" *\r\n"), 0, 0,
	 "a LIST S() A(%)\na LIST S() A(*)\n"},
	{S("a SELECT ~peter/mail/&U,BTFw-\r\n"), 0, 0,
	 "a SELECT A(~peter/mail/&U,BTFw-)\n"},
	{S("a LIST \"\" foo[bar\r\n"), 0, 0, "a LIST S() A(foo[bar)\n"},
	{S("a X ~ ~x\r\n"), 0, 0, "a X A(~) A(~x)\n"},
	/* Quoted strings. */
	{S("a LOGIN joe \"pass word\"\r\n"), 0, 0,
	 "a LOGIN A(joe) S(pass word)\n"},
	{S("a X \"a\\\"b\\\\c\" \"\"\r\n"), 0, 0, "a X S(a\"b\\x5cc) S()\n"},
	{S("a SELECT \"caf\xc3\xa9\"\r\n"), 0, 0,
	 "a SELECT S(caf\\xc3\\xa9)\n"},
	{S("a X \"(\" (\")\")\r\n"), 0, 0, "a X S(() (S()))\n"},
	{S("a X \"(\"(\")\")\r\n"), 0, 0, "ERR MISSING_SPACE a\n"},
	/* Lists. */
	{S("a X (a (b c) ()) d\r\n"), 0, 0, "a X (A(a) (A(b) A(c)) ()) A(d)\n"},
	{S("a X ((((x))))\r\n"), 0, 0, "a X ((((A(x)))))\n"},
	{S("a X (1)(2)\r\n"), 0, 0, "ERR MISSING_SPACE a\n"},
	{S("a X ( a  b )\r\n"), 0, 0, "a X (A(a) A(b))\n"},
	/* Literals. */
	{S("a LOGIN {3}\r\njoe {4}\r\npass\r\n"), 0, 0,
	 "a LOGIN L(joe) L(pass)\n"},
	{S("a X {4}\r\n\r\n\r\n\r\n"), 0, 0, "a X L(\\x0d\\x0a\\x0d\\x0a)\n"},
	{S("a X {0}\r\n\r\n"), 0, 0, "a X L()\n"},
	{S("a X ({1}\r\n))\r\n"), 0, 0, "a X (L()))\n"},
	{S("a X {3}\nabc\n"), 0, 0, "a X L(abc)\n"},
	{S("a LOGIN {3+}\r\njoe x\r\n"), LP, 0, "a LOGIN L+(joe) A(x)\n"},
	{S("a LOGIN {3+}\r\njoe x\r\n"), LM, 0, "a LOGIN L+(joe) A(x)\n"},
	{S("a APPEND box ~{3}\r\na\0b\r\n"), BIN, 0,
	 "a APPEND A(box) L8(a\\x00b)\n"},
	{S("a APPEND box ~{3+}\r\na\0b\r\n"), BIN | LP, 0,
	 "a APPEND A(box) L+8(a\\x00b)\n"},
	{S("a X {3}\r\nabcd\r\n"), 0, 0, "ERR MISSING_SPACE a\n"},
	{S("a X {3}\r\nab"), 0, 0, "...\n"},
	/* Fetch attributes with sections. */
	{S("a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> "
	   "BODY[])\r\n"),
	 0, 0,
	 "a FETCH A(1:*) (A(FLAGS) A(BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)"
	 " A(BODY[]))\n"},
	{S("a FETCH 1 body[1.2.MIME] BINARY.SIZE[1] binary.peek[2]<0.5>\r\n"),
	 0, 0,
	 "a FETCH N1(1) A(body[1.2.MIME]) A(BINARY.SIZE[1]) "
	 "A(binary.peek[2]<0.5>)\n"},
	{S("a FETCH 1 BODY[HEADER.FIELDS (A)\r\nb NOOP\r\n"), 0, 0,
	 "ERR BRACKET a\nb NOOP\n"},
	{S("a FETCH 1 BODY[X[1]]\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a FETCH 1 (BODY[1]))\r\n"), 0, 0, "ERR LIST_CLOSE a\n"},
	/* Tag and command errors. */
	{S("\r\n"), 0, 0, "ERR TAG_MISSING *\n"},
	{S("\n"), 0, 0, "ERR TAG_MISSING *\n"},
	{S(" NOOP\r\nb NOOP\r\n"), 0, 0, "ERR TAG_MISSING *\nb NOOP\n"},
	{S("a+ NOOP\r\n"), 0, 0, "ERR TAG_INVALID *\n"},
	{S("a* NOOP\r\n"), 0, 0, "ERR TAG_INVALID *\n"},
	{S("a\r\n"), 0, 0, "ERR COMMAND_MISSING *\n"},
	{S("a \r\n"), 0, 0, "ERR COMMAND_MISSING a\n"},
	{S("a  NOOP\r\n"), 0, 0, "ERR COMMAND_MISSING a\n"},
	{S("a NO(OP\r\n"), 0, 0, "ERR COMMAND_INVALID a\n"},
	{S("a NO\xc3\xa9\r\n"), 0, 0, "ERR COMMAND_INVALID a\n"},
	{S("a NOOP\rb\r\nc NOOP\r\n"), 0, 0, "ERR BARE_CR a\nc NOOP\n"},
	/* Argument errors. */
	{S("a X )\r\n"), 0, 0, "ERR LIST_CLOSE a\n"},
	{S("a X (b\r\n"), 0, 0, "ERR LIST_OPEN a\n"},
	{S("a X (b\r\nc NOOP\r\n"), 0, 0, "ERR LIST_OPEN a\nc NOOP\n"},
	{S("a X \"b\0\"\r\n"), 0, 0, "ERR STRING_NUL a\n"},
	{S("a X \"b\rc\"\r\n"), 0, 0, "ERR STRING_CRLF a\n"},
	{S("a X \"b\nc\"\r\n"), 0, 0, "ERR STRING_CRLF a\nERR TAG_INVALID *\n"},
	{S("a X \"b\\c\"\r\n"), 0, 0, "ERR STRING_ESCAPE a\n"},
	{S("a X \"bc\r\n"), 0, 0, "ERR STRING_CRLF a\n"},
	{S("a X b\xc3\xa9\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a X \x01\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a X b\0c\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a X b\"c\"\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a X b{3}\r\n"), 0, 0, "ERR ATOM_INVALID a\n"},
	{S("a X \"b\"c\r\n"), 0, 0, "ERR MISSING_SPACE a\n"},
	{S("a X {3x}\r\n"), 0, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {}\r\n"), 0, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {+}\r\n"), LP, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {3++}\r\n"), LP, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {3}x\r\n"), 0, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {3}\rx\r\n"), 0, 0, "ERR LITERAL_SYNTAX a\n"},
	{S("a X {99999999999999999999999}\r\nb NOOP\r\n"), 0, 0,
	 "ERR LITERAL_TOO_LARGE a\nb NOOP\n"},
	/* {N+} refused: its data is skipped, not read as commands. */
	{S("a X {3+}\r\nb N\r\nc NOOP\r\n"), 0, 0,
	 "ERR LITERAL_NONSYNC a\nc NOOP\n"},
	{S("a X ~{3}\r\nb NOOP\r\n"), 0, 0, "ERR LITERAL8 a\nb NOOP\n"},
	{S("a X ~{3+}\r\nb N\r\nc NOOP\r\n"), LP, 0,
	 "ERR LITERAL8 a\nc NOOP\n"},
	{S("a X {5}\r\nab\0cd\r\nb NOOP\r\n"), 0, 0,
	 "ERR LITERAL_NUL a\nb NOOP\n"},
	{S("a X {5}\r\nab\0\r\nb NOOP\r\n"), 0, 0, "ERR LITERAL_NUL a\n"},
	/* Resync: a non-sync literal at the end of a bad line is data. */
	{S("a X \x01 {3+}\r\nb N\r\nc NOOP\r\n"), LP, 0,
	 "ERR ATOM_INVALID a\nc NOOP\n"},
	{S("a X \x01 {3+}\r\nb N {2+}\r\nxy\r\nc NOOP\r\n"), LP, 0,
	 "ERR ATOM_INVALID a\nc NOOP\n"},
	{S("a X \x01 {0+}\r\n\r\nc NOOP\r\n"), LP, 0,
	 "ERR ATOM_INVALID a\nc NOOP\n"},
	{S("a X \x01 {3}\r\nb NOOP\r\n"), 0, 0, "ERR ATOM_INVALID a\nb NOOP\n"},
	{S("a X \x01 {3+}x\r\nb NOOP\r\n"), LP, 0,
	 "ERR ATOM_INVALID a\nb NOOP\n"},
	{S("a X ) {3+}\r\n\r\n\r\nb NOOP\r\n"), LP, 0,
	 "ERR LIST_CLOSE a\nb NOOP\n"},
	/* Limits: line 32, literal 10, command 48, depth 3, args 5. */
	{S("a X bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\nb NOOP\r\n"), 0, 1,
	 "ERR LINE_TOO_LONG a\nb NOOP\n"},
	{S("a X bbbbbbbbbbbbbbbbbbbbbbbbbb\r\n"), 0, 1,
	 "a X A(bbbbbbbbbbbbbbbbbbbbbbbbbb)\n"},
	{S("a X bbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n"), 0, 1,
	 "ERR LINE_TOO_LONG a\n"},
	{S("a X {10}\r\n0123456789\r\n"), 0, 1, "a X L(0123456789)\n"},
	{S("a X {11}\r\nb NOOP\r\n"), 0, 1,
	 "ERR LITERAL_TOO_LARGE a\nb NOOP\n"},
	{S("a X {11+}\r\n0123456789a\r\nb NOOP\r\n"), LP, 1,
	 "ERR LITERAL_TOO_LARGE a\nb NOOP\n"},
	{S("a X {10}\r\n0123456789 {10}\r\n0123456789 {10}\r\n"), 0, 1,
	 "ERR COMMAND_TOO_LARGE a\n"},
	{S("a X (((x)))\r\n"), 0, 1, "a X (((A(x))))\n"},
	{S("a X ((((x))))\r\n"), 0, 1, "ERR LIST_TOO_DEEP a\n"},
	{S("a X 1 2 3 4 5\r\n"), 0, 1, "a X N1(1) N2(2) N3(3) N4(4) N5(5)\n"},
	{S("a X 1 2 3 4 5 6\r\n"), 0, 1, "ERR TOO_MANY_ARGS a\n"},
	{S("a X 1 2 3 4 (5)\r\n"), 0, 1, "ERR TOO_MANY_ARGS a\n"},
	{S("a X (1 2 3 4) 5\r\n"), 0, 1, "ERR TOO_MANY_ARGS a\n"},
	{S("a X (1 2 3 4)\r\n"), 0, 1, "a X (N1(1) N2(2) N3(3) N4(4))\n"},
};

/* check_case - whole input, byte by byte, and every two-way split */
static void check_case(const struct pcase *c)
{
	size_t len = c->len, i, *ones;
	struct strbuf whole, part;

	strbuf_init(&whole, STRBUF_NO_LIMIT);
	strbuf_init(&part, STRBUF_NO_LIMIT);
	run(c->in, len, c->flags, c->small, NULL, 0, &whole);
	if (strcmp(whole.data, c->want) != 0)
		fail_msg("input \"%s\":\nwant %s\ngot  %s", c->in, c->want,
			 whole.data);
	ones = calloc(len + 1, sizeof(*ones));
	assert_non_null(ones);
	for (i = 0; i < len; i++)
		ones[i] = i + 1;
	run(c->in, len, c->flags, c->small, ones, len, &part);
	if (strcmp(whole.data, part.data) != 0)
		fail_msg("input \"%s\" byte by byte:\nwant %s\ngot  %s", c->in,
			 whole.data, part.data);
	for (i = 1; i < len; i++) {
		strbuf_reset(&part);
		run(c->in, len, c->flags, c->small, &i, 1, &part);
		if (strcmp(whole.data, part.data) != 0)
			fail_msg("input \"%s\" split at %zu:\nwant %s\ngot  %s",
				 c->in, i, whole.data, part.data);
	}
	free(ones);
	strbuf_release(&whole);
	strbuf_release(&part);
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(pcases); i++)
		check_case(&pcases[i]);
}

/* test_continuation - "+ " is due after {N}CRLF, never after {N+} */
static void test_continuation(void **state)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imap_command cmd;
	size_t used;

	(void)state;
	imap_parser_limits_init(&lim, true);
	p = imap_parser_create(&lim, LP);
	assert_true(imap_parser_idle(p));
	assert_int_equal(imap_parser_parse(p, S("a LOGIN {3}"), &used, &cmd),
			 0);
	assert_false(imap_parser_literal_needs_continuation(p));
	assert_int_equal(imap_parser_parse(p, S("\r\n"), &used, &cmd), 0);
	assert_true(imap_parser_literal_needs_continuation(p));
	imap_parser_literal_continued(p);
	assert_false(imap_parser_literal_needs_continuation(p));
	assert_int_equal(imap_parser_parse(p, S("joe {4}\r\n"), &used, &cmd),
			 0);
	assert_true(imap_parser_literal_needs_continuation(p));
	imap_parser_literal_continued(p);
	assert_int_equal(imap_parser_parse(p, S("pa"), &used, &cmd), 0);
	assert_false(imap_parser_literal_needs_continuation(p));
	assert_false(imap_parser_idle(p));
	assert_int_equal(
		imap_parser_parse(p, S("ss\r\nb NOOP\r\n"), &used, &cmd), 1);
	assert_int_equal(used, 4);
	assert_string_equal(cmd.tag, "a");
	assert_string_equal(cmd.name, "LOGIN");
	assert_int_equal(cmd.args_count, 2);
	assert_string_equal(cmd.args[0].str, "joe");
	assert_string_equal(cmd.args[1].str, "pass");
	assert_true(imap_parser_idle(p));

	/* Non-synchronizing: no continuation. */
	assert_int_equal(imap_parser_parse(p, S("a X {3+}\r\n"), &used, &cmd),
			 0);
	assert_false(imap_parser_literal_needs_continuation(p));
	assert_int_equal(imap_parser_parse(p, S("abc\r\n"), &used, &cmd), 1);

	/* {0} waits for "+ " too. */
	assert_int_equal(imap_parser_parse(p, S("a X {0}\r\n"), &used, &cmd),
			 0);
	assert_true(imap_parser_literal_needs_continuation(p));
	/* A refused literal: no continuation, the error says so at '}'. */
	assert_int_equal(imap_parser_parse(p, S(" {99999999999}"), &used, &cmd),
			 -1);
	assert_false(imap_parser_literal_needs_continuation(p));
	assert_int_equal(imap_parser_error(p),
			 IMAP_PARSER_ERR_LITERAL_TOO_LARGE);
	assert_string_equal(imap_parser_error_text(p),
			    "[TOOBIG] Literal too large");
	assert_string_equal(imap_parser_error_tag(p), "a");
	assert_int_equal(imap_parser_parse(p, S("\r\nb NOOP\r\n"), &used, &cmd),
			 1);
	assert_string_equal(cmd.tag, "b");
	imap_parser_free(&p);
}

/* test_literal_minus - LITERAL-: {N+} only up to 4096 (RFC 7888 §5) */
static void test_literal_minus(void **state)
{
	struct strbuf in, out;
	size_t i;

	(void)state;
	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_append_str(&in, "a X {4096+}\r\n");
	for (i = 0; i < 4096; i++)
		strbuf_append_char(&in, 'x');
	strbuf_append_str(&in, "\r\nb X {4097+}\r\n");
	/* Data that looks like commands must be skipped as data. */
	for (i = 0; i < 4097; i++)
		strbuf_append_char(&in, i % 8 == 7 ? '\n' : 'y');
	strbuf_append_str(&in, "\r\nd NOOP\r\n");
	run(in.data, in.len, LM, false, NULL, 0, &out);
	assert_int_equal(strncmp(out.data, "a X L+(xxxx", 11), 0);
	assert_non_null(strstr(out.data, "xxxx)\nERR LITERAL_TOO_LARGE b\n"
					 "d NOOP\n"));
	/* The same with LITERAL+: accepted. */
	strbuf_reset(&out);
	run(in.data, in.len, LP, false, NULL, 0, &out);
	assert_non_null(strstr(out.data, "xxxx)\nb X L+(yyyyyyy\\x0ay"));
	strbuf_release(&in);
	strbuf_release(&out);
}

/* test_preauth_limits - the tighter set and switching after login */
static void test_preauth_limits(void **state)
{
	struct imap_parser_limits pre, post;
	struct imap_parser *p;
	struct imap_command cmd;
	struct strbuf in;
	size_t used;

	(void)state;
	imap_parser_limits_init(&pre, false);
	imap_parser_limits_init(&post, true);
	assert_true(pre.max_line_size < post.max_line_size);
	assert_true(pre.max_literal_size < post.max_literal_size);
	assert_true(pre.max_args < post.max_args);
	assert_true(pre.max_list_depth < post.max_list_depth);
	assert_int_equal(post.max_list_depth, 20);
	assert_int_equal(post.max_args, 10000);
	assert_int_equal(post.max_line_size, 65536);

	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_append_str(&in, "a X");
	while (in.len < 9000)
		strbuf_append_str(&in, " x");
	strbuf_append_str(&in, "\r\n");
	p = imap_parser_create(&pre, 0);
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd),
			 -1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_TOO_MANY_ARGS);
	assert_int_equal(imap_parser_parse(p, in.data + used, in.len - used,
					   &used, &cmd),
			 0);
	imap_parser_set_limits(p, &post);
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd), 1);
	assert_int_equal(cmd.args_count, 4499);
	imap_parser_free(&p);
	imap_parser_free(&p);
	strbuf_release(&in);
}

/* test_deep_and_wide - the default limits hold on big input */
static void test_deep_and_wide(void **state)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imap_command cmd;
	struct strbuf in;
	size_t used, i;
	const struct imap_arg *a;

	(void)state;
	imap_parser_limits_init(&lim, true);
	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_append_str(&in, "a X ");
	for (i = 0; i < 20; i++)
		strbuf_append_char(&in, '(');
	strbuf_append_str(&in, "x");
	for (i = 0; i < 20; i++)
		strbuf_append_char(&in, ')');
	strbuf_append_str(&in, "\r\n");
	p = imap_parser_create(&lim, 0);
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd), 1);
	for (a = cmd.args, i = 0; i < 20; i++, a = a->list) {
		assert_int_equal(a->type, IMAP_ARG_LIST);
		assert_int_equal(a->list_count, 1);
	}
	assert_string_equal(a->str, "x");
	strbuf_reset(&in);
	strbuf_append_str(&in, "a X ");
	for (i = 0; i < 21; i++)
		strbuf_append_char(&in, '(');
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd),
			 -1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_LIST_TOO_DEEP);
	assert_string_equal(imap_parser_error_text(p),
			    "Too deeply nested lists");
	assert_int_equal(used, in.len);
	assert_int_equal(imap_parser_parse(p, S("))))\r\n"), &used, &cmd), 0);

	/* 10000 arguments pass, 10001 do not. */
	strbuf_reset(&in);
	strbuf_append_str(&in, "a X");
	for (i = 0; i < 10000; i++)
		strbuf_append_str(&in, " 1");
	strbuf_append_str(&in, "\r\n");
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd), 1);
	assert_int_equal(cmd.args_count, 10000);
	strbuf_truncate(&in, in.len - 2);
	strbuf_append_str(&in, " 1\r\n");
	assert_int_equal(imap_parser_parse(p, in.data, in.len, &used, &cmd),
			 -1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_TOO_MANY_ARGS);
	imap_parser_free(&p);
	strbuf_release(&in);
}

/* test_read_line - AUTHENTICATE continuation lines */
static void test_read_line(void **state)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imap_command cmd;
	const char *line;
	size_t used, len, i;
	struct strbuf in;

	(void)state;
	imap_parser_limits_init(&lim, false);
	p = imap_parser_create(&lim, 0);
	assert_int_equal(imap_parser_parse(p, S("a AUTHENTICATE PLAIN\r\n"),
					   &used, &cmd),
			 1);
	assert_int_equal(
		imap_parser_read_line(p, S("AGpvZQBw"), &used, &line, &len), 0);
	assert_int_equal(imap_parser_read_line(p, S("YXNz\r\nb NOOP\r\n"),
					       &used, &line, &len),
			 1);
	assert_int_equal(used, 6);
	assert_int_equal(len, 12);
	assert_string_equal(line, "AGpvZQBwYXNz");
	assert_int_equal(imap_parser_parse(p, S("b NOOP\r\n"), &used, &cmd), 1);
	assert_int_equal(imap_parser_read_line(p, S("*\n"), &used, &line, &len),
			 1);
	assert_string_equal(line, "*");
	assert_int_equal(
		imap_parser_read_line(p, S("\r\n"), &used, &line, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(
		imap_parser_read_line(p, S("a\rb\r\n"), &used, &line, &len),
		-1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_BARE_CR);
	assert_int_equal(
		imap_parser_parse(p, S("b\r\nc NOOP\r\n"), &used, &cmd), 1);
	assert_string_equal(cmd.tag, "c");
	assert_int_equal(
		imap_parser_read_line(p, S("a\0b\r\n"), &used, &line, &len),
		-1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_LINE_NUL);
	assert_int_equal(imap_parser_parse(p, S("b\r\n"), &used, &cmd), 0);
	/* Too long */
	strbuf_init(&in, STRBUF_NO_LIMIT);
	for (i = 0; i < 9000; i++)
		strbuf_append_char(&in, 'A');
	strbuf_append_str(&in, "\r\nd NOOP\r\n");
	assert_int_equal(
		imap_parser_read_line(p, in.data, in.len, &used, &line, &len),
		-1);
	assert_int_equal(imap_parser_error(p), IMAP_PARSER_ERR_LINE_TOO_LONG);
	assert_int_equal(imap_parser_parse(p, in.data + used, in.len - used,
					   &used, &cmd),
			 1);
	assert_string_equal(cmd.tag, "d");
	strbuf_release(&in);
	imap_parser_free(&p);
}

/* test_helpers - astring/nstring and the error strings */
static void test_helpers(void **state)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imap_command cmd;
	const char *s;
	size_t used, len, i;

	(void)state;
	imap_parser_limits_init(&lim, true);
	p = imap_parser_create(&lim, 0);
	assert_int_equal(imap_parser_parse(p,
					   S("a X atom 12 NIL \"q\" {1}\r\nl "
					     "()\r\n"),
					   &used, &cmd),
			 1);
	assert_int_equal(cmd.args_count, 6);
	for (i = 0; i < 5; i++)
		assert_true(imap_arg_get_astring(&cmd.args[i], &s, &len));
	assert_false(imap_arg_get_astring(&cmd.args[5], &s, &len));
	assert_false(imap_arg_get_nstring(&cmd.args[0], &s, &len));
	assert_false(imap_arg_get_nstring(&cmd.args[1], &s, &len));
	assert_true(imap_arg_get_nstring(&cmd.args[2], &s, &len));
	assert_null(s);
	assert_true(imap_arg_get_nstring(&cmd.args[3], &s, &len));
	assert_string_equal(s, "q");
	assert_true(imap_arg_get_nstring(&cmd.args[4], &s, &len));
	assert_string_equal(s, "l");
	assert_int_equal(cmd.args[5].list_count, 0);
	imap_parser_free(&p);
	for (i = 1; i < NELEM(err_names); i++)
		assert_string_not_equal(imap_parser_error_string(i),
					"Syntax error");
	assert_string_equal(
		imap_parser_error_string(IMAP_PARSER_ERR_LIST_CLOSE),
		"Unexpected ')'");
	assert_string_equal(
		imap_parser_error_string(IMAP_PARSER_ERR_TAG_MISSING),
		"Missing tag");
	assert_string_equal(
		imap_parser_error_string(IMAP_PARSER_ERR_STRING_NUL),
		"NUL in string");
}

struct scase {
	const char *in;
	const char *want; /* "f:l,f:l" with * for star; NULL: error */
};

static const struct scase scases[] = {
	{"1", "1:1"},
	{"1:*", "1:*"},
	{"1:*,4,7:9", "1:*,4:4,7:9"},
	{"*", "*:*"},
	{"*:*", "*:*"},
	{"*:5", "*:5"},
	{"4:2", "4:2"},
	{"4294967295", "4294967295:4294967295"},
	{"1,2,3", "1:1,2:2,3:3"},
	{"4294967296", NULL},
	{"99999999999999999999999", NULL},
	{"0", NULL},
	{"1:0", NULL},
	{"0:1", NULL},
	{"01", NULL},
	{"1:", NULL},
	{":2", NULL},
	{"1,,2", NULL},
	{"1,", NULL},
	{",1", NULL},
	{"", NULL},
	{"1:2:3", NULL},
	{"a", NULL},
	{"$", NULL},
	{"1 ", NULL},
	{"-1", NULL},
	{"+1", NULL},
	{"**", NULL},
	{"1:**", NULL},
};

static void test_seqset(void **state)
{
	struct imap_seqrange *r;
	const char *err;
	size_t i, j, n;
	struct strbuf got;

	(void)state;
	strbuf_init(&got, STRBUF_NO_LIMIT);
	for (i = 0; i < NELEM(scases); i++) {
		int ret = imap_seqset_parse(scases[i].in, strlen(scases[i].in),
					    0, &r, &n, &err);

		if (scases[i].want == NULL) {
			if (ret != -1)
				fail_msg("seqset \"%s\" accepted",
					 scases[i].in);
			assert_non_null(err);
			continue;
		}
		if (ret != 0)
			fail_msg("seqset \"%s\": %s", scases[i].in, err);
		strbuf_reset(&got);
		for (j = 0; j < n; j++) {
			if (j > 0)
				strbuf_append_char(&got, ',');
			if (r[j].first_star)
				strbuf_append_char(&got, '*');
			else
				strbuf_appendf(&got, "%u", r[j].first);
			strbuf_append_char(&got, ':');
			if (r[j].last_star)
				strbuf_append_char(&got, '*');
			else
				strbuf_appendf(&got, "%u", r[j].last);
		}
		assert_string_equal(got.data, scases[i].want);
		free(r);
	}
	assert_int_equal(imap_seqset_parse(S("1,2,3"), 3, &r, &n, &err), 0);
	free(r);
	assert_int_equal(imap_seqset_parse(S("1,2,3,4"), 3, &r, &n, &err), -1);
	assert_string_equal(err, "Too many sequence ranges");
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(imap_seqset_parse("12", 1, 0, &r, &n, &err), 0);
	assert_int_equal(r[0].first, 1);
	free(r);
	strbuf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_literal_minus),
		cmocka_unit_test(test_preauth_limits),
		cmocka_unit_test(test_deep_and_wide),
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_seqset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
