/*
 * smtp_addr - RFC 5321 reverse-path and forward-path parser
 *
 * Parses the path of MAIL FROM and RCPT TO: "<>", "<local@domain>",
 * source routes "<@a,@b:local@domain>" (accepted and dropped, RFC 5321
 * §4.1.1.3 and appendix C), quoted local parts, address literals
 * "[192.0.2.1]" and "[IPv6:2001:db8::1]", "<postmaster>" for RCPT, and
 * UTF-8 local parts and domains when SMTPUTF8 is in effect (RFC 6531 §3.3).
 *
 * Pure: no I/O, no logging, no allocation.  Total over arbitrary bytes:
 * never reads past len, work is linear in len.  The input is untrusted
 * network data.
 */
#ifndef FACTEUR_SMTP_ADDR_H
#define FACTEUR_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Limits of RFC 5321 §4.5.3.1.  They are enforced, not advisory: a longer
 * address is an error, so the result always fits the fixed buffers below.
 */
#define SMTP_ADDR_LOCAL_MAX  64	 /* §4.5.3.1.1 local-part, as given */
#define SMTP_ADDR_DOMAIN_MAX 255 /* §4.5.3.1.2 domain, literal included */
#define SMTP_ADDR_LABEL_MAX  63	 /* RFC 1035 §2.3.4 label */
#define SMTP_ADDR_PATH_MAX   256 /* §4.5.3.1.3 path, with "<" ">" and route */

/* Flags for smtp_addr_parse() and smtp_addr_parse_prefix(). */
#define SMTP_ADDR_FLAG_NULL_OK	     (1u << 0) /* "<>" allowed (MAIL FROM) */
#define SMTP_ADDR_FLAG_POSTMASTER_OK (1u << 1) /* "<postmaster>" (RCPT TO) */
#define SMTP_ADDR_FLAG_UTF8	     (1u << 2) /* SMTPUTF8: UTF-8 allowed */
#define SMTP_ADDR_FLAG_BARE_OK	     (1u << 3) /* "a@b" without brackets */

/*
 * Error kinds.  Each has a short text (smtp_addr_error_text()); the caller
 * turns it into a reply, e.g. "501 5.1.7 Bad sender address syntax" for MAIL
 * or "501 5.1.3 Bad recipient address syntax" for RCPT, and SMTP_ADDR_ERR_8BIT
 * into "553 5.6.7" (RFC 6531 §3.6).
 */
enum smtp_addr_error {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ERR_EMPTY,	  /* nothing where a path was expected */
	SMTP_ADDR_ERR_BRACKETS,	  /* "<" or ">" missing */
	SMTP_ADDR_ERR_NULL,	  /* "<>" where it is not allowed */
	SMTP_ADDR_ERR_ROUTE,	  /* malformed source route */
	SMTP_ADDR_ERR_LOCAL,	  /* local-part syntax */
	SMTP_ADDR_ERR_LOCAL_LEN,  /* local-part over SMTP_ADDR_LOCAL_MAX */
	SMTP_ADDR_ERR_NO_DOMAIN,  /* no "@domain" */
	SMTP_ADDR_ERR_DOMAIN,	  /* domain syntax */
	SMTP_ADDR_ERR_DOMAIN_LEN, /* label over 63 or domain over 255 */
	SMTP_ADDR_ERR_LITERAL,	  /* bad address literal */
	SMTP_ADDR_ERR_PATH_LEN,	  /* path over SMTP_ADDR_PATH_MAX */
	SMTP_ADDR_ERR_8BIT,	  /* non-ASCII without SMTP_ADDR_FLAG_UTF8 */
	SMTP_ADDR_ERR_UTF8,	  /* malformed UTF-8 */
	SMTP_ADDR_ERR_TRAILING,	  /* junk after the path */
};

/*
 * A parsed path.  Every string is NUL-terminated and holds no NUL byte (the
 * grammar admits none).  The domain is kept as given (no case folding, no
 * IDNA conversion): comparing domains is the caller's business.
 */
struct smtp_addr {
	/*
	 * The address: "local@domain", "" for the null path, "postmaster"
	 * (as spelled) for a bare postmaster.  A quoted local part whose
	 * content is a plain dot-string loses its quotes here ("\"joe\"@x"
	 * becomes "joe@x"); any other quoted local part is kept as given.
	 */
	char addr[SMTP_ADDR_PATH_MAX + 1];
	/* The local part exactly as given, quotes and backslashes included. */
	char local[SMTP_ADDR_LOCAL_MAX + 1];
	/* The local part with quotes and quoted-pair backslashes removed. */
	char local_unquoted[SMTP_ADDR_LOCAL_MAX + 1];
	/* As given; an address literal keeps its brackets. "" if none. */
	char domain[SMTP_ADDR_DOMAIN_MAX + 1];
	bool null;	 /* "<>" */
	bool postmaster; /* "<postmaster>" without a domain */
	bool bracketed;	 /* was enclosed in "<" ">" */
	bool routed;	 /* a source route was given and dropped */
	bool quoted;	 /* the local part was a quoted string */
	bool literal;	 /* the domain is an address literal */
	bool utf8;	 /* local part or domain holds non-ASCII */
};

/*
 * smtp_addr_parse_prefix - parse the path at the start of buf
 *
 * Parses one path from buf[0..len) and stores the number of bytes it took
 * in *used_r: through the closing ">", or, for a bare address (only with
 * SMTP_ADDR_FLAG_BARE_OK), up to the first byte that cannot continue the
 * domain; the caller checks what follows (e.g. SP and ESMTP parameters).
 * Returns SMTP_ADDR_OK and fills *addr, or an error kind; on error *addr
 * is unspecified and *used_r is 0.
 */
enum smtp_addr_error smtp_addr_parse_prefix(const char *buf, size_t len,
					    unsigned flags,
					    struct smtp_addr *addr,
					    size_t *used_r);

/*
 * smtp_addr_parse - parse buf[0..len) as exactly one path
 *
 * As smtp_addr_parse_prefix(), but anything after the path is
 * SMTP_ADDR_ERR_TRAILING.
 */
enum smtp_addr_error smtp_addr_parse(const char *buf, size_t len,
				     unsigned flags, struct smtp_addr *addr);

/*
 * smtp_addr_check_domain - is buf[0..len) a domain or address literal
 *
 * Applies the same rules as the domain of a path (RFC 5321 §4.1.2 Domain
 * and address-literal, §4.5.3.1.2 lengths); only SMTP_ADDR_FLAG_UTF8 is
 * looked at.  For HELO/EHLO validity checks.
 */
enum smtp_addr_error smtp_addr_check_domain(const char *buf, size_t len,
					    unsigned flags);

/*
 * smtp_addr_utf8_seq - length of the UTF-8 character at buf
 *
 * Returns 1 for an ASCII byte, 2..4 for a well-formed multi-byte sequence
 * (RFC 3629 §4: no overlong forms, no surrogates, nothing past U+10FFFF),
 * and 0 when the bytes at buf (at most len of them) are not UTF-8 or len
 * is 0.
 */
size_t smtp_addr_utf8_seq(const char *buf, size_t len);

/* smtp_addr_error_text - short English text for an error kind (static) */
const char *smtp_addr_error_text(enum smtp_addr_error err);

#endif
