/*
 * pop3_login - shared state of the POP3 pre-login server's modules
 *
 * pop3-login is the inet service of ports 110 and 995: it greets, speaks
 * the AUTHORIZATION state of RFC 1939 (CAPA, STLS, UTF8, USER/PASS,
 * AUTH PLAIN, QUIT), checks credentials with the auth service and hands
 * the authenticated client to the "pop3d" service (lib/login).  It runs
 * as mail_owner, never sees a mailbox, and serves up to
 * pop3d_process_session_limit clients per process in one libevent loop.
 * Modules:
 *
 *	pop3_login.c		main(), settings, TLS context, server_ops
 *	pop3_login_session.c	connection: I/O, limits, STLS, close,
 *				the AUTHORIZATION command dispatch
 *	pop3_login_auth.c	USER/PASS and AUTH PLAIN through the auth
 *				service, then login_handoff()
 */
#ifndef FACTEUR_POP3_LOGIN_H
#define FACTEUR_POP3_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "lineread.h"
#include "strbuf.h"

struct auth_client_req;
struct bufferevent;
struct config;
struct event;
struct pop3_cmd;
struct server;
struct tls_server;

#define POP3_LOGIN_ADDR_MAX 64
/* Bad commands after which the client is dropped (as Dovecot's
 * CLIENT_MAX_BAD_COMMANDS). */
#define POP3_LOGIN_BAD_COMMANDS_MAX 10
/* Failed logins after which the client is dropped: each costs the
 * guesser auth_failure_delay, and then a new connection. */
#define POP3_LOGIN_AUTH_FAILURES_MAX 3
/*
 * An AUTH PLAIN response line (RFC 5034 §4 allows continuation lines
 * beyond the 255-octet command limit): the base64 of authzid, authcid
 * and password at their limits.
 */
#define POP3_LOGIN_SASL_LINE_MAX (((2 * 512 + 1024 + 2 + 2) / 3) * 4 + 4)
/* Input buffered ahead of processing, at most. */
#define POP3_LOGIN_INPUT_MAX (16 * 1024)
/* How long a closing session may take to read our last reply. */
#define POP3_LOGIN_CLOSE_TIMEOUT 10

struct pop3_login_settings {
	const char *queue_dir;
	long long timeout;
	unsigned session_limit;
	bool disable_plaintext_auth;
	bool wrappermode;
};

struct pop3_login {
	struct server *srv;
	const struct config *cfg;
	struct pop3_login_settings set;
	struct tls_server *tls; /* NULL: no STLS and no wrapper mode */
};

struct pop3_login_session {
	struct pop3_login *pl;
	struct bufferevent *bev;
	struct event *timer; /* close polling */
	char addr[POP3_LOGIN_ADDR_MAX];
	char port[16];
	char local_port[16];
	bool tls_active;
	bool utf8;	  /* UTF8 was sent (RFC 6856) */
	char *user;	  /* from USER, until PASS */
	bool sasl_wait;	  /* AUTH PLAIN: waiting for the response line */
	const char *mech; /* "PLAIN" or "USER" (USER/PASS), for the log */
	struct auth_client_req *auth_req;
	struct lineread lr;
	struct strbuf line;
	unsigned bad_commands;
	unsigned auth_failures;
	unsigned close_ticks;
	bool suspended; /* waiting for auth */
	bool closing;
	bool handing_off; /* login_handoff() owns bev */
	const char *close_reason;
	char *log_user; /* the last user name tried, for the log */
};

/* pop3_login_session.c */
void pop3_login_session_accept(struct pop3_login *pl, int fd, const char *addr,
			       const char *port, const char *local_port);
void pop3_login_reply(struct pop3_login_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A client error: reply "-ERR text", count it, close at the limit. */
void pop3_login_bad(struct pop3_login_session *s, const char *text);
void pop3_login_close(struct pop3_login_session *s, const char *reason);
void pop3_login_suspend(struct pop3_login_session *s);
void pop3_login_resume(struct pop3_login_session *s);
/* Free the session without touching bev (handed off); for the auth
 * module's handoff callback. */
void pop3_login_session_release(struct pop3_login_session *s);
/* Whether USER/PASS and AUTH may be used now (TLS or allowed). */
bool pop3_login_plaintext_ok(const struct pop3_login_session *s);

/* pop3_login_auth.c */
void pop3_login_auth_user(struct pop3_login_session *s,
			  const struct pop3_cmd *cmd);
void pop3_login_auth_pass(struct pop3_login_session *s,
			  const struct pop3_cmd *cmd);
void pop3_login_auth_cmd(struct pop3_login_session *s,
			 const struct pop3_cmd *cmd);
/* The AUTH PLAIN response line (wiped by the caller after). */
void pop3_login_auth_input(struct pop3_login_session *s, const char *line,
			   size_t len);
/* Session end or STLS: cancel a request, forget USER. */
void pop3_login_auth_reset(struct pop3_login_session *s);

#endif
