/*
 * mail_dispatch - the post-login service: a root dispatcher and its workers
 *
 * SYNOPSIS
 *	#include "login.h"
 *
 *	int mail_dispatch_main(int argc, char **argv, const char *name,
 *			       mail_worker_start_fn *start);
 *	void mail_worker_session_done(void);
 *
 * DESCRIPTION
 *	main() of imapd and pop3d.  The process is a unix service (master.cf
 *	"imapd unix - n n - - imapd": private, not unprivileged, so it stays
 *	root) built on the server skeleton with a request operation: each
 *	connection from a login process brings one session/1 frame, then
 *	the client's descriptor (login.h).  The dispatcher checks the frame
 *	strictly, receives the descriptor, looks the user up
 *	(mail_user_lookup()) and gives frame and descriptor to the worker
 *	for the mailbox owner's uid and gid as one mail-session/1 message
 *	over a SOCK_SEQPACKET socketpair, forking the worker when there is
 *	none.  Not started as root, there is one worker, as the same user.
 *
 *	A worker serves many sessions in one libevent loop: it calls start
 *	for each, and the session calls mail_worker_session_done() when it
 *	has closed its descriptor.  After max_idle seconds without a
 *	session it sends "worker-idle/1"; the dispatcher forgets it (a new
 *	session for that uid forks a new worker) and closes its end; the
 *	worker serves what was already on its way, sees end-of-file and
 *	exits.  The dispatcher reaps workers on SIGCHLD.
 *
 *	The dispatcher is persistent (max_idle and max_use do not end it),
 *	as its workers die with it.  When master asks it to finish
 *	(SIGHUP: reload), it stops taking requests, closes its worker
 *	sockets and exits once the workers have finished their sessions,
 *	so a reload does not cut IMAP or POP3 sessions.  On SIGTERM (stop)
 *	it exits at once and the kernel sends each worker SIGTERM
 *	(PR_SET_PDEATHSIG): nothing outlives master.
 *
 * DIAGNOSTICS
 *	A bad frame, a missing descriptor or a request that takes longer
 *	than LOGIN_HANDOFF_TIMEOUT is logged and closed.  An unknown user,
 *	a failed lookup, a mailbox owned by uid or gid 0 (as root) or a
 *	worker that cannot be started get the protocol's temporary error
 *	(login_unavailable_reply()), written by the dispatcher on the
 *	client's descriptor, and a warning.
 *
 * SECURITY
 *	The dispatcher runs as root and never reads a byte from a client:
 *	it reads frames from login processes (checked strictly) and writes
 *	one error line at most.  A worker gives up root for good before it
 *	runs a session (setgroups, setgid, setuid; priv_drop() checks that
 *	root cannot come back) and refuses uid 0.  It keeps no descriptor
 *	of the dispatcher: everything but stdio, its socket and the log
 *	collector is closed, so a user-owned process never holds a
 *	descriptor opened as root (the dispatcher's connection to auth's
 *	userdb service, which mail_user_lookup() keeps, say).
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "config.h"
#include "log.h"
#include "login.h"
#include "mail_user.h"
#include "maillog.h"
#include "net.h"
#include "priv.h"
#include "server.h"
#include "strbuf.h"

/* The worker's descriptor for its dispatcher socket, and the collector's
 * (docs/architecture.md, the master/child contract). */
#define WORKER_SOCK_FD	  3
#define WORKER_LOG_FD	  4
#define WORKER_IDLE_PROTO "worker-idle/1"
/* Requests one dispatcher process handles at once. */
#define DISPATCH_CLIENT_LIMIT 100

struct worker {
	pid_t pid;
	int sock; /* SOCK_SEQPACKET, dispatcher side */
	uid_t uid;
	gid_t gid;
	struct event *ev;
	struct worker *next;
};

/* A request whose frame came; its descriptor has yet to follow. */
struct pending {
	int fd;
	struct attr_list *list;
	struct login_session s;
	struct event *ev;
};

static struct dispatch {
	const char *name;
	mail_worker_start_fn *start;
	struct server *srv;
	const struct config *cfg;
	bool root;
	struct worker *workers;
	unsigned nchildren; /* forked and not yet reaped */
	bool exiting;
	struct event *sigchld;
} dispatch;

/* --- worker side ------------------------------------------------------ */

static struct {
	struct event_base *base;
	struct event *ev;
	struct event *idle;
	long long max_idle;
	unsigned active;
	bool retiring; /* the dispatcher closed: no more sessions */
	bool told_idle;
} worker;

/* worker_maybe_exit - leave the loop once retired and idle */
static void worker_maybe_exit(void)
{
	if (worker.retiring && worker.active == 0)
		event_base_loopbreak(worker.base);
}

/* mail_worker_session_done - a session closed its descriptor */
void mail_worker_session_done(void)
{
	struct timeval tv = {.tv_sec = (time_t)worker.max_idle};

	if (worker.active == 0)
		log_panic("mail_worker_session_done: no active session");
	worker.active--;
	if (worker.active == 0 && !worker.retiring && !worker.told_idle)
		evtimer_add(worker.idle, &tv);
	worker_maybe_exit();
}

/* worker_idle - no session for max_idle: offer to leave */
static void worker_idle(evutil_socket_t fd, short what, void *arg)
{
	struct strbuf frame;
	struct attr_writer w;

	(void)fd;
	(void)what;
	(void)arg;
	if (worker.active > 0 || worker.retiring)
		return;
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, WORKER_IDLE_PROTO);
	attr_writer_end(&w);
	/* The dispatcher answers by closing; sessions it sent before
	 * that are still served. */
	if (send(WORKER_SOCK_FD, frame.data, frame.len, MSG_NOSIGNAL) < 0) {
		worker.retiring = true;
		worker_maybe_exit();
	}
	worker.told_idle = true;
	strbuf_release(&frame);
}

/* worker_session - one mail-session/1 message with its descriptor */
static void worker_session(const char *buf, size_t len, int fd)
{
	struct attr_list *list = NULL;
	struct login_session s;
	struct mail_user user;
	const char *err = NULL;
	uint32_t flen;

	if (fd < 0) {
		err = "no descriptor";
	} else if (len < ATTR_HEADER_SIZE) {
		err = "short frame";
	} else {
		flen = (uint32_t)(unsigned char)buf[0] << 24 |
		       (uint32_t)(unsigned char)buf[1] << 16 |
		       (uint32_t)(unsigned char)buf[2] << 8 |
		       (unsigned char)buf[3];
		if (flen != len - ATTR_HEADER_SIZE)
			err = "bad frame length";
		else if ((list = attr_decode(buf + ATTR_HEADER_SIZE, flen,
					     &err)) != NULL &&
			 login_session_read(list, &s, &user, &err) == 0)
			err = NULL;
		else if (err == NULL)
			err = "bad frame";
	}
	/* Defence in depth: a worker serves its own owner's mailboxes. */
	if (err == NULL && dispatch.root &&
	    (user.uid != getuid() || user.gid != getgid()))
		err = "session for another mailbox owner";
	if (err != NULL) {
		log_warn("bad session from dispatcher: %s", err);
		if (fd >= 0)
			close(fd);
		attr_list_free(&list);
		return;
	}
	evtimer_del(worker.idle);
	worker.active++;
	(void)net_set_nonblock(fd, true);
	dispatch.start(worker.base, dispatch.cfg, fd, &s, &user);
	attr_list_free(&list);
}

/* worker_readable - a session, or the dispatcher closed */
static void worker_readable(evutil_socket_t sock, short what, void *arg)
{
	char buf[LOGIN_SESSION_MAX];
	ssize_t n;
	int fd;

	(void)what;
	(void)arg;
	n = fdpass_recv(sock, &fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_warn("read from dispatcher: %m");
		worker.retiring = true;
		event_del(worker.ev);
		worker_maybe_exit();
		return;
	}
	worker_session(buf, (size_t)n, fd);
}

/* stderr_is_null - whether stderr leads nowhere (master's /dev/null) */
static bool stderr_is_null(void)
{
	struct stat st, null_st;

	if (fstat(STDERR_FILENO, &st) < 0)
		return true;
	if (stat("/dev/null", &null_st) < 0)
		return false;
	return S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev;
}

/* worker_main - the child: become the owner, serve sessions, exit */
static _Noreturn void worker_main(int sock, uid_t uid, gid_t gid, pid_t parent)
{
	const char *logfd = getenv(MAILLOG_FD_ENV);
	const char *err;
	sigset_t none;

	/* The dispatcher's libevent handlers would write to its own
	 * signal pipe, which we share: back to plain dispositions. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_IGN); /* master's reload is for the dispatcher */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Keep stdio, our socket (as fd 3) and master's log collector (fd
	 * 4); close everything else the dispatcher had open. */
	if (logfd == NULL)
		log_to_stderr(true); /* closes a syslog or file sink */
	if (sock != WORKER_SOCK_FD) {
		if (dup2(sock, WORKER_SOCK_FD) < 0)
			log_fatal("dup2: %m");
		close(sock);
	}
	priv_close_from(logfd != NULL ? WORKER_LOG_FD + 1 : WORKER_LOG_FD);
	if (logfd == NULL &&
	    maillog_setup(dispatch.cfg, !stderr_is_null(), &err) < 0)
		log_warn("%s", err);
	(void)net_set_cloexec(WORKER_SOCK_FD, true);
	(void)net_set_nonblock(WORKER_SOCK_FD, true);

	if (dispatch.root) {
		if (uid == 0 || gid == 0)
			log_panic("worker for uid %ld gid %ld", (long)uid,
				  (long)gid);
		if (priv_drop(uid, gid, &err) < 0)
			log_fatal("drop privileges to uid %ld gid %ld: %s",
				  (long)uid, (long)gid, err);
	}
	/* After the uid change, which clears it: die with the dispatcher. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(0);

	worker.base = event_base_new();
	if (worker.base == NULL)
		log_fatal("event_base_new failed");
	worker.max_idle = config_time(dispatch.cfg, "max_idle");
	worker.idle = evtimer_new(worker.base, worker_idle, NULL);
	worker.ev = event_new(worker.base, WORKER_SOCK_FD, EV_READ | EV_PERSIST,
			      worker_readable, NULL);
	if (worker.idle == NULL || worker.ev == NULL)
		log_fatal("libevent: out of memory");
	event_add(worker.ev, NULL);
	{
		struct timeval tv = {.tv_sec = (time_t)worker.max_idle};

		evtimer_add(worker.idle, &tv);
	}
	event_base_dispatch(worker.base);
	event_free(worker.ev);
	event_free(worker.idle);
	event_base_free(worker.base);
	exit(0);
}

/* --- dispatcher side -------------------------------------------------- */

/* worker_forget - drop a worker from the table; close our end */
static void worker_forget(struct worker *w)
{
	for (struct worker **wp = &dispatch.workers; *wp; wp = &(*wp)->next)
		if (*wp == w) {
			*wp = w->next;
			break;
		}
	event_free(w->ev);
	close(w->sock);
	free(w);
	if (dispatch.exiting && dispatch.workers == NULL &&
	    dispatch.nchildren == 0)
		event_base_loopbreak(server_event_base(dispatch.srv));
}

/* worker_event - a worker said it is idle, or went away */
static void worker_event(evutil_socket_t sock, short what, void *arg)
{
	struct worker *w = arg;
	char buf[256];
	struct attr_list *list;
	const char *err;
	ssize_t n;

	(void)what;
	n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > ATTR_HEADER_SIZE) {
		list = attr_decode(buf + ATTR_HEADER_SIZE,
				   (size_t)n - ATTR_HEADER_SIZE, &err);
		if (list == NULL ||
		    strcmp(list->proto, WORKER_IDLE_PROTO) != 0 ||
		    attr_list_end(list, &err) < 0)
			log_warn("worker %ld: unexpected message",
				 (long)w->pid);
		attr_list_free(&list);
	}
	/* Idle, confused or gone: no more sessions go to it. */
	worker_forget(w);
}

/* worker_spawn - fork a worker for uid/gid */
static struct worker *worker_spawn(uid_t uid, gid_t gid)
{
	struct worker *w;
	sigset_t all, old;
	pid_t parent = getpid();
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		log_warn("socketpair: %m");
		return NULL;
	}
	/* No signal may run a libevent handler in the child before it has
	 * reset them (it would wake our loop through the shared pipe). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(sp[0]);
		worker_main(sp[1], uid, gid, parent);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sp[1]);
	if (pid < 0) {
		log_warn("fork: %m");
		close(sp[0]);
		return NULL;
	}
	dispatch.nchildren++;
	(void)net_set_nonblock(sp[0], true);
	w = xcalloc(1, sizeof(*w));
	w->pid = pid;
	w->sock = sp[0];
	w->uid = uid;
	w->gid = gid;
	w->ev = event_new(server_event_base(dispatch.srv), sp[0],
			  EV_READ | EV_PERSIST, worker_event, w);
	if (w->ev == NULL)
		log_fatal("libevent: out of memory");
	event_add(w->ev, NULL);
	w->next = dispatch.workers;
	dispatch.workers = w;
	if (server_verbose(dispatch.srv))
		log_debug("worker %ld started for uid %ld gid %ld", (long)pid,
			  (long)uid, (long)gid);
	return w;
}

/* worker_find - the worker for uid/gid (any, when not root) */
static struct worker *worker_find(uid_t uid, gid_t gid)
{
	for (struct worker *w = dispatch.workers; w; w = w->next)
		if (!dispatch.root || (w->uid == uid && w->gid == gid))
			return w;
	return NULL;
}

/* sigchld_event - reap workers */
static void sigchld_event(evutil_socket_t fd, short what, void *arg)
{
	int status;
	pid_t pid;

	(void)fd;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (dispatch.nchildren > 0)
			dispatch.nchildren--;
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warn("worker %ld killed by signal %d", (long)pid,
				 WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warn("worker %ld exited with status %d", (long)pid,
				 WEXITSTATUS(status));
	}
	if (dispatch.exiting && dispatch.nchildren == 0)
		event_base_loopbreak(server_event_base(dispatch.srv));
}

/* reply_unavailable - the protocol's temporary error, then close */
static void reply_unavailable(const struct login_session *s, int fd,
			      const char *text)
{
	char buf[LOGIN_TAG_MAX + 256];
	ssize_t n;

	login_unavailable_reply(s, text, buf, sizeof(buf));
	/* One short line into an empty socket buffer: never blocks. */
	n = send(fd, buf, strlen(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
	close(fd);
}

/* dispatch_session - look the user up, hand the session to a worker */
static void dispatch_session(const struct login_session *s, int cfd)
{
	struct mail_user user = {0};
	struct strbuf frame;
	struct worker *w;
	const char *err;
	int r, tries;

	/* imap-login pointed at pop3d (or the reverse) in master.cf. */
	if ((strncmp(dispatch.name, "imap", 4) == 0 ||
	     strncmp(dispatch.name, "pop3", 4) == 0) &&
	    strncmp(dispatch.name, s->protocol, 4) != 0) {
		log_warn("%s: user=<%s>: protocol %s sent to service %s: "
			 "check master.cf",
			 s->protocol, s->user, s->protocol, dispatch.name);
		reply_unavailable(s, cfd, "Wrong post-login service");
		return;
	}
	r = mail_user_lookup(dispatch.cfg, s->user, &user, &err);
	if (r < 0) {
		log_warn("%s: user=<%s>, rip=%s: mailbox lookup failed: %s",
			 s->protocol, s->user, s->client, err);
		reply_unavailable(s, cfd, "Temporary user lookup failure");
		return;
	}
	if (r == 0) {
		log_warn("%s: user=<%s>, rip=%s: authenticated but has no "
			 "mailbox",
			 s->protocol, s->user, s->client);
		reply_unavailable(s, cfd, "No mailbox for this user");
		return;
	}
	if (dispatch.root && (user.uid == 0 || user.gid == 0 ||
			      user.uid == (uid_t)-1 || user.gid == (gid_t)-1)) {
		log_warn("%s: user=<%s>: refusing mailbox owner uid %ld gid "
			 "%ld (root or none)",
			 s->protocol, s->user, (long)user.uid, (long)user.gid);
		reply_unavailable(s, cfd, "Mailbox owner not allowed");
		mail_user_clear(&user);
		return;
	}
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	login_session_write(&frame, s, &user);
	if (frame.len > LOGIN_SESSION_MAX) {
		log_warn("%s: user=<%s>: session too large to pass",
			 s->protocol, s->user);
		reply_unavailable(s, cfd, "Internal error");
		goto out;
	}
	/* A worker that just died or retired: one more try, a new one. */
	for (tries = 0; tries < 2; tries++) {
		w = worker_find(user.uid, user.gid);
		if (w == NULL && (w = worker_spawn(user.uid, user.gid)) == NULL)
			break;
		if (fdpass_send(w->sock, cfd, frame.data, frame.len) == 0) {
			close(cfd);
			goto out;
		}
		log_warn("pass session to worker %ld: %m", (long)w->pid);
		worker_forget(w);
	}
	reply_unavailable(s, cfd, "Mail service unavailable, try again later");
out:
	strbuf_release(&frame);
	mail_user_clear(&user);
}

/* pending_free - the end of a request connection */
static void pending_free(struct pending *p)
{
	close(p->fd);
	event_free(p->ev);
	attr_list_free(&p->list);
	free(p);
	server_conn_done(dispatch.srv);
}

/* pending_event - the descriptor after the frame */
static void pending_event(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct stat st;
	char byte = 0;
	ssize_t n;
	int cfd = -1;

	if (what & EV_TIMEOUT) {
		log_warn("%s: user=<%s>: no descriptor after the session frame",
			 p->s.protocol, p->s.user);
		pending_free(p);
		return;
	}
	n = fdpass_recv(fd, &cfd, &byte, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1 || byte != 'F' || cfd < 0 || fstat(cfd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		log_warn("%s: user=<%s>: bad descriptor message from login "
			 "process",
			 p->s.protocol, p->s.user);
		if (cfd >= 0)
			close(cfd);
		pending_free(p);
		return;
	}
	dispatch_session(&p->s, cfd);
	pending_free(p);
}

/* dispatch_request - a login process hands a session over */
static void dispatch_request(struct server *srv, int fd, struct attr_list *list)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	struct timeval tv = {.tv_sec = LOGIN_HANDOFF_TIMEOUT};
	const char *err;

	p->fd = fd;
	p->list = list;
	if (login_session_read(list, &p->s, NULL, &err) < 0) {
		log_warn("bad session frame from login process: %s", err);
		close(fd);
		attr_list_free(&p->list);
		free(p);
		server_conn_done(srv);
		return;
	}
	p->ev = event_new(server_event_base(srv), fd, EV_READ | EV_PERSIST,
			  pending_event, p);
	if (p->ev == NULL)
		log_fatal("libevent: out of memory");
	event_add(p->ev, &tv);
}

/* dispatch_init - after the skeleton's set-up (we stay root) */
static void dispatch_init(struct server *srv)
{
	dispatch.srv = srv;
	dispatch.cfg = server_config(srv);
	dispatch.root = geteuid() == 0;
	dispatch.sigchld = evsignal_new(server_event_base(srv), SIGCHLD,
					sigchld_event, NULL);
	if (dispatch.sigchld == NULL)
		log_fatal("libevent: out of memory");
	event_add(dispatch.sigchld, NULL);
}

/* dispatch_pre_exit - drained: let the workers finish their sessions */
static void dispatch_pre_exit(struct server *srv)
{
	dispatch.exiting = true;
	while (dispatch.workers != NULL)
		worker_forget(dispatch.workers);
	/* SIGTERM (the skeleton's handler) still ends this at once. */
	if (dispatch.nchildren > 0)
		event_base_dispatch(server_event_base(srv));
	event_free(dispatch.sigchld);
}

/* mail_dispatch_main - main() of imapd, pop3d */
int mail_dispatch_main(int argc, char **argv, const char *name,
		       mail_worker_start_fn *start)
{
	static struct server_ops ops;

	ops.name = name;
	ops.init = dispatch_init;
	ops.request = dispatch_request;
	ops.pre_exit = dispatch_pre_exit;
	ops.client_limit = DISPATCH_CLIENT_LIMIT;
	ops.persistent = true;
	dispatch.name = name;
	dispatch.start = start;
	return server_main(argc, argv, &ops, NULL);
}
