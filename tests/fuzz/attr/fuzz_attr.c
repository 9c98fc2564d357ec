/*
 * fuzz_attr - libFuzzer target for the IPC attribute framing
 *
 * SYNOPSIS
 *	fuzz_attr [libFuzzer options] tests/fuzz/attr/corpus
 *
 * DESCRIPTION
 *	Each input goes three ways, as a peer's bytes would:
 *
 *	1. to attr_decode() as a payload;
 *	2. through an attr_reader, fed in chunks whose size is taken from
 *	   the first byte of the input (0 becomes 1), frames taken out
 *	   after every chunk;
 *	3. for every list that decodes, through each getter on every
 *	   attribute and then attr_list_end(), and re-encoded with the
 *	   writer to check that decoding what we write gives it back.
 *
 *	The corpus holds frames as they appear on a stream (length prefix
 *	included) with one chunk-size byte in front; the same bytes are a
 *	(usually malformed) payload for way 1.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "log.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that the fuzzer reaches the limit, large enough to nest. */
#define FUZZ_MAX_FRAME 4096

/* quiet - keep the fuzzer's output clean */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* reencode - write the list again and check that it decodes the same */
static void reencode(const struct attr_list *list)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *again;
	const char *error = NULL;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, list->proto);
	for (size_t i = 1; i < list->count; i++)
		attr_put_data(&w, list->attrs[i].name, list->attrs[i].value,
			      list->attrs[i].len);
	attr_writer_end(&w);
	again = attr_decode(out.data + ATTR_HEADER_SIZE,
			    out.len - ATTR_HEADER_SIZE, &error);
	if (again == NULL || again->count != list->count ||
	    strcmp(again->proto, list->proto) != 0)
		abort();
	for (size_t i = 0; i < list->count; i++) {
		if (strcmp(again->attrs[i].name, list->attrs[i].name) != 0 ||
		    again->attrs[i].len != list->attrs[i].len ||
		    memcmp(again->attrs[i].value, list->attrs[i].value,
			   list->attrs[i].len) != 0)
			abort();
	}
	attr_list_free(&again);
	strbuf_release(&out);
}

/* exercise - what a reader does with a decoded frame */
static void exercise(struct attr_list *list)
{
	const char *error = NULL, *s;
	const void *d;
	size_t len;
	int64_t num;

	if (list->proto == NULL || *list->proto == '\0' ||
	    list->count > ATTR_COUNT_MAX)
		abort();
	reencode(list);
	/* Nothing read yet beyond proto: a second attribute must fail. */
	if ((attr_list_end(list, &error) < 0) != (list->count > 1))
		abort();
	for (size_t i = 0; i < list->count; i++) {
		const char *name = list->attrs[i].name;

		(void)attr_get_str(list, name, &s, &error);
		(void)attr_get_int(list, name, &num, &error);
		if (attr_get_data(list, name, &d, &len, &error) < 0)
			abort();
	}
	/* '-' is never part of a name, so this one cannot be there. */
	if (attr_get_data(list, "no-such", &d, &len, &error) == 0 ||
	    attr_list_end_tolerant(list) != 0)
		abort();
	if (attr_list_end(list, &error) < 0)
		abort();
	attr_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct attr_reader *reader;
	struct attr_list *list;
	const char *error = NULL;
	size_t chunk, pos;
	int ret = 0;

	if (!initialized) {
		log_set_hook(quiet, NULL);
		initialized = 1;
	}

	/* 1. The whole input as one payload. */
	list = attr_decode(data, size, &error);
	if (list != NULL)
		exercise(list);
	else if (error == NULL)
		abort();
	if (size == 0)
		return 0;

	/* 2. The rest of the input as a stream, in chunks. */
	chunk = data[0] ? data[0] : 1;
	reader = attr_reader_create(FUZZ_MAX_FRAME);
	for (pos = 1; pos < size && ret >= 0;) {
		size_t n = size - pos < chunk ? size - pos : chunk;

		if (attr_reader_feed(reader, data + pos, n) < 0)
			break;
		pos += n;
		while ((ret = attr_reader_next(reader, &list, &error)) == 1)
			exercise(list);
	}
	attr_reader_free(&reader);
	return 0;
}
