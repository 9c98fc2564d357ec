/*
 * strbuf - a growable, binary-safe byte string with a hard size limit
 *
 * SYNOPSIS
 *	#include "strbuf.h"
 *
 * DESCRIPTION
 *	See strbuf.h.  Capacity grows by doubling, computed so that it can
 *	neither overflow size_t nor pass limit + 1 (the NUL).
 *
 * DIAGNOSTICS
 *	Appends past the limit return -1.  Out of memory is fatal (alloc.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "strbuf.h"

static char empty_data[1];

/* strbuf_init - an empty buffer that may hold at most limit bytes */
void strbuf_init(struct strbuf *sb, size_t limit)
{
	sb->data = empty_data;
	sb->len = 0;
	sb->cap = 0;
	sb->limit = limit > STRBUF_NO_LIMIT ? STRBUF_NO_LIMIT : limit;
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->cap > 0)
		free(sb->data);
	strbuf_init(sb, sb->limit);
}

struct strbuf *strbuf_create(size_t limit)
{
	struct strbuf *sb = xmalloc(sizeof(*sb));

	strbuf_init(sb, limit);
	return sb;
}

void strbuf_free(struct strbuf **sbp)
{
	if (*sbp == NULL)
		return;
	strbuf_release(*sbp);
	free(*sbp);
	*sbp = NULL;
}

/* reserve - make room for extra more bytes plus the NUL, or fail */
static int reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;

	if (extra > sb->limit - sb->len)
		return -1;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > STRBUF_NO_LIMIT / 2 ? need : cap * 2;
	if (cap > sb->limit + 1)
		cap = sb->limit + 1;
	if (sb->cap == 0) {
		sb->data = xmalloc(cap);
		sb->data[0] = '\0';
	} else {
		sb->data = xreallocarray(sb->data, cap, 1);
	}
	sb->cap = cap;
	return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	if (reserve(sb, len) < 0)
		return -1;
	if (len > 0)
		memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	if (sb->cap > 0)
		sb->data[sb->len] = '\0';
	return 0;
}

int strbuf_append_str(struct strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

int strbuf_append_char(struct strbuf *sb, char c)
{
	return strbuf_append(sb, &c, 1);
}

int strbuf_vappendf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		log_panic("strbuf_vappendf: bad format %s", fmt);
	if (reserve(sb, (size_t)n) < 0)
		return -1;
	vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = strbuf_vappendf(sb, fmt, ap);
	va_end(ap);
	return ret;
}

void strbuf_reset(struct strbuf *sb)
{
	strbuf_truncate(sb, 0);
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len >= sb->len)
		return;
	sb->len = len;
	sb->data[len] = '\0';
}

void strbuf_consume(struct strbuf *sb, size_t n)
{
	if (n >= sb->len) {
		strbuf_reset(sb);
		return;
	}
	memmove(sb->data, sb->data + n, sb->len - n);
	strbuf_truncate(sb, sb->len - n);
}

char *strbuf_steal(struct strbuf *sb)
{
	char *data = sb->cap > 0 ? sb->data : xstrdup("");

	strbuf_init(sb, sb->limit);
	return data;
}
