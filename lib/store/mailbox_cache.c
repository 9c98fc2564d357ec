/*
 * mailbox_cache - FOLDER/facteur-cache: ENVELOPE and CRLF size by UID
 *
 * SYNOPSIS
 *	#include "mailbox_cache.h"
 *
 * DESCRIPTION
 *	A warm FETCH of (FLAGS RFC822.SIZE ENVELOPE) over a whole folder
 *	would otherwise open and parse every message file; with the cache
 *	it reads one file.  The cache is the folder's (struct mbx_folder,
 *	shared by the sessions of a process) and is read on the first
 *	lookup, not at SELECT, so that IDLE sessions never hold it.  New
 *	records are kept in memory and appended at the end of the command
 *	(mbx_cache_flush), one write under an flock of the file; the
 *	writer first takes in what other processes appended and cuts off
 *	a torn tail.  Nothing is fsynced: a record that did not reach the
 *	disk is made again, and one that reached it torn fails its length
 *	or checksum and is ignored.
 *
 *	Records are keyed by UID: the content of a UID never changes
 *	under one UIDVALIDITY, so a record is never stale while the UID
 *	exists, and a header with another UIDVALIDITY (the index was
 *	rebuilt) makes the next writer start the file again.
 *
 * SECURITY
 *	The file is in the user's folder and is untrusted: every number is
 *	bounded, the data length is checked against the file and a
 *	checksum, and the parser never reads past the buffer.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "mailbox_cache.h"
#include "mailbox_folder.h"

/* --- the format (pure) --------------------------------------------- */

static uint32_t fnv1a(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

/* number - decimal digits at *pp up to end, at most max, without
 * leading zeros; advances */
static bool number(const char **pp, const char *end, uint64_t max,
		   uint64_t *v_r)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;
	/* One spelling per number (what mbx_cache_format writes). */
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return false;
		v = v * 10 + d;
	}
	*pp = p;
	*v_r = v;
	return true;
}

static bool sep(const char **pp, const char *end, char c)
{
	if (*pp >= end || **pp != c)
		return false;
	(*pp)++;
	return true;
}

int mbx_cache_parse_header(const char *buf, size_t len, uint32_t *uidvalidity_r,
			   size_t *used_r)
{
	const size_t ml = sizeof(MBX_CACHE_MAGIC) - 1;
	const char *p = buf + ml, *end = buf + len;
	uint64_t v;

	if (len < ml || memcmp(buf, MBX_CACHE_MAGIC, ml) != 0 ||
	    !number(&p, end, UINT32_MAX, &v) || v == 0 || !sep(&p, end, '\n'))
		return -1;
	*uidvalidity_r = (uint32_t)v;
	*used_r = (size_t)(p - buf);
	return 0;
}

/* hexword - exactly 8 lower-case hex digits */
static bool hexword(const char **pp, const char *end, uint32_t *v_r)
{
	uint32_t v = 0;

	if (end - *pp < 8)
		return false;
	for (int i = 0; i < 8; i++) {
		char c = (*pp)[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	*pp += 8;
	*v_r = v;
	return true;
}

size_t mbx_cache_parse(const char *buf, size_t len, mbx_cache_rec_fn *fn,
		       void *ctx)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *q = p;
		uint64_t uid, variant, vsize, dlen;
		uint32_t sum;

		if (!sep(&q, end, 'E') || !sep(&q, end, ' ') ||
		    !number(&q, end, UINT32_MAX, &uid) || uid == 0 ||
		    !sep(&q, end, ' ') ||
		    !number(&q, end, MBX_CACHE_VARIANTS - 1, &variant) ||
		    !sep(&q, end, ' ') ||
		    !number(&q, end, UINT64_C(1) << 53, &vsize) ||
		    !sep(&q, end, ' ') ||
		    !number(&q, end, MBX_CACHE_DATA_MAX, &dlen) ||
		    !sep(&q, end, ' ') || !hexword(&q, end, &sum) ||
		    !sep(&q, end, '\n'))
			break;
		if ((uint64_t)(end - q) < dlen + 1 || q[dlen] != '\n' ||
		    fnv1a(q, (size_t)dlen) != sum)
			break;
		fn(ctx, (uint32_t)uid, (unsigned)variant, vsize, q,
		   (size_t)dlen);
		p = q + dlen + 1;
	}
	return (size_t)(p - buf);
}

void mbx_cache_format(struct strbuf *out, uint32_t uid, unsigned variant,
		      uint64_t vsize, const char *data, size_t len)
{
	strbuf_appendf(out, "E %lu %u %llu %zu %08lx\n", (unsigned long)uid,
		       variant, (unsigned long long)vsize, len,
		       (unsigned long)fnv1a(data, len));
	strbuf_append(out, data, len);
	strbuf_append_char(out, '\n');
}

/* --- in memory ----------------------------------------------------- */

void mbx_cache_init(struct mbx_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	strbuf_init(&c->blob, STRBUF_NO_LIMIT);
	strbuf_init(&c->pending, STRBUF_NO_LIMIT);
}

static size_t slot_of(uint32_t uid, unsigned variant, size_t size)
{
	uint32_t k = uid * 2u + variant;

	return (size_t)((k * 2654435761u) & (uint32_t)(size - 1));
}

static void table_insert(struct mbx_cache *c, size_t idx)
{
	const struct mbx_cache_rec *r = &c->recs[idx];
	size_t s = slot_of(r->uid, r->variant, c->table_size);

	while (c->table[s] != 0) {
		const struct mbx_cache_rec *o = &c->recs[c->table[s] - 1];

		if (o->uid == r->uid && o->variant == r->variant) {
			c->table[s] = (uint32_t)idx + 1; /* the newer wins */
			return;
		}
		s = (s + 1) & (c->table_size - 1);
	}
	c->table[s] = (uint32_t)idx + 1;
}

static const struct mbx_cache_rec *lookup(const struct mbx_cache *c,
					  uint32_t uid, unsigned variant)
{
	if (c->table_size == 0)
		return NULL;
	for (size_t s = slot_of(uid, variant, c->table_size); c->table[s] != 0;
	     s = (s + 1) & (c->table_size - 1)) {
		const struct mbx_cache_rec *r = &c->recs[c->table[s] - 1];

		if (r->uid == uid && r->variant == variant)
			return r;
	}
	return NULL;
}

/* remember - a record into memory (from the file or from add) */
static void remember(void *ctx, uint32_t uid, unsigned variant, uint64_t vsize,
		     const char *data, size_t len)
{
	struct mbx_cache *c = ctx;

	if (c->count >= UINT32_MAX - 1 || lookup(c, uid, variant) != NULL)
		return; /* a record of a UID never changes */
	if (c->count == c->alloc) {
		c->alloc = c->alloc ? c->alloc * 2 : 256;
		c->recs = xreallocarray(c->recs, c->alloc, sizeof(*c->recs));
	}
	/* At most half full: rebuild at twice the size. */
	if ((c->count + 1) * 2 > c->table_size) {
		free(c->table);
		c->table_size = c->table_size ? c->table_size * 2 : 512;
		c->table = xcalloc(c->table_size, sizeof(*c->table));
		for (size_t i = 0; i < c->count; i++)
			table_insert(c, i);
	}
	struct mbx_cache_rec *r = &c->recs[c->count];

	r->uid = uid;
	r->variant = (uint8_t)variant;
	r->vsize = vsize;
	r->off = c->blob.len;
	r->len = len;
	strbuf_append(&c->blob, data, len);
	table_insert(c, c->count++);
}

static void forget_all(struct mbx_cache *c)
{
	free(c->recs);
	free(c->table);
	c->recs = NULL;
	c->table = NULL;
	c->count = c->alloc = c->table_size = 0;
	strbuf_reset(&c->blob);
}

/* --- the file ------------------------------------------------------ */

/* read_range - [from, to) of fd, malloc'd; NULL on failure */
static char *read_range(int fd, off_t from, off_t to)
{
	size_t len = (size_t)(to - from), got = 0;
	char *buf = xmalloc(len + 1);

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, from + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

/*
 * take_tail - the records appended since c->offset (up to size) into
 * memory; returns the end of the good ones.
 */
static off_t take_tail(struct mbx_cache *c, off_t size)
{
	char *buf;
	size_t used;

	if (size <= c->offset)
		return c->offset;
	if ((buf = read_range(c->fd, c->offset, size)) == NULL)
		return c->offset;
	used = mbx_cache_parse(buf, (size_t)(size - c->offset), remember, c);
	free(buf);
	c->offset += (off_t)used;
	return c->offset;
}

/* load - read the file once: records of the index's UIDVALIDITY */
static void load(struct mbx_folder *f)
{
	struct mbx_cache *c = &f->cache;
	struct stat st;
	char head[64];
	ssize_t n;
	size_t used;
	uint32_t uidv;

	c->loaded = true;
	c->uidvalidity = f->ix.uidvalidity;
	c->fd = openat(f->dirfd, MBX_CACHE_FILE,
		       O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (c->fd < 0) {
		if (errno != ENOENT)
			log_warn("open %s/" MBX_CACHE_FILE ": %m", f->path);
		return;
	}
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)MBX_CACHE_FILE_MAX) {
		/* Not ours to read: the next writer starts it again. */
		return;
	}
	n = pread(c->fd, head, sizeof(head), 0);
	if (n <= 0 ||
	    mbx_cache_parse_header(head, (size_t)n, &uidv, &used) < 0 ||
	    uidv != c->uidvalidity)
		return;
	c->offset = (off_t)used;
	take_tail(c, st.st_size);
}

const struct mbx_cache_rec *mbx_cache_find(struct mbx_folder *f, uint32_t uid,
					   unsigned variant,
					   const char **data_r)
{
	struct mbx_cache *c = &f->cache;
	const struct mbx_cache_rec *r;

	if (c->loaded && c->uidvalidity != f->ix.uidvalidity) {
		/* The index was rebuilt: nothing of before holds. */
		mbx_cache_clear(f);
		mbx_cache_init(c);
	}
	if (!c->loaded)
		load(f);
	if ((r = lookup(c, uid, variant)) == NULL)
		return NULL;
	*data_r = c->blob.data + r->off;
	return r;
}

void mbx_cache_add(struct mbx_folder *f, uint32_t uid, unsigned variant,
		   uint64_t vsize, const char *data, size_t len)
{
	struct mbx_cache *c = &f->cache;

	if (uid == 0 || variant >= MBX_CACHE_VARIANTS ||
	    len > MBX_CACHE_DATA_MAX || vsize > (UINT64_C(1) << 53))
		return;
	if (!c->loaded)
		load(f);
	if (c->uidvalidity != f->ix.uidvalidity ||
	    lookup(c, uid, variant) != NULL)
		return;
	remember(c, uid, variant, vsize, data, len);
	mbx_cache_format(&c->pending, uid, variant, vsize, data, len);
	if (c->pending.len > 1024 * 1024)
		mbx_cache_flush(f);
}

/* write_all - data at offset; 0 or -1 */
static int write_all(int fd, const char *p, size_t len, off_t at)
{
	while (len > 0) {
		ssize_t r = pwrite(fd, p, len, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
		at += r;
	}
	return 0;
}

/*
 * start_file - under the flock: the file holds no usable header (new,
 * damaged, or of another UIDVALIDITY): make it hold ours and nothing
 * else.
 */
static int start_file(struct mbx_cache *c)
{
	char head[64];
	int n = snprintf(head, sizeof(head), MBX_CACHE_MAGIC "%lu\n",
			 (unsigned long)c->uidvalidity);

	if (ftruncate(c->fd, 0) < 0 || write_all(c->fd, head, (size_t)n, 0) < 0)
		return -1;
	c->offset = n;
	/* What memory holds is still true; it goes to the file again
	 * only as the messages are rendered again. */
	return 0;
}

void mbx_cache_flush(struct mbx_folder *f)
{
	struct mbx_cache *c = &f->cache;
	struct stat st;
	char head[64];
	ssize_t n;
	size_t used;
	uint32_t uidv;

	if (c->pending.len == 0)
		return;
	if (c->fd < 0)
		c->fd = openat(f->dirfd, MBX_CACHE_FILE,
			       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
				       O_NONBLOCK,
			       0600);
	if (c->fd < 0) {
		log_warn("open %s/" MBX_CACHE_FILE ": %m", f->path);
		strbuf_reset(&c->pending);
		return;
	}
	while (flock(c->fd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto done;
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto unlock;
	n = pread(c->fd, head, sizeof(head), 0);
	if (n <= 0 ||
	    mbx_cache_parse_header(head, (size_t)n, &uidv, &used) < 0 ||
	    uidv != c->uidvalidity || st.st_size > (off_t)MBX_CACHE_FILE_MAX) {
		if (start_file(c) < 0)
			goto unlock;
	} else {
		if (c->offset < (off_t)used || c->offset > st.st_size)
			/* Started again by another process since we read
			 * it: what it holds now is all after the header. */
			c->offset = (off_t)used;
		/* Take in what others appended; a torn tail (a writer
		 * that died mid-write; writers hold this lock) goes. */
		if (take_tail(c, st.st_size) < st.st_size &&
		    ftruncate(c->fd, c->offset) < 0)
			goto unlock;
	}
	if (write_all(c->fd, c->pending.data, c->pending.len, c->offset) < 0) {
		log_warn("write %s/" MBX_CACHE_FILE ": %m", f->path);
		/* A partial record is cut off by the next writer. */
	} else
		c->offset += (off_t)c->pending.len;
unlock:
	flock(c->fd, LOCK_UN);
done:
	strbuf_reset(&c->pending);
}

void mbx_cache_clear(struct mbx_folder *f)
{
	struct mbx_cache *c = &f->cache;

	mbx_cache_flush(f);
	forget_all(c);
	strbuf_release(&c->blob);
	strbuf_release(&c->pending);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->loaded = false;
}
