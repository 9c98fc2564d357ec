/*
 * smtpd_cmd - SMTP command dispatch and the session state machine
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_cmd_dispatch(struct smtpd_session *s, const char *line,
 *				size_t len);
 *	const char *smtpd_cmd_protocol(const struct smtpd_session *s);
 *
 * DESCRIPTION
 *	One command line (CRLF stripped) is parsed by lib/proto/smtp_cmd
 *	(pure, total over any bytes), checked against the session state
 *	(enum smtpd_state) and executed.  Replies follow Postfix's wording
 *	with RFC 3463 enhanced status codes:
 *
 *	  503 5.5.1	commands out of sequence (RFC 5321 §4.1.4)
 *	  500 5.5.2	unknown command, NUL or control characters
 *	  501 5.5.4	syntax (501 5.1.7 / 5.1.3 for bad addresses)
 *	  552 5.3.4	SIZE= over message_size_limit (RFC 1870 §6.1)
 *	  452 4.5.3	over smtpd_recipient_limit (RFC 5321 §4.5.3.1.10)
 *	  530 5.7.0	MAIL before STARTTLS at level encrypt (RFC 3207 §4)
 *	  451 4.3.0	queue file errors
 *
 *	VRFY always answers 252 (RFC 5321 §3.5.3: neither confirm nor
 *	deny; harvesting addresses is what VRFY is mostly used for).
 *	AUTH is smtpd_sasl.c.
 *
 * SECURITY
 *	Command lines are untrusted.  Everything taken from them for the
 *	log or a reply is bounded and sanitized (HELO names are printable
 *	ASCII by the parser, cut at 255).
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtp_cmd.h"
#include "smtpd.h"

/* smtpd_cmd_protocol - SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA */
const char *smtpd_cmd_protocol(const struct smtpd_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->tls_active)
		return s->sasl_user ? "ESMTPSA" : "ESMTPS";
	return s->sasl_user ? "ESMTPA" : "ESMTP";
}

/* cmd_count - the counter of a verb */
static enum smtpd_count cmd_count(enum smtp_cmd_verb verb)
{
	switch (verb) {
	case SMTP_CMD_HELO:
		return SMTPD_COUNT_HELO;
	case SMTP_CMD_EHLO:
		return SMTPD_COUNT_EHLO;
	case SMTP_CMD_MAIL:
		return SMTPD_COUNT_MAIL;
	case SMTP_CMD_RCPT:
		return SMTPD_COUNT_RCPT;
	case SMTP_CMD_DATA:
		return SMTPD_COUNT_DATA;
	case SMTP_CMD_BDAT:
		return SMTPD_COUNT_BDAT;
	case SMTP_CMD_RSET:
		return SMTPD_COUNT_RSET;
	case SMTP_CMD_NOOP:
		return SMTPD_COUNT_NOOP;
	case SMTP_CMD_QUIT:
		return SMTPD_COUNT_QUIT;
	case SMTP_CMD_VRFY:
		return SMTPD_COUNT_VRFY;
	case SMTP_CMD_EXPN:
		return SMTPD_COUNT_EXPN;
	case SMTP_CMD_HELP:
		return SMTPD_COUNT_HELP;
	case SMTP_CMD_STARTTLS:
		return SMTPD_COUNT_STARTTLS;
	case SMTP_CMD_AUTH:
		return SMTPD_COUNT_AUTH;
	case SMTP_CMD_UNKNOWN:
		break;
	}
	return SMTPD_COUNT_UNKNOWN;
}

/* cmd_helo - HELO and EHLO: (re)start the session */
static bool cmd_helo(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = &s->sd->set;
	size_t n =
		cmd->arg_len > SMTPD_HELO_MAX ? SMTPD_HELO_MAX : cmd->arg_len;

	/* RFC 5321 §4.1.4: HELO/EHLO also resets the transaction. */
	smtpd_session_reset_txn(s);
	memcpy(s->helo, cmd->arg, n);
	s->helo[n] = '\0';
	s->esmtp = cmd->verb == SMTP_CMD_EHLO;
	s->state = SMTPD_STATE_HELO;
	if (!s->esmtp) {
		smtpd_chat_reply(s, "250 %s", set->hostname);
		return true;
	}
	/* One reply, several lines (RFC 5321 §4.2.1). */
	char size[40] = "SIZE";
	if (set->message_size_limit > 0)
		snprintf(size, sizeof(size), "SIZE %llu",
			 (unsigned long long)set->message_size_limit);
	smtpd_chat_reply(
		s,
		"250-%s\r\n250-PIPELINING\r\n250-%s\r\n%s%s"
		"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
		"250-SMTPUTF8\r\n%s250 CHUNKING",
		set->hostname, size, set->disable_vrfy ? "" : "250-VRFY\r\n",
		s->sd->tls && set->tls_level != SMTPD_TLS_NONE && !s->tls_active
			? "250-STARTTLS\r\n"
			: "",
		smtpd_sasl_offered(s) ? "250-AUTH PLAIN LOGIN\r\n" : "");
	return true;
}

/* cmd_mail - MAIL FROM: start a transaction and its queue file */
static bool cmd_mail(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = &s->sd->set;

	if (s->state == SMTPD_STATE_CONNECT && set->helo_required) {
		smtpd_chat_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return false;
	}
	if (s->state == SMTPD_STATE_MAIL || s->state == SMTPD_STATE_RCPT) {
		smtpd_chat_reply(s, "503 5.5.1 Error: nested MAIL command");
		return false;
	}
	if (set->tls_level == SMTPD_TLS_ENCRYPT && !s->tls_active) {
		smtpd_chat_reply(s, "530 5.7.0 Must issue a STARTTLS command "
				    "first");
		return false;
	}
	if (cmd->mail.has_size && set->message_size_limit > 0 &&
	    cmd->mail.size > set->message_size_limit) {
		smtpd_chat_reply(s, "552 5.3.4 Message size exceeds fixed "
				    "limit");
		return false;
	}
	/* smtpd_client_message_rate_limit: anvil answers later. */
	if (smtpd_anvil_mail(s))
		return false;
	if (cmd->mail.has_auth) {
		/* RFC 4954 §5: ignore AUTH= from an unauthenticated
		 * client; we never trust it. */
	}
	snprintf(s->sender, sizeof(s->sender), "%s", cmd->addr.addr);
	s->smtputf8 = cmd->smtputf8;
	if (smtpd_queue_open(s, cmd) < 0) {
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_session_reset_txn(s);
		return false;
	}
	s->state = SMTPD_STATE_MAIL;
	smtpd_chat_reply(s, "250 2.1.0 Ok");
	return true;
}

/* cmd_rcpt - RCPT TO: policy, then the recipient record */
static bool cmd_rcpt(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	struct strbuf reply;
	bool ok = false;

	if (s->state != SMTPD_STATE_MAIL && s->state != SMTPD_STATE_RCPT) {
		smtpd_chat_reply(s, "503 5.5.1 Error: need MAIL command");
		return false;
	}
	if (s->bdat_used) {
		smtpd_chat_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return false;
	}
	if (s->nrcpt >= s->sd->set.recipient_limit) {
		smtpd_chat_reply(s, "452 4.5.3 Error: too many recipients");
		return false;
	}
	strbuf_init(&reply, 1024);
	if (smtpd_check_rcpt(s, &cmd->addr, &reply) < 0) {
		smtpd_chat_reply(s, "%s", reply.data);
	} else if (smtpd_queue_rcpt(s, cmd) < 0) {
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		if (s->nrcpt++ == 0)
			snprintf(s->first_rcpt, sizeof(s->first_rcpt), "%s",
				 cmd->addr.addr);
		s->state = SMTPD_STATE_RCPT;
		smtpd_chat_reply(s, "250 2.1.5 Ok");
		ok = true;
	}
	strbuf_release(&reply);
	return ok;
}

/* cmd_data_ok - the state allows content (DATA or BDAT) */
static bool cmd_data_ok(struct smtpd_session *s)
{
	if (s->state == SMTPD_STATE_MAIL) {
		smtpd_chat_reply(s, "554 5.5.1 Error: no valid recipients");
		return false;
	}
	if (s->state != SMTPD_STATE_RCPT) {
		smtpd_chat_reply(s, "503 5.5.1 Error: need RCPT command");
		return false;
	}
	return true;
}

/* cmd_data - DATA: Received header, then "354" and content */
static bool cmd_data(struct smtpd_session *s)
{
	if (!cmd_data_ok(s))
		return false;
	if (s->bdat_used) {
		smtpd_chat_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return false;
	}
	if (smtpd_queue_begin_content(s) < 0) {
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_session_reset_txn(s);
		return false;
	}
	smtpd_chat_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtpd_data_start(s);
	return true;
}

/* cmd_bdat - BDAT n [LAST] (RFC 3030): the chunk is read either way */
static bool cmd_bdat(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	bool ok = cmd_data_ok(s);

	if (ok && !s->content_started && smtpd_queue_begin_content(s) < 0) {
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_session_reset_txn(s);
		ok = false;
	}
	/* RFC 3030 §2: a refused BDAT's octets are still read, so that
	 * they are not taken for commands. */
	smtpd_bdat_start(s, cmd->bdat.size, cmd->bdat.last, !ok);
	if (ok)
		s->bdat_used = true;
	return ok;
}

/* cmd_starttls - STARTTLS (RFC 3207) */
static bool cmd_starttls(struct smtpd_session *s)
{
	if (s->sd->tls == NULL || s->sd->set.tls_level == SMTPD_TLS_NONE) {
		smtpd_chat_reply(s, "502 5.5.1 Error: command not "
				    "implemented");
		return false;
	}
	if (s->tls_active) {
		smtpd_chat_reply(s, "554 5.5.1 Error: TLS already active");
		return false;
	}
	if (s->state == SMTPD_STATE_MAIL || s->state == SMTPD_STATE_RCPT) {
		smtpd_chat_reply(s, "503 5.5.1 Error: MAIL transaction in "
				    "progress");
		return false;
	}
	smtpd_chat_reply(s, "220 2.0.0 Ready to start TLS");
	smtpd_session_starttls(s);
	return true;
}

/* cmd_error_text - the reply text for a parse error */
static const char *cmd_error_text(const struct smtp_cmd *cmd)
{
	switch (cmd->error) {
	case SMTP_CMD_ERR_SYNTAX:
	case SMTP_CMD_ERR_NO_ARGS:
	case SMTP_CMD_ERR_PARAM_SYNTAX:
	case SMTP_CMD_ERR_PARAM_VALUE:
		if (cmd->detail)
			return cmd->detail;
		break;
	default:
		break;
	}
	return smtp_cmd_error_text(cmd->error);
}

/* smtpd_cmd_dispatch - parse, check the state, execute */
void smtpd_cmd_dispatch(struct smtpd_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	unsigned flags = SMTP_CMD_FLAG_SMTPUTF8;
	enum smtpd_count c;
	bool ok = false;

	if (s->smtputf8)
		flags |= SMTP_CMD_FLAG_UTF8_TXN;
	if (smtp_cmd_parse(line, len, flags, &cmd) < 0) {
		c = cmd_count(cmd.verb);
		s->counts[c].total++;
		s->last_cmd = smtp_cmd_verb_name(cmd.verb);
		smtpd_chat_reply(s, "%d %s %s", smtp_cmd_error_code(cmd.error),
				 smtp_cmd_error_dsn(cmd.error),
				 cmd_error_text(&cmd));
		return;
	}
	c = cmd_count(cmd.verb);
	s->counts[c].total++;
	s->last_cmd = smtp_cmd_verb_name(cmd.verb);
	s->cur_line = line;
	s->cur_len = len;
	switch (cmd.verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		ok = cmd_helo(s, &cmd);
		break;
	case SMTP_CMD_MAIL:
		ok = cmd_mail(s, &cmd);
		break;
	case SMTP_CMD_RCPT:
		ok = cmd_rcpt(s, &cmd);
		break;
	case SMTP_CMD_DATA:
		ok = cmd_data(s);
		break;
	case SMTP_CMD_BDAT:
		ok = cmd_bdat(s, &cmd);
		break;
	case SMTP_CMD_RSET:
		smtpd_session_reset_txn(s);
		smtpd_chat_reply(s, "250 2.0.0 Ok");
		ok = true;
		break;
	case SMTP_CMD_NOOP:
		smtpd_chat_reply(s, "250 2.0.0 Ok");
		ok = true;
		break;
	case SMTP_CMD_QUIT:
		s->counts[c].ok++;
		smtpd_chat_reply(s, "221 2.0.0 Bye");
		smtpd_session_close(s);
		return;
	case SMTP_CMD_VRFY:
		smtpd_chat_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to "
				    "attempt delivery");
		ok = true;
		break;
	case SMTP_CMD_EXPN:
		smtpd_chat_reply(s, "502 5.5.1 EXPN command is disabled");
		break;
	case SMTP_CMD_HELP:
		smtpd_chat_reply(s, "214 2.0.0 See RFC 5321; commands: HELO "
				    "EHLO MAIL RCPT DATA BDAT RSET NOOP "
				    "QUIT VRFY STARTTLS");
		ok = true;
		break;
	case SMTP_CMD_STARTTLS:
		ok = cmd_starttls(s);
		break;
	case SMTP_CMD_AUTH:
		/* Counted as ok when the auth service says so. */
		(void)smtpd_sasl_cmd(s, &cmd);
		break;
	case SMTP_CMD_UNKNOWN:
		smtpd_chat_reply(s, "500 5.5.2 Error: command not "
				    "recognized");
		break;
	}
	if (ok)
		s->counts[c].ok++;
}
