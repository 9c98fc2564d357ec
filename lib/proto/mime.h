/*
 * mime.h - MIME structure of a message in memory (no I/O)
 */
#ifndef FACTEUR_MIME_H
#define FACTEUR_MIME_H

#include <stddef.h>

#include "strbuf.h"

/* Limits (STYLE.md §7).  Past the depth a multipart or message/rfc822
 * part becomes an opaque leaf; past the part count further boundaries
 * still end parts but start none.  */
#define MIME_MAX_DEPTH	  100
#define MIME_MAX_PARTS	  10000
#define MIME_MAX_PARAMS	  64	/* per Content-Type / -Disposition */
#define MIME_MAX_FIELD	  65536 /* longer Content-* fields are ignored */
#define MIME_MAX_BOUNDARY 200	/* RFC 2046 §5.1.1 says 70 */

/* A Content-Type or Content-Disposition parameter.  RFC 2231
 * continuations are joined; when the parameter was extended ("name*"
 * or "name*0*"), extended is set and value is still in the RFC 2231
 * form "charset'lang'%XX..." (that is what BODYSTRUCTURE sends, under
 * the name "name*", as Dovecot does); mime_param_decode() turns it into
 * UTF-8. */
struct mime_param {
	char *name;
	char *value;
	int extended;
};

#define MIME_PART_MULTIPART  (1u << 0) /* has (or would have) children */
#define MIME_PART_MESSAGE    (1u << 1) /* message/rfc822, parsed inside */
#define MIME_PART_TEXT	     (1u << 2) /* text/... */
#define MIME_PART_DEFAULT_CT (1u << 3) /* no usable Content-Type */
#define MIME_PART_OPAQUE     (1u << 4) /* a container left unparsed */
#define MIME_PART_NO_HDR_END (1u << 5) /* header block had no empty line */

/*
 * One node.  Offsets are into the parsed buffer.  hdr covers the header
 * block including its empty line; body ends before the line break
 * that precedes the next boundary (RFC 2046 §5.1.1).  Sizes are
 * physical; the v (virtual) sizes count each bare LF as CRLF, which is
 * what IMAP reports and sends.  body_lines counts the lines of the body:
 * its LFs, plus one for a last line without line break (Dovecot counts
 * only LFs; a part ending before a boundary has lost its last LF to the
 * boundary, and "hello" then is one line, not zero).
 *
 * type/subtype are as written in the message, or NULL for the default
 * (text/plain, or message/rfc822 in a multipart/digest: RFC 2046
 * §5.1.5).  The other strings are the unfolded field values, or NULL.
 * A message/rfc822 part has one child: the encapsulated message, whose
 * header is that message's header.
 */
struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;
	struct mime_part *next;
	unsigned nchildren;
	unsigned depth;
	unsigned flags;
	size_t hdr_offset, hdr_size, hdr_vsize, hdr_lines;
	size_t body_offset, body_size, body_vsize, body_lines;
	char *type, *subtype;
	struct mime_param *params;
	unsigned nparams;
	char *encoding;
	char *id;
	char *description;
	char *disposition;
	struct mime_param *disp_params;
	unsigned ndisp_params;
	char *language;
	char *location;
	char *md5;
	/* parser state */
	struct mime_part *last_child;
	size_t lf0, bare0;
};

#define MIME_TREE_TOO_DEEP (1u << 0)
#define MIME_TREE_TOO_MANY (1u << 1)

struct mime_tree {
	const char *buf;
	size_t len;
	struct mime_part *root;
	unsigned nparts;
	unsigned flags; /* MIME_TREE_*: which limits were hit */
};

/*
 * Parse the message buf[0..len) (CRLF or bare LF line endings).  Never
 * fails: any byte string is a message with some structure.  The tree
 * points into buf, which must outlive it.
 */
struct mime_tree *mime_parse(const char *buf, size_t len);
void mime_tree_free(struct mime_tree **treep);

/* Find a parameter by case-insensitive name (NULL when absent). */
const struct mime_param *mime_param_find(const struct mime_param *params,
					 unsigned n, const char *name);
/* Append a parameter's value as UTF-8 (RFC 2231 §4 decoded when
 * extended; the charset must be known to rfc2047_convert, else the
 * %-decoded bytes are appended as they are).  Returns 0 or -1 (limit). */
int mime_param_decode(const struct mime_param *p, struct strbuf *out);

/*
 * The part an IMAP section number ("1.2.3", RFC 3501 §6.4.5) names:
 * numbers count the children of a multipart; "1" of a non-multipart
 * message is that message; a number after a message/rfc822 part counts
 * inside the encapsulated message.  The content of BODY[section] is
 * the returned part's body; section.MIME is its header; for
 * section.HEADER/.TEXT of a message/rfc822 part use its child.
 * Returns NULL when there is no such part.  An empty section is the
 * root.
 */
struct mime_part *mime_find_section(const struct mime_tree *tree,
				    const char *section, size_t len);

/*
 * Append BODYSTRUCTURE (extended != 0) or BODY (RFC 3501 §7.4.2).
 * Type, subtype and parameter names and values are sent as written in
 * the message (the RFC makes them case-insensitive); defaults are sent
 * in lower case: "text" "plain" ("charset" "us-ascii") and "7bit"; a
 * text part without a charset gets ("charset" "us-ascii") (RFC 2045
 * §5.2).  A multipart without any child part shows one empty text/plain
 * part, since the grammar needs one.  Sizes are the virtual (CRLF)
 * sizes.  flags: RFC822_IMAP_*.  Returns 0, or -1 when out's limit was
 * hit.
 */
int mime_render_bodystructure(const struct mime_tree *tree, int extended,
			      unsigned flags, struct strbuf *out);
/* The same for one part and what is under it. */
int mime_render_part(const struct mime_tree *tree, const struct mime_part *part,
		     int extended, unsigned flags, struct strbuf *out);

enum mime_encoding {
	MIME_ENC_IDENTITY, /* 7bit, 8bit, binary, missing */
	MIME_ENC_BASE64,
	MIME_ENC_QP,
	MIME_ENC_UNKNOWN
};

/* Classify a Content-Transfer-Encoding value (NULL = missing). */
enum mime_encoding mime_encoding_of(const char *cte);

/*
 * Append the decoded content of in[0..len) (RFC 2045 §6.7, §6.8).
 * Lenient: base64 skips characters outside its alphabet and stops at
 * padding; quoted-printable keeps a '=' that starts no valid escape and
 * drops white space before line ends.  MIME_ENC_IDENTITY copies.
 * Returns 0, 1 when the input was damaged (decoded anyway), -1 for
 * MIME_ENC_UNKNOWN (nothing appended) or when out's limit was hit.
 */
int mime_decode(enum mime_encoding enc, const char *in, size_t len,
		struct strbuf *out);

#endif
