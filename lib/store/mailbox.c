/*
 * mailbox - open a Maildir folder, keep its index, sync the view
 *
 * SYNOPSIS
 *	#include "mailbox.h"
 *
 * DESCRIPTION
 *	Each open folder keeps: a descriptor of its directory; the index
 *	(mailbox_index.h) as far as this process has read it, with the
 *	offset reached in facteur-index and that file's inode; and the
 *	view, the messages the client knows by sequence number.
 *
 *	Every change happens with facteur-index.lock flock'd: catch up
 *	with what others appended (index_refresh), change the files, append
 *	the records with one write() (fdatasync when UIDs were given, so a
 *	UID a client saw survives a crash of the machine too), unlock.  A
 *	reader that finds the file replaced (compaction renames a new one
 *	in) reads it whole again.
 *
 *	mailbox_sync(), under the lock: catch up; read the names in new/
 *	and cur/ (readdir only: sizes come from ",S=" or the index, dates
 *	from the index; a file is stat'ed once, when it gets its UID);
 *	match them by base name (the part before ':') against the index
 *	through a hash table; a name whose flags differ from the index was
 *	changed by another program (mutt, Dovecot): new modseq; an index
 *	entry whose file is gone was expunged by another program; files
 *	without a UID get the next ones in name order (delivery time) and
 *	are moved from new/ to cur/ unless READONLY.  When cur/ changed
 *	while it was read (another program renaming a file), it is read
 *	again before anything is declared expunged.  Then the view is
 *	merged with the index: gone UIDs are expunges, changed flags or
 *	modseq are flag updates, higher UIDs are new.
 *
 *	\Recent follows Dovecot: the index remembers the first UID no
 *	read-write session has seen (an 'R' record); the read-write session
 *	whose sync passes it takes the messages from there on as recent.
 *
 *	A session whose index was rebuilt by someone else (a damaged file
 *	replaced, UIDVALIDITY changed) cannot go on: mailbox_sync() fails
 *	and the caller ends the session (IMAP: BYE).
 *
 * DIAGNOSTICS
 *	Functions return -1 with *error_r (static until the next call of
 *	any mailbox function).  A damaged index is logged (log_warn) once
 *	and rebuilt with a new UIDVALIDITY.
 *
 * SECURITY
 *	Runs as the mail user.  File names from the directories are taken
 *	only when they hold no '/' and no control character; names in the
 *	index are checked the same way by the parser.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "maildir.h"
#include "mailbox.h"
#include "mailbox_index.h"
#include "mailbox_private.h"
#include "strbuf.h"

/* Compact the index when it holds this many more lines than messages. */
#define MBX_COMPACT_SLACK 1000
/* Files in tmp/ older than this are leftovers of killed writers. */
#define MBX_TMP_MAX_AGE (36 * 3600)
/* Read cur/ again at most this often when it changes under us. */
#define MBX_SCAN_TRIES 3

struct mailbox {
	char *root;
	char *path;
	unsigned flags;
	int dirfd;
	int lockfd;
	int ixfd; /* facteur-index as last read; -1: none yet */
	dev_t ix_dev;
	ino_t ix_ino;
	size_t ix_offset; /* bytes of ixfd taken into ix */
	bool locked;
	bool rebuilt;	 /* the index was replaced under an open view */
	bool ix_missing; /* no facteur-index: write it whole */
	bool opened;	 /* the view was given to the caller */
	/* cur/ and new/ as the last full read saw them; when both are
	 * unchanged (and were old enough to trust) reading is skipped */
	bool scan_trusted;
	struct timespec cur_mtime, new_mtime;
	struct mbx_index ix;
	struct strbuf pending; /* records to append */
	bool pending_sync;     /* fdatasync them (new UIDs) */
	struct mbx_keywords kw;
	struct mailbox_msg *view;
	size_t view_count;
	size_t recent_count;
	int wait_fd;
};

/* --- locking and the index file ----------------------------------- */

static int lock_folder(struct mailbox *mb, const char **error_r)
{
	while (flock(mb->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			*error_r = mbx_error("lock %s/" MBX_LOCK_FILE ": %m",
					     mb->path);
			return -1;
		}
	}
	mb->locked = true;
	return 0;
}

static void unlock_folder(struct mailbox *mb)
{
	if (mb->locked)
		flock(mb->lockfd, LOCK_UN);
	mb->locked = false;
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
			rec->recent = old->recs[j].recent;
			rec->moved = rec->flags != old->recs[j].flags ||
				     rec->keywords != old->recs[j].keywords;
		}
	}
}

/* retire - old's names into keep's grave (the view may point to them) */
static void retire(struct mbx_index *old, struct mbx_index *keep)
{
	for (size_t i = 0; i < old->count; i++) {
		mbx_index_bury(keep, old->recs[i].name);
		old->recs[i].name = NULL;
	}
	for (size_t i = 0; i < old->grave_count; i++)
		mbx_index_bury(keep, old->grave[i]);
	old->grave_count = 0;
	mbx_index_clear(old);
}

/*
 * index_rebuild - start a new index: a new UIDVALIDITY above the old
 * one, no messages; the next scan gives every file a new UID.
 */
static void index_rebuild(struct mailbox *mb, const char *why)
{
	uint32_t old = mb->ix.uidvalidity;

	log_warn("%s/" MBX_INDEX_FILE ": %s: rebuilding the index with a new "
		 "UIDVALIDITY",
		 mb->path, why);
	if (mb->opened)
		mb->rebuilt = true;
	{
		struct mbx_index prev = mb->ix;

		mbx_index_init(&mb->ix);
		retire(&prev, &mb->ix);
	}
	mb->ix.uidvalidity = mbx_new_uidvalidity(mb->root, old);
	mb->ix.uidnext = 1;
	mb->ix.first_recent = 1;
	mb->ix_missing = true;
	if (mb->ixfd >= 0)
		close(mb->ixfd);
	mb->ixfd = -1;
	mb->ix_offset = 0;
}

/*
 * index_import - a folder without our index: Dovecot's dovecot-uidlist
 * when there is one, else a new UIDVALIDITY.
 */
static void index_import(struct mailbox *mb)
{
	char *data;
	size_t len;
	const char *error;

	{
		struct mbx_index prev = mb->ix;

		mbx_index_init(&mb->ix);
		retire(&prev, &mb->ix);
	}
	mb->ix_missing = true;
	if (mbx_read_file(mb->dirfd, MBX_UIDLIST_FILE, MBX_SMALL_FILE_MAX,
			  &data, &len) == 0) {
		if (mbx_uidlist_parse(&mb->ix, data, len, &error) == 0) {
			mb->ix.first_recent = mb->ix.uidnext;
			free(data);
			return;
		}
		log_warn("%s/%s: %s: not imported", mb->path, MBX_UIDLIST_FILE,
			 error);
		free(data);
		{
			struct mbx_index prev = mb->ix;

			mbx_index_init(&mb->ix);
			retire(&prev, &mb->ix);
		}
	}
	mb->ix.uidvalidity = mbx_new_uidvalidity(mb->root, 0);
	mb->ix.uidnext = 1;
	mb->ix.first_recent = 1;
}

static char *cur_name(const char *base, unsigned flags, uint32_t keywords);
static void set_name(struct mailbox *mb, struct mbx_rec *rec, char *name);

/*
 * renamed_by_others - messages whose flags another process changed have
 * the name that process gave them (cur/BASE:2,FLAGS), so that opening
 * them needs no search
 */
static void renamed_by_others(struct mailbox *mb)
{
	for (size_t i = 0; i < mb->ix.count; i++) {
		struct mbx_rec *rec = &mb->ix.recs[i];

		if (!rec->moved)
			continue;
		rec->moved = false;
		if (rec->name != NULL && strncmp(rec->name, "cur/", 4) == 0)
			set_name(
				mb, rec,
				cur_name(rec->base, rec->flags, rec->keywords));
	}
}

/*
 * folder_gone - whether the folder was deleted under us (its directory
 * removed, or no longer at its path): then a missing index is no damage
 */
static bool folder_gone(struct mailbox *mb)
{
	struct stat st, here;

	if (fstat(mb->dirfd, &st) < 0 || st.st_nlink == 0)
		return true;
	return stat(mb->path, &here) < 0 || here.st_ino != st.st_ino ||
	       here.st_dev != st.st_dev;
}

/*
 * index_refresh - take what others wrote into mb->ix.  Returns 0 or -1
 * (*error_r) when the file cannot be read at all.
 */
static int index_refresh(struct mailbox *mb, const char **error_r)
{
	struct stat st;
	char *data;
	size_t len, used;
	const char *error;

	if (fstatat(mb->dirfd, MBX_INDEX_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			*error_r = mbx_error("stat %s/" MBX_INDEX_FILE ": %m",
					     mb->path);
			return -1;
		}
		if (mb->ix_missing)
			return 0;
		if (folder_gone(mb)) {
			*error_r =
				mbx_error("%s: mailbox was deleted", mb->path);
			return -1;
		}
		if (mb->ixfd >= 0)
			index_rebuild(mb, "removed");
		else
			index_import(mb);
		return 0;
	}
	if (mb->ixfd >= 0 && st.st_ino == mb->ix_ino &&
	    st.st_dev == mb->ix_dev && (size_t)st.st_size >= mb->ix_offset) {
		if ((size_t)st.st_size == mb->ix_offset)
			return 0;
		if (read_from(mb->ixfd, mb->ix_offset, (size_t)st.st_size,
			      &data, &len) < 0) {
			*error_r = mbx_error("read %s/" MBX_INDEX_FILE ": %m",
					     mb->path);
			return -1;
		}
		if (mbx_index_parse(&mb->ix, data, len, false, &used, &error) <
		    0) {
			free(data);
			index_rebuild(mb, error);
			return 0;
		}
		free(data);
		mb->ix_offset += used;
		renamed_by_others(mb);
		return 0;
	}
	/* A new file (compacted or rebuilt by another process), or ours
	 * for the first time: read it whole. */
	{
		int fd = openat(mb->dirfd, MBX_INDEX_FILE,
				O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		struct mbx_index fresh;
		uint32_t old_validity = mb->ix.uidvalidity;

		if (fd < 0 || fstat(fd, &st) < 0) {
			*error_r = mbx_error("open %s/" MBX_INDEX_FILE ": %m",
					     mb->path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (read_from(fd, 0, (size_t)st.st_size, &data, &len) < 0) {
			*error_r = mbx_error("read %s/" MBX_INDEX_FILE ": %m",
					     mb->path);
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
			if (mb->ixfd < 0 && fresh.uidvalidity != 0)
				mb->ix.uidvalidity = fresh.uidvalidity;
			mbx_index_clear(&fresh);
			index_rebuild(mb, error);
			return 0;
		}
		free(data);
		keep_local(&fresh, &mb->ix);
		retire(&mb->ix, &fresh);
		mb->ix = fresh;
		renamed_by_others(mb);
		if (mb->ixfd >= 0)
			close(mb->ixfd);
		mb->ixfd = fd;
		mb->ix_dev = st.st_dev;
		mb->ix_ino = st.st_ino;
		mb->ix_offset = used;
		mb->ix_missing = false;
		if (mb->opened && old_validity != mb->ix.uidvalidity)
			mb->rebuilt = true;
	}
	return 0;
}

/* index_write_all - the whole index into a new file, renamed in place */
static int index_write_all(struct mailbox *mb, const char **error_r)
{
	struct strbuf out;
	struct stat st;
	int fd;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	mbx_index_format_header(&mb->ix, &out);
	for (size_t i = 0; i < mb->ix.count; i++)
		mbx_index_format_rec(&mb->ix.recs[i], &out);
	if (mbx_write_file(mb->dirfd, MBX_INDEX_FILE, out.data, out.len) < 0) {
		*error_r =
			mbx_error("write %s/" MBX_INDEX_FILE ": %m", mb->path);
		strbuf_release(&out);
		return -1;
	}
	fd = openat(mb->dirfd, MBX_INDEX_FILE,
		    O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r =
			mbx_error("open %s/" MBX_INDEX_FILE ": %m", mb->path);
		if (fd >= 0)
			close(fd);
		strbuf_release(&out);
		return -1;
	}
	if (mb->ixfd >= 0)
		close(mb->ixfd);
	mb->ixfd = fd;
	mb->ix_dev = st.st_dev;
	mb->ix_ino = st.st_ino;
	mb->ix_offset = out.len;
	mb->ix.records = mb->ix.count;
	mb->ix_missing = false;
	strbuf_release(&out);
	return 0;
}

/*
 * index_flush - write the pending records (under the lock): the whole
 * file when there is none yet or it is due for compaction, else one
 * append after cutting a torn tail a killed writer left.
 */
static int index_flush(struct mailbox *mb, const char **error_r)
{
	struct stat st;
	size_t done = 0;

	if (mb->ix_missing || mb->ixfd < 0 ||
	    mb->ix.records > 2 * mb->ix.count + MBX_COMPACT_SLACK) {
		strbuf_reset(&mb->pending);
		mb->pending_sync = false;
		return index_write_all(mb, error_r);
	}
	if (mb->pending.len == 0)
		return 0;
	if (fstat(mb->ixfd, &st) == 0 && (size_t)st.st_size > mb->ix_offset &&
	    ftruncate(mb->ixfd, (off_t)mb->ix_offset) < 0) {
		*error_r = mbx_error("truncate %s/" MBX_INDEX_FILE ": %m",
				     mb->path);
		return -1;
	}
	while (done < mb->pending.len) {
		ssize_t n = write(mb->ixfd, mb->pending.data + done,
				  mb->pending.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = mbx_error("write %s/" MBX_INDEX_FILE ": %m",
					     mb->path);
			/* Cut what was written: the index stays whole. */
			if (ftruncate(mb->ixfd, (off_t)mb->ix_offset) < 0) {
				/* the next writer cuts the torn tail */
			}
			return -1;
		}
		done += (size_t)n;
	}
	if (mb->pending_sync && fdatasync(mb->ixfd) < 0) {
		*error_r =
			mbx_error("fsync %s/" MBX_INDEX_FILE ": %m", mb->path);
		return -1;
	}
	mb->ix_offset += mb->pending.len;
	for (size_t i = 0; i < mb->pending.len; i++)
		if (mb->pending.data[i] == '\n')
			mb->ix.records++;
	strbuf_reset(&mb->pending);
	mb->pending_sync = false;
	return 0;
}

/* begin - lock and catch up; end - write and unlock */
static int begin(struct mailbox *mb, const char **error_r)
{
	if (lock_folder(mb, error_r) < 0)
		return -1;
	if (index_refresh(mb, error_r) < 0) {
		unlock_folder(mb);
		return -1;
	}
	return 0;
}

/*
 * abandon - unlock after a failure that may have left mb->ix ahead of
 * the file (UIDs given, flags changed, nothing written): forget it, the
 * next begin() reads the file again
 */
static void abandon(struct mailbox *mb)
{
	strbuf_reset(&mb->pending);
	mb->pending_sync = false;
	if (mb->ixfd >= 0)
		close(mb->ixfd);
	mb->ixfd = -1;
	mb->ix_offset = 0;
	mb->ix_missing = false;
	unlock_folder(mb);
}

static int end(struct mailbox *mb, const char **error_r)
{
	if (index_flush(mb, error_r) < 0) {
		abandon(mb);
		return -1;
	}
	unlock_folder(mb);
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

/* vsize_from_name - Dovecot's ",W=<digits>" in a name, or 0 */
static uint64_t vsize_from_name(const char *name)
{
	const char *s = strstr(name, ",W=");
	uint64_t n = 0;

	if (s == NULL || s[3] < '0' || s[3] > '9')
		return 0;
	for (s += 3; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	return *s == '\0' || *s == ',' || *s == ':' ? n : 0;
}

/* cur_name - "cur/BASE:2,FLAGS" */
static char *cur_name(const char *base, unsigned flags, uint32_t keywords)
{
	struct strbuf sb;

	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_appendf(&sb, "cur/%s:2,", base);
	mbx_flags_format(flags, keywords, &sb);
	return strbuf_steal(&sb);
}

/* set_name - a message's new file name; the old one may be in the view */
static void set_name(struct mailbox *mb, struct mbx_rec *rec, char *name)
{
	mbx_index_bury(&mb->ix, rec->name);
	rec->name = name;
}

/* stat_rec - size and mtime of a file that has no record of them yet */
static void stat_rec(struct mailbox *mb, struct mbx_rec *rec)
{
	struct stat st;

	if (rec->size != UINT64_MAX && rec->mtime >= 0)
		return;
	if (fstatat(mb->dirfd, rec->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
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
static int scan_dir(struct mailbox *mb, const char *sub,
		    const struct name_hash *h, struct unknown **unk,
		    size_t *unk_count, size_t *unk_alloc,
		    struct timespec *mtime_r, const char **error_r)
{
	int fd = openat(mb->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (fd < 0 || fstat(fd, &st) < 0 || (d = fdopendir(fd)) == NULL) {
		*error_r = mbx_error("open %s/%s: %m", mb->path, sub);
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
		rec = hash_find(h, &mb->ix, e->d_name, blen);
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
			set_name(mb, rec, xasprintf("%s/%s", sub, e->d_name));
		if (sub[0] == 'c') {
			unsigned flags = 0;
			uint32_t kw = 0;

			if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
				mbx_flags_parse(colon + 3, &flags, &kw);
			if (flags != rec->flags || kw != rec->keywords) {
				/* Changed by another program. */
				rec->flags = flags;
				rec->keywords = kw;
				rec->modseq = ++mb->ix.highestmodseq;
				mbx_index_format_rec(rec, &mb->pending);
			}
		}
	}
	closedir(d);
	return 0;
}

/* move_to_cur - new/NAME -> cur/BASE:2,FLAGS; updates *name */
static void move_to_cur(struct mailbox *mb, char **name, const char *base,
			unsigned flags, uint32_t kw)
{
	char *to = cur_name(base, flags, kw);

	if (renameat(mb->dirfd, *name, mb->dirfd, to) == 0) {
		mbx_index_bury(&mb->ix, *name);
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
static bool unchanged_dirs(struct mailbox *mb)
{
	struct stat sc, sn;

	if (!mb->scan_trusted || fstatat(mb->dirfd, "cur", &sc, 0) < 0 ||
	    fstatat(mb->dirfd, "new", &sn, 0) < 0 ||
	    !same_time(&sc.st_mtim, &mb->cur_mtime) ||
	    !same_time(&sn.st_mtim, &mb->new_mtime))
		return false;
	for (size_t i = 0; i < mb->ix.count; i++)
		if (mb->ix.recs[i].name == NULL)
			return false;
	return true;
}

/*
 * scan - bring mb->ix in line with the directories (locked).  Returns 0
 * or -1.
 */
static int scan(struct mailbox *mb, const char **error_r)
{
	bool rw = !(mb->flags & MAILBOX_READONLY);
	struct unknown *unk = NULL;
	size_t unk_count = 0, unk_alloc = 0;
	char *prev_base = NULL;
	struct name_hash h;
	struct timespec t_new, t_cur, t_after;
	bool importing = mb->ix_missing;
	struct timespec start;
	int ret = -1;

	clock_gettime(CLOCK_REALTIME, &start);
	if (!importing && unchanged_dirs(mb))
		goto recent;
	for (int tries = 0;; tries++) {
		struct stat st;
		bool missing = false;

		for (size_t i = 0; i < mb->ix.count; i++)
			mb->ix.recs[i].seen = false;
		for (size_t i = 0; i < unk_count; i++)
			free(unk[i].name);
		unk_count = 0;
		hash_build(&h, &mb->ix);
		if (scan_dir(mb, "cur", &h, &unk, &unk_count, &unk_alloc,
			     &t_cur, error_r) < 0 ||
		    scan_dir(mb, "new", &h, &unk, &unk_count, &unk_alloc,
			     &t_new, error_r) < 0) {
			free(h.slots);
			free(h.hashes);
			goto out;
		}
		free(h.slots);
		free(h.hashes);
		for (size_t i = 0; i < mb->ix.count && !missing; i++)
			missing = !mb->ix.recs[i].seen;
		if (!missing || tries + 1 >= MBX_SCAN_TRIES ||
		    fstatat(mb->dirfd, "cur", &st, 0) < 0)
			break;
		t_after = st.st_mtim;
		if (t_after.tv_sec == t_cur.tv_sec &&
		    t_after.tv_nsec == t_cur.tv_nsec)
			break;
	}
	/* Trust these times next time only when they are older than the
	 * read by a second: a change in the same clock tick as the last
	 * one would not move them. */
	mb->cur_mtime = t_cur;
	mb->new_mtime = t_new;
	mb->scan_trusted = t_cur.tv_sec + 1 < start.tv_sec &&
			   t_new.tv_sec + 1 < start.tv_sec;
	/* Files gone: expunged by another program. */
	for (size_t i = 0; i < mb->ix.count; i++) {
		struct mbx_rec *rec = &mb->ix.recs[i];

		if (rec->seen)
			continue;
		rec->dead = true;
		if (!importing) {
			mb->ix.highestmodseq++;
			mbx_index_format_expunge(rec->uid, mb->ix.highestmodseq,
						 &mb->pending);
		}
	}
	mbx_index_pack(&mb->ix);
	/* Imported records: their state comes from the names. */
	for (size_t i = 0; importing && i < mb->ix.count; i++) {
		struct mbx_rec *rec = &mb->ix.recs[i];
		const char *colon = strchr(rec->name, ':');

		if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
			mbx_flags_parse(colon + 3, &rec->flags, &rec->keywords);
		if (mb->ix.highestmodseq == 0)
			mb->ix.highestmodseq = 1;
		rec->modseq = mb->ix.highestmodseq;
		if (rec->size == UINT64_MAX)
			rec->size = size_from_name(rec->base);
		stat_rec(mb, rec);
	}
	/* Known messages still in new/ (given UIDs READONLY). */
	for (size_t i = 0; rw && i < mb->ix.count; i++) {
		struct mbx_rec *rec = &mb->ix.recs[i];

		if (strncmp(rec->name, "new/", 4) == 0)
			move_to_cur(mb, &rec->name, rec->base, rec->flags,
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
		if (mb->ix.uidnext == UINT32_MAX) {
			free(base);
			*error_r = mbx_error("%s: out of UIDs", mb->path);
			goto out;
		}
		if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
			mbx_flags_parse(colon + 3, &flags, &kw);
		if (rw && strncmp(u->name, "new/", 4) == 0)
			move_to_cur(mb, &u->name, base, flags, kw);
		rec = mbx_index_add(&mb->ix, mb->ix.uidnext, base);
		free(base);
		rec->flags = flags;
		rec->keywords = kw;
		rec->modseq = ++mb->ix.highestmodseq;
		rec->size = size_from_name(rec->base);
		rec->mtime = -1;
		rec->name = u->name;
		u->name = NULL;
		stat_rec(mb, rec);
		mbx_index_format_rec(rec, &mb->pending);
		mb->pending_sync = true;
	}
recent:
	/* \Recent: this read-write session is the first to see these. */
	if (rw && mb->ix.first_recent < mb->ix.uidnext) {
		for (size_t i = 0; i < mb->ix.count; i++)
			if (mb->ix.recs[i].uid >= mb->ix.first_recent)
				mb->ix.recs[i].recent = true;
		mb->ix.first_recent = mb->ix.uidnext;
		mbx_index_format_recent(mb->ix.first_recent, &mb->pending);
	}
	ret = 0;
out:
	for (size_t i = 0; i < unk_count; i++)
		free(unk[i].name);
	free(unk);
	free(prev_base);
	return ret;
}

/* --- the view ------------------------------------------------------ */

static void view_entry(struct mailbox *mb, struct mailbox_msg *m,
		       const struct mbx_rec *rec)
{
	m->uid = rec->uid;
	m->flags = rec->flags;
	if (rec->recent && !(mb->flags & MAILBOX_READONLY))
		m->flags |= MAIL_RECENT;
	m->keywords = rec->keywords;
	m->modseq = rec->modseq;
	m->size = rec->size;
	m->internal = (time_t)rec->mtime;
	m->name = rec->name; /* replaced names wait in the grave */
}

/* view_merge - the new view from the index, with what changed */
static void view_merge(struct mailbox *mb, struct mailbox_changes *ch)
{
	struct mailbox_msg *old = mb->view;
	size_t old_count = mb->view_count, i = 0, j = 0, n = 0;
	uint32_t last_uid = old_count > 0 ? old[old_count - 1].uid : 0;
	struct mailbox_msg *nv = xcalloc(mb->ix.count + 1, sizeof(*nv));
	size_t *exp = NULL, exp_count = 0;
	size_t *chg = NULL, chg_count = 0;

	if (ch != NULL) {
		exp = xcalloc(old_count + 1, sizeof(*exp));
		chg = xcalloc(mb->ix.count + 1, sizeof(*chg));
	}
	mb->recent_count = 0;
	while (i < old_count || j < mb->ix.count) {
		const struct mbx_rec *rec =
			j < mb->ix.count ? &mb->ix.recs[j] : NULL;

		if (i < old_count && (rec == NULL || old[i].uid < rec->uid)) {
			if (exp != NULL)
				exp[exp_count++] = i;
			i++;
		} else if (i < old_count && old[i].uid == rec->uid) {
			struct mailbox_msg *m = &nv[n];

			*m = old[i];
			view_entry(mb, m, rec);
			if (chg != NULL && (m->flags != old[i].flags ||
					    m->keywords != old[i].keywords ||
					    m->modseq != old[i].modseq))
				chg[chg_count++] = n;
			n++, i++, j++;
		} else if (rec->uid > last_uid) {
			view_entry(mb, &nv[n++], rec);
			j++;
		} else {
			j++; /* below the view's last UID: cannot show it */
		}
	}
	for (size_t k = 0; k < n; k++)
		if (nv[k].flags & MAIL_RECENT)
			mb->recent_count++;
	if (ch != NULL) {
		/* Descending, so that EXPUNGE responses can go in order. */
		for (size_t a = 0, b = exp_count; a + 1 < b; a++, b--) {
			size_t t = exp[a];

			exp[a] = exp[b - 1];
			exp[b - 1] = t;
		}
		ch->expunged = exp;
		ch->expunged_count = exp_count;
		ch->changed = chg;
		ch->changed_count = chg_count;
		ch->new_count = 0;
		for (size_t k = 0; k < n; k++)
			if (nv[k].uid > last_uid)
				ch->new_count++;
	}
	free(old);
	mb->view = nv;
	mb->view_count = n;
	/* No view entry points to a buried name any more. */
	mbx_index_empty_grave(&mb->ix);
}

/* --- the API ------------------------------------------------------- */

/* make_folder - DIR and DIR/{cur,new,tmp}; maildirfolder in subfolders */
static int make_folder(const char *path, bool sub, const char **error_r)
{
	static const char *const subs[] = {"cur", "new", "tmp"};

	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*error_r = mbx_error("create %s: %m", path);
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", path, subs[i]);

		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			*error_r = mbx_error("create %s: %m", p);
			free(p);
			return -1;
		}
		free(p);
	}
	if (sub) {
		char *p = xasprintf("%s/maildirfolder", path);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0600);

		if (fd >= 0)
			close(fd);
		free(p);
	}
	return 0;
}

int mbx_make_folder(const char *path, bool sub, const char **error_r)
{
	return make_folder(path, sub, error_r);
}

/*
 * clean_tmp - remove what writers killed mid-write left in tmp/: files
 * not changed for 36 hours (maildir(5); Dovecot does the same)
 */
static void clean_tmp(struct mailbox *mb)
{
	int fd = openat(mb->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	time_t limit = time(NULL) - MBX_TMP_MAX_AGE;
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    S_ISDIR(st.st_mode) || st.st_mtime >= limit)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

struct mailbox *mailbox_open(const char *root, const char *name, unsigned flags,
			     bool *notfound_r, const char **error_r)
{
	struct mailbox *mb;
	char *path, *top;
	bool inbox;
	struct stat st;
	int fd;

	*notfound_r = false;
	if ((path = mbx_folder_path(root, name, error_r)) == NULL) {
		*notfound_r = true;
		return NULL;
	}
	top = mbx_root(root);
	inbox = strcmp(path, top) == 0;
	if (flags & MAILBOX_CREATE) {
		if (!inbox && make_folder(top, false, error_r) < 0) {
			free(top);
			free(path);
			return NULL;
		}
		if (make_folder(path, !inbox, error_r) < 0) {
			free(top);
			free(path);
			return NULL;
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstatat(fd, "cur", &st, 0) < 0) {
		*notfound_r = errno == ENOENT || errno == ENOTDIR;
		*error_r = *notfound_r ? mbx_error("mailbox does not exist")
				       : mbx_error("open %s: %m", path);
		if (fd >= 0)
			close(fd);
		free(top);
		free(path);
		return NULL;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->root = top;
	mb->path = path;
	mb->flags = flags;
	mb->dirfd = fd;
	mb->ixfd = -1;
	mb->wait_fd = -1;
	mbx_index_init(&mb->ix);
	strbuf_init(&mb->pending, STRBUF_NO_LIMIT);
	/* Make new/ and tmp/ when only cur/ exists (a copied tree). */
	mkdirat(fd, "new", 0700);
	mkdirat(fd, "tmp", 0700);
	mb->lockfd = openat(fd, MBX_LOCK_FILE,
			    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (mb->lockfd < 0) {
		*error_r = mbx_error("open %s/" MBX_LOCK_FILE ": %m", path);
		mailbox_close(&mb);
		return NULL;
	}
	if (mbx_keywords_refresh(&mb->kw, mb->root, error_r) < 0 ||
	    mailbox_sync(mb, NULL, error_r) < 0) {
		mailbox_close(&mb);
		return NULL;
	}
	if (!(flags & MAILBOX_READONLY))
		clean_tmp(mb);
	return mb;
}

void mailbox_close(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;

	if (mb == NULL)
		return;
	unlock_folder(mb);
	free(mb->view);
	mbx_index_clear(&mb->ix);
	mbx_keywords_clear(&mb->kw);
	strbuf_release(&mb->pending);
	if (mb->ixfd >= 0)
		close(mb->ixfd);
	if (mb->lockfd >= 0)
		close(mb->lockfd);
	if (mb->wait_fd >= 0)
		close(mb->wait_fd);
	close(mb->dirfd);
	free(mb->root);
	free(mb->path);
	free(mb);
	*mbp = NULL;
}

int mailbox_sync(struct mailbox *mb, struct mailbox_changes *changes,
		 const char **error_r)
{
	if (changes != NULL)
		memset(changes, 0, sizeof(*changes));
	if (begin(mb, error_r) < 0)
		return -1;
	if (scan(mb, error_r) < 0) {
		abandon(mb);
		return -1;
	}
	if (end(mb, error_r) < 0)
		return -1;
	if (mbx_keywords_refresh(&mb->kw, mb->root, error_r) < 0)
		return -1;
	if (mb->rebuilt) {
		*error_r = mbx_error("%s: the index was rebuilt (UIDVALIDITY "
				     "changed)",
				     mb->path);
		return -1;
	}
	view_merge(mb, changes);
	mb->opened = true;
	return 0;
}

void mailbox_changes_free(struct mailbox_changes *changes)
{
	free(changes->expunged);
	free(changes->changed);
	memset(changes, 0, sizeof(*changes));
}

size_t mailbox_count(const struct mailbox *mb)
{
	return mb->view_count;
}

const struct mailbox_msg *mailbox_msg(const struct mailbox *mb, size_t i)
{
	return i < mb->view_count ? &mb->view[i] : NULL;
}

ssize_t mailbox_find_uid(const struct mailbox *mb, uint32_t uid)
{
	size_t lo = 0, hi = mb->view_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb->view[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mb->view_count && mb->view[lo].uid == uid ? (ssize_t)lo
							      : -1;
}

uint32_t mailbox_uidvalidity(const struct mailbox *mb)
{
	return mb->ix.uidvalidity;
}

uint32_t mailbox_uidnext(const struct mailbox *mb)
{
	return mb->ix.uidnext;
}

uint64_t mailbox_highestmodseq(const struct mailbox *mb)
{
	return mb->ix.highestmodseq;
}

size_t mailbox_recent_count(const struct mailbox *mb)
{
	return mb->recent_count;
}

const char *const *mailbox_keywords(const struct mailbox *mb, size_t *count_r)
{
	*count_r = mb->kw.count;
	return (const char *const *)mb->kw.names;
}

const char *mailbox_path(const struct mailbox *mb)
{
	return mb->path;
}

/* find_file - the current name of base in cur/ or new/, or NULL */
static char *find_file(struct mailbox *mb, const char *base)
{
	static const char *const subs[] = {"cur", "new"};
	size_t blen = strlen(base);

	for (size_t k = 0; k < 2; k++) {
		int fd = openat(mb->dirfd, subs[k],
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

int mailbox_msg_open(struct mailbox *mb, size_t i)
{
	struct mailbox_msg *m;
	const char *error;
	struct mbx_rec *rec;
	char *base, *name;
	int fd;

	if (i >= mb->view_count) {
		errno = EINVAL;
		return -1;
	}
	m = &mb->view[i];
	fd = openat(mb->dirfd, m->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Renamed since the last sync (flags changed elsewhere). */
	if (begin(mb, &error) == 0) {
		if (end(mb, &error) < 0) {
			/* the next sync reports it */
		}
	}
	rec = mbx_index_find(&mb->ix, m->uid);
	if (rec != NULL && rec->name != NULL) {
		fd = openat(mb->dirfd, rec->name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	if (rec == NULL) {
		errno = ENOENT;
		return -1;
	}
	base = xstrdup(rec->base);
	name = find_file(mb, base);
	free(base);
	if (name == NULL) {
		errno = ENOENT;
		return -1;
	}
	fd = openat(mb->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(name);
	return fd;
}

#define IMAP_FLAGS                                                             \
	(MAIL_SEEN | MAIL_ANSWERED | MAIL_FLAGGED | MAIL_DELETED | MAIL_DRAFT)

/*
 * store_locked - the change of mailbox_store_flags to message i, with the
 * folder locked and its index fresh (begin() done); kw are the keyword
 * bits.  Returns 0, 1 (UNCHANGEDSINCE), 2 (expunged meanwhile) or -1
 * with *error_r (the lock is kept: the caller ends or unlocks).  The
 * view's entry is updated by store_show once the index is written.
 */
static int store_locked(struct mailbox *mb, size_t i, char mode, unsigned flags,
			uint32_t kw, uint64_t unchangedsince,
			const char **error_r)
{
	struct mailbox_msg *m = &mb->view[i];
	struct mbx_rec *rec;
	uint32_t new_kw;
	unsigned new_flags;
	char *to;

	if ((rec = mbx_index_find(&mb->ix, m->uid)) == NULL)
		return 2; /* expunged: the next sync says so */
	if (unchangedsince != 0 && rec->modseq > unchangedsince)
		return 1;
	switch (mode) {
	case '+':
		new_flags = rec->flags | flags;
		new_kw = rec->keywords | kw;
		break;
	case '-':
		new_flags = rec->flags & ~flags;
		new_kw = rec->keywords & ~kw;
		break;
	default:
		new_flags = (rec->flags & ~IMAP_FLAGS) | (flags & IMAP_FLAGS);
		new_kw = kw;
		break;
	}
	if (new_flags != rec->flags || new_kw != rec->keywords ||
	    rec->name == NULL || strncmp(rec->name, "new/", 4) == 0) {
		to = cur_name(rec->base, new_flags, new_kw);
		if (rec->name == NULL ||
		    renameat(mb->dirfd, rec->name, mb->dirfd, to) < 0) {
			char *now = errno == ENOENT || rec->name == NULL
					    ? find_file(mb, rec->base)
					    : NULL;

			if (now == NULL ||
			    renameat(mb->dirfd, now, mb->dirfd, to) < 0) {
				int gone = now == NULL;

				*error_r = mbx_error(
					"rename %s/%s: %m", mb->path,
					now != NULL	    ? now
					: rec->name != NULL ? rec->name
							    : rec->base);
				free(now);
				free(to);
				return gone ? 2 : -1;
			}
			free(now);
		}
		set_name(mb, rec, to);
		if (new_flags != rec->flags || new_kw != rec->keywords) {
			rec->flags = new_flags;
			rec->keywords = new_kw;
			rec->modseq = ++mb->ix.highestmodseq;
			mbx_index_format_rec(rec, &mb->pending);
		}
	}
	return 0;
}

/* store_show - the view's entry of message i after store_locked */
static void store_show(struct mailbox *mb, size_t i)
{
	struct mbx_rec *rec = mbx_index_find(&mb->ix, mb->view[i].uid);

	if (rec != NULL)
		view_entry(mb, &mb->view[i], rec);
}

/* store_prepare - the checks and keyword bits common to both entries */
static int store_prepare(struct mailbox *mb, char mode, unsigned *flags,
			 const char *const *keywords, size_t keyword_count,
			 uint32_t *kw, const char **error_r)
{
	if (strchr("+-=", mode) == NULL || mode == '\0') {
		*error_r = mbx_error("bad store request");
		return -1;
	}
	if (mb->flags & MAILBOX_READONLY) {
		*error_r = mbx_error("mailbox is read-only");
		return -1;
	}
	*flags &= IMAP_FLAGS | MAIL_PASSED;
	*kw = 0;
	if (mbx_keywords_refresh(&mb->kw, mb->root, error_r) < 0 ||
	    mbx_keywords_bits(&mb->kw, mb->root, keywords, keyword_count, kw,
			      error_r) < 0)
		return -1;
	return 0;
}

int mailbox_store_flags(struct mailbox *mb, size_t i, char mode, unsigned flags,
			const char *const *keywords, size_t keyword_count,
			uint64_t unchangedsince, const char **error_r)
{
	uint32_t kw;
	int r;

	if (i >= mb->view_count) {
		*error_r = mbx_error("bad store request");
		return -1;
	}
	if (store_prepare(mb, mode, &flags, keywords, keyword_count, &kw,
			  error_r) < 0)
		return -1;
	if (begin(mb, error_r) < 0)
		return -1;
	r = store_locked(mb, i, mode, flags, kw, unchangedsince, error_r);
	if (r != 0) {
		/* Nothing of this call is in mb->pending. */
		unlock_folder(mb);
		return r < 0 ? -1 : r == 2 ? 0 : 1;
	}
	if (end(mb, error_r) < 0)
		return -1;
	store_show(mb, i);
	return 0;
}

int mailbox_store_flags_many(struct mailbox *mb, const size_t *idx, size_t n,
			     char mode, unsigned flags, const char **error_r)
{
	uint32_t kw;
	int ret = 0;

	for (size_t j = 0; j < n; j++)
		if (idx[j] >= mb->view_count) {
			*error_r = mbx_error("bad store request");
			return -1;
		}
	if (n == 0)
		return 0;
	if (store_prepare(mb, mode, &flags, NULL, 0, &kw, error_r) < 0)
		return -1;
	if (begin(mb, error_r) < 0)
		return -1;
	size_t done = 0;

	/* One lock and one index write for all, not one per message. */
	for (; done < n && ret == 0; done++)
		if (store_locked(mb, idx[done], mode, flags, kw, 0, error_r) <
		    0)
			ret = -1; /* what was done before is still written */
	if (end(mb, ret < 0 ? &(const char *){NULL} : error_r) < 0)
		return -1;
	for (size_t j = 0; j < done; j++)
		store_show(mb, idx[j]);
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int mailbox_expunge(struct mailbox *mb, const uint32_t *uids, size_t n,
		    const char **error_r)
{
	uint32_t *sorted = NULL;
	int ret = 0;

	if (mb->flags & MAILBOX_READONLY) {
		*error_r = mbx_error("mailbox is read-only");
		return -1;
	}
	if (uids != NULL) {
		sorted = xreallocarray(NULL, n + 1, sizeof(*sorted));
		memcpy(sorted, uids, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	}
	if (begin(mb, error_r) < 0) {
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < mb->view_count; i++) {
		uint32_t uid = mb->view[i].uid;
		struct mbx_rec *rec;

		if (sorted != NULL &&
		    bsearch(&uid, sorted, n, sizeof(*sorted), cmp_u32) == NULL)
			continue;
		rec = mbx_index_find(&mb->ix, uid);
		if (rec == NULL || !(rec->flags & MAIL_DELETED))
			continue;
		if (rec->name != NULL &&
		    unlinkat(mb->dirfd, rec->name, 0) < 0 && errno != ENOENT) {
			*error_r = mbx_error("unlink %s/%s: %m", mb->path,
					     rec->name);
			ret = -1;
			break;
		}
		rec->dead = true;
		mbx_index_format_expunge(uid, ++mb->ix.highestmodseq,
					 &mb->pending);
	}
	mbx_index_pack(&mb->ix);
	free(sorted);
	if (end(mb, error_r) < 0)
		return -1;
	return ret;
}

/*
 * commit_new - tmp/TMPNAME (complete, synced) becomes a message: under
 * the lock it is renamed to cur/ and given the next UID.
 */
static int commit_new(struct mailbox *mb, const char *tmpname, uint64_t size,
		      uint64_t vsize, time_t mtime, unsigned flags, uint32_t kw,
		      uint32_t *uid_r, const char **error_r)
{
	/* Dovecot's ",W=": the size with CRLF line ends (RFC822.SIZE). */
	char *base = vsize != 0 ? xasprintf("%s,S=%llu,W=%llu", tmpname,
					    (unsigned long long)size,
					    (unsigned long long)vsize)
				: xasprintf("%s,S=%llu", tmpname,
					    (unsigned long long)size);
	char *from = xasprintf("tmp/%s", tmpname);
	char *to = cur_name(base, flags, kw);
	struct mbx_rec *rec;
	int curfd;

	if (begin(mb, error_r) < 0)
		goto fail;
	if (mb->ix_missing && scan(mb, error_r) < 0) {
		/* A first index: the folder's files come first. */
		abandon(mb);
		goto fail;
	}
	if (mb->ix.uidnext == UINT32_MAX) {
		*error_r = mbx_error("%s: out of UIDs", mb->path);
		abandon(mb);
		goto fail;
	}
	if (renameat(mb->dirfd, from, mb->dirfd, to) < 0) {
		*error_r = mbx_error("rename %s/%s: %m", mb->path, from);
		abandon(mb);
		goto fail;
	}
	if ((curfd = openat(mb->dirfd, "cur",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(curfd) < 0) {
			/* the index write below is synced; the name
			 * follows with the next directory sync */
		}
		close(curfd);
	}
	rec = mbx_index_add(&mb->ix, mb->ix.uidnext, base);
	rec->flags = flags;
	rec->keywords = kw;
	rec->modseq = ++mb->ix.highestmodseq;
	rec->size = size;
	rec->mtime = (int64_t)mtime;
	rec->name = to;
	to = NULL;
	mbx_index_format_rec(rec, &mb->pending);
	mb->pending_sync = true;
	*uid_r = rec->uid;
	if (end(mb, error_r) < 0)
		goto fail;
	free(base);
	free(from);
	return 0;
fail:
	unlinkat(mb->dirfd, from, 0);
	free(base);
	free(from);
	free(to);
	return -1;
}

/* tmp_create - a new file in tmp/; returns the fd, name into buf */
static int tmp_create(struct mailbox *mb, char *buf, size_t size,
		      const char **error_r)
{
	for (int tries = 0; tries < 10; tries++) {
		char path[600];
		int fd;

		if (maildir_unique_name(buf, size) < 0) {
			*error_r = mbx_error("host name too long");
			return -1;
		}
		snprintf(path, sizeof(path), "tmp/%s", buf);
		fd = openat(mb->dirfd, path,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
	}
	*error_r = mbx_error("create %s/tmp/%s: %m", mb->path, buf);
	return -1;
}

/* write_all - data with CRLF turned into LF; the bytes written */
static int write_lf(int fd, const char *data, size_t len, uint64_t *size_r,
		    uint64_t *vsize_r)
{
	struct strbuf out;
	uint64_t size = 0, lines = 0;
	int ret = 0;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			continue;
		if (data[i] == '\n')
			lines++;
		strbuf_append_char(&out, data[i]);
		if (out.len >= 65536 || i + 1 == len) {
			size_t done = 0;

			while (done < out.len) {
				ssize_t n = write(fd, out.data + done,
						  out.len - done);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					ret = -1;
					break;
				}
				done += (size_t)n;
			}
			size += out.len;
			strbuf_reset(&out);
			if (ret < 0)
				break;
		}
	}
	strbuf_release(&out);
	*size_r = size;
	*vsize_r = size + lines;
	return ret;
}

int mailbox_append(struct mailbox *mb, const char *data, size_t len,
		   unsigned flags, const char *const *keywords,
		   size_t keyword_count, time_t internal, uint32_t *uid_r,
		   const char **error_r)
{
	char name[512];
	uint32_t kw = 0;
	uint64_t size, vsize;
	int fd;

	flags &= IMAP_FLAGS | MAIL_PASSED;
	if (mbx_keywords_refresh(&mb->kw, mb->root, error_r) < 0 ||
	    mbx_keywords_bits(&mb->kw, mb->root, keywords, keyword_count, &kw,
			      error_r) < 0)
		return -1;
	if ((fd = tmp_create(mb, name, sizeof(name), error_r)) < 0)
		return -1;
	if (internal == 0)
		internal = time(NULL);
	{
		struct timespec ts[2] = {{internal, 0}, {internal, 0}};

		if (write_lf(fd, data, len, &size, &vsize) < 0 ||
		    fsync(fd) < 0 || futimens(fd, ts) < 0) {
			*error_r = mbx_error("write %s/tmp/%s: %m", mb->path,
					     name);
			close(fd);
			char *p = xasprintf("tmp/%s", name);
			unlinkat(mb->dirfd, p, 0);
			free(p);
			return -1;
		}
	}
	if (close(fd) < 0) {
		char *p = xasprintf("tmp/%s", name);

		*error_r = mbx_error("close %s/tmp/%s: %m", mb->path, name);
		unlinkat(mb->dirfd, p, 0);
		free(p);
		return -1;
	}
	return commit_new(mb, name, size, vsize, internal, flags, kw, uid_r,
			  error_r);
}

/* copy_file - src's bytes into the open fd */
static int copy_file(int from, int to)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf)), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		while (done < n) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			done += w;
		}
	}
}

int mailbox_copy(struct mailbox *src, size_t i, struct mailbox *dst,
		 uint32_t *uid_r, const char **error_r)
{
	const struct mailbox_msg *m;
	const char *names[MAILBOX_KEYWORDS_MAX];
	size_t nk = 0;
	uint32_t kw = 0;
	char name[512], path[600];
	int in;

	if (i >= src->view_count) {
		*error_r = mbx_error("no such message");
		return -1;
	}
	m = &src->view[i];
	for (size_t k = 0; k < src->kw.count; k++)
		if (m->keywords & (1u << k))
			names[nk++] = src->kw.names[k];
	if (mbx_keywords_refresh(&dst->kw, dst->root, error_r) < 0 ||
	    mbx_keywords_bits(&dst->kw, dst->root, names, nk, &kw, error_r) < 0)
		return -1;
	if ((in = mailbox_msg_open(src, i)) < 0) {
		*error_r = errno == ENOENT ? mbx_error("message was expunged")
					   : mbx_error("open %s/%s: %m",
						       src->path, m->name);
		return -1;
	}
	for (int tries = 0;; tries++) {
		char from[64];

		if (maildir_unique_name(name, sizeof(name)) < 0) {
			*error_r = mbx_error("host name too long");
			close(in);
			return -1;
		}
		snprintf(path, sizeof(path), "tmp/%s", name);
		snprintf(from, sizeof(from), "/proc/self/fd/%d", in);
		if (linkat(AT_FDCWD, from, dst->dirfd, path,
			   AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno == EEXIST && tries < 10)
			continue;
		/* Another file system (or no /proc): copy the bytes. */
		{
			int out;
			struct timespec ts[2] = {{m->internal, 0},
						 {m->internal, 0}};

			if ((out = tmp_create(dst, name, sizeof(name),
					      error_r)) < 0) {
				close(in);
				return -1;
			}
			snprintf(path, sizeof(path), "tmp/%s", name);
			if (copy_file(in, out) < 0 || fsync(out) < 0 ||
			    futimens(out, ts) < 0 || close(out) < 0) {
				*error_r = mbx_error("copy to %s/%s: %m",
						     dst->path, path);
				unlinkat(dst->dirfd, path, 0);
				close(in);
				return -1;
			}
		}
		break;
	}
	close(in);
	return commit_new(dst, name, m->size, vsize_from_name(m->name),
			  m->internal, m->flags & (IMAP_FLAGS | MAIL_PASSED),
			  kw, uid_r, error_r);
}

int mailbox_wait_fd(struct mailbox *mb)
{
	static const char *const subs[] = {"new", "cur", "."};

	if (mb->wait_fd >= 0)
		return mb->wait_fd;
	if ((mb->wait_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	for (size_t k = 0; k < 3; k++) {
		char *p = xasprintf("%s/%s", mb->path, subs[k]);
		uint32_t mask =
			IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

		if (k == 2)
			mask = IN_MODIFY | IN_MOVED_TO | IN_CREATE;
		if (inotify_add_watch(mb->wait_fd, p, mask) < 0) {
			free(p);
			close(mb->wait_fd);
			mb->wait_fd = -1;
			return -1;
		}
		free(p);
	}
	return mb->wait_fd;
}

void mailbox_wait_drain(struct mailbox *mb)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	if (mb->wait_fd < 0)
		return;
	while (read(mb->wait_fd, buf, sizeof(buf)) > 0)
		;
}
