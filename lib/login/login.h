/*
 * login - from a pre-login process to a post-login mail process
 *
 * IMAP and POP3 sessions are served in two stages (docs/architecture.md,
 * "Reading mail"), as Dovecot splits imap-login from imap:
 *
 *   1. imap-login / pop3-login (inet services, unprivileged mail_owner,
 *      many sessions per process): greeting, CAPABILITY, STARTTLS or
 *      implicit TLS, LOGIN/AUTHENTICATE/USER+PASS checked by the auth
 *      service.  This code parses everything a client sends before it
 *      is authenticated and never has access to any mailbox.
 *   2. After auth said ok, login_handoff() connects to
 *      queue_directory/private/SERVICE (imapd or pop3d, run by master as
 *      root, unpriv n) and sends one "session/1" frame with the session
 *      state, followed by the client's descriptor (SCM_RIGHTS).  A plain
 *      connection's own socket is passed and the login process forgets
 *      it; a TLS connection stays in the login process, which passes one
 *      end of a socketpair and relays bytes between it and the TLS
 *      stream until either side closes (Dovecot's login proxy).
 *   3. The post-login service (mail_dispatch_main) is a small root
 *      dispatcher: it looks the user up (mail_user_lookup), and hands the
 *      session to a worker process running as the mailbox owner's uid and
 *      gid, forking one when there is none for that uid yet.  A worker
 *      serves many sessions in one libevent loop (all virtual users share
 *      the vmail worker), which keeps the memory per idle session small.
 *      When not started as root (tests, demo) there is one worker running
 *      as the same user.
 *
 * session/1 attributes: protocol (imap|pop3), user (canonical), client
 * (address), client_port, local_port, tls (yes|no: the client side is
 * TLS), tag (IMAP: tag of the LOGIN/AUTHENTICATE to answer; empty for
 * POP3), sasl_method.  The post-login side writes the success reply
 * (IMAP "tag OK [CAPABILITY ...] Logged in", POP3 "+OK Logged in.")
 * once the mailbox is ready, or an error reply and closes.
 */
#ifndef FACTEUR_LOGIN_H
#define FACTEUR_LOGIN_H

#include <stdbool.h>
#include <sys/types.h>

struct attr_list;
struct bufferevent;
struct config;
struct event_base;
struct mail_user;

/* The state handed over; strings owned by the caller. */
struct login_session {
	const char *protocol; /* "imap" or "pop3" */
	const char *user;
	const char *client;	 /* peer address, "127.0.0.1" */
	const char *client_port; /* "54321" */
	const char *local_port;	 /* "993" */
	bool tls;
	const char *tag; /* IMAP; "" for POP3 */
	const char *sasl_method;
};

/* --- login side (imap-login, pop3-login) ----------------------------- */

/* ok: the post-login service has the session; else error says why. */
typedef void login_handoff_done_fn(void *ctx, bool ok, const char *error);

/*
 * login_handoff - hand client over to queue_dir/private/service.  client
 * is the session's bufferevent (plain socket or TLS filter); its input
 * buffer must be empty or hold only bytes the client pipelined after
 * the login command, which are forwarded.  From this call on client
 * belongs to the handoff (it is freed when done).  done runs once, from
 * the event loop, before any relaying starts; ctx must stay valid until
 * then.  The login process counts a relayed TLS session as a connection
 * until it ends (server_conn_done is called by the caller from done only
 * for plain sessions: see login_handoff_relaying()).
 */
void login_handoff(struct event_base *base, const char *queue_dir,
		   const char *service, struct bufferevent *client,
		   const struct login_session *session,
		   login_handoff_done_fn *done, void *ctx);

/* --- post-login side (imapd, pop3d) ---------------------------------- */

/*
 * A worker received a session: fd is the client (plain bytes; TLS, if
 * any, is terminated in the login process), session the state, user the
 * looked-up mailbox owner and location, cfg the configuration.  The
 * callee owns fd and must call mail_worker_session_done() when it has
 * closed it.  Strings in session and user are valid only during the
 * call: copy what is kept.
 */
typedef void mail_worker_start_fn(struct event_base *base,
				  const struct config *cfg, int fd,
				  const struct login_session *session,
				  const struct mail_user *user);

void mail_worker_session_done(void);

/*
 * mail_dispatch_main - main() of a post-login service named name
 * ("imapd", "pop3d") whose sessions start with start.  Returns the exit
 * status.
 */
int mail_dispatch_main(int argc, char **argv, const char *name,
		       mail_worker_start_fn *start);

/* --- descriptor passing (lib/login/fdpass.c) ------------------------- */

/* Send len bytes of data and fd in one message; 0 or -1 with errno. */
int fdpass_send(int sock, int fd, const void *data, size_t len);
/*
 * Receive up to size bytes and at most one fd (*fd_r, -1 when none came;
 * close-on-exec).  Returns the byte count, 0 at EOF, -1 with errno.
 */
ssize_t fdpass_recv(int sock, int *fd_r, void *buf, size_t size);

#endif
