/*
 * dns - MX routing for the SMTP client over a small stub resolver
 *
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	int dns_set_servers(servers, count, error_r)
 *	void dns_set_timeout(timeout_ms, tries)
 *	enum dns_status dns_mx_route(domain, flags, route_r, error_r)
 *	enum dns_status dns_lookup_addrs(host, flags, route_r, error_r)
 *	void dns_route_free(routep)
 *	const char *dns_status_dsn(status)
 *	bool dns_status_permanent(status)
 *
 *	int dns_query_build(id, name, type, buf, size)
 *	int dns_answer_parse(buf, len, id, name, type, ans, error_r)
 *	int dns_name_expand(buf, len, off, out, next_r)
 *	void dns_mx_sort(hosts, n, rnd)
 *
 * DESCRIPTION
 *	dns_mx_route() implements RFC 5321 §5.1: look up the MX records of
 *	the domain; when there are none, the domain itself is the only host
 *	(the implicit MX).  A single MX whose exchange is "." is a null MX
 *	(RFC 7505 §3): the domain accepts no mail, a permanent failure with
 *	status 5.1.10 (RFC 7505 §4.2).  A null MX among others is ignored.
 *	MX hosts are sorted by preference, equal ones in random order
 *	(§5.1: "the sender-SMTP MUST randomize them"), at most DNS_MX_MAX
 *	are kept.  Each gets its addresses: from the additional section of
 *	the MX answer when it holds records of that name and type, else
 *	from an A and/or AAAA lookup, as inet_protocols (flags) allows;
 *	IPv6 addresses come first.  An exchange that is an address literal
 *	("192.0.2.1" or "[192.0.2.1]") is used as that address, as Postfix
 *	does; an exchange that is not a valid host name is skipped.  CNAMEs
 *	are followed, at most DNS_CNAME_MAX hops, in the answer and by new
 *	queries (RFC 1034 §3.6.2; an MX pointing at a CNAME is accepted).
 *
 *	Outcomes: NXDOMAIN is permanent (5.1.2); SERVFAIL, REFUSED, other
 *	errors, timeouts and malformed answers are temporary (4.4.3); no MX
 *	and no address is permanent (5.1.2); MX hosts of which none has an
 *	address are temporary when one lookup failed temporarily, else
 *	permanent (5.4.4).
 *
 *	The resolver is our own stub, not res_nquery(3): it sends the query
 *	over UDP from a fresh socket (a kernel-chosen random source port)
 *	with a random 16-bit id (getrandom(2)), ignores replies whose id or
 *	question differ (RFC 5452 §9.1), and repeats over TCP when the
 *	reply is truncated (RFC 1035 §4.2.2, RFC 7766).  This lets
 *	dns_servers name IPv6 servers and ports portably (libresolv only
 *	does so through glibc-private fields), keeps the answer parser a
 *	pure, fuzzed function, and bounds the time: DNS_TIMEOUT_MS per try
 *	and server, DNS_TRIES rounds (dns_set_timeout()).  Names are always
 *	fully qualified: no search list, no ndots.
 *
 * DIAGNOSTICS
 *	Functions return a status and a message (a static buffer, valid
 *	until the next call) naming the domain or host and the record type.
 *	Nothing is logged: the SMTP client decides.
 *
 * SECURITY
 *	DNS answers are untrusted input.  dns_answer_parse() checks every
 *	length against the buffer, accepts only backward compression
 *	pointers (no loops), bounds names to 255 octets and the records
 *	kept to DNS_RR_MAX, and replaces bytes that cannot appear in a host
 *	name, so no name it returns holds control characters.  Only
 *	addresses whose owner is the name asked for (or the CNAME chain from
 *	it) are used.  The answer is accepted only from the server's
 *	address and port (connected socket) with our id and question.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "strnum.h"
#include "dns.h"

#define DNS_HDR_LEN    12
#define DNS_C_IN       1
#define DNS_R_NOERROR  0
#define DNS_R_NXDOMAIN 3
#define DNS_TCP_MAX    65535

static struct sockaddr_storage dns_servers[DNS_SERVERS_MAX];
static socklen_t dns_server_lens[DNS_SERVERS_MAX];
static size_t dns_nservers;
static bool dns_servers_set;
static unsigned dns_timeout_ms = DNS_TIMEOUT_MS;
static unsigned dns_tries = DNS_TRIES;
static char dns_errbuf[512];

/* dns_error - format the error message into the static buffer */
static const char *dns_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *dns_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(dns_errbuf, sizeof(dns_errbuf), fmt, ap);
	va_end(ap);
	return dns_errbuf;
}

/* dns_random - 32 random bits from the kernel */
static uint32_t dns_random(void)
{
	uint32_t r = 0;

	while (getrandom(&r, sizeof(r), 0) < 0 && errno == EINTR)
		;
	return r;
}

/* dns_type_name - for messages */
static const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_CNAME:
		return "CNAME";
	default:
		return "?";
	}
}

/* ---------------------------------------------------------- wire format */

/* dns_valid_hostname - letters, digits, '-', '_' labels of 1-63 octets */
bool dns_valid_hostname(const char *name)
{
	size_t label = 0, total = 0;
	const char *p;

	if (*name == 0)
		return false;
	for (p = name; *p != 0; p++, total++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && total <= DNS_NAME_MAX;
}

/* dns_query_build - a query packet with RD set */
int dns_query_build(uint16_t id, const char *name, uint16_t type,
		    unsigned char *buf, size_t size)
{
	size_t pos = DNS_HDR_LEN, label, nlen = strlen(name);
	const char *p = name, *dot;

	if (nlen > DNS_NAME_MAX || size < DNS_HDR_LEN + nlen + 2 + 4)
		return -1;
	memset(buf, 0, DNS_HDR_LEN);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*p != 0) {
		dot = strchr(p, '.');
		label = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (label == 0 || label > 63)
			return -1;
		buf[pos++] = (unsigned char)label;
		memcpy(buf + pos, p, label);
		pos += label;
		p += label;
		if (*p == '.')
			p++;
	}
	buf[pos++] = 0;
	buf[pos++] = (unsigned char)(type >> 8);
	buf[pos++] = (unsigned char)type;
	buf[pos++] = 0;
	buf[pos++] = DNS_C_IN;
	return (int)pos;
}

/* dns_name_expand - a possibly compressed name (RFC 1035 §4.1.4) */
int dns_name_expand(const unsigned char *buf, size_t len, size_t off, char *out,
		    size_t *next_r)
{
	size_t pos = off, outlen = 0, wire = 0, i, ptr;
	bool jumped = false;
	unsigned char c;
	unsigned n;

	for (;;) {
		if (pos >= len)
			return -1;
		n = buf[pos];
		if ((n & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			ptr = ((size_t)(n & 0x3f) << 8) | buf[pos + 1];
			/* Only backwards: each jump lands strictly before
			 * the last, so following them ends. */
			if (ptr >= pos)
				return -1;
			if (!jumped)
				*next_r = pos + 2;
			jumped = true;
			pos = ptr;
			continue;
		}
		if ((n & 0xc0) != 0)
			return -1; /* extended label types (RFC 6891) */
		if (n == 0) {
			if (!jumped)
				*next_r = pos + 1;
			break;
		}
		wire += n + 1;
		if (wire + 1 > 255 || pos + 1 + n > len)
			return -1;
		if (outlen > 0)
			out[outlen++] = '.';
		for (i = 0; i < n; i++) {
			c = buf[pos + 1 + i];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			else if (c <= 0x20 || c >= 0x7f || c == '.')
				c = '?';
			out[outlen++] = (char)c;
		}
		pos += 1 + n;
	}
	out[outlen] = 0;
	return 0;
}

/* dns_get16 - big-endian 16 bits */
static uint16_t dns_get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* dns_name_lower - name in lower case without a final dot into out */
static int dns_name_lower(const char *name, char *out)
{
	size_t n = strlen(name), i;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n > DNS_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (name[i] >= 'A' && name[i] <= 'Z')
				 ? (char)(name[i] - 'A' + 'a')
				 : name[i];
	out[n] = 0;
	return 0;
}

/* dns_answer_release - free what dns_answer_parse() allocated */
void dns_answer_release(struct dns_answer *ans)
{
	free(ans->rrs);
	ans->rrs = NULL;
	ans->nrr = 0;
}

/* dns_answer_parse - check and decode an answer to our query */
int dns_answer_parse(const unsigned char *buf, size_t len, uint16_t id,
		     const char *name, uint16_t type, struct dns_answer *ans,
		     const char **error_r)
{
	char qname[DNS_NAME_MAX + 1], want[DNS_NAME_MAX + 1];
	size_t pos, next, rdend;
	unsigned counts[3], qd, sect, k;
	struct dns_rr *rr, scratch;
	uint16_t rdlen;

	memset(ans, 0, sizeof(*ans));
	if (len < DNS_HDR_LEN) {
		*error_r = "short answer";
		return -1;
	}
	ans->id = dns_get16(buf);
	if (ans->id != id) {
		*error_r = "answer id differs";
		return -1;
	}
	if ((buf[2] & 0x80) == 0 || (buf[2] & 0x78) != 0) {
		*error_r = "not a standard query response";
		return -1;
	}
	ans->aa = (buf[2] & 0x04) != 0;
	ans->tc = (buf[2] & 0x02) != 0;
	ans->rcode = buf[3] & 0x0f;
	qd = dns_get16(buf + 4);
	counts[0] = dns_get16(buf + 6);
	counts[1] = dns_get16(buf + 8);
	counts[2] = dns_get16(buf + 10);
	pos = DNS_HDR_LEN;
	if (dns_name_lower(name, want) < 0) {
		*error_r = "bad query name";
		return -1;
	}
	/* Error replies may omit the question (RFC 1035 §4.1.2 allows it
	 * for FORMERR); a reply with one must match ours. */
	if (qd != 1 && !(qd == 0 && ans->rcode != DNS_R_NOERROR)) {
		*error_r = "answer has not exactly one question";
		return -1;
	}
	if (qd == 1) {
		if (dns_name_expand(buf, len, pos, qname, &next) < 0 ||
		    next + 4 > len) {
			*error_r = "malformed question";
			return -1;
		}
		if (strcmp(qname, want) != 0 || dns_get16(buf + next) != type ||
		    dns_get16(buf + next + 2) != DNS_C_IN) {
			*error_r = "answer is for another question";
			return -1;
		}
		pos = next + 4;
	}
	ans->rrs = xcalloc(DNS_RR_MAX, sizeof(*ans->rrs));
	for (sect = 0; sect < 3; sect++) {
		for (k = 0; k < counts[sect]; k++) {
			if (pos >= len && ans->tc)
				return 0; /* RFC 2181 §9: use what came */
			/* Past DNS_RR_MAX records are parsed, not kept. */
			rr = ans->nrr < DNS_RR_MAX ? &ans->rrs[ans->nrr]
						   : &scratch;
			memset(rr, 0, sizeof(*rr));
			if (dns_name_expand(buf, len, pos, rr->name, &next) <
				    0 ||
			    next + 10 > len)
				goto truncated;
			rr->type = dns_get16(buf + next);
			rr->rclass = dns_get16(buf + next + 2);
			rr->ttl = ((uint32_t)dns_get16(buf + next + 4) << 16) |
				  dns_get16(buf + next + 6);
			rdlen = dns_get16(buf + next + 8);
			pos = next + 10;
			if (rdlen > len - pos)
				goto truncated;
			rdend = pos + rdlen;
			rr->section = (int)sect + 1;
			if (rr->rclass != DNS_C_IN) {
				pos = rdend;
				continue;
			}
			switch (rr->type) {
			case DNS_T_A:
				if (rdlen != 4)
					goto malformed;
				memcpy(rr->addr, buf + pos, 4);
				break;
			case DNS_T_AAAA:
				if (rdlen != 16)
					goto malformed;
				memcpy(rr->addr, buf + pos, 16);
				break;
			case DNS_T_MX:
				if (rdlen < 3)
					goto malformed;
				rr->pref = dns_get16(buf + pos);
				/* The name is read within the whole message
				 * (pointers) but must end at rdend. */
				if (dns_name_expand(buf, rdend, pos + 2,
						    rr->target, &next) < 0 ||
				    next != rdend)
					goto malformed;
				break;
			case DNS_T_CNAME:
				if (dns_name_expand(buf, rdend, pos, rr->target,
						    &next) < 0 ||
				    next != rdend)
					goto malformed;
				break;
			default:
				pos = rdend;
				continue;
			}
			pos = rdend;
			if (ans->nrr < DNS_RR_MAX)
				ans->nrr++;
		}
	}
	return 0;

truncated:
	if (ans->tc)
		return 0;
	dns_answer_release(ans);
	*error_r = "truncated answer";
	return -1;
malformed:
	dns_answer_release(ans);
	*error_r = "malformed record";
	return -1;
}

/* ---------------------------------------------------------- configuration */

/* dns_parse_server - "host[:port]", "[v6]:port", "v6" into ss */
static int dns_parse_server(const char *item, struct sockaddr_storage *ss,
			    socklen_t *len_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *end, *port = NULL;
	unsigned portnum = 53;
	size_t hlen;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (item[0] == '[') {
		end = strchr(item, ']');
		if (end == NULL)
			return -1;
		hlen = (size_t)(end - item - 1);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, item + 1, hlen);
		host[hlen] = 0;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != 0)
			return -1;
	} else {
		colon = strchr(item, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - item);
			port = colon + 1;
		} else {
			hlen = strlen(item); /* no port, or a bare IPv6 */
		}
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, item, hlen);
		host[hlen] = 0;
	}
	if (port != NULL && (str_to_uint(port, &portnum) < 0 || portnum == 0 ||
			     portnum > 65535))
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)portnum);
		*len_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)portnum);
		*len_r = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* dns_set_servers - the dns_servers parameter */
int dns_set_servers(const char *const *servers, size_t count,
		    const char **error_r)
{
	size_t i;

	dns_nservers = 0;
	dns_servers_set = false;
	if (count > DNS_SERVERS_MAX) {
		*error_r = dns_error("dns_servers: more than %d servers",
				     DNS_SERVERS_MAX);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (dns_parse_server(servers[i], &dns_servers[i],
				     &dns_server_lens[i]) < 0) {
			*error_r =
				dns_error("dns_servers: bad server '%.100s': "
					  "expected ADDRESS[:PORT] or "
					  "[IPV6]:PORT",
					  servers[i]);
			dns_nservers = 0;
			return -1;
		}
	}
	dns_nservers = count;
	dns_servers_set = count > 0;
	return 0;
}

/* dns_load_resolv_conf - the nameserver lines of /etc/resolv.conf */
static void dns_load_resolv_conf(void)
{
	char line[512], *p, *e;
	FILE *fp;

	dns_nservers = 0;
	if ((fp = fopen("/etc/resolv.conf", "re")) != NULL) {
		while (dns_nservers < DNS_SERVERS_MAX &&
		       fgets(line, sizeof(line), fp) != NULL) {
			if (strncmp(line, "nameserver", 10) != 0 ||
			    (line[10] != ' ' && line[10] != '\t'))
				continue;
			for (p = line + 10; *p == ' ' || *p == '\t'; p++)
				;
			for (e = p; *e != 0 && *e != ' ' && *e != '\t' &&
				    *e != '\n' && *e != '\r';
			     e++)
				;
			*e = 0;
			/* Only addresses (no ports, no scope ids). */
			if (strchr(p, '%') == NULL && strchr(p, '[') == NULL &&
			    dns_parse_server(p, &dns_servers[dns_nservers],
					     &dns_server_lens[dns_nservers]) ==
				    0)
				dns_nservers++;
		}
		fclose(fp);
	}
	if (dns_nservers == 0) { /* resolv.conf(5): the local host */
		(void)dns_parse_server("127.0.0.1", &dns_servers[0],
				       &dns_server_lens[0]);
		dns_nservers = 1;
	}
}

/* dns_set_timeout - per try and server; rounds over the servers */
void dns_set_timeout(unsigned timeout_ms, unsigned tries)
{
	dns_timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	dns_tries = tries > 0 ? tries : 1;
}

/* ---------------------------------------------------------- transport */

/* dns_ms_left - milliseconds until deadline (0 when past) */
static int dns_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* dns_deadline - now plus the per-try timeout */
static void dns_deadline(struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += dns_timeout_ms / 1000;
	deadline->tv_nsec += (long)(dns_timeout_ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

/* dns_wait - poll fd for events until deadline; 1 ready, 0 timeout */
static int dns_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd;
	int ret;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		ret = poll(&pfd, 1, dns_ms_left(deadline));
		if (ret < 0 && errno == EINTR)
			continue;
		return ret > 0 ? 1 : ret;
	}
}

/* dns_udp - one exchange over UDP; 0 with *ans, -1 (timeout/error) */
static int dns_udp(size_t srv, const unsigned char *query, size_t qlen,
		   uint16_t id, const char *name, uint16_t type,
		   struct dns_answer *ans, const char **error_r)
{
	unsigned char buf[4096];
	struct timespec deadline;
	const char *perr;
	ssize_t n;
	int fd;

	fd = socket(dns_servers[srv].ss_family,
		    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = dns_error("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dns_servers[srv],
		    dns_server_lens[srv]) < 0 ||
	    send(fd, query, qlen, 0) != (ssize_t)qlen) {
		*error_r = dns_error("send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	dns_deadline(&deadline);
	for (;;) {
		if (dns_wait(fd, POLLIN, &deadline) <= 0) {
			*error_r = "timeout";
			break;
		}
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*error_r = dns_error("recv: %s", strerror(errno));
			break; /* e.g. ECONNREFUSED: nobody there */
		}
		if ((size_t)n > sizeof(buf))
			continue;
		/* A reply with another id or question is someone else's
		 * or a spoofing attempt: keep waiting (RFC 5452 §9.1). */
		if (dns_answer_parse(buf, (size_t)n, id, name, type, ans,
				     &perr) == 0) {
			close(fd);
			return 0;
		}
		*error_r = perr;
	}
	close(fd);
	return -1;
}

/* dns_io - read or write exactly len bytes before deadline */
static int dns_io(int fd, unsigned char *buf, size_t len, bool wr,
		  const struct timespec *deadline)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (dns_wait(fd, wr ? POLLOUT : POLLIN, deadline) <= 0)
			return -1;
		n = wr ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
		       : recv(fd, buf + done, len - done, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* dns_tcp - one exchange over TCP (RFC 1035 §4.2.2 length prefix) */
static int dns_tcp(size_t srv, const unsigned char *query, size_t qlen,
		   uint16_t id, const char *name, uint16_t type,
		   struct dns_answer *ans, const char **error_r)
{
	unsigned char hdr[2], *buf = NULL, out[2 + 512];
	struct timespec deadline;
	size_t rlen;
	int fd, ret = -1, err;
	socklen_t elen = sizeof(err);

	fd = socket(dns_servers[srv].ss_family,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = dns_error("socket: %s", strerror(errno));
		return -1;
	}
	dns_deadline(&deadline);
	if (connect(fd, (struct sockaddr *)&dns_servers[srv],
		    dns_server_lens[srv]) < 0) {
		if (errno != EINPROGRESS ||
		    dns_wait(fd, POLLOUT, &deadline) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ||
		    err != 0) {
			*error_r = "TCP connect failed";
			goto out;
		}
	}
	if (qlen > sizeof(out) - 2)
		goto out;
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, query, qlen);
	if (dns_io(fd, out, qlen + 2, true, &deadline) < 0 ||
	    dns_io(fd, hdr, 2, false, &deadline) < 0) {
		*error_r = "TCP timeout or error";
		goto out;
	}
	rlen = dns_get16(hdr);
	buf = xmalloc(rlen > 0 ? rlen : 1);
	if (dns_io(fd, buf, rlen, false, &deadline) < 0) {
		*error_r = "TCP timeout or error";
		goto out;
	}
	ret = dns_answer_parse(buf, rlen, id, name, type, ans, error_r);
out:
	free(buf);
	close(fd);
	return ret;
}

/* dns_transact - ask the servers; DNS_OK with *ans (any rcode but
 * SERVFAIL/REFUSED-like failures, which try the next server) */
static enum dns_status dns_transact(const char *name, uint16_t type,
				    struct dns_answer *ans,
				    const char **error_r)
{
	unsigned char query[DNS_HDR_LEN + DNS_NAME_MAX + 2 + 4];
	const char *err = "no name server";
	unsigned round;
	size_t srv;
	uint16_t id;
	int qlen;

	if (!dns_servers_set)
		dns_load_resolv_conf();
	for (round = 0; round < dns_tries; round++) {
		for (srv = 0; srv < dns_nservers; srv++) {
			id = (uint16_t)dns_random();
			qlen = dns_query_build(id, name, type, query,
					       sizeof(query));
			if (qlen < 0) {
				*error_r = dns_error("%s: invalid name", name);
				return DNS_INVALID;
			}
			if (dns_udp(srv, query, (size_t)qlen, id, name, type,
				    ans, &err) < 0)
				continue;
			if (ans->tc) {
				dns_answer_release(ans);
				if (dns_tcp(srv, query, (size_t)qlen, id, name,
					    type, ans, &err) < 0)
					continue;
			}
			if (ans->rcode == DNS_R_NOERROR ||
			    ans->rcode == DNS_R_NXDOMAIN)
				return DNS_OK;
			err = ans->rcode == 2 ? "server failure"
					      : "server refused or failed";
			dns_answer_release(ans);
		}
	}
	*error_r = dns_error("%s/%s: lookup error: %s", name,
			     dns_type_name(type), err);
	return DNS_TEMPFAIL;
}

/* ---------------------------------------------------------- resolution */

/*
 * dns_resolve - query name/type, following CNAMEs in the answer and by
 * new queries.  DNS_OK: *ans holds the last answer and owner the name
 * whose records of type it holds (none: no data).
 */
static enum dns_status dns_resolve(const char *name, uint16_t type,
				   struct dns_answer *ans, char *owner,
				   const char **error_r)
{
	enum dns_status status;
	unsigned hops = 0;
	size_t i;
	bool moved, have;

	if (dns_name_lower(name, owner) < 0 || !dns_valid_hostname(owner)) {
		*error_r = dns_error("%.300s: invalid domain name", name);
		return DNS_INVALID;
	}
	for (;;) {
		status = dns_transact(owner, type, ans, error_r);
		if (status != DNS_OK)
			return status;
		if (ans->rcode == DNS_R_NXDOMAIN) {
			*error_r = dns_error("%s/%s: Host or domain name not "
					     "found",
					     owner, dns_type_name(type));
			dns_answer_release(ans);
			return DNS_NOTFOUND;
		}
		moved = false;
		do {
			have = false;
			for (i = 0; i < ans->nrr; i++) {
				if (ans->rrs[i].section != 1 ||
				    strcmp(ans->rrs[i].name, owner) != 0)
					continue;
				if (ans->rrs[i].type == type)
					return DNS_OK;
				if (ans->rrs[i].type == DNS_T_CNAME &&
				    type != DNS_T_CNAME) {
					if (++hops > DNS_CNAME_MAX ||
					    !dns_valid_hostname(
						    ans->rrs[i].target)) {
						*error_r = dns_error(
							"%s/%s: CNAME chain "
							"too long or invalid",
							name,
							dns_type_name(type));
						dns_answer_release(ans);
						return DNS_TEMPFAIL;
					}
					memmove(owner, ans->rrs[i].target,
						strlen(ans->rrs[i].target) + 1);
					moved = have = true;
					break;
				}
			}
		} while (have);
		if (!moved)
			return DNS_OK; /* no data */
		dns_answer_release(ans);
	}
}

/* dns_add_addr - append an address unless full or already there */
static void dns_add_addr(struct dns_host *host, int family,
			 const unsigned char *addr)
{
	size_t i, alen = family == AF_INET ? 4 : 16;

	for (i = 0; i < host->naddrs; i++)
		if (host->addrs[i].family == family &&
		    memcmp(&host->addrs[i].u, addr, alen) == 0)
			return;
	if (host->naddrs >= DNS_HOST_ADDRS)
		return;
	host->addrs[host->naddrs].family = family;
	memcpy(&host->addrs[host->naddrs].u, addr, alen);
	host->naddrs++;
}

/* dns_literal - is name an IPv4/IPv6 literal (bracketed or not) */
static bool dns_literal(const char *name, struct dns_host *host, unsigned flags)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char a[16];
	size_t n = strlen(name);

	if (name[0] == '[' && n > 2 && name[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = 0;
	} else if (n < sizeof(buf)) {
		memcpy(buf, name, n + 1);
	} else {
		return false;
	}
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		memmove(buf, buf + 5, strlen(buf + 5) + 1);
	if (inet_pton(AF_INET, buf, a) == 1) {
		if (flags & DNS_FLAG_IPV4)
			dns_add_addr(host, AF_INET, a);
		return true;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		if (flags & DNS_FLAG_IPV6)
			dns_add_addr(host, AF_INET6, a);
		return true;
	}
	return false;
}

/* dns_host_type - the addresses of one type for host: from hint (the MX
 * answer's records for that name) or by a lookup */
static void dns_host_type(struct dns_host *host, uint16_t type,
			  const struct dns_answer *hint, bool *tempfail,
			  const char **error_r)
{
	struct dns_answer ans;
	char owner[DNS_NAME_MAX + 1];
	int family = type == DNS_T_A ? AF_INET : AF_INET6;
	enum dns_status status;
	bool found = false;
	size_t i;

	for (i = 0; hint != NULL && i < hint->nrr; i++) {
		if (hint->rrs[i].type == type &&
		    strcmp(hint->rrs[i].name, host->name) == 0) {
			dns_add_addr(host, family, hint->rrs[i].addr);
			found = true;
		}
	}
	if (found)
		return;
	status = dns_resolve(host->name, type, &ans, owner, error_r);
	if (status == DNS_TEMPFAIL)
		*tempfail = true;
	if (status != DNS_OK)
		return;
	for (i = 0; i < ans.nrr; i++)
		if (ans.rrs[i].section == 1 && ans.rrs[i].type == type &&
		    strcmp(ans.rrs[i].name, owner) == 0)
			dns_add_addr(host, family, ans.rrs[i].addr);
	dns_answer_release(&ans);
}

/* dns_host_addrs - fill host->addrs as flags allow; sets host->status */
static void dns_host_addrs(struct dns_host *host, unsigned flags,
			   const struct dns_answer *hint, const char **error_r)
{
	bool tempfail = false;

	host->naddrs = 0;
	if (!dns_literal(host->name, host, flags)) {
		if (flags & DNS_FLAG_IPV6)
			dns_host_type(host, DNS_T_AAAA, hint, &tempfail,
				      error_r);
		if (flags & DNS_FLAG_IPV4)
			dns_host_type(host, DNS_T_A, hint, &tempfail, error_r);
	}
	host->status = host->naddrs > 0 ? DNS_OK
		       : tempfail	? DNS_TEMPFAIL
					: DNS_NOTFOUND;
}

/* dns_pref_cmp - qsort by preference */
static int dns_pref_cmp(const void *a, const void *b)
{
	const struct dns_host *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* dns_mx_sort - by preference, shuffled among equals (RFC 5321 §5.1) */
void dns_mx_sort(struct dns_host *hosts, size_t n, uint32_t (*rnd)(void))
{
	struct dns_host tmp;
	size_t start, end, i, j;

	if (rnd == NULL)
		rnd = dns_random;
	qsort(hosts, n, sizeof(*hosts), dns_pref_cmp);
	for (start = 0; start < n; start = end) {
		for (end = start + 1;
		     end < n && hosts[end].pref == hosts[start].pref; end++)
			;
		/* Fisher-Yates over [start, end). */
		for (i = end - 1; i > start; i--) {
			j = start + rnd() % (i - start + 1);
			if (j != i) {
				tmp = hosts[i];
				hosts[i] = hosts[j];
				hosts[j] = tmp;
			}
		}
	}
}

/* dns_route_new - an empty route */
static struct dns_route *dns_route_new(size_t cap)
{
	struct dns_route *route = xcalloc(1, sizeof(*route));

	route->hosts = xcalloc(cap > 0 ? cap : 1, sizeof(*route->hosts));
	return route;
}

/* dns_route_free - free and clear the caller's pointer */
void dns_route_free(struct dns_route **routep)
{
	if (*routep == NULL)
		return;
	free((*routep)->hosts);
	free(*routep);
	*routep = NULL;
}

/* dns_single - a route of one host (implicit MX, relayhost) */
static enum dns_status dns_single(const char *name, unsigned flags,
				  bool implicit, struct dns_route **route_r,
				  const char **error_r)
{
	struct dns_route *route = dns_route_new(1);
	struct dns_host *host = &route->hosts[0];
	enum dns_status status;

	if (dns_name_lower(name, host->name) < 0 ||
	    (!dns_literal(host->name, host, 0) &&
	     !dns_valid_hostname(host->name))) {
		dns_route_free(&route);
		*error_r = dns_error("%.300s: invalid host name", name);
		return DNS_INVALID;
	}
	dns_host_addrs(host, flags, NULL, error_r);
	status = host->status;
	if (status != DNS_OK) {
		if (status == DNS_NOTFOUND)
			*error_r =
				dns_error("%s: no %saddress found", host->name,
					  implicit ? "MX and no " : "");
		dns_route_free(&route);
		return status;
	}
	route->nhosts = 1;
	route->implicit_mx = implicit;
	*route_r = route;
	return DNS_OK;
}

/* dns_lookup_addrs - one host, no MX */
enum dns_status dns_lookup_addrs(const char *host, unsigned flags,
				 struct dns_route **route_r,
				 const char **error_r)
{
	*route_r = NULL;
	return dns_single(host, flags, false, route_r, error_r);
}

/* dns_mx_route - RFC 5321 §5.1 */
enum dns_status dns_mx_route(const char *domain, unsigned flags,
			     struct dns_route **route_r, const char **error_r)
{
	struct dns_answer ans;
	struct dns_route *route;
	struct dns_host *h;
	char owner[DNS_NAME_MAX + 1];
	enum dns_status status;
	size_t i, k, nmx = 0, nnull = 0, out;
	bool tempfail = false, dup;
	const char *herr = NULL;

	*route_r = NULL;
	if (domain[0] == '[')
		return dns_single(domain, flags, true, route_r, error_r);
	status = dns_resolve(domain, DNS_T_MX, &ans, owner, error_r);
	if (status != DNS_OK)
		return status;
	route = dns_route_new(DNS_RR_MAX);
	for (i = 0; i < ans.nrr; i++) {
		if (ans.rrs[i].section != 1 || ans.rrs[i].type != DNS_T_MX ||
		    strcmp(ans.rrs[i].name, owner) != 0)
			continue;
		nmx++;
		if (ans.rrs[i].target[0] == 0) {
			nnull++;
			continue;
		}
		h = &route->hosts[route->nhosts];
		memcpy(h->name, ans.rrs[i].target, sizeof(h->name));
		if (!dns_valid_hostname(h->name) && !dns_literal(h->name, h, 0))
			continue; /* Postfix: "invalid host name", skipped */
		for (dup = false, k = 0; k < route->nhosts; k++) {
			if (strcmp(route->hosts[k].name, h->name) == 0) {
				if (ans.rrs[i].pref < route->hosts[k].pref)
					route->hosts[k].pref = ans.rrs[i].pref;
				dup = true;
			}
		}
		if (dup)
			continue;
		memset(h->addrs, 0, sizeof(h->addrs));
		h->naddrs = 0;
		h->pref = ans.rrs[i].pref;
		route->nhosts++;
	}
	if (nmx == 0) { /* RFC 5321 §5.1: the implicit MX */
		dns_answer_release(&ans);
		dns_route_free(&route);
		return dns_single(owner, flags, true, route_r, error_r);
	}
	if (nnull > 0 && nmx == 1) { /* RFC 7505 §3 */
		dns_answer_release(&ans);
		dns_route_free(&route);
		*error_r = dns_error(
			"%s: Domain does not accept mail (null MX)", owner);
		return DNS_NULLMX;
	}
	if (route->nhosts == 0) {
		dns_answer_release(&ans);
		dns_route_free(&route);
		*error_r = dns_error("%s: no valid MX host name", owner);
		return DNS_NOTFOUND;
	}
	dns_mx_sort(route->hosts, route->nhosts, NULL);
	if (route->nhosts > DNS_MX_MAX)
		route->nhosts = DNS_MX_MAX;
	for (i = out = 0; i < route->nhosts; i++) {
		h = &route->hosts[i];
		dns_host_addrs(h, flags, &ans, &herr);
		if (h->status == DNS_TEMPFAIL)
			tempfail = true;
		if (h->status != DNS_OK)
			continue;
		if (out != i)
			route->hosts[out] = *h;
		out++;
	}
	route->nhosts = out;
	dns_answer_release(&ans);
	if (out == 0) {
		dns_route_free(&route);
		if (tempfail) {
			*error_r = dns_error("%s: MX host lookup failed: %s",
					     owner, herr != NULL ? herr : "?");
			return DNS_TEMPFAIL;
		}
		*error_r = dns_error("%s: no address for any MX host", owner);
		return DNS_NOTFOUND;
	}
	*route_r = route;
	return DNS_OK;
}

/* ---------------------------------------------------------- helpers */

/* dns_status_dsn - the RFC 3463 status for a failure */
const char *dns_status_dsn(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "2.0.0";
	case DNS_TEMPFAIL:
		return "4.4.3";
	case DNS_NOTFOUND:
		return "5.1.2";
	case DNS_NULLMX:
		return "5.1.10";
	case DNS_INVALID:
		return "5.1.2";
	}
	return "4.4.3";
}

/* dns_status_permanent - bounce rather than defer? */
bool dns_status_permanent(enum dns_status status)
{
	return status == DNS_NOTFOUND || status == DNS_NULLMX ||
	       status == DNS_INVALID;
}

/* dns_addr_str - the address in presentation form */
const char *dns_addr_str(const struct dns_addr *addr, char *buf, size_t size)
{
	if (inet_ntop(addr->family, &addr->u, buf, (socklen_t)size) == NULL)
		(void)snprintf(buf, size, "?");
	return buf;
}
