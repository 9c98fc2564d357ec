/*
 * cidr - network lists for access control
 *
 * SYNOPSIS
 *	#include "cidr.h"
 *
 *	int cidr_parse(const char *text, struct cidr *c, const char **error_r);
 *	bool cidr_match_text(const struct cidr *list, size_t n,
 *			     const char *addr);
 *
 * DESCRIPTION
 *	Addresses are parsed with inet_pton(3) only (never a name lookup),
 *	the prefix with the strict number parser.  Matching compares the
 *	first prefix bits.
 *
 * DIAGNOSTICS
 *	cidr_parse() returns -1 with a static text; nothing is logged.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "strnum.h"

#define CIDR_TEXT_MAX 64

/* cidr_parse - "net/len", "[v6]/len", "host" */
int cidr_parse(const char *text, struct cidr *c, const char **error_r)
{
	char buf[CIDR_TEXT_MAX];
	const char *slash = strrchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	const char *a = text;
	unsigned prefix, max;

	memset(c, 0, sizeof(*c));
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(buf)) {
		*error_r = "bad network address";
		return -1;
	}
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		*error_r = "bad network address";
		return -1;
	}
	if (slash == NULL)
		prefix = max;
	else if (str_to_uint(slash + 1, &prefix) < 0 || prefix > max) {
		*error_r = "bad network prefix length";
		return -1;
	}
	c->prefix = prefix;
	for (unsigned bit = prefix; bit < max; bit++) {
		if (c->addr[bit / 8] & (0x80u >> (bit % 8))) {
			*error_r = "non-zero host bits under the prefix";
			return -1;
		}
	}
	return 0;
}

/* cidr_prefix_equal - the first bits of a and b agree */
static bool cidr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

/* cidr_match_text - is addr in the list */
bool cidr_match_text(const struct cidr *list, size_t n, const char *addr)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};
	uint8_t a4[4], a6[16];
	bool is4 = false, is6 = false;

	if (inet_pton(AF_INET, addr, a4) == 1) {
		is4 = true;
	} else if (inet_pton(AF_INET6, addr, a6) == 1) {
		is6 = true;
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			memcpy(a4, a6 + 12, 4);
			is4 = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].family == AF_INET && is4 &&
		    cidr_prefix_equal(list[i].addr, a4, list[i].prefix))
			return true;
		if (list[i].family == AF_INET6 && is6 &&
		    cidr_prefix_equal(list[i].addr, a6, list[i].prefix))
			return true;
	}
	return false;
}
