/*
 * pop3d_session - one logged-in POP3 session: lock, INBOX, I/O, close
 *
 * SYNOPSIS
 *	#include "pop3d.h"
 *
 *	void pop3d_session_start(base, cfg, fd, user, maildir, client);
 *	void pop3d_session_reply(struct pop3d_session *s, const char *fmt,
 *				 ...);
 *	void pop3d_session_send(struct pop3d_session *s, int fd, bool top,
 *				uint64_t lines);
 *	void pop3d_session_close(struct pop3d_session *s,
 *				 const char *reason);
 *
 * DESCRIPTION
 *	A session opens INBOX (created when missing), takes the session
 *	lock (POP3D_LOCK_FILE in the Maildir root, flock(LOCK_EX |
 *	LOCK_NB), held until the session ends; a second session gets
 *	"-ERR [IN-USE] Mailbox is locked by another POP3 session"), then
 *	syncs INBOX once.  The messages of that sync are the session's
 *	list for good: RFC 1939 §5 numbers them 1..n and the numbers never
 *	change; mail that arrives meanwhile is seen by the next session.
 *	Messages are found in the store by UID, so an IMAP session that
 *	renames a file (a flag change) does not break RETR: on ENOENT the
 *	folder is synced again and the UID looked up once more.
 *
 *	Commands are read with lineread (POP3_CMD_LINE_MAX, RFC 2449 §4)
 *	and processed in order while complete ones are buffered
 *	(PIPELINING, RFC 2449 §6.6).  RETR and TOP stream the file through
 *	pop3d_dot in POP3D_READ_CHUNK pieces, keeping at most about
 *	POP3D_OUTPUT_HIGH bytes queued for the client; commands that were
 *	pipelined behind them wait until the message is out (reading stays
 *	on, bounded by POP3D_INPUT_MAX).
 *
 *	Output is collected in a buffer of the session's own and written
 *	to the socket at once when nothing is queued before it; only what
 *	the socket does not take goes into the bufferevent, which then
 *	waits for it to become writable.  A client that reads each reply
 *	before its next command thus costs no epoll_ctl(2) and no wakeup
 *	for writing per command.
 *
 *	Limits: pop3d_timeout without input (RFC 1939 §3 asks for at least
 *	10 minutes) or without the client reading closes the session;
 *	POP3D_BAD_COMMANDS_MAX bad commands close it too.
 *
 *	The end of a session is logged once, Dovecot's way:
 *	"pop3(user): Disconnected: Logged out top=T/TB, retr=R/RB,
 *	del=D/N, size=S" (T/R: TOP and RETR commands, TB/RB: bytes sent
 *	for them, D: messages deleted at QUIT, N: messages in the session,
 *	S: their total size, CRLF octets where computed, else as stored).
 *	"Logged out" is "Connection closed" when the client went away and
 *	"Inactivity" after the timeout.
 *
 * SECURITY
 *	Runs as the mailbox owner.  Input is bounded by the line limit and
 *	POP3D_INPUT_MAX; output by POP3D_OUTPUT_HIGH per session.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "login.h"
#include "mailbox.h"
#include "pop3_cmd.h"
#include "pop3d.h"

static void session_read(struct bufferevent *bev, void *arg);
static void session_write(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);
static void session_process(struct pop3d_session *s);

/* pop3d_session_reply - queue one reply line */
void pop3d_session_reply(struct pop3d_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(s->pending, fmt, ap);
	va_end(ap);
	evbuffer_add(s->pending, "\r\n", 2);
}

/* session_flush - write pending output now, or queue it behind the rest */
static void session_flush(struct pop3d_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (evbuffer_get_length(s->pending) == 0)
		return;
	/* A write error is left for the bufferevent to find and report. */
	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(s->pending, bufferevent_getfd(s->bev));
	if (evbuffer_get_length(s->pending) > 0)
		evbuffer_add_buffer(out, s->pending);
}

/* session_queued - output bytes not yet taken by the socket */
static size_t session_queued(struct pop3d_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) +
	       evbuffer_get_length(s->pending);
}

/* session_total_size - for the log line: computed sizes, else stored */
static unsigned long long session_total_size(struct pop3d_session *s)
{
	unsigned long long total = 0;

	for (size_t i = 0; i < s->count; i++) {
		ssize_t v;

		if (s->msgs[i].size_known) {
			total += s->msgs[i].size;
			continue;
		}
		v = s->mb ? mailbox_find_uid(s->mb, s->msgs[i].uid) : -1;
		if (v >= 0) {
			struct mailbox_msg mm;

			mailbox_msg(s->mb, (size_t)v, &mm);
			total += mm.size;
		}
	}
	return total;
}

/* session_free - the end: log, release the mailbox and the lock */
static void session_free(struct pop3d_session *s)
{
	if (s->user != NULL && s->close_reason != NULL)
		log_info("pop3(%s): Disconnected: %s top=%u/%llu, "
			 "retr=%u/%llu, del=%u/%zu, size=%llu",
			 s->user, s->close_reason, s->stats.top_count,
			 (unsigned long long)s->stats.top_bytes,
			 s->stats.retr_count,
			 (unsigned long long)s->stats.retr_bytes,
			 s->stats.del_count, s->count, session_total_size(s));
	if (s->send_fd >= 0)
		close(s->send_fd);
	mailbox_close(&s->mb);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->pending)
		evbuffer_free(s->pending);
	strbuf_release(&s->line);
	strbuf_release(&s->out);
	free(s->msgs);
	free(s->user);
	free(s->client);
	free(s);
	mail_worker_session_done();
}

/* session_timer - poll a closing session until its output is out */
static void session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pop3d_session *s = arg;
	struct timeval tv = {0, 50000};

	(void)fd;
	(void)what;
	if (session_queued(s) == 0 ||
	    ++s->close_ticks > POP3D_CLOSE_TIMEOUT * 20) {
		session_free(s);
		return;
	}
	evtimer_add(s->timer, &tv);
}

/* pop3d_session_close - send what is queued, then free */
void pop3d_session_close(struct pop3d_session *s, const char *reason)
{
	struct timeval tv = {0, 0};

	if (s->closing)
		return;
	s->closing = true;
	if (s->close_reason == NULL)
		s->close_reason = reason;
	if (s->send_fd >= 0) {
		close(s->send_fd);
		s->send_fd = -1;
	}
	session_flush(s);
	bufferevent_disable(s->bev, EV_READ);
	/* From the loop: a caller may still be on the stack. */
	evtimer_add(s->timer, &tv);
}

/* session_send_more - feed the message into the output while it has room */
static void session_send_more(struct pop3d_session *s)
{
	char buf[POP3D_READ_CHUNK];

	while (s->send_fd >= 0 && session_queued(s) < POP3D_OUTPUT_HIGH) {
		ssize_t n = read(s->send_fd, buf, sizeof(buf));
		bool end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The client already has "+OK": all we can do is
			 * hang up rather than end a truncated message. */
			log_warn("pop3(%s): read message: %m", s->user);
			pop3d_session_close(s, "Message read error");
			return;
		}
		strbuf_reset(&s->out);
		end = n == 0 ||
		      pop3d_dot_feed(&s->dot, buf, (size_t)n, &s->out) == 1;
		if (end)
			pop3d_dot_finish(&s->dot, &s->out);
		evbuffer_add(s->pending, s->out.data, s->out.len);
		if (s->send_top)
			s->stats.top_bytes += s->out.len;
		else
			s->stats.retr_bytes += s->out.len;
		if (end) {
			close(s->send_fd);
			s->send_fd = -1;
		}
	}
	/* One write for the lot: a short last piece in a write of its
	 * own would wait for the client's delayed ACK (Nagle). */
	session_flush(s);
}

/* pop3d_session_send - stream message fd after the +OK line */
void pop3d_session_send(struct pop3d_session *s, int fd, bool top,
			uint64_t lines)
{
	s->send_fd = fd;
	s->send_top = top;
	pop3d_dot_init(&s->dot, top, lines);
	session_send_more(s);
}

/* pop3d_session_msg_open - open message idx, found by UID */
int pop3d_session_msg_open(struct pop3d_session *s, size_t idx)
{
	ssize_t v = mailbox_find_uid(s->mb, s->msgs[idx].uid);
	const char *err;
	int fd = -1;

	if (v >= 0)
		fd = mailbox_msg_open(s->mb, (size_t)v);
	if (fd >= 0 || (v >= 0 && errno != ENOENT))
		return fd;
	/* Renamed by a flag change elsewhere, or expunged: look again. */
	if (mailbox_sync(s->mb, NULL, &err) < 0) {
		log_warn("pop3(%s): sync INBOX: %s", s->user, err);
		errno = EIO;
		return -1;
	}
	v = mailbox_find_uid(s->mb, s->msgs[idx].uid);
	if (v < 0) {
		errno = ENOENT;
		return -1;
	}
	return mailbox_msg_open(s->mb, (size_t)v);
}

/* name_vsize - Dovecot's ",W=<size>" in a Maildir file name */
static bool name_vsize(const char *name, uint64_t *size_r)
{
	const char *p = strstr(name, ",W=");
	uint64_t n = 0;

	if (p == NULL)
		return false;
	p += 3;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*size_r = n;
	return true;
}

/* pop3d_session_msg_size - the CRLF size, computed once per message */
int pop3d_session_msg_size(struct pop3d_session *s, size_t idx,
			   uint64_t *size_r)
{
	struct pop3d_msg *m = &s->msgs[idx];
	struct pop3d_dot_size z = {0};
	struct mailbox_msg mm;
	ssize_t v;
	char buf[POP3D_READ_CHUNK];
	int fd;

	if (m->size_known) {
		*size_r = m->size;
		return 0;
	}
	v = mailbox_find_uid(s->mb, m->uid);
	if (v >= 0)
		mailbox_msg(s->mb, (size_t)v, &mm);
	if (v >= 0 && name_vsize(mm.name, &m->size)) {
		m->size_known = true;
		*size_r = m->size;
		return 0;
	}
	fd = pop3d_session_msg_open(s, idx);
	if (fd < 0) {
		log_warn("pop3(%s): open message UID %u: %m", s->user, m->uid);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("pop3(%s): read message UID %u: %m", s->user,
				 m->uid);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		pop3d_dot_size(&z, buf, (size_t)n);
	}
	close(fd);
	m->size = z.size;
	m->size_known = true;
	*size_r = m->size;
	return 0;
}

/* session_process - handle the complete commands in the input */
static void session_process(struct pop3d_session *s)
{
	while (!s->closing && s->send_fd < 0) {
		enum lineread_result r;

		r = lineread_next(&s->lr, bufferevent_get_input(s->bev),
				  &s->line);
		if (r == LINEREAD_MORE)
			break;
		if (r == LINEREAD_TOO_LONG) {
			pop3d_session_reply(
				s, "-ERR %s",
				pop3_cmd_error_text(POP3_CMD_ERR_TOO_LONG));
			if (++s->bad_commands >= POP3D_BAD_COMMANDS_MAX) {
				pop3d_session_reply(s, "-ERR Too many bad "
						       "commands.");
				pop3d_session_close(s, "Too many bad commands");
			}
			continue;
		}
		pop3d_cmd_dispatch(s, s->line.data, s->line.len);
	}
	if (!s->closing)
		session_flush(s);
}

/* session_read - input arrived */
static void session_read(struct bufferevent *bev, void *arg)
{
	struct pop3d_session *s = arg;

	if (s->closing) {
		struct evbuffer *in = bufferevent_get_input(bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_process(s);
}

/* session_write - output drained below the low mark: send more */
static void session_write(struct bufferevent *bev, void *arg)
{
	struct pop3d_session *s = arg;

	(void)bev;
	if (s->closing || s->send_fd < 0)
		return;
	session_send_more(s);
	if (s->send_fd < 0)
		session_process(s); /* commands pipelined behind */
}

/* session_event - end of file, error, timeout */
static void session_event(struct bufferevent *bev, short what, void *arg)
{
	struct pop3d_session *s = arg;

	(void)bev;
	if (s->closing) {
		if (what &
		    (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
			session_free(s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    s->send_fd >= 0) {
		/* No command while a message goes out is no inactivity:
		 * the write timeout watches a client that stopped reading.
		 * libevent turned reading off; turn it on again. */
		bufferevent_enable(s->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* RFC 1939 §3: the autologout timer ends the session
		 * without entering the UPDATE state. */
		pop3d_session_reply(s, "-ERR Disconnected for inactivity.");
		pop3d_session_close(s, "Inactivity");
		return;
	}
	s->close_reason = "Connection closed";
	session_free(s);
}

/* session_lock - the POP3 session lock of the mailbox */
static int session_lock(struct pop3d_session *s, const char *maildir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s%s%s", maildir,
		 maildir[0] && maildir[strlen(maildir) - 1] == '/' ? "" : "/",
		 POP3D_LOCK_FILE);
	s->lock_fd =
		open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		log_warn("pop3(%s): open %s: %m", s->user, path);
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't open "
				       "INBOX.");
		return -1;
	}
	while (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			log_info("pop3(%s): Mailbox is locked by another "
				 "POP3 session, rip=%s",
				 s->user, s->client);
			pop3d_session_reply(s, "-ERR [IN-USE] Mailbox is "
					       "locked by another POP3 "
					       "session");
		} else {
			log_warn("pop3(%s): flock %s: %m", s->user, path);
			pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't "
					       "lock INBOX.");
		}
		return -1;
	}
	return 0;
}

/* session_open - INBOX, created when missing */
static int session_open(struct pop3d_session *s, const char *maildir)
{
	const char *err;
	bool notfound;

	s->mb = mailbox_open(maildir, "INBOX", MAILBOX_CREATE, &notfound, &err);
	if (s->mb == NULL) {
		log_warn("pop3(%s): open INBOX %s: %s", s->user, maildir, err);
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't open INBOX.");
		return -1;
	}
	return 0;
}

/* session_sync - sync INBOX once: the session's message list */
static int session_sync(struct pop3d_session *s)
{
	const char *err;

	if (mailbox_sync(s->mb, NULL, &err) < 0) {
		log_warn("pop3(%s): sync INBOX: %s", s->user, err);
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't open INBOX.");
		return -1;
	}
	s->uidvalidity = mailbox_uidvalidity(s->mb);
	s->count = mailbox_count(s->mb);
	s->msgs = xcalloc(s->count ? s->count : 1, sizeof(*s->msgs));
	for (size_t i = 0; i < s->count; i++)
		s->msgs[i].uid = mailbox_uid(s->mb, i);
	return 0;
}

/* pop3d_session_start - a session handed over by the dispatcher */
void pop3d_session_start(struct event_base *base, const struct config *cfg,
			 int fd, const char *user, const char *maildir,
			 const char *client)
{
	struct pop3d_session *s = xcalloc(1, sizeof(*s));
	struct timeval tv;

	s->base = base;
	s->set.timeout = config_time(cfg, "pop3d_timeout");
	s->user = xstrdup(user);
	s->client = xstrdup(client);
	s->lock_fd = -1;
	s->send_fd = -1;
	lineread_init(&s->lr, POP3_CMD_LINE_MAX);
	strbuf_init(&s->line, POP3_CMD_LINE_MAX + 2);
	strbuf_init(&s->out, STRBUF_NO_LIMIT);
	s->timer = evtimer_new(base, session_timer, s);
	s->pending = evbuffer_new();
	evutil_make_socket_nonblocking(fd);
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL || s->timer == NULL || s->pending == NULL)
		log_fatal("libevent: out of memory");
	bufferevent_setcb(s->bev, session_read, session_write, session_event,
			  s);
	tv.tv_sec = (time_t)s->set.timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3D_INPUT_MAX);
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3D_OUTPUT_HIGH / 4, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/* Open (and create) INBOX first: the lock file lives in it. */
	if (session_open(s, maildir) < 0) {
		pop3d_session_close(s, "Couldn't open INBOX");
		return;
	}
	if (session_lock(s, maildir) < 0) {
		pop3d_session_close(s, "Mailbox in use");
		return;
	}
	if (session_sync(s) < 0) {
		pop3d_session_close(s, "Couldn't open INBOX");
		return;
	}
	pop3d_session_reply(s, "+OK Logged in.");
	/* Bytes the client pipelined after its login command may already
	 * be waiting: the read callback would not fire for them. */
	session_process(s);
}
