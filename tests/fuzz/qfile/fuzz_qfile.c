/*
 * fuzz_qfile - libFuzzer target for the queue file reader
 *
 * SYNOPSIS
 *	tests/fuzz/qfile/fuzz_qfile [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Parses each input as a queue file with qfile_read_buf(), the
 *	in-memory path of the reader (the descriptor path differs only in
 *	how bytes are fetched), once with the default limits and once with
 *	tiny ones so that the limit checks run too.  On success it walks
 *	the whole result: every string, every recipient's status offset
 *	(which must point at a status byte inside the input) and every
 *	content segment (which must lie inside the input and add up to the
 *	content size), then frees it, so ASan's leak check covers both the
 *	success and the error paths.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports, leaks and broken invariants (abort()),
 *	through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - walk a parsed file and verify what the reader promises */
static size_t check(const struct qfile *q, const uint8_t *data, size_t size)
{
	uint64_t total = 0;
	size_t sum = strlen(q->sender);

	for (size_t i = 0; i < q->attr_count; i++)
		sum += strlen(q->attrs[i].name) + strlen(q->attrs[i].value);
	for (size_t i = 0; i < q->rcpt_count; i++) {
		const struct qfile_rcpt *r = &q->rcpts[i];

		if (r->address[0] == '\0' || r->status_offset < 0 ||
		    (uint64_t)r->status_offset >= size ||
		    data[r->status_offset] != r->status)
			abort();
		sum += strlen(r->address) + strlen(r->orcpt);
	}
	for (size_t i = 0; i < q->segment_count; i++) {
		const struct qfile_segment *s = &q->segments[i];

		if (s->offset < 0 || s->len == 0 || s->start != total ||
		    (uint64_t)s->offset + s->len > size)
			abort();
		total += s->len;
	}
	if (total != q->content_size || q->rcpt_count == 0)
		abort();
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct qfile_limits tiny = {2, 1};
	struct qfile *q = NULL;
	const char *error = NULL;
	size_t sum = 0;

	if (qfile_read_buf(data, size, NULL, &q, &error) == 0) {
		sum += check(q, data, size);
		qfile_free(&q);
	} else {
		if (q != NULL || error == NULL)
			abort();
		sum += strlen(error);
	}
	if (qfile_read_buf(data, size, &tiny, &q, &error) == 0) {
		sum += check(q, data, size);
		qfile_free(&q);
	}
	/* Keep sum alive without printing. */
	return sum == (size_t)-1 ? -1 : 0;
}
