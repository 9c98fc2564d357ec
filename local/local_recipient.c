/*
 * local_recipient - route one queue recipient: aliases, .forward,
 *		     commands, files, mailboxes and forwarding
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	void local_deliver_one(struct local_ctx *ctx,
 *			       struct local_request *req, const char *address,
 *			       const char *orcpt, struct local_result *res);
 *
 * DESCRIPTION
 *	As Postfix's local(8), for an address of a local domain:
 *
 *	  1. a message whose header already has "Delivered-To: ADDRESS"
 *	     bounces: 5.4.6 "mail forwarding loop for ADDRESS";
 *	  2. alias_maps (local_alias.c) turn it into targets: addresses,
 *	     "|command", "/file" (":include:" files are expanded there);
 *	  3. an address of a system account with a trusted ~/.forward
 *	     (forward_path) goes to the entries of that file instead:
 *	     addresses (processed from step 1 again), "\user" (that
 *	     mailbox, no further forwarding), "|command", "/file",
 *	     ":include:/file"; an entry naming the user itself is its
 *	     mailbox;
 *	  4. else its mailbox (local_deliver.c).
 *	A virtual address goes to its mailbox; an address of any other
 *	domain is forwarded: the message is queued again for it
 *	(local_resubmit.c) with "Delivered-To: <the alias>" on top.
 *
 *	Started without root (tests, the demo), local reads only the
 *	.forward of its own user: it cannot take another user's identity,
 *	and running their commands as itself would hand them its rights.
 *
 *	Commands and files are allowed from the classes in
 *	allow_mail_to_commands and allow_mail_to_files (alias, forward,
 *	include); they run as default_privs for aliases (as local's own
 *	user when not root) and as the user for .forward entries.
 *
 *	Each final delivery is logged as Postfix does:
 *
 *	  ID: to=<bob@example.com>, orig_to=<info@example.com>,
 *	  relay=local, delay=0.41, delays=0.1/0/0/0.3, dsn=2.0.0,
 *	  status=sent (delivered to maildir)
 *
 *	with status texts "delivered to maildir", "delivered to command:
 *	CMD", "delivered to file: PATH", "forwarded as NEWID".  orig_to is
 *	the recipient as qmgr had it (its ORCPT when it came through
 *	virtual_alias_maps), shown when it differs from to.  The outcome
 *	reported to qmgr is the worst of all (deferred, then bounced, then
 *	sent); a deferred recipient is tried again whole, so targets that
 *	got the message may get it twice (at least once, never lost).
 *
 * DIAGNOSTICS
 *	More than LOCAL_ALIAS_DEPTH_MAX levels of forwarding bounce 5.4.6.
 *	A command or file from a class that is not allowed bounces 5.7.1
 *	("mail to command is restricted").
 */
#include "autoconf.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "queue_id.h"
#include "resolve.h"

/* The state of one queue recipient's delivery. */
struct route {
	struct local_ctx *ctx;
	struct local_request *req;
	const char *orig; /* orig_to, X-Original-To */
	double start;
	struct local_result worst;
	bool any;
	/* Addresses to forward, each with the address that listed it. */
	char **fwd;
	char **fwd_parent;
	size_t nfwd;
	/* System users whose .forward was expanded already. */
	char **forwarded;
	size_t nforwarded;
};

static void route_address(struct route *rt, const char *addr, int depth);

/* rank - how bad an outcome is (the worst one wins) */
static int rank(enum local_status s)
{
	return s == LOCAL_DEFERRED ? 2 : s == LOCAL_BOUNCED ? 1 : 0;
}

/* now - seconds since the epoch */
static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* fmt_delay - seconds as Postfix prints them: 2 digits below 10 */
static void fmt_delay(char *buf, size_t size, double d)
{
	if (d < 0)
		d = 0;
	if (d < 0.01)
		snprintf(buf, size, "0");
	else if (d < 10)
		snprintf(buf, size, "%.2g", d);
	else
		snprintf(buf, size, "%.0f", d);
}

/* outcome - log one final delivery and fold it into the result */
static void outcome(struct route *rt, const char *to,
		    const struct local_result *res)
{
	static const char *const names[] = {"sent", "bounced", "deferred"};
	const struct local_request *req = rt->req;
	double end = now();
	char d_all[32], d_a[32], d_d[32];
	bool show_orig = rt->orig[0] != '\0' && strcasecmp(rt->orig, to) != 0;

	fmt_delay(d_all, sizeof(d_all), end - req->arrival);
	fmt_delay(d_a, sizeof(d_a), req->received - req->arrival);
	fmt_delay(d_d, sizeof(d_d), end - rt->start);
	log_info("%s: to=<%s>, %s%s%srelay=local, delay=%s, "
		 "delays=%s/0/0/%s, dsn=%s, status=%s (%s)",
		 req->queue_id, to, show_orig ? "orig_to=<" : "",
		 show_orig ? rt->orig : "", show_orig ? ">, " : "", d_all, d_a,
		 d_d, res->dsn, names[res->status], res->reason);
	if (!rt->any || rank(res->status) > rank(rt->worst.status))
		rt->worst = *res;
	rt->any = true;
}

/* fail - a final outcome without a delivery */
static void fail(struct route *rt, const char *to, enum local_status status,
		 const char *dsn, const char *reason)
{
	struct local_result res = {0};

	local_result_set(&res, status, dsn, "%s", reason);
	outcome(rt, to, &res);
}

/*
 * with_domain - address with the domain of parent (else myhostname)
 * when it has none: an alias "info: bob" means bob in info's domain.
 */
static char *with_domain(const struct local_ctx *ctx, const char *address,
			 const char *parent)
{
	const char *at = strrchr(parent, '@');

	if (strchr(address, '@') != NULL)
		return xstrdup(address);
	return xasprintf("%s@%s", address,
			 at != NULL ? at + 1 : ctx->myhostname);
}

/* user_of - a struct local_user from an account (strings copied) */
static void user_of(struct local_user *u, const struct passwd *pw)
{
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->name = xstrdup(pw->pw_name);
	u->home = xstrdup(pw->pw_dir != NULL ? pw->pw_dir : "");
	u->shell = xstrdup(pw->pw_shell != NULL ? pw->pw_shell : "/bin/sh");
}

/* user_free - the strings of user_of() */
static void user_free(struct local_user *u)
{
	free((char *)u->name);
	free((char *)u->home);
	free((char *)u->shell);
	memset(u, 0, sizeof(*u));
}

/* local_user_default - default_privs as root, else ourselves */
int local_user_default(struct local_ctx *ctx, struct local_user *u,
		       struct local_result *res)
{
	struct passwd *pw =
		ctx->root ? getpwnam(ctx->default_privs) : getpwuid(getuid());

	if (pw == NULL || (ctx->root && pw->pw_uid == 0)) {
		log_warn("default_privs = %s: not an unprivileged account",
			 ctx->default_privs);
		local_result_set(res, LOCAL_DEFERRED, "4.3.5",
				 "mail system configuration error");
		return -1;
	}
	user_of(u, pw);
	return 0;
}

/* copy_for - the headers of a copy for "to" */
static void copy_for(const struct route *rt, const char *to, bool mbox,
		     struct local_copy *copy)
{
	copy->sender = rt->req->sender;
	copy->orig_rcpt = rt->orig;
	copy->delivered_to = to;
	copy->quote_from = mbox;
}

/* run_command - a |command target on behalf of "to" */
static void run_command(struct route *rt, const char *command, const char *to,
			unsigned cls, const struct local_user *u)
{
	struct local_ctx *ctx = rt->ctx;
	struct local_result res = {0};
	struct local_copy copy;
	struct local_pipe_env env;
	const char *at = strrchr(to, '@');
	char *local =
		at != NULL ? xstrndup(to, (size_t)(at - to)) : xstrdup(to);
	char *base = local_base_name(ctx, local);
	size_t blen = strlen(base);

	if ((ctx->commands_allowed & cls) == 0) {
		fail(rt, to, LOCAL_BOUNCED, "5.7.1",
		     "mail to command is restricted");
	} else {
		copy_for(rt, to, false, &copy);
		env.recipient = to;
		env.local = local;
		env.domain = at != NULL ? at + 1 : "";
		/* The extension: what follows the delimiter. */
		env.extension =
			strlen(local) > blen + 1 ? local + blen + 1 : "";
		local_pipe_deliver(ctx, rt->req, command, &copy, u, &env, &res);
		outcome(rt, to, &res);
	}
	free(base);
	free(local);
}

/* write_file - a /file target on behalf of "to" */
static void write_file(struct route *rt, const char *path, const char *to,
		       unsigned cls, const struct local_user *u)
{
	struct local_result res = {0};
	struct local_copy copy;

	if ((rt->ctx->files_allowed & cls) == 0) {
		fail(rt, to, LOCAL_BOUNCED, "5.7.1",
		     "mail to file is restricted");
		return;
	}
	copy_for(rt, to, true, &copy);
	local_file_deliver(rt->ctx, rt->req, path, &copy, u, &res);
	outcome(rt, to, &res);
}

/* forward_later - remember addr for the new queue file */
static void forward_later(struct route *rt, const char *addr,
			  const char *parent)
{
	rt->fwd = xreallocarray(rt->fwd, rt->nfwd + 1, sizeof(char *));
	rt->fwd_parent =
		xreallocarray(rt->fwd_parent, rt->nfwd + 1, sizeof(char *));
	rt->fwd[rt->nfwd] = xstrdup(addr);
	rt->fwd_parent[rt->nfwd] = xstrdup(parent);
	rt->nfwd++;
}

/* mailbox - the mailbox of a final address */
static void mailbox(struct route *rt, const char *addr)
{
	struct local_result res = {0};

	local_deliver_mailbox(rt->ctx, rt->req, addr, &res);
	outcome(rt, addr, &res);
}

static void route_list(struct route *rt, char **entries, unsigned cls,
		       const struct local_user *u, const char *owner_addr,
		       const char *owner_base, int depth);

/* include_file - the entries of :include:PATH, as user u */
static void include_file(struct route *rt, const char *path,
			 const struct local_user *u, const char *owner_addr,
			 const char *owner_base, int depth)
{
	struct local_result res = {0};
	char **entries = NULL;
	int r;

	if (path[0] != '/') {
		fail(rt, owner_addr, LOCAL_BOUNCED, "5.3.0",
		     ":include: needs an absolute path");
		return;
	}
	local_become(rt->ctx, u->uid, u->gid);
	r = local_forward_read(path, u->uid, &entries, &res);
	local_become_root(rt->ctx);
	if (r < 0)
		outcome(rt, owner_addr, &res);
	else if (r == 0)
		fail(rt, owner_addr, LOCAL_BOUNCED, "5.3.0",
		     "no :include: file");
	else
		route_list(rt, entries, LOCAL_CLASS_INCLUDE, u, owner_addr,
			   owner_base, depth + 1);
	local_forward_free(entries);
}

/*
 * route_list - the entries of a .forward or :include: file of the user
 * u, whose address is owner_addr (base name owner_base)
 */
static void route_list(struct route *rt, char **entries, unsigned cls,
		       const struct local_user *u, const char *owner_addr,
		       const char *owner_base, int depth)
{
	if (depth > LOCAL_ALIAS_DEPTH_MAX) {
		fail(rt, owner_addr, LOCAL_BOUNCED, "5.4.6",
		     "too many levels of forwarding (a loop?)");
		return;
	}
	for (size_t i = 0; entries[i] != NULL; i++) {
		const char *e = entries[i];

		if (e[0] == '|') {
			run_command(rt, e + 1, owner_addr, cls, u);
		} else if (e[0] == '/') {
			write_file(rt, e, owner_addr, cls, u);
		} else if (strncasecmp(e, ":include:", 9) == 0) {
			include_file(rt, e + 9, u, owner_addr, owner_base,
				     depth);
		} else if (e[0] == '\\') {
			char *full = with_domain(rt->ctx, e + 1, owner_addr);

			mailbox(rt, full);
			free(full);
		} else {
			char *full = with_domain(rt->ctx, e, owner_addr);
			const char *at = strrchr(full, '@');
			char *local = xstrndup(full, (size_t)(at - full));
			char *base = local_base_name(rt->ctx, local);

			/* The user itself: the mailbox, not the .forward
			 * again (Postfix: "\user" or "user"). */
			if (strcmp(base, owner_base) == 0 &&
			    resolver_class(rt->ctx->res, full) == RESOLVE_LOCAL)
				mailbox(rt, full);
			else
				route_address(rt, full, depth + 1);
			free(base);
			free(local);
			free(full);
		}
	}
}

/* was_forwarded - whether base's .forward was expanded; note it */
static bool was_forwarded(struct route *rt, const char *base)
{
	for (size_t i = 0; i < rt->nforwarded; i++)
		if (strcmp(rt->forwarded[i], base) == 0)
			return true;
	rt->forwarded = xreallocarray(rt->forwarded, rt->nforwarded + 1,
				      sizeof(char *));
	rt->forwarded[rt->nforwarded++] = xstrdup(base);
	return false;
}

/*
 * dot_forward - the first forward_path file of the account that exists:
 * 1 handled (entries routed or a failure logged), 0 none
 */
static int dot_forward(struct route *rt, const char *addr, const char *base,
		       const struct passwd *pw, int depth)
{
	struct local_ctx *ctx = rt->ctx;
	struct local_user u;
	int r = 0;

	user_of(&u, pw);
	for (size_t i = 0; r == 0 && i < ctx->forward_path_count; i++) {
		struct local_result res = {0};
		const char *spec = ctx->forward_path[i];
		char **entries = NULL;
		char *path;

		/* $home and $user, the expansions Postfix documents first. */
		if (strncmp(spec, "$home/", 6) == 0)
			path = xasprintf("%s/%s", u.home, spec + 6);
		else if (strncmp(spec, "${home}/", 8) == 0)
			path = xasprintf("%s/%s", u.home, spec + 8);
		else
			path = xstrdup(spec);
		if (strstr(path, "$user") != NULL) {
			char *p = strstr(path, "$user");
			char *n = xasprintf("%.*s%s%s", (int)(p - path), path,
					    u.name, p + 5);

			free(path);
			path = n;
		}
		local_become(ctx, u.uid, u.gid);
		r = local_forward_read(path, u.uid, &entries, &res);
		local_become_root(ctx);
		if (r < 0) {
			outcome(rt, addr, &res);
		} else if (r > 0 && entries[0] == NULL) {
			r = 0; /* an empty .forward: the mailbox */
		} else if (r > 0) {
			if (ctx->root && u.uid == 0) {
				/* Never run root's commands as root. */
				struct local_user d;

				if (local_user_default(ctx, &d, &res) < 0) {
					outcome(rt, addr, &res);
				} else {
					route_list(rt, entries,
						   LOCAL_CLASS_FORWARD, &d,
						   addr, base, depth + 1);
					user_free(&d);
				}
			} else {
				route_list(rt, entries, LOCAL_CLASS_FORWARD, &u,
					   addr, base, depth + 1);
			}
		}
		local_forward_free(entries);
		free(path);
	}
	user_free(&u);
	return r != 0;
}

/* route_final - an address after alias expansion */
static void route_final(struct route *rt, const char *addr, const char *parent,
			int depth)
{
	struct local_ctx *ctx = rt->ctx;

	if (local_loop_seen(rt->req, addr)) {
		char why[600];

		snprintf(why, sizeof(why), "mail forwarding loop for %s", addr);
		fail(rt, addr, LOCAL_BOUNCED, "5.4.6", why);
		return;
	}
	switch (resolver_class(ctx->res, addr)) {
	case RESOLVE_RELAY:
		forward_later(rt, addr, parent);
		return;
	case RESOLVE_VIRTUAL:
		mailbox(rt, addr);
		return;
	case RESOLVE_LOCAL:
		break;
	}
	{
		const char *at = strrchr(addr, '@');
		char *local = at != NULL ? xstrndup(addr, (size_t)(at - addr))
					 : xstrdup(addr);
		char *base = local_base_name(ctx, local);
		struct passwd *pw = getpwnam(base);
		int handled = 0;

		/* Unprivileged, local cannot take another user's identity:
		 * it would run that user's commands as its own user. */
		if (pw != NULL && !ctx->root && pw->pw_uid != getuid())
			pw = NULL;
		if (pw != NULL && ctx->forward_path_count > 0 &&
		    !was_forwarded(rt, base))
			handled = dot_forward(rt, addr, base, pw, depth);
		if (!handled)
			mailbox(rt, addr);
		free(base);
		free(local);
	}
}

/* route_address - an address: loop check, aliases, then route_final */
static void route_address(struct route *rt, const char *addr, int depth)
{
	struct local_ctx *ctx = rt->ctx;
	struct local_result res = {0};
	char **targets = NULL;
	unsigned *classes = NULL;
	struct local_user u;
	bool have_user = false;
	int r = 0;

	if (depth > LOCAL_ALIAS_DEPTH_MAX) {
		fail(rt, addr, LOCAL_BOUNCED, "5.4.6",
		     "too many levels of forwarding (a loop?)");
		return;
	}
	if (local_loop_seen(rt->req, addr)) {
		char why[600];

		snprintf(why, sizeof(why), "mail forwarding loop for %s", addr);
		fail(rt, addr, LOCAL_BOUNCED, "5.4.6", why);
		return;
	}
	if (resolver_class(ctx->res, addr) == RESOLVE_LOCAL)
		r = local_alias_lookup(ctx, addr, &targets, &classes, &res);
	if (r < 0) {
		outcome(rt, addr, &res);
		return;
	}
	if (r == 0) {
		route_final(rt, addr, addr, depth);
		return;
	}
	for (size_t i = 0; targets[i] != NULL; i++) {
		const char *t = targets[i];

		if (t[0] == '|' || t[0] == '/') {
			if (!have_user) {
				if (local_user_default(ctx, &u, &res) < 0) {
					outcome(rt, addr, &res);
					continue;
				}
				have_user = true;
			}
			if (t[0] == '|')
				run_command(rt, t + 1, addr, classes[i], &u);
			else
				write_file(rt, t, addr, classes[i], &u);
		} else {
			char *full = with_domain(ctx, t, addr);

			route_final(rt, full, addr, depth + 1);
			free(full);
		}
	}
	if (have_user)
		user_free(&u);
	for (size_t i = 0; targets[i] != NULL; i++)
		free(targets[i]);
	free(targets);
	free(classes);
}

/* flush_forwards - one new queue file per listing address */
static void flush_forwards(struct route *rt)
{
	for (size_t i = 0; i < rt->nfwd; i++) {
		char **batch, id[QUEUE_ID_MAX + 1];
		size_t n = 0;
		struct local_result res = {0};

		if (rt->fwd_parent[i] == NULL)
			continue; /* sent with an earlier batch */
		batch = xcalloc(rt->nfwd, sizeof(char *));
		for (size_t j = i; j < rt->nfwd; j++)
			if (rt->fwd_parent[j] != NULL &&
			    strcasecmp(rt->fwd_parent[j], rt->fwd_parent[i]) ==
				    0)
				batch[n++] = rt->fwd[j];
		if (local_resubmit(rt->ctx, rt->req, batch, n,
				   rt->fwd_parent[i], id, &res) == 0)
			local_result_set(&res, LOCAL_SENT, "2.0.0",
					 "forwarded as %s", id);
		for (size_t k = 0; k < n; k++)
			outcome(rt, batch[k], &res);
		for (size_t j = rt->nfwd; j-- > i;) {
			if (rt->fwd_parent[j] != NULL &&
			    strcasecmp(rt->fwd_parent[j], rt->fwd_parent[i]) ==
				    0 &&
			    j != i) {
				free(rt->fwd_parent[j]);
				rt->fwd_parent[j] = NULL;
			}
		}
		free(rt->fwd_parent[i]);
		rt->fwd_parent[i] = NULL;
		free(batch);
	}
	for (size_t i = 0; i < rt->nfwd; i++)
		free(rt->fwd[i]);
	free(rt->fwd);
	free(rt->fwd_parent);
}

/* local_deliver_one - the whole delivery of one queue recipient */
void local_deliver_one(struct local_ctx *ctx, struct local_request *req,
		       const char *address, const char *orcpt,
		       struct local_result *res)
{
	struct route rt = {
		.ctx = ctx,
		.req = req,
		.start = now(),
	};
	char *full = with_domain(ctx, address, address);

	rt.orig = orcpt[0] != '\0' ? orcpt : full;
	route_address(&rt, full, 0);
	flush_forwards(&rt);
	for (size_t i = 0; i < rt.nforwarded; i++)
		free(rt.forwarded[i]);
	free(rt.forwarded);
	if (!rt.any)
		local_result_set(&rt.worst, LOCAL_BOUNCED, "5.1.1",
				 "no destination for %s", full);
	*res = rt.worst;
	free(full);
}
