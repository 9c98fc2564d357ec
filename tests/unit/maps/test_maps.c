/*
 * test_maps - unit tests for lib/maps: maps.c, map_db.c, map_lmdb.c
 *
 * Every test that is about behaviour common to all types runs for each of
 * hash, btree, lmdb (built with maps_build()) and texthash (read from the
 * source), so that the backends cannot drift apart.  Each test works in
 * its own temporary directory, and checks at the end that a build left no
 * temporary or lock file behind.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "maps.h"
#include "maps_list.h"
#include "strbuf.h"
#include "testlib.h"

static const char *const all_types[] = {"hash", "btree", "lmdb", "texthash"};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* ---------------------------------------------------------- helpers */

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	fx->dir = testlib_tmpdir();
	testlib_capture_logs();
	*state = fx;
	return 0;
}

/* no_leftovers - fail when a build left a temporary or lock file */
static void no_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".tmp.") != NULL ||
		    strstr(de->d_name, "-lock") != NULL)
			fail_msg("left behind: %s/%s", dir, de->d_name);
	}
	closedir(d);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	no_leftovers(fx->dir);
	testlib_release_logs();
	testlib_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* is_db_type - whether type has a database file to build */
static bool is_db_type(const char *type)
{
	return strcmp(type, "texthash") != 0;
}

/* build_and_open - build (unless texthash) and open type:path */
static struct maps_table *build_and_open(const char *type, const char *path,
					 unsigned int flags)
{
	struct maps_table *table;
	const char *error = NULL;
	char *spec = xasprintf("%s:%s", type, path);

	if (is_db_type(type) && maps_build(type, path, flags, &error) < 0)
		fail_msg("build %s: %s", spec, error);
	table = maps_open(spec, flags, &error);
	if (table == NULL)
		fail_msg("open %s: %s", spec, error);
	assert_string_equal(maps_name(table), spec);
	free(spec);
	return table;
}

/* want_value - key must be found with value */
static void want_value(struct maps_table *table, const char *key,
		       const char *value)
{
	const char *got = NULL, *error = NULL;
	int ret = maps_lookup(table, key, &got, &error);

	if (ret != 1)
		fail_msg("%s: lookup \"%s\": %d %s", maps_name(table), key, ret,
			 ret < 0 ? error : "not found");
	assert_string_equal(got, value);
}

/* want_missing - key must not be found */
static void want_missing(struct maps_table *table, const char *key)
{
	const char *got = NULL, *error = NULL;
	int ret = maps_lookup(table, key, &got, &error);

	if (ret != 0)
		fail_msg("%s: lookup \"%s\": %d %s", maps_name(table), key, ret,
			 ret < 0 ? error : got);
}

/* set_mtime - set a file's mtime to now + delta seconds */
static void set_mtime(const char *path, time_t delta)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += delta;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* ------------------------------------------------------------ tests */

static const char basic_source[] =
	"# virtual aliases\n"
	"\n"
	"Postmaster@Example.COM   root\n"
	"user@example.com\tsmtp:[relay.example.com]:587\n"
	"  # a comment between a line and its continuation\n"
	"list@example.com alice@example.com,\n"
	"\tbob@example.com\n"
	"reject@example.com  REJECT 550 5.1.1  User unknown  \n"
	"@example.org discard\n";

static void test_basic(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "virtual", basic_source);

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table =
			build_and_open(all_types[i], path, 0);

		want_value(table, "postmaster@example.com", "root");
		/* Lookups lowercase their key too. */
		want_value(table, "POSTMASTER@example.com", "root");
		want_value(table, "user@example.com",
			   "smtp:[relay.example.com]:587");
		want_value(table, "list@example.com",
			   "alice@example.com, bob@example.com");
		want_value(table, "reject@example.com",
			   "REJECT 550 5.1.1  User unknown");
		want_value(table, "@example.org", "discard");
		want_missing(table, "nobody@example.com");
		want_missing(table, "postmaster");
		want_missing(table, "");
		want_missing(table, "# virtual aliases");
		/* A prefix or an extension of a key is not the key. */
		want_missing(table, "user@example.co");
		want_missing(table, "user@example.com.");
		assert_false(maps_is_stale(table, NULL));
		maps_close(&table);
		assert_null(table);
	}
	maps_close(&(struct maps_table *){NULL});
	free(path);
}

static void test_keep_case(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "sender", "Alice@X.org A\n");

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table =
			build_and_open(all_types[i], path, MAPS_KEEP_CASE);

		want_value(table, "Alice@X.org", "A");
		want_missing(table, "alice@x.org");
		want_missing(table, "ALICE@X.ORG");
		maps_close(&table);
	}
	free(path);
}

static void test_aliases(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "aliases",
					"# aliases(5)\n"
					"MAILER-DAEMON: postmaster\n"
					"postmaster: root\n"
					"staff: alice,\n"
					"   bob, \"|/usr/bin/vacation bob\"\n"
					"\"john doe\": jd\n");

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table =
			build_and_open(all_types[i], path, MAPS_ALIASES);

		want_value(table, "mailer-daemon", "postmaster");
		want_value(table, "postmaster", "root");
		want_value(table, "staff",
			   "alice, bob, \"|/usr/bin/vacation bob\"");
		want_value(table, "john doe", "jd");
		want_missing(table, "postmaster:");
		maps_close(&table);
	}
	free(path);
}

static void test_empty_source(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "empty", "# nothing yet\n");

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table =
			build_and_open(all_types[i], path, 0);

		want_missing(table, "anything");
		maps_close(&table);
	}
	free(path);
}

static void test_duplicates(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "transport",
					"a first\n"
					"b only\n"
					"A second\n"
					"a third\n");
	char *warn2 = xasprintf("warning: %s:3: duplicate entry: \"a\"", path);
	char *warn3 = xasprintf("warning: %s:4: duplicate entry: \"a\"", path);

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table;

		testlib_clear_logs();
		table = build_and_open(all_types[i], path, 0);
		/* postmap keeps the first and warns about the others. */
		want_value(table, "a", "first");
		want_value(table, "b", "only");
		assert_true(testlib_log_contains(warn2));
		assert_true(testlib_log_contains(warn3));
		maps_close(&table);
	}
	free(warn2);
	free(warn3);
	free(path);
}

static void test_source_errors(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "access", "ok OK\n");
	static const struct {
		const char *text;
		unsigned int flags;
		const char *error; /* after "PATH:" */
	} cases[] = {
		{"a b\nnovalue\n", 0,
		 "2: expected format: key whitespace value"},
		{"  x y\n", 0, "1: continuation line without a preceding line"},
		{"a: b\nc d\n", MAPS_ALIASES,
		 "2: expected format: name: value"},
		{"\"a: b\n", MAPS_ALIASES, "1: unterminated quoted name"},
	};

	for (size_t i = 0; i < N_TYPES; i++) {
		struct maps_table *table;
		const char *error;
		FILE *fp;

		/* A good table first: a failed build must leave it. */
		fp = fopen(path, "w");
		fputs("ok OK\n", fp);
		fclose(fp);
		if (is_db_type(all_types[i]))
			assert_int_equal(
				maps_build(all_types[i], path, 0, &error), 0);
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			char *spec = xasprintf("%s:%s", all_types[i], path);
			char *expect = xasprintf("%s:%s", path, cases[c].error);

			fp = fopen(path, "w");
			fputs(cases[c].text, fp);
			fclose(fp);
			error = NULL;
			if (is_db_type(all_types[i])) {
				assert_int_equal(maps_build(all_types[i], path,
							    cases[c].flags,
							    &error),
						 -1);
				assert_string_equal(error, expect);
				table = maps_open(spec, 0, &error);
				assert_non_null(table);
				want_value(table, "ok", "OK");
				maps_close(&table);
			} else {
				assert_null(maps_open(spec, cases[c].flags,
						      &error));
				assert_string_equal(error, expect);
			}
			free(spec);
			free(expect);
		}
	}
	free(path);
}

static void test_rebuild_while_open(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "relocated", "k old\n");

	for (size_t i = 0; i < N_TYPES; i++) {
		const char *type = all_types[i];
		struct maps_table *old, *new;
		FILE *fp;

		if (!is_db_type(type))
			continue;
		fp = fopen(path, "w");
		fputs("k old\ngone x\n", fp);
		fclose(fp);
		old = build_and_open(type, path, 0);
		want_value(old, "k", "old");

		fp = fopen(path, "w");
		fputs("k new\nadded y\n", fp);
		fclose(fp);
		new = build_and_open(type, path, 0);
		/* The open table still reads the file it opened, whole. */
		want_value(old, "k", "old");
		want_value(old, "gone", "x");
		want_missing(old, "added");
		/* A table opened after the rebuild sees the new data. */
		want_value(new, "k", "new");
		want_value(new, "added", "y");
		want_missing(new, "gone");
		maps_close(&old);
		maps_close(&new);
	}
	free(path);
}

static void test_stale(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "canonical", "a b\n");

	for (size_t i = 0; i < N_TYPES; i++) {
		const char *type = all_types[i];
		struct maps_table *table;
		const char *why = NULL, *error;
		char *spec = xasprintf("%s:%s", type, path);
		char *expect;

		/* The source from long ago: the build is newer. */
		set_mtime(path, -100);
		table = build_and_open(type, path, 0);
		assert_false(maps_is_stale(table, &why));
		assert_null(why);
		maps_close(&table);

		/* Edit the source after the build. */
		set_mtime(path, 10);
		table = maps_open(spec, 0, &error);
		assert_non_null(table);
		if (is_db_type(type)) {
			expect = xasprintf(
				"database %s.%s is older than "
				"source file %s",
				path, strcmp(type, "lmdb") == 0 ? "lmdb" : "db",
				path);
			assert_true(maps_is_stale(table, NULL));
			assert_true(maps_is_stale(table, &why));
			assert_string_equal(why, expect);
			free(expect);
		} else {
			assert_false(maps_is_stale(table, &why));
		}
		/* Stale or not, it still answers. */
		want_value(table, "a", "b");
		maps_close(&table);

		/* A table without its source is not stale. */
		if (is_db_type(type)) {
			char *moved = xasprintf("%s.moved", path);

			assert_int_equal(rename(path, moved), 0);
			table = maps_open(spec, 0, &error);
			assert_non_null(table);
			assert_false(maps_is_stale(table, NULL));
			maps_close(&table);
			assert_int_equal(rename(moved, path), 0);
			free(moved);
		}
		free(spec);
	}
	free(path);
}

static void test_bad_names(void **state)
{
	struct fixture *fx = *state;
	const char *error = NULL;
	char *path = testlib_write_file(fx->dir, "x", "a b\n");
	char *expect;

	(void)fx;
	assert_null(maps_open("dbm:/etc/facteur/aliases", 0, &error));
	assert_string_equal(error, "unsupported table type \"dbm\" in "
				   "\"dbm:/etc/facteur/aliases\" (supported: "
				   "hash, btree, lmdb, texthash)");
	assert_null(maps_open("/etc/facteur/aliases", 0, &error));
	assert_string_equal(error, "bad table name \"/etc/facteur/aliases\": "
				   "expected type:name");
	assert_null(maps_open("hash:", 0, &error));
	assert_string_equal(error, "bad table name \"hash:\": expected "
				   "type:name");
	assert_null(maps_open(":/x", 0, &error));
	assert_string_equal(error,
			    "bad table name \":/x\": expected type:name");
	assert_null(maps_open("hashx:/x", 0, &error));
	assert_null(maps_open("has:/x", 0, &error));

	assert_int_equal(maps_build("dbm", path, 0, &error), -1);
	assert_string_equal(error, "unsupported table type \"dbm\" (supported: "
				   "hash, btree, lmdb, texthash)");
	assert_int_equal(maps_build("texthash", path, 0, &error), -1);
	expect = xasprintf("texthash:%s: a texthash table is read from its "
			   "source, there is nothing to build",
			   path);
	assert_string_equal(error, expect);
	free(expect);
	assert_int_equal(maps_build_spec("nocolon", 0, &error), -1);
	assert_string_equal(error, "bad table name \"nocolon\": expected "
				   "type:name");

	assert_true(maps_type_supported("hash"));
	assert_true(maps_type_supported("btree"));
	assert_true(maps_type_supported("lmdb"));
	assert_true(maps_type_supported("texthash"));
	assert_false(maps_type_supported("dbm"));
	assert_false(maps_type_supported(""));
	{
		const char *const *types = maps_types();

		assert_string_equal(types[0], "hash");
		assert_string_equal(types[1], "btree");
		assert_string_equal(types[2], "lmdb");
		assert_string_equal(types[3], "texthash");
		assert_null(types[4]);
	}
	free(path);
}

static void test_missing_files(void **state)
{
	struct fixture *fx = *state;
	const char *error = NULL;
	char *missing = xasprintf("%s/nope", fx->dir);
	char *spec, *expect;

	for (size_t i = 0; i < N_TYPES; i++) {
		const char *type = all_types[i];

		spec = xasprintf("%s:%s", type, missing);
		assert_null(maps_open(spec, 0, &error));
		if (strcmp(type, "texthash") == 0)
			expect = xasprintf("open %s: No such file or directory",
					   missing);
		else
			expect = xasprintf("open database %s.%s: No such file "
					   "or directory",
					   missing,
					   strcmp(type, "lmdb") == 0 ? "lmdb"
								     : "db");
		assert_string_equal(error, expect);
		free(expect);
		free(spec);
		if (!is_db_type(type))
			continue;
		assert_int_equal(maps_build(type, missing, 0, &error), -1);
		expect = xasprintf("open %s: No such file or directory",
				   missing);
		assert_string_equal(error, expect);
		free(expect);
	}
	free(missing);
}

static void test_not_a_database(void **state)
{
	struct fixture *fx = *state;
	const char *error = NULL;
	char *src = testlib_write_file(fx->dir, "junk", "a b\n");
	char *db = testlib_write_file(fx->dir, "junk.db",
				      "this is not a Berkeley DB file, not "
				      "at all, and it is long enough to hold "
				      "a header of some sort...............\n");
	char *lmdb = testlib_write_file(fx->dir, "junk.lmdb", "garbage\n");
	char *spec;

	for (size_t i = 0; i < N_TYPES; i++) {
		char *prefix;

		if (!is_db_type(all_types[i]))
			continue;
		spec = xasprintf("%s:%s", all_types[i], src);
		prefix = xasprintf("open database %s", src);
		error = NULL;
		assert_null(maps_open(spec, 0, &error));
		assert_non_null(error);
		assert_true(strncmp(error, prefix, strlen(prefix)) == 0);
		free(prefix);
		free(spec);
	}
	/* A hash file is not a btree file. */
	assert_int_equal(maps_build("hash", src, 0, &error), 0);
	spec = xasprintf("btree:%s", src);
	assert_null(maps_open(spec, 0, &error));
	free(spec);
	free(src);
	free(db);
	free(lmdb);
}

static void test_permissions(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "sasl_passwd",
					"[smtp.example.com]:587 user:secret\n");
	char *db;
	struct stat st;
	const char *error;
	mode_t old_umask = umask(0);

	/* The table gets the source's permission bits, whatever the umask:
	 * a private source must not give a world-readable table. */
	assert_int_equal(chmod(path, 0600), 0);
	for (size_t i = 0; i < N_TYPES; i++) {
		if (!is_db_type(all_types[i]))
			continue;
		assert_int_equal(maps_build(all_types[i], path, 0, &error), 0);
		db = xasprintf("%s.%s", path,
			       strcmp(all_types[i], "lmdb") == 0 ? "lmdb"
								 : "db");
		assert_int_equal(stat(db, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		free(db);
	}
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(maps_build("hash", path, 0, &error), 0);
	db = xasprintf("%s.db", path);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(db);
	umask(old_umask);
	free(path);
}

static void test_build_spec(void **state)
{
	struct fixture *fx = *state;
	char *path = testlib_write_file(fx->dir, "relay", "a b\n");
	char *spec = xasprintf("lmdb:%s", path);
	struct maps_table *table;
	const char *error = NULL;

	assert_int_equal(maps_build_spec(spec, 0, &error), 0);
	table = maps_open(spec, 0, &error);
	assert_non_null(table);
	want_value(table, "a", "b");
	maps_close(&table);
	free(spec);
	free(path);
}

/* Values of some length, so that the LMDB build must grow its map (1 MiB
 * at first) several times and replay batches. */
#define LARGE_N 10000

static void test_large(void **state)
{
	struct fixture *fx = *state;
	struct strbuf text;
	char *path;

	strbuf_init(&text, STRBUF_NO_LIMIT);
	for (int i = 0; i < LARGE_N; i++)
		strbuf_appendf(&text,
			       "User%d@Example.com "
			       "value-%d-%0150d\n",
			       i, i, i);
	path = testlib_write_file(fx->dir, "large", strbuf_cstr(&text));
	strbuf_release(&text);

	for (size_t t = 0; t < N_TYPES; t++) {
		struct maps_table *table =
			build_and_open(all_types[t], path, 0);
		char key[64], *value;

		for (int i = 0; i < LARGE_N; i++) {
			snprintf(key, sizeof(key), "user%d@example.com", i);
			value = xasprintf("value-%d-%0150d", i, i);
			want_value(table, key, value);
			free(value);
		}
		want_missing(table, "user10000@example.com");
		want_missing(table, "user-1@example.com");
		maps_close(&table);
	}
	{
		/* Bigger than LMDB's first map: it has grown. */
		char *lmdb = xasprintf("%s.lmdb", path);
		struct stat st;

		assert_int_equal(stat(lmdb, &st), 0);
		assert_true(st.st_size > (1 << 20));
		free(lmdb);
	}
	free(path);
}

static void test_lmdb_long_key(void **state)
{
	struct fixture *fx = *state;
	struct strbuf text;
	struct maps_table *table;
	const char *error = NULL;
	char *path, *expect, *spec, *key;

	/* LMDB cannot store a key over 511 bytes; the build says where. */
	strbuf_init(&text, STRBUF_NO_LIMIT);
	strbuf_append_str(&text, "short x\n");
	for (int i = 0; i < 600; i++)
		strbuf_append_char(&text, 'k');
	strbuf_append_str(&text, " v\n");
	path = testlib_write_file(fx->dir, "longkey", strbuf_cstr(&text));
	assert_int_equal(maps_build("lmdb", path, 0, &error), -1);
	expect = xasprintf("%s:2: key too long for lmdb (limit 511 bytes)",
			   path);
	assert_string_equal(error, expect);
	free(expect);
	/* Berkeley DB has no such limit. */
	assert_int_equal(maps_build("hash", path, 0, &error), 0);

	/* A lookup of such a key is a miss, not an error. */
	free(path);
	path = testlib_write_file(fx->dir, "short", "short x\n");
	assert_int_equal(maps_build("lmdb", path, 0, &error), 0);
	spec = xasprintf("lmdb:%s", path);
	table = maps_open(spec, 0, &error);
	assert_non_null(table);
	key = strbuf_steal(&text);
	key[600] = '\0';
	want_missing(table, key + 8);
	want_value(table, "short", "x");
	maps_close(&table);
	free(key);
	free(spec);
	free(path);
}

/* list_want - key in the list: ret, and the value when found */
static void list_want(struct maps_list *list, const char *key, int ret,
		      const char *value)
{
	const char *got = NULL, *error = NULL;
	int r = maps_list_find(list, key, &got, &error);

	if (r != ret)
		fail_msg("lookup \"%s\": %d (%s), expected %d", key, r,
			 r < 0 ? error : (r ? got : "not found"), ret);
	if (ret == 1)
		assert_string_equal(got, value);
}

static void test_list(void **state)
{
	struct fixture *fx = *state;
	char *first = testlib_write_file(fx->dir, "first", "a@x one\n");
	char *second = testlib_write_file(fx->dir, "second",
					  "a@x shadowed\nb@x two\n");
	char *missing = xasprintf("%s/missing", fx->dir);
	char *specs[3] = {xasprintf("hash:%s", first),
			  xasprintf("texthash:%s", second),
			  xasprintf("hash:%s", missing)};
	const char *error = NULL, *value;
	struct maps_list *list;

	assert_int_equal(maps_build("hash", first, 0, &error), 0);
	list = maps_list_create("virtual_alias_maps",
				(const char *const *)specs, 2, 0);
	assert_int_equal(maps_list_count(list), 2);
	/* In order: the first table that has the key wins. */
	list_want(list, "A@X", 1, "one");
	list_want(list, "b@x", 1, "two");
	list_want(list, "c@x", 0, NULL);

	/* A rebuilt table is seen without reopening the list by hand. */
	free(testlib_write_file(fx->dir, "first", "a@x uno\nc@x tres\n"));
	assert_int_equal(maps_build("hash", first, 0, &error), 0);
	sleep(1); /* tables are checked for changes at most once a second */
	list_want(list, "a@x", 1, "uno");
	list_want(list, "c@x", 1, "tres");
	maps_list_free(&list);
	assert_null(list);

	/* A table that cannot be opened is an error, never "not found";
	 * it is opened again at the next lookup. */
	list = maps_list_create("alias_maps", (const char *const *)specs + 1, 2,
				0);
	list_want(list, "b@x", 1, "two");
	assert_int_equal(maps_list_find(list, "zz@x", &value, &error), -1);
	assert_non_null(strstr(error, "alias_maps: "));
	assert_non_null(strstr(error, "missing.db"));
	free(testlib_write_file(fx->dir, "missing", "zz@x found\n"));
	assert_int_equal(maps_build("hash", missing, 0, &error), 0);
	list_want(list, "zz@x", 1, "found");
	maps_list_free(&list);
	for (int i = 0; i < 3; i++)
		free(specs[i]);
	free(first);
	free(second);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_case, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_source_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_while_open, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_spec, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lmdb_long_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
