/*
 * mail_user - where a user's mail lives and who owns it
 *
 * One answer for local delivery, imapd and pop3d (issue 5: "users and
 * mailboxes come from the same sources as delivery"), in this order:
 *
 *   - an auth_passwd_file entry (name canonicalised as auth does:
 *     auth_default_realm appended to a name without '@'): its home +
 *     "/Maildir/" when it has a home (Dovecot's maildir:~/Maildir), else
 *     the virtual_mailbox_maps entry for the address (relative to
 *     virtual_mailbox_base), else virtual_mailbox_base/DOMAIN/USER/;
 *     owner: the entry's uid/gid, else virtual_uid_maps/virtual_gid_maps;
 *   - a system account (getpwnam of a name without '@', or of the local
 *     part when the domain is in mydestination): home + home_mailbox;
 *     owner: the account.
 */
#ifndef FACTEUR_MAIL_USER_H
#define FACTEUR_MAIL_USER_H

#include <sys/types.h>

struct config;

struct mail_user {
	char *name;    /* canonical login name (user@domain or user) */
	char *maildir; /* the Maildir root (INBOX), ends in '/' */
	char *home;    /* may be NULL for virtual users without one */
	uid_t uid;     /* mailbox owner; (uid_t)-1 when none is known */
	gid_t gid;
	int is_system; /* 1: a system account (uid switch per user) */
};

/*
 * mail_user_lookup - fill user for name.  Returns 1 found, 0 unknown,
 * -1 temporary failure (a table or file could not be read) with
 * *error_r (static until the next call).
 */
int mail_user_lookup(const struct config *cfg, const char *name,
		     struct mail_user *user, const char **error_r);
void mail_user_clear(struct mail_user *user);

#endif
