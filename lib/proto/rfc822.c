/*
 * rfc822 - RFC 5322 header fields, address lists and dates, no I/O
 *
 * SYNOPSIS
 *	#include "rfc822.h"
 *
 *	void rfc822_hdr_init(p, buf, len)
 *	int rfc822_hdr_next(p, h_r)
 *	int rfc822_hdr_name_is(h, name)
 *	int rfc822_unfold(value, len, out)
 *	struct rfc822_addr *rfc822_addr_parse(value, len, count_r)
 *	void rfc822_addr_free(listp)
 *	int rfc822_parse_date(s, len, time_r, tz_r)
 *	int rfc822_imap_string(s, len, flags, out)
 *	int rfc822_imap_nstring(s, len, flags, out)
 *	int rfc822_render_envelope(hdr, len, flags, out)
 *	int rfc822_render_addr_list(list, flags, out)
 *
 * DESCRIPTION
 *	The lexical layer of RFC 5322 for the readers of stored messages
 *	(imapd's FETCH ENVELOPE and SEARCH, header checks in smtpd and
 *	qmgr).  Messages are already in memory (imapd maps or reads the
 *	Maildir file), so the header parser is a pull parser over a buffer
 *	rather than a resumable byte-fed one; it accepts CRLF and bare LF
 *	line endings alike, since Maildir files use LF.
 *
 *	The address parser follows RFC 5322 §3.4 with the obsolete forms
 *	of §4.4 (route addresses, phrases with dots, CFWS around dots)
 *	and is lenient the way Dovecot's message-address.c is: a missing
 *	'>' is supplied, a missing local part or domain is filled in with
 *	RFC822_MISSING_MAILBOX / RFC822_MISSING_DOMAIN, and garbage is
 *	skipped up to the next comma.  Its output is IMAP's address
 *	4-tuple, group markers included, so ENVELOPE is a plain walk.
 *
 *	Every scanner advances at least one byte per step and never goes
 *	back more than once per address, so all work is linear in the
 *	input; comment nesting is counted, not recursed into.
 *
 * DIAGNOSTICS
 *	Nothing is logged and nothing is fatal.  Parsers never fail on
 *	malformed headers or addresses (they return what could be made of
 *	them); rfc822_parse_date() returns -1 for a value that is not a
 *	date; the renderers return -1 when the output buffer's limit is hit.
 *
 * SECURITY
 *	Everything parsed here comes from untrusted mail.  No read goes
 *	past the given length, NUL bytes are data, address lists are
 *	capped at RFC822_ADDR_MAX entries, and no recursion depends on
 *	the input.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rfc822.h"

/* rfc822_hdr_init - start parsing a header block */
void rfc822_hdr_init(struct rfc822_hdr_parser *p, const char *buf, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->len = len;
}

/* line_end - offset just past the LF ending the line at pos (or len) */
static size_t line_end(const char *buf, size_t len, size_t pos)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);

	return lf == NULL ? len : (size_t)(lf - buf) + 1;
}

/* trim_eol - length of buf[start..end) without its final CRLF or LF */
static size_t trim_eol(const char *buf, size_t start, size_t end)
{
	if (end > start && buf[end - 1] == '\n')
		end--;
	if (end > start && buf[end - 1] == '\r')
		end--;
	return end - start;
}

/* rfc822_hdr_next - the next field of the block, or 0 at its end */
int rfc822_hdr_next(struct rfc822_hdr_parser *p, struct rfc822_header *h_r)
{
	const char *buf = p->buf;
	size_t start, end, first_end, i, n;

	if (p->done)
		return 0;
	start = p->pos;
	/* The empty line (RFC 5322 §2.1) ends the block; so does the end
	 * of the buffer, for a message that has only headers. */
	if (start >= p->len || buf[start] == '\n' ||
	    (buf[start] == '\r' && start + 1 < p->len &&
	     buf[start + 1] == '\n') ||
	    (buf[start] == '\r' && start + 1 == p->len)) {
		p->done = 1;
		p->body_offset = start >= p->len      ? p->len
				 : buf[start] == '\n' ? start + 1
						      : start + 2;
		if (p->body_offset > p->len)
			p->body_offset = p->len;
		return 0;
	}
	first_end = end = line_end(buf, p->len, start);
	/* Continuation lines start with white space (§2.2.3). */
	while (end < p->len && (buf[end] == ' ' || buf[end] == '\t'))
		end = line_end(buf, p->len, end);
	p->pos = end;

	memset(h_r, 0, sizeof(*h_r));
	h_r->offset = start;
	h_r->size = end - start;
	n = trim_eol(buf, start, first_end);
	for (i = 0; i < n && buf[start + i] != ':'; i++)
		;
	if (i == n) {
		h_r->broken = 1;
		h_r->name = buf + start;
		h_r->name_len = n;
		h_r->value = buf + start + n;
		return 1;
	}
	h_r->name = buf + start;
	h_r->name_len = i;
	/* "Subject :" is the obsolete form of §4.5; drop the space. */
	while (h_r->name_len > 0 && (buf[start + h_r->name_len - 1] == ' ' ||
				     buf[start + h_r->name_len - 1] == '\t'))
		h_r->name_len--;
	if (h_r->name_len == 0)
		h_r->broken = 1;
	i++;
	while (start + i < end &&
	       (buf[start + i] == ' ' || buf[start + i] == '\t'))
		i++;
	h_r->value = buf + start + i;
	n = trim_eol(buf, start, end);
	h_r->value_len = n > i ? n - i : 0;
	return 1;
}

/* lower - ASCII tolower without locale */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* rfc822_hdr_name_is - does the field have this name */
int rfc822_hdr_name_is(const struct rfc822_header *h, const char *name)
{
	size_t i, n = strlen(name);

	if (h->broken || h->name_len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(h->name[i]) != lower(name[i]))
			return 0;
	return 1;
}

/* rfc822_unfold - remove folding and trailing white space */
int rfc822_unfold(const char *value, size_t len, struct strbuf *out)
{
	size_t i, start = out->len;
	int rc = 0;

	for (i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\r' && i + 1 < len && value[i + 1] == '\n')
			continue;
		if (c == '\n')
			continue;
		if (rc == 0 && strbuf_append_char(out, c) < 0)
			rc = -1;
	}
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
				    out->data[out->len - 1] == '\t' ||
				    out->data[out->len - 1] == '\r'))
		strbuf_truncate(out, out->len - 1);
	return rc;
}

/* ---------------------------------------------------------------- lexer */

/* A cursor over one field value. */
struct lex {
	const unsigned char *s;
	size_t len;
	size_t pos;
};

/* is_atext - RFC 5322 §3.2.3 atext, plus 8-bit for RFC 6532 */
static int is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return 1;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* skip_cfws - skip white space, line breaks and (nested) comments */
static void skip_cfws(struct lex *lx)
{
	size_t depth;

	while (lx->pos < lx->len) {
		unsigned char c = lx->s[lx->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->pos++;
			continue;
		}
		if (c != '(')
			return;
		/* A comment (§3.2.2): counted, never recursed into; an
		 * unterminated one runs to the end of the value. */
		depth = 0;
		while (lx->pos < lx->len) {
			c = lx->s[lx->pos++];
			if (c == '\\') {
				if (lx->pos < lx->len)
					lx->pos++;
			} else if (c == '(') {
				depth++;
			} else if (c == ')') {
				if (--depth == 0)
					break;
			}
		}
	}
}

/* peek - the byte at the cursor, or -1 at the end */
static int peek(const struct lex *lx)
{
	return lx->pos < lx->len ? lx->s[lx->pos] : -1;
}

/* get_atom - append an atom (§3.2.3); 0 when there is none */
static int get_atom(struct lex *lx, struct strbuf *out)
{
	size_t start = lx->pos;

	while (lx->pos < lx->len && is_atext(lx->s[lx->pos]))
		lx->pos++;
	(void)strbuf_append(out, lx->s + start, lx->pos - start);
	return lx->pos > start;
}

/* get_quoted - append the content of a quoted string (§3.2.4) */
static void get_quoted(struct lex *lx, struct strbuf *out)
{
	lx->pos++; /* the opening quote */
	while (lx->pos < lx->len) {
		unsigned char c = lx->s[lx->pos++];

		if (c == '"')
			return;
		if (c == '\\' && lx->pos < lx->len)
			c = lx->s[lx->pos++];
		else if (c == '\r' || c == '\n')
			continue; /* folding inside the quotes */
		(void)strbuf_append_char(out, (char)c);
	}
}

/* get_word - append an atom or a quoted string; 0 when there is none */
static int get_word(struct lex *lx, struct strbuf *out)
{
	if (peek(lx) == '"') {
		get_quoted(lx, out);
		return 1;
	}
	return get_atom(lx, out);
}

/* get_phrase - a display name: words and obsolete dots (§4.1), joined by
 * single spaces; returns the number of words and dots seen */
static int get_phrase(struct lex *lx, struct strbuf *out)
{
	int n = 0;

	for (;;) {
		skip_cfws(lx);
		if (peek(lx) == '.') {
			(void)strbuf_append_char(out, '.');
			lx->pos++;
			n++;
			continue;
		}
		if (peek(lx) != '"' &&
		    (lx->pos >= lx->len || !is_atext(lx->s[lx->pos])))
			return n;
		if (n > 0 && out->len > 0 && out->data[out->len - 1] != '.')
			(void)strbuf_append_char(out, ' ');
		(void)get_word(lx, out);
		n++;
	}
}

/* get_domain - a dot-atom or domain literal (§3.4.1), CFWS around dots
 * allowed (§4.4) */
static int get_domain(struct lex *lx, struct strbuf *out)
{
	int any = 0;

	skip_cfws(lx);
	if (peek(lx) == '[') {
		while (lx->pos < lx->len) {
			unsigned char c = lx->s[lx->pos++];

			if (c == '\\' && lx->pos < lx->len)
				c = lx->s[lx->pos++];
			else if (c == '\r' || c == '\n')
				continue;
			(void)strbuf_append_char(out, (char)c);
			if (c == ']')
				break;
		}
		return 1;
	}
	for (;;) {
		if (get_atom(lx, out))
			any = 1;
		skip_cfws(lx);
		if (peek(lx) != '.')
			return any;
		(void)strbuf_append_char(out, '.');
		lx->pos++;
		skip_cfws(lx);
	}
}

/* A list under construction. */
struct addr_list {
	struct rfc822_addr *head;
	struct rfc822_addr **tail;
	size_t count;
};

/* dup_sb - a copy of the buffer's content, or NULL when told so */
static char *dup_sb(const struct strbuf *sb)
{
	return xstrndup(sb->len ? sb->data : "", sb->len);
}

/* add_addr - append one element; ownership of the strings moves */
static void add_addr(struct addr_list *l, char *name, char *route,
		     char *mailbox, char *host, int invalid)
{
	struct rfc822_addr *a;

	if (l->count >= RFC822_ADDR_MAX) {
		free(name);
		free(route);
		free(mailbox);
		free(host);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->name = name;
	a->route = route;
	a->mailbox = mailbox;
	a->host = host;
	a->invalid = invalid;
	*l->tail = a;
	l->tail = &a->next;
	l->count++;
}

/* get_local - a local part: words joined by dots (§3.4.1, §4.4) */
static void get_local(struct lex *lx, struct strbuf *out)
{
	for (;;) {
		skip_cfws(lx);
		if (!get_word(lx, out))
			return;
		skip_cfws(lx);
		if (peek(lx) != '.')
			return;
		(void)strbuf_append_char(out, '.');
		lx->pos++;
	}
}

/* add_spec - parse an addr-spec at the cursor and append it; returns 0
 * when the cursor did not move */
static int add_spec(struct lex *lx, struct addr_list *l, char *name,
		    char *route, int angle)
{
	struct strbuf local, dom;
	size_t start = lx->pos;
	int invalid = 0, at = 0;
	char *mbox, *host;

	strbuf_init(&local, STRBUF_NO_LIMIT);
	strbuf_init(&dom, STRBUF_NO_LIMIT);
	get_local(lx, &local);
	skip_cfws(lx);
	if (peek(lx) == '@') {
		lx->pos++;
		at = 1;
		(void)get_domain(lx, &dom);
	}
	if (angle) {
		skip_cfws(lx);
		if (peek(lx) == '>')
			lx->pos++;
		else
			invalid = 1; /* a missing '>' is supplied */
	} else if (lx->pos == start) {
		strbuf_release(&local);
		strbuf_release(&dom);
		free(name);
		free(route);
		return 0;
	}
	if (angle && local.len == 0 && !at && route == NULL) {
		/* "<>": the null path of Return-Path, kept as it is. */
		mbox = xstrdup("");
		host = xstrdup("");
	} else {
		if (local.len == 0) {
			invalid = 1;
			mbox = xstrdup(RFC822_MISSING_MAILBOX);
		} else {
			mbox = dup_sb(&local);
		}
		if (dom.len == 0) {
			invalid = 1;
			host = xstrdup(RFC822_MISSING_DOMAIN);
		} else {
			host = dup_sb(&dom);
		}
	}
	add_addr(l, name, route, mbox, host, invalid);
	strbuf_release(&local);
	strbuf_release(&dom);
	return 1;
}

/* get_route - the obsolete "@a,@b:" before an angle addr (§4.4) */
static char *get_route(struct lex *lx)
{
	struct strbuf r;
	size_t save = lx->pos;

	skip_cfws(lx);
	if (peek(lx) != '@')
		return NULL;
	strbuf_init(&r, STRBUF_NO_LIMIT);
	for (;;) {
		skip_cfws(lx);
		if (peek(lx) == ',') {
			lx->pos++;
			continue;
		}
		if (peek(lx) != '@')
			break;
		lx->pos++;
		if (r.len > 0)
			(void)strbuf_append_char(&r, ',');
		(void)strbuf_append_char(&r, '@');
		(void)get_domain(lx, &r);
	}
	if (peek(lx) != ':') {
		/* Not a route after all ("<@foo>"): read it as an address. */
		lx->pos = save;
		strbuf_release(&r);
		return NULL;
	}
	lx->pos++;
	return strbuf_steal(&r);
}

/* skip_garbage - up to the next ',' (or ';' in a group), honouring
 * quotes and comments */
static void skip_garbage(struct lex *lx, int in_group)
{
	struct strbuf dummy;

	strbuf_init(&dummy, 0);
	for (;;) {
		int c;

		skip_cfws(lx);
		c = peek(lx);
		if (c == -1 || c == ',' || (in_group && c == ';'))
			break;
		if (c == '"')
			get_quoted(lx, &dummy);
		else
			lx->pos++;
	}
	strbuf_release(&dummy);
}

/* add_mailbox - a mailbox, or a group when allowed; 0 on no progress */
static int add_mailbox(struct lex *lx, struct addr_list *l, int in_group)
{
	struct strbuf phrase;
	size_t start = lx->pos;
	int words, c;
	char *name;

	strbuf_init(&phrase, STRBUF_NO_LIMIT);
	words = get_phrase(lx, &phrase);
	skip_cfws(lx);
	c = peek(lx);
	if (c == '<') {
		lx->pos++;
		name = words > 0 && phrase.len > 0 ? dup_sb(&phrase) : NULL;
		strbuf_release(&phrase);
		(void)add_spec(lx, l, name, get_route(lx), 1);
		return 1;
	}
	if (c == ':' && !in_group && words > 0) {
		/* group = display-name ":" [group-list] ";" (§3.4); IMAP
		 * brackets the members with two markers. */
		lx->pos++;
		add_addr(l, NULL, NULL, dup_sb(&phrase), NULL, 0);
		strbuf_release(&phrase);
		for (;;) {
			skip_cfws(lx);
			c = peek(lx);
			if (c == -1)
				break;
			if (c == ';') {
				lx->pos++;
				break;
			}
			if (c == ',' || !add_mailbox(lx, l, 1)) {
				lx->pos++; /* a separator or garbage */
				continue;
			}
			/* Skip what follows an address up to ',' or ';', so
			 * that no word is read twice (a linear scan). */
			skip_garbage(lx, 1);
		}
		add_addr(l, NULL, NULL, NULL, NULL, 0);
		return 1;
	}
	strbuf_release(&phrase);
	lx->pos = start;
	return add_spec(lx, l, NULL, NULL, 0);
}

/* rfc822_addr_parse - parse an address-list */
struct rfc822_addr *rfc822_addr_parse(const char *value, size_t len,
				      size_t *count_r)
{
	struct addr_list l;
	struct lex lx;

	l.head = NULL;
	l.tail = &l.head;
	l.count = 0;
	lx.s = (const unsigned char *)value;
	lx.len = len;
	lx.pos = 0;
	for (;;) {
		size_t before;

		skip_cfws(&lx);
		/* At the limit, the rest is not even looked at. */
		if (lx.pos >= lx.len || l.count >= RFC822_ADDR_MAX)
			break;
		if (peek(&lx) == ',') {
			lx.pos++;
			continue;
		}
		before = lx.pos;
		if (!add_mailbox(&lx, &l, 0))
			lx.pos++;
		skip_garbage(&lx, 0);
		if (lx.pos == before)
			lx.pos++; /* never loop */
	}
	if (count_r != NULL)
		*count_r = l.count;
	return l.head;
}

/* rfc822_addr_free - free a list */
void rfc822_addr_free(struct rfc822_addr **listp)
{
	struct rfc822_addr *a, *next;

	for (a = *listp; a != NULL; a = next) {
		next = a->next;
		free(a->name);
		free(a->route);
		free(a->mailbox);
		free(a->host);
		free(a);
	}
	*listp = NULL;
}

/* ---------------------------------------------------------------- dates */

/* get_number - up to max digits; returns the digit count */
static int get_number(struct lex *lx, int max, int *num_r)
{
	int n = 0, v = 0;

	while (n < max && lx->pos < lx->len && lx->s[lx->pos] >= '0' &&
	       lx->s[lx->pos] <= '9') {
		v = v * 10 + (lx->s[lx->pos++] - '0');
		n++;
	}
	/* More digits than the field can have: not a date. */
	if (lx->pos < lx->len && lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9')
		return 0;
	*num_r = v;
	return n;
}

/* get_alpha - a run of letters, lowercased into buf; returns its length */
static size_t get_alpha(struct lex *lx, char *buf, size_t size)
{
	size_t n = 0;

	while (lx->pos < lx->len && ((lx->s[lx->pos] | 0x20) >= 'a' &&
				     (lx->s[lx->pos] | 0x20) <= 'z')) {
		if (n + 1 < size)
			buf[n] = (char)lower(lx->s[lx->pos]);
		n++;
		lx->pos++;
	}
	if (n < size)
		buf[n] = 0;
	else
		buf[size - 1] = 0;
	return n;
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date
 * (Howard Hinnant's algorithm; no timegm(), which is not in C11) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* rfc822_parse_date - parse a date-time */
int rfc822_parse_date(const char *s, size_t len, time_t *time_r, int *tz_r)
{
	static const char months[12][4] = {"jan", "feb", "mar", "apr",
					   "may", "jun", "jul", "aug",
					   "sep", "oct", "nov", "dec"};
	static const struct {
		const char *name;
		int off;
	} zones[] = {{"ut", 0},	       {"gmt", 0},	 {"utc", 0},
		     {"z", 0},	       {"est", -5 * 60}, {"edt", -4 * 60},
		     {"cst", -6 * 60}, {"cdt", -5 * 60}, {"mst", -7 * 60},
		     {"mdt", -6 * 60}, {"pst", -8 * 60}, {"pdt", -7 * 60}};
	static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30,
						31, 31, 30, 31, 30, 31};
	struct lex lx;
	char word[8];
	int day, mon, year, hour, min, sec = 0, tz = 0, n, i;
	size_t wl;
	long long t;

	lx.s = (const unsigned char *)s;
	lx.len = len;
	lx.pos = 0;
	skip_cfws(&lx);
	/* [ day-of-week "," ] */
	if (lx.pos < lx.len && (lx.s[lx.pos] | 0x20) >= 'a' &&
	    (lx.s[lx.pos] | 0x20) <= 'z') {
		if (get_alpha(&lx, word, sizeof(word)) != 3)
			return -1;
		skip_cfws(&lx);
		if (peek(&lx) == ',')
			lx.pos++;
		skip_cfws(&lx);
	}
	if (get_number(&lx, 2, &day) == 0)
		return -1;
	skip_cfws(&lx);
	if (get_alpha(&lx, word, sizeof(word)) != 3)
		return -1;
	for (mon = 0; mon < 12 && strcmp(word, months[mon]) != 0; mon++)
		;
	if (mon == 12)
		return -1;
	skip_cfws(&lx);
	n = get_number(&lx, 4, &year);
	/* §4.3: two digits add 1900 from 50 on and 2000 below; three add
	 * 1900. */
	if (n == 2)
		year += year < 50 ? 2000 : 1900;
	else if (n == 3)
		year += 1900;
	else if (n != 4)
		return -1;
	skip_cfws(&lx);
	if (get_number(&lx, 2, &hour) == 0)
		return -1;
	skip_cfws(&lx);
	if (peek(&lx) != ':')
		return -1;
	lx.pos++;
	skip_cfws(&lx);
	if (get_number(&lx, 2, &min) == 0)
		return -1;
	skip_cfws(&lx);
	if (peek(&lx) == ':') {
		lx.pos++;
		skip_cfws(&lx);
		if (get_number(&lx, 2, &sec) == 0)
			return -1;
		skip_cfws(&lx);
	}
	if (peek(&lx) == '+' || peek(&lx) == '-') {
		int sign = peek(&lx) == '-' ? -1 : 1, hhmm;

		lx.pos++;
		if (get_number(&lx, 4, &hhmm) != 4 || hhmm % 100 > 59)
			return -1;
		tz = sign * ((hhmm / 100) * 60 + hhmm % 100);
	} else if (lx.pos < lx.len) {
		wl = get_alpha(&lx, word, sizeof(word));
		if (wl == 0)
			return -1;
		for (i = 0; i < (int)(sizeof(zones) / sizeof(zones[0])); i++)
			if (strcmp(word, zones[i].name) == 0)
				break;
		if (i < (int)(sizeof(zones) / sizeof(zones[0])))
			tz = zones[i].off;
		else if (wl != 1 || word[0] == 'j')
			return -1;
		/* Military zones: §4.3 says to read them as -0000. */
	}
	/* Anything else may only be a comment. */
	skip_cfws(&lx);
	if (lx.pos < lx.len)
		return -1;
	if (day < 1 || day > mdays[mon] || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (mon == 1 && day == 29 &&
	    !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return -1;
	if (year < 1900)
		return -1;
	t = days_from_civil(year, (unsigned)mon + 1, (unsigned)day) * 86400LL +
	    hour * 3600LL + min * 60LL + sec - tz * 60LL;
	if (sizeof(time_t) < 8 && (t > 0x7fffffffLL || t < -0x7fffffffLL))
		return -1;
	*time_r = (time_t)t;
	*tz_r = tz;
	return 0;
}

/* ---------------------------------------------------------------- IMAP */

/* rfc822_imap_string - a quoted string or a literal */
int rfc822_imap_string(const char *s, size_t len, unsigned flags,
		       struct strbuf *out)
{
	size_t i, nuls = 0;
	int literal = 0, rc = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			nuls++;
		else if (c == '\r' || c == '\n' ||
			 (c >= 0x80 && !(flags & RFC822_IMAP_UTF8)))
			literal = 1;
	}
	/* A quoted string has a practical size limit in clients; long
	 * values go as literals, as Dovecot does. */
	if (len - nuls > 1024)
		literal = 1;
	if (literal) {
		rc |= strbuf_appendf(out, "{%zu}\r\n", len - nuls);
		for (i = 0; i < len; i++)
			if (s[i] != 0)
				rc |= strbuf_append_char(out, s[i]);
		return rc;
	}
	rc |= strbuf_append_char(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == 0)
			continue;
		if (s[i] == '"' || s[i] == '\\')
			rc |= strbuf_append_char(out, '\\');
		rc |= strbuf_append_char(out, s[i]);
	}
	rc |= strbuf_append_char(out, '"');
	return rc;
}

/* rfc822_imap_nstring - NIL or a string */
int rfc822_imap_nstring(const char *s, size_t len, unsigned flags,
			struct strbuf *out)
{
	if (s == NULL)
		return strbuf_append_str(out, "NIL");
	return rfc822_imap_string(s, len, flags, out);
}

/* nstr - NIL or a C string */
static int nstr(const char *s, unsigned flags, struct strbuf *out)
{
	return rfc822_imap_nstring(s, s == NULL ? 0 : strlen(s), flags, out);
}

/* rfc822_render_addr_list - NIL or "(" 1*address ")" */
int rfc822_render_addr_list(const struct rfc822_addr *list, unsigned flags,
			    struct strbuf *out)
{
	const struct rfc822_addr *a;
	int rc = 0;

	if (list == NULL)
		return strbuf_append_str(out, "NIL");
	rc |= strbuf_append_char(out, '(');
	for (a = list; a != NULL; a = a->next) {
		rc |= strbuf_append_char(out, '(');
		rc |= nstr(a->name, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= nstr(a->route, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= nstr(a->mailbox, flags, out);
		rc |= strbuf_append_char(out, ' ');
		rc |= nstr(a->host, flags, out);
		rc |= strbuf_append_char(out, ')');
	}
	rc |= strbuf_append_char(out, ')');
	return rc;
}

/* The envelope fields, in RFC 3501 §7.4.2 order. */
enum env_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_COUNT
};

/* rfc822_render_envelope - ENVELOPE from a header block */
int rfc822_render_envelope(const char *hdr, size_t len, unsigned flags,
			   struct strbuf *out)
{
	static const char *const names[ENV_COUNT] = {
		"Date", "Subject", "From", "Sender",	  "Reply-To",
		"To",	"Cc",	   "Bcc",  "In-Reply-To", "Message-ID"};
	struct rfc822_hdr_parser p;
	struct rfc822_header h;
	struct rfc822_header found[ENV_COUNT];
	int have[ENV_COUNT] = {0};
	struct rfc822_addr *lists[ENV_COUNT] = {NULL};
	struct strbuf val;
	int i, rc = 0;

	rfc822_hdr_init(&p, hdr, len);
	while (rfc822_hdr_next(&p, &h) > 0) {
		for (i = 0; i < ENV_COUNT; i++) {
			if (!have[i] && rfc822_hdr_name_is(&h, names[i])) {
				found[i] = h;
				have[i] = 1;
			}
		}
	}
	strbuf_init(&val, STRBUF_NO_LIMIT);
	for (i = ENV_FROM; i <= ENV_BCC; i++)
		if (have[i])
			lists[i] = rfc822_addr_parse(found[i].value,
						     found[i].value_len, NULL);
	/* Sender and Reply-To default to From (§7.4.2). */
	rc |= strbuf_append_char(out, '(');
	for (i = 0; i < ENV_COUNT; i++) {
		if (i > 0)
			rc |= strbuf_append_char(out, ' ');
		if (i >= ENV_FROM && i <= ENV_BCC) {
			const struct rfc822_addr *l = lists[i];

			if (l == NULL && (i == ENV_SENDER || i == ENV_REPLY_TO))
				l = lists[ENV_FROM];
			rc |= rfc822_render_addr_list(l, flags, out);
			continue;
		}
		if (!have[i]) {
			rc |= strbuf_append_str(out, "NIL");
			continue;
		}
		strbuf_reset(&val);
		(void)rfc822_unfold(found[i].value, found[i].value_len, &val);
		rc |= rfc822_imap_string(val.len ? val.data : "", val.len,
					 flags, out);
	}
	rc |= strbuf_append_char(out, ')');
	for (i = 0; i < ENV_COUNT; i++)
		rfc822_addr_free(&lists[i]);
	strbuf_release(&val);
	return rc < 0 ? -1 : 0;
}
