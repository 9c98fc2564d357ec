/*
 * imapd_store - commands that change messages: STORE, COPY, MOVE,
 * EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT
 *
 * DESCRIPTION
 *	STORE sets, adds or removes flags and keywords (RFC 9051 §6.4.6)
 *	and answers with the new flags unless .SILENT; with CONDSTORE's
 *	UNCHANGEDSINCE (RFC 7162 §3.1.3) messages changed since are left
 *	alone and listed in [MODIFIED set].  COPY and MOVE (RFC 6851)
 *	answer COPYUID (RFC 4315); MOVE expunges the originals and sends
 *	their EXPUNGE responses.  A missing target is NO [TRYCREATE].
 *	EXPUNGE removes \Deleted messages, UID EXPUNGE only those in its
 *	UID set; CLOSE expunges silently and unselects; UNSELECT
 *	(RFC 3691) only unselects.  In a folder opened by EXAMINE, STORE,
 *	MOVE and EXPUNGE are refused with NO [READ-ONLY]; COPY only reads
 *	it.
 *
 * DIAGNOSTICS
 *	Store failures are logged and answered NO [SERVERBUG].
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "imapd.h"
#include "log.h"
#include "mailbox.h"

/* parse_set - the set argument; NULL answer on error */
static bool parse_set(struct imapd_session *s, const char *tag,
		      const struct imap_arg *arg, bool uid,
		      struct imapd_seqset *set)
{
	const char *error;

	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NUMBER) {
		imapd_printf(s, "%s BAD Invalid sequence set\r\n", tag);
		return false;
	}
	if (imapd_seqset_parse(arg->str, arg->len, set, &error) < 0) {
		imapd_printf(s, "%s BAD %s\r\n", tag, error);
		return false;
	}
	if (!uid && !imapd_seqset_within(set, (uint32_t)mailbox_count(s->mb))) {
		imapd_seqset_clear(set);
		imapd_printf(s, "%s BAD Invalid messageset\r\n", tag);
		return false;
	}
	return true;
}

static bool refuse_readonly(struct imapd_session *s, const char *tag)
{
	if (!s->readonly)
		return false;
	imapd_printf(s, "%s NO [READ-ONLY] Mailbox is read-only\r\n", tag);
	return true;
}

void imapd_cmd_store(struct imapd_session *s, const char *tag,
		     const struct imap_arg *args, size_t n, bool uid)
{
	struct imapd_seqset set;
	const char *kw[MAILBOX_KEYWORDS_MAX], *error;
	uint64_t unchangedsince = 0;
	size_t i = 1;
	unsigned flags;
	int nkw;
	char mode;
	bool silent;

	if (n < 3) {
		imapd_printf(s,
			     "%s BAD STORE needs a set, an item and flags"
			     "\r\n",
			     tag);
		return;
	}
	if (args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *m = &args[1];

		if (m->list_count != 2 || m->list[0].type != IMAP_ARG_ATOM ||
		    strcasecmp(m->list[0].str, "UNCHANGEDSINCE") != 0 ||
		    m->list[1].type != IMAP_ARG_NUMBER) {
			imapd_printf(s, "%s BAD Invalid STORE modifier\r\n",
				     tag);
			return;
		}
		unchangedsince = m->list[1].num;
		s->condstore = true;
		i++;
	}
	if (i + 2 > n || args[i].type != IMAP_ARG_ATOM) {
		imapd_printf(s, "%s BAD Invalid STORE item\r\n", tag);
		return;
	}
	const char *item = args[i].str;
	mode = '=';
	if (*item == '+' || *item == '-')
		mode = *item++;
	if (strcasecmp(item, "FLAGS") == 0)
		silent = false;
	else if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else {
		imapd_printf(s, "%s BAD Invalid STORE item\r\n", tag);
		return;
	}
	i++;
	if (i + 1 == n) {
		nkw = imapd_parse_flags(&args[i], &flags, kw,
					MAILBOX_KEYWORDS_MAX, &error);
	} else {
		/* Flags without parentheses: "+FLAGS \Seen \Deleted". */
		struct imap_arg list = {0};

		list.type = IMAP_ARG_LIST;
		list.list = &args[i];
		list.list_count = n - i;
		nkw = imapd_parse_flags(&list, &flags, kw, MAILBOX_KEYWORDS_MAX,
					&error);
	}
	if (nkw < 0) {
		imapd_printf(s, "%s BAD %s\r\n", tag, error);
		return;
	}
	if (!parse_set(s, tag, &args[0], uid, &set))
		return;
	if (refuse_readonly(s, tag)) {
		imapd_seqset_clear(&set);
		return;
	}
	uint32_t *modified = NULL;
	size_t nmod = 0;
	size_t count = mailbox_count(s->mb);
	int failed = 0;

	for (size_t k = 0; k < count; k++) {
		if (!imapd_set_contains(s, &set, k, uid))
			continue;
		int r = mailbox_store_flags(s->mb, k, mode, flags, kw,
					    (size_t)nkw, unchangedsince,
					    &error);
		if (r < 0) {
			if (strstr(error, "too many keywords") != NULL) {
				failed = 2; /* the client's doing */
				break;
			}
			log_warn("imap(%s): %s: store: %s", s->user, s->mbname,
				 error);
			failed = 1;
			break;
		}
		if (r == 1) {
			modified = xreallocarray(modified, nmod + 1,
						 sizeof(*modified));
			modified[nmod++] =
				uid ? mailbox_uid(s->mb, k) : (uint32_t)(k + 1);
			continue;
		}
		/* RFC 7162 §3.2: with UNCHANGEDSINCE the new MODSEQ is
		 * sent even for .SILENT. */
		if (!silent || (unchangedsince != 0 && s->condstore))
			imapd_send_flags(s, k, uid);
	}
	imapd_seqset_clear(&set);
	if (failed == 2) {
		imapd_printf(s,
			     "%s NO [LIMIT] Too many keywords (at most %d)"
			     "\r\n",
			     tag, MAILBOX_KEYWORDS_MAX);
	} else if (failed) {
		imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
	} else if (nmod > 0) {
		struct strbuf ms;

		strbuf_init(&ms, STRBUF_NO_LIMIT);
		imapd_seqset_format(modified, nmod, &ms);
		imapd_tagged(s, tag,
			     "OK [MODIFIED %s] Conditional STORE "
			     "failed",
			     ms.data);
		strbuf_release(&ms);
	} else {
		imapd_tagged(s, tag, "OK Store completed.");
	}
	free(modified);
}

/* copy_move - COPY (move false) and MOVE */
static void copy_move(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid,
		      bool move)
{
	struct imapd_seqset set;
	const char *error = NULL;
	struct mailbox *dst;
	bool notfound = false;
	char *name;
	uint32_t *src_uids = NULL, *dst_uids = NULL;
	size_t copied = 0;

	if (n != 2) {
		imapd_printf(s, "%s BAD %s needs a set and a mailbox\r\n", tag,
			     move ? "MOVE" : "COPY");
		return;
	}
	if (move && refuse_readonly(s, tag))
		return;
	if (!parse_set(s, tag, &args[0], uid, &set))
		return;
	if ((name = imapd_arg_mailbox(s, tag, &args[1])) == NULL) {
		imapd_seqset_clear(&set);
		return;
	}
	if (strcmp(name, s->mbname) == 0 && move) {
		imapd_printf(s,
			     "%s NO [CANNOT] Source and destination are the "
			     "same\r\n",
			     tag);
		goto out;
	}
	dst = mailbox_open(s->maildir, name, 0, &notfound, &error);
	if (dst == NULL) {
		if (notfound)
			imapd_printf(s,
				     "%s NO [TRYCREATE] Mailbox doesn't "
				     "exist\r\n",
				     tag);
		else {
			log_warn("imap(%s): %s: %s", s->user, name, error);
			imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
		}
		goto out;
	}
	size_t count = mailbox_count(s->mb);
	for (size_t k = 0; k < count; k++) {
		uint32_t nu;

		if (!imapd_set_contains(s, &set, k, uid))
			continue;
		if (mailbox_copy(s->mb, k, dst, &nu, &error) < 0) {
			log_warn("imap(%s): copy to %s: %s", s->user, name,
				 error);
			break;
		}
		src_uids =
			xreallocarray(src_uids, copied + 1, sizeof(*src_uids));
		dst_uids =
			xreallocarray(dst_uids, copied + 1, sizeof(*dst_uids));
		src_uids[copied] = mailbox_uid(s->mb, k);
		dst_uids[copied] = nu;
		copied++;
		error = NULL;
	}
	uint32_t validity = mailbox_uidvalidity(dst);
	mailbox_close(&dst);
	if (error != NULL) {
		/* Some may have been copied: RFC 9051 wants all or none,
		 * which links cannot promise; say so. */
		imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
		goto out;
	}
	struct strbuf su, du;

	strbuf_init(&su, STRBUF_NO_LIMIT);
	strbuf_init(&du, STRBUF_NO_LIMIT);
	imapd_seqset_format(src_uids, copied, &su);
	imapd_seqset_format(dst_uids, copied, &du);
	if (!move) {
		if (copied > 0)
			imapd_tagged(s, tag,
				     "OK [COPYUID %lu %s %s] Copy completed.",
				     (unsigned long)validity, su.data, du.data);
		else
			imapd_tagged(s, tag, "OK Copy completed.");
	} else {
		if (copied > 0)
			imapd_printf(s, "* OK [COPYUID %lu %s %s] Moved\r\n",
				     (unsigned long)validity, su.data, du.data);
		/* The store expunges only \\Deleted messages: mark the
		 * moved ones (and only them) first. */
		for (size_t k = 0; k < copied && error == NULL; k++) {
			ssize_t idx = mailbox_find_uid(s->mb, src_uids[k]);

			if (idx >= 0 &&
			    mailbox_store_flags(s->mb, (size_t)idx, '+',
						MAIL_DELETED, NULL, 0, 0,
						&error) < 0)
				break;
			error = NULL;
		}
		if (error != NULL) {
			log_warn("imap(%s): move: %s", s->user, error);
			imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
		} else if (copied > 0 && mailbox_expunge(s->mb, src_uids,
							 copied, &error) < 0) {
			log_warn("imap(%s): move: expunge: %s", s->user, error);
			imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
		} else {
			/* The expunges are reported even before the sync
			 * rule allows it: MOVE must report them. */
			imapd_sync(s);
			imapd_printf(s, "%s OK Move completed.\r\n", tag);
		}
	}
	strbuf_release(&su);
	strbuf_release(&du);
out:
	free(src_uids);
	free(dst_uids);
	free(name);
	imapd_seqset_clear(&set);
}

void imapd_cmd_copy(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	copy_move(s, tag, args, n, uid, false);
}

void imapd_cmd_move(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	copy_move(s, tag, args, n, uid, true);
}

void imapd_cmd_expunge(struct imapd_session *s, const char *tag,
		       const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;
	uint32_t *uids = NULL;
	size_t nuids = 0;
	int r;

	if (uid ? n != 1 : n != 0) {
		imapd_printf(s, "%s BAD Invalid EXPUNGE arguments\r\n", tag);
		return;
	}
	if (refuse_readonly(s, tag))
		return;
	if (uid) {
		struct imapd_seqset set;
		size_t count = mailbox_count(s->mb);

		if (!parse_set(s, tag, &args[0], true, &set))
			return;
		for (size_t k = 0; k < count; k++) {
			if (!imapd_set_contains(s, &set, k, true))
				continue;
			uids = xreallocarray(uids, nuids + 1, sizeof(*uids));
			uids[nuids++] = mailbox_uid(s->mb, k);
		}
		imapd_seqset_clear(&set);
		r = nuids == 0 ? 0
			       : mailbox_expunge(s->mb, uids, nuids, &error);
	} else {
		r = mailbox_expunge(s->mb, NULL, 0, &error);
	}
	free(uids);
	if (r < 0) {
		log_warn("imap(%s): %s: expunge: %s", s->user, s->mbname,
			 error);
		imapd_printf(s, "%s NO [SERVERBUG] %s\r\n", tag, error);
		return;
	}
	imapd_sync(s);
	imapd_printf(s, "%s OK Expunge completed.\r\n", tag);
}

void imapd_cmd_close(struct imapd_session *s, const char *tag,
		     const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;

	(void)args;
	(void)uid;
	if (n != 0) {
		imapd_printf(s, "%s BAD CLOSE takes no arguments\r\n", tag);
		return;
	}
	if (!s->readonly && mailbox_expunge(s->mb, NULL, 0, &error) < 0)
		log_warn("imap(%s): %s: expunge: %s", s->user, s->mbname,
			 error);
	imapd_unselect(s);
	imapd_printf(s, "%s OK Close completed.\r\n", tag);
}

void imapd_cmd_unselect(struct imapd_session *s, const char *tag,
			const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)uid;
	if (n != 0) {
		imapd_printf(s, "%s BAD UNSELECT takes no arguments\r\n", tag);
		return;
	}
	imapd_unselect(s);
	imapd_printf(s, "%s OK Unselect completed.\r\n", tag);
}
