/*
 * hash - FNV-1a over short keys (parameter names, table keys, queue ids)
 *
 * For in-memory tables only: the keys come from the administrator or
 * from ourselves, so there is no adversary to defend against with a
 * keyed hash such as SipHash.  Not for anything stored on disk: the
 * value may change with the word size.
 */
#ifndef FACTEUR_HASH_H
#define FACTEUR_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline size_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)h;
}

static inline size_t hash_string(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)h;
}

#endif
