/*
 * qfile - queue file records: writer with the fsync protocol, reader,
 *	   in-place recipient status
 *
 * One queue file holds one message (DESIGN.md §3).  It is a sequence of
 * records, each
 *
 *	u8 type | u32 data length (big-endian) | data
 *
 * in this order:
 *
 *	'V' version	"facteur-qfile/1"; always first
 *	'T' time	arrival: u64 seconds, u32 microseconds (big-endian)
 *	'S' sender	envelope sender, 0..QFILE_ADDR_MAX bytes, "" for <>
 *	'A' attribute	"name=value" (name [a-z0-9_], 1..QFILE_ATTR_NAME_MAX;
 *			value 0..QFILE_ATTR_VALUE_MAX bytes), each name once
 *	'R' recipient	u8 status | u8 notify flags | u16 address length |
 *			address | ORCPT (the rest of the record, may be empty)
 *	'C' content	empty: marks the start of the message content
 *	'M' message	1..QFILE_DATA_RECORD_MAX bytes of content (header and
 *			body, as received, binary-safe)
 *	'E' end		u64 content size | u32 recipient count: written last
 *
 * T, S, A and R make the envelope and may come in any order, T and S
 * exactly once, at least one R.  Then C, any number of M, then E, then
 * nothing.  Strings in the envelope hold no NUL byte (the reader hands
 * them out as C strings); addresses may be UTF-8 (SMTPUTF8).
 *
 * The status byte of a recipient is the first data byte of its record, at
 * a fixed file offset that the reader reports, so that qmgr marks a
 * recipient done with a one-byte pwrite instead of rewriting the file.
 *
 * A file without its E record is incomplete (the writer died before it
 * committed) and must never be delivered; the reader reports it apart from
 * corruption.  The E record repeats the content size and the recipient
 * count, which catches a file cut at a record boundary and then appended to.
 *
 * Durability protocol (the writer):
 *
 *  1. qfile_writer_create() makes "tmp.PID.N" in the given directory with
 *     O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600 and takes the queue id from
 *     its inode and the current time (queue_id.h), so the id is known
 *     (and can be logged) from the start;
 *  2. envelope and content go through a stdio buffer; content is cut into
 *     QFILE_CHUNK_SIZE records as it arrives, so the writer never holds
 *     more than one chunk of the message;
 *  3. qfile_commit() writes E, fflush()es (all the data is written before
 *     the file gets its final name), renames it to its id (in a hashed
 *     subdirectory of the target directory, made when missing) without
 *     ever replacing an existing file, then fsync()s the file, the target
 *     directory (not on ext4, where the file's fsync already made the
 *     new name durable: lib/util/fsinfo.c) and, when it differs, the
 *     source directory.  The fsync comes after the rename so that one
 *     journal commit covers the data and the rename.  A machine crash
 *     before that fsync may leave a torn file under the final name: it
 *     has no valid E record, the reader reports QFILE_ERR_INCOMPLETE (or
 *     CORRUPT) and qmgr moves it to corrupt/ without delivering it; no
 *     250 was given for it.
 *
 * Only when qfile_commit() returned 0 may smtpd answer 250: from then on a
 * crash of the process or the machine cannot lose the message.  Temporary
 * names are never valid queue ids, so a scan of the queue skips them, and
 * whatever is left under one after a crash can be removed.
 */
#ifndef FACTEUR_QFILE_H
#define FACTEUR_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/time.h>

#include "attr.h"
#include "queue_id.h"

#define QFILE_MAGIC "facteur-qfile/1"

/* Record types. */
#define QFILE_REC_VERSION     'V'
#define QFILE_REC_TIME	      'T'
#define QFILE_REC_SENDER      'S'
#define QFILE_REC_ATTR	      'A'
#define QFILE_REC_RCPT	      'R'
#define QFILE_REC_CONTENT     'C'
#define QFILE_REC_DATA	      'M'
#define QFILE_REC_END	      'E'
#define QFILE_REC_HEADER_SIZE 5

/* Limits, checked by the writer and again by the reader. */
#define QFILE_ADDR_MAX	      1024	    /* sender, recipient, ORCPT */
#define QFILE_ATTR_NAME_MAX   ATTR_NAME_MAX /* same rule as IPC names */
#define QFILE_ATTR_VALUE_MAX  4096
#define QFILE_CHUNK_SIZE      (64 * 1024)   /* content per M record written */
#define QFILE_DATA_RECORD_MAX (1024 * 1024) /* content per M record read */

/* Default reader limits (struct qfile_limits). */
#define QFILE_DEFAULT_RECIPIENT_LIMIT 20000
#define QFILE_DEFAULT_ATTR_LIMIT      64

/* Recipient status bytes. */
#define QFILE_RCPT_PENDING   'P' /* not yet delivered: qmgr works on it */
#define QFILE_RCPT_DELIVERED 'D'
#define QFILE_RCPT_BOUNCED   'B' /* failed for good; a DSN was queued */
#define QFILE_RCPT_EXPIRED   'X' /* maximal_queue_lifetime passed */

/* NOTIFY= flags (RFC 3461 §4.1); 0 means no NOTIFY parameter. */
#define QFILE_NOTIFY_SUCCESS 0x01
#define QFILE_NOTIFY_FAILURE 0x02
#define QFILE_NOTIFY_DELAY   0x04
#define QFILE_NOTIFY_NEVER   0x08
#define QFILE_NOTIFY_MASK    0x0f
/*
 * Kept in the same byte, set only by qmgr (qfile_mark_delay_warned(),
 * never by a writer): a delay notice was sent for this recipient, so
 * that delay_warning_time sends one notice, not one per attempt.
 */
#define QFILE_RCPT_DELAY_WARNED 0x80

/* Attribute names that smtpd writes (others may follow, same syntax). */
#define QFILE_ATTR_CLIENT_ADDR "client_address"
#define QFILE_ATTR_CLIENT_NAME "client_name"
#define QFILE_ATTR_HELO	       "helo_name"
#define QFILE_ATTR_PROTOCOL    "protocol" /* SMTP, ESMTPSA, ... */
#define QFILE_ATTR_SASL_USER   "sasl_username"
#define QFILE_ATTR_ENVID       "envid"	  /* RFC 3461 ENVID, xtext */
#define QFILE_ATTR_RET	       "ret"	  /* FULL or HDRS */
#define QFILE_ATTR_SMTPUTF8    "smtputf8" /* "1" when requested */
#define QFILE_ATTR_BODY	       "body"	  /* 7BIT, 8BITMIME, BINARYMIME */
#define QFILE_ATTR_SIZE	       "size"	  /* decimal SIZE= from MAIL */

/*
 * Results of the reader: 0, or one of these (all negative, so "< 0" is
 * the failure test), with *error_r saying what and where.
 */
#define QFILE_ERR_SYSTEM     (-1) /* open/read failed: errno-based text */
#define QFILE_ERR_CORRUPT    (-2) /* not a valid queue file */
#define QFILE_ERR_INCOMPLETE (-3) /* cut short: no end marker reached */

/* ------------------------------------------------------------ writer */

struct qfile_writer;

/*
 * qfile_writer_create - start a queue file under a temporary name in dir
 * and write its version and time records.  arrival is the arrival time to
 * record (pickup keeps the one of the maildrop file); NULL means now.
 * Returns the writer, or NULL with *error_r set ("create DIR/tmp.1.2:
 * Permission denied").
 */
struct qfile_writer *qfile_writer_create(const char *dir,
					 const struct timeval *arrival,
					 const char **error_r);

/*
 * qfile_writer_id - the queue id the file will have once committed.  The
 * string lives as long as the writer.
 */
const char *qfile_writer_id(const struct qfile_writer *w);

/*
 * qfile_writer_path - where the file is now: its temporary path before a
 * successful commit, its final path after.  Lives as long as the writer.
 */
const char *qfile_writer_path(const struct qfile_writer *w);

/*
 * Envelope records, before the first qfile_write_content() call (else
 * panic: a bug).  Each returns 0, or -1 with *error_r when a value is over
 * its limit or a name is malformed (nothing is written then; the writer
 * can go on) or when an earlier write failed (the writer is then dead:
 * only qfile_writer_free() remains).  Strings are C strings.
 *
 * qfile_write_sender - the envelope sender, "" for the null sender <>.
 * Exactly once.
 */
int qfile_write_sender(struct qfile_writer *w, const char *sender,
		       const char **error_r);
/* qfile_write_attr - one attribute; each name at most once (panic). */
int qfile_write_attr(struct qfile_writer *w, const char *name,
		     const char *value, const char **error_r);
/*
 * qfile_write_recipient - one recipient, status pending.  orcpt is the
 * ORCPT parameter as received ("rfc822;bob@example.com") or NULL; notify
 * is a set of QFILE_NOTIFY_* flags.
 */
int qfile_write_recipient(struct qfile_writer *w, const char *address,
			  const char *orcpt, unsigned int notify,
			  const char **error_r);

/*
 * qfile_write_content - append len bytes of message content (any bytes,
 * any chunking: smtpd calls it as DATA arrives).  Returns 0, or -1 with
 * *error_r after a write error (disk full), after which the writer is
 * dead, so that smtpd can stop early instead of at the final dot.
 */
int qfile_write_content(struct qfile_writer *w, const void *data, size_t len,
			const char **error_r);

/* qfile_writer_content_size - content bytes written so far. */
uint64_t qfile_writer_content_size(const struct qfile_writer *w);

/*
 * qfile_commit - finish the file and put it in the queue (the protocol
 * above): target_dir is the queue directory to rename into (NULL: the
 * directory of the temporary file) and hash_depth its hash depth (see
 * queue_id.h).  Requires a sender and at least one recipient (else
 * panic).  Returns 0 when the file is durably in the queue under
 * qfile_writer_id(); then and only then may the client be told 250.
 * Returns -1 with *error_r otherwise, and then no file is left: neither
 * the temporary one nor (when only the final directory fsync failed) the
 * renamed one, so that the client's retry cannot make a duplicate.
 * Either way the writer is finished and qfile_writer_free() remains.
 * Thread-safe for distinct writers (smtpd runs it on worker threads);
 * *error_r then points at a per-thread buffer.
 */
int qfile_commit(struct qfile_writer *w, const char *target_dir,
		 unsigned int hash_depth, const char **error_r);

/*
 * qfile_writer_free - free the writer and set *wp to NULL (NULL is fine).
 * When the file was not committed this is the abort path: the temporary
 * file is closed and removed.
 */
void qfile_writer_free(struct qfile_writer **wp);

/* ------------------------------------------------------------ reader */

/* What a reader accepts beyond the fixed limits above; NULL: defaults. */
struct qfile_limits {
	unsigned int recipient_limit; /* QFILE_DEFAULT_RECIPIENT_LIMIT */
	unsigned int attr_limit;      /* QFILE_DEFAULT_ATTR_LIMIT */
};

struct qfile_rcpt {
	char *address;	     /* never empty */
	char *orcpt;	     /* "" when there was none */
	unsigned int notify; /* QFILE_NOTIFY_* */
	bool delay_warned;   /* QFILE_RCPT_DELAY_WARNED was set */
	int status;	     /* QFILE_RCPT_*, as read */
	off_t status_offset; /* for qfile_mark_recipient() */
};

struct qfile_attr {
	char *name;
	char *value;
};

/* A run of content bytes in the file: one M record's data. */
struct qfile_segment {
	off_t offset;	/* file offset of the first byte */
	uint64_t start; /* content position of the first byte */
	uint32_t len;
};

/*
 * A parsed queue file: the envelope in memory, the content only as file
 * offsets (a delivery agent streams it with qfile_content_pread()).  All
 * strings are owned by the struct and live until qfile_free().
 */
struct qfile {
	int fd;	     /* from qfile_open()/qfile_read_fd(), else -1 */
	bool own_fd; /* qfile_free() closes fd */
	off_t file_size;
	uint64_t arrival_sec;
	uint32_t arrival_usec;
	char *sender; /* "" for <> */
	struct qfile_attr *attrs;
	size_t attr_count;
	struct qfile_rcpt *rcpts;
	size_t rcpt_count;
	/*
	 * Content: content_size bytes in segment_count segments.  A message
	 * under QFILE_CHUNK_SIZE is one segment, so the content is the
	 * contiguous range [content_offset, content_offset + content_size).
	 */
	off_t content_offset; /* first content byte (or where it would be) */
	uint64_t content_size;
	struct qfile_segment *segments;
	size_t segment_count;
};

/*
 * qfile_open - open path (O_RDWR when writable, so that recipients can be
 * marked; O_RDONLY otherwise; never following a symlink, regular files
 * only) and parse it.  On success *q_r owns the descriptor.  Returns 0 or
 * a QFILE_ERR_* with *error_r set (valid until the next qfile call).
 */
int qfile_open(const char *path, bool writable,
	       const struct qfile_limits *limits, struct qfile **q_r,
	       const char **error_r);

/*
 * qfile_read_fd - parse the queue file open on fd (read with pread, so
 * the file offset is left alone).  The caller keeps fd, which must stay
 * open while q is used with it.  Returns as qfile_open().
 */
int qfile_read_fd(int fd, const struct qfile_limits *limits, struct qfile **q_r,
		  const char **error_r);

/*
 * qfile_read_buf - parse a queue file held in memory (tests, fuzzing).
 * Offsets in the result are offsets into data; q->fd is -1.
 */
int qfile_read_buf(const void *data, size_t size,
		   const struct qfile_limits *limits, struct qfile **q_r,
		   const char **error_r);

/* qfile_free - free q (closing its fd if owned); *qp = NULL; NULL ok. */
void qfile_free(struct qfile **qp);

/* qfile_attr - the value of attribute name, or NULL; lives as q. */
const char *qfile_attr(const struct qfile *q, const char *name);

/* qfile_pending_count - recipients still QFILE_RCPT_PENDING. */
size_t qfile_pending_count(const struct qfile *q);

/*
 * qfile_content_pread - read up to len content bytes from content position
 * pos through fd (the file q was parsed from).  Like pread(2): returns the
 * count read (less than len at a record boundary; 0 at the end of the
 * content), or -1 with errno set.
 */
ssize_t qfile_content_pread(const struct qfile *q, int fd, void *buf,
			    size_t len, uint64_t pos);

/*
 * qfile_mark_recipient - set the status byte at offset (a status_offset
 * from the reader) to status, with pwrite(2) and fdatasync(2).  The byte
 * found there must already be a status byte (so a wrong offset cannot
 * damage the file).  Returns 0 or -1 with *error_r (static until the next
 * qfile call).
 *
 * A crash after the pwrite but before the fdatasync may lose the mark:
 * the recipient is then delivered again after restart.  That is the
 * queue's promise: at least once, never lost.  So qmgr marks a recipient
 * only after the delivery agent reported success, never before.
 */
int qfile_mark_recipient(int fd, off_t offset, int status,
			 const char **error_r);

/*
 * qfile_mark_delay_warned - set QFILE_RCPT_DELAY_WARNED in the NOTIFY
 * byte that follows the status byte at offset (a status_offset), with
 * pwrite(2) and fdatasync(2), after checking both bytes.  Returns 0 or
 * -1 with *error_r as qfile_mark_recipient().  A lost mark sends the
 * notice once more.
 */
int qfile_mark_delay_warned(int fd, off_t offset, const char **error_r);

#endif
