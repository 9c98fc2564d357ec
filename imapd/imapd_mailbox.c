/*
 * imapd_mailbox - commands on folders: SELECT, EXAMINE, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND
 *
 * DESCRIPTION
 *	Folders are the store's (lib/store/mailbox.h): Maildir++ with "."
 *	as the hierarchy separator, INBOX the root.  Names cross the wire
 *	in modified UTF-7, or UTF-8 once the client enabled UTF8=ACCEPT or
 *	IMAP4rev2 (imapd_quote.c).
 *
 *	LIST implements LIST-EXTENDED (RFC 5258): selection options
 *	SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, several patterns, and the
 *	return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS
 *	(RFC 5819).  Children and special-use attributes are always sent,
 *	as Dovecot does.  Patterns are matched against the names as the
 *	client spells them, so "%" and "*" work the same in both
 *	encodings.
 *
 *	SELECT and EXAMINE accept the (CONDSTORE) parameter; the reply
 *	carries HIGHESTMODSEQ once CONDSTORE is on.  STATUS knows
 *	MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT and
 *	HIGHESTMODSEQ.  APPEND takes flags and a date-time, answers
 *	APPENDUID (RFC 4315) and TRYCREATE for a missing folder.
 *
 * DIAGNOSTICS
 *	Store failures are logged and answered NO [SERVERBUG]; a missing
 *	folder is NO [NONEXISTENT], an existing one NO [ALREADYEXISTS].
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "imapd.h"
#include "log.h"
#include "mailbox.h"

static const char *const special_names[] = {
	NULL, "\\Sent", "\\Drafts", "\\Junk", "\\Trash", "\\Archive",
};

/* store_error - log a store failure and answer NO */
static void store_error(struct imapd_session *s, const char *tag,
			const char *what, const char *error)
{
	log_warn("imap(%s): %s: %s", s->user, what, error);
	imapd_printf(s, "%s NO [SERVERBUG] Internal error: %s\r\n", tag, error);
}

/* folder_exists - is name a folder of the store */
static int folder_exists(struct imapd_session *s, const char *name)
{
	struct mailbox_info *list;
	const char *error;
	ssize_t n = mailbox_list(s->maildir, &list, &error);
	int found = 0;

	if (n < 0)
		return -1;
	for (ssize_t i = 0; i < n; i++)
		if (!list[i].nonexistent && strcmp(list[i].name, name) == 0)
			found = 1;
	mailbox_list_free(&list, (size_t)n);
	return found;
}

/* --------------------------------------------------------- SELECT */

static void send_flags_lists(struct imapd_session *s)
{
	size_t kwn;
	const char *const *kw = mailbox_keywords(s->mb, &kwn);
	struct strbuf kws;

	strbuf_init(&kws, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < kwn; i++)
		strbuf_appendf(&kws, " %s", kw[i]);
	imapd_printf(s,
		     "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
		     "\\Draft%s)\r\n",
		     kws.data != NULL ? kws.data : "");
	if (s->readonly)
		imapd_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox."
				"\r\n");
	else
		imapd_printf(s,
			     "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
			     "\\Deleted \\Seen \\Draft%s%s)] Flags "
			     "permitted.\r\n",
			     kws.data != NULL ? kws.data : "",
			     kwn < MAILBOX_KEYWORDS_MAX ? " \\*" : "");
	strbuf_release(&kws);
}

static void select_common(struct imapd_session *s, const char *tag,
			  const struct imap_arg *args, size_t n, bool readonly)
{
	const char *error;
	bool notfound = false;
	char *name;

	if (n < 1 || n > 2) {
		imapd_printf(s, "%s BAD %s needs a mailbox name\r\n", tag,
			     readonly ? "EXAMINE" : "SELECT");
		return;
	}
	if (n == 2) {
		const struct imap_arg *p = &args[1];

		if (p->type != IMAP_ARG_LIST) {
			imapd_printf(s, "%s BAD Invalid SELECT parameters\r\n",
				     tag);
			return;
		}
		for (size_t i = 0; i < p->list_count; i++) {
			if (p->list[i].type != IMAP_ARG_ATOM ||
			    strcasecmp(p->list[i].str, "CONDSTORE") != 0) {
				imapd_printf(s,
					     "%s BAD Unknown SELECT parameter"
					     "\r\n",
					     tag);
				return;
			}
			s->condstore = true;
		}
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if (s->mb != NULL) {
		imapd_unselect(s);
		/* RFC 7162 §3.2.11 / RFC 9051: the old mailbox is closed. */
		imapd_printf(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
	}
	s->mb = mailbox_open(s->maildir, name, readonly ? MAILBOX_READONLY : 0,
			     &notfound, &error);
	if (s->mb == NULL) {
		if (notfound)
			imapd_printf(s,
				     "%s NO [NONEXISTENT] Mailbox doesn't "
				     "exist\r\n",
				     tag);
		else
			store_error(s, tag, name, error);
		free(name);
		return;
	}
	if (mailbox_sync(s->mb, NULL, &error) < 0) {
		store_error(s, tag, name, error);
		imapd_unselect(s);
		free(name);
		return;
	}
	s->mbname = name;
	s->readonly = readonly;
	send_flags_lists(s);
	size_t count = mailbox_count(s->mb);
	imapd_printf(s, "* %zu EXISTS\r\n", count);
	if (!(s->enabled & IMAPD_ENABLED_REV2)) {
		imapd_printf(s, "* %zu RECENT\r\n",
			     mailbox_recent_count(s->mb));
		for (size_t i = 0; i < count; i++) {
			struct mailbox_msg m;

			mailbox_msg(s->mb, i, &m);
			if (!(m.flags & MAIL_SEEN)) {
				imapd_printf(s,
					     "* OK [UNSEEN %zu] First unseen."
					     "\r\n",
					     i + 1);
				break;
			}
		}
	}
	imapd_printf(s, "* OK [UIDVALIDITY %lu] UIDs valid\r\n",
		     (unsigned long)mailbox_uidvalidity(s->mb));
	imapd_printf(s, "* OK [UIDNEXT %lu] Predicted next UID\r\n",
		     (unsigned long)mailbox_uidnext(s->mb));
	if (s->condstore)
		imapd_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			     (unsigned long long)mailbox_highestmodseq(s->mb));
	imapd_printf(s, "%s OK [%s] %s completed.\r\n", tag,
		     readonly ? "READ-ONLY" : "READ-WRITE",
		     readonly ? "Examine" : "Select");
}

void imapd_cmd_select(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	select_common(s, tag, args, n, false);
}

void imapd_cmd_examine(struct imapd_session *s, const char *tag,
		       const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	select_common(s, tag, args, n, true);
}

/* ---------------------------------------------- CREATE DELETE RENAME */

void imapd_cmd_create(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;
	char *name;
	int ex;

	(void)uid;
	if (n != 1 && !(n == 2 && args[1].type == IMAP_ARG_LIST)) {
		imapd_printf(s, "%s BAD CREATE needs a mailbox name\r\n", tag);
		return;
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	ex = strcmp(name, "INBOX") == 0 ? 1 : folder_exists(s, name);
	if (ex != 0) {
		if (ex > 0)
			imapd_printf(s,
				     "%s NO [ALREADYEXISTS] Mailbox "
				     "already exists\r\n",
				     tag);
		else
			store_error(s, tag, "list", "cannot list folders");
	} else if (mailbox_create(s->maildir, name, &error) < 0) {
		store_error(s, tag, name, error);
	} else {
		imapd_tagged(s, tag, "OK Create completed.");
	}
	free(name);
}

void imapd_cmd_delete(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;
	bool notfound = false;
	char *name;

	(void)uid;
	if (n != 1) {
		imapd_printf(s, "%s BAD DELETE needs a mailbox name\r\n", tag);
		return;
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imapd_printf(s, "%s NO [CANNOT] INBOX can't be deleted.\r\n",
			     tag);
		free(name);
		return;
	}
	if (s->mbname != NULL && strcmp(s->mbname, name) == 0)
		imapd_unselect(s);
	if (mailbox_delete(s->maildir, name, &notfound, &error) < 0) {
		if (notfound)
			imapd_printf(s,
				     "%s NO [NONEXISTENT] Mailbox doesn't "
				     "exist\r\n",
				     tag);
		else
			imapd_printf(s, "%s NO [CANNOT] %s\r\n", tag, error);
	} else {
		imapd_tagged(s, tag, "OK Delete completed.");
	}
	free(name);
}

void imapd_cmd_rename(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;
	bool notfound = false;
	char *from, *to;
	int ex;

	(void)uid;
	if (n != 2) {
		imapd_printf(s, "%s BAD RENAME needs two mailbox names\r\n",
			     tag);
		return;
	}
	if ((from = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if ((to = imapd_arg_mailbox(s, tag, &args[1])) == NULL) {
		free(from);
		return;
	}
	ex = strcmp(to, "INBOX") == 0 ? 1 : folder_exists(s, to);
	if (ex > 0) {
		imapd_printf(s,
			     "%s NO [ALREADYEXISTS] Target mailbox "
			     "already exists\r\n",
			     tag);
	} else if (mailbox_rename(s->maildir, from, to, &notfound, &error) <
		   0) {
		if (notfound)
			imapd_printf(s,
				     "%s NO [NONEXISTENT] Mailbox doesn't "
				     "exist\r\n",
				     tag);
		else
			imapd_printf(s, "%s NO [CANNOT] %s\r\n", tag, error);
	} else {
		if (s->mbname != NULL && strcmp(s->mbname, from) == 0 &&
		    strcmp(from, "INBOX") != 0) {
			free(s->mbname);
			s->mbname = xstrdup(to);
		}
		imapd_tagged(s, tag, "OK Rename completed.");
	}
	free(from);
	free(to);
}

static void subscribe(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool on)
{
	const char *error;
	char *name;

	if (n != 1) {
		imapd_printf(s, "%s BAD Missing mailbox name\r\n", tag);
		return;
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if (mailbox_subscribe(s->maildir, name, on, &error) < 0)
		store_error(s, tag, name, error);
	else
		imapd_tagged(s, tag, "OK %s completed.",
			     on ? "Subscribe" : "Unsubscribe");
	free(name);
}

void imapd_cmd_subscribe(struct imapd_session *s, const char *tag,
			 const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	subscribe(s, tag, args, n, true);
}

void imapd_cmd_unsubscribe(struct imapd_session *s, const char *tag,
			   const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	subscribe(s, tag, args, n, false);
}

/* ----------------------------------------------------------- STATUS */

#define ST_MESSAGES	 0x01u
#define ST_UIDNEXT	 0x02u
#define ST_UIDVALIDITY	 0x04u
#define ST_UNSEEN	 0x08u
#define ST_DELETED	 0x10u
#define ST_SIZE		 0x20u
#define ST_RECENT	 0x40u
#define ST_HIGHESTMODSEQ 0x80u

static const struct {
	const char *name;
	unsigned bit;
} status_item_names[] = {
	{"MESSAGES", ST_MESSAGES},	 {"UIDNEXT", ST_UIDNEXT},
	{"UIDVALIDITY", ST_UIDVALIDITY}, {"UNSEEN", ST_UNSEEN},
	{"DELETED", ST_DELETED},	 {"SIZE", ST_SIZE},
	{"RECENT", ST_RECENT},		 {"HIGHESTMODSEQ", ST_HIGHESTMODSEQ},
};

/* status_parse - the STATUS item list; 0 or -1 */
static int status_parse(const struct imap_arg *list, unsigned *items_r)
{
	*items_r = 0;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return -1;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t j;

		if (a->type != IMAP_ARG_ATOM)
			return -1;
		for (j = 0;
		     j < sizeof(status_item_names) / sizeof(*status_item_names);
		     j++)
			if (strcasecmp(a->str, status_item_names[j].name) == 0)
				break;
		if (j == sizeof(status_item_names) / sizeof(*status_item_names))
			return -1;
		*items_r |= status_item_names[j].bit;
	}
	return 0;
}

/*
 * status_send - "* STATUS name (...)" for a folder; 0, 1 when it does
 * not exist, -1 with *error_r.
 */
static int status_send(struct imapd_session *s, const char *name,
		       unsigned items, const char **error_r)
{
	struct mailbox *mb = NULL;
	bool own = false, notfound = false;
	struct strbuf out;
	uint64_t unseen = 0, deleted = 0, size = 0;

	if (s->mb != NULL && strcmp(s->mbname, name) == 0) {
		mb = s->mb;
	} else {
		mb = mailbox_open(s->maildir, name, MAILBOX_READONLY, &notfound,
				  error_r);
		if (mb == NULL)
			return notfound ? 1 : -1;
		own = true;
		if (mailbox_sync(mb, NULL, error_r) < 0) {
			mailbox_close(&mb);
			return -1;
		}
	}
	size_t count = mailbox_count(mb);
	for (size_t i = 0; i < count; i++) {
		struct mailbox_msg msg;
		const struct mailbox_msg *m = &msg;

		mailbox_msg(mb, i, &msg);

		if (!(m->flags & MAIL_SEEN))
			unseen++;
		if (m->flags & MAIL_DELETED)
			deleted++;
		if (items & ST_SIZE)
			size += imapd_msg_vsize(mb, i);
	}
	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_append_str(&out, "* STATUS ");
	imapd_quote_mailbox(name, imapd_utf8(s), &out);
	strbuf_append_str(&out, " (");
	size_t mark = out.len;
#define ITEM(bit, fmt, val)                                                    \
	if (items & (bit))                                                     \
	strbuf_appendf(&out, "%s" fmt, out.len > mark ? " " : "", val)
	ITEM(ST_MESSAGES, "MESSAGES %zu", count);
	ITEM(ST_UIDNEXT, "UIDNEXT %lu", (unsigned long)mailbox_uidnext(mb));
	ITEM(ST_UIDVALIDITY, "UIDVALIDITY %lu",
	     (unsigned long)mailbox_uidvalidity(mb));
	ITEM(ST_UNSEEN, "UNSEEN %llu", (unsigned long long)unseen);
	ITEM(ST_DELETED, "DELETED %llu", (unsigned long long)deleted);
	ITEM(ST_SIZE, "SIZE %llu", (unsigned long long)size);
	ITEM(ST_RECENT, "RECENT %zu", mailbox_recent_count(mb));
	ITEM(ST_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
	     (unsigned long long)mailbox_highestmodseq(mb));
#undef ITEM
	strbuf_append_str(&out, ")\r\n");
	imapd_write(s, out.data, out.len);
	strbuf_release(&out);
	if (own)
		mailbox_close(&mb);
	return 0;
}

void imapd_cmd_status(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	const char *error;
	unsigned items;
	char *name;
	int r;

	(void)uid;
	if (n != 2 || status_parse(&args[1], &items) < 0) {
		imapd_printf(s, "%s BAD STATUS needs a mailbox and items\r\n",
			     tag);
		return;
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if (items & ST_HIGHESTMODSEQ)
		s->condstore = true;
	r = status_send(s, name, items, &error);
	if (r > 0)
		imapd_printf(s, "%s NO [NONEXISTENT] Mailbox doesn't exist\r\n",
			     tag);
	else if (r < 0)
		store_error(s, tag, name, error);
	else
		imapd_tagged(s, tag, "OK Status completed.");
	free(name);
}

/* ------------------------------------------------------------- LIST */

/* wildcard - IMAP LIST matching: '*' anything, '%' anything but '.' */
static bool wildcard(const char *pat, const char *name)
{
	if (*pat == '\0')
		return *name == '\0';
	if (*pat == '*') {
		for (const char *p = name;; p++) {
			if (wildcard(pat + 1, p))
				return true;
			if (*p == '\0')
				return false;
		}
	}
	if (*pat == '%') {
		for (const char *p = name;; p++) {
			if (wildcard(pat + 1, p))
				return true;
			if (*p == '\0' || *p == '.')
				return false;
		}
	}
	return *pat == *name && wildcard(pat + 1, name + 1);
}

/* list_match - does the client-form name match the pattern */
static bool list_match(const char *pat, const char *name)
{
	/* INBOX in any case (RFC 9051 §5.1). */
	if (strncasecmp(pat, "INBOX", 5) == 0 && strcmp(name, "INBOX") == 0 &&
	    wildcard(pat + 5, ""))
		return true;
	return wildcard(pat, name);
}

#define LIST_SEL_SUBSCRIBED 0x01u
#define LIST_SEL_SPECIALUSE 0x02u
#define LIST_RET_SUBSCRIBED 0x04u
#define LIST_RET_STATUS	    0x08u
#define LIST_LSUB	    0x10u

static void list_run(struct imapd_session *s, const char *tag, const char *ref,
		     const char *const *pats, size_t npats, unsigned opts,
		     unsigned status_items)
{
	struct mailbox_info *list;
	const char *error;
	ssize_t count = mailbox_list(s->maildir, &list, &error);
	bool utf8 = imapd_utf8(s);
	const char *cmd = (opts & LIST_LSUB) ? "LSUB" : "LIST";

	if (count < 0) {
		store_error(s, tag, "list", error);
		return;
	}
	for (ssize_t i = 0; i < count; i++) {
		struct mailbox_info *mi = &list[i];
		struct strbuf cname, out;
		bool match = false;

		if ((opts & (LIST_SEL_SUBSCRIBED | LIST_LSUB)) &&
		    !mi->subscribed)
			continue;
		if (!(opts & (LIST_SEL_SUBSCRIBED | LIST_LSUB)) &&
		    mi->nonexistent && !mi->has_children)
			continue;
		if ((opts & LIST_SEL_SPECIALUSE) &&
		    mi->special == MAILBOX_SPECIAL_NONE)
			continue;
		strbuf_init(&cname, STRBUF_NO_LIMIT);
		if (imapd_quote_mailbox(mi->name, true, &cname) < 0) {
			strbuf_release(&cname);
			continue;
		}
		strbuf_reset(&cname);
		if (utf8) {
			strbuf_append_str(&cname, mi->name);
		} else {
			struct strbuf q;

			strbuf_init(&q, STRBUF_NO_LIMIT);
			if (imapd_quote_mailbox(mi->name, false, &q) < 0) {
				strbuf_release(&q);
				strbuf_release(&cname);
				continue;
			}
			/* Unquote what imapd_quote_mailbox wrote: mUTF-7
			 * is printable ASCII; only '"' and '\' are escaped. */
			for (size_t k = 1; k + 1 < q.len; k++) {
				if (q.data[k] == '\\')
					k++;
				strbuf_append_char(&cname, q.data[k]);
			}
			strbuf_release(&q);
		}
		for (size_t p = 0; p < npats && !match; p++) {
			char *full = xasprintf("%s%s", ref, pats[p]);

			match = list_match(full, cname.data);
			free(full);
		}
		strbuf_release(&cname);
		if (!match)
			continue;
		strbuf_init(&out, STRBUF_NO_LIMIT);
		strbuf_appendf(&out, "* %s (", cmd);
		size_t mark = out.len;
#define ATTR(a) strbuf_appendf(&out, "%s%s", out.len > mark ? " " : "", a)
		if (mi->nonexistent)
			ATTR((opts & LIST_LSUB) ? "\\Noselect"
						: "\\NonExistent");
		if (!(opts & LIST_LSUB))
			ATTR(mi->has_children ? "\\HasChildren"
					      : "\\HasNoChildren");
		if ((opts & (LIST_RET_SUBSCRIBED | LIST_SEL_SUBSCRIBED)) &&
		    mi->subscribed)
			ATTR("\\Subscribed");
		if (mi->special > 0 && mi->special <= MAILBOX_SPECIAL_ARCHIVE)
			ATTR(special_names[mi->special]);
#undef ATTR
		strbuf_append_str(&out, ") \".\" ");
		imapd_quote_mailbox(mi->name, utf8, &out);
		strbuf_append_str(&out, "\r\n");
		imapd_write(s, out.data, out.len);
		strbuf_release(&out);
		if ((opts & LIST_RET_STATUS) && !mi->nonexistent &&
		    status_send(s, mi->name, status_items, &error) < 0)
			log_warn("imap(%s): %s: %s", s->user, mi->name, error);
	}
	mailbox_list_free(&list, (size_t)count);
	imapd_tagged(s, tag, "OK %s completed.",
		     (opts & LIST_LSUB) ? "Lsub" : "List");
}

/* list_common - LIST and LSUB argument parsing */
static void list_common(struct imapd_session *s, const char *tag,
			const struct imap_arg *args, size_t n, bool lsub)
{
	unsigned opts = lsub ? LIST_LSUB : 0, status_items = 0;
	const char *ref, *pat;
	size_t len, i = 0;
	const char *pats[64];
	size_t npats = 0;

	if (!lsub && n > 0 && args[0].type == IMAP_ARG_LIST) {
		for (size_t j = 0; j < args[0].list_count; j++) {
			const struct imap_arg *o = &args[0].list[j];

			if (o->type != IMAP_ARG_ATOM)
				goto bad;
			if (strcasecmp(o->str, "SUBSCRIBED") == 0)
				opts |= LIST_SEL_SUBSCRIBED |
					LIST_RET_SUBSCRIBED;
			else if (strcasecmp(o->str, "SPECIAL-USE") == 0)
				opts |= LIST_SEL_SPECIALUSE;
			else if (strcasecmp(o->str, "RECURSIVEMATCH") == 0 ||
				 strcasecmp(o->str, "REMOTE") == 0)
				;
			else
				goto bad;
		}
		i++;
	}
	if (n < i + 2 || !imap_arg_get_astring(&args[i], &ref, &len))
		goto bad;
	i++;
	if (args[i].type == IMAP_ARG_LIST) {
		if (lsub || args[i].list_count == 0 ||
		    args[i].list_count > sizeof(pats) / sizeof(*pats))
			goto bad;
		for (size_t j = 0; j < args[i].list_count; j++) {
			if (!imap_arg_get_astring(&args[i].list[j], &pat, &len))
				goto bad;
			pats[npats++] = pat;
		}
	} else {
		if (!imap_arg_get_astring(&args[i], &pat, &len))
			goto bad;
		pats[npats++] = pat;
	}
	i++;
	if (!lsub && i < n) {
		if (n != i + 2 || args[i].type != IMAP_ARG_ATOM ||
		    strcasecmp(args[i].str, "RETURN") != 0 ||
		    args[i + 1].type != IMAP_ARG_LIST)
			goto bad;
		const struct imap_arg *r = &args[i + 1];
		for (size_t j = 0; j < r->list_count; j++) {
			const struct imap_arg *o = &r->list[j];

			if (o->type != IMAP_ARG_ATOM)
				goto bad;
			if (strcasecmp(o->str, "SUBSCRIBED") == 0)
				opts |= LIST_RET_SUBSCRIBED;
			else if (strcasecmp(o->str, "CHILDREN") == 0 ||
				 strcasecmp(o->str, "SPECIAL-USE") == 0)
				;
			else if (strcasecmp(o->str, "STATUS") == 0 &&
				 j + 1 < r->list_count &&
				 status_parse(&r->list[j + 1], &status_items) ==
					 0) {
				opts |= LIST_RET_STATUS;
				j++;
			} else
				goto bad;
		}
		i += 2;
	}
	if (i != n)
		goto bad;
	if (npats == 1 && pats[0][0] == '\0' && !lsub) {
		/* The hierarchy delimiter and root (RFC 9051 §6.3.9). */
		imapd_printf(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		imapd_tagged(s, tag, "OK List completed.");
		return;
	}
	list_run(s, tag, ref, pats, npats, opts, status_items);
	return;
bad:
	imapd_printf(s, "%s BAD Invalid %s arguments\r\n", tag,
		     lsub ? "LSUB" : "LIST");
}

void imapd_cmd_list(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	list_common(s, tag, args, n, false);
}

void imapd_cmd_lsub(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	list_common(s, tag, args, n, true);
}

/* ----------------------------------------------------------- APPEND */

/* imapd_parse_flags - flags of APPEND and STORE */
int imapd_parse_flags(const struct imap_arg *arg, unsigned *flags_r,
		      const char **kw, size_t max, const char **error_r)
{
	static const struct {
		const char *name;
		unsigned flag;
	} sys[] = {{"\\Seen", MAIL_SEEN},
		   {"\\Answered", MAIL_ANSWERED},
		   {"\\Flagged", MAIL_FLAGGED},
		   {"\\Deleted", MAIL_DELETED},
		   {"\\Draft", MAIL_DRAFT}};
	const struct imap_arg *list = arg;
	size_t count = 1, nkw = 0;

	*flags_r = 0;
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		count = arg->list_count;
	}
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &list[i];
		size_t j;

		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid flag";
			return -1;
		}
		if (a->str[0] == '\\') {
			for (j = 0; j < sizeof(sys) / sizeof(*sys); j++)
				if (strcasecmp(a->str, sys[j].name) == 0)
					break;
			if (j < sizeof(sys) / sizeof(*sys)) {
				*flags_r |= sys[j].flag;
				continue;
			}
			if (strcasecmp(a->str, "\\Recent") == 0)
				continue; /* not settable; ignored */
			*error_r = "Invalid system flag";
			return -1;
		}
		for (const char *c = a->str; *c != '\0'; c++) {
			if (strchr("(){%*\"\\]", *c) != NULL ||
			    (unsigned char)*c <= 0x20 ||
			    (unsigned char)*c >= 0x7f) {
				*error_r = "Invalid keyword";
				return -1;
			}
		}
		if (nkw >= max) {
			*error_r = "Too many keywords";
			return -1;
		}
		kw[nkw++] = a->str;
	}
	return (int)nkw;
}

void imapd_cmd_append(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	const char *kw[MAILBOX_KEYWORDS_MAX], *error;
	unsigned flags = 0;
	int nkw = 0;
	time_t date = 0;
	size_t i = 1;
	char *name;
	struct mailbox *mb;
	bool notfound = false;
	uint32_t newuid;
	const struct imap_arg *msg = NULL;

	(void)uid;
	if (n < 2) {
		imapd_printf(s,
			     "%s BAD APPEND needs a mailbox and a message"
			     "\r\n",
			     tag);
		return;
	}
	if (args[i].type == IMAP_ARG_LIST) {
		nkw = imapd_parse_flags(&args[i], &flags, kw,
					MAILBOX_KEYWORDS_MAX, &error);
		if (nkw < 0) {
			imapd_printf(s, "%s BAD %s\r\n", tag, error);
			return;
		}
		i++;
	}
	if (i < n && args[i].type == IMAP_ARG_STRING) {
		if (imapd_parse_datetime(args[i].str, args[i].len, &date) < 0) {
			imapd_printf(s, "%s BAD Invalid date-time\r\n", tag);
			return;
		}
		i++;
	}
	if (i + 1 == n && args[i].type == IMAP_ARG_LITERAL) {
		msg = &args[i];
	} else if (i + 2 == n && imapd_utf8(s) &&
		   args[i].type == IMAP_ARG_ATOM &&
		   strcasecmp(args[i].str, "UTF8") == 0 &&
		   args[i + 1].type == IMAP_ARG_LIST &&
		   args[i + 1].list_count == 1 &&
		   args[i + 1].list[0].type == IMAP_ARG_LITERAL) {
		/* RFC 6855 §4: APPEND ... UTF8 (~{n}...) */
		msg = &args[i + 1].list[0];
	}
	if (msg == NULL) {
		imapd_printf(s,
			     "%s BAD APPEND needs the message as a "
			     "literal\r\n",
			     tag);
		return;
	}
	if (msg->len == 0) {
		imapd_printf(s, "%s NO Empty message\r\n", tag);
		return;
	}
	if ((name = imapd_arg_mailbox(s, tag, &args[0])) == NULL)
		return;
	if (s->mb != NULL && strcmp(s->mbname, name) == 0) {
		mb = s->mb;
	} else {
		mb = mailbox_open(s->maildir, name, 0, &notfound, &error);
		if (mb == NULL) {
			if (notfound)
				imapd_printf(s,
					     "%s NO [TRYCREATE] Mailbox "
					     "doesn't exist\r\n",
					     tag);
			else
				store_error(s, tag, name, error);
			free(name);
			return;
		}
	}
	if (mailbox_append(mb, msg->str, msg->len, flags, kw, (size_t)nkw, date,
			   &newuid, &error) < 0) {
		store_error(s, tag, name, error);
	} else {
		imapd_tagged(s, tag, "OK [APPENDUID %lu %lu] Append completed.",
			     (unsigned long)mailbox_uidvalidity(mb),
			     (unsigned long)newuid);
		log_info("imap(%s): appended uid=%lu to %s (%zu bytes)",
			 s->user, (unsigned long)newuid, name, msg->len);
	}
	if (mb != s->mb)
		mailbox_close(&mb);
	free(name);
}
