/*
 * imap_login - shared state of the pre-login IMAP server's modules
 *
 * One struct imap_login per process (settings, TLS context), one struct
 * imap_login_session per connection.  Modules:
 *
 *	imap_login.c		main(), settings, server_ops
 *	imap_login_session.c	connection: bufferevent, input loop, replies,
 *				timeouts, STARTTLS switch, close, BYE
 *	imap_login_cmd.c	CAPABILITY, NOOP, LOGOUT, ID, STARTTLS and
 *				the dispatch of the other commands
 *	imap_login_auth.c	LOGIN and AUTHENTICATE (PLAIN, LOGIN) via the
 *				auth service, then the hand-over (lib/login)
 */
#ifndef FACTEUR_IMAP_LOGIN_H
#define FACTEUR_IMAP_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct event;
struct server;
struct config;
struct tls_server;
struct imap_parser;
struct imap_command;
struct auth_client_req;

#define IMAP_LOGIN_ADDR_MAX 64
/* Input buffered ahead of the parser, at most (the parser has limits of
 * its own; this bounds what a client can make us hold while we wait
 * for the auth service). */
#define IMAP_LOGIN_INPUT_MAX (64 * 1024)
/* Invalid commands before "* BYE" (Dovecot's imap-login has 3; we allow
 * a confused client a little more). */
#define IMAP_LOGIN_BAD_COMMAND_LIMIT 10
/* How long a closing session may take to read our last reply. */
#define IMAP_LOGIN_CLOSE_TIMEOUT 10
/* The post-login service when master.cf gives none. */
#define IMAP_LOGIN_SERVICE "imapd"
/* RFC 2971: at most 30 field/value pairs, fields of 30 octets, values of
 * 1024. */
#define IMAP_LOGIN_ID_PAIRS_MAX 30
#define IMAP_LOGIN_ID_FIELD_MAX 30
#define IMAP_LOGIN_ID_VALUE_MAX 1024

enum imap_login_tls_level {
	IMAP_LOGIN_TLS_NONE,
	IMAP_LOGIN_TLS_MAY,
	IMAP_LOGIN_TLS_ENCRYPT,
};

/* Settings, read once before the privilege drop. */
struct imap_login_settings {
	const char *queue_dir;
	const char *service; /* post-login service: "imapd" */
	const char
		*mail_name; /* "Facteur": the greeting says "Facteur ready." */
	long long login_timeout;
	unsigned failure_limit;
	enum imap_login_tls_level tls_level;
	bool wrappermode;
	bool disable_plaintext_auth;
};

struct imap_login {
	struct server *srv;
	const struct config *cfg;
	struct imap_login_settings set;
	struct tls_server *tls; /* NULL: no TLS */
	struct event *sighup, *sigterm, *late;
	struct imap_login_session *sessions; /* not yet handed over */
};

/* Where an AUTHENTICATE dialogue is (RFC 9051 §6.2.2). */
enum imap_login_sasl_step {
	IMAP_LOGIN_SASL_NONE,
	IMAP_LOGIN_SASL_PLAIN,	    /* waiting for the PLAIN response */
	IMAP_LOGIN_SASL_LOGIN_USER, /* waiting for the LOGIN user name */
	IMAP_LOGIN_SASL_LOGIN_PASS, /* waiting for the LOGIN password */
	IMAP_LOGIN_SASL_CHECKING,   /* the auth service is asked */
};

struct imap_login_session {
	struct imap_login *il;
	struct bufferevent *bev;
	struct imap_parser *parser;
	struct event *timer; /* close polling */
	struct imap_login_session *prev, *next;
	char addr[IMAP_LOGIN_ADDR_MAX];
	char port[8];
	char laddr[IMAP_LOGIN_ADDR_MAX];
	char lport[8];
	bool tls_active;
	bool tls_handshake; /* a TLS filter is in place, not yet done */
	bool closing;
	bool suspended; /* waiting for the auth service */
	unsigned bad_commands;
	unsigned auth_attempts;
	unsigned auth_failures;
	char *last_user;	  /* of the last attempt, for the log */
	const char *close_reason; /* static text for the log */
	unsigned close_ticks;
	/* AUTHENTICATE / LOGIN in progress (imap_login_auth.c). */
	enum imap_login_sasl_step sasl_step;
	const char *sasl_mech;
	char *sasl_tag;
	char *sasl_login_user;
	struct auth_client_req *auth_req;
};

/* imap_login_session.c */
void imap_login_session_accept(struct imap_login *il, int fd, const char *addr,
			       const char *port, const char *laddr,
			       const char *lport);
/* Queue one line; CRLF is added. */
void imap_login_reply(struct imap_login_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send what is pending, then free (reason goes to the log). */
void imap_login_session_close(struct imap_login_session *s, const char *reason);
void imap_login_session_suspend(struct imap_login_session *s);
void imap_login_session_resume(struct imap_login_session *s);
/* Put TLS over the connection after "OK Begin TLS negotiation now". */
void imap_login_session_starttls(struct imap_login_session *s);
/* The session leaves this module: its bufferevent now belongs to the
 * hand-over; the struct is freed.  relayed: see login_handoff(). */
void imap_login_session_detach(struct imap_login_session *s, bool relayed);
/* "* BYE" to every session not yet handed over, then close them. */
void imap_login_session_shutdown(struct imap_login *il, const char *text);
/* A bad command: counts, and ends the session at the limit. */
void imap_login_session_bad(struct imap_login_session *s);

/* imap_login_cmd.c */
/* The capability list for this session (static until next call). */
const char *imap_login_capability(const struct imap_login_session *s);
void imap_login_cmd_dispatch(struct imap_login_session *s,
			     const struct imap_command *cmd);

/* imap_login_auth.c */
/* Whether LOGIN and AUTHENTICATE are allowed now (TLS rule). */
bool imap_login_auth_allowed(const struct imap_login_session *s);
void imap_login_auth_login(struct imap_login_session *s,
			   const struct imap_command *cmd);
void imap_login_auth_authenticate(struct imap_login_session *s,
				  const struct imap_command *cmd);
/* A response line of the AUTHENTICATE dialogue (wiped by the caller). */
void imap_login_auth_input(struct imap_login_session *s, const char *line,
			   size_t len);
/* Session end: cancel a pending request, wipe secrets. */
void imap_login_auth_reset(struct imap_login_session *s);

#endif
