/*
 * pop3_login_auth - USER/PASS and AUTH PLAIN, checked by the auth service
 *
 * SYNOPSIS
 *	#include "pop3_login.h"
 *
 *	void pop3_login_auth_user(s, cmd);
 *	void pop3_login_auth_pass(s, cmd);
 *	void pop3_login_auth_cmd(s, cmd);
 *	void pop3_login_auth_input(s, line, len);
 *	void pop3_login_auth_reset(s);
 *
 * DESCRIPTION
 *	USER name, PASS password (RFC 1939 §7) and AUTH PLAIN [initial]
 *	(RFC 5034, RFC 4616; "AUTH" alone lists the mechanisms, as the
 *	pre-RFC clients expect; "*" cancels) give a user name and a
 *	password, which go to the auth service with auth_client_start()
 *	(service "pop3"); the session reads nothing meanwhile and the
 *	process serves its other clients.  Replies (RFC 3206, RFC 2449
 *	AUTH-RESP-CODE):
 *
 *	-ERR [AUTH] Plaintext authentication disallowed on non-secure
 *	    (SSL/TLS) connections.	before TLS, pop3d_disable_plaintext_auth
 *	-ERR [AUTH] Authentication failed.	wrong user or password
 *	-ERR [SYS/TEMP] Temporary authentication failure.
 *
 *	After POP3_LOGIN_AUTH_FAILURES_MAX failures the client is dropped.
 *	On success the client goes to the "pop3d" service with
 *	login_handoff(); pop3d answers "+OK Logged in." (or "-ERR
 *	[IN-USE]", "-ERR [SYS/TEMP]").  The log line is Dovecot's:
 *	"Login: user=<name>, method=PLAIN, rip=ADDR, lport=PORT[, TLS]".
 *
 * SECURITY
 *	Passwords are copied only into buffers that are wiped right after
 *	the request is built, and never logged.  The user name is bounded
 *	by AUTH_USER_MAX, the PLAIN response by POP3_LOGIN_SASL_LINE_MAX.
 */
#include "autoconf.h"

#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth_client.h"
#include "base64.h"
#include "log.h"
#include "login.h"
#include "pop3_cmd.h"
#include "pop3_login.h"
#include "server.h"

#define PLAINTEXT_REFUSED                                                      \
	"[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "  \
	"connections."

/* pop3_login_auth_reset - cancel a request, forget USER and SASL state */
void pop3_login_auth_reset(struct pop3_login_session *s)
{
	auth_client_abort(&s->auth_req);
	free(s->user);
	s->user = NULL;
	if (s->sasl_wait) {
		s->sasl_wait = false;
		lineread_init(&s->lr, POP3_CMD_LINE_MAX);
	}
}

/* handoff_done - pop3d has the session, or could not take it */
static void handoff_done(void *ctx, bool ok, const char *error)
{
	struct pop3_login_session *s = ctx;
	struct server *srv = s->pl->srv;
	bool relaying = login_handoff_relaying();

	if (!ok)
		/* login_handoff() has answered the client and closed. */
		log_warn("hand-over of %s from %s to pop3d failed: %s",
			 s->log_user ? s->log_user : "", s->addr, error);
	pop3_login_session_release(s);
	if (!relaying)
		server_conn_done(srv);
}

/* handoff - give the authenticated client to pop3d */
static void handoff(struct pop3_login_session *s, const char *user)
{
	struct login_session ls = {
		.protocol = "pop3",
		.user = user,
		.client = s->addr,
		.client_port = s->port,
		.local_port = s->local_port,
		.tls = s->tls_active,
		.tag = "",
		.sasl_method = s->mech,
	};
	struct bufferevent *bev = s->bev;

	s->handing_off = true;
	s->bev = NULL; /* login_handoff() owns it now */
	login_handoff(server_event_base(s->pl->srv), s->pl->set.queue_dir,
		      "pop3d", bev, &ls, handoff_done, s);
}

/* auth_failed - one more failed login; the last one closes */
static void auth_failed(struct pop3_login_session *s)
{
	s->auth_failures++;
	pop3_login_reply(s, "-ERR [AUTH] Authentication failed.");
	if (s->auth_failures >= POP3_LOGIN_AUTH_FAILURES_MAX) {
		pop3_login_reply(s, "-ERR [AUTH] Too many authentication "
				    "failures.");
		pop3_login_close(s, "auth failed, too many attempts");
	}
}

/* auth_done - the auth service answered */
static void auth_done(enum auth_client_result result, const char *user,
		      const char *reason, void *ctx)
{
	struct pop3_login_session *s = ctx;

	s->auth_req = NULL; /* freed by the library after we return */
	switch (result) {
	case AUTH_CLIENT_OK:
		free(s->log_user);
		s->log_user = xstrdup(user);
		log_info("Login: user=<%s>, method=%s, rip=%s, lport=%s%s",
			 user, s->mech, s->addr, s->local_port,
			 s->tls_active ? ", TLS" : "");
		s->suspended = false;
		handoff(s, user);
		return;
	case AUTH_CLIENT_FAIL:
		log_info("authentication failed: user=<%s>, method=%s, "
			 "rip=%s: %s",
			 s->log_user ? s->log_user : "", s->mech, s->addr,
			 reason ? reason : "authentication failure");
		auth_failed(s);
		break;
	case AUTH_CLIENT_TEMPFAIL:
		log_warn("authentication: user=<%s>, method=%s, rip=%s: %s",
			 s->log_user ? s->log_user : "", s->mech, s->addr,
			 reason ? reason : "temporary failure");
		pop3_login_reply(s, "-ERR [SYS/TEMP] Temporary "
				    "authentication failure.");
		break;
	}
	pop3_login_resume(s);
}

/* check - send user and password to the auth service */
static void check(struct pop3_login_session *s, const char *user,
		  const char *password)
{
	free(s->log_user);
	s->log_user = xstrdup(user);
	s->auth_req = auth_client_start(server_event_base(s->pl->srv),
					s->pl->set.queue_dir, "pop3", user,
					password, s->addr, auth_done, s);
	pop3_login_suspend(s);
}

/* pop3_login_auth_user - USER name */
void pop3_login_auth_user(struct pop3_login_session *s,
			  const struct pop3_cmd *cmd)
{
	if (!pop3_login_plaintext_ok(s)) {
		pop3_login_bad(s, PLAINTEXT_REFUSED);
		return;
	}
	if (cmd->arg_len > AUTH_USER_MAX ||
	    memchr(cmd->arg, '\0', cmd->arg_len) != NULL) {
		pop3_login_bad(s, "[AUTH] Invalid user name.");
		return;
	}
	free(s->user);
	s->user = xstrndup(cmd->arg, cmd->arg_len);
	pop3_login_reply(s, "+OK");
}

/* pop3_login_auth_pass - PASS password, after USER */
void pop3_login_auth_pass(struct pop3_login_session *s,
			  const struct pop3_cmd *cmd)
{
	char pass[POP3_CMD_LINE_MAX + 1];
	char *user = s->user;

	if (!pop3_login_plaintext_ok(s)) {
		pop3_login_bad(s, PLAINTEXT_REFUSED);
		return;
	}
	if (user == NULL) {
		pop3_login_bad(s, "No username given.");
		return;
	}
	/* The parser bounds the line below AUTH_PASSWORD_MAX. */
	memcpy(pass, cmd->arg, cmd->arg_len);
	pass[cmd->arg_len] = '\0';
	s->user = NULL; /* USER is used up, whatever the answer */
	s->mech = "PLAIN";
	check(s, user, pass);
	memzero_explicit(pass, sizeof(pass));
	free(user);
}

/* plain - RFC 4616: [authzid] NUL authcid NUL passwd, base64 */
static void plain(struct pop3_login_session *s, const char *b64, size_t len)
{
	struct strbuf sb;
	const char *authz, *user, *pass;
	size_t zlen, ulen, plen, n;

	strbuf_init(&sb, 2 * AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2);
	if (base64_decode(b64, len, BASE64_STRICT, &sb) < 0) {
		pop3_login_bad(s, "[AUTH] Invalid base64 data.");
		goto done;
	}
	n = sb.len;
	authz = sb.data ? sb.data : "";
	zlen = strnlen(authz, n);
	if (zlen + 1 >= n)
		goto bad;
	user = authz + zlen + 1;
	ulen = strnlen(user, n - zlen - 1);
	if (zlen + ulen + 2 > n)
		goto bad;
	pass = user + ulen + 1;
	plen = n - zlen - ulen - 2;
	/* No NUL in the password, no proxy authorization. */
	if (memchr(pass, '\0', plen) != NULL || ulen == 0 ||
	    ulen > AUTH_USER_MAX || plen > AUTH_PASSWORD_MAX ||
	    (zlen > 0 && strcmp(authz, user) != 0))
		goto bad;
	s->mech = "PLAIN";
	check(s, user, pass);
	goto done;
bad:
	log_info("authentication failed: user=<>, method=PLAIN, rip=%s: "
		 "malformed PLAIN response",
		 s->addr);
	auth_failed(s);
done:
	if (sb.cap > 0)
		memzero_explicit(sb.data, sb.cap);
	strbuf_release(&sb);
}

/* pop3_login_auth_input - the response line of AUTH PLAIN */
void pop3_login_auth_input(struct pop3_login_session *s, const char *line,
			   size_t len)
{
	s->sasl_wait = false;
	lineread_init(&s->lr, POP3_CMD_LINE_MAX);
	if (len == 1 && line[0] == '*') {
		/* RFC 5034 §4: the client cancels; -ERR it. */
		pop3_login_reply(s, "-ERR Authentication aborted.");
		return;
	}
	if (len == 1 && line[0] == '=')
		len = 0; /* an empty response */
	plain(s, line, len);
}

/* pop3_login_auth_cmd - AUTH [mechanism [initial-response]] */
void pop3_login_auth_cmd(struct pop3_login_session *s,
			 const struct pop3_cmd *cmd)
{
	if (cmd->arg == NULL) {
		/* The mechanism list, for clients older than RFC 5034. */
		pop3_login_reply(s, "+OK\r\n%s.",
				 pop3_login_plaintext_ok(s) ? "PLAIN\r\n" : "");
		return;
	}
	if (!pop3_login_plaintext_ok(s)) {
		pop3_login_bad(s, PLAINTEXT_REFUSED);
		return;
	}
	if (cmd->arg_len != 5 || strncasecmp(cmd->arg, "PLAIN", 5) != 0) {
		pop3_login_bad(s, "[AUTH] Unsupported authentication "
				  "mechanism.");
		return;
	}
	if (cmd->initial != NULL) {
		plain(s, cmd->initial,
		      cmd->initial_len == 1 && cmd->initial[0] == '='
			      ? 0
			      : cmd->initial_len);
		return;
	}
	/* RFC 5034 §4: an empty challenge, then one response line, which
	 * may be longer than a command line. */
	pop3_login_reply(s, "+ ");
	s->sasl_wait = true;
	lineread_init(&s->lr, POP3_LOGIN_SASL_LINE_MAX);
}
