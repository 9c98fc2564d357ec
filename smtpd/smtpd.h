/*
 * smtpd - shared state of the SMTP server's modules
 *
 * One struct smtpd per process (settings loaded once, TLS context,
 * resolver), one struct smtpd_session per connection.  Modules:
 *
 *	smtpd.c		main(), settings, server_ops
 *	smtpd_session.c	connection lifecycle: bufferevent, input loop,
 *			timeouts, error limits, STARTTLS switch, close
 *	smtpd_chat.c	replies: buffered for pipelining, error counting
 *	smtpd_cmd.c	command dispatch and the state machine
 *	smtpd_data.c	DATA and BDAT input into the queue file
 *	smtpd_dot.c	content filter: dot-unstuffing, end of DATA, bare
 *			LF/CR, header section (pure, unit-tested)
 *	smtpd_check.c	access policy (mynetworks, relay, recipients)
 *	smtpd_queue.c	queue file: envelope, Received header, commit
 *	smtpd_commit.c	the commit's fsyncs on worker threads
 */
#ifndef FACTEUR_SMTPD_H
#define FACTEUR_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lineread.h"
#include "qfile.h"
#include "smtp_addr.h"
#include "strbuf.h"

struct bufferevent;
struct event;
struct evbuffer;
struct server;
struct config;
struct tls_server;
struct resolver;
struct cidr;
struct smtp_cmd;
struct auth_client_req;
struct anvil_client;
struct smtpd_access;
struct smtpd_commit_job;

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets. */
#define SMTPD_HELO_MAX	  255
#define SMTPD_ADDR_MAX	  64
#define SMTPD_MSGID_MAX	  255
#define SMTPD_TLSINFO_MAX 160
/* How long a closing session may take to read our last reply. */
#define SMTPD_CLOSE_TIMEOUT 10
/* Input buffered ahead of processing, at most. */
#define SMTPD_INPUT_MAX (256 * 1024)

enum smtpd_bare_newline {
	SMTPD_BARE_NORMALIZE, /* accept as CRLF, never as end of DATA */
	SMTPD_BARE_REJECT,    /* "yes": reject the message / command */
	SMTPD_BARE_ALLOW,     /* "no": a full line terminator (unsafe) */
};

enum smtpd_tls_level {
	SMTPD_TLS_NONE,
	SMTPD_TLS_MAY,
	SMTPD_TLS_ENCRYPT,
};

/* Settings, read from the configuration once before the privilege drop. */
struct smtpd_settings {
	const char *hostname;
	const char *mail_name;
	const char *banner;
	const char *queue_dir;
	long long timeout;
	long long error_sleep;
	unsigned recipient_limit;
	unsigned soft_error_limit;
	unsigned hard_error_limit;
	unsigned command_line_limit;
	unsigned session_limit;
	unsigned conn_count_limit; /* smtpd_client_connection_*: 0 none */
	unsigned conn_rate_limit;
	unsigned message_rate_limit; /* smtpd_client_message_rate_limit */
	uint64_t message_size_limit; /* 0: none */
	uint64_t header_size_limit;
	enum smtpd_bare_newline bare_newline;
	enum smtpd_tls_level tls_level;
	bool helo_required;
	bool disable_vrfy;
	bool wrappermode;
	bool tls_received_header;
	bool add_missing_headers;
	bool sasl_enable;
	bool tls_auth_only;
	const char *const *relay_restrictions;
	const char *const *recipient_restrictions;
};

struct smtpd {
	struct server *srv;
	const struct config *cfg;
	struct smtpd_settings set;
	struct tls_server *tls; /* NULL: no TLS */
	struct resolver *resolver;
	struct cidr *mynetworks;
	size_t mynetworks_count;
	struct cidr *limit_exceptions; /* smtpd_client_event_limit_... */
	size_t limit_exceptions_count;
	struct smtpd_access *access; /* tables of check_*_access */
	size_t access_count;
	char *incoming_dir;
	int qmgr_fd; /* wakeup stream to public/qmgr, -1: none yet */
};

/*
 * The session states (RFC 5321 §4.1.4 ordering).  Checked on every
 * command; DATA and BDAT switch the input from lines to content.
 */
enum smtpd_state {
	SMTPD_STATE_CONNECT, /* greeted us, no HELO/EHLO yet */
	SMTPD_STATE_HELO,    /* HELO/EHLO done, no transaction */
	SMTPD_STATE_MAIL,    /* MAIL accepted, no recipient yet */
	SMTPD_STATE_RCPT,    /* at least one recipient accepted */
	SMTPD_STATE_DATA,    /* reading DATA content */
	SMTPD_STATE_BDAT,    /* reading a BDAT chunk */
	SMTPD_STATE_QUIT,    /* closing: input is ignored */
};

/* Where an AUTH dialogue is (RFC 4954 §4). */
enum smtpd_sasl_step {
	SMTPD_SASL_NONE,
	SMTPD_SASL_PLAIN,      /* waiting for the PLAIN response */
	SMTPD_SASL_LOGIN_USER, /* waiting for the LOGIN user name */
	SMTPD_SASL_LOGIN_PASS, /* waiting for the LOGIN password */
	SMTPD_SASL_CHECKING,   /* the auth service is asked */
};

/* Counters for the "disconnect from" line, Postfix's order. */
enum smtpd_count {
	SMTPD_COUNT_HELO,
	SMTPD_COUNT_EHLO,
	SMTPD_COUNT_STARTTLS,
	SMTPD_COUNT_AUTH,
	SMTPD_COUNT_MAIL,
	SMTPD_COUNT_RCPT,
	SMTPD_COUNT_DATA,
	SMTPD_COUNT_BDAT,
	SMTPD_COUNT_RSET,
	SMTPD_COUNT_NOOP,
	SMTPD_COUNT_VRFY,
	SMTPD_COUNT_EXPN,
	SMTPD_COUNT_HELP,
	SMTPD_COUNT_QUIT,
	SMTPD_COUNT_UNKNOWN,
	SMTPD_COUNT_MAX,
};

/*
 * The content filter of smtpd_dot.c: a byte-at-a-time state machine that
 * does dot-unstuffing, finds the end of DATA, normalizes line ends to
 * CRLF, measures and inspects the header section.  Pure (no I/O), so it
 * is resumable at any byte and unit-testable.
 */
enum smtpd_dot_state {
	SMTPD_DOT_BOL,	  /* at the start of a line */
	SMTPD_DOT_DOT,	  /* saw "." at the start of a line */
	SMTPD_DOT_DOT_CR, /* saw ".\r" at the start of a line */
	SMTPD_DOT_TEXT,	  /* inside a line */
	SMTPD_DOT_CR,	  /* inside a line, a CR is pending */
};

struct smtpd_dot {
	enum smtpd_dot_state state;
	enum smtpd_bare_newline mode;
	bool raw;	 /* BDAT: no dot handling, no end of data */
	bool strict_bol; /* the last line ended in CRLF (or none yet) */
	bool bare_lf;	 /* a bare LF was seen */
	bool in_header;
	bool header_too_big;
	uint64_t header_limit;
	uint64_t header_size;
	struct strbuf line;  /* current header line */
	struct strbuf field; /* current header field (for Message-ID) */
	bool have_msgid, have_date;
	char msgid[SMTPD_MSGID_MAX + 1];
	/* Headers to add when missing (smtpd_add_missing_headers): the
	 * complete lines "Message-ID: <...>\r\n", or NULL. */
	const char *add_msgid;
	const char *add_date;
};

struct smtpd_session {
	struct smtpd *sd;
	struct bufferevent *bev;
	struct event *timer; /* error sleep, close polling */
	char addr[SMTPD_ADDR_MAX];
	const char *name; /* "unknown": no DNS lookups in smtpd */
	char helo[SMTPD_HELO_MAX + 1];
	enum smtpd_state state;
	bool esmtp;
	bool tls_active;
	char tls_info[SMTPD_TLSINFO_MAX];
	char *sasl_user; /* NULL: not authenticated */
	/* AUTH in progress (smtpd_sasl.c). */
	enum smtpd_sasl_step sasl_step;
	const char *sasl_mech;
	char *sasl_login_user;
	struct auth_client_req *auth_req;
	struct lineread lr;
	struct strbuf line;
	struct evbuffer *replies; /* pending replies (pipelining) */
	unsigned errors;
	bool paused;
	bool suspended; /* waiting for the auth service */
	bool closing;
	bool freed_guard;
	unsigned close_ticks;
	const char *last_cmd;	    /* for "timeout after X" */
	struct anvil_client *anvil; /* this session's count in anvil */
	const char *cur_line;	    /* the command being dispatched */
	size_t cur_len;
	char *mail_line; /* a MAIL waiting for anvil's message rate */
	size_t mail_len;
	bool mail_rate_done; /* its check is done: go on */
	/* The queue file's commit is out (smtpd_commit.c): input is
	 * suspended; the session is freed only once it is back. */
	struct smtpd_commit_job *commit;
	bool free_pending; /* session_free() came during the commit */
	struct {
		unsigned ok, total;
	} counts[SMTPD_COUNT_MAX];

	/* The transaction: MAIL to end of data (or RSET). */
	struct qfile_writer *qw;
	char queue_id[QUEUE_ID_MAX + 1];
	char sender[SMTP_ADDR_PATH_MAX + 1];
	bool smtputf8;
	unsigned nrcpt;
	char first_rcpt[SMTP_ADDR_PATH_MAX + 1];
	bool content_started; /* Received written (DATA or first BDAT) */
	bool bdat_used;
	bool bdat_discard; /* consume the chunk, store nothing */
	bool bdat_last;
	uint64_t bdat_left;
	struct smtpd_dot dot;
	struct strbuf out; /* filtered content waiting for the queue file */
	bool too_big;
	bool write_failed;
	char *add_msgid;
	char *add_date;
};

/* smtpd_session.c */
void smtpd_session_accept(struct smtpd *sd, int fd, const char *addr);
void smtpd_session_close(struct smtpd_session *s);
/* Stop reading input until resume (an AUTH request is out). */
void smtpd_session_suspend(struct smtpd_session *s);
void smtpd_session_resume(struct smtpd_session *s);
/* Switch to TLS after "220 Ready to start TLS" (RFC 3207). */
void smtpd_session_starttls(struct smtpd_session *s);
/* Reset the transaction (RSET, HELO, end of data): aborts the file. */
void smtpd_session_reset_txn(struct smtpd_session *s);
/* "unknown[127.0.0.1]" for the log; static until next call. */
const char *smtpd_session_client(const struct smtpd_session *s);
/* The commit is back and replied to: free or read on. */
void smtpd_session_commit_done(struct smtpd_session *s);
/* Greet (or refuse with 421) once the connection checks are done. */
void smtpd_session_greet(struct smtpd_session *s, const char *refusal);

/* smtpd_anvil.c */
int smtpd_anvil_init(struct smtpd *sd, const char **error_r);
void smtpd_anvil_deinit(struct smtpd *sd);
/*
 * smtpd_anvil_check - register s with anvil when a per-client limit is
 * set and the client is not exempt.  Returns false when there is
 * nothing to ask (greet now); true when smtpd_session_greet() will be
 * called from the loop once anvil answered.
 */
bool smtpd_anvil_check(struct smtpd_session *s);
/*
 * smtpd_anvil_mail - count a MAIL command with anvil when
 * smtpd_client_message_rate_limit is set.  Returns true when the
 * command waits (the session is suspended; the command is dispatched
 * again, or refused with 450 4.7.1, once anvil answered); false: go on.
 */
bool smtpd_anvil_mail(struct smtpd_session *s);

/* smtpd_chat.c */
void smtpd_chat_reply(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtpd_chat_flush(struct smtpd_session *s);

/* smtpd_cmd.c */
void smtpd_cmd_dispatch(struct smtpd_session *s, const char *line, size_t len);
const char *smtpd_cmd_protocol(const struct smtpd_session *s);

/* smtpd_data.c */
void smtpd_dot_init(struct smtpd_dot *d, enum smtpd_bare_newline mode, bool raw,
		    uint64_t header_limit);
void smtpd_dot_release(struct smtpd_dot *d);
/*
 * smtpd_dot_feed - filter in[0..len) into out.  Returns 1 when the end of
 * DATA was found (then *used_r counts the bytes up to and including the
 * final CRLF), else 0 with *used_r = len.
 */
int smtpd_dot_feed(struct smtpd_dot *d, const char *in, size_t len,
		   struct strbuf *out, size_t *used_r);
/* smtpd_dot_finish - flush what is pending (a partial line, headers). */
void smtpd_dot_finish(struct smtpd_dot *d, struct strbuf *out);
/* Start reading DATA content / a BDAT chunk. */
void smtpd_data_start(struct smtpd_session *s);
void smtpd_bdat_start(struct smtpd_session *s, uint64_t size, bool last,
		      bool discard);
/* Consume content from in; returns true when the state changed. */
bool smtpd_data_input(struct smtpd_session *s, struct evbuffer *in);
bool smtpd_bdat_input(struct smtpd_session *s, struct evbuffer *in);

/* smtpd_sasl.c */
/* Whether EHLO offers AUTH now (enabled, TLS rule, auth reachable). */
bool smtpd_sasl_offered(const struct smtpd_session *s);
bool smtpd_sasl_cmd(struct smtpd_session *s, const struct smtp_cmd *cmd);
/* A response line of the AUTH dialogue (wiped by the caller after). */
void smtpd_sasl_input(struct smtpd_session *s, const char *line, size_t len);
/* Session end: cancel a pending request, wipe secrets. */
void smtpd_sasl_reset(struct smtpd_session *s);

/* smtpd_check.c */
int smtpd_check_init(struct smtpd *sd, const char **error_r);
void smtpd_check_deinit(struct smtpd *sd);
/*
 * smtpd_check_rcpt - apply the recipient restrictions.  Returns 0 to
 * accept, or -1 with the full reply ("554 5.7.1 <a@b>: Relay access
 * denied") in reply.
 */
int smtpd_check_rcpt(struct smtpd_session *s, const struct smtp_addr *rcpt,
		     struct strbuf *reply);
bool smtpd_check_mynetworks(const struct smtpd_session *s);

/* smtpd_queue.c */
int smtpd_queue_open(struct smtpd_session *s, const struct smtp_cmd *cmd);
int smtpd_queue_rcpt(struct smtpd_session *s, const struct smtp_cmd *cmd);
/* The queue id once a recipient was accepted, else "NOQUEUE" (Postfix). */
const char *smtpd_queue_log_id(const struct smtpd_session *s);
int smtpd_queue_begin_content(struct smtpd_session *s);
/* Write s->out to the file (or drop it when the message is refused). */
void smtpd_queue_flush_out(struct smtpd_session *s);
/* End of message: checks, then the reply or the commit's start. */
void smtpd_queue_finish(struct smtpd_session *s);
/* The commit is done (ret 0) or failed (error): log, reply, go on. */
void smtpd_queue_committed(struct smtpd_session *s, int ret, const char *error);

/* smtpd_commit.c */
/* Commit s->qw off the loop; smtpd_queue_committed() follows. */
void smtpd_commit_start(struct smtpd_session *s);

#endif
