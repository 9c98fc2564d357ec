/*
 * config - main.cf: parse, expand, override, validate and read parameters
 *
 * Syntax as Postfix's main.cf: "name = value" lines; '#' starts a comment
 * only at the start of a line (after optional whitespace); a line that
 * starts with whitespace continues the previous one (joined with one
 * space); blank lines are ignored.  Values may refer to other parameters
 * as $name, ${name} or $(name), and ${name?text} / ${name:text} expand to
 * text when name is set to a non-empty value / empty or unset, as in
 * Postfix.  "$$" is a literal '$'.  Expansion detects loops ($a -> $b ->
 * $a) and reports them as errors.
 *
 * Loading validates every known parameter after expansion against its
 * table entry (type, bounds) and fails on the first bad one with an error
 * "FILE:LINE: name: what is wrong" (for an override: "-o name=value: ...").
 * An unknown parameter is kept (it can still be used in $expansion) and
 * draws a warning "FILE:LINE: unknown parameter NAME" through log_warn().
 *
 * Overrides (master.cf's -o name=value, a program's own -o) are applied
 * after main.cf and win over it.
 *
 * A struct config is read-only once loaded; getters return values that
 * live as long as the struct.  Getting a name that is not in the table
 * with a typed getter is a bug and panics.
 */
#ifndef FACTEUR_CONFIG_H
#define FACTEUR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* An empty configuration whose config_directory is dir (NULL: default). */
struct config *config_create(const char *dir);
void config_free(struct config **cfgp);

/*
 * config_load - read DIR/main.cf, apply overrides, validate.
 * Returns 0, or -1 with *error_r set (valid until the next call on cfg).
 * A missing main.cf is an error naming it.  Call config_override() first
 * for overrides: they are applied by config_load()/config_load_string().
 */
int config_load(struct config *cfg, const char **error_r);
/* The same from text; filename is used in messages only. */
int config_load_string(struct config *cfg, const char *filename,
		       const char *text, const char **error_r);
/* Queue "name=value" (spaces around '=' allowed).  -1 if malformed. */
int config_override(struct config *cfg, const char *assignment,
		    const char **error_r);

/* Directory main.cf and master.cf are read from. */
const char *config_dir(const struct config *cfg);

/* The value as written (override, main.cf, else default), unexpanded;
 * NULL for a name that is neither in the table nor set. */
const char *config_raw(const struct config *cfg, const char *name);
/* The expanded value; NULL like config_raw. */
const char *config_expanded(const struct config *cfg, const char *name);
/* Whether main.cf or an override sets name. */
bool config_is_set(const struct config *cfg, const char *name);
/* Where main.cf sets name ("FILE:LINE"), or NULL. */
const char *config_where(const struct config *cfg, const char *name);

/* Typed getters for table parameters; values were validated at load. */
const char *config_str(const struct config *cfg, const char *name);
long long config_int(const struct config *cfg, const char *name);
bool config_bool(const struct config *cfg, const char *name);
/* Seconds. */
long long config_time(const struct config *cfg, const char *name);
/* Bytes. */
long long config_size(const struct config *cfg, const char *name);
/* NULL-terminated item array, owned by cfg. count_r may be NULL. */
const char *const *config_list(const struct config *cfg, const char *name,
			       size_t *count_r);

/* Each name set in main.cf or by override, in order of first appearance. */
typedef void config_iter_fn(const char *name, const char *raw_value, void *ctx);
void config_foreach_set(const struct config *cfg, config_iter_fn *fn,
			void *ctx);

/*
 * Value parsers shared with the CLI and tests.  Each returns 0, or -1 with
 * *error_r set to a static description ("bad time unit 'x'").
 */
int config_parse_bool(const char *text, bool *value_r, const char **error_r);
int config_parse_time(const char *text, long long *seconds_r,
		      const char **error_r);
int config_parse_size(const char *text, long long *bytes_r,
		      const char **error_r);

#endif
