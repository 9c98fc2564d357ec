/*
 * test_userdb - unit tests for lib/global/userdb.c and userdb_client.c
 *
 * The protocol functions are checked on frames built by hand (a missing,
 * extra or malformed attribute each makes the frame malformed), the
 * client against a stand-in service (testlib_userdb.c) and against a
 * fake one that answers fixed bytes: a malformed or oversized reply, or
 * a closed connection, is a temporary failure, never "unknown user".
 */
#include "autoconf.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "attr.h"
#include "done_frame.h"
#include "net.h"
#include "strbuf.h"
#include "testlib.h"
#include "userdb.h"
#include "userdb_client.h"

/* A name/value pair for a hand-built frame; NULL name ends the list. */
struct kv {
	const char *name;
	const char *value;
};

/* decode - a list from proto and pairs (built with the writer) */
static struct attr_list *decode(const char *proto, const struct kv *kv)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	const char *error = NULL;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, proto);
	for (; kv != NULL && kv->name != NULL; kv++)
		attr_put_str(&w, kv->name, kv->value);
	attr_writer_end(&w);
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_non_null(list);
	strbuf_release(&out);
	return list;
}

/* request_ok - whether a userdb/1 frame passes the server's check */
static int request_ok(const char *proto, const struct kv *kv)
{
	struct attr_list *list = decode(proto, kv);
	const char *user, *error = NULL;
	int r = userdb_request_parse(list, &user, &error);

	if (r < 0)
		assert_non_null(error);
	attr_list_free(&list);
	return r;
}

/* reply - userdb_reply_parse on pairs; entry cleared afterwards */
static int reply(const struct kv *kv, enum userdb_result *res,
		 struct userdb_entry *e)
{
	struct attr_list *list = decode(USERDB_RESULT_PROTO, kv);
	const char *reason, *error = NULL;
	int r = userdb_reply_parse(list, res, e, &reason, &error);

	if (r < 0)
		assert_non_null(error);
	attr_list_free(&list);
	return r;
}

static void test_request(void **state)
{
	char long_name[USERDB_USER_MAX + 2];
	struct strbuf out;
	struct attr_list *list;
	const char *user, *error;

	(void)state;
	/* What the client writes, the server takes. */
	strbuf_init(&out, STRBUF_NO_LIMIT);
	userdb_request_frame(&out, "bob@example.com");
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_non_null(list);
	assert_int_equal(userdb_request_parse(list, &user, &error), 0);
	assert_string_equal(user, "bob@example.com");
	attr_list_free(&list);
	strbuf_release(&out);

	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", "a"}, {0}}), 0);
	/* Wrong protocol, missing user, an extra attribute. */
	assert_int_equal(
		request_ok("auth/1", (struct kv[]){{"user", "a"}, {0}}), -1);
	assert_int_equal(
		request_ok("userdb/2", (struct kv[]){{"user", "a"}, {0}}), -1);
	assert_int_equal(request_ok("userdb/1", NULL), -1);
	assert_int_equal(request_ok("userdb/1", (struct kv[]){{"user", "a"},
							      {"password", "x"},
							      {0}}),
			 -1);
	/* Names the passwd-file cannot hold, and the length cap. */
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", ""}, {0}}), -1);
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", "a:b"}, {0}}),
		-1);
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", "a b"}, {0}}),
		-1);
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", "a\nb"}, {0}}),
		-1);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", long_name}, {0}}),
		-1);
	long_name[USERDB_USER_MAX] = '\0';
	assert_int_equal(
		request_ok("userdb/1", (struct kv[]){{"user", long_name}, {0}}),
		0);
}

static void test_request_nul_byte(void **state)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	const char *user, *error;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, USERDB_PROTO);
	attr_put_data(&w, "user", "bob\0root", 8);
	attr_writer_end(&w);
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_non_null(list);
	assert_int_equal(userdb_request_parse(list, &user, &error), -1);
	attr_list_free(&list);
	strbuf_release(&out);
}

static void test_reply_roundtrip(void **state)
{
	struct userdb_entry in = {.user = "bob@example.com",
				  .home = "/home/bob",
				  .has_uid = true,
				  .uid = 1001,
				  .has_gid = false};
	struct userdb_entry out_e;
	enum userdb_result res;
	struct strbuf out;
	struct attr_list *list;
	const char *reason, *error;

	(void)state;
	strbuf_init(&out, STRBUF_NO_LIMIT);
	userdb_reply_frame(&out, USERDB_OK, &in, "");
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_non_null(list);
	assert_int_equal(
		userdb_reply_parse(list, &res, &out_e, &reason, &error), 0);
	assert_int_equal(res, USERDB_OK);
	assert_string_equal(out_e.user, "bob@example.com");
	assert_string_equal(out_e.home, "/home/bob");
	assert_true(out_e.has_uid);
	assert_int_equal(out_e.uid, 1001);
	assert_false(out_e.has_gid);
	userdb_entry_clear(&out_e);
	attr_list_free(&list);
	/* The frame carries no password of any kind. */
	assert_null(memmem(out.data, out.len, "password", 8));
	strbuf_release(&out);

	strbuf_init(&out, STRBUF_NO_LIMIT);
	userdb_reply_frame(&out, USERDB_NOTFOUND, NULL, "");
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &error);
	assert_int_equal(
		userdb_reply_parse(list, &res, &out_e, &reason, &error), 0);
	assert_int_equal(res, USERDB_NOTFOUND);
	assert_null(out_e.user);
	attr_list_free(&list);
	strbuf_release(&out);
}

static void test_reply_malformed(void **state)
{
	enum userdb_result res;
	struct userdb_entry e;

	(void)state;
	assert_int_equal(reply((struct kv[]){{"result", "tempfail"},
					     {"reason", "x"},
					     {0}},
			       &res, &e),
			 0);
	assert_int_equal(res, USERDB_TEMPFAIL);
	/* No reason, an unknown result, an ok without user or home. */
	assert_int_equal(
		reply((struct kv[]){{"result", "notfound"}, {0}}, &res, &e),
		-1);
	assert_int_equal(
		reply((struct kv[]){{"result", "maybe"}, {"reason", ""}, {0}},
		      &res, &e),
		-1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"home", "/h"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {0}},
			       &res, &e),
			 -1);
	/* A relative or control-character home, a bad user name. */
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", "home/a"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", "/h\r"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a:0"},
					     {"home", "/h"},
					     {0}},
			       &res, &e),
			 -1);
	/* uid/gid: numbers in range only. */
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", ""},
					     {"uid", "-1"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", ""},
					     {"gid", "4294967295"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", ""},
					     {"uid", "12x"},
					     {0}},
			       &res, &e),
			 -1);
	/* Strict: an attribute nobody reads (a hash!) is an error. */
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", ""},
					     {"password", "{PLAIN}x"},
					     {0}},
			       &res, &e),
			 -1);
	assert_int_equal(reply((struct kv[]){{"result", "notfound"},
					     {"reason", ""},
					     {"user", "a"},
					     {0}},
			       &res, &e),
			 -1);
	/* And a good one with both ids. */
	assert_int_equal(reply((struct kv[]){{"result", "ok"},
					     {"reason", ""},
					     {"user", "a"},
					     {"home", ""},
					     {"uid", "0"},
					     {"gid", "4294967294"},
					     {0}},
			       &res, &e),
			 0);
	assert_true(e.has_uid && e.has_gid);
	assert_int_equal(e.gid, 4294967294u);
	userdb_entry_clear(&e);
}

static void test_done(void **state)
{
	struct attr_list *list;
	const char *error;
	bool reuse;

	(void)state;
	list = decode("done/1", (struct kv[]){{"reuse", "1"}, {0}});
	assert_int_equal(done_frame_parse(list, &reuse, &error), 0);
	assert_true(reuse);
	attr_list_free(&list);
	list = decode("done/1", (struct kv[]){{"reuse", "2"}, {0}});
	assert_int_equal(done_frame_parse(list, &reuse, &error), -1);
	attr_list_free(&list);
	list = decode("result/1", (struct kv[]){{"reuse", "1"}, {0}});
	assert_int_equal(done_frame_parse(list, &reuse, &error), -1);
	attr_list_free(&list);
}

/* ------------------------------------------------------------ client */

static void test_client(void **state)
{
	char *dir = testlib_tmpdir();
	char *pw = testlib_write_file(
		dir, "passwd",
		"bob@example.com:{PLAIN}secret:1001:1002::/home/bob::\n");
	struct userdb_client *c = userdb_client_create(dir);
	const struct userdb_entry *e;
	const char *error = NULL;
	pid_t pid;

	(void)state;
	/* Nobody listening: a temporary failure. */
	assert_int_equal(userdb_client_lookup(c, "bob@example.com", &e, &error),
			 -1);
	assert_non_null(strstr(error, "userdb"));

	pid = testlib_userdb_start(dir, pw);
	assert_int_equal(userdb_client_lookup(c, "bob@example.com", &e, &error),
			 1);
	assert_string_equal(e->home, "/home/bob");
	assert_int_equal(e->uid, 1001);
	assert_int_equal(e->gid, 1002);
	assert_int_equal(userdb_client_lookup(c, "eve@example.com", &e, &error),
			 0);
	/* A name the protocol cannot carry is unknown, not an error. */
	assert_int_equal(userdb_client_lookup(c, "a:b", &e, &error), 0);

	/* The server goes and comes back: the kept connection is stale,
	 * the client reconnects once (cached answers aside). */
	testlib_userdb_stop(pid, dir);
	pid = testlib_userdb_start(dir, pw);
	assert_int_equal(
		userdb_client_lookup(c, "carol@example.com", &e, &error), 0);

	/* Answers are cached for USERDB_CACHE_TTL, "not found" too: known
	 * even with the service gone (asked just now, so well within). */
	assert_int_equal(userdb_client_lookup(c, "bob@example.com", &e, &error),
			 1);
	testlib_userdb_stop(pid, dir);
	assert_int_equal(
		userdb_client_lookup(c, "carol@example.com", &e, &error), 0);
	/* Not cached: the failure shows. */
	assert_int_equal(
		userdb_client_lookup(c, "dave@example.com", &e, &error), -1);

	userdb_client_free(&c);
	assert_null(c);
	testlib_rmtree(dir);
	free(pw);
	free(dir);
}

/* fake_server - answer the first request on path with fixed bytes */
static pid_t fake_server(const char *dir, const void *bytes, size_t len)
{
	char *sdir = xasprintf("%s/private", dir);
	char *path = xasprintf("%s/%s", dir, USERDB_SOCKET);
	const char *error;
	pid_t pid;
	int lfd;

	(void)mkdir(sdir, 0700);
	(void)unlink(path);
	lfd = net_listen_unix(path, 0600, 4, &error);
	assert_true(lfd >= 0);
	(void)net_set_nonblock(lfd, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[1024];
		int fd = accept(lfd, NULL, NULL);

		(void)!read(fd, buf, sizeof(buf));
		(void)!write(fd, bytes, len);
		close(fd);
		_exit(0);
	}
	close(lfd);
	free(sdir);
	free(path);
	return pid;
}

/* lookup_against - one lookup against a fake answer */
static int lookup_against(const void *bytes, size_t len)
{
	char *dir = testlib_tmpdir();
	struct userdb_client *c = userdb_client_create(dir);
	const struct userdb_entry *e;
	const char *error = NULL;
	pid_t pid = fake_server(dir, bytes, len);
	int r = userdb_client_lookup(c, "bob@example.com", &e, &error);

	if (r < 0)
		assert_non_null(strstr(error, "userdb"));
	userdb_client_free(&c);
	(void)waitpid(pid, NULL, 0);
	testlib_rmtree(dir);
	free(dir);
	return r;
}

static void test_client_bad_replies(void **state)
{
	struct strbuf out;
	struct attr_writer w;
	struct userdb_entry e = {.user = "bob@example.com", .home = ""};

	(void)state;
	/* Nothing at all; garbage; a length prefix past the cap. */
	assert_int_equal(lookup_against("", 0), -1);
	assert_int_equal(lookup_against("\0\0\0\3abc", 7), -1);
	assert_int_equal(lookup_against("\0\1\0\0", 4), -1);
	/* A good result without its done/1. */
	strbuf_init(&out, STRBUF_NO_LIMIT);
	userdb_reply_frame(&out, USERDB_NOTFOUND, NULL, "");
	assert_int_equal(lookup_against(out.data, out.len), -1);
	/* ... and with it: unknown (the control case). */
	attr_writer_begin(&w, &out, DONE_FRAME_PROTO);
	attr_put_int(&w, "reuse", 0);
	attr_writer_end(&w);
	assert_int_equal(lookup_against(out.data, out.len), 0);
	strbuf_reset(&out);
	userdb_reply_frame(&out, USERDB_OK, &e, "");
	attr_writer_begin(&w, &out, DONE_FRAME_PROTO);
	attr_put_int(&w, "reuse", 0);
	attr_writer_end(&w);
	assert_int_equal(lookup_against(out.data, out.len), 1);
	/* A tempfail answer is a failure, not "unknown". */
	strbuf_reset(&out);
	userdb_reply_frame(&out, USERDB_TEMPFAIL, NULL, "db down");
	attr_writer_begin(&w, &out, DONE_FRAME_PROTO);
	attr_put_int(&w, "reuse", 1);
	attr_writer_end(&w);
	assert_int_equal(lookup_against(out.data, out.len), -1);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_nul_byte),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_client_bad_replies),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
