/*
 * map_lmdb - LMDB tables: lmdb:
 *
 * SYNOPSIS
 *	#include "map_priv.h"
 *
 *	extern const struct maps_backend maps_backend_lmdb;
 *
 * DESCRIPTION
 *	Every LMDB call in Facteur is in this file.  A table is one file,
 *	NAME.lmdb (MDB_NOSUBDIR), holding LMDB's unnamed database.
 *
 *	Locking.  Both readers and the builder open the file MDB_NOLOCK, so
 *	no "NAME.lmdb-lock" file is ever created beside the table.  LMDB's
 *	lock file exists so that a writer does not reuse pages that a reader
 *	in another process still sees.  Here no file is ever written once a
 *	reader can open it: maps_build() writes a fresh temporary file that
 *	only the building process knows, and renames it over the old one
 *	when it is complete.  A reader that opened the old file keeps its
 *	mapping of the old inode, which nobody writes any more; a reader
 *	that opens after the rename maps the new, complete file.  With one
 *	writer per file and no reader until the writer is done, the lock
 *	table has nothing to protect.  (Writing into a table file by other
 *	means, e.g. mdb_load, would break that; `facteur map` is the way to
 *	build one.)
 *
 *	Lookups use one read-only transaction each (mdb_txn_renew() and
 *	mdb_txn_reset() on a handle kept with the table, which saves a
 *	malloc per lookup).  The value is copied out before the reset, since
 *	LMDB's pointer is valid only within the transaction.
 *
 *	The build starts with a 1 MiB map and doubles it whenever LMDB says
 *	MDB_MAP_FULL.  That error spoils the current write transaction, so
 *	the entries are committed in batches, and the entries of the batch
 *	in progress are kept in memory to be written again after the map
 *	has grown.  The environment is opened MDB_NOSYNC (commits do not
 *	fsync): one mdb_env_sync() at the end, plus maps.c's fsync before
 *	the rename, is what makes the file durable.
 *
 * DIAGNOSTICS
 *	Errors name the file and give mdb_strerror()'s reason.  A key longer
 *	than LMDB's maximum key size (511 bytes by default) cannot be
 *	stored: the build fails on it, and a lookup of one is a miss.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "map_priv.h"

/* The first map size of a build; doubled on MDB_MAP_FULL. */
#define LMDB_MAPSIZE_START ((size_t)1 << 20)
/* Commit a batch after this many entries or bytes of entries: bounds what
 * is kept in memory for replay after growing the map. */
#define LMDB_BATCH_ENTRIES 1000
#define LMDB_BATCH_BYTES   ((size_t)4 << 20)

struct lmdb_table {
	MDB_env *env;
	MDB_txn *txn; /* reset between lookups */
	MDB_dbi dbi;
	size_t max_key;
};

/* lmdb_open - map table->db_path read-only */
static int lmdb_open(struct maps_table *table, const char **error_r)
{
	struct lmdb_table *lt = xcalloc(1, sizeof(*lt));
	int rc;

	if ((rc = mdb_env_create(&lt->env)) != 0)
		goto fail;
	rc = mdb_env_open(lt->env, table->db_path,
			  MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_txn_begin(lt->env, NULL, MDB_RDONLY, &lt->txn)) != 0) {
		lt->txn = NULL;
		goto fail;
	}
	if ((rc = mdb_dbi_open(lt->txn, NULL, 0, &lt->dbi)) != 0)
		goto fail;
	/* Committing makes the handle usable by later transactions. */
	rc = mdb_txn_commit(lt->txn);
	lt->txn = NULL;
	if (rc != 0 ||
	    (rc = mdb_txn_begin(lt->env, NULL, MDB_RDONLY, &lt->txn)) != 0)
		goto fail;
	mdb_txn_reset(lt->txn);
	lt->max_key = (size_t)mdb_env_get_maxkeysize(lt->env);
	table->priv = lt;
	return 0;
fail:
	*error_r = maps_error("open database %s: %s", table->db_path,
			      mdb_strerror(rc));
	if (lt->txn != NULL)
		mdb_txn_abort(lt->txn);
	if (lt->env != NULL)
		mdb_env_close(lt->env);
	free(lt);
	return -1;
}

/* lmdb_lookup - one read-only transaction, the value copied out */
static int lmdb_lookup(struct maps_table *table, const char *key,
		       size_t key_len, const char **error_r)
{
	struct lmdb_table *lt = table->priv;
	MDB_val k, v;
	int rc;

	/* Such a key cannot have been stored, and LMDB would call it
	 * MDB_BAD_VALSIZE: a miss, not an error. */
	if (key_len == 0 || key_len > lt->max_key)
		return 0;
	if ((rc = mdb_txn_renew(lt->txn)) != 0) {
		*error_r = maps_error("%s: lookup: %s", table->spec,
				      mdb_strerror(rc));
		return -1;
	}
	k.mv_data = (void *)key;
	k.mv_size = key_len;
	rc = mdb_get(lt->txn, lt->dbi, &k, &v);
	if (rc == 0)
		strbuf_append(&table->value, v.mv_data, v.mv_size);
	mdb_txn_reset(lt->txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		*error_r = maps_error("%s: lookup: %s", table->spec,
				      mdb_strerror(rc));
		return -1;
	}
	return 1;
}

/* lmdb_close - unmap */
static void lmdb_close(struct maps_table *table)
{
	struct lmdb_table *lt = table->priv;

	if (lt == NULL)
		return;
	mdb_txn_abort(lt->txn);
	mdb_env_close(lt->env);
	free(lt);
	table->priv = NULL;
}

struct maps_builder {
	MDB_env *env;
	MDB_txn *txn; /* the write transaction of the current batch */
	MDB_dbi dbi;
	char *path;
	size_t mapsize;
	size_t max_key;
	/* The current batch, for replay: size_t key_len, size_t value_len,
	 * key, value; one after the other. */
	struct strbuf batch;
	size_t batch_count;
};

/* builder_fail - format an error about the file being built */
static int builder_fail(struct maps_builder *builder, int rc,
			const char **error_r)
{
	*error_r = maps_error("write %s: %s", builder->path, mdb_strerror(rc));
	return -1;
}

/* replay - write the current batch again, into a new transaction */
static int replay(struct maps_builder *builder)
{
	const char *p = builder->batch.data;
	const char *end = p + builder->batch.len;
	MDB_val k, v;
	int rc;

	while (p < end) {
		memcpy(&k.mv_size, p, sizeof(size_t));
		memcpy(&v.mv_size, p + sizeof(size_t), sizeof(size_t));
		k.mv_data = (void *)(p + 2 * sizeof(size_t));
		v.mv_data = (void *)(p + 2 * sizeof(size_t) + k.mv_size);
		rc = mdb_put(builder->txn, builder->dbi, &k, &v,
			     MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			return rc;
		p += 2 * sizeof(size_t) + k.mv_size + v.mv_size;
	}
	return 0;
}

/* grow - the transaction died of MDB_MAP_FULL: double the map, start a
 * new transaction and replay the batch, until it fits */
static int grow(struct maps_builder *builder, const char **error_r)
{
	int rc;

	for (;;) {
		if (builder->mapsize > SIZE_MAX / 2)
			return builder_fail(builder, MDB_MAP_FULL, error_r);
		builder->mapsize *= 2;
		rc = mdb_env_set_mapsize(builder->env, builder->mapsize);
		if (rc != 0)
			return builder_fail(builder, rc, error_r);
		rc = mdb_txn_begin(builder->env, NULL, 0, &builder->txn);
		if (rc != 0) {
			builder->txn = NULL;
			return builder_fail(builder, rc, error_r);
		}
		if ((rc = replay(builder)) == 0)
			return 0;
		mdb_txn_abort(builder->txn);
		builder->txn = NULL;
		if (rc != MDB_MAP_FULL)
			return builder_fail(builder, rc, error_r);
	}
}

/* flush - commit the batch (growing the map when the commit needs it) */
static int flush(struct maps_builder *builder, const char **error_r)
{
	int rc;

	for (;;) {
		rc = mdb_txn_commit(builder->txn);
		builder->txn = NULL; /* a failed commit frees it too */
		if (rc == 0)
			break;
		if (rc != MDB_MAP_FULL)
			return builder_fail(builder, rc, error_r);
		if (grow(builder, error_r) < 0)
			return -1;
	}
	strbuf_reset(&builder->batch);
	builder->batch_count = 0;
	return 0;
}

/* builder_free - close everything that is open and free */
static void builder_free(struct maps_builder *builder)
{
	if (builder->txn != NULL)
		mdb_txn_abort(builder->txn);
	if (builder->env != NULL)
		mdb_env_close(builder->env);
	strbuf_release(&builder->batch);
	free(builder->path);
	free(builder);
}

/* lmdb_build_begin - a new, empty table file at path */
static struct maps_builder *lmdb_build_begin(const char *path, mode_t mode,
					     const char **error_r)
{
	struct maps_builder *builder = xcalloc(1, sizeof(*builder));
	int fd, rc;

	builder->path = xstrdup(path);
	builder->mapsize = LMDB_MAPSIZE_START;
	strbuf_init(&builder->batch, STRBUF_NO_LIMIT);
	/* Create the file ourselves with O_EXCL (LMDB would not): a name
	 * planted since maps.c removed it is refused, not written through.
	 * LMDB takes an empty file for a new environment. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) <
	    0) {
		*error_r = maps_error("create database %s: %s", path,
				      strerror(errno));
		builder_free(builder);
		return NULL;
	}
	close(fd);
	if ((rc = mdb_env_create(&builder->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(builder->env, builder->mapsize)) != 0 ||
	    (rc = mdb_env_open(builder->env, path,
			       MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, mode)) !=
		    0 ||
	    (rc = mdb_txn_begin(builder->env, NULL, 0, &builder->txn)) != 0 ||
	    (rc = mdb_dbi_open(builder->txn, NULL, 0, &builder->dbi)) != 0) {
		*error_r = maps_error("create database %s: %s", path,
				      mdb_strerror(rc));
		builder_free(builder);
		return NULL;
	}
	builder->max_key = (size_t)mdb_env_get_maxkeysize(builder->env);
	return builder;
}

/* lmdb_build_put - store an entry unless its key is there */
static int lmdb_build_put(struct maps_builder *builder, const char *key,
			  size_t key_len, const char *value, size_t value_len,
			  const char **error_r)
{
	MDB_val k, v;
	int rc;

	if (key_len > builder->max_key) {
		*error_r = maps_error("key too long for lmdb (limit %zu bytes)",
				      builder->max_key);
		return -1;
	}
	if (builder->txn == NULL &&
	    (rc = mdb_txn_begin(builder->env, NULL, 0, &builder->txn)) != 0) {
		builder->txn = NULL;
		return builder_fail(builder, rc, error_r);
	}
	for (;;) {
		k.mv_data = (void *)key;
		k.mv_size = key_len;
		v.mv_data = (void *)value;
		v.mv_size = value_len;
		rc = mdb_put(builder->txn, builder->dbi, &k, &v,
			     MDB_NOOVERWRITE);
		if (rc != MDB_MAP_FULL)
			break;
		/* The transaction is spoilt and must go; the batch has
		 * everything it held. */
		mdb_txn_abort(builder->txn);
		builder->txn = NULL;
		if (grow(builder, error_r) < 0)
			return -1;
	}
	if (rc == MDB_KEYEXIST)
		return 0;
	if (rc != 0)
		return builder_fail(builder, rc, error_r);
	strbuf_append(&builder->batch, &key_len, sizeof(key_len));
	strbuf_append(&builder->batch, &value_len, sizeof(value_len));
	strbuf_append(&builder->batch, key, key_len);
	strbuf_append(&builder->batch, value, value_len);
	if (++builder->batch_count >= LMDB_BATCH_ENTRIES ||
	    builder->batch.len >= LMDB_BATCH_BYTES) {
		if (flush(builder, error_r) < 0)
			return -1;
	}
	return 1;
}

/* lmdb_build_commit - commit the last batch, sync and close */
static int lmdb_build_commit(struct maps_builder *builder, const char **error_r)
{
	int rc, ret = 0;

	if (builder->txn != NULL && flush(builder, error_r) < 0)
		ret = -1;
	else if ((rc = mdb_env_sync(builder->env, 1)) != 0)
		ret = builder_fail(builder, rc, error_r);
	builder_free(builder);
	return ret;
}

/* lmdb_build_abort - give up; maps.c removes the file */
static void lmdb_build_abort(struct maps_builder *builder)
{
	builder_free(builder);
}

const struct maps_backend maps_backend_lmdb = {
	.type = "lmdb",
	.suffix = ".lmdb",
	.open = lmdb_open,
	.lookup = lmdb_lookup,
	.close = lmdb_close,
	.build_begin = lmdb_build_begin,
	.build_put = lmdb_build_put,
	.build_commit = lmdb_build_commit,
	.build_abort = lmdb_build_abort,
};
