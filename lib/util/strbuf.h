/*
 * strbuf - a growable, binary-safe byte string with a hard size limit
 *
 * The data is always followed by a NUL byte that is not counted in len, so
 * it can be passed where a C string is expected when it holds no NUL.  An
 * append that would take len past the limit fails and leaves the buffer as
 * it was: a reader of foreign bytes can never be made to grow without bound
 * (STYLE.md §1.2-3).  Never keep a pointer into data across an append: the
 * buffer may move.
 */
#ifndef FACTEUR_STRBUF_H
#define FACTEUR_STRBUF_H

#include <stddef.h>
#include <stdarg.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};

/* No limit beyond what memory allows: for strings we build ourselves. */
#define STRBUF_NO_LIMIT ((size_t)-1 / 2)

void strbuf_init(struct strbuf *sb, size_t limit);
/* Frees the data; the struct itself is left empty and reusable. */
void strbuf_release(struct strbuf *sb);
struct strbuf *strbuf_create(size_t limit);
void strbuf_free(struct strbuf **sbp);

/* Each append returns 0, or -1 when the limit would be passed. */
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_append_str(struct strbuf *sb, const char *s);
int strbuf_append_char(struct strbuf *sb, char c);
int strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vappendf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

void strbuf_reset(struct strbuf *sb);
/* Shorten to len bytes (no-op when already shorter). */
void strbuf_truncate(struct strbuf *sb, size_t len);
/* Drop the first n bytes, moving the rest to the front. */
void strbuf_consume(struct strbuf *sb, size_t n);
/* Hand the data (NUL-terminated, caller frees) over and empty sb. */
char *strbuf_steal(struct strbuf *sb);

static inline const char *strbuf_cstr(const struct strbuf *sb)
{
	return sb->data;
}

#endif
