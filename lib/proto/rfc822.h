/*
 * rfc822.h - RFC 5322 header fields, addresses and dates (no I/O)
 */
#ifndef FACTEUR_RFC822_H
#define FACTEUR_RFC822_H

#include <stddef.h>
#include <time.h>

#include "strbuf.h"

/* Most addresses one list yields; the rest are dropped (a bound on the
 * memory a hostile To: of a few megabytes can make us allocate). */
#define RFC822_ADDR_MAX 10000

/* Host given to an address without a domain, and mailbox given to one
 * without a local part, so that IMAP never mistakes it for a group
 * marker (RFC 3501 §7.4.2: NIL host means group syntax).  The spelling
 * is Dovecot's, which clients have seen before. */
#define RFC822_MISSING_DOMAIN  "MISSING_DOMAIN"
#define RFC822_MISSING_MAILBOX "MISSING_MAILBOX"

/*
 * One header field, as rfc822_hdr_next() finds it.  All pointers point
 * into the caller's buffer and live as long as it does.  value is raw:
 * still folded, leading white space after the colon skipped, the final
 * line ending excluded.  offset/size cover the whole field including
 * its last line ending, for BODY[HEADER.FIELDS].  A line without a
 * colon is returned with broken set, the line as name and an empty
 * value, so a caller can count and skip it.
 */
struct rfc822_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	size_t offset;
	size_t size;
	int broken;
};

/* A pull parser over a header block that is wholly in memory. */
struct rfc822_hdr_parser {
	const char *buf;
	size_t len;
	size_t pos;
	int done;
	/* Set once rfc822_hdr_next() returned 0: where the body starts
	 * (after the empty line, or len when there is none). */
	size_t body_offset;
};

void rfc822_hdr_init(struct rfc822_hdr_parser *p, const char *buf, size_t len);
/* 1 and *h_r filled: a field; 0: the empty line or the end was reached.
 * Never fails: anything is some header block. */
int rfc822_hdr_next(struct rfc822_hdr_parser *p, struct rfc822_header *h_r);

/* Case-insensitive comparison of a field name with a C string. */
int rfc822_hdr_name_is(const struct rfc822_header *h, const char *name);

/*
 * Unfold a raw value (RFC 5322 §2.2.3: drop each CRLF or LF that is
 * followed by white space; also drop a stray final line ending) and
 * strip trailing white space.  Returns 0, or -1 when out's limit was hit
 * (out then holds a truncated value).
 */
int rfc822_unfold(const char *value, size_t len, struct strbuf *out);

/*
 * One element of an address list in IMAP's shape (RFC 3501 §7.4.2):
 * a mailbox has a non-NULL host; a group start has the group name as
 * mailbox and a NULL host; a group end has NULL mailbox and host.
 * name is the display name, unquoted but not RFC 2047-decoded (IMAP
 * ENVELOPE sends it as is), NULL when absent; route is the obsolete
 * source route ("@a,@b") or NULL.  invalid is set when the address had
 * to be repaired (a missing local part or domain, missing '>').
 */
struct rfc822_addr {
	struct rfc822_addr *next;
	char *name;
	char *route;
	char *mailbox;
	char *host;
	int invalid;
};

/* Parse an address-list (RFC 5322 §3.4, with the §4.4 obsolete forms)
 * from an unfolded or raw value.  Best effort: garbage between
 * addresses is skipped up to the next comma.  Returns the list (NULL
 * when empty); *count_r (may be NULL) gets its length. */
struct rfc822_addr *rfc822_addr_parse(const char *value, size_t len,
				      size_t *count_r);
void rfc822_addr_free(struct rfc822_addr **listp);

/*
 * Parse an RFC 5322 §3.3 date-time, with the §4.3 obsolete forms: two-
 * and three-digit years, the named US zones, military zones (read as
 * -0000 as §4.3 says), comments anywhere, a missing day of week or
 * seconds.  *time_r gets the UTC time, *tz_r the zone offset in minutes
 * east of UTC.  Returns 0, or -1 for anything that is not a date.
 */
int rfc822_parse_date(const char *s, size_t len, time_t *time_r, int *tz_r);

/* Flags for the IMAP renderers. */
#define RFC822_IMAP_UTF8 (1u << 0) /* UTF8=ACCEPT: 8-bit in quoted strings */

/*
 * Append an IMAP string (RFC 3501 §4.3): a quoted string when it can
 * be one, a literal "{n}\r\n..." when the value holds CR, LF or (without
 * RFC822_IMAP_UTF8) 8-bit bytes.  NUL bytes, which neither form may
 * carry, are dropped.  rfc822_imap_nstring() writes NIL for s == NULL.
 * Both return 0, or -1 when out's limit was hit.
 */
int rfc822_imap_string(const char *s, size_t len, unsigned flags,
		       struct strbuf *out);
int rfc822_imap_nstring(const char *s, size_t len, unsigned flags,
			struct strbuf *out);

/*
 * Append the ENVELOPE (RFC 3501 §7.4.2) of the message whose header
 * block is hdr[0..len) (it may go on into the body: parsing stops at the
 * empty line).  Date, Subject, In-Reply-To and Message-ID are sent
 * unfolded as they are; the first of each field counts; Sender and
 * Reply-To fall back to From when absent or empty.  Returns 0, or -1
 * when out's limit was hit.
 */
int rfc822_render_envelope(const char *hdr, size_t len, unsigned flags,
			   struct strbuf *out);

/* Append an address list in ENVELOPE form: NIL or "((...)(...))". */
int rfc822_render_addr_list(const struct rfc822_addr *list, unsigned flags,
			    struct strbuf *out);

#endif
