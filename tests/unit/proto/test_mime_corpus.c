/*
 * test_mime_corpus - golden files for BODY, BODYSTRUCTURE and ENVELOPE
 *
 * Each tests/unit/proto/mime_corpus/NAME.eml is parsed as a whole
 * message; what lib/proto renders of it must equal NAME.ref byte for
 * byte: one line each for BODY, BODYSTRUCTURE and ENVELOPE as an IMAP4rev1
 * client gets them, then ENVELOPE and BODYSTRUCTURE as a client that
 * enabled UTF8=ACCEPT gets them (8-bit header text in quoted strings
 * instead of literals).  CR and LF inside a rendering (literals) are
 * written as \r and \n so that a .ref is one line per item.
 *
 * The .ref files were made by this program and then read against what
 * Dovecot answers for the same messages (see mime_corpus/README).  To
 * write them again after a deliberate change, run the test with
 * MIME_CORPUS_WRITE=1 and review the diff.
 */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"
#include "rfc822.h"
#include "strbuf.h"

#ifndef MIME_CORPUS_DIR
#error "MIME_CORPUS_DIR must name tests/unit/proto/mime_corpus"
#endif

/* Every message of the corpus: a file that goes missing fails. */
static const char *const corpus[] = {
	"alternative",	    "bad_content_type", "broken_boundary",
	"crlf_alternative", "digest",		"eightbit_headers",
	"empty_body",	    "encoded_words",	"missing_boundary_param",
	"mixed_attachment", "nested_rfc822",	"no_closing_boundary",
	"no_header",	    "plain_no_mime",	"related_inline",
	"rfc2231_params",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* read_file - the whole of path (malloc'd), or NULL with errno */
static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, n;
	char buf[8192];

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		data = realloc(data, len + n + 1);
		assert_non_null(data);
		memcpy(data + len, buf, n);
		len += n;
	}
	fclose(f);
	if (data == NULL)
		data = calloc(1, 1);
	data[len] = '\0';
	*len_r = len;
	return data;
}

/* add_item - "NAME rendering\n" with CR and LF escaped */
static void add_item(struct strbuf *out, const char *name,
		     const struct strbuf *item)
{
	assert_int_equal(strbuf_append_str(out, name), 0);
	assert_int_equal(strbuf_append(out, " ", 1), 0);
	for (size_t i = 0; i < item->len; i++) {
		const char *esc = item->data[i] == '\r'	  ? "\\r"
				  : item->data[i] == '\n' ? "\\n"
							  : NULL;

		if (esc != NULL)
			assert_int_equal(strbuf_append_str(out, esc), 0);
		else
			assert_int_equal(strbuf_append(out, &item->data[i], 1),
					 0);
	}
	assert_int_equal(strbuf_append(out, "\n", 1), 0);
}

/* render_all - the .ref text of one message */
static void render_all(const char *msg, size_t len, struct strbuf *out)
{
	struct mime_tree *t = mime_parse(msg, len);
	struct strbuf item;

	assert_non_null(t);
	strbuf_init(&item, STRBUF_NO_LIMIT);
	assert_int_equal(mime_render_bodystructure(t, 0, 0, &item), 0);
	add_item(out, "BODY", &item);
	strbuf_reset(&item);
	assert_int_equal(mime_render_bodystructure(t, 1, 0, &item), 0);
	add_item(out, "BODYSTRUCTURE", &item);
	strbuf_reset(&item);
	assert_int_equal(rfc822_render_envelope(msg, len, 0, &item), 0);
	add_item(out, "ENVELOPE", &item);
	strbuf_reset(&item);
	assert_int_equal(
		rfc822_render_envelope(msg, len, RFC822_IMAP_UTF8, &item), 0);
	add_item(out, "ENVELOPE-UTF8", &item);
	strbuf_reset(&item);
	assert_int_equal(
		mime_render_bodystructure(t, 1, RFC822_IMAP_UTF8, &item), 0);
	add_item(out, "BODYSTRUCTURE-UTF8", &item);
	strbuf_release(&item);
	mime_tree_free(&t);
}

/* test_corpus - every message renders as its .ref says */
static void test_corpus(void **state)
{
	bool write = getenv("MIME_CORPUS_WRITE") != NULL;
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < NELEM(corpus); i++) {
		char path[4096];
		struct strbuf got;
		size_t len, ref_len;
		char *msg, *ref;

		snprintf(path, sizeof(path), "%s/%s.eml", MIME_CORPUS_DIR,
			 corpus[i]);
		msg = read_file(path, &len);
		if (msg == NULL)
			fail_msg("read %s: %s", path, strerror(errno));
		strbuf_init(&got, STRBUF_NO_LIMIT);
		render_all(msg, len, &got);
		snprintf(path, sizeof(path), "%s/%s.ref", MIME_CORPUS_DIR,
			 corpus[i]);
		if (write) {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(fwrite(got.data, 1, got.len, f),
					 got.len);
			assert_int_equal(fclose(f), 0);
		} else if ((ref = read_file(path, &ref_len)) == NULL) {
			print_error("read %s: %s\n", path, strerror(errno));
			failed++;
		} else {
			if (ref_len != got.len ||
			    memcmp(ref, got.data, got.len) != 0) {
				print_error("%s.eml renders differently from "
					    "its .ref:\n%.*s",
					    corpus[i], (int)got.len, got.data);
				failed++;
			}
			free(ref);
		}
		strbuf_release(&got);
		free(msg);
	}
	assert_int_equal(failed, 0);
}

/* test_truncated - every prefix of a message parses and renders */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(corpus); i++) {
		char path[4096];
		size_t len;
		char *msg;

		snprintf(path, sizeof(path), "%s/%s.eml", MIME_CORPUS_DIR,
			 corpus[i]);
		msg = read_file(path, &len);
		assert_non_null(msg);
		for (size_t cut = 0; cut <= len; cut++) {
			/* An exact-size copy, so ASan sees a read past it. */
			char *copy = malloc(cut + 1);
			struct strbuf out;

			assert_non_null(copy);
			memcpy(copy, msg, cut);
			strbuf_init(&out, STRBUF_NO_LIMIT);
			render_all(copy, cut, &out);
			strbuf_release(&out);
			free(copy);
		}
		free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
