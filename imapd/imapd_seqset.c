/*
 * imapd_seqset - sequence sets against a mailbox view
 *
 * SYNOPSIS
 *	#include "imapd.h"
 *
 *	int imapd_seqset_parse(str, len, set, error_r);
 *	bool imapd_seqset_contains(set, value, max);
 *	bool imapd_seqset_within(set, max);
 *	int imapd_seqset_format(vals, n, out);
 *
 * DESCRIPTION
 *	lib/proto parses the syntax (imap_seqset_parse); this module gives
 *	it meaning.  '*' is resolved when a set is matched, not when it is
 *	parsed, as it means "the largest number in use" (RFC 9051 §9),
 *	and a range is the same whichever end comes first ("4:2" is
 *	"2:4").  For sequence numbers a set naming a number past the
 *	view is an error (imapd_seqset_within); for UIDs it is not.
 *
 *	imapd_seqset_format writes the compact form COPYUID, APPENDUID
 *	and ESEARCH ALL use.
 *
 * DIAGNOSTICS
 *	Parse errors come back as static strings for "BAD".
 */
#include "autoconf.h"

#include <stdlib.h>

#include "imapd.h"

int imapd_seqset_parse(const char *str, size_t len, struct imapd_seqset *set,
		       const char **error_r)
{
	set->ranges = NULL;
	set->count = 0;
	return imap_seqset_parse(str, len, IMAPD_SEQSET_MAX_RANGES,
				 &set->ranges, &set->count, error_r);
}

void imapd_seqset_clear(struct imapd_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
}

/* range_bounds - the range r as lo..hi with '*' = max */
static void range_bounds(const struct imap_seqrange *r, uint32_t max,
			 uint32_t *lo_r, uint32_t *hi_r)
{
	uint32_t a = r->first_star ? max : r->first;
	uint32_t b = r->last_star ? max : r->last;

	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
}

bool imapd_seqset_contains(const struct imapd_seqset *set, uint32_t value,
			   uint32_t max)
{
	uint32_t lo, hi;

	if (value == 0)
		return false;
	for (size_t i = 0; i < set->count; i++) {
		range_bounds(&set->ranges[i], max, &lo, &hi);
		if (lo == 0) {
			/* '*' in an empty view: the star end is nothing. */
			if (hi == 0)
				continue;
			lo = 1;
		}
		if (value >= lo && value <= hi)
			return true;
	}
	return false;
}

bool imapd_seqset_within(const struct imapd_seqset *set, uint32_t max)
{
	uint32_t lo, hi;

	for (size_t i = 0; i < set->count; i++) {
		range_bounds(&set->ranges[i], max, &lo, &hi);
		if (hi > max || lo == 0)
			return false;
	}
	return true;
}

int imapd_seqset_format(const uint32_t *vals, size_t n, struct strbuf *out)
{
	size_t i = 0;
	bool first = true;

	while (i < n) {
		size_t j = i;

		while (j + 1 < n && vals[j + 1] == vals[j] + 1)
			j++;
		if (strbuf_appendf(out, "%s%lu", first ? "" : ",",
				   (unsigned long)vals[i]) < 0)
			return -1;
		if (j > i &&
		    strbuf_appendf(out, ":%lu", (unsigned long)vals[j]) < 0)
			return -1;
		first = false;
		i = j + 1;
	}
	return 0;
}
