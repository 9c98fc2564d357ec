/*
 * mailbox_folder - the state of one folder shared by every session of a
 * process that has it open
 *
 * Internal to lib/store.  A worker serves thousands of sessions of one
 * user, most of them with INBOX selected: the index (a record and a file
 * name per message), the keywords, the descriptors and the inotify
 * watch are kept once per folder and process, as Dovecot keeps its
 * mmap'd index once, and each session (struct mailbox, mailbox.c) keeps
 * only its view: the UIDs it knows by sequence number and what it needs
 * to say what changed since.
 *
 * A folder is found by its directory (device, inode and path): a folder
 * deleted and made again, or renamed, is another folder.  It lives while
 * a session has it open (mbx_folder_open/mbx_folder_close).  The process
 * is single-threaded and every change runs begin..end to completion, so
 * the sessions of one process never interleave inside the lock; other
 * processes are kept out by the flock on facteur-index.lock as before.
 */
#ifndef FACTEUR_MAILBOX_FOLDER_H
#define FACTEUR_MAILBOX_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mailbox_cache.h"
#include "mailbox_index.h"
#include "mailbox_private.h"
#include "strbuf.h"

struct mailbox;

/* An expunged message that a session may still show until it syncs. */
struct mbx_gone {
	uint32_t uidvalidity; /* of the index it was in */
	uint64_t stamp;	      /* mbx_folder.stamp when it went */
	struct mbx_rec rec;
};

struct mbx_folder {
	struct mbx_folder *next; /* the process's open folders */
	unsigned refs;		 /* sessions that have it open */
	struct mailbox *views;	 /* those sessions (mailbox.c links them) */
	size_t view_count;
	/* Views that have not synced since the last stamp bump: expunged
	 * records go once none is left (no walk over thousands of IDLE
	 * views at each of their syncs). */
	size_t lagging;
	char *root;
	char *path;
	dev_t dev;
	ino_t ino;
	int dirfd;
	int lockfd;
	int ixfd; /* facteur-index as last read; -1: none yet */
	dev_t ix_dev;
	ino_t ix_ino;
	size_t ix_offset; /* bytes of ixfd taken into ix */
	bool locked;
	bool ix_missing; /* no facteur-index: write it whole */
	/* cur/ and new/ as the last full read saw them; when both are
	 * unchanged (and were old enough to trust) reading is skipped */
	bool scan_trusted;
	struct timespec cur_mtime, new_mtime;
	struct mbx_index ix;
	struct strbuf pending; /* records to append */
	bool pending_sync;     /* fdatasync them (new UIDs) */
	struct mbx_keywords kw;
	/* ENVELOPE and sizes by UID (mailbox_cache.c), read on first use. */
	struct mbx_cache cache;
	/* Expunged records, sorted by (uidvalidity, uid), kept while a
	 * session that has not synced since may show them. */
	struct mbx_gone *gone;
	size_t gone_count, gone_alloc;
	uint64_t stamp; /* bumped whenever records go to gone */
	/* IDLE: one inotify descriptor for every waiting session. */
	int wait_fd;
	unsigned waiters;
	uint64_t ev_gen;   /* bumped when a drain read events */
	uint64_t scan_gen; /* ev_gen when the last full scan began */
	bool scan_watched; /* that scan began watched, nothing queued */
};

/*
 * mbx_folder_open - the folder at path (root/.NAME or root) of the store
 * at root (no trailing slash), shared when this process has it open
 * already, else opened: its directory, the lock file.  The index is
 * read by the first mbx_folder_begin().  Returns NULL with *error_r and
 * *notfound_r when it does not exist.
 */
struct mbx_folder *mbx_folder_open(const char *root, const char *path,
				   bool *notfound_r, const char **error_r);
/* Drop one reference; after the last one the folder is kept (the one
 * most recently closed only) for a quick reopen. */
void mbx_folder_close(struct mbx_folder **fp);
/* Free the folder kept after its last close, if any. */
void mbx_folder_drop_retained(void);

/* begin - lock and catch up with the index; end - write and unlock;
 * abandon - unlock after a failure, forgetting the in-memory index
 * (read again from the file by the next begin). */
int mbx_folder_begin(struct mbx_folder *f, const char **error_r);
int mbx_folder_end(struct mbx_folder *f, const char **error_r);
void mbx_folder_abandon(struct mbx_folder *f);
void mbx_folder_unlock(struct mbx_folder *f);

/*
 * mbx_folder_scan - bring the index in line with cur/ and new/ (locked).
 * rw: move new/ to cur/ and take \Recent.  The UIDs this call took as
 * \Recent, [*recent_lo, *recent_hi), go to the calling session (empty
 * when lo == hi).  Returns 0 or -1.
 */
int mbx_folder_scan(struct mbx_folder *f, bool rw, uint32_t *recent_lo,
		    uint32_t *recent_hi, const char **error_r);

/* The record of uid as a session of uidvalidity may show it: in the
 * index, else among the expunged; NULL when neither has it. */
const struct mbx_rec *mbx_folder_lookup(struct mbx_folder *f,
					uint32_t uidvalidity, uint32_t uid);
/* Free expunged records no session can show any more: those at or
 * below stamp (the lowest stamp a session of the folder synced at). */
void mbx_folder_prune(struct mbx_folder *f, uint64_t stamp);

/* File names: "cur/BASE:2,FLAGS" (malloc'd); a record's new name (the
 * old one freed); the current name of base in cur/ or new/, or NULL. */
char *mbx_cur_name(const char *base, unsigned flags, uint32_t keywords);
void mbx_folder_set_name(struct mbx_rec *rec, char *name);
char *mbx_folder_find_file(struct mbx_folder *f, const char *base);

/* The inotify descriptor (-1: none), for one more waiting session;
 * stop: one fewer (the last closes it); drain: read what is queued. */
int mbx_folder_wait_start(struct mbx_folder *f);
void mbx_folder_wait_stop(struct mbx_folder *f);
void mbx_folder_wait_drain(struct mbx_folder *f);

#endif
