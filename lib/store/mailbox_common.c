/*
 * mailbox_common - errors, folder paths, keywords, UIDVALIDITY
 *
 * SYNOPSIS
 *	#include "mailbox_private.h"
 *
 * DESCRIPTION
 *	dovecot-keywords is Dovecot's: one "<index> <name>" line per
 *	keyword, the index being the letter ('a' + index) in file names.
 *	It belongs to the whole store (all folders share the letters), and
 *	is rewritten (temporary file + rename) under an flock of
 *	ROOT/facteur-keywords.lock when a keyword is added, so that two
 *	processes never give one letter two names.
 *
 *	ROOT/facteur-uidvalidity holds the last UIDVALIDITY given to a
 *	folder of this store: a folder deleted and made again in the same
 *	second still gets a new one.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "imap_utf7.h"
#include "mailbox_private.h"
#include "strbuf.h"
#include "strnum.h"

static struct strbuf error_buf = {0};

const char *mbx_error(const char *fmt, ...)
{
	va_list ap;

	if (error_buf.limit == 0)
		strbuf_init(&error_buf, 4096);
	strbuf_reset(&error_buf);
	va_start(ap, fmt);
	strbuf_vappendf(&error_buf, fmt, ap);
	va_end(ap);
	return strbuf_cstr(&error_buf);
}

char *mbx_root(const char *root)
{
	size_t len = strlen(root);

	while (len > 1 && root[len - 1] == '/')
		len--;
	return xstrndup(root, len);
}

int mbx_name_encode(const char *name, struct strbuf *out)
{
	return imap_utf8_to_utf7(name, strlen(name), out);
}

bool mailbox_name_valid(const char *name)
{
	struct strbuf enc;
	size_t len = strlen(name);
	bool ok;

	if (len == 0 || name[0] == '.' || name[len - 1] == '.' ||
	    strstr(name, "..") != NULL || strchr(name, '/') != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	strbuf_init(&enc, 1024);
	ok = mbx_name_encode(name, &enc) == 0 && enc.len + 1 <= 255;
	strbuf_release(&enc);
	return ok;
}

char *mbx_folder_path(const char *root, const char *name, const char **error_r)
{
	struct strbuf path;
	char *top;

	if (strcasecmp(name, "INBOX") == 0)
		return mbx_root(root);
	if (!mailbox_name_valid(name)) {
		*error_r = mbx_error("invalid mailbox name");
		return NULL;
	}
	top = mbx_root(root);
	strbuf_init(&path, STRBUF_NO_LIMIT);
	strbuf_appendf(&path, "%s/.", top);
	mbx_name_encode(name, &path);
	free(top);
	return strbuf_steal(&path);
}

/*
 * The first read of a delivered message updates its atime even under
 * relatime, an inode write per message that nobody reads for Maildir
 * (and a cold SELECT reads them all).  O_NOATIME is refused (EPERM) for
 * a file of another owner (shared folders, a delivery agent run as
 * root); those are opened plainly.
 */
int mbx_open_message(int dirfd, const char *name)
{
	int fd = openat(dirfd, name,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

int mbx_read_file(int at, const char *name, size_t max, char **data_r,
		  size_t *len_r)
{
	int fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t len = 0, alloc;
	char *data;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int saved = S_ISREG(st.st_mode) ? errno : EINVAL;

		close(fd);
		errno = saved;
		return -1;
	}
	alloc = (size_t)st.st_size + 1;
	if (alloc > max + 1)
		alloc = max + 1;
	data = xmalloc(alloc + 1);
	for (;;) {
		ssize_t n;

		if (len == alloc) {
			if (alloc > max)
				break;
			alloc = alloc * 2 > max + 1 ? max + 1 : alloc * 2;
			data = xreallocarray(data, alloc + 1, 1);
		}
		n = read(fd, data + len, alloc - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			free(data);
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > max) {
		free(data);
		errno = EFBIG;
		return -1;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

int mbx_write_file(int dirfd, const char *name, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", name, (long)getpid());
	int fd = openat(dirfd, tmp,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			0600);
	size_t done = 0;
	int saved;

	if (fd < 0)
		goto fail;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	free(tmp);
	errno = saved;
	return -1;
}

bool mbx_keyword_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 200 || name[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void mbx_keywords_clear(struct mbx_keywords *kw)
{
	for (size_t i = 0; i < MAILBOX_KEYWORDS_MAX; i++)
		free(kw->names[i]);
	memset(kw, 0, sizeof(*kw));
}

/* mbx_keywords_parse - "<index> <name>" lines; bad lines are skipped */
void mbx_keywords_parse(struct mbx_keywords *kw, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	for (size_t i = 0; i < MAILBOX_KEYWORDS_MAX; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		unsigned idx = 0;
		const char *q = p;

		while (q < eol && *q >= '0' && *q <= '9' && idx < 1000)
			idx = idx * 10 + (unsigned)(*q++ - '0');
		if (q > p && q < eol && *q == ' ' &&
		    idx < MAILBOX_KEYWORDS_MAX && kw->names[idx] == NULL) {
			char *name = xstrndup(q + 1, (size_t)(eol - q - 1));

			if (mbx_keyword_valid(name))
				kw->names[idx] = name;
			else
				free(name);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	for (kw->count = 0;
	     kw->count < MAILBOX_KEYWORDS_MAX && kw->names[kw->count] != NULL;
	     kw->count++)
		;
}

int mbx_keywords_refresh(struct mbx_keywords *kw, const char *root,
			 const char **error_r)
{
	char *path = xasprintf("%s/" MBX_KEYWORDS_FILE, root);
	struct stat st;
	char *data;
	size_t len;

	if (stat(path, &st) < 0) {
		int saved = errno;

		free(path);
		if (saved != ENOENT) {
			errno = saved;
			*error_r = mbx_error(
				"stat %s/" MBX_KEYWORDS_FILE ": %m", root);
			return -1;
		}
		if (kw->loaded && kw->size != -1)
			mbx_keywords_parse(kw, "", 0);
		kw->loaded = true;
		kw->size = -1;
		return 0;
	}
	free(path);
	if (kw->loaded && st.st_size == kw->size &&
	    st.st_mtim.tv_sec == kw->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == kw->mtime.tv_nsec)
		return 0;
	if (mbx_read_file(AT_FDCWD,
			  (path = xasprintf("%s/" MBX_KEYWORDS_FILE, root)),
			  MBX_SMALL_FILE_MAX, &data, &len) < 0) {
		*error_r = mbx_error("read %s: %m", path);
		free(path);
		return -1;
	}
	free(path);
	mbx_keywords_parse(kw, data, len);
	free(data);
	kw->loaded = true;
	kw->size = st.st_size;
	kw->mtime = st.st_mtim;
	return 0;
}

/* lock_file - an flock'd descriptor of root/name, or -1 */
static int lock_file(const char *root, const char *name)
{
	char *path = xasprintf("%s/%s", root, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	free(path);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* find_keyword - index of name (case-insensitive as IMAP), or -1 */
static int find_keyword(const struct mbx_keywords *kw, const char *name)
{
	for (size_t i = 0; i < MAILBOX_KEYWORDS_MAX; i++)
		if (kw->names[i] != NULL && strcasecmp(kw->names[i], name) == 0)
			return (int)i;
	return -1;
}

int mbx_keywords_bits(struct mbx_keywords *kw, const char *root,
		      const char *const *names, size_t count, uint32_t *bits_r,
		      const char **error_r)
{
	uint32_t bits = 0;
	bool missing = false;
	int lockfd = -1, ret = -1;

	for (size_t i = 0; i < count; i++) {
		int k;

		if (!mbx_keyword_valid(names[i])) {
			*error_r = mbx_error("invalid keyword");
			return -1;
		}
		if ((k = find_keyword(kw, names[i])) < 0)
			missing = true;
		else
			bits |= 1u << k;
	}
	if (!missing) {
		*bits_r = bits;
		return 0;
	}
	if ((lockfd = lock_file(root, "facteur-keywords.lock")) < 0) {
		*error_r = mbx_error("lock %s/facteur-keywords.lock: %m", root);
		return -1;
	}
	if (mbx_keywords_refresh(kw, root, error_r) < 0)
		goto out;
	bits = 0;
	missing = false;
	for (size_t i = 0; i < count; i++) {
		int k = find_keyword(kw, names[i]);

		if (k < 0) {
			size_t free_slot = 0;

			while (free_slot < MAILBOX_KEYWORDS_MAX &&
			       kw->names[free_slot] != NULL)
				free_slot++;
			if (free_slot == MAILBOX_KEYWORDS_MAX) {
				*error_r = mbx_error("too many keywords");
				goto out;
			}
			kw->names[free_slot] = xstrdup(names[i]);
			k = (int)free_slot;
			missing = true;
		}
		bits |= 1u << k;
	}
	if (missing) {
		struct strbuf out;
		int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		int r;

		strbuf_init(&out, STRBUF_NO_LIMIT);
		for (size_t i = 0; i < MAILBOX_KEYWORDS_MAX; i++)
			if (kw->names[i] != NULL)
				strbuf_appendf(&out, "%zu %s\n", i,
					       kw->names[i]);
		r = dirfd < 0 ? -1
			      : mbx_write_file(dirfd, MBX_KEYWORDS_FILE,
					       out.data, out.len);
		if (r == 0 && fstatat(dirfd, MBX_KEYWORDS_FILE, &st, 0) == 0) {
			kw->size = st.st_size;
			kw->mtime = st.st_mtim;
		}
		if (r < 0)
			*error_r = mbx_error(
				"write %s/" MBX_KEYWORDS_FILE ": %m", root);
		if (dirfd >= 0)
			close(dirfd);
		strbuf_release(&out);
		for (kw->count = 0; kw->count < MAILBOX_KEYWORDS_MAX &&
				    kw->names[kw->count] != NULL;
		     kw->count++)
			;
		if (r < 0) {
			kw->loaded = false; /* read the file again */
			goto out;
		}
	}
	*bits_r = bits;
	ret = 0;
out:
	close(lockfd);
	return ret;
}

uint32_t mbx_new_uidvalidity(const char *root, uint32_t above)
{
	char *path = xasprintf("%s/" MBX_UIDV_FILE, root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	uint32_t now = (uint32_t)time(NULL), last = 0, v;
	char buf[32];
	ssize_t n;

	free(path);
	if (fd >= 0) {
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			unsigned int num;

			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (str_to_uint(buf, &num) == 0)
				last = num;
		}
	}
	v = now;
	if (v <= last)
		v = last + 1;
	if (v <= above)
		v = above + 1;
	if (v == 0)
		v = 1;
	if (fd >= 0) {
		int len = snprintf(buf, sizeof(buf), "%u\n", v);

		if (ftruncate(fd, 0) == 0 &&
		    pwrite(fd, buf, (size_t)len, 0) == len) {
			/* remembered */
		}
		close(fd);
	}
	return v;
}
