/*
 * pop3d - shared state of the POP3 post-login server's modules
 *
 * pop3d is started by master as the "pop3d" unix service; its dispatcher
 * (lib/login, mail_dispatch_main) receives sessions that pop3-login has
 * authenticated and hands each to a worker running as the mailbox owner.
 * A worker serves many sessions in one libevent loop.  Modules:
 *
 *	pop3d.c		main(), settings, the worker's start function
 *	pop3d_session.c	one session: session lock, INBOX, I/O, limits,
 *			the multi-line sender, close and the log line
 *	pop3d_cmd.c	the TRANSACTION and UPDATE states (RFC 1939 §5-6)
 *	pop3d_dot.c	CRLF, dot-stuffing and TOP over stored messages
 *			(pure, unit-tested)
 */
#ifndef FACTEUR_POP3D_H
#define FACTEUR_POP3D_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lineread.h"
#include "strbuf.h"

struct bufferevent;
struct config;
struct event;
struct event_base;
struct mailbox;
struct pop3_cmd;

/*
 * The session lock, a file in the Maildir root (INBOX) held with
 * flock(LOCK_EX) for the whole session: a second POP3 session of the
 * same mailbox is refused with [IN-USE] (RFC 2449 §8.1.1), as Dovecot's
 * pop3_lock_session does.  IMAP sessions and delivery do not take it.
 */
#define POP3D_LOCK_FILE "facteur-pop3.lock"
/* Bad commands after which the session is closed (Dovecot's
 * CLIENT_MAX_BAD_COMMANDS). */
#define POP3D_BAD_COMMANDS_MAX 20
/* Output queued ahead of the client while sending a message. */
#define POP3D_OUTPUT_HIGH (256 * 1024)
/* File read size while sending a message. */
#define POP3D_READ_CHUNK (64 * 1024)
/* Input buffered ahead of processing, at most (pipelined commands). */
#define POP3D_INPUT_MAX (64 * 1024)
/* How long a closing session may take to read our last reply. */
#define POP3D_CLOSE_TIMEOUT 10

/* --- pop3d_dot.c ------------------------------------------------------ */

struct pop3d_dot {
	bool bol;	/* at the start of an output line */
	bool cr;	/* the last byte read was a CR */
	bool in_header; /* before the empty line */
	bool top;	/* TOP: stop after lines_left body lines */
	bool done;
	uint64_t lines_left;
	size_t line_len; /* bytes of the current line, a final CR excluded */
};

void pop3d_dot_init(struct pop3d_dot *d, bool top, uint64_t lines);
/*
 * pop3d_dot_feed - append the POP3 form of in[0..len) to out.  Returns 1
 * when a TOP response is complete (the rest of the message is not
 * wanted), else 0.
 */
int pop3d_dot_feed(struct pop3d_dot *d, const char *in, size_t len,
		   struct strbuf *out);
/* pop3d_dot_finish - CRLF after an unterminated last line, then ".CRLF" */
void pop3d_dot_finish(struct pop3d_dot *d, struct strbuf *out);

/* The CRLF size of a message read in pieces; start zeroed. */
struct pop3d_dot_size {
	uint64_t size;
	bool cr; /* the previous piece ended in CR */
};
/* pop3d_dot_size - add in[0..len); returns the size so far */
uint64_t pop3d_dot_size(struct pop3d_dot_size *z, const char *in, size_t len);

/* --- the worker ------------------------------------------------------- */

struct pop3d_settings {
	long long timeout; /* pop3d_timeout */
};

/* One message of the session's fixed list (RFC 1939 §5: numbers stay). */
struct pop3d_msg {
	uint32_t uid;
	uint64_t size; /* CRLF size; valid when size_known */
	bool size_known;
	bool deleted;	/* DELE in this session */
	bool retrieved; /* RETR: gets \Seen at QUIT */
};

struct pop3d_session {
	struct event_base *base;
	struct pop3d_settings set;
	struct bufferevent *bev;
	struct evbuffer *pending; /* output not yet written: see flush */
	struct event *timer;	  /* close polling */
	char *user;
	char *client; /* the client's address, for the log */
	struct mailbox *mb;
	int lock_fd;
	uint32_t uidvalidity;
	struct pop3d_msg *msgs;
	size_t count;
	struct lineread lr;
	struct strbuf line;
	struct strbuf out; /* a filtered chunk of a message */
	unsigned bad_commands;
	unsigned close_ticks;
	bool closing;
	bool quit; /* QUIT was processed: "Logged out" */
	const char *close_reason;

	/* A message being sent (RETR, TOP). */
	int send_fd;
	struct pop3d_dot dot;
	bool send_top;

	/* For the log line, Dovecot's pop3_logout_format. */
	struct {
		unsigned top_count, retr_count, del_count;
		uint64_t top_bytes, retr_bytes;
	} stats;
};

/* pop3d_session.c */
void pop3d_session_start(struct event_base *base, const struct config *cfg,
			 int fd, const char *user, const char *maildir,
			 const char *client);
/* Queue a reply line (CRLF added). */
void pop3d_session_reply(struct pop3d_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send what is queued, then free the session (reason for the log). */
void pop3d_session_close(struct pop3d_session *s, const char *reason);
/* Start sending message idx (already opened as fd) after its +OK. */
void pop3d_session_send(struct pop3d_session *s, int fd, bool top,
			uint64_t lines);
/* The CRLF size of message idx (reads it once when the name lacks it);
 * -1 when it cannot be read. */
int pop3d_session_msg_size(struct pop3d_session *s, size_t idx,
			   uint64_t *size_r);
/* Open message idx of the fixed list; -1 with errno. */
int pop3d_session_msg_open(struct pop3d_session *s, size_t idx);

/* pop3d_cmd.c */
void pop3d_cmd_dispatch(struct pop3d_session *s, const char *line, size_t len);
/* UPDATE state (RFC 1939 §6): apply DELE, mark RETR \Seen.  Returns 0,
 * or -1 with the reply already queued. */
int pop3d_cmd_update(struct pop3d_session *s);

#endif
