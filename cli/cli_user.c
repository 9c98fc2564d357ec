/*
 * cli_user - `facteur user`: manage the passwd-file, hash passwords
 *
 * SYNOPSIS
 *	facteur user add NAME [-p PASSWORD] [-s SCHEME] [-u UID] [-g GID]
 *	    [-d HOME]
 *	facteur user passwd NAME [-p PASSWORD] [-s SCHEME]
 *	facteur user del NAME
 *	facteur user list
 *	facteur user hash [-p PASSWORD] [-s SCHEME]
 *
 * DESCRIPTION
 *	Edits the file named by auth_passwd_file (Dovecot's passwd-file
 *	format, see passwd_file.h).  add appends a line for NAME, or
 *	replaces the password (and the uid, gid, home given) of an existing
 *	NAME in place, keeping its other fields; passwd changes only the
 *	password; del removes the line.  Every other line (comments
 *	included) is kept byte for byte.  NAME's domain part is lowercased,
 *	as auth does when it looks users up.
 *
 *	Without -p the password is read from standard input: one line, or,
 *	on a terminal, typed twice without echo.  SCHEME defaults to
 *	SHA512-CRYPT.  hash prints "{SCHEME}hash", like doveadm pw.
 *
 *	Edits are atomic and serialized (cli_edit_open/commit: temporary
 *	file, fsync, rename), and the result must parse as a passwd-file
 *	before it replaces the old one.  A new file is made mode 0640 and,
 *	when root runs the command, group auth_owner's group (mail_owner's
 *	when auth_owner is empty) so that auth, the only process that
 *	reads it, can.  auth picks changes up without a restart.
 *
 * DIAGNOSTICS
 *	"facteur: fatal: ..." and exit 1 on a bad name, an unknown user
 *	(passwd, del), an unset auth_passwd_file or a failed write.
 *
 * SECURITY
 *	Passwords given with -p are visible in ps(1) output: prefer stdin.
 *	Password buffers are wiped after hashing.  The password never goes
 *	to the log.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "alloc.h"
#include "auth_client.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "passwd_file.h"
#include "password.h"
#include "priv.h"
#include "strbuf.h"

/* What the options of add/passwd/hash set. */
struct cli_user_opts {
	char *password; /* -p, copied so that it can be wiped */
	const char *scheme;
	const char *uid, *gid, *home;
};

/* cli_user_usage - print the synopsis and exit 1 */
static _Noreturn void cli_user_usage(void)
{
	fprintf(stderr,
		"usage: facteur user add NAME [-p PASSWORD] [-s SCHEME] "
		"[-u UID] [-g GID] [-d HOME]\n"
		"       facteur user passwd NAME [-p PASSWORD] [-s SCHEME]\n"
		"       facteur user del NAME\n"
		"       facteur user list\n"
		"       facteur user hash [-p PASSWORD] [-s SCHEME]\n");
	exit(1);
}

/* cli_user_field_ok - whether text fits in a passwd-file field */
static bool cli_user_field_ok(const char *text)
{
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':')
			return false;
	return true;
}

/* cli_user_wipe - wipe and free a password copy */
static void cli_user_wipe(char **pwp)
{
	if (*pwp == NULL)
		return;
	memzero_explicit(*pwp, strlen(*pwp));
	free(*pwp);
	*pwp = NULL;
}

/* cli_user_readline - one line from fp, without its end; NULL at EOF */
static char *cli_user_readline(FILE *fp)
{
	char buf[AUTH_PASSWORD_MAX + 2];
	size_t len;
	char *line;

	if (fgets(buf, sizeof(buf), fp) == NULL)
		return NULL;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && len == sizeof(buf) - 1) {
		memzero_explicit(buf, sizeof(buf));
		log_fatal("password too long (at most %d bytes)",
			  AUTH_PASSWORD_MAX);
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	line = xstrdup(buf);
	memzero_explicit(buf, sizeof(buf));
	return line;
}

/* cli_user_prompt - read a password on the terminal without echo */
static char *cli_user_prompt(const char *prompt)
{
	struct termios old, quiet;
	char *pw;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		log_fatal("tcgetattr: %m");
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	pw = cli_user_readline(stdin);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return pw;
}

/* cli_user_password - -p, or stdin (twice on a terminal) */
static char *cli_user_password(struct cli_user_opts *o)
{
	char *pw, *again;

	if (o->password != NULL) {
		pw = o->password;
		o->password = NULL;
	} else if (isatty(STDIN_FILENO)) {
		pw = cli_user_prompt("Enter new password: ");
		again = cli_user_prompt("Retype new password: ");
		if (pw == NULL || again == NULL || strcmp(pw, again) != 0) {
			cli_user_wipe(&pw);
			cli_user_wipe(&again);
			log_fatal("passwords do not match");
		}
		cli_user_wipe(&again);
	} else {
		pw = cli_user_readline(stdin);
	}
	if (pw == NULL || pw[0] == '\0') {
		cli_user_wipe(&pw);
		log_fatal("empty password");
	}
	return pw;
}

/* cli_user_hash_new - read the password and hash it; caller frees */
static char *cli_user_hash_new(struct cli_user_opts *o)
{
	char *pw = cli_user_password(o);
	const char *error;
	char *hash = password_hash(o->scheme, pw, &error);

	cli_user_wipe(&pw);
	if (hash == NULL)
		log_fatal("%s: %s", o->scheme, error);
	return hash;
}

/* cli_user_opts_parse - options after the subcommand (and NAME) */
static void cli_user_opts_parse(int argc, char **argv, const char *allowed,
				struct cli_user_opts *o)
{
	int ch;

	o->scheme = PASSWORD_DEFAULT_SCHEME;
	optind = 0;
	while ((ch = getopt(argc, argv, allowed)) != -1) {
		switch (ch) {
		case 'p':
			cli_user_wipe(&o->password);
			o->password = xstrdup(optarg);
			break;
		case 's':
			o->scheme = optarg;
			break;
		case 'u':
			o->uid = optarg;
			break;
		case 'g':
			o->gid = optarg;
			break;
		case 'd':
			o->home = optarg;
			break;
		default:
			cli_user_usage();
		}
	}
	if (optind != argc)
		cli_user_usage();
	if ((o->uid && !cli_user_field_ok(o->uid)) ||
	    (o->gid && !cli_user_field_ok(o->gid)) ||
	    (o->home && !cli_user_field_ok(o->home)))
		log_fatal("uid, gid and home must not contain ':' or control "
			  "characters");
}

/* cli_user_file - the passwd-file path from main.cf; fatal when unset */
static char *cli_user_file(const struct cli_ctx *ctx, char **owner_r)
{
	struct config *cfg = cli_load_config(ctx);
	const char *path = config_str(cfg, "auth_passwd_file");
	char *copy;

	if (path[0] == '\0')
		log_fatal("auth_passwd_file is not set in %s/main.cf",
			  ctx->config_dir);
	copy = xstrdup(path);
	/* auth reads the file: as auth_owner when set, else mail_owner. */
	if (owner_r != NULL)
		*owner_r = xstrdup(config_str(cfg, "auth_owner")[0] != '\0'
					   ? config_str(cfg, "auth_owner")
					   : config_str(cfg, "mail_owner"));
	config_free(&cfg);
	return copy;
}

/* cli_user_name - NAME checked and made canonical; caller frees */
static char *cli_user_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) > AUTH_USER_MAX ||
	    !cli_user_field_ok(name) || strchr(name, ' ') != NULL ||
	    name[0] == '#')
		log_fatal("bad user name: %s", name);
	return passwd_file_canon_user(name);
}

/*
 * cli_user_line_is - whether line (len bytes, no terminator) defines
 * user, canonical form compared.
 */
static bool cli_user_line_is(const char *line, size_t len, const char *user)
{
	const char *colon = memchr(line, ':', len);
	size_t ulen = colon != NULL ? (size_t)(colon - line) : len;
	char *name, *canon;
	bool same;

	if (ulen > 0 && colon == NULL && line[ulen - 1] == '\r')
		ulen--;
	name = xstrndup(line, ulen);
	canon = passwd_file_canon_user(name);
	same = strcmp(canon, user) == 0;
	free(name);
	free(canon);
	return same;
}

/* cli_user_set_field - replace field i (0-based) of a split line */
static void cli_user_fields_set(char **fields, size_t *n, size_t i,
				const char *value)
{
	while (*n <= i)
		fields[(*n)++] = xstrdup("");
	free(fields[i]);
	fields[i] = xstrdup(value);
}

/*
 * cli_user_rewrite - the new line for user: the old line's fields (or
 * none) with hash, uid, gid, home replaced when given.
 */
static void cli_user_rewrite(struct strbuf *out, const char *old, size_t oldlen,
			     const char *user, const char *hash,
			     const struct cli_user_opts *o)
{
	char *fields[8];
	size_t n = 0;
	bool crlf = oldlen > 0 && old != NULL && old[oldlen - 1] == '\r';

	if (crlf)
		oldlen--;
	if (old != NULL) {
		const char *p = old, *end = old + oldlen;

		/* Seven colons split; the eighth field keeps the rest. */
		while (n < 8) {
			const char *c =
				n < 7 ? memchr(p, ':', (size_t)(end - p))
				      : NULL;

			if (c == NULL) {
				fields[n++] = xstrndup(p, (size_t)(end - p));
				break;
			}
			fields[n++] = xstrndup(p, (size_t)(c - p));
			p = c + 1;
		}
	}
	cli_user_fields_set(fields, &n, 0, user);
	if (hash != NULL)
		cli_user_fields_set(fields, &n, 1, hash);
	if (o->uid != NULL)
		cli_user_fields_set(fields, &n, 2, o->uid);
	if (o->gid != NULL)
		cli_user_fields_set(fields, &n, 3, o->gid);
	if (o->home != NULL)
		cli_user_fields_set(fields, &n, 5, o->home);
	/* Dovecot's usual shape: "user:pass:uid:gid:gecos:home:shell:". */
	if (old == NULL)
		cli_user_fields_set(fields, &n, 7, "");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strbuf_append_char(out, ':');
		strbuf_append_str(out, fields[i]);
		memzero_explicit(fields[i], strlen(fields[i]));
		free(fields[i]);
	}
	strbuf_append_str(out, crlf ? "\r\n" : "\n");
}

enum cli_user_edit {
	CLI_USER_ADD,
	CLI_USER_PASSWD,
	CLI_USER_DEL,
};

/* cli_user_edit - apply one edit to the passwd-file, atomically */
static int cli_user_edit(const struct cli_ctx *ctx, enum cli_user_edit op,
			 const char *name, struct cli_user_opts *o)
{
	char *owner = NULL;
	char *path = cli_user_file(ctx, &owner);
	char *user = cli_user_name(name);
	char *hash = NULL;
	struct cli_edit ed;
	struct strbuf in, out;
	struct passwd_file *check;
	struct stat st;
	const char *error;
	bool found = false, exists;
	size_t pos = 0;

	/* Hash first: a prompt must not hold the edit lock. */
	if (op != CLI_USER_DEL)
		hash = cli_user_hash_new(o);

	if (cli_edit_open(&ed, path, &error) < 0)
		log_fatal("%s", error);
	strbuf_init(&in, CLI_FILE_MAX);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	exists = stat(path, &st) == 0;
	if (cli_read_file(path, &in, true, &error) < 0) {
		cli_edit_abort(&ed);
		log_fatal("%s", error);
	}
	while (pos < in.len) {
		const char *line = in.data + pos;
		const char *nl = memchr(line, '\n', in.len - pos);
		size_t len = nl != NULL ? (size_t)(nl - line) : in.len - pos;

		pos += len + (nl != NULL ? 1 : 0);
		if (!found && cli_user_line_is(line, len, user)) {
			found = true;
			if (op != CLI_USER_DEL)
				cli_user_rewrite(&out, line, len, user, hash,
						 o);
			continue;
		}
		strbuf_append(&out, line, len);
		strbuf_append_char(&out, '\n');
	}
	if (!found && op != CLI_USER_ADD) {
		cli_edit_abort(&ed);
		log_fatal("%s: no such user: %s", path, user);
	}
	if (!found)
		cli_user_rewrite(&out, NULL, 0, user, hash, o);

	/* Never install a file that auth would refuse. */
	if ((check = passwd_file_parse(path, out.data, out.len, &error)) ==
	    NULL) {
		cli_edit_abort(&ed);
		log_fatal("refusing the edit: %s", error);
	}
	passwd_file_free(&check);

	if (!exists) {
		uid_t uid;
		gid_t gid;

		/* Hashes: not for everyone; readable by auth. */
		if (fchmod(ed.fd, 0640) < 0)
			log_fatal("chmod %s: %m", ed.tmp);
		if (geteuid() == 0 &&
		    priv_lookup(owner, &uid, &gid, &error) == 0 &&
		    fchown(ed.fd, 0, gid) < 0)
			log_fatal("chown %s: %m", ed.tmp);
	}
	if (cli_edit_commit(&ed, out.data, out.len, &error) < 0)
		log_fatal("%s", error);

	memzero_explicit(in.data, in.len);
	memzero_explicit(out.data, out.len);
	strbuf_release(&in);
	strbuf_release(&out);
	free(hash);
	free(user);
	free(path);
	free(owner);
	return 0;
}

/* cli_user_list - print each user name, in file order */
static int cli_user_list(const struct cli_ctx *ctx)
{
	char *path = cli_user_file(ctx, NULL);
	struct passwd_file *pf;
	const char *error;

	if ((pf = passwd_file_open(path, &error)) == NULL)
		log_fatal("%s", error);
	for (size_t i = 0; i < passwd_file_count(pf); i++)
		printf("%s\n", passwd_file_entry(pf, i)->user);
	passwd_file_free(&pf);
	free(path);
	return 0;
}

/* cli_user - dispatch `facteur user SUBCOMMAND` */
int cli_user(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_user_opts o = {0};
	const char *sub;
	int ret;

	if (argc < 2)
		cli_user_usage();
	sub = argv[1];
	if (strcmp(sub, "hash") == 0) {
		char *hash;

		cli_user_opts_parse(argc - 1, argv + 1, "+p:s:", &o);
		hash = cli_user_hash_new(&o);
		printf("%s\n", hash);
		free(hash);
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		if (argc != 2)
			cli_user_usage();
		return cli_user_list(ctx);
	}
	if (argc < 3 || argv[2][0] == '-')
		cli_user_usage();
	if (strcmp(sub, "add") == 0) {
		cli_user_opts_parse(argc - 2, argv + 2, "+p:s:u:g:d:", &o);
		ret = cli_user_edit(ctx, CLI_USER_ADD, argv[2], &o);
	} else if (strcmp(sub, "passwd") == 0) {
		cli_user_opts_parse(argc - 2, argv + 2, "+p:s:", &o);
		ret = cli_user_edit(ctx, CLI_USER_PASSWD, argv[2], &o);
	} else if (strcmp(sub, "del") == 0) {
		cli_user_opts_parse(argc - 2, argv + 2, "+", &o);
		ret = cli_user_edit(ctx, CLI_USER_DEL, argv[2], &o);
	} else {
		cli_user_usage();
	}
	cli_user_wipe(&o.password);
	return ret;
}
