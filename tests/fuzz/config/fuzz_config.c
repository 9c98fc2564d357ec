/*
 * fuzz_config - libFuzzer target for the main.cf parser
 *
 * SYNOPSIS
 *	tests/fuzz/config/fuzz_config [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Feeds each input (as a NUL-terminated copy) to config_load_string()
 *	with two overrides queued, then reads every table parameter through
 *	config_expanded() and config_raw(), so that parsing, expansion, loop
 *	detection, the limits and validation all run; then frees everything,
 *	so ASan's leak check covers the error paths too.  Log output is
 *	swallowed by a hook: warnings are expected, printing them would only
 *	slow the fuzzer down.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* quiet - log hook that drops every line */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* touch - read a string so that a dangling pointer would show */
static size_t touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	const char *error;
	char *text;
	size_t sum = 0;

	log_set_hook(quiet, NULL);
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	cfg = config_create("/fuzz/etc");
	(void)config_override(cfg, "max_use = 7", &error);
	(void)config_override(cfg, "fuzz_override=$myorigin", &error);
	if (config_load_string(cfg, "fuzz.cf", text, &error) < 0) {
		sum += touch(error);
	} else {
		/* A successful load left every table value typed. */
		for (size_t i = 0; i < param_table_count; i++)
			sum += touch(config_str(cfg, param_table[i].name));
		sum += (size_t)config_int(cfg, "max_use");
		sum += config_list(cfg, "mynetworks", NULL) != NULL;
	}
	for (size_t i = 0; i < param_table_count; i++) {
		const char *name = param_table[i].name;

		sum += touch(config_expanded(cfg, name));
		sum += touch(config_raw(cfg, name));
		sum += touch(config_where(cfg, name));
	}
	config_free(&cfg);
	free(text);
	/* Keep sum alive without printing. */
	return sum == (size_t)-1 ? -1 : 0;
}
