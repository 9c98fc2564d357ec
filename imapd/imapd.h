/*
 * imapd.h - the IMAP server after login: shared state and module APIs
 *
 * One worker process serves many sessions in one libevent loop
 * (lib/login/login.h).  A session is a struct imapd_session; each
 * concern has its own file:
 *
 *   imapd_session.c   I/O, command dispatch, untagged sync, IDLE, LOGOUT
 *   imapd_cmd.c       commands of any state: CAPABILITY, NOOP, ENABLE, ID
 *   imapd_mailbox.c   SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE,
 *                     LIST, LSUB, NAMESPACE, STATUS, APPEND
 *   imapd_fetch.c     FETCH: attribute parsing (pure) and rendering
 *   imapd_search.c    SEARCH: key parsing and matching (pure)
 *   imapd_store.c     STORE, COPY, MOVE, EXPUNGE, UID EXPUNGE, CLOSE
 *   imapd_seqset.c    sequence sets against a view (pure)
 *   imapd_quote.c     strings and mailbox names on the wire (pure)
 *
 * The pure modules know nothing of sessions or of the store: they work
 * on struct imapd_msgview, which the unit tests fill by hand.
 */
#ifndef FACTEUR_IMAPD_H
#define FACTEUR_IMAPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap_parser.h"
#include "strbuf.h"

struct config;
struct event_base;
struct mailbox;
struct login_session;
struct mail_user;

/* ---------------------------------------------------------------- seqset */

/*
 * A parsed sequence set.  '*' stands for max (the highest sequence
 * number or UID in use), resolved at match time so that one parse serves
 * a whole command.
 */
struct imapd_seqset {
	struct imap_seqrange *ranges;
	size_t count;
};

/* At most this many ranges in one set (a bound on the work per message). */
#define IMAPD_SEQSET_MAX_RANGES 10000

/* Parse str[0..len); 0, or -1 with *error_r (static). */
int imapd_seqset_parse(const char *str, size_t len, struct imapd_seqset *set,
		       const char **error_r);
void imapd_seqset_clear(struct imapd_seqset *set);
/* Is value in set, '*' being max?  An empty view (max 0) has no '*'. */
bool imapd_seqset_contains(const struct imapd_seqset *set, uint32_t value,
			   uint32_t max);
/* Does every number of the set fall in 1..max (sequence numbers)? */
bool imapd_seqset_within(const struct imapd_seqset *set, uint32_t max);
/*
 * Append the numbers vals[0..n) (ascending) as a compact set "1:3,7" to
 * out.  Returns 0 or -1 (limit).
 */
int imapd_seqset_format(const uint32_t *vals, size_t n, struct strbuf *out);

/* --------------------------------------------------------------- msgview */

/*
 * What SEARCH and FETCH need of one message, without the store.  The
 * content is loaded through load() only when a key needs it.
 */
struct imapd_msgview {
	uint32_t seq, uid;
	unsigned flags;	   /* MAIL_* of mailbox.h */
	uint32_t keywords; /* bit i: keyword_names[i] */
	const char *const *keyword_names;
	size_t keyword_count;
	uint64_t modseq;
	uint64_t size;	 /* RFC822.SIZE: CRLF line ends */
	time_t internal; /* INTERNALDATE */
	/* Returns the message (any line ends) or NULL when unreadable. */
	const char *(*load)(void *ctx, size_t *len_r);
	/* Optional (NULL: load is used): the header only, through its
	 * blank line (all of a message without one), without reading the
	 * rest of the file; for ENVELOPE and the HEADER sections. */
	const char *(*load_header)(void *ctx, size_t *len_r);
	/* Optional: the ENVELOPE rendered before with these render flags
	 * (the folder's cache), or NULL; and where to keep one just
	 * rendered.  A FETCH whose only content item is ENVELOPE then
	 * reads no message file. */
	const char *(*envelope_get)(void *ctx, unsigned flags, size_t *len_r);
	void (*envelope_put)(void *ctx, unsigned flags, const char *env,
			     size_t len);
	void *ctx;
};

/* ---------------------------------------------------------------- search */

struct imapd_search;

/* Search result options (ESEARCH RETURN, RFC 4731). */
#define IMAPD_SEARCH_RETURN_MIN	  0x01u
#define IMAPD_SEARCH_RETURN_MAX	  0x02u
#define IMAPD_SEARCH_RETURN_COUNT 0x04u
#define IMAPD_SEARCH_RETURN_ALL	  0x08u

/* Limits on one search program (it is untrusted input). */
#define IMAPD_SEARCH_MAX_KEYS  1000
#define IMAPD_SEARCH_MAX_DEPTH 50

/*
 * imapd_search_parse - parse SEARCH arguments args[0..n): an optional
 * "RETURN (...)", an optional "CHARSET x", then the keys.  Returns the
 * program, or NULL with *error_r (static) and *badcharset_r set when the
 * failure is an unknown charset (answer NO [BADCHARSET]).
 * *esearch_r is set when RETURN was given (reply with ESEARCH).
 */
struct imapd_search *imapd_search_parse(const struct imap_arg *args, size_t n,
					const char **error_r,
					bool *badcharset_r);
void imapd_search_free(struct imapd_search **searchp);
/* RETURN options (0 when RETURN was absent; ALL when it was empty). */
unsigned imapd_search_return(const struct imapd_search *search);
bool imapd_search_has_return(const struct imapd_search *search);
/* Whether a MODSEQ key was used (the reply then carries (MODSEQ n)). */
bool imapd_search_uses_modseq(const struct imapd_search *search);
/* Whether LARGER or SMALLER was used (sizes must then be exact). */
bool imapd_search_uses_size(const struct imapd_search *search);
/*
 * imapd_search_match - does msg match; max_seq and max_uid are what '*'
 * means.  A message whose content cannot be loaded matches no content
 * key.
 */
bool imapd_search_match(const struct imapd_search *search,
			const struct imapd_msgview *msg, uint32_t max_seq,
			uint32_t max_uid);

/* Parse an IMAP date "1-Feb-1994" into a day number (days since
 * 1970-01-01); -1 when malformed. */
long imapd_search_parse_date(const char *s, size_t len);

/* ----------------------------------------------------------------- fetch */

/* FETCH attributes (bits of imapd_fetch.attrs). */
#define IMAPD_FETCH_FLAGS	  0x0001u
#define IMAPD_FETCH_INTERNALDATE  0x0002u
#define IMAPD_FETCH_RFC822_SIZE	  0x0004u
#define IMAPD_FETCH_ENVELOPE	  0x0008u
#define IMAPD_FETCH_BODY	  0x0010u /* BODY without section */
#define IMAPD_FETCH_BODYSTRUCTURE 0x0020u
#define IMAPD_FETCH_UID		  0x0040u
#define IMAPD_FETCH_MODSEQ	  0x0080u
#define IMAPD_FETCH_RFC822	  0x0100u
#define IMAPD_FETCH_RFC822_HEADER 0x0200u
#define IMAPD_FETCH_RFC822_TEXT	  0x0400u

/* What a section names. */
enum imapd_section_kind {
	IMAPD_SECTION_ALL,	     /* BODY[] or BODY[1.2] */
	IMAPD_SECTION_HEADER,	     /* HEADER */
	IMAPD_SECTION_HEADER_FIELDS, /* HEADER.FIELDS (..) */
	IMAPD_SECTION_HEADER_FIELDS_NOT,
	IMAPD_SECTION_TEXT,
	IMAPD_SECTION_MIME,
};

/* One BODY[...], BINARY[...] or BINARY.SIZE[...] item. */
struct imapd_fetch_section {
	char *spec; /* the section text as the reply echoes it */
	char *part; /* "1.2" or "" */
	enum imapd_section_kind kind;
	char **fields; /* HEADER.FIELDS names */
	size_t field_count;
	bool peek;
	bool binary;	  /* BINARY[] (decoded) */
	bool binary_size; /* BINARY.SIZE[] */
	bool partial;
	uint64_t offset, length;
};

struct imapd_fetch {
	unsigned attrs;
	struct imapd_fetch_section *sections;
	size_t section_count;
	bool changedsince_given;
	uint64_t changedsince; /* CHANGEDSINCE modifier (CONDSTORE) */
	bool sets_seen;	       /* a non-PEEK body item or RFC822/.TEXT */
	bool needs_content;    /* anything but flags/uid/date/modseq */
};

/*
 * imapd_fetch_parse - parse the items of FETCH (args[0..n): one atom, a
 * list, or a macro) and its optional modifier list.  Returns 0, or -1
 * with *error_r (static).
 */
int imapd_fetch_parse(const struct imap_arg *args, size_t n,
		      struct imapd_fetch *fetch, const char **error_r);
void imapd_fetch_clear(struct imapd_fetch *fetch);

/*
 * imapd_fetch_render - append the content of "* N FETCH (...)" (without
 * the "* N FETCH (" and ")") for msg to out.  flags: RFC822_IMAP_UTF8.
 * Returns 0, or -1 when the message could not be read (*error_r).
 */
int imapd_fetch_render(const struct imapd_fetch *fetch,
		       const struct imapd_msgview *msg, unsigned flags,
		       struct strbuf *out, const char **error_r);

/* Append the flag list "(\Seen $Label)" of msg. */
void imapd_fetch_flags(const struct imapd_msgview *msg, struct strbuf *out);
/* Append an INTERNALDATE "17-Jul-1996 02:44:25 -0700" (quoted). */
void imapd_fetch_date(time_t t, struct strbuf *out);
/* Count octets of data[0..len) with each bare LF counted as CRLF. */
uint64_t imapd_fetch_crlf_size(const char *data, size_t len);

/* ----------------------------------------------------------------- quote */

/* Append s as an astring the client can read back (quoted or literal). */
void imapd_quote_astring(const char *s, size_t len, struct strbuf *out);
/*
 * Append a mailbox name (store UTF-8) for the client: quoted UTF-8 when
 * utf8, else modified UTF-7.  Returns 0, or -1 when the name cannot be
 * encoded.
 */
int imapd_quote_mailbox(const char *name, bool utf8, struct strbuf *out);
/*
 * Decode a mailbox name the client sent into UTF-8 (store form): mUTF-7
 * unless utf8; "INBOX" in any case is INBOX.  Returns 0, or -1 with
 * *error_r.
 */
int imapd_mailbox_name_decode(const char *s, size_t len, bool utf8,
			      struct strbuf *out, const char **error_r);
/* Parse an APPEND date-time "17-Jul-1996 02:44:25 -0700"; -1 when bad. */
int imapd_parse_datetime(const char *s, size_t len, time_t *t_r);

/* -------------------------------------------------------------- session */

/* ENABLEd extensions. */
#define IMAPD_ENABLED_CONDSTORE 0x01u
#define IMAPD_ENABLED_UTF8	0x02u
#define IMAPD_ENABLED_REV2	0x04u

/* The CAPABILITY list after login (the OK of LOGIN carries it too). */
#define IMAPD_CAPABILITY                                                       \
	"IMAP4rev2 IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE "       \
	"UIDPLUS MOVE SPECIAL-USE CONDSTORE UTF8=ACCEPT LIST-EXTENDED "        \
	"LIST-STATUS ESEARCH UNSELECT CHILDREN BINARY"

enum imapd_state {
	IMAPD_STATE_RUNNING, /* reading commands */
	IMAPD_STATE_IDLING,  /* in IDLE, waiting for DONE */
	IMAPD_STATE_CLOSING, /* output is flushed, then the session ends */
};

struct imapd_session {
	struct event_base *base;
	const struct config *cfg;
	struct bufferevent *bev;
	char *user;
	char *maildir;
	char *client;
	/* Created when a command starts, freed between commands: it holds
	 * APPEND literals, so an idle session keeps no big buffer. */
	struct imap_parser *parser;
	struct imap_parser_limits limits;
	unsigned enabled; /* IMAPD_ENABLED_* */
	bool condstore;	  /* CONDSTORE enabled or used (RFC 7162 §3.1) */
	enum imapd_state state;
	bool logout;
	const char *end_reason; /* static; NULL: "Connection closed" */
	/* The running command may report changes before its tagged OK. */
	bool sync_ok;
	/* The selected mailbox, NULL in the authenticated state. */
	struct mailbox *mb;
	bool readonly;
	char *mbname;
	/* CRLF sizes of the view's messages, plus one (0: not known yet). */
	uint64_t *vsizes;
	size_t vsizes_alloc;
	/* IDLE */
	char *idle_tag;
	struct event *idle_ev;
	struct event *idle_poll;
	/* imapd_write_eager writes when more than this is queued (at
	 * least IMAPD_OUTPUT_EAGER of imapd_session.c). */
	size_t eager_at;
	/* Counters for the logout line. */
	unsigned long long in_bytes, out_bytes;
	/* Every session of this worker, for "* BYE" at shutdown. */
	struct imapd_session *prev, *next;
};

/* A command handler: args are those after the command name (and after
 * "UID" and the subcommand name for UID commands). */
typedef void imapd_cmd_fn(struct imapd_session *s, const char *tag,
			  const struct imap_arg *args, size_t n, bool uid);

/* imapd_session.c */
void imapd_printf(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imapd_write(struct imapd_session *s, const void *data, size_t len);
/* In a long reply: send what is queued now when it is large. */
void imapd_write_eager(struct imapd_session *s);
/* The tagged completion "TAG text": first the untagged changes, when the
 * command allows them (imapd_sync). */
void imapd_tagged(struct imapd_session *s, const char *tag, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
/* Take the folder's changes into the view and send EXISTS, RECENT,
 * EXPUNGE and FETCH FLAGS for them (never during FETCH/STORE/SEARCH). */
void imapd_sync(struct imapd_session *s);
/* Send untagged FETCH FLAGS for view index i (STORE and sync). */
void imapd_send_flags(struct imapd_session *s, size_t i, bool with_uid);
/* Fill a msgview of view index i; ld must outlive the view's use. */
/* First read of a header-only load; doubled until the blank line. */
#define IMAPD_HEADER_CHUNK 8192
struct imapd_msgload {
	struct imapd_session *s;
	size_t index;
	char *buf;
	size_t len;
	bool tried;
	bool header_only; /* buf holds the header only (load_header) */
	bool expunged;	  /* the file is gone: expunged elsewhere */
};
void imapd_msgview_init(struct imapd_session *s, size_t i,
			struct imapd_msgload *ld, struct imapd_msgview *mv,
			bool need_size);
void imapd_msgload_free(struct imapd_msgload *ld);
/* The CRLF size of message i of any open folder (",W=" or a read). */
uint64_t imapd_msg_vsize(struct mailbox *mb, size_t i);
/* Forget the mailbox (UNSELECT, CLOSE, SELECT of another). */
void imapd_unselect(struct imapd_session *s);
/* Begin IDLE for tag. */
void imapd_idle_start(struct imapd_session *s, const char *tag);
bool imapd_utf8(const struct imapd_session *s);
/* Decode a mailbox argument into a malloc'd UTF-8 store name, or answer
 * "TAG BAD/NO" and return NULL. */
char *imapd_arg_mailbox(struct imapd_session *s, const char *tag,
			const struct imap_arg *arg);
/* The view index range a set names; sequence numbers or UIDs. */
bool imapd_set_contains(struct imapd_session *s, const struct imapd_seqset *set,
			size_t i, bool uid);

/*
 * imapd_parse_flags - flags of APPEND and STORE: a list or one flag.
 * Fills *flags_r (MAIL_*) and up to max keyword pointers (into the
 * args).  Returns the keyword count, or -1 with *error_r.
 */
int imapd_parse_flags(const struct imap_arg *arg, unsigned *flags_r,
		      const char **kw, size_t max, const char **error_r);

/* imapd_cmd.c */
imapd_cmd_fn imapd_cmd_capability, imapd_cmd_noop, imapd_cmd_logout,
	imapd_cmd_enable, imapd_cmd_id, imapd_cmd_namespace, imapd_cmd_idle,
	imapd_cmd_check;
/* imapd_mailbox.c */
imapd_cmd_fn imapd_cmd_select, imapd_cmd_examine, imapd_cmd_create,
	imapd_cmd_delete, imapd_cmd_rename, imapd_cmd_subscribe,
	imapd_cmd_unsubscribe, imapd_cmd_list, imapd_cmd_lsub, imapd_cmd_status,
	imapd_cmd_append;
/* imapd_store.c */
imapd_cmd_fn imapd_cmd_store, imapd_cmd_copy, imapd_cmd_move, imapd_cmd_expunge,
	imapd_cmd_close, imapd_cmd_unselect;
/* imapd_message.c */
imapd_cmd_fn imapd_cmd_fetch, imapd_cmd_search;

/* imapd_session_start - a worker received an authenticated session
 * (a mail_worker_start_fn of lib/login/login.h) */
void imapd_session_start(struct event_base *base, const struct config *cfg,
			 int fd, const struct login_session *session,
			 const struct mail_user *user);

#endif
