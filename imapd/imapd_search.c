/*
 * imapd_search - SEARCH programs: parsing the keys and matching messages
 *
 * SYNOPSIS
 *	#include "imapd.h"
 *
 *	struct imapd_search *imapd_search_parse(args, n, error_r,
 *						badcharset_r);
 *	bool imapd_search_match(search, msg, max_seq, max_uid);
 *	void imapd_search_free(searchp);
 *
 * DESCRIPTION
 *	The arguments of SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4) become a
 *	tree: a list of keys is an AND, OR has two children, NOT one.  All
 *	keys of both RFCs are known (NEW, OLD, RECENT, UNRECENT included),
 *	plus MODSEQ (RFC 7162 §3.1.5) and the ESEARCH result options
 *	RETURN (MIN MAX COUNT ALL) (RFC 4731).  A bare sequence set is a
 *	key, as is a parenthesised list.
 *
 *	Matching works on a struct imapd_msgview, so it needs no store.
 *	Keys on flags, sizes, dates, UIDs and sequence numbers never load
 *	the message; header, body and text keys load it once through
 *	msg->load.  String keys are case-insensitive substring matches
 *	(ASCII case folding; other UTF-8 must match exactly) against the
 *	header values after RFC 2047 decoding and against text parts
 *	after their transfer encoding was undone and their charset was
 *	converted to UTF-8.  BEFORE/ON/SINCE compare the internal date's
 *	day in the server's time zone; SENT* keys the Date: field's day in
 *	its own zone, falling back to the internal date when the field is
 *	missing or broken (as Dovecot does).
 *
 * DIAGNOSTICS
 *	imapd_search_parse() gives a static error text for "BAD"; a
 *	charset other than UTF-8 or US-ASCII sets *badcharset_r (the
 *	caller answers "NO [BADCHARSET (UTF-8 US-ASCII)]").
 *
 * SECURITY
 *	The program is untrusted input: the number of keys and the
 *	nesting are bounded (IMAPD_SEARCH_MAX_KEYS, _DEPTH), as are
 *	sequence sets; the fuzz target tests/fuzz/imap_search drives
 *	parsing and matching.
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
#include "rfc2047.h"
#include "rfc822.h"

enum skey_type {
	SK_AND,
	SK_OR,
	SK_NOT,
	SK_ALL,
	SK_SEQ,
	SK_UID,
	SK_FLAG,   /* flag set */
	SK_UNFLAG, /* flag clear */
	SK_KEYWORD,
	SK_UNKEYWORD,
	SK_NEW, /* \Recent and not \Seen */
	SK_OLD, /* not \Recent */
	SK_BEFORE,
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_LARGER,
	SK_SMALLER,
	SK_HEADER,
	SK_BODY,
	SK_TEXT,
	SK_MODSEQ,
};

struct skey {
	enum skey_type type;
	struct skey *child; /* AND, OR, NOT */
	struct skey *next;  /* sibling */
	unsigned flag;
	long day;
	uint64_t num;
	char *field; /* HEADER field name */
	char *value; /* search string */
	size_t value_len;
	struct imapd_seqset set;
};

struct imapd_search {
	struct skey *root;
	unsigned ret;
	bool has_return;
	bool modseq;
	bool size;
	unsigned nkeys;
};

struct parse_ctx {
	struct imapd_search *search;
	const char *error;
};

static void skey_free(struct skey *k)
{
	while (k != NULL) {
		struct skey *next = k->next;

		skey_free(k->child);
		free(k->field);
		free(k->value);
		imapd_seqset_clear(&k->set);
		free(k);
		k = next;
	}
}

void imapd_search_free(struct imapd_search **searchp)
{
	struct imapd_search *s = *searchp;

	if (s == NULL)
		return;
	skey_free(s->root);
	free(s);
	*searchp = NULL;
}

unsigned imapd_search_return(const struct imapd_search *search)
{
	return search->ret;
}

bool imapd_search_has_return(const struct imapd_search *search)
{
	return search->has_return;
}

bool imapd_search_uses_modseq(const struct imapd_search *search)
{
	return search->modseq;
}

bool imapd_search_uses_size(const struct imapd_search *search)
{
	return search->size;
}

/* atom_is - is arg an atom (or number) spelled name, any case */
static bool atom_is(const struct imap_arg *arg, const char *name)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NUMBER) &&
	       strcasecmp(arg->str, name) == 0;
}

static struct skey *skey_new(struct parse_ctx *p, enum skey_type type)
{
	if (p->search->nkeys >= IMAPD_SEARCH_MAX_KEYS) {
		p->error = "Too many search keys";
		return NULL;
	}
	p->search->nkeys++;
	struct skey *k = xcalloc(1, sizeof(*k));
	k->type = type;
	return k;
}

static const struct {
	const char *name;
	enum skey_type type;
	unsigned flag;
} simple_keys[] = {
	{"ALL", SK_ALL, 0},
	{"ANSWERED", SK_FLAG, MAIL_ANSWERED},
	{"DELETED", SK_FLAG, MAIL_DELETED},
	{"DRAFT", SK_FLAG, MAIL_DRAFT},
	{"FLAGGED", SK_FLAG, MAIL_FLAGGED},
	{"SEEN", SK_FLAG, MAIL_SEEN},
	{"RECENT", SK_FLAG, MAIL_RECENT},
	{"UNANSWERED", SK_UNFLAG, MAIL_ANSWERED},
	{"UNDELETED", SK_UNFLAG, MAIL_DELETED},
	{"UNDRAFT", SK_UNFLAG, MAIL_DRAFT},
	{"UNFLAGGED", SK_UNFLAG, MAIL_FLAGGED},
	{"UNSEEN", SK_UNFLAG, MAIL_SEEN},
	{"UNRECENT", SK_UNFLAG, MAIL_RECENT},
	{"NEW", SK_NEW, 0},
	{"OLD", SK_OLD, 0},
};

static const struct {
	const char *name;
	enum skey_type type;
} date_keys[] = {
	{"BEFORE", SK_BEFORE}, {"ON", SK_ON},
	{"SINCE", SK_SINCE},   {"SENTBEFORE", SK_SENTBEFORE},
	{"SENTON", SK_SENTON}, {"SENTSINCE", SK_SENTSINCE},
};

/* The keys that search one header field. */
static const char *const header_keys[] = {"BCC", "CC", "FROM", "SUBJECT", "TO"};

/* get_string - the next argument as an astring */
static bool get_string(struct parse_ctx *p, const struct imap_arg *args,
		       size_t n, size_t *i, const char **s_r, size_t *len_r)
{
	if (*i >= n || !imap_arg_get_astring(&args[*i], s_r, len_r)) {
		p->error = "Missing search string";
		return false;
	}
	if (memchr(*s_r, '\0', *len_r) != NULL) {
		p->error = "NUL in search string";
		return false;
	}
	(*i)++;
	return true;
}

static bool get_number(struct parse_ctx *p, const struct imap_arg *args,
		       size_t n, size_t *i, uint64_t *num_r)
{
	if (*i >= n || args[*i].type != IMAP_ARG_NUMBER) {
		p->error = "Expected a number";
		return false;
	}
	*num_r = args[*i].num;
	(*i)++;
	return true;
}

static struct skey *parse_keys(struct parse_ctx *p, const struct imap_arg *args,
			       size_t n, unsigned depth);

/* parse_key - one search key starting at args[*i] */
static struct skey *parse_key(struct parse_ctx *p, const struct imap_arg *args,
			      size_t n, size_t *i, unsigned depth)
{
	const struct imap_arg *a = &args[*i];
	struct skey *k;
	const char *s;
	size_t len;

	if (depth > IMAPD_SEARCH_MAX_DEPTH) {
		p->error = "Search keys nested too deeply";
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST) {
		(*i)++;
		if (a->list_count == 0) {
			p->error = "Empty search key list";
			return NULL;
		}
		return parse_keys(p, a->list, a->list_count, depth + 1);
	}
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NUMBER) {
		p->error = "Expected a search key";
		return NULL;
	}
	(*i)++;
	for (size_t j = 0; j < sizeof(simple_keys) / sizeof(*simple_keys);
	     j++) {
		if (strcasecmp(a->str, simple_keys[j].name) == 0) {
			if ((k = skey_new(p, simple_keys[j].type)) != NULL)
				k->flag = simple_keys[j].flag;
			return k;
		}
	}
	for (size_t j = 0; j < sizeof(date_keys) / sizeof(*date_keys); j++) {
		if (strcasecmp(a->str, date_keys[j].name) != 0)
			continue;
		if (!get_string(p, args, n, i, &s, &len))
			return NULL;
		long day = imapd_search_parse_date(s, len);
		if (day < 0) {
			p->error = "Invalid search date";
			return NULL;
		}
		if ((k = skey_new(p, date_keys[j].type)) != NULL)
			k->day = day;
		return k;
	}
	for (size_t j = 0; j < sizeof(header_keys) / sizeof(*header_keys);
	     j++) {
		if (strcasecmp(a->str, header_keys[j]) != 0)
			continue;
		if (!get_string(p, args, n, i, &s, &len))
			return NULL;
		if ((k = skey_new(p, SK_HEADER)) == NULL)
			return NULL;
		k->field = xstrdup(header_keys[j]);
		k->value = xstrndup(s, len);
		k->value_len = len;
		return k;
	}
	if (strcasecmp(a->str, "HEADER") == 0) {
		const char *f;
		size_t flen;

		if (!get_string(p, args, n, i, &f, &flen) ||
		    !get_string(p, args, n, i, &s, &len))
			return NULL;
		if (flen == 0) {
			p->error = "Empty header field name";
			return NULL;
		}
		if ((k = skey_new(p, SK_HEADER)) == NULL)
			return NULL;
		k->field = xstrndup(f, flen);
		k->value = xstrndup(s, len);
		k->value_len = len;
		return k;
	}
	if (strcasecmp(a->str, "BODY") == 0 ||
	    strcasecmp(a->str, "TEXT") == 0) {
		enum skey_type t =
			strcasecmp(a->str, "BODY") == 0 ? SK_BODY : SK_TEXT;
		if (!get_string(p, args, n, i, &s, &len))
			return NULL;
		if ((k = skey_new(p, t)) == NULL)
			return NULL;
		k->value = xstrndup(s, len);
		k->value_len = len;
		return k;
	}
	if (strcasecmp(a->str, "KEYWORD") == 0 ||
	    strcasecmp(a->str, "UNKEYWORD") == 0) {
		enum skey_type t = strcasecmp(a->str, "KEYWORD") == 0
					   ? SK_KEYWORD
					   : SK_UNKEYWORD;
		if (*i >= n || args[*i].type != IMAP_ARG_ATOM) {
			p->error = "Expected a keyword";
			return NULL;
		}
		if ((k = skey_new(p, t)) == NULL)
			return NULL;
		k->value = xstrdup(args[*i].str);
		(*i)++;
		return k;
	}
	if (strcasecmp(a->str, "LARGER") == 0 ||
	    strcasecmp(a->str, "SMALLER") == 0) {
		enum skey_type t = strcasecmp(a->str, "LARGER") == 0
					   ? SK_LARGER
					   : SK_SMALLER;
		uint64_t num;

		if (!get_number(p, args, n, i, &num))
			return NULL;
		if ((k = skey_new(p, t)) != NULL)
			k->num = num;
		p->search->size = true;
		return k;
	}
	if (strcasecmp(a->str, "MODSEQ") == 0) {
		uint64_t num;

		/* Optional entry-name entry-type-req: per-flag modseqs
		 * are not kept, so the message's modseq answers. */
		if (*i < n && args[*i].type == IMAP_ARG_STRING) {
			if (*i + 1 >= n || args[*i + 1].type != IMAP_ARG_ATOM ||
			    (strcasecmp(args[*i + 1].str, "priv") != 0 &&
			     strcasecmp(args[*i + 1].str, "shared") != 0 &&
			     strcasecmp(args[*i + 1].str, "all") != 0)) {
				p->error = "Invalid MODSEQ entry type";
				return NULL;
			}
			*i += 2;
		}
		if (!get_number(p, args, n, i, &num))
			return NULL;
		if ((k = skey_new(p, SK_MODSEQ)) != NULL)
			k->num = num;
		p->search->modseq = true;
		return k;
	}
	if (strcasecmp(a->str, "UID") == 0) {
		if (*i >= n || (args[*i].type != IMAP_ARG_ATOM &&
				args[*i].type != IMAP_ARG_NUMBER)) {
			p->error = "Expected a UID set";
			return NULL;
		}
		if ((k = skey_new(p, SK_UID)) == NULL)
			return NULL;
		if (imapd_seqset_parse(args[*i].str, args[*i].len, &k->set,
				       &p->error) < 0) {
			skey_free(k);
			return NULL;
		}
		(*i)++;
		return k;
	}
	if (strcasecmp(a->str, "NOT") == 0) {
		if (*i >= n) {
			p->error = "NOT without a key";
			return NULL;
		}
		struct skey *c = parse_key(p, args, n, i, depth + 1);
		if (c == NULL)
			return NULL;
		if ((k = skey_new(p, SK_NOT)) == NULL) {
			skey_free(c);
			return NULL;
		}
		k->child = c;
		return k;
	}
	if (strcasecmp(a->str, "OR") == 0) {
		if (*i >= n) {
			p->error = "OR without keys";
			return NULL;
		}
		struct skey *c1 = parse_key(p, args, n, i, depth + 1);
		if (c1 == NULL)
			return NULL;
		if (*i >= n) {
			skey_free(c1);
			p->error = "OR needs two keys";
			return NULL;
		}
		struct skey *c2 = parse_key(p, args, n, i, depth + 1);
		if (c2 == NULL) {
			skey_free(c1);
			return NULL;
		}
		if ((k = skey_new(p, SK_OR)) == NULL) {
			skey_free(c1);
			skey_free(c2);
			return NULL;
		}
		c1->next = c2;
		k->child = c1;
		return k;
	}
	/* Anything else must be a sequence set. */
	const char *c = a->str;
	if (!(isdigit((unsigned char)*c) || *c == '*')) {
		p->error = "Unknown search key";
		return NULL;
	}
	if ((k = skey_new(p, SK_SEQ)) == NULL)
		return NULL;
	if (imapd_seqset_parse(a->str, a->len, &k->set, &p->error) < 0) {
		skey_free(k);
		return NULL;
	}
	return k;
}

/* parse_keys - args[0..n) as one AND */
static struct skey *parse_keys(struct parse_ctx *p, const struct imap_arg *args,
			       size_t n, unsigned depth)
{
	struct skey *and = skey_new(p, SK_AND), **tail;
	size_t i = 0;

	if (and == NULL)
		return NULL;
	tail = &and->child;
	while (i < n) {
		struct skey *k = parse_key(p, args, n, &i, depth);

		if (k == NULL) {
			skey_free(and);
			return NULL;
		}
		*tail = k;
		tail = &k->next;
	}
	return and;
}

struct imapd_search *imapd_search_parse(const struct imap_arg *args, size_t n,
					const char **error_r,
					bool *badcharset_r)
{
	struct imapd_search *s = xcalloc(1, sizeof(*s));
	struct parse_ctx p = {s, NULL};
	size_t i = 0;

	*badcharset_r = false;
	if (i < n && atom_is(&args[i], "RETURN")) {
		i++;
		if (i >= n || args[i].type != IMAP_ARG_LIST) {
			*error_r = "RETURN needs a list";
			goto fail;
		}
		s->has_return = true;
		for (size_t j = 0; j < args[i].list_count; j++) {
			const struct imap_arg *o = &args[i].list[j];

			if (atom_is(o, "MIN"))
				s->ret |= IMAPD_SEARCH_RETURN_MIN;
			else if (atom_is(o, "MAX"))
				s->ret |= IMAPD_SEARCH_RETURN_MAX;
			else if (atom_is(o, "COUNT"))
				s->ret |= IMAPD_SEARCH_RETURN_COUNT;
			else if (atom_is(o, "ALL"))
				s->ret |= IMAPD_SEARCH_RETURN_ALL;
			else {
				*error_r = "Unknown RETURN option";
				goto fail;
			}
		}
		if (s->ret == 0)
			s->ret = IMAPD_SEARCH_RETURN_ALL;
		i++;
	}
	if (i < n && atom_is(&args[i], "CHARSET")) {
		const char *cs;
		size_t len;

		i++;
		if (i >= n || !imap_arg_get_astring(&args[i], &cs, &len)) {
			*error_r = "CHARSET needs a name";
			goto fail;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			*error_r = "Unsupported charset";
			*badcharset_r = true;
			goto fail;
		}
		i++;
	}
	if (i >= n) {
		*error_r = "Missing search keys";
		goto fail;
	}
	s->root = parse_keys(&p, args + i, n - i, 0);
	if (s->root == NULL) {
		*error_r = p.error != NULL ? p.error : "Invalid search";
		goto fail;
	}
	return s;
fail:
	imapd_search_free(&s);
	return NULL;
}

/* ---------------------------------------------------------------- match */

/* Content loaded once per message and match. */
struct match_ctx {
	const struct imapd_msgview *msg;
	uint32_t max_seq, max_uid;
	bool loaded;
	const char *data;
	size_t len;
	struct mime_tree *tree;
};

static const char *ctx_data(struct match_ctx *m, size_t *len_r)
{
	if (!m->loaded) {
		m->loaded = true;
		m->data = m->msg->load != NULL
				  ? m->msg->load(m->msg->ctx, &m->len)
				  : NULL;
	}
	*len_r = m->len;
	return m->data;
}

/* ci_find - case-insensitive (ASCII) substring search */
static bool ci_find(const char *hay, size_t hlen, const char *needle,
		    size_t nlen)
{
	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	for (size_t i = 0; i + nlen <= hlen; i++) {
		size_t j = 0;

		while (j < nlen && tolower((unsigned char)hay[i + j]) ==
					   tolower((unsigned char)needle[j]))
			j++;
		if (j == nlen)
			return true;
	}
	return false;
}

/* header_decoded - a field's value unfolded and RFC 2047-decoded */
static void header_decoded(const struct rfc822_header *h, struct strbuf *out)
{
	struct strbuf raw;

	strbuf_init(&raw, STRBUF_NO_LIMIT);
	rfc822_unfold(h->value, h->value_len, &raw);
	rfc2047_decode(raw.data != NULL ? raw.data : "", raw.len, out);
	strbuf_release(&raw);
}

/* match_header - field (NULL: any) holding value in the header block */
static bool match_header(const char *hdr, size_t len, const char *field,
			 const char *value, size_t vlen)
{
	struct rfc822_hdr_parser hp;
	struct rfc822_header h;
	struct strbuf dec;
	bool found = false;

	strbuf_init(&dec, STRBUF_NO_LIMIT);
	rfc822_hdr_init(&hp, hdr, len);
	while (!found && rfc822_hdr_next(&hp, &h) == 1) {
		if (h.broken)
			continue;
		if (field != NULL && !rfc822_hdr_name_is(&h, field))
			continue;
		if (field != NULL && vlen == 0) {
			found = true;
			break;
		}
		strbuf_reset(&dec);
		header_decoded(&h, &dec);
		found = ci_find(dec.data != NULL ? dec.data : "", dec.len,
				value, vlen) ||
			(field == NULL &&
			 ci_find(h.name, h.name_len, value, vlen));
	}
	strbuf_release(&dec);
	return found;
}

/* part_is_text - does a leaf part hold text we can search */
static bool part_is_text(const struct mime_part *part)
{
	if (part->children != NULL)
		return false;
	if (part->flags & MIME_PART_TEXT)
		return true;
	return part->type == NULL && !(part->flags & MIME_PART_MESSAGE);
}

static bool match_part(const struct match_ctx *m, const struct mime_part *part,
		       const char *value, size_t vlen)
{
	for (; part != NULL; part = part->next) {
		if (part->children != NULL) {
			if (match_part(m, part->children, value, vlen))
				return true;
			continue;
		}
		if (!part_is_text(part))
			continue;
		struct strbuf dec, utf8;
		bool found;
		const struct mime_param *cs =
			mime_param_find(part->params, part->nparams, "charset");

		strbuf_init(&dec, STRBUF_NO_LIMIT);
		strbuf_init(&utf8, STRBUF_NO_LIMIT);
		if (mime_decode(mime_encoding_of(part->encoding),
				m->data + part->body_offset, part->body_size,
				&dec) < 0)
			strbuf_append(&dec, m->data + part->body_offset,
				      part->body_size);
		if (cs != NULL && !cs->extended &&
		    rfc2047_charset_known(cs->value, strlen(cs->value)) &&
		    rfc2047_convert(cs->value, strlen(cs->value),
				    dec.data != NULL ? dec.data : "", dec.len,
				    &utf8) == 0)
			found = ci_find(utf8.data != NULL ? utf8.data : "",
					utf8.len, value, vlen);
		else
			found = ci_find(dec.data != NULL ? dec.data : "",
					dec.len, value, vlen);
		strbuf_release(&dec);
		strbuf_release(&utf8);
		if (found)
			return true;
	}
	return false;
}

static bool match_body(struct match_ctx *m, const char *value, size_t vlen)
{
	size_t len;
	const char *data = ctx_data(m, &len);

	if (data == NULL)
		return false;
	if (m->tree == NULL)
		m->tree = mime_parse(data, len);
	return match_part(m, m->tree->root, value, vlen);
}

/* day_local - the day number of t in the server's zone */
static long day_local(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	long long s = (long long)t + tm.tm_gmtoff;
	return (long)(s >= 0 ? s / 86400 : (s - 86399) / 86400);
}

/* day_sent - the day of the Date: field in its own zone */
static long day_sent(struct match_ctx *m)
{
	size_t len;
	const char *data = ctx_data(m, &len);
	struct rfc822_hdr_parser hp;
	struct rfc822_header h;

	if (data != NULL) {
		rfc822_hdr_init(&hp, data, len);
		while (rfc822_hdr_next(&hp, &h) == 1) {
			time_t t;
			int tz;

			if (h.broken || !rfc822_hdr_name_is(&h, "Date"))
				continue;
			if (rfc822_parse_date(h.value, h.value_len, &t, &tz) <
			    0)
				break;
			long long s = (long long)t + (long long)tz * 60;
			return (long)(s >= 0 ? s / 86400 : (s - 86399) / 86400);
		}
	}
	return day_local(m->msg->internal);
}

static bool match_keyword(const struct imapd_msgview *msg, const char *name)
{
	for (size_t i = 0; i < msg->keyword_count && i < 32; i++)
		if ((msg->keywords & (1u << i)) &&
		    strcasecmp(msg->keyword_names[i], name) == 0)
			return true;
	return false;
}

static bool match_key(struct match_ctx *m, const struct skey *k)
{
	const struct imapd_msgview *msg = m->msg;
	size_t len;
	const char *data;

	switch (k->type) {
	case SK_AND:
		for (const struct skey *c = k->child; c != NULL; c = c->next)
			if (!match_key(m, c))
				return false;
		return true;
	case SK_OR:
		return match_key(m, k->child) || match_key(m, k->child->next);
	case SK_NOT:
		return !match_key(m, k->child);
	case SK_ALL:
		return true;
	case SK_SEQ:
		return imapd_seqset_contains(&k->set, msg->seq, m->max_seq);
	case SK_UID:
		return imapd_seqset_contains(&k->set, msg->uid, m->max_uid);
	case SK_FLAG:
		return (msg->flags & k->flag) != 0;
	case SK_UNFLAG:
		return (msg->flags & k->flag) == 0;
	case SK_KEYWORD:
		return match_keyword(msg, k->value);
	case SK_UNKEYWORD:
		return !match_keyword(msg, k->value);
	case SK_NEW:
		return (msg->flags & (MAIL_RECENT | MAIL_SEEN)) == MAIL_RECENT;
	case SK_OLD:
		return (msg->flags & MAIL_RECENT) == 0;
	case SK_BEFORE:
		return day_local(msg->internal) < k->day;
	case SK_ON:
		return day_local(msg->internal) == k->day;
	case SK_SINCE:
		return day_local(msg->internal) >= k->day;
	case SK_SENTBEFORE:
		return day_sent(m) < k->day;
	case SK_SENTON:
		return day_sent(m) == k->day;
	case SK_SENTSINCE:
		return day_sent(m) >= k->day;
	case SK_LARGER:
		return msg->size > k->num;
	case SK_SMALLER:
		return msg->size < k->num;
	case SK_MODSEQ:
		return msg->modseq >= k->num;
	case SK_HEADER:
		if ((data = ctx_data(m, &len)) == NULL)
			return false;
		return match_header(data, len, k->field, k->value,
				    k->value_len);
	case SK_BODY:
		return match_body(m, k->value, k->value_len);
	case SK_TEXT:
		if ((data = ctx_data(m, &len)) == NULL)
			return false;
		return match_header(data, len, NULL, k->value, k->value_len) ||
		       match_body(m, k->value, k->value_len);
	}
	return false;
}

bool imapd_search_match(const struct imapd_search *search,
			const struct imapd_msgview *msg, uint32_t max_seq,
			uint32_t max_uid)
{
	struct match_ctx m = {msg, max_seq, max_uid, false, NULL, 0, NULL};
	bool ret = match_key(&m, search->root);

	mime_tree_free(&m.tree);
	return ret;
}
