/*
 * mailbox - one session's view of a Maildir folder
 *
 * SYNOPSIS
 *	#include "mailbox.h"
 *
 * DESCRIPTION
 *	A struct mailbox is what one session (IMAP SELECT, a POP3
 *	maildrop, an APPEND) has of a folder: the UIDs the client knows by
 *	sequence number, and what is needed to tell it what changed since
 *	its last sync.  Everything else is the folder's, shared by all the
 *	sessions of this process that have it open (mailbox_folder.c): the
 *	index with the file names, the keywords, the descriptors, the
 *	lock, the inotify watch.  So a session costs 4 bytes per message
 *	(its UID), not a copy of the index.
 *
 *	A message of the view shows the folder's current record of its
 *	UID (flags as they are now, this session's and others'), or, when
 *	it was expunged since the session's last sync, the record as it
 *	was (kept by the folder until every session has synced past it).
 *	mailbox_sync() catches the folder up (lock, index, scan, unlock)
 *	and merges: UIDs gone are expunges, a record whose modseq is above
 *	the highest the session has taken is a flag update, unless it is
 *	the session's own STORE (kept in own[] until the sync, which is
 *	how a change a handle made itself is not reported again), UIDs
 *	above the view's last are new.  \Recent is per session: the UID
 *	ranges its read-write scans took (recent[]).
 *
 *	A session whose index was rebuilt (a damaged file replaced,
 *	UIDVALIDITY changed) cannot go on: mailbox_sync() fails and the
 *	caller ends the session (IMAP: BYE).
 *
 * DIAGNOSTICS
 *	Functions return -1 with *error_r (static until the next call of
 *	any mailbox function).  A view index out of range in mailbox_msg()
 *	is a bug (log_panic).
 *
 * SECURITY
 *	Runs as the mail user; see mailbox_folder.c for the file names.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "maildir.h"
#include "mailbox.h"
#include "mailbox_folder.h"
#include "mailbox_index.h"
#include "mailbox_private.h"
#include "strbuf.h"

/* Files in tmp/ older than this are leftovers of killed writers. */
#define MBX_TMP_MAX_AGE (36 * 3600)

/* UIDs lo..hi-1 that one scan of this session took as \Recent. */
struct mbx_range {
	uint32_t lo, hi;
};

/* A STORE of this session since its last sync: the modseq it gave. */
struct mbx_own {
	uint32_t uid;
	uint64_t modseq;
};

struct mailbox {
	struct mbx_folder *f;
	struct mailbox *prev, *next; /* the folder's sessions */
	unsigned flags;
	bool opened;	      /* the view was given to the caller */
	bool waiting;	      /* one of the folder's IDLE waiters */
	uint32_t uidvalidity; /* the index's changed: rebuilt, end */
	uint32_t *uids;	      /* sequence number - 1 -> UID, ascending */
	size_t count;
	uint64_t modseq; /* the folder's HIGHESTMODSEQ at the last merge */
	uint64_t stamp;	 /* the folder's stamp at the last merge */
	struct mbx_range *recent;
	size_t recent_ranges, recent_count;
	struct mbx_own *own;
	size_t own_count, own_alloc;
};

/* --- what only this session knows ---------------------------------- */

/* recent_add - UIDs [lo, hi) are \Recent for this session */
static void recent_add(struct mailbox *mb, uint32_t lo, uint32_t hi)
{
	struct mbx_range *last;

	if (lo >= hi)
		return;
	last = mb->recent_ranges > 0 ? &mb->recent[mb->recent_ranges - 1]
				     : NULL;
	if (last != NULL && last->hi == lo) {
		last->hi = hi;
		return;
	}
	mb->recent = xreallocarray(mb->recent, mb->recent_ranges + 1,
				   sizeof(*mb->recent));
	mb->recent[mb->recent_ranges].lo = lo;
	mb->recent[mb->recent_ranges].hi = hi;
	mb->recent_ranges++;
}

static bool is_recent(const struct mailbox *mb, uint32_t uid)
{
	for (size_t k = 0; k < mb->recent_ranges; k++)
		if (uid >= mb->recent[k].lo && uid < mb->recent[k].hi)
			return true;
	return false;
}

static void own_add(struct mailbox *mb, uint32_t uid, uint64_t modseq)
{
	if (mb->own_count == mb->own_alloc) {
		mb->own_alloc = mb->own_alloc ? mb->own_alloc * 2 : 8;
		mb->own =
			xreallocarray(mb->own, mb->own_alloc, sizeof(*mb->own));
	}
	mb->own[mb->own_count].uid = uid;
	mb->own[mb->own_count].modseq = modseq;
	mb->own_count++;
}

static int cmp_own(const void *a, const void *b)
{
	const struct mbx_own *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq;
}

/* own_state - whether uid at modseq is the state this session's STORE
 * gave it (own[] sorted; the last STORE of a UID has the highest) */
static bool own_state(const struct mailbox *mb, uint32_t uid, uint64_t modseq)
{
	size_t lo = 0, hi = mb->own_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb->own[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && mb->own[lo - 1].uid == uid &&
	       mb->own[lo - 1].modseq == modseq;
}

/* caught_up - mb takes the folder's stamp (it synced, or it goes) */
static void caught_up(struct mailbox *mb)
{
	if (mb->stamp < mb->f->stamp && mb->f->lagging > 0)
		mb->f->lagging--;
	mb->stamp = mb->f->stamp;
}

/*
 * prune - free the expunged records no session of the folder shows:
 * all of them once every view has synced since the last expunge.  O(1):
 * with 10,000 IDLE sessions on a folder, a walk over the views at each
 * of their syncs made one delivery or expunge cost 10^8 steps.
 */
static void prune(struct mbx_folder *f)
{
	if (f->gone_count > 0 && f->lagging == 0)
		mbx_folder_prune(f, f->stamp);
}

/* --- the view ------------------------------------------------------ */

/* view_merge - the new view from the folder's index, with what changed */
static void view_merge(struct mailbox *mb, struct mailbox_changes *ch)
{
	const struct mbx_index *ix = &mb->f->ix;
	const uint32_t *old = mb->uids;
	size_t old_count = mb->count, i = 0, j = 0, n = 0;
	uint32_t last_uid = old_count > 0 ? old[old_count - 1] : 0;
	uint32_t *nv = xreallocarray(NULL, ix->count + 1, sizeof(*nv));
	size_t *exp = NULL, exp_count = 0;
	size_t *chg = NULL, chg_count = 0;

	if (ch != NULL) {
		exp = xcalloc(old_count + 1, sizeof(*exp));
		chg = xcalloc(ix->count + 1, sizeof(*chg));
	}
	if (mb->own_count > 1)
		qsort(mb->own, mb->own_count, sizeof(*mb->own), cmp_own);
	while (i < old_count || j < ix->count) {
		const struct mbx_rec *rec = j < ix->count ? &ix->recs[j] : NULL;

		if (i < old_count && (rec == NULL || old[i] < rec->uid)) {
			if (exp != NULL)
				exp[exp_count++] = i;
			i++;
		} else if (i < old_count && old[i] == rec->uid) {
			/* Changed since the session last looked, and not
			 * to what its own STORE made it. */
			if (chg != NULL && rec->modseq > mb->modseq &&
			    !own_state(mb, rec->uid, rec->modseq))
				chg[chg_count++] = n;
			nv[n++] = rec->uid;
			i++, j++;
		} else if (rec->uid > last_uid) {
			nv[n++] = rec->uid;
			j++;
		} else {
			j++; /* below the view's last UID: cannot show it */
		}
	}
	mb->recent_count = 0;
	for (size_t k = 0; k < n && mb->recent_ranges > 0; k++)
		if (is_recent(mb, nv[k]))
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
			if (nv[k] > last_uid)
				ch->new_count++;
	}
	free(mb->uids);
	/* Only what the view holds: a session costs 4 bytes a message. */
	mb->uids = xreallocarray(nv, n + 1, sizeof(*nv));
	mb->count = n;
	free(mb->own);
	mb->own = NULL;
	mb->own_count = mb->own_alloc = 0;
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
static void clean_tmp(struct mbx_folder *f)
{
	int fd = openat(f->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
	struct mbx_folder *f;
	char *path, *top;
	bool inbox;

	*notfound_r = false;
	if ((path = mbx_folder_path(root, name, error_r)) == NULL) {
		*notfound_r = true;
		return NULL;
	}
	top = mbx_root(root);
	inbox = strcmp(path, top) == 0;
	if (flags & MAILBOX_CREATE) {
		if ((!inbox && make_folder(top, false, error_r) < 0) ||
		    make_folder(path, !inbox, error_r) < 0) {
			free(top);
			free(path);
			return NULL;
		}
	}
	f = mbx_folder_open(top, path, notfound_r, error_r);
	free(top);
	free(path);
	if (f == NULL)
		return NULL;
	mb = xcalloc(1, sizeof(*mb));
	mb->f = f;
	mb->flags = flags;
	mb->stamp = f->stamp;
	mb->next = f->views;
	if (f->views != NULL)
		f->views->prev = mb;
	f->views = mb;
	f->view_count++;
	if (mbx_keywords_refresh(&f->kw, f->root, error_r) < 0 ||
	    mailbox_sync(mb, NULL, error_r) < 0) {
		mailbox_close(&mb);
		return NULL;
	}
	if (!(flags & MAILBOX_READONLY))
		clean_tmp(f);
	return mb;
}

void mailbox_close(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;

	if (mb == NULL)
		return;
	mailbox_wait_stop(mb);
	mbx_cache_flush(mb->f);
	/* Doubly linked: 10,000 sessions closing cost 10,000 steps, not
	 * a walk each. */
	if (mb->prev != NULL)
		mb->prev->next = mb->next;
	else
		mb->f->views = mb->next;
	if (mb->next != NULL)
		mb->next->prev = mb->prev;
	mb->f->view_count--;
	caught_up(mb);
	prune(mb->f);
	mbx_folder_close(&mb->f);
	free(mb->uids);
	free(mb->recent);
	free(mb->own);
	free(mb);
	*mbp = NULL;
}

int mailbox_sync(struct mailbox *mb, struct mailbox_changes *changes,
		 const char **error_r)
{
	struct mbx_folder *f = mb->f;
	uint32_t lo, hi;

	if (changes != NULL)
		memset(changes, 0, sizeof(*changes));
	if (mbx_folder_begin(f, error_r) < 0)
		return -1;
	if (mbx_folder_scan(f, !(mb->flags & MAILBOX_READONLY), &lo, &hi,
			    error_r) < 0) {
		mbx_folder_abandon(f);
		return -1;
	}
	if (mbx_folder_end(f, error_r) < 0)
		return -1;
	recent_add(mb, lo, hi);
	if (mbx_keywords_refresh(&f->kw, f->root, error_r) < 0)
		return -1;
	if (mb->opened && mb->uidvalidity != f->ix.uidvalidity) {
		*error_r = mbx_error("%s: the index was rebuilt (UIDVALIDITY "
				     "changed)",
				     f->path);
		return -1;
	}
	mb->uidvalidity = f->ix.uidvalidity;
	/* Nothing changed since the last merge (every change bumps the
	 * modseq) and nothing became \Recent: keep the view.  An idle
	 * session's periodic sync then costs no pass over the messages. */
	if (!mb->opened || mb->modseq != f->ix.highestmodseq ||
	    mb->own_count > 0 || lo < hi)
		view_merge(mb, changes);
	mb->modseq = f->ix.highestmodseq;
	caught_up(mb);
	mb->opened = true;
	prune(f);
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
	return mb->count;
}

void mailbox_msg(const struct mailbox *mb, size_t i, struct mailbox_msg *m)
{
	const struct mbx_rec *rec;

	if (i >= mb->count)
		log_panic("%s: message %zu of %zu", mb->f->path, i, mb->count);
	memset(m, 0, sizeof(*m));
	m->uid = mb->uids[i];
	m->name = "";
	/* Not found would mean a record lost under a view, which the
	 * folder never does; show an empty message rather than crash. */
	if ((rec = mbx_folder_lookup(mb->f, mb->uidvalidity, m->uid)) == NULL)
		return;
	m->flags = rec->flags;
	if (is_recent(mb, m->uid))
		m->flags |= MAIL_RECENT;
	m->keywords = rec->keywords;
	m->modseq = rec->modseq;
	m->size = rec->size;
	m->internal = (time_t)rec->mtime;
	if (rec->name != NULL)
		m->name = rec->name;
}

uint32_t mailbox_uid(const struct mailbox *mb, size_t i)
{
	if (i >= mb->count)
		log_panic("%s: message %zu of %zu", mb->f->path, i, mb->count);
	return mb->uids[i];
}

ssize_t mailbox_find_uid(const struct mailbox *mb, uint32_t uid)
{
	size_t lo = 0, hi = mb->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mb->count && mb->uids[lo] == uid ? (ssize_t)lo : -1;
}

uint32_t mailbox_uidvalidity(const struct mailbox *mb)
{
	return mb->f->ix.uidvalidity;
}

uint32_t mailbox_uidnext(const struct mailbox *mb)
{
	return mb->f->ix.uidnext;
}

uint64_t mailbox_highestmodseq(const struct mailbox *mb)
{
	return mb->f->ix.highestmodseq;
}

size_t mailbox_recent_count(const struct mailbox *mb)
{
	return mb->recent_count;
}

const char *const *mailbox_keywords(const struct mailbox *mb, size_t *count_r)
{
	*count_r = mb->f->kw.count;
	return (const char *const *)mb->f->kw.names;
}

const char *mailbox_path(const struct mailbox *mb)
{
	return mb->f->path;
}

const char *mailbox_cache_get(struct mailbox *mb, size_t i, unsigned variant,
			      size_t *len_r, uint64_t *vsize_r)
{
	const struct mbx_cache_rec *r;
	const char *data;

	if (i >= mb->count || mb->uidvalidity != mb->f->ix.uidvalidity ||
	    (r = mbx_cache_find(mb->f, mb->uids[i], variant, &data)) == NULL)
		return NULL;
	*len_r = r->len;
	*vsize_r = r->vsize;
	return data;
}

void mailbox_cache_put(struct mailbox *mb, size_t i, unsigned variant,
		       uint64_t vsize, const char *data, size_t len)
{
	if (i < mb->count && mb->uidvalidity == mb->f->ix.uidvalidity)
		mbx_cache_add(mb->f, mb->uids[i], variant, vsize, data, len);
}

void mailbox_cache_flush(struct mailbox *mb)
{
	mbx_cache_flush(mb->f);
}

void mailbox_drop_closed(void)
{
	mbx_folder_drop_retained();
}

int mailbox_msg_open(struct mailbox *mb, size_t i)
{
	struct mbx_folder *f = mb->f;
	const struct mbx_rec *seen;
	const char *error;
	struct mbx_rec *rec;
	char *base, *name;
	int fd;

	if (i >= mb->count) {
		errno = EINVAL;
		return -1;
	}
	seen = mbx_folder_lookup(f, mb->uidvalidity, mb->uids[i]);
	if (seen != NULL && seen->name != NULL) {
		fd = mbx_open_message(f->dirfd, seen->name);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	/* Renamed since the last sync (flags changed elsewhere). */
	if (mbx_folder_begin(f, &error) == 0) {
		if (mbx_folder_end(f, &error) < 0) {
			/* the next sync reports it */
		}
	}
	rec = mb->uidvalidity == f->ix.uidvalidity
		      ? mbx_index_find(&f->ix, mb->uids[i])
		      : NULL;
	if (rec != NULL && rec->name != NULL) {
		fd = mbx_open_message(f->dirfd, rec->name);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	if (rec == NULL) {
		errno = ENOENT;
		return -1;
	}
	base = xstrdup(rec->base);
	name = mbx_folder_find_file(f, base);
	free(base);
	if (name == NULL) {
		errno = ENOENT;
		return -1;
	}
	fd = mbx_open_message(f->dirfd, name);
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
	struct mbx_folder *f = mb->f;
	struct mbx_rec *rec;
	uint32_t new_kw;
	unsigned new_flags;
	char *to;

	if (mb->uidvalidity != f->ix.uidvalidity ||
	    (rec = mbx_index_find(&f->ix, mb->uids[i])) == NULL)
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
		to = mbx_cur_name(rec->base, new_flags, new_kw);
		if (rec->name == NULL ||
		    renameat(f->dirfd, rec->name, f->dirfd, to) < 0) {
			char *now = errno == ENOENT || rec->name == NULL
					    ? mbx_folder_find_file(f, rec->base)
					    : NULL;

			if (now == NULL ||
			    renameat(f->dirfd, now, f->dirfd, to) < 0) {
				int gone = now == NULL;

				*error_r = mbx_error(
					"rename %s/%s: %m", f->path,
					now != NULL	    ? now
					: rec->name != NULL ? rec->name
							    : rec->base);
				free(now);
				free(to);
				return gone ? 2 : -1;
			}
			free(now);
		}
		mbx_folder_set_name(rec, to);
		if (new_flags != rec->flags || new_kw != rec->keywords) {
			rec->flags = new_flags;
			rec->keywords = new_kw;
			rec->modseq = ++f->ix.highestmodseq;
			mbx_index_format_rec(rec, &f->pending);
		}
	}
	return 0;
}

/*
 * store_show - after store_locked: the view shows message i as it is
 * now (the record), so the next sync must not report this state again
 */
static void store_show(struct mailbox *mb, size_t i)
{
	const struct mbx_rec *rec =
		mbx_folder_lookup(mb->f, mb->uidvalidity, mb->uids[i]);

	if (rec != NULL && rec->modseq > mb->modseq)
		own_add(mb, rec->uid, rec->modseq);
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
	if (mbx_keywords_refresh(&mb->f->kw, mb->f->root, error_r) < 0 ||
	    mbx_keywords_bits(&mb->f->kw, mb->f->root, keywords, keyword_count,
			      kw, error_r) < 0)
		return -1;
	return 0;
}

int mailbox_store_flags(struct mailbox *mb, size_t i, char mode, unsigned flags,
			const char *const *keywords, size_t keyword_count,
			uint64_t unchangedsince, const char **error_r)
{
	uint32_t kw;
	int r;

	if (i >= mb->count) {
		*error_r = mbx_error("bad store request");
		return -1;
	}
	if (store_prepare(mb, mode, &flags, keywords, keyword_count, &kw,
			  error_r) < 0)
		return -1;
	if (mbx_folder_begin(mb->f, error_r) < 0)
		return -1;
	r = store_locked(mb, i, mode, flags, kw, unchangedsince, error_r);
	if (r != 0) {
		/* Nothing of this call is in mb->pending. */
		mbx_folder_unlock(mb->f);
		return r < 0 ? -1 : r == 2 ? 0 : 1;
	}
	if (mbx_folder_end(mb->f, error_r) < 0)
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
		if (idx[j] >= mb->count) {
			*error_r = mbx_error("bad store request");
			return -1;
		}
	if (n == 0)
		return 0;
	if (store_prepare(mb, mode, &flags, NULL, 0, &kw, error_r) < 0)
		return -1;
	if (mbx_folder_begin(mb->f, error_r) < 0)
		return -1;
	size_t done = 0;

	/* One lock and one index write for all, not one per message. */
	for (; done < n && ret == 0; done++)
		if (store_locked(mb, idx[done], mode, flags, kw, 0, error_r) <
		    0)
			ret = -1; /* what was done before is still written */
	if (mbx_folder_end(mb->f, ret < 0 ? &(const char *){NULL} : error_r) <
	    0)
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
	struct mbx_folder *f = mb->f;
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
	if (mbx_folder_begin(mb->f, error_r) < 0) {
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < mb->count; i++) {
		uint32_t uid = mb->uids[i];
		struct mbx_rec *rec;

		if (sorted != NULL &&
		    bsearch(&uid, sorted, n, sizeof(*sorted), cmp_u32) == NULL)
			continue;
		rec = mb->uidvalidity == f->ix.uidvalidity
			      ? mbx_index_find(&f->ix, uid)
			      : NULL;
		if (rec == NULL || !(rec->flags & MAIL_DELETED))
			continue;
		if (rec->name != NULL && unlinkat(f->dirfd, rec->name, 0) < 0 &&
		    errno != ENOENT) {
			*error_r = mbx_error("unlink %s/%s: %m", f->path,
					     rec->name);
			ret = -1;
			break;
		}
		rec->dead = true;
		mbx_index_format_expunge(uid, ++f->ix.highestmodseq,
					 &f->pending);
	}
	mbx_index_pack(&f->ix);
	free(sorted);
	if (mbx_folder_end(mb->f, error_r) < 0)
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
	char *to = mbx_cur_name(base, flags, kw);
	uint32_t recent_lo = 0, recent_hi = 0;
	struct mbx_rec *rec;
	int curfd;

	if (mbx_folder_begin(mb->f, error_r) < 0)
		goto fail;
	if (mb->f->ix_missing &&
	    mbx_folder_scan(mb->f, !(mb->flags & MAILBOX_READONLY), &recent_lo,
			    &recent_hi, error_r) < 0) {
		/* A first index: the folder's files come first. */
		mbx_folder_abandon(mb->f);
		goto fail;
	}
	if (mb->f->ix.uidnext == UINT32_MAX) {
		*error_r = mbx_error("%s: out of UIDs", mb->f->path);
		mbx_folder_abandon(mb->f);
		goto fail;
	}
	if (renameat(mb->f->dirfd, from, mb->f->dirfd, to) < 0) {
		*error_r = mbx_error("rename %s/%s: %m", mb->f->path, from);
		mbx_folder_abandon(mb->f);
		goto fail;
	}
	if ((curfd = openat(mb->f->dirfd, "cur",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(curfd) < 0) {
			/* the index write below is synced; the name
			 * follows with the next directory sync */
		}
		close(curfd);
	}
	rec = mbx_index_add(&mb->f->ix, mb->f->ix.uidnext, base);
	rec->flags = flags;
	rec->keywords = kw;
	rec->modseq = ++mb->f->ix.highestmodseq;
	rec->size = size;
	rec->mtime = (int64_t)mtime;
	rec->name = to;
	to = NULL;
	mbx_index_format_rec(rec, &mb->f->pending);
	mb->f->pending_sync = true;
	*uid_r = rec->uid;
	if (mbx_folder_end(mb->f, error_r) < 0)
		goto fail;
	recent_add(mb, recent_lo, recent_hi);
	free(base);
	free(from);
	return 0;
fail:
	unlinkat(mb->f->dirfd, from, 0);
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
		fd = openat(mb->f->dirfd, path,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
	}
	*error_r = mbx_error("create %s/tmp/%s: %m", mb->f->path, buf);
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
	if (mbx_keywords_refresh(&mb->f->kw, mb->f->root, error_r) < 0 ||
	    mbx_keywords_bits(&mb->f->kw, mb->f->root, keywords, keyword_count,
			      &kw, error_r) < 0)
		return -1;
	if ((fd = tmp_create(mb, name, sizeof(name), error_r)) < 0)
		return -1;
	if (internal == 0)
		internal = time(NULL);
	{
		struct timespec ts[2] = {{internal, 0}, {internal, 0}};

		if (write_lf(fd, data, len, &size, &vsize) < 0 ||
		    fsync(fd) < 0 || futimens(fd, ts) < 0) {
			*error_r = mbx_error("write %s/tmp/%s: %m", mb->f->path,
					     name);
			close(fd);
			char *p = xasprintf("tmp/%s", name);
			unlinkat(mb->f->dirfd, p, 0);
			free(p);
			return -1;
		}
	}
	if (close(fd) < 0) {
		char *p = xasprintf("tmp/%s", name);

		*error_r = mbx_error("close %s/tmp/%s: %m", mb->f->path, name);
		unlinkat(mb->f->dirfd, p, 0);
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
	struct mailbox_msg m;
	char *names[MAILBOX_KEYWORDS_MAX];
	size_t nk = 0;
	uint32_t kw = 0;
	uint64_t vsize;
	char name[512], path[600];
	int in, ret = -1;

	if (i >= src->count) {
		*error_r = mbx_error("no such message");
		return -1;
	}
	mailbox_msg(src, i, &m);
	vsize = vsize_from_name(m.name);
	/* Copies: src and dst may share one folder, whose keyword list
	 * the refresh below may replace. */
	for (size_t k = 0; k < src->f->kw.count; k++)
		if (m.keywords & (1u << k))
			names[nk++] = xstrdup(src->f->kw.names[k]);
	if (mbx_keywords_refresh(&dst->f->kw, dst->f->root, error_r) < 0 ||
	    mbx_keywords_bits(&dst->f->kw, dst->f->root,
			      (const char *const *)names, nk, &kw, error_r) < 0)
		goto out;
	if ((in = mailbox_msg_open(src, i)) < 0) {
		*error_r = errno == ENOENT
				   ? mbx_error("message was expunged")
				   : mbx_error("open %s: message %zu: %m",
					       src->f->path, i);
		goto out;
	}
	for (int tries = 0;; tries++) {
		char from[64];

		if (maildir_unique_name(name, sizeof(name)) < 0) {
			*error_r = mbx_error("host name too long");
			close(in);
			goto out;
		}
		snprintf(path, sizeof(path), "tmp/%s", name);
		snprintf(from, sizeof(from), "/proc/self/fd/%d", in);
		if (linkat(AT_FDCWD, from, dst->f->dirfd, path,
			   AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno == EEXIST && tries < 10)
			continue;
		/* Another file system (or no /proc): copy the bytes. */
		{
			int out;
			struct timespec ts[2] = {{m.internal, 0},
						 {m.internal, 0}};

			if ((out = tmp_create(dst, name, sizeof(name),
					      error_r)) < 0) {
				close(in);
				goto out;
			}
			snprintf(path, sizeof(path), "tmp/%s", name);
			if (copy_file(in, out) < 0 || fsync(out) < 0 ||
			    futimens(out, ts) < 0 || close(out) < 0) {
				*error_r = mbx_error("copy to %s/%s: %m",
						     dst->f->path, path);
				unlinkat(dst->f->dirfd, path, 0);
				close(in);
				goto out;
			}
		}
		break;
	}
	close(in);
	ret = commit_new(dst, name, m.size, vsize, m.internal,
			 m.flags & (IMAP_FLAGS | MAIL_PASSED), kw, uid_r,
			 error_r);
out:
	for (size_t k = 0; k < nk; k++)
		free(names[k]);
	return ret;
}

int mailbox_wait_fd(struct mailbox *mb)
{
	if (!mb->waiting) {
		if (mbx_folder_wait_start(mb->f) < 0)
			return -1;
		mb->waiting = true;
	}
	return mb->f->wait_fd;
}

void mailbox_wait_stop(struct mailbox *mb)
{
	if (mb->waiting)
		mbx_folder_wait_stop(mb->f);
	mb->waiting = false;
}

void mailbox_wait_drain(struct mailbox *mb)
{
	mbx_folder_wait_drain(mb->f);
}
