/*
 * fuzz_passwd_file - libFuzzer target for the passwd-file parser
 *
 * SYNOPSIS
 *	fuzz_passwd_file [libFuzzer options] tests/fuzz/passwd_file/corpus
 *
 * DESCRIPTION
 *	Each input is a whole passwd-file.  When it parses, every entry
 *	is checked against the parser's promises: a non-empty user without
 *	blanks or control characters, a lowercase domain part, no ':' in
 *	the fields that end at a colon, a line number within the input,
 *	lookups that find each entry (and find the same one: duplicates
 *	were dropped), and file order kept.  When it does not parse, the
 *	error must name the file.  Any broken promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "passwd_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* quiet - keep the fuzzer's output clean (duplicate warnings) */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* check_entry - the promises about one entry */
static void check_entry(const struct passwd_file *pf,
			const struct passwd_entry *e, size_t lines)
{
	const char *at = strrchr(e->user, '@');

	if (e->user[0] == '\0' || e->line < 1 || (size_t)e->line > lines)
		abort();
	for (const char *p = e->user; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ' ||
		    *p == ':')
			abort();
	if (at != NULL)
		for (const char *p = at; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	if (strchr(e->password, ':') != NULL || strchr(e->home, ':') != NULL ||
	    strchr(e->password, '\n') != NULL || strchr(e->extra, '\n') != NULL)
		abort();
	if (passwd_file_lookup(pf, e->user) != e)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct passwd_file *pf;
	const char *error = NULL;
	size_t lines = 1;
	int last = 0;

	if (!initialized) {
		log_init("fuzz_passwd_file");
		log_set_hook(quiet, NULL);
		initialized = 1;
	}
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	pf = passwd_file_parse("fuzz", (const char *)data, size, &error);
	if (pf == NULL) {
		if (error == NULL || strncmp(error, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	if (passwd_file_count(pf) > lines)
		abort();
	for (size_t i = 0; i < passwd_file_count(pf); i++) {
		const struct passwd_entry *e = passwd_file_entry(pf, i);

		check_entry(pf, e, lines);
		if (e->line <= last)
			abort();
		last = e->line;
	}
	passwd_file_free(&pf);
	return 0;
}
