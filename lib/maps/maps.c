/*
 * maps - lookup tables by name: open, look up, build
 *
 * SYNOPSIS
 *	#include "maps.h"
 *
 *	table = maps_open("hash:/etc/facteur/aliases", 0, &error);
 *	ret = maps_lookup(table, "postmaster", &value, &error);
 *	maps_close(&table);
 *
 *	maps_build("hash", "/etc/facteur/aliases", MAPS_ALIASES, &error);
 *
 * DESCRIPTION
 *	The generic half of the lookup tables (maps.h): the registry of
 *	types, "type:name" parsing, key lowercasing, staleness, the atomic
 *	build (temporary file, fsync, rename, directory fsync), and the
 *	texthash type, which needs no database library: the source is parsed
 *	with mapsrc into an open-addressing hash table.  The database
 *	backends are in map_db.c and map_lmdb.c (map_priv.h).
 *
 * DIAGNOSTICS
 *	Errors are returned through maps_error() (valid until the next
 *	maps_* call).  Duplicate keys in a source are warnings, logged with
 *	log_warn() and the source's FILE:LINE.  Nothing exits.
 *
 * SECURITY
 *	Lookup keys often come from the network (envelope addresses); they
 *	are only copied, lowercased and handed to the backend, never logged
 *	or formatted here.  The build writes a temporary name that it first
 *	unlinks and then creates exclusively, so a file planted under that
 *	name is not written through; the new table gets the source's
 *	permission bits, so a private source (sasl_passwd) gives a private
 *	table.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "hash.h"
#include "log.h"
#include "map_priv.h"
#include "mapsrc.h"
#include "strbuf.h"

/* ------------------------------------------------------------ errors */

static char *maps_last_error;

/* maps_error - format the message *error_r will point at */
const char *maps_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	/* Format first, free after: the arguments may point into the
	 * previous message (an error wrapped with more context). */
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	free(maps_last_error);
	maps_last_error = msg;
	return msg;
}

/* ---------------------------------------------------------- texthash */

/*
 * The whole source in memory: an open-addressing table (linear probing,
 * at most half full) of entries whose key and value share one allocation.
 */
struct texthash_entry {
	char *key; /* key NUL value NUL */
	size_t key_len;
	const char *value;
	size_t value_len;
};

struct texthash {
	struct texthash_entry *slots;
	size_t cap; /* a power of two */
	size_t count;
	const char *source; /* for warnings */
};

/* texthash_find - the slot holding key, or the empty slot it would go to */
static struct texthash_entry *texthash_find(struct texthash *th,
					    const char *key, size_t len)
{
	size_t i = hash_bytes(key, len) & (th->cap - 1);

	for (;;) {
		struct texthash_entry *e = &th->slots[i];

		if (e->key == NULL ||
		    (e->key_len == len && memcmp(e->key, key, len) == 0))
			return e;
		i = (i + 1) & (th->cap - 1);
	}
}

/* texthash_grow - double the slots and re-insert */
static void texthash_grow(struct texthash *th)
{
	struct texthash_entry *old = th->slots;
	size_t old_cap = th->cap;

	th->cap = old_cap > 0 ? old_cap * 2 : 64;
	th->slots = xcalloc(th->cap, sizeof(*th->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key != NULL)
			*texthash_find(th, old[i].key, old[i].key_len) = old[i];
	free(old);
}

/* texthash_put - mapsrc callback: insert, the first of duplicates wins */
static int texthash_put(const struct mapsrc_entry *entry, void *ctx,
			const char **error_r)
{
	struct texthash *th = ctx;
	struct texthash_entry *e;
	char *mem;

	(void)error_r;
	if ((th->count + 1) * 2 > th->cap)
		texthash_grow(th);
	e = texthash_find(th, entry->key, entry->key_len);
	if (e->key != NULL) {
		log_warn("%s:%u: duplicate entry: \"%.100s\"", th->source,
			 entry->line, entry->key);
		return 0;
	}
	mem = xmalloc(entry->key_len + entry->value_len + 2);
	memcpy(mem, entry->key, entry->key_len + 1);
	memcpy(mem + entry->key_len + 1, entry->value, entry->value_len + 1);
	e->key = mem;
	e->key_len = entry->key_len;
	e->value = mem + entry->key_len + 1;
	e->value_len = entry->value_len;
	th->count++;
	return 0;
}

/* texthash_free - release the table and every entry */
static void texthash_free(struct texthash *th)
{
	for (size_t i = 0; i < th->cap; i++)
		free(th->slots[i].key);
	free(th->slots);
	free(th);
}

/* texthash_open - read the source into memory */
static int texthash_open(struct maps_table *table, const char **error_r)
{
	struct texthash *th = xcalloc(1, sizeof(*th));
	unsigned int srcflags = 0;
	const char *error;

	if (table->flags & MAPS_ALIASES)
		srcflags |= MAPSRC_ALIASES;
	if (table->flags & MAPS_KEEP_CASE)
		srcflags |= MAPSRC_KEEP_CASE;
	th->source = table->source_path;
	texthash_grow(th);
	if (mapsrc_parse_file(table->source_path, srcflags, texthash_put, th,
			      &error) < 0) {
		texthash_free(th);
		*error_r = maps_error("%s", error);
		return -1;
	}
	table->priv = th;
	return 0;
}

/* texthash_lookup - one probe sequence in memory */
static int texthash_lookup(struct maps_table *table, const char *key,
			   size_t key_len, const char **error_r)
{
	struct texthash_entry *e = texthash_find(table->priv, key, key_len);

	(void)error_r;
	if (e->key == NULL)
		return 0;
	strbuf_append(&table->value, e->value, e->value_len);
	return 1;
}

/* texthash_close - free the in-memory table */
static void texthash_close(struct maps_table *table)
{
	if (table->priv != NULL)
		texthash_free(table->priv);
	table->priv = NULL;
}

static const struct maps_backend maps_backend_texthash = {
	.type = "texthash",
	.suffix = NULL,
	.open = texthash_open,
	.lookup = texthash_lookup,
	.close = texthash_close,
};

/* ---------------------------------------------------------- registry */

static const struct maps_backend *const backends[] = {
	&maps_backend_hash,
	&maps_backend_btree,
	&maps_backend_lmdb,
	&maps_backend_texthash,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

static const char *const type_names[] = {"hash", "btree", "lmdb", "texthash",
					 NULL};

/* find_backend - the backend for len bytes of type name, or NULL */
static const struct maps_backend *find_backend(const char *type, size_t len)
{
	for (size_t i = 0; i < N_BACKENDS; i++)
		if (strlen(backends[i]->type) == len &&
		    memcmp(backends[i]->type, type, len) == 0)
			return backends[i];
	return NULL;
}

/* maps_type_supported - whether a type name is known */
bool maps_type_supported(const char *type)
{
	return find_backend(type, strlen(type)) != NULL;
}

/* maps_types - the known type names */
const char *const *maps_types(void)
{
	return type_names;
}

/* split_spec - "type:name" into its backend and name */
static int split_spec(const char *spec, const struct maps_backend **backend_r,
		      const char **name_r, const char **error_r)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL || colon == spec || colon[1] == '\0') {
		*error_r = maps_error(
			"bad table name \"%s\": expected type:name", spec);
		return -1;
	}
	*backend_r = find_backend(spec, (size_t)(colon - spec));
	if (*backend_r == NULL) {
		*error_r = maps_error("unsupported table type \"%.*s\" in "
				      "\"%s\" (supported: hash, btree, lmdb, "
				      "texthash)",
				      (int)(colon - spec), spec, spec);
		return -1;
	}
	*name_r = colon + 1;
	return 0;
}

/* ------------------------------------------------------------ lookup */

/* mtime_after - whether a was modified after b (to the nanosecond: a
 * source edited within the second of its build still counts) */
static bool mtime_after(const struct stat *a, const struct stat *b)
{
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
	return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

/* maps_open - open a table by its "type:name" */
struct maps_table *maps_open(const char *spec, unsigned int flags,
			     const char **error_r)
{
	const struct maps_backend *backend;
	struct maps_table *table;
	struct stat db_st, src_st;
	const char *name;

	if (split_spec(spec, &backend, &name, error_r) < 0)
		return NULL;
	table = xcalloc(1, sizeof(*table));
	table->backend = backend;
	table->spec = xstrdup(spec);
	table->source_path = xstrdup(name);
	table->db_path = backend->suffix != NULL
				 ? xasprintf("%s%s", name, backend->suffix)
				 : xstrdup(name);
	table->flags = flags;
	strbuf_init(&table->key, STRBUF_NO_LIMIT);
	strbuf_init(&table->value, STRBUF_NO_LIMIT);
	if (backend->open(table, error_r) < 0) {
		table->backend = NULL; /* nothing for close() to release */
		maps_close(&table);
		return NULL;
	}
	if (stat(table->db_path, &table->opened) < 0)
		memset(&table->opened, 0, sizeof(table->opened));
	if (backend->suffix != NULL && stat(table->db_path, &db_st) == 0 &&
	    stat(table->source_path, &src_st) == 0 &&
	    mtime_after(&src_st, &db_st))
		table->stale_why =
			xasprintf("database %s is older than source file %s",
				  table->db_path, table->source_path);
	return table;
}

/* maps_close - close the backend and free the table */
void maps_close(struct maps_table **tablep)
{
	struct maps_table *table = *tablep;

	if (table == NULL)
		return;
	if (table->backend != NULL)
		table->backend->close(table);
	free(table->spec);
	free(table->source_path);
	free(table->db_path);
	free(table->stale_why);
	strbuf_release(&table->key);
	strbuf_release(&table->value);
	free(table);
	*tablep = NULL;
}

/* maps_lookup - one key, lowercased unless the table keeps case */
int maps_lookup(struct maps_table *table, const char *key, const char **value_r,
		const char **error_r)
{
	int ret;

	strbuf_reset(&table->key);
	strbuf_append_str(&table->key, key);
	if (!(table->flags & MAPS_KEEP_CASE)) {
		for (size_t i = 0; i < table->key.len; i++)
			if (table->key.data[i] >= 'A' &&
			    table->key.data[i] <= 'Z')
				table->key.data[i] += 'a' - 'A';
	}
	strbuf_reset(&table->value);
	ret = table->backend->lookup(table, table->key.data, table->key.len,
				     error_r);
	if (ret > 0)
		*value_r = strbuf_cstr(&table->value);
	return ret;
}

/* maps_name - the spec the table was opened with */
const char *maps_name(const struct maps_table *table)
{
	return table->spec;
}

/* maps_is_stale - whether the database predates its source */
bool maps_is_stale(const struct maps_table *table, const char **why_r)
{
	if (table->stale_why == NULL)
		return false;
	if (why_r != NULL)
		*why_r = table->stale_why;
	return true;
}

/* maps_changed - whether the file behind the table was replaced */
bool maps_changed(const struct maps_table *table)
{
	struct stat st;

	/* A rebuild renames a new file in: a new inode, or a new mtime. */
	if (stat(table->db_path, &st) < 0)
		return true;
	return st.st_ino != table->opened.st_ino ||
	       st.st_dev != table->opened.st_dev ||
	       st.st_size != table->opened.st_size ||
	       st.st_mtim.tv_sec != table->opened.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != table->opened.st_mtim.tv_nsec;
}

/* ------------------------------------------------------------- build */

struct build_ctx {
	const struct maps_backend *backend;
	struct maps_builder *builder;
	const char *source;
};

/* build_put - mapsrc callback: store one entry, warn about duplicates */
static int build_put(const struct mapsrc_entry *entry, void *ctx,
		     const char **error_r)
{
	struct build_ctx *bc = ctx;
	int ret;

	ret = bc->backend->build_put(bc->builder, entry->key, entry->key_len,
				     entry->value, entry->value_len, error_r);
	if (ret < 0) {
		*error_r = maps_error("%s:%u: %s", bc->source, entry->line,
				      *error_r);
		return -1;
	}
	if (ret == 0)
		log_warn("%s:%u: duplicate entry: \"%.100s\"", bc->source,
			 entry->line, entry->key);
	return 0;
}

/* sync_path - fsync a file or directory by name */
static int sync_path(const char *path, int flags, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);

	if (fd < 0 || fsync(fd) < 0) {
		*error_r = maps_error("fsync %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* sync_parent - fsync the directory holding path, so a rename in it is
 * on disk before we say the table is built */
static int sync_parent(const char *path, const char **error_r)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ret;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	ret = sync_path(dir, O_DIRECTORY, error_r);
	free(dir);
	return ret;
}

/* build_file - parse the source into a new file at tmp */
static int build_file(const struct maps_backend *backend, const char *source,
		      const struct stat *src_st, const char *tmp,
		      unsigned int flags, const char **error_r)
{
	struct build_ctx bc = {.backend = backend, .source = source};
	unsigned int srcflags = 0;
	const char *error;

	if (flags & MAPS_ALIASES)
		srcflags |= MAPSRC_ALIASES;
	if (flags & MAPS_KEEP_CASE)
		srcflags |= MAPSRC_KEEP_CASE;
	bc.builder = backend->build_begin(tmp, src_st->st_mode & 0666, error_r);
	if (bc.builder == NULL)
		return -1;
	if (mapsrc_parse_file(source, srcflags, build_put, &bc, &error) < 0) {
		/* Copy: a parse error lives in mapsrc's buffer. */
		*error_r = maps_error("%s", error);
		backend->build_abort(bc.builder);
		return -1;
	}
	if (backend->build_commit(bc.builder, error_r) < 0)
		return -1;
	/* postmap runs as the source's owner; root building a user's
	 * table should not leave it owned by root. */
	if (geteuid() == 0 && chown(tmp, src_st->st_uid, src_st->st_gid) < 0) {
		*error_r = maps_error("chown %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The umask applied at creation; the source's bits are the intent. */
	if (chmod(tmp, src_st->st_mode & 0666) < 0) {
		*error_r = maps_error("chmod %s: %s", tmp, strerror(errno));
		return -1;
	}
	return sync_path(tmp, 0, error_r);
}

/* maps_build - build type's database for source_path, atomically */
int maps_build(const char *type, const char *source_path, unsigned int flags,
	       const char **error_r)
{
	const struct maps_backend *backend = find_backend(type, strlen(type));
	struct stat src_st;
	char *db_path, *tmp;
	int ret = -1;

	if (backend == NULL) {
		*error_r = maps_error("unsupported table type \"%s\" "
				      "(supported: hash, btree, lmdb, "
				      "texthash)",
				      type);
		return -1;
	}
	if (backend->build_begin == NULL) {
		*error_r = maps_error("%s:%s: a %s table is read from its "
				      "source, there is nothing to build",
				      type, source_path, type);
		return -1;
	}
	if (stat(source_path, &src_st) < 0) {
		*error_r =
			maps_error("open %s: %s", source_path, strerror(errno));
		return -1;
	}
	db_path = xasprintf("%s%s", source_path, backend->suffix);
	/* One temporary name per builder process: two concurrent builds do
	 * not write the same file, and the last rename wins whole. */
	tmp = xasprintf("%s.tmp.%ld", db_path, (long)getpid());
	if (unlink(tmp) < 0 && errno != ENOENT) {
		*error_r = maps_error("remove %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (build_file(backend, source_path, &src_st, tmp, flags, error_r) <
	    0) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, db_path) < 0) {
		*error_r = maps_error("rename %s to %s: %s", tmp, db_path,
				      strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = sync_parent(db_path, error_r);
out:
	free(tmp);
	free(db_path);
	return ret;
}

/* maps_build_spec - maps_build() for "type:name" */
int maps_build_spec(const char *spec, unsigned int flags, const char **error_r)
{
	const struct maps_backend *backend;
	const char *name;

	if (split_spec(spec, &backend, &name, error_r) < 0)
		return -1;
	return maps_build(backend->type, name, flags, error_r);
}
