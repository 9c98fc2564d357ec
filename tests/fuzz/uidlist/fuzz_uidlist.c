/*
 * fuzz_uidlist - libFuzzer target for the dovecot-uidlist reader
 *
 * SYNOPSIS
 *	fuzz_uidlist [libFuzzer options] tests/fuzz/uidlist/corpus
 *
 * DESCRIPTION
 *	Each input is a whole dovecot-uidlist (a file in a user's folder:
 *	untrusted).  When it parses, the promises are checked: a non-zero
 *	UIDVALIDITY, UIDs that ascend, are non-zero and below UIDNEXT,
 *	base names without '/', ':' or control characters, as many records
 *	as lines at most.  When it does not, an error text is given.  Any
 *	broken promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbx_index ix;
	const char *error = NULL;
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	mbx_index_init(&ix);
	if (mbx_uidlist_parse(&ix, (const char *)data, size, &error) < 0) {
		if (error == NULL)
			abort();
		mbx_index_clear(&ix);
		return 0;
	}
	if (ix.uidvalidity == 0 || ix.count > lines)
		abort();
	for (size_t i = 0; i < ix.count; i++) {
		const struct mbx_rec *r = &ix.recs[i];

		if (r->uid == 0 || r->uid >= ix.uidnext ||
		    (i > 0 && r->uid <= ix.recs[i - 1].uid))
			abort();
		if (r->base[0] == '\0' || strchr(r->base, '/') != NULL ||
		    strchr(r->base, ':') != NULL)
			abort();
		for (const char *p = r->base; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				abort();
		if (mbx_index_find(&ix, r->uid) != r)
			abort();
	}
	mbx_index_clear(&ix);
	return 0;
}
