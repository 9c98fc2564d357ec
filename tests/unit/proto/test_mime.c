/*
 * test_mime - unit tests for lib/proto/mime.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"
#include "rfc822.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* render - BODYSTRUCTURE (extended) or BODY of buf, as a C string in sb */
static const char *render(struct strbuf *sb, const char *buf, size_t len,
			  int extended)
{
	struct mime_tree *t = mime_parse(buf, len);

	strbuf_reset(sb);
	assert_int_equal(mime_render_bodystructure(t, extended, 0, sb), 0);
	mime_tree_free(&t);
	assert_null(t);
	return sb->len ? sb->data : "";
}

/* check_part - offsets, sizes and lines of one part */
static void check_part(const struct mime_part *p, size_t ho, size_t hs,
		       size_t hl, size_t bo, size_t bs, size_t bv, size_t bl)
{
	assert_non_null(p);
	assert_int_equal(p->hdr_offset, ho);
	assert_int_equal(p->hdr_size, hs);
	assert_int_equal(p->hdr_lines, hl);
	assert_int_equal(p->body_offset, bo);
	assert_int_equal(p->body_size, bs);
	assert_int_equal(p->body_vsize, bv);
	assert_int_equal(p->body_lines, bl);
}

static const char simple[] =
	"From: \"Joe Q. Public\" <john.q.public@example.com>\n"
	"To: Mary Smith <mary@x.test>\n"
	"Subject: Hello\n"
	"\n"
	"Hi.\n"
	"Bye\n";

/* test_simple - a text/plain message with LF line endings */
static void test_simple(void **state)
{
	struct strbuf sb;
	struct mime_tree *t;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(simple, sizeof(simple) - 1);
	check_part(t->root, 0, 95, 4, 95, 8, 10, 2);
	assert_int_equal(t->root->hdr_vsize, 99);
	assert_null(t->root->type);
	assert_true(t->root->flags & MIME_PART_DEFAULT_CT);
	assert_int_equal(t->nparts, 1);
	assert_int_equal(t->flags, 0);
	/* "1" of a non-multipart message is its body; nothing else is. */
	assert_ptr_equal(mime_find_section(t, "1", 1), t->root);
	assert_ptr_equal(mime_find_section(t, "", 0), t->root);
	assert_null(mime_find_section(t, "2", 1));
	assert_null(mime_find_section(t, "1.1", 3));
	assert_null(mime_find_section(t, "0", 1));
	assert_null(mime_find_section(t, "1.", 2));
	assert_null(mime_find_section(t, "01", 2));
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, simple, sizeof(simple) - 1, 1),
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
		"NIL \"7bit\" 10 2 NIL NIL NIL NIL)");
	assert_string_equal(
		render(&sb, simple, sizeof(simple) - 1, 0),
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
		"NIL \"7bit\" 10 2)");
	strbuf_release(&sb);
}

static const char alternative[] =
	"From: a@b.c\n"
	"Subject: alt\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/alternative; boundary=\"XX\"\n"
	"\n"
	"preamble\n"
	"--XX\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"plain\n"
	"--XX\n"
	"Content-Type: text/html; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"<p>h=C3=A9</p>\n"
	"--XX--\n"
	"epilogue\n";

/* test_alternative - multipart/alternative with preamble and epilogue */
static void test_alternative(void **state)
{
	struct strbuf sb;
	struct mime_tree *t;
	struct mime_part *p;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(alternative, sizeof(alternative) - 1);
	assert_int_equal(t->root->nchildren, 2);
	check_part(t->root, 0, 95, 5, 95, 181, 193, 12);
	check_part(t->root->children, 109, 41, 2, 150, 5, 5, 1);
	check_part(t->root->children->next, 161, 84, 3, 245, 14, 14, 1);
	p = mime_find_section(t, "2", 1);
	assert_ptr_equal(p, t->root->children->next);
	assert_memory_equal(alternative + p->body_offset, "<p>h=C3=A9</p>", 14);
	assert_int_equal(mime_encoding_of(p->encoding), MIME_ENC_QP);
	assert_int_equal(mime_decode(MIME_ENC_QP, alternative + p->body_offset,
				     p->body_size, &sb),
			 0);
	assert_string_equal(sb.data, "<p>h\xc3\xa9</p>");
	assert_null(mime_find_section(t, "3", 1));
	assert_null(mime_find_section(t, "1.1", 3));
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, alternative, sizeof(alternative) - 1, 1),
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 "
		"1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL "
		"NIL \"quoted-printable\" 14 1 NIL NIL NIL NIL) \"alternative\" "
		"(\"boundary\" \"XX\") NIL NIL NIL)");
	assert_string_equal(
		render(&sb, alternative, sizeof(alternative) - 1, 0),
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 "
		"1)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
		"\"quoted-printable\" 14 1) \"alternative\")");
	strbuf_release(&sb);
}

static const char mixed[] = "To: undisclosed-recipients:;\n"
			    "Content-Type: multipart/mixed; boundary=outer\r\n"
			    "\r\n"
			    "--outer\r\n"
			    "Content-Type: text/plain\r\n"
			    "\r\n"
			    "body\r\n"
			    "--outer\r\n"
			    "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
			    "Content-Disposition: attachment;\r\n"
			    " filename*0*=us-ascii'en'This%20is%20;\r\n"
			    " filename*1=\"even more\"\r\n"
			    "Content-Transfer-Encoding: base64\r\n"
			    "Content-ID: <id1@x>\r\n"
			    "Content-Description: A doc\r\n"
			    "Content-Language: en, fr\r\n"
			    "Content-Location: http://x/a.pdf\r\n"
			    "Content-MD5: Q2hlY2s=\r\n"
			    "\r\n"
			    "JVBERi0=\r\n"
			    "--outer\r\n"
			    "Content-Type: message/rfc822\r\n"
			    "\r\n"
			    "From: Inner <in@x.y>\r\n"
			    "Subject: inner\r\n"
			    "To: group: a@b, c@d;, e@f\r\n"
			    "\r\n"
			    "inner body\r\n"
			    "--outer--\r\n";

/* test_mixed - attachment with RFC 2231 parameters, message/rfc822 */
static void test_mixed(void **state)
{
	struct strbuf sb;
	struct mime_tree *t;
	struct mime_part *p, *m;
	const struct mime_param *fn;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(mixed, sizeof(mixed) - 1);
	assert_int_equal(t->nparts, 5);
	check_part(t->root, 0, 78, 3, 78, 506, 506, 26);
	check_part(t->root->children, 87, 28, 2, 115, 4, 4, 1);
	p = mime_find_section(t, "2", 1);
	check_part(p, 130, 313, 11, 443, 8, 8, 1);
	fn = mime_param_find(p->disp_params, p->ndisp_params, "FILENAME");
	assert_non_null(fn);
	assert_true(fn->extended);
	assert_string_equal(fn->value, "us-ascii'en'This%20is%20even%20more");
	assert_int_equal(mime_param_decode(fn, &sb), 0);
	assert_string_equal(sb.data, "This is even more");
	strbuf_reset(&sb);
	assert_int_equal(mime_decode(mime_encoding_of(p->encoding),
				     mixed + p->body_offset, p->body_size, &sb),
			 0);
	assert_string_equal(sb.data, "%PDF-");
	m = mime_find_section(t, "3", 1);
	check_part(m, 462, 32, 2, 494, 77, 77, 5);
	assert_true(m->flags & MIME_PART_MESSAGE);
	check_part(m->children, 494, 67, 4, 561, 10, 10, 1);
	/* "3.1" is the body of the encapsulated (non-multipart) message. */
	assert_ptr_equal(mime_find_section(t, "3.1", 3), m->children);
	assert_null(mime_find_section(t, "3.2", 3));
	assert_null(mime_find_section(t, "3.1.1", 5));
	assert_null(mime_find_section(t, "1.1", 3));
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, mixed, sizeof(mixed) - 1, 1),
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 "
		"1 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") "
		"\"<id1@x>\" \"A doc\" \"base64\" 8 \"Q2hlY2s=\" (\"attachment\" "
		"(\"filename*\" \"us-ascii'en'This%20is%20even%20more\")) "
		"(\"en\" \"fr\") \"http://x/a.pdf\")(\"message\" \"rfc822\" NIL "
		"NIL NIL \"7bit\" 77 (NIL \"inner\" ((\"Inner\" NIL \"in\" "
		"\"x.y\")) ((\"Inner\" NIL \"in\" \"x.y\")) ((\"Inner\" NIL "
		"\"in\" \"x.y\")) ((NIL NIL \"group\" NIL)(NIL NIL \"a\" \"b\")"
		"(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)(NIL NIL \"e\" \"f\")) "
		"NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") "
		"NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	assert_string_equal(
		render(&sb, mixed, sizeof(mixed) - 1, 0),
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 "
		"1)(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<id1@x>\" "
		"\"A doc\" \"base64\" 8)(\"message\" \"rfc822\" NIL NIL NIL "
		"\"7bit\" 77 (NIL \"inner\" ((\"Inner\" NIL \"in\" \"x.y\")) "
		"((\"Inner\" NIL \"in\" \"x.y\")) ((\"Inner\" NIL \"in\" \"x.y\")) "
		"((NIL NIL \"group\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" "
		"\"d\")(NIL NIL NIL NIL)(NIL NIL \"e\" \"f\")) NIL NIL NIL NIL) "
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
		"10 1) 5) \"mixed\")");
	strbuf_release(&sb);
}

/* test_rfc2231 - continuations, charsets, ordering, gaps */
static void test_rfc2231(void **state)
{
	static const char msg[] =
		"Content-Type: application/x-stuff;\n"
		" title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
		" title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
		" title*2=\"isn't it!\";\n"
		" name*=iso-8859-1''caf%E9;\n"
		" gap*0=a; gap*2=c;\n"
		" plain=\"q\\\"uoted\"; broken; =x; ok=tok/with=eq\n"
		"\n";
	struct strbuf sb;
	struct mime_tree *t;
	const struct mime_part *p;
	const struct mime_param *pa;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(msg, sizeof(msg) - 1);
	p = t->root;
	assert_string_equal(p->type, "application");
	assert_int_equal(p->nparams, 6);
	pa = mime_param_find(p->params, p->nparams, "title");
	assert_true(pa->extended);
	assert_string_equal(pa->value, "us-ascii'en'This%20is%20even%20more%20"
				       "%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");
	assert_int_equal(mime_param_decode(pa, &sb), 0);
	assert_string_equal(sb.data, "This is even more ***fun*** isn't it!");
	strbuf_reset(&sb);
	pa = mime_param_find(p->params, p->nparams, "name");
	assert_true(pa->extended);
	assert_int_equal(mime_param_decode(pa, &sb), 0);
	assert_string_equal(sb.data, "caf\xc3\xa9");
	pa = mime_param_find(p->params, p->nparams, "gap");
	assert_string_equal(pa->value, "a");
	pa = mime_param_find(p->params, p->nparams, "gap*2");
	assert_string_equal(pa->value, "c");
	pa = mime_param_find(p->params, p->nparams, "plain");
	assert_string_equal(pa->value, "q\"uoted");
	pa = mime_param_find(p->params, p->nparams, "ok");
	assert_string_equal(pa->value, "tok/with=eq");
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, msg, sizeof(msg) - 1, 0),
		"(\"application\" \"x-stuff\" (\"title*\" \"us-ascii'en'This%20is"
		"%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!\" "
		"\"name*\" \"iso-8859-1''caf%E9\" \"gap\" \"a\" \"gap*2\" \"c\" "
		"\"plain\" \"q\\\"uoted\" \"ok\" \"tok/with=eq\") NIL NIL "
		"\"7bit\" 0)");
	strbuf_release(&sb);
}

/* test_lexer - comments and spacing in Content-* fields; literals */
static void test_lexer(void **state)
{
	static const char msg[] =
		"Content-Type: text/plain (plain text) ; charset = "
		"\"ISO-8859-1\" (latin) ;\n"
		"\tformat=flowed\n"
		"Content-Description: caf\xc3\xa9\n"
		"Content-Disposition: inline\n"
		"Content-Language: (none)\n"
		"Content-Transfer-Encoding: (comment) 8BIT\n"
		"\n"
		"caf\xe9\n";
	struct strbuf sb;
	struct mime_tree *t;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_string_equal(
		render(&sb, msg, sizeof(msg) - 1, 1),
		"(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\" \"format\" "
		"\"flowed\") NIL {5}\r\ncaf\xc3\xa9 \"8BIT\" 6 1 NIL "
		"(\"inline\" NIL) NIL NIL)");
	/* With UTF8=ACCEPT the description is a quoted string. */
	t = mime_parse(msg, sizeof(msg) - 1);
	strbuf_reset(&sb);
	assert_int_equal(mime_render_part(t, t->root, 0, RFC822_IMAP_UTF8, &sb),
			 0);
	assert_string_equal(sb.data,
			    "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\" "
			    "\"format\" \"flowed\") NIL \"caf\xc3\xa9\" "
			    "\"8BIT\" 6 1)");
	mime_tree_free(&t);
	/* An output limit is reported, not overrun. */
	t = mime_parse(mixed, sizeof(mixed) - 1);
	strbuf_release(&sb);
	strbuf_init(&sb, 64);
	assert_int_equal(mime_render_bodystructure(t, 1, 0, &sb), -1);
	assert_true(sb.len <= 64);
	mime_tree_free(&t);
	strbuf_release(&sb);
}

/* test_prefix_boundary - the inner boundary is a prefix of the outer */
static void test_prefix_boundary(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=\"=_abcdef\"\n"
		"\n"
		"--=_abcdef\n"
		"Content-Type: multipart/alternative; boundary=\"=_abc\"\n"
		"\n"
		"--=_abc\n"
		"\n"
		"one\n"
		"--=_abc\n"
		"\n"
		"two\n"
		"--=_abcdef\n"
		"\n"
		"three\n"
		"--=_abcdef--\n";
	struct strbuf sb;
	struct mime_tree *t;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(msg, sizeof(msg) - 1);
	assert_int_equal(t->nparts, 5);
	assert_int_equal(t->root->nchildren, 2);
	assert_int_equal(t->root->children->nchildren, 2);
	check_part(mime_find_section(t, "1.2", 3), 139, 1, 1, 140, 3, 3, 1);
	check_part(mime_find_section(t, "2", 1), 155, 1, 1, 156, 5, 5, 1);
	assert_null(mime_find_section(t, "1.3", 3));
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, msg, sizeof(msg) - 1, 0),
		"(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
		"3 1)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
		"\"7bit\" 3 1) \"alternative\")(\"text\" \"plain\" (\"charset\" "
		"\"us-ascii\") NIL NIL \"7bit\" 5 1) \"mixed\")");
	strbuf_release(&sb);
}

/* test_no_close - a missing close delimiter, transport padding */
static void test_no_close(void **state)
{
	static const char msg[] = "Content-Type: multipart/mixed; boundary=b\n"
				  "\n"
				  "--b\n"
				  "\n"
				  "first\n"
				  "--b  \n"
				  "Content-Type: text/plain\n"
				  "\n"
				  "second\n";
	struct mime_tree *t;

	(void)state;
	t = mime_parse(msg, sizeof(msg) - 1);
	assert_int_equal(t->root->nchildren, 2);
	check_part(t->root, 0, 43, 2, 43, 50, 57, 7);
	check_part(t->root->children, 47, 1, 1, 48, 5, 5, 1);
	check_part(t->root->children->next, 60, 26, 2, 86, 7, 8, 1);
	mime_tree_free(&t);
}

/* test_degenerate - only headers, no headers, empty, NUL bytes */
static void test_degenerate(void **state)
{
	static const char onlyhdr[] = "Subject: only headers\nFrom: x@y";
	static const char nohdr[] = "\nno headers\n";
	static const char nuls[] = "Subject: a\0b\nContent-Type: text/pl\0ain\n"
				   "\nbo\0dy\n";
	static const char noboundary[] = "Content-Type: multipart/mixed\n\nx\n";
	struct strbuf sb;
	struct mime_tree *t;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(onlyhdr, sizeof(onlyhdr) - 1);
	check_part(t->root, 0, 31, 1, 31, 0, 0, 0);
	assert_true(t->root->flags & MIME_PART_NO_HDR_END);
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, onlyhdr, sizeof(onlyhdr) - 1, 0),
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
		"NIL \"7bit\" 0 0)");
	t = mime_parse(nohdr, sizeof(nohdr) - 1);
	check_part(t->root, 0, 1, 1, 1, 11, 12, 1);
	mime_tree_free(&t);
	t = mime_parse("", 0);
	check_part(t->root, 0, 0, 0, 0, 0, 0, 0);
	mime_tree_free(&t);
	/* NUL bytes are data; a NUL cuts the Content-Type value. */
	t = mime_parse(nuls, sizeof(nuls) - 1);
	check_part(t->root, 0, 40, 3, 40, 6, 7, 1);
	assert_string_equal(t->root->subtype, "pl");
	mime_tree_free(&t);
	/* A multipart without boundary shows one empty part, with the
	 * extension fields of any part in a BODYSTRUCTURE. */
	assert_string_equal(
		render(&sb, noboundary, sizeof(noboundary) - 1, 1),
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
		"0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)");
	assert_string_equal(
		render(&sb, noboundary, sizeof(noboundary) - 1, 0),
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
		"0) \"mixed\")");
	strbuf_release(&sb);
}

/* test_digest - the default type in a multipart/digest is message/rfc822 */
static void test_digest(void **state)
{
	static const char msg[] = "Content-Type: multipart/digest; boundary=d\n"
				  "\n"
				  "--d\n"
				  "\n"
				  "Subject: m1\n"
				  "\n"
				  "b1\n"
				  "--d\n"
				  "Content-Type: text/plain\n"
				  "\n"
				  "b2\n"
				  "--d--\n";
	struct strbuf sb;
	struct mime_tree *t;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	t = mime_parse(msg, sizeof(msg) - 1);
	assert_ptr_equal(mime_find_section(t, "1.1", 3),
			 t->root->children->children);
	mime_tree_free(&t);
	assert_string_equal(
		render(&sb, msg, sizeof(msg) - 1, 0),
		"((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 17 (NIL \"m1\" NIL "
		"NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" "
		"\"us-ascii\") NIL NIL \"7bit\" 2 1) 3)(\"text\" \"plain\" "
		"(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1) \"digest\")");
	strbuf_release(&sb);
}

/* test_sections - message/rfc822 at the top and multipart inside */
static void test_sections(void **state)
{
	static const char msg[] = "Content-Type: message/rfc822\n"
				  "\n"
				  "Content-Type: multipart/mixed; boundary=z\n"
				  "\n"
				  "--z\n"
				  "\n"
				  "a\n"
				  "--z\n"
				  "\n"
				  "b\n"
				  "--z--\n";
	struct mime_tree *t;
	struct mime_part *inner;

	(void)state;
	t = mime_parse(msg, sizeof(msg) - 1);
	inner = t->root->children;
	assert_non_null(inner);
	assert_ptr_equal(mime_find_section(t, "1", 1), t->root);
	assert_ptr_equal(mime_find_section(t, "1.2", 3), inner->children->next);
	assert_null(mime_find_section(t, "1.3", 3));
	assert_null(mime_find_section(t, "2", 1));
	mime_tree_free(&t);
}

/* test_shared_eol - the empty line that ends a header is also the line
 * break of the boundary after it: no part reaches out of its parent */
static void test_shared_eol(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=q\r\n"
		"\r\n"
		"--q\r\n"
		"Content-Type: message/rfc822\r\n"
		"\r\n"
		"Subject: s\r\n"
		"\r\n"
		"--q\r\n"
		"Content-Type: text/plain\r\n"
		"--q--\r\n";
	struct mime_tree *t;
	struct mime_part *m;

	(void)state;
	t = mime_parse(msg, sizeof(msg) - 1);
	m = mime_find_section(t, "1", 1);
	check_part(m, 50, 32, 2, 82, 12, 12, 1);
	/* The inner header gives its empty line back to the boundary. */
	check_part(m->children, 82, 12, 1, 94, 0, 0, 0);
	/* A header cut by a boundary. */
	check_part(mime_find_section(t, "2", 1), 101, 24, 0, 125, 0, 0, 0);
	assert_true(mime_find_section(t, "2", 1)->flags & MIME_PART_NO_HDR_END);
	assert_true(mime_find_section(t, "2", 1)->flags & MIME_PART_TEXT);
	mime_tree_free(&t);
}

/* test_deep - 1000 nested multiparts stop at MIME_MAX_DEPTH */
static void test_deep(void **state)
{
	struct strbuf msg, out;
	struct mime_tree *t;
	struct mime_part *p;
	unsigned i, depth = 0;

	(void)state;
	strbuf_init(&msg, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (i = 0; i < 1000; i++)
		(void)strbuf_appendf(&msg,
				     "Content-Type: multipart/mixed; "
				     "boundary=b%u\n\n--b%u\n",
				     i, i);
	(void)strbuf_append_str(&msg, "\nleaf\n");
	t = mime_parse(msg.data, msg.len);
	assert_true(t->flags & MIME_TREE_TOO_DEEP);
	for (p = t->root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, MIME_MAX_DEPTH);
	assert_true(p->flags & MIME_PART_OPAQUE);
	assert_int_equal(mime_render_bodystructure(t, 1, 0, &out), 0);
	mime_tree_free(&t);
	/* The same with message/rfc822. */
	strbuf_reset(&msg);
	for (i = 0; i < 1000; i++)
		(void)strbuf_append_str(&msg,
					"Content-Type: message/rfc822\n\n");
	t = mime_parse(msg.data, msg.len);
	assert_true(t->flags & MIME_TREE_TOO_DEEP);
	assert_int_equal(t->nparts, MIME_MAX_DEPTH + 1);
	strbuf_reset(&out);
	assert_int_equal(mime_render_bodystructure(t, 1, 0, &out), 0);
	mime_tree_free(&t);
	strbuf_release(&msg);
	strbuf_release(&out);
}

/* test_many - 100k parts stop at MIME_MAX_PARTS */
static void test_many(void **state)
{
	struct strbuf msg, out;
	struct mime_tree *t;
	unsigned i;

	(void)state;
	strbuf_init(&msg, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	(void)strbuf_append_str(
		&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < 100000; i++)
		(void)strbuf_append_str(&msg, "--b\n\nx\n");
	(void)strbuf_append_str(&msg, "--b--\n");
	t = mime_parse(msg.data, msg.len);
	assert_true(t->flags & MIME_TREE_TOO_MANY);
	assert_int_equal(t->nparts, MIME_MAX_PARTS);
	assert_int_equal(t->root->nchildren, MIME_MAX_PARTS - 1);
	assert_non_null(mime_find_section(t, "9999", 4));
	assert_null(mime_find_section(t, "10000", 5));
	assert_int_equal(mime_render_bodystructure(t, 0, 0, &out), 0);
	mime_tree_free(&t);
	strbuf_release(&msg);
	strbuf_release(&out);
}

/* test_decode - lenient base64 and quoted-printable */
static void test_decode(void **state)
{
	static const struct {
		enum mime_encoding enc;
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{MIME_ENC_BASE64, "aGVs\r\nbG8=\r\n", 0, "hello"},
		{MIME_ENC_BASE64, "aGVsbG8", 0, "hello"},
		{MIME_ENC_BASE64, "aG*Vs!bG8=garbage", 1, "hello"},
		{MIME_ENC_BASE64, "a", 1, ""},
		{MIME_ENC_QP, "a=3Db=\r\nc  \r\nd\n", 0, "a=bc\r\nd\n"},
		{MIME_ENC_QP, "bad=zz=4", 1, "bad=zz=4"},
		{MIME_ENC_QP, "soft=\nend=", 0, "softend"},
		{MIME_ENC_QP, "lower=c3=a9", 0, "lower\xc3\xa9"},
		{MIME_ENC_IDENTITY, "as is", 0, "as is"},
	};
	struct strbuf sb;
	size_t i;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (i = 0; i < NELEM(cases); i++) {
		strbuf_reset(&sb);
		assert_int_equal(mime_decode(cases[i].enc, cases[i].in,
					     strlen(cases[i].in), &sb),
				 cases[i].rc);
		if (strcmp(sb.len ? sb.data : "", cases[i].out) != 0)
			fail_msg("case %zu: got %s", i, sb.data);
	}
	assert_int_equal(mime_decode(MIME_ENC_UNKNOWN, "x", 1, &sb), -1);
	assert_int_equal(mime_encoding_of(NULL), MIME_ENC_IDENTITY);
	assert_int_equal(mime_encoding_of("8BIT"), MIME_ENC_IDENTITY);
	assert_int_equal(mime_encoding_of("Base64"), MIME_ENC_BASE64);
	assert_int_equal(mime_encoding_of("x-uuencode"), MIME_ENC_UNKNOWN);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_lexer),
		cmocka_unit_test(test_prefix_boundary),
		cmocka_unit_test(test_no_close),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_shared_eol),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
