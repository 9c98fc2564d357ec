/*
 * smtp_reply - incremental parser of SMTP server replies (the client side)
 *
 * SYNOPSIS
 *	#include "smtp_reply.h"
 *
 *	struct smtp_reply_parser *smtp_reply_parser_create(void)
 *	void smtp_reply_parser_free(parserp)
 *	void smtp_reply_parser_reset(parser)
 *	int smtp_reply_parse(parser, data, len, consumed_r, reply_r, error_r)
 *	const char *smtp_reply_line(parser, i, len_r)
 *	void smtp_reply_format(parser, out, max)
 *	int smtp_reply_ehlo(parser, ehlo)
 *	bool smtp_ehlo_has_auth(ehlo, mech)
 *
 * DESCRIPTION
 *	A reply is one or more lines (RFC 5321 §4.2):
 *
 *		Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *			     Reply-code [ SP textstring ] CRLF
 *
 *	smtp_reply_parse() is a resumable state machine over the bytes the
 *	server sends (STYLE.md §7): it keeps the partial line between
 *	calls, so the input may be split anywhere, down to one byte at a
 *	time.  A line ends at LF; a CR right before it is dropped, so a bare
 *	LF is accepted as Postfix does.  Every line must start with the same
 *	three-digit code, first digit 2 to 5 (§4.2.1), followed by "-" (more
 *	lines follow), " " or the end of the line (the last line).
 *
 *	The enhanced status code (RFC 2034 §4, syntax RFC 3463 §2) is taken
 *	from the start of the first line's text when it is there, and only
 *	when its class is the code's first digit; a disagreeing one is
 *	reported (status_mismatch) and otherwise ignored, so the reply code
 *	rules, as in Postfix.
 *
 *	smtp_reply_ehlo() reads the EHLO keywords (RFC 5321 §4.1.1.1) of the
 *	lines after the greeting line, case-insensitively, including the
 *	pre-RFC "AUTH=" form that Postfix also honours.
 *
 * DIAGNOSTICS
 *	smtp_reply_parse() returns -1 with a static message: NUL byte, line
 *	too long, too many lines, reply too large, bad reply code, code
 *	mismatch between lines, no space or dash after the code.
 *
 * SECURITY
 *	Server replies are untrusted input.  Every buffer has a hard limit
 *	(SMTP_REPLY_LINE_MAX, _LINES_MAX, _SIZE_MAX), the work is linear in
 *	the input, and the text handed back never contains NUL or LF.
 *	smtp_reply_format() replaces control and 8-bit bytes.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "strbuf.h"
#include "strnum.h"
#include "smtp_reply.h"

struct smtp_reply_line {
	size_t off;
	size_t len;
};

struct smtp_reply_parser {
	struct strbuf line; /* the partial current line */
	struct strbuf text; /* the lines' text, back to back */
	struct smtp_reply_line *lines;
	size_t lines_cap;
	bool done; /* reply was handed out: clear before the next byte */
	struct smtp_reply reply;
};

/* smtp_reply_parser_create - a parser waiting for the first line */
struct smtp_reply_parser *smtp_reply_parser_create(void)
{
	struct smtp_reply_parser *parser = xcalloc(1, sizeof(*parser));

	/* The CR before LF is kept in line until the LF arrives. */
	strbuf_init(&parser->line, SMTP_REPLY_LINE_MAX + 1);
	strbuf_init(&parser->text, SMTP_REPLY_SIZE_MAX);
	return parser;
}

/* smtp_reply_parser_free - free and clear the caller's pointer */
void smtp_reply_parser_free(struct smtp_reply_parser **parserp)
{
	struct smtp_reply_parser *parser = *parserp;

	if (parser == NULL)
		return;
	strbuf_release(&parser->line);
	strbuf_release(&parser->text);
	free(parser->lines);
	free(parser);
	*parserp = NULL;
}

/* smtp_reply_clear - forget the reply being built */
static void smtp_reply_clear(struct smtp_reply_parser *parser)
{
	strbuf_reset(&parser->text);
	memset(&parser->reply, 0, sizeof(parser->reply));
	parser->done = false;
}

/* smtp_reply_parser_reset - forget partial lines and replies */
void smtp_reply_parser_reset(struct smtp_reply_parser *parser)
{
	strbuf_reset(&parser->line);
	smtp_reply_clear(parser);
}

/* smtp_reply_status_len - length of an RFC 3463 x.y.z at the start of
 * text, followed by SP or the end; 0 when there is none */
static size_t smtp_reply_status_len(const char *text, size_t len)
{
	size_t i = 0;
	size_t n;
	int part;

	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') ||
	    text[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0;
		     i < len && n < 4 && text[i] >= '0' && text[i] <= '9'; n++)
			i++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && text[i] != ' ')
		return 0;
	return i;
}

/* smtp_reply_line_done - check one complete line and add it to the reply;
 * returns 1 when it was the last line, 0 when more follow, -1 on error */
static int smtp_reply_line_done(struct smtp_reply_parser *parser,
				const char *line, size_t len,
				const char **error_r)
{
	unsigned code;
	bool last;
	size_t slen;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9') {
		*error_r = "bad reply code";
		return -1;
	}
	code = (unsigned)(line[0] - '0') * 100 +
	       (unsigned)(line[1] - '0') * 10 + (unsigned)(line[2] - '0');
	if (len == 3 || line[3] == ' ') {
		last = true;
	} else if (line[3] == '-') {
		last = false;
	} else {
		*error_r = "no space or dash after the reply code";
		return -1;
	}
	if (parser->reply.nlines > 0 && code != parser->reply.code) {
		*error_r = "reply code differs between lines";
		return -1;
	}
	if (parser->reply.nlines >= SMTP_REPLY_LINES_MAX) {
		*error_r = "too many reply lines";
		return -1;
	}
	line += len > 3 ? 4 : 3;
	len -= len > 3 ? 4 : 3;
	if (strbuf_append(&parser->text, line, len) < 0) {
		*error_r = "reply too large";
		return -1;
	}
	if (parser->reply.nlines == parser->lines_cap) {
		parser->lines_cap =
			parser->lines_cap ? parser->lines_cap * 2 : 8;
		parser->lines = xreallocarray(parser->lines, parser->lines_cap,
					      sizeof(*parser->lines));
	}
	parser->lines[parser->reply.nlines].off = parser->text.len - len;
	parser->lines[parser->reply.nlines].len = len;
	if (parser->reply.nlines++ == 0) {
		parser->reply.code = code;
		/* RFC 2034 §4: the status follows the code on every line;
		 * the first line's is the reply's. */
		slen = smtp_reply_status_len(line, len);
		if (slen > 0 && slen < SMTP_REPLY_STATUS_MAX) {
			if ((unsigned)(line[0] - '0') == code / 100) {
				memcpy(parser->reply.status, line, slen);
				parser->reply.status[slen] = 0;
			} else {
				parser->reply.status_mismatch = true;
			}
		}
	}
	return last ? 1 : 0;
}

/* smtp_reply_parse - feed bytes, get complete replies */
int smtp_reply_parse(struct smtp_reply_parser *parser, const void *data,
		     size_t len, size_t *consumed_r,
		     const struct smtp_reply **reply_r, const char **error_r)
{
	const char *p = data;
	const char *lf;
	size_t n;
	size_t used = 0;
	size_t llen;
	int ret;

	*consumed_r = 0;
	if (parser->done)
		smtp_reply_clear(parser);
	while (used < len) {
		lf = memchr(p + used, '\n', len - used);
		n = lf != NULL ? (size_t)(lf - (p + used)) : len - used;
		if (memchr(p + used, 0, n) != NULL) {
			*error_r = "NUL byte in reply";
			return -1;
		}
		if (strbuf_append(&parser->line, p + used, n) < 0) {
			*error_r = "reply line too long";
			return -1;
		}
		used += n;
		if (lf == NULL)
			break;
		used++; /* the LF */
		llen = parser->line.len;
		if (llen > 0 && parser->line.data[llen - 1] == '\r')
			llen--;
		if (llen > SMTP_REPLY_LINE_MAX) {
			*error_r = "reply line too long";
			return -1;
		}
		ret = smtp_reply_line_done(parser, parser->line.data, llen,
					   error_r);
		strbuf_reset(&parser->line);
		if (ret < 0)
			return -1;
		if (ret == 1) {
			parser->done = true;
			*consumed_r = used;
			*reply_r = &parser->reply;
			return 1;
		}
	}
	/* A partial line of LINE_MAX octets without CR can never end well:
	 * the strbuf limit leaves room for that CR only. */
	*consumed_r = used;
	return 0;
}

/* smtp_reply_line - the text of line i */
const char *smtp_reply_line(const struct smtp_reply_parser *parser, size_t i,
			    size_t *len_r)
{
	if (i >= parser->reply.nlines) {
		*len_r = 0;
		return "";
	}
	*len_r = parser->lines[i].len;
	return parser->text.data + parser->lines[i].off;
}

/* smtp_reply_format - one line for a DSN Diagnostic-Code */
void smtp_reply_format(const struct smtp_reply_parser *parser,
		       struct strbuf *out, size_t max)
{
	const struct smtp_reply *reply = &parser->reply;
	size_t slen = strlen(reply->status);
	size_t start = out->len;
	size_t i, j, len;
	const char *text;
	char c;

	(void)strbuf_appendf(out, "%03u", reply->code);
	if (slen > 0)
		(void)strbuf_appendf(out, " %s", reply->status);
	for (i = 0; i < reply->nlines; i++) {
		text = smtp_reply_line(parser, i, &len);
		/* Drop the status each line repeats (RFC 2034 §4). */
		if (slen > 0 && len >= slen &&
		    memcmp(text, reply->status, slen) == 0 &&
		    (len == slen || text[slen] == ' ')) {
			text += slen;
			len -= slen;
		}
		while (len > 0 && *text == ' ') {
			text++;
			len--;
		}
		while (len > 0 && text[len - 1] == ' ')
			len--;
		if (len == 0)
			continue;
		if (out->len - start >= max)
			break;
		(void)strbuf_append_char(out, ' ');
		for (j = 0; j < len && out->len - start < max; j++) {
			c = text[j];
			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				c = '?';
			if (strbuf_append_char(out, c) < 0)
				return;
		}
	}
	if (out->len - start > max)
		strbuf_truncate(out, start + max);
}

/* smtp_ehlo_word - is [text, text+len) the keyword kw, any case */
static bool smtp_ehlo_word(const char *text, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(text, kw, len) == 0;
}

/* smtp_ehlo_has_auth_n - is the mechanism [mech, mech+n) in ehlo->auth */
static bool smtp_ehlo_has_auth_n(const struct smtp_ehlo *ehlo, const char *mech,
				 size_t n)
{
	const char *p = ehlo->auth;
	const char *sp;
	size_t len;

	while (*p != 0) {
		sp = strchr(p, ' ');
		len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (len == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += len;
		if (*p == ' ')
			p++;
	}
	return false;
}

/* smtp_ehlo_has_auth - is mech in ehlo->auth */
bool smtp_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech)
{
	return smtp_ehlo_has_auth_n(ehlo, mech, strlen(mech));
}

/* smtp_ehlo_add_auth - append each mechanism of [p, p+len) */
static void smtp_ehlo_add_auth(struct smtp_ehlo *ehlo, const char *p,
			       size_t len)
{
	size_t i = 0, start, have, n, k;
	char c;

	while (i < len) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
		n = i - start;
		if (n == 0 || smtp_ehlo_has_auth_n(ehlo, p + start, n))
			continue;
		have = strlen(ehlo->auth);
		if (have + (have > 0) + n + 1 > sizeof(ehlo->auth))
			continue;
		if (have > 0)
			ehlo->auth[have++] = ' ';
		for (k = 0; k < n; k++) {
			c = p[start + k];
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			else if ((unsigned char)c <= 0x20 ||
				 (unsigned char)c >= 0x7f)
				c = '?';
			ehlo->auth[have++] = c;
		}
		ehlo->auth[have] = 0;
	}
}

/* smtp_reply_ehlo - decode the EHLO keywords */
int smtp_reply_ehlo(const struct smtp_reply_parser *parser,
		    struct smtp_ehlo *ehlo)
{
	static const struct {
		const char *kw;
		unsigned ext;
	} simple[] = {
		{"PIPELINING", SMTP_EXT_PIPELINING},
		{"8BITMIME", SMTP_EXT_8BITMIME},
		{"SMTPUTF8", SMTP_EXT_SMTPUTF8},
		{"STARTTLS", SMTP_EXT_STARTTLS},
		{"DSN", SMTP_EXT_DSN},
		{"CHUNKING", SMTP_EXT_CHUNKING},
		{"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
		{"BINARYMIME", SMTP_EXT_BINARYMIME},
	};
	const char *text, *arg;
	size_t i, k, len, kwlen, arglen;
	uint64_t size;

	memset(ehlo, 0, sizeof(*ehlo));
	if (parser->reply.code / 100 != 2)
		return -1;
	/* Line 0 is "domain [greeting]"; each other is "keyword [params]". */
	for (i = 1; i < parser->reply.nlines; i++) {
		text = smtp_reply_line(parser, i, &len);
		while (len > 0 && text[len - 1] == ' ')
			len--;
		for (kwlen = 0;
		     kwlen < len && text[kwlen] != ' ' && text[kwlen] != '=';
		     kwlen++)
			;
		arg = text + kwlen;
		arglen = len - kwlen;
		if (arglen > 0) {
			arg++;
			arglen--;
		}
		for (k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
			if (smtp_ehlo_word(text, kwlen, simple[k].kw)) {
				ehlo->ext |= simple[k].ext;
				break;
			}
		}
		if (smtp_ehlo_word(text, kwlen, "SIZE")) {
			/* RFC 1870 §4: "SIZE" alone or with 0 = no limit. */
			ehlo->ext |= SMTP_EXT_SIZE;
			if (arglen > 0 && strn_to_u64(arg, arglen, &size) == 0)
				ehlo->size_max = size;
		} else if (smtp_ehlo_word(text, kwlen, "AUTH")) {
			ehlo->ext |= SMTP_EXT_AUTH;
			smtp_ehlo_add_auth(ehlo, arg, arglen);
		}
	}
	return 0;
}
