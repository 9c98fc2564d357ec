/*
 * smtpd_sasl - SMTP AUTH (RFC 4954) with PLAIN and LOGIN via auth
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	bool smtpd_sasl_offered(const struct smtpd_session *s);
 *	bool smtpd_sasl_cmd(struct smtpd_session *s, const struct smtp_cmd *);
 *	void smtpd_sasl_input(struct smtpd_session *s, const char *line,
 *			      size_t len);
 *	void smtpd_sasl_reset(struct smtpd_session *s);
 *
 * DESCRIPTION
 *	AUTH is offered when smtpd_sasl_auth_enable = yes, TLS is active or
 *	smtpd_tls_auth_only = no, and queue_directory/private/auth exists
 *	(a cheap stat at each EHLO: when the auth service is not set up,
 *	clients are not invited to try).  smtpd decodes the SASL exchange
 *	itself (PLAIN, RFC 4616; LOGIN, the de-facto mechanism) and asks
 *	the auth service with auth_client_start(), without blocking: the
 *	session stops reading until the answer comes, the process goes on
 *	serving the other sessions.  smtpd never sees password hashes.
 *
 *	Replies: 235 2.7.0 success; 535 5.7.8 failure (after the auth
 *	service's failure delay); 454 4.7.0 temporary failure; 501 5.7.0
 *	for "*" (cancel) or bad base64; 504 5.5.4 unknown mechanism;
 *	503 5.5.1 out of sequence; 530 5.7.0 before STARTTLS at level
 *	encrypt.
 *
 * SECURITY
 *	Passwords are wiped from our buffers as soon as the request is
 *	built, and never logged.  Response lines are bounded by
 *	smtpd_command_line_limit (tighter than RFC 4954's 12288 before
 *	authentication, which is enough for AUTH_USER_MAX and
 *	AUTH_PASSWORD_MAX in base64).
 */
#include "autoconf.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "auth_client.h"
#include "log.h"
#include "server.h"
#include "base64.h"
#include "smtp_cmd.h"
#include "smtpd.h"

/*
 * sasl_b64_decode - strict RFC 4648 base64 (RFC 4954 §4) into out (size
 * bytes).  Returns the decoded length, or -1 on bad input or no room.
 * The intermediate buffer held a secret: it is wiped.
 */
static long sasl_b64_decode(const char *in, size_t len, char *out, size_t size)
{
	struct strbuf sb;
	long n = -1;

	strbuf_init(&sb, size);
	if (base64_decode(in, len, BASE64_STRICT, &sb) == 0) {
		memcpy(out, sb.data, sb.len);
		n = (long)sb.len;
	}
	if (sb.cap > 0)
		memzero_explicit(sb.data, sb.cap);
	strbuf_release(&sb);
	return n;
}

/* smtpd_sasl_offered - EHLO shows AUTH */
bool smtpd_sasl_offered(const struct smtpd_session *s)
{
	const struct smtpd_settings *set = &s->sd->set;
	char path[4096];
	struct stat st;

	if (!set->sasl_enable || s->sasl_user)
		return false;
	if (set->tls_auth_only && !s->tls_active)
		return false;
	snprintf(path, sizeof(path), "%s/%s", set->queue_dir, AUTH_SOCKET);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* smtpd_sasl_reset - forget the dialogue; cancel a request */
void smtpd_sasl_reset(struct smtpd_session *s)
{
	auth_client_abort(&s->auth_req);
	if (s->sasl_login_user) {
		memzero_explicit(s->sasl_login_user,
				 strlen(s->sasl_login_user));
		free(s->sasl_login_user);
		s->sasl_login_user = NULL;
	}
	s->sasl_step = SMTPD_SASL_NONE;
}

/* sasl_done - the auth service answered */
static void sasl_done(enum auth_client_result result, const char *user,
		      const char *reason, void *ctx)
{
	struct smtpd_session *s = ctx;

	s->auth_req = NULL; /* freed by the library after we return */
	s->sasl_step = SMTPD_SASL_NONE;
	switch (result) {
	case AUTH_CLIENT_OK:
		s->sasl_user = xstrdup(user);
		s->counts[SMTPD_COUNT_AUTH].ok++;
		log_info("%s: sasl_method=%s, sasl_username=%s",
			 smtpd_session_client(s), s->sasl_mech, user);
		smtpd_chat_reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_CLIENT_FAIL:
		log_warn("%s: SASL %s authentication failed: %s",
			 smtpd_session_client(s), s->sasl_mech,
			 reason ? reason : "authentication failure");
		smtpd_chat_reply(s, "535 5.7.8 Error: authentication failed: "
				    "authentication failure");
		break;
	case AUTH_CLIENT_TEMPFAIL:
		log_warn("%s: SASL %s authentication: %s",
			 smtpd_session_client(s), s->sasl_mech,
			 reason ? reason : "temporary failure");
		smtpd_chat_reply(s, "454 4.7.0 Temporary authentication "
				    "failure");
		break;
	}
	smtpd_session_resume(s);
}

/* sasl_check - send user and password to the auth service */
static void sasl_check(struct smtpd_session *s, const char *user,
		       const char *password)
{
	s->sasl_step = SMTPD_SASL_CHECKING;
	s->auth_req = auth_client_start(server_event_base(s->sd->srv),
					s->sd->set.queue_dir, "smtp", user,
					password, s->addr, sasl_done, s);
	smtpd_session_suspend(s);
}

/* sasl_plain - RFC 4616: [authzid] NUL authcid NUL passwd */
static void sasl_plain(struct smtpd_session *s, const char *b64, size_t len)
{
	char buf[AUTH_USER_MAX * 2 + AUTH_PASSWORD_MAX + 3];
	long n = sasl_b64_decode(b64, len, buf, sizeof(buf) - 1);
	const char *authz, *user, *pass;
	size_t zlen, ulen;

	if (n < 0) {
		s->sasl_step = SMTPD_SASL_NONE;
		smtpd_chat_reply(s, "501 5.5.2 Error: invalid base64 data");
		return;
	}
	buf[n] = '\0';
	authz = buf;
	zlen = strlen(authz);
	if ((long)zlen + 1 >= n) {
		goto bad;
	}
	user = authz + zlen + 1;
	ulen = strlen(user);
	if ((long)(zlen + ulen + 2) > n)
		goto bad;
	pass = user + ulen + 1;
	/* No NUL inside the password, nothing after it; no proxying. */
	if ((long)(zlen + ulen + 2 + strlen(pass)) != n || ulen == 0 ||
	    ulen > AUTH_USER_MAX || strlen(pass) > AUTH_PASSWORD_MAX ||
	    (zlen > 0 && strcmp(authz, user) != 0))
		goto bad;
	sasl_check(s, user, pass);
	memzero_explicit(buf, sizeof(buf));
	return;
bad:
	memzero_explicit(buf, sizeof(buf));
	s->sasl_step = SMTPD_SASL_NONE;
	smtpd_chat_reply(s, "535 5.7.8 Error: authentication failed: "
			    "malformed PLAIN response");
}

/* smtpd_sasl_input - the client's response line */
void smtpd_sasl_input(struct smtpd_session *s, const char *line, size_t len)
{
	char buf[AUTH_PASSWORD_MAX + 1];
	long n;

	if (len == 1 && line[0] == '*') {
		/* RFC 4954 §4: the client cancels. */
		smtpd_sasl_reset(s);
		smtpd_chat_reply(s, "501 5.7.0 Authentication aborted");
		return;
	}
	switch (s->sasl_step) {
	case SMTPD_SASL_PLAIN:
		sasl_plain(s, line, len);
		return;
	case SMTPD_SASL_LOGIN_USER:
		n = sasl_b64_decode(line, len, buf, AUTH_USER_MAX);
		if (n <= 0 || memchr(buf, '\0', (size_t)n) != NULL)
			break;
		buf[n] = '\0';
		s->sasl_login_user = xstrdup(buf);
		s->sasl_step = SMTPD_SASL_LOGIN_PASS;
		smtpd_chat_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		return;
	case SMTPD_SASL_LOGIN_PASS:
		n = sasl_b64_decode(line, len, buf, AUTH_PASSWORD_MAX);
		if (n < 0 || memchr(buf, '\0', (size_t)n) != NULL) {
			memzero_explicit(buf, sizeof(buf));
			break;
		}
		buf[n] = '\0';
		sasl_check(s, s->sasl_login_user, buf);
		memzero_explicit(buf, sizeof(buf));
		memzero_explicit(s->sasl_login_user,
				 strlen(s->sasl_login_user));
		free(s->sasl_login_user);
		s->sasl_login_user = NULL;
		return;
	default:
		log_panic("smtpd_sasl_input: step %d", (int)s->sasl_step);
	}
	smtpd_sasl_reset(s);
	smtpd_chat_reply(s, "501 5.5.2 Error: invalid base64 data");
}

/* smtpd_sasl_cmd - AUTH mechanism [initial-response] */
bool smtpd_sasl_cmd(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = &s->sd->set;
	size_t mlen = cmd->auth.mech_len;

	/* RFC 3207 §4, as Postfix: at level encrypt nothing but the pre-TLS
	 * commands is accepted before STARTTLS, AUTH included. */
	if (set->tls_level == SMTPD_TLS_ENCRYPT && !s->tls_active) {
		smtpd_chat_reply(s, "530 5.7.0 Must issue a STARTTLS command "
				    "first");
		return false;
	}
	if (!set->sasl_enable || (set->tls_auth_only && !s->tls_active)) {
		smtpd_chat_reply(s, "503 5.5.1 Error: authentication not "
				    "enabled");
		return false;
	}
	if (!s->esmtp) {
		smtpd_chat_reply(s, "503 5.5.1 Error: send EHLO first");
		return false;
	}
	if (s->sasl_user) {
		smtpd_chat_reply(s, "503 5.5.1 Error: already authenticated");
		return false;
	}
	if (s->state == SMTPD_STATE_MAIL || s->state == SMTPD_STATE_RCPT) {
		smtpd_chat_reply(s, "503 5.5.1 Error: MAIL transaction in "
				    "progress");
		return false;
	}
	if (mlen == 5 && strncasecmp(cmd->auth.mech, "PLAIN", 5) == 0) {
		s->sasl_mech = "PLAIN";
		s->sasl_step = SMTPD_SASL_PLAIN;
		if (cmd->auth.initial == NULL)
			smtpd_chat_reply(s, "334 ");
		else if (cmd->auth.initial_len == 1 &&
			 cmd->auth.initial[0] == '=')
			sasl_plain(s, "", 0);
		else
			sasl_plain(s, cmd->auth.initial, cmd->auth.initial_len);
		return true;
	}
	if (mlen == 5 && strncasecmp(cmd->auth.mech, "LOGIN", 5) == 0) {
		s->sasl_mech = "LOGIN";
		s->sasl_step = SMTPD_SASL_LOGIN_USER;
		if (cmd->auth.initial == NULL)
			smtpd_chat_reply(s, "334 VXNlcm5hbWU6"); /* Username: */
		else
			smtpd_sasl_input(s, cmd->auth.initial,
					 cmd->auth.initial_len);
		return true;
	}
	smtpd_chat_reply(s, "504 5.5.4 Unrecognized authentication type");
	return false;
}
