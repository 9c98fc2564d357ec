/*
 * local_file - /file deliveries (mbox or Maildir) and the copy writer
 *		shared with commands
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	int local_copy_write(int fd, struct local_request *req,
 *			     const struct local_copy *copy);
 *	void local_file_deliver(struct local_ctx *ctx,
 *				struct local_request *req, const char *path,
 *				const struct local_copy *copy,
 *				const struct local_user *u,
 *				struct local_result *res);
 *	void local_become(const struct local_ctx *ctx, uid_t uid, gid_t gid);
 *	void local_become_root(const struct local_ctx *ctx);
 *
 * DESCRIPTION
 *	local_copy_write() writes a message as Postfix's local gives it to
 *	a file or a command: a "From SENDER DATE" line (MAILER-DAEMON for
 *	the null sender), "Return-Path: <SENDER>", "X-Original-To: ORIG",
 *	"Delivered-To: RCPT", then the message with its CRLF line ends
 *	turned into LF.  For an mbox (quote_from) every line that starts
 *	with "From " becomes ">From " and an empty line ends the message.
 *
 *	local_file_deliver() appends to the file (created mode 0600 when
 *	missing) under an exclusive fcntl lock, fsyncs it, and on a write
 *	error cuts the file back to its old size so that no partial
 *	message stays.  A path ending in '/' is a Maildir
 *	(lib/store/maildir.c).  As root it runs with the user's effective
 *	ids (default_privs for aliases).
 *
 * DIAGNOSTICS
 *	A lock not obtained within LOCAL_FILE_LOCK_WAIT seconds, a full
 *	disk or a write error defers (4.2.0); a path that is not a regular
 *	file, a hard-linked file or a symlink bounces (5.2.0), as do
 *	permission problems (5.2.0: Postfix's "cannot append").
 *
 * SECURITY
 *	The file is opened with O_NOFOLLOW and must be a regular file with
 *	one link, so that a user cannot point a file target at something
 *	else; the open happens with the user's ids.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "qfile.h"
#include "strbuf.h"

/* Seconds to wait for an mbox lock. */
#define LOCAL_FILE_LOCK_WAIT 30

/* local_become - effective ids uid/gid (root only; else a no-op) */
void local_become(const struct local_ctx *ctx, uid_t uid, gid_t gid)
{
	if (!ctx->root)
		return;
	if (geteuid() != 0 && seteuid(0) < 0)
		log_fatal("seteuid 0: %m");
	if (setegid(gid) < 0)
		log_fatal("setegid %ld: %m", (long)gid);
	if (setgroups(1, &gid) < 0)
		log_fatal("setgroups %ld: %m", (long)gid);
	if (uid != 0 && seteuid(uid) < 0)
		log_fatal("seteuid %ld: %m", (long)uid);
}

/* local_become_root - back to root's ids after local_become() */
void local_become_root(const struct local_ctx *ctx)
{
	local_become(ctx, 0, 0);
}

/* write_all - the whole buffer, retrying short writes */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* local_copy_write - the message as a file or command gets it */
int local_copy_write(int fd, struct local_request *req,
		     const struct local_copy *copy)
{
	struct strbuf out;
	char date[64], buf[65536];
	time_t now = time(NULL);
	struct tm tm;
	uint64_t pos = 0;
	bool bol = true, cr = false;
	int ret = -1;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_appendf(&out, "From %s  %s\n",
		       copy->sender[0] != '\0' ? copy->sender : "MAILER-DAEMON",
		       date);
	strbuf_appendf(&out, "Return-Path: <%s>\n", copy->sender);
	if (copy->orig_rcpt != NULL && copy->orig_rcpt[0] != '\0')
		strbuf_appendf(&out, "X-Original-To: %s\n", copy->orig_rcpt);
	if (copy->delivered_to != NULL)
		strbuf_appendf(&out, "Delivered-To: %s\n", copy->delivered_to);
	for (;;) {
		ssize_t n = qfile_content_pread(req->q, req->fd, buf,
						sizeof(buf), pos);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		pos += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];

			if (cr) {
				cr = false;
				if (c != '\n')
					strbuf_append(&out, "\r", 1);
			}
			if (c == '\r') {
				cr = true;
				continue;
			}
			if (bol && copy->quote_from && n - i >= 5 &&
			    memcmp(buf + i, "From ", 5) == 0)
				strbuf_append(&out, ">", 1);
			else if (bol && copy->quote_from && c == 'F' &&
				 n - i < 5) {
				/* "From " across a chunk boundary: look at
				 * the file directly. */
				char peek[5];
				ssize_t m = qfile_content_pread(
					req->q, req->fd, peek, 5,
					pos - (uint64_t)(n - i));

				if (m == 5 && memcmp(peek, "From ", 5) == 0)
					strbuf_append(&out, ">", 1);
			}
			strbuf_append(&out, &c, 1);
			bol = c == '\n';
		}
		if (out.len >= sizeof(buf)) {
			if (write_all(fd, out.data, out.len) < 0)
				goto out;
			strbuf_reset(&out);
		}
	}
	if (cr)
		strbuf_append(&out, "\r", 1);
	if (copy->quote_from) {
		/* mbox: the message ends with a newline and an empty line. */
		if (!bol || cr)
			strbuf_append(&out, "\n", 1);
		strbuf_append(&out, "\n", 1);
	}
	if (write_all(fd, out.data, out.len) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&out);
	return ret;
}

/* lock_file - an exclusive fcntl lock, waiting a bounded time */
static int lock_file(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	for (int i = 0; i < LOCAL_FILE_LOCK_WAIT * 10; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return -1;
		usleep(100000);
	}
	errno = EAGAIN;
	return -1;
}

/* append_mbox - the mbox part of local_file_deliver, with the user's ids */
static void append_mbox(struct local_request *req, const char *path,
			const struct local_copy *copy, struct local_result *res)
{
	struct stat st;
	off_t size;
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
			      O_CLOEXEC,
		      0600);

	if (fd < 0) {
		int e = errno;

		local_result_set(
			res,
			e == ENOSPC || e == EIO || e == EMFILE || e == ENFILE
				? LOCAL_DEFERRED
				: LOCAL_BOUNCED,
			e == ENOSPC				 ? "4.3.1"
			: e == EIO || e == EMFILE || e == ENFILE ? "4.2.0"
								 : "5.2.0",
			"cannot append message to file %s: %s", path,
			strerror(e));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		local_result_set(res, LOCAL_BOUNCED, "5.2.0",
				 "cannot append message to file %s: not a "
				 "regular file with one link",
				 path);
		close(fd);
		return;
	}
	if (lock_file(fd) < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.2.0",
				 "cannot lock file %s: %s", path,
				 strerror(errno));
		close(fd);
		return;
	}
	/* The size under the lock: where this message starts. */
	size = fstat(fd, &st) == 0 ? st.st_size : 0;
	if (local_copy_write(fd, req, copy) < 0 || fsync(fd) < 0) {
		int e = errno;

		if (ftruncate(fd, size) < 0)
			log_warn("%s: cannot truncate %s back: %m",
				 req->queue_id, path);
		local_result_set(res, LOCAL_DEFERRED,
				 e == ENOSPC || e == EDQUOT ? "4.3.1" : "4.2.0",
				 "cannot append message to file %s: %s", path,
				 strerror(e));
	} else {
		local_result_set(res, LOCAL_SENT, "2.0.0",
				 "delivered to file: %s", path);
	}
	close(fd); /* releases the lock */
}

/* content_read - maildir_read_fn over the queue file */
struct content_reader {
	struct local_request *req;
	uint64_t pos;
};

static ssize_t content_read(void *arg, void *buf, size_t len)
{
	struct content_reader *cr = arg;
	ssize_t n =
		qfile_content_pread(cr->req->q, cr->req->fd, buf, len, cr->pos);

	if (n > 0)
		cr->pos += (uint64_t)n;
	return n;
}

/* local_file_deliver - a /file target */
void local_file_deliver(struct local_ctx *ctx, struct local_request *req,
			const char *path, const struct local_copy *copy,
			const struct local_user *u, struct local_result *res)
{
	size_t len = strlen(path);

	local_become(ctx, u->uid, u->gid);
	if (len > 0 && path[len - 1] == '/') {
		struct content_reader cr = {req, 0};
		struct maildir_msg msg = {copy->sender, copy->delivered_to,
					  content_read, &cr};
		const char *error;
		int r = maildir_deliver(
			path, &msg,
			ctx->root && u->uid == 0 ? MAILDIR_NO_SYMLINK : 0, NULL,
			&error);

		if (r == 0)
			local_result_set(res, LOCAL_SENT, "2.0.0",
					 "delivered to maildir: %s", path);
		else
			local_result_set(res,
					 r == MAILDIR_ERR_PERM ? LOCAL_BOUNCED
							       : LOCAL_DEFERRED,
					 r == MAILDIR_ERR_PERM ? "5.2.0"
							       : "4.2.0",
					 "maildir delivery failed: %s", error);
	} else {
		append_mbox(req, path, copy, res);
	}
	local_become_root(ctx);
}
