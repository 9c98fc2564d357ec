/*
 * fuzz_mailbox_index - libFuzzer target for the folder index parser
 *
 * SYNOPSIS
 *	fuzz_mailbox_index [libFuzzer options] tests/fuzz/mailbox_index/corpus
 *
 * DESCRIPTION
 *	Each input is a whole facteur-index (it lives in the user's
 *	folder: untrusted).  When it parses, the promises are checked:
 *	the consumed length ends at a line end within the input, UIDs
 *	ascend below UIDNEXT, HIGHESTMODSEQ is at least every message's
 *	modseq, keyword bits fit in a..z, the first \Recent UID is at most
 *	UIDNEXT; then the whole index is written out again and must parse
 *	to the same state (what compaction relies on).  Any broken
 *	promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_index.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - the promises about a parsed index */
static void check(const struct mbx_index *ix)
{
	if (ix->first_recent > ix->uidnext)
		abort();
	for (size_t i = 0; i < ix->count; i++) {
		const struct mbx_rec *r = &ix->recs[i];

		if (r->uid == 0 || r->uid >= ix->uidnext || r->dead ||
		    (i > 0 && r->uid <= ix->recs[i - 1].uid) ||
		    r->modseq > ix->highestmodseq || (r->keywords >> 26) != 0 ||
		    r->base[0] == '\0' || strchr(r->base, '/') != NULL ||
		    strchr(r->base, '\n'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbx_index ix, again;
	struct strbuf out;
	const char *error = NULL;
	size_t used = 0, used2 = 0;

	mbx_index_init(&ix);
	if (mbx_index_parse(&ix, (const char *)data, size, true, &used,
			    &error) < 0) {
		if (error == NULL)
			abort();
		mbx_index_clear(&ix);
		return 0;
	}
	if (used > size || used == 0 || data[used - 1] != '\n')
		abort();
	check(&ix);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	mbx_index_format_header(&ix, &out);
	for (size_t i = 0; i < ix.count; i++)
		mbx_index_format_rec(&ix.recs[i], &out);
	mbx_index_init(&again);
	if (mbx_index_parse(&again, out.data, out.len, true, &used2, &error) <
		    0 ||
	    used2 != out.len || again.count != ix.count ||
	    again.uidnext != ix.uidnext ||
	    again.uidvalidity != ix.uidvalidity ||
	    again.highestmodseq != ix.highestmodseq)
		abort();
	for (size_t i = 0; i < ix.count; i++) {
		const struct mbx_rec *a = &ix.recs[i], *b = &again.recs[i];

		if (a->uid != b->uid || a->flags != b->flags ||
		    a->keywords != b->keywords || a->modseq != b->modseq ||
		    a->size != b->size || a->mtime != b->mtime ||
		    strcmp(a->base, b->base) != 0)
			abort();
	}
	strbuf_release(&out);
	mbx_index_clear(&again);
	mbx_index_clear(&ix);
	return 0;
}
