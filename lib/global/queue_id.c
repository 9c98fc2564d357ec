/*
 * queue_id - queue ids from arrival time and inode number
 *
 * SYNOPSIS
 *	#include "queue_id.h"
 *
 *	int queue_id_build(char *buf, uint64_t sec, uint32_t usec,
 *			   uint64_t inode);
 *	int queue_id_decode(const char *id, uint64_t *sec_r, uint32_t *usec_r,
 *			    uint64_t *inode_r, const char **error_r);
 *	bool queue_id_valid(const char *id);
 *	bool queue_id_valid_n(const char *s, size_t len);
 *	int queue_id_hash_dir(const char *id, unsigned int depth, char *buf,
 *			      size_t size);
 *
 * DESCRIPTION
 *	The format and why it is unique are in queue_id.h.  Encoding is
 *	plain positional base 51; decoding takes the digit values from a
 *	256-entry table in which every byte outside the alphabet is -1, so
 *	one lookup both checks and converts a character.
 *
 * DIAGNOSTICS
 *	Functions return -1 (or false) on bad input; error texts are static.
 *
 * SECURITY
 *	Ids arrive in file names found by readdir() and in messages from
 *	other processes, and are then used to build paths.  The decoder
 *	accepts nothing but the alphabet and the separator, so a valid id
 *	can never hold '/', '.', a NUL or a control character.
 */
#include "autoconf.h"

#include <pthread.h>
#include <string.h>

#include "queue_id.h"

static const char alphabet[] = QUEUE_ID_ALPHABET;

/* The digit value of each byte, -1 outside the alphabet. */
static signed char digit_table[256];
static pthread_once_t digit_table_once = PTHREAD_ONCE_INIT;

/* digit_table_init - fill digit_table (once per process) */
static void digit_table_init(void)
{
	memset(digit_table, -1, sizeof(digit_table));
	for (int i = 0; i < QUEUE_ID_BASE; i++)
		digit_table[(unsigned char)alphabet[i]] = (signed char)i;
}

/*
 * digit_value - the value of c in the alphabet, or -1.  smtpd checks ids
 * on several commit threads at once: the first use must not race (a
 * half-built table made a valid id look invalid, and smtpd panicked).
 */
static int digit_value(unsigned char c)
{
	(void)pthread_once(&digit_table_once, digit_table_init);
	return digit_table[c];
}

/* encode_fixed - write value as exactly width digits (value must fit) */
static void encode_fixed(char *out, uint64_t value, size_t width)
{
	for (size_t i = width; i > 0; i--) {
		out[i - 1] = alphabet[value % QUEUE_ID_BASE];
		value /= QUEUE_ID_BASE;
	}
}

/* queue_id_build - spell the id of (sec, usec, inode) */
int queue_id_build(char *buf, uint64_t sec, uint32_t usec, uint64_t inode)
{
	char digits[QUEUE_ID_INODE_MAX_LEN];
	size_t n = 0;
	char *p = buf;

	if (sec >= QUEUE_ID_SEC_LIMIT || usec >= 1000000)
		return -1;
	encode_fixed(p, sec, QUEUE_ID_SEC_LEN);
	p += QUEUE_ID_SEC_LEN;
	encode_fixed(p, usec, QUEUE_ID_USEC_LEN);
	p += QUEUE_ID_USEC_LEN;
	*p++ = QUEUE_ID_SEP;
	/* The inode has no fixed width: least significant digit first, then
	 * reversed, so that there is never a leading zero. */
	do {
		digits[n++] = alphabet[inode % QUEUE_ID_BASE];
		inode /= QUEUE_ID_BASE;
	} while (inode > 0);
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
	return 0;
}

/* decode_fixed - the value of width alphabet digits, or -1 */
static int decode_fixed(const char *s, size_t width, uint64_t *value_r)
{
	uint64_t value = 0;

	for (size_t i = 0; i < width; i++) {
		int d = digit_value((unsigned char)s[i]);

		if (d < 0)
			return -1;
		/* Six digits of base 51 stay far below 2^64. */
		value = value * QUEUE_ID_BASE + (uint64_t)d;
	}
	*value_r = value;
	return 0;
}

/* decode_n - the strict decoder behind every public entry point */
static int decode_n(const char *s, size_t len, uint64_t *sec_r,
		    uint32_t *usec_r, uint64_t *inode_r, const char **error_r)
{
	const size_t time_len = QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN;
	uint64_t sec, usec, inode = 0;

	if (len < QUEUE_ID_MIN) {
		*error_r = "queue id too short";
		return -1;
	}
	if (len > QUEUE_ID_MAX) {
		*error_r = "queue id too long";
		return -1;
	}
	if (decode_fixed(s, QUEUE_ID_SEC_LEN, &sec) < 0 ||
	    decode_fixed(s + QUEUE_ID_SEC_LEN, QUEUE_ID_USEC_LEN, &usec) < 0) {
		*error_r = "bad character in queue id";
		return -1;
	}
	if (usec >= 1000000) {
		*error_r = "microseconds out of range in queue id";
		return -1;
	}
	if (s[time_len] != QUEUE_ID_SEP) {
		*error_r = "missing separator in queue id";
		return -1;
	}
	if (len - time_len - 1 > 1 && s[time_len + 1] == alphabet[0]) {
		*error_r = "leading zero in queue id inode";
		return -1;
	}
	for (size_t i = time_len + 1; i < len; i++) {
		int d = digit_value((unsigned char)s[i]);

		if (d < 0) {
			*error_r = "bad character in queue id";
			return -1;
		}
		if (inode > (UINT64_MAX - (uint64_t)d) / QUEUE_ID_BASE) {
			*error_r = "inode out of range in queue id";
			return -1;
		}
		inode = inode * QUEUE_ID_BASE + (uint64_t)d;
	}
	if (sec_r != NULL)
		*sec_r = sec;
	if (usec_r != NULL)
		*usec_r = (uint32_t)usec;
	if (inode_r != NULL)
		*inode_r = inode;
	return 0;
}

/* queue_id_decode - strict check of a NUL-terminated id, with its parts */
int queue_id_decode(const char *id, uint64_t *sec_r, uint32_t *usec_r,
		    uint64_t *inode_r, const char **error_r)
{
	/* strnlen: never scan far into a string that is not an id at all. */
	size_t len = strnlen(id, QUEUE_ID_MAX + 1);

	return decode_n(id, len, sec_r, usec_r, inode_r, error_r);
}

/* queue_id_valid - whether id is well-formed */
bool queue_id_valid(const char *id)
{
	const char *error;

	return queue_id_decode(id, NULL, NULL, NULL, &error) == 0;
}

/* queue_id_valid_n - whether len bytes form a well-formed id */
bool queue_id_valid_n(const char *s, size_t len)
{
	const char *error;

	/* A NUL is outside the alphabet, so decode_n refuses it. */
	return decode_n(s, len, NULL, NULL, NULL, &error) == 0;
}

/* queue_id_hash_dir - the hash subdirectory of an id */
int queue_id_hash_dir(const char *id, unsigned int depth, char *buf,
		      size_t size)
{
	/* The last character of the microseconds field varies fastest. */
	const size_t last = QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN - 1;
	size_t need = depth == 0 ? 1 : 2 * depth;
	char *p = buf;

	if (!queue_id_valid(id) || depth > QUEUE_ID_HASH_DEPTH_MAX ||
	    size < need)
		return -1;
	for (unsigned int i = 0; i < depth; i++) {
		if (i > 0)
			*p++ = '/';
		*p++ = id[last - i];
	}
	*p = '\0';
	return 0;
}
