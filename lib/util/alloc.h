/*
 * alloc - memory allocation that never fails visibly
 *
 * Every allocator here either returns usable memory or ends the process
 * through log_fatal() ("out of memory"), so callers carry no NULL checks
 * (STYLE.md §5, Postfix util/mymalloc.c).  Size arithmetic is checked for
 * overflow, which is a bug in the caller and panics.
 */
#ifndef FACTEUR_ALLOC_H
#define FACTEUR_ALLOC_H

#include <stddef.h>
#include <stdarg.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
/* Resize to count*size bytes; panics when the product overflows. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
/* Copy at most len bytes of s and terminate the copy. */
char *xstrndup(const char *s, size_t len);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
/* Overwrite len bytes in a way the compiler may not elide (secrets). */
void memzero_explicit(void *ptr, size_t len);

#endif
