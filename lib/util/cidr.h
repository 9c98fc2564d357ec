/*
 * cidr - match IPv4/IPv6 addresses against network lists (mynetworks)
 *
 * Entries as Postfix's mynetworks writes them: "192.0.2.0/24",
 * "192.0.2.7" (a host), "[2001:db8::]/32", "[::1]", "2001:db8::1/128".
 * An IPv4-mapped IPv6 client address (::ffff:192.0.2.7) matches the IPv4
 * entries.  Host bits set under the mask are an error, as in Postfix
 * ("192.0.2.1/24" is probably a typo for a host or a network).
 */
#ifndef FACTEUR_CIDR_H
#define FACTEUR_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* cidr_parse - one entry.  Returns 0, or -1 with a static *error_r. */
int cidr_parse(const char *text, struct cidr *c, const char **error_r);

/*
 * cidr_match_text - whether the numeric address addr ("192.0.2.7",
 * "::1") is in one of the n entries.  A malformed addr matches nothing.
 */
bool cidr_match_text(const struct cidr *list, size_t n, const char *addr);

#endif
