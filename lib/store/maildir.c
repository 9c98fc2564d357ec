/*
 * maildir - deliver a message into a Maildir
 *
 * SYNOPSIS
 *	#include "maildir.h"
 *
 *	int maildir_deliver(const char *dir, const struct maildir_msg *msg,
 *			    unsigned int flags, char **path_r,
 *			    const char **error_r);
 *	int maildir_unique_name(char *buf, size_t size);
 *
 * DESCRIPTION
 *	See maildir.h for the algorithm.  Directories are opened with
 *	O_DIRECTORY (and O_NOFOLLOW for MAILDIR_NO_SYMLINK) and every file
 *	operation is relative to those descriptors, so a directory swapped
 *	for a symlink between two steps cannot redirect the file.  The tmp/
 *	file is created with O_EXCL|O_NOFOLLOW: an attacker's link in tmp/
 *	makes the create fail instead of writing through it.
 *
 *	Unique names: seconds, microseconds, pid and a per-process counter
 *	make a name no other delivery on this host uses; the host name
 *	makes it unique across hosts sharing the directory.  A collision
 *	(clock set back) is an EEXIST, and we try again with the next
 *	counter value.
 *
 *	CRLF is turned into LF; a CR not followed by LF is kept.  A CR at
 *	the end of one read is held until the next read shows what follows.
 *	The LFs written are counted on the way: the size with CRLF line
 *	ends (",W=", Dovecot's virtual size) is the file size plus that
 *	count, so readers get RFC822.SIZE and the POP3 sizes from the name
 *	without opening the file.
 *
 * DIAGNOSTICS
 *	Returns MAILDIR_ERR_TEMP or MAILDIR_ERR_PERM with a text naming the
 *	operation and the path.  Nothing is logged.
 *
 * SECURITY
 *	Runs with the privileges of the mailbox owner (local switches its
 *	effective ids first), so a user's own directory tree is all it can
 *	touch.  With MAILDIR_NO_SYMLINK (local sets it while it is root),
 *	a Maildir or tmp/new/cur that is a symlink is refused.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "maildir.h"
#include "rename.h"
#include "strbuf.h"

#define MAILDIR_BUF_SIZE   (64 * 1024)
#define MAILDIR_NAME_MAX   512
#define MAILDIR_NAME_TRIES 10

static struct strbuf maildir_error = {0};

/* set_error - format *error_r; errno is read by the caller's format */
static const char *set_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *set_error(const char *fmt, ...)
{
	va_list ap;

	if (maildir_error.limit == 0)
		strbuf_init(&maildir_error, 4096);
	strbuf_reset(&maildir_error);
	va_start(ap, fmt);
	strbuf_vappendf(&maildir_error, fmt, ap);
	va_end(ap);
	return strbuf_cstr(&maildir_error);
}

/*
 * maildir_host - the host part of unique names, made safe (maildir(5):
 * '/' and ':' cannot appear in a name part): gethostname() once per
 * process, not once per message.
 */
static const char *maildir_host(void)
{
	static char safe[256 * 4 + 1];
	char host[256];
	size_t j = 0;

	if (safe[0] != '\0')
		return safe;
	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0; host[i] != '\0'; i++) {
		if (host[i] == '/' || host[i] == ':') {
			int n = snprintf(safe + j, sizeof(safe) - j, "\\%03o",
					 (unsigned char)host[i]);
			j += (size_t)n;
		} else {
			safe[j++] = host[i];
		}
	}
	safe[j] = '\0';
	return safe;
}

/* maildir_unique_name - "time.MusecPpidQn.host" */
int maildir_unique_name(char *buf, size_t size)
{
	static unsigned long counter;
	struct timeval tv;
	int n;

	gettimeofday(&tv, NULL);
	n = snprintf(buf, size, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
		     (long)tv.tv_usec, (long)getpid(), ++counter,
		     maildir_host());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* make_parents - mkdir -p for the directories above path */
static int make_parents(const char *path, const char **error_r)
{
	char *copy = xstrdup(path);

	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			*error_r = set_error("create directory %s: %m", copy);
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

/*
 * open_dir - open name under at, making it (and, for a path from the
 * current directory, its parents) only when it is missing: a delivery
 * into an existing Maildir costs one open per directory, no mkdir.
 */
static int open_dir(int at, const char *name, const char *shown,
		    unsigned int flags, const char **error_r)
{
	int oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	int fd;

	if (flags & MAILDIR_NO_SYMLINK)
		oflags |= O_NOFOLLOW;
	if ((fd = openat(at, name, oflags)) < 0 && errno == ENOENT) {
		if (at == AT_FDCWD && make_parents(name, error_r) < 0)
			return -1;
		if (mkdirat(at, name, 0700) < 0 && errno != EEXIST) {
			*error_r = set_error("create maildir %s: %m", shown);
			return -1;
		}
		fd = openat(at, name, oflags);
	}
	if (fd < 0) {
		*error_r = errno == ELOOP || errno == ENOTDIR
				   ? set_error("open maildir %s: not a "
					       "directory or a symlink",
					       shown)
				   : set_error("open maildir %s: %m", shown);
		return -1;
	}
	return fd;
}

/* out_flush - write what is buffered */
static int out_flush(int fd, struct strbuf *out)
{
	size_t done = 0;

	while (done < out->len) {
		ssize_t n = write(fd, out->data + done, out->len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	strbuf_reset(out);
	return 0;
}

/* count_lf - LFs in what is buffered (each becomes CRLF in the vsize) */
static uint64_t count_lf(const struct strbuf *out)
{
	uint64_t n = 0;
	const char *p = out->data, *end = out->data + out->len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * copy_content - headers, then the content with CRLF -> LF; the byte
 * count written goes to *size_r, the size with CRLF line ends to
 * *vsize_r.  -1 with errno on a write or read error.
 */
static int copy_content(int fd, const struct maildir_msg *msg, uint64_t *size_r,
			uint64_t *vsize_r)
{
	struct strbuf out;
	char *in = xmalloc(MAILDIR_BUF_SIZE);
	bool held_cr = false;
	uint64_t size = 0, lines = 0;
	int ret = -1, saved;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	if (msg->return_path != NULL)
		strbuf_appendf(&out, "Return-Path: <%s>\n", msg->return_path);
	if (msg->delivered_to != NULL)
		strbuf_appendf(&out, "Delivered-To: %s\n", msg->delivered_to);
	for (;;) {
		ssize_t n = msg->read(msg->read_ctx, in, MAILDIR_BUF_SIZE);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		for (size_t i = 0; i < (size_t)n;) {
			const char *cr;
			size_t run;

			if (held_cr) {
				held_cr = false;
				if (in[i] != '\n')
					strbuf_append_char(&out, '\r');
			}
			cr = memchr(in + i, '\r', (size_t)n - i);
			run = cr != NULL ? (size_t)(cr - (in + i))
					 : (size_t)n - i;
			strbuf_append(&out, in + i, run);
			i += run;
			if (cr != NULL) {
				held_cr = true;
				i++;
			}
		}
		if (out.len >= MAILDIR_BUF_SIZE) {
			size += out.len;
			lines += count_lf(&out);
			if (out_flush(fd, &out) < 0)
				goto out;
		}
	}
	if (held_cr)
		strbuf_append_char(&out, '\r');
	size += out.len;
	lines += count_lf(&out);
	if (out_flush(fd, &out) < 0)
		goto out;
	*size_r = size;
	*vsize_r = size + lines;
	ret = 0;
out:
	saved = errno;
	strbuf_release(&out);
	free(in);
	errno = saved;
	return ret;
}

/* maildir_deliver - the algorithm of maildir.h */
int maildir_deliver(const char *dir, const struct maildir_msg *msg,
		    unsigned int flags, char **path_r, const char **error_r)
{
	char name[MAILDIR_NAME_MAX], final[MAILDIR_NAME_MAX + 64];
	char *shown = NULL;
	int top = -1, tmp = -1, new = -1, fd = -1;
	int ret = MAILDIR_ERR_TEMP;
	bool linked = false, created = false;
	uint64_t size = 0, vsize = 0;
	size_t dirlen = strlen(dir);

	/* The Maildir itself: a path without its trailing slash. */
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	shown = xstrndup(dir, dirlen);
	if ((top = open_dir(AT_FDCWD, shown, shown, flags, error_r)) < 0)
		goto out;
	{
		char *sub = xasprintf("%s/tmp", shown);
		char *subn = xasprintf("%s/new", shown);
		char *subc = xasprintf("%s/cur", shown);
		int cur;

		tmp = open_dir(top, "tmp", sub, flags, error_r);
		new = tmp < 0 ? -1 : open_dir(top, "new", subn, flags, error_r);
		cur = new < 0 ? -1 : open_dir(top, "cur", subc, flags, error_r);
		if (cur >= 0)
			close(cur);
		free(sub);
		free(subn);
		free(subc);
		if (cur < 0)
			goto out;
	}
	for (int tries = 0; fd < 0; tries++) {
		if (maildir_unique_name(name, sizeof(name)) < 0) {
			*error_r = set_error("maildir %s: host name too long",
					     shown);
			goto out;
		}
		fd = openat(tmp, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		if (fd < 0 &&
		    (errno != EEXIST || tries >= MAILDIR_NAME_TRIES)) {
			*error_r =
				set_error("create %s/tmp/%s: %m", shown, name);
			goto out;
		}
	}
	created = true;
	if (copy_content(fd, msg, &size, &vsize) < 0) {
		if (errno == EFBIG)
			ret = MAILDIR_ERR_PERM;
		*error_r = set_error("write %s/tmp/%s: %m", shown, name);
		goto out;
	}
	if (fsync(fd) < 0) {
		*error_r = set_error("fsync %s/tmp/%s: %m", shown, name);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = set_error("close %s/tmp/%s: %m", shown, name);
		goto out;
	}
	fd = -1;
	snprintf(final, sizeof(final), "%s,S=%llu,W=%llu", name,
		 (unsigned long long)size, (unsigned long long)vsize);
	if (rename_noreplace(tmp, name, new, final) < 0) {
		*error_r = set_error("rename %s/tmp/%s to new/%s: %m", shown,
				     name, final);
		goto out;
	}
	created = false; /* the tmp/ name went with the rename */
	linked = true;
	if (fsync(new) < 0) {
		*error_r = set_error("fsync %s/new: %m", shown);
		goto out;
	}
	ret = 0;
	if (path_r != NULL)
		*path_r = xasprintf("%s/new/%s", shown, final);
out:
	if (fd >= 0)
		close(fd);
	if (created && unlinkat(tmp, name, 0) < 0 && ret == 0) {
		/* Delivered; a leftover in tmp/ is harmless (cleaned by
		 * readers after 36 hours, as maildir(5) says). */
	}
	if (linked && ret != 0)
		unlinkat(new, final, 0);
	if (top >= 0)
		close(top);
	if (tmp >= 0)
		close(tmp);
	if (new >= 0)
		close(new);
	free(shown);
	return ret;
}
