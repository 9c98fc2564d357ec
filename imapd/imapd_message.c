/*
 * imapd_message - FETCH and SEARCH over the selected folder
 *
 * DESCRIPTION
 *	FETCH parses its items (imapd_fetch.c), sets \Seen first when a
 *	non-PEEK body item asks for it in a read-write folder (and then
 *	sends FLAGS too, RFC 9051 §6.4.5), and renders one "* N FETCH"
 *	per message, reading each message at most once.  CHANGEDSINCE
 *	(RFC 7162) leaves out messages not changed since.
 *
 *	SEARCH (imapd_search.c) answers "* SEARCH" for IMAP4rev1, or
 *	"* ESEARCH" (RFC 4731, RFC 9051) when RETURN was given or the
 *	client enabled IMAP4rev2; with a MODSEQ key the highest modseq of
 *	the matches is added (RFC 7162 §3.1.5).
 *
 *	Neither syncs the folder before answering: EXPUNGE responses are
 *	not allowed during FETCH, STORE and SEARCH (RFC 9051 §7.5.1); the
 *	UID forms may sync (the session does it before the tagged OK).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "imapd.h"
#include "log.h"
#include "mailbox.h"
#include "rfc822.h"

/*
 * set_seen - \Seen on the messages the FETCH will render that lack it,
 * all in one store call (one lock, one index write); returns which
 * view indexes got it (their FLAGS are sent), malloc'd.
 */
static bool *set_seen(struct imapd_session *s, const struct imapd_seqset *set,
		      bool uid, const struct imapd_fetch *fetch)
{
	size_t count = mailbox_count(s->mb), n = 0;
	size_t *idx = xreallocarray(NULL, count > 0 ? count : 1, sizeof(*idx));
	bool *seen_now = xcalloc(count > 0 ? count : 1, sizeof(*seen_now));
	const char *error;

	for (size_t k = 0; k < count; k++) {
		struct mailbox_msg msg;
		const struct mailbox_msg *m = &msg;

		mailbox_msg(s->mb, k, &msg);

		if (!imapd_set_contains(s, set, k, uid) ||
		    (fetch->changedsince_given &&
		     m->modseq <= fetch->changedsince) ||
		    (m->flags & MAIL_SEEN))
			continue;
		idx[n++] = k;
	}
	if (mailbox_store_flags_many(s->mb, idx, n, '+', MAIL_SEEN, &error) < 0)
		log_warn("imap(%s): %s: set \\Seen: %s", s->user, s->mbname,
			 error);
	/* What the store did shows in the view (a failure stops part way). */
	for (size_t j = 0; j < n; j++) {
		struct mailbox_msg m;

		mailbox_msg(s->mb, idx[j], &m);
		seen_now[idx[j]] = (m.flags & MAIL_SEEN) != 0;
	}
	free(idx);
	return seen_now;
}

void imapd_cmd_fetch(struct imapd_session *s, const char *tag,
		     const struct imap_arg *args, size_t n, bool uid)
{
	struct imapd_seqset set;
	struct imapd_fetch fetch;
	const char *error;
	size_t failed = 0, expunged = 0;

	if (n < 2) {
		imapd_printf(s, "%s BAD FETCH needs a set and items\r\n", tag);
		return;
	}
	if (imapd_fetch_parse(args + 1, n - 1, &fetch, &error) < 0) {
		imapd_printf(s, "%s BAD %s\r\n", tag, error);
		return;
	}
	if (args[0].type != IMAP_ARG_ATOM && args[0].type != IMAP_ARG_NUMBER) {
		imapd_fetch_clear(&fetch);
		imapd_printf(s, "%s BAD Invalid sequence set\r\n", tag);
		return;
	}
	if (imapd_seqset_parse(args[0].str, args[0].len, &set, &error) < 0) {
		imapd_fetch_clear(&fetch);
		imapd_printf(s, "%s BAD %s\r\n", tag, error);
		return;
	}
	size_t count = mailbox_count(s->mb);
	if (!uid && !imapd_seqset_within(&set, (uint32_t)count)) {
		imapd_seqset_clear(&set);
		imapd_fetch_clear(&fetch);
		imapd_printf(s, "%s BAD Invalid messageset\r\n", tag);
		return;
	}
	if (uid)
		fetch.attrs |= IMAPD_FETCH_UID;
	if (fetch.changedsince_given || (fetch.attrs & IMAPD_FETCH_MODSEQ))
		s->condstore = true;
	unsigned rflags = imapd_utf8(s) ? RFC822_IMAP_UTF8 : 0;
	struct strbuf out;
	bool *seen_now = NULL;

	if (fetch.sets_seen && !s->readonly)
		seen_now = set_seen(s, &set, uid, &fetch);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (size_t k = 0; k < count; k++) {
		struct imapd_msgload ld;
		struct imapd_msgview mv;
		struct mailbox_msg m;
		unsigned saved = fetch.attrs;

		if (!imapd_set_contains(s, &set, k, uid))
			continue;
		mailbox_msg(s->mb, k, &m);
		if (fetch.changedsince_given && m.modseq <= fetch.changedsince)
			continue;
		if (seen_now != NULL && seen_now[k])
			fetch.attrs |= IMAPD_FETCH_FLAGS;
		imapd_msgview_init(s, k, &ld, &mv,
				   (fetch.attrs & IMAPD_FETCH_RFC822_SIZE) !=
					   0);
		strbuf_reset(&out);
		strbuf_appendf(&out, "* %zu FETCH (", k + 1);
		if (imapd_fetch_render(&fetch, &mv, rflags, &out, &error) < 0) {
			if (ld.expunged)
				expunged++;
			else
				failed++;
		} else {
			strbuf_append_str(&out, ")\r\n");
			imapd_write(s, out.data, out.len);
			imapd_write_eager(s);
		}
		imapd_msgload_free(&ld);
		fetch.attrs = saved;
	}
	strbuf_release(&out);
	/* What this FETCH parsed goes to the folder cache in one write. */
	mailbox_cache_flush(s->mb);
	free(seen_now);
	imapd_seqset_clear(&set);
	imapd_fetch_clear(&fetch);
	if (expunged > 0 && failed == 0)
		/* RFC 9051 §7.1: removed by another session; the next sync
		 * will say so. */
		imapd_tagged(s, tag,
			     "NO [EXPUNGEISSUED] Some of the requested "
			     "messages no longer exist.");
	else if (failed > 0)
		imapd_tagged(s, tag,
			     "NO Some messages could not be FETCHed "
			     "(%s)",
			     error);
	else
		imapd_tagged(s, tag, "OK Fetch completed.");
}

void imapd_cmd_search(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	struct imapd_search *search;
	const char *error;
	bool badcharset;
	size_t count = mailbox_count(s->mb);
	uint32_t *hits = NULL, max_uid;
	size_t nhits = 0;
	uint64_t modseq = 0;

	search = imapd_search_parse(args, n, &error, &badcharset);
	if (search == NULL) {
		if (badcharset)
			imapd_printf(s,
				     "%s NO [BADCHARSET (UTF-8 US-ASCII)] "
				     "%s\r\n",
				     tag, error);
		else
			imapd_printf(s, "%s BAD %s\r\n", tag, error);
		return;
	}
	if (imapd_search_uses_modseq(search))
		s->condstore = true;
	max_uid = count > 0 ? mailbox_uid(s->mb, count - 1) : 0;
	bool need_size = imapd_search_uses_size(search);
	for (size_t k = 0; k < count; k++) {
		struct imapd_msgload ld;
		struct imapd_msgview mv;

		imapd_msgview_init(s, k, &ld, &mv, need_size);
		if (imapd_search_match(search, &mv, (uint32_t)count, max_uid)) {
			hits = xreallocarray(hits, nhits + 1, sizeof(*hits));
			hits[nhits++] = uid ? mv.uid : mv.seq;
			if (mv.modseq > modseq)
				modseq = mv.modseq;
		}
		imapd_msgload_free(&ld);
	}
	struct strbuf out;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	if (imapd_search_has_return(search) ||
	    (s->enabled & IMAPD_ENABLED_REV2)) {
		unsigned ret = imapd_search_return(search);

		if (ret == 0)
			ret = IMAPD_SEARCH_RETURN_ALL;
		strbuf_append_str(&out, "* ESEARCH (TAG ");
		imapd_quote_astring(tag, strlen(tag), &out);
		strbuf_append_str(&out, ")");
		if (uid)
			strbuf_append_str(&out, " UID");
		if (nhits > 0 && (ret & IMAPD_SEARCH_RETURN_MIN))
			strbuf_appendf(&out, " MIN %lu",
				       (unsigned long)hits[0]);
		if (nhits > 0 && (ret & IMAPD_SEARCH_RETURN_MAX))
			strbuf_appendf(&out, " MAX %lu",
				       (unsigned long)hits[nhits - 1]);
		if (ret & IMAPD_SEARCH_RETURN_COUNT)
			strbuf_appendf(&out, " COUNT %zu", nhits);
		if (nhits > 0 && (ret & IMAPD_SEARCH_RETURN_ALL)) {
			strbuf_append_str(&out, " ALL ");
			imapd_seqset_format(hits, nhits, &out);
		}
		if (nhits > 0 && imapd_search_uses_modseq(search))
			strbuf_appendf(&out, " MODSEQ %llu",
				       (unsigned long long)modseq);
	} else {
		strbuf_append_str(&out, "* SEARCH");
		for (size_t k = 0; k < nhits; k++)
			strbuf_appendf(&out, " %lu", (unsigned long)hits[k]);
		if (nhits > 0 && imapd_search_uses_modseq(search))
			strbuf_appendf(&out, " (MODSEQ %llu)",
				       (unsigned long long)modseq);
	}
	strbuf_append_str(&out, "\r\n");
	imapd_write(s, out.data, out.len);
	strbuf_release(&out);
	free(hits);
	imapd_search_free(&search);
	imapd_tagged(s, tag, "OK Search completed.");
}
