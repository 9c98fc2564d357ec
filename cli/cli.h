/*
 * cli - the `facteur` administration command: shared state and helpers
 *
 * facteur.c parses the global options (-c DIR, -v) and dispatches to one
 * function per subcommand; each lives in its own cli_<concern>.c file
 * (STYLE.md §3).  A subcommand receives its own argc/argv (argv[0] is the
 * subcommand name) and returns the process exit status: 0 for success, 1
 * for an error, as postfix(1) and postconf(1) do.  Problems a user must
 * fix end the process through log_fatal(), which prints
 * "facteur: fatal: ..." on stderr and exits 1.
 */
#ifndef FACTEUR_CLI_H
#define FACTEUR_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct config;
struct mastercf;

/* What the global options selected. */
struct cli_ctx {
	const char *config_dir; /* -c DIR, or FACTEUR_CONFIG_DIR */
	bool verbose;		/* -v */
};

typedef int cli_cmd_fn(struct cli_ctx *ctx, int argc, char **argv);

/* Subcommands (cli_control.c, cli_check.c, cli_conf.c). */
int cli_start(struct cli_ctx *ctx, int argc, char **argv);
int cli_stop(struct cli_ctx *ctx, int argc, char **argv);
int cli_reload(struct cli_ctx *ctx, int argc, char **argv);
int cli_status(struct cli_ctx *ctx, int argc, char **argv);
int cli_check(struct cli_ctx *ctx, int argc, char **argv);
int cli_conf(struct cli_ctx *ctx, int argc, char **argv);
/* cli_user.c: the passwd-file and password hashes. */
int cli_user(struct cli_ctx *ctx, int argc, char **argv);
/* cli_map.c: postmap; cli_queue.c: postqueue and postsuper. */
int cli_map(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue(struct cli_ctx *ctx, int argc, char **argv);

/*
 * cli_load_config - read and validate DIR/main.cf; fatal on any error,
 * whose text names the file and line.  The caller frees the result.
 */
struct config *cli_load_config(const struct cli_ctx *ctx);
/* cli_load_mastercf - read and check DIR/master.cf; fatal on error. */
struct mastercf *cli_load_mastercf(const struct cli_ctx *ctx);
/* cli_path - "dir/name", newly allocated. */
char *cli_path(const char *dir, const char *name);

/*
 * cli_check_run - everything `facteur check` does with a loaded
 * configuration: creates the queue and data directories, warns about
 * what looks wrong.  Fatal on a problem that would stop the mail system
 * from running; returns otherwise.
 */
void cli_check_run(const struct cli_ctx *ctx, const struct config *cfg,
		   const struct mastercf *mcf);

/*
 * File helpers (cli_conf_edit.c).  cli_read_file() reads at most
 * CLI_FILE_MAX bytes of path into sb (reset first); a missing file reads
 * as empty when missing_ok.
 *
 * An edit replaces a file atomically, as Postfix's edit_file does:
 * cli_edit_open() creates and locks path.tmp in the same directory, so
 * that concurrent editors take turns (call it before reading the file, so
 * that no edit is lost); cli_edit_commit() writes the new text to it,
 * fsyncs it, renames it over path, fsyncs the directory, keeping the old
 * file's mode and owner; cli_edit_abort() removes it.  Commit and abort
 * close the edit.  The functions return 0, or -1 with *error_r set (valid
 * until the next call).
 */
#define CLI_FILE_MAX (16 * 1024 * 1024)
int cli_read_file(const char *path, struct strbuf *sb, bool missing_ok,
		  const char **error_r);

struct cli_edit {
	char *path;
	char *tmp;
	int fd;
};
int cli_edit_open(struct cli_edit *ed, const char *path, const char **error_r);
int cli_edit_commit(struct cli_edit *ed, const char *data, size_t len,
		    const char **error_r);
void cli_edit_abort(struct cli_edit *ed);

/* The blanks main.cf's and master.cf's parsers skip at line starts. */
static inline bool cli_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* Whether name has parameter-name syntax: [A-Za-z0-9_.-]+ */
bool cli_valid_param_name(const char *name);

/*
 * main.cf edits (cli_conf_edit.c), for `conf -e`, `-X` and `-#`.  Each
 * argument is "name=value" (CLI_EDIT_SET) or "name".  Returns the exit
 * status; fatal when the result would not load.
 */
enum cli_edit_mode {
	CLI_EDIT_SET,
	CLI_EDIT_REMOVE,
	CLI_EDIT_COMMENT,
};
int cli_conf_edit(const struct cli_ctx *ctx, enum cli_edit_mode mode, int argc,
		  char **argv);

/*
 * master.cf (cli_mastercf.c): `conf -M [name[/type]...]` shows entries;
 * with an edit mode, "name/type=entry" adds or replaces an entry and
 * "name/type" removes or comments one out.
 */
int cli_mastercf_show(const struct cli_ctx *ctx, int argc, char **argv);
int cli_mastercf_edit(const struct cli_ctx *ctx, enum cli_edit_mode mode,
		      int argc, char **argv);

/*
 * cli_log_action - report a significant action ("stopping the Facteur
 * mail system") on stderr and in the mail log.
 */
void cli_log_action(const struct config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
