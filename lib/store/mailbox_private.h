/*
 * mailbox_private - what the files of lib/store's mailbox share
 *
 * Internal: error texts, folder names to paths, the store-wide keyword
 * list (ROOT/dovecot-keywords) and UIDVALIDITY allocation.
 */
#ifndef FACTEUR_MAILBOX_PRIVATE_H
#define FACTEUR_MAILBOX_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mailbox.h"

struct strbuf;

#define MBX_INDEX_FILE	  "facteur-index"
#define MBX_LOCK_FILE	  "facteur-index.lock"
#define MBX_UIDLIST_FILE  "dovecot-uidlist"
#define MBX_KEYWORDS_FILE "dovecot-keywords"
#define MBX_UIDV_FILE	  "facteur-uidvalidity"
#define MBX_SUBS_FILE	  "subscriptions"
/* Most subscriptions taken from the file. */
#define MBX_SUBS_MAX 10000
/* Largest dovecot-uidlist, dovecot-keywords, subscriptions we read. */
#define MBX_SMALL_FILE_MAX (64u * 1024 * 1024)

/* The error text of the last failure (static until the next call). */
const char *mbx_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* root without trailing slashes (malloc'd). */
char *mbx_root(const char *root);
/*
 * mbx_folder_path - root for "INBOX" (any case), else root/.NAME with
 * NAME in modified UTF-7; NULL with *error_r for an invalid name.
 */
char *mbx_folder_path(const char *root, const char *name, const char **error_r);
/* The on-disk name (after the '.') of a UTF-8 folder name, appended. */
int mbx_name_encode(const char *name, struct strbuf *out);

/* The store's keyword names (ROOT/dovecot-keywords). */
struct mbx_keywords {
	char *names[MAILBOX_KEYWORDS_MAX];
	size_t count; /* names[0..count) are all set */
	struct timespec mtime;
	off_t size;
	bool loaded;
};

/* Parse dovecot-keywords' text into kw (bad lines are skipped). */
void mbx_keywords_parse(struct mbx_keywords *kw, const char *data, size_t len);
/* The names in a subscriptions file (malloc'd array of malloc'd names,
 * *count_r of them; free each and the array). */
char **mbx_subscriptions_parse(const char *data, size_t len, size_t *count_r);

/* Read the file again when it changed.  Returns 0 or -1 (*error_r). */
int mbx_keywords_refresh(struct mbx_keywords *kw, const char *root,
			 const char **error_r);
/*
 * mbx_keywords_bits - the bits of names, adding unknown ones to the file
 * (under a lock).  Returns 0, or -1 with *error_r ("too many keywords",
 * a bad name, a write error).
 */
int mbx_keywords_bits(struct mbx_keywords *kw, const char *root,
		      const char *const *names, size_t count, uint32_t *bits_r,
		      const char **error_r);
void mbx_keywords_clear(struct mbx_keywords *kw);
bool mbx_keyword_valid(const char *name);

/* Make the Maildir path (and its cur/ new/ tmp/); a subfolder (sub)
 * also gets Maildir++'s empty maildirfolder file. */
int mbx_make_folder(const char *path, bool sub, const char **error_r);

/* A new UIDVALIDITY for a folder of root: above every one given before
 * (ROOT/facteur-uidvalidity remembers the last) and at least now. */
uint32_t mbx_new_uidvalidity(const char *root, uint32_t above);

/*
 * mbx_open_message - dirfd/name opened for reading, with O_NOATIME where
 * we own the file (else a plain open); -1 with errno.
 */
int mbx_open_message(int dirfd, const char *name);

/*
 * mbx_read_file - the whole of at/name (at most max bytes) into a
 * malloc'd buffer.  Returns 0, -1 with errno (ENOENT: missing, EFBIG:
 * larger than max).
 */
int mbx_read_file(int at, const char *name, size_t max, char **data_r,
		  size_t *len_r);
/* Write data to dir/name through a temporary file and rename(); fsync. */
int mbx_write_file(int dirfd, const char *name, const char *data, size_t len);

#endif
