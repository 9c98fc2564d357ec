/*
 * fuzz_mailbox_cache - libFuzzer target for the facteur-cache reader
 *
 * SYNOPSIS
 *	fuzz_mailbox_cache [libFuzzer options] tests/fuzz/mailbox_cache/corpus
 *
 * DESCRIPTION
 *	Each input is a whole facteur-cache (a file in a user's folder:
 *	untrusted).  The header is parsed, then the records after it.  The
 *	promises are checked: the good prefix lies within the input, every
 *	record handed out lies within it too, has a non-zero UID, a known
 *	variant and a bounded length, and formats back to exactly the
 *	bytes it was parsed from, so that the good prefix is made of whole
 *	records only.  Any broken promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_cache.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	const char *buf;
	size_t size;
	struct strbuf again;
};

static void check_rec(void *ctx, uint32_t uid, unsigned variant, uint64_t vsize,
		      const char *d, size_t len)
{
	struct check *c = ctx;

	if (uid == 0 || variant >= MBX_CACHE_VARIANTS ||
	    len > MBX_CACHE_DATA_MAX || vsize > (UINT64_C(1) << 53) ||
	    d < c->buf || d + len > c->buf + c->size)
		abort();
	mbx_cache_format(&c->again, uid, variant, vsize, d, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct check c = {buf, size, {0}};
	uint32_t uidv = 0;
	size_t used = 0, good;

	if (mbx_cache_parse_header(buf, size, &uidv, &used) == 0 &&
	    (uidv == 0 || used > size))
		abort();
	strbuf_init(&c.again, STRBUF_NO_LIMIT);
	good = mbx_cache_parse(buf + used, size - used, check_rec, &c);
	if (good > size - used || c.again.len != good ||
	    (good > 0 && memcmp(c.again.data, buf + used, good) != 0))
		abort();
	strbuf_release(&c.again);
	return 0;
}
