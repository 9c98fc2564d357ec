/*
 * qmgr_transport - which transport and next hop deliver an address
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_transport_init(struct qmgr *qm);
 *	void qmgr_transport_free(struct qmgr *qm);
 *	void qmgr_transport_route(struct qmgr *qm,
 *				  const struct qmgr_dest *dest,
 *				  struct qmgr_route *route);
 *	void qmgr_route_release(struct qmgr_route *route);
 *
 * DESCRIPTION
 *	The part of Postfix's trivial-rewrite that picks a transport.  The
 *	class of the address (resolve.h) gives the default:
 *
 *	  LOCAL    local_transport    (default "local:$myhostname")
 *	  VIRTUAL  virtual_transport  (default "local": our local delivers
 *				       virtual mailboxes too)
 *	  RELAY    default_transport  (default "smtp"); its next hop is the
 *				       one written in default_transport, else
 *				       relayhost, else the recipient domain
 *
 *	A "transport[:nexthop]" without a next hop gets the recipient
 *	domain.  Then transport_maps may override it, as transport(5)
 *	says; the keys are tried in this order, and the first table entry
 *	found wins:
 *
 *	  user+ext@domain, user@domain (without the recipient_delimiter
 *	  extension), domain, .parent for each parent domain
 *	  ("a.b.example" tries ".b.example" then ".example"), *
 *
 *	A bare "domain" key matches that domain only: Postfix's default,
 *	where parent_domain_matches_subdomains does not list
 *	transport_maps; ".domain" matches its subdomains.  Values:
 *
 *	  transport:nexthop	   deliver through private/transport
 *	  transport:		   the recipient domain as next hop
 *	  :nexthop		   the class's default transport
 *	  :			   no change (relayhost stays), as transport(5)
 *	  error:[5.x.y ]text	   bounce with that text and status (5.0.0
 *				   when none is given; a 4.x.y status defers)
 *	  discard:[text]	   drop, logged as sent with that text
 *
 *	The next hop is passed to the agent as written (smtp: "domain",
 *	"[host]:port", "host:port"; lmtp: "unix:/path", "inet:host:port").
 *
 * DIAGNOSTICS
 *	A bad transport name in main.cf is fatal at start-up.  A table
 *	that cannot be read, or an entry naming an invalid transport,
 *	routes the address to QMGR_ROUTE_DEFER with 4.3.0 and the reason
 *	(logged by the caller as a deferral): it is tried again later.
 *
 * SECURITY
 *	The transport becomes a socket path (private/TRANSPORT), so its
 *	name is checked: [A-Za-z0-9_-], at most QMGR_TRANSPORT_MAX bytes,
 *	never "." or "/".
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maps_list.h"
#include "qmgr.h"
#include "resolve.h"

/* transport_name_valid - usable as private/NAME */
static bool transport_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > QMGR_TRANSPORT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

/* nexthop_valid - printable, no spaces, bounded */
static bool nexthop_valid(const char *s)
{
	size_t len = strlen(s);

	if (len > QMGR_NEXTHOP_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/*
 * parse_default - "transport[:nexthop]" from a main.cf parameter into
 * *transport_r and *nexthop_r (NULL when none); fatal when malformed.
 */
static void parse_default(const struct config *cfg, const char *param,
			  char **transport_r, char **nexthop_r)
{
	const char *value = config_str(cfg, param);
	const char *colon = strchr(value, ':');
	size_t len = colon != NULL ? (size_t)(colon - value) : strlen(value);

	if (!transport_name_valid(value, len))
		log_fatal("%s = %s: expected transport[:nexthop], the "
			  "transport a master.cf service name of "
			  "[A-Za-z0-9_-]",
			  param, value);
	*transport_r = xstrndup(value, len);
	*nexthop_r =
		colon != NULL && colon[1] != '\0' ? xstrdup(colon + 1) : NULL;
	if (*nexthop_r != NULL && !nexthop_valid(*nexthop_r))
		log_fatal("%s = %s: malformed next hop", param, value);
}

/* qmgr_transport_init - read the defaults and open transport_maps */
void qmgr_transport_init(struct qmgr *qm)
{
	const char *relayhost = config_str(qm->cfg, "relayhost");
	const char *const *specs;
	size_t count;

	parse_default(qm->cfg, "local_transport", &qm->local_transport,
		      &qm->local_nexthop);
	parse_default(qm->cfg, "virtual_transport", &qm->virtual_transport,
		      &qm->virtual_nexthop);
	parse_default(qm->cfg, "default_transport", &qm->default_transport,
		      &qm->default_nexthop);
	if (relayhost[0] != '\0') {
		if (!nexthop_valid(relayhost))
			log_fatal("relayhost = %s: malformed", relayhost);
		if (qm->default_nexthop == NULL)
			qm->default_nexthop = xstrdup(relayhost);
	}
	specs = config_list(qm->cfg, "transport_maps", &count);
	qm->transport_maps =
		maps_list_create("transport_maps", specs, count, 0);
}

/* qmgr_transport_free - at exit */
void qmgr_transport_free(struct qmgr *qm)
{
	free(qm->local_transport);
	free(qm->local_nexthop);
	free(qm->virtual_transport);
	free(qm->virtual_nexthop);
	free(qm->default_transport);
	free(qm->default_nexthop);
	maps_list_free(&qm->transport_maps);
}

/* qmgr_route_release - free what a route holds */
void qmgr_route_release(struct qmgr_route *route)
{
	free(route->nexthop);
	route->nexthop = NULL;
}

/* route_defer - the address cannot be routed now (text: why) */
static void route_defer(struct qmgr_route *route, char *text)
{
	free(route->nexthop);
	route->kind = QMGR_ROUTE_DEFER;
	snprintf(route->transport, sizeof(route->transport), "none");
	snprintf(route->dsn, sizeof(route->dsn), "4.3.0");
	route->nexthop = text;
}

/*
 * table_find - transport_maps: the first key that has an entry.
 * 1 found (*value_r, a copy), 0 none, -1 a table failed (*error_r).
 */
static int table_find(struct qmgr *qm, const char *address, const char *domain,
		      char **value_r, const char **error_r)
{
	const char *delims = config_str(qm->cfg, "recipient_delimiter");
	const char *at = strrchr(address, '@');
	const char *value;
	char *keys[4] = {NULL, NULL, NULL, NULL};
	size_t nkeys = 0;
	int r = 0;

	if (maps_list_count(qm->transport_maps) == 0)
		return 0;
	if (at != NULL && at > address) {
		keys[nkeys++] = xstrdup(address);
		if (delims[0] != '\0' && at - address > 1) {
			size_t n = strcspn(address + 1, delims) + 1;

			if (n < (size_t)(at - address))
				keys[nkeys++] = xasprintf("%.*s%s", (int)n,
							  address, at);
		}
	}
	for (size_t i = 0; i < nkeys && r == 0; i++)
		r = maps_list_find(qm->transport_maps, keys[i], &value,
				   error_r);
	/* The domain, then each parent as ".parent". */
	for (const char *d = domain; r == 0 && d != NULL && *d != '\0';) {
		if (d == domain)
			r = maps_list_find(qm->transport_maps, d, &value,
					   error_r);
		else
			r = maps_list_find(qm->transport_maps, d - 1, &value,
					   error_r);
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	if (r == 0)
		r = maps_list_find(qm->transport_maps, "*", &value, error_r);
	if (r > 0)
		*value_r = xstrdup(value);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	return r;
}

/* apply_entry - a transport_maps value over the default route */
static void apply_entry(struct qmgr_route *route, const char *value,
			const char *domain)
{
	const char *colon = strchr(value, ':');
	size_t len = colon != NULL ? (size_t)(colon - value) : strlen(value);
	const char *rest = colon != NULL ? colon + 1 : "";

	if (len == 5 && strncmp(value, "error", 5) == 0) {
		/* "error:5.1.1 text": the status, when given, leads. */
		const char *p = rest;

		free(route->nexthop);
		route->kind = QMGR_ROUTE_ERROR;
		snprintf(route->transport, sizeof(route->transport), "error");
		snprintf(route->dsn, sizeof(route->dsn), "5.0.0");
		if ((p[0] == '4' || p[0] == '5') && p[1] == '.' &&
		    isdigit((unsigned char)p[2])) {
			size_t n = strspn(p, "0123456789.");

			if (n < sizeof(route->dsn) &&
			    (p[n] == ' ' || p[n] == '\0')) {
				snprintf(route->dsn, sizeof(route->dsn), "%.*s",
					 (int)n, p);
				p += n + strspn(p + n, " ");
			}
		}
		route->nexthop = xstrdup(p[0] != '\0' ? p
						      : "mail for this "
							"address is "
							"refused");
		return;
	}
	if (len == 7 && strncmp(value, "discard", 7) == 0) {
		free(route->nexthop);
		route->kind = QMGR_ROUTE_DISCARD;
		snprintf(route->transport, sizeof(route->transport), "discard");
		snprintf(route->dsn, sizeof(route->dsn), "2.0.0");
		route->nexthop = xstrdup(rest[0] != '\0' ? rest : "discarded");
		return;
	}
	if (len > 0) {
		if (!transport_name_valid(value, len)) {
			route_defer(route, xasprintf("transport_maps: invalid "
						     "transport in \"%.200s\"",
						     value));
			return;
		}
		snprintf(route->transport, sizeof(route->transport), "%.*s",
			 (int)len, value);
	}
	if (len > 0 || rest[0] != '\0') {
		free(route->nexthop);
		route->nexthop = xstrdup(rest[0] != '\0' ? rest : domain);
	}
	if (!nexthop_valid(route->nexthop))
		route_defer(route, xasprintf("transport_maps: malformed next "
					     "hop in \"%.200s\"",
					     value));
}

/* qmgr_transport_route - the route of one delivery address */
void qmgr_transport_route(struct qmgr *qm, const struct qmgr_dest *dest,
			  struct qmgr_route *route)
{
	const char *at = strrchr(dest->address, '@');
	const char *transport, *nexthop;
	char *domain, *value = NULL;
	const char *error;
	size_t len;
	int r;

	memset(route, 0, sizeof(*route));
	domain = xstrdup(at != NULL ? at + 1 : "");
	for (char *p = domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	len = strlen(domain);
	if (len > 1 && domain[len - 1] == '.')
		domain[len - 1] = '\0';
	switch (dest->cls) {
	case RESOLVE_LOCAL:
		transport = qm->local_transport;
		nexthop = qm->local_nexthop;
		break;
	case RESOLVE_VIRTUAL:
		transport = qm->virtual_transport;
		nexthop = qm->virtual_nexthop;
		break;
	default:
		transport = qm->default_transport;
		nexthop = qm->default_nexthop;
		break;
	}
	route->kind = QMGR_ROUTE_AGENT;
	route->virtual_mailbox = dest->cls == RESOLVE_VIRTUAL;
	snprintf(route->transport, sizeof(route->transport), "%s", transport);
	route->nexthop = xstrdup(nexthop != NULL ? nexthop : domain);
	r = table_find(qm, dest->address, domain, &value, &error);
	if (r < 0)
		route_defer(route, xstrdup(error));
	else if (r > 0)
		apply_entry(route, value, domain);
	free(value);
	free(domain);
}
