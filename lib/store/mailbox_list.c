/*
 * mailbox_list - the folders of a store: list, create, delete, rename,
 * subscribe
 *
 * SYNOPSIS
 *	#include "mailbox.h"
 *
 * DESCRIPTION
 *	Folders are the directories ROOT/.NAME (NAME in modified UTF-7,
 *	'.' between levels), as Dovecot's Maildir++ layout; entries whose
 *	name does not decode, or decodes to an invalid name, are not
 *	folders (our own ROOT/..deleted.* directories among them).
 *
 *	ROOT/subscriptions is written in Dovecot 2.3's format: "V\t2",
 *	an empty line, then one name per line in UTF-8 with TAB between
 *	the levels.  The older format (one name per line, '.' between
 *	levels, modified UTF-7) is read too.  It is rewritten through a
 *	temporary file and rename() under an flock of
 *	ROOT/facteur-subscriptions.lock.
 *
 *	Deleting a folder first renames it to ROOT/..deleted.PID.N (one
 *	atomic step: it is gone for everyone) and then removes that tree.
 *	Renaming INBOX moves its messages (new/ and cur/) into the new
 *	folder, where they get new UIDs; other renames move the directory
 *	and its children's, which keep their indexes.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "imap_utf7.h"
#include "mailbox.h"
#include "mailbox_private.h"
#include "strbuf.h"

static const struct {
	const char *name;
	int special;
} specials[] = {
	{"Sent", MAILBOX_SPECIAL_SENT},
	{"Drafts", MAILBOX_SPECIAL_DRAFTS},
	{"Junk", MAILBOX_SPECIAL_JUNK},
	{"Trash", MAILBOX_SPECIAL_TRASH},
	{"Archive", MAILBOX_SPECIAL_ARCHIVE},
};

#define N_SPECIALS (sizeof(specials) / sizeof(*specials))

/* A growing list of names. */
struct names {
	char **v;
	size_t count, alloc;
};

static void names_add(struct names *n, char *name)
{
	if (n->count == n->alloc) {
		n->alloc = n->alloc ? n->alloc * 2 : 16;
		n->v = xreallocarray(n->v, n->alloc, sizeof(*n->v));
	}
	n->v[n->count++] = name;
}

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->v[i]);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names_sort - sort and drop duplicates */
static void names_sort(struct names *n)
{
	size_t j = 0;

	if (n->count > 1)
		qsort(n->v, n->count, sizeof(*n->v), cmp_str);
	for (size_t i = 0; i < n->count; i++) {
		if (j > 0 && strcmp(n->v[j - 1], n->v[i]) == 0)
			free(n->v[i]);
		else
			n->v[j++] = n->v[i];
	}
	n->count = j;
}

/* names_lower_bound - the first name >= key in a sorted list */
static size_t names_lower_bound(const struct names *n, const char *key)
{
	size_t lo = 0, hi = n->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(n->v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* names_find - whether a sorted list holds name */
static bool names_find(const struct names *n, const char *name)
{
	size_t at = names_lower_bound(n, name);

	return at < n->count && strcmp(n->v[at], name) == 0;
}

/* decode_dir - the UTF-8 folder name of the directory entry ".X", or NULL */
static char *decode_dir(const char *entry)
{
	struct strbuf out;

	if (entry[0] != '.' || entry[1] == '\0' || strcmp(entry, "..") == 0)
		return NULL;
	strbuf_init(&out, 4096);
	if (imap_utf7_to_utf8(entry + 1, strlen(entry + 1), &out) < 0 ||
	    !mailbox_name_valid(out.data != NULL ? out.data : "") ||
	    strcasecmp(out.data, "INBOX") == 0) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_steal(&out);
}

/* read_folders - the names of the folder directories under top */
static int read_folders(const char *top, struct names *out,
			const char **error_r)
{
	DIR *d = opendir(top);
	struct dirent *e;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = mbx_error("open %s: %m", top);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *name = decode_dir(e->d_name);
		struct stat st;

		if (name == NULL)
			continue;
		if (e->d_type != DT_DIR &&
		    (e->d_type != DT_UNKNOWN ||
		     fstatat(dirfd(d), e->d_name, &st, 0) < 0 ||
		     !S_ISDIR(st.st_mode))) {
			free(name);
			continue;
		}
		names_add(out, name);
	}
	closedir(d);
	return 0;
}

/*
 * mbx_subscriptions_parse - the names of a subscriptions file (either
 * format): UTF-8, '.' between levels, "INBOX" for any case of it, valid
 * names only, no duplicates, at most MBX_SUBS_MAX of them
 */
char **mbx_subscriptions_parse(const char *data, size_t len, size_t *count_r)
{
	const char *p = data, *end = data + len;
	struct names out = {0};
	bool v2 = false;

	if (len >= 4 && memcmp(data, "V\t2\n", 4) == 0) {
		v2 = true;
		p += 4;
	}
	while (p < end && out.count < MBX_SUBS_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		char *name = xstrndup(p, (size_t)(eol - p));

		p = nl != NULL ? nl + 1 : end;
		if (v2) {
			for (char *q = name; *q != '\0'; q++)
				if (*q == '\t')
					*q = '.';
		} else if (imap_utf7_is_valid(name, strlen(name))) {
			struct strbuf dec;

			strbuf_init(&dec, 4096);
			if (imap_utf7_to_utf8(name, strlen(name), &dec) == 0) {
				free(name);
				name = strbuf_steal(&dec);
			} else {
				strbuf_release(&dec);
			}
		}
		if (strcasecmp(name, "INBOX") == 0) {
			free(name);
			name = xstrdup("INBOX");
		}
		if (strcmp(name, "INBOX") == 0 || mailbox_name_valid(name))
			names_add(&out, name);
		else
			free(name);
	}
	names_sort(&out);
	*count_r = out.count;
	if (out.v == NULL)
		return xcalloc(1, sizeof(char *));
	return out.v;
}

/* read_subscriptions - ROOT/subscriptions in either format */
static int read_subscriptions(const char *top, struct names *out,
			      const char **error_r)
{
	char *path = xasprintf("%s/" MBX_SUBS_FILE, top);
	char *data, **names;
	size_t len, count;

	if (mbx_read_file(AT_FDCWD, path, MBX_SMALL_FILE_MAX, &data, &len) <
	    0) {
		int saved = errno;

		free(path);
		if (saved == ENOENT)
			return 0;
		errno = saved;
		*error_r = mbx_error("read %s/" MBX_SUBS_FILE ": %m", top);
		return -1;
	}
	free(path);
	names = mbx_subscriptions_parse(data, len, &count);
	for (size_t i = 0; i < count; i++)
		names_add(out, names[i]);
	free(names);
	free(data);
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct mailbox_info *x = a, *y = b;

	if (strcmp(x->name, "INBOX") == 0)
		return -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

static int special_of(const char *name)
{
	for (size_t i = 0; i < N_SPECIALS; i++)
		if (strcmp(specials[i].name, name) == 0)
			return specials[i].special;
	return MAILBOX_SPECIAL_NONE;
}

ssize_t mailbox_list(const char *root, struct mailbox_info **list_r,
		     const char **error_r)
{
	char *top = mbx_root(root);
	struct names dirs = {0}, subs = {0}, all = {0};
	struct mailbox_info *list;
	size_t n;

	if (read_folders(top, &dirs, error_r) < 0 ||
	    read_subscriptions(top, &subs, error_r) < 0) {
		free(top);
		names_free(&dirs);
		names_free(&subs);
		return -1;
	}
	free(top);
	names_sort(&dirs);
	names_sort(&subs);
	/* Sorted lists and binary search: thousands of folders stay fast. */
	names_add(&all, xstrdup("INBOX"));
	for (size_t i = 0; i < dirs.count; i++)
		names_add(&all, xstrdup(dirs.v[i]));
	for (size_t i = 0; i < subs.count; i++)
		names_add(&all, xstrdup(subs.v[i]));
	/* Parents that do not exist themselves. */
	n = all.count;
	for (size_t i = 0; i < n; i++) {
		char *parent = xstrdup(all.v[i]), *dot;

		while ((dot = strrchr(parent, '.')) != NULL) {
			*dot = '\0';
			names_add(&all, xstrdup(parent));
		}
		free(parent);
	}
	names_sort(&all);
	list = xcalloc(all.count + 1, sizeof(*list));
	for (size_t i = 0; i < all.count; i++) {
		const char *name = all.v[i];
		char *prefix = xasprintf("%s.", name);
		size_t at = names_lower_bound(&all, prefix);

		list[i].name = xstrdup(name);
		list[i].special = special_of(name);
		list[i].subscribed = names_find(&subs, name);
		list[i].nonexistent =
			strcmp(name, "INBOX") != 0 && !names_find(&dirs, name);
		/* Every name in the list is a folder, a subscription or the
		 * parent of one: any name under this one is a child. */
		list[i].has_children =
			at < all.count &&
			strncmp(all.v[at], prefix, strlen(prefix)) == 0;
		free(prefix);
	}
	qsort(list, all.count, sizeof(*list), cmp_info);
	*list_r = list;
	n = all.count;
	names_free(&dirs);
	names_free(&subs);
	names_free(&all);
	return (ssize_t)n;
}

void mailbox_list_free(struct mailbox_info **listp, size_t count)
{
	if (*listp == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*listp)[i].name);
	free(*listp);
	*listp = NULL;
}

/* exists - whether path is a folder (has cur/) */
static bool exists(const char *path)
{
	char *cur = xasprintf("%s/cur", path);
	struct stat st;
	bool r = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);

	free(cur);
	return r;
}

/* make_parents - the folders above name ("a" and "a.b" for "a.b.c") */
static int make_parents(const char *root, const char *name,
			const char **error_r)
{
	char *copy = xstrdup(name);
	int ret = 0;

	for (char *p = copy; *p != '\0' && ret == 0; p++) {
		char *path;

		if (*p != '.')
			continue;
		*p = '\0';
		path = mbx_folder_path(root, copy, error_r);
		if (path == NULL ||
		    (!exists(path) && mbx_make_folder(path, true, error_r) < 0))
			ret = -1;
		free(path);
		*p = '.';
	}
	free(copy);
	return ret;
}

int mailbox_create(const char *root, const char *name, const char **error_r)
{
	char *top = mbx_root(root), *path;
	int ret = -1;

	if (strcasecmp(name, "INBOX") == 0) {
		*error_r = mbx_error("mailbox already exists");
		free(top);
		return -1;
	}
	if ((path = mbx_folder_path(root, name, error_r)) == NULL) {
		free(top);
		return -1;
	}
	if (exists(path))
		*error_r = mbx_error("mailbox already exists");
	else if (mbx_make_folder(top, false, error_r) == 0 &&
		 make_parents(root, name, error_r) == 0 &&
		 mbx_make_folder(path, true, error_r) == 0)
		ret = 0;
	free(top);
	free(path);
	return ret;
}

/* rmtree - remove a directory tree (a folder being deleted) */
static int rmtree(int at, const char *name)
{
	int fd = openat(at, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return unlinkat(at, name, 0);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type == DT_DIR)
			rmtree(dirfd(d), e->d_name);
		else if (unlinkat(dirfd(d), e->d_name, 0) < 0 &&
			 errno == EISDIR)
			rmtree(dirfd(d), e->d_name);
	}
	closedir(d);
	return unlinkat(at, name, AT_REMOVEDIR);
}

/* has_children - a folder directory named NAME.something */
static bool has_children(const char *root, const char *name)
{
	char *top = mbx_root(root);
	struct names dirs = {0};
	const char *error;
	size_t len = strlen(name);
	bool r = false;

	if (read_folders(top, &dirs, &error) == 0)
		for (size_t i = 0; i < dirs.count && !r; i++)
			r = strncmp(dirs.v[i], name, len) == 0 &&
			    dirs.v[i][len] == '.';
	names_free(&dirs);
	free(top);
	return r;
}

int mailbox_delete(const char *root, const char *name, bool *notfound_r,
		   const char **error_r)
{
	static unsigned counter;
	char *top, *path, *trash;
	int ret = -1;

	if (notfound_r != NULL)
		*notfound_r = false;
	if (strcasecmp(name, "INBOX") == 0) {
		*error_r = mbx_error("cannot delete INBOX");
		return -1;
	}
	if ((path = mbx_folder_path(root, name, error_r)) == NULL) {
		if (notfound_r != NULL)
			*notfound_r = true;
		return -1;
	}
	top = mbx_root(root);
	if (!exists(path)) {
		if (notfound_r != NULL)
			*notfound_r = true;
		*error_r = mbx_error("mailbox does not exist");
	} else if (has_children(root, name)) {
		*error_r = mbx_error("mailbox has children");
	} else {
		trash = xasprintf("%s/..deleted.%ld.%u", top, (long)getpid(),
				  ++counter);
		if (rename(path, trash) < 0) {
			*error_r = mbx_error("rename %s: %m", path);
		} else {
			rmtree(AT_FDCWD, trash);
			ret = 0;
		}
		free(trash);
	}
	free(top);
	free(path);
	return ret;
}

/* move_messages - every file of from/new and from/cur into to/SAME */
static int move_messages(const char *from, const char *to, const char **error_r)
{
	static const char *const subs[] = {"new", "cur"};

	for (size_t k = 0; k < 2; k++) {
		char *src = xasprintf("%s/%s", from, subs[k]);
		char *dst = xasprintf("%s/%s", to, subs[k]);
		DIR *d = opendir(src);
		int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *e;
		int ret = 0;

		if (d == NULL || dfd < 0) {
			*error_r = mbx_error("open %s: %m", d ? dst : src);
			ret = -1;
		}
		while (ret == 0 && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (renameat(dirfd(d), e->d_name, dfd, e->d_name) < 0 &&
			    errno != ENOENT) {
				*error_r = mbx_error("rename %s/%s: %m", src,
						     e->d_name);
				ret = -1;
			}
		}
		if (d != NULL)
			closedir(d);
		if (dfd >= 0)
			close(dfd);
		free(src);
		free(dst);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int mailbox_rename(const char *root, const char *from, const char *to,
		   bool *notfound_r, const char **error_r)
{
	char *top = mbx_root(root), *src = NULL, *dst = NULL;
	struct names dirs = {0};
	int ret = -1;

	if (notfound_r != NULL)
		*notfound_r = false;
	if (strcasecmp(to, "INBOX") == 0) {
		*error_r = mbx_error("mailbox already exists");
		goto out;
	}
	if ((src = mbx_folder_path(root, from, error_r)) == NULL ||
	    !exists(src)) {
		if (notfound_r != NULL)
			*notfound_r = true;
		if (src != NULL)
			*error_r = mbx_error("mailbox does not exist");
		goto out;
	}
	if ((dst = mbx_folder_path(root, to, error_r)) == NULL)
		goto out;
	if (exists(dst)) {
		*error_r = mbx_error("mailbox already exists");
		goto out;
	}
	if (make_parents(root, to, error_r) < 0)
		goto out;
	if (strcasecmp(from, "INBOX") == 0) {
		/* RFC 9051 6.3.6: the messages move, INBOX stays. */
		if (mbx_make_folder(dst, true, error_r) < 0 ||
		    move_messages(src, dst, error_r) < 0)
			goto out;
		ret = 0;
		goto out;
	}
	/* The children first (a.b.c with a.b), then the folder. */
	if (read_folders(top, &dirs, error_r) < 0)
		goto out;
	{
		size_t len = strlen(from);

		for (size_t i = 0; i < dirs.count; i++) {
			char *newname, *cs, *cd;

			if (strncmp(dirs.v[i], from, len) != 0 ||
			    dirs.v[i][len] != '.')
				continue;
			newname = xasprintf("%s%s", to, dirs.v[i] + len);
			cs = mbx_folder_path(root, dirs.v[i], error_r);
			cd = mbx_folder_path(root, newname, error_r);
			if (cs == NULL || cd == NULL || rename(cs, cd) < 0) {
				if (cs != NULL && cd != NULL)
					*error_r =
						mbx_error("rename %s: %m", cs);
				free(cs);
				free(cd);
				free(newname);
				goto out;
			}
			free(cs);
			free(cd);
			free(newname);
		}
	}
	if (rename(src, dst) < 0) {
		*error_r = mbx_error("rename %s: %m", src);
		goto out;
	}
	ret = 0;
out:
	names_free(&dirs);
	free(top);
	free(src);
	free(dst);
	return ret;
}

/* write_subscriptions - names in Dovecot 2.3's format */
static int write_subscriptions(const char *top, const struct names *subs,
			       const char **error_r)
{
	struct strbuf out;
	int dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_append_str(&out, "V\t2\n\n");
	for (size_t i = 0; i < subs->count; i++) {
		for (const char *p = subs->v[i]; *p != '\0'; p++)
			strbuf_append_char(&out, *p == '.' ? '\t' : *p);
		strbuf_append_char(&out, '\n');
	}
	r = dfd < 0 ? -1
		    : mbx_write_file(dfd, MBX_SUBS_FILE, out.data, out.len);
	if (r < 0)
		*error_r = mbx_error("write %s/" MBX_SUBS_FILE ": %m", top);
	if (dfd >= 0)
		close(dfd);
	strbuf_release(&out);
	return r;
}

int mailbox_subscribe(const char *root, const char *name, bool subscribe,
		      const char **error_r)
{
	char *top = mbx_root(root);
	char *lockpath = xasprintf("%s/facteur-subscriptions.lock", top);
	struct names subs = {0};
	const char *canon = strcasecmp(name, "INBOX") == 0 ? "INBOX" : name;
	int lockfd = -1, ret = -1;

	if (strcmp(canon, "INBOX") != 0 && !mailbox_name_valid(canon)) {
		*error_r = mbx_error("invalid mailbox name");
		goto out;
	}
	lockfd =
		open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		*error_r = mbx_error("lock %s: %m", lockpath);
		goto out;
	}
	if (read_subscriptions(top, &subs, error_r) < 0)
		goto out;
	if (subscribe == names_find(&subs, canon)) {
		ret = 0;
		goto out;
	}
	if (subscribe) {
		names_add(&subs, xstrdup(canon));
	} else {
		size_t j = 0;

		for (size_t i = 0; i < subs.count; i++) {
			if (strcmp(subs.v[i], canon) == 0)
				free(subs.v[i]);
			else
				subs.v[j++] = subs.v[i];
		}
		subs.count = j;
	}
	ret = write_subscriptions(top, &subs, error_r);
out:
	if (lockfd >= 0)
		close(lockfd);
	names_free(&subs);
	free(lockpath);
	free(top);
	return ret;
}

int mailbox_ensure_special(const char *root, const char **error_r)
{
	char *top = mbx_root(root);
	int ret = 0;

	if (mbx_make_folder(top, false, error_r) < 0) {
		free(top);
		return -1;
	}
	free(top);
	for (size_t i = 0; i < N_SPECIALS && ret == 0; i++) {
		char *path = mbx_folder_path(root, specials[i].name, error_r);

		if (path == NULL)
			ret = -1;
		else if (!exists(path) &&
			 (mbx_make_folder(path, true, error_r) < 0 ||
			  mailbox_subscribe(root, specials[i].name, true,
					    error_r) < 0))
			ret = -1;
		free(path);
	}
	return ret;
}
