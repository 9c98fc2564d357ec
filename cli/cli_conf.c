/*
 * cli_conf - `facteur conf`: query main.cf and master.cf like postconf(1)
 *
 * SYNOPSIS
 *	facteur conf [-dhnx] [name...]
 *	facteur conf -e name=value...
 *	facteur conf -X name...
 *	facteur conf -# name...
 *	facteur conf -M [name[/type]...]
 *	facteur conf -M name/type='entry'...
 *	facteur conf -MX name/type...
 *	facteur conf -M# name/type...
 *	facteur conf --table
 *
 * DESCRIPTION
 *	Without names, print every parameter of the table as "name = value"
 *	with the value main.cf (or the default) gives it, plus the names
 *	main.cf sets that the table does not know, sorted by name.  -n
 *	limits that to what main.cf sets, -d prints the table's defaults
 *	instead, -h leaves out "name = ", -x expands $name references.  With
 *	names, print just those; an unknown name draws a warning and is
 *	skipped, and the exit status stays 0 as with postconf(1).
 *
 *	-e, -X and -# edit main.cf in place (cli_conf_edit.c); -M shows and
 *	edits master.cf (cli_mastercf.c).
 *
 *	--table (not documented for users) prints the parameter table as
 *	"name TAB type TAB default TAB doc" lines, for man/gen-params.py and
 *	tests/integration/test_man.py.  A default that is computed at run
 *	time prints as "(computed)" and a compiled-in location as a standard
 *	package installs it, so that the page depends neither on the host
 *	nor on the configure options of the tree that generated it.
 *
 * DIAGNOSTICS
 *	A main.cf that does not load is fatal, with "FILE:LINE: ...".
 *	Usage errors exit 1.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "params.h"

/* What the query options asked for. */
struct conf_query {
	bool defaults;	/* -d */
	bool only_set;	/* -n */
	bool hide_name; /* -h */
	bool expand;	/* -x */
};

/* A list of names to print, built up then sorted. */
struct name_list {
	const char **names;
	size_t count;
	size_t cap;
};

/* name_list_add - append a name (not copied: it outlives the list) */
static void name_list_add(struct name_list *list, const char *name)
{
	if (list->count == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 64;
		list->names = xreallocarray(list->names, list->cap,
					    sizeof(*list->names));
	}
	list->names[list->count++] = name;
}

/* compare_names - qsort helper */
static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* collect_unknown - config_foreach_set callback: names not in the table */
static void collect_unknown(const char *name, const char *raw_value, void *ctx)
{
	(void)raw_value;
	if (param_lookup(name) == NULL)
		name_list_add(ctx, name);
}

/* collect_set - config_foreach_set callback: every name main.cf sets */
static void collect_set(const char *name, const char *raw_value, void *ctx)
{
	(void)raw_value;
	name_list_add(ctx, name);
}

/* print_one - "name = value" or just the value */
static void print_one(const struct conf_query *q, const char *name,
		      const char *value)
{
	if (q->hide_name)
		printf("%s\n", value);
	else if (value[0] == '\0')
		/* postconf prints "name =" without a trailing space. */
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, value);
}

/* value_of - what to print for name, or NULL when nobody knows it */
static const char *value_of(const struct conf_query *q,
			    const struct config *cfg, const char *name)
{
	if (q->defaults) {
		const struct param_def *def = param_lookup(name);

		if (def == NULL)
			return NULL;
		/* cfg holds defaults only, so expansion sees defaults. */
		return q->expand ? config_expanded(cfg, name)
				 : param_default(def);
	}
	return q->expand ? config_expanded(cfg, name) : config_raw(cfg, name);
}

/* load_defaults - a configuration where nothing is set */
static struct config *load_defaults(const struct cli_ctx *ctx)
{
	struct config *cfg = config_create(ctx->config_dir);
	const char *error;

	if (config_load_string(cfg, "(defaults)", "", &error) < 0)
		log_panic("defaults do not load: %s", error);
	return cfg;
}

/* conf_query_run - print parameters as the options say */
static int conf_query_run(const struct cli_ctx *ctx, const struct conf_query *q,
			  int argc, char **argv)
{
	/* -d needs no main.cf: it shows the table, even for a broken one. */
	struct config *cfg =
		q->defaults ? load_defaults(ctx) : cli_load_config(ctx);
	struct name_list list = {0};

	if (argc > 0) {
		/* Explicit names, in the order given, as postconf does. */
		for (int i = 0; i < argc; i++) {
			const char *value = value_of(q, cfg, argv[i]);

			if (value == NULL) {
				log_warn("%s: unknown parameter", argv[i]);
				continue;
			}
			/* -n with names: those of them main.cf sets. */
			if (q->only_set && !q->defaults &&
			    !config_is_set(cfg, argv[i]))
				continue;
			print_one(q, argv[i], value);
		}
		config_free(&cfg);
		fflush(stdout);
		return 0;
	}
	if (q->only_set && !q->defaults) {
		config_foreach_set(cfg, collect_set, &list);
	} else {
		for (size_t i = 0; i < param_table_count; i++)
			name_list_add(&list, param_table[i].name);
		if (!q->defaults)
			config_foreach_set(cfg, collect_unknown, &list);
	}
	if (list.count > 0)
		qsort(list.names, list.count, sizeof(*list.names),
		      compare_names);
	for (size_t i = 0; i < list.count; i++) {
		const char *value = value_of(q, cfg, list.names[i]);

		if (value != NULL)
			print_one(q, list.names[i], value);
	}
	free(list.names);
	config_free(&cfg);
	fflush(stdout);
	return 0;
}

/*
 * Locations configure compiles in, shown in the documentation as a
 * package built with --prefix=/usr --sysconfdir=/etc --localstatedir=/var
 * installs them (the fallbacks in params.h), so that facteur.conf(5) does
 * not depend on where the tree that generated it was configured.
 * `facteur conf -d` shows the real ones.
 */
static const struct {
	const char *built;
	const char *documented;
} doc_locations[] = {
	{FACTEUR_CONFIG_DIR, "/etc/facteur"},
	{FACTEUR_DAEMON_DIR, "/usr/libexec/facteur"},
	{FACTEUR_COMMAND_DIR, "/usr/sbin"},
	{FACTEUR_QUEUE_DIR, "/var/spool/facteur"},
	{FACTEUR_DATA_DIR, "/var/lib/facteur"},
	{FACTEUR_MAN_DIR, "/usr/share/man"},
};

/* documented_default - the default as facteur.conf(5) shows it */
static const char *documented_default(const struct param_def *def)
{
	if (def->def == NULL)
		return "(computed)";
	for (size_t i = 0; i < sizeof(doc_locations) / sizeof(doc_locations[0]);
	     i++)
		if (strcmp(def->def, doc_locations[i].built) == 0)
			return doc_locations[i].documented;
	return def->def;
}

/* print_table - the parameter table as TSV, for the man page tools */
static int print_table(void)
{
	for (size_t i = 0; i < param_table_count; i++) {
		const struct param_def *def = &param_table[i];

		printf("%s\t%s\t%s\t%s\n", def->name,
		       param_type_name(def->type), documented_default(def),
		       def->doc);
	}
	fflush(stdout);
	return 0;
}

/* conf_usage - report a usage error */
static int conf_usage(void)
{
	fprintf(stderr, "usage: facteur conf [-dhnx] [name...]\n"
			"       facteur conf -e name=value...\n"
			"       facteur conf -X name...\n"
			"       facteur conf -# name...\n"
			"       facteur conf -M [name[/type]...]\n"
			"       facteur conf -M name/type='entry'...\n"
			"       facteur conf -MX name/type...\n"
			"       facteur conf -M# name/type...\n");
	return 1;
}

/* cli_conf - the `conf` subcommand */
int cli_conf(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"table", no_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	struct conf_query q = {0};
	bool edit = false, remove = false, comment = false, master = false;
	bool table = false;
	int ch;

	/* "+": names and values after the options may start with '-'. */
	while ((ch = getopt_long(argc, argv, "+dehnxX#M", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'd':
			q.defaults = true;
			break;
		case 'e':
			edit = true;
			break;
		case 'h':
			q.hide_name = true;
			break;
		case 'n':
			q.only_set = true;
			break;
		case 'x':
			q.expand = true;
			break;
		case 'X':
			remove = true;
			break;
		case '#':
			comment = true;
			break;
		case 'M':
			master = true;
			break;
		case 'T':
			table = true;
			break;
		default:
			return conf_usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (table)
		return argc == 0 ? print_table() : conf_usage();
	if ((int)edit + (int)remove + (int)comment > 1) {
		log_error("-e, -X and -# are mutually exclusive");
		return conf_usage();
	}
	if (master) {
		/*
		 * -M name/type=entry edits even without -e, as the brief
		 * form of postconf -Me.
		 */
		bool has_value = false;

		for (int i = 0; i < argc; i++)
			if (strchr(argv[i], '=') != NULL)
				has_value = true;
		if (remove)
			return cli_mastercf_edit(ctx, CLI_EDIT_REMOVE, argc,
						 argv);
		if (comment)
			return cli_mastercf_edit(ctx, CLI_EDIT_COMMENT, argc,
						 argv);
		if (edit || has_value)
			return cli_mastercf_edit(ctx, CLI_EDIT_SET, argc, argv);
		return cli_mastercf_show(ctx, argc, argv);
	}
	if (edit || remove || comment) {
		if (argc == 0) {
			log_error("-e, -X and -# need at least one argument");
			return conf_usage();
		}
		return cli_conf_edit(ctx,
				     edit     ? CLI_EDIT_SET
				     : remove ? CLI_EDIT_REMOVE
					      : CLI_EDIT_COMMENT,
				     argc, argv);
	}
	return conf_query_run(ctx, &q, argc, argv);
}
