/*
 * local_forward - .forward and :include: files
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	char **local_forward_split(const char *text, size_t len,
 *				   const char **error_r);
 *	int local_forward_read(const char *path, uid_t uid,
 *			       char ***entries_r, struct local_result *res);
 *	void local_forward_free(char **entries);
 *
 * DESCRIPTION
 *	A .forward (forward_path, default $home/.forward) or :include:
 *	file holds a list of destinations as an alias value does:
 *	addresses, "\user" (that user's mailbox, no further forwarding),
 *	"|command", "/file" and ":include:/file", separated by commas or
 *	newlines.  Lines starting with '#' are comments.  An entry may be
 *	quoted ("|/usr/bin/vacation, -a x") to hold commas; the quotes go.
 *
 *	local_forward_read() opens the file without following a symlink
 *	as the last component, and trusts it only when it is a regular
 *	file owned by the user (or root) that neither its group nor others
 *	may write: Postfix's rule, so that nobody else can make local run
 *	commands as the user.
 *
 * DIAGNOSTICS
 *	No file, or one local may not open (EACCES, logged): 0 (the
 *	mailbox is used).  An unsafe file bounces (5.7.1,
 *	so that the user notices); a file that cannot be read, or is
 *	larger than LOCAL_FORWARD_SIZE_MAX, defers or bounces with a
 *	reason naming the path.
 *
 * SECURITY
 *	The content is the user's: bounded in size and entry count.  The
 *	caller runs with the user's ids while root, so the open itself is
 *	checked by the kernel as the user.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"

/* The largest .forward or :include: file read. */
#define LOCAL_FORWARD_SIZE_MAX (256 * 1024)

/* add_entry - trim and append one entry (quotes removed) */
static int add_entry(char ***list, size_t *count, const char *start,
		     const char *end)
{
	while (start < end &&
	       (*start == ' ' || *start == '\t' || *start == '\r'))
		start++;
	while (end > start &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (end - start >= 2 && *start == '"' && end[-1] == '"') {
		start++;
		end--;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	if (start == end)
		return 0;
	if (*count >= LOCAL_ALIAS_TARGETS_MAX)
		return -1;
	*list = xreallocarray(*list, *count + 2, sizeof(char *));
	(*list)[(*count)++] = xstrndup(start, (size_t)(end - start));
	(*list)[*count] = NULL;
	return 0;
}

/* local_forward_split - the entries of a list file */
char **local_forward_split(const char *text, size_t len, const char **error_r)
{
	char **list = xcalloc(1, sizeof(char *));
	size_t count = 0;
	const char *p = text, *end = text + len, *start = text;
	bool quoted = false, bol = true;

	while (p < end) {
		char c = *p;

		if (bol && c == '#') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl != NULL ? nl + 1 : end;
			start = p;
			continue;
		}
		bol = false;
		if (c == '"') {
			quoted = !quoted;
		} else if (c == '\n' || (c == ',' && !quoted) || c == '\0') {
			if (add_entry(&list, &count, start, p) < 0)
				goto too_many;
			if (c == '\n') {
				quoted = false;
				bol = true;
			}
			start = p + 1;
		}
		p++;
	}
	if (add_entry(&list, &count, start, end) < 0)
		goto too_many;
	return list;
too_many:
	*error_r = "too many entries";
	local_forward_free(list);
	return NULL;
}

/* local_forward_read - a trusted list file, split */
int local_forward_read(const char *path, uid_t uid, char ***entries_r,
		       struct local_result *res)
{
	struct stat st;
	char *buf = NULL;
	const char *error;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) <
	    0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno == EACCES) {
			/* A home we may not read (an unprivileged instance
			 * and another user's home): as no file, as Postfix. */
			log_warn("cannot open %s: %s (ignored)", path,
				 strerror(errno));
			return 0;
		}
		if (errno == ELOOP) {
			local_result_set(res, LOCAL_BOUNCED, "5.7.1",
					 "refusing symlinked file %s", path);
			return -1;
		}
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != uid && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		local_result_set(res, LOCAL_BOUNCED, "5.7.1",
				 "unsafe file %s: not a regular file owned "
				 "by the user or root, or writable by group "
				 "or others",
				 path);
		close(fd);
		return -1;
	}
	if (st.st_size > LOCAL_FORWARD_SIZE_MAX) {
		local_result_set(res, LOCAL_BOUNCED, "5.3.0",
				 "file %s is too large", path);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			local_result_set(res, LOCAL_DEFERRED, "4.3.0",
					 "cannot read %s: %s", path,
					 strerror(errno));
			close(fd);
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*entries_r = local_forward_split(buf, len, &error);
	free(buf);
	if (*entries_r == NULL) {
		local_result_set(res, LOCAL_BOUNCED, "5.3.0", "%s: %s", path,
				 error);
		return -1;
	}
	return 1;
}

/* local_forward_free - free a list of entries */
void local_forward_free(char **entries)
{
	if (entries == NULL)
		return;
	for (size_t i = 0; entries[i] != NULL; i++)
		free(entries[i]);
	free(entries);
}
