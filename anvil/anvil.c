/*
 * anvil - connection count and connection rate, per client, across
 *	   every process of every service
 *
 * SYNOPSIS
 *	anvil -c DIR -n anvil -t unix        (started by master, one process)
 *
 * DESCRIPTION
 *	smtpd (and later the login services) cannot see each other's
 *	clients: each process knows only its own sessions.  anvil is the
 *	one place that counts them, as Postfix's anvil(8).  Clients speak
 *	the anvil/1 protocol of lib/global/anvil_client.h over
 *	private/anvil: "connect" registers one connection of (service,
 *	ident) on the requesting stream and answers the number open now
 *	and the number of connects in the current anvil_rate_time_unit;
 *	"disconnect" removes one registration of the stream; "message"
 *	counts a message (smtpd's MAIL) in its own rate window and answers
 *	that rate; "lookup" only reads.  When a stream closes, whatever it registered is
 *	removed: a client process that dies leaves nothing counted.
 *	anvil only counts; the limits are the clients' (smtpd compares
 *	with smtpd_client_connection_count_limit and
 *	smtpd_client_connection_rate_limit).
 *
 *	The rate is Postfix's: a window of anvil_rate_time_unit starts
 *	with the first connect of an ident; connects inside it are
 *	counted, and the next connect after it starts a new window.  An
 *	entry that has no open connection and whose window is over is
 *	forgotten (on the next sweep, every anvil_rate_time_unit).
 *
 *	One process (master.cf maxproc 1) that never exits on its own
 *	(persistent, like qmgr): the counts live in its memory.  It serves
 *	every stream at once from its event loop, one descriptor per
 *	stream, so it raises its descriptor limit to the hard limit at
 *	start.
 *
 * DIAGNOSTICS
 *	A malformed request is logged and its stream closed (its
 *	registrations with it); anvil goes on.  At exit (or a reload) it
 *	logs the highest count and rate it saw, as Postfix's
 *	"statistics:" lines.
 *
 * SECURITY
 *	Runs as mail_owner; the socket is private.  Every frame is bounded
 *	(ANVIL_FRAME_MAX), names by ANVIL_NAME_MAX, the number of entries
 *	by ANVIL_ENTRIES_MAX (past it, connects are answered "fail" and the
 *	clients let their peers in: a flood of addresses cannot make anvil
 *	grow without end), and a stream that does not read its replies is
 *	dropped.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "anvil_client.h"
#include "attr.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "strbuf.h"

/* Distinct (service, ident) pairs anvil keeps at most. */
#define ANVIL_ENTRIES_MAX 100000
/* Hash buckets (a power of two). */
#define ANVIL_BUCKETS 4096
/* Replies a stream may leave unread before it is dropped. */
#define ANVIL_OUTPUT_MAX (64 * 1024)
/* Registrations one stream may hold. */
#define ANVIL_STREAM_REGS_MAX 10000

/* The counts of one (service, ident). */
struct anvil_entry {
	struct anvil_entry *next; /* bucket chain */
	char *key;		  /* "service ident" (no spaces in service) */
	long count;		  /* registrations open now */
	long rate;		  /* connects in the current window */
	time_t window_start;
	long mrate; /* messages in their current window */
	time_t mwindow_start;
};

/* One client stream and what it registered (duplicates allowed). */
struct anvil_stream {
	struct anvil *anvil;
	struct bufferevent *bev;
	struct attr_reader *reader;
	struct anvil_entry **regs;
	size_t nregs;
};

struct anvil {
	struct server *srv;
	time_t rate_unit;
	struct anvil_entry *buckets[ANVIL_BUCKETS];
	size_t entries;
	struct event *sweep;
	/* Statistics for the exit log. */
	long max_count, max_rate, max_mrate;
	char max_count_key[2 * ANVIL_NAME_MAX + 2];
	char max_rate_key[2 * ANVIL_NAME_MAX + 2];
	char max_mrate_key[2 * ANVIL_NAME_MAX + 2];
};

/* hash - FNV-1a of key */
static size_t hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (ANVIL_BUCKETS - 1);
}

/* entry_find - the entry of key; create it when asked and allowed */
static struct anvil_entry *entry_find(struct anvil *a, const char *key,
				      bool create)
{
	size_t h = hash(key);
	struct anvil_entry *e;

	for (e = a->buckets[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create || a->entries >= ANVIL_ENTRIES_MAX)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->next = a->buckets[h];
	a->buckets[h] = e;
	a->entries++;
	return e;
}

/* entry_rate - the rate now: 0 once the window is over */
static long entry_rate(const struct anvil *a, const struct anvil_entry *e,
		       time_t now)
{
	return now - e->window_start >= a->rate_unit ? 0 : e->rate;
}

/* entry_mrate - the message rate now: 0 once its window is over */
static long entry_mrate(const struct anvil *a, const struct anvil_entry *e,
			time_t now)
{
	return now - e->mwindow_start >= a->rate_unit ? 0 : e->mrate;
}

/* sweep_event - forget idle entries whose window is over */
static void sweep_event(evutil_socket_t fd, short what, void *arg)
{
	struct anvil *a = arg;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	for (size_t h = 0; h < ANVIL_BUCKETS; h++) {
		struct anvil_entry **pp = &a->buckets[h];

		while (*pp != NULL) {
			struct anvil_entry *e = *pp;

			if (e->count == 0 && entry_rate(a, e, now) == 0 &&
			    entry_mrate(a, e, now) == 0) {
				*pp = e->next;
				free(e->key);
				free(e);
				a->entries--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* reply - queue one anvil-result/1 frame */
static void reply(struct anvil_stream *st, const char *status, long count,
		  long rate, const char *reason)
{
	struct strbuf out;
	struct attr_writer w;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, ANVIL_RESULT_PROTO);
	attr_put_str(&w, "status", status);
	attr_put_int(&w, "count", count);
	attr_put_int(&w, "rate", rate);
	if (reason != NULL)
		attr_put_str(&w, "reason", reason);
	attr_writer_end(&w);
	bufferevent_write(st->bev, out.data, out.len);
	strbuf_release(&out);
}

/* stream_free - close, and forget what the stream registered */
static void stream_free(struct anvil_stream *st)
{
	struct server *srv = st->anvil->srv;

	for (size_t i = 0; i < st->nregs; i++)
		st->regs[i]->count--;
	free(st->regs);
	attr_reader_free(&st->reader);
	if (st->bev != NULL)
		bufferevent_free(st->bev); /* closes the descriptor */
	free(st);
	server_conn_done(srv);
}

/* op_connect - register one connection of key on st */
static int op_connect(struct anvil_stream *st, const char *key)
{
	struct anvil *a = st->anvil;
	time_t now = time(NULL);
	struct anvil_entry *e;

	if (st->nregs >= ANVIL_STREAM_REGS_MAX)
		return -1;
	if ((e = entry_find(a, key, true)) == NULL) {
		log_warn("more than %d clients counted: not counting %s",
			 ANVIL_ENTRIES_MAX, key);
		reply(st, "fail", 0, 0, "anvil: table full");
		return 0;
	}
	if (entry_rate(a, e, now) == 0) {
		e->window_start = now;
		e->rate = 0;
	}
	e->rate++;
	e->count++;
	st->regs = xreallocarray(st->regs, st->nregs + 1, sizeof(*st->regs));
	st->regs[st->nregs++] = e;
	if (e->count > a->max_count) {
		a->max_count = e->count;
		snprintf(a->max_count_key, sizeof(a->max_count_key), "%s", key);
	}
	if (e->rate > a->max_rate) {
		a->max_rate = e->rate;
		snprintf(a->max_rate_key, sizeof(a->max_rate_key), "%s", key);
	}
	reply(st, "ok", e->count, e->rate, NULL);
	return 0;
}

/* op_message - count one message of key */
static void op_message(struct anvil_stream *st, const char *key)
{
	struct anvil *a = st->anvil;
	time_t now = time(NULL);
	struct anvil_entry *e = entry_find(a, key, true);

	if (e == NULL) {
		reply(st, "fail", 0, 0, "anvil: table full");
		return;
	}
	if (entry_mrate(a, e, now) == 0) {
		e->mwindow_start = now;
		e->mrate = 0;
	}
	e->mrate++;
	if (e->mrate > a->max_mrate) {
		a->max_mrate = e->mrate;
		snprintf(a->max_mrate_key, sizeof(a->max_mrate_key), "%s", key);
	}
	reply(st, "ok", e->count, e->mrate, NULL);
}

/* op_disconnect - drop one registration of key made on st */
static void op_disconnect(struct anvil_stream *st, const char *key)
{
	struct anvil_entry *e = entry_find(st->anvil, key, false);

	for (size_t i = 0; e != NULL && i < st->nregs; i++) {
		if (st->regs[i] == e) {
			e->count--;
			st->regs[i] = st->regs[--st->nregs];
			break;
		}
	}
	reply(st, "ok", e != NULL ? e->count : 0,
	      e != NULL ? entry_rate(st->anvil, e, time(NULL)) : 0, NULL);
}

/* valid_name - 1..ANVIL_NAME_MAX printable bytes; no space in a service */
static bool valid_name(const char *s, bool service)
{
	size_t len = strlen(s);

	if (len == 0 || len > ANVIL_NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			if (service || *p != ' ')
				return false;
	return true;
}

/* stream_frame - one request; -1 closes the stream */
static int stream_frame(struct anvil_stream *st, struct attr_list *list)
{
	const char *op, *service, *ident, *error;
	char key[2 * ANVIL_NAME_MAX + 2];
	int r = 0;

	if (strcmp(list->proto, ANVIL_PROTO) != 0) {
		log_warn("unexpected request protocol %.64s", list->proto);
		return -1;
	}
	if (attr_get_str(list, "op", &op, &error) < 0 ||
	    attr_get_str(list, "service", &service, &error) < 0 ||
	    attr_get_str(list, "ident", &ident, &error) < 0 ||
	    attr_list_end(list, &error) < 0) {
		log_warn("bad request: %s", error);
		return -1;
	}
	if (!valid_name(service, true) || !valid_name(ident, false)) {
		log_warn("bad request: bad service or ident");
		return -1;
	}
	snprintf(key, sizeof(key), "%s %s", service, ident);
	if (strcmp(op, "connect") == 0) {
		r = op_connect(st, key);
	} else if (strcmp(op, "message") == 0) {
		op_message(st, key);
	} else if (strcmp(op, "disconnect") == 0) {
		op_disconnect(st, key);
	} else if (strcmp(op, "lookup") == 0) {
		struct anvil_entry *e = entry_find(st->anvil, key, false);

		reply(st, "ok", e != NULL ? e->count : 0,
		      e != NULL ? entry_rate(st->anvil, e, time(NULL)) : 0,
		      NULL);
	} else {
		log_warn("bad request: unknown op \"%.32s\"", op);
		r = -1;
	}
	if (r < 0)
		log_warn("bad request: too many registrations on one stream");
	return r;
}

/* stream_read - frames that arrived after the first */
static void stream_read(struct bufferevent *bev, void *arg)
{
	struct anvil_stream *st = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct attr_list *list;
	const char *error;
	int r;

	while (evbuffer_get_length(in) > 0) {
		char buf[1024];
		int n = evbuffer_remove(in, buf, sizeof(buf));

		if (n <= 0 ||
		    attr_reader_feed(st->reader, buf, (size_t)n) < 0) {
			log_warn("bad request: frame too long");
			stream_free(st);
			return;
		}
		while ((r = attr_reader_next(st->reader, &list, &error)) == 1) {
			r = stream_frame(st, list);
			attr_list_free(&list);
			if (r < 0) {
				stream_free(st);
				return;
			}
		}
		if (r < 0) {
			log_warn("bad request: %s", error);
			stream_free(st);
			return;
		}
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) >
	    ANVIL_OUTPUT_MAX) {
		log_warn("client does not read its replies: dropped");
		stream_free(st);
	}
}

/* stream_event - end of file or error: the client is gone */
static void stream_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	stream_free(arg);
}

/* anvil_request - a new stream and its first frame */
static void anvil_request(struct server *srv, int fd, struct attr_list *list)
{
	struct anvil *a = server_ctx(srv);
	struct anvil_stream *st = xcalloc(1, sizeof(*st));

	st->anvil = a;
	st->reader = attr_reader_create(ANVIL_FRAME_MAX);
	st->bev = bufferevent_socket_new(server_event_base(srv), fd,
					 BEV_OPT_CLOSE_ON_FREE);
	if (st->bev == NULL)
		log_fatal("libevent: out of memory");
	bufferevent_setcb(st->bev, stream_read, NULL, stream_event, st);
	if (stream_frame(st, list) < 0) {
		attr_list_free(&list);
		stream_free(st);
		return;
	}
	attr_list_free(&list);
	bufferevent_enable(st->bev, EV_READ);
}

/* anvil_init - settings, the sweep timer, room for descriptors */
static void anvil_init(struct server *srv)
{
	struct anvil *a = server_ctx(srv);
	struct timeval tv;
	struct rlimit rl;

	a->srv = srv;
	a->rate_unit =
		(time_t)config_time(server_config(srv), "anvil_rate_time_unit");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	tv.tv_sec = a->rate_unit;
	tv.tv_usec = 0;
	a->sweep = event_new(server_event_base(srv), -1, EV_PERSIST,
			     sweep_event, a);
	if (a->sweep == NULL || event_add(a->sweep, &tv) < 0)
		log_fatal("libevent: cannot add a timer");
}

/* anvil_exit - statistics, then free for the leak checker */
static void anvil_exit(struct server *srv)
{
	struct anvil *a = server_ctx(srv);

	if (a->max_count > 0)
		log_info("statistics: max connection count %ld for (%s)",
			 a->max_count, a->max_count_key);
	if (a->max_rate > 0)
		log_info("statistics: max connection rate %ld/%llds for (%s)",
			 a->max_rate, (long long)a->rate_unit, a->max_rate_key);
	if (a->max_mrate > 0)
		log_info("statistics: max message rate %ld/%llds for (%s)",
			 a->max_mrate, (long long)a->rate_unit,
			 a->max_mrate_key);
	event_free(a->sweep);
	for (size_t h = 0; h < ANVIL_BUCKETS; h++) {
		while (a->buckets[h] != NULL) {
			struct anvil_entry *e = a->buckets[h];

			a->buckets[h] = e->next;
			free(e->key);
			free(e);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "anvil",
		.init = anvil_init,
		.request = anvil_request,
		.pre_exit = anvil_exit,
		.client_limit = 100000,
		.persistent = true,
	};
	static struct anvil anvil;

	return server_main(argc, argv, &ops, &anvil);
}
