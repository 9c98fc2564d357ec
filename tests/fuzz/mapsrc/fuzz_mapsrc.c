/*
 * fuzz_mapsrc - libFuzzer target for the lookup table source parser
 *
 * SYNOPSIS
 *	tests/fuzz/mapsrc/fuzz_mapsrc [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Parses each input from memory in the four modes (plain and aliases,
 *	lowercased and case-kept) with mapsrc_parse_buffer(), and checks
 *	what every entry must satisfy: key and value non-empty, their
 *	lengths those of the C strings (no NUL inside), no leading or
 *	trailing whitespace, no uppercase in a lowercased key, lines that
 *	never go backwards.  Then it parses the input once more through the
 *	raw parser API, fed in pieces whose sizes come from the input's
 *	first bytes and with a small line limit, and requires the same
 *	entries (a digest of them) as a whole-buffer parse with that limit:
 *	the parser must be resumable at any byte.  Everything is freed, so
 *	ASan's leak check covers the error paths.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports, leaks, and abort() on a broken
 *	invariant, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapsrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small limit for the split run, so that the limit paths are hit. */
#define FUZZ_LINE_MAX 200

struct digest {
	uint64_t hash;
	unsigned int count;
	unsigned int last_line;
	unsigned int flags;
};

/* is_space - as the parser sees whitespace */
static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* mix - fold bytes into the digest (FNV-1a) */
static void mix(struct digest *d, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		d->hash ^= s[i];
		d->hash *= 1099511628211ULL;
	}
}

/* check_entry - the invariants of every entry; fold it into the digest */
static void check_entry(struct digest *d, const struct mapsrc_entry *e)
{
	if (e->key_len == 0 || e->value_len == 0 ||
	    strlen(e->key) != e->key_len || strlen(e->value) != e->value_len)
		abort();
	if (is_space((unsigned char)e->value[0]) ||
	    is_space((unsigned char)e->value[e->value_len - 1]))
		abort();
	if (!(d->flags & MAPSRC_ALIASES) &&
	    (is_space((unsigned char)e->key[0]) ||
	     memchr(e->key, ' ', e->key_len) != NULL))
		abort();
	if (!(d->flags & MAPSRC_KEEP_CASE))
		for (size_t i = 0; i < e->key_len; i++)
			if (e->key[i] >= 'A' && e->key[i] <= 'Z')
				abort();
	if (e->line == 0 || e->line <= d->last_line)
		abort();
	d->last_line = e->line;
	d->count++;
	mix(d, e->key, e->key_len + 1);
	mix(d, e->value, e->value_len + 1);
	mix(d, &e->line, sizeof(e->line));
}

/* on_entry - mapsrc_parse_buffer() callback */
static int on_entry(const struct mapsrc_entry *entry, void *ctx,
		    const char **error_r)
{
	(void)error_r;
	check_entry(ctx, entry);
	return 0;
}

/* parse_split - the raw API, input in pieces; returns -1 on a parse error,
 * whose text must be the same as the whole parse's */
static int parse_split(const uint8_t *data, size_t size, unsigned int flags,
		       const uint8_t *steps, size_t nsteps, struct digest *d,
		       char **error_r)
{
	struct mapsrc_parser *parser =
		mapsrc_parser_create("fuzz", flags, FUZZ_LINE_MAX);
	struct mapsrc_entry entry;
	const char *error = NULL;
	size_t pos = 0, step = 0;
	int ret = 0;

	while (ret >= 0) {
		if (pos < size) {
			size_t n = nsteps > 0 ? steps[step++ % nsteps] % 64 + 1
					      : size;

			if (n > size - pos)
				n = size - pos;
			mapsrc_parser_input(parser, data + pos, n);
			pos += n;
		} else {
			mapsrc_parser_eof(parser);
		}
		while ((ret = mapsrc_parser_next(parser, &entry, &error)) > 0)
			check_entry(d, &entry);
		if (ret == 0 && pos >= size)
			break;
	}
	*error_r = ret < 0 ? strdup(error) : NULL;
	mapsrc_parser_free(&parser);
	return ret < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int modes[] = {
		0,
		MAPSRC_ALIASES,
		MAPSRC_KEEP_CASE,
		MAPSRC_ALIASES | MAPSRC_KEEP_CASE,
	};
	const char *error;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct digest d = {.hash = 14695981039346656037ULL,
				   .flags = modes[m]};

		if (mapsrc_parse_buffer("fuzz", data, size, modes[m], on_entry,
					&d, &error) < 0 &&
		    strncmp(error, "fuzz:", 5) != 0)
			abort();
	}

	/* Whole input at once versus in pieces, with the small limit. */
	{
		unsigned int flags =
			size > 0 && (data[0] & 1) ? MAPSRC_ALIASES : 0;
		struct digest whole = {.hash = 14695981039346656037ULL,
				       .flags = flags};
		struct digest split = whole;
		size_t nsteps = size < 8 ? size : 8;
		char *e1, *e2;
		int r1, r2;

		r1 = parse_split(data, size, flags, NULL, 0, &whole, &e1);
		r2 = parse_split(data, size, flags, data, nsteps, &split, &e2);
		if (r1 != r2 || whole.hash != split.hash ||
		    whole.count != split.count)
			abort();
		if (r1 < 0 && strcmp(e1, e2) != 0)
			abort();
		free(e1);
		free(e2);
	}
	return 0;
}
