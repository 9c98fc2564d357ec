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
 *
 * Wire order (the server skeleton reads a request's first frame with
 * read(2), which would drop a descriptor riding on it): the session/1
 * frame is written first, then the descriptor follows in a message of
 * its own whose one data byte is 'F'.  The dispatcher hands a session
 * to its worker as one SOCK_SEQPACKET message: a "mail-session/1" frame
 * (the session/1 attributes plus the mail_user: maildir, home, uid, gid,
 * is_system) with the descriptor attached.  Every frame is checked
 * strictly (login_session_read()).
 *
 * Changes since the first version of this contract (all additions; the
 * calls and types the POP3 and IMAP helpers use are unchanged):
 *   - login_handoff(): on failure it writes the protocol's temporary
 *     error itself (login_unavailable_reply()), closes the client, then
 *     calls done(ok = false);
 *   - login_handoff_relaying() and login_handoff_set_relay_end(): how
 *     the login process learns that a relayed session ended;
 *   - a session with bytes still buffered (pipelined input after the
 *     login command, unsent output) is relayed like a TLS one;
 *   - login_session_write()/login_session_read(), the frame codec, and
 *     login_unavailable_reply(), shared by both sides.
 */
#ifndef FACTEUR_LOGIN_H
#define FACTEUR_LOGIN_H

#include <stdbool.h>
#include <sys/types.h>

struct attr_list;
struct bufferevent;
struct strbuf;
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

/* Frame names and limits. */
#define LOGIN_SESSION_PROTO	 "session/1"
#define LOGIN_MAIL_SESSION_PROTO "mail-session/1"
/* The largest session/1 or mail-session/1 frame, header included. */
#define LOGIN_SESSION_MAX 16384
/* Field limits checked by login_session_read(). */
#define LOGIN_USER_MAX	 512 /* AUTH_USER_MAX */
#define LOGIN_TAG_MAX	 128
#define LOGIN_CLIENT_MAX 64
#define LOGIN_PATH_MAX	 4096
#define LOGIN_METHOD_MAX 32
/* How long the login side waits for the post-login service to take a
 * session, and the dispatcher for the descriptor after the frame. */
#define LOGIN_HANDOFF_TIMEOUT 10

/* --- the frames (lib/login/login_session.c) -------------------------- */

/*
 * login_session_write - append a frame to out: proto LOGIN_SESSION_PROTO
 * with user NULL, or LOGIN_MAIL_SESSION_PROTO with the user's mailbox.
 */
void login_session_write(struct strbuf *out, const struct login_session *s,
			 const struct mail_user *user);

/*
 * login_session_read - check a decoded frame strictly and fill s: with
 * user NULL the frame must be session/1, else mail-session/1 and user
 * is filled too.  The
 * strings point into list: valid while it lives; do not
 * mail_user_clear() such a user.  Every attribute is required and none
 * other is accepted; protocol is imap or pop3, an IMAP tag is a valid
 * tag and a POP3 tag empty, ports are numbers, tls yes or no, strings
 * are bounded and free of control characters, uid/gid are numbers.
 * Returns 0, or -1 with *error_r (static or list-owned).
 */
int login_session_read(struct attr_list *list, struct login_session *s,
		       struct mail_user *user, const char **error_r);

/*
 * login_unavailable_reply - the protocol's temporary error for s, CRLF
 * included, in buf: "TAG NO [UNAVAILABLE] text" (IMAP) or "-ERR
 * [SYS/TEMP] text" (POP3, RFC 3206).  Returns buf.
 */
const char *login_unavailable_reply(const struct login_session *s,
				    const char *text, char *buf, size_t size);

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

/*
 * login_handoff_relaying - only inside done: true when this process
 * relays the session (TLS, or bytes were still buffered).  Then the
 * connection stays counted: the caller does not call server_conn_done()
 * in done; the relay-end function does, once the relay is over.  When
 * false (plain session passed, or failure) the caller calls
 * server_conn_done() itself.
 */
bool login_handoff_relaying(void);

/* login_handoff_set_relay_end - fn(arg) runs once per ended relay. */
void login_handoff_set_relay_end(void (*fn)(void *arg), void *arg);

/* --- post-login side (imapd, pop3d) ---------------------------------- */

/*
 * A worker received a session: fd is the client (plain bytes; TLS, if
 * any, is terminated in the login process), session the state, user the
 * looked-up mailbox owner and location, cfg the configuration.  The
 * callee owns fd and must call mail_worker_session_done() when it has
 * closed it.  Strings in session and user are valid only during the
 * call: copy what is kept.  session->protocol is "imap" or "pop3"; a
 * service whose name starts with "imap" or "pop3" is only given sessions
 * of that protocol (the dispatcher refuses the others: master.cf pointing
 * imap-login at pop3d).  When the dispatcher runs as root the worker
 * runs as user->uid/gid (never 0).
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
