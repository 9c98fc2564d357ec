/*
 * map_db - Berkeley DB tables: hash: and btree:
 *
 * SYNOPSIS
 *	#include "map_priv.h"
 *
 *	extern const struct maps_backend maps_backend_hash;
 *	extern const struct maps_backend maps_backend_btree;
 *
 * DESCRIPTION
 *	Every Berkeley DB call in Facteur is in this file (STYLE.md §2, like
 *	Postfix's util/dict_db.c).  A table is a single file NAME.db opened
 *	with db_create() and DB->open(), DB_HASH or DB_BTREE, without an
 *	environment: readers open it DB_RDONLY and never write, and a build
 *	creates a fresh temporary file that nobody else has open, so there
 *	is nothing for an environment's locking or logging to protect.
 *
 *	Keys and values are stored without a trailing NUL (maps.h).  The
 *	value DBT uses Berkeley DB's own memory, valid until the next call
 *	on the handle; it is copied into the table's value buffer at once.
 *
 *	The build opens its file DB_CREATE | DB_EXCL: maps.c has just
 *	removed that name, so exclusive creation guarantees a new, empty
 *	file (O_EXCL does not follow a symlink planted in its place), which
 *	DB_TRUNCATE would not.  Entries go in with DB_NOOVERWRITE, so that
 *	the first of duplicate keys stays, as with postmap.
 *
 * DIAGNOSTICS
 *	Errors name the file and give Berkeley DB's reason: its return
 *	code's text, or the more precise message it reports through the
 *	error callback (e.g. "unexpected file type or format" for a file
 *	that is not a database).
 */
#include "autoconf.h"

#include <db.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "map_priv.h"

/* The last message Berkeley DB reported through the error callback. */
static char db_errmsg[256];

/* db_errcall - keep Berkeley DB's message for the error we return, rather
 * than letting the library print it on stderr */
static void db_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	snprintf(db_errmsg, sizeof(db_errmsg), "%s", msg);
}

/* db_reason - the best description of a failed call's ret */
static const char *db_reason(int ret)
{
	return db_errmsg[0] != '\0' ? db_errmsg : db_strerror(ret);
}

/* db_new - a handle that reports through db_errcall */
static int db_new(DB **dbp)
{
	int ret;

	db_errmsg[0] = '\0';
	if ((ret = db_create(dbp, NULL, 0)) != 0)
		return ret;
	(*dbp)->set_errcall(*dbp, db_errcall);
	return 0;
}

/* db_open - open table->db_path read-only as the given access method */
static int db_open(struct maps_table *table, DBTYPE type, const char **error_r)
{
	DB *db;
	int ret;

	if ((ret = db_new(&db)) != 0) {
		*error_r = maps_error("open database %s: %s", table->db_path,
				      db_reason(ret));
		return -1;
	}
	if ((ret = db->open(db, NULL, table->db_path, NULL, type, DB_RDONLY,
			    0)) != 0) {
		*error_r = maps_error("open database %s: %s", table->db_path,
				      db_reason(ret));
		db->close(db, 0);
		return -1;
	}
	table->priv = db;
	return 0;
}

/* hash_open - open a DB_HASH table */
static int hash_open(struct maps_table *table, const char **error_r)
{
	return db_open(table, DB_HASH, error_r);
}

/* btree_open - open a DB_BTREE table */
static int btree_open(struct maps_table *table, const char **error_r)
{
	return db_open(table, DB_BTREE, error_r);
}

/* db_lookup - DB->get, the value copied into the table */
static int db_lookup(struct maps_table *table, const char *key, size_t key_len,
		     const char **error_r)
{
	DB *db = table->priv;
	DBT k, v;
	int ret;

	if (key_len > UINT32_MAX)
		return 0; /* cannot have been stored */
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)key_len;
	db_errmsg[0] = '\0';
	ret = db->get(db, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0) {
		*error_r = maps_error("%s: lookup: %s", table->spec,
				      db_reason(ret));
		return -1;
	}
	strbuf_append(&table->value, v.data, v.size);
	return 1;
}

/* db_close - close the handle; a read-only close has nothing to flush */
static void db_close(struct maps_table *table)
{
	DB *db = table->priv;

	if (db != NULL)
		db->close(db, 0);
	table->priv = NULL;
}

struct maps_builder {
	DB *db;
	char *path;
};

/* db_build_begin - create a new, empty database at path */
static struct maps_builder *db_build_begin(DBTYPE type, const char *path,
					   mode_t mode, const char **error_r)
{
	struct maps_builder *builder;
	DB *db;
	int ret;

	if ((ret = db_new(&db)) != 0) {
		*error_r = maps_error("create database %s: %s", path,
				      db_reason(ret));
		return NULL;
	}
	if ((ret = db->open(db, NULL, path, NULL, type, DB_CREATE | DB_EXCL,
			    (int)mode)) != 0) {
		*error_r = maps_error("create database %s: %s", path,
				      db_reason(ret));
		db->close(db, 0);
		return NULL;
	}
	builder = xcalloc(1, sizeof(*builder));
	builder->db = db;
	builder->path = xstrdup(path);
	return builder;
}

/* hash_build_begin - a new DB_HASH file */
static struct maps_builder *hash_build_begin(const char *path, mode_t mode,
					     const char **error_r)
{
	return db_build_begin(DB_HASH, path, mode, error_r);
}

/* btree_build_begin - a new DB_BTREE file */
static struct maps_builder *btree_build_begin(const char *path, mode_t mode,
					      const char **error_r)
{
	return db_build_begin(DB_BTREE, path, mode, error_r);
}

/* db_build_put - store an entry unless its key is already there */
static int db_build_put(struct maps_builder *builder, const char *key,
			size_t key_len, const char *value, size_t value_len,
			const char **error_r)
{
	DBT k, v;
	int ret;

	/* mapsrc bounds a line far below 4 GiB; this is a backstop. */
	if (key_len > UINT32_MAX || value_len > UINT32_MAX) {
		*error_r =
			maps_error("write %s: entry too large", builder->path);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)key_len;
	v.data = (void *)value;
	v.size = (u_int32_t)value_len;
	db_errmsg[0] = '\0';
	ret = builder->db->put(builder->db, NULL, &k, &v, DB_NOOVERWRITE);
	if (ret == DB_KEYEXIST)
		return 0;
	if (ret != 0) {
		*error_r = maps_error("write %s: %s", builder->path,
				      db_reason(ret));
		return -1;
	}
	return 1;
}

/* db_builder_free - release the builder (the DB handle is closed) */
static void db_builder_free(struct maps_builder *builder)
{
	free(builder->path);
	free(builder);
}

/* db_build_commit - write the file out; maps.c fsyncs it afterwards */
static int db_build_commit(struct maps_builder *builder, const char **error_r)
{
	int ret;

	db_errmsg[0] = '\0';
	/* DB->close() without DB_NOSYNC writes every dirty page out. */
	ret = builder->db->close(builder->db, 0);
	if (ret != 0)
		*error_r = maps_error("write %s: %s", builder->path,
				      db_reason(ret));
	db_builder_free(builder);
	return ret != 0 ? -1 : 0;
}

/* db_build_abort - close without writing; maps.c removes the file */
static void db_build_abort(struct maps_builder *builder)
{
	builder->db->close(builder->db, DB_NOSYNC);
	db_builder_free(builder);
}

const struct maps_backend maps_backend_hash = {
	.type = "hash",
	.suffix = ".db",
	.open = hash_open,
	.lookup = db_lookup,
	.close = db_close,
	.build_begin = hash_build_begin,
	.build_put = db_build_put,
	.build_commit = db_build_commit,
	.build_abort = db_build_abort,
};

const struct maps_backend maps_backend_btree = {
	.type = "btree",
	.suffix = ".db",
	.open = btree_open,
	.lookup = db_lookup,
	.close = db_close,
	.build_begin = btree_build_begin,
	.build_put = db_build_put,
	.build_commit = db_build_commit,
	.build_abort = db_build_abort,
};
