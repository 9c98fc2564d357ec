/*
 * cli_map - `facteur map`: build and query lookup tables (postmap)
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_map(ctx, argc, argv)
 *
 * DESCRIPTION
 *	facteur map [-af] type:file...
 *		build each table from its source, atomically (maps.h), as
 *		postmap(1) does; -a reads the aliases(5) format (postalias,
 *		newaliases), -f keeps the case of keys.  A name without a
 *		type means hash:name.
 *	facteur map [-af] -q key type:file...
 *		look key up in the tables in turn and print the first value
 *		found; -q - reads keys from stdin, one per line, and prints
 *		"key<TAB>value" for each one found.
 *
 * DIAGNOSTICS
 *	As postmap(1): a query exits 0 when a key was found and 1 when
 *	none was; a build exits 0.  Errors (a source that does not parse,
 *	a table that cannot be opened) print "facteur: fatal: ..." and
 *	exit 2 for a query, so that a script can tell them from "not
 *	found", and 1 for a build.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "log.h"
#include "maps.h"

/* A key read from stdin with -q - is at most this long. */
#define CLI_MAP_KEY_MAX 4096

/* map_spec - "type:name" for an argument, "hash:" added when untyped */
static char *map_spec(const char *arg)
{
	const char *colon = strchr(arg, ':');

	/* "/etc/x" has no type; a ':' after a '/' is part of a path. */
	if (colon == NULL ||
	    (strchr(arg, '/') != NULL && strchr(arg, '/') < colon))
		return xasprintf("hash:%s", arg);
	return xstrdup(arg);
}

/* map_usage - the synopsis, exit 1 */
static _Noreturn void map_usage(void)
{
	fprintf(stderr, "usage: facteur map [-af] type:file...\n"
			"       facteur map [-af] -q key|- type:file...\n");
	exit(1);
}

/* query_one - look key up in the tables: 1 found (printed), 0 not */
static int query_one(struct maps_table **tables, int count, const char *key,
		     bool with_key)
{
	for (int i = 0; i < count; i++) {
		const char *value, *error;
		int ret = maps_lookup(tables[i], key, &value, &error);

		if (ret < 0) {
			log_error("%s", error);
			exit(2);
		}
		if (ret > 0) {
			if (with_key)
				printf("%s\t%s\n", key, value);
			else
				printf("%s\n", value);
			return 1;
		}
	}
	return 0;
}

/* query - -q: the exit status */
static int query(const char *key, unsigned flags, int argc, char **argv)
{
	struct maps_table **tables = xcalloc((size_t)argc, sizeof(*tables));
	int found = 0;

	for (int i = 0; i < argc; i++) {
		char *spec = map_spec(argv[i]);
		const char *error;

		/* Lookups lowercase the key unless the table keeps case. */
		tables[i] = maps_open(spec, flags & MAPS_KEEP_CASE, &error);
		if (tables[i] == NULL) {
			log_error("%s", error);
			exit(2);
		}
		free(spec);
	}
	if (strcmp(key, "-") == 0) {
		char line[CLI_MAP_KEY_MAX + 2];

		while (fgets(line, sizeof(line), stdin) != NULL) {
			size_t len = strlen(line);

			if (len > 0 && line[len - 1] == '\n')
				line[--len] = '\0';
			else if (!feof(stdin)) {
				log_error("key too long (limit %d bytes)",
					  CLI_MAP_KEY_MAX);
				exit(2);
			}
			if (len > 0 && line[len - 1] == '\r')
				line[--len] = '\0';
			found |= query_one(tables, argc, line, true);
		}
	} else {
		found = query_one(tables, argc, key, false);
	}
	for (int i = 0; i < argc; i++)
		maps_close(&tables[i]);
	free(tables);
	fflush(stdout);
	return found ? 0 : 1;
}

/* cli_map - `facteur map` */
int cli_map(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *key = NULL;
	unsigned flags = 0;
	int ch;

	(void)ctx;
	while ((ch = getopt(argc, argv, "afq:")) != -1) {
		switch (ch) {
		case 'a':
			flags |= MAPS_ALIASES;
			break;
		case 'f':
			flags |= MAPS_KEEP_CASE;
			break;
		case 'q':
			key = optarg;
			break;
		default:
			map_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		map_usage();
	if (key != NULL)
		return query(key, flags, argc, argv);
	for (int i = 0; i < argc; i++) {
		char *spec = map_spec(argv[i]);
		const char *error;

		if (maps_build_spec(spec, flags, &error) < 0)
			log_fatal("%s", error);
		free(spec);
	}
	return 0;
}
