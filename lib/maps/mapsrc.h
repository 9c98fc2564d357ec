/*
 * mapsrc - parse the text source of a lookup table (postmap/postalias input)
 *
 * Format, as Postfix's postmap(1) reads it (util/readlline.c):
 *
 *   - one entry per logical line, "key value": the key runs up to the first
 *     whitespace, the value is the rest with leading and trailing
 *     whitespace removed; whitespace inside the value is kept as written;
 *   - with MAPSRC_ALIASES, the aliases(5) format of postalias/newaliases:
 *     "name: value1, value2", the name running up to the first ':' (trailing
 *     whitespace removed).  A name may be quoted ("a b": x), the quotes are
 *     not part of the key;
 *   - empty lines, whitespace-only lines and lines whose first non-space
 *     character is '#' are ignored, also between a line and its
 *     continuation, as in Postfix;
 *   - a line that starts with whitespace continues the previous logical
 *     line.  Unlike Postfix, the two are joined with exactly one space (the
 *     same rule as main.cf, lib/global/config.h), so that "root: a,\n  b"
 *     gives the value "a, b";
 *   - keys are lowercased (ASCII) unless MAPSRC_KEEP_CASE (postmap -f).
 *     Values are never changed.
 *
 * Errors end the parse and read "FILE:LINE: what", LINE being the line
 * where the offending logical line starts (for a NUL byte or an over-long
 * line, the physical line that has it):
 *
 *	FILE:LINE: expected format: key whitespace value
 *	FILE:LINE: expected format: name: value              (aliases)
 *	FILE:LINE: unterminated quoted name                  (aliases)
 *	FILE:LINE: continuation line without a preceding line
 *	FILE:LINE: NUL byte in line
 *	FILE:LINE: line too long (limit N bytes)
 *
 * postmap only warns about a line without a value and skips it; we refuse
 * the whole source instead, since a build replaces the table atomically
 * (maps.h) and a half-understood source should not silently lose entries.
 * A continuation line with nothing to continue is an error for the same
 * reason (Postfix warns and drops it).
 *
 * Duplicate keys are not the parser's business: the parser does not keep
 * what it returned.  maps_build() detects them in the table it writes and
 * keeps the first, like postmap (maps.h).
 *
 * The parser is a resumable state machine with no I/O and no logging
 * (STYLE.md §1.4): feed it bytes with mapsrc_parser_input() in any split,
 * take entries with mapsrc_parser_next(), and say mapsrc_parser_eof() at
 * the end.  mapsrc_parse_buffer() and mapsrc_parse_file() are thin
 * wrappers for the usual whole-input case.
 */
#ifndef FACTEUR_MAPSRC_H
#define FACTEUR_MAPSRC_H

#include <stdbool.h>
#include <stddef.h>

/* Flags for the parser (a bit set). */
#define MAPSRC_ALIASES	 0x01u /* "name: value" aliases(5) format */
#define MAPSRC_KEEP_CASE 0x02u /* do not lowercase keys (postmap -f) */

/*
 * The longest logical line (continuations joined) accepted, in bytes.
 * Generous for a long alias list, yet a hard bound on what one line can
 * make us buffer (STYLE.md §1.3).
 */
#define MAPSRC_LINE_MAX (256 * 1024)

/* One entry.  The pointers are loans valid until the next call on the
 * parser; key and value are NUL-terminated and hold no NUL. */
struct mapsrc_entry {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	unsigned int line; /* where the logical line starts */
};

struct mapsrc_parser;

/*
 * mapsrc_parser_create - a parser for the source called filename (used in
 * messages only), MAPSRC_* flags, lines of at most line_max bytes (0 means
 * MAPSRC_LINE_MAX).
 */
struct mapsrc_parser *mapsrc_parser_create(const char *filename,
					   unsigned int flags, size_t line_max);
void mapsrc_parser_free(struct mapsrc_parser **parserp);

/* mapsrc_parser_input - append input (copied).  Take the entries it
 * completes with mapsrc_parser_next() before the next input, so that what
 * is buffered stays bounded by about one line. */
void mapsrc_parser_input(struct mapsrc_parser *parser, const void *data,
			 size_t len);
/* mapsrc_parser_eof - no more input: the last line needs no newline. */
void mapsrc_parser_eof(struct mapsrc_parser *parser);

/*
 * mapsrc_parser_next - the next entry.  Returns 1 with *entry_r filled; 0
 * when more input is needed (after mapsrc_parser_eof(): the end, no more
 * entries); -1 with *error_r set ("FILE:LINE: ...", valid until the parser
 * is freed).  Errors are final: later calls return -1 again.
 */
int mapsrc_parser_next(struct mapsrc_parser *parser,
		       struct mapsrc_entry *entry_r, const char **error_r);

/*
 * Called for each entry by the wrappers below.  Return 0 to go on, or -1
 * with *error_r set (the wrapper then returns -1 with that error).
 */
typedef int mapsrc_entry_fn(const struct mapsrc_entry *entry, void *ctx,
			    const char **error_r);

/*
 * mapsrc_parse_buffer - parse len bytes of data (filename in messages),
 * calling fn for each entry.  Returns 0, or -1 with *error_r set to a
 * parse error (valid until the next mapsrc_parse_* call) or fn's error.
 */
int mapsrc_parse_buffer(const char *filename, const void *data, size_t len,
			unsigned int flags, mapsrc_entry_fn *fn, void *ctx,
			const char **error_r);

/*
 * mapsrc_parse_file - the same, reading the file path.  A file that cannot
 * be read is an error "open PATH: reason" / "read PATH: reason".
 */
int mapsrc_parse_file(const char *path, unsigned int flags, mapsrc_entry_fn *fn,
		      void *ctx, const char **error_r);

#endif
