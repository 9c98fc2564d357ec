/*
 * fuzz_imap_search - libFuzzer target for imapd's SEARCH programs and
 * sequence sets
 *
 * SYNOPSIS
 *	tests/fuzz/imap_search/fuzz_imap_search [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	The input's first line is the argument text of a SEARCH command, the
 *	rest a message.  The line goes through imap_parser as
 *	"A SEARCH line" and then imapd_search_parse(); a program that parses
 *	is matched against the message under a few flag, size, date and
 *	number combinations, and "NOT (line)" must then match exactly where
 *	the program does not.  Each atom that parses as a sequence set is
 *	checked against imapd_seqset: membership over 1..64 written out by
 *	imapd_seqset_format() and parsed back must be the same set.  A
 *	broken promise calls abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"
#include "imapd.h"
#include "mailbox.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

struct body {
	const char *data;
	size_t len;
};

static const char *load(void *ctx, size_t *len_r)
{
	struct body *b = ctx;

	*len_r = b->len;
	return b->data;
}

/* seqset_check - an atom that is a set: format/parse round trip */
static void seqset_check(const char *s, size_t len)
{
	struct imapd_seqset set, back;
	const char *err;
	uint32_t vals[64];
	size_t n = 0;
	struct strbuf out;

	if (imapd_seqset_parse(s, len, &set, &err) < 0)
		return;
	for (uint32_t v = 1; v <= 64; v++)
		if (imapd_seqset_contains(&set, v, 64))
			vals[n++] = v;
	(void)imapd_seqset_within(&set, 64);
	(void)imapd_seqset_contains(&set, 1, 0);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	check(imapd_seqset_format(vals, n, &out) == 0);
	if (n > 0) {
		check(imapd_seqset_parse(out.data, out.len, &back, &err) == 0);
		for (uint32_t v = 1; v <= 64; v++)
			check(imapd_seqset_contains(&back, v, 64) ==
			      imapd_seqset_contains(&set, v, 64));
		imapd_seqset_clear(&back);
	}
	strbuf_release(&out);
	imapd_seqset_clear(&set);
}

static void walk(const struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST)
			walk(a[i].list, a[i].list_count);
		else if (a[i].type == IMAP_ARG_ATOM ||
			 a[i].type == IMAP_ARG_NUMBER)
			seqset_check(a[i].str, a[i].len);
	}
}

/* parse - "A SEARCH text" through imap_parser and imapd_search_parse */
static struct imapd_search *parse(struct imap_parser *p, const char *prefix,
				  const char *line, size_t len,
				  const char *suffix, bool walk_args)
{
	struct strbuf cmd;
	struct imap_command c;
	struct imapd_search *s = NULL;
	size_t used;
	const char *err;
	bool bad;

	strbuf_init(&cmd, STRBUF_NO_LIMIT);
	strbuf_append_str(&cmd, prefix);
	strbuf_append(&cmd, line, len);
	strbuf_append_str(&cmd, suffix);
	if (imap_parser_parse(p, cmd.data, cmd.len, &used, &c) == 1) {
		if (walk_args)
			walk(c.args, c.args_count);
		s = imapd_search_parse(c.args, c.args_count, &err, &bad);
		check(s != NULL || err != NULL);
	}
	strbuf_release(&cmd);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t llen = nl != NULL ? (size_t)(nl - in) : size;
	struct body body = {nl != NULL ? nl + 1 : "",
			    nl != NULL ? size - llen - 1 : 0};
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imapd_search *s, *neg;
	static const char *const kw[] = {"$Junk", "Work", "x"};

	if (memchr(in, '\r', llen) != NULL || llen > 4096)
		return 0;
	imap_parser_limits_init(&lim, true);
	p = imap_parser_create(&lim, IMAP_PARSER_FLAG_LITERAL_PLUS);
	s = parse(p, "A SEARCH ", in, llen, "\r\n", true);
	if (s == NULL) {
		imap_parser_free(&p);
		return 0;
	}
	bool plain = !imapd_search_has_return(s);
	imap_parser_free(&p);
	p = imap_parser_create(&lim, IMAP_PARSER_FLAG_LITERAL_PLUS);
	neg = plain ? parse(p, "A SEARCH NOT (", in, llen, ")\r\n", false)
		    : NULL;
	for (unsigned i = 0; i < 4; i++) {
		struct imapd_msgview mv;

		memset(&mv, 0, sizeof(mv));
		mv.seq = 1 + i * 7;
		mv.uid = 3 + i * 100;
		mv.flags = (i * 0x15u) & 0x5fu;
		mv.keywords = i;
		mv.keyword_names = kw;
		mv.keyword_count = 3;
		mv.modseq = i * 5;
		mv.size = body.len + i;
		mv.internal = (time_t)i * 400000000;
		mv.load = i == 3 ? NULL : load;
		mv.ctx = &body;
		bool m = imapd_search_match(s, &mv, 22, 303);
		if (neg != NULL)
			check(imapd_search_match(neg, &mv, 22, 303) == !m);
	}
	imapd_search_free(&neg);
	imapd_search_free(&s);
	imap_parser_free(&p);
	return 0;
}
