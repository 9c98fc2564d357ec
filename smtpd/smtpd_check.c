/*
 * smtpd_check - access policy: mynetworks, relay control, recipients
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	int smtpd_check_init(struct smtpd *sd, const char **error_r);
 *	int smtpd_check_rcpt(struct smtpd_session *s,
 *			     const struct smtp_addr *rcpt,
 *			     struct strbuf *reply);
 *	bool smtpd_check_mynetworks(const struct smtpd_session *s);
 *
 * DESCRIPTION
 *	At RCPT, smtpd_relay_restrictions and then
 *	smtpd_recipient_restrictions are evaluated as in Postfix: each list
 *	is read left to right and the first item that decides (permit or
 *	reject) ends that list; a list that ends without a decision
 *	permits.  Items:
 *
 *	  permit_mynetworks		the client is in mynetworks
 *	  permit_sasl_authenticated	the client authenticated
 *	  reject_unauth_destination	554 5.7.1 "Relay access denied"
 *					unless the domain is ours
 *	  permit, reject		unconditionally
 *	  check_client_access type:name	the client address, then its
 *					shorter IPv4 prefixes (1.2.3, 1.2, 1)
 *	  check_sender_access type:name	the address (<> for the null
 *	  check_recipient_access ...	sender), its domain and parent
 *					domains, then "localpart@"
 *
 *	Access table values, as Postfix's access(5): OK or PERMIT; DUNNO;
 *	REJECT [text] (554 5.7.1); a 4xx or 5xx code [x.y.z] [text].
 *	Anything else is a configuration error (451 4.3.5); a table that
 *	cannot be read is a temporary failure (451 4.3.0).
 *
 *	Then, for a domain that is ours (LOCAL or VIRTUAL per resolve.h),
 *	an unknown recipient is refused with 550 5.1.1, like Postfix's
 *	local_recipient_maps / virtual_mailbox_maps checks; a lookup that
 *	fails temporarily gives 451 4.3.0 so the client tries again.
 *
 *	Every refusal is logged once in Postfix's shape:
 *	"ID: reject: RCPT from host[addr]: 554 5.7.1 <x@y>: Relay access
 *	denied; from=<a> to=<x@y> proto=ESMTP helo=<h>" (NOQUEUE until a
 *	recipient was accepted, as in Postfix).
 *
 * DIAGNOSTICS
 *	smtpd_check_init() fails on an unknown restriction or a bad
 *	mynetworks entry; the daemon makes that fatal at start-up.
 *
 * SECURITY
 *	Addresses come from the parser (bounded, no NUL); only the resolver
 *	looks them up.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "maps.h"
#include "cidr.h"
#include "config.h"
#include "log.h"
#include "resolve.h"
#include "smtpd.h"

enum check_result {
	CHECK_DUNNO,
	CHECK_PERMIT,
	CHECK_REJECT,
};

static const char *const check_known[] = {
	"permit_mynetworks",
	"permit_sasl_authenticated",
	"reject_unauth_destination",
	"permit",
	"reject",
	NULL,
};

/* One table named by a check_*_access item, opened at start-up. */
struct smtpd_access {
	char *spec;
	struct maps_table *table;
};

/* check_is_access - item takes a table argument */
static bool check_is_access(const char *item)
{
	return strcmp(item, "check_client_access") == 0 ||
	       strcmp(item, "check_sender_access") == 0 ||
	       strcmp(item, "check_recipient_access") == 0;
}

/* check_access_open - open spec once per process */
static int check_access_open(struct smtpd *sd, const char *spec,
			     const char **error_r)
{
	static char buf[300];
	struct maps_table *t;
	const char *err;

	for (size_t i = 0; i < sd->access_count; i++)
		if (strcmp(sd->access[i].spec, spec) == 0)
			return 0;
	if ((t = maps_open(spec, 0, &err)) == NULL) {
		snprintf(buf, sizeof(buf), "%s", err);
		*error_r = buf;
		return -1;
	}
	sd->access = xreallocarray(sd->access, sd->access_count + 1,
				   sizeof(*sd->access));
	sd->access[sd->access_count].spec = xstrdup(spec);
	sd->access[sd->access_count].table = t;
	sd->access_count++;
	return 0;
}

/* check_access_table - the table opened for spec */
static struct maps_table *check_access_table(struct smtpd *sd, const char *spec)
{
	for (size_t i = 0; i < sd->access_count; i++)
		if (strcmp(sd->access[i].spec, spec) == 0)
			return sd->access[i].table;
	log_panic("access table %s was not opened", spec);
}

/* check_list_valid - every item is one we know; open the tables */
static int check_list_valid(struct smtpd *sd, const char *const *list,
			    const char **error_r)
{
	static char buf[160];

	for (; list && *list; list++) {
		bool found = false;

		if (check_is_access(*list)) {
			if (list[1] == NULL) {
				snprintf(buf, sizeof(buf),
					 "%s needs a table argument", *list);
				*error_r = buf;
				return -1;
			}
			list++;
			if (check_access_open(sd, *list, error_r) < 0)
				return -1;
			continue;
		}
		for (size_t i = 0; check_known[i]; i++)
			if (strcmp(*list, check_known[i]) == 0)
				found = true;
		if (!found) {
			snprintf(buf, sizeof(buf),
				 "unknown smtpd restriction \"%.100s\"", *list);
			*error_r = buf;
			return -1;
		}
	}
	return 0;
}

/* smtpd_check_init - parse mynetworks, validate restrictions */
int smtpd_check_init(struct smtpd *sd, const char **error_r)
{
	size_t n;
	const char *const *nets = config_list(sd->cfg, "mynetworks", &n);
	static char buf[200];

	sd->mynetworks = xcalloc(n ? n : 1, sizeof(*sd->mynetworks));
	for (size_t i = 0; i < n; i++) {
		const char *err;

		if (cidr_parse(nets[i], &sd->mynetworks[i], &err) < 0) {
			snprintf(buf, sizeof(buf), "mynetworks: %.80s: %s",
				 nets[i], err);
			*error_r = buf;
			return -1;
		}
	}
	sd->mynetworks_count = n;
	if (check_list_valid(sd, sd->set.relay_restrictions, error_r) < 0 ||
	    check_list_valid(sd, sd->set.recipient_restrictions, error_r) < 0)
		return -1;
	return 0;
}

/* smtpd_check_deinit - close the tables */
void smtpd_check_deinit(struct smtpd *sd)
{
	for (size_t i = 0; i < sd->access_count; i++) {
		maps_close(&sd->access[i].table);
		free(sd->access[i].spec);
	}
	free(sd->access);
	sd->access = NULL;
	sd->access_count = 0;
	free(sd->mynetworks);
	sd->mynetworks = NULL;
}

/* check_access_action - apply one table value (access(5)) */
static enum check_result check_access_action(const char *value,
					     const char *what, const char *key,
					     struct strbuf *reply)
{
	size_t n = strcspn(value, " \t");
	const char *text = value + n + strspn(value + n, " \t");

	if ((n == 2 && strncasecmp(value, "OK", 2) == 0) ||
	    (n == 6 && strncasecmp(value, "PERMIT", 6) == 0))
		return CHECK_PERMIT;
	if (n == 5 && strncasecmp(value, "DUNNO", 5) == 0)
		return CHECK_DUNNO;
	if (n == 6 && strncasecmp(value, "REJECT", 6) == 0) {
		strbuf_appendf(reply, "554 5.7.1 <%s>: %s rejected: %.200s",
			       key, what, *text ? text : "Access denied");
		return CHECK_REJECT;
	}
	if (n == 3 && (value[0] == '4' || value[0] == '5') &&
	    isdigit((unsigned char)value[1]) &&
	    isdigit((unsigned char)value[2])) {
		size_t dn = strcspn(text, " \t");
		bool has_dsn = dn >= 5 && text[0] == value[0] && text[1] == '.';
		const char *rest =
			has_dsn ? text + dn + strspn(text + dn, " \t") : text;

		strbuf_appendf(
			reply, "%.3s %.*s%s <%s>: %s rejected: %.200s", value,
			has_dsn ? (int)dn : 0, has_dsn ? text : "",
			has_dsn ? "" : (value[0] == '4' ? "4.7.1" : "5.7.1"),
			key, what, *rest ? rest : "Access denied");
		return CHECK_REJECT;
	}
	log_warn("access table value \"%.100s\" for %s is not supported", value,
		 key);
	strbuf_appendf(reply,
		       "451 4.3.5 <%s>: %s rejected: Server "
		       "configuration error",
		       key, what);
	return CHECK_REJECT;
}

/* check_access_lookup - one key; DUNNO when absent */
static int check_access_lookup(struct maps_table *t, const char *key,
			       const char **value_r)
{
	char lower[SMTP_ADDR_PATH_MAX + 1];
	const char *err;
	size_t i;
	int r;

	for (i = 0; key[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)key[i]);
	lower[i] = '\0';
	r = maps_lookup(t, lower, value_r, &err);
	if (r < 0)
		log_warn("access lookup of %s: %s", lower, err);
	return r;
}

/* check_access - check_{client,sender,recipient}_access */
static enum check_result check_access(struct smtpd_session *s, const char *item,
				      const char *spec,
				      const struct smtp_addr *rcpt,
				      struct strbuf *reply)
{
	struct maps_table *t = check_access_table(s->sd, spec);
	char keys[8][SMTP_ADDR_PATH_MAX + 1];
	const char *what, *shown, *value = NULL;
	size_t nkeys = 0;
	int r = 0;

	if (strcmp(item, "check_client_access") == 0) {
		char *dot;

		what = "Client host";
		shown = smtpd_session_client(s);
		snprintf(keys[nkeys++], sizeof(keys[0]), "%s", s->addr);
		/* IPv4: 192.0.2.7, 192.0.2, 192.0, 192. */
		if (strchr(s->addr, ':') == NULL)
			while (nkeys < 4 &&
			       (dot = strrchr(keys[nkeys - 1], '.')) != NULL) {
				snprintf(keys[nkeys], sizeof(keys[0]), "%.*s",
					 (int)(dot - keys[nkeys - 1]),
					 keys[nkeys - 1]);
				nkeys++;
			}
	} else {
		const char *addr, *at, *d;

		if (strcmp(item, "check_sender_access") == 0) {
			what = "Sender address";
			addr = s->sender;
		} else {
			what = "Recipient address";
			addr = rcpt->addr;
		}
		shown = addr;
		if (*addr == '\0') {
			snprintf(keys[nkeys++], sizeof(keys[0]), "<>");
		} else {
			snprintf(keys[nkeys++], sizeof(keys[0]), "%s", addr);
			at = strrchr(addr, '@');
			/* The domain, then its parents. */
			for (d = at ? at + 1 : NULL; d && *d && nkeys < 7;) {
				snprintf(keys[nkeys++], sizeof(keys[0]), "%s",
					 d);
				d = strchr(d, '.');
				if (d)
					d++;
			}
			if (at)
				snprintf(keys[nkeys++], sizeof(keys[0]),
					 "%.*s@", (int)(at - addr + 0), addr);
		}
	}
	for (size_t i = 0; i < nkeys; i++) {
		if ((r = check_access_lookup(t, keys[i], &value)) != 0)
			break;
	}
	if (r < 0) {
		strbuf_appendf(reply,
			       "451 4.3.0 <%s>: %s rejected: Temporary "
			       "lookup failure",
			       shown, what);
		return CHECK_REJECT;
	}
	if (r == 0)
		return CHECK_DUNNO;
	return check_access_action(value, what, shown, reply);
}

/* smtpd_check_mynetworks - whether the client is in mynetworks */
bool smtpd_check_mynetworks(const struct smtpd_session *s)
{
	return cidr_match_text(s->sd->mynetworks, s->sd->mynetworks_count,
			       s->addr);
}

/* check_domain_ours - the recipient's domain is one we deliver */
static bool check_domain_ours(struct smtpd_session *s,
			      const struct smtp_addr *rcpt)
{
	if (rcpt->postmaster || rcpt->domain[0] == '\0')
		return true;
	return resolver_domain_is_ours(s->sd->resolver, rcpt->domain);
}

/* check_list - evaluate one restriction list */
static enum check_result check_list(struct smtpd_session *s,
				    const char *const *list,
				    const struct smtp_addr *rcpt,
				    struct strbuf *reply)
{
	for (; list && *list; list++) {
		const char *item = *list;

		if (check_is_access(item)) {
			enum check_result r;

			list++; /* the table, checked at start-up */
			r = check_access(s, item, *list, rcpt, reply);
			if (r != CHECK_DUNNO)
				return r;
		} else if (strcmp(item, "permit_mynetworks") == 0) {
			if (smtpd_check_mynetworks(s))
				return CHECK_PERMIT;
		} else if (strcmp(item, "permit_sasl_authenticated") == 0) {
			if (s->sasl_user)
				return CHECK_PERMIT;
		} else if (strcmp(item, "reject_unauth_destination") == 0) {
			if (!check_domain_ours(s, rcpt)) {
				strbuf_appendf(reply,
					       "554 5.7.1 <%s>: Relay access "
					       "denied",
					       rcpt->addr);
				return CHECK_REJECT;
			}
		} else if (strcmp(item, "permit") == 0) {
			return CHECK_PERMIT;
		} else if (strcmp(item, "reject") == 0) {
			strbuf_appendf(reply,
				       "554 5.7.1 <%s>: Recipient address "
				       "rejected: Access denied",
				       rcpt->addr);
			return CHECK_REJECT;
		}
	}
	return CHECK_DUNNO;
}

/* check_recipient_exists - 550 5.1.1 for unknown users of our domains */
static int check_recipient_exists(struct smtpd_session *s,
				  const struct smtp_addr *rcpt,
				  struct strbuf *reply)
{
	enum resolve_class cls;
	const char *err = NULL;
	int r;

	if (rcpt->postmaster)
		return 0;
	cls = resolver_class(s->sd->resolver, rcpt->addr);
	if (cls == RESOLVE_RELAY)
		return 0;
	r = resolver_recipient_exists(s->sd->resolver, rcpt->addr, &err);
	if (r > 0)
		return 0;
	if (r < 0) {
		log_warn("recipient lookup for <%s>: %s", rcpt->addr,
			 err ? err : "temporary failure");
		strbuf_appendf(reply,
			       "451 4.3.0 <%s>: Temporary lookup failure",
			       rcpt->addr);
		return -1;
	}
	strbuf_appendf(reply,
		       "550 5.1.1 <%s>: Recipient address rejected: User "
		       "unknown in %s",
		       rcpt->addr,
		       cls == RESOLVE_LOCAL ? "local recipient table"
					    : "virtual mailbox table");
	return -1;
}

/* smtpd_check_rcpt - all recipient checks; log a refusal */
int smtpd_check_rcpt(struct smtpd_session *s, const struct smtp_addr *rcpt,
		     struct strbuf *reply)
{
	const struct smtpd_settings *set = &s->sd->set;

	if (check_list(s, set->relay_restrictions, rcpt, reply) ==
		    CHECK_REJECT ||
	    check_list(s, set->recipient_restrictions, rcpt, reply) ==
		    CHECK_REJECT ||
	    check_recipient_exists(s, rcpt, reply) < 0) {
		log_info("%s: reject: RCPT from %s: %s; from=<%s> to=<%s> "
			 "proto=%s helo=<%s>",
			 smtpd_queue_log_id(s), smtpd_session_client(s),
			 reply->data, s->sender, rcpt->addr,
			 smtpd_cmd_protocol(s), s->helo);
		return -1;
	}
	return 0;
}
