/*
 * test_resolve - unit tests for lib/global/resolve.c
 *
 * Tables are texthash: sources (no database to build); the passwd-file is
 * a temporary file that a stand-in userdb service (testlib_userdb.c)
 * answers from, since resolve.c asks auth instead of reading it.
 * getpwnam() is the real one: "root" exists on every system we test on.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "alloc.h"
#include "config.h"
#include "resolve.h"
#include "testlib.h"

struct fixture {
	char *dir;
	struct config *cfg;
	struct resolver *res;
	pid_t userdb; /* 0: none */
};

/* make - a resolver over main.cf text plus the test tables */
static struct fixture *make(const char *extra)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *aliases, *valias, *vmbox, *pw, *text;
	const char *error;

	f->dir = testlib_tmpdir();
	aliases = testlib_write_file(f->dir, "aliases",
				     "info: bob\nsales: bob, alice\n");
	valias = testlib_write_file(f->dir, "valias",
				    "fwd@virt.test bob@example.test\n"
				    "@catch.test bob@example.test\n");
	vmbox = testlib_write_file(f->dir, "vmbox",
				   "carol@virt.test virt.test/carol/\n");
	pw = testlib_write_file(f->dir, "passwd",
				"dave@virt.test:{PLAIN}x:1000:1000::/home/d::\n"
				"erin@example.test:{PLAIN}x:::::\n");
	text = xasprintf("mydestination = example.test, localhost\n"
			 "virtual_mailbox_domains = virt.test, catch.test\n"
			 "alias_maps = texthash:%s\n"
			 "virtual_alias_maps = texthash:%s\n"
			 "virtual_mailbox_maps = texthash:%s\n"
			 "auth_passwd_file = %s\n"
			 "recipient_delimiter = +\n"
			 "queue_directory = %s\n%s",
			 aliases, valias, vmbox, pw, f->dir, extra);
	f->cfg = config_create(f->dir);
	assert_int_equal(config_load_string(f->cfg, "main.cf", text, &error),
			 0);
	f->userdb = testlib_userdb_start(
		f->dir, config_str(f->cfg, "auth_passwd_file"));
	f->res = resolver_create(f->cfg, &error);
	assert_non_null(f->res);
	free(aliases);
	free(valias);
	free(vmbox);
	free(pw);
	free(text);
	return f;
}

/* destroy - undo make() */
static void destroy(struct fixture *f)
{
	resolver_free(&f->res);
	assert_null(f->res);
	if (f->userdb != 0)
		testlib_userdb_stop(f->userdb, f->dir);
	config_free(&f->cfg);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
}

/* exists - resolver_recipient_exists, which must not fail */
static int exists(struct fixture *f, const char *addr)
{
	const char *error = NULL;
	int r = resolver_recipient_exists(f->res, addr, &error);

	if (r < 0)
		fail_msg("%s: %s", addr, error);
	return r;
}

static void test_class(void **state)
{
	struct fixture *f = make("");

	(void)state;
	assert_int_equal(resolver_class(f->res, "bob@example.test"),
			 RESOLVE_LOCAL);
	assert_int_equal(resolver_class(f->res, "bob@EXAMPLE.Test."),
			 RESOLVE_LOCAL);
	assert_int_equal(resolver_class(f->res, "bob"), RESOLVE_LOCAL);
	assert_int_equal(resolver_class(f->res, "x@virt.test"),
			 RESOLVE_VIRTUAL);
	assert_int_equal(resolver_class(f->res, "x@elsewhere.test"),
			 RESOLVE_RELAY);
	assert_int_equal(resolver_class(f->res, "x@sub.example.test"),
			 RESOLVE_RELAY);
	assert_true(resolver_domain_is_ours(f->res, "Virt.Test"));
	assert_true(resolver_domain_is_ours(f->res, "localhost"));
	assert_false(resolver_domain_is_ours(f->res, "elsewhere.test"));
	destroy(f);
}

static void test_local_exists(void **state)
{
	struct fixture *f = make("");

	(void)state;
	assert_int_equal(exists(f, "postmaster@example.test"), 1);
	assert_int_equal(exists(f, "PostMaster@example.test"), 1);
	assert_int_equal(exists(f, "info@example.test"), 1);
	assert_int_equal(exists(f, "Sales@localhost"), 1);
	assert_int_equal(exists(f, "root@example.test"), 1);
	assert_int_equal(exists(f, "root+ext@example.test"), 1);
	assert_int_equal(exists(f, "root"), 1);
	assert_int_equal(exists(f, "erin@example.test"), 1);
	assert_int_equal(exists(f, "nosuchuser-x7@example.test"), 0);
	assert_int_equal(exists(f, "+root@example.test"), 0);
	/* Not ours to judge. */
	assert_int_equal(exists(f, "anyone@elsewhere.test"), 1);
	destroy(f);
}

static void test_virtual_exists(void **state)
{
	struct fixture *f = make("");

	(void)state;
	assert_int_equal(exists(f, "fwd@virt.test"), 1);
	assert_int_equal(exists(f, "carol@virt.test"), 1);
	assert_int_equal(exists(f, "Carol+x@VIRT.test"), 1);
	assert_int_equal(exists(f, "dave@virt.test"), 1);
	assert_int_equal(exists(f, "dave+tag@virt.test"), 1);
	assert_int_equal(exists(f, "anything@catch.test"), 1);
	assert_int_equal(exists(f, "nobody@virt.test"), 0);
	/* A system account is no virtual user. */
	assert_int_equal(exists(f, "root@virt.test"), 0);
	destroy(f);
}

static void test_no_delimiter(void **state)
{
	struct fixture *f = make("recipient_delimiter =\n");

	(void)state;
	assert_int_equal(exists(f, "root+ext@example.test"), 0);
	destroy(f);
}

static void test_missing_map_is_tempfail(void **state)
{
	struct fixture *f = make("alias_maps = hash:/nonexistent/aliases\n");
	const char *error = NULL;

	(void)state;
	assert_int_equal(
		resolver_recipient_exists(f->res, "root@example.test", &error),
		-1);
	assert_non_null(error);
	assert_non_null(strstr(error, "alias_maps"));
	assert_non_null(strstr(error, "/nonexistent/aliases"));
	/* postmaster needs no table. */
	assert_int_equal(exists(f, "postmaster@example.test"), 1);
	/* Virtual lookups do not use alias_maps. */
	assert_int_equal(exists(f, "carol@virt.test"), 1);
	destroy(f);
}

static void test_missing_passwd_is_tempfail(void **state)
{
	struct fixture *f = make("auth_passwd_file = /nonexistent/passwd\n");
	const char *error = NULL;

	(void)state;
	assert_int_equal(
		resolver_recipient_exists(f->res, "zed@virt.test", &error), -1);
	assert_non_null(strstr(error, "auth_passwd_file"));
	destroy(f);
}

/* The passwd-file is asked of the service, never opened here. */
static void test_passwd_via_userdb(void **state)
{
	struct fixture *f = make("");
	char *pw = xasprintf("%s/passwd", f->dir);
	const char *error = NULL;

	(void)state;
	/* Point main.cf elsewhere: the service still answers from pw. */
	resolver_free(&f->res);
	config_free(&f->cfg);
	f->cfg = config_create(f->dir);
	{
		char *text = xasprintf("virtual_mailbox_domains = virt.test\n"
				       "auth_passwd_file = /nonexistent/x\n"
				       "queue_directory = %s\n",
				       f->dir);

		assert_int_equal(
			config_load_string(f->cfg, "main.cf", text, &error), 0);
		free(text);
	}
	f->res = resolver_create(f->cfg, &error);
	assert_non_null(f->res);
	assert_int_equal(exists(f, "dave@virt.test"), 1);
	assert_int_equal(exists(f, "nobody@virt.test"), 0);
	/* auth down: a temporary failure, never "unknown". */
	testlib_userdb_stop(f->userdb, f->dir);
	f->userdb = 0;
	assert_int_equal(
		resolver_recipient_exists(f->res, "zed@virt.test", &error), -1);
	assert_non_null(strstr(error, "userdb"));
	free(pw);
	destroy(f);
}

static void test_bad_table_name(void **state)
{
	struct config *cfg = config_create(NULL);
	const char *error = NULL;

	(void)state;
	assert_int_equal(config_load_string(cfg, "main.cf",
					    "virtual_alias_maps = nocolon\n",
					    &error),
			 0);
	assert_null(resolver_create(cfg, &error));
	assert_non_null(error);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_local_exists),
		cmocka_unit_test(test_virtual_exists),
		cmocka_unit_test(test_no_delimiter),
		cmocka_unit_test(test_missing_map_is_tempfail),
		cmocka_unit_test(test_missing_passwd_is_tempfail),
		cmocka_unit_test(test_passwd_via_userdb),
		cmocka_unit_test(test_bad_table_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
