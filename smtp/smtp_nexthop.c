/*
 * smtp_nexthop - the nexthop forms of Postfix's smtp(8) and lmtp(8)
 *
 * DESCRIPTION
 *	smtp: "domain" and "domain:port" are looked up as MX; "[host]",
 *	"[host]:port", "[192.0.2.1]", "[ipv6:2001:db8::1]:25" name one host
 *	or address, no MX.  lmtp: "unix:/path", "inet:host:port",
 *	"inet:[host]:port" and "host[:port]": never MX.  Everything comes
 *	from qmgr (trusted), but a transport_maps entry is an admin's text:
 *	bad forms get a precise error instead of a guess.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"
#include "strnum.h"

static char nexthop_err[256];

/* parse_port - "25" into *port */
static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* set_host - copy a host name or address literal, checked */
static int set_host(struct smtp_dest *dest, const char *s, size_t len,
		    bool literal_ok)
{
	char tmp[DNS_NAME_MAX + 1];
	unsigned char buf[16];

	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (literal_ok && strncasecmp(tmp, "ipv6:", 5) == 0) {
		if (inet_pton(AF_INET6, tmp + 5, buf) != 1)
			return -1;
		memmove(tmp, tmp + 5, len - 4);
	} else if (!(literal_ok && (inet_pton(AF_INET, tmp, buf) == 1 ||
				    inet_pton(AF_INET6, tmp, buf) == 1))) {
		if (tmp[len - 1] == '.') /* a fully qualified "name." */
			tmp[len - 1] = '\0';
		if (!dns_valid_hostname(tmp))
			return -1;
	}
	snprintf(dest->host, sizeof(dest->host), "%s", tmp);
	return 0;
}

/* parse_hostport - "[host]:port", "[host]", "host:port", "host" */
static int parse_hostport(const char *s, struct smtp_dest *dest,
			  bool *bracketed_r)
{
	const char *colon;

	*bracketed_r = false;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL ||
		    set_host(dest, s + 1, close - s - 1, true) < 0)
			return -1;
		*bracketed_r = true;
		if (close[1] == '\0')
			return 0;
		if (close[1] != ':')
			return -1;
		return parse_port(close + 2, &dest->port);
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		return set_host(dest, s, strlen(s), false);
	if (set_host(dest, s, colon - s, false) < 0)
		return -1;
	return parse_port(colon + 1, &dest->port);
}

int smtp_nexthop_parse(const char *nexthop, bool lmtp, unsigned default_port,
		       struct smtp_dest *dest, const char **error_r)
{
	bool bracketed;

	memset(dest, 0, sizeof(*dest));
	dest->port = default_port;
	snprintf(nexthop_err, sizeof(nexthop_err), "bad nexthop \"%.100s\"",
		 nexthop);
	*error_r = nexthop_err;
	if (lmtp && strncmp(nexthop, "unix:", 5) == 0) {
		const char *path = nexthop + 5;

		if (path[0] != '/' || strlen(path) >= sizeof(dest->path))
			return -1;
		dest->kind = SMTP_DEST_UNIX;
		snprintf(dest->path, sizeof(dest->path), "%s", path);
		snprintf(dest->host, sizeof(dest->host), "localhost");
		return 0;
	}
	if (lmtp && strncmp(nexthop, "inet:", 5) == 0)
		nexthop += 5;
	if (parse_hostport(nexthop, dest, &bracketed) < 0)
		return -1;
	dest->kind = lmtp || bracketed ? SMTP_DEST_HOST : SMTP_DEST_MX;
	return 0;
}
