/*
 * passwd_file - Dovecot-compatible passwd-file user database
 *
 * One user per line, colon-separated, as Dovecot's passwd-file driver:
 *
 *	user:{SCHEME}hash:uid:gid:gecos:home:shell:extra
 *
 * Only user is required; empty fields are allowed ("user:{PLAIN}x:::::");
 * '#' lines and blank lines are ignored.  user is "name@domain" for a
 * virtual user (or a bare name).  uid/gid are numbers or account names.
 * The file is named by the auth_passwd_file parameter and read by auth
 * (passwords) and by delivery (which virtual users exist, their home and
 * uid/gid).  Whole files are loaded in memory and re-read when their
 * mtime or size changes (passwd_file_refresh), as Dovecot does.
 *
 * The parser does no I/O (passwd_file_parse works on a buffer); errors are
 * "FILE:LINE: message".
 */
#ifndef FACTEUR_PASSWD_FILE_H
#define FACTEUR_PASSWD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct passwd_entry {
	char *user;	/* lowercased when it has a domain part */
	char *password; /* "{SCHEME}..." as written, "" when none */
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	char *home;  /* "" when none */
	char *extra; /* the rest of the line after shell, "" when none */
	int line;
};

struct passwd_file;

/* Longest line accepted (terminator excluded) and largest file. */
#define PASSWD_FILE_LINE_MAX 8192
#define PASSWD_FILE_SIZE_MAX (64 * 1024 * 1024)

struct passwd_file *passwd_file_open(const char *path, const char **error_r);
struct passwd_file *passwd_file_parse(const char *name, const char *text,
				      size_t len, const char **error_r);
/* Re-read when the file changed; -1 keeps the old contents (error_r). */
int passwd_file_refresh(struct passwd_file *pf, const char **error_r);
/* Exact match on user (callers lowercase the domain part). */
const struct passwd_entry *passwd_file_lookup(const struct passwd_file *pf,
					      const char *user);
size_t passwd_file_count(const struct passwd_file *pf);
/* The i-th user in file order (i < count), duplicates left out. */
const struct passwd_entry *passwd_file_entry(const struct passwd_file *pf,
					     size_t i);
/* user with the part after its last '@' lowercased (caller frees). */
char *passwd_file_canon_user(const char *user);
void passwd_file_free(struct passwd_file **pfp);

#endif
