/*
 * fuzz_mastercf - libFuzzer target for the master.cf parser
 *
 * SYNOPSIS
 *	fuzz_mastercf [libFuzzer options] tests/fuzz/mastercf/corpus
 *
 * DESCRIPTION
 *	Feeds each input, as a NUL-terminated copy (mastercf_parse() takes
 *	C text; mastercf_load() refuses files holding a NUL), to
 *	mastercf_parse(), walks the result the way master does (find every
 *	entry again, split inet names again) and frees it.  ASan and
 *	LeakSanitizer catch overruns and leaks; the checks below catch
 *	tables that contradict the parser's own rules.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "mastercf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* quiet - the parser should not log, but keep the fuzzer's output clean */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* check_entry - invariants every parsed entry must hold */
static void check_entry(const struct mastercf *mcf,
			const struct mastercf_entry *e)
{
	const char *error;
	char *host, *port;

	if (mastercf_find(mcf, e->name, e->type) != e)
		abort();
	if (e->argc == 0 || e->argc > MASTERCF_ARG_MAX ||
	    e->argv[e->argc] != NULL || e->wakeup < 0 || e->maxproc < -1 ||
	    e->line < 1 || strlen(e->text) > MASTERCF_LINE_MAX)
		abort();
	if (e->type == MASTERCF_INET) {
		if (e->port == NULL ||
		    mastercf_split_inet(e->name, &host, &port, &error) < 0)
			abort();
		free(host);
		free(port);
	} else if (strchr(e->name, '/') != NULL || e->host != NULL ||
		   e->port != NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	const char *error = NULL;
	struct mastercf *mcf;
	char *text;

	if (!initialized) {
		log_set_hook(quiet, NULL);
		initialized = 1;
	}
	text = xstrndup((const char *)data, size);
	mcf = mastercf_parse("fuzz.cf", text, &error);
	if (mcf == NULL) {
		if (error == NULL || strncmp(error, "fuzz.cf:", 8) != 0)
			abort();
	} else {
		if (mcf->count > MASTERCF_ENTRY_MAX)
			abort();
		for (size_t i = 0; i < mcf->count; i++)
			check_entry(mcf, &mcf->entries[i]);
		mastercf_free(&mcf);
	}
	free(text);
	return 0;
}
