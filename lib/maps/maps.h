/*
 * maps - lookup tables: aliases, virtual_mailbox_maps, transport_maps, ...
 *
 * A table is named "type:name" as in Postfix's main.cf, e.g.
 * "hash:/etc/facteur/aliases".  The name is the text source; the types are
 *
 *	hash	 Berkeley DB hash file NAME.db        (built by maps_build)
 *	btree	 Berkeley DB B-tree file NAME.db      (built by maps_build)
 *	lmdb	 LMDB file NAME.lmdb, a single file   (built by maps_build)
 *	texthash the source itself, read into memory at open: no database
 *		 file, nothing to rebuild; for tests and small tables
 *
 * Keys and values are stored exactly, without the terminating NUL that
 * Postfix's postmap adds: a .db file built by Postfix will not match (its
 * keys end in NUL); rebuild it from its source with `facteur map`.
 *
 * Case: the builder lowercases keys (ASCII) unless MAPS_KEEP_CASE (postmap
 * -f), and a lookup lowercases its key unless the table was opened with
 * MAPS_KEEP_CASE.  Callers do the Postfix lookup sequences themselves
 * (user@domain, then user, then @domain): this module looks up one key.
 *
 * Building (postmap, newaliases) is atomic: the new table is written to a
 * temporary file beside the old one ("NAME.db.tmp.PID"), synced, and
 * renamed over it, and the directory is synced.  A reader never sees a
 * half-built table; a table already open keeps reading the file it opened
 * (the old inode) until it is closed and opened again.  The new file gets
 * the source's permission bits, so a 0600 sasl_passwd gives a 0600 .db,
 * and, when built by root, the source's owner and group (postmap runs as
 * the source's owner).
 *
 * Duplicate keys in a source: the first one wins and each later one draws
 * a warning through log_warn(), "FILE:LINE: duplicate entry: \"key\"", as
 * postmap does.  texthash does the same when it reads its source.
 *
 * Errors: functions return -1 (or NULL) with *error_r set to a message
 * naming the table or file ("open database /etc/facteur/aliases.db: No
 * such file or directory").  The message is valid until the next call to
 * any maps_* function.  Nothing here exits on bad input.
 *
 * Not thread-safe (one process per service, STYLE.md §1.1).
 */
#ifndef FACTEUR_MAPS_H
#define FACTEUR_MAPS_H

#include <stdbool.h>

/* Flags for maps_open() and maps_build() (a bit set). */
#define MAPS_KEEP_CASE 0x01u /* keys compared/stored exactly (postmap -f) */
#define MAPS_ALIASES                                                           \
	0x02u /* the source is in aliases(5) "name: value"
				format (maps_build, texthash) */

struct maps_table;

/*
 * maps_open - open the table "type:name" for lookups.  A missing or broken
 * database file is an error naming the file.  A database older than its
 * source is opened anyway; see maps_is_stale().
 */
struct maps_table *maps_open(const char *spec, unsigned int flags,
			     const char **error_r);
/* maps_close - close; NULL is fine; sets *tablep to NULL. */
void maps_close(struct maps_table **tablep);

/*
 * maps_lookup - look key up.  Returns 1 with *value_r set, 0 when the key
 * is not in the table, -1 on error (I/O, corrupt file) with *error_r set.
 * *value_r is a loan, NUL-terminated, valid until the next maps_lookup()
 * on the same table or its maps_close().
 */
int maps_lookup(struct maps_table *table, const char *key, const char **value_r,
		const char **error_r);

/* maps_name - the "type:name" the table was opened as. */
const char *maps_name(const struct maps_table *table);

/*
 * maps_is_stale - whether the database file was older than its source
 * when the table was opened (the source was edited and not rebuilt), as
 * Postfix warns "database X is older than source file Y".  When it is and
 * why_r is not NULL, *why_r says so in those words (valid until
 * maps_close()).  A missing source is not stale (a table may ship without
 * one); texthash is never stale.
 */
bool maps_is_stale(const struct maps_table *table, const char **why_r);

/*
 * maps_changed - whether the file the table reads was replaced or changed
 * since it was opened (a rebuild by `facteur map`, an edited texthash
 * source): a long-running process then reopens it to see the new data.
 */
bool maps_changed(const struct maps_table *table);

/*
 * maps_build - build the table of the given type ("hash", "btree",
 * "lmdb") from source_path into source_path.db / source_path.lmdb,
 * atomically (see above).  flags: MAPS_KEEP_CASE, MAPS_ALIASES.  Returns
 * 0, or -1 with *error_r set: the source cannot be read, a "FILE:LINE: ..."
 * parse error (mapsrc.h), the type has no database file (texthash) or is
 * unknown, or the new file cannot be written.  On error the old table is
 * left as it was and no temporary file remains.
 */
int maps_build(const char *type, const char *source_path, unsigned int flags,
	       const char **error_r);
/* maps_build_spec - the same for a "type:name" as maps_open() takes. */
int maps_build_spec(const char *spec, unsigned int flags, const char **error_r);

/* maps_type_supported - whether type ("hash", ...) is known. */
bool maps_type_supported(const char *type);
/* maps_types - the supported type names, NULL-terminated, in the order
 * listed above (for `facteur map -l` and error messages). */
const char *const *maps_types(void);

#endif
