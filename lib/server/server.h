/*
 * server - the skeleton of every program that master starts
 *
 * A service (smtpd, qmgr, imapd, the test service...) fills in a struct
 * server_ops and calls server_main() from main().  The skeleton speaks the
 * master/child contract of docs/architecture.md so that no service has to:
 *
 *   - command line: -c CONFIG_DIR -n SERVICE -t TYPE [-u] [-v]
 *     [-o name=value...] [args...].  -o are main.cf overrides; the
 *     remaining words are the service's own (server_args());
 *   - start-up: umask 077; load main.cf; pick the log sink (master's
 *     collector on fd 4, else maillog_file, else stderr when stderr is
 *     not /dev/null, else syslog); close inherited descriptors beyond the
 *     ones in the contract; ops->pre_drop (open what needs root: keys,
 *     files); when running as root with -u, drop to mail_owner (or the
 *     user ops->owner_param names) for good;
 *     ops->init; then the event loop;
 *   - listeners: inet and unix sockets from fd 5 (FACTEUR_LISTEN_FDS of
 *     them) are accepted non-blocking (all processes of a service share
 *     them: a lost race is EAGAIN and ignored).  Each accepted connection
 *     goes to ops->accept, which owns the descriptor (non-blocking,
 *     close-on-exec) and calls server_conn_done() once it has closed it.
 *     A unix service that has a wakeup or request op speaks the attr
 *     protocol instead: the skeleton reads the connection's first frame
 *     itself (bounded by SERVER_REQUEST_MAX and a timeout); "wakeup/1"
 *     calls ops->wakeup and closes; "wakeup-stream/1" calls ops->wakeup
 *     and keeps the connection as a wakeup stream: each later read of
 *     bytes containing a "W" is one more ops->wakeup, until the client
 *     closes (or the process drains: it closes its streams).  A stream
 *     does not count as an active connection, against client_limit or
 *     for max_idle (smtpd processes hold one each to qmgr).  Any other
 *     frame goes to ops->request, which then owns the descriptor (and
 *     the frame) exactly like accept.
 *     A fifo service gets ops->wakeup for each "W" byte written to it;
 *   - availability: while fewer than client_limit connections are
 *     active the process is available; the skeleton reports each change
 *     to master with a "status/1" frame (pid, avail) on fd 3 and stops
 *     accepting while it is busy;
 *   - exit: after max_use connections (then as soon as none is active),
 *     after max_idle seconds without an active connection (neither for a
 *     persistent service), on SIGHUP or
 *     when master goes away (stop accepting, exit once idle), and at once
 *     on SIGTERM (active connections are dropped: master only sends it
 *     to stop everything).
 *
 * Everything runs in one libevent loop (server_event_base()); a service
 * must never block for long in a callback.
 */
#ifndef FACTEUR_SERVER_H
#define FACTEUR_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct server;
struct config;
struct event_base;
struct attr_list;

/* The largest first frame the skeleton reads for ops->request. */
#define SERVER_REQUEST_MAX (64 * 1024)
/* How long a unix client may take to send its first frame. */
#define SERVER_REQUEST_TIMEOUT 10

struct server_ops {
	/* Program name for the log ("smtpd" gives "facteur/smtpd[PID]"). */
	const char *name;
	/* Optional: runs with the start-up privileges (root). */
	void (*pre_drop)(struct server *srv);
	/* Optional: runs after the privilege drop, before the loop. */
	void (*init)(struct server *srv);
	/*
	 * A new connection on an inet or unix listener.  The service owns
	 * fd from here on; sa/salen are the peer's address (for a unix
	 * socket salen may be 0).  Call server_conn_done() after close().
	 */
	void (*accept)(struct server *srv, int fd, const struct sockaddr *sa,
		       socklen_t salen);
	/* Optional: master's wakeup timer fired (unix or fifo services). */
	void (*wakeup)(struct server *srv);
	/*
	 * Optional (unix services): a connection's first frame was not a
	 * wakeup.  The service owns fd and list (attr_list_free() it) and
	 * calls server_conn_done() after close(fd).  Without it such a
	 * connection is logged and closed.
	 */
	void (*request)(struct server *srv, int fd, struct attr_list *list);
	/* Optional: called once before a normal exit (not on SIGTERM). */
	void (*pre_exit)(struct server *srv);
	/* Connections one process serves at once; 0 means 1. */
	unsigned client_limit;
	/*
	 * Optional: a parameter naming the user to drop to instead of
	 * mail_owner when the service is unprivileged and started as root
	 * (auth: "auth_owner"); an empty value means mail_owner.
	 */
	const char *owner_param;
	/*
	 * Ignore max_idle and max_use: a single long-running process that
	 * keeps state between requests (qmgr), as Postfix's qmgr does.
	 */
	bool persistent;
};

/*
 * server_main - run the service; returns the exit status for main().
 * ctx is handed back by server_ctx().  Fatal start-up problems (bad
 * options, unreadable main.cf, failed privilege drop) end the process
 * with log_fatal(), which master counts as an abnormal exit.
 */
int server_main(int argc, char **argv, const struct server_ops *ops, void *ctx);

/* A connection handed to accept or request is finished and closed. */
void server_conn_done(struct server *srv);

/* Stop accepting and exit as soon as no connection is active. */
void server_drain(struct server *srv);
/* Whether the process is on its way out (server_drain, SIGHUP, master
 * gone): a service that holds a connection open should let it go. */
bool server_draining(const struct server *srv);

/* Accessors; the returned pointers live as long as the process. */
const struct config *server_config(const struct server *srv);
struct event_base *server_event_base(const struct server *srv);
void *server_ctx(const struct server *srv);
/* The service name (-n) and type (-t: "inet", "unix", "fifo"). */
const char *server_service(const struct server *srv);
const char *server_type(const struct server *srv);
/* The words after the options: the service's own arguments. */
char **server_args(const struct server *srv, int *argc_r);
/* Whether -v was given. */
bool server_verbose(const struct server *srv);

#endif
