/*
 * alloc - memory allocation that never fails visibly
 *
 * SYNOPSIS
 *	#include "alloc.h"
 *
 * DESCRIPTION
 *	Wrappers around malloc(3) and friends.  A request of zero bytes still
 *	returns a unique pointer, so that callers need no special case.
 *
 * DIAGNOSTICS
 *	Fatal: out of memory.  Panic: size overflow (a caller's bug).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

/* xmalloc - allocate or die */
void *xmalloc(size_t size)
{
	void *ptr = malloc(size ? size : 1);

	if (ptr == NULL)
		log_fatal("out of memory (%zu bytes)", size);
	return ptr;
}

/* xcalloc - allocate zeroed memory or die */
void *xcalloc(size_t count, size_t size)
{
	void *ptr;

	if (count == 0 || size == 0)
		count = size = 1;
	if ((ptr = calloc(count, size)) == NULL)
		log_fatal("out of memory (%zu x %zu bytes)", count, size);
	return ptr;
}

/* xreallocarray - resize or die */
void *xreallocarray(void *ptr, size_t count, size_t size)
{
	void *newptr;

	if (size != 0 && count > SIZE_MAX / size)
		log_panic("xreallocarray: %zu x %zu overflows", count, size);
	if (count == 0 || size == 0)
		count = size = 1;
	if ((newptr = realloc(ptr, count * size)) == NULL)
		log_fatal("out of memory (%zu x %zu bytes)", count, size);
	return newptr;
}

/* xstrdup - copy a string or die */
char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* xstrndup - copy at most len bytes of a string or die */
char *xstrndup(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	char *copy = xmalloc(n + 1);

	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

/* xvasprintf - format into a new string or die */
char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		log_fatal("out of memory (formatting %s)", fmt);
	return s;
}

/* xasprintf - format into a new string or die */
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* memzero_explicit - wipe memory the optimiser must not skip */
void memzero_explicit(void *ptr, size_t len)
{
	volatile unsigned char *p = ptr;

	while (len-- > 0)
		*p++ = 0;
}
