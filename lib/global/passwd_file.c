/*
 * passwd_file - Dovecot-compatible passwd-file user database
 *
 * SYNOPSIS
 *	#include "passwd_file.h"
 *
 *	struct passwd_file *pf = passwd_file_open(path, &error);
 *	passwd_file_refresh(pf, &error);
 *	const struct passwd_entry *e = passwd_file_lookup(pf, user);
 *
 * DESCRIPTION
 *	Each line is "user:password:uid:gid:gecos:home:shell:extra", as
 *	Dovecot's passwd-file.  Every field but user may be empty or missing
 *	(fewer colons), as Dovecot tolerates; extra is everything after the
 *	seventh colon, colons included.  Lines end in LF or CRLF; blank
 *	lines and lines whose first non-blank byte is '#' are ignored.
 *
 *	Names: the domain part of "local@domain" (after the last '@') is
 *	lowercased, because domains are case-insensitive; the local part is
 *	kept as written (RFC 5321 lets it be case-sensitive, and Dovecot
 *	lowercases nothing by default).  passwd_file_canon_user() applies
 *	the same rule to a login name so that lookups agree.
 *
 *	uid and gid are decimal numbers or account/group names, resolved
 *	with getpwnam_r(3)/getgrnam_r(3) when the file is loaded.
 *
 *	A user that appears twice keeps its first line (so that a careless
 *	append cannot take over an account); each later one draws a warning
 *	through log_warn().  Lookups use a sorted index (binary search).
 *
 *	passwd_file_refresh() compares the file's inode, size and mtime
 *	(nanoseconds) with what was loaded and re-reads it when one
 *	changed; a file that no longer parses keeps the old contents, so a
 *	half-done edit locks nobody out.
 *
 * DIAGNOSTICS
 *	Errors read "FILE:LINE: what" (or "FILE: what" for the whole file):
 *	empty user name, control character in a name, bad uid or gid,
 *	unknown account or group name, NUL byte, line longer than
 *	PASSWD_FILE_LINE_MAX, file larger than PASSWD_FILE_SIZE_MAX.  The
 *	text lives in a static buffer until the next call.
 *
 * SECURITY
 *	The loaded file holds password hashes: only auth should load it
 *	with passwords (delivery only needs names, homes and ids).  The
 *	file buffer is wiped before it is freed, and so are the entries'
 *	password fields.  Input is bounded in line length and file size.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "passwd_file.h"
#include "strnum.h"

struct passwd_file {
	char *path;		      /* NULL for passwd_file_parse() */
	struct passwd_entry *entries; /* in file order, duplicates dropped */
	size_t count;
	struct passwd_entry **index; /* sorted by user */
	/* What the loaded contents came from (refresh). */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static char passwd_file_errbuf[512];

/* passwd_file_error - format *error_r in the static buffer */
static const char *passwd_file_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *passwd_file_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(passwd_file_errbuf, sizeof(passwd_file_errbuf), fmt, ap);
	va_end(ap);
	return passwd_file_errbuf;
}

/* passwd_entry_clear - free one entry's strings, wiping the password */
static void passwd_entry_clear(struct passwd_entry *e)
{
	free(e->user);
	if (e->password != NULL) {
		memzero_explicit(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->home);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}

/* passwd_file_clear - free the contents, keep path */
static void passwd_file_clear(struct passwd_file *pf)
{
	for (size_t i = 0; i < pf->count; i++)
		passwd_entry_clear(&pf->entries[i]);
	free(pf->entries);
	free(pf->index);
	pf->entries = NULL;
	pf->index = NULL;
	pf->count = 0;
}

/* passwd_file_canon_user - user with its domain part lowercased */
char *passwd_file_canon_user(const char *user)
{
	char *copy = xstrdup(user);
	char *at = strrchr(copy, '@');

	if (at != NULL)
		for (char *p = at + 1; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return copy;
}

/* passwd_file_id - a uid or gid field: number or name; 0 or -1 */
static int passwd_file_id(const char *field, bool group, unsigned *id_r)
{
	unsigned id;
	char buf[4096];

	if (field[0] >= '0' && field[0] <= '9') {
		/* (uid_t)-1 means "no change" to chown(2): never an id. */
		if (str_to_uint(field, &id) < 0 || id == UINT_MAX ||
		    id != (unsigned)(uid_t)id)
			return -1;
		*id_r = id;
		return 0;
	}
	if (group) {
		struct group gr, *res = NULL;

		if (getgrnam_r(field, &gr, buf, sizeof(buf), &res) != 0 ||
		    res == NULL)
			return -1;
		*id_r = (unsigned)res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;

		if (getpwnam_r(field, &pw, buf, sizeof(buf), &res) != 0 ||
		    res == NULL)
			return -1;
		*id_r = (unsigned)res->pw_uid;
	}
	return 0;
}

/*
 * passwd_file_line - parse one non-comment line (NUL-terminated, no line
 * end) into e.  Returns 0, or -1 with *error_r.
 */
static int passwd_file_line(const char *name, int lineno, char *line,
			    struct passwd_entry *e, const char **error_r)
{
	/* user, password, uid, gid, gecos, home, shell, extra */
	char *field[8] = {NULL};
	char *p = line;
	unsigned id;

	for (int i = 0; i < 8 && p != NULL; i++) {
		field[i] = p;
		if (i == 7)
			break; /* extra keeps its colons */
		if ((p = strchr(p, ':')) != NULL)
			*p++ = '\0';
	}
	if (field[0][0] == '\0') {
		*error_r = passwd_file_error("%s:%d: empty user name", name,
					     lineno);
		return -1;
	}
	for (const char *q = field[0]; *q != '\0'; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == ' ') {
			*error_r = passwd_file_error(
				"%s:%d: blank or control character in user "
				"name",
				name, lineno);
			return -1;
		}
	}
	memset(e, 0, sizeof(*e));
	e->line = lineno;
	if (field[2] != NULL && field[2][0] != '\0') {
		if (passwd_file_id(field[2], false, &id) < 0) {
			*error_r = passwd_file_error("%s:%d: bad uid '%.64s'",
						     name, lineno, field[2]);
			return -1;
		}
		e->has_uid = true;
		e->uid = (uid_t)id;
	}
	if (field[3] != NULL && field[3][0] != '\0') {
		if (passwd_file_id(field[3], true, &id) < 0) {
			*error_r = passwd_file_error("%s:%d: bad gid '%.64s'",
						     name, lineno, field[3]);
			return -1;
		}
		e->has_gid = true;
		e->gid = (gid_t)id;
	}
	e->user = passwd_file_canon_user(field[0]);
	e->password = xstrdup(field[1] != NULL ? field[1] : "");
	e->home = xstrdup(field[5] != NULL ? field[5] : "");
	e->extra = xstrdup(field[7] != NULL ? field[7] : "");
	return 0;
}

/* passwd_file_cmp - index order: by user, then by line */
static int passwd_file_cmp(const void *a, const void *b)
{
	const struct passwd_entry *x = *(struct passwd_entry *const *)a;
	const struct passwd_entry *y = *(struct passwd_entry *const *)b;
	int c = strcmp(x->user, y->user);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * passwd_file_index - sort, drop later duplicates (warning), and build
 * the index.  Entries keep their file order.
 */
static void passwd_file_index(struct passwd_file *pf, const char *name)
{
	size_t n = 0;

	pf->index = xreallocarray(NULL, pf->count ? pf->count : 1,
				  sizeof(*pf->index));
	for (size_t i = 0; i < pf->count; i++)
		pf->index[i] = &pf->entries[i];
	qsort(pf->index, pf->count, sizeof(*pf->index), passwd_file_cmp);
	for (size_t i = 0; i < pf->count; i++) {
		if (n > 0 &&
		    strcmp(pf->index[n - 1]->user, pf->index[i]->user) == 0) {
			log_warn("%s:%d: duplicate user %s ignored (first "
				 "defined on line %d)",
				 name, pf->index[i]->line, pf->index[i]->user,
				 pf->index[n - 1]->line);
			/* Mark for removal from entries below. */
			pf->index[i]->line = -pf->index[i]->line;
			continue;
		}
		pf->index[n++] = pf->index[i];
	}
	if (n == pf->count)
		return;

	/* Compact entries in file order and rebuild the index. */
	size_t kept = 0;

	for (size_t i = 0; i < pf->count; i++) {
		if (pf->entries[i].line < 0) {
			passwd_entry_clear(&pf->entries[i]);
			continue;
		}
		pf->entries[kept++] = pf->entries[i];
	}
	pf->count = kept;
	for (size_t i = 0; i < kept; i++)
		pf->index[i] = &pf->entries[i];
	qsort(pf->index, pf->count, sizeof(*pf->index), passwd_file_cmp);
}

/* passwd_file_parse_into - parse text into pf's (empty) contents */
static int passwd_file_parse_into(struct passwd_file *pf, const char *name,
				  const char *text, size_t len,
				  const char **error_r)
{
	char *line = xmalloc(PASSWD_FILE_LINE_MAX + 1);
	size_t cap = 0, pos = 0;
	int lineno = 0, ret = 0;

	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t linelen = nl != NULL ? (size_t)(nl - start) : len - pos;
		size_t skip;

		pos += linelen + (nl != NULL ? 1 : 0);
		lineno++;
		if (linelen > 0 && start[linelen - 1] == '\r')
			linelen--;
		if (linelen > PASSWD_FILE_LINE_MAX) {
			*error_r = passwd_file_error("%s:%d: line too long",
						     name, lineno);
			ret = -1;
			break;
		}
		if (memchr(start, '\0', linelen) != NULL) {
			*error_r = passwd_file_error("%s:%d: NUL byte", name,
						     lineno);
			ret = -1;
			break;
		}
		for (skip = 0; skip < linelen &&
			       (start[skip] == ' ' || start[skip] == '\t');
		     skip++)
			;
		if (skip == linelen || start[skip] == '#')
			continue;
		memcpy(line, start, linelen);
		line[linelen] = '\0';
		if (pf->count == cap) {
			cap = cap ? cap * 2 : 16;
			pf->entries = xreallocarray(pf->entries, cap,
						    sizeof(*pf->entries));
		}
		if (passwd_file_line(name, lineno, line,
				     &pf->entries[pf->count], error_r) < 0) {
			ret = -1;
			break;
		}
		pf->count++;
	}
	memzero_explicit(line, PASSWD_FILE_LINE_MAX + 1);
	free(line);
	if (ret < 0) {
		passwd_file_clear(pf);
		return -1;
	}
	passwd_file_index(pf, name);
	return 0;
}

/* passwd_file_parse - a database from a buffer (no file behind it) */
struct passwd_file *passwd_file_parse(const char *name, const char *text,
				      size_t len, const char **error_r)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));

	if (len > PASSWD_FILE_SIZE_MAX) {
		*error_r = passwd_file_error("%s: file too large", name);
		free(pf);
		return NULL;
	}
	if (passwd_file_parse_into(pf, name, text, len, error_r) < 0) {
		free(pf);
		return NULL;
	}
	return pf;
}

/*
 * passwd_file_load - read path and parse it into pf, which must be empty
 * on entry; on -1 pf stays empty.
 */
static int passwd_file_load(struct passwd_file *pf, const char *path,
			    const char **error_r)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, ret;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		*error_r =
			passwd_file_error("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r =
			passwd_file_error("stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = passwd_file_error("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > PASSWD_FILE_SIZE_MAX) {
		*error_r = passwd_file_error("%s: file too large", path);
		close(fd);
		return -1;
	}
	/* One byte more than stat said, to notice a file that grew. */
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = passwd_file_error("read %s: %s", path,
						     strerror(errno));
			memzero_explicit(buf, got);
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			*error_r = passwd_file_error(
				"%s: file changed while reading", path);
			memzero_explicit(buf, got);
			free(buf);
			close(fd);
			return -1;
		}
	}
	close(fd);
	ret = passwd_file_parse_into(pf, path, buf, got, error_r);
	memzero_explicit(buf, got);
	free(buf);
	if (ret == 0) {
		pf->dev = st.st_dev;
		pf->ino = st.st_ino;
		pf->size = st.st_size;
		pf->mtime = st.st_mtim;
	}
	return ret;
}

/* passwd_file_open - load path */
struct passwd_file *passwd_file_open(const char *path, const char **error_r)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));

	if (passwd_file_load(pf, path, error_r) < 0) {
		free(pf);
		return NULL;
	}
	pf->path = xstrdup(path);
	return pf;
}

/* passwd_file_refresh - re-read when the file changed; 0 or -1 */
int passwd_file_refresh(struct passwd_file *pf, const char **error_r)
{
	struct passwd_file fresh = {0};
	struct stat st;

	if (pf->path == NULL)
		return 0;
	if (stat(pf->path, &st) < 0) {
		*error_r = passwd_file_error("stat %s: %s", pf->path,
					     strerror(errno));
		return -1;
	}
	if (st.st_dev == pf->dev && st.st_ino == pf->ino &&
	    st.st_size == pf->size && st.st_mtim.tv_sec == pf->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == pf->mtime.tv_nsec)
		return 0;
	if (passwd_file_load(&fresh, pf->path, error_r) < 0)
		return -1;
	passwd_file_clear(pf);
	pf->entries = fresh.entries;
	pf->index = fresh.index;
	pf->count = fresh.count;
	pf->dev = fresh.dev;
	pf->ino = fresh.ino;
	pf->size = fresh.size;
	pf->mtime = fresh.mtime;
	return 0;
}

/* passwd_file_lookup - the entry for user, or NULL; valid until refresh */
const struct passwd_entry *passwd_file_lookup(const struct passwd_file *pf,
					      const char *user)
{
	size_t lo = 0, hi = pf->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(user, pf->index[mid]->user);

		if (c == 0)
			return pf->index[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* passwd_file_count - number of distinct users */
size_t passwd_file_count(const struct passwd_file *pf)
{
	return pf->count;
}

/* passwd_file_entry - the i-th entry in file order; valid until refresh */
const struct passwd_entry *passwd_file_entry(const struct passwd_file *pf,
					     size_t i)
{
	if (i >= pf->count)
		log_panic("passwd_file_entry: index %zu out of range", i);
	return &pf->entries[i];
}

/* passwd_file_free - free pf and wipe its hashes; NULL is fine */
void passwd_file_free(struct passwd_file **pfp)
{
	struct passwd_file *pf = *pfp;

	if (pf == NULL)
		return;
	passwd_file_clear(pf);
	free(pf->path);
	free(pf);
	*pfp = NULL;
}
