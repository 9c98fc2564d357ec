/*
 * dns - MX routing for the SMTP client (RFC 5321 §5) over a small stub
 * resolver of our own
 *
 * dns_mx_route() turns a mail domain into the ordered list of hosts to
 * try, each with its addresses; dns_lookup_addrs() does the same for one
 * host without MX ("[relayhost]").  The answer parser is a pure function
 * over a buffer (dns_answer_parse), fuzzed on its own.
 */
#ifndef FACTEUR_DNS_H
#define FACTEUR_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire-format limits (RFC 1035 §2.3.4) and ours (STYLE.md §7). */
#define DNS_NAME_MAX	 255  /* presentation form, without the final dot */
#define DNS_RR_MAX	 128  /* records kept from one answer */
#define DNS_MX_MAX	 50   /* MX hosts kept per domain, best first */
#define DNS_HOST_ADDRS	 16   /* addresses kept per host */
#define DNS_CNAME_MAX	 8    /* CNAME hops followed per lookup */
#define DNS_SERVERS_MAX	 3    /* as MAXNS in resolv.h */
#define DNS_TIMEOUT_MS	 5000 /* per try and server, like RES_TIMEOUT */
#define DNS_TRIES	 2    /* rounds over the servers, like RES_DFLRETRY */
#define DNS_UDP_SIZE_MAX 512  /* RFC 1035 §4.2.1, no EDNS0 */

/* Record types we use (RFC 1035 §3.2.2, RFC 3596). */
#define DNS_T_A	    1
#define DNS_T_CNAME 5
#define DNS_T_MX    15
#define DNS_T_AAAA  28

/* Flags of dns_mx_route() and dns_lookup_addrs(): inet_protocols. */
#define DNS_FLAG_IPV4 (1u << 0)
#define DNS_FLAG_IPV6 (1u << 1)
#define DNS_FLAG_ALL  (DNS_FLAG_IPV4 | DNS_FLAG_IPV6)

enum dns_status {
	DNS_OK = 0,
	DNS_TEMPFAIL, /* SERVFAIL, timeout, bad answer: try later (4.4.3) */
	DNS_NOTFOUND, /* NXDOMAIN, or no MX and no address (5.1.2 / 5.4.4) */
	DNS_NULLMX,   /* RFC 7505 null MX: 5.1.10 */
	DNS_INVALID,  /* the name asked for is not a valid domain (5.1.2) */
};

struct dns_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct dns_host {
	char name[DNS_NAME_MAX + 1];
	unsigned pref; /* MX preference; 0 for an implicit MX or a host */
	struct dns_addr addrs[DNS_HOST_ADDRS];
	size_t naddrs;
	/* Why it has no address: DNS_NOTFOUND or DNS_TEMPFAIL. */
	enum dns_status status;
};

/* The hosts to try in order (RFC 5321 §5.1); hosts without an address
 * are left out. */
struct dns_route {
	struct dns_host *hosts;
	size_t nhosts;
	bool implicit_mx; /* no MX: the domain's own addresses (§5.1) */
};

/*
 * Configuration, per process.  dns_set_servers(): "host[:port]" items,
 * IPv4 or "[IPv6]:port" (addresses only); an empty list means
 * /etc/resolv.conf's nameservers (127.0.0.1 when it names none).  Returns
 * -1 with *error_r on a bad item.  dns_set_timeout(): per try and server,
 * and the number of rounds over the servers.
 */
int dns_set_servers(const char *const *servers, size_t count,
		    const char **error_r);
void dns_set_timeout(unsigned timeout_ms, unsigned tries);

/*
 * dns_mx_route - the route for mail to domain.  On DNS_OK *route_r holds
 * at least one host with at least one address; free it with
 * dns_route_free().  Otherwise *error_r says why (valid until the next
 * call of a dns_ function).
 */
enum dns_status dns_mx_route(const char *domain, unsigned flags,
			     struct dns_route **route_r, const char **error_r);
/* dns_lookup_addrs - one host, A/AAAA only (no MX): for "[relayhost]". */
enum dns_status dns_lookup_addrs(const char *host, unsigned flags,
				 struct dns_route **route_r,
				 const char **error_r);
void dns_route_free(struct dns_route **routep);

/* The RFC 3463 status for a failure ("4.4.3", "5.1.2", "5.1.10"). */
const char *dns_status_dsn(enum dns_status status);
/* Permanent (bounce) rather than temporary (defer)? */
bool dns_status_permanent(enum dns_status status);
/* dns_addr_str - the address in presentation form, into buf[size]. */
const char *dns_addr_str(const struct dns_addr *addr, char *buf, size_t size);

/* ---- the pure parts, exported for the tests and the fuzzer ---- */

struct dns_rr {
	char name[DNS_NAME_MAX + 1]; /* owner, lower case, no final dot */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	int section;		       /* 1 answer, 2 authority, 3 additional */
	uint16_t pref;		       /* MX */
	char target[DNS_NAME_MAX + 1]; /* MX exchange, CNAME; "" = "." */
	unsigned char addr[16];	       /* A (4), AAAA (16) */
};

struct dns_answer {
	uint16_t id;
	unsigned rcode; /* RFC 1035 §4.1.1 */
	bool tc;	/* truncated: retry over TCP */
	bool aa;
	struct dns_rr *rrs; /* DNS_RR_MAX, allocated by the parser */
	size_t nrr;
};

/*
 * dns_query_build - a standard query (RD set) for name/type with id into
 * buf[size]; returns its length, or -1 when the name is not valid.
 */
int dns_query_build(uint16_t id, const char *name, uint16_t type,
		    unsigned char *buf, size_t size);
/*
 * dns_answer_parse - parse the reply in buf[len] to the query id/name/
 * type: checks the header (QR, id, one question equal to ours) and
 * decodes the records of all sections (A, AAAA, MX, CNAME; others are
 * skipped, more than DNS_RR_MAX are dropped).  Returns 0, or -1 with
 * *error_r.  ans->rrs is allocated: release with dns_answer_release().
 * A reply with TC set may end early; it then parses what is complete.
 */
int dns_answer_parse(const unsigned char *buf, size_t len, uint16_t id,
		     const char *name, uint16_t type, struct dns_answer *ans,
		     const char **error_r);
void dns_answer_release(struct dns_answer *ans);
/*
 * dns_name_expand - the (possibly compressed) name at buf[off] in
 * presentation form, lower case, into out[DNS_NAME_MAX + 1]; *next_r is
 * the offset after the name where it sits.  Pointers must point backwards
 * (so there is no loop).  Returns 0 or -1.
 */
int dns_name_expand(const unsigned char *buf, size_t len, size_t off, char *out,
		    size_t *next_r);
/*
 * dns_mx_sort - sort hosts by pref, in random order among equal ones
 * (RFC 5321 §5.1), using rnd() for the shuffle (NULL: the system's
 * randomness).
 */
void dns_mx_sort(struct dns_host *hosts, size_t n, uint32_t (*rnd)(void));
/* dns_valid_hostname - letters, digits, '-', '_' labels of 1-63 octets */
bool dns_valid_hostname(const char *name);

#endif
