/*
 * mailecho_user - a stand-in mail_user_lookup() for mailecho only
 *
 * TEMPORARY: lib/store/mail_user.c (the real lookup, another change) is
 * not in the tree yet.  This covers what test_imap_login.py needs:
 * auth_passwd_file entries, maildir = home + "/Maildir/", owner = the
 * entry's uid/gid.  Linked into the test program mailecho only, never
 * into a product program; remove it once lib/store has the real one.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "mail_user.h"
#include "passwd_file.h"

/* mail_user_lookup - the passwd-file entry of name */
int mail_user_lookup(const struct config *cfg, const char *name,
		     struct mail_user *user, const char **error_r)
{
	const char *path = config_str(cfg, "auth_passwd_file");
	const struct passwd_entry *e;
	struct passwd_file *pf;

	memset(user, 0, sizeof(*user));
	if (*path == '\0')
		return 0;
	if ((pf = passwd_file_open(path, error_r)) == NULL)
		return -1;
	if ((e = passwd_file_lookup(pf, name)) == NULL || *e->home == '\0') {
		passwd_file_free(&pf);
		return 0;
	}
	user->name = xstrdup(e->user);
	user->home = xstrdup(e->home);
	user->maildir = xasprintf("%s/Maildir/", e->home);
	user->uid = e->has_uid ? e->uid : (uid_t)-1;
	user->gid = e->has_gid ? e->gid : (gid_t)-1;
	passwd_file_free(&pf);
	return 1;
}

/* mail_user_clear - free what lookup filled in */
void mail_user_clear(struct mail_user *user)
{
	free(user->name);
	free(user->maildir);
	free(user->home);
	memset(user, 0, sizeof(*user));
}
