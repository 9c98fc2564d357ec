/*
 * dnsq - print the route lib/dns finds, for the integration tests
 *
 * SYNOPSIS
 *	dnsq [-s server[,server...]] [-t timeout_ms] [-r tries] [-4|-6]
 *	     mx|addr NAME
 *
 * DESCRIPTION
 *	Runs dns_mx_route() (mx) or dns_lookup_addrs() (addr) on NAME, with
 *	the given servers ("host[:port]", "[v6]:port"; default: resolv.conf)
 *	and timeout, IPv4 only (-4), IPv6 only (-6) or both.  Prints
 *
 *		ok [implicit]
 *		host PREF NAME ADDR...		(one line per host, in order)
 *
 *	or one line "STATUS DSN MESSAGE" (STATUS: tempfail, notfound,
 *	nullmx, invalid).
 *
 * DIAGNOSTICS
 *	Exit 0 on success, 2 on a temporary failure, 3 on a permanent one,
 *	64 on a usage error.  Never installed.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "strnum.h"
#include "dns.h"

/* usage - complain and exit */
static int usage(void)
{
	fprintf(stderr, "usage: dnsq [-s servers] [-t timeout_ms] [-r tries] "
			"[-4|-6] mx|addr NAME\n");
	return 64;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"ok", "tempfail", "notfound",
					    "nullmx", "invalid"};
	const char *servers[DNS_SERVERS_MAX];
	char *list = NULL, *p, *comma;
	unsigned flags = DNS_FLAG_ALL, timeout = DNS_TIMEOUT_MS;
	unsigned tries = DNS_TRIES;
	size_t nservers = 0, i, k;
	struct dns_route *route = NULL;
	enum dns_status status;
	const char *error = "";
	char abuf[64];
	int c;

	while ((c = getopt(argc, argv, "s:t:r:46")) != -1) {
		switch (c) {
		case 's':
			free(list);
			list = xstrdup(optarg);
			break;
		case 't':
			if (str_to_uint(optarg, &timeout) < 0)
				return usage();
			break;
		case 'r':
			if (str_to_uint(optarg, &tries) < 0)
				return usage();
			break;
		case '4':
			flags = DNS_FLAG_IPV4;
			break;
		case '6':
			flags = DNS_FLAG_IPV6;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	for (p = list; p != NULL && *p != 0; p = comma) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma++ = 0;
		if (nservers == DNS_SERVERS_MAX)
			return usage();
		servers[nservers++] = p;
	}
	if (dns_set_servers(servers, nservers, &error) < 0) {
		fprintf(stderr, "dnsq: %s\n", error);
		free(list);
		return 64;
	}
	dns_set_timeout(timeout, tries);
	if (strcmp(argv[optind], "mx") == 0)
		status = dns_mx_route(argv[optind + 1], flags, &route, &error);
	else if (strcmp(argv[optind], "addr") == 0)
		status = dns_lookup_addrs(argv[optind + 1], flags, &route,
					  &error);
	else
		return usage();
	free(list);
	if (status != DNS_OK) {
		printf("%s %s %s\n", names[status], dns_status_dsn(status),
		       error);
		return dns_status_permanent(status) ? 3 : 2;
	}
	printf("ok%s\n", route->implicit_mx ? " implicit" : "");
	for (i = 0; i < route->nhosts; i++) {
		printf("host %u %s", route->hosts[i].pref,
		       route->hosts[i].name);
		for (k = 0; k < route->hosts[i].naddrs; k++)
			printf(" %s", dns_addr_str(&route->hosts[i].addrs[k],
						   abuf, sizeof(abuf)));
		printf("\n");
	}
	dns_route_free(&route);
	return 0;
}
