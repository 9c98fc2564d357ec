/*
 * smtp - shared state of the smtp/lmtp delivery agent
 *
 * smtp.c holds main(), the deliver/1 reader, the result writer, the log
 * lines and the connection cache; smtp_rcpt.c sets recipient outcomes;
 * smtp_nexthop.c parses the nexthop;
 * smtp_io.c is the session's byte and reply I/O (plain or TLS, every
 * wait bounded); smtp_connect.c finds and opens a session (routing,
 * greeting, EHLO, STARTTLS, AUTH); smtp_sasl.c is the AUTH client;
 * smtp_trans.c runs one mail transaction (MAIL, RCPT, DATA, content);
 * smtp_dot.c is the content encoder (CRLF, dot-stuffing).
 */
#ifndef FACTEUR_SMTP_H
#define FACTEUR_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dns.h"
#include "smtp_reply.h"
#include "strbuf.h"

struct config;
struct event;
struct maps_list;
struct qfile;
struct tls_client;
struct tls_conn;

/* The most recipients one request may carry (qmgr sends fewer). */
#define SMTP_RCPT_MAX 1000
/* Queue file bytes read, and encoded bytes written, at a time. */
#define SMTP_CONTENT_CHUNK 65536
/* Text kept of one reply for logs and notices. */
#define SMTP_TEXT_MAX 1000

enum smtp_tls_level {
	SMTP_TLS_NONE,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_VERIFY,
};

/* ---- the nexthop (smtp_nexthop.c) ---- */

enum smtp_dest_kind {
	SMTP_DEST_MX,	/* "example.com[:port]": MX lookup */
	SMTP_DEST_HOST, /* "[host][:port]", lmtp "inet:host:port" */
	SMTP_DEST_UNIX, /* lmtp "unix:/path" */
};

struct smtp_dest {
	enum smtp_dest_kind kind;
	char host[DNS_NAME_MAX + 1]; /* domain, host or address literal */
	unsigned port;
	char path[108]; /* SMTP_DEST_UNIX */
};

/*
 * smtp_nexthop_parse - nexthop as qmgr sends it (docs/architecture.md,
 * "Outbound") for smtp (lmtp false) or lmtp; default_port is used when
 * none is given.  Returns 0, or -1 with *error_r (static).
 */
int smtp_nexthop_parse(const char *nexthop, bool lmtp, unsigned default_port,
		       struct smtp_dest *dest, const char **error_r);

/* ---- the content encoder (smtp_dot.c) ---- */

struct smtp_dot {
	bool bol;     /* at the start of a line */
	bool prev_cr; /* the last byte was CR */
};

void smtp_dot_init(struct smtp_dot *dot);
/* smtp_dot_encode - append data[len] with bare LF made CRLF and a '.'
 * doubled at the start of a line */
void smtp_dot_encode(struct smtp_dot *dot, const void *data, size_t len,
		     struct strbuf *out);
/* smtp_dot_finish - the final CRLF when missing, then ".\r\n" */
void smtp_dot_finish(struct smtp_dot *dot, struct strbuf *out);

/* ---- process state ---- */

struct smtp_sess;

struct smtp_ctx {
	const struct config *cfg;
	bool lmtp;
	const char *proto; /* "smtp" or "lmtp" (Diagnostic-Code type) */
	const char *queue_dir;
	const char *helo_name;
	enum smtp_tls_level tls_level;
	struct tls_client *tls; /* NULL: no TLS client context */
	bool sasl_enable;
	bool sasl_plaintext;
	struct maps_list *sasl_maps;
	unsigned dns_flags;
	unsigned mx_address_limit;
	unsigned mx_session_limit;
	/* Timeouts in milliseconds. */
	int t_connect, t_helo, t_starttls, t_mail, t_rcpt, t_data_init,
		t_data_xfer, t_data_done, t_rset, t_quit;
	/* The connection cache: one idle session, its nexthop, a timer. */
	int cache_time_ms;
	unsigned reuse_limit; /* 0: no limit */
	struct smtp_sess *cached;
	char *cached_nexthop;
	struct event *cache_timer;
};

/* One open session with a server. */
struct smtp_sess {
	int fd;
	struct tls_conn *tls;
	struct smtp_reply_parser *rp;
	unsigned char in[8192];
	size_t in_len, in_pos;
	char host[DNS_NAME_MAX + 1];
	char addr[128]; /* address, or the socket path */
	unsigned port;
	char relay[DNS_NAME_MAX + 160];	   /* "host[addr]:port" */
	char hostaddr[DNS_NAME_MAX + 140]; /* "host[addr]" */
	struct smtp_ehlo ehlo;
	bool esmtp;
	unsigned uses; /* transactions done */
	bool broken;   /* I/O failed: never reuse */
	/* MAIL was accepted and no reply to the end of data ended the
	 * transaction since: the next one must start with RSET. */
	bool in_trans;
	/* The last reply read: code, status and text ("550 5.1.1 ..."). */
	unsigned code;
	char status[SMTP_REPLY_STATUS_MAX];
	struct strbuf text;
	/* The last I/O error, Postfix's words ("lost connection with ..."). */
	char error[512];
};

/* One recipient of the request and its outcome. */
enum smtp_status {
	SMTP_TODO = -1,
	SMTP_SENT = 0,
	SMTP_BOUNCED,
	SMTP_DEFERRED,
};

struct smtp_rcpt {
	const char *address;
	const char *orig;  /* rcpt_I_orcpt from qmgr, for the log */
	const char *orcpt; /* the queue file's ORCPT, "" when none */
	unsigned notify;   /* QFILE_NOTIFY_* */
	enum smtp_status status;
	char dsn[16];
	char *reason;
	char *diagnostic; /* "smtp; 550 5.1.1 ..." or NULL */
	bool remote;	  /* the outcome came from the server: remote_mta */
	bool accepted;	  /* RCPT got 2xx */
};

struct smtp_req {
	char queue_id[64];
	const char *sender;
	const char *nexthop;
	struct qfile *q;
	struct smtp_rcpt *rcpts;
	size_t count;
	double arrival, received, connected;
	bool smtputf8; /* the message needs SMTPUTF8 */
	char relay[DNS_NAME_MAX + 160];
	char remote_mta[DNS_NAME_MAX + 8];
};

/* smtp_rcpt_set - the outcome of a recipient still SMTP_TODO */
void smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_status status,
		   const char *dsn, const char *diagnostic, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));
/* smtp_fail_all - every recipient still to do gets this outcome */
void smtp_fail_all(struct smtp_req *req, enum smtp_status status,
		   const char *dsn, const char *diagnostic, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));
/* smtp_now - the time in seconds */
double smtp_now(void);

/* ---- I/O (smtp_io.c) ---- */

struct smtp_sess *smtp_sess_create(int fd);
void smtp_sess_free(struct smtp_sess **sessp);
/* Write all of data; -1 with sess->error set ("lost connection with
 * host[addr] while sending what"). */
int smtp_sess_write(struct smtp_sess *sess, const void *data, size_t len,
		    int timeout_ms, const char *what);
/*
 * smtp_sess_reply - read one reply: sess->code, status (the enhanced
 * code, or one derived from the reply code), text.  0, or -1 with
 * sess->error ("conversation with X timed out while what").
 */
int smtp_sess_reply(struct smtp_sess *sess, int timeout_ms, const char *what);
/* Bytes already received and not yet parsed (STARTTLS injection check). */
bool smtp_sess_pending(const struct smtp_sess *sess);
/*
 * smtp_sess_idle_ok - an idle session is still in step: nothing was
 * received beyond the last reply and the server has neither closed nor
 * said anything (421) since.  A cached session must pass it before reuse.
 */
bool smtp_sess_idle_ok(const struct smtp_sess *sess);
/* smtp_sess_quit - QUIT (best effort), close and free */
void smtp_sess_quit(struct smtp_ctx *ctx, struct smtp_sess **sessp);

/* ---- connection set-up (smtp_connect.c) ---- */

/*
 * smtp_connect - a ready session (greeting, EHLO, STARTTLS, AUTH done)
 * for dest, trying the route's hosts in order.  NULL when none worked:
 * then every recipient of req has its outcome (deferred, or bounced for
 * a permanent failure).  req->connected is set.
 */
struct smtp_sess *smtp_connect(struct smtp_ctx *ctx, struct smtp_req *req,
			       const struct smtp_dest *dest);

/* smtp_sasl_auth - AUTH on sess when configured: 0 ok or not needed,
 * -1 with *why_r (malloc'd) and *dsn_r */
int smtp_sasl_auth(struct smtp_ctx *ctx, struct smtp_sess *sess,
		   const struct smtp_req *req, const struct smtp_dest *dest,
		   char **why_r, const char **dsn_r);

/* ---- the transaction (smtp_trans.c) ---- */

/*
 * smtp_transaction - deliver req over sess.  Returns 0 when the session
 * is still usable (for the cache; sess->in_trans says whether it needs
 * RSET first), -1 when it is not; a -1
 * before any command was answered (*retry_r true) means a reused
 * session had gone stale and the caller may connect afresh.
 */
int smtp_transaction(struct smtp_ctx *ctx, struct smtp_sess *sess,
		     struct smtp_req *req, bool *retry_r);

#endif
