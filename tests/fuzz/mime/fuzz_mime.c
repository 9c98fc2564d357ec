/*
 * fuzz_mime - libFuzzer target for the MIME structure parser
 *
 * SYNOPSIS
 *	tests/fuzz/mime/fuzz_mime [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Parses each input as a whole message (an exact-size copy, so ASan
 *	sees any read past the end), renders BODY and BODYSTRUCTURE with
 *	and without UTF-8, looks up a handful of section numbers and
 *	decodes every leaf body and parameter.  Then checks what the parser
 *	promises:
 *
 *	- every part's header and body lie inside the message, the body
 *	  right after the header, children inside their parent's body;
 *	- virtual sizes are at least the physical ones and at most twice;
 *	- the part count and depth respect MIME_MAX_PARTS/MIME_MAX_DEPTH;
 *	- a section lookup returns a part of the tree;
 *	- the rendering has balanced parentheses outside strings.
 *
 *	A broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports, leaks and timeouts, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "rfc822.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_at - abort when a promise is broken, saying which */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "check failed at line %d\n", line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* check_part - the invariants of a part and what is under it */
static unsigned check_part(const struct mime_tree *t, const struct mime_part *p,
			   struct strbuf *sb)
{
	const struct mime_part *c;
	unsigned n = 1, nchildren = 0;
	unsigned i;

	check(p->depth <= MIME_MAX_DEPTH);
	check(p->hdr_offset + p->hdr_size == p->body_offset);
	check(p->body_offset + p->body_size <= t->len);
	check(p->hdr_vsize >= p->hdr_size && p->hdr_vsize <= 2 * p->hdr_size);
	check(p->body_vsize >= p->body_size &&
	      p->body_vsize <= 2 * p->body_size);
	check(p->body_lines <= p->body_size);
	check(p->hdr_lines <= p->hdr_size);
	for (c = p->children; c != NULL; c = c->next) {
		check(c->parent == p);
		check(c->depth == p->depth + 1);
		check(c->hdr_offset >= p->body_offset);
		check(c->body_offset + c->body_size <=
		      p->body_offset + p->body_size);
		n += check_part(t, c, sb);
		nchildren++;
	}
	check(nchildren == p->nchildren);
	if (p->flags & MIME_PART_MESSAGE)
		check(p->nchildren <= 1);
	for (i = 0; i < p->nparams; i++) {
		strbuf_reset(sb);
		(void)mime_param_decode(&p->params[i], sb);
	}
	for (i = 0; i < p->ndisp_params; i++) {
		strbuf_reset(sb);
		(void)mime_param_decode(&p->disp_params[i], sb);
	}
	if (p->children == NULL) {
		strbuf_reset(sb);
		(void)mime_decode(mime_encoding_of(p->encoding),
				  t->buf + p->body_offset, p->body_size, sb);
	}
	return n;
}

/* in_tree - is q a part of the tree under p */
static int in_tree(const struct mime_part *p, const struct mime_part *q)
{
	for (; q != NULL; q = q->parent)
		if (q == p)
			return 1;
	return 0;
}

/* balanced - parentheses outside quoted strings and literals */
static void balanced(const struct strbuf *sb)
{
	size_t i;
	long depth = 0;

	for (i = 0; i < sb->len; i++) {
		char c = sb->data[i];

		if (c == '"') {
			for (i++; i < sb->len && sb->data[i] != '"'; i++)
				if (sb->data[i] == '\\')
					i++;
			check(i < sb->len);
		} else if (c == '{') {
			size_t n = 0;

			for (i++; i < sb->len && sb->data[i] != '}'; i++)
				n = n * 10 + (size_t)(sb->data[i] - '0');
			check(i + 2 < sb->len && sb->data[i + 1] == '\r' &&
			      sb->data[i + 2] == '\n');
			i += 2 + n;
			check(i < sb->len);
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			check(--depth >= 0);
		}
	}
	check(depth == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sections[] = {
		"1", "2", "1.1", "1.2", "2.1", "1.1.1", "3.2.1", "1.2.3.4"};
	char *buf = malloc(size ? size : 1);
	struct mime_tree *t;
	struct strbuf sb, tmp;
	unsigned n, flags;
	size_t i;

	check(buf != NULL);
	memcpy(buf, data, size);
	t = mime_parse(buf, size);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_init(&tmp, STRBUF_NO_LIMIT);
	n = check_part(t, t->root, &tmp);
	check(n == t->nparts && n <= MIME_MAX_PARTS);
	check(t->root->hdr_offset == 0);
	for (flags = 0; flags < 2; flags++) {
		strbuf_reset(&sb);
		check(mime_render_bodystructure(t, 1, flags, &sb) == 0);
		balanced(&sb);
		strbuf_reset(&sb);
		check(mime_render_bodystructure(t, 0, flags, &sb) == 0);
		balanced(&sb);
	}
	strbuf_reset(&sb);
	check(rfc822_render_envelope(buf, size, 0, &sb) == 0);
	balanced(&sb);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct mime_part *p =
			mime_find_section(t, sections[i], strlen(sections[i]));

		if (p != NULL)
			check(in_tree(t->root, p));
	}
	/* The input itself as a section number must not crash either. */
	(void)mime_find_section(t, buf, size < 64 ? size : 64);
	/* And a bounded output fails cleanly. */
	strbuf_release(&sb);
	strbuf_init(&sb, 16);
	(void)mime_render_bodystructure(t, 1, 0, &sb);
	strbuf_release(&sb);
	strbuf_release(&tmp);
	mime_tree_free(&t);
	free(buf);
	return 0;
}
