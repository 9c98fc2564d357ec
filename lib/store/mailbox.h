/*
 * mailbox - a Maildir++ folder with its UID index, as imapd and pop3d see it
 *
 * A user's mail store is one Maildir (the "root", which is INBOX) and its
 * Maildir++ subfolders ROOT/.Name, nested ROOT/.a.b, laid out as Dovecot
 * lays them out (mail_location = maildir:~/Maildir, LAYOUT=maildir++):
 * the hierarchy separator is '.', folder names are stored in modified
 * UTF-7 (RFC 3501 5.1.3) on disk and given to and taken from this API in
 * UTF-8, "INBOX" is the root itself, flags are in the file name after
 * ":2," (DFPRST in ASCII order, then keyword letters a..z, which
 * ROOT/dovecot-keywords maps to names), a folder is subscribed when its
 * name is a line of ROOT/subscriptions.
 *
 * Each folder has an index (format in docs/store.md) giving every message
 * a UID that never changes and is never reused under one UIDVALIDITY, and
 * a modification sequence (RFC 7162) bumped by every flag change.  Local
 * delivery writes into new/ without touching the index; whoever syncs the
 * folder next (imapd, pop3d) assigns UIDs to new files.  Several processes
 * may have the same folder open: changes to the index happen under an
 * exclusive lock of the folder and are written before the caller may tell
 * a client about them, so that a kill -9 at any moment loses no UID a
 * client saw.  When a folder holds Dovecot's dovecot-uidlist and no index
 * of ours, UIDVALIDITY, UIDNEXT and the UIDs are taken from it once.
 *
 * Opening and syncing an unchanged folder reads the index and the names
 * in cur/ and new/ (readdir), never the messages themselves.
 *
 * Messages are addressed by their index in the folder's view: 0 .. count-1
 * in ascending UID order, which is IMAP's sequence number minus one.  The
 * view changes only in mailbox_sync(), so sequence numbers stay stable
 * between two syncs as IMAP requires (RFC 9051 7.5.1).
 *
 * The handles of one process that have the same folder open share its
 * index, keywords, descriptors and inotify watch (mailbox_folder.h); each
 * keeps only its view (4 bytes a message).  A message's flags are the
 * folder's current ones, as far as this process has read them; a message
 * expunged since the handle's last sync keeps its last state until then.
 */
#ifndef FACTEUR_MAILBOX_H
#define FACTEUR_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* System flags (IMAP names in comments), one bit each. */
#define MAIL_SEEN     0x01u /* \Seen     (S) */
#define MAIL_ANSWERED 0x02u /* \Answered (R) */
#define MAIL_FLAGGED  0x04u /* \Flagged  (F) */
#define MAIL_DELETED  0x08u /* \Deleted  (T) */
#define MAIL_DRAFT    0x10u /* \Draft    (D) */
#define MAIL_PASSED   0x20u /* Maildir P (passed): kept, not shown */
#define MAIL_RECENT   0x40u /* \Recent: set by the store, never stored */

/* Keywords: at most 26 per store (Maildir letters a..z). */
#define MAILBOX_KEYWORDS_MAX 26

struct mailbox;

/* One message in the view, as mailbox_msg() fills it. */
struct mailbox_msg {
	uint32_t uid;
	unsigned flags;	   /* MAIL_* */
	uint32_t keywords; /* bit i: keyword i of mailbox_keywords() */
	uint64_t modseq;
	uint64_t size;	 /* octets, LF line ends as stored */
	time_t internal; /* INTERNALDATE: the file's mtime */
	/* current file name relative to the folder ("" when unknown);
	 * lent until the next call of any mailbox function */
	const char *name;
};

/* What a sync found since the previous one (for untagged responses). */
struct mailbox_changes {
	size_t *expunged; /* view indexes before the sync, descending */
	size_t expunged_count;
	size_t *changed; /* view indexes after the sync: flags changed */
	size_t changed_count;
	size_t new_count; /* messages appended at the end of the view */
};

/* mailbox_open flags */
#define MAILBOX_READONLY 0x01u /* EXAMINE: no new/ -> cur/, no \Recent */
#define MAILBOX_CREATE	 0x02u /* make the folder when missing */

/*
 * mailbox_open - open folder name ("INBOX", "Sent", "a.b" in UTF-8) of the
 * store at root (the Maildir directory).  Returns NULL with *error_r
 * (static until the next call) and *notfound_r true when the folder does
 * not exist.
 */
struct mailbox *mailbox_open(const char *root, const char *name, unsigned flags,
			     bool *notfound_r, const char **error_r);
void mailbox_close(struct mailbox **mbp);

/*
 * mailbox_sync - take the folder's current state into the view: new
 * files get UIDs, vanished ones are expunged from the view, flag changes
 * made by others are picked up.  Fills changes (free with
 * mailbox_changes_free) when not NULL.  Returns 0 or -1 (*error_r).
 * A -1 after the index was found damaged and rebuilt (a new UIDVALIDITY)
 * is final: the session cannot go on (IMAP: BYE), close the mailbox.
 */
int mailbox_sync(struct mailbox *mb, struct mailbox_changes *changes,
		 const char **error_r);
void mailbox_changes_free(struct mailbox_changes *changes);

size_t mailbox_count(const struct mailbox *mb);
/* Message i (< mailbox_count(), else a bug: panic) into *msg_r. */
void mailbox_msg(const struct mailbox *mb, size_t i, struct mailbox_msg *msg_r);
/* The UID of message i (< mailbox_count()), without the rest. */
uint32_t mailbox_uid(const struct mailbox *mb, size_t i);
/* The view index of uid, or -1 when it is not in the view. */
ssize_t mailbox_find_uid(const struct mailbox *mb, uint32_t uid);
uint32_t mailbox_uidvalidity(const struct mailbox *mb);
uint32_t mailbox_uidnext(const struct mailbox *mb);
uint64_t mailbox_highestmodseq(const struct mailbox *mb);
/* Messages with \Recent in this session's view. */
size_t mailbox_recent_count(const struct mailbox *mb);
/* The keyword names (index = bit); *count_r of them.  A message may
 * carry bits at or above count (letters no name is known for): leave
 * them out.  Valid until the next sync, store, append or copy. */
const char *const *mailbox_keywords(const struct mailbox *mb, size_t *count_r);
/* The folder's directory (root or root/.Name). */
const char *mailbox_path(const struct mailbox *mb);

/* Open message i read-only; returns an fd (close it) or -1 with errno
 * (ENOENT: expunged by someone else).  A file renamed by another session
 * since the last sync is found again. */
int mailbox_msg_open(struct mailbox *mb, size_t i);

/*
 * The folder's cache of rendered header data (FOLDER/facteur-cache,
 * docs/store.md), shared by every session and process: variant (0 or 1)
 * says how the caller rendered it (imapd: ENVELOPE without or with
 * UTF8=ACCEPT).  get: the data of message i (valid until the next call
 * of a mailbox function) and *vsize_r (its CRLF size, 0 when not
 * known), or NULL.  put: remember it; flush: write what was put (at the
 * end of a command; close does it too).  A cache that cannot be read or
 * written only costs speed.
 */
const char *mailbox_cache_get(struct mailbox *mb, size_t i, unsigned variant,
			      size_t *len_r, uint64_t *vsize_r);
void mailbox_cache_put(struct mailbox *mb, size_t i, unsigned variant,
		       uint64_t vsize, const char *data, size_t len);
void mailbox_cache_flush(struct mailbox *mb);

/* The process keeps the state of the folder last closed (its index and
 * the directory times it trusts), so that opening it again reads no
 * directory; this frees it (tests that change files behind it). */
void mailbox_drop_closed(void);

/*
 * mailbox_store_flags - set (mode '+'), clear ('-') or replace ('=')
 * flags and keywords of message i.  Keyword names not yet known are
 * added (at most MAILBOX_KEYWORDS_MAX: then -1, "too many keywords").
 * unchangedsince (0: none) implements CONDSTORE's UNCHANGEDSINCE: when
 * the message's modseq is higher, nothing changes and 1 is returned.
 * Returns 0 when done (the message's modseq is bumped if anything
 * changed; the view's entry shows the new state at once and the next
 * sync does not report it again), 1 as said, -1 with *error_r.  A
 * message another session expunged meanwhile is left alone (0).
 * MAIL_RECENT is ignored; '=' keeps MAIL_PASSED.  Not with READONLY.
 */
int mailbox_store_flags(struct mailbox *mb, size_t i, char mode, unsigned flags,
			const char *const *keywords, size_t keyword_count,
			uint64_t unchangedsince, const char **error_r);
/*
 * mailbox_store_flags_many - the same change of system flags (no
 * keywords, no UNCHANGEDSINCE) to the n messages idx[] of the view,
 * under one lock with one index write: FETCH setting \Seen on thousands
 * of messages does not lock, read and append to the index per message.
 * Returns 0, or -1 with *error_r at the first failure (the messages
 * before it keep their change).
 */
int mailbox_store_flags_many(struct mailbox *mb, const size_t *idx, size_t n,
			     char mode, unsigned flags, const char **error_r);

/*
 * mailbox_expunge - remove the messages of the view that have \Deleted
 * (when uids is NULL) or those of them whose UID is in uids[0..n)
 * (UID EXPUNGE).  The view is not changed: the next mailbox_sync()
 * reports them as expunged.  Returns 0 or -1 with *error_r.  Not with
 * READONLY.
 */
int mailbox_expunge(struct mailbox *mb, const uint32_t *uids, size_t n,
		    const char **error_r);

/*
 * mailbox_append - store a new message (content with CRLF or LF line
 * ends; written with LF) with flags/keywords and internal date (0: now).
 * Its UID is assigned at once (*uid_r, for UIDPLUS APPENDUID); the view
 * gets it at the next sync.  Returns 0 or -1 with *error_r.
 */
int mailbox_append(struct mailbox *mb, const char *data, size_t len,
		   unsigned flags, const char *const *keywords,
		   size_t keyword_count, time_t internal, uint32_t *uid_r,
		   const char **error_r);

/*
 * mailbox_copy - copy message i of src into dst (hard link when they are
 * on the same file system, else a copy), keeping flags, keywords and the
 * internal date.  *uid_r is the new UID in dst.  Returns 0 or -1.
 */
int mailbox_copy(struct mailbox *src, size_t i, struct mailbox *dst,
		 uint32_t *uid_r, const char **error_r);

/*
 * mailbox_wait_fd - an inotify descriptor that becomes readable when
 * something changes in the folder (new/, cur/, the index), for IDLE;
 * -1 when inotify is not available.  One descriptor per folder and
 * process, shared by every waiting handle (an inotify instance per
 * session would hit fs.inotify.max_user_instances long before 10,000
 * sessions): each handle that calls this waits until
 * mailbox_wait_stop() or mailbox_close(), and the descriptor is closed
 * when none waits, so it stays valid only as long as this handle
 * waits.  After it became readable call mailbox_wait_drain() then
 * mailbox_sync().  Several handles may watch it with their own events
 * (libevent activates all of them at once); the first drain empties
 * it, the folder remembers that events came, and every handle's sync
 * then sees the change.
 */
int mailbox_wait_fd(struct mailbox *mb);
void mailbox_wait_stop(struct mailbox *mb);
void mailbox_wait_drain(struct mailbox *mb);

/* --- the folder list of a store ------------------------------------- */

/* Special-use attributes (RFC 6154) of the default folders. */
#define MAILBOX_SPECIAL_NONE	0
#define MAILBOX_SPECIAL_SENT	1
#define MAILBOX_SPECIAL_DRAFTS	2
#define MAILBOX_SPECIAL_JUNK	3
#define MAILBOX_SPECIAL_TRASH	4
#define MAILBOX_SPECIAL_ARCHIVE 5

struct mailbox_info {
	char *name;  /* UTF-8, '.' separated, "INBOX" first */
	int special; /* MAILBOX_SPECIAL_* */
	bool subscribed;
	bool has_children;
	bool nonexistent; /* subscribed but missing, or a missing parent */
};

/*
 * mailbox_list - every folder of the store (INBOX first, then sorted),
 * into a malloc'd array.  Returns the count, or -1 with *error_r.
 */
ssize_t mailbox_list(const char *root, struct mailbox_info **list_r,
		     const char **error_r);
void mailbox_list_free(struct mailbox_info **listp, size_t count);

/*
 * mailbox_ensure_special - create Sent, Drafts, Junk, Trash and Archive
 * (subscribed) when missing, and the root itself; run at login.
 */
int mailbox_ensure_special(const char *root, const char **error_r);

/*
 * Create, delete, rename folders and edit subscriptions.  Names are
 * UTF-8; '.'-separated parents are created as needed.  Renaming INBOX
 * moves its messages into the new folder and leaves INBOX empty
 * (RFC 9051 6.3.6).  Deleting INBOX or a folder that has children
 * fails.  Each returns 0 or -1 with *error_r; *notfound_r (when not
 * NULL) tells a missing folder from other failures.
 */
int mailbox_create(const char *root, const char *name, const char **error_r);
int mailbox_delete(const char *root, const char *name, bool *notfound_r,
		   const char **error_r);
int mailbox_rename(const char *root, const char *from, const char *to,
		   bool *notfound_r, const char **error_r);
int mailbox_subscribe(const char *root, const char *name, bool subscribe,
		      const char **error_r);

/*
 * mailbox_name_valid - whether an IMAP mailbox name (UTF-8) is usable:
 * not empty, no "..", no leading or trailing '.', no '/', no control
 * characters, at most 255 octets on disk once encoded.
 */
bool mailbox_name_valid(const char *name);

#endif
