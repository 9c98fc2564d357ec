/*
 * test_mail_user - unit tests for lib/store/mail_user.c
 *
 * A passwd-file (answered by a stand-in userdb service, testlib_userdb.c:
 * mail_user.c asks auth instead of reading it), virtual_mailbox_maps and
 * virtual_uid_maps/gid_maps in a temporary directory; the answers must be those local delivery uses
 * (local/local_deliver.c): the Maildir path and the owner.
 */
#include "autoconf.h"

#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "config.h"
#include "mail_user.h"
#include "testlib.h"

struct fixture {
	char *dir;
	struct config *cfg;
	pid_t userdb;
};

/* reload - main.cf from text, and a userdb service for its passwd-file */
static void reload(struct fixture *f, const char *text)
{
	const char *error = NULL;
	char *full = xasprintf("queue_directory = %s\n%s", f->dir, text);

	if (f->userdb != 0)
		testlib_userdb_stop(f->userdb, f->dir);
	config_free(&f->cfg);
	f->cfg = config_create(f->dir);
	if (config_load_string(f->cfg, "main.cf", full, &error) < 0)
		fail_msg("config: %s", error);
	f->userdb = testlib_userdb_start(
		f->dir, config_str(f->cfg, "auth_passwd_file"));
	free(full);
}

static struct fixture *setup_cfg(const char *extra)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *pw, *maps, *uids, *text;

	f->dir = testlib_tmpdir();
	pw = testlib_write_file(
		f->dir, "passwd",
		"alice@example.com:{PLAIN}x:1001:1002::/home/alice::\n"
		"bob@example.com:{PLAIN}x::::::\n"
		"carol@example.com:{PLAIN}x:1003:::::\n"
		"dave@local.test:{PLAIN}x:1004:1004::/home/dave::\n"
		"erin@local.test:{PLAIN}x:1005:1005::::\n"
		"frank:{PLAIN}x:1006:1006::/home/frank::\n");
	maps = testlib_write_file(f->dir, "vmailbox",
				  "carol@example.com example.com/carol-box/\n"
				  "@bad.test ../escape/\n");
	uids = testlib_write_file(f->dir, "vuids", "bob@example.com 2001\n");
	text = xasprintf("auth_passwd_file = %s\n"
			 "virtual_mailbox_base = /var/vmail\n"
			 "virtual_mailbox_maps = texthash:%s\n"
			 "virtual_uid_maps = texthash:%s\n"
			 "virtual_gid_maps = static:3000\n"
			 "mydestination = local.test, localhost\n"
			 "%s",
			 pw, maps, uids, extra);
	reload(f, text);
	free(text);
	free(pw);
	free(maps);
	free(uids);
	return f;
}

static void teardown_cfg(struct fixture *f)
{
	if (f->userdb != 0)
		testlib_userdb_stop(f->userdb, f->dir);
	config_free(&f->cfg);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f);
}

static void expect(struct fixture *f, const char *name, int ret,
		   const char *canon, const char *maildir, long uid, long gid)
{
	struct mail_user u;
	const char *error = NULL;
	int r = mail_user_lookup(f->cfg, name, &u, &error);

	if (r != ret)
		fail_msg("%s: %d (%s), wanted %d", name, r, r < 0 ? error : "",
			 ret);
	if (r == 1) {
		assert_string_equal(u.name, canon);
		assert_string_equal(u.maildir, maildir);
		assert_int_equal((long)u.uid, uid);
		assert_int_equal((long)u.gid, gid);
	} else {
		assert_null(u.name);
		assert_null(u.maildir);
	}
	mail_user_clear(&u);
}

static void test_virtual(void **state)
{
	struct fixture *f = setup_cfg("");

	(void)state;
	/* A home: home/Maildir/, the entry's ids. */
	expect(f, "alice@example.com", 1, "alice@example.com",
	       "/home/alice/Maildir/", 1001, 1002);
	expect(f, "alice@EXAMPLE.com", 1, "alice@example.com",
	       "/home/alice/Maildir/", 1001, 1002);
	/* No home, no map entry: base/DOMAIN/USER/; ids from the maps. */
	expect(f, "bob@example.com", 1, "bob@example.com",
	       "/var/vmail/example.com/bob/", 2001, 3000);
	/* A map entry. */
	expect(f, "carol@example.com", 1, "carol@example.com",
	       "/var/vmail/example.com/carol-box/", 1003, 3000);
	expect(f, "nobody@example.com", 0, NULL, NULL, 0, 0);
	expect(f, "", 0, NULL, NULL, 0, 0);
	teardown_cfg(f);
}

static void test_local(void **state)
{
	struct fixture *f = setup_cfg("home_mailbox = Mail/box/\n");
	struct passwd *root = getpwuid(0);
	char *md;

	(void)state;
	/* A LOCAL domain: the passwd-file entry's home + home_mailbox. */
	expect(f, "dave@local.test", 1, "dave@local.test",
	       "/home/dave/Mail/box/", 1004, 1004);
	{
		struct mail_user u;
		const char *error = NULL;

		assert_int_equal(
			mail_user_lookup(f->cfg, "erin@local.test", &u, &error),
			-1);
		assert_non_null(strstr(error, "no home"));
	}
	/* A system account, bare or in mydestination. */
	assert_non_null(root);
	md = xasprintf("%s/Mail/box/",
		       strcmp(root->pw_dir, "/") == 0 ? "" : root->pw_dir);
	{
		struct mail_user u;
		const char *error = NULL;

		assert_int_equal(
			mail_user_lookup(f->cfg, root->pw_name, &u, &error), 1);
		assert_true(u.is_system);
		assert_int_equal(u.uid, 0);
		assert_non_null(strstr(u.maildir, "/Mail/box/"));
		mail_user_clear(&u);
		assert_int_equal(
			mail_user_lookup(f->cfg, "root@LOCALHOST", &u, &error),
			1);
		assert_true(u.is_system);
		mail_user_clear(&u);
		/* Not a local domain: no system account there. */
		assert_int_equal(mail_user_lookup(f->cfg, "root@example.org",
						  &u, &error),
				 0);
	}
	free(md);
	/* A bare passwd-file user. */
	expect(f, "frank", 1, "frank", "/home/frank/Mail/box/", 1006, 1006);
	teardown_cfg(f);
}

static void test_realm(void **state)
{
	struct fixture *f = setup_cfg("auth_default_realm = example.com\n");
	struct mail_user u;
	const char *error = NULL;

	(void)state;
	expect(f, "alice", 1, "alice@example.com", "/home/alice/Maildir/", 1001,
	       1002);
	/* A system account still answers to its bare name. */
	assert_int_equal(mail_user_lookup(f->cfg, "root", &u, &error), 1);
	assert_true(u.is_system);
	mail_user_clear(&u);
	teardown_cfg(f);
}

static void test_bad_tables(void **state)
{
	struct fixture *f = setup_cfg("");
	struct mail_user u;
	const char *error = NULL;

	(void)state;
	teardown_cfg(f);
	/* A map value escaping the base is refused, not followed. */
	f = setup_cfg("");
	{
		char *pw = testlib_write_file(f->dir, "passwd2",
					      "x@bad.test:{PLAIN}x:1:1::::\n");
		char *text = xasprintf("auth_passwd_file = %s\n"
				       "virtual_mailbox_base = /var/vmail\n"
				       "virtual_mailbox_maps = texthash:%s/"
				       "vmailbox\n",
				       pw, f->dir);

		reload(f, text);
		assert_int_equal(
			mail_user_lookup(f->cfg, "x@bad.test", &u, &error), -1);
		assert_non_null(strstr(error, "relative"));
		free(text);
		free(pw);
	}
	/* A passwd-file that cannot be read is a temporary failure. */
	{
		char *text =
			xasprintf("auth_passwd_file = %s/missing\n", f->dir);

		reload(f, text);
		assert_int_equal(
			mail_user_lookup(f->cfg, "y@example.net", &u, &error),
			-1);
		free(text);
	}
	teardown_cfg(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtual),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_realm),
		cmocka_unit_test(test_bad_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
