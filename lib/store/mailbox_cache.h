/*
 * mailbox_cache - a folder's cache of what FETCH renders from the
 * header (ENVELOPE) and of the CRLF size, in FOLDER/facteur-cache
 *
 * Internal to lib/store.  The file format is in docs/store.md: a header
 * line "FACTEUR-CACHE 1 <uidvalidity>", then records appended as
 * messages are first parsed,
 *
 *	"E <uid> <variant> <vsize> <len> <fnv1a-32 of data, 8 hex>\n"
 *	<len bytes of data> "\n"
 *
 * A message's content never changes under its UID (Maildir files are
 * only renamed), so a record stays true for as long as the UIDVALIDITY
 * of the header is the index's; a record of an expunged UID is never
 * asked for again.  The parser stops at the first record that does not
 * check out (a torn tail of a writer that died, or damage): what comes
 * before it is used, the rest is cut off by the next writer.
 */
#ifndef FACTEUR_MAILBOX_CACHE_H
#define FACTEUR_MAILBOX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

struct mbx_folder;

#define MBX_CACHE_FILE	"facteur-cache"
#define MBX_CACHE_MAGIC "FACTEUR-CACHE 1 "
/* Largest data of one record, and largest file read. */
#define MBX_CACHE_DATA_MAX (256u * 1024)
#define MBX_CACHE_FILE_MAX (512u * 1024 * 1024)
/* Variants: how the data was rendered (RFC822_IMAP_UTF8 or not). */
#define MBX_CACHE_VARIANTS 2

/* One record in memory: data at blob[off..off+len). */
struct mbx_cache_rec {
	uint32_t uid;
	uint8_t variant;
	uint64_t vsize;
	size_t off, len;
};

struct mbx_cache {
	bool loaded; /* the file was read (or found missing/unusable) */
	int fd;	     /* -1: not open */
	uint32_t uidvalidity;
	off_t offset; /* the file's bytes taken into memory (good records) */
	struct strbuf blob;
	struct mbx_cache_rec *recs;
	size_t count, alloc;
	uint32_t *table; /* open addressing: record index + 1, 0 free */
	size_t table_size;
	struct strbuf pending; /* formatted records not written yet */
};

/* A parsed record (data points into the parsed buffer). */
typedef void mbx_cache_rec_fn(void *ctx, uint32_t uid, unsigned variant,
			      uint64_t vsize, const char *data, size_t len);

/*
 * mbx_cache_parse_header - the header line of buf[0..len): 0 with
 * *uidvalidity_r and *used_r (its length), or -1 when it is not one.
 */
int mbx_cache_parse_header(const char *buf, size_t len, uint32_t *uidvalidity_r,
			   size_t *used_r);
/*
 * mbx_cache_parse - the records of buf[0..len) (after the header): fn
 * for each good one, in order; returns the length of the good prefix
 * (len when every record checks out).
 */
size_t mbx_cache_parse(const char *buf, size_t len, mbx_cache_rec_fn *fn,
		       void *ctx);
/* Append one record in file form to out. */
void mbx_cache_format(struct strbuf *out, uint32_t uid, unsigned variant,
		      uint64_t vsize, const char *data, size_t len);

void mbx_cache_init(struct mbx_cache *c);
/* Write what is pending, then free everything. */
void mbx_cache_clear(struct mbx_folder *f);
/* The record of uid in variant, reading the file first when needed;
 * NULL when there is none.  *data_r points into the cache. */
const struct mbx_cache_rec *mbx_cache_find(struct mbx_folder *f, uint32_t uid,
					   unsigned variant,
					   const char **data_r);
/* Remember a record (written by the next mbx_cache_flush). */
void mbx_cache_add(struct mbx_folder *f, uint32_t uid, unsigned variant,
		   uint64_t vsize, const char *data, size_t len);
/* Append the pending records to the file (under its flock); failures
 * only cost speed and are not reported. */
void mbx_cache_flush(struct mbx_folder *f);

#endif
