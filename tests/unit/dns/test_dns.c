/*
 * test_dns - unit tests for the pure parts of lib/dns/dns.c: the query
 * encoder, the answer parser on hand-made packets, MX sorting and the
 * server list syntax (the network part is tests/integration/test_dns.py)
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"

#define ID 0x1234

struct pkt {
	unsigned char b[4096];
	size_t len;
};

/* pkt_start - a response header + question for name/type */
static void pkt_start(struct pkt *p, const char *name, uint16_t type,
		      unsigned rcode)
{
	int n = dns_query_build(ID, name, type, p->b, sizeof(p->b));

	assert_true(n > 0);
	p->len = (size_t)n;
	p->b[2] |= 0x80; /* QR */
	p->b[3] = (unsigned char)rcode;
}

static void put(struct pkt *p, const void *data, size_t n)
{
	assert_true(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(p, b, 2);
}

/* count - bump the count of section s (0 an, 1 ns, 2 ar) */
static void count(struct pkt *p, int s)
{
	unsigned v = (unsigned)(p->b[6 + 2 * s] << 8 | p->b[7 + 2 * s]) + 1;

	p->b[6 + 2 * s] = (unsigned char)(v >> 8);
	p->b[7 + 2 * s] = (unsigned char)v;
}

/* rr_head - owner (wire bytes), type, class IN, ttl, rdlength */
static void rr_head(struct pkt *p, int s, const void *owner, size_t olen,
		    unsigned type, unsigned rdlen)
{
	count(p, s);
	put(p, owner, olen);
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	put16(p, rdlen);
}

static const unsigned char PTR_Q[] = {0xc0, 0x0c}; /* the question name */

/* mx - an MX at the question name, exchange in wire form */
static void mx(struct pkt *p, unsigned pref, const void *wire, size_t wlen)
{
	rr_head(p, 0, PTR_Q, 2, DNS_T_MX, (unsigned)(2 + wlen));
	put16(p, pref);
	put(p, wire, wlen);
}

static int parse(struct pkt *p, const char *name, uint16_t type,
		 struct dns_answer *ans, const char **err)
{
	return dns_answer_parse(p->b, p->len, ID, name, type, ans, err);
}

static void test_query_build(void **state)
{
	static const unsigned char want[] = {
		0x12, 0x34, 0x01, 0x00, 0,   1,	  0,   0,   0,	 0,
		0,    0,    7,	  'e',	'x', 'a', 'm', 'p', 'l', 'e',
		4,    't',  'e',  's',	't', 0,	  0,   15,  0,	 1};
	unsigned char buf[300];
	char label[70];

	(void)state;
	assert_int_equal(
		dns_query_build(ID, "example.test", DNS_T_MX, buf, sizeof(buf)),
		sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(dns_query_build(ID, "a..b", DNS_T_A, buf, sizeof(buf)),
			 -1);
	assert_int_equal(dns_query_build(ID, "", DNS_T_A, buf, sizeof(buf)),
			 13 + 4);
	memset(label, 'a', 64);
	label[64] = 0;
	assert_int_equal(dns_query_build(ID, label, DNS_T_A, buf, sizeof(buf)),
			 -1);
	label[63] = 0;
	assert_true(dns_query_build(ID, label, DNS_T_A, buf, sizeof(buf)) > 0);
	assert_int_equal(dns_query_build(ID, "example.test", DNS_T_A, buf, 20),
			 -1);
}

static void test_parse_mx(void **state)
{
	static const unsigned char mx1[] = {3, 'm', 'x', '1', 0xc0, 0x0c};
	static const unsigned char mx2[] = {3,	 'M', 'X', '2', 7,   'E',
					    'x', 'a', 'm', 'p', 'l', 'e',
					    4,	 't', 'e', 's', 't', 0};
	static const unsigned char a[] = {192, 0, 2, 1};
	struct dns_answer ans;
	struct pkt p;
	const char *err;

	(void)state;
	pkt_start(&p, "example.test", DNS_T_MX, 0);
	mx(&p, 20, mx2, sizeof(mx2));
	size_t mx1_off = p.len + 14; /* owner, fixed part, pref */
	mx(&p, 10, mx1, sizeof(mx1));
	/* Additional: mx1.example.test A, owner compressed to mx1's name. */
	unsigned char ptr[2] = {(unsigned char)(0xc0 | mx1_off >> 8),
				(unsigned char)mx1_off};
	rr_head(&p, 2, ptr, 2, DNS_T_A, 4);
	put(&p, a, 4);
	assert_int_equal(parse(&p, "Example.Test.", DNS_T_MX, &ans, &err), 0);
	assert_int_equal(ans.nrr, 3);
	assert_int_equal(ans.rcode, 0);
	assert_false(ans.tc);
	assert_string_equal(ans.rrs[0].name, "example.test");
	assert_int_equal(ans.rrs[0].pref, 20);
	assert_string_equal(ans.rrs[0].target, "mx2.example.test");
	assert_string_equal(ans.rrs[1].target, "mx1.example.test");
	assert_int_equal(ans.rrs[1].section, 1);
	assert_string_equal(ans.rrs[2].name, "mx1.example.test");
	assert_int_equal(ans.rrs[2].section, 3);
	assert_memory_equal(ans.rrs[2].addr, a, 4);
	dns_answer_release(&ans);
	assert_null(ans.rrs);
}

static void test_null_mx(void **state)
{
	static const unsigned char root[] = {0};
	struct dns_answer ans;
	struct pkt p;
	const char *err;

	(void)state;
	pkt_start(&p, "null.test", DNS_T_MX, 0);
	mx(&p, 0, root, 1);
	assert_int_equal(parse(&p, "null.test", DNS_T_MX, &ans, &err), 0);
	assert_int_equal(ans.nrr, 1);
	assert_int_equal(ans.rrs[0].pref, 0);
	assert_string_equal(ans.rrs[0].target, "");
	dns_answer_release(&ans);
}

static void test_header_checks(void **state)
{
	struct dns_answer ans;
	struct pkt p;
	const char *err;

	(void)state;
	pkt_start(&p, "example.test", DNS_T_MX, 0);
	assert_int_equal(dns_answer_parse(p.b, p.len, ID + 1, "example.test",
					  DNS_T_MX, &ans, &err),
			 -1);
	assert_string_equal(err, "answer id differs");
	assert_int_equal(parse(&p, "other.test", DNS_T_MX, &ans, &err), -1);
	assert_string_equal(err, "answer is for another question");
	assert_int_equal(parse(&p, "example.test", DNS_T_A, &ans, &err), -1);
	assert_string_equal(err, "answer is for another question");
	assert_int_equal(dns_answer_parse(p.b, 11, ID, "example.test", DNS_T_MX,
					  &ans, &err),
			 -1);
	assert_string_equal(err, "short answer");
	p.b[2] &= 0x7f; /* a query, not a response */
	assert_int_equal(parse(&p, "example.test", DNS_T_MX, &ans, &err), -1);
	assert_string_equal(err, "not a standard query response");
	/* NXDOMAIN without the question is accepted, with it too. */
	pkt_start(&p, "example.test", DNS_T_MX, 3);
	assert_int_equal(parse(&p, "example.test", DNS_T_MX, &ans, &err), 0);
	assert_int_equal(ans.rcode, 3);
	dns_answer_release(&ans);
	p.b[5] = 0;
	p.len = 12;
	assert_int_equal(parse(&p, "example.test", DNS_T_MX, &ans, &err), 0);
	dns_answer_release(&ans);
	p.b[3] = 0; /* NOERROR without a question: refused */
	assert_int_equal(parse(&p, "example.test", DNS_T_MX, &ans, &err), -1);
}

static void test_compression_loops(void **state)
{
	struct dns_answer ans;
	struct pkt p;
	const char *err;
	char out[DNS_NAME_MAX + 1];
	size_t next;
	size_t at;

	(void)state;
	/* An MX exchange pointing at itself. */
	pkt_start(&p, "loop.test", DNS_T_MX, 0);
	at = p.len + 12 + 2;
	unsigned char self[2] = {(unsigned char)(0xc0 | at >> 8),
				 (unsigned char)at};
	mx(&p, 10, self, 2);
	assert_int_equal(parse(&p, "loop.test", DNS_T_MX, &ans, &err), -1);
	assert_string_equal(err, "malformed record");
	/* A forward pointer, and a label then a pointer back to it. */
	static const unsigned char fwd[] = {0xc0, 0x30, 0, 0};
	assert_int_equal(dns_name_expand(fwd, sizeof(fwd), 0, out, &next), -1);
	static const unsigned char back[] = {1, 'a', 0xc0, 0x00};
	assert_int_equal(dns_name_expand(back, sizeof(back), 0, out, &next),
			 -1);
	/* A chain of two backward pointers is fine. */
	static const unsigned char chain[] = {1,    'a',  0,	1,   'b',
					      0xc0, 0x00, 0xc0, 0x03};
	assert_int_equal(dns_name_expand(chain, sizeof(chain), 7, out, &next),
			 0);
	assert_string_equal(out, "b.a");
	assert_int_equal(next, 9);
	/* Pointer cut in half; reserved label types. */
	static const unsigned char half[] = {1, 'a', 0xc0};
	assert_int_equal(dns_name_expand(half, sizeof(half), 0, out, &next),
			 -1);
	static const unsigned char ext[] = {0x41, 'a', 0};
	assert_int_equal(dns_name_expand(ext, sizeof(ext), 0, out, &next), -1);
}

static void test_name_expand(void **state)
{
	unsigned char buf[600];
	char out[DNS_NAME_MAX + 1];
	size_t next, pos = 0;
	int i;

	(void)state;
	static const unsigned char odd[] = {4, 'A', '.', 0x01, ' ',
					    2, 'o', 'K', 0};
	assert_int_equal(dns_name_expand(odd, sizeof(odd), 0, out, &next), 0);
	assert_string_equal(out, "a???.ok");
	assert_false(dns_valid_hostname(out));
	/* 4 labels of 63: 4 * 64 + 1 = 257 wire octets, too long. */
	for (i = 0; i < 4; i++) {
		buf[pos++] = 63;
		memset(buf + pos, 'x', 63);
		pos += 63;
	}
	buf[pos++] = 0;
	assert_int_equal(dns_name_expand(buf, pos, 0, out, &next), -1);
	/* 3 of 63 and one of 61: 255 octets, the maximum. */
	buf[3 * 64] = 61;
	buf[3 * 64 + 62] = 0;
	assert_int_equal(dns_name_expand(buf, 3 * 64 + 63, 0, out, &next), 0);
	assert_int_equal(strlen(out), 253);
	/* Running off the end. */
	assert_int_equal(dns_name_expand(buf, 100, 0, out, &next), -1);
}

static void test_truncated(void **state)
{
	static const unsigned char mx1[] = {3, 'm', 'x', '1', 0xc0, 0x0c};
	struct dns_answer ans;
	struct pkt p;
	const char *err;
	size_t full, cut;

	(void)state;
	pkt_start(&p, "example.test", DNS_T_MX, 0);
	mx(&p, 10, mx1, sizeof(mx1));
	mx(&p, 20, mx1, sizeof(mx1));
	full = p.len;
	for (cut = 30; cut < full; cut++) {
		p.len = cut;
		assert_int_equal(
			parse(&p, "example.test", DNS_T_MX, &ans, &err), -1);
	}
	/* With TC set, what is complete is kept (RFC 2181 §9). */
	p.b[2] |= 0x02;
	p.len = full - 3;
	assert_int_equal(parse(&p, "example.test", DNS_T_MX, &ans, &err), 0);
	assert_true(ans.tc);
	assert_int_equal(ans.nrr, 1);
	dns_answer_release(&ans);
	/* Bad lengths for A and MX. */
	pkt_start(&p, "a.test", DNS_T_A, 0);
	rr_head(&p, 0, PTR_Q, 2, DNS_T_A, 3);
	put(&p, "abc", 3);
	assert_int_equal(parse(&p, "a.test", DNS_T_A, &ans, &err), -1);
	/* MX whose name runs past its rdata. */
	pkt_start(&p, "a.test", DNS_T_MX, 0);
	rr_head(&p, 0, PTR_Q, 2, DNS_T_MX, 4);
	put(&p, "\0\1\3mx1\0", 7);
	assert_int_equal(parse(&p, "a.test", DNS_T_MX, &ans, &err), -1);
}

static void test_many_records(void **state)
{
	static const unsigned char a[] = {10, 0, 0, 0};
	struct dns_answer ans;
	struct pkt p;
	const char *err;
	int i;

	(void)state;
	pkt_start(&p, "many.test", DNS_T_A, 0);
	for (i = 0; i < DNS_RR_MAX + 20; i++) {
		rr_head(&p, 0, PTR_Q, 2, DNS_T_A, 4);
		put(&p, a, 3);
		put(&p, &(unsigned char){(unsigned char)i}, 1);
	}
	/* Skipped types and classes do not count. */
	rr_head(&p, 0, PTR_Q, 2, 16, 2);
	put(&p, "\1x", 2);
	assert_int_equal(parse(&p, "many.test", DNS_T_A, &ans, &err), 0);
	assert_int_equal(ans.nrr, DNS_RR_MAX);
	for (i = 0; i < DNS_RR_MAX; i++)
		assert_int_equal(ans.rrs[i].addr[3], i);
	dns_answer_release(&ans);
}

static void test_mx_sort(void **state)
{
	struct dns_host h[6];
	int first[3] = {0, 0, 0};
	int run, i;

	(void)state;
	for (run = 0; run < 100; run++) {
		memset(h, 0, sizeof(h));
		h[0].pref = 30;
		snprintf(h[0].name, sizeof(h[0].name), "d");
		for (i = 1; i <= 3; i++) {
			h[i].pref = 10;
			h[i].name[0] = (char)('a' + i - 1);
		}
		h[4].pref = 0;
		snprintf(h[4].name, sizeof(h[4].name), "z");
		h[5].pref = 65535;
		snprintf(h[5].name, sizeof(h[5].name), "last");
		dns_mx_sort(h, 6, NULL);
		assert_string_equal(h[0].name, "z");
		for (i = 1; i <= 3; i++)
			assert_int_equal(h[i].pref, 10);
		assert_true(h[1].name[0] != h[2].name[0] &&
			    h[2].name[0] != h[3].name[0] &&
			    h[1].name[0] != h[3].name[0]);
		assert_string_equal(h[4].name, "d");
		assert_string_equal(h[5].name, "last");
		first[h[1].name[0] - 'a']++;
	}
	/* Each of the three equal hosts came first at least once. */
	for (i = 0; i < 3; i++)
		assert_true(first[i] > 0);
	dns_mx_sort(h, 0, NULL);
}

static void test_servers(void **state)
{
	const char *err = NULL;
	const char *good[] = {"127.0.0.1", "127.0.0.1:5353", "[::1]:53"};
	const char *good2[] = {"::1", "[2001:db8::1]"};
	const char *bad[] = {"127.0.0.1:0", "127.0.0.1:65536", "host.test",
			     "[::1",	    "[::1]x",	       "1.2.3.4:x",
			     "::1:53x"};
	size_t i;

	(void)state;
	assert_int_equal(dns_set_servers(good, 3, &err), 0);
	assert_int_equal(dns_set_servers(good2, 2, &err), 0);
	assert_int_equal(dns_set_servers(NULL, 0, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dns_set_servers(&bad[i], 1, &err), -1);
		assert_non_null(strstr(err, "dns_servers: bad server"));
	}
	const char *four[] = {"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"};
	assert_int_equal(dns_set_servers(four, 4, &err), -1);
}

static void test_helpers(void **state)
{
	struct dns_addr a = {.family = AF_INET6};
	char buf[64];

	(void)state;
	assert_string_equal(dns_status_dsn(DNS_NULLMX), "5.1.10");
	assert_string_equal(dns_status_dsn(DNS_NOTFOUND), "5.1.2");
	assert_string_equal(dns_status_dsn(DNS_TEMPFAIL), "4.4.3");
	assert_true(dns_status_permanent(DNS_NULLMX));
	assert_true(dns_status_permanent(DNS_NOTFOUND));
	assert_false(dns_status_permanent(DNS_TEMPFAIL));
	assert_false(dns_status_permanent(DNS_OK));
	a.u.v6.s6_addr[15] = 1;
	assert_string_equal(dns_addr_str(&a, buf, sizeof(buf)), "::1");
	assert_true(dns_valid_hostname("mx1.example-1.test"));
	assert_true(dns_valid_hostname("_x.test"));
	assert_false(dns_valid_hostname(""));
	assert_false(dns_valid_hostname("a..b"));
	assert_false(dns_valid_hostname(".a"));
	assert_false(dns_valid_hostname("a."));
	assert_false(dns_valid_hostname("a b"));
	assert_false(dns_valid_hostname("192.0.2.1]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_build),
		cmocka_unit_test(test_parse_mx),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_compression_loops),
		cmocka_unit_test(test_name_expand),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_mx_sort),
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
