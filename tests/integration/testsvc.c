/*
 * testsvc - a trivial service on the server skeleton, for master's tests
 *
 * SYNOPSIS
 *	testsvc -c DIR -n NAME -t TYPE [-u] [args...]   (started by master)
 *
 * DESCRIPTION
 *	On a connection it writes "testsvc PID ready\r\n", then echoes each
 *	line back as "PID: line\r\n" until the client sends "quit" or goes
 *	away.  Each connection is logged as "connect from HOST[ADDR]".
 *	"log N" logs N numbered lines at once (a burst for master's log
 *	collector); "rawlog TEXT" sends TEXT, with each "\\n" made a
 *	newline, as one datagram to the collector ($FACTEUR_LOG_FD), as a
 *	hostile child could.
 *	Arguments from master.cf select behaviours:
 *
 *	crash		exit 1 at initialization (the crash-loop test);
 *	wakeup-log=PATH	append "wakeup PID TIME\n" to PATH on each wakeup;
 *	slow-start	sleep one second before initialization.
 *
 *	Never installed.
 *
 * DIAGNOSTICS
 *	Unknown arguments are fatal.
 *
 * SECURITY
 *	A test tool; lines are bounded (TESTSVC_LINE_MAX) all the same.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "maillog.h"
#include "net.h"
#include "server.h"

#define TESTSVC_LINE_MAX 1000

struct testsvc {
	const char *wakeup_log;
	bool crash;
	bool slow_start;
};

struct testsvc_conn {
	struct server *srv;
	struct bufferevent *bev;
	bool closing;
};

/* conn_close - end a connection */
static void conn_close(struct testsvc_conn *conn)
{
	struct server *srv = conn->srv;

	bufferevent_free(conn->bev); /* closes the socket */
	free(conn);
	server_conn_done(srv);
}

/* rawlog - TEXT as one datagram to master's collector, "\\n" unescaped */
static void rawlog(const char *text)
{
	const char *env = getenv(MAILLOG_FD_ENV);
	char buf[TESTSVC_LINE_MAX];
	size_t n = 0;

	for (; *text && n < sizeof(buf); text++) {
		if (text[0] == '\\' && text[1] == 'n') {
			buf[n++] = '\n';
			text++;
		} else {
			buf[n++] = *text;
		}
	}
	if (env != NULL && send(atoi(env), buf, n, 0) < 0)
		log_warn("rawlog: %m");
}

/* conn_read - echo complete lines */
static void conn_read(struct bufferevent *bev, void *arg)
{
	struct testsvc_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	if (conn->closing)
		return;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strcmp(line, "quit") == 0) {
			free(line);
			evbuffer_add_printf(bufferevent_get_output(bev),
					    "%ld bye\r\n", (long)getpid());
			conn->closing = true;
			return;
		}
		if (strncmp(line, "log ", 4) == 0) {
			int count = atoi(line + 4);

			for (int i = 1; i <= count; i++)
				log_info("burst line %d of %d", i, count);
		} else if (strncmp(line, "rawlog ", 7) == 0) {
			rawlog(line + 7);
		}
		evbuffer_add_printf(bufferevent_get_output(bev), "%ld: %s\r\n",
				    (long)getpid(), line);
		free(line);
	}
	if (evbuffer_get_length(in) > TESTSVC_LINE_MAX) {
		evbuffer_add_printf(bufferevent_get_output(bev),
				    "line too long\r\n");
		conn->closing = true;
	}
}

/* conn_write - after "quit", close once the reply is out */
static void conn_write(struct bufferevent *bev, void *arg)
{
	struct testsvc_conn *conn = arg;

	(void)bev;
	if (conn->closing)
		conn_close(conn);
}

/* conn_event - the client went away */
static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(arg);
}

/* testsvc_accept - greet and echo */
static void testsvc_accept(struct server *srv, int fd,
			   const struct sockaddr *sa, socklen_t salen)
{
	struct testsvc_conn *conn = xcalloc(1, sizeof(*conn));
	char addr[64];

	log_info("connect from unknown[%s]",
		 net_addr_str(sa, salen, addr, sizeof(addr)));
	conn->srv = srv;
	conn->bev = bufferevent_socket_new(server_event_base(srv), fd,
					   BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL)
		log_fatal("bufferevent_socket_new failed");
	bufferevent_setcb(conn->bev, conn_read, conn_write, conn_event, conn);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(conn->bev),
			    "testsvc %ld ready\r\n", (long)getpid());
}

/* testsvc_wakeup - record the wakeup */
static void testsvc_wakeup(struct server *srv)
{
	struct testsvc *ts = server_ctx(srv);
	char line[128];
	int fd, n;

	if (ts->wakeup_log == NULL)
		return;
	n = snprintf(line, sizeof(line), "wakeup %ld %lld\n", (long)getpid(),
		     (long long)time(NULL));
	if ((fd = open(ts->wakeup_log,
		       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		log_warn("open %s: %m", ts->wakeup_log);
		return;
	}
	if (write(fd, line, (size_t)n) != n)
		log_warn("write %s: %m", ts->wakeup_log);
	close(fd);
}

/* testsvc_init - act on the master.cf arguments */
static void testsvc_init(struct server *srv)
{
	struct testsvc *ts = server_ctx(srv);
	int argc;
	char **argv = server_args(srv, &argc);

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "crash") == 0)
			ts->crash = true;
		else if (strncmp(argv[i], "wakeup-log=", 11) == 0)
			ts->wakeup_log = argv[i] + 11;
		else if (strcmp(argv[i], "slow-start") == 0)
			ts->slow_start = true;
		else
			log_fatal("unknown argument: %s", argv[i]);
	}
	if (ts->crash) {
		log_error("crashing as requested");
		/* _exit: the leak checker would change the status. */
		_exit(1);
	}
	if (ts->slow_start)
		sleep(1);
}

/* main - hand over to the skeleton */
int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "testsvc",
		.init = testsvc_init,
		.accept = testsvc_accept,
		.wakeup = testsvc_wakeup,
	};
	struct testsvc ts = {0};

	return server_main(argc, argv, &ops, &ts);
}
