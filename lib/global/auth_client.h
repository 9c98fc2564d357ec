/*
 * auth_client - ask the auth service whether a user/password pair is good
 *
 * smtpd, imapd and pop3d decode SASL themselves (PLAIN, LOGIN give a user
 * name and a password) and never see password hashes: they send one
 * "auth/1" frame to queue_directory/private/auth and read one
 * "auth-result/1" frame back (docs/architecture.md):
 *
 *	auth/1:        mech (PLAIN|LOGIN), user, password, service
 *	               (smtp|imap|pop3|...), client (the peer's address)
 *	auth-result/1: result (ok|fail|tempfail), user (the canonical login
 *	               name, when ok), reason (text for the log)
 *
 * A failed login is answered only after auth_failure_delay, so a client
 * must allow for that (AUTH_CLIENT_TIMEOUT).
 *
 * Two interfaces:
 *
 *   - auth_client_request(): blocking, for tools and tests;
 *   - auth_client_start(): for an event loop.  It connects without
 *     blocking and returns a handle at once; the callback runs exactly
 *     once, later, from the loop (never from inside auth_client_start()),
 *     unless auth_client_abort() is called first (then never).  The
 *     handle is freed by the library after the callback returns.
 *
 * Both copy the password into the request frame and wipe that copy once
 * it is sent; the caller wipes its own.
 */
#ifndef FACTEUR_AUTH_CLIENT_H
#define FACTEUR_AUTH_CLIENT_H

#include <stddef.h>

struct event_base;

#define AUTH_PROTO	  "auth/1"
#define AUTH_RESULT_PROTO "auth-result/1"
/* private/auth, relative to queue_directory. */
#define AUTH_SOCKET "private/auth"
/* Limits both sides enforce on what they accept. */
#define AUTH_USER_MAX	  512
#define AUTH_PASSWORD_MAX 1024
#define AUTH_REPLY_MAX	  4096
/* How long a client waits for an answer, in seconds. */
#define AUTH_CLIENT_TIMEOUT 75

enum auth_client_result {
	AUTH_CLIENT_OK,
	AUTH_CLIENT_FAIL,     /* bad user or password */
	AUTH_CLIENT_TEMPFAIL, /* auth unreachable or broken: try later */
};

/* "ok", "fail", "tempfail". */
const char *auth_client_result_str(enum auth_client_result result);

/*
 * auth_client_request - blocking.  On AUTH_CLIENT_OK *user_r is the
 * canonical user name (caller frees); otherwise *user_r is NULL.
 * *reason_r (caller frees, may be NULL to ignore) says why, for the log.
 */
enum auth_client_result
auth_client_request(const char *queue_dir, const char *service,
		    const char *user, const char *password,
		    const char *client_addr, char **user_r, char **reason_r);

/*
 * The callback of an asynchronous request: user is the canonical name
 * (NULL unless OK), reason a text for the log; both are valid during the
 * call only.
 */
typedef void auth_client_callback_fn(enum auth_client_result result,
				     const char *user, const char *reason,
				     void *ctx);

struct auth_client_req;

/*
 * auth_client_start - begin a request on base; cb(ctx) runs once from the
 * loop.  Never fails: a connection problem becomes a TEMPFAIL callback.
 */
struct auth_client_req *
auth_client_start(struct event_base *base, const char *queue_dir,
		  const char *service, const char *user, const char *password,
		  const char *client_addr, auth_client_callback_fn *cb,
		  void *ctx);

/* auth_client_abort - cancel (client went away); no callback. NULL ok. */
void auth_client_abort(struct auth_client_req **reqp);

#endif
