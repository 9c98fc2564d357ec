/*
 * testlib - helpers for the cmocka unit tests
 *
 * SYNOPSIS
 *	#include "testlib.h"
 *
 * DESCRIPTION
 *	See testlib.h.  The capture buffer grows without limit: tests log
 *	little.
 */
#include "autoconf.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "strbuf.h"
#include "testlib.h"

jmp_buf testlib_fatal_jmp;
bool testlib_fatal_armed;

static struct strbuf captured;
static enum log_level fatal_level;

static void capture(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)ctx;
	strbuf_append_str(&captured, text);
	strbuf_append_char(&captured, '\n');
}

static void catch_exit(enum log_level level)
{
	fatal_level = level;
	if (!testlib_fatal_armed)
		fail_msg("unexpected %s: %s",
			 level == LOG_LEVEL_PANIC ? "panic" : "fatal",
			 strbuf_cstr(&captured));
	testlib_fatal_armed = false;
	longjmp(testlib_fatal_jmp, 1);
}

void testlib_capture_logs(void)
{
	if (captured.limit == 0)
		strbuf_init(&captured, STRBUF_NO_LIMIT);
	strbuf_reset(&captured);
	log_set_hook(capture, NULL);
	log_set_exit_hook(catch_exit);
}

void testlib_release_logs(void)
{
	log_set_hook(NULL, NULL);
	log_set_exit_hook(NULL);
	strbuf_release(&captured);
}

void testlib_clear_logs(void)
{
	strbuf_reset(&captured);
}

const char *testlib_logs(void)
{
	return strbuf_cstr(&captured);
}

bool testlib_log_contains(const char *needle)
{
	return strstr(strbuf_cstr(&captured), needle) != NULL;
}

enum log_level testlib_fatal_level(void)
{
	return fatal_level;
}

char *testlib_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/facteur-test-XXXXXX",
			       base && *base ? base : "/tmp");

	if (mkdtemp(path) == NULL)
		fail_msg("mkdtemp %s failed", path);
	return path;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testlib_rmtree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *testlib_write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		fail_msg("open %s failed", path);
	fputs(text, fp);
	fclose(fp);
	return path;
}
