/*
 * params - the one table of every configuration parameter
 *
 * Each parameter is declared exactly once, in params.c, with its type,
 * default, bounds and a one-line description (DESIGN.md §5, STYLE.md §8).
 * Everything else derives from the table: the parser's validation,
 * `facteur conf -d`, and the parameter list of facteur.conf(5), which a
 * test compares against `facteur conf --table`.
 *
 * Names are Postfix's where the meaning is the same.  Defaults are main.cf
 * text and may use $name expansion ("$myhostname").  A default that must be
 * computed at run time (the host's name) comes from default_fn.
 */
#ifndef FACTEUR_PARAMS_H
#define FACTEUR_PARAMS_H

#include <stddef.h>

enum param_type {
	PARAM_STRING,
	PARAM_INT,  /* decimal, within [min, max] */
	PARAM_BOOL, /* yes/no (also true/false, on/off, 1/0) */
	PARAM_TIME, /* number with s/m/h/d/w suffix (none = s), in seconds */
	PARAM_SIZE, /* number with k/m/g suffix (none = bytes), in bytes */
	PARAM_LIST, /* items separated by commas and/or whitespace */
};

struct param_def {
	const char *name;
	enum param_type type;
	/* main.cf text; NULL when default_fn computes it. */
	const char *def;
	/* For INT, TIME (seconds) and SIZE (bytes); ignored otherwise. */
	long long min;
	long long max;
	const char *doc;
	/* Computes the default (returns a static string), or NULL. */
	const char *(*default_fn)(void);
};

extern const struct param_def param_table[];
extern const size_t param_table_count;

/* The entry for name, or NULL when no parameter has that name. */
const struct param_def *param_lookup(const char *name);
/* The unexpanded default of def: def->def or what default_fn returns. */
const char *param_default(const struct param_def *def);
/* "string", "int", "bool", "time", "size" or "list". */
const char *param_type_name(enum param_type type);

/*
 * Compiled-in locations (set by configure from --prefix etc.); the table's
 * defaults for config_directory, daemon_directory, queue_directory, ...
 */
#ifndef FACTEUR_CONFIG_DIR
#define FACTEUR_CONFIG_DIR "/etc/facteur"
#endif
#ifndef FACTEUR_DAEMON_DIR
#define FACTEUR_DAEMON_DIR "/usr/libexec/facteur"
#endif
#ifndef FACTEUR_COMMAND_DIR
#define FACTEUR_COMMAND_DIR "/usr/sbin"
#endif
#ifndef FACTEUR_QUEUE_DIR
#define FACTEUR_QUEUE_DIR "/var/spool/facteur"
#endif
#ifndef FACTEUR_DATA_DIR
#define FACTEUR_DATA_DIR "/var/lib/facteur"
#endif
#ifndef FACTEUR_MAN_DIR
#define FACTEUR_MAN_DIR "/usr/share/man"
#endif

#endif
