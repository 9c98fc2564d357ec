/*
 * mailbox_index - the per-folder UID index of the store, in memory and
 * as text (format in docs/store.md), and the reader of Dovecot's
 * dovecot-uidlist
 *
 * Internal to lib/store (mailbox_folder.c keeps one per folder a process
 * has open, shared by every session of that folder).  The
 * parsers do no I/O: they work on a buffer, so that the fuzzers and the
 * unit tests drive them directly.  Both treat their input as untrusted
 * (the files live in a user's directory): anything malformed is an
 * error, never a crash, and the caller rebuilds the index.
 *
 * The file "facteur-index" is a header line and then records, appended
 * under the folder lock and compacted now and then:
 *
 *	FACTEUR-INDEX 1 V<uidvalidity> N<uidnext> M<highestmodseq> R<recent>
 *	+<uid> <modseq> <flags> <keywords> <size> <mtime> <base>
 *	-<uid> <modseq>
 *	R<uid>
 *
 * A '+' record gives the whole state of a message (a new UID, or new
 * flags for a known one); a '-' record expunges one; 'R' says that the
 * messages below that UID were seen as \Recent by a session already.  The last line may
 * be torn (a writer killed mid-write): it has no '\n' and is not taken.
 */
#ifndef FACTEUR_MAILBOX_INDEX_H
#define FACTEUR_MAILBOX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define MBX_INDEX_MAGIC "FACTEUR-INDEX 1 "

/* One message as the index knows it. */
struct mbx_rec {
	uint32_t uid;
	unsigned flags;	   /* MAIL_* without MAIL_RECENT */
	uint32_t keywords; /* bit i: keyword i of dovecot-keywords */
	uint64_t modseq;
	uint64_t size;
	int64_t mtime;
	char *base; /* file name up to ':' */
	/* In memory only, never written: */
	char *name; /* "cur/base:2,FL" or "new/base"; NULL: not seen */
	bool dead;  /* expunged, removed at the next mbx_index_pack() */
	bool seen;  /* found by the current directory scan */
	bool moved; /* another process changed its flags: a new name */
};

struct mbx_index {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t first_recent; /* UIDs from here on are still \Recent */
	uint32_t last_uid;     /* the highest UID a record has named */
	struct mbx_rec *recs;  /* ascending uid */
	size_t count, alloc;
	size_t records; /* record lines in the file (for compaction) */
	/* Records mbx_index_pack() dropped (expunged), base and name still
	 * set: the owner takes them (sessions may still show them) and
	 * resets gone_count, else mbx_index_clear() frees them. */
	struct mbx_rec *gone;
	size_t gone_count, gone_alloc;
};

void mbx_index_init(struct mbx_index *ix);
void mbx_index_clear(struct mbx_index *ix);

/*
 * mbx_index_parse - apply the text data[0..len) to ix: the header when
 * with_header, then records.  *consumed_r is the offset after the last
 * complete line (a torn tail stays for the next read).  Returns 0, or -1
 * with *error_r (static) when the text is not a valid index.
 */
int mbx_index_parse(struct mbx_index *ix, const char *data, size_t len,
		    bool with_header, size_t *consumed_r, const char **error_r);

/* The record of uid, or NULL. */
struct mbx_rec *mbx_index_find(struct mbx_index *ix, uint32_t uid);
/* Append a new message (uid above every other); returns it. */
struct mbx_rec *mbx_index_add(struct mbx_index *ix, uint32_t uid,
			      const char *base);
/* Move dead records from the array to ix->gone. */
void mbx_index_pack(struct mbx_index *ix);
/* Free what a record owns (base, name). */
void mbx_rec_release(struct mbx_rec *rec);

/* Record lines, appended to out. */
void mbx_index_format_header(const struct mbx_index *ix, struct strbuf *out);
void mbx_index_format_rec(const struct mbx_rec *rec, struct strbuf *out);
void mbx_index_format_expunge(uint32_t uid, uint64_t modseq,
			      struct strbuf *out);
void mbx_index_format_recent(uint32_t first_recent, struct strbuf *out);

/*
 * mbx_uidlist_parse - Dovecot's dovecot-uidlist (versions 1 and 3) into
 * ix: uidvalidity, uidnext and one record per line (uid and base name;
 * size when an S field gives it, else UINT64_MAX).  Returns 0, or -1
 * with *error_r (static) when the file is malformed.
 */
int mbx_uidlist_parse(struct mbx_index *ix, const char *data, size_t len,
		      const char **error_r);

/* Maildir flag letters ("DFPRST" then keyword letters) of a file name's
 * info part (after ":2,"). */
void mbx_flags_parse(const char *info, unsigned *flags_r, uint32_t *kw_r);
void mbx_flags_format(unsigned flags, uint32_t keywords, struct strbuf *out);

#endif
