/*
 * local_alias - alias_maps expansion for local domains
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	int local_alias_lookup(struct local_ctx *ctx, const char *address,
 *			       char ***targets_r, unsigned **classes_r,
 *			       struct local_result *res);
 *
 * DESCRIPTION
 *	The local part of address (lowercased; then without its
 *	recipient_delimiter extension) is looked up in each table of
 *	alias_maps in turn, as Postfix's local does.  A value is a list of
 *	addresses separated by commas.  Each target in a local domain (or
 *	without a domain) is expanded again, up to LOCAL_ALIAS_DEPTH_MAX
 *	levels; a name that refers to itself ("bob: bob, archive") or to a
 *	name already expanded is a mailbox, not a loop.  The result is the
 *	list of final addresses without duplicates, at most
 *	LOCAL_ALIAS_TARGETS_MAX of them.  Targets in other domains are kept
 *	as they are: local_recipient.c delivers the virtual ones and
 *	forwards the others.
 *
 *	Commands ("|...") and files ("/...") are handed back as they are,
 *	each with the class it came from (LOCAL_CLASS_ALIAS, or
 *	LOCAL_CLASS_INCLUDE from an :include: file) in *classes_r, for
 *	allow_mail_to_commands / allow_mail_to_files.  ":include:/path"
 *	is expanded here: the file's entries (local_forward.c; it must not
 *	be group or world writable) are items of the alias, read with
 *	local's own ids (the alias database is the administrator's).
 *
 * DIAGNOSTICS
 *	A table that cannot be opened or read is a temporary failure (the
 *	message stays queued) with a warning naming it: Postfix's default
 *	alias_maps is hash:/etc/aliases, whose aliases.db may not exist.
 *	An expansion deeper than the limit is logged and bounced (5.4.6).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "maps_list.h"
#include "resolve.h"

struct expansion {
	char **list;
	unsigned *classes;
	size_t count;
	char **seen;
	size_t seen_count;
	bool overflow;
	bool too_deep;
};

/*
 * alias_find - the alias value of name (copied) from alias_maps.
 * 1 found, 0 not, -1 a table failed (logged).
 */
static int alias_find(struct local_ctx *ctx, const char *name, char **value_r)
{
	const char *value, *error;
	int r = maps_list_find(ctx->alias_maps, name, &value, &error);

	if (r > 0)
		*value_r = xstrdup(value);
	else if (r < 0)
		log_warn("%s", error);
	return r;
}

/* list_has - whether list holds s */
static bool list_has(char **list, size_t count, const char *s)
{
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(list[i], s) == 0)
			return true;
	return false;
}

/* add_target - append a final address once */
static void add_target(struct expansion *ex, const char *addr, unsigned cls)
{
	if (list_has(ex->list, ex->count, addr))
		return;
	if (ex->count >= LOCAL_ALIAS_TARGETS_MAX) {
		ex->overflow = true;
		return;
	}
	ex->list = xreallocarray(ex->list, ex->count + 2, sizeof(char *));
	ex->classes =
		xreallocarray(ex->classes, ex->count + 1, sizeof(unsigned));
	ex->classes[ex->count] = cls;
	ex->list[ex->count++] = xstrdup(addr);
	ex->list[ex->count] = NULL;
}

/* lookup_name - the alias of a local part: exact, then without extension */
static int lookup_name(struct local_ctx *ctx, const char *local, char **value_r)
{
	char *lower = xstrdup(local), *base;
	int r;

	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	r = alias_find(ctx, lower, value_r);
	if (r == 0) {
		base = local_base_name(ctx, lower);
		if (strcmp(base, lower) != 0)
			r = alias_find(ctx, base, value_r);
		free(base);
	}
	free(lower);
	return r;
}

static int expand(struct local_ctx *ctx, const char *name, const char *value,
		  int depth, struct expansion *ex);
static int expand_target(struct local_ctx *ctx, const char *target, int depth,
			 unsigned cls, struct expansion *ex);

/* expand_include - the entries of an :include: file */
static int expand_include(struct local_ctx *ctx, const char *path, int depth,
			  struct expansion *ex)
{
	struct local_result res = {0};
	char **entries = NULL;
	struct stat st;
	int r;

	if (depth > LOCAL_ALIAS_DEPTH_MAX) {
		ex->too_deep = true;
		return 0;
	}
	/* Any owner: the administrator named the file in the aliases;
	 * local_forward_read() still refuses a group/world writable one. */
	if (path[0] != '/' || stat(path, &st) < 0) {
		log_warn("alias :include:%s: no such file (ignored)", path);
		return 0;
	}
	r = local_forward_read(path, st.st_uid, &entries, &res);
	if (r <= 0) {
		log_warn("alias :include:%s: %s", path,
			 r < 0 ? res.reason : "no such file");
		if (r < 0 && res.status == LOCAL_DEFERRED)
			return -1;
		return 0; /* ignored, as a missing file */
	}
	r = 0;
	for (size_t i = 0; r >= 0 && entries[i] != NULL; i++)
		r = expand_target(ctx, entries[i], depth + 1,
				  LOCAL_CLASS_INCLUDE, ex);
	local_forward_free(entries);
	return r;
}

/* expand_target - one item of an alias value */
static int expand_target(struct local_ctx *ctx, const char *target, int depth,
			 unsigned cls, struct expansion *ex)
{
	const char *at = strrchr(target, '@');
	char *local, *value = NULL;
	int r;

	if (strncasecmp(target, ":include:", 9) == 0)
		return expand_include(ctx, target + 9, depth, ex);
	if (target[0] == '|' || target[0] == '/' || at == target) {
		add_target(ex, target, cls);
		return 0;
	}
	if (at != NULL && resolver_class(ctx->res, target) != RESOLVE_LOCAL) {
		add_target(ex, target, cls);
		return 0;
	}
	local = at != NULL ? xstrndup(target, (size_t)(at - target))
			   : xstrdup(target);
	if (list_has(ex->seen, ex->seen_count, local)) {
		/* "bob: bob": the name itself is the mailbox. */
		add_target(ex, local, cls);
		free(local);
		return 0;
	}
	r = lookup_name(ctx, local, &value);
	if (r > 0)
		r = expand(ctx, local, value, depth + 1, ex);
	else if (r == 0)
		add_target(ex, local, cls);
	free(value);
	free(local);
	return r;
}

/* expand - the items of one alias value */
static int expand(struct local_ctx *ctx, const char *name, const char *value,
		  int depth, struct expansion *ex)
{
	char *copy, *p;
	int r = 0;

	if (depth > LOCAL_ALIAS_DEPTH_MAX) {
		ex->too_deep = true;
		return 0;
	}
	ex->seen = xreallocarray(ex->seen, ex->seen_count + 1, sizeof(char *));
	ex->seen[ex->seen_count++] = xstrdup(name);
	copy = xstrdup(value);
	p = copy;
	while (r >= 0 && *p != '\0') {
		size_t n = strcspn(p, ",");
		char *item = p, *end = p + n;
		bool last = *end == '\0';

		*end = '\0';
		while (*item == ' ' || *item == '\t')
			item++;
		for (char *e = item + strlen(item);
		     e > item && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (*item != '\0')
			r = expand_target(ctx, item, depth, LOCAL_CLASS_ALIAS,
					  ex);
		if (last)
			break;
		p = end + 1;
	}
	free(copy);
	return r;
}

/* free_list - free a counted list */
static void free_list(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

/* local_alias_lookup - expand address through alias_maps */
int local_alias_lookup(struct local_ctx *ctx, const char *address,
		       char ***targets_r, unsigned **classes_r,
		       struct local_result *res)
{
	const char *at = strrchr(address, '@');
	char *local = at != NULL ? xstrndup(address, (size_t)(at - address))
				 : xstrdup(address);
	struct expansion ex = {0};
	char *value = NULL;
	int r = lookup_name(ctx, local, &value);

	if (r > 0) {
		char *lower = local_base_name(ctx, local);

		r = expand(ctx, lower, value, 1, &ex);
		free(lower);
	}
	free(value);
	free(local);
	free_list(ex.seen, ex.seen_count);
	if (r < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "alias database unavailable");
		free_list(ex.list, ex.count);
		free(ex.classes);
		return -1;
	}
	if (r == 0 && ex.seen_count == 0 && ex.count == 0)
		return 0;
	if (ex.too_deep || ex.overflow || ex.count == 0) {
		log_warn("alias expansion of %s: %s", address,
			 ex.too_deep   ? "too deep (a loop?)"
			 : ex.overflow ? "too many addresses"
				       : "no addresses");
		local_result_set(res, LOCAL_BOUNCED, "5.4.6",
				 "alias expansion of %s failed", address);
		free_list(ex.list, ex.count);
		free(ex.classes);
		return -1;
	}
	*targets_r = ex.list;
	*classes_r = ex.classes;
	return 1;
}
