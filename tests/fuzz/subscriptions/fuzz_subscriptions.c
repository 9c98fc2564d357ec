/*
 * fuzz_subscriptions - libFuzzer target for the subscriptions file reader
 *
 * SYNOPSIS
 *	fuzz_subscriptions [libFuzzer options] tests/fuzz/subscriptions/corpus
 *
 * DESCRIPTION
 *	Each input is a whole ROOT/subscriptions (Dovecot's version 2 or
 *	the older one-name-per-line format; in the user's Maildir:
 *	untrusted).  The promises: every name is "INBOX" or valid for
 *	mailbox_name_valid(), none twice, at most MBX_SUBS_MAX of them.
 *	Any broken promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "mailbox_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count;
	char **names =
		mbx_subscriptions_parse((const char *)data, size, &count);

	if (names == NULL || count > MBX_SUBS_MAX)
		abort();
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], "INBOX") != 0 &&
		    !mailbox_name_valid(names[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				abort();
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return 0;
}
