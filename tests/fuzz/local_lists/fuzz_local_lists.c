/*
 * fuzz_local_lists - libFuzzer target for the parsers of local
 *
 * SYNOPSIS
 *	fuzz_local_lists [libFuzzer options] tests/fuzz/local_lists/corpus
 *
 * DESCRIPTION
 *	Each input is read both as a message header (local_loop_parse) and
 *	as a .forward / :include: file (local_forward_split).  The promises
 *	checked: at most LOCAL_LOOP_MAX Delivered-To: values, each
 *	non-empty, lowercase, without line ends, at most 998 bytes; list
 *	entries non-empty, without a newline, trimmed, at most
 *	LOCAL_ALIAS_TARGETS_MAX of them.  Any broken promise aborts.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* local_forward.c's setter lives in local.c: a copy for the target. */
void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...)
{
	va_list ap;

	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *error = NULL;
	size_t count;
	char **list = local_loop_parse(text, size, &count);

	if (count > LOCAL_LOOP_MAX)
		abort();
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(list[i]);

		if (len == 0 || len > 998 || strpbrk(list[i], "\r\n") != NULL)
			abort();
		for (size_t j = 0; j < len; j++)
			if (isupper((unsigned char)list[i][j]))
				abort();
		free(list[i]);
	}
	free(list);

	list = local_forward_split(text, size, &error);
	if (list == NULL) {
		if (error == NULL)
			abort();
		return 0;
	}
	count = 0;
	for (; list[count] != NULL; count++) {
		size_t len = strlen(list[count]);

		if (len == 0 || strchr(list[count], '\n') != NULL ||
		    list[count][0] == ' ' || list[count][len - 1] == ' ')
			abort();
	}
	if (count > LOCAL_ALIAS_TARGETS_MAX)
		abort();
	local_forward_free(list);
	return 0;
}
