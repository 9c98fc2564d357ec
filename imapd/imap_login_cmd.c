/*
 * imap_login_cmd - the commands of the not-authenticated state
 *
 * SYNOPSIS
 *	#include "imap_login.h"
 *
 *	const char *imap_login_capability(const struct imap_login_session *s);
 *	void imap_login_cmd_dispatch(struct imap_login_session *s,
 *				     const struct imap_command *cmd);
 *
 * DESCRIPTION
 *	RFC 9051 §6.1 (any state: CAPABILITY, NOOP, LOGOUT), §6.2 (not
 *	authenticated: STARTTLS, AUTHENTICATE, LOGIN) and RFC 2971 ID.
 *	Everything else is "BAD" and counts as an invalid command.
 *
 *	Capabilities before login: IMAP4rev2 IMAP4rev1 SASL-IR LITERAL+ ID
 *	ENABLE IDLE (what the post-login server offers, as Dovecot's
 *	imap-login lists them), STARTTLS while TLS is possible and not
 *	active, and AUTH=PLAIN AUTH=LOGIN when a login is allowed now, else
 *	LOGINDISABLED (RFC 9051 §7.2.2).
 *
 *	ID: the client's list is checked against RFC 2971 §3.3 (at most 30
 *	pairs, field names of 30 octets, values of 1024) and not logged;
 *	the answer names the server: * ID ("name" "Facteur").
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "imap_login.h"
#include "imap_parser.h"

/* imap_login_capability - what this session may do now */
const char *imap_login_capability(const struct imap_login_session *s)
{
	static char buf[160];
	bool secure = s->tls_active || s->tls_handshake;

	snprintf(buf, sizeof(buf),
		 "IMAP4rev2 IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE%s%s",
		 s->il->tls != NULL && !secure ? " STARTTLS" : "",
		 imap_login_auth_allowed(s) || secure ? " AUTH=PLAIN AUTH=LOGIN"
						      : " LOGINDISABLED");
	return buf;
}

/* id_string_ok - an ID field or value: a string, or NIL for a value */
static bool id_string_ok(const struct imap_arg *arg, bool value)
{
	switch (arg->type) {
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		return arg->len <= (value ? IMAP_LOGIN_ID_VALUE_MAX
					  : IMAP_LOGIN_ID_FIELD_MAX);
	case IMAP_ARG_NIL:
		return value;
	default:
		return false;
	}
}

/* cmd_id - RFC 2971: ID (NIL | "(" *(string SP nstring) ")") */
static void cmd_id(struct imap_login_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *a = cmd->args;
	bool ok = cmd->args_count == 1;

	if (ok && a->type == IMAP_ARG_LIST) {
		ok = a->list_count % 2 == 0 &&
		     a->list_count <= 2 * IMAP_LOGIN_ID_PAIRS_MAX;
		for (size_t i = 0; ok && i < a->list_count; i++)
			ok = id_string_ok(&a->list[i], i % 2 == 1);
	} else if (ok) {
		ok = a->type == IMAP_ARG_NIL;
	}
	if (!ok) {
		imap_login_reply(s, "%s BAD Invalid ID parameters.", cmd->tag);
		imap_login_session_bad(s);
		return;
	}
	imap_login_reply(s, "* ID (\"name\" \"Facteur\")");
	imap_login_reply(s, "%s OK ID completed.", cmd->tag);
}

/* cmd_starttls - RFC 9051 §6.2.1 */
static void cmd_starttls(struct imap_login_session *s,
			 const struct imap_command *cmd)
{
	if (s->tls_active || s->tls_handshake) {
		imap_login_reply(s, "%s BAD TLS is already active.", cmd->tag);
		imap_login_session_bad(s);
		return;
	}
	if (s->il->tls == NULL) {
		imap_login_reply(s, "%s BAD TLS support isn't enabled.",
				 cmd->tag);
		imap_login_session_bad(s);
		return;
	}
	/* The OK goes out in plaintext, before the filter takes over. */
	imap_login_reply(s, "%s OK Begin TLS negotiation now.", cmd->tag);
	imap_login_session_starttls(s);
}

/* imap_login_cmd_dispatch - one complete command */
void imap_login_cmd_dispatch(struct imap_login_session *s,
			     const struct imap_command *cmd)
{
	const char *name = cmd->name;
	bool no_args = cmd->args_count == 0;

	if (strcmp(name, "CAPABILITY") == 0 && no_args) {
		imap_login_reply(s, "* CAPABILITY %s",
				 imap_login_capability(s));
		imap_login_reply(s,
				 "%s OK Pre-login capabilities listed, "
				 "post-login capabilities have more.",
				 cmd->tag);
	} else if (strcmp(name, "NOOP") == 0 && no_args) {
		imap_login_reply(s, "%s OK NOOP completed.", cmd->tag);
	} else if (strcmp(name, "LOGOUT") == 0 && no_args) {
		imap_login_reply(s, "* BYE Logging out");
		imap_login_reply(s, "%s OK Logout completed.", cmd->tag);
		imap_login_session_close(s, s->auth_attempts ? NULL
							     : "logged out");
	} else if (strcmp(name, "ID") == 0) {
		cmd_id(s, cmd);
	} else if (strcmp(name, "STARTTLS") == 0 && no_args) {
		cmd_starttls(s, cmd);
	} else if (strcmp(name, "LOGIN") == 0) {
		imap_login_auth_login(s, cmd);
	} else if (strcmp(name, "AUTHENTICATE") == 0) {
		imap_login_auth_authenticate(s, cmd);
	} else if (strcmp(name, "CAPABILITY") == 0 ||
		   strcmp(name, "NOOP") == 0 || strcmp(name, "LOGOUT") == 0 ||
		   strcmp(name, "STARTTLS") == 0) {
		imap_login_reply(s, "%s BAD Unexpected arguments.", cmd->tag);
		imap_login_session_bad(s);
	} else {
		/* SELECT, ENABLE, ...: only after authentication. */
		imap_login_reply(s,
				 "%s BAD Unknown command or not permitted "
				 "before authentication.",
				 cmd->tag);
		imap_login_session_bad(s);
	}
}
