/*
 * local_deliver - find a recipient's mailbox and deliver into it
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	void local_deliver_mailbox(struct local_ctx *ctx,
 *				   struct local_request *req,
 *				   const char *address,
 *				   struct local_result *res);
 *
 * DESCRIPTION
 *	local_deliver_mailbox() delivers to the mailbox of a final address
 *	(local_recipient.c routes to it and logs the outcome).
 *
 *	Mailboxes (local_deliver_mailbox):
 *	  LOCAL: the system account's home + home_mailbox, owned by the
 *	    account; else an auth_passwd_file entry user@domain with a home
 *	    (home + home_mailbox); "postmaster" without either goes to root.
 *	  VIRTUAL: the auth_passwd_file entry's home + "/Maildir/" when it
 *	    has one; else the virtual_mailbox_maps value (a path relative
 *	    to virtual_mailbox_base ending in '/'); else, for a passwd-file
 *	    user, virtual_mailbox_base/DOMAIN/USER/.  Owner: the entry's
 *	    uid/gid, else virtual_uid_maps/virtual_gid_maps.
 *	  RELAY: not a mailbox (local_recipient.c forwards those); deferred
 *	    should one get here.
 *
 * DIAGNOSTICS
 *	Unknown users bounce with 5.1.1; tables that cannot be read and
 *	mailbox write errors defer (4.3.0, 4.2.0); a configuration that
 *	cannot work (no uid for a virtual mailbox while root, no
 *	virtual_mailbox_base) defers with 4.3.5 and a warning, as Postfix.
 *
 * SECURITY
 *	set_eugid() switches the effective ids to the mailbox owner before
 *	anything under the mailbox is touched, and back to root after; a
 *	failure to switch is fatal (the process must not go on with mixed
 *	ids).  While the effective uid is 0 (root's own mailbox) symlinked
 *	Maildirs are refused.  Mailbox paths from tables must be relative
 *	and free of "..".
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "maps.h"
#include "maps_list.h"
#include "qfile.h"
#include "resolve.h"
#include "strbuf.h"
#include "strnum.h"
#include "userdb_client.h"

/* The content of the request's message, read with pread. */
struct content_reader {
	const struct qfile *q;
	int fd;
	uint64_t pos;
};

/* content_read - maildir_read_fn over the queue file */
static ssize_t content_read(void *arg, void *buf, size_t len)
{
	struct content_reader *cr = arg;
	ssize_t n = qfile_content_pread(cr->q, cr->fd, buf, len, cr->pos);

	if (n > 0)
		cr->pos += (uint64_t)n;
	return n;
}

/*
 * set_eugid - become uid/gid (effective ids and group list), as
 * Postfix's set_eugid: back to root first, so that any switch works.
 */
static void set_eugid(uid_t uid, gid_t gid)
{
	if (geteuid() != 0 && seteuid(0) < 0)
		log_fatal("seteuid 0: %m");
	if (setegid(gid) < 0)
		log_fatal("setegid %ld: %m", (long)gid);
	if (setgroups(1, &gid) < 0)
		log_fatal("setgroups %ld: %m", (long)gid);
	if (uid != 0 && seteuid(uid) < 0)
		log_fatal("seteuid %ld: %m", (long)uid);
}

/* local_base_name - local part lowercased, extension stripped */
char *local_base_name(const struct local_ctx *ctx, const char *local)
{
	size_t len = strlen(local);
	char *base;

	if (ctx->delimiters[0] != '\0' && len > 1) {
		size_t n = strcspn(local + 1, ctx->delimiters) + 1;

		if (n < len)
			len = n;
	}
	base = xstrndup(local, len);
	for (char *p = base; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return base;
}

/*
 * passwd_entry - the auth_passwd_file entry for user, asked of auth's
 * userdb service; NULL when unknown, or when the service cannot answer
 * (res is then deferred 4.3.0: a missing auth must not bounce mail).
 */
static const struct userdb_entry *
passwd_entry(struct local_ctx *ctx, const char *user, struct local_result *res)
{
	const struct userdb_entry *entry;
	const char *error;

	if (ctx->userdb == NULL)
		return NULL;
	if (userdb_client_lookup(ctx->userdb, user, &entry, &error) < 0) {
		log_warn("auth_passwd_file lookup for %s: %s", user, error);
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "user database unavailable");
		return NULL;
	}
	return entry;
}

/*
 * virtual_id - "static:NUMBER" or "static:NAME" of virtual_uid_maps /
 * virtual_gid_maps, else a table lookup of address.  1 found, 0 not,
 * -1 error (logged).
 */
static int virtual_id(const char *spec, struct maps_list *maps,
		      const char *address, bool group, unsigned long *id_r)
{
	const char *value = NULL, *error;
	unsigned int num;
	int r = 0;

	if (spec[0] == '\0')
		return 0;
	if (maps == NULL) {
		value = spec + 7; /* "static:" */
	} else if ((r = maps_list_find(maps, address, &value, &error)) <= 0) {
		if (r < 0)
			log_warn("%s", error);
		return r;
	}
	if (str_to_uint(value, &num) == 0) {
		*id_r = num;
		r = 1;
	} else if (group) {
		struct group *gr = getgrnam(value);

		r = gr != NULL ? (*id_r = gr->gr_gid, 1) : -1;
	} else {
		struct passwd *pw = getpwnam(value);

		r = pw != NULL ? (*id_r = pw->pw_uid, 1) : -1;
	}
	if (r < 0)
		log_warn("%s: unknown %s \"%s\"", spec,
			 group ? "group" : "user", value);
	return r;
}

/* mailbox_maps_find - virtual_mailbox_maps value for address, copied */
static int mailbox_maps_find(struct local_ctx *ctx, const char *key,
			     char **value_r)
{
	const char *value, *error;
	int r = maps_list_find(ctx->virtual_mailbox_maps, key, &value, &error);

	if (r > 0)
		*value_r = xstrdup(value);
	else if (r < 0)
		log_warn("%s", error);
	return r;
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

/* deliver_to - write the message into maildir as uid/gid */
static void deliver_to(struct local_ctx *ctx, struct local_request *req,
		       const char *address, const char *maildir, uid_t uid,
		       gid_t gid, struct local_result *res)
{
	struct content_reader cr = {req->q, req->fd, 0};
	struct maildir_msg msg = {req->sender, address, content_read, &cr};
	unsigned int flags = 0;
	const char *error;
	int r;

	if (ctx->root) {
		set_eugid(uid, gid);
		if (uid == 0)
			flags |= MAILDIR_NO_SYMLINK;
	}
	r = maildir_deliver(maildir, &msg, flags, NULL, &error);
	if (ctx->root)
		set_eugid(0, 0);
	if (r == 0)
		local_result_set(res, LOCAL_SENT, "2.0.0",
				 "delivered to maildir");
	else if (r == MAILDIR_ERR_PERM)
		local_result_set(res, LOCAL_BOUNCED, "5.2.2",
				 "maildir delivery failed: %s", error);
	else
		local_result_set(res, LOCAL_DEFERRED, "4.2.0",
				 "maildir delivery failed: %s", error);
}

/* deliver_local - a LOCAL address after alias expansion */
static void deliver_local(struct local_ctx *ctx, struct local_request *req,
			  const char *address, const char *local,
			  const char *domain, struct local_result *res)
{
	char *base = local_base_name(ctx, local);
	struct passwd *pw = getpwnam(base);
	const struct userdb_entry *pe;
	char *key, *maildir;

	if (pw == NULL && strcmp(base, "postmaster") == 0)
		pw = getpwuid(0);
	if (pw != NULL) {
		maildir = xasprintf("%s/%s", pw->pw_dir, ctx->home_mailbox);
		deliver_to(ctx, req, address, maildir, pw->pw_uid, pw->pw_gid,
			   res);
		free(maildir);
		free(base);
		return;
	}
	key = domain[0] != '\0' ? xasprintf("%s@%s", base, domain)
				: xstrdup(base);
	pe = passwd_entry(ctx, key, res);
	if (pe != NULL && pe->home[0] != '\0') {
		unsigned long uid = pe->uid, gid = pe->gid;

		if (!pe->has_uid &&
		    virtual_id(ctx->virtual_uid_maps, ctx->uid_maps, key, false,
			       &uid) <= 0)
			uid = ctx->root ? 0 : getuid();
		if (!pe->has_gid &&
		    virtual_id(ctx->virtual_gid_maps, ctx->gid_maps, key, true,
			       &gid) <= 0)
			gid = ctx->root ? 0 : getgid();
		if (ctx->root && uid == 0) {
			log_warn("%s: no uid for %s (auth_passwd_file or "
				 "virtual_uid_maps); refusing to deliver as "
				 "root",
				 req->queue_id, key);
			local_result_set(res, LOCAL_DEFERRED, "4.3.5",
					 "mail system configuration error");
		} else {
			maildir =
				xasprintf("%s/%s", pe->home, ctx->home_mailbox);
			deliver_to(ctx, req, address, maildir, (uid_t)uid,
				   (gid_t)gid, res);
			free(maildir);
		}
	} else if (pe != NULL) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.5",
				 "user %s has no home directory", key);
	} else if (res->status != LOCAL_DEFERRED) {
		local_result_set(res, LOCAL_BOUNCED, "5.1.1",
				 "unknown user: \"%s\"", base);
	}
	free(key);
	free(base);
}

/* deliver_virtual - a VIRTUAL address */
static void deliver_virtual(struct local_ctx *ctx, struct local_request *req,
			    const char *address, const char *local,
			    const char *domain, struct local_result *res)
{
	char *base = local_base_name(ctx, local);
	char *key = xasprintf("%s@%s", base, domain);
	char *full = xasprintf("%s@%s", local, domain);
	const struct userdb_entry *pe;
	char *maildir = NULL, *mapped = NULL;
	unsigned long uid = 0, gid = 0;
	bool have_uid = false, have_gid = false;
	int r = 0;

	for (char *p = full; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((pe = passwd_entry(ctx, full, res)) == NULL &&
	    res->status != LOCAL_DEFERRED)
		pe = passwd_entry(ctx, key, res);
	if (res->status == LOCAL_DEFERRED && res->dsn[0] != '\0')
		goto out;
	if (pe != NULL) {
		have_uid = pe->has_uid, uid = pe->uid;
		have_gid = pe->has_gid, gid = pe->gid;
	}
	if (pe != NULL && pe->home[0] != '\0') {
		maildir = xasprintf("%s/Maildir/", pe->home);
	} else {
		char *catchall = xasprintf("@%s", domain);

		if ((r = mailbox_maps_find(ctx, full, &mapped)) == 0 &&
		    (r = mailbox_maps_find(ctx, key, &mapped)) == 0)
			r = mailbox_maps_find(ctx, catchall, &mapped);
		free(catchall);
		if (r < 0) {
			local_result_set(res, LOCAL_DEFERRED, "4.3.0",
					 "virtual_mailbox_maps lookup failed");
			goto out;
		}
		if (r == 0 && pe == NULL) {
			local_result_set(res, LOCAL_BOUNCED, "5.1.1",
					 "unknown user: \"%s\"", key);
			goto out;
		}
	}
	if (maildir == NULL) {
		const char *rel = mapped;
		char *fallback = NULL;

		if (ctx->virtual_mailbox_base[0] == '\0') {
			log_warn("%s: virtual_mailbox_base is not set: "
				 "cannot deliver to %s",
				 req->queue_id, key);
			local_result_set(res, LOCAL_DEFERRED, "4.3.5",
					 "mail system configuration error");
			goto out;
		}
		if (rel == NULL)
			rel = fallback = xasprintf("%s/%s/", domain, base);
		if (!safe_relative(rel) || rel[strlen(rel) - 1] != '/') {
			log_warn("%s: virtual_mailbox_maps: bad mailbox \"%s\" "
				 "for %s: need a relative Maildir path ending "
				 "in '/'",
				 req->queue_id, rel, key);
			local_result_set(res, LOCAL_DEFERRED, "4.3.5",
					 "mail system configuration error");
			free(fallback);
			goto out;
		}
		maildir = xasprintf("%s/%s", ctx->virtual_mailbox_base, rel);
		free(fallback);
	}
	if (!have_uid && (r = virtual_id(ctx->virtual_uid_maps, ctx->uid_maps,
					 full, false, &uid)) > 0)
		have_uid = true;
	if (!have_gid && virtual_id(ctx->virtual_gid_maps, ctx->gid_maps, full,
				    true, &gid) > 0)
		have_gid = true;
	if (ctx->root && (!have_uid || uid == 0 || !have_gid)) {
		log_warn("%s: no uid/gid for virtual mailbox %s (set them in "
			 "auth_passwd_file or virtual_uid_maps/"
			 "virtual_gid_maps); refusing to deliver as root",
			 req->queue_id, key);
		local_result_set(res, LOCAL_DEFERRED, "4.3.5",
				 "mail system configuration error");
		goto out;
	}
	deliver_to(ctx, req, address, maildir, (uid_t)uid, (gid_t)gid, res);
out:
	free(maildir);
	free(mapped);
	free(base);
	free(key);
	free(full);
}

/* local_deliver_mailbox - one final address */
void local_deliver_mailbox(struct local_ctx *ctx, struct local_request *req,
			   const char *address, struct local_result *res)
{
	const char *at = strrchr(address, '@');
	char *local = at != NULL ? xstrndup(address, (size_t)(at - address))
				 : xstrdup(address);
	char *domain = xstrdup(at != NULL ? at + 1 : "");

	for (char *p = domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	switch (resolver_class(ctx->res, address)) {
	case RESOLVE_LOCAL:
		deliver_local(ctx, req, address, local, domain, res);
		break;
	case RESOLVE_VIRTUAL:
		deliver_virtual(ctx, req, address, local, domain, res);
		break;
	case RESOLVE_RELAY:
		local_result_set(res, LOCAL_DEFERRED, "4.4.1",
				 "delivery via smtp is not available yet");
		break;
	}
	free(local);
	free(domain);
}
