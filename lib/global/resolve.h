/*
 * resolve - where an address goes: local, virtual mailbox, or relay
 *
 * Shared by smtpd (is this recipient ours, does it exist?), qmgr (which
 * transport delivers it) and local (whose mailbox is it).  Rules, as in
 * Postfix's trivial-rewrite and local_recipient_maps:
 *
 *   - the domain part is compared case-insensitively; an address without
 *     a domain is local (it came from sendmail without myorigin appended);
 *   - LOCAL when the domain is in mydestination (after $name expansion);
 *   - VIRTUAL when it is in virtual_mailbox_domains;
 *   - RELAY otherwise (transport smtp, delivered by the outbound issue).
 *
 * Whether a recipient exists:
 *   - LOCAL: "postmaster" always; else the local part (minus any
 *     recipient_delimiter extension) is a key of alias_maps, or a system
 *     account (getpwnam), or user@domain in auth_passwd_file;
 *   - VIRTUAL: the address (or @domain catch-all) is in virtual_alias_maps,
 *     virtual_mailbox_maps, or auth_passwd_file.
 * auth_passwd_file is asked of auth's userdb service (userdb.h), never
 * read here.
 * A map that cannot be read is a temporary failure (-1), never "unknown".
 */
#ifndef FACTEUR_RESOLVE_H
#define FACTEUR_RESOLVE_H

#include <stdbool.h>

struct config;
struct resolver;

enum resolve_class {
	RESOLVE_LOCAL,
	RESOLVE_VIRTUAL,
	RESOLVE_RELAY,
};

/* Opens the maps named by the parameters; NULL with *error_r. */
struct resolver *resolver_create(const struct config *cfg,
				 const char **error_r);
void resolver_free(struct resolver **resp);

enum resolve_class resolver_class(struct resolver *res, const char *address);
/* 1 exists, 0 unknown, -1 temporary failure (*error_r). */
int resolver_recipient_exists(struct resolver *res, const char *address,
			      const char **error_r);
/* Whether the domain (no '@') is one we deliver (LOCAL or VIRTUAL). */
bool resolver_domain_is_ours(struct resolver *res, const char *domain);

#endif
