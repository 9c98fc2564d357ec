/*
 * mime - MIME structure of a message in memory, BODYSTRUCTURE, decoders
 *
 * SYNOPSIS
 *	#include "mime.h"
 *
 *	struct mime_tree *mime_parse(buf, len)
 *	void mime_tree_free(treep)
 *	const struct mime_param *mime_param_find(params, n, name)
 *	int mime_param_decode(p, out)
 *	struct mime_part *mime_find_section(tree, section, len)
 *	int mime_render_bodystructure(tree, extended, flags, out)
 *	int mime_render_part(tree, part, extended, flags, out)
 *	enum mime_encoding mime_encoding_of(cte)
 *	int mime_decode(enc, in, len, out)
 *
 * DESCRIPTION
 *	mime_parse() builds the tree imapd needs for BODYSTRUCTURE,
 *	BODY[section] and SEARCH from a whole message in memory, in one
 *	pass over its lines (CRLF or bare LF).  Every line that starts
 *	with "--" is compared with the boundaries of the open multiparts
 *	(RFC 2046 §5.1.1), innermost first, first for an exact delimiter
 *	line (boundary, optional "--", transport padding) and then, as
 *	Dovecot does, for a mere prefix; a boundary of an outer multipart
 *	ends every part inside it.  A multipart/... part with a usable
 *	boundary gets children, a message/rfc822 part in an identity
 *	encoding gets the encapsulated message as its one child, and
 *	anything else is a leaf.  Header fields are read with the rfc822
 *	module once the header block's end is known; Content-Type and
 *	Content-Disposition parameters are joined per RFC 2231 §3.
 *
 *	BODYSTRUCTURE follows RFC 3501 §7.4.2 and §9.  Strings from the
 *	message (type, subtype, parameters) are sent as written, since
 *	the RFC makes them case-insensitive and clients compare them so;
 *	defaults are sent in lower case ("text" "plain", "7bit"), as
 *	Dovecot does.  RFC 2231 parameters are sent joined but still
 *	encoded, under "name*", which clients decode themselves.  Sizes
 *	are those of the message with every bare LF sent as CRLF, which is
 *	how imapd serves Maildir files.
 *
 *	Best effort like Dovecot's message-parser.c: a missing close
 *	delimiter ends parts at the end of their parent, a part whose
 *	header block has no empty line has an empty body, bad headers
 *	give the defaults of RFC 2045 §5.2 and §6.1.
 *
 * DIAGNOSTICS
 *	Nothing is logged and nothing fails: limits reached are reported
 *	in tree->flags.  Renderers return -1 when the output's limit is
 *	hit; mime_decode() reports damaged input with 1.
 *
 * SECURITY
 *	The message is untrusted.  Work is linear in its size (times the
 *	number of open boundaries, at most MIME_MAX_DEPTH, for lines that
 *	start with "--"); memory is bounded by MIME_MAX_PARTS parts of
 *	at most MIME_MAX_PARAMS parameters and MIME_MAX_FIELD-byte fields;
 *	recursion (rendering, freeing) is bounded by MIME_MAX_DEPTH.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "alloc.h"
#include "mime.h"
#include "rfc2047.h"
#include "rfc822.h"

/* An open multipart and its boundary. */
struct bnd {
	const char *s;
	size_t len;
	struct mime_part *mp;
};

/* Parser state for one mime_parse() call. */
struct ctx {
	struct mime_tree *t;
	const char *buf;
	size_t len;
	struct bnd stack[MIME_MAX_DEPTH + 1];
	unsigned nb;
	struct mime_part *cur;
	int in_hdr;
	size_t lf, bare; /* LFs and bare LFs before the current line */
};

/* lower - ASCII tolower without locale */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ieq - case-insensitive equality of a C string with a NUL-free one */
static int ieq(const char *a, const char *b)
{
	if (a == NULL)
		return 0;
	while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
		a++, b++;
	return *a == 0 && *b == 0;
}

/* new_part - a part whose header starts at offset */
static struct mime_part *new_part(struct ctx *c, struct mime_part *parent,
				  size_t offset)
{
	struct mime_part *p = xcalloc(1, sizeof(*p));

	p->parent = parent;
	p->hdr_offset = offset;
	p->lf0 = c->lf;
	p->bare0 = c->bare;
	if (parent != NULL) {
		p->depth = parent->depth + 1;
		if (parent->last_child == NULL)
			parent->children = p;
		else
			parent->last_child->next = p;
		parent->last_child = p;
		parent->nchildren++;
	}
	c->t->nparts++;
	return p;
}

/* ------------------------------------------------------------ fields */

/* A cursor over an unfolded field value. */
struct lex {
	const char *s;
	size_t len;
	size_t pos;
};

/* skip_cfws - white space and comments (RFC 2045 §5.1 allows them) */
static void skip_cfws(struct lex *lx)
{
	size_t depth;

	while (lx->pos < lx->len) {
		char ch = lx->s[lx->pos];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			lx->pos++;
			continue;
		}
		if (ch != '(')
			return;
		depth = 0;
		while (lx->pos < lx->len) {
			ch = lx->s[lx->pos++];
			if (ch == '\\' && lx->pos < lx->len)
				lx->pos++;
			else if (ch == '(')
				depth++;
			else if (ch == ')' && --depth == 0)
				break;
		}
	}
}

/* is_tchar - RFC 2045 §5.1 token character */
static int is_tchar(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f &&
	       strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* get_token - a token, copied; NULL when there is none */
static char *get_token(struct lex *lx)
{
	size_t start = lx->pos;

	while (lx->pos < lx->len && is_tchar((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	return lx->pos > start ? xstrndup(lx->s + start, lx->pos - start)
			       : NULL;
}

/* get_value - a parameter value: a quoted string, or (leniently) any run
 * up to ';' or white space, since unquoted "boundary==_x" is common */
static char *get_value(struct lex *lx)
{
	struct strbuf sb;
	size_t start = lx->pos;

	if (lx->pos < lx->len && lx->s[lx->pos] == '"') {
		strbuf_init(&sb, STRBUF_NO_LIMIT);
		lx->pos++;
		while (lx->pos < lx->len && lx->s[lx->pos] != '"') {
			if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
				lx->pos++;
			(void)strbuf_append_char(&sb, lx->s[lx->pos++]);
		}
		if (lx->pos < lx->len)
			lx->pos++;
		return strbuf_steal(&sb);
	}
	while (lx->pos < lx->len && lx->s[lx->pos] != ';' &&
	       (unsigned char)lx->s[lx->pos] > 0x20 && lx->s[lx->pos] != 0x7f)
		lx->pos++;
	return xstrndup(lx->s + start, lx->pos - start);
}

/* A parameter as written, before RFC 2231 joining. */
struct rawp {
	char *attr;
	char *value;
	size_t base_len;
	int section; /* -1: not a continuation */
	int ext;
	int used;
};

/* split_attr - RFC 2231 §3-4: name, name*, name*N, name*N* */
static void split_attr(struct rawp *r)
{
	char *star = strchr(r->attr, '*');
	const char *q;
	int n = 0;

	r->base_len = strlen(r->attr);
	r->section = -1;
	r->ext = 0;
	if (star == NULL || star == r->attr)
		return;
	if (strcmp(star, "*") == 0) {
		r->base_len = (size_t)(star - r->attr);
		r->ext = 1;
		return;
	}
	q = star + 1;
	if (*q < '0' || *q > '9' || (*q == '0' && q[1] >= '0' && q[1] <= '9'))
		return;
	for (; *q >= '0' && *q <= '9' && n < 1000; q++)
		n = n * 10 + (*q - '0');
	if (n >= 1000 || (*q != 0 && strcmp(q, "*") != 0))
		return;
	r->base_len = (size_t)(star - r->attr);
	r->section = n;
	r->ext = *q == '*';
}

/* same_base - do two parameters continue the same name */
static int same_base(const struct rawp *a, const struct rawp *b)
{
	size_t i;

	if (a->base_len != b->base_len)
		return 0;
	for (i = 0; i < a->base_len; i++)
		if (lower((unsigned char)a->attr[i]) !=
		    lower((unsigned char)b->attr[i]))
			return 0;
	return 1;
}

/* append_pct - a non-extended section inside an extended value gets
 * %-encoded so the joined value is one RFC 2231 §4 string */
static void append_pct(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '\'' ||
		    ch == '*')
			(void)strbuf_appendf(sb, "%%%02X", ch);
		else
			(void)strbuf_append_char(sb, (char)ch);
	}
}

/* join_params - RFC 2231 §3 continuations into final parameters */
static void join_params(struct rawp *raw, unsigned nraw,
			struct mime_param **params_r, unsigned *n_r)
{
	struct mime_param *out;
	unsigned i, j, n = 0;
	int sec;

	*params_r = NULL;
	*n_r = 0;
	if (nraw == 0)
		return;
	out = xcalloc(nraw, sizeof(*out));
	for (i = 0; i < nraw; i++) {
		struct strbuf sb;
		int ext0 = 0;

		if (raw[i].used)
			continue;
		if (raw[i].section < 0) {
			raw[i].used = 1;
			out[n].name = xstrndup(raw[i].attr, raw[i].base_len);
			out[n].value = xstrdup(raw[i].value);
			out[n].extended = raw[i].ext;
			n++;
			continue;
		}
		/* Gather sections 0, 1, ... of this name in order; a gap
		 * ends the value (§3: they must be in sequence). */
		strbuf_init(&sb, STRBUF_NO_LIMIT);
		for (sec = 0;; sec++) {
			for (j = i; j < nraw; j++)
				if (!raw[j].used && raw[j].section == sec &&
				    same_base(&raw[i], &raw[j]))
					break;
			if (j == nraw)
				break;
			raw[j].used = 1;
			if (sec == 0)
				ext0 = raw[j].ext;
			if (ext0 && !raw[j].ext)
				append_pct(&sb, raw[j].value);
			else
				(void)strbuf_append_str(&sb, raw[j].value);
		}
		if (sec == 0) {
			/* No section 0: keep the piece under its own name. */
			raw[i].used = 1;
			out[n].name = xstrdup(raw[i].attr);
			out[n].value = xstrdup(raw[i].value);
			n++;
			strbuf_release(&sb);
			continue;
		}
		out[n].name = xstrndup(raw[i].attr, raw[i].base_len);
		out[n].value = strbuf_steal(&sb);
		out[n].extended = ext0;
		n++;
	}
	*params_r = out;
	*n_r = n;
}

/* parse_params - *(";" parameter) after a type or disposition */
static void parse_params(struct lex *lx, struct mime_param **params_r,
			 unsigned *n_r)
{
	struct rawp raw[MIME_MAX_PARAMS];
	unsigned nraw = 0, i;

	for (;;) {
		char *attr;

		skip_cfws(lx);
		if (lx->pos >= lx->len)
			break;
		if (lx->s[lx->pos] == ';') {
			lx->pos++;
			continue;
		}
		attr = get_token(lx);
		skip_cfws(lx);
		if (attr == NULL || lx->pos >= lx->len ||
		    lx->s[lx->pos] != '=') {
			/* Garbage: skip to the next ';'. */
			free(attr);
			while (lx->pos < lx->len && lx->s[lx->pos] != ';')
				lx->pos++;
			continue;
		}
		lx->pos++;
		skip_cfws(lx);
		if (nraw == MIME_MAX_PARAMS) {
			free(attr);
			free(get_value(lx));
			continue;
		}
		raw[nraw].attr = attr;
		raw[nraw].value = get_value(lx);
		raw[nraw].used = 0;
		split_attr(&raw[nraw]);
		nraw++;
	}
	join_params(raw, nraw, params_r, n_r);
	for (i = 0; i < nraw; i++) {
		free(raw[i].attr);
		free(raw[i].value);
	}
}

/* parse_content_type - RFC 2045 §5.1; invalid means the default */
static void parse_content_type(struct mime_part *p, const char *v, size_t len)
{
	struct lex lx = {v, len, 0};
	char *type, *sub;

	skip_cfws(&lx);
	type = get_token(&lx);
	skip_cfws(&lx);
	if (type == NULL || lx.pos >= lx.len || lx.s[lx.pos] != '/') {
		free(type);
		return;
	}
	lx.pos++;
	skip_cfws(&lx);
	sub = get_token(&lx);
	if (sub == NULL) {
		free(type);
		return;
	}
	p->type = type;
	p->subtype = sub;
	parse_params(&lx, &p->params, &p->nparams);
}

/* parse_disposition - RFC 2183 §2 */
static void parse_disposition(struct mime_part *p, const char *v, size_t len)
{
	struct lex lx = {v, len, 0};

	skip_cfws(&lx);
	p->disposition = get_token(&lx);
	if (p->disposition != NULL)
		parse_params(&lx, &p->disp_params, &p->ndisp_params);
}

/* first_token - the token of a field like Content-Transfer-Encoding */
static char *first_token(const char *v, size_t len)
{
	struct lex lx = {v, len, 0};

	skip_cfws(&lx);
	return get_token(&lx);
}

/* parse_fields - the Content-* fields of a part's header block */
static void parse_fields(struct ctx *c, struct mime_part *p)
{
	struct rfc822_hdr_parser hp;
	struct rfc822_header h;
	struct strbuf v;
	int have_ct = 0;

	strbuf_init(&v, STRBUF_NO_LIMIT);
	rfc822_hdr_init(&hp, c->buf + p->hdr_offset, p->hdr_size);
	while (rfc822_hdr_next(&hp, &h) > 0) {
		const char *n;
		char **slot = NULL;

		if (h.broken || h.name_len < 9 ||
		    h.value_len > MIME_MAX_FIELD ||
		    strncasecmp(h.name, "content-", 8) != 0)
			continue;
		n = h.name + 8;
		strbuf_reset(&v);
		(void)rfc822_unfold(h.value, h.value_len, &v);
		/* Make the value a C string without NULs for the lexers. */
		if (v.len > 0 && memchr(v.data, 0, v.len) != NULL)
			strbuf_truncate(&v, strlen(v.data));
		if (h.name_len == 12 && strncasecmp(n, "type", 4) == 0) {
			if (!have_ct)
				parse_content_type(p, v.len ? v.data : "",
						   v.len);
			have_ct = 1;
			continue;
		}
		if (h.name_len == 19 &&
		    strncasecmp(n, "disposition", 11) == 0) {
			if (p->disposition == NULL)
				parse_disposition(p, v.len ? v.data : "",
						  v.len);
			continue;
		}
		if (h.name_len == 25 &&
		    strncasecmp(n, "transfer-encoding", 17) == 0) {
			if (p->encoding == NULL)
				p->encoding =
					first_token(v.len ? v.data : "", v.len);
			continue;
		}
		if (h.name_len == 10 && strncasecmp(n, "id", 2) == 0)
			slot = &p->id;
		else if (h.name_len == 19 &&
			 strncasecmp(n, "description", 11) == 0)
			slot = &p->description;
		else if (h.name_len == 16 && strncasecmp(n, "language", 8) == 0)
			slot = &p->language;
		else if (h.name_len == 16 && strncasecmp(n, "location", 8) == 0)
			slot = &p->location;
		else if (h.name_len == 11 && strncasecmp(n, "md5", 3) == 0)
			slot = &p->md5;
		if (slot != NULL && *slot == NULL)
			*slot = xstrndup(v.len ? v.data : "", v.len);
	}
	strbuf_release(&v);
}

/* ------------------------------------------------------------ parser */

/* finish_header - the header block of p ends at end; lf/bare are the
 * counts at end */
static void finish_header(struct ctx *c, struct mime_part *p, size_t end,
			  size_t lf, size_t bare)
{
	p->hdr_size = end - p->hdr_offset;
	p->hdr_lines = lf - p->lf0;
	p->hdr_vsize = p->hdr_size + (bare - p->bare0);
	p->body_offset = end;
	p->lf0 = lf;
	p->bare0 = bare;
	parse_fields(c, p);
	if (p->type == NULL) {
		p->flags |= MIME_PART_DEFAULT_CT;
		/* RFC 2046 §5.1.5: the default in a digest. */
		if (p->parent != NULL &&
		    (p->parent->flags & MIME_PART_MULTIPART) &&
		    ieq(p->parent->subtype, "digest"))
			p->flags |= MIME_PART_MESSAGE;
		else
			p->flags |= MIME_PART_TEXT;
	} else if (ieq(p->type, "text")) {
		p->flags |= MIME_PART_TEXT;
	} else if (ieq(p->type, "multipart")) {
		p->flags |= MIME_PART_MULTIPART;
	} else if (ieq(p->type, "message") && ieq(p->subtype, "rfc822")) {
		p->flags |= MIME_PART_MESSAGE;
	}
}

/* end_body - the body of p ends at the boundary line at line_start, or
 * (eof) at the end of the buffer */
static void end_body(struct ctx *c, struct mime_part *p, size_t line_start,
		     int eof)
{
	size_t cut = line_start, lf = c->lf, bare = c->bare;

	/* The line break before a boundary belongs to the boundary (RFC
	 * 2046 §5.1.1), even when it also looked like the empty line that
	 * ended a header block: then the header gives those bytes back,
	 * so that no part reaches past the end of its parent. */
	if (!eof && cut > 0 && c->buf[cut - 1] == '\n') {
		cut--;
		lf--;
		if (cut == 0 || c->buf[cut - 1] != '\r')
			bare--;
		else
			cut--;
	}
	if (p->hdr_offset > cut) {
		p->hdr_offset = cut;
		p->hdr_size = p->hdr_vsize = p->hdr_lines = 0;
	} else if (p->body_offset > cut) {
		p->hdr_lines -= p->lf0 - lf;
		p->hdr_vsize -= (p->body_offset - cut) + (p->bare0 - bare);
		p->hdr_size = cut - p->hdr_offset;
	}
	if (p->body_offset > cut) {
		p->body_offset = cut;
		p->lf0 = lf;
		p->bare0 = bare;
	}
	p->body_size = cut - p->body_offset;
	p->body_lines = lf - p->lf0;
	if (p->body_size > 0 && c->buf[cut - 1] != '\n')
		p->body_lines++;
	p->body_vsize = p->body_size + (bare - p->bare0);
}

/* start_body - what follows the header block of the current part */
static void start_body(struct ctx *c)
{
	struct mime_part *p = c->cur;
	const struct mime_param *b;

	c->in_hdr = 0;
	if (p->flags & MIME_PART_MULTIPART) {
		b = mime_param_find(p->params, p->nparams, "boundary");
		if (b == NULL || b->extended || b->value[0] == 0 ||
		    strlen(b->value) > MIME_MAX_BOUNDARY)
			return; /* a multipart with no parts */
		if (p->depth >= MIME_MAX_DEPTH || c->nb > MIME_MAX_DEPTH) {
			p->flags |= MIME_PART_OPAQUE;
			c->t->flags |= MIME_TREE_TOO_DEEP;
			return;
		}
		c->stack[c->nb].s = b->value;
		c->stack[c->nb].len = strlen(b->value);
		c->stack[c->nb].mp = p;
		c->nb++;
		return;
	}
	if (p->flags & MIME_PART_MESSAGE) {
		/* An encoded message/rfc822 cannot be parsed in place. */
		if (mime_encoding_of(p->encoding) != MIME_ENC_IDENTITY) {
			p->flags &= ~MIME_PART_MESSAGE;
			return;
		}
		if (p->depth >= MIME_MAX_DEPTH) {
			p->flags |= MIME_PART_OPAQUE;
			c->t->flags |= MIME_TREE_TOO_DEEP;
			return;
		}
		if (c->t->nparts >= MIME_MAX_PARTS) {
			p->flags |= MIME_PART_OPAQUE;
			c->t->flags |= MIME_TREE_TOO_MANY;
			return;
		}
		c->cur = new_part(c, p, p->body_offset);
		c->in_hdr = 1;
	}
}

/* is_padding - only transport padding (RFC 2046 §5.1.1) up to the EOL */
static int is_padding(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* match_boundary - which open boundary the line is, or -1 */
static int match_boundary(const struct ctx *c, const char *line, size_t n,
			  int *close_r)
{
	int i, pass;

	if (n < 3 || line[0] != '-' || line[1] != '-')
		return -1;
	for (pass = 0; pass < 2; pass++) {
		for (i = (int)c->nb - 1; i >= 0; i--) {
			const struct bnd *b = &c->stack[i];
			size_t rest;

			if (n - 2 < b->len ||
			    memcmp(line + 2, b->s, b->len) != 0)
				continue;
			rest = 2 + b->len;
			*close_r = n - rest >= 2 && line[rest] == '-' &&
				   line[rest + 1] == '-';
			if (*close_r)
				rest += 2;
			/* Pass 0: exact lines only; pass 1: any prefix. */
			if (pass == 1 || is_padding(line + rest, n - rest))
				return i;
		}
	}
	return -1;
}

/* end_parts - end the current part and its ancestors below mp */
static void end_parts(struct ctx *c, struct mime_part *mp, size_t line_start)
{
	struct mime_part *p = c->cur;

	if (c->in_hdr && p != mp) {
		p->flags |= MIME_PART_NO_HDR_END;
		finish_header(c, p, line_start, c->lf, c->bare);
		c->in_hdr = 0;
	}
	for (; p != NULL && p != mp; p = p->parent)
		end_body(c, p, line_start, 0);
}

/* mime_parse - build the tree */
struct mime_tree *mime_parse(const char *buf, size_t len)
{
	struct ctx c;
	struct mime_part *p;
	size_t pos = 0;

	memset(&c, 0, sizeof(c));
	c.t = xcalloc(1, sizeof(*c.t));
	c.t->buf = buf;
	c.t->len = len;
	c.buf = buf;
	c.len = len;
	c.t->root = c.cur = new_part(&c, NULL, 0);
	c.in_hdr = 1;
	while (pos < len) {
		const char *lfp = memchr(buf + pos, '\n', len - pos);
		size_t next = lfp == NULL ? len : (size_t)(lfp - buf) + 1;
		size_t n = lfp == NULL ? len - pos : (size_t)(lfp - buf) - pos;
		int i, close = 0;

		i = c.nb > 0 ? match_boundary(&c, buf + pos, n, &close) : -1;
		if (i >= 0) {
			struct mime_part *mp = c.stack[i].mp;

			end_parts(&c, mp, pos);
			c.cur = mp;
			c.in_hdr = 0;
			c.nb = close ? (unsigned)i : (unsigned)i + 1;
		}
		if (lfp != NULL) {
			c.lf++;
			if (next < 2 || buf[next - 2] != '\r')
				c.bare++;
		}
		if (i >= 0) {
			if (!close) {
				if (c.t->nparts < MIME_MAX_PARTS) {
					c.cur = new_part(&c, c.cur, next);
					c.in_hdr = 1;
				} else {
					c.t->flags |= MIME_TREE_TOO_MANY;
				}
			}
		} else if (c.in_hdr &&
			   (n == 0 || (n == 1 && buf[pos] == '\r'))) {
			/* The empty line: the body starts after it. */
			finish_header(&c, c.cur, next, c.lf, c.bare);
			start_body(&c);
		}
		pos = next;
	}
	/* The end of the buffer ends every open part. */
	if (c.in_hdr) {
		c.cur->flags |= MIME_PART_NO_HDR_END;
		finish_header(&c, c.cur, len, c.lf, c.bare);
	}
	for (p = c.cur; p != NULL; p = p->parent)
		end_body(&c, p, len, 1);
	return c.t;
}

/* free_params - a parameter array and its strings */
static void free_params(struct mime_param *params, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

/* free_part - a part and everything under it (depth is bounded) */
static void free_part(struct mime_part *p)
{
	struct mime_part *ch, *next;

	for (ch = p->children; ch != NULL; ch = next) {
		next = ch->next;
		free_part(ch);
	}
	free(p->type);
	free(p->subtype);
	free_params(p->params, p->nparams);
	free(p->encoding);
	free(p->id);
	free(p->description);
	free(p->disposition);
	free_params(p->disp_params, p->ndisp_params);
	free(p->language);
	free(p->location);
	free(p->md5);
	free(p);
}

/* mime_tree_free - free the tree */
void mime_tree_free(struct mime_tree **treep)
{
	if (*treep == NULL)
		return;
	free_part((*treep)->root);
	free(*treep);
	*treep = NULL;
}

/* mime_param_find - a parameter by name */
const struct mime_param *mime_param_find(const struct mime_param *params,
					 unsigned n, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ieq(name, params[i].name))
			return &params[i];
	return NULL;
}

/* hexval - value of a hex digit, or -1 */
static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = lower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* mime_param_decode - a parameter value as UTF-8 */
int mime_param_decode(const struct mime_param *p, struct strbuf *out)
{
	const char *v = p->value, *q1, *q2, *s;
	struct strbuf raw;
	int rc;

	if (!p->extended)
		return rfc2047_decode(v, strlen(v), out);
	/* RFC 2231 §4: charset "'" language "'" %-encoded octets. */
	q1 = strchr(v, '\'');
	q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
	s = q2 == NULL ? v : q2 + 1;
	strbuf_init(&raw, STRBUF_NO_LIMIT);
	for (; *s; s++) {
		if (*s == '%' && hexval((unsigned char)s[1]) >= 0 &&
		    hexval((unsigned char)s[2]) >= 0) {
			(void)strbuf_append_char(
				&raw, (char)(hexval((unsigned char)s[1]) * 16 +
					     hexval((unsigned char)s[2])));
			s += 2;
		} else {
			(void)strbuf_append_char(&raw, *s);
		}
	}
	rc = -1;
	if (q2 != NULL && q1 > v)
		rc = rfc2047_convert(v, (size_t)(q1 - v), raw.data, raw.len,
				     out);
	if (rc < 0 && !(q2 != NULL && q1 > v &&
			rfc2047_charset_known(v, (size_t)(q1 - v))))
		rc = rfc2047_convert("utf-8", 5, raw.data, raw.len, out);
	strbuf_release(&raw);
	return rc;
}

/* mime_find_section - the part a section number names */
struct mime_part *mime_find_section(const struct mime_tree *tree,
				    const char *section, size_t len)
{
	struct mime_part *msg = tree->root, *part = tree->root;
	size_t i = 0;

	while (i < len) {
		unsigned long n = 0;
		size_t start = i;

		while (i < len && section[i] >= '0' && section[i] <= '9' &&
		       n < 1000000)
			n = n * 10 + (unsigned long)(section[i++] - '0');
		if (i == start || n == 0 || section[start] == '0' ||
		    (i < len && section[i] != '.') || n >= 1000000)
			return NULL;
		if (i < len && ++i == len)
			return NULL; /* a trailing dot */
		if (msg->flags & MIME_PART_MULTIPART) {
			if (n > msg->nchildren)
				return NULL;
			for (part = msg->children; --n > 0; part = part->next)
				;
		} else if (n == 1) {
			part = msg;
		} else {
			return NULL;
		}
		if ((part->flags & MIME_PART_MESSAGE) && part->children)
			msg = part->children;
		else if (part->flags & MIME_PART_MULTIPART)
			msg = part;
		else if (i < len)
			return NULL;
	}
	return part;
}

/* ------------------------------------------------------------ render */

/* str - an IMAP string from a C string */
static int str(const char *s, unsigned flags, struct strbuf *out)
{
	return rfc822_imap_string(s, strlen(s), flags, out);
}

/* nstr - NIL or an IMAP string */
static int nstr(const char *s, unsigned flags, struct strbuf *out)
{
	return s == NULL ? strbuf_append_str(out, "NIL") : str(s, flags, out);
}

/* render_params - body-fld-param; text parts get a default charset */
static int render_params(const struct mime_param *params, unsigned n, int text,
			 unsigned flags, struct strbuf *out)
{
	int rc = 0, add_charset;
	unsigned i;

	add_charset = text && mime_param_find(params, n, "charset") == NULL;
	if (n == 0 && !add_charset)
		return strbuf_append_str(out, "NIL");
	rc |= strbuf_append_char(out, '(');
	for (i = 0; i < n; i++) {
		struct strbuf name;

		if (i > 0)
			rc |= strbuf_append_char(out, ' ');
		strbuf_init(&name, STRBUF_NO_LIMIT);
		(void)strbuf_append_str(&name, params[i].name);
		if (params[i].extended)
			(void)strbuf_append_char(&name, '*');
		rc |= rfc822_imap_string(name.len ? name.data : "", name.len,
					 flags, out);
		strbuf_release(&name);
		rc |= strbuf_append_char(out, ' ');
		rc |= str(params[i].value, flags, out);
	}
	if (add_charset)
		rc |= strbuf_append_str(out,
					n > 0 ? " \"charset\" \"us-ascii\""
					      : "\"charset\" \"us-ascii\"");
	rc |= strbuf_append_char(out, ')');
	return rc;
}

/* render_ext - body-fld-dsp SP body-fld-lang SP body-fld-loc */
static int render_ext(const struct mime_part *p, unsigned flags,
		      struct strbuf *out)
{
	int rc = 0;

	if (p->disposition == NULL) {
		rc |= strbuf_append_str(out, " NIL");
	} else {
		rc |= strbuf_append_str(out, " (");
		rc |= str(p->disposition, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= render_params(p->disp_params, p->ndisp_params, 0, flags,
				    out);
		rc |= strbuf_append_char(out, ')');
	}
	/* Content-Language (RFC 3282): a list of tags. */
	rc |= strbuf_append_char(out, ' ');
	if (p->language == NULL) {
		rc |= strbuf_append_str(out, "NIL");
	} else {
		struct lex lx = {p->language, strlen(p->language), 0};
		int any = 0;

		for (;;) {
			size_t start;

			skip_cfws(&lx);
			if (lx.pos >= lx.len)
				break;
			start = lx.pos;
			while (lx.pos < lx.len && lx.s[lx.pos] != ',' &&
			       lx.s[lx.pos] != ' ' && lx.s[lx.pos] != '\t' &&
			       lx.s[lx.pos] != '(')
				lx.pos++;
			if (lx.pos > start) {
				rc |= strbuf_append_str(out, any ? " " : "(");
				rc |= rfc822_imap_string(lx.s + start,
							 lx.pos - start, flags,
							 out);
				any = 1;
			}
			if (lx.pos < lx.len && lx.s[lx.pos] == ',')
				lx.pos++;
		}
		rc |= strbuf_append_str(out, any ? ")" : "NIL");
	}
	rc |= strbuf_append_char(out, ' ');
	rc |= nstr(p->location, flags, out);
	return rc;
}

/* empty_body - the body of a multipart that has none, and of an unparsed
 * message: an empty text/plain part, with NIL extension fields in a
 * BODYSTRUCTURE as any other part has (and as Dovecot sends it). */
static int empty_body(int extended, struct strbuf *out)
{
	int rc = strbuf_append_str(out, "(\"text\" \"plain\" (\"charset\" "
					"\"us-ascii\") NIL NIL \"7bit\" 0 0");

	if (extended)
		rc |= strbuf_append_str(out, " NIL NIL NIL NIL");
	rc |= strbuf_append_char(out, ')');
	return rc;
}

/* mime_render_part - body (RFC 3501 §9 grammar) */
int mime_render_part(const struct mime_tree *tree, const struct mime_part *p,
		     int extended, unsigned flags, struct strbuf *out)
{
	const struct mime_part *ch;
	int rc = 0, text, message;

	rc |= strbuf_append_char(out, '(');
	if (p->flags & MIME_PART_MULTIPART) {
		/* body-type-mpart = 1*body SP media-subtype [SP ext] */
		if (p->children == NULL)
			rc |= empty_body(extended, out);
		for (ch = p->children; ch != NULL; ch = ch->next)
			rc |= mime_render_part(tree, ch, extended, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= str(p->subtype, flags, out);
		if (extended) {
			rc |= strbuf_append_char(out, ' ');
			rc |= render_params(p->params, p->nparams, 0, flags,
					    out);
			rc |= render_ext(p, flags, out);
		}
		rc |= strbuf_append_char(out, ')');
		return rc < 0 ? -1 : 0;
	}
	message = p->type != NULL
			  ? ieq(p->type, "message") && ieq(p->subtype, "rfc822")
			  : (p->flags & MIME_PART_MESSAGE) != 0;
	/* A defaulted part is text/plain unless it is a digest's message,
	 * and text needs its line count (RFC 3501 body-type-text). */
	text = (p->flags & MIME_PART_TEXT) != 0 ||
	       (p->type == NULL && !message);
	if (p->type == NULL) {
		rc |= strbuf_append_str(out, message ? "\"message\" \"rfc822\""
						     : "\"text\" \"plain\"");
	} else {
		rc |= str(p->type, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= str(p->subtype, flags, out);
	}
	rc |= strbuf_append_char(out, ' ');
	rc |= render_params(p->params, p->nparams, text, flags, out);
	rc |= strbuf_append_char(out, ' ');
	rc |= nstr(p->id, flags, out);
	rc |= strbuf_append_char(out, ' ');
	rc |= nstr(p->description, flags, out);
	rc |= strbuf_append_char(out, ' ');
	rc |= str(p->encoding != NULL ? p->encoding : "7bit", flags, out);
	rc |= strbuf_appendf(out, " %zu", p->body_vsize);
	if (message) {
		/* body-type-msg: envelope, body and lines of the inner
		 * message; an unparsed one still gets its envelope. */
		rc |= strbuf_append_char(out, ' ');
		if (p->children != NULL) {
			ch = p->children;
			rc |= rfc822_render_envelope(tree->buf + ch->hdr_offset,
						     ch->hdr_size, flags, out);
			rc |= strbuf_append_char(out, ' ');
			rc |= mime_render_part(tree, ch, extended, flags, out);
		} else {
			rc |= rfc822_render_envelope(tree->buf + p->body_offset,
						     p->body_size, flags, out);
			rc |= strbuf_append_char(out, ' ');
			rc |= empty_body(extended, out);
		}
		rc |= strbuf_appendf(out, " %zu", p->body_lines);
	} else if (text) {
		rc |= strbuf_appendf(out, " %zu", p->body_lines);
	}
	if (extended) {
		rc |= strbuf_append_char(out, ' ');
		rc |= nstr(p->md5, flags, out);
		rc |= render_ext(p, flags, out);
	}
	rc |= strbuf_append_char(out, ')');
	return rc < 0 ? -1 : 0;
}

/* mime_render_bodystructure - BODYSTRUCTURE or BODY of the message */
int mime_render_bodystructure(const struct mime_tree *tree, int extended,
			      unsigned flags, struct strbuf *out)
{
	return mime_render_part(tree, tree->root, extended, flags, out);
}

/* ------------------------------------------------------------ decoding */

/* mime_encoding_of - classify Content-Transfer-Encoding (RFC 2045 §6.1) */
enum mime_encoding mime_encoding_of(const char *cte)
{
	if (cte == NULL || ieq(cte, "7bit") || ieq(cte, "8bit") ||
	    ieq(cte, "binary"))
		return MIME_ENC_IDENTITY;
	if (ieq(cte, "base64"))
		return MIME_ENC_BASE64;
	if (ieq(cte, "quoted-printable"))
		return MIME_ENC_QP;
	return MIME_ENC_UNKNOWN;
}

/* decode_b64 - RFC 2045 §6.8, skipping what is not in the alphabet */
static int decode_b64(const unsigned char *s, size_t len, struct strbuf *out)
{
	return base64_decode(s, len, BASE64_LENIENT, out);
}

/* decode_qp - RFC 2045 §6.7, keeping bad escapes as they are */
static int decode_qp(const unsigned char *s, size_t len, struct strbuf *out)
{
	size_t pos = 0;
	int damaged = 0, rc = 0;

	while (pos < len) {
		const unsigned char *lf = memchr(s + pos, '\n', len - pos);
		size_t end = lf == NULL ? len : (size_t)(lf - s);
		size_t next = lf == NULL ? len : end + 1;
		size_t e = end, i;
		int soft = 0;

		if (e > pos && s[e - 1] == '\r')
			e--;
		/* Rule 3: white space at the end of a line is padding. */
		while (e > pos && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e > pos && s[e - 1] == '=') {
			soft = 1; /* rule 5: a soft line break */
			e--;
		}
		for (i = pos; i < e; i++) {
			char ch = (char)s[i];

			if (ch == '=') {
				if (i + 2 < e && hexval(s[i + 1]) >= 0 &&
				    hexval(s[i + 2]) >= 0) {
					ch = (char)(hexval(s[i + 1]) * 16 +
						    hexval(s[i + 2]));
					i += 2;
				} else {
					damaged = 1;
				}
			}
			rc |= strbuf_append_char(out, ch);
		}
		if (!soft && lf != NULL) {
			if (end > pos && s[end - 1] == '\r')
				rc |= strbuf_append(out, "\r\n", 2);
			else
				rc |= strbuf_append_char(out, '\n');
		}
		pos = next;
	}
	return rc < 0 ? -1 : damaged;
}

/* mime_decode - undo a Content-Transfer-Encoding */
int mime_decode(enum mime_encoding enc, const char *in, size_t len,
		struct strbuf *out)
{
	switch (enc) {
	case MIME_ENC_IDENTITY:
		return strbuf_append(out, in, len);
	case MIME_ENC_BASE64:
		return decode_b64((const unsigned char *)in, len, out);
	case MIME_ENC_QP:
		return decode_qp((const unsigned char *)in, len, out);
	default:
		return -1;
	}
}
