/*
 * fuzz_imap_parser - libFuzzer target for the IMAP command parser
 *
 * SYNOPSIS
 *	tests/fuzz/imap_parser/fuzz_imap_parser [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Parses the input as a stream of client commands twice: once handed
 *	over in one buffer, once in chunks whose sizes come from a hash of
 *	the input, with parser flags and limits (defaults or tight ones)
 *	chosen the same way.  Both runs write a transcript of every command
 *	(tag, name, argument tree) and every error; the transcripts must be
 *	equal.  Along the way it checks what the parser promises: consumed
 *	never exceeds what was given, 0 means everything was consumed, an
 *	error consumes at least one byte, every string is NUL-terminated.
 *	Each sequence set found among the atoms goes through
 *	imap_seqset_parse().  A broken promise calls abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "imap_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort when a promise is broken */
static void check(int ok)
{
	if (!ok)
		abort();
}

/* dump - append the argument tree, lengths first so it is unambiguous */
static void dump(struct strbuf *out, const struct imap_arg *a, size_t n)
{
	size_t i, nr;
	struct imap_seqrange *r;
	const char *err;

	for (i = 0; i < n; i++) {
		strbuf_appendf(out, " %d/%u", (int)a[i].type, a[i].flags);
		if (a[i].type == IMAP_ARG_LIST) {
			strbuf_appendf(out, "(%zu", a[i].list_count);
			check(a[i].list_count == 0 || a[i].list != NULL);
			dump(out, a[i].list, a[i].list_count);
			strbuf_append_char(out, ')');
			continue;
		}
		check(a[i].str != NULL && a[i].str[a[i].len] == '\0');
		strbuf_appendf(out, "%zu:", a[i].len);
		strbuf_append(out, a[i].str, a[i].len);
		if (a[i].type == IMAP_ARG_NUMBER)
			strbuf_appendf(out, "=%llu",
				       (unsigned long long)a[i].num);
		if (a[i].type == IMAP_ARG_ATOM &&
		    imap_seqset_parse(a[i].str, a[i].len, 0, &r, &nr, &err) ==
			    0) {
			check(nr > 0);
			free(r);
		}
	}
}

/* run - parse in chunks (max_chunk 0: one buffer) */
static void run(const uint8_t *data, size_t size, unsigned flags, bool small,
		uint32_t seed, size_t max_chunk, struct strbuf *out)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	size_t pos = 0;

	imap_parser_limits_init(&lim, !small);
	if (small) {
		lim.max_line_size = 64;
		lim.max_literal_size = 16;
		lim.max_command_size = 100;
		lim.max_list_depth = 3;
		lim.max_args = 8;
	}
	p = imap_parser_create(&lim, flags);
	while (pos < size) {
		size_t end = size;

		if (max_chunk > 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			end = pos + 1 + seed % max_chunk;
			if (end > size)
				end = size;
		}
		while (pos < end) {
			struct imap_command cmd;
			size_t used = (size_t)-1;
			int ret = imap_parser_parse(p, data + pos, end - pos,
						    &used, &cmd);

			check(used <= end - pos);
			pos += used;
			if (ret == 0) {
				check(pos == end);
				if (imap_parser_literal_needs_continuation(p))
					imap_parser_literal_continued(p);
			} else if (ret == 1) {
				check(used > 0 && data[pos - 1] == '\n');
				check(imap_parser_idle(p));
				strbuf_appendf(out, "C %s %s", cmd.tag,
					       cmd.name);
				check(cmd.tag[0] != '\0' &&
				      cmd.name[0] != '\0');
				dump(out, cmd.args, cmd.args_count);
				strbuf_append_char(out, '\n');
			} else {
				const char *tag = imap_parser_error_tag(p);

				check(ret == -1 && used > 0);
				check(imap_parser_error(p) != IMAP_PARSER_OK);
				check(imap_parser_error_text(p)[0] != '\0');
				strbuf_appendf(out, "E %d %s\n",
					       (int)imap_parser_error(p),
					       tag != NULL ? tag : "*");
			}
		}
	}
	strbuf_appendf(out, "idle=%d\n", imap_parser_idle(p));
	imap_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf whole, parts;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	strbuf_init(&whole, STRBUF_NO_LIMIT);
	strbuf_init(&parts, STRBUF_NO_LIMIT);
	run(data, size, h & 7, (h >> 3) & 1, 0, 0, &whole);
	run(data, size, h & 7, (h >> 3) & 1, h | 1, 1 + (h >> 4) % 16, &parts);
	check(whole.len == parts.len &&
	      memcmp(whole.data, parts.data, whole.len) == 0);
	strbuf_reset(&parts);
	run(data, size, h & 7, (h >> 3) & 1, h | 1, 1, &parts);
	check(whole.len == parts.len &&
	      memcmp(whole.data, parts.data, whole.len) == 0);
	strbuf_release(&whole);
	strbuf_release(&parts);
	return 0;
}
