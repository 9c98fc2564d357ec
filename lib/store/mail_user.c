/*
 * mail_user - where a user's mail lives and who owns it
 *
 * SYNOPSIS
 *	#include "mail_user.h"
 *
 * DESCRIPTION
 *	The same answers as local delivery (local/local_deliver.c), so
 *	that imapd and pop3d read the Maildir local writes:
 *
 *	  - the name is made canonical as auth does: a name without '@'
 *	    is first tried as NAME@auth_default_realm (when that is
 *	    set), then as itself (auth hands a system account over bare);
 *	    the domain is lowercased;
 *	  - a name without a domain, or whose domain is in mydestination
 *	    (LOCAL): the system account of the lowercased local part
 *	    (home + home_mailbox, owned by the account); else the
 *	    auth_passwd_file entry with a home (home + home_mailbox);
 *	  - any other domain (VIRTUAL): the auth_passwd_file entry:
 *	    home + "/Maildir/" when it has a home, else the
 *	    virtual_mailbox_maps value (address, then "@domain"; a
 *	    relative path ending in '/', under virtual_mailbox_base),
 *	    else virtual_mailbox_base/DOMAIN/USER/.
 *	The owner of a passwd-file user is the entry's uid/gid, else
 *	virtual_uid_maps/virtual_gid_maps ("static:ID" or a table keyed
 *	by the address; a number or an account name), else unknown.
 *
 *	auth_passwd_file entries are asked of auth's userdb service over
 *	one kept connection (userdb_client.h): the dispatcher runs as
 *	root, yet never opens the file that holds the hashes.  Tables are
 *	opened once per process and kept (reopened when rebuilt:
 *	maps_list.h).
 *
 * DIAGNOSTICS
 *	-1 with *error_r for a file or table that cannot be read, a user
 *	without a home, a table value that is not a safe relative path, a
 *	missing virtual_mailbox_base.
 */
#include "autoconf.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "mail_user.h"
#include "mailbox_private.h"
#include "maps_list.h"
#include "passwd_file.h"
#include "userdb_client.h"
#include "strbuf.h"
#include "strnum.h"

/* Tables and files, kept for the process; rebuilt when a spec changes. */
struct cached_maps {
	char *spec;
	struct maps_list *maps;
};

static struct userdb_client *cached_userdb;
static char *cached_queue_dir;
static struct cached_maps mailbox_maps, uid_maps, gid_maps;

/* maps_for - the list for a parameter's value (one table or a list) */
static struct maps_list *maps_for(struct cached_maps *c, const char *param,
				  const struct config *cfg, bool single)
{
	const char *value = config_str(cfg, param);

	if (c->spec != NULL && strcmp(c->spec, value) == 0)
		return c->maps;
	maps_list_free(&c->maps);
	free(c->spec);
	c->spec = xstrdup(value);
	if (single) {
		c->maps = maps_list_create(param, &value, 1, 0);
	} else {
		size_t count;
		const char *const *specs = config_list(cfg, param, &count);

		c->maps = maps_list_create(param, specs, count, 0);
	}
	return c->maps;
}

/*
 * passwd_entry - the auth_passwd_file entry for user, asked of auth's
 * userdb service (only auth reads the file); -1 when it cannot answer.
 * *pe_r is a loan until the next call.
 */
static int passwd_entry(const struct config *cfg, const char *user,
			const struct userdb_entry **pe_r, const char **error_r)
{
	const char *queue_dir = config_str(cfg, "queue_directory");
	const char *error;

	*pe_r = NULL;
	if (config_str(cfg, "auth_passwd_file")[0] == '\0')
		return 0;
	if (cached_userdb != NULL && strcmp(cached_queue_dir, queue_dir) != 0) {
		userdb_client_free(&cached_userdb);
		free(cached_queue_dir);
		cached_queue_dir = NULL;
	}
	if (cached_userdb == NULL) {
		cached_userdb = userdb_client_create(queue_dir);
		cached_queue_dir = xstrdup(queue_dir);
	}
	if (userdb_client_lookup(cached_userdb, user, pe_r, &error) < 0) {
		*error_r = mbx_error("auth_passwd_file: %s", error);
		return -1;
	}
	return 0;
}

/*
 * virtual_id - virtual_uid_maps / virtual_gid_maps for address: 1 found,
 * 0 not, -1 error
 */
static int virtual_id(const struct config *cfg, const char *param,
		      struct cached_maps *cache, const char *address,
		      bool group, unsigned long *id_r, const char **error_r)
{
	const char *spec = config_str(cfg, param);
	const char *value, *error;
	unsigned int num;
	int r;

	if (spec[0] == '\0')
		return 0;
	if (strncmp(spec, "static:", 7) == 0) {
		value = spec + 7;
	} else if ((r = maps_list_find(maps_for(cache, param, cfg, true),
				       address, &value, &error)) <= 0) {
		if (r < 0)
			*error_r = mbx_error("%s", error);
		return r;
	}
	if (str_to_uint(value, &num) == 0) {
		*id_r = num;
		return 1;
	}
	if (group) {
		struct group *gr = getgrnam(value);

		if (gr != NULL) {
			*id_r = gr->gr_gid;
			return 1;
		}
	} else {
		struct passwd *pw = getpwnam(value);

		if (pw != NULL) {
			*id_r = pw->pw_uid;
			return 1;
		}
	}
	*error_r = mbx_error("%s: unknown %s \"%s\"", param,
			     group ? "group" : "user", value);
	return -1;
}

/* safe_relative - a table's path: relative, no "..", no empty part */
static bool safe_relative(const char *path)
{
	if (path[0] == '/' || path[0] == '\0')
		return false;
	for (const char *p = path; *p != '\0'; p++)
		if (p[0] == '.' && p[1] == '.' && (p == path || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == 0))
			return false;
	return true;
}

/* in_mydestination - whether domain (lowercase) is a LOCAL domain */
static bool in_mydestination(const struct config *cfg, const char *domain)
{
	size_t count, dlen = strlen(domain);
	const char *const *items = config_list(cfg, "mydestination", &count);

	if (dlen > 1 && domain[dlen - 1] == '.')
		dlen--;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(items[i]);

		if (len > 1 && items[i][len - 1] == '.')
			len--;
		if (len == dlen && strncasecmp(items[i], domain, len) == 0)
			return true;
	}
	return false;
}

/* with_slash - path + "/" unless it ends in one (malloc'd) */
static char *with_slash(char *path)
{
	size_t len = strlen(path);
	char *out;

	if (len > 0 && path[len - 1] == '/')
		return path;
	out = xasprintf("%s/", path);
	free(path);
	return out;
}

/* owner - uid/gid of a passwd-file user */
static int owner(const struct config *cfg, const struct userdb_entry *pe,
		 const char *address, struct mail_user *user,
		 const char **error_r)
{
	unsigned long id;
	int r;

	if (pe->has_uid) {
		user->uid = pe->uid;
	} else if ((r = virtual_id(cfg, "virtual_uid_maps", &uid_maps, address,
				   false, &id, error_r)) < 0) {
		return -1;
	} else if (r > 0) {
		user->uid = (uid_t)id;
	}
	if (pe->has_gid) {
		user->gid = pe->gid;
	} else if ((r = virtual_id(cfg, "virtual_gid_maps", &gid_maps, address,
				   true, &id, error_r)) < 0) {
		return -1;
	} else if (r > 0) {
		user->gid = (gid_t)id;
	}
	return 0;
}

/* lookup_local - a name without domain or in mydestination */
static int lookup_local(const struct config *cfg, const char *canon,
			const char *local, struct mail_user *user,
			const char **error_r)
{
	const char *home_mailbox = config_str(cfg, "home_mailbox");
	char *base = xstrdup(local);
	const struct userdb_entry *pe;
	struct passwd *pw;

	for (char *p = base; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	pw = getpwnam(base);
	if (pw != NULL) {
		user->name = xstrdup(canon);
		user->home = xstrdup(pw->pw_dir);
		user->maildir = with_slash(
			xasprintf("%s/%s", pw->pw_dir, home_mailbox));
		user->uid = pw->pw_uid;
		user->gid = pw->pw_gid;
		user->is_system = 1;
		free(base);
		return 1;
	}
	free(base);
	if (passwd_entry(cfg, canon, &pe, error_r) < 0)
		return -1;
	if (pe == NULL)
		return 0;
	if (pe->home[0] == '\0') {
		*error_r = mbx_error("user %s has no home directory", canon);
		return -1;
	}
	user->name = xstrdup(canon);
	user->home = xstrdup(pe->home);
	user->maildir = with_slash(xasprintf("%s/%s", pe->home, home_mailbox));
	return owner(cfg, pe, canon, user, error_r) < 0 ? -1 : 1;
}

/* maildir_from_maps - virtual_mailbox_maps for address or @domain */
static int maildir_from_maps(const struct config *cfg, const char *address,
			     const char *domain, char **maildir_r,
			     const char **error_r)
{
	struct maps_list *maps =
		maps_for(&mailbox_maps, "virtual_mailbox_maps", cfg, false);
	const char *base = config_str(cfg, "virtual_mailbox_base");
	char *catchall = xasprintf("@%s", domain);
	const char *value, *error;
	int r;

	if ((r = maps_list_find(maps, address, &value, &error)) == 0)
		r = maps_list_find(maps, catchall, &value, &error);
	free(catchall);
	if (r < 0) {
		*error_r = mbx_error("%s", error);
		return -1;
	}
	if (r == 0)
		return 0;
	if (!safe_relative(value) || value[strlen(value) - 1] != '/') {
		*error_r = mbx_error("virtual_mailbox_maps: bad mailbox \"%s\" "
				     "for %s: need a relative Maildir path "
				     "ending in '/'",
				     value, address);
		return -1;
	}
	if (base[0] == '\0') {
		*error_r = mbx_error("virtual_mailbox_base is not set");
		return -1;
	}
	*maildir_r = xasprintf("%s/%s", base, value);
	return 1;
}

/* lookup_virtual - user@domain of another domain: the passwd-file */
static int lookup_virtual(const struct config *cfg, const char *canon,
			  const char *local, const char *domain,
			  struct mail_user *user, const char **error_r)
{
	const struct userdb_entry *pe;
	char *full = xstrdup(canon);
	char *maildir = NULL;
	int r;

	for (char *p = full; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (passwd_entry(cfg, canon, &pe, error_r) < 0 ||
	    (pe == NULL && passwd_entry(cfg, full, &pe, error_r) < 0)) {
		free(full);
		return -1;
	}
	if (pe == NULL) {
		free(full);
		return 0;
	}
	if (pe->home[0] != '\0') {
		maildir = xasprintf("%s/Maildir/", pe->home);
	} else if ((r = maildir_from_maps(cfg, full, domain, &maildir,
					  error_r)) < 0) {
		free(full);
		return -1;
	} else if (r == 0) {
		const char *base = config_str(cfg, "virtual_mailbox_base");
		char *lower = xstrdup(local);

		for (char *p = lower; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (base[0] == '\0') {
			*error_r = mbx_error("virtual_mailbox_base is not set");
			free(lower);
			free(full);
			return -1;
		}
		maildir = xasprintf("%s/%s/%s/", base, domain, lower);
		free(lower);
	}
	user->name = xstrdup(pe->user);
	user->maildir = maildir;
	user->home = pe->home[0] != '\0' ? xstrdup(pe->home) : NULL;
	r = owner(cfg, pe, full, user, error_r);
	free(full);
	return r < 0 ? -1 : 1;
}

static int mail_user_lookup_canon(const struct config *cfg, const char *name,
				  struct mail_user *user, const char **error_r);

int mail_user_lookup(const struct config *cfg, const char *name,
		     struct mail_user *user, const char **error_r)
{
	const char *realm = config_str(cfg, "auth_default_realm");
	char *login;
	int r;

	memset(user, 0, sizeof(*user));
	user->uid = (uid_t)-1;
	user->gid = (gid_t)-1;
	if (name[0] == '\0' || name[0] == '@')
		return 0;
	if (strchr(name, '@') == NULL && realm[0] != '\0') {
		/* auth's order: NAME@REALM in the passwd-file, else the
		 * bare name (a system account, which auth hands over bare). */
		login = xasprintf("%s@%s", name, realm);
		r = mail_user_lookup_canon(cfg, login, user, error_r);
		free(login);
		if (r != 0)
			return r;
	}
	return mail_user_lookup_canon(cfg, name, user, error_r);
}

/* mail_user_lookup_canon - the rules for a name after the realm step */
static int mail_user_lookup_canon(const struct config *cfg, const char *name,
				  struct mail_user *user, const char **error_r)
{
	char *canon, *local;
	const char *at;
	int r;

	canon = passwd_file_canon_user(name);
	at = strrchr(canon, '@');
	local = at != NULL ? xstrndup(canon, (size_t)(at - canon))
			   : xstrdup(canon);
	if (at == NULL || in_mydestination(cfg, at + 1))
		r = lookup_local(cfg, canon, local, user, error_r);
	else
		r = lookup_virtual(cfg, canon, local, at + 1, user, error_r);
	free(local);
	free(canon);
	if (r <= 0)
		mail_user_clear(user);
	return r;
}

void mail_user_clear(struct mail_user *user)
{
	free(user->name);
	free(user->maildir);
	free(user->home);
	memset(user, 0, sizeof(*user));
	user->uid = (uid_t)-1;
	user->gid = (gid_t)-1;
}
