/*
 * server - the skeleton of every program that master starts
 *
 * SYNOPSIS
 *	#include "server.h"
 *
 *	int server_main(argc, argv, ops, ctx)
 *	void server_conn_done(srv)
 *	void server_drain(srv)
 *	bool server_draining(srv)
 *
 * DESCRIPTION
 *	See server.h for the API and docs/architecture.md for the contract
 *	with master.  The skeleton is one libevent loop: an EV_READ event
 *	per listening descriptor (added only while the process is
 *	available), signal events for SIGHUP and SIGTERM, an idle timer,
 *	and an event on the status pipe that fires when its reader (master)
 *	is gone: a pipe's write end reports an error condition then, which
 *	libevent delivers as readable.
 *
 *	Availability is the heart of the contract.  master starts a process
 *	only when none of the service is available, so a process must say
 *	"avail=0" the moment it stops accepting and "avail=1" when it takes
 *	new connections again; it says nothing at start-up, because master
 *	counts a new process as available until told otherwise.
 *
 * DIAGNOSTICS
 *	Fatal: bad command line, environment not set up by master,
 *	unreadable main.cf, failed privilege drop.  Warnings: a unix client
 *	that sends no or a bad first frame, a status frame that cannot be
 *	written.
 *
 * SECURITY
 *	umask 077 is set first.  Descriptors other than those of the
 *	contract are closed before the service runs.  As root with -u, the
 *	process drops to mail_owner (priv_drop(): groups, gid, uid, checked
 *	irreversible) after ops->pre_drop and before the first accept(2), so
 *	no network byte is read as root.  The first frame of a unix client
 *	is bounded (SERVER_REQUEST_MAX) before any byte is buffered.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "config.h"
#include "log.h"
#include "maillog.h"
#include "net.h"
#include "priv.h"
#include "server.h"
#include "strbuf.h"
#include "strnum.h"

/* Descriptor numbers of the master/child contract. */
#define SERVER_STATUS_FD 3
#define SERVER_LOG_FD	 4
#define SERVER_LISTEN_FD 5

struct server_listener {
	int fd;
	struct event *ev;
};

struct server {
	const struct server_ops *ops;
	void *ctx;
	struct config *cfg;
	struct event_base *base;
	const char *service;
	const char *type;
	char **args;
	int nargs;
	bool verbose;
	bool unpriv;
	bool fifo;
	bool frame_mode; /* unix service: read the first frame */
	int status_fd;	 /* -1 once master is known to be gone */
	struct server_listener *listeners;
	size_t nlisteners;
	bool listening;
	bool avail; /* as last reported to master */
	bool draining;
	unsigned client_limit;
	unsigned active;
	long long uses;
	long long max_use;
	long long max_idle;
	struct event *idle_timer;
	struct event *sig_hup;
	struct event *sig_term;
	struct event *master_watch;
	struct server_stream *streams; /* wakeup streams, not in active */
};

/*
 * A wakeup stream (wakeup-stream/1): a client that keeps its connection
 * and writes one byte per wakeup instead of connecting each time.
 */
struct server_stream {
	struct server_stream *next, **prevp;
	struct server *srv;
	int fd;
	struct event *ev;
};

/* A unix connection whose first frame is being read. */
struct server_frame {
	struct server *srv;
	int fd;
	struct event *ev;
	unsigned char header[ATTR_HEADER_SIZE];
	size_t got;
	uint32_t len;
	char *payload;
};

static void server_update(struct server *srv);
static void stream_free(struct server_stream *st);

/* server_status - tell master whether we take new connections */
static void server_status(struct server *srv, bool avail)
{
	struct strbuf frame;
	struct attr_writer w;
	ssize_t n;

	if (srv->avail == avail || srv->status_fd < 0)
		return;
	srv->avail = avail;
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, "status/1");
	attr_put_int(&w, "pid", (int64_t)getpid());
	attr_put_int(&w, "avail", avail ? 1 : 0);
	attr_writer_end(&w);
	/* One write below PIPE_BUF is atomic on a pipe shared by siblings. */
	n = write(srv->status_fd, frame.data, frame.len);
	if (n < 0 && errno == EPIPE) {
		log_warn("master went away: finishing current work");
		srv->status_fd = -1;
		server_drain(srv);
	} else if (n != (ssize_t)frame.len) {
		log_warn("write status to master: %s",
			 n < 0 ? strerror(errno) : "short write");
	}
	strbuf_release(&frame);
}

/* server_exit_loop - leave the event loop for a normal exit */
static void server_exit_loop(struct server *srv)
{
	event_base_loopbreak(srv->base);
}

/* server_update - listen or not, report, arm the idle timer, or exit */
static void server_update(struct server *srv)
{
	bool spent = srv->max_use > 0 && srv->uses >= srv->max_use;
	bool want = !srv->draining && !spent && srv->active < srv->client_limit;

	if (want != srv->listening) {
		for (size_t i = 0; i < srv->nlisteners; i++) {
			if (want)
				event_add(srv->listeners[i].ev, NULL);
			else
				event_del(srv->listeners[i].ev);
		}
		srv->listening = want;
	}
	server_status(srv, want);
	if (srv->active == 0 && (srv->draining || spent)) {
		server_exit_loop(srv);
		return;
	}
	if (srv->active == 0 && srv->max_idle > 0) {
		struct timeval tv = {.tv_sec = (time_t)srv->max_idle};

		evtimer_add(srv->idle_timer, &tv);
	} else {
		evtimer_del(srv->idle_timer);
	}
}

/* server_conn_done - a connection is finished */
void server_conn_done(struct server *srv)
{
	if (srv->active == 0)
		log_panic("server_conn_done: no active connection");
	srv->active--;
	server_update(srv);
}

/* server_drain - stop accepting, exit once idle */
void server_drain(struct server *srv)
{
	if (srv->draining)
		return;
	srv->draining = true;
	if (srv->master_watch != NULL)
		event_del(srv->master_watch);
	/* Their clients reconnect, to the process that replaces us. */
	while (srv->streams != NULL)
		stream_free(srv->streams);
	server_update(srv);
}

/* server_draining - whether the process exits once idle */
bool server_draining(const struct server *srv)
{
	return srv->draining;
}

/* frame_free - forget a first-frame reader and its descriptor */
static void frame_free(struct server_frame *fr, bool close_fd)
{
	if (close_fd)
		close(fr->fd);
	event_free(fr->ev);
	/* A first frame may carry a password (auth/1): wipe it. */
	if (fr->payload != NULL)
		memzero_explicit(fr->payload, fr->len);
	free(fr->payload);
	free(fr);
}

/* stream_free - close a wakeup stream */
static void stream_free(struct server_stream *st)
{
	if ((*st->prevp = st->next) != NULL)
		st->next->prevp = st->prevp;
	event_free(st->ev);
	close(st->fd);
	free(st);
}

/* stream_event - bytes on a wakeup stream: one wakeup per read */
static void stream_event(evutil_socket_t fd, short what, void *arg)
{
	struct server_stream *st = arg;
	struct server *srv = st->srv;
	char buf[256];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		stream_free(st);
		return;
	}
	/* Many wakeups read at once are one: the service coalesces them
	 * anyway (a scan sees every file that is there). */
	if (memchr(buf, 'W', (size_t)n) != NULL && srv->ops->wakeup != NULL)
		srv->ops->wakeup(srv);
}

/*
 * stream_start - the connection of fr becomes a wakeup stream.  It no
 * longer counts as an active connection: a client that holds one open
 * for its lifetime (every smtpd process holds one to qmgr) must not use
 * up the process's client_limit, nor keep it from exiting when idle.
 */
static void stream_start(struct server_frame *fr)
{
	struct server *srv = fr->srv;
	struct server_stream *st = xcalloc(1, sizeof(*st));

	st->srv = srv;
	st->fd = fr->fd;
	st->ev = event_new(srv->base, st->fd, EV_READ | EV_PERSIST,
			   stream_event, st);
	if (st->ev == NULL || event_add(st->ev, NULL) < 0)
		log_fatal("libevent: cannot watch a wakeup stream");
	if ((st->next = srv->streams) != NULL)
		st->next->prevp = &st->next;
	st->prevp = &srv->streams;
	srv->streams = st;
	frame_free(fr, false);
	if (srv->ops->wakeup != NULL)
		srv->ops->wakeup(srv);
	server_conn_done(srv);
}

/* frame_dispatch - hand a complete first frame to the service */
static void frame_dispatch(struct server_frame *fr)
{
	struct server *srv = fr->srv;
	struct attr_list *list;
	const char *error;

	list = attr_decode(fr->payload, fr->len, &error);
	if (list == NULL) {
		log_warn("bad request frame: %s", error);
	} else if (strcmp(list->proto, "wakeup/1") == 0) {
		attr_list_free(&list);
		if (srv->ops->wakeup != NULL)
			srv->ops->wakeup(srv);
	} else if (strcmp(list->proto, "wakeup-stream/1") == 0) {
		attr_list_free(&list);
		if (!srv->draining) {
			stream_start(fr);
			return;
		}
		/* On our way out: a one-time wakeup, the client reconnects. */
		if (srv->ops->wakeup != NULL)
			srv->ops->wakeup(srv);
	} else if (srv->ops->request != NULL) {
		int fd = fr->fd;

		frame_free(fr, false);
		srv->ops->request(srv, fd, list);
		return;
	} else {
		log_warn("unexpected request protocol %.64s", list->proto);
		attr_list_free(&list);
	}
	frame_free(fr, true);
	server_conn_done(srv);
}

/* frame_event - read the first frame of a unix connection */
static void frame_event(evutil_socket_t fd, short what, void *arg)
{
	struct server_frame *fr = arg;
	struct server *srv = fr->srv;
	const char *why = NULL;

	if (what & EV_TIMEOUT) {
		why = "timeout";
		goto bad;
	}
	for (;;) {
		bool in_header = fr->got < ATTR_HEADER_SIZE;
		size_t want = in_header
				      ? ATTR_HEADER_SIZE - fr->got
				      : fr->len - (fr->got - ATTR_HEADER_SIZE);
		char *dst = in_header
				    ? (char *)fr->header + fr->got
				    : fr->payload + fr->got - ATTR_HEADER_SIZE;
		ssize_t n;

		if (want == 0) {
			event_del(fr->ev);
			frame_dispatch(fr);
			return;
		}
		if ((n = read(fd, dst, want)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			why = strerror(errno);
			goto bad;
		}
		if (n == 0) {
			why = fr->got == 0 ? NULL : "unexpected end of file";
			goto bad;
		}
		fr->got += (size_t)n;
		if (in_header && fr->got == ATTR_HEADER_SIZE) {
			fr->len = (uint32_t)fr->header[0] << 24 |
				  (uint32_t)fr->header[1] << 16 |
				  (uint32_t)fr->header[2] << 8 | fr->header[3];
			/* Refuse before buffering a byte of it. */
			if (fr->len == 0 || fr->len > SERVER_REQUEST_MAX) {
				why = "bad frame length";
				goto bad;
			}
			fr->payload = xmalloc(fr->len);
		}
	}

bad:
	if (why != NULL)
		log_warn("read request: %s", why);
	frame_free(fr, true);
	server_conn_done(srv);
}

/* fifo_event - a fifo service: each "W" is a wakeup */
static void fifo_event(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char buf[256];
	ssize_t n;

	(void)what;
	/* Siblings share the fifo: EAGAIN means another took the bytes. */
	if ((n = read(fd, buf, sizeof(buf))) <= 0)
		return;
	srv->uses++;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 'W' && srv->ops->wakeup != NULL)
			srv->ops->wakeup(srv);
	server_update(srv);
}

/* accept_event - take pending connections while we have room */
static void accept_event(evutil_socket_t lfd, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	while (srv->listening) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Another process of the service won the race. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		srv->active++;
		srv->uses++;
		server_update(srv);
		if (srv->frame_mode) {
			struct server_frame *fr = xcalloc(1, sizeof(*fr));
			struct timeval tv = {.tv_sec = SERVER_REQUEST_TIMEOUT};

			fr->srv = srv;
			fr->fd = fd;
			fr->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST,
					   frame_event, fr);
			event_add(fr->ev, &tv);
		} else {
			srv->ops->accept(srv, fd, (struct sockaddr *)&ss, len);
		}
	}
}

/* idle_event - max_idle passed without a connection */
static void idle_event(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->verbose)
		log_debug("idle for %llds: exiting", srv->max_idle);
	server_exit_loop(srv);
}

/* hup_event - SIGHUP: master reloaded; finish and make room */
static void hup_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_drain(arg);
}

/* term_event - SIGTERM: master stops everything; do not linger */
static void term_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* Skip atexit work: connections in progress are dropped anyway. */
	_exit(0);
}

/* master_gone_event - the status pipe lost its reader */
static void master_gone_event(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_warn("master went away: finishing current work");
	srv->status_fd = -1;
	server_drain(srv);
}

/* stderr_is_null - whether master gave us /dev/null as stderr */
static bool stderr_is_null(void)
{
	struct stat st, null_st;

	if (fstat(STDERR_FILENO, &st) < 0)
		return true;
	if (stat("/dev/null", &null_st) < 0)
		return false;
	return S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev;
}

/* env_int - a non-negative number from the environment */
static int env_int(const char *name, int fallback)
{
	const char *text = getenv(name);
	int value;

	if (text == NULL)
		return fallback;
	if (str_to_int(text, &value) < 0 || value < 0)
		log_fatal("bad %s in environment: %.32s", name, text);
	return value;
}

/* server_usage - complain about the command line */
static _Noreturn void server_usage(const char *name)
{
	log_fatal("usage: %s -c config_dir -n service -t type [-u] [-v] "
		  "[-o name=value]... [args...]",
		  name);
}

/* server_parse_args - the contract's command line */
static void server_parse_args(struct server *srv, int argc, char **argv,
			      const char **config_dir_r)
{
	const char *error;
	int ch;

	/* Overrides are queued on a config made once -c is known. */
	char **overrides = xcalloc((size_t)argc + 1, sizeof(*overrides));
	size_t noverrides = 0;

	*config_dir_r = NULL;
	opterr = 0;
	while ((ch = getopt(argc, argv, "+c:n:o:t:uv")) != -1) {
		switch (ch) {
		case 'c':
			*config_dir_r = optarg;
			break;
		case 'n':
			srv->service = optarg;
			break;
		case 'o':
			overrides[noverrides++] = optarg;
			break;
		case 't':
			srv->type = optarg;
			break;
		case 'u':
			srv->unpriv = true;
			break;
		case 'v':
			srv->verbose = true;
			break;
		default:
			server_usage(srv->ops->name);
		}
	}
	/* master.cf may put -o after the service's own words: take both. */
	srv->args = xcalloc((size_t)argc + 1, sizeof(*srv->args));
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			overrides[noverrides++] = argv[++i];
		else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2] != '\0')
			overrides[noverrides++] = argv[i] + 2;
		else
			srv->args[srv->nargs++] = argv[i];
	}
	if (srv->service == NULL || srv->type == NULL)
		server_usage(srv->ops->name);
	srv->cfg = config_create(*config_dir_r);
	for (size_t i = 0; i < noverrides; i++)
		if (config_override(srv->cfg, overrides[i], &error) < 0)
			log_fatal("-o %s: %s", overrides[i], error);
	free(overrides);
}

/* server_setup_listeners - the descriptors master passed */
static void server_setup_listeners(struct server *srv, int count)
{
	srv->status_fd = env_int("FACTEUR_STATUS_FD", SERVER_STATUS_FD);
	if (fcntl(srv->status_fd, F_GETFD) < 0)
		log_fatal("status descriptor %d: %m", srv->status_fd);
	/* A full pipe must never block us; master drains it promptly. */
	(void)net_set_nonblock(srv->status_fd, true);
	srv->nlisteners = (size_t)count;
	srv->listeners = xcalloc(srv->nlisteners, sizeof(*srv->listeners));
	for (size_t i = 0; i < srv->nlisteners; i++) {
		int fd = SERVER_LISTEN_FD + (int)i;

		if (fcntl(fd, F_GETFD) < 0)
			log_fatal("listening descriptor %d: %m", fd);
		(void)net_set_nonblock(fd, true);
		(void)net_set_cloexec(fd, true);
		srv->listeners[i].fd = fd;
		srv->listeners[i].ev =
			event_new(srv->base, fd, EV_READ | EV_PERSIST,
				  srv->fifo ? fifo_event : accept_event, srv);
	}
	(void)net_set_cloexec(srv->status_fd, true);
}

/* server_drop_privileges - become mail_owner (or owner_param) when root
 * and -u */
static void server_drop_privileges(struct server *srv)
{
	const char *param = "mail_owner";
	const char *owner;
	const char *error;
	uid_t uid;
	gid_t gid;

	if (!srv->unpriv || geteuid() != 0)
		return;
	/* A service with secrets of its own (auth) gets a uid of its own. */
	if (srv->ops->owner_param != NULL &&
	    config_str(srv->cfg, srv->ops->owner_param)[0] != '\0')
		param = srv->ops->owner_param;
	owner = config_str(srv->cfg, param);
	if (priv_lookup(owner, &uid, &gid, &error) < 0)
		log_fatal("%s: %s", param, error);
	if (uid == 0)
		log_fatal("%s %s has uid 0: refusing to run an "
			  "unprivileged service as root",
			  param, owner);
	if (priv_drop(uid, gid, &error) < 0)
		log_fatal("drop privileges to %s: %s", owner, error);
}

/* server_free - release what the skeleton owns */
static void server_free(struct server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		event_free(srv->listeners[i].ev);
		close(srv->listeners[i].fd);
	}
	free(srv->listeners);
	event_free(srv->idle_timer);
	event_free(srv->sig_hup);
	event_free(srv->sig_term);
	if (srv->master_watch != NULL)
		event_free(srv->master_watch);
	event_base_free(srv->base);
	config_free(&srv->cfg);
	free(srv->args);
}

/* server_main - run a service under master */
int server_main(int argc, char **argv, const struct server_ops *ops, void *ctx)
{
	struct server srv_buf = {0}, *srv = &srv_buf;
	const char *config_dir, *error;
	sigset_t hup;
	int nlisten;

	umask(077);
	log_init(ops->name);
	srv->ops = ops;
	srv->ctx = ctx;
	srv->status_fd = -1;
	srv->avail = true; /* master counts a new process as available */
	srv->client_limit = ops->client_limit ? ops->client_limit : 1;
	/* A write to a vanished peer is an error to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);
	server_parse_args(srv, argc, argv, &config_dir);
	if (srv->verbose)
		log_set_verbose(true);
	/*
	 * Close leftovers first: nothing we open ourselves (the event base,
	 * a syslog socket) may be caught by it.
	 */
	if ((nlisten = env_int("FACTEUR_LISTEN_FDS", -1)) < 0)
		log_fatal("FACTEUR_LISTEN_FDS is not set: this program is "
			  "started by master");
	priv_close_from(SERVER_LISTEN_FD + nlisten);
	if (config_load(srv->cfg, &error) < 0)
		log_fatal("%s", error);
	if (maillog_setup(srv->cfg, !stderr_is_null(), &error) < 0)
		log_fatal("%s", error);
	if (strcmp(srv->type, "fifo") == 0)
		srv->fifo = true;
	else if (strcmp(srv->type, "unix") == 0 &&
		 (ops->wakeup != NULL || ops->request != NULL))
		srv->frame_mode = true;
	else if (strcmp(srv->type, "inet") != 0 &&
		 strcmp(srv->type, "unix") != 0)
		log_fatal("unsupported service type: %s", srv->type);
	if (!srv->fifo && ops->accept == NULL && !srv->frame_mode)
		log_panic("service %s has no accept operation", ops->name);
	/* A scheduler (qmgr) holds state across connections: it stays. */
	srv->max_use = ops->persistent ? 0 : config_int(srv->cfg, "max_use");
	srv->max_idle = ops->persistent ? 0 : config_time(srv->cfg, "max_idle");
	if ((srv->base = event_base_new()) == NULL)
		log_fatal("event_base_new failed");
	server_setup_listeners(srv, nlisten);

	if (ops->pre_drop != NULL)
		ops->pre_drop(srv);
	server_drop_privileges(srv);
	if (ops->init != NULL)
		ops->init(srv);

	srv->idle_timer = evtimer_new(srv->base, idle_event, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, hup_event, srv);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, term_event, srv);
	event_add(srv->sig_hup, NULL);
	event_add(srv->sig_term, NULL);
	/* master starts us with SIGHUP blocked; a pending one fires now. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &hup, NULL);
	srv->master_watch = event_new(srv->base, srv->status_fd, EV_READ,
				      master_gone_event, srv);
	if (srv->master_watch != NULL)
		event_add(srv->master_watch, NULL);
	server_update(srv);
	if (srv->verbose)
		log_debug("service %s (%s) ready, %zu listener(s)",
			  srv->service, srv->type, srv->nlisteners);
	event_base_dispatch(srv->base);

	if (ops->pre_exit != NULL)
		ops->pre_exit(srv);
	server_free(srv);
	return 0;
}

/* server_config - the loaded main.cf */
const struct config *server_config(const struct server *srv)
{
	return srv->cfg;
}

/* server_event_base - the loop every service callback runs in */
struct event_base *server_event_base(const struct server *srv)
{
	return srv->base;
}

/* server_ctx - the service's own state */
void *server_ctx(const struct server *srv)
{
	return srv->ctx;
}

/* server_service - the service name (-n) */
const char *server_service(const struct server *srv)
{
	return srv->service;
}

/* server_type - the service type (-t) */
const char *server_type(const struct server *srv)
{
	return srv->type;
}

/* server_args - the service's own arguments */
char **server_args(const struct server *srv, int *argc_r)
{
	if (argc_r != NULL)
		*argc_r = srv->nargs;
	return srv->args;
}

/* server_verbose - whether -v was given */
bool server_verbose(const struct server *srv)
{
	return srv->verbose;
}
