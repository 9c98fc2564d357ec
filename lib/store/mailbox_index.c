/*
 * mailbox_index - the folder index as text, and dovecot-uidlist
 *
 * SYNOPSIS
 *	#include "mailbox_index.h"
 *
 * DESCRIPTION
 *	See mailbox_index.h for the format.  Numbers are plain decimal
 *	without sign or leading '+', checked for overflow; fields are
 *	separated by one space; the base name is the rest of the line and
 *	may hold anything but NUL, '/', ':' and line ends.  A record for a
 *	UID above every one named before adds a message (UIDs only grow);
 *	one for a lower UID updates it, or is ignored when that UID was
 *	expunged.
 *
 * DIAGNOSTICS
 *	The parsers return -1 with a static text naming the line; they
 *	never log and never abort on input.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mailbox.h"
#include "mailbox_index.h"
#include "strbuf.h"

/* Flag letters of Maildir, in the ASCII order names carry them. */
static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{'D', MAIL_DRAFT},    {'F', MAIL_FLAGGED}, {'P', MAIL_PASSED},
	{'R', MAIL_ANSWERED}, {'S', MAIL_SEEN},	   {'T', MAIL_DELETED},
};

#define STORED_FLAGS                                                           \
	(MAIL_SEEN | MAIL_ANSWERED | MAIL_FLAGGED | MAIL_DELETED |             \
	 MAIL_DRAFT | MAIL_PASSED)

static char parse_error[128];

void mbx_index_init(struct mbx_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void mbx_rec_release(struct mbx_rec *rec)
{
	free(rec->base);
	free(rec->name);
	rec->base = rec->name = NULL;
}

void mbx_index_clear(struct mbx_index *ix)
{
	for (size_t i = 0; i < ix->count; i++)
		mbx_rec_release(&ix->recs[i]);
	for (size_t i = 0; i < ix->gone_count; i++)
		mbx_rec_release(&ix->gone[i]);
	free(ix->recs);
	free(ix->gone);
	mbx_index_init(ix);
}

/* get_num - decimal digits at *pp up to end; no sign, no overflow */
static int get_num(const char **pp, const char *end, uint64_t max,
		   uint64_t *num_r)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (n > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*num_r = n;
	return 0;
}

/* get_sp - exactly one space */
static int get_sp(const char **pp, const char *end)
{
	if (*pp >= end || **pp != ' ')
		return -1;
	(*pp)++;
	return 0;
}

/* base_valid - a file name part we can put in a path and a line */
static bool base_valid(const char *p, size_t len)
{
	if (len == 0 || len > 255 || p[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

struct mbx_rec *mbx_index_find(struct mbx_index *ix, uint32_t uid)
{
	size_t lo = 0, hi = ix->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->count && ix->recs[lo].uid == uid && !ix->recs[lo].dead)
		return &ix->recs[lo];
	return NULL;
}

struct mbx_rec *mbx_index_add(struct mbx_index *ix, uint32_t uid,
			      const char *base)
{
	struct mbx_rec *rec;

	if (ix->count == ix->alloc) {
		ix->alloc = ix->alloc < 64 ? 64 : ix->alloc * 2;
		ix->recs = xreallocarray(ix->recs, ix->alloc, sizeof(*rec));
	}
	rec = &ix->recs[ix->count++];
	memset(rec, 0, sizeof(*rec));
	rec->uid = uid;
	rec->base = xstrdup(base);
	if (uid >= ix->uidnext)
		ix->uidnext = uid == UINT32_MAX ? uid : uid + 1;
	if (uid > ix->last_uid)
		ix->last_uid = uid;
	return rec;
}

void mbx_index_pack(struct mbx_index *ix)
{
	size_t j = 0;

	for (size_t i = 0; i < ix->count; i++) {
		if (ix->recs[i].dead) {
			if (ix->gone_count == ix->gone_alloc) {
				ix->gone_alloc = ix->gone_alloc
							 ? ix->gone_alloc * 2
							 : 16;
				ix->gone =
					xreallocarray(ix->gone, ix->gone_alloc,
						      sizeof(*ix->gone));
			}
			ix->gone[ix->gone_count++] = ix->recs[i];
			continue;
		}
		ix->recs[j++] = ix->recs[i];
	}
	ix->count = j;
}

/* parse_header - "FACTEUR-INDEX 1 V<n> N<n> M<n> R<n>" */
static int parse_header(struct mbx_index *ix, const char *p, const char *end)
{
	size_t mlen = strlen(MBX_INDEX_MAGIC);
	uint64_t v, n, m, r;

	if ((size_t)(end - p) < mlen || memcmp(p, MBX_INDEX_MAGIC, mlen) != 0)
		return -1;
	p += mlen;
	if (p >= end || *p++ != 'V' || get_num(&p, end, UINT32_MAX, &v) < 0 ||
	    get_sp(&p, end) < 0 || p >= end || *p++ != 'N' ||
	    get_num(&p, end, UINT32_MAX, &n) < 0 || get_sp(&p, end) < 0 ||
	    p >= end || *p++ != 'M' || get_num(&p, end, UINT64_MAX, &m) < 0 ||
	    get_sp(&p, end) < 0 || p >= end || *p++ != 'R' ||
	    get_num(&p, end, UINT32_MAX, &r) < 0 || p != end || v == 0 ||
	    n == 0 || r > n)
		return -1;
	ix->first_recent = (uint32_t)r;
	ix->uidvalidity = (uint32_t)v;
	ix->uidnext = (uint32_t)n;
	ix->highestmodseq = m;
	return 0;
}

/* parse_record - one '+' or '-' line (without its '\n') */
static int parse_record(struct mbx_index *ix, const char *p, const char *end)
{
	uint64_t uid, modseq, flags, kw, size, mtime;
	struct mbx_rec *rec;

	if (p >= end)
		return -1;
	if (*p == 'R') {
		p++;
		if (get_num(&p, end, UINT32_MAX, &uid) < 0 || p != end ||
		    uid > ix->uidnext)
			return -1;
		if (uid > ix->first_recent)
			ix->first_recent = (uint32_t)uid;
		return 0;
	}
	if (*p == '-') {
		p++;
		if (get_num(&p, end, UINT32_MAX, &uid) < 0 ||
		    get_sp(&p, end) < 0 ||
		    get_num(&p, end, UINT64_MAX, &modseq) < 0 || p != end ||
		    uid == 0)
			return -1;
		if ((rec = mbx_index_find(ix, (uint32_t)uid)) != NULL)
			rec->dead = true;
		if (modseq > ix->highestmodseq)
			ix->highestmodseq = modseq;
		return 0;
	}
	if (*p++ != '+')
		return -1;
	if (get_num(&p, end, UINT32_MAX, &uid) < 0 || get_sp(&p, end) < 0 ||
	    get_num(&p, end, UINT64_MAX, &modseq) < 0 || get_sp(&p, end) < 0 ||
	    get_num(&p, end, STORED_FLAGS, &flags) < 0 || get_sp(&p, end) < 0 ||
	    get_num(&p, end, UINT32_MAX >> 6, &kw) < 0 || get_sp(&p, end) < 0 ||
	    get_num(&p, end, UINT64_MAX, &size) < 0 || get_sp(&p, end) < 0 ||
	    get_num(&p, end, INT64_MAX, &mtime) < 0 || get_sp(&p, end) < 0 ||
	    !base_valid(p, (size_t)(end - p)) || uid == 0 ||
	    uid == UINT32_MAX || (flags & ~STORED_FLAGS) != 0)
		return -1;
	if (uid > ix->last_uid) {
		char *base = xstrndup(p, (size_t)(end - p));

		rec = mbx_index_add(ix, (uint32_t)uid, base);
		free(base);
	} else if ((rec = mbx_index_find(ix, (uint32_t)uid)) == NULL) {
		return 0; /* expunged meanwhile */
	} else if (strlen(rec->base) != (size_t)(end - p) ||
		   memcmp(rec->base, p, (size_t)(end - p)) != 0) {
		return -1; /* a UID never changes its file */
	}
	if (rec->flags != flags || rec->keywords != kw)
		rec->moved = true;
	rec->modseq = modseq;
	rec->flags = (unsigned)flags;
	rec->keywords = (uint32_t)kw;
	rec->size = size;
	rec->mtime = (int64_t)mtime;
	if (modseq > ix->highestmodseq)
		ix->highestmodseq = modseq;
	return 0;
}

int mbx_index_parse(struct mbx_index *ix, const char *data, size_t len,
		    bool with_header, size_t *consumed_r, const char **error_r)
{
	const char *p = data, *end = data + len;
	size_t line = 0;
	bool need_pack = false;
	int ret = 0;

	*consumed_r = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break; /* torn tail: not written completely yet */
		line++;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			ret = -1;
		} else if (with_header && line == 1) {
			ret = parse_header(ix, p, nl);
		} else {
			ret = parse_record(ix, p, nl);
			ix->records++;
			need_pack = true;
		}
		if (ret < 0) {
			snprintf(parse_error, sizeof(parse_error),
				 "bad line %zu", line);
			*error_r = parse_error;
			break;
		}
		p = nl + 1;
		*consumed_r = (size_t)(p - data);
	}
	if (ret == 0 && with_header && line == 0) {
		*error_r = "no header";
		ret = -1;
	}
	if (need_pack)
		mbx_index_pack(ix);
	return ret;
}

void mbx_index_format_header(const struct mbx_index *ix, struct strbuf *out)
{
	strbuf_appendf(out, MBX_INDEX_MAGIC "V%u N%u M%llu R%u\n",
		       ix->uidvalidity, ix->uidnext,
		       (unsigned long long)ix->highestmodseq, ix->first_recent);
}

void mbx_index_format_rec(const struct mbx_rec *rec, struct strbuf *out)
{
	strbuf_appendf(out, "+%u %llu %u %u %llu %lld %s\n", rec->uid,
		       (unsigned long long)rec->modseq, rec->flags,
		       rec->keywords, (unsigned long long)rec->size,
		       (long long)(rec->mtime < 0 ? 0 : rec->mtime), rec->base);
}

void mbx_index_format_expunge(uint32_t uid, uint64_t modseq, struct strbuf *out)
{
	strbuf_appendf(out, "-%u %llu\n", uid, (unsigned long long)modseq);
}

void mbx_index_format_recent(uint32_t first_recent, struct strbuf *out)
{
	strbuf_appendf(out, "R%u\n", first_recent);
}

/*
 * uidlist_header - "3 V<uidvalidity> N<uidnext> G<guid> ..." (version 3,
 * fields in any order, unknown ones skipped) or "1 <uidvalidity>
 * <uidnext>" (version 1, Courier's).
 */
static int uidlist_header(struct mbx_index *ix, const char *p, const char *end,
			  unsigned *version_r)
{
	uint64_t version, v = 0, n = 0;

	if (get_num(&p, end, 10, &version) < 0)
		return -1;
	*version_r = (unsigned)version;
	if (version == 1) {
		if (get_sp(&p, end) < 0 ||
		    get_num(&p, end, UINT32_MAX, &v) < 0 ||
		    get_sp(&p, end) < 0 || get_num(&p, end, UINT32_MAX, &n) < 0)
			return -1;
	} else if (version == 3) {
		while (p < end) {
			const char *sp;

			if (get_sp(&p, end) < 0)
				return -1;
			sp = memchr(p, ' ', (size_t)(end - p));
			if (sp == NULL)
				sp = end;
			if (p == sp)
				return -1;
			if (*p == 'V') {
				p++;
				if (get_num(&p, sp, UINT32_MAX, &v) < 0 ||
				    p != sp)
					return -1;
			} else if (*p == 'N') {
				p++;
				if (get_num(&p, sp, UINT32_MAX, &n) < 0 ||
				    p != sp)
					return -1;
			}
			p = sp;
		}
	} else {
		return -1;
	}
	if (v == 0 || n == 0)
		return -1;
	ix->uidvalidity = (uint32_t)v;
	ix->uidnext = (uint32_t)n;
	return 0;
}

/*
 * uidlist_line - "<uid> [<key><value> ...] :<base>" (version 3; the
 * extension fields are letters with values, S<size> among them) or
 * "<uid> <base>" (version 1).  UIDs must ascend.
 */
static int uidlist_line(struct mbx_index *ix, const char *p, const char *end,
			unsigned version, uint32_t *last_uid)
{
	uint64_t uid, size = UINT64_MAX, s;
	const char *base = NULL;
	struct mbx_rec *rec;
	uint32_t saved_next;
	char *copy;

	if (get_num(&p, end, UINT32_MAX, &uid) < 0 || uid == 0 ||
	    uid == UINT32_MAX || uid <= *last_uid)
		return -1;
	while (p < end) {
		const char *sp;

		if (get_sp(&p, end) < 0)
			return -1;
		if (p < end && *p == ':') {
			base = p + 1;
			break;
		}
		if (version == 1) {
			base = p; /* the name itself */
			break;
		}
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL || sp == p)
			return -1; /* version 3 names start with ':' */
		if (*p == 'S') {
			const char *q = p + 1;

			if (get_num(&q, sp, UINT64_MAX, &s) == 0 && q == sp)
				size = s;
		}
		p = sp;
	}
	if (base == NULL || !base_valid(base, (size_t)(end - base)))
		return -1;
	*last_uid = (uint32_t)uid;
	copy = xstrndup(base, (size_t)(end - base));
	saved_next = ix->uidnext;
	rec = mbx_index_add(ix, (uint32_t)uid, copy);
	free(copy);
	/* Dovecot's next UID may be above the last line's; keep it. */
	if (saved_next > ix->uidnext)
		ix->uidnext = saved_next;
	rec->size = size;
	rec->mtime = -1;
	return 0;
}

int mbx_uidlist_parse(struct mbx_index *ix, const char *data, size_t len,
		      const char **error_r)
{
	const char *p = data, *end = data + len;
	uint32_t last_uid = 0;
	unsigned version = 0;
	size_t line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		int r;

		line++;
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
			r = -1;
		else if (line == 1)
			r = uidlist_header(ix, p, eol, &version);
		else if (eol == p)
			r = 0; /* a blank line */
		else
			r = uidlist_line(ix, p, eol, version, &last_uid);
		if (r < 0) {
			snprintf(parse_error, sizeof(parse_error),
				 "dovecot-uidlist: bad line %zu", line);
			*error_r = parse_error;
			return -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (line == 0) {
		*error_r = "dovecot-uidlist: empty";
		return -1;
	}
	if (ix->uidnext <= last_uid)
		ix->uidnext = last_uid + 1;
	return 0;
}

void mbx_flags_parse(const char *info, unsigned *flags_r, uint32_t *kw_r)
{
	unsigned flags = 0;
	uint32_t kw = 0;

	for (const char *p = info; *p != '\0' && *p != ','; p++) {
		if (*p >= 'a' && *p <= 'z') {
			kw |= 1u << (*p - 'a');
			continue;
		}
		for (size_t i = 0;
		     i < sizeof(flag_letters) / sizeof(*flag_letters); i++)
			if (flag_letters[i].letter == *p)
				flags |= flag_letters[i].flag;
	}
	*flags_r = flags;
	*kw_r = kw;
}

void mbx_flags_format(unsigned flags, uint32_t keywords, struct strbuf *out)
{
	for (size_t i = 0; i < sizeof(flag_letters) / sizeof(*flag_letters);
	     i++)
		if (flags & flag_letters[i].flag)
			strbuf_append_char(out, flag_letters[i].letter);
	for (int i = 0; i < MAILBOX_KEYWORDS_MAX; i++)
		if (keywords & (1u << i))
			strbuf_append_char(out, (char)('a' + i));
}
