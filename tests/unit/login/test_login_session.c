/*
 * test_login_session - unit tests for lib/login/login_session.c
 *
 * The session/1 frame comes from the unprivileged login process and the
 * mail-session/1 frame from the dispatcher: both are read strictly.
 * Frames are built with the attr writer, attribute by attribute, so each
 * test can leave one out, add one, or give one a bad value, and the
 * reader must refuse it with the attribute's name in the error.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attr.h"
#include "login.h"
#include "mail_user.h"
#include "strbuf.h"

/* The attributes of a good frame, in order; NULL value: leave it out. */
struct kv {
	const char *name;
	const char *value;
};

static const struct kv good_imap[] = {
	{"protocol", "imap"},	 {"user", "bob@example.com"},
	{"client", "192.0.2.7"}, {"client_port", "54321"},
	{"local_port", "993"},	 {"tls", "yes"},
	{"tag", "a001"},	 {"sasl_method", "PLAIN"},
};
#define NGOOD (sizeof(good_imap) / sizeof(good_imap[0]))

static const struct kv good_user[] = {
	{"maildir", "/var/vmail/example.com/bob/"},
	{"home", "/var/vmail/example.com/bob"},
	{"uid", "5000"},
	{"gid", "5000"},
	{"is_system", "0"},
};
#define NUSER (sizeof(good_user) / sizeof(good_user[0]))

/*
 * decode_with - a frame of proto with the good attributes, except that
 * attribute `change` gets `value` (NULL: left out); extra adds one more.
 * with_user adds the mail_user attributes.  Returns the decoded list.
 */
static struct attr_list *decode_with(const char *proto, bool with_user,
				     const char *change, const char *value,
				     const char *extra)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	const char *err;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, proto);
	for (size_t i = 0; i < NGOOD + (with_user ? NUSER : 0); i++) {
		const struct kv *kv =
			i < NGOOD ? &good_imap[i] : &good_user[i - NGOOD];
		const char *v = kv->value;

		if (change != NULL && strcmp(change, kv->name) == 0) {
			if (value == NULL)
				continue;
			v = value;
		}
		attr_put_str(&w, kv->name, v);
	}
	if (extra != NULL)
		attr_put_str(&w, extra, "x");
	attr_writer_end(&w);
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &err);
	assert_non_null(list);
	strbuf_release(&out);
	return list;
}

/* refused - read must fail and name `what` in its error */
static void refused(struct attr_list *list, bool with_user, const char *what)
{
	struct login_session s;
	struct mail_user u;
	const char *err = NULL;

	assert_int_equal(
		login_session_read(list, &s, with_user ? &u : NULL, &err), -1);
	assert_non_null(err);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not name \"%s\"", err, what);
	attr_list_free(&list);
}

static void test_roundtrip_session(void **state)
{
	struct login_session in = {
		.protocol = "pop3",
		.user = "alice",
		.client = "2001:db8::1",
		.client_port = "1",
		.local_port = "110",
		.tls = false,
		.tag = "",
		.sasl_method = "LOGIN",
	};
	struct login_session out;
	struct strbuf buf;
	struct attr_list *list;
	const char *err;

	(void)state;
	strbuf_init(&buf, STRBUF_NO_LIMIT);
	login_session_write(&buf, &in, NULL);
	assert_true(buf.len <= LOGIN_SESSION_MAX);
	list = attr_decode(buf.data + 4, buf.len - 4, &err);
	assert_non_null(list);
	assert_string_equal(list->proto, "session/1");
	assert_int_equal(login_session_read(list, &out, NULL, &err), 0);
	assert_string_equal(out.protocol, "pop3");
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.client, "2001:db8::1");
	assert_string_equal(out.client_port, "1");
	assert_string_equal(out.local_port, "110");
	assert_false(out.tls);
	assert_string_equal(out.tag, "");
	assert_string_equal(out.sasl_method, "LOGIN");
	attr_list_free(&list);
	strbuf_release(&buf);
}

static void test_roundtrip_mail_session(void **state)
{
	struct login_session in = {
		.protocol = "imap",
		.user = "bob@example.com",
		.client = "127.0.0.1",
		.client_port = "40000",
		.local_port = "143",
		.tls = true,
		.tag = "A1",
		.sasl_method = "PLAIN",
	};
	struct mail_user user = {
		.name = "bob@example.com",
		.maildir = "/srv/mail/bob/Maildir/",
		.home = NULL,
		.uid = 5000,
		.gid = 5001,
		.is_system = 1,
	};
	struct login_session out;
	struct mail_user uout;
	struct strbuf buf;
	struct attr_list *list;
	const char *err;

	(void)state;
	strbuf_init(&buf, STRBUF_NO_LIMIT);
	login_session_write(&buf, &in, &user);
	list = attr_decode(buf.data + 4, buf.len - 4, &err);
	assert_non_null(list);
	assert_string_equal(list->proto, "mail-session/1");
	assert_int_equal(login_session_read(list, &out, &uout, &err), 0);
	assert_true(out.tls);
	assert_string_equal(out.tag, "A1");
	assert_string_equal(uout.name, "bob@example.com");
	assert_string_equal(uout.maildir, "/srv/mail/bob/Maildir/");
	assert_null(uout.home);
	assert_int_equal(uout.uid, 5000);
	assert_int_equal(uout.gid, 5001);
	assert_int_equal(uout.is_system, 1);
	attr_list_free(&list);

	/* A mail-session/1 is not a session/1, and the other way round. */
	list = attr_decode(buf.data + 4, buf.len - 4, &err);
	refused(list, false, "protocol");
	refused(decode_with("session/1", false, NULL, NULL, NULL), true,
		"protocol");
	strbuf_release(&buf);

	/* uid (uid_t)-1: "none known", as an unprivileged instance has. */
	user.uid = (uid_t)-1;
	strbuf_init(&buf, STRBUF_NO_LIMIT);
	login_session_write(&buf, &in, &user);
	list = attr_decode(buf.data + 4, buf.len - 4, &err);
	assert_int_equal(login_session_read(list, &out, &uout, &err), 0);
	assert_int_equal(uout.uid, (uid_t)-1);
	attr_list_free(&list);
	strbuf_release(&buf);
}

static void test_missing_and_extra(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGOOD; i++)
		refused(decode_with("session/1", false, good_imap[i].name, NULL,
				    NULL),
			false, good_imap[i].name);
	for (size_t i = 0; i < NUSER; i++)
		refused(decode_with("mail-session/1", true, good_user[i].name,
				    NULL, NULL),
			true, good_user[i].name);
	refused(decode_with("session/1", false, NULL, NULL, "password"), false,
		"password");
	refused(decode_with("session/2", false, NULL, NULL, NULL), false,
		"protocol");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *attr, *value;
	} bad[] = {
		{"protocol", "smtp"},
		{"protocol", "IMAP"},
		{"protocol", ""},
		{"user", ""},
		{"user", "a/b"},
		{"user", ".."},
		{"user", "."},
		{"user", "bob\nx"},
		{"user", "bob\x7f"},
		{"client", ""},
		{"client", "1.2.3.4 x"},
		{"client", "0123456789012345678901234567890123456789"
			   "0123456789012345678901234567890123456789"},
		{"client_port", ""},
		{"client_port", "65536"},
		{"client_port", "-1"},
		{"client_port", "12a"},
		{"local_port", " 143"},
		{"tls", "YES"},
		{"tls", "1"},
		{"tag", ""},
		{"tag", "a+b"},
		{"tag", "a b"},
		{"tag", "a{"},
		{"tag", "\xc3\xa9"},
		{"sasl_method", ""},
		{"sasl_method", "plain"},
		{"sasl_method", "PLAIN LOGIN"},
	};
	char longname[LOGIN_USER_MAX + 2];
	char longtag[LOGIN_TAG_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(decode_with("session/1", false, bad[i].attr,
				    bad[i].value, NULL),
			false, bad[i].attr);
	memset(longname, 'u', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	refused(decode_with("session/1", false, "user", longname, NULL), false,
		"user");
	memset(longtag, 't', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	refused(decode_with("session/1", false, "tag", longtag, NULL), false,
		"tag");
}

static void test_pop3_tag(void **state)
{
	struct strbuf out;
	struct attr_writer w;
	struct attr_list *list;
	struct login_session s;
	const char *err;

	(void)state;
	/* POP3 has no tag: it must be empty. */
	for (int with_tag = 0; with_tag < 2; with_tag++) {
		strbuf_init(&out, STRBUF_NO_LIMIT);
		attr_writer_begin(&w, &out, "session/1");
		attr_put_str(&w, "protocol", "pop3");
		attr_put_str(&w, "user", "u");
		attr_put_str(&w, "client", "::1");
		attr_put_str(&w, "client_port", "0");
		attr_put_str(&w, "local_port", "995");
		attr_put_str(&w, "tls", "no");
		attr_put_str(&w, "tag", with_tag ? "a1" : "");
		attr_put_str(&w, "sasl_method", "PLAIN");
		attr_writer_end(&w);
		list = attr_decode(out.data + 4, out.len - 4, &err);
		assert_non_null(list);
		assert_int_equal(login_session_read(list, &s, NULL, &err),
				 with_tag ? -1 : 0);
		attr_list_free(&list);
		strbuf_release(&out);
	}
}

static void test_bad_user_values(void **state)
{
	static const struct {
		const char *attr, *value;
	} bad[] = {
		{"maildir", ""},
		{"maildir", "Maildir/"},
		{"maildir", "/var/mail/bob"},
		{"maildir", "/var/mail/\nbob/"},
		{"home", "relative"},
		{"uid", "-1"},
		{"uid", "4294967296"},
		{"uid", "x"},
		{"gid", "-5"},
		{"is_system", "2"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(decode_with("mail-session/1", true, bad[i].attr,
				    bad[i].value, NULL),
			true, bad[i].attr);
}

static void test_unavailable_reply(void **state)
{
	struct login_session s = {.protocol = "imap", .tag = "x1"};
	char buf[128];

	(void)state;
	assert_string_equal(
		login_unavailable_reply(&s, "Try later", buf, sizeof(buf)),
		"x1 NO [UNAVAILABLE] Try later\r\n");
	s.tag = "";
	assert_string_equal(login_unavailable_reply(&s, "T", buf, sizeof(buf)),
			    "* NO [UNAVAILABLE] T\r\n");
	s.protocol = "pop3";
	assert_string_equal(login_unavailable_reply(&s, "T", buf, sizeof(buf)),
			    "-ERR [SYS/TEMP] T\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_session),
		cmocka_unit_test(test_roundtrip_mail_session),
		cmocka_unit_test(test_missing_and_extra),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_pop3_tag),
		cmocka_unit_test(test_bad_user_values),
		cmocka_unit_test(test_unavailable_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
