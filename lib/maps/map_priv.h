/*
 * map_priv - what the table backends share with maps.c
 *
 * Each backend (map_db.c: hash and btree; map_lmdb.c: lmdb; maps.c:
 * texthash) fills a struct maps_backend, the way OpenSMTPD's table
 * backends and Dovecot's storage classes do.  maps.c does everything that
 * is the same for all of them: parse "type:name", derive the file names,
 * lowercase lookup keys, check staleness, read the source and write the
 * temporary file, then sync and rename it.  A backend only opens, looks
 * up, closes, and writes entries into a file it is given.
 *
 * Errors from a backend go through maps_error(), so that every message has
 * the lifetime maps.h promises.
 */
#ifndef FACTEUR_MAP_PRIV_H
#define FACTEUR_MAP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "maps.h"
#include "strbuf.h"

struct maps_backend;
struct maps_builder; /* a backend's table under construction */

struct maps_table {
	const struct maps_backend *backend;
	char *spec;	   /* "hash:/etc/facteur/aliases" */
	char *source_path; /* "/etc/facteur/aliases" */
	char *db_path;	   /* "/etc/facteur/aliases.db"; source for texthash */
	unsigned int flags;
	char *stale_why;     /* NULL when not stale */
	struct stat opened;  /* db_path when opened: maps_changed() */
	struct strbuf key;   /* the key as looked up (lowercased) */
	struct strbuf value; /* the backend puts the value found here */
	void *priv;	     /* the backend's own state */
};

struct maps_backend {
	const char *type;   /* "hash" */
	const char *suffix; /* ".db"; NULL: no database file (texthash) */

	/* Open table->db_path read-only and set table->priv.  0 or -1. */
	int (*open)(struct maps_table *table, const char **error_r);
	/* Look key up; when found, append the value to table->value (which
	 * is empty on entry) and return 1.  0 not found, -1 error. */
	int (*lookup)(struct maps_table *table, const char *key, size_t key_len,
		      const char **error_r);
	/* Release table->priv. */
	void (*close)(struct maps_table *table);

	/* The rest is NULL for a type without a database file. */

	/* Create a new, empty table file at path (which does not exist) with
	 * permission bits mode.  NULL with *error_r on failure. */
	struct maps_builder *(*build_begin)(const char *path, mode_t mode,
					    const char **error_r);
	/* Store one entry unless the key is there: 1 stored, 0 duplicate
	 * (the first one stays), -1 error. */
	int (*build_put)(struct maps_builder *builder, const char *key,
			 size_t key_len, const char *value, size_t value_len,
			 const char **error_r);
	/* Write everything out to the file, flush it to disk and free the
	 * builder (also on error).  0 or -1. */
	int (*build_commit)(struct maps_builder *builder, const char **error_r);
	/* Give up: free the builder; maps.c removes the file. */
	void (*build_abort)(struct maps_builder *builder);
};

extern const struct maps_backend maps_backend_hash;
extern const struct maps_backend maps_backend_btree;
extern const struct maps_backend maps_backend_lmdb;

/*
 * maps_error - format an error message; returns it for *error_r.  Valid
 * until the next maps_error() (that is, the next maps_* call); the
 * arguments may point into the previous message.
 */
const char *maps_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
