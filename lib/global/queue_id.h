/*
 * queue_id - queue ids from arrival time and inode number
 *
 * A queue id names one message for its whole life in the queue: it is the
 * name of its queue file and the first word of every log line about it
 * (STYLE.md §10).  Ids are "long queue ids" in the manner of Postfix:
 *
 *	SSSSSS UUUU z III...
 *	|      |    | `- inode number of the queue file, 1..12 digits
 *	|      |    `--- separator 'z', which no field can contain
 *	|      `-------- microseconds, exactly 4 digits
 *	`--------------- seconds since the epoch, exactly 6 digits
 *
 * Every field is written in base 51 with the alphabet QUEUE_ID_ALPHABET:
 * the ten digits, then the consonants in upper case, then the consonants
 * in lower case except 'z' (kept for the separator).  Without vowels an
 * id cannot spell a word; the alphabet is in ASCII order and the time
 * fields have a fixed width, so ids sort by arrival time in ls(1) and in
 * strcmp().  The seconds field reaches 51^6 - 1 seconds (the year 2527).
 * The inode field has no leading zero digit (only inode 0 is written "0"),
 * so each (time, inode) triple has exactly one spelling.
 *
 * Uniqueness: the inode number is that of the queue file itself, which is
 * created first under a temporary name and keeps its inode through the
 * rename to its id.  Two live files of one filesystem never share an
 * inode, so two messages in the queue never share an id, whatever the
 * clock does (set back, stepped by NTP, same microsecond on two cores),
 * and whatever the process ids are after a restart.  An inode is only
 * reused once its file is gone, and then the time fields differ unless the
 * clock went back to that very microsecond.  This holds only while every
 * queue directory is on one filesystem, which the rename between queue
 * directories requires anyway.
 *
 * Hashing: a queue directory holds its files in subdirectories named by
 * characters of the id, so that no directory grows past a few thousand
 * entries.  The characters are taken from the microseconds field, which
 * has a fixed width and is spread evenly: depth 1 uses its last character
 * ("incoming/T/ID"), depth 2 its last two ("incoming/T/q/ID").  Each level
 * has at most 51 subdirectories.
 */
#ifndef FACTEUR_QUEUE_ID_H
#define FACTEUR_QUEUE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_ID_ALPHABET      "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy"
#define QUEUE_ID_BASE	       51
#define QUEUE_ID_SEP	       'z'
#define QUEUE_ID_SEC_LEN       6
#define QUEUE_ID_USEC_LEN      4
#define QUEUE_ID_INODE_MAX_LEN 12 /* 51^12 > 2^64 */
#define QUEUE_ID_MIN	       (QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN + 2)
#define QUEUE_ID_MAX                                                           \
	(QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN + 1 + QUEUE_ID_INODE_MAX_LEN)
/* 51^6: the first arrival time that no longer fits the seconds field. */
#define QUEUE_ID_SEC_LIMIT UINT64_C(17596287801)

/* Hash depth: 0 (no subdirectories) to QUEUE_ID_HASH_DEPTH_MAX. */
#define QUEUE_ID_HASH_DEPTH_MAX 2
/* Room for the longest hash path, "c/d", and its NUL. */
#define QUEUE_ID_HASH_DIR_MAX (2 * QUEUE_ID_HASH_DEPTH_MAX)

/*
 * queue_id_build - spell the id of (sec, usec, inode) into buf, which has
 * room for QUEUE_ID_MAX + 1 bytes.  Returns 0, or -1 (buf untouched) when
 * sec >= QUEUE_ID_SEC_LIMIT or usec >= 1000000.
 */
int queue_id_build(char *buf, uint64_t sec, uint32_t usec, uint64_t inode);

/*
 * queue_id_decode - check id strictly and give back its parts (any of the
 * result pointers may be NULL).  Strict: QUEUE_ID_MIN..QUEUE_ID_MAX
 * characters, only the alphabet and the one separator at its place, no
 * leading zero in the inode, inode within 64 bits, usec below 1000000.
 * Returns 0, or -1 with a static *error_r ("bad character in queue id").
 */
int queue_id_decode(const char *id, uint64_t *sec_r, uint32_t *usec_r,
		    uint64_t *inode_r, const char **error_r);

/*
 * queue_id_valid - whether id is a well-formed queue id (as decode).  Use
 * it on every id that comes from a file name or from another process
 * before it is used to build a path: a valid id holds no '/' nor "..".
 */
bool queue_id_valid(const char *id);

/*
 * queue_id_valid_n - the same for len bytes that need not end in a NUL
 * (an IPC attribute value): a NUL inside makes it invalid.
 */
bool queue_id_valid_n(const char *s, size_t len);

/*
 * queue_id_hash_dir - the hash subdirectory of id for the given depth, as
 * a relative path without a trailing slash ("" for depth 0, "T" for 1,
 * "T/q" for 2), into buf of size bytes (QUEUE_ID_HASH_DIR_MAX suffices).
 * Returns 0, or -1 when id is invalid, depth is over
 * QUEUE_ID_HASH_DEPTH_MAX or buf is too small.
 */
int queue_id_hash_dir(const char *id, unsigned int depth, char *buf,
		      size_t size);

#endif
