/*
 * imapd_fetch - FETCH: which items a client asked for, and their values
 *
 * SYNOPSIS
 *	#include "imapd.h"
 *
 *	int imapd_fetch_parse(args, n, fetch, error_r);
 *	int imapd_fetch_render(fetch, msg, flags, out, error_r);
 *	void imapd_fetch_clear(fetch);
 *
 * DESCRIPTION
 *	imapd_fetch_parse() reads the items of FETCH (RFC 9051 §6.4.5,
 *	RFC 3501 §6.4.5): one item, a parenthesised list or a macro (ALL,
 *	FAST, FULL), then the optional CONDSTORE modifier list
 *	(CHANGEDSINCE n).  Section items come from imap_parser as one atom
 *	("BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>") which is split here
 *	into the part number, the text specifier, the header field names
 *	and the partial range.
 *
 *	imapd_fetch_render() writes the values for one message, from a
 *	struct imapd_msgview: flags, dates and sizes from the view, the
 *	rest from the message text loaded once (ENVELOPE and BODYSTRUCTURE
 *	through lib/proto, sections cut from the MIME tree).  When nothing
 *	asked for needs more than the header (ENVELOPE, RFC822.HEADER,
 *	BODY[HEADER...]), only the header is read (the view's load_header).
 *	Whole-message literals (BODY[], RFC822) are written straight into
 *	the response with their CRLF size counted first, without an
 *	intermediate copy.  Messages are
 *	stored with LF line ends; what goes on the wire has CRLF, so
 *	sizes, sections and partial ranges count CRLF octets, as
 *	RFC822.SIZE does.  BINARY[] undoes the part's transfer encoding
 *	(RFC 3516) and is sent as literal8 when it holds a NUL.
 *
 * DIAGNOSTICS
 *	Parse errors are static texts for "BAD".  A message that cannot
 *	be read makes imapd_fetch_render() fail; the session answers NO.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "imapd.h"
#include "mailbox.h"
#include "mime.h"
#include "rfc822.h"

/* Largest number of HEADER.FIELDS names in one section. */
#define FETCH_MAX_FIELDS 1000

void imapd_fetch_clear(struct imapd_fetch *fetch)
{
	for (size_t i = 0; i < fetch->section_count; i++) {
		struct imapd_fetch_section *s = &fetch->sections[i];

		free(s->spec);
		free(s->part);
		for (size_t j = 0; j < s->field_count; j++)
			free(s->fields[j]);
		free(s->fields);
	}
	free(fetch->sections);
	memset(fetch, 0, sizeof(*fetch));
}

/* parse_fields - "(FROM TO "X-A")" into s->fields */
static int parse_fields(const char *p, const char *end,
			struct imapd_fetch_section *s, const char **error_r)
{
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p != '(') {
		*error_r = "HEADER.FIELDS needs a list";
		return -1;
	}
	p++;
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end) {
			*error_r = "Missing ')' in HEADER.FIELDS";
			return -1;
		}
		if (*p == ')') {
			p++;
			break;
		}
		const char *start;
		size_t len;

		if (*p == '"') {
			start = ++p;
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (p >= end || *p != '"') {
				*error_r = "Bad header field name";
				return -1;
			}
			len = (size_t)(p - start);
			p++;
		} else {
			start = p;
			while (p < end && *p != ' ' && *p != ')' &&
			       (unsigned char)*p > 0x20 && *p != ':' &&
			       *p != '(')
				p++;
			len = (size_t)(p - start);
			if (p < end && *p != ' ' && *p != ')') {
				*error_r = "Bad header field name";
				return -1;
			}
		}
		if (len == 0) {
			*error_r = "Empty header field name";
			return -1;
		}
		if (s->field_count >= FETCH_MAX_FIELDS) {
			*error_r = "Too many header field names";
			return -1;
		}
		s->fields = xreallocarray(s->fields, s->field_count + 1,
					  sizeof(*s->fields));
		s->fields[s->field_count++] = xstrndup(start, len);
	}
	while (p < end && *p == ' ')
		p++;
	if (p != end) {
		*error_r = "Garbage after HEADER.FIELDS list";
		return -1;
	}
	if (s->field_count == 0) {
		*error_r = "Empty HEADER.FIELDS list";
		return -1;
	}
	return 0;
}

/* parse_section - the inside of [...] into s */
static int parse_section(const char *p, const char *end,
			 struct imapd_fetch_section *s, const char **error_r)
{
	const char *part = p;

	/* section-part: nz-number *("." nz-number) */
	while (p < end && isdigit((unsigned char)*p)) {
		if (*p == '0') {
			*error_r = "Invalid section number";
			return -1;
		}
		while (p < end && isdigit((unsigned char)*p))
			p++;
		if (p - part > 100) {
			*error_r = "Section number too long";
			return -1;
		}
		if (p < end && *p == '.' && p + 1 < end &&
		    isdigit((unsigned char)p[1]))
			p++;
		else
			break;
	}
	s->part = xstrndup(part, (size_t)(p - part));
	if (p < end && p > part) {
		if (*p != '.') {
			*error_r = "Invalid section";
			return -1;
		}
		p++;
	}
	s->kind = IMAPD_SECTION_ALL;
	if (p == end)
		return p > part && p[-1] == '.'
			       ? (*error_r = "Invalid section", -1)
			       : 0;
	if (s->binary || s->binary_size) {
		*error_r = "BINARY takes only a part number";
		return -1;
	}
	size_t rest = (size_t)(end - p);
	if (rest >= 17 && strncasecmp(p, "HEADER.FIELDS.NOT", 17) == 0 &&
	    (rest == 17 || p[17] == ' ' || p[17] == '(')) {
		s->kind = IMAPD_SECTION_HEADER_FIELDS_NOT;
		return parse_fields(p + 17, end, s, error_r);
	}
	if (rest >= 13 && strncasecmp(p, "HEADER.FIELDS", 13) == 0 &&
	    (rest == 13 || p[13] == ' ' || p[13] == '(')) {
		s->kind = IMAPD_SECTION_HEADER_FIELDS;
		return parse_fields(p + 13, end, s, error_r);
	}
	if (rest == 6 && strncasecmp(p, "HEADER", 6) == 0) {
		s->kind = IMAPD_SECTION_HEADER;
		return 0;
	}
	if (rest == 4 && strncasecmp(p, "TEXT", 4) == 0) {
		s->kind = IMAPD_SECTION_TEXT;
		return 0;
	}
	if (rest == 4 && strncasecmp(p, "MIME", 4) == 0 && s->part[0] != '\0') {
		s->kind = IMAPD_SECTION_MIME;
		return 0;
	}
	*error_r = "Invalid section";
	return -1;
}

/* parse_u64 - digits of p[0..len) */
static bool parse_u64(const char *p, size_t len, uint64_t *v)
{
	*v = 0;
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return true;
}

/* parse_section_item - BODY[..]<..>, BODY.PEEK[..], BINARY[..], ... */
static int parse_section_item(struct imapd_fetch *f, const char *atom,
			      size_t len, const char **error_r)
{
	const char *lb = memchr(atom, '[', len);
	const char *end = atom + len;
	struct imapd_fetch_section s;
	size_t plen = (size_t)(lb - atom);

	memset(&s, 0, sizeof(s));
	if (plen == 4 && strncasecmp(atom, "BODY", 4) == 0) {
	} else if (plen == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0) {
		s.peek = true;
	} else if (plen == 6 && strncasecmp(atom, "BINARY", 6) == 0) {
		s.binary = true;
	} else if (plen == 11 && strncasecmp(atom, "BINARY.PEEK", 11) == 0) {
		s.binary = s.peek = true;
	} else if (plen == 11 && strncasecmp(atom, "BINARY.SIZE", 11) == 0) {
		s.binary_size = s.peek = true;
	} else {
		*error_r = "Unknown FETCH item";
		return -1;
	}
	const char *rb = NULL;
	for (const char *q = lb; q < end; q++)
		if (*q == ']')
			rb = q;
	if (rb == NULL) {
		*error_r = "Missing ']'";
		return -1;
	}
	if (parse_section(lb + 1, rb, &s, error_r) < 0)
		goto fail;
	const char *q = rb + 1;
	if (q < end) {
		const char *dot, *gt;

		if (*q != '<' || end[-1] != '>' || s.binary_size) {
			*error_r = "Invalid partial";
			goto fail;
		}
		dot = memchr(q, '.', (size_t)(end - q));
		gt = end - 1;
		if (dot == NULL ||
		    !parse_u64(q + 1, (size_t)(dot - q - 1), &s.offset) ||
		    !parse_u64(dot + 1, (size_t)(gt - dot - 1), &s.length) ||
		    s.length == 0) {
			*error_r = "Invalid partial";
			goto fail;
		}
		s.partial = true;
	}
	/* The reply names the item without .PEEK and with the origin only. */
	s.spec = xasprintf("%s[%.*s]",
			   s.binary_size ? "BINARY.SIZE"
			   : s.binary	 ? "BINARY"
					 : "BODY",
			   (int)(rb - lb - 1), lb + 1);
	for (char *c = s.spec; *c != '\0'; c++)
		*c = (char)toupper((unsigned char)*c);
	if (!s.peek)
		f->sets_seen = true;
	f->needs_content = true;
	f->sections = xreallocarray(f->sections, f->section_count + 1,
				    sizeof(*f->sections));
	f->sections[f->section_count++] = s;
	return 0;
fail:
	free(s.part);
	for (size_t j = 0; j < s.field_count; j++)
		free(s.fields[j]);
	free(s.fields);
	return -1;
}

static const struct {
	const char *name;
	unsigned attrs;
	bool content, seen;
} fetch_items[] = {
	{"FLAGS", IMAPD_FETCH_FLAGS, false, false},
	{"INTERNALDATE", IMAPD_FETCH_INTERNALDATE, false, false},
	{"RFC822.SIZE", IMAPD_FETCH_RFC822_SIZE, false, false},
	{"ENVELOPE", IMAPD_FETCH_ENVELOPE, true, false},
	{"BODY", IMAPD_FETCH_BODY, true, false},
	{"BODYSTRUCTURE", IMAPD_FETCH_BODYSTRUCTURE, true, false},
	{"UID", IMAPD_FETCH_UID, false, false},
	{"MODSEQ", IMAPD_FETCH_MODSEQ, false, false},
	{"RFC822", IMAPD_FETCH_RFC822, true, true},
	{"RFC822.HEADER", IMAPD_FETCH_RFC822_HEADER, true, false},
	{"RFC822.TEXT", IMAPD_FETCH_RFC822_TEXT, true, true},
	{"ALL",
	 IMAPD_FETCH_FLAGS | IMAPD_FETCH_INTERNALDATE |
		 IMAPD_FETCH_RFC822_SIZE | IMAPD_FETCH_ENVELOPE,
	 true, false},
	{"FAST",
	 IMAPD_FETCH_FLAGS | IMAPD_FETCH_INTERNALDATE | IMAPD_FETCH_RFC822_SIZE,
	 false, false},
	{"FULL",
	 IMAPD_FETCH_FLAGS | IMAPD_FETCH_INTERNALDATE |
		 IMAPD_FETCH_RFC822_SIZE | IMAPD_FETCH_ENVELOPE |
		 IMAPD_FETCH_BODY,
	 true, false},
};
#define MACRO_FIRST 11 /* ALL, FAST, FULL: only alone, never in a list */

static int parse_item(struct imapd_fetch *f, const struct imap_arg *a,
		      bool in_list, const char **error_r)
{
	if (a->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid FETCH item";
		return -1;
	}
	if (memchr(a->str, '[', a->len) != NULL)
		return parse_section_item(f, a->str, a->len, error_r);
	for (size_t i = 0; i < sizeof(fetch_items) / sizeof(*fetch_items);
	     i++) {
		if (strcasecmp(a->str, fetch_items[i].name) != 0)
			continue;
		if (in_list && i >= MACRO_FIRST)
			break;
		f->attrs |= fetch_items[i].attrs;
		if (fetch_items[i].content)
			f->needs_content = true;
		if (fetch_items[i].seen)
			f->sets_seen = true;
		return 0;
	}
	*error_r = "Unknown FETCH item";
	return -1;
}

int imapd_fetch_parse(const struct imap_arg *args, size_t n,
		      struct imapd_fetch *fetch, const char **error_r)
{
	memset(fetch, 0, sizeof(*fetch));
	if (n == 0) {
		*error_r = "Missing FETCH items";
		return -1;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		if (args[0].list_count == 0) {
			*error_r = "Empty FETCH item list";
			return -1;
		}
		for (size_t i = 0; i < args[0].list_count; i++)
			if (parse_item(fetch, &args[0].list[i], true, error_r) <
			    0)
				goto fail;
	} else if (parse_item(fetch, &args[0], false, error_r) < 0) {
		goto fail;
	}
	if (n >= 2) {
		const struct imap_arg *m = &args[1];

		if (n > 2 || m->type != IMAP_ARG_LIST) {
			*error_r = "Garbage after FETCH items";
			goto fail;
		}
		for (size_t i = 0; i < m->list_count; i++) {
			if (m->list[i].type == IMAP_ARG_ATOM &&
			    strcasecmp(m->list[i].str, "CHANGEDSINCE") == 0 &&
			    i + 1 < m->list_count &&
			    m->list[i + 1].type == IMAP_ARG_NUMBER) {
				fetch->changedsince_given = true;
				fetch->changedsince = m->list[i + 1].num;
				fetch->attrs |= IMAPD_FETCH_MODSEQ;
				i++;
			} else {
				*error_r = "Unknown FETCH modifier";
				goto fail;
			}
		}
	}
	return 0;
fail:
	imapd_fetch_clear(fetch);
	return -1;
}

/* ---------------------------------------------------------------- render */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void imapd_fetch_date(time_t t, struct strbuf *out)
{
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL) {
		strbuf_append_str(out, "\"01-Jan-1970 00:00:00 +0000\"");
		return;
	}
	off = tm.tm_gmtoff / 60;
	strbuf_appendf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"",
		       tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		       tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		       labs(off) / 60, labs(off) % 60);
}

static const struct {
	unsigned flag;
	const char *name;
} sys_flags[] = {
	{MAIL_ANSWERED, "\\Answered"}, {MAIL_FLAGGED, "\\Flagged"},
	{MAIL_DELETED, "\\Deleted"},   {MAIL_SEEN, "\\Seen"},
	{MAIL_DRAFT, "\\Draft"},       {MAIL_RECENT, "\\Recent"},
};

void imapd_fetch_flags(const struct imapd_msgview *msg, struct strbuf *out)
{
	bool first = true;

	strbuf_append_char(out, '(');
	for (size_t i = 0; i < sizeof(sys_flags) / sizeof(*sys_flags); i++) {
		if (!(msg->flags & sys_flags[i].flag))
			continue;
		strbuf_appendf(out, "%s%s", first ? "" : " ",
			       sys_flags[i].name);
		first = false;
	}
	for (size_t i = 0; i < msg->keyword_count && i < 32; i++) {
		if (!(msg->keywords & (1u << i)))
			continue;
		strbuf_appendf(out, "%s%s", first ? "" : " ",
			       msg->keyword_names[i]);
		first = false;
	}
	strbuf_append_char(out, ')');
}

uint64_t imapd_fetch_crlf_size(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	uint64_t n = len;

	/* memchr: line by line rather than byte by byte (the FETCH hot
	 * path runs this over every message of BODY[]). */
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == data || p[-1] != '\r')
			n++;
		p++;
	}
	return n;
}

/* append_crlf - data with each bare LF made CRLF */
static void append_crlf(struct strbuf *out, const char *data, size_t len)
{
	const char *p = data, *start = data, *end = data + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == data || p[-1] != '\r') {
			strbuf_append(out, start, (size_t)(p - start));
			strbuf_append(out, "\r\n", 2);
			start = p + 1;
		}
		p++;
	}
	strbuf_append(out, start, (size_t)(end - start));
}

/* literal_crlf - data as a literal with CRLF line ends, written into out
 * directly (its size counted first) */
static void literal_crlf(struct strbuf *out, const char *data, size_t len)
{
	strbuf_appendf(out, "{%llu}\r\n",
		       (unsigned long long)imapd_fetch_crlf_size(data, len));
	append_crlf(out, data, len);
}

/* Per-message state while rendering. */
struct render {
	const struct imapd_msgview *msg;
	const char *data;
	size_t len;
	struct mime_tree *tree;
	unsigned flags;
};

static struct mime_tree *render_tree(struct render *r)
{
	if (r->tree == NULL)
		r->tree = mime_parse(r->data, r->len);
	return r->tree;
}

/* header_fields - the fields of hdr named (or not) in s, CRLF-ended */
static void header_fields(const char *hdr, size_t len,
			  const struct imapd_fetch_section *s,
			  struct strbuf *out)
{
	struct rfc822_hdr_parser hp;
	struct rfc822_header h;
	bool want_not = s->kind == IMAPD_SECTION_HEADER_FIELDS_NOT;

	rfc822_hdr_init(&hp, hdr, len);
	while (rfc822_hdr_next(&hp, &h) == 1) {
		bool named = false;

		if (h.broken)
			continue;
		for (size_t i = 0; i < s->field_count && !named; i++)
			named = rfc822_hdr_name_is(&h, s->fields[i]);
		if (named != want_not)
			append_crlf(out, hdr + h.offset, h.size);
	}
	strbuf_append(out, "\r\n", 2);
}

/* binary_decode - BINARY content of a part body: decoded, with CRLF
 * line ends for what is text on the wire (identity and QP) */
static int binary_decode(const char *enc, const char *data, size_t len,
			 struct strbuf *out)
{
	enum mime_encoding e = mime_encoding_of(enc);
	struct strbuf tmp;
	int ret;

	if (e == MIME_ENC_BASE64)
		return mime_decode(e, data, len, out) < 0 ? -1 : 0;
	if (e == MIME_ENC_UNKNOWN)
		return -1;
	strbuf_init(&tmp, STRBUF_NO_LIMIT);
	append_crlf(&tmp, data, len);
	ret = mime_decode(e, tmp.data != NULL ? tmp.data : "", tmp.len, out);
	strbuf_release(&tmp);
	return ret < 0 ? -1 : 0;
}

/*
 * section_content - the octets a section names, with CRLF line ends
 * (or decoded, for BINARY).  Returns 0, or -1 for a BINARY part whose
 * encoding is unknown (*unknown_cte_r).
 */
static int section_content(struct render *r,
			   const struct imapd_fetch_section *s,
			   struct strbuf *out)
{
	struct mime_tree *tree = render_tree(r);
	struct mime_part *part =
		mime_find_section(tree, s->part, strlen(s->part));
	struct mime_part *msgpart;

	if (part == NULL)
		return 0; /* an empty string, as Dovecot answers */
	/* HEADER and TEXT of a message/rfc822 part are of the message. */
	msgpart = part;
	if (s->part[0] != '\0' && (s->kind == IMAPD_SECTION_HEADER ||
				   s->kind == IMAPD_SECTION_HEADER_FIELDS ||
				   s->kind == IMAPD_SECTION_HEADER_FIELDS_NOT ||
				   s->kind == IMAPD_SECTION_TEXT)) {
		if (!(part->flags & MIME_PART_MESSAGE) ||
		    part->children == NULL)
			return 0;
		msgpart = part->children;
	}
	switch (s->kind) {
	case IMAPD_SECTION_ALL:
		if (s->part[0] == '\0') {
			if (s->binary || s->binary_size) {
				struct mime_part *root = tree->root;

				append_crlf(out, r->data + root->hdr_offset,
					    root->hdr_size);
				if (binary_decode(root->encoding,
						  r->data + root->body_offset,
						  root->body_size, out) < 0)
					return -1;
				return 0;
			}
			append_crlf(out, r->data, r->len);
			return 0;
		}
		if (s->binary || s->binary_size) {
			if (binary_decode(part->encoding,
					  r->data + part->body_offset,
					  part->body_size, out) < 0)
				return -1;
			return 0;
		}
		append_crlf(out, r->data + part->body_offset, part->body_size);
		return 0;
	case IMAPD_SECTION_MIME:
		append_crlf(out, r->data + part->hdr_offset, part->hdr_size);
		return 0;
	case IMAPD_SECTION_HEADER:
		append_crlf(out, r->data + msgpart->hdr_offset,
			    msgpart->hdr_size);
		return 0;
	case IMAPD_SECTION_HEADER_FIELDS:
	case IMAPD_SECTION_HEADER_FIELDS_NOT:
		header_fields(r->data + msgpart->hdr_offset, msgpart->hdr_size,
			      s, out);
		return 0;
	case IMAPD_SECTION_TEXT:
		append_crlf(out, r->data + msgpart->body_offset,
			    msgpart->body_size);
		return 0;
	}
	return 0;
}

/* literal - data as a literal (literal8 when it holds NUL) */
static void literal(struct strbuf *out, const char *data, size_t len,
		    bool binary)
{
	bool nul = binary && memchr(data, '\0', len) != NULL;

	strbuf_appendf(out, "%s{%zu}\r\n", nul ? "~" : "", len);
	strbuf_append(out, data, len);
}

static int render_section(struct render *r, const struct imapd_fetch_section *s,
			  struct strbuf *out, const char **error_r)
{
	struct strbuf content;

	if (s->kind == IMAPD_SECTION_ALL && s->part[0] == '\0' && !s->binary &&
	    !s->binary_size && !s->partial) {
		/* BODY[]: the whole message, no MIME tree needed. */
		strbuf_appendf(out, "%s ", s->spec);
		literal_crlf(out, r->data, r->len);
		return 0;
	}
	strbuf_init(&content, STRBUF_NO_LIMIT);
	if (section_content(r, s, &content) < 0) {
		strbuf_release(&content);
		*error_r = "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding";
		return -1;
	}
	const char *data = content.data != NULL ? content.data : "";
	size_t len = content.len;

	if (s->binary_size) {
		strbuf_appendf(out, "%s %zu", s->spec, len);
	} else if (s->partial) {
		size_t off = s->offset < len ? (size_t)s->offset : len;
		size_t n = len - off;

		if (s->length < n)
			n = (size_t)s->length;
		strbuf_appendf(out, "%s<%llu> ", s->spec,
			       (unsigned long long)s->offset);
		literal(out, data + off, n, s->binary);
	} else {
		strbuf_appendf(out, "%s ", s->spec);
		literal(out, data, len, s->binary);
	}
	strbuf_release(&content);
	return 0;
}

/* header_suffices - whether every item asked for lies in the header */
static bool header_suffices(const struct imapd_fetch *fetch)
{
	if (fetch->attrs & (IMAPD_FETCH_BODY | IMAPD_FETCH_BODYSTRUCTURE |
			    IMAPD_FETCH_RFC822 | IMAPD_FETCH_RFC822_TEXT))
		return false;
	for (size_t i = 0; i < fetch->section_count; i++) {
		const struct imapd_fetch_section *s = &fetch->sections[i];

		if (s->part[0] != '\0' || s->binary || s->binary_size ||
		    (s->kind != IMAPD_SECTION_HEADER &&
		     s->kind != IMAPD_SECTION_HEADER_FIELDS &&
		     s->kind != IMAPD_SECTION_HEADER_FIELDS_NOT))
			return false;
	}
	return true;
}

/* envelope_suffices - whether ENVELOPE is the only item that needs the
 * message (so a cached ENVELOPE spares reading it) */
static bool envelope_suffices(const struct imapd_fetch *fetch)
{
	return !(fetch->attrs &
		 (IMAPD_FETCH_BODY | IMAPD_FETCH_BODYSTRUCTURE |
		  IMAPD_FETCH_RFC822 | IMAPD_FETCH_RFC822_HEADER |
		  IMAPD_FETCH_RFC822_TEXT)) &&
	       fetch->section_count == 0;
}

int imapd_fetch_render(const struct imapd_fetch *fetch,
		       const struct imapd_msgview *msg, unsigned flags,
		       struct strbuf *out, const char **error_r)
{
	struct render r = {msg, NULL, 0, NULL, flags};
	bool sp = false;
	int ret = 0;
	const char *env = NULL;
	size_t env_len = 0;

	if ((fetch->attrs & IMAPD_FETCH_ENVELOPE) && msg->envelope_get != NULL)
		env = msg->envelope_get(msg->ctx, flags, &env_len);
	if (fetch->needs_content &&
	    !(env != NULL && envelope_suffices(fetch))) {
		if (msg->load_header != NULL && header_suffices(fetch))
			r.data = msg->load_header(msg->ctx, &r.len);
		else if (msg->load != NULL)
			r.data = msg->load(msg->ctx, &r.len);
		if (r.data == NULL) {
			*error_r = "Message is unreadable";
			return -1;
		}
	}
#define SP() (sp ? strbuf_append_char(out, ' ') : (sp = true, 0))
	if (fetch->attrs & IMAPD_FETCH_UID) {
		SP();
		strbuf_appendf(out, "UID %lu", (unsigned long)msg->uid);
	}
	if (fetch->attrs & IMAPD_FETCH_FLAGS) {
		SP();
		strbuf_append_str(out, "FLAGS ");
		imapd_fetch_flags(msg, out);
	}
	if (fetch->attrs & IMAPD_FETCH_INTERNALDATE) {
		SP();
		strbuf_append_str(out, "INTERNALDATE ");
		imapd_fetch_date(msg->internal, out);
	}
	if (fetch->attrs & IMAPD_FETCH_RFC822_SIZE) {
		SP();
		strbuf_appendf(out, "RFC822.SIZE %llu",
			       (unsigned long long)msg->size);
	}
	if (fetch->attrs & IMAPD_FETCH_MODSEQ) {
		SP();
		strbuf_appendf(out, "MODSEQ (%llu)",
			       (unsigned long long)msg->modseq);
	}
	if (fetch->attrs & IMAPD_FETCH_ENVELOPE) {
		SP();
		strbuf_append_str(out, "ENVELOPE ");
		if (env != NULL) {
			strbuf_append(out, env, env_len);
		} else {
			size_t at = out->len;

			if (rfc822_render_envelope(r.data, r.len, flags, out) ==
				    0 &&
			    msg->envelope_put != NULL)
				msg->envelope_put(msg->ctx, flags,
						  out->data + at,
						  out->len - at);
		}
	}
	if (fetch->attrs & IMAPD_FETCH_BODY) {
		SP();
		strbuf_append_str(out, "BODY ");
		mime_render_bodystructure(render_tree(&r), 0, flags, out);
	}
	if (fetch->attrs & IMAPD_FETCH_BODYSTRUCTURE) {
		SP();
		strbuf_append_str(out, "BODYSTRUCTURE ");
		mime_render_bodystructure(render_tree(&r), 1, flags, out);
	}
	if (fetch->attrs & (IMAPD_FETCH_RFC822 | IMAPD_FETCH_RFC822_HEADER |
			    IMAPD_FETCH_RFC822_TEXT)) {
		struct mime_part *root =
			fetch->attrs & (IMAPD_FETCH_RFC822_HEADER |
					IMAPD_FETCH_RFC822_TEXT)
				? render_tree(&r)->root
				: NULL;
		struct strbuf c;

		strbuf_init(&c, STRBUF_NO_LIMIT);
		if (fetch->attrs & IMAPD_FETCH_RFC822) {
			SP();
			strbuf_append_str(out, "RFC822 ");
			literal_crlf(out, r.data, r.len);
		}
		if (fetch->attrs & IMAPD_FETCH_RFC822_HEADER) {
			SP();
			append_crlf(&c, r.data + root->hdr_offset,
				    root->hdr_size);
			strbuf_append_str(out, "RFC822.HEADER ");
			literal(out, c.data != NULL ? c.data : "", c.len,
				false);
			strbuf_reset(&c);
		}
		if (fetch->attrs & IMAPD_FETCH_RFC822_TEXT) {
			SP();
			append_crlf(&c, r.data + root->body_offset,
				    root->body_size);
			strbuf_append_str(out, "RFC822.TEXT ");
			literal(out, c.data != NULL ? c.data : "", c.len,
				false);
		}
		strbuf_release(&c);
	}
	for (size_t i = 0; i < fetch->section_count && ret == 0; i++) {
		SP();
		ret = render_section(&r, &fetch->sections[i], out, error_r);
	}
#undef SP
	mime_tree_free(&r.tree);
	return ret;
}
