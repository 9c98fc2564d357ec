/*
 * imapd_session - one IMAP session after login: I/O and dispatch
 *
 * SYNOPSIS
 *	#include "imapd.h"
 *
 *	void imapd_session_start(base, cfg, fd, session, user);
 *
 * DESCRIPTION
 *	A worker serves many sessions in one libevent loop, each on a
 *	bufferevent over the client's plain descriptor (TLS, if any, ends
 *	in imap-login).  The session answers the tag of the LOGIN that
 *	imap-login took ("TAG OK [CAPABILITY ...] Logged in") once the
 *	store is ready (mailbox_ensure_special: Sent, Drafts, Junk, Trash
 *	and Archive exist from the first login on).
 *
 *	Input goes through imap_parser chunk by chunk (no copy of the
 *	whole input); a parser exists only while a command is being read
 *	or run, so an idle session holds no parser storage.  Commands are
 *	run to completion in the loop: the store works on local files.
 *	While a reply is larger than IMAPD_OUTPUT_HIGH, reading stops
 *	until the client has taken it.  A long reply (FETCH of many
 *	messages) is written to the socket as it is made, whenever more
 *	than IMAPD_OUTPUT_EAGER is queued (imapd_write_eager, a
 *	non-blocking write): the client reads and parses the first
 *	messages while the next are rendered, and the queue stays small
 *	when the client keeps up, instead of the whole reply being built
 *	in memory before the event loop sends any of it.
 *
 *	After every command but FETCH, STORE and SEARCH (RFC 9051
 *	§7.5.1: no EXPUNGE while those run) the session syncs the selected
 *	folder and reports what others changed: EXPUNGE, EXISTS, RECENT,
 *	FETCH FLAGS.  IDLE watches the folder's inotify descriptor
 *	(mailbox_wait_fd) and syncs when it fires, or every second when
 *	inotify is missing.
 *
 *	A session ends at LOGOUT, at end of file, after
 *	imapd_idle_timeout without input ("* BYE Disconnected for
 *	inactivity"), or when the worker gets SIGTERM ("* BYE Server
 *	shutting down").
 *
 * DIAGNOSTICS
 *	One line per session end, in Dovecot's words: "imap(USER):
 *	Logged out in=N out=M" or "imap(USER): Disconnected: REASON
 *	in=N out=M".  Store errors are logged and answered with NO
 *	[SERVERBUG] or [UNAVAILABLE]; they never end the worker.
 *
 * SECURITY
 *	Every byte of the client goes through imap_parser under the
 *	authenticated limits (imapd_max_literal_size for APPEND).
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "imapd.h"
#include "log.h"
#include "login.h"
#include "mail_user.h"
#include "mailbox.h"
#include "rfc822.h"

/* Stop reading while this much output waits for the client. */
#define IMAPD_OUTPUT_HIGH (1024 * 1024)
/* Write to the socket in the middle of a reply above this much. */
#define IMAPD_OUTPUT_EAGER (64 * 1024)
/* What the event loop writes per round: libevent's default (16 KiB)
 * made a large FETCH reply, rendered faster than the client reads it,
 * go out one small write per loop round. */
#define IMAPD_OUTPUT_ROUND (256 * 1024)

static struct imapd_session *sessions;
static struct event *sigterm_ev;

static void session_read(struct bufferevent *bev, void *arg);

void imapd_write(struct imapd_session *s, const void *data, size_t len)
{
	bufferevent_write(s->bev, data, len);
	s->out_bytes += len;
}

/*
 * write_now - write what is queued to the socket now, as much as it
 * takes (non-blocking).  libevent freezes the drain side of a socket
 * bufferevent's output so that only its own write callback empties it:
 * a plain evbuffer_write() on it fails, and did, silently, so that a
 * long reply waited in memory for the event loop.  It is unfrozen
 * around the write, as libevent does in its callback.
 */
static void write_now(struct imapd_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	evbuffer_unfreeze(out, 1);
	/* An error is left for the bufferevent to meet on its next
	 * write. */
	(void)evbuffer_write(out, bufferevent_getfd(s->bev));
	evbuffer_freeze(out, 1);
}

void imapd_write_eager(struct imapd_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	size_t len = evbuffer_get_length(out);

	/* The socket is non-blocking: this takes what the kernel accepts
	 * now (nothing when full); the rest goes from the event loop.
	 * After a write that left data queued (the client lags), try
	 * again only once another IMAPD_OUTPUT_EAGER is queued, not after
	 * every message. */
	size_t at = s->eager_at > IMAPD_OUTPUT_EAGER ? s->eager_at
						     : IMAPD_OUTPUT_EAGER;

	if (len + IMAPD_OUTPUT_EAGER < at)
		at = IMAPD_OUTPUT_EAGER; /* the event loop drained it since */
	s->eager_at = at;
	if (len <= at)
		return;
	write_now(s);
	s->eager_at = evbuffer_get_length(out) + IMAPD_OUTPUT_EAGER;
}

void imapd_printf(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	imapd_write(s, text, strlen(text));
	free(text);
}

void imapd_tagged(struct imapd_session *s, const char *tag, const char *fmt,
		  ...)
{
	va_list ap;
	char *text;

	if (s->sync_ok)
		imapd_sync(s);
	if (s->state == IMAPD_STATE_CLOSING)
		return; /* said BYE */
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	imapd_printf(s, "%s %s\r\n", tag, text);
	free(text);
}

bool imapd_utf8(const struct imapd_session *s)
{
	return (s->enabled & (IMAPD_ENABLED_UTF8 | IMAPD_ENABLED_REV2)) != 0;
}

/* ------------------------------------------------------------ the end */

static void session_free(struct imapd_session *s)
{
	imapd_unselect(s);
	if (s->idle_ev != NULL)
		event_free(s->idle_ev);
	if (s->idle_poll != NULL)
		event_free(s->idle_poll);
	free(s->idle_tag);
	imap_parser_free(&s->parser);
	bufferevent_free(s->bev); /* closes the descriptor */
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s->user);
	free(s->maildir);
	free(s->client);
	free(s);
	mail_worker_session_done();
}

/* session_end - log and free; reason NULL for LOGOUT */
static void session_end(struct imapd_session *s, const char *reason)
{
	if (reason == NULL)
		log_info("imap(%s): Logged out in=%llu out=%llu", s->user,
			 s->in_bytes, s->out_bytes);
	else
		log_info("imap(%s): Disconnected: %s in=%llu out=%llu", s->user,
			 reason, s->in_bytes, s->out_bytes);
	session_free(s);
}

/* session_closing - end once the output is flushed */
static void session_closing(struct imapd_session *s)
{
	s->state = IMAPD_STATE_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_end(s, s->logout	       ? NULL
			       : s->end_reason != NULL ? s->end_reason
						       : "Connection closed");
}

static void session_write(struct bufferevent *bev, void *arg)
{
	struct imapd_session *s = arg;

	(void)bev;
	if (s->state == IMAPD_STATE_CLOSING) {
		session_end(s, s->logout	       ? NULL
			       : s->end_reason != NULL ? s->end_reason
						       : "Connection closed");
		return;
	}
	/* The client took a large reply: read again. */
	if (s->state == IMAPD_STATE_RUNNING || s->state == IMAPD_STATE_IDLING) {
		bufferevent_enable(s->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
			session_read(s->bev, s);
	}
}

static void session_event(struct bufferevent *bev, short what, void *arg)
{
	struct imapd_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == IMAPD_STATE_CLOSING) {
			session_end(s, "Output timed out");
			return;
		}
		imapd_printf(s, "* BYE Disconnected for inactivity.\r\n");
		s->logout = false;
		s->end_reason = "Inactivity";
		s->state = IMAPD_STATE_CLOSING;
		bufferevent_disable(s->bev, EV_READ);
		/* Give the BYE a moment, then end whatever happens. */
		struct timeval tv = {10, 0};
		bufferevent_set_timeouts(s->bev, NULL, &tv);
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_EOF)
		session_end(s, "Connection closed");
	else
		session_end(s,
			    errno != 0 ? strerror(errno) : "Connection error");
}

/* -------------------------------------------------------------- view */

void imapd_unselect(struct imapd_session *s)
{
	if (s->idle_ev != NULL) {
		event_free(s->idle_ev);
		s->idle_ev = NULL;
	}
	mailbox_close(&s->mb);
	free(s->mbname);
	s->mbname = NULL;
	free(s->vsizes);
	s->vsizes = NULL;
	s->vsizes_alloc = 0;
	s->readonly = false;
}

/* msgload_open - open message ld->index; a vanished file is expunged */
static int msgload_open(struct imapd_msgload *ld)
{
	int fd = mailbox_msg_open(ld->s->mb, ld->index);

	if (fd < 0) {
		if (errno == ENOENT)
			ld->expunged = true; /* not our error */
		else
			log_warn("imap(%s): %s: message %zu: open: %s",
				 ld->s->user, ld->s->mbname, ld->index,
				 strerror(errno));
	}
	return fd;
}

/* msgload_load - read message i into memory (imapd_msgview.load) */
static const char *msgload_load(void *ctx, size_t *len_r)
{
	struct imapd_msgload *ld = ctx;

	if (ld->header_only) {
		/* Only the header was read: read it all this time. */
		free(ld->buf);
		ld->buf = NULL;
		ld->len = 0;
		ld->tried = ld->header_only = false;
	}
	if (!ld->tried) {
		struct stat st;
		int fd;

		ld->tried = true;
		if ((fd = msgload_open(ld)) < 0)
			return NULL;
		if (fstat(fd, &st) == 0 && st.st_size >= 0) {
			size_t size = (size_t)st.st_size, got = 0;

			ld->buf = xmalloc(size + 1);
			while (got < size) {
				ssize_t r = read(fd, ld->buf + got, size - got);

				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			ld->buf[got] = '\0';
			ld->len = got;
		}
		close(fd);
		if (ld->buf != NULL && ld->s->vsizes != NULL &&
		    ld->s->vsizes[ld->index] == 0 &&
		    ld->index < ld->s->vsizes_alloc)
			ld->s->vsizes[ld->index] =
				imapd_fetch_crlf_size(ld->buf, ld->len) + 1;
	}
	*len_r = ld->len;
	return ld->buf;
}

/*
 * header_end - the offset just past the blank line that ends the header
 * in p[0..len), looking at line ends from offset from on; 0 when there
 * is none yet.  LF or CRLF line ends (a Dovecot Maildir may hold either).
 */
static size_t header_end(const char *p, size_t len, size_t from)
{
	const char *q = p + from, *end = p + len;

	if (from == 0 && len >= 1 && p[0] == '\n')
		return 1; /* no header at all */
	if (from == 0 && len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q + 1 < end && q[1] == '\n')
			return (size_t)(q + 2 - p);
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n')
			return (size_t)(q + 3 - p);
		q++;
	}
	return 0;
}

/*
 * msgload_header - the header of message i (imapd_msgview.load_header):
 * read in chunks until the blank line, so that ENVELOPE of a large
 * message does not read its body.  A message read to its end without a
 * blank line is kept whole (load then has nothing more to read).
 */
static const char *msgload_header(void *ctx, size_t *len_r)
{
	struct imapd_msgload *ld = ctx;

	if (!ld->tried) {
		size_t alloc = IMAPD_HEADER_CHUNK, got = 0, hend = 0;
		int fd;

		ld->tried = true;
		if ((fd = msgload_open(ld)) < 0)
			return NULL;
		ld->buf = xmalloc(alloc + 1);
		for (;;) {
			size_t from = got > 2 ? got - 2 : 0;
			ssize_t r;

			if (got == alloc) {
				alloc *= 2;
				ld->buf = xreallocarray(ld->buf, alloc + 1, 1);
			}
			r = read(fd, ld->buf + got, alloc - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
			if ((hend = header_end(ld->buf, got, from)) != 0)
				break;
		}
		close(fd);
		if (hend != 0) {
			got = hend;
			ld->header_only = true;
		}
		ld->buf[got] = '\0';
		ld->len = got;
	}
	*len_r = ld->len;
	return ld->buf;
}

void imapd_msgload_free(struct imapd_msgload *ld)
{
	free(ld->buf);
	ld->buf = NULL;
	ld->tried = false;
	ld->header_only = false;
}

/* vsize_of_name - Dovecot's ",W=N" in a file name, or 0 */
static uint64_t vsize_of_name(const char *name)
{
	const char *w = strstr(name, ",W=");
	uint64_t v = 0;

	if (w == NULL)
		return 0;
	for (w += 3; *w >= '0' && *w <= '9'; w++)
		v = v * 10 + (uint64_t)(*w - '0');
	return v;
}

uint64_t imapd_msg_vsize(struct mailbox *mb, size_t i)
{
	struct mailbox_msg msg;
	const struct mailbox_msg *m = &msg;

	mailbox_msg(mb, i, &msg);
	uint64_t v = vsize_of_name(m->name), n = 0;
	char buf[65536], prev = '\0';
	ssize_t r;
	int fd;

	if (v != 0)
		return v;
	if ((fd = mailbox_msg_open(mb, i)) < 0)
		return m->size; /* the best we know */
	while ((r = read(fd, buf, sizeof(buf))) > 0 ||
	       (r < 0 && errno == EINTR)) {
		for (ssize_t k = 0; k < r; k++) {
			if (buf[k] == '\n' && prev != '\r')
				n++;
			prev = buf[k];
		}
		n += (uint64_t)(r > 0 ? r : 0);
	}
	close(fd);
	return n;
}

/* The cache variant of render flags (ENVELOPE with UTF8=ACCEPT or not). */
static unsigned cache_variant(unsigned flags)
{
	return (flags & RFC822_IMAP_UTF8) ? 1 : 0;
}

/* msgload_envelope_get - the folder cache's ENVELOPE of message i */
static const char *msgload_envelope_get(void *ctx, unsigned flags,
					size_t *len_r)
{
	struct imapd_msgload *ld = ctx;
	uint64_t vsize;

	return mailbox_cache_get(ld->s->mb, ld->index, cache_variant(flags),
				 len_r, &vsize);
}

/* msgload_envelope_put - keep the ENVELOPE of message i (and its CRLF
 * size when known) in the folder cache */
static void msgload_envelope_put(void *ctx, unsigned flags, const char *env,
				 size_t len)
{
	struct imapd_msgload *ld = ctx;
	struct imapd_session *s = ld->s;
	uint64_t vsize = ld->index < s->vsizes_alloc && s->vsizes[ld->index]
				 ? s->vsizes[ld->index] - 1
				 : 0;

	mailbox_cache_put(s->mb, ld->index, cache_variant(flags), vsize, env,
			  len);
}

/* cached_vsize - the CRLF size of message i kept in the folder cache
 * (a file without ",W="), or 0 */
static uint64_t cached_vsize(struct imapd_session *s, size_t i)
{
	for (unsigned v = 0; v < 2; v++) {
		size_t len;
		uint64_t vsize;

		if (mailbox_cache_get(s->mb, i, v, &len, &vsize) != NULL &&
		    vsize != 0)
			return vsize;
	}
	return 0;
}

void imapd_msgview_init(struct imapd_session *s, size_t i,
			struct imapd_msgload *ld, struct imapd_msgview *mv,
			bool need_size)
{
	struct mailbox_msg msg;
	const struct mailbox_msg *m = &msg;

	mailbox_msg(s->mb, i, &msg);
	size_t kwn;
	const char *const *kw = mailbox_keywords(s->mb, &kwn);
	size_t count = mailbox_count(s->mb);

	memset(ld, 0, sizeof(*ld));
	ld->s = s;
	ld->index = i;
	memset(mv, 0, sizeof(*mv));
	mv->seq = (uint32_t)(i + 1);
	mv->uid = m->uid;
	mv->flags = m->flags;
	mv->keywords = m->keywords;
	mv->keyword_names = kw;
	mv->keyword_count = kwn;
	mv->modseq = m->modseq;
	mv->internal = m->internal;
	mv->load = msgload_load;
	mv->load_header = msgload_header;
	mv->envelope_get = msgload_envelope_get;
	mv->envelope_put = msgload_envelope_put;
	mv->ctx = ld;
	if (s->vsizes_alloc < count) {
		s->vsizes = xreallocarray(s->vsizes, count, sizeof(*s->vsizes));
		memset(s->vsizes + s->vsizes_alloc, 0,
		       (count - s->vsizes_alloc) * sizeof(*s->vsizes));
		s->vsizes_alloc = count;
	}
	if (s->vsizes[i] == 0) {
		uint64_t w = vsize_of_name(m->name);

		if (w != 0)
			s->vsizes[i] = w + 1;
	}
	if (s->vsizes[i] == 0 && need_size) {
		uint64_t c = cached_vsize(s, i);

		if (c != 0)
			s->vsizes[i] = c + 1;
	}
	if (s->vsizes[i] == 0 && need_size) {
		size_t len;

		if (msgload_load(ld, &len) == NULL)
			s->vsizes[i] = m->size + 1; /* best we know */
	}
	mv->size = s->vsizes[i] != 0 ? s->vsizes[i] - 1 : m->size;
}

bool imapd_set_contains(struct imapd_session *s, const struct imapd_seqset *set,
			size_t i, bool uid)
{
	size_t count = mailbox_count(s->mb);

	if (uid)
		return imapd_seqset_contains(
			set, mailbox_uid(s->mb, i),
			count > 0 ? mailbox_uid(s->mb, count - 1) : 0);
	return imapd_seqset_contains(set, (uint32_t)(i + 1), (uint32_t)count);
}

void imapd_send_flags(struct imapd_session *s, size_t i, bool with_uid)
{
	struct mailbox_msg msg;
	const struct mailbox_msg *m = &msg;

	mailbox_msg(s->mb, i, &msg);
	struct imapd_msgview mv;
	struct strbuf out;
	size_t kwn;

	memset(&mv, 0, sizeof(mv));
	mv.flags = m->flags;
	mv.keywords = m->keywords;
	mv.keyword_names = mailbox_keywords(s->mb, &kwn);
	mv.keyword_count = kwn;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_appendf(&out, "* %zu FETCH (", i + 1);
	if (with_uid)
		strbuf_appendf(&out, "UID %lu ", (unsigned long)m->uid);
	strbuf_append_str(&out, "FLAGS ");
	imapd_fetch_flags(&mv, &out);
	if (s->condstore)
		strbuf_appendf(&out, " MODSEQ (%llu)",
			       (unsigned long long)m->modseq);
	strbuf_append_str(&out, ")\r\n");
	imapd_write(s, out.data, out.len);
	strbuf_release(&out);
}

void imapd_sync(struct imapd_session *s)
{
	struct mailbox_changes ch;
	const char *error;
	struct stat st;

	if (s->mb == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	/* Another session may have deleted it: nothing sane is left to
	 * show (Dovecot does the same).  Checked first, so that the store
	 * does not take the missing index for damage. */
	if (stat(mailbox_path(s->mb), &st) < 0 && errno == ENOENT) {
		imapd_printf(s, "* BYE Selected mailbox was deleted, have to "
				"disconnect.\r\n");
		s->end_reason = "Selected mailbox was deleted";
		s->state = IMAPD_STATE_CLOSING;
		return;
	}
	if (mailbox_sync(s->mb, &ch, &error) < 0) {
		log_warn("imap(%s): %s: sync: %s", s->user, s->mbname, error);
		return;
	}
	for (size_t i = 0; i < ch.expunged_count; i++)
		imapd_printf(s, "* %zu EXPUNGE\r\n", ch.expunged[i] + 1);
	if (ch.expunged_count > 0) {
		/* Sizes are cached by view index, which just shifted. */
		free(s->vsizes);
		s->vsizes = NULL;
		s->vsizes_alloc = 0;
	}
	if (ch.new_count > 0) {
		imapd_printf(s, "* %zu EXISTS\r\n", mailbox_count(s->mb));
		if (!(s->enabled & IMAPD_ENABLED_REV2))
			imapd_printf(s, "* %zu RECENT\r\n",
				     mailbox_recent_count(s->mb));
	}
	for (size_t i = 0; i < ch.changed_count; i++)
		if (ch.changed[i] < mailbox_count(s->mb))
			imapd_send_flags(s, ch.changed[i], false);
	mailbox_changes_free(&ch);
}

char *imapd_arg_mailbox(struct imapd_session *s, const char *tag,
			const struct imap_arg *arg)
{
	const char *str, *error;
	size_t len;
	struct strbuf name;

	if (!imap_arg_get_astring(arg, &str, &len)) {
		imapd_printf(s, "%s BAD Invalid mailbox name argument\r\n",
			     tag);
		return NULL;
	}
	strbuf_init(&name, 1024);
	if (imapd_mailbox_name_decode(str, len, imapd_utf8(s), &name, &error) <
	    0) {
		imapd_printf(s, "%s NO %s\r\n", tag, error);
		strbuf_release(&name);
		return NULL;
	}
	/* A trailing separator names the same folder (RFC 9051 §6.3.4). */
	while (name.len > 1 && name.data[name.len - 1] == '.')
		strbuf_truncate(&name, name.len - 1);
	if (strcmp(name.data, "INBOX") != 0 && !mailbox_name_valid(name.data)) {
		imapd_printf(s, "%s NO [CANNOT] Invalid mailbox name\r\n", tag);
		strbuf_release(&name);
		return NULL;
	}
	return strbuf_steal(&name);
}

/* -------------------------------------------------------------- IDLE */

static void idle_changed(evutil_socket_t fd, short what, void *arg)
{
	struct imapd_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state != IMAPD_STATE_IDLING || s->mb == NULL)
		return;
	mailbox_wait_drain(s->mb);
	imapd_sync(s);
	if (s->state == IMAPD_STATE_CLOSING)
		session_closing(s);
}

void imapd_idle_start(struct imapd_session *s, const char *tag)
{
	s->idle_tag = xstrdup(tag);
	s->state = IMAPD_STATE_IDLING;
	imapd_printf(s, "+ idling\r\n");
	if (s->mb == NULL)
		return;
	/* The folder's one watch, shared with its other IDLE sessions
	 * in this worker; valid until mailbox_wait_stop(). */
	int fd = mailbox_wait_fd(s->mb);
	if (fd >= 0) {
		s->idle_ev = event_new(s->base, fd, EV_READ | EV_PERSIST,
				       idle_changed, s);
		event_add(s->idle_ev, NULL);
	}
	/* Without inotify, and as a safety net for changes inotify does
	 * not see (another host on NFS), look every second. */
	struct timeval tv = {fd >= 0 ? 5 : 1, 0};
	if (s->idle_poll == NULL)
		s->idle_poll =
			event_new(s->base, -1, EV_PERSIST, idle_changed, s);
	event_add(s->idle_poll, &tv);
	imapd_sync(s);
}

static void idle_stop(struct imapd_session *s)
{
	if (s->idle_ev != NULL) {
		event_free(s->idle_ev);
		s->idle_ev = NULL;
	}
	if (s->mb != NULL)
		mailbox_wait_stop(s->mb);
	if (s->idle_poll != NULL)
		event_del(s->idle_poll);
	free(s->idle_tag);
	s->idle_tag = NULL;
	s->state = IMAPD_STATE_RUNNING;
}

/* ---------------------------------------------------------- dispatch */

/* Command flags */
#define CMD_SELECTED 0x01u /* needs a selected mailbox */
#define CMD_SYNC     0x02u /* sync and report changes after it */
#define CMD_UID	     0x04u /* may follow "UID" */

static const struct {
	const char *name;
	imapd_cmd_fn *fn;
	unsigned flags;
} commands[] = {
	{"APPEND", imapd_cmd_append, CMD_SYNC},
	{"CAPABILITY", imapd_cmd_capability, 0},
	{"CHECK", imapd_cmd_check, CMD_SELECTED | CMD_SYNC},
	{"CLOSE", imapd_cmd_close, CMD_SELECTED},
	{"COPY", imapd_cmd_copy, CMD_SELECTED | CMD_SYNC | CMD_UID},
	{"CREATE", imapd_cmd_create, CMD_SYNC},
	{"DELETE", imapd_cmd_delete, CMD_SYNC},
	{"ENABLE", imapd_cmd_enable, 0},
	{"EXAMINE", imapd_cmd_examine, 0},
	{"EXPUNGE", imapd_cmd_expunge, CMD_SELECTED | CMD_UID},
	{"FETCH", imapd_cmd_fetch, CMD_SELECTED | CMD_UID},
	{"ID", imapd_cmd_id, CMD_SYNC},
	{"IDLE", imapd_cmd_idle, 0},
	{"LIST", imapd_cmd_list, CMD_SYNC},
	{"LOGOUT", imapd_cmd_logout, 0},
	{"LSUB", imapd_cmd_lsub, CMD_SYNC},
	{"MOVE", imapd_cmd_move, CMD_SELECTED | CMD_SYNC | CMD_UID},
	{"NAMESPACE", imapd_cmd_namespace, CMD_SYNC},
	{"NOOP", imapd_cmd_noop, CMD_SYNC},
	{"RENAME", imapd_cmd_rename, CMD_SYNC},
	{"SEARCH", imapd_cmd_search, CMD_SELECTED | CMD_UID},
	{"SELECT", imapd_cmd_select, 0},
	{"STATUS", imapd_cmd_status, CMD_SYNC},
	{"STORE", imapd_cmd_store, CMD_SELECTED | CMD_UID},
	{"SUBSCRIBE", imapd_cmd_subscribe, CMD_SYNC},
	{"UNSELECT", imapd_cmd_unselect, CMD_SELECTED},
	{"UNSUBSCRIBE", imapd_cmd_unsubscribe, CMD_SYNC},
};

static void dispatch(struct imapd_session *s, const struct imap_command *cmd)
{
	const char *name = cmd->name;
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->args_count;
	bool uid = false;
	size_t i;

	if (strcmp(name, "UID") == 0) {
		if (n == 0 || args[0].type != IMAP_ARG_ATOM) {
			imapd_printf(s, "%s BAD UID needs a command\r\n",
				     cmd->tag);
			return;
		}
		uid = true;
		name = args[0].str;
		args++;
		n--;
	}
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(*commands) ||
	    (uid && !(commands[i].flags & CMD_UID))) {
		if (strcmp(name, "LOGIN") == 0 ||
		    strcmp(name, "AUTHENTICATE") == 0 ||
		    strcmp(name, "STARTTLS") == 0)
			imapd_printf(s, "%s BAD Already logged in\r\n",
				     cmd->tag);
		else
			imapd_printf(s, "%s BAD Unknown command\r\n", cmd->tag);
		return;
	}
	if ((commands[i].flags & CMD_SELECTED) && s->mb == NULL) {
		imapd_printf(s, "%s BAD No mailbox selected\r\n", cmd->tag);
		return;
	}
	/* UID FETCH/STORE/SEARCH may carry EXPUNGE (RFC 3501 §7.4.1). */
	s->sync_ok = (commands[i].flags & CMD_SYNC) ||
		     (uid && commands[i].fn != imapd_cmd_expunge);
	commands[i].fn(s, cmd->tag, args, n, uid);
	s->sync_ok = false;
}

/* limits_init - the authenticated limits with imapd_max_literal_size */
static void limits_init(struct imapd_session *s)
{
	imap_parser_limits_init(&s->limits, true);
	long long lit = config_size(s->cfg, "imapd_max_literal_size");

	if (lit > 0)
		s->limits.max_literal_size = (uint64_t)lit;
	s->limits.max_command_size =
		s->limits.max_line_size + s->limits.max_literal_size;
}

/* idle_input - between "+ idling" and DONE */
static bool idle_input(struct imapd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	size_t used;
	const char *line;
	size_t len;
	int r;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return false;
	if (s->parser == NULL)
		s->parser = imap_parser_create(&s->limits, 0);
	r = imap_parser_read_line(s->parser, v.iov_base, v.iov_len, &used,
				  &line, &len);
	evbuffer_drain(in, used);
	s->in_bytes += used;
	if (r == 0)
		return used > 0;
	char *tag = s->idle_tag;

	s->idle_tag = NULL;
	idle_stop(s);
	if (r == 1 && len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imapd_printf(s, "%s OK Idle completed.\r\n", tag);
	else
		imapd_printf(s, "%s BAD Expected DONE.\r\n", tag);
	free(tag);
	return true;
}

/* command_input - feed the parser; run a complete command */
static bool command_input(struct imapd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	struct imap_command cmd;
	size_t used;
	int r;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return false;
	if (s->parser == NULL)
		s->parser = imap_parser_create(&s->limits,
					       IMAP_PARSER_FLAG_LITERAL_PLUS |
						       IMAP_PARSER_FLAG_BINARY);
	r = imap_parser_parse(s->parser, v.iov_base, v.iov_len, &used, &cmd);
	evbuffer_drain(in, used);
	s->in_bytes += used;
	if (r == 0) {
		if (imap_parser_literal_needs_continuation(s->parser)) {
			imap_parser_literal_continued(s->parser);
			imapd_printf(s, "+ OK\r\n");
		}
		return used > 0;
	}
	if (r < 0) {
		const char *tag = imap_parser_error_tag(s->parser);

		imapd_printf(s, "%s BAD %s\r\n", tag != NULL ? tag : "*",
			     imap_parser_error_text(s->parser));
		return true;
	}
	dispatch(s, &cmd);
	if (s->state == IMAPD_STATE_RUNNING && imap_parser_idle(s->parser) &&
	    evbuffer_get_length(in) == 0)
		imap_parser_free(&s->parser); /* a big APPEND buffer goes */
	return true;
}

static void session_read(struct bufferevent *bev, void *arg)
{
	struct imapd_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	while (evbuffer_get_length(in) > 0) {
		bool progress;

		if (s->state == IMAPD_STATE_IDLING)
			progress = idle_input(s, in);
		else if (s->state == IMAPD_STATE_RUNNING)
			progress = command_input(s, in);
		else
			break;
		if (s->logout || s->state == IMAPD_STATE_CLOSING) {
			session_closing(s);
			return;
		}
		if (evbuffer_get_length(out) > IMAPD_OUTPUT_HIGH) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (!progress)
			break;
	}
	if (s->state == IMAPD_STATE_RUNNING && s->parser != NULL &&
	    imap_parser_idle(s->parser))
		imap_parser_free(&s->parser);
}

/* ---------------------------------------------------------- shutdown */

/* sigterm - the worker is told to stop: "* BYE" to every session */
static void sigterm(evutil_socket_t sig, short what, void *arg)
{
	static const char bye[] = "* BYE Server shutting down.\r\n";

	(void)sig;
	(void)what;
	(void)arg;
	for (struct imapd_session *s = sessions; s != NULL; s = s->next) {
		/* Whatever is still queued goes first, then the BYE
		 * behind it (never in the middle of a reply); what the
		 * socket does not take now is lost with the process. */
		imapd_write(s, bye, sizeof(bye) - 1);
		write_now(s);
		log_info("imap(%s): Disconnected: Server shutting down "
			 "in=%llu out=%llu",
			 s->user, s->in_bytes, s->out_bytes);
	}
	exit(0);
}

/* ------------------------------------------------------------- start */

void imapd_session_start(struct event_base *base, const struct config *cfg,
			 int fd, const struct login_session *session,
			 const struct mail_user *user)
{
	struct imapd_session *s = xcalloc(1, sizeof(*s));
	const char *error;
	struct timeval idle;

	if (sigterm_ev == NULL) {
		sigterm_ev = evsignal_new(base, SIGTERM, sigterm, NULL);
		event_add(sigterm_ev, NULL);
	}
	evutil_make_socket_nonblocking(fd);
	s->base = base;
	s->cfg = cfg;
	s->user = xstrdup(session->user);
	s->maildir = xstrdup(user->maildir);
	s->client = xstrdup(session->client);
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		log_fatal("bufferevent_socket_new: out of memory");
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	limits_init(s);
	bufferevent_setcb(s->bev, session_read, session_write, session_event,
			  s);
	bufferevent_set_max_single_write(s->bev, IMAPD_OUTPUT_ROUND);
	idle.tv_sec = config_time(cfg, "imapd_idle_timeout");
	idle.tv_usec = 0;
	/* The write timeout ends a client that stopped reading a reply. */
	bufferevent_set_timeouts(s->bev, &idle, &idle);
	if (mailbox_ensure_special(s->maildir, &error) < 0) {
		log_warn("imap(%s): %s: %s", s->user, s->maildir, error);
		imapd_printf(s,
			     "%s NO [UNAVAILABLE] Mailbox is not available\r\n",
			     session->tag);
		s->state = IMAPD_STATE_CLOSING;
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	imapd_printf(s, "%s OK [CAPABILITY " IMAPD_CAPABILITY "] Logged in\r\n",
		     session->tag);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}
