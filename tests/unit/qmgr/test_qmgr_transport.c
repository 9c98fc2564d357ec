/*
 * test_qmgr_transport - unit tests for qmgr's routing (qmgr_transport.c):
 * the class defaults, relayhost, the transport_maps key order and the
 * value forms, and entries that must not be used as they are
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "qmgr.h"
#include "resolve.h"
#include "testlib.h"

struct fixture {
	char *dir;
	struct config *cfg;
	struct qmgr qm;
};

static const char TABLE[] = "user@map.test testagent:[addr.example]:2526\n"
			    "map.test smtp:domain-hop.example\n"
			    ".sub.test lmtp:unix:/run/lmtp.sock\n"
			    "exact.test lmtp:inet:127.0.0.1:24\n"
			    "err.test error:5.1.1 No such mailbox here\n"
			    "plainerr.test error:\n"
			    "soft.test error:4.7.1 later\n"
			    "nodsn.test error:5.x.1 text\n"
			    "disc.test discard:dropped\n"
			    "disc2.test discard:\n"
			    "nohop.test relay:\n"
			    "onlyhop.test :[gw.example]\n"
			    "keep.test :\n"
			    "bad.test ../x:y\n"
			    "sp.test smtp:a b\n";

/* The fixture being set up, for the test that expects a fatal. */
static struct fixture *pending;

/* setup - a configuration with extra main.cf text and the table */
static struct fixture *setup(const char *extra, bool table)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *text, *path = NULL;
	const char *error;

	f->dir = testlib_tmpdir();
	if (table)
		path = testlib_write_file(f->dir, "transport", TABLE);
	f->cfg = config_create(f->dir);
	if (asprintf(&text,
		     "myhostname = mail.example.test\n"
		     "recipient_delimiter = +\n"
		     "transport_maps = %s%s\n%s",
		     path ? "texthash:" : "", path ? path : "", extra) < 0)
		abort();
	assert_int_equal(config_load_string(f->cfg, "main.cf", text, &error),
			 0);
	free(text);
	free(path);
	f->qm.cfg = f->cfg;
	pending = f;
	qmgr_transport_init(&f->qm);
	pending = NULL;
	return f;
}

static void teardown(struct fixture *f)
{
	qmgr_transport_free(&f->qm);
	config_free(&f->cfg);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
}

/* route - check the route of address (of class cls) */
static void route(struct fixture *f, const char *address, int cls,
		  enum qmgr_route_kind kind, const char *transport,
		  const char *nexthop, const char *dsn)
{
	struct qmgr_dest d = {.address = (char *)address, .cls = cls};
	struct qmgr_route r;

	qmgr_transport_route(&f->qm, &d, &r);
	/* Virtual mailboxes take the default destination limit, not
	 * local's (qmgr_deliver.c), whatever their transport. */
	if (kind == QMGR_ROUTE_AGENT &&
	    r.virtual_mailbox != (cls == RESOLVE_VIRTUAL))
		fail_msg("%s: virtual_mailbox %d for class %d", address,
			 r.virtual_mailbox, cls);
	if (r.kind != kind || strcmp(r.transport, transport) != 0 ||
	    strcmp(r.nexthop, nexthop) != 0 ||
	    (dsn != NULL && strcmp(r.dsn, dsn) != 0))
		fail_msg("%s: got %d %s [%s] %s, want %d %s [%s] %s", address,
			 r.kind, r.transport, r.nexthop, r.dsn, kind, transport,
			 nexthop, dsn ? dsn : "-");
	qmgr_route_release(&r);
}

static void test_defaults(void **state)
{
	struct fixture *f = setup("", false);

	(void)state;
	route(f, "bob@example.test", RESOLVE_LOCAL, QMGR_ROUTE_AGENT, "local",
	      "mail.example.test", NULL);
	route(f, "bob", RESOLVE_LOCAL, QMGR_ROUTE_AGENT, "local",
	      "mail.example.test", NULL);
	route(f, "bob@virt.test", RESOLVE_VIRTUAL, QMGR_ROUTE_AGENT, "local",
	      "virt.test", NULL);
	/* The domain in lower case, without a trailing dot. */
	route(f, "bob@Remote.Example.", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "remote.example", NULL);
	teardown(f);
}

static void test_relayhost(void **state)
{
	struct fixture *f = setup("relayhost = [smart.example]:587\n", true);

	(void)state;
	route(f, "a@remote.example", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "[smart.example]:587", NULL);
	/* Not for local mail; transport_maps wins. */
	route(f, "a@example.test", RESOLVE_LOCAL, QMGR_ROUTE_AGENT, "local",
	      "mail.example.test", NULL);
	route(f, "a@map.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "domain-hop.example", NULL);
	/* :nexthop keeps the class transport; nexthop given, as written. */
	route(f, "a@onlyhop.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "[gw.example]", NULL);
	/* ":" alone changes nothing. */
	route(f, "a@keep.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "[smart.example]:587", NULL);
	teardown(f);
	/* A next hop in default_transport beats relayhost. */
	f = setup("relayhost = [smart.example]\n"
		  "default_transport = smtp:[fixed.example]:25\n",
		  false);
	route(f, "a@remote.example", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "[fixed.example]:25", NULL);
	teardown(f);
}

static void test_table_keys(void **state)
{
	struct fixture *f = setup("", true);

	(void)state;
	route(f, "user@map.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "testagent",
	      "[addr.example]:2526", NULL);
	route(f, "USER+box@MAP.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT,
	      "testagent", "[addr.example]:2526", NULL);
	route(f, "other@map.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "domain-hop.example", NULL);
	/* "map.test" does not match subdomains; ".sub.test" only those. */
	route(f, "x@a.map.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "a.map.test", NULL);
	route(f, "x@sub.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "smtp",
	      "sub.test", NULL);
	route(f, "x@a.b.sub.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "lmtp",
	      "unix:/run/lmtp.sock", NULL);
	route(f, "x@exact.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "lmtp",
	      "inet:127.0.0.1:24", NULL);
	/* Empty next hop: the recipient domain. */
	route(f, "x@nohop.test", RESOLVE_RELAY, QMGR_ROUTE_AGENT, "relay",
	      "nohop.test", NULL);
	teardown(f);
}

static void test_error_discard(void **state)
{
	struct fixture *f = setup("", true);

	(void)state;
	route(f, "x@err.test", RESOLVE_RELAY, QMGR_ROUTE_ERROR, "error",
	      "No such mailbox here", "5.1.1");
	route(f, "x@plainerr.test", RESOLVE_RELAY, QMGR_ROUTE_ERROR, "error",
	      "mail for this address is refused", "5.0.0");
	route(f, "x@soft.test", RESOLVE_RELAY, QMGR_ROUTE_ERROR, "error",
	      "later", "4.7.1");
	/* Not a status: all of it is text. */
	route(f, "x@nodsn.test", RESOLVE_RELAY, QMGR_ROUTE_ERROR, "error",
	      "5.x.1 text", "5.0.0");
	route(f, "x@disc.test", RESOLVE_RELAY, QMGR_ROUTE_DISCARD, "discard",
	      "dropped", "2.0.0");
	route(f, "x@disc2.test", RESOLVE_RELAY, QMGR_ROUTE_DISCARD, "discard",
	      "discarded", "2.0.0");
	teardown(f);
}

static void test_bad_entries(void **state)
{
	struct fixture *f = setup("", true);

	(void)state;
	route(f, "x@bad.test", RESOLVE_RELAY, QMGR_ROUTE_DEFER, "none",
	      "transport_maps: invalid transport in \"../x:y\"", "4.3.0");
	route(f, "x@sp.test", RESOLVE_RELAY, QMGR_ROUTE_DEFER, "none",
	      "transport_maps: malformed next hop in \"smtp:a b\"", "4.3.0");
	teardown(f);
	/* A table that cannot be opened: deferred, never the default. */
	f = setup("transport_maps = hash:/nonexistent/transport\n", false);
	{
		struct qmgr_dest d = {.address = "x@remote.example",
				      .cls = RESOLVE_RELAY};
		struct qmgr_route r;

		qmgr_transport_route(&f->qm, &d, &r);
		assert_int_equal(r.kind, QMGR_ROUTE_DEFER);
		assert_string_equal(r.dsn, "4.3.0");
		assert_non_null(strstr(r.nexthop, "transport_maps"));
		qmgr_route_release(&r);
	}
	teardown(f);
}

static void test_bad_defaults(void **state)
{
	(void)state;
	testlib_capture_logs();
	if (TESTLIB_EXPECT_FATAL())
		setup("default_transport = ../smtp\n", false);
	assert_true(testlib_log_contains("default_transport = ../smtp"));
	assert_non_null(pending);
	teardown(pending);
	pending = NULL;
	testlib_release_logs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_table_keys),
		cmocka_unit_test(test_error_discard),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_bad_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
