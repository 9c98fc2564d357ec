/*
 * mailbox_folder - one folder's shared state: lock, index, scan, watch
 *
 * SYNOPSIS
 *	#include "mailbox_folder.h"
 *
 * DESCRIPTION
 *	A process keeps one struct mbx_folder per folder that any of its
 *	sessions has open (mailbox_folder.h says why): the directory and
 *	lock descriptors, the index (mailbox_index.h) as far as this
 *	process has read it, with the offset reached in facteur-index and
 *	that file's inode, the keywords, the expunged records sessions
 *	may still show, and one inotify watch for all of its IDLE
 *	sessions.
 *
 *	Every change happens with facteur-index.lock flock'd: catch up
 *	with what others appended (index_refresh), change the files, append
 *	the records with one write() (fdatasync when UIDs were given, so a
 *	UID a client saw survives a crash of the machine too), unlock.  A
 *	reader that finds the file replaced (compaction renames a new one
 *	in) reads it whole again.
 *
 *	mbx_folder_scan(), under the lock: read the names in new/ and cur/
 *	(readdir only: sizes come from ",S=" or the index, dates from the
 *	index; a file is stat'ed once, when it gets its UID); match them by
 *	base name (the part before ':') against the index through a hash
 *	table; a name whose flags differ from the index was changed by
 *	another program (mutt, Dovecot): new modseq; an index entry whose
 *	file is gone was expunged by another program; files without a UID
 *	get the next ones in name order (delivery time) and are moved from
 *	new/ to cur/ unless READONLY.  When cur/ changed while it was read
 *	(another program renaming a file), it is read again before
 *	anything is declared expunged.  The read is skipped when nothing
 *	can have changed: the directories' mtimes are those of the last
 *	read and older than it by a second, or the folder is watched and
 *	the watch saw nothing since the last read began.
 *
 *	\Recent follows Dovecot: the index remembers the first UID no
 *	read-write session has seen (an 'R' record); the read-write session
 *	whose scan passes it takes the messages from there on as recent.
 *
 *	Expunged records (by a session, another process, or all of them
 *	when the index was rebuilt) move to f->gone, stamped, until every
 *	session of the folder has synced after they went: a session shows
 *	the messages of its view until its sync reports them expunged.
 *
 * DIAGNOSTICS
 *	Functions return -1 with *error_r (static until the next call of
 *	any mailbox function).  A damaged index is logged (log_warn) once
 *	and rebuilt with a new UIDVALIDITY.  Nested locking is a bug
 *	(log_panic).
 *
 * SECURITY
 *	Runs as the mail user.  File names from the directories are taken
 *	only when they hold no '/' and no control character; names in the
 *	index are checked the same way by the parser.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "mailbox.h"
#include "mailbox_folder.h"
#include "mailbox_index.h"
#include "mailbox_private.h"
#include "strbuf.h"

/* Compact the index when it holds this many more lines than messages. */
#define MBX_COMPACT_SLACK 1000
/* Read cur/ again at most this often when it changes under us. */
#define MBX_SCAN_TRIES 3

/* The folders this process has open (a worker has one user's). */
static struct mbx_folder *folders;

static void folder_free(struct mbx_folder *f);

/*
 * The folder whose last session went, kept with its index and the
 * directory times it trusts: the next SELECT of it (a client that logs
 * in, reads and logs out again and again) then catches up from the
 * index file and two stat(2) calls instead of reading every name in
 * cur/ (60 ms for 50,000 messages).  Kept as one more session would
 * keep it, without a view; one folder at most, so a worker does not
 * grow with every folder ever opened.
 */
static struct mbx_folder *retained;
static bool atfork_set;

/* --- expunged records sessions may still show ---------------------- */

static int cmp_gone(const void *a, const void *b)
{
	const struct mbx_gone *x = a, *y = b;

	if (x->uidvalidity != y->uidvalidity)
		return x->uidvalidity < y->uidvalidity ? -1 : 1;
	return x->rec.uid < y->rec.uid ? -1 : x->rec.uid > y->rec.uid;
}

/* gone_take - recs[0..n) (their strings move too) into f->gone */
static void gone_take(struct mbx_folder *f, uint32_t uidvalidity,
		      struct mbx_rec *recs, size_t n)
{
	if (n == 0)
		return;
	if (f->refs == 0 || f->views == NULL) {
		/* Nobody can show them. */
		for (size_t i = 0; i < n; i++)
			mbx_rec_release(&recs[i]);
		return;
	}
	f->stamp++;
	f->lagging = f->view_count; /* none has synced at this stamp */
	if (f->gone_count + n > f->gone_alloc) {
		f->gone_alloc = f->gone_count + n + 16;
		f->gone =
			xreallocarray(f->gone, f->gone_alloc, sizeof(*f->gone));
	}
	for (size_t i = 0; i < n; i++) {
		struct mbx_gone *g = &f->gone[f->gone_count++];

		g->uidvalidity = uidvalidity;
		g->stamp = f->stamp;
		g->rec = recs[i];
		g->rec.dead = true;
	}
	qsort(f->gone, f->gone_count, sizeof(*f->gone), cmp_gone);
}

/* collect - what mbx_index_pack() dropped, into f->gone */
static void collect(struct mbx_folder *f)
{
	gone_take(f, f->ix.uidvalidity, f->ix.gone, f->ix.gone_count);
	f->ix.gone_count = 0;
}

const struct mbx_rec *mbx_folder_lookup(struct mbx_folder *f,
					uint32_t uidvalidity, uint32_t uid)
{
	struct mbx_gone key;
	const struct mbx_gone *g;

	if (uidvalidity == f->ix.uidvalidity) {
		const struct mbx_rec *rec = mbx_index_find(&f->ix, uid);

		if (rec != NULL)
			return rec;
	}
	if (f->gone_count == 0)
		return NULL;
	key.uidvalidity = uidvalidity;
	key.rec.uid = uid;
	g = bsearch(&key, f->gone, f->gone_count, sizeof(*f->gone), cmp_gone);
	return g != NULL ? &g->rec : NULL;
}

void mbx_folder_prune(struct mbx_folder *f, uint64_t stamp)
{
	size_t keep = 0;

	for (size_t i = 0; i < f->gone_count; i++) {
		if (f->gone[i].stamp <= stamp)
			mbx_rec_release(&f->gone[i].rec);
		else
			f->gone[keep++] = f->gone[i];
	}
	f->gone_count = keep;
	if (keep == 0) {
		free(f->gone);
		f->gone = NULL;
		f->gone_alloc = 0;
	}
}

/* --- locking and the index file ----------------------------------- */

static int lock_folder(struct mbx_folder *f, const char **error_r)
{
	/* One process never nests two changes of a folder: its sessions
	 * share this lock, so a nested one would not be excluded. */
	if (f->locked)
		log_panic("%s: folder locked twice", f->path);
	while (flock(f->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			*error_r = mbx_error("lock %s/" MBX_LOCK_FILE ": %m",
					     f->path);
			return -1;
		}
	}
	f->locked = true;
	return 0;
}

void mbx_folder_unlock(struct mbx_folder *f)
{
	if (f->locked)
		flock(f->lockfd, LOCK_UN);
	f->locked = false;
}

/* read_from - bytes of fd from offset to its end, into a buffer */
static int read_from(int fd, size_t offset, size_t size, char **data_r,
		     size_t *len_r)
{
	size_t len = size > offset ? size - offset : 0, done = 0;
	char *data = xmalloc(len + 1);

	while (done < len) {
		ssize_t n = pread(fd, data + done, len - done,
				  (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(data);
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*data_r = data;
	*len_r = done;
	return 0;
}

/*
 * keep_local - carry what only this process knows (file names, \Recent)
 * from old into the freshly read ix
 */
static void keep_local(struct mbx_index *ix, struct mbx_index *old)
{
	size_t j = 0;

	for (size_t i = 0; i < ix->count; i++) {
		struct mbx_rec *rec = &ix->recs[i];

		while (j < old->count && old->recs[j].uid < rec->uid)
			j++;
		if (j < old->count && old->recs[j].uid == rec->uid &&
		    strcmp(old->recs[j].base, rec->base) == 0) {
			rec->name = old->recs[j].name;
			old->recs[j].name = NULL;
			rec->moved = rec->flags != old->recs[j].flags ||
				     rec->keywords != old->recs[j].keywords;
		}
	}
}

/*
 * retire - free old, the index fresh replaces, except its messages that
 * fresh does not have (expunged, or all of them under another
 * UIDVALIDITY): sessions that have not synced since still show them
 */
static void retire(struct mbx_folder *f, struct mbx_index *old,
		   struct mbx_index *fresh)
{
	size_t keep = 0;

	for (size_t i = 0; i < old->count; i++) {
		struct mbx_rec *rec = &old->recs[i];
		const struct mbx_rec *now = mbx_index_find(fresh, rec->uid);

		if (old->uidvalidity == fresh->uidvalidity && now != NULL &&
		    strcmp(now->base, rec->base) == 0)
			mbx_rec_release(rec);
		else
			old->recs[keep++] = *rec;
	}
	gone_take(f, old->uidvalidity, old->recs, keep);
	gone_take(f, old->uidvalidity, old->gone, old->gone_count);
	old->count = old->gone_count = 0;
	mbx_index_clear(old);
}

/*
 * index_rebuild - start a new index: a new UIDVALIDITY above the old
 * one, no messages; the next scan gives every file a new UID.
 */
static void index_rebuild(struct mbx_folder *f, const char *why)
{
	uint32_t old = f->ix.uidvalidity;

	log_warn("%s/" MBX_INDEX_FILE ": %s: rebuilding the index with a new "
		 "UIDVALIDITY",
		 f->path, why);
	{
		struct mbx_index prev = f->ix;

		mbx_index_init(&f->ix);
		f->ix.uidvalidity = mbx_new_uidvalidity(f->root, old);
		retire(f, &prev, &f->ix);
	}
	f->ix.uidnext = 1;
	f->ix.first_recent = 1;
	f->ix_missing = true;
	if (f->ixfd >= 0)
		close(f->ixfd);
	f->ixfd = -1;
	f->ix_offset = 0;
}

/*
 * index_import - a folder without our index: Dovecot's dovecot-uidlist
 * when there is one, else a new UIDVALIDITY.
 */
static void index_import(struct mbx_folder *f)
{
	char *data;
	size_t len;
	const char *error;

	{
		struct mbx_index prev = f->ix;

		mbx_index_init(&f->ix);
		retire(f, &prev, &f->ix);
	}
	f->ix_missing = true;
	if (mbx_read_file(f->dirfd, MBX_UIDLIST_FILE, MBX_SMALL_FILE_MAX, &data,
			  &len) == 0) {
		if (mbx_uidlist_parse(&f->ix, data, len, &error) == 0) {
			f->ix.first_recent = f->ix.uidnext;
			free(data);
			return;
		}
		log_warn("%s/%s: %s: not imported", f->path, MBX_UIDLIST_FILE,
			 error);
		free(data);
		{
			struct mbx_index prev = f->ix;

			mbx_index_init(&f->ix);
			retire(f, &prev, &f->ix);
		}
	}
	f->ix.uidvalidity = mbx_new_uidvalidity(f->root, 0);
	f->ix.uidnext = 1;
	f->ix.first_recent = 1;
}

/*
 * renamed_by_others - messages whose flags another process changed have
 * the name that process gave them (cur/BASE:2,FLAGS), so that opening
 * them needs no search
 */
static void renamed_by_others(struct mbx_folder *f)
{
	for (size_t i = 0; i < f->ix.count; i++) {
		struct mbx_rec *rec = &f->ix.recs[i];

		if (!rec->moved)
			continue;
		rec->moved = false;
		if (rec->name != NULL && strncmp(rec->name, "cur/", 4) == 0)
			mbx_folder_set_name(rec,
					    mbx_cur_name(rec->base, rec->flags,
							 rec->keywords));
	}
}

/*
 * folder_gone - whether the folder was deleted under us (its directory
 * removed, or no longer at its path): then a missing index is no damage
 */
static bool folder_gone(struct mbx_folder *f)
{
	struct stat st, here;

	if (fstat(f->dirfd, &st) < 0 || st.st_nlink == 0)
		return true;
	return stat(f->path, &here) < 0 || here.st_ino != st.st_ino ||
	       here.st_dev != st.st_dev;
}

/*
 * index_refresh - take what others wrote into f->ix.  Returns 0 or -1
 * (*error_r) when the file cannot be read at all.
 */
static int index_refresh(struct mbx_folder *f, const char **error_r)
{
	struct stat st;
	char *data;
	size_t len, used;
	const char *error;

	if (fstatat(f->dirfd, MBX_INDEX_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			*error_r = mbx_error("stat %s/" MBX_INDEX_FILE ": %m",
					     f->path);
			return -1;
		}
		if (f->ix_missing)
			return 0;
		if (folder_gone(f)) {
			*error_r =
				mbx_error("%s: mailbox was deleted", f->path);
			return -1;
		}
		if (f->ixfd >= 0)
			index_rebuild(f, "removed");
		else
			index_import(f);
		return 0;
	}
	if (f->ixfd >= 0 && st.st_ino == f->ix_ino && st.st_dev == f->ix_dev &&
	    (size_t)st.st_size >= f->ix_offset) {
		if ((size_t)st.st_size == f->ix_offset)
			return 0;
		if (read_from(f->ixfd, f->ix_offset, (size_t)st.st_size, &data,
			      &len) < 0) {
			*error_r = mbx_error("read %s/" MBX_INDEX_FILE ": %m",
					     f->path);
			return -1;
		}
		if (mbx_index_parse(&f->ix, data, len, false, &used, &error) <
		    0) {
			free(data);
			index_rebuild(f, error);
			return 0;
		}
		free(data);
		f->ix_offset += used;
		renamed_by_others(f);
		return 0;
	}
	/* A new file (compacted or rebuilt by another process), or ours
	 * for the first time: read it whole. */
	{
		int fd = openat(f->dirfd, MBX_INDEX_FILE,
				O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		struct mbx_index fresh;

		if (fd < 0 || fstat(fd, &st) < 0) {
			*error_r = mbx_error("open %s/" MBX_INDEX_FILE ": %m",
					     f->path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (read_from(fd, 0, (size_t)st.st_size, &data, &len) < 0) {
			*error_r = mbx_error("read %s/" MBX_INDEX_FILE ": %m",
					     f->path);
			close(fd);
			return -1;
		}
		mbx_index_init(&fresh);
		if (mbx_index_parse(&fresh, data, len, true, &used, &error) <
		    0) {
			free(data);
			close(fd);
			/* The damaged file's UIDVALIDITY, when its header
			 * was readable, is one the new one must exceed. */
			if (f->ixfd < 0 && fresh.uidvalidity != 0)
				f->ix.uidvalidity = fresh.uidvalidity;
			mbx_index_clear(&fresh);
			index_rebuild(f, error);
			return 0;
		}
		free(data);
		keep_local(&fresh, &f->ix);
		{
			struct mbx_index prev = f->ix;

			f->ix = fresh;
			retire(f, &prev, &f->ix);
		}
		renamed_by_others(f);
		if (f->ixfd >= 0)
			close(f->ixfd);
		f->ixfd = fd;
		f->ix_dev = st.st_dev;
		f->ix_ino = st.st_ino;
		f->ix_offset = used;
		f->ix_missing = false;
	}
	return 0;
}

/* index_write_all - the whole index into a new file, renamed in place */
static int index_write_all(struct mbx_folder *f, const char **error_r)
{
	struct strbuf out;
	struct stat st;
	int fd;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	mbx_index_format_header(&f->ix, &out);
	for (size_t i = 0; i < f->ix.count; i++)
		mbx_index_format_rec(&f->ix.recs[i], &out);
	if (mbx_write_file(f->dirfd, MBX_INDEX_FILE, out.data, out.len) < 0) {
		*error_r =
			mbx_error("write %s/" MBX_INDEX_FILE ": %m", f->path);
		strbuf_release(&out);
		return -1;
	}
	fd = openat(f->dirfd, MBX_INDEX_FILE,
		    O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = mbx_error("open %s/" MBX_INDEX_FILE ": %m", f->path);
		if (fd >= 0)
			close(fd);
		strbuf_release(&out);
		return -1;
	}
	if (f->ixfd >= 0)
		close(f->ixfd);
	f->ixfd = fd;
	f->ix_dev = st.st_dev;
	f->ix_ino = st.st_ino;
	f->ix_offset = out.len;
	f->ix.records = f->ix.count;
	f->ix_missing = false;
	strbuf_release(&out);
	return 0;
}

/*
 * index_flush - write the pending records (under the lock): the whole
 * file when there is none yet or it is due for compaction, else one
 * append after cutting a torn tail a killed writer left.
 */
static int index_flush(struct mbx_folder *f, const char **error_r)
{
	struct stat st;
	size_t done = 0;

	if (f->ix_missing || f->ixfd < 0 ||
	    f->ix.records > 2 * f->ix.count + MBX_COMPACT_SLACK) {
		strbuf_reset(&f->pending);
		f->pending_sync = false;
		return index_write_all(f, error_r);
	}
	if (f->pending.len == 0)
		return 0;
	if (fstat(f->ixfd, &st) == 0 && (size_t)st.st_size > f->ix_offset &&
	    ftruncate(f->ixfd, (off_t)f->ix_offset) < 0) {
		*error_r = mbx_error("truncate %s/" MBX_INDEX_FILE ": %m",
				     f->path);
		return -1;
	}
	while (done < f->pending.len) {
		ssize_t n = write(f->ixfd, f->pending.data + done,
				  f->pending.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = mbx_error("write %s/" MBX_INDEX_FILE ": %m",
					     f->path);
			/* Cut what was written: the index stays whole. */
			if (ftruncate(f->ixfd, (off_t)f->ix_offset) < 0) {
				/* the next writer cuts the torn tail */
			}
			return -1;
		}
		done += (size_t)n;
	}
	if (f->pending_sync && fdatasync(f->ixfd) < 0) {
		*error_r =
			mbx_error("fsync %s/" MBX_INDEX_FILE ": %m", f->path);
		return -1;
	}
	f->ix_offset += f->pending.len;
	for (size_t i = 0; i < f->pending.len; i++)
		if (f->pending.data[i] == '\n')
			f->ix.records++;
	strbuf_reset(&f->pending);
	f->pending_sync = false;
	return 0;
}

int mbx_folder_begin(struct mbx_folder *f, const char **error_r)
{
	if (lock_folder(f, error_r) < 0)
		return -1;
	if (index_refresh(f, error_r) < 0) {
		mbx_folder_unlock(f);
		return -1;
	}
	collect(f);
	return 0;
}

/*
 * abandon - unlock after a failure that may have left f->ix ahead of
 * the file (UIDs given, flags changed, nothing written): forget it, the
 * next begin() reads the file again
 */
void mbx_folder_abandon(struct mbx_folder *f)
{
	strbuf_reset(&f->pending);
	f->pending_sync = false;
	if (f->ixfd >= 0)
		close(f->ixfd);
	f->ixfd = -1;
	f->ix_offset = 0;
	f->ix_missing = false;
	f->scan_watched = false;
	collect(f);
	mbx_folder_unlock(f);
}

int mbx_folder_end(struct mbx_folder *f, const char **error_r)
{
	if (index_flush(f, error_r) < 0) {
		mbx_folder_abandon(f);
		return -1;
	}
	collect(f);
	mbx_folder_unlock(f);
	return 0;
}

/* --- file names ---------------------------------------------------- */

/* name_ok - a directory entry we may take as a message */
static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.' || name[0] == ':' || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* size_from_name - ",S=<digits>" in base, or UINT64_MAX */
static uint64_t size_from_name(const char *base)
{
	const char *s = strstr(base, ",S=");
	uint64_t n = 0;

	if (s == NULL || s[3] < '0' || s[3] > '9')
		return UINT64_MAX;
	for (s += 3; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	return *s == '\0' || *s == ',' ? n : UINT64_MAX;
}

/* mbx_cur_name - "cur/BASE:2,FLAGS" */
char *mbx_cur_name(const char *base, unsigned flags, uint32_t keywords)
{
	struct strbuf sb;

	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_appendf(&sb, "cur/%s:2,", base);
	mbx_flags_format(flags, keywords, &sb);
	return strbuf_steal(&sb);
}

/* mbx_folder_set_name - a message's new file name: mailbox_msg() lends
 * names only until the next call, so the old one can go at once */
void mbx_folder_set_name(struct mbx_rec *rec, char *name)
{
	free(rec->name);
	rec->name = name;
}

/* stat_rec - size and mtime of a file that has no record of them yet */
static void stat_rec(struct mbx_folder *f, struct mbx_rec *rec)
{
	struct stat st;

	if (rec->size != UINT64_MAX && rec->mtime >= 0)
		return;
	if (fstatat(f->dirfd, rec->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (rec->size == UINT64_MAX)
			rec->size = 0;
		if (rec->mtime < 0)
			rec->mtime = 0;
		return;
	}
	if (rec->size == UINT64_MAX)
		rec->size = (uint64_t)st.st_size;
	if (rec->mtime < 0)
		rec->mtime = (int64_t)st.st_mtime;
}

/* --- the directory scan ------------------------------------------- */

/* Base name -> index in ix.recs, open addressing. */
struct name_hash {
	uint32_t *slots; /* rec index + 1; 0: empty */
	uint32_t *hashes;
	size_t mask;
};

static uint32_t hash_base(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void hash_build(struct name_hash *h, const struct mbx_index *ix)
{
	size_t size = 64;

	while (size < ix->count * 2 + 1)
		size *= 2;
	h->slots = xcalloc(size, sizeof(*h->slots));
	h->hashes = xmalloc(size * sizeof(*h->hashes));
	h->mask = size - 1;
	for (size_t i = 0; i < ix->count; i++) {
		const char *b = ix->recs[i].base;
		uint32_t hv = hash_base(b, strlen(b));
		size_t s = hv & h->mask;

		while (h->slots[s] != 0)
			s = (s + 1) & h->mask;
		h->slots[s] = (uint32_t)i + 1;
		h->hashes[s] = hv;
	}
}

static struct mbx_rec *hash_find(const struct name_hash *h,
				 struct mbx_index *ix, const char *base,
				 size_t len)
{
	uint32_t hv = hash_base(base, len);
	size_t s = hv & h->mask;

	while (h->slots[s] != 0) {
		struct mbx_rec *rec = &ix->recs[h->slots[s] - 1];

		if (h->hashes[s] == hv && strncmp(rec->base, base, len) == 0 &&
		    rec->base[len] == 0)
			return rec;
		s = (s + 1) & h->mask;
	}
	return NULL;
}

/* A file without a UID, found by the scan. */
struct unknown {
	char *name; /* "new/..." or "cur/..." */
	size_t base_off, base_len;
};

/* delivery_time - "SECONDS.M<usec>..." of a Maildir name, as far as
 * it has them (0 for what is missing) */
static void delivery_time(const char *p, uint64_t *sec_r, uint64_t *usec_r)
{
	uint64_t sec = 0, usec = 0;

	for (int n = 0; *p >= '0' && *p <= '9' && n < 19; p++, n++)
		sec = sec * 10 + (uint64_t)(*p - '0');
	if (p[0] == '.' && p[1] == 'M')
		for (int n = 0, k = 2; p[k] >= '0' && p[k] <= '9' && n < 19;
		     k++, n++)
			usec = usec * 10 + (uint64_t)(p[k] - '0');
	*sec_r = sec;
	*usec_r = usec;
}

/* cmp_unknown - delivery order: seconds, microseconds, then the name */
static int cmp_unknown(const void *a, const void *b)
{
	const struct unknown *x = a, *y = b;
	const char *bx = x->name + x->base_off, *by = y->name + y->base_off;
	uint64_t sx, ux, sy, uy;
	int c;

	delivery_time(bx, &sx, &ux);
	delivery_time(by, &sy, &uy);
	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (ux != uy)
		return ux < uy ? -1 : 1;
	/* The base names (up to ':') first: one message's two names sort
	 * next to each other. */
	c = memcmp(bx, by,
		   x->base_len < y->base_len ? x->base_len : y->base_len);
	if (c == 0 && x->base_len != y->base_len)
		c = x->base_len < y->base_len ? -1 : 1;
	return c != 0 ? c : strcmp(x->name, y->name);
}

/* scan_dir - read one of new/ and cur/; 0 or -1 */
static int scan_dir(struct mbx_folder *f, const char *sub,
		    const struct name_hash *h, struct unknown **unk,
		    size_t *unk_count, size_t *unk_alloc,
		    struct timespec *mtime_r, const char **error_r)
{
	int fd = openat(f->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (fd < 0 || fstat(fd, &st) < 0 || (d = fdopendir(fd)) == NULL) {
		*error_r = mbx_error("open %s/%s: %m", f->path, sub);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*mtime_r = st.st_mtim;
	while ((e = readdir(d)) != NULL) {
		const char *colon;
		size_t blen;
		struct mbx_rec *rec;

		if (!name_ok(e->d_name))
			continue;
		colon = strchr(e->d_name, ':');
		blen = colon != NULL ? (size_t)(colon - e->d_name)
				     : strlen(e->d_name);
		rec = hash_find(h, &f->ix, e->d_name, blen);
		if (rec == NULL || rec->seen) {
			struct unknown *u;

			if (rec != NULL)
				continue; /* the same message twice */
			if (*unk_count == *unk_alloc) {
				*unk_alloc = *unk_alloc ? *unk_alloc * 2 : 64;
				*unk = xreallocarray(*unk, *unk_alloc,
						     sizeof(**unk));
			}
			u = &(*unk)[(*unk_count)++];
			u->name = xasprintf("%s/%s", sub, e->d_name);
			u->base_off = strlen(sub) + 1;
			u->base_len = blen;
			continue;
		}
		rec->seen = true;
		/* "sub/name": sub is "cur" or "new", both 3 letters. */
		if (rec->name == NULL || strncmp(rec->name, sub, 3) != 0 ||
		    strcmp(rec->name + 4, e->d_name) != 0)
			mbx_folder_set_name(rec,
					    xasprintf("%s/%s", sub, e->d_name));
		if (sub[0] == 'c') {
			unsigned flags = 0;
			uint32_t kw = 0;

			if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
				mbx_flags_parse(colon + 3, &flags, &kw);
			if (flags != rec->flags || kw != rec->keywords) {
				/* Changed by another program. */
				rec->flags = flags;
				rec->keywords = kw;
				rec->modseq = ++f->ix.highestmodseq;
				mbx_index_format_rec(rec, &f->pending);
			}
		}
	}
	closedir(d);
	return 0;
}

/* move_to_cur - new/NAME -> cur/BASE:2,FLAGS; updates *name */
static void move_to_cur(struct mbx_folder *f, char **name, const char *base,
			unsigned flags, uint32_t kw)
{
	char *to = mbx_cur_name(base, flags, kw);

	if (renameat(f->dirfd, *name, f->dirfd, to) == 0) {
		free(*name);
		*name = to;
	} else {
		free(to); /* stays in new/; moved by the next sync */
	}
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * unchanged_dirs - whether cur/ and new/ are as the last read found them
 * (then the index, caught up, is the folder), and every message has a
 * known file name
 */
static bool unchanged_dirs(struct mbx_folder *f)
{
	struct stat sc, sn;

	if (!f->scan_trusted || fstatat(f->dirfd, "cur", &sc, 0) < 0 ||
	    fstatat(f->dirfd, "new", &sn, 0) < 0 ||
	    !same_time(&sc.st_mtim, &f->cur_mtime) ||
	    !same_time(&sn.st_mtim, &f->new_mtime))
		return false;
	return true;
}

/* queued - bytes of inotify events waiting on the folder's watch */
static int queued(struct mbx_folder *f)
{
	int n = 0;

	if (f->wait_fd < 0 || ioctl(f->wait_fd, FIONREAD, &n) < 0)
		return -1;
	return n;
}

/*
 * unchanged_watched - whether no name in cur/ or new/ changed since the
 * last full read, as the watch tells: that read began with the watch in
 * place and nothing queued, and no event has come since (none drained,
 * none queued).  Unlike the mtimes this holds within the same clock
 * tick, so that a thousand sessions woken by one delivery read the
 * directories once or twice between them, not once each.
 */
static bool unchanged_watched(struct mbx_folder *f)
{
	return f->scan_watched && f->scan_gen == f->ev_gen && queued(f) == 0;
}

/* names_known - every message has a file name (else scan to find it) */
static bool names_known(const struct mbx_folder *f)
{
	for (size_t i = 0; i < f->ix.count; i++)
		if (f->ix.recs[i].name == NULL)
			return false;
	return true;
}

/*
 * scan - bring f->ix in line with the directories (locked).  Returns 0
 * or -1.
 */
int mbx_folder_scan(struct mbx_folder *f, bool rw, uint32_t *recent_lo,
		    uint32_t *recent_hi, const char **error_r)
{
	struct unknown *unk = NULL;
	size_t unk_count = 0, unk_alloc = 0;
	char *prev_base = NULL;
	struct name_hash h;
	struct timespec t_new, t_cur, t_after;
	bool importing = f->ix_missing;
	struct timespec start;
	int ret = -1;

	*recent_lo = *recent_hi = 0;
	clock_gettime(CLOCK_REALTIME, &start);
	if (!importing && names_known(f) &&
	    (unchanged_watched(f) || unchanged_dirs(f)))
		goto recent;
	/* What the watch says from here on is news to this read. */
	f->scan_gen = f->ev_gen;
	f->scan_watched = queued(f) == 0;
	for (int tries = 0;; tries++) {
		struct stat st;
		bool missing = false;

		for (size_t i = 0; i < f->ix.count; i++)
			f->ix.recs[i].seen = false;
		for (size_t i = 0; i < unk_count; i++)
			free(unk[i].name);
		unk_count = 0;
		hash_build(&h, &f->ix);
		if (scan_dir(f, "cur", &h, &unk, &unk_count, &unk_alloc, &t_cur,
			     error_r) < 0 ||
		    scan_dir(f, "new", &h, &unk, &unk_count, &unk_alloc, &t_new,
			     error_r) < 0) {
			free(h.slots);
			free(h.hashes);
			goto out;
		}
		free(h.slots);
		free(h.hashes);
		for (size_t i = 0; i < f->ix.count && !missing; i++)
			missing = !f->ix.recs[i].seen;
		if (!missing || tries + 1 >= MBX_SCAN_TRIES ||
		    fstatat(f->dirfd, "cur", &st, 0) < 0)
			break;
		t_after = st.st_mtim;
		if (t_after.tv_sec == t_cur.tv_sec &&
		    t_after.tv_nsec == t_cur.tv_nsec)
			break;
	}
	/* Trust these times next time only when they are older than the
	 * read by a second: a change in the same clock tick as the last
	 * one would not move them. */
	f->cur_mtime = t_cur;
	f->new_mtime = t_new;
	f->scan_trusted = t_cur.tv_sec + 1 < start.tv_sec &&
			  t_new.tv_sec + 1 < start.tv_sec;
	/* Files gone: expunged by another program. */
	for (size_t i = 0; i < f->ix.count; i++) {
		struct mbx_rec *rec = &f->ix.recs[i];

		if (rec->seen)
			continue;
		rec->dead = true;
		if (!importing) {
			f->ix.highestmodseq++;
			mbx_index_format_expunge(rec->uid, f->ix.highestmodseq,
						 &f->pending);
		}
	}
	mbx_index_pack(&f->ix);
	/* Imported records: their state comes from the names. */
	for (size_t i = 0; importing && i < f->ix.count; i++) {
		struct mbx_rec *rec = &f->ix.recs[i];
		const char *colon = strchr(rec->name, ':');

		if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
			mbx_flags_parse(colon + 3, &rec->flags, &rec->keywords);
		if (f->ix.highestmodseq == 0)
			f->ix.highestmodseq = 1;
		rec->modseq = f->ix.highestmodseq;
		if (rec->size == UINT64_MAX)
			rec->size = size_from_name(rec->base);
		stat_rec(f, rec);
	}
	/* Known messages still in new/ (given UIDs READONLY). */
	for (size_t i = 0; rw && i < f->ix.count; i++) {
		struct mbx_rec *rec = &f->ix.recs[i];

		if (strncmp(rec->name, "new/", 4) == 0)
			move_to_cur(f, &rec->name, rec->base, rec->flags,
				    rec->keywords);
	}
	/* Files without a UID, in delivery order. */
	if (unk_count > 1)
		qsort(unk, unk_count, sizeof(*unk), cmp_unknown);
	for (size_t i = 0; i < unk_count; i++) {
		struct unknown *u = &unk[i];
		char *base = xstrndup(u->name + u->base_off, u->base_len);
		unsigned flags = 0;
		uint32_t kw = 0;
		const char *colon = strchr(u->name + u->base_off, ':');
		struct mbx_rec *rec;

		if (prev_base != NULL && strcmp(prev_base, base) == 0) {
			free(base); /* one message under two names */
			continue;
		}
		free(prev_base);
		prev_base = xstrdup(base);
		if (f->ix.uidnext == UINT32_MAX) {
			free(base);
			*error_r = mbx_error("%s: out of UIDs", f->path);
			goto out;
		}
		if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
			mbx_flags_parse(colon + 3, &flags, &kw);
		if (rw && strncmp(u->name, "new/", 4) == 0)
			move_to_cur(f, &u->name, base, flags, kw);
		rec = mbx_index_add(&f->ix, f->ix.uidnext, base);
		free(base);
		rec->flags = flags;
		rec->keywords = kw;
		rec->modseq = ++f->ix.highestmodseq;
		rec->size = size_from_name(rec->base);
		rec->mtime = -1;
		rec->name = u->name;
		u->name = NULL;
		stat_rec(f, rec);
		mbx_index_format_rec(rec, &f->pending);
		f->pending_sync = true;
	}
recent:
	/* \Recent: this read-write session is the first to see these. */
	if (rw && f->ix.first_recent < f->ix.uidnext) {
		*recent_lo = f->ix.first_recent;
		*recent_hi = f->ix.uidnext;
		f->ix.first_recent = f->ix.uidnext;
		mbx_index_format_recent(f->ix.first_recent, &f->pending);
	}
	ret = 0;
out:
	for (size_t i = 0; i < unk_count; i++)
		free(unk[i].name);
	free(unk);
	free(prev_base);
	return ret;
}

/* mbx_folder_find_file - the current name of base in cur/ or new/ */
char *mbx_folder_find_file(struct mbx_folder *f, const char *base)
{
	static const char *const subs[] = {"cur", "new"};
	size_t blen = strlen(base);

	for (size_t k = 0; k < 2; k++) {
		int fd = openat(f->dirfd, subs[k],
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *e;
		DIR *d;

		if (fd < 0)
			continue;
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, base, blen) == 0 &&
			    (e->d_name[blen] == '\0' ||
			     e->d_name[blen] == ':')) {
				char *name =
					xasprintf("%s/%s", subs[k], e->d_name);

				closedir(d);
				return name;
			}
		}
		closedir(d);
	}
	return NULL;
}

/* --- open and close ------------------------------------------------ */

struct mbx_folder *mbx_folder_open(const char *root, const char *path,
				   bool *notfound_r, const char **error_r)
{
	struct mbx_folder *f;
	struct stat st;
	int fd;

	*notfound_r = false;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstatat(fd, "cur", &st, 0) < 0 || fstat(fd, &st) < 0) {
		*notfound_r = errno == ENOENT || errno == ENOTDIR;
		*error_r = *notfound_r ? mbx_error("mailbox does not exist")
				       : mbx_error("open %s: %m", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* The same directory under the same name: share it.  Our open
	 * descriptor keeps a deleted folder's inode from being reused. */
	for (f = folders; f != NULL; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino &&
		    strcmp(f->path, path) == 0) {
			close(fd);
			f->refs++;
			if (f == retained)
				retained = NULL;
			return f;
		}
	f = xcalloc(1, sizeof(*f));
	f->root = xstrdup(root);
	f->path = xstrdup(path);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->dirfd = fd;
	f->ixfd = -1;
	f->wait_fd = -1;
	mbx_index_init(&f->ix);
	mbx_cache_init(&f->cache);
	strbuf_init(&f->pending, STRBUF_NO_LIMIT);
	/* Make new/ and tmp/ when only cur/ exists (a copied tree). */
	mkdirat(fd, "new", 0700);
	mkdirat(fd, "tmp", 0700);
	f->lockfd = openat(fd, MBX_LOCK_FILE,
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->lockfd < 0) {
		*error_r = mbx_error("open %s/" MBX_LOCK_FILE ": %m", path);
		f->next = NULL;
		folder_free(f);
		return NULL;
	}
	f->refs = 1;
	f->next = folders;
	folders = f;
	return f;
}

void mbx_folder_close(struct mbx_folder **fp)
{
	struct mbx_folder *f = *fp, *old;

	*fp = NULL;
	if (f == NULL || --f->refs > 0)
		return;
	mbx_folder_unlock(f);
	mbx_cache_flush(f);
	mbx_folder_prune(f, UINT64_MAX);
	if (retained == f)
		return;
	if (!atfork_set) {
		/* A child must not share the lock's open file description
		 * (flock is per description): it starts afresh. */
		pthread_atfork(NULL, NULL, mbx_folder_drop_retained);
		atfork_set = true;
	}
	old = retained;
	retained = f;
	if (old != NULL)
		folder_free(old);
}

void mbx_folder_drop_retained(void)
{
	struct mbx_folder *f = retained;

	retained = NULL;
	if (f != NULL)
		folder_free(f);
}

static void folder_free(struct mbx_folder *f)
{
	struct mbx_folder **pp;

	for (pp = &folders; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	mbx_folder_unlock(f);
	mbx_cache_clear(f);
	mbx_folder_prune(f, UINT64_MAX);
	mbx_index_clear(&f->ix);
	mbx_keywords_clear(&f->kw);
	strbuf_release(&f->pending);
	if (f->ixfd >= 0)
		close(f->ixfd);
	if (f->lockfd >= 0)
		close(f->lockfd);
	if (f->wait_fd >= 0)
		close(f->wait_fd);
	close(f->dirfd);
	free(f->root);
	free(f->path);
	free(f);
}

/* --- the watch ----------------------------------------------------- */

int mbx_folder_wait_start(struct mbx_folder *f)
{
	static const char *const subs[] = {"new", "cur", "."};

	if (f->wait_fd < 0) {
		if ((f->wait_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
			return -1;
		for (size_t k = 0; k < 3; k++) {
			char *p = xasprintf("%s/%s", f->path, subs[k]);
			uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
					IN_MOVED_TO;

			if (k == 2)
				mask = IN_MODIFY | IN_MOVED_TO | IN_CREATE;
			if (inotify_add_watch(f->wait_fd, p, mask) < 0) {
				free(p);
				close(f->wait_fd);
				f->wait_fd = -1;
				return -1;
			}
			free(p);
		}
		/* No read so far was watched by this descriptor. */
		f->scan_watched = false;
	}
	f->waiters++;
	return f->wait_fd;
}

void mbx_folder_wait_stop(struct mbx_folder *f)
{
	if (f->waiters == 0 || --f->waiters > 0 || f->wait_fd < 0)
		return;
	/* Nobody drains it any more: events would only pile up (and a
	 * full queue would make every scan read the directories). */
	close(f->wait_fd);
	f->wait_fd = -1;
	f->scan_watched = false;
}

void mbx_folder_wait_drain(struct mbx_folder *f)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool got = false;

	if (f->wait_fd < 0)
		return;
	while (read(f->wait_fd, buf, sizeof(buf)) > 0)
		got = true;
	if (got)
		f->ev_gen++;
}
