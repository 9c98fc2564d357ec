/*
 * smtp_reply - incremental parser of SMTP server replies (the client side)
 *
 * Feed the bytes a server sends, in any pieces; get complete replies: the
 * three-digit code, the RFC 2034 enhanced status code when the first line
 * carries one, and the text of each line.  Helpers decode the EHLO
 * extension list and format a reply for a DSN "Diagnostic-Code:" field.
 *
 * Pure: no I/O, no logging.  The text is raw network bytes (never NUL or
 * LF, but maybe CR and 8-bit bytes): sanitize it before it is logged.
 */
#ifndef FACTEUR_SMTP_REPLY_H
#define FACTEUR_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Limits (STYLE.md §7).  RFC 5321 §4.5.3.1.5 allows 512 octets per reply
 * line; real servers send longer ones, so a generous slack, as Postfix's
 * line_length_limit. */
#define SMTP_REPLY_LINE_MAX  2048  /* octets per line, CRLF excluded */
#define SMTP_REPLY_LINES_MAX 1000  /* lines per reply */
#define SMTP_REPLY_SIZE_MAX  65536 /* text octets per reply */
/* "5.123.456" and its NUL (RFC 3463 §2: 3 digits at most per part). */
#define SMTP_REPLY_STATUS_MAX 10

/*
 * One complete reply.  Owned by the parser; valid until the next call of
 * smtp_reply_parse(), _reset() or _free() on that parser.
 */
struct smtp_reply {
	unsigned code; /* 200..599 */
	/* "x.y.z" from the first line (RFC 2034), class equal to the code's
	 * first digit; "" when absent or inconsistent. */
	char status[SMTP_REPLY_STATUS_MAX];
	/* The first line had an x.y.z whose class disagreed with the code:
	 * it was not taken as the status and is left in the text. */
	bool status_mismatch;
	size_t nlines;
};

struct smtp_reply_parser;

struct smtp_reply_parser *smtp_reply_parser_create(void);
void smtp_reply_parser_free(struct smtp_reply_parser **parserp);
/* Forget any partial reply (after an error, or a new connection). */
void smtp_reply_parser_reset(struct smtp_reply_parser *parser);

/*
 * smtp_reply_parse - feed len bytes.  Returns 1 when a reply is complete
 * (*reply_r set; bytes after it were not used: feed data + *consumed_r
 * again), 0 when every byte was used and more are needed, -1 on a
 * protocol error (*error_r, a static string; reset before reuse).
 * *consumed_r is always set.
 */
int smtp_reply_parse(struct smtp_reply_parser *parser, const void *data,
		     size_t len, size_t *consumed_r,
		     const struct smtp_reply **reply_r, const char **error_r);

/* smtp_reply_line - the text of line i after "NNN-"/"NNN " (the enhanced
 * code left in), not NUL-terminated; a loan like the reply. */
const char *smtp_reply_line(const struct smtp_reply_parser *parser, size_t i,
			    size_t *len_r);

/*
 * smtp_reply_format - "550 5.1.1 text of line 1 text of line 2": the
 * code, the status when known, then each line's text without its leading
 * status, joined by spaces, control and 8-bit bytes replaced by '?',
 * cut at max octets.  Appends to out (the DSN Diagnostic-Code text after
 * "smtp; ").
 */
void smtp_reply_format(const struct smtp_reply_parser *parser,
		       struct strbuf *out, size_t max);

/* EHLO extensions (RFC 5321 §4.1.1.1 ehlo-line keywords). */
#define SMTP_EXT_PIPELINING	     (1u << 0) /* RFC 2920 */
#define SMTP_EXT_SIZE		     (1u << 1) /* RFC 1870 */
#define SMTP_EXT_8BITMIME	     (1u << 2) /* RFC 6152 */
#define SMTP_EXT_SMTPUTF8	     (1u << 3) /* RFC 6531 */
#define SMTP_EXT_STARTTLS	     (1u << 4) /* RFC 3207 */
#define SMTP_EXT_AUTH		     (1u << 5) /* RFC 4954 */
#define SMTP_EXT_DSN		     (1u << 6) /* RFC 3461 */
#define SMTP_EXT_CHUNKING	     (1u << 7) /* RFC 3030 */
#define SMTP_EXT_ENHANCEDSTATUSCODES (1u << 8) /* RFC 2034 */
#define SMTP_EXT_BINARYMIME	     (1u << 9) /* RFC 3030 */

#define SMTP_EHLO_AUTH_MAX 256 /* octets of the mechanism list kept */

struct smtp_ehlo {
	unsigned ext;	   /* SMTP_EXT_* */
	uint64_t size_max; /* SIZE n; 0: none announced or no limit */
	/* AUTH mechanisms (also from "AUTH=..."), upper case, separated by
	 * single spaces; mechanisms that do not fit are dropped. */
	char auth[SMTP_EHLO_AUTH_MAX];
};

/* smtp_reply_ehlo - decode the keywords of a 250 EHLO reply (lines after
 * the first).  Unknown keywords are ignored.  Returns -1 when the reply
 * is not a 2xx. */
int smtp_reply_ehlo(const struct smtp_reply_parser *parser,
		    struct smtp_ehlo *ehlo);
/* smtp_ehlo_has_auth - is mech (any case) in ehlo->auth */
bool smtp_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech);

#endif
