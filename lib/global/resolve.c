/*
 * resolve - where an address goes: local, virtual mailbox, or relay
 *
 * SYNOPSIS
 *	#include "resolve.h"
 *
 *	struct resolver *resolver_create(const struct config *cfg,
 *					 const char **error_r);
 *	void resolver_free(struct resolver **resp);
 *	enum resolve_class resolver_class(struct resolver *res,
 *					  const char *address);
 *	int resolver_recipient_exists(struct resolver *res,
 *				      const char *address,
 *				      const char **error_r);
 *	bool resolver_domain_is_ours(struct resolver *res,
 *				     const char *domain);
 *
 * DESCRIPTION
 *	The rules are in resolve.h.  mydestination and
 *	virtual_mailbox_domains are read once, lowercased, without a
 *	trailing dot.  The tables (alias_maps, virtual_alias_maps,
 *	virtual_mailbox_maps) are opened on first use and kept: a table
 *	that cannot be opened (Postfix's default alias_maps names
 *	/etc/aliases.db, which may not exist) is a temporary failure of
 *	that lookup, and the next lookup tries to open it again, so fixing
 *	the file needs no restart.  auth_passwd_file is never opened here:
 *	when it is set, its users are asked of auth's userdb service
 *	(userdb_client.h), and a service that cannot answer is a temporary
 *	failure like an unreadable table.
 *
 *	Besides the rules of resolve.h, a LOCAL recipient also exists when
 *	virtual_alias_maps has it: qmgr rewrites it before delivery, as
 *	Postfix's smtpd accepts any recipient that virtual_alias_maps lists.
 *
 * DIAGNOSTICS
 *	resolver_create() fails only for a malformed table name.  Lookup
 *	failures return -1 with *error_r ("alias_maps: open database
 *	/etc/aliases.db: No such file or directory"), valid until the next
 *	call on the resolver.  Nothing here logs or exits.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "maps.h"
#include "resolve.h"
#include "strbuf.h"
#include "userdb_client.h"

/* One table of a list parameter, opened on demand. */
struct resolve_map {
	char *spec;
	unsigned int flags;
	struct maps_table *table;
};

struct resolve_maps {
	const char *param;
	struct resolve_map *maps;
	size_t count;
};

struct resolver {
	char **mydestination;
	size_t mydestination_count;
	char **virtual_domains;
	size_t virtual_domain_count;
	struct resolve_maps alias_maps;
	struct resolve_maps virtual_alias_maps;
	struct resolve_maps virtual_mailbox_maps;
	struct userdb_client *userdb; /* NULL: no auth_passwd_file */
	char *delimiters;
	struct strbuf error;
};

/* lower_copy - a lowercased (ASCII) copy without a trailing dot */
static char *lower_copy(const char *s)
{
	char *copy = xstrdup(s);
	size_t len = strlen(copy);

	for (size_t i = 0; i < len; i++)
		copy[i] = (char)tolower((unsigned char)copy[i]);
	if (len > 1 && copy[len - 1] == '.')
		copy[len - 1] = '\0';
	return copy;
}

/* domain_list - a list parameter's items, lowercased */
static char **domain_list(const struct config *cfg, const char *name,
			  size_t *count_r)
{
	size_t count;
	const char *const *items = config_list(cfg, name, &count);
	char **out = xcalloc(count + 1, sizeof(*out));

	for (size_t i = 0; i < count; i++)
		out[i] = lower_copy(items[i]);
	*count_r = count;
	return out;
}

/* maps_init - remember the tables a list parameter names */
static int maps_init(struct resolve_maps *m, const struct config *cfg,
		     const char *name, unsigned int flags, const char **error_r)
{
	size_t count;
	const char *const *items = config_list(cfg, name, &count);

	m->param = name;
	m->maps = xcalloc(count + 1, sizeof(*m->maps));
	for (size_t i = 0; i < count; i++) {
		const char *colon = strchr(items[i], ':');

		if (colon == NULL || colon == items[i] || colon[1] == '\0') {
			*error_r = "malformed table name: expected type:name";
			return -1;
		}
		m->maps[i].spec = xstrdup(items[i]);
		m->maps[i].flags = flags;
		m->count++;
	}
	return 0;
}

/* maps_release - close a parameter's tables */
static void maps_release(struct resolve_maps *m)
{
	for (size_t i = 0; i < m->count; i++) {
		maps_close(&m->maps[i].table);
		free(m->maps[i].spec);
	}
	free(m->maps);
	m->maps = NULL;
	m->count = 0;
}

/* free_list - free a NULL-terminated list */
static void free_list(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

/* resolver_create - read the parameters; tables open on first use */
struct resolver *resolver_create(const struct config *cfg, const char **error_r)
{
	struct resolver *res = xcalloc(1, sizeof(*res));
	const char *pf = config_str(cfg, "auth_passwd_file");

	strbuf_init(&res->error, STRBUF_NO_LIMIT);
	res->mydestination =
		domain_list(cfg, "mydestination", &res->mydestination_count);
	res->virtual_domains = domain_list(cfg, "virtual_mailbox_domains",
					   &res->virtual_domain_count);
	res->delimiters = xstrdup(config_str(cfg, "recipient_delimiter"));
	/* Only auth reads the file: we ask its userdb service. */
	if (pf[0] != '\0')
		res->userdb = userdb_client_create(
			config_str(cfg, "queue_directory"));
	if (maps_init(&res->alias_maps, cfg, "alias_maps", MAPS_ALIASES,
		      error_r) < 0 ||
	    maps_init(&res->virtual_alias_maps, cfg, "virtual_alias_maps", 0,
		      error_r) < 0 ||
	    maps_init(&res->virtual_mailbox_maps, cfg, "virtual_mailbox_maps",
		      0, error_r) < 0) {
		resolver_free(&res);
		return NULL;
	}
	return res;
}

/* resolver_free - close everything; *resp = NULL */
void resolver_free(struct resolver **resp)
{
	struct resolver *res = *resp;

	if (res == NULL)
		return;
	free_list(res->mydestination);
	free_list(res->virtual_domains);
	maps_release(&res->alias_maps);
	maps_release(&res->virtual_alias_maps);
	maps_release(&res->virtual_mailbox_maps);
	userdb_client_free(&res->userdb);
	free(res->delimiters);
	strbuf_release(&res->error);
	free(res);
	*resp = NULL;
}

/* set_error - format the error text the caller gets */
static const char *set_error(struct resolver *res, const char *what,
			     const char *why)
{
	strbuf_reset(&res->error);
	strbuf_appendf(&res->error, "%s: %s", what, why);
	return strbuf_cstr(&res->error);
}

/* in_list - whether domain (lowercase) is one of list */
static bool in_list(char **list, size_t count, const char *domain)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(list[i], domain) == 0)
			return true;
	return false;
}

/* resolver_domain_is_ours - LOCAL or VIRTUAL domain */
bool resolver_domain_is_ours(struct resolver *res, const char *domain)
{
	char *d = lower_copy(domain);
	bool ours = in_list(res->mydestination, res->mydestination_count, d) ||
		    in_list(res->virtual_domains, res->virtual_domain_count, d);

	free(d);
	return ours;
}

/* resolver_class - LOCAL, VIRTUAL or RELAY */
enum resolve_class resolver_class(struct resolver *res, const char *address)
{
	const char *at = strrchr(address, '@');
	enum resolve_class cls;
	char *d;

	if (at == NULL || at[1] == '\0')
		return RESOLVE_LOCAL;
	d = lower_copy(at + 1);
	if (in_list(res->mydestination, res->mydestination_count, d))
		cls = RESOLVE_LOCAL;
	else if (in_list(res->virtual_domains, res->virtual_domain_count, d))
		cls = RESOLVE_VIRTUAL;
	else
		cls = RESOLVE_RELAY;
	free(d);
	return cls;
}

/*
 * maps_find - look key up in each table of m in turn: 1 found, 0 not,
 * -1 a table could not be opened or read (*error_r).
 */
static int maps_find(struct resolver *res, struct resolve_maps *m,
		     const char *key, const char **error_r)
{
	const char *value, *error;

	for (size_t i = 0; i < m->count; i++) {
		struct resolve_map *map = &m->maps[i];
		int r;

		if (map->table == NULL &&
		    (map->table = maps_open(map->spec, map->flags, &error)) ==
			    NULL) {
			*error_r = set_error(res, m->param, error);
			return -1;
		}
		r = maps_lookup(map->table, key, &value, &error);
		if (r < 0) {
			*error_r = set_error(res, m->param, error);
			/* Reopen next time: the file may have been replaced. */
			maps_close(&map->table);
			return -1;
		}
		if (r > 0)
			return 1;
	}
	return 0;
}

/* passwd_find - whether auth's userdb (auth_passwd_file) has user */
static int passwd_find(struct resolver *res, const char *user,
		       const char **error_r)
{
	const struct userdb_entry *entry;
	const char *error;
	int r;

	if (res->userdb == NULL)
		return 0;
	r = userdb_client_lookup(res->userdb, user, &entry, &error);
	if (r < 0)
		*error_r = set_error(res, "auth_passwd_file", error);
	return r;
}

/*
 * strip_extension - local part without its recipient_delimiter
 * extension ("bob+lists" -> "bob"); a delimiter in first position is
 * part of the name, as in Postfix.  Returns a copy.
 */
static char *strip_extension(const struct resolver *res, const char *local)
{
	size_t len = strlen(local);

	if (res->delimiters[0] != '\0' && len > 1) {
		size_t n = strcspn(local + 1, res->delimiters) + 1;

		if (n < len)
			len = n;
	}
	return xstrndup(local, len);
}

/* find_keys - try each key in turn in m; NULL ends the list */
static int find_keys(struct resolver *res, struct resolve_maps *m,
		     const char *const *keys, const char **error_r)
{
	for (; *keys != NULL; keys++) {
		int r = maps_find(res, m, *keys, error_r);

		if (r != 0)
			return r;
	}
	return 0;
}

/* resolver_recipient_exists - 1 exists, 0 unknown, -1 tempfail */
int resolver_recipient_exists(struct resolver *res, const char *address,
			      const char **error_r)
{
	const char *at = strrchr(address, '@');
	char *local, *base, *domain, *full, *base_full, *catchall;
	enum resolve_class cls = resolver_class(res, address);
	int r;

	if (cls == RESOLVE_RELAY)
		return 1; /* not ours to judge */
	local = at != NULL ? xstrndup(address, (size_t)(at - address))
			   : xstrdup(address);
	/* Keys are compared in lower case (maps lowercase, passwd_file
	 * stores lowercased users): local parts are folded as in Postfix. */
	for (char *p = local; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	domain = at != NULL ? lower_copy(at + 1) : xstrdup("");
	base = strip_extension(res, local);
	full = xasprintf("%s@%s", local, domain);
	base_full = xasprintf("%s@%s", base, domain);
	catchall = xasprintf("@%s", domain);
	{
		const char *addr_keys[] = {full, base_full, catchall, NULL};
		const char *local_keys[] = {local, base, NULL};

		if (cls == RESOLVE_LOCAL) {
			if (strcasecmp(base, "postmaster") == 0)
				r = 1;
			else if ((r = find_keys(res, &res->alias_maps,
						local_keys, error_r)) != 0)
				;
			else if ((r = find_keys(res, &res->virtual_alias_maps,
						addr_keys, error_r)) != 0)
				;
			else {
				errno = 0;
				r = getpwnam(base) != NULL;
				if (r == 0)
					r = passwd_find(res,
							at ? base_full : base,
							error_r);
			}
		} else {
			if ((r = find_keys(res, &res->virtual_alias_maps,
					   addr_keys, error_r)) != 0)
				;
			else if ((r = find_keys(res, &res->virtual_mailbox_maps,
						addr_keys, error_r)) != 0)
				;
			else if ((r = passwd_find(res, full, error_r)) == 0)
				r = passwd_find(res, base_full, error_r);
		}
	}
	free(local);
	free(base);
	free(domain);
	free(full);
	free(base_full);
	free(catchall);
	return r;
}
