/*
 * facteur - the Facteur administration command
 *
 * SYNOPSIS
 *	facteur [-v] [-c config_dir] command [arguments...]
 *
 * DESCRIPTION
 *	One command for what postfix(1) and postconf(1) do for Postfix:
 *	start, stop, reload, status and check the mail system, and query or
 *	edit main.cf and master.cf (`facteur conf`).  This file parses the
 *	global options and dispatches through a table of subcommands; each
 *	subcommand lives in its own cli_*.c file (STYLE.md §3).  The shared
 *	loaders below make every subcommand report a configuration error the
 *	same way: "facteur: fatal: FILE:LINE: what is wrong".
 *
 *	Messages for the user go to stderr as "facteur: text", like
 *	"postfix: fatal: ..."; results (conf output) go to stdout.
 *
 * DIAGNOSTICS
 *	Exit status 0 on success, 1 on any error (and on a usage error), as
 *	postfix(1) and postconf(1).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "mastercf.h"
#include "params.h"

static const struct {
	const char *name;
	cli_cmd_fn *fn;
	const char *usage;
} commands[] = {
	{"check", cli_check, "check"},
	{"conf", cli_conf, "conf [-dhnx] [name...] | -e|-X|-# ... | -M ..."},
	{"map", cli_map, "map [-af] [-q key] type:file..."},
	{"queue", cli_queue, "queue -p | -j | -f | -s id | -d|-h|-H|-r id|ALL"},
	{"reload", cli_reload, "reload"},
	{"start", cli_start, "start"},
	{"status", cli_status, "status"},
	{"stop", cli_stop, "stop"},
	{"user", cli_user, "user add|passwd|del|list|hash ..."},
};

/* usage - print the synopsis and exit 1 */
static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: facteur [-v] [-c config_dir] command [args]\n"
			"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "    facteur %s\n", commands[i].usage);
	exit(1);
}

/* cli_path - join a directory and a file name */
char *cli_path(const char *dir, const char *name)
{
	size_t len = strlen(dir);

	/* "/etc/facteur/" + "main.cf" should not give a double slash. */
	if (len > 1 && dir[len - 1] == '/')
		return xasprintf("%.*s/%s", (int)(len - 1), dir, name);
	return xasprintf("%s/%s", dir, name);
}

/*
 * cli_valid_param_name - parameter-name syntax, as main.cf accepts it:
 * $name's characters, plus '-' and '.' for names made after master.cf
 * services ("smtp-amavis_destination_recipient_limit").
 */
bool cli_valid_param_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '.'))
			return false;
	return true;
}

/* cli_load_config - main.cf, validated; fatal with FILE:LINE on error */
struct config *cli_load_config(const struct cli_ctx *ctx)
{
	struct config *cfg = config_create(ctx->config_dir);
	const char *error;

	if (config_load(cfg, &error) < 0)
		log_fatal("%s", error);
	return cfg;
}

/* cli_load_mastercf - master.cf, parsed; fatal with FILE:LINE on error */
struct mastercf *cli_load_mastercf(const struct cli_ctx *ctx)
{
	char *path = cli_path(ctx->config_dir, "master.cf");
	struct mastercf *mcf;
	const char *error;

	if ((mcf = mastercf_load(path, &error)) == NULL)
		log_fatal("%s", error);
	free(path);
	return mcf;
}

/* main - global options, then the subcommand */
int main(int argc, char **argv)
{
	struct cli_ctx ctx = {.config_dir = FACTEUR_CONFIG_DIR};
	int ch;

	log_init("facteur");
	log_to_stderr(false);

	/*
	 * "+": stop at the command name, whose own options (conf -n) are
	 * parsed by the subcommand.
	 */
	while ((ch = getopt(argc, argv, "+c:v")) != -1) {
		switch (ch) {
		case 'c':
			ctx.config_dir = optarg;
			break;
		case 'v':
			ctx.verbose = true;
			log_set_verbose(true);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (ctx.config_dir[0] == '\0')
		log_fatal("-c requires a directory name");

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			/*
			 * Each subcommand parses its options from scratch:
			 * optind 0 makes glibc (and musl) reset getopt.
			 */
			optind = 0;
			return commands[i].fn(&ctx, sub_argc, sub_argv);
		}
	}
	log_error("unknown command: %s", argv[optind]);
	usage();
}
