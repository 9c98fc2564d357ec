/*
 * mapsrc - parse the text source of a lookup table
 *
 * SYNOPSIS
 *	#include "mapsrc.h"
 *
 *	parser = mapsrc_parser_create(filename, flags, line_max);
 *	mapsrc_parser_input(parser, data, len);   ... mapsrc_parser_eof(parser);
 *	while ((ret = mapsrc_parser_next(parser, &entry, &error)) > 0)
 *		use(entry.key, entry.value);
 *	mapsrc_parser_free(&parser);
 *
 *	mapsrc_parse_buffer(filename, data, len, flags, fn, ctx, &error);
 *	mapsrc_parse_file(path, flags, fn, ctx, &error);
 *
 * DESCRIPTION
 *	The format is described in mapsrc.h.  Input is kept in one buffer
 *	with a read offset; a physical line is taken out of it only once its
 *	newline has arrived (or at EOF), and is appended to the logical line
 *	being gathered ("pending").  A logical line is known to be complete
 *	only when the next one starts, since any later line that begins with
 *	whitespace would continue it; the complete one is then moved to a
 *	second buffer ("ready"), split in place into key and value, and
 *	handed out.  So an entry's pointers stay valid while the parser reads
 *	the next physical lines.
 *
 * DIAGNOSTICS
 *	Errors are returned as "FILE:LINE: text" (mapsrc.h lists them) and
 *	end the parse.  Nothing here logs or exits.
 *
 * SECURITY
 *	A source is written by the administrator, but it is still foreign
 *	bytes to us: every line is bounded by line_max before it is buffered,
 *	NUL bytes are refused (they would cut keys short once the table is
 *	used with C strings), and the fuzzer tests/fuzz/mapsrc feeds it
 *	arbitrary input in both formats.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "mapsrc.h"
#include "strbuf.h"

struct mapsrc_parser {
	char *filename;
	unsigned int flags;
	size_t line_max;

	struct strbuf in; /* input; bytes before pos are consumed */
	size_t pos;
	size_t scanned;	     /* bytes after pos known to hold no newline */
	unsigned int lineno; /* physical lines taken so far */
	bool eof;

	struct strbuf pending; /* the logical line being gathered */
	bool have_pending;
	unsigned int pending_line;

	struct strbuf ready; /* the logical line handed out last */
	unsigned int ready_line;

	struct strbuf error;
	bool failed;
};

/* How much of the input the wrappers feed at a time. */
#define MAPSRC_CHUNK 65536

/* Set by the wrappers; valid until the next mapsrc_parse_* call. */
static char *mapsrc_last_error;

/* is_space - ASCII whitespace, independent of the locale */
static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* lowercase - ASCII lowercase in place: keys are case-insensitive
 * like domain names and Postfix's lookups, not by the locale's rules */
static void lowercase(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/* parser_fail - record the error "FILE:LINE: text" and make it final */
static int parser_fail(struct mapsrc_parser *parser, unsigned int line,
		       const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int parser_fail(struct mapsrc_parser *parser, unsigned int line,
		       const char **error_r, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&parser->error);
	strbuf_appendf(&parser->error, "%s:%u: ", parser->filename, line);
	va_start(ap, fmt);
	strbuf_vappendf(&parser->error, fmt, ap);
	va_end(ap);
	parser->failed = true;
	*error_r = strbuf_cstr(&parser->error);
	return -1;
}

/* mapsrc_parser_create - a parser with no input yet */
struct mapsrc_parser *mapsrc_parser_create(const char *filename,
					   unsigned int flags, size_t line_max)
{
	struct mapsrc_parser *parser = xcalloc(1, sizeof(*parser));

	parser->filename = xstrdup(filename);
	parser->flags = flags;
	parser->line_max = line_max > 0 ? line_max : MAPSRC_LINE_MAX;
	strbuf_init(&parser->in, STRBUF_NO_LIMIT);
	/* The joined line is checked against line_max before each append,
	 * so these never reach their limit; it is there as a backstop. */
	strbuf_init(&parser->pending, parser->line_max + 1);
	strbuf_init(&parser->ready, parser->line_max + 1);
	strbuf_init(&parser->error, STRBUF_NO_LIMIT);
	return parser;
}

/* mapsrc_parser_free - release everything; NULL is fine */
void mapsrc_parser_free(struct mapsrc_parser **parserp)
{
	struct mapsrc_parser *parser = *parserp;

	if (parser == NULL)
		return;
	free(parser->filename);
	strbuf_release(&parser->in);
	strbuf_release(&parser->pending);
	strbuf_release(&parser->ready);
	strbuf_release(&parser->error);
	free(parser);
	*parserp = NULL;
}

/* compact - drop the consumed input so the buffer holds about one line */
static void compact(struct mapsrc_parser *parser)
{
	if (parser->pos > 0) {
		strbuf_consume(&parser->in, parser->pos);
		parser->pos = 0;
	}
}

/* mapsrc_parser_input - append input */
void mapsrc_parser_input(struct mapsrc_parser *parser, const void *data,
			 size_t len)
{
	if (parser->failed || parser->eof || len == 0)
		return;
	compact(parser);
	if (strbuf_append(&parser->in, data, len) < 0)
		parser->failed = true; /* cannot happen: no limit */
}

/* mapsrc_parser_eof - the input is complete */
void mapsrc_parser_eof(struct mapsrc_parser *parser)
{
	parser->eof = true;
}

/* split_plain - "key value": the key is the first word */
static int split_plain(struct mapsrc_parser *parser,
		       struct mapsrc_entry *entry_r, const char **error_r)
{
	char *data = parser->ready.data;
	size_t len = parser->ready.len, key_end = 0, value;

	while (key_end < len && !is_space((unsigned char)data[key_end]))
		key_end++;
	/* Trailing whitespace is gone, so a space means a value follows. */
	if (key_end == len)
		return parser_fail(parser, parser->ready_line, error_r,
				   "expected format: key whitespace value");
	for (value = key_end; is_space((unsigned char)data[value]); value++)
		;
	data[key_end] = '\0';
	entry_r->key = data;
	entry_r->key_len = key_end;
	entry_r->value = data + value;
	entry_r->value_len = len - value;
	return 1;
}

/* split_aliases - "name: value", the name possibly quoted */
static int split_aliases(struct mapsrc_parser *parser,
			 struct mapsrc_entry *entry_r, const char **error_r)
{
	char *data = parser->ready.data, *colon;
	size_t len = parser->ready.len, key, key_end, value;

	if (data[0] == '"') {
		char *quote = memchr(data + 1, '"', len - 1);

		if (quote == NULL)
			return parser_fail(parser, parser->ready_line, error_r,
					   "unterminated quoted name");
		key = 1;
		key_end = (size_t)(quote - data);
		for (value = key_end + 1;
		     value < len && is_space((unsigned char)data[value]);
		     value++)
			;
		colon = value < len && data[value] == ':' ? data + value : NULL;
	} else {
		key = 0;
		colon = memchr(data, ':', len);
		key_end = colon != NULL ? (size_t)(colon - data) : 0;
		while (key_end > 0 &&
		       is_space((unsigned char)data[key_end - 1]))
			key_end--;
	}
	if (colon == NULL || key_end == key)
		return parser_fail(parser, parser->ready_line, error_r,
				   "expected format: name: value");
	for (value = (size_t)(colon - data) + 1;
	     value < len && is_space((unsigned char)data[value]); value++)
		;
	if (value == len)
		return parser_fail(parser, parser->ready_line, error_r,
				   "expected format: name: value");
	data[key_end] = '\0';
	entry_r->key = data + key;
	entry_r->key_len = key_end - key;
	entry_r->value = data + value;
	entry_r->value_len = len - value;
	return 1;
}

/* emit - hand out the pending logical line, split into key and value */
static int emit(struct mapsrc_parser *parser, struct mapsrc_entry *entry_r,
		const char **error_r)
{
	struct strbuf tmp = parser->ready;
	int ret;

	/* Swap rather than copy: "ready" becomes the complete line, and
	 * its old storage is reused for the next one. */
	parser->ready = parser->pending;
	parser->ready_line = parser->pending_line;
	parser->pending = tmp;
	strbuf_reset(&parser->pending);
	parser->have_pending = false;

	if (parser->flags & MAPSRC_ALIASES)
		ret = split_aliases(parser, entry_r, error_r);
	else
		ret = split_plain(parser, entry_r, error_r);
	if (ret < 0)
		return ret;
	if (!(parser->flags & MAPSRC_KEEP_CASE))
		lowercase((char *)entry_r->key, entry_r->key_len);
	entry_r->line = parser->ready_line;
	return 1;
}

/* take_line - the next physical line, without its newline; false when
 * none is complete yet */
static bool take_line(struct mapsrc_parser *parser, const char **line_r,
		      size_t *len_r)
{
	const char *start = parser->in.data + parser->pos;
	size_t avail = parser->in.len - parser->pos;
	/* Do not search the same bytes again when input trickles in. */
	const char *nl =
		memchr(start + parser->scanned, '\n', avail - parser->scanned);

	if (nl == NULL)
		parser->scanned = avail;
	if (nl != NULL) {
		*len_r = (size_t)(nl - start);
		parser->pos += *len_r + 1;
	} else if (parser->eof && avail > 0) {
		*len_r = avail;
		parser->pos += avail;
	} else {
		return false;
	}
	*line_r = start;
	parser->scanned = 0;
	parser->lineno++;
	return true;
}

/* mapsrc_parser_next - the next complete entry */
int mapsrc_parser_next(struct mapsrc_parser *parser,
		       struct mapsrc_entry *entry_r, const char **error_r)
{
	const char *line;
	size_t len, skip;

	if (parser->failed) {
		*error_r = strbuf_cstr(&parser->error);
		return -1;
	}
	for (;;) {
		if (!take_line(parser, &line, &len)) {
			if (!parser->eof) {
				/* Refuse before buffering: a line without a
				 * newline cannot make us hold more than
				 * line_max bytes (and one input chunk). */
				if (parser->in.len - parser->pos >
				    parser->line_max)
					return parser_fail(
						parser, parser->lineno + 1,
						error_r,
						"line too long (limit %zu bytes)",
						parser->line_max);
				compact(parser);
				return 0;
			}
			if (parser->have_pending)
				return emit(parser, entry_r, error_r);
			return 0;
		}
		/* Length first: a line that arrives in pieces is refused
		 * for its length before it is complete, and the error must
		 * not depend on how the input was split. */
		if (len > parser->line_max)
			return parser_fail(parser, parser->lineno, error_r,
					   "line too long (limit %zu bytes)",
					   parser->line_max);
		if (memchr(line, '\0', len) != NULL)
			return parser_fail(parser, parser->lineno, error_r,
					   "NUL byte in line");
		while (len > 0 && is_space((unsigned char)line[len - 1]))
			len--;
		for (skip = 0;
		     skip < len && is_space((unsigned char)line[skip]); skip++)
			;
		/* Blank and comment lines vanish, even between a line and
		 * its continuation (Postfix readlline). */
		if (skip == len || line[skip] == '#')
			continue;
		if (skip > 0) {
			if (!parser->have_pending)
				return parser_fail(
					parser, parser->lineno, error_r,
					"continuation line without a preceding line");
			if (parser->pending.len + 1 + (len - skip) >
				    parser->line_max ||
			    strbuf_append_char(&parser->pending, ' ') < 0 ||
			    strbuf_append(&parser->pending, line + skip,
					  len - skip) < 0)
				return parser_fail(
					parser, parser->lineno, error_r,
					"line too long (limit %zu bytes)",
					parser->line_max);
			continue;
		}
		if (parser->have_pending) {
			int ret = emit(parser, entry_r, error_r);

			/* The new line waits in "pending" for its
			 * continuations; it always fits (len <= line_max). */
			if (strbuf_append(&parser->pending, line, len) < 0)
				return parser_fail(parser, parser->lineno,
						   error_r, "internal error");
			parser->have_pending = true;
			parser->pending_line = parser->lineno;
			return ret;
		}
		if (strbuf_append(&parser->pending, line, len) < 0)
			return parser_fail(parser, parser->lineno, error_r,
					   "internal error");
		parser->have_pending = true;
		parser->pending_line = parser->lineno;
	}
}

/* set_last_error - keep a copy of error past the parser's lifetime */
static const char *set_last_error(const char *error)
{
	free(mapsrc_last_error);
	mapsrc_last_error = xstrdup(error);
	return mapsrc_last_error;
}

/* drain - give every complete entry to fn; 0 for more input, -1 error */
static int drain(struct mapsrc_parser *parser, mapsrc_entry_fn *fn, void *ctx,
		 const char **error_r)
{
	struct mapsrc_entry entry;
	const char *error;
	int ret;

	while ((ret = mapsrc_parser_next(parser, &entry, &error)) > 0) {
		if (fn(&entry, ctx, error_r) < 0)
			return -1;
	}
	if (ret < 0) {
		*error_r = set_last_error(error);
		return -1;
	}
	return 0;
}

/* mapsrc_parse_buffer - parse a whole source held in memory */
int mapsrc_parse_buffer(const char *filename, const void *data, size_t len,
			unsigned int flags, mapsrc_entry_fn *fn, void *ctx,
			const char **error_r)
{
	struct mapsrc_parser *parser = mapsrc_parser_create(filename, flags, 0);
	const char *p = data;
	int ret = 0;

	/* In chunks, so that the parser's copy stays about a line long. */
	while (ret == 0 && len > 0) {
		size_t n = len < MAPSRC_CHUNK ? len : MAPSRC_CHUNK;

		mapsrc_parser_input(parser, p, n);
		p += n;
		len -= n;
		ret = drain(parser, fn, ctx, error_r);
	}
	if (ret == 0) {
		mapsrc_parser_eof(parser);
		ret = drain(parser, fn, ctx, error_r);
	}
	mapsrc_parser_free(&parser);
	return ret;
}

/* mapsrc_parse_file - parse the file at path */
int mapsrc_parse_file(const char *path, unsigned int flags, mapsrc_entry_fn *fn,
		      void *ctx, const char **error_r)
{
	struct mapsrc_parser *parser;
	char *buf;
	ssize_t n;
	int fd, ret = 0;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		char *msg = xasprintf("open %s: %s", path, strerror(errno));

		*error_r = set_last_error(msg);
		free(msg);
		return -1;
	}
	parser = mapsrc_parser_create(path, flags, 0);
	buf = xmalloc(MAPSRC_CHUNK);
	while (ret == 0) {
		n = read(fd, buf, MAPSRC_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char *msg =
				xasprintf("read %s: %s", path, strerror(errno));

			*error_r = set_last_error(msg);
			free(msg);
			ret = -1;
			break;
		}
		if (n == 0)
			mapsrc_parser_eof(parser);
		else
			mapsrc_parser_input(parser, buf, (size_t)n);
		ret = drain(parser, fn, ctx, error_r);
		if (n == 0)
			break;
	}
	free(buf);
	close(fd);
	mapsrc_parser_free(&parser);
	return ret;
}
