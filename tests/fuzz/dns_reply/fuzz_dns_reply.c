/*
 * fuzz_dns_reply - libFuzzer target for the DNS answer parser
 *
 * SYNOPSIS
 *	tests/fuzz/dns_reply/fuzz_dns_reply [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	The first input byte picks the query type (A, AAAA, MX, CNAME); the
 *	rest is the DNS message, copied to a buffer of exactly its length.
 *	The query name is the message's own question name when it expands
 *	(else "example.test") and the id its own, so the parser goes past
 *	the header.  Checks: dns_answer_parse() keeps at most DNS_RR_MAX
 *	records, every name and target is NUL-terminated, at most 253
 *	octets and free of control characters and blanks; MX records sort
 *	by preference through dns_mx_sort(); dns_name_expand() at every
 *	offset either fails or stays within bounds.  A broken promise calls
 *	abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports, leaks and timeouts, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort when a promise is broken */
static void check(int ok)
{
	if (!ok)
		abort();
}

/* check_name - a name the parser handed back */
static void check_name(const char *name)
{
	size_t len = strnlen(name, DNS_NAME_MAX + 1), i;

	check(len <= 253);
	for (i = 0; i < len; i++)
		check((unsigned char)name[i] > 0x20 &&
		      (unsigned char)name[i] < 0x7f &&
		      !(name[i] >= 'A' && name[i] <= 'Z'));
}

static uint32_t fixed_rnd(void)
{
	static uint32_t x = 12345;

	x = x * 1103515245u + 12345u;
	return x >> 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX,
					 DNS_T_CNAME};
	char name[DNS_NAME_MAX + 1];
	struct dns_host *hosts;
	struct dns_answer ans;
	const char *err;
	unsigned char *buf;
	size_t len, i, n = 0, next;
	uint16_t id = 0, type;

	if (size < 1)
		return 0;
	type = types[data[0] % 4];
	len = size - 1;
	buf = malloc(len > 0 ? len : 1);
	check(buf != NULL);
	memcpy(buf, data + 1, len);
	if (len >= 2)
		id = (uint16_t)(buf[0] << 8 | buf[1]);
	if (len <= 12 || dns_name_expand(buf, len, 12, name, &next) < 0)
		memcpy(name, "example.test", sizeof("example.test"));
	if (dns_answer_parse(buf, len, id, name, type, &ans, &err) == 0) {
		check(ans.nrr <= DNS_RR_MAX);
		hosts = calloc(ans.nrr + 1, sizeof(*hosts));
		check(hosts != NULL);
		for (i = 0; i < ans.nrr; i++) {
			check_name(ans.rrs[i].name);
			check_name(ans.rrs[i].target);
			check(ans.rrs[i].section >= 1 &&
			      ans.rrs[i].section <= 3);
			if (ans.rrs[i].type == DNS_T_MX) {
				hosts[n].pref = ans.rrs[i].pref;
				memcpy(hosts[n].name, ans.rrs[i].target,
				       sizeof(hosts[n].name));
				n++;
			}
		}
		dns_mx_sort(hosts, n, fixed_rnd);
		for (i = 1; i < n; i++)
			check(hosts[i - 1].pref <= hosts[i].pref);
		free(hosts);
		dns_answer_release(&ans);
	} else {
		check(err != NULL && *err != 0);
	}
	for (i = 0; i < len && i < 600; i++) {
		if (dns_name_expand(buf, len, i, name, &next) == 0) {
			check(next > i && next <= len);
			check_name(name);
		}
	}
	free(buf);
	return 0;
}
