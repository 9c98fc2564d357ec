/*
 * cli_check - `facteur check`: validate the configuration, make the queue
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_check(ctx, argc, argv)
 *	void cli_check_run(ctx, cfg, mcf)
 *
 * DESCRIPTION
 *	Like `postfix check`: load main.cf and master.cf, create what is
 *	missing of queue_directory, its subdirectories and data_directory,
 *	and warn about what would make a service fail later.  Silent and
 *	exit status 0 when all is well.  `facteur start` runs the same code
 *	first, so that a broken configuration is reported on the terminal
 *	rather than in the log of a daemon that did not start.
 *
 *	Ownership and modes, when run as root: queue_directory is root's,
 *	mode 0755, so that mail_owner cannot replace it; everything below it
 *	and data_directory belong to mail_owner, mode 0700, except two
 *	directories that local users reach through the setgid_group, as with
 *	Postfix's postdrop: maildrop/ (mode 1730, group setgid_group: the
 *	set-gid sendmail drops files there but cannot list or remove others')
 *	and public/ (0710, group setgid_group: sockets reached by name).
 *	Without that group (a warning), they are 0700 and 0711 and only
 *	root and mail_owner can submit mail locally.  When run as another user, the whole instance belongs to that
 *	user: that is how tests and private instances run.  Modes are set
 *	with chmod(2) after mkdir(2), so the umask does not weaken them.
 *	Existing directories are left as they are; wrong owners and group or
 *	world write permission draw warnings.
 *
 * DIAGNOSTICS
 *	Fatal: a configuration error (with FILE:LINE), mail_owner (or,
 *	with auth_passwd_file, a non-empty auth_owner) missing when run as
 *	root, a directory that cannot be created or is not a
 *	directory.  Warnings: unreadable TLS certificate or key files, a
 *	master.cf command that is missing or not executable, suspicious
 *	ownership or modes of existing directories, and, with
 *	auth_passwd_file, a master.cf without the userdb service or (as
 *	root) a password file that mail_owner can read.
 *
 * SECURITY
 *	The queue holds mail: its directories must not be writable by
 *	anyone but mail_owner.  check never loosens an existing mode.
 */
#include "autoconf.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "mastercf.h"

/* The queue's subdirectories and their modes (DESIGN.md §3-4). */
static const struct {
	const char *name;
	mode_t mode;
	mode_t drop_mode; /* with the setgid_group (root only), else 0 */
} queue_dirs[] = {
	{"private", 0700, 0},	   {"public", 0711, 0710},
	{"maildrop", 0700, 01730}, {"incoming", 0700, 0},
	{"active", 0700, 0},	   {"deferred", 0700, 0},
	{"hold", 0700, 0},	   {"corrupt", 0700, 0},
	{"bounce", 0700, 0},	   {"defer", 0700, 0},
};

/* Who owns what check creates. */
struct owner {
	bool root;
	const char *user;
	uid_t uid;
	gid_t gid;
};

/* param - a parameter's expanded value, "" when unknown or unset */
static const char *param(const struct config *cfg, const char *name)
{
	const char *value = config_expanded(cfg, name);

	return value != NULL ? value : "";
}

/* make_dir - create path with mode and owner unless it exists */
static void make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid,
		     const struct owner *own)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			log_fatal("%s: not a directory", path);
		if (own->root && st.st_uid != uid)
			log_warn("%s: owned by uid %ld, expected uid %ld", path,
				 (long)st.st_uid, (long)uid);
		if (st.st_mode & 022 & ~mode)
			log_warn("%s: group or world writable (mode %04o)",
				 path, (unsigned)(st.st_mode & 07777));
		return;
	}
	if (errno != ENOENT)
		log_fatal("stat %s: %m", path);
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		log_fatal("create directory %s: %m", path);
	/* mkdir(2) applied the umask; say exactly what we mean. */
	if (chmod(path, mode) < 0)
		log_fatal("chmod %s: %m", path);
	if (own->root && chown(path, uid, gid) < 0)
		log_fatal("chown %s: %m", path);
}

/* find_owner - mail_owner when root, else the invoking user */
static void find_owner(const struct config *cfg, struct owner *own)
{
	own->root = geteuid() == 0;
	own->user = param(cfg, "mail_owner");
	if (!own->root) {
		own->uid = geteuid();
		own->gid = getegid();
		return;
	}
	if (own->user[0] == '\0')
		log_fatal("mail_owner is empty");
	{
		struct passwd *pw = getpwnam(own->user);

		if (pw == NULL)
			log_fatal("mail_owner: user \"%s\" does not exist: "
				  "create it, or set mail_owner",
				  own->user);
		if (pw->pw_uid == 0)
			log_fatal("mail_owner: user \"%s\" has uid 0: it must "
				  "be an unprivileged user",
				  own->user);
		own->uid = pw->pw_uid;
		own->gid = pw->pw_gid;
	}
}

/* drop_group - the setgid_group's gid, or false with a warning */
static bool drop_group(const struct config *cfg, const struct owner *own,
		       gid_t *gid_r)
{
	const char *group = param(cfg, "setgid_group");
	struct group *gr = group[0] != '\0' ? getgrnam(group) : NULL;

	if (gr == NULL) {
		log_warn("setgid_group: group \"%s\" does not exist: only root "
			 "and %s can submit mail with sendmail",
			 group, own->user);
		return false;
	}
	*gid_r = gr->gr_gid;
	return true;
}

/* check_readable - warn when a configured file cannot be read */
static void check_readable(const struct config *cfg, const char *name)
{
	const char *path = param(cfg, name);

	if (path[0] != '\0' && access(path, R_OK) < 0)
		log_warn("%s: cannot read %s: %m", name, path);
}

/* check_commands - warn about master.cf commands that cannot run */
static void check_commands(const struct config *cfg, const struct mastercf *mcf)
{
	const char *daemon_dir = param(cfg, "daemon_directory");

	for (size_t i = 0; i < mcf->count; i++) {
		const struct mastercf_entry *e = &mcf->entries[i];
		const char *cmd = e->argv[0];
		/* Like Postfix: a relative command lives in daemon_directory. */
		char *path = cmd[0] == '/' ? xstrdup(cmd)
					   : cli_path(daemon_dir, cmd);
		struct stat st;

		if (stat(path, &st) < 0)
			log_warn("%s:%d: service %s/%s: command %s: %m",
				 mcf->filename, e->line, e->name,
				 mastercf_type_name(e->type), path);
		else if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
			log_warn("%s:%d: service %s/%s: command %s is not "
				 "an executable file",
				 mcf->filename, e->line, e->name,
				 mastercf_type_name(e->type), path);
		free(path);
	}
}

/* check_auth_secrets - only auth reads auth_passwd_file (DESIGN.md §2) */
static void check_auth_secrets(const struct config *cfg,
			       const struct mastercf *mcf,
			       const struct owner *own)
{
	const char *path = param(cfg, "auth_passwd_file");
	const char *auth_owner = param(cfg, "auth_owner");
	bool have_userdb = false;
	struct stat st;

	if (path[0] == '\0')
		return;
	for (size_t i = 0; i < mcf->count; i++)
		if (mcf->entries[i].type == MASTERCF_UNIX &&
		    strcmp(mcf->entries[i].name, "userdb") == 0)
			have_userdb = true;
	if (!have_userdb)
		log_warn("%s: no userdb service: user lookups of smtpd, local "
			 "and the imapd/pop3d dispatchers go to private/auth "
			 "and wait behind password checks (add \"userdb unix "
			 "- - n - - auth\")",
			 mcf->filename);
	if (!own->root)
		return;
	/* auth would exit at once: say it here, as for mail_owner. */
	if (auth_owner[0] != '\0' && getpwnam(auth_owner) == NULL)
		log_fatal("auth_owner: user \"%s\" does not exist: create it, "
			  "or set auth_owner",
			  auth_owner);
	if (stat(path, &st) < 0)
		return;
	if (auth_owner[0] == '\0' || strcmp(auth_owner, own->user) == 0) {
		log_warn("auth_owner is %s: auth runs as mail_owner %s, so "
			 "smtpd's uid can read the hashes in %s",
			 auth_owner[0] ? "mail_owner" : "empty", own->user,
			 path);
		return;
	}
	if (st.st_mode & 004)
		log_warn("%s: readable by every user (mode %04o): only "
			 "auth_owner %s should read it",
			 path, (unsigned)(st.st_mode & 07777), auth_owner);
	else if (st.st_uid == own->uid ||
		 (st.st_gid == own->gid && (st.st_mode & 040)))
		log_warn("%s: readable by mail_owner %s: only auth_owner %s "
			 "should read it",
			 path, own->user, auth_owner);
}

/* cli_check_run - directories and warnings for a loaded configuration */
void cli_check_run(const struct cli_ctx *ctx, const struct config *cfg,
		   const struct mastercf *mcf)
{
	const char *queue = param(cfg, "queue_directory");
	const char *data = param(cfg, "data_directory");
	struct owner own;
	bool have_drop;
	gid_t drop_gid = 0;

	(void)ctx;
	if (queue[0] != '/')
		log_fatal("queue_directory must be an absolute path: \"%s\"",
			  queue);
	if (data[0] != '/')
		log_fatal("data_directory must be an absolute path: \"%s\"",
			  data);
	find_owner(cfg, &own);

	/* root keeps queue_directory itself: mail_owner must not move it. */
	make_dir(queue, 0755, own.root ? 0 : own.uid, own.root ? 0 : own.gid,
		 &own);
	have_drop = own.root && drop_group(cfg, &own, &drop_gid);
	for (size_t i = 0; i < sizeof(queue_dirs) / sizeof(queue_dirs[0]);
	     i++) {
		char *path = cli_path(queue, queue_dirs[i].name);

		if (have_drop && queue_dirs[i].drop_mode != 0)
			make_dir(path, queue_dirs[i].drop_mode, own.uid,
				 drop_gid, &own);
		else
			make_dir(path, queue_dirs[i].mode, own.uid, own.gid,
				 &own);
		free(path);
	}
	make_dir(data, 0700, own.uid, own.gid, &own);

	check_readable(cfg, "smtpd_tls_cert_file");
	check_readable(cfg, "smtpd_tls_key_file");
	check_commands(cfg, mcf);
	check_auth_secrets(cfg, mcf, &own);
}

/* cli_check - the `check` subcommand */
int cli_check(struct cli_ctx *ctx, int argc, char **argv)
{
	struct config *cfg;
	struct mastercf *mcf;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: facteur check\n");
		return 1;
	}
	cfg = cli_load_config(ctx);
	mcf = cli_load_mastercf(ctx);
	cli_check_run(ctx, cfg, mcf);
	mastercf_free(&mcf);
	config_free(&cfg);
	return 0;
}
