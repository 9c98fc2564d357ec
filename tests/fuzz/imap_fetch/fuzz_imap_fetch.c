/*
 * fuzz_imap_fetch - libFuzzer target for imapd's FETCH items
 *
 * SYNOPSIS
 *	tests/fuzz/imap_fetch/fuzz_imap_fetch [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	The input's first line is the item text of a FETCH command, the
 *	rest a message.  The line goes through imap_parser as
 *	"A FETCH 1 line" and then imapd_fetch_parse(); items that parse are
 *	rendered for the message, which must succeed (a message is any
 *	byte string) and give balanced output: every literal announced
 *	"{n}" is followed by n octets.  A broken promise calls abort().
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

/* literals_ok - every "{n}\r\n" in out is followed by n octets */
static bool literals_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '{')
			continue;
		size_t j = i + 1, n = 0;

		while (j < len && s[j] >= '0' && s[j] <= '9')
			n = n * 10 + (size_t)(s[j++] - '0');
		if (j + 2 >= len + 1 || s[j] != '}' || j == i + 1)
			continue;
		if (j + 2 > len || s[j + 1] != '\r' || s[j + 2] != '\n')
			continue;
		if (j + 3 + n > len)
			return false;
		i = j + 2 + n;
	}
	return true;
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
	struct imap_command c;
	struct strbuf cmd, out;
	struct imapd_fetch f;
	const char *err;
	size_t used;

	if (memchr(in, '\r', llen) != NULL || llen > 4096)
		return 0;
	imap_parser_limits_init(&lim, true);
	p = imap_parser_create(&lim, 0);
	strbuf_init(&cmd, STRBUF_NO_LIMIT);
	strbuf_append_str(&cmd, "A FETCH 1 ");
	strbuf_append(&cmd, in, llen);
	strbuf_append_str(&cmd, "\r\n");
	if (imap_parser_parse(p, cmd.data, cmd.len, &used, &c) == 1 &&
	    c.args_count >= 2 &&
	    imapd_fetch_parse(c.args + 1, c.args_count - 1, &f, &err) == 0) {
		struct imapd_msgview mv;

		memset(&mv, 0, sizeof(mv));
		mv.seq = 1;
		mv.uid = 9;
		mv.flags = MAIL_SEEN | MAIL_RECENT;
		mv.size = imapd_fetch_crlf_size(body.data, body.len);
		mv.load = load;
		mv.ctx = &body;
		strbuf_init(&out, STRBUF_NO_LIMIT);
		int r = imapd_fetch_render(&f, &mv, 0, &out, &err);
		if (r == 0 &&
		    !(f.attrs & (IMAPD_FETCH_ENVELOPE | IMAPD_FETCH_BODY |
				 IMAPD_FETCH_BODYSTRUCTURE)))
			check(literals_ok(out.data != NULL ? out.data : "",
					  out.len));
		strbuf_release(&out);
		imapd_fetch_clear(&f);
	}
	strbuf_release(&cmd);
	imap_parser_free(&p);
	return 0;
}
