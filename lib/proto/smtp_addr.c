/*
 * smtp_addr - RFC 5321 reverse-path and forward-path parser
 *
 * SYNOPSIS
 *	#include "smtp_addr.h"
 *
 *	enum smtp_addr_error smtp_addr_parse(buf, len, flags, addr)
 *	enum smtp_addr_error smtp_addr_parse_prefix(buf, len, flags, addr,
 *						    used_r)
 *	enum smtp_addr_error smtp_addr_check_domain(buf, len, flags)
 *	size_t smtp_addr_utf8_seq(buf, len)
 *	const char *smtp_addr_error_text(err)
 *
 * DESCRIPTION
 *	A single left-to-right pass over the grammar of RFC 5321 §4.1.2:
 *
 *	Path = "<" [ A-d-l ":" ] Mailbox ">"	Mailbox = Local-part "@" domain
 *	Local-part = Dot-string / Quoted-string
 *	domain = Domain / address-literal
 *
 *	extended by RFC 6531 §3.3 (UTF8-non-ascii in atext, qtext and
 *	sub-domain) when SMTP_ADDR_FLAG_UTF8 is given.  A source route
 *	(A-d-l) is checked and then dropped, as §4.1.1.3 and appendix C ask.
 *	"<postmaster>" without a domain is recognised for RCPT (§4.1.1.3).
 *	Postfix's strict_rfc821_envelopes=no leniency (no angle brackets) is
 *	available with SMTP_ADDR_FLAG_BARE_OK.
 *
 *	Every byte is looked at a bounded number of times, and each output
 *	buffer is filled only after the length of what goes in it has been
 *	checked against the RFC 5321 §4.5.3.1 limit that sizes it.
 *
 * DIAGNOSTICS
 *	Errors are returned as enum smtp_addr_error; nothing is logged and
 *	nothing is fatal.
 *
 * SECURITY
 *	This parses untrusted network input.  It never reads past len,
 *	never writes past the fixed buffers of struct smtp_addr, and accepts
 *	no NUL or control byte in any result, so the results are safe as C
 *	strings (but must still be sanitized before they are logged when
 *	they hold UTF-8).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "smtp_addr.h"

/* A cursor over the input, and the flags that shape the grammar. */
struct scan {
	const unsigned char *p;
	size_t len;
	size_t pos;
	unsigned flags;
};

/* smtp_addr_utf8_seq - length of the well-formed UTF-8 character at buf */
size_t smtp_addr_utf8_seq(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	/* RFC 3629 §4, UTF8-2 .. UTF8-4: the second byte's range depends on
	 * the first, which is what rules out overlongs and surrogates. */
	if (p[0] < 0xc2)
		return 0;
	else if (p[0] < 0xe0)
		n = 2;
	else if (p[0] < 0xf0)
		n = 3;
	else if (p[0] < 0xf5)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (len < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* utf8_at - take one non-ASCII character at the cursor, or say why not */
static enum smtp_addr_error utf8_at(struct scan *s, size_t *n_r)
{
	size_t n;

	if ((s->flags & SMTP_ADDR_FLAG_UTF8) == 0)
		return SMTP_ADDR_ERR_8BIT;
	n = smtp_addr_utf8_seq((const char *)s->p + s->pos, s->len - s->pos);
	if (n == 0)
		return SMTP_ADDR_ERR_UTF8;
	*n_r = n;
	return SMTP_ADDR_OK;
}

/* is_alnum - ASCII letter or digit, whatever the locale says */
static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* is_atext - RFC 5322 §3.2.3 atext, ASCII part */
static int is_atext(unsigned char c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* is_qtext - RFC 5321 §4.1.2 qtextSMTP, ASCII part */
static int is_qtext(unsigned char c)
{
	return c == 32 || c == 33 || (c >= 35 && c <= 91) ||
	       (c >= 93 && c <= 126);
}

/* lower - ASCII lower case */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* prefix_nocase - does buf[0..len) start with ASCII word, any case */
static int prefix_nocase(const unsigned char *buf, size_t len, const char *word)
{
	size_t i, n = strlen(word);

	if (len < n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(buf[i]) != lower((unsigned char)word[i]))
			return 0;
	return 1;
}

/* dot_string_ok - is buf[0..len) a Dot-string (§4.1.2) */
static int dot_string_ok(const unsigned char *buf, size_t len, unsigned flags)
{
	size_t i = 0, n;
	int at_start = 1;

	if (len == 0)
		return 0;
	while (i < len) {
		if (buf[i] == '.') {
			/* No leading, trailing or doubled dot: an Atom is
			 * 1*atext. */
			if (at_start || i + 1 == len)
				return 0;
			at_start = 1;
			i++;
		} else if (buf[i] >= 0x80) {
			if ((flags & SMTP_ADDR_FLAG_UTF8) == 0)
				return 0;
			n = smtp_addr_utf8_seq((const char *)buf + i, len - i);
			if (n == 0)
				return 0;
			at_start = 0;
			i += n;
		} else if (is_atext(buf[i])) {
			at_start = 0;
			i++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* scan_local - Local-part at the cursor into addr->local{,_unquoted} */
static enum smtp_addr_error scan_local(struct scan *s, struct smtp_addr *addr)
{
	size_t start = s->pos, ulen = 0, n;
	enum smtp_addr_error err;
	unsigned char c;
	int at_start = 1;

	if (s->pos < s->len && s->p[s->pos] == '"') {
		/* Quoted-string: qtextSMTP and quoted-pairSMTP (%d92
		 * %d32-126); the length check comes first in the loop so
		 * local_unquoted (never longer than local) cannot overflow. */
		addr->quoted = 1;
		s->pos++;
		for (;;) {
			if (s->pos - start > SMTP_ADDR_LOCAL_MAX)
				return SMTP_ADDR_ERR_LOCAL_LEN;
			if (s->pos >= s->len)
				return SMTP_ADDR_ERR_LOCAL;
			c = s->p[s->pos];
			if (c == '"') {
				s->pos++;
				break;
			} else if (c == '\\') {
				if (s->pos + 1 >= s->len ||
				    s->p[s->pos + 1] < 32 ||
				    s->p[s->pos + 1] > 126)
					return SMTP_ADDR_ERR_LOCAL;
				addr->local_unquoted[ulen++] =
					(char)s->p[s->pos + 1];
				s->pos += 2;
			} else if (c >= 0x80) {
				if ((err = utf8_at(s, &n)) != SMTP_ADDR_OK)
					return err;
				if (ulen + n > SMTP_ADDR_LOCAL_MAX)
					return SMTP_ADDR_ERR_LOCAL_LEN;
				memcpy(addr->local_unquoted + ulen,
				       s->p + s->pos, n);
				ulen += n;
				s->pos += n;
				addr->utf8 = 1;
			} else if (is_qtext(c)) {
				addr->local_unquoted[ulen++] = (char)c;
				s->pos++;
			} else {
				return SMTP_ADDR_ERR_LOCAL;
			}
		}
		if (s->pos - start > SMTP_ADDR_LOCAL_MAX)
			return SMTP_ADDR_ERR_LOCAL_LEN;
	} else {
		/* Dot-string = Atom *("." Atom): stops at the first byte
		 * that cannot continue it; the caller judges that byte. */
		while (s->pos < s->len) {
			c = s->p[s->pos];
			if (c == '.') {
				if (at_start)
					return SMTP_ADDR_ERR_LOCAL;
				at_start = 1;
				s->pos++;
			} else if (c >= 0x80) {
				if ((err = utf8_at(s, &n)) != SMTP_ADDR_OK)
					return err;
				s->pos += n;
				at_start = 0;
				addr->utf8 = 1;
			} else if (is_atext(c)) {
				s->pos++;
				at_start = 0;
			} else {
				break;
			}
			if (s->pos - start > SMTP_ADDR_LOCAL_MAX)
				return SMTP_ADDR_ERR_LOCAL_LEN;
		}
		if (s->pos == start || at_start)
			return SMTP_ADDR_ERR_LOCAL;
		ulen = s->pos - start;
		memcpy(addr->local_unquoted, s->p + start, ulen);
	}
	memcpy(addr->local, s->p + start, s->pos - start);
	addr->local[s->pos - start] = 0;
	addr->local_unquoted[ulen] = 0;
	return SMTP_ADDR_OK;
}

/* check_literal - is buf[0..len) (brackets included) an address-literal */
static enum smtp_addr_error check_literal(const unsigned char *buf, size_t len)
{
	unsigned char in6[sizeof(struct in6_addr)];
	char text[64];
	const unsigned char *body = buf + 1;
	size_t blen = len - 2;
	int family = AF_INET;

	/* §4.1.3: IPv4-address-literal, or "IPv6:" IPv6-addr (the tag is an
	 * ABNF string, so any case).  General-address-literal needs a
	 * Standardized-tag registered with IANA, and there is none beyond
	 * IPv6, so any other "tag:" form is refused. */
	if (prefix_nocase(body, blen, "IPv6:")) {
		family = AF_INET6;
		body += 5;
		blen -= 5;
	}
	/* inet_pton() wants a C string; anything longer than the longest
	 * text form of an IPv6 address is not one. */
	if (blen == 0 || blen >= sizeof(text))
		return SMTP_ADDR_ERR_LITERAL;
	memcpy(text, body, blen);
	text[blen] = 0;
	if (inet_pton(family, text, in6) != 1)
		return SMTP_ADDR_ERR_LITERAL;
	return SMTP_ADDR_OK;
}

/* scan_domain - domain or address-literal at the cursor */
static enum smtp_addr_error scan_domain(struct scan *s, int literal_ok,
					struct smtp_addr *addr)
{
	size_t start = s->pos, label = 0, n;
	enum smtp_addr_error err;
	unsigned char c, prev = '.';

	if (literal_ok && s->pos < s->len && s->p[s->pos] == '[') {
		/* dcontent = %d33-90 / %d94-126: no "[", "\" or "]". */
		for (s->pos++; s->pos < s->len; s->pos++) {
			c = s->p[s->pos];
			if (c == ']' || c < 33 || c > 126 || c == '[' ||
			    c == '\\')
				break;
			if (s->pos - start > SMTP_ADDR_DOMAIN_MAX)
				return SMTP_ADDR_ERR_DOMAIN_LEN;
		}
		if (s->pos >= s->len || s->p[s->pos] != ']')
			return SMTP_ADDR_ERR_LITERAL;
		s->pos++;
		if (s->pos - start > SMTP_ADDR_DOMAIN_MAX)
			return SMTP_ADDR_ERR_DOMAIN_LEN;
		if ((err = check_literal(s->p + start, s->pos - start)) !=
		    SMTP_ADDR_OK)
			return err;
		if (addr != NULL) {
			addr->literal = 1;
			memcpy(addr->domain, s->p + start, s->pos - start);
			addr->domain[s->pos - start] = 0;
		}
		return SMTP_ADDR_OK;
	}

	/* sub-domain = Let-dig [Ldh-str], Ldh-str ending in Let-dig; with
	 * SMTPUTF8 a sub-domain may also be a U-label (RFC 6531 §3.3), of
	 * which we check only that it is UTF-8 and LDH around it. */
	while (s->pos < s->len) {
		c = s->p[s->pos];
		if (c == '.') {
			if (prev == '.' || prev == '-')
				return SMTP_ADDR_ERR_DOMAIN;
			label = 0;
			n = 1;
		} else if (c >= 0x80) {
			if ((err = utf8_at(s, &n)) != SMTP_ADDR_OK)
				return err;
			label += n;
			if (addr != NULL)
				addr->utf8 = 1;
		} else if (is_alnum(c) || c == '-') {
			if (c == '-' && prev == '.')
				return SMTP_ADDR_ERR_DOMAIN;
			label++;
			n = 1;
		} else {
			break;
		}
		prev = c;
		s->pos += n;
		if (label > SMTP_ADDR_LABEL_MAX ||
		    s->pos - start > SMTP_ADDR_DOMAIN_MAX)
			return SMTP_ADDR_ERR_DOMAIN_LEN;
	}
	if (s->pos == start || prev == '.' || prev == '-')
		return SMTP_ADDR_ERR_DOMAIN;
	if (addr != NULL) {
		memcpy(addr->domain, s->p + start, s->pos - start);
		addr->domain[s->pos - start] = 0;
	}
	return SMTP_ADDR_OK;
}

/* scan_route - A-d-l ":" at the cursor (which is at the first "@") */
static enum smtp_addr_error scan_route(struct scan *s)
{
	enum smtp_addr_error err;

	/* A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain.
	 * Checked so that junk cannot hide in it, then ignored. */
	for (;;) {
		if (s->pos >= s->len || s->p[s->pos] != '@')
			return SMTP_ADDR_ERR_ROUTE;
		s->pos++;
		err = scan_domain(s, 0, NULL);
		if (err == SMTP_ADDR_ERR_8BIT || err == SMTP_ADDR_ERR_UTF8)
			return err;
		if (err != SMTP_ADDR_OK)
			return SMTP_ADDR_ERR_ROUTE;
		if (s->pos >= s->len)
			return SMTP_ADDR_ERR_ROUTE;
		if (s->p[s->pos] == ':') {
			s->pos++;
			return SMTP_ADDR_OK;
		}
		if (s->p[s->pos] != ',')
			return SMTP_ADDR_ERR_ROUTE;
		s->pos++;
	}
}

/* at_path_end - is the cursor where the path may end */
static int at_path_end(const struct scan *s, int bracketed)
{
	if (bracketed)
		return s->pos < s->len && s->p[s->pos] == '>';
	return s->pos >= s->len || s->p[s->pos] == ' ' || s->p[s->pos] == '\t';
}

/* canonical - fill addr->addr from the parsed parts */
static void canonical(struct smtp_addr *addr, unsigned flags)
{
	const char *local = addr->local;
	size_t llen, dlen;

	/* "\"joe\"@x" and "joe@x" are the same mailbox (RFC 5321 §4.1.2);
	 * drop quotes only when the content needs none, so the result still
	 * parses as the same address. */
	if (addr->quoted &&
	    dot_string_ok((const unsigned char *)addr->local_unquoted,
			  strlen(addr->local_unquoted), flags))
		local = addr->local_unquoted;
	llen = strlen(local);
	dlen = strlen(addr->domain);
	/* Cannot overflow: local <= 64, "@", domain <= 255 and the path,
	 * which holds both, was checked against SMTP_ADDR_PATH_MAX. */
	memcpy(addr->addr, local, llen);
	addr->addr[llen] = '@';
	memcpy(addr->addr + llen + 1, addr->domain, dlen);
	addr->addr[llen + 1 + dlen] = 0;
}

/* smtp_addr_parse_prefix - parse the path at the start of buf */
enum smtp_addr_error smtp_addr_parse_prefix(const char *buf, size_t len,
					    unsigned flags,
					    struct smtp_addr *addr,
					    size_t *used_r)
{
	struct scan s = {(const unsigned char *)buf, len, 0, flags};
	enum smtp_addr_error err;
	int bracketed;
	size_t path_len;

	memset(addr, 0, sizeof(*addr));
	*used_r = 0;
	if (len == 0)
		return SMTP_ADDR_ERR_EMPTY;
	bracketed = s.p[0] == '<';
	if (bracketed) {
		addr->bracketed = 1;
		s.pos = 1;
		if (s.pos < len && s.p[s.pos] == '>') {
			/* Reverse-path = Path / "<>" (§4.1.2, §4.5.5). */
			if ((flags & SMTP_ADDR_FLAG_NULL_OK) == 0)
				return SMTP_ADDR_ERR_NULL;
			addr->null = 1;
			*used_r = 2;
			return SMTP_ADDR_OK;
		}
		if (s.pos < len && s.p[s.pos] == '@') {
			if ((err = scan_route(&s)) != SMTP_ADDR_OK)
				return err;
			addr->routed = 1;
		}
	} else if ((flags & SMTP_ADDR_FLAG_BARE_OK) == 0) {
		return SMTP_ADDR_ERR_BRACKETS;
	}

	if ((err = scan_local(&s, addr)) != SMTP_ADDR_OK)
		return err;
	if (s.pos < len && s.p[s.pos] == '@') {
		s.pos++;
		if ((err = scan_domain(&s, 1, addr)) != SMTP_ADDR_OK)
			return err;
		if (!at_path_end(&s, bracketed))
			return bracketed && s.pos >= len
				       ? SMTP_ADDR_ERR_BRACKETS
				       : SMTP_ADDR_ERR_DOMAIN;
	} else if (at_path_end(&s, bracketed)) {
		/* §4.1.1.3: RCPT TO:<Postmaster> with no domain, any case,
		 * not quoted and not routed. */
		if ((flags & SMTP_ADDR_FLAG_POSTMASTER_OK) == 0 ||
		    addr->quoted || addr->routed || strlen(addr->local) != 10 ||
		    !prefix_nocase((const unsigned char *)addr->local, 10,
				   "postmaster"))
			return SMTP_ADDR_ERR_NO_DOMAIN;
		addr->postmaster = 1;
	} else if (s.pos >= len) {
		return bracketed ? SMTP_ADDR_ERR_BRACKETS
				 : SMTP_ADDR_ERR_NO_DOMAIN;
	} else {
		return SMTP_ADDR_ERR_LOCAL;
	}
	if (bracketed)
		s.pos++;
	/* §4.5.3.1.3 counts the punctuation: a bare address is measured as
	 * if it had its brackets. */
	path_len = s.pos + (bracketed ? 0 : 2);
	if (path_len > SMTP_ADDR_PATH_MAX)
		return SMTP_ADDR_ERR_PATH_LEN;
	if (addr->postmaster) {
		memcpy(addr->addr, addr->local, strlen(addr->local) + 1);
	} else {
		canonical(addr, flags);
	}
	*used_r = s.pos;
	return SMTP_ADDR_OK;
}

/* smtp_addr_parse - parse buf[0..len) as exactly one path */
enum smtp_addr_error smtp_addr_parse(const char *buf, size_t len,
				     unsigned flags, struct smtp_addr *addr)
{
	enum smtp_addr_error err;
	size_t used;

	if ((err = smtp_addr_parse_prefix(buf, len, flags, addr, &used)) !=
	    SMTP_ADDR_OK)
		return err;
	if (used != len)
		return SMTP_ADDR_ERR_TRAILING;
	return SMTP_ADDR_OK;
}

/* smtp_addr_check_domain - is buf[0..len) a domain or address literal */
enum smtp_addr_error smtp_addr_check_domain(const char *buf, size_t len,
					    unsigned flags)
{
	struct scan s = {(const unsigned char *)buf, len, 0,
			 flags & SMTP_ADDR_FLAG_UTF8};
	enum smtp_addr_error err;

	if (len == 0)
		return SMTP_ADDR_ERR_EMPTY;
	if ((err = scan_domain(&s, 1, NULL)) != SMTP_ADDR_OK)
		return err;
	return s.pos == len ? SMTP_ADDR_OK : SMTP_ADDR_ERR_DOMAIN;
}

/* smtp_addr_error_text - short English text for an error kind */
const char *smtp_addr_error_text(enum smtp_addr_error err)
{
	switch (err) {
	case SMTP_ADDR_OK:
		return "no error";
	case SMTP_ADDR_ERR_EMPTY:
		return "missing address";
	case SMTP_ADDR_ERR_BRACKETS:
		return "address not enclosed in <>";
	case SMTP_ADDR_ERR_NULL:
		return "null address not allowed here";
	case SMTP_ADDR_ERR_ROUTE:
		return "malformed source route";
	case SMTP_ADDR_ERR_LOCAL:
		return "bad local part syntax";
	case SMTP_ADDR_ERR_LOCAL_LEN:
		return "local part too long";
	case SMTP_ADDR_ERR_NO_DOMAIN:
		return "missing domain";
	case SMTP_ADDR_ERR_DOMAIN:
		return "bad domain syntax";
	case SMTP_ADDR_ERR_DOMAIN_LEN:
		return "domain name too long";
	case SMTP_ADDR_ERR_LITERAL:
		return "bad address literal";
	case SMTP_ADDR_ERR_PATH_LEN:
		return "address too long";
	case SMTP_ADDR_ERR_8BIT:
		return "non-ASCII address without SMTPUTF8";
	case SMTP_ADDR_ERR_UTF8:
		return "malformed UTF-8 in address";
	case SMTP_ADDR_ERR_TRAILING:
		return "junk after address";
	}
	return "unknown error";
}
