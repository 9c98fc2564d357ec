/*
 * imap_login_auth - LOGIN and AUTHENTICATE, then the hand-over
 *
 * SYNOPSIS
 *	#include "imap_login.h"
 *
 *	bool imap_login_auth_allowed(const struct imap_login_session *s);
 *	void imap_login_auth_login(s, cmd);
 *	void imap_login_auth_authenticate(s, cmd);
 *	void imap_login_auth_input(s, line, len);
 *	void imap_login_auth_reset(s);
 *
 * DESCRIPTION
 *	LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE (§6.2.2) with PLAIN (RFC
 *	4616) and LOGIN, an initial response allowed (SASL-IR, RFC 4959;
 *	"=" is an empty one) and "*" cancelling (BAD).  imap-login decodes
 *	SASL itself and asks the auth service (service "imap") with
 *	auth_client_start(): the session stops reading until the answer
 *	comes, the process goes on serving the others.  A failure is
 *	answered only after auth_failure_delay (the auth service's timer);
 *	after imapd_login_failure_limit failures the session ends with
 *	"* BYE".
 *
 *	Both are refused before TLS ("NO [PRIVACYREQUIRED]", and the
 *	capability says LOGINDISABLED) when imapd_disable_plaintext_auth =
 *	yes or imapd_tls_security_level = encrypt.  Unlike Dovecot, a
 *	connection from the host itself is not taken as secure.
 *
 *	Success: the session goes to the post-login service (lib/login,
 *	login_handoff()) with the tag of this command; that service sends
 *	"tag OK ... Logged in" once the mailbox is open.  The log line is
 *	Dovecot's: "Login: user=<bob>, method=PLAIN, rip=..., lip=..., TLS".
 *
 * SECURITY
 *	Passwords are wiped from our buffers as soon as the request is
 *	built, and never logged.  Response lines are bounded by the
 *	parser's pre-authentication line limit, which is enough for
 *	AUTH_USER_MAX and AUTH_PASSWORD_MAX in base64.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth_client.h"
#include "base64.h"
#include "imap_login.h"
#include "imap_parser.h"
#include "log.h"
#include "login.h"
#include "server.h"
#include "strbuf.h"

/* sasl_b64_decode - strict base64 into out; -1 on bad input or no room */
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

/* imap_login_auth_allowed - the TLS rule for LOGIN and AUTHENTICATE */
bool imap_login_auth_allowed(const struct imap_login_session *s)
{
	const struct imap_login_settings *set = &s->il->set;

	if (s->tls_active)
		return true;
	return !set->disable_plaintext_auth &&
	       set->tls_level != IMAP_LOGIN_TLS_ENCRYPT;
}

/* imap_login_auth_reset - forget the dialogue; cancel a request */
void imap_login_auth_reset(struct imap_login_session *s)
{
	auth_client_abort(&s->auth_req);
	if (s->sasl_login_user) {
		memzero_explicit(s->sasl_login_user,
				 strlen(s->sasl_login_user));
		free(s->sasl_login_user);
		s->sasl_login_user = NULL;
	}
	free(s->sasl_tag);
	s->sasl_tag = NULL;
	s->sasl_step = IMAP_LOGIN_SASL_NONE;
}

/* handoff_done - the post-login service has the session, or not */
static void handoff_done(void *ctx, bool ok, const char *error)
{
	struct imap_login_session *s = ctx;
	bool relayed = login_handoff_relaying();

	if (ok)
		log_info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s",
			 s->last_user, s->sasl_mech, s->addr, s->laddr,
			 s->tls_active ? ", TLS" : "");
	else
		log_warn("Login: user=<%s>, rip=%s: hand-over to %s failed: "
			 "%s",
			 s->last_user, s->addr, s->il->set.service, error);
	imap_login_session_detach(s, relayed);
}

/* auth_handoff - authenticated: give the session to imapd */
static void auth_handoff(struct imap_login_session *s, const char *user)
{
	struct login_session ls = {
		.protocol = "imap",
		.user = user,
		.client = s->addr,
		.client_port = s->port,
		.local_port = s->lport,
		.tls = s->tls_active,
		.tag = s->sasl_tag,
		.sasl_method = s->sasl_mech,
	};
	struct bufferevent *bev = s->bev;

	free(s->last_user);
	s->last_user = xstrdup(user);
	/* From here on the connection belongs to the hand-over; the
	 * session waits for handoff_done() out of the process's list. */
	s->suspended = true;
	s->closing = true;
	login_handoff(server_event_base(s->il->srv), s->il->set.queue_dir,
		      s->il->set.service, bev, &ls, handoff_done, s);
}

/* auth_done - the auth service answered */
static void auth_done(enum auth_client_result result, const char *user,
		      const char *reason, void *ctx)
{
	struct imap_login_session *s = ctx;

	s->auth_req = NULL; /* freed by the library after we return */
	s->sasl_step = IMAP_LOGIN_SASL_NONE;
	switch (result) {
	case AUTH_CLIENT_OK:
		auth_handoff(s, user);
		return;
	case AUTH_CLIENT_FAIL:
		s->auth_failures++;
		imap_login_reply(s,
				 "%s NO [AUTHENTICATIONFAILED] "
				 "Authentication failed.",
				 s->sasl_tag);
		if (s->auth_failures >= s->il->set.failure_limit) {
			imap_login_reply(s, "* BYE Too many invalid "
					    "authentication attempts.");
			imap_login_session_close(s, NULL);
		}
		break;
	case AUTH_CLIENT_TEMPFAIL:
		log_warn("user=<%s>, rip=%s: authentication: %s",
			 s->last_user ? s->last_user : "", s->addr,
			 reason ? reason : "temporary failure");
		imap_login_reply(s,
				 "%s NO [UNAVAILABLE] Temporary "
				 "authentication failure.",
				 s->sasl_tag);
		break;
	}
	free(s->sasl_tag);
	s->sasl_tag = NULL;
	imap_login_session_resume(s);
}

/* sasl_check - send user and password to the auth service */
static void sasl_check(struct imap_login_session *s, const char *user,
		       const char *password)
{
	s->auth_attempts++;
	free(s->last_user);
	s->last_user = xstrdup(user);
	s->sasl_step = IMAP_LOGIN_SASL_CHECKING;
	s->auth_req = auth_client_start(server_event_base(s->il->srv),
					s->il->set.queue_dir, "imap", user,
					password, s->addr, auth_done, s);
	imap_login_session_suspend(s);
}

/* sasl_fail - a malformed response: NO, as a failed attempt */
static void sasl_fail(struct imap_login_session *s, const char *text)
{
	s->auth_attempts++;
	s->auth_failures++;
	imap_login_reply(s, "%s NO [AUTHENTICATIONFAILED] %s", s->sasl_tag,
			 text);
	imap_login_auth_reset(s);
	if (s->auth_failures >= s->il->set.failure_limit) {
		imap_login_reply(s, "* BYE Too many invalid authentication "
				    "attempts.");
		imap_login_session_close(s, NULL);
	}
}

/* sasl_plain - RFC 4616: [authzid] NUL authcid NUL passwd */
static void sasl_plain(struct imap_login_session *s, const char *b64,
		       size_t len)
{
	char buf[AUTH_USER_MAX * 2 + AUTH_PASSWORD_MAX + 3];
	long n = sasl_b64_decode(b64, len, buf, sizeof(buf) - 1);
	const char *authz, *user, *pass;
	size_t zlen, ulen;

	if (n < 0) {
		imap_login_reply(s, "%s BAD Invalid base64 data.", s->sasl_tag);
		imap_login_auth_reset(s);
		imap_login_session_bad(s);
		return;
	}
	buf[n] = '\0';
	authz = buf;
	zlen = strlen(authz);
	if ((long)zlen + 1 >= n)
		goto bad;
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
	sasl_fail(s, "Invalid PLAIN response.");
}

/* imap_login_auth_input - the client's response line */
void imap_login_auth_input(struct imap_login_session *s, const char *line,
			   size_t len)
{
	char buf[AUTH_PASSWORD_MAX + 1];
	long n;

	if (len == 1 && line[0] == '*') {
		/* RFC 9051 §6.2.2: the client cancels: BAD. */
		imap_login_reply(s, "%s BAD Authentication aborted by client.",
				 s->sasl_tag);
		imap_login_auth_reset(s);
		return;
	}
	switch (s->sasl_step) {
	case IMAP_LOGIN_SASL_PLAIN:
		sasl_plain(s, line, len);
		return;
	case IMAP_LOGIN_SASL_LOGIN_USER:
		n = sasl_b64_decode(line, len, buf, AUTH_USER_MAX);
		if (n <= 0 || memchr(buf, '\0', (size_t)n) != NULL)
			break;
		buf[n] = '\0';
		s->sasl_login_user = xstrdup(buf);
		s->sasl_step = IMAP_LOGIN_SASL_LOGIN_PASS;
		imap_login_reply(s, "+ UGFzc3dvcmQ6"); /* "Password:" */
		return;
	case IMAP_LOGIN_SASL_LOGIN_PASS:
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
		log_panic("imap_login_auth_input: step %d", (int)s->sasl_step);
	}
	imap_login_reply(s, "%s BAD Invalid base64 data.", s->sasl_tag);
	imap_login_auth_reset(s);
	imap_login_session_bad(s);
}

/* auth_refused - the TLS rule says no */
static bool auth_refused(struct imap_login_session *s, const char *tag)
{
	if (imap_login_auth_allowed(s))
		return false;
	imap_login_reply(s,
			 "%s NO [PRIVACYREQUIRED] Plaintext authentication "
			 "disallowed on non-secure (SSL/TLS) connections.",
			 tag);
	return true;
}

/* imap_login_auth_login - LOGIN userid password */
void imap_login_auth_login(struct imap_login_session *s,
			   const struct imap_command *cmd)
{
	const char *user, *pass;
	size_t ulen, plen;

	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &user, &ulen) ||
	    !imap_arg_get_astring(&cmd->args[1], &pass, &plen)) {
		imap_login_reply(s, "%s BAD Invalid arguments.", cmd->tag);
		imap_login_session_bad(s);
		return;
	}
	if (auth_refused(s, cmd->tag))
		return;
	s->sasl_tag = xstrdup(cmd->tag);
	s->sasl_mech = "PLAIN";
	if (ulen == 0 || ulen > AUTH_USER_MAX || plen > AUTH_PASSWORD_MAX ||
	    memchr(user, '\0', ulen) != NULL ||
	    memchr(pass, '\0', plen) != NULL) {
		sasl_fail(s, "Authentication failed.");
		return;
	}
	sasl_check(s, user, pass);
}

/* imap_login_auth_authenticate - AUTHENTICATE mechanism [initial] */
void imap_login_auth_authenticate(struct imap_login_session *s,
				  const struct imap_command *cmd)
{
	const struct imap_arg *mech = cmd->args_count > 0 ? cmd->args : NULL;
	const char *ir = NULL;
	size_t irlen = 0;

	if (mech == NULL || cmd->args_count > 2 ||
	    mech->type != IMAP_ARG_ATOM ||
	    (cmd->args_count == 2 && cmd->args[1].type != IMAP_ARG_ATOM)) {
		imap_login_reply(s, "%s BAD Invalid arguments.", cmd->tag);
		imap_login_session_bad(s);
		return;
	}
	if (auth_refused(s, cmd->tag))
		return;
	if (cmd->args_count == 2) {
		ir = cmd->args[1].str;
		irlen = cmd->args[1].len;
		if (irlen == 1 && ir[0] == '=')
			irlen = 0; /* RFC 4959: an empty initial response */
	}
	if (strcasecmp(mech->str, "PLAIN") == 0) {
		s->sasl_tag = xstrdup(cmd->tag);
		s->sasl_mech = "PLAIN";
		s->sasl_step = IMAP_LOGIN_SASL_PLAIN;
		if (ir == NULL)
			imap_login_reply(s, "+ ");
		else
			sasl_plain(s, ir, irlen);
	} else if (strcasecmp(mech->str, "LOGIN") == 0) {
		s->sasl_tag = xstrdup(cmd->tag);
		s->sasl_mech = "LOGIN";
		s->sasl_step = IMAP_LOGIN_SASL_LOGIN_USER;
		if (ir == NULL)
			imap_login_reply(s, "+ VXNlcm5hbWU6"); /* Username: */
		else
			imap_login_auth_input(s, ir, irlen);
	} else {
		imap_login_reply(s,
				 "%s NO [CANNOT] Unsupported authentication "
				 "mechanism.",
				 cmd->tag);
		imap_login_session_bad(s);
	}
}
