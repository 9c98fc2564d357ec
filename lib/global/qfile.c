/*
 * qfile - queue file records: writer with the fsync protocol, reader,
 *	   in-place recipient status
 *
 * SYNOPSIS
 *	#include "qfile.h"
 *
 *	struct qfile_writer *qfile_writer_create(const char *dir,
 *			const struct timeval *arrival, const char **error_r);
 *	int qfile_write_sender(w, sender, error_r);
 *	int qfile_write_attr(w, name, value, error_r);
 *	int qfile_write_recipient(w, address, orcpt, notify, error_r);
 *	int qfile_write_content(w, data, len, error_r);
 *	int qfile_commit(w, target_dir, hash_depth, error_r);
 *	void qfile_writer_free(struct qfile_writer **wp);
 *
 *	int qfile_open(path, writable, limits, q_r, error_r);
 *	int qfile_read_fd(fd, limits, q_r, error_r);
 *	int qfile_read_buf(data, size, limits, q_r, error_r);
 *	ssize_t qfile_content_pread(q, fd, buf, len, pos);
 *	int qfile_mark_recipient(fd, offset, status, error_r);
 *	int qfile_mark_delay_warned(fd, offset, error_r);
 *	void qfile_free(struct qfile **qp);
 *
 * DESCRIPTION
 *	The record format and the durability protocol are described in
 *	qfile.h and docs/architecture.md ("Queue files").
 *
 *	The writer goes through stdio for the small envelope records and
 *	collects content in one QFILE_CHUNK_SIZE buffer, so that a message
 *	arriving a line at a time still makes few, large M records.
 *
 *	The reader is one loop over the records that reads through a
 *	"source": a descriptor read with pread(2) or a buffer in memory (the
 *	fuzzing target), with the same checks for both.  A descriptor is
 *	read through an 8 KiB window, so the envelope and end marker of a
 *	small message take one pread(2), not two per record.  Content
 *	records are only located, never read: a delivery agent streams them
 *	later with qfile_content_pread().
 *
 * DIAGNOSTICS
 *	Functions return -1 (the reader: a QFILE_ERR_* code) with *error_r
 *	pointing at a static buffer valid until the next call of a qfile
 *	function.  Misuse of the writer (envelope after content, commit
 *	without recipients, a duplicate attribute) is a bug and panics.
 *	Nothing here logs or exits on bad input.
 *
 * SECURITY
 *	A queue file may have been damaged by a disk or planted by someone
 *	with access to the queue directory, so the reader trusts nothing:
 *	the type and length of every record are checked against the state,
 *	a per-type cap and the bytes left in the file before anything is
 *	read or allocated; recipients and attributes are counted against
 *	limits; strings with a NUL inside are refused; qfile_open() refuses
 *	symlinks and anything but a regular file (a FIFO would block it).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "fsinfo.h"
#include "log.h"
#include "qfile.h"
#include "rename.h"

#define TIME_RECORD_SIZE 12
#define END_RECORD_SIZE	 12
#define RCPT_FIXED_SIZE	 4 /* status, notify, u16 address length */
#define VERSION_MAX	 64
#define MAGIC_PREFIX	 "facteur-qfile/"
/* The largest envelope record: an attribute. */
#define ENVELOPE_RECORD_MAX (QFILE_ATTR_NAME_MAX + 1 + QFILE_ATTR_VALUE_MAX)

/* Per thread: smtpd commits files on worker threads (smtpd_commit.c). */
static _Thread_local char errbuf[512];

/* set_error - format the text that *error_r will point at */
static const char *set_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

/* put_be32 - store a big-endian u32 */
static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* put_be64 - store a big-endian u64 */
static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* get_be16 - load a big-endian u16 */
static uint16_t get_be16(const unsigned char *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

/* get_be32 - load a big-endian u32 */
static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* get_be64 - load a big-endian u64 */
static uint64_t get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* valid_status - whether c is a recipient status byte */
static bool valid_status(int c)
{
	return c == QFILE_RCPT_PENDING || c == QFILE_RCPT_DELIVERED ||
	       c == QFILE_RCPT_BOUNCED || c == QFILE_RCPT_EXPIRED;
}

/* ------------------------------------------------------------ writer */

enum writer_state {
	WRITER_ENVELOPE,
	WRITER_CONTENT,
	WRITER_DEAD,	 /* a write failed: only free remains */
	WRITER_FINISHED, /* commit failed and cleaned up */
	WRITER_COMMITTED,
};

struct qfile_writer {
	enum writer_state state;
	int dir_fd;
	char *dir;
	char *tmp_name;
	char *path;
	int fd;
	int sync_fd; /* the file, kept open for syncfs() when dir_fd is O_PATH */
	FILE *fp;
	char id[QUEUE_ID_MAX + 1];
	char *dead_error;
	bool tmp_exists; /* tmp_name is ours to remove */
	bool have_sender;
	size_t rcpt_count;
	char **attr_names;
	size_t attr_count;
	unsigned char *chunk;
	size_t chunk_len;
	uint64_t content_size;
};

/* writer_die - remember the first write error; the writer is now dead */
static int writer_die(struct qfile_writer *w, const char **error_r)
{
	const char *text = set_error("write %s: %s", w->path, strerror(errno));

	if (w->state != WRITER_DEAD) {
		w->dead_error = xstrdup(text);
		w->state = WRITER_DEAD;
	}
	*error_r = text;
	return -1;
}

/* writer_alive - fail when an earlier write failed */
static int writer_alive(const struct qfile_writer *w, const char **error_r)
{
	if (w->state == WRITER_DEAD) {
		*error_r = set_error("%s", w->dead_error);
		return -1;
	}
	if (w->state != WRITER_ENVELOPE && w->state != WRITER_CONTENT)
		log_panic("qfile: %s: writer used after commit", w->id);
	return 0;
}

/* put_bytes - append bytes to the stdio stream */
static int put_bytes(struct qfile_writer *w, const void *data, size_t len,
		     const char **error_r)
{
	if (len > 0 && fwrite(data, 1, len, w->fp) != len)
		return writer_die(w, error_r);
	return 0;
}

/* put_header - append a record header */
static int put_header(struct qfile_writer *w, int type, size_t len,
		      const char **error_r)
{
	unsigned char hdr[QFILE_REC_HEADER_SIZE];

	if (len > UINT32_MAX)
		log_panic("qfile: record of %zu bytes", len);
	hdr[0] = (unsigned char)type;
	put_be32(hdr + 1, (uint32_t)len);
	return put_bytes(w, hdr, sizeof(hdr), error_r);
}

/* put_record - append a whole record with its data */
static int put_record(struct qfile_writer *w, int type, const void *data,
		      size_t len, const char **error_r)
{
	if (put_header(w, type, len, error_r) < 0)
		return -1;
	return put_bytes(w, data, len, error_r);
}

/* open_tmp - create a fresh temporary file in w->dir_fd */
static int open_tmp(struct qfile_writer *w, const char **error_r)
{
	static unsigned int counter;

	/* The pid keeps names of live writers apart; a name left behind by
	 * an earlier process with the same pid is skipped by O_EXCL. */
	for (int tries = 0; tries < 100; tries++) {
		free(w->tmp_name);
		w->tmp_name =
			xasprintf("tmp.%ld.%u", (long)getpid(), counter++);
		w->fd = openat(w->dir_fd, w->tmp_name,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				       O_CLOEXEC,
			       0600);
		if (w->fd >= 0) {
			w->tmp_exists = true;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	*error_r = set_error("create %s/%s: %s", w->dir, w->tmp_name,
			     strerror(errno));
	return -1;
}

/*
 * open_dir - open a directory to create, rename and fsync in.  The set-gid
 * sendmail may write into maildrop/ (1730) but not read it, and only a
 * readable directory can be fsynced: it gets an O_PATH descriptor, and
 * the commit makes the rename durable with syncfs() instead.
 */
static int open_dir(int at, const char *path, int flags)
{
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);

	if (fd < 0 && errno == EACCES)
		fd = openat(at, path, O_PATH | O_DIRECTORY | O_CLOEXEC | flags);
	return fd;
}

/* searchable_only - whether fd came from open_dir's O_PATH fallback */
static bool searchable_only(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && (flags & O_PATH) != 0;
}

/* qfile_writer_create - start a queue file under a temporary name */
struct qfile_writer *qfile_writer_create(const char *dir,
					 const struct timeval *arrival,
					 const char **error_r)
{
	struct qfile_writer *w = xcalloc(1, sizeof(*w));
	unsigned char tr[TIME_RECORD_SIZE];
	struct timeval now;
	struct stat st;

	w->fd = -1;
	w->sync_fd = -1;
	w->dir = xstrdup(dir);
	w->dir_fd = open_dir(AT_FDCWD, dir, 0);
	if (w->dir_fd < 0) {
		*error_r = set_error("open directory %s: %s", dir,
				     strerror(errno));
		goto fail;
	}
	if (open_tmp(w, error_r) < 0)
		goto fail;
	w->path = xasprintf("%s/%s", dir, w->tmp_name);
	/* The mode is part of the contract whatever the umask. */
	if (fchmod(w->fd, 0600) < 0 || fstat(w->fd, &st) < 0) {
		*error_r = set_error("chmod/stat %s: %s", w->path,
				     strerror(errno));
		goto fail;
	}
	if (gettimeofday(&now, NULL) < 0 || now.tv_sec < 0 ||
	    queue_id_build(w->id, (uint64_t)now.tv_sec, (uint32_t)now.tv_usec,
			   (uint64_t)st.st_ino) < 0) {
		*error_r = set_error("system clock out of range for queue ids");
		goto fail;
	}
	if (arrival == NULL)
		arrival = &now;
	if (arrival->tv_sec < 0 || arrival->tv_usec < 0 ||
	    arrival->tv_usec >= 1000000)
		log_panic("qfile_writer_create: bad arrival time");
	if ((w->fp = fdopen(w->fd, "w")) == NULL) {
		*error_r = set_error("fdopen %s: %s", w->path, strerror(errno));
		goto fail;
	}
	w->chunk = xmalloc(QFILE_CHUNK_SIZE);
	put_be64(tr, (uint64_t)arrival->tv_sec);
	put_be32(tr + 8, (uint32_t)arrival->tv_usec);
	w->state = WRITER_ENVELOPE;
	if (put_record(w, QFILE_REC_VERSION, QFILE_MAGIC, strlen(QFILE_MAGIC),
		       error_r) < 0 ||
	    put_record(w, QFILE_REC_TIME, tr, sizeof(tr), error_r) < 0)
		goto fail;
	return w;

fail:
	qfile_writer_free(&w);
	return NULL;
}

/* qfile_writer_id - the queue id of the file */
const char *qfile_writer_id(const struct qfile_writer *w)
{
	return w->id;
}

/* qfile_writer_path - the current path of the file */
const char *qfile_writer_path(const struct qfile_writer *w)
{
	return w->path;
}

/* qfile_writer_content_size - content bytes written so far */
uint64_t qfile_writer_content_size(const struct qfile_writer *w)
{
	return w->content_size;
}

/* envelope_ok - common checks before an envelope record */
static int envelope_ok(const struct qfile_writer *w, const char *what,
		       const char **error_r)
{
	if (writer_alive(w, error_r) < 0)
		return -1;
	if (w->state != WRITER_ENVELOPE)
		log_panic("qfile: %s: %s after content", w->id, what);
	return 0;
}

/* qfile_write_sender - the envelope sender record */
int qfile_write_sender(struct qfile_writer *w, const char *sender,
		       const char **error_r)
{
	size_t len = strlen(sender);

	if (envelope_ok(w, "sender", error_r) < 0)
		return -1;
	if (w->have_sender)
		log_panic("qfile: %s: second sender", w->id);
	if (len > QFILE_ADDR_MAX) {
		*error_r = "sender address too long";
		return -1;
	}
	if (put_record(w, QFILE_REC_SENDER, sender, len, error_r) < 0)
		return -1;
	w->have_sender = true;
	return 0;
}

/* qfile_write_attr - one attribute record */
int qfile_write_attr(struct qfile_writer *w, const char *name,
		     const char *value, const char **error_r)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	if (envelope_ok(w, "attribute", error_r) < 0)
		return -1;
	if (!attr_name_valid(name, nlen)) {
		*error_r = "bad attribute name";
		return -1;
	}
	if (vlen > QFILE_ATTR_VALUE_MAX) {
		*error_r = "attribute value too long";
		return -1;
	}
	for (size_t i = 0; i < w->attr_count; i++)
		if (strcmp(w->attr_names[i], name) == 0)
			log_panic("qfile: %s: attribute %s twice", w->id, name);
	if (put_header(w, QFILE_REC_ATTR, nlen + 1 + vlen, error_r) < 0 ||
	    put_bytes(w, name, nlen, error_r) < 0 ||
	    put_bytes(w, "=", 1, error_r) < 0 ||
	    put_bytes(w, value, vlen, error_r) < 0)
		return -1;
	w->attr_names = xreallocarray(w->attr_names, w->attr_count + 1,
				      sizeof(*w->attr_names));
	w->attr_names[w->attr_count++] = xstrdup(name);
	return 0;
}

/* qfile_write_recipient - one recipient record, status pending */
int qfile_write_recipient(struct qfile_writer *w, const char *address,
			  const char *orcpt, unsigned int notify,
			  const char **error_r)
{
	size_t alen = strlen(address);
	size_t olen = orcpt != NULL ? strlen(orcpt) : 0;
	unsigned char fixed[RCPT_FIXED_SIZE];

	if (envelope_ok(w, "recipient", error_r) < 0)
		return -1;
	if ((notify & ~(unsigned int)QFILE_NOTIFY_MASK) != 0)
		log_panic("qfile: %s: bad notify flags 0x%x", w->id, notify);
	if (alen == 0) {
		*error_r = "empty recipient address";
		return -1;
	}
	if (alen > QFILE_ADDR_MAX) {
		*error_r = "recipient address too long";
		return -1;
	}
	if (olen > QFILE_ADDR_MAX) {
		*error_r = "ORCPT too long";
		return -1;
	}
	/* The status byte comes first: its offset is the record's + 5. */
	fixed[0] = QFILE_RCPT_PENDING;
	fixed[1] = (unsigned char)notify;
	fixed[2] = (unsigned char)(alen >> 8);
	fixed[3] = (unsigned char)alen;
	if (put_header(w, QFILE_REC_RCPT, sizeof(fixed) + alen + olen,
		       error_r) < 0 ||
	    put_bytes(w, fixed, sizeof(fixed), error_r) < 0 ||
	    put_bytes(w, address, alen, error_r) < 0 ||
	    put_bytes(w, orcpt, olen, error_r) < 0)
		return -1;
	w->rcpt_count++;
	return 0;
}

/* flush_chunk - write the collected content as one M record */
static int flush_chunk(struct qfile_writer *w, const char **error_r)
{
	if (w->chunk_len == 0)
		return 0;
	if (put_record(w, QFILE_REC_DATA, w->chunk, w->chunk_len, error_r) < 0)
		return -1;
	w->chunk_len = 0;
	return 0;
}

/* start_content - the C record, once */
static int start_content(struct qfile_writer *w, const char **error_r)
{
	if (w->state == WRITER_CONTENT)
		return 0;
	if (put_header(w, QFILE_REC_CONTENT, 0, error_r) < 0)
		return -1;
	w->state = WRITER_CONTENT;
	return 0;
}

/* qfile_write_content - append message content */
int qfile_write_content(struct qfile_writer *w, const void *data, size_t len,
			const char **error_r)
{
	const unsigned char *p = data;

	if (writer_alive(w, error_r) < 0 || start_content(w, error_r) < 0)
		return -1;
	while (len > 0) {
		size_t n = QFILE_CHUNK_SIZE - w->chunk_len;

		if (n > len)
			n = len;
		memcpy(w->chunk + w->chunk_len, p, n);
		w->chunk_len += n;
		w->content_size += n;
		p += n;
		len -= n;
		if (w->chunk_len == QFILE_CHUNK_SIZE &&
		    flush_chunk(w, error_r) < 0)
			return -1;
	}
	/* Report a full disk now rather than at the final dot. */
	if (ferror(w->fp)) {
		errno = EIO;
		return writer_die(w, error_r);
	}
	return 0;
}

/* open_subdir - open (making it when missing) directory name under fd */
static int open_subdir(int fd, const char *name, const char *path,
		       const char **error_r)
{
	int sub;

	if (mkdirat(fd, name, 0700) == 0) {
		/* The new entry must survive a crash like the file will (the
		 * commit's syncfs() covers a write-only directory). */
		if (!searchable_only(fd) && fsync(fd) < 0) {
			*error_r = set_error("fsync directory %s: %s", path,
					     strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		*error_r = set_error("mkdir %s/%s: %s", path, name,
				     strerror(errno));
		return -1;
	}
	sub = open_dir(fd, name, O_NOFOLLOW);
	if (sub < 0)
		*error_r = set_error("open directory %s/%s: %s", path, name,
				     strerror(errno));
	return sub;
}

/* same_dir - whether two directory descriptors name one directory */
static bool same_dir(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * sync_dirs - make the rename of the committed file durable.  It is once
 * the directory that gained the name is synced, which on ext4 the file's
 * own fsync already did (fsinfo.c); the one that lost the temporary name
 * is synced too, so that a crash cannot bring that name back.  A
 * directory we may only search (maildrop/) cannot be fsynced: syncfs().
 */
static int sync_dirs(const struct qfile_writer *w, int dst_fd)
{
	if (searchable_only(dst_fd) || searchable_only(w->dir_fd))
		return syncfs(w->sync_fd);
	if (!fs_fsync_covers_rename(w->sync_fd) && fsync(dst_fd) < 0)
		return -1;
	if (!same_dir(dst_fd, w->dir_fd) && fsync(w->dir_fd) < 0)
		return -1;
	return 0;
}

/* finish_file - end marker, flush, close (the fsync comes after the
 * rename: see qfile_commit) */
static int finish_file(struct qfile_writer *w, const char **error_r)
{
	unsigned char er[END_RECORD_SIZE];
	int fd = w->fd;

	if (start_content(w, error_r) < 0 || flush_chunk(w, error_r) < 0)
		return -1;
	if (w->rcpt_count > UINT32_MAX)
		log_panic("qfile: %s: %zu recipients", w->id, w->rcpt_count);
	put_be64(er, w->content_size);
	put_be32(er + 8, (uint32_t)w->rcpt_count);
	if (put_record(w, QFILE_REC_END, er, sizeof(er), error_r) < 0)
		return -1;
	if (fflush(w->fp) != 0)
		return writer_die(w, error_r);
	/* Kept for the fsync after the rename (and for syncfs() should a
	 * directory turn out to be write-only). */
	if ((w->sync_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		*error_r = set_error("dup %s: %s", w->path, strerror(errno));
		return -1;
	}
	w->fd = -1;
	if (fclose(w->fp) != 0) {
		w->fp = NULL;
		*error_r = set_error("close %s: %s", w->path, strerror(errno));
		return -1;
	}
	w->fp = NULL;
	return 0;
}

/* qfile_commit - finish the file and put it in the queue */
int qfile_commit(struct qfile_writer *w, const char *target_dir,
		 unsigned int hash_depth, const char **error_r)
{
	char hash[QUEUE_ID_HASH_DIR_MAX];
	char *where = NULL;
	int dst_fd = -1;
	int ret = -1;

	if (writer_alive(w, error_r) < 0)
		goto discard;
	if (!w->have_sender || w->rcpt_count == 0)
		log_panic("qfile: %s: commit without sender or recipients",
			  w->id);
	if (hash_depth > QUEUE_ID_HASH_DEPTH_MAX)
		log_panic("qfile: hash depth %u", hash_depth);
	if (finish_file(w, error_r) < 0)
		goto discard;

	/* Find (or make) the directory the file goes to. */
	if (target_dir == NULL)
		target_dir = w->dir;
	where = xstrdup(target_dir);
	dst_fd = open_dir(AT_FDCWD, target_dir, 0);
	if (dst_fd < 0) {
		*error_r = set_error("open directory %s: %s", target_dir,
				     strerror(errno));
		goto discard;
	}
	if (queue_id_hash_dir(w->id, hash_depth, hash, sizeof(hash)) < 0)
		log_panic("qfile: hash of %s", w->id);
	for (unsigned int i = 0; i < hash_depth; i++) {
		char name[2] = {hash[2 * i], '\0'};
		int sub = open_subdir(dst_fd, name, where, error_r);
		char *longer;

		if (sub < 0)
			goto discard;
		(void)close(dst_fd);
		dst_fd = sub;
		longer = xasprintf("%s/%s", where, name);
		free(where);
		where = longer;
	}

	/* Where link(2) stands in for renameat2(), a failed unlink leaves
	 * the temporary name too: scans skip it, cleanup removes it. */
	if (rename_noreplace(w->dir_fd, w->tmp_name, dst_fd, w->id) < 0) {
		*error_r = set_error("rename %s to %s/%s: %s", w->path, where,
				     w->id, strerror(errno));
		goto discard;
	}
	w->tmp_exists = false;
	/*
	 * fsync after the rename, not before: on a journalling filesystem
	 * the file's fsync then commits the rename in the same journal
	 * transaction, and the directory's fsync that follows finds nothing
	 * left to commit, so a message costs one journal commit instead of
	 * two.  The name is visible before the data is durable, but all the
	 * data was written (fflush) before the rename, so a reader never
	 * sees a short file while we run; only a machine crash before the
	 * fsync can leave a torn file under the final name, and the reader
	 * refuses a file without its end marker (QFILE_ERR_INCOMPLETE; qmgr
	 * moves it to corrupt/, never delivers it).  The client was not
	 * told 250 for it.
	 */
	if (fsync(w->sync_fd) < 0) {
		*error_r = set_error("fsync %s/%s: %s", where, w->id,
				     strerror(errno));
		(void)unlinkat(dst_fd, w->id, 0);
		w->state = WRITER_FINISHED;
		goto out;
	}
	if (sync_dirs(w, dst_fd) < 0) {
		*error_r = set_error("fsync directory %s: %s", where,
				     strerror(errno));
		/* Not durably queued: take it back so that the client's
		 * retry after our 4xx cannot end in two copies. */
		(void)unlinkat(dst_fd, w->id, 0);
		w->state = WRITER_FINISHED;
		goto out;
	}
	free(w->path);
	w->path = xasprintf("%s/%s", where, w->id);
	w->state = WRITER_COMMITTED;
	ret = 0;
	goto out;

discard:
	if (w->fp != NULL) {
		(void)fclose(w->fp);
		w->fp = NULL;
		w->fd = -1;
	}
	(void)unlinkat(w->dir_fd, w->tmp_name, 0);
	w->tmp_exists = false;
	w->state = WRITER_FINISHED;
out:
	if (dst_fd >= 0)
		(void)close(dst_fd);
	free(where);
	return ret;
}

/* qfile_writer_free - free the writer, removing an uncommitted file */
void qfile_writer_free(struct qfile_writer **wp)
{
	struct qfile_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->fp != NULL)
		(void)fclose(w->fp);
	else if (w->fd >= 0)
		(void)close(w->fd);
	/* The abort path: an uncommitted file never stays behind. */
	if (w->tmp_exists)
		(void)unlinkat(w->dir_fd, w->tmp_name, 0);
	if (w->dir_fd >= 0)
		(void)close(w->dir_fd);
	if (w->sync_fd >= 0)
		(void)close(w->sync_fd);
	for (size_t i = 0; i < w->attr_count; i++)
		free(w->attr_names[i]);
	free(w->attr_names);
	free(w->dir);
	free(w->tmp_name);
	free(w->path);
	free(w->dead_error);
	free(w->chunk);
	free(w);
	*wp = NULL;
}

/* ------------------------------------------------------------ reader */

/*
 * How much of a descriptor source one read brings in.  A typical queue
 * file's envelope, the record headers after it and its end marker fit,
 * so a small message is parsed with one pread(2) instead of two per
 * record; longer records are read directly.
 */
#define SOURCE_WINDOW 8192

/* Where records come from: a descriptor or a buffer of size bytes. */
struct source {
	int fd;
	const unsigned char *buf;
	uint64_t size;
	uint64_t win_off; /* file offset of win[0] */
	size_t win_len;	  /* bytes of win that hold file data */
	unsigned char win[SOURCE_WINDOW];
};

/* pread_full - up to len bytes at off; fewer only at end of file */
static ssize_t pread_full(int fd, unsigned char *p, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
			pread(fd, p + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* source_short - the error for a read that came back short or failed */
static int source_short(ssize_t n, uint64_t off, const char **error_r)
{
	if (n < 0) {
		*error_r = set_error("read queue file: %s", strerror(errno));
		return QFILE_ERR_SYSTEM;
	}
	*error_r = set_error("queue file shrank while being read, at offset "
			     "%llu",
			     (unsigned long long)(off + (uint64_t)n));
	return QFILE_ERR_INCOMPLETE;
}

/* source_read - len bytes at off (the caller checked they are there) */
static int source_read(struct source *src, uint64_t off, void *dst, size_t len,
		       const char **error_r)
{
	uint64_t want;
	ssize_t n;

	if (src->buf != NULL) {
		memcpy(dst, src->buf + off, len);
		return 0;
	}
	/* In the window: no system call. */
	if (off >= src->win_off && len <= src->win_len &&
	    off - src->win_off <= src->win_len - len) {
		memcpy(dst, src->win + (off - src->win_off), len);
		return 0;
	}
	if (len > sizeof(src->win)) {
		if ((n = pread_full(src->fd, dst, len, off)) != (ssize_t)len)
			return source_short(n, off, error_r);
		return 0;
	}
	/* Refill the window from off, as far as the file goes. */
	want = src->size - off;
	if (want > sizeof(src->win))
		want = sizeof(src->win);
	src->win_off = off;
	src->win_len = 0;
	if ((n = pread_full(src->fd, src->win, (size_t)want, off)) < 0)
		return source_short(n, off, error_r);
	src->win_len = (size_t)n;
	if ((size_t)n < len)
		return source_short(n, off, error_r);
	memcpy(dst, src->win, len);
	return 0;
}

enum parse_state {
	PARSE_START,	/* want V */
	PARSE_ENVELOPE, /* T S A R, until C */
	PARSE_CONTENT,	/* M, until E */
	PARSE_DONE,	/* nothing more */
};

struct parser {
	struct qfile *q;
	enum parse_state state;
	unsigned int rcpt_limit;
	unsigned int attr_limit;
	bool have_time;
	bool have_sender;
	size_t rcpt_alloc;
	size_t attr_alloc;
	size_t segment_alloc;
	uint64_t off; /* of the record at hand */
	unsigned char data[ENVELOPE_RECORD_MAX];
};

/* record_name - a word for a record type in messages */
static const char *record_name(int type)
{
	switch (type) {
	case QFILE_REC_VERSION:
		return "version";
	case QFILE_REC_TIME:
		return "time";
	case QFILE_REC_SENDER:
		return "sender";
	case QFILE_REC_ATTR:
		return "attribute";
	case QFILE_REC_RCPT:
		return "recipient";
	case QFILE_REC_CONTENT:
		return "content start";
	case QFILE_REC_DATA:
		return "content";
	case QFILE_REC_END:
		return "end marker";
	default:
		return NULL;
	}
}

/* corrupt - a QFILE_ERR_CORRUPT result with text and the record offset */
static int corrupt(const struct parser *p, const char **error_r,
		   const char *what)
{
	*error_r = set_error("%s at offset %llu", what,
			     (unsigned long long)p->off);
	return QFILE_ERR_CORRUPT;
}

/* check_length - the per-type bounds on a record's data length */
static int check_length(const struct parser *p, int type, uint32_t len,
			const char **error_r)
{
	switch (type) {
	case QFILE_REC_VERSION:
		if (len > VERSION_MAX)
			return corrupt(p, error_r, "version record too long");
		break;
	case QFILE_REC_TIME:
		if (len != TIME_RECORD_SIZE)
			return corrupt(p, error_r, "bad time record length");
		break;
	case QFILE_REC_SENDER:
		if (len > QFILE_ADDR_MAX)
			return corrupt(p, error_r, "sender address too long");
		break;
	case QFILE_REC_ATTR:
		if (len > ENVELOPE_RECORD_MAX)
			return corrupt(p, error_r, "attribute too long");
		break;
	case QFILE_REC_RCPT:
		if (len < RCPT_FIXED_SIZE)
			return corrupt(p, error_r, "short recipient record");
		if (len > RCPT_FIXED_SIZE + 2 * QFILE_ADDR_MAX)
			return corrupt(p, error_r, "recipient record too long");
		break;
	case QFILE_REC_CONTENT:
		if (len != 0)
			return corrupt(p, error_r,
				       "bad content start record length");
		break;
	case QFILE_REC_DATA:
		if (len == 0)
			return corrupt(p, error_r, "empty content record");
		if (len > QFILE_DATA_RECORD_MAX)
			return corrupt(p, error_r, "content record too long");
		break;
	case QFILE_REC_END:
		if (len != END_RECORD_SIZE)
			return corrupt(p, error_r, "bad end marker length");
		break;
	}
	return 0;
}

/* check_order - whether a record of this type may come now */
static int check_order(const struct parser *p, int type, const char **error_r)
{
	bool ok;

	switch (p->state) {
	case PARSE_START:
		if (type != QFILE_REC_VERSION)
			return corrupt(p, error_r,
				       "not a queue file: no version record");
		return 0;
	case PARSE_ENVELOPE:
		ok = type == QFILE_REC_TIME || type == QFILE_REC_SENDER ||
		     type == QFILE_REC_ATTR || type == QFILE_REC_RCPT ||
		     type == QFILE_REC_CONTENT;
		break;
	case PARSE_CONTENT:
		ok = type == QFILE_REC_DATA || type == QFILE_REC_END;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		*error_r = set_error("unexpected %s record at offset %llu",
				     record_name(type),
				     (unsigned long long)p->off);
		return QFILE_ERR_CORRUPT;
	}
	return 0;
}

/* dup_string - a C string copy of len bytes that must hold no NUL */
static char *dup_string(const unsigned char *data, size_t len)
{
	if (memchr(data, '\0', len) != NULL)
		return NULL;
	return xstrndup((const char *)data, len);
}

/* parse_version - the V record */
static int parse_version(struct parser *p, const unsigned char *data,
			 uint32_t len, const char **error_r)
{
	size_t plen = strlen(MAGIC_PREFIX);

	if (len == strlen(QFILE_MAGIC) && memcmp(data, QFILE_MAGIC, len) == 0) {
		p->state = PARSE_ENVELOPE;
		return 0;
	}
	if (len >= plen && memcmp(data, MAGIC_PREFIX, plen) == 0)
		return corrupt(p, error_r, "unsupported queue file version");
	return corrupt(p, error_r, "not a queue file: bad magic");
}

/* parse_time - the T record */
static int parse_time(struct parser *p, const unsigned char *data,
		      const char **error_r)
{
	uint32_t usec = get_be32(data + 8);

	if (p->have_time)
		return corrupt(p, error_r, "duplicate time record");
	if (usec >= 1000000)
		return corrupt(p, error_r, "bad arrival time");
	p->q->arrival_sec = get_be64(data);
	p->q->arrival_usec = usec;
	p->have_time = true;
	return 0;
}

/* parse_sender - the S record */
static int parse_sender(struct parser *p, const unsigned char *data,
			uint32_t len, const char **error_r)
{
	if (p->have_sender)
		return corrupt(p, error_r, "duplicate sender record");
	if ((p->q->sender = dup_string(data, len)) == NULL)
		return corrupt(p, error_r, "NUL in sender address");
	p->have_sender = true;
	return 0;
}

/* parse_attr - an A record */
static int parse_attr(struct parser *p, const unsigned char *data, uint32_t len,
		      const char **error_r)
{
	const unsigned char *eq = memchr(data, '=', len);
	struct qfile *q = p->q;
	struct qfile_attr *a;
	size_t nlen, vlen;

	if (q->attr_count >= p->attr_limit) {
		*error_r = set_error("too many attributes (limit %u) at "
				     "offset %llu",
				     p->attr_limit, (unsigned long long)p->off);
		return QFILE_ERR_CORRUPT;
	}
	if (eq == NULL)
		return corrupt(p, error_r, "attribute without '='");
	nlen = (size_t)(eq - data);
	vlen = len - nlen - 1;
	if (!attr_name_valid((const char *)data, nlen))
		return corrupt(p, error_r, "bad attribute name");
	if (vlen > QFILE_ATTR_VALUE_MAX)
		return corrupt(p, error_r, "attribute value too long");
	for (size_t i = 0; i < q->attr_count; i++)
		if (strlen(q->attrs[i].name) == nlen &&
		    memcmp(q->attrs[i].name, data, nlen) == 0)
			return corrupt(p, error_r, "duplicate attribute");
	if (memchr(eq + 1, '\0', vlen) != NULL)
		return corrupt(p, error_r, "NUL in attribute value");
	if (q->attr_count == p->attr_alloc) {
		p->attr_alloc = p->attr_alloc ? 2 * p->attr_alloc : 8;
		q->attrs = xreallocarray(q->attrs, p->attr_alloc,
					 sizeof(*q->attrs));
	}
	a = &q->attrs[q->attr_count++];
	a->name = xstrndup((const char *)data, nlen);
	a->value = xstrndup((const char *)eq + 1, vlen);
	return 0;
}

/* parse_rcpt - an R record */
static int parse_rcpt(struct parser *p, const unsigned char *data, uint32_t len,
		      const char **error_r)
{
	struct qfile *q = p->q;
	struct qfile_rcpt r;
	size_t alen, olen;

	if (q->rcpt_count >= p->rcpt_limit) {
		*error_r = set_error("too many recipients (limit %u) at "
				     "offset %llu",
				     p->rcpt_limit, (unsigned long long)p->off);
		return QFILE_ERR_CORRUPT;
	}
	if (!valid_status(data[0]))
		return corrupt(p, error_r, "bad recipient status");
	if ((data[1] & ~(QFILE_NOTIFY_MASK | QFILE_RCPT_DELAY_WARNED)) != 0)
		return corrupt(p, error_r, "bad NOTIFY flags");
	alen = get_be16(data + 2);
	if (alen == 0)
		return corrupt(p, error_r, "empty recipient address");
	if (alen > QFILE_ADDR_MAX)
		return corrupt(p, error_r, "recipient address too long");
	if (alen > len - RCPT_FIXED_SIZE)
		return corrupt(p, error_r,
			       "recipient address overruns its record");
	olen = len - RCPT_FIXED_SIZE - alen;
	if (olen > QFILE_ADDR_MAX)
		return corrupt(p, error_r, "ORCPT too long");
	if (memchr(data + RCPT_FIXED_SIZE, '\0', alen + olen) != NULL)
		return corrupt(p, error_r, "NUL in recipient record");
	r.status = data[0];
	r.notify = data[1] & QFILE_NOTIFY_MASK;
	r.delay_warned = (data[1] & QFILE_RCPT_DELAY_WARNED) != 0;
	r.status_offset = (off_t)(p->off + QFILE_REC_HEADER_SIZE);
	r.address = xstrndup((const char *)data + RCPT_FIXED_SIZE, alen);
	r.orcpt = xstrndup((const char *)data + RCPT_FIXED_SIZE + alen, olen);
	if (q->rcpt_count == p->rcpt_alloc) {
		p->rcpt_alloc = p->rcpt_alloc ? 2 * p->rcpt_alloc : 8;
		q->rcpts = xreallocarray(q->rcpts, p->rcpt_alloc,
					 sizeof(*q->rcpts));
	}
	q->rcpts[q->rcpt_count++] = r;
	return 0;
}

/* parse_content_start - the C record: the envelope must be whole */
static int parse_content_start(struct parser *p, const char **error_r)
{
	if (!p->have_time)
		return corrupt(p, error_r,
			       "missing time record before content");
	if (!p->have_sender)
		return corrupt(p, error_r,
			       "missing sender record before content");
	if (p->q->rcpt_count == 0)
		return corrupt(p, error_r, "no recipient before content");
	p->q->content_offset = (off_t)(p->off + QFILE_REC_HEADER_SIZE);
	p->state = PARSE_CONTENT;
	return 0;
}

/* parse_data - an M record: remember where it is, read nothing */
static void parse_data(struct parser *p, uint32_t len)
{
	struct qfile *q = p->q;
	struct qfile_segment *s;

	if (q->segment_count == p->segment_alloc) {
		p->segment_alloc = p->segment_alloc ? 2 * p->segment_alloc : 8;
		q->segments = xreallocarray(q->segments, p->segment_alloc,
					    sizeof(*q->segments));
	}
	s = &q->segments[q->segment_count++];
	s->offset = (off_t)(p->off + QFILE_REC_HEADER_SIZE);
	s->start = q->content_size;
	s->len = len;
	if (q->segment_count == 1)
		q->content_offset = s->offset;
	/* No overflow: the sum is bounded by the file size. */
	q->content_size += len;
}

/* parse_end - the E record: it must agree with what came before */
static int parse_end(struct parser *p, const unsigned char *data,
		     const char **error_r)
{
	if (get_be64(data) != p->q->content_size)
		return corrupt(p, error_r, "end marker: content size mismatch");
	if (get_be32(data + 8) != p->q->rcpt_count)
		return corrupt(p, error_r,
			       "end marker: recipient count mismatch");
	p->state = PARSE_DONE;
	return 0;
}

/* parse_record - check and take in the record at p->off */
static int parse_record(struct parser *p, struct source *src, uint64_t *next_r,
			const char **error_r)
{
	unsigned char *data = p->data;
	unsigned char hdr[QFILE_REC_HEADER_SIZE];
	uint64_t left = src->size - p->off;
	size_t hlen = left < sizeof(hdr) ? (size_t)left : sizeof(hdr);
	uint32_t len;
	int type, ret;

	if (p->state == PARSE_DONE)
		return corrupt(p, error_r, "trailing data after end marker");
	if ((ret = source_read(src, p->off, hdr, hlen, error_r)) < 0)
		return ret;
	type = hdr[0];
	if (record_name(type) == NULL) {
		*error_r = set_error("bad record type 0x%02x at offset %llu",
				     (unsigned int)type,
				     (unsigned long long)p->off);
		return QFILE_ERR_CORRUPT;
	}
	if ((ret = check_order(p, type, error_r)) < 0)
		return ret;
	if (hlen < sizeof(hdr)) {
		*error_r = set_error("truncated record header at offset %llu",
				     (unsigned long long)p->off);
		return QFILE_ERR_INCOMPLETE;
	}
	len = get_be32(hdr + 1);
	if ((ret = check_length(p, type, len, error_r)) < 0)
		return ret;
	if (len > left - sizeof(hdr)) {
		*error_r = set_error("truncated %s record at offset %llu",
				     record_name(type),
				     (unsigned long long)p->off);
		return QFILE_ERR_INCOMPLETE;
	}
	*next_r = p->off + sizeof(hdr) + len;
	if (type == QFILE_REC_DATA) {
		parse_data(p, len);
		return 0;
	}
	/* check_length() kept every other type within the buffer. */
	if ((ret = source_read(src, p->off + sizeof(hdr), data, len, error_r)) <
	    0)
		return ret;
	switch (type) {
	case QFILE_REC_VERSION:
		return parse_version(p, data, len, error_r);
	case QFILE_REC_TIME:
		return parse_time(p, data, error_r);
	case QFILE_REC_SENDER:
		return parse_sender(p, data, len, error_r);
	case QFILE_REC_ATTR:
		return parse_attr(p, data, len, error_r);
	case QFILE_REC_RCPT:
		return parse_rcpt(p, data, len, error_r);
	case QFILE_REC_CONTENT:
		return parse_content_start(p, error_r);
	default:
		return parse_end(p, data, error_r);
	}
}

/* parse - read a whole queue file from src */
static int parse(struct source *src, const struct qfile_limits *limits,
		 struct qfile **q_r, const char **error_r)
{
	struct parser p;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	p.q = xcalloc(1, sizeof(*p.q));
	p.q->fd = -1;
	p.q->file_size = (off_t)src->size;
	p.rcpt_limit = limits != NULL ? limits->recipient_limit
				      : QFILE_DEFAULT_RECIPIENT_LIMIT;
	p.attr_limit =
		limits != NULL ? limits->attr_limit : QFILE_DEFAULT_ATTR_LIMIT;
	while (p.off < src->size) {
		uint64_t next = 0;

		if ((ret = parse_record(&p, src, &next, error_r)) < 0)
			break;
		p.off = next;
	}
	if (ret == 0 && p.state != PARSE_DONE) {
		if (src->size == 0)
			*error_r = "empty queue file";
		else
			*error_r = set_error("missing end marker at offset "
					     "%llu",
					     (unsigned long long)p.off);
		ret = QFILE_ERR_INCOMPLETE;
	}
	if (ret < 0) {
		qfile_free(&p.q);
		return ret;
	}
	*q_r = p.q;
	return 0;
}

/* qfile_read_buf - parse a queue file in memory */
int qfile_read_buf(const void *data, size_t size,
		   const struct qfile_limits *limits, struct qfile **q_r,
		   const char **error_r)
{
	static const unsigned char empty[1];
	struct source *src = xcalloc(1, sizeof(*src));
	int ret;

	src->fd = -1;
	src->buf = size > 0 ? data : empty;
	src->size = size;
	ret = parse(src, limits, q_r, error_r);
	free(src);
	return ret;
}

/* qfile_read_fd - parse the queue file open on fd */
int qfile_read_fd(int fd, const struct qfile_limits *limits, struct qfile **q_r,
		  const char **error_r)
{
	struct source *src;
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0) {
		*error_r = set_error("stat queue file: %s", strerror(errno));
		return QFILE_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = "queue file is not a regular file";
		return QFILE_ERR_CORRUPT;
	}
	src = xcalloc(1, sizeof(*src));
	src->fd = fd;
	src->size = (uint64_t)st.st_size;
	if ((ret = parse(src, limits, q_r, error_r)) == 0)
		(*q_r)->fd = fd;
	free(src);
	return ret;
}

/* qfile_open - open and parse a queue file */
int qfile_open(const char *path, bool writable,
	       const struct qfile_limits *limits, struct qfile **q_r,
	       const char **error_r)
{
	/* O_NONBLOCK: a FIFO planted under a queue file name must not hang
	 * qmgr in open(); it is refused as not a regular file right after. */
	int flags = (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK;
	int fd = open(path, flags);
	int ret;

	if (fd < 0) {
		*error_r = set_error("open %s: %s", path, strerror(errno));
		return QFILE_ERR_SYSTEM;
	}
	if ((ret = qfile_read_fd(fd, limits, q_r, error_r)) < 0) {
		(void)close(fd);
		return ret;
	}
	(*q_r)->own_fd = true;
	return 0;
}

/* qfile_free - free a parsed queue file */
void qfile_free(struct qfile **qp)
{
	struct qfile *q = *qp;

	if (q == NULL)
		return;
	if (q->own_fd && q->fd >= 0)
		(void)close(q->fd);
	free(q->sender);
	for (size_t i = 0; i < q->attr_count; i++) {
		free(q->attrs[i].name);
		free(q->attrs[i].value);
	}
	free(q->attrs);
	for (size_t i = 0; i < q->rcpt_count; i++) {
		free(q->rcpts[i].address);
		free(q->rcpts[i].orcpt);
	}
	free(q->rcpts);
	free(q->segments);
	free(q);
	*qp = NULL;
}

/* qfile_attr - the value of an attribute */
const char *qfile_attr(const struct qfile *q, const char *name)
{
	for (size_t i = 0; i < q->attr_count; i++)
		if (strcmp(q->attrs[i].name, name) == 0)
			return q->attrs[i].value;
	return NULL;
}

/* qfile_pending_count - recipients not yet done */
size_t qfile_pending_count(const struct qfile *q)
{
	size_t n = 0;

	for (size_t i = 0; i < q->rcpt_count; i++)
		if (q->rcpts[i].status == QFILE_RCPT_PENDING)
			n++;
	return n;
}

/* qfile_content_pread - read content through the segment map */
ssize_t qfile_content_pread(const struct qfile *q, int fd, void *buf,
			    size_t len, uint64_t pos)
{
	size_t lo = 0, hi = q->segment_count;
	const struct qfile_segment *s;
	uint64_t avail;
	ssize_t n;

	if (pos >= q->content_size || len == 0)
		return 0;
	/* Binary search: the last segment that starts at or before pos. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->segments[mid].start <= pos)
			lo = mid;
		else
			hi = mid;
	}
	s = &q->segments[lo];
	avail = s->start + s->len - pos;
	if (len > avail)
		len = (size_t)avail;
	do {
		n = pread(fd, buf, len, s->offset + (off_t)(pos - s->start));
	} while (n < 0 && errno == EINTR);
	return n;
}

/* qfile_mark_recipient - rewrite one status byte durably */
int qfile_mark_recipient(int fd, off_t offset, int status, const char **error_r)
{
	unsigned char old, c = (unsigned char)status;
	ssize_t n;

	if (!valid_status(status)) {
		*error_r = set_error("bad recipient status 0x%02x",
				     (unsigned int)c);
		return -1;
	}
	n = pread(fd, &old, 1, offset);
	if (n != 1) {
		*error_r = set_error("read status at offset %lld: %s",
				     (long long)offset,
				     n < 0 ? strerror(errno) : "end of file");
		return -1;
	}
	if (!valid_status(old)) {
		*error_r = set_error("offset %lld is not a recipient status",
				     (long long)offset);
		return -1;
	}
	if (pwrite(fd, &c, 1, offset) != 1) {
		*error_r = set_error("write status at offset %lld: %s",
				     (long long)offset, strerror(errno));
		return -1;
	}
	/* The size does not change, so fdatasync() suffices. */
	if (fdatasync(fd) < 0) {
		*error_r =
			set_error("fdatasync queue file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* qfile_mark_delay_warned - set the delay-notice flag durably */
int qfile_mark_delay_warned(int fd, off_t offset, const char **error_r)
{
	unsigned char old[2], c;
	ssize_t n;

	n = pread(fd, old, 2, offset);
	if (n != 2) {
		*error_r = set_error("read recipient at offset %lld: %s",
				     (long long)offset,
				     n < 0 ? strerror(errno) : "end of file");
		return -1;
	}
	if (!valid_status(old[0]) ||
	    (old[1] & ~(QFILE_NOTIFY_MASK | QFILE_RCPT_DELAY_WARNED)) != 0) {
		*error_r = set_error("offset %lld is not a recipient status",
				     (long long)offset);
		return -1;
	}
	c = old[1] | QFILE_RCPT_DELAY_WARNED;
	if (pwrite(fd, &c, 1, offset + 1) != 1) {
		*error_r = set_error("write flags at offset %lld: %s",
				     (long long)offset + 1, strerror(errno));
		return -1;
	}
	if (fdatasync(fd) < 0) {
		*error_r =
			set_error("fdatasync queue file: %s", strerror(errno));
		return -1;
	}
	return 0;
}
