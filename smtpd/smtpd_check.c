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
 *
 *	Then, for a domain that is ours (LOCAL or VIRTUAL per resolve.h),
 *	an unknown recipient is refused with 550 5.1.1, like Postfix's
 *	local_recipient_maps / virtual_mailbox_maps checks; a lookup that
 *	fails temporarily gives 451 4.3.0 so the client tries again.
 *
 *	Every refusal is logged once in Postfix's shape:
 *	"ID: reject: RCPT from host[addr]: 554 5.7.1 <x@y>: Relay access
 *	denied; from=<a> to=<x@y> proto=ESMTP helo=<h>" (NOQUEUE before a
 *	queue file exists).
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

#include <stdio.h>
#include <string.h>

#include "alloc.h"
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

/* check_list_valid - every item is one we know */
static int check_list_valid(const char *const *list, const char **error_r)
{
	static char buf[160];

	for (; list && *list; list++) {
		bool found = false;
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
	if (check_list_valid(sd->set.relay_restrictions, error_r) < 0 ||
	    check_list_valid(sd->set.recipient_restrictions, error_r) < 0)
		return -1;
	return 0;
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

		if (strcmp(item, "permit_mynetworks") == 0) {
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
			 s->queue_id[0] ? s->queue_id : "NOQUEUE",
			 smtpd_session_client(s), reply->data, s->sender,
			 rcpt->addr, smtpd_cmd_protocol(s), s->helo);
		return -1;
	}
	return 0;
}
