/*
 * login_session - the session/1 and mail-session/1 frames
 *
 * SYNOPSIS
 *	#include "login.h"
 *
 *	void login_session_write(struct strbuf *out,
 *				 const struct login_session *s,
 *				 const struct mail_user *user);
 *	int login_session_read(struct attr_list *list,
 *			       struct login_session *s,
 *			       struct mail_user *user, const char **error_r);
 *	const char *login_unavailable_reply(const struct login_session *s,
 *					    const char *text, char *buf,
 *					    size_t size);
 *
 * DESCRIPTION
 *	The login process (unprivileged, it parsed everything the client
 *	sent before authentication) tells the root dispatcher who logged
 *	in; the dispatcher tells a worker the same plus where the mailbox
 *	is and who owns it.  Both readers treat the frame as untrusted
 *	(STYLE.md §7: input from a less privileged process): the attribute
 *	set is fixed, every value has a type and a bound, and a frame with
 *	an attribute nobody read is refused (attr_list_end()).
 *
 *	The user name is the canonical name auth returned; it must still
 *	be a plausible name here (no '/', no control characters, not "."
 *	or "..") because it reaches mail_user_lookup() and the logs.
 *
 * DIAGNOSTICS
 *	login_session_read() returns -1 with a static text naming the
 *	attribute and what is wrong with it.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "login.h"
#include "mail_user.h"
#include "strbuf.h"
#include "strnum.h"

/* login_session_write - encode a frame */
void login_session_write(struct strbuf *out, const struct login_session *s,
			 const struct mail_user *user)
{
	struct attr_writer w;

	attr_writer_begin(
		&w, out, user ? LOGIN_MAIL_SESSION_PROTO : LOGIN_SESSION_PROTO);
	attr_put_str(&w, "protocol", s->protocol);
	attr_put_str(&w, "user", s->user);
	attr_put_str(&w, "client", s->client);
	attr_put_str(&w, "client_port", s->client_port);
	attr_put_str(&w, "local_port", s->local_port);
	attr_put_str(&w, "tls", s->tls ? "yes" : "no");
	attr_put_str(&w, "tag", s->tag ? s->tag : "");
	attr_put_str(&w, "sasl_method", s->sasl_method);
	if (user != NULL) {
		attr_put_str(&w, "maildir", user->maildir);
		attr_put_str(&w, "home", user->home ? user->home : "");
		attr_put_int(&w, "uid", (int64_t)user->uid);
		attr_put_int(&w, "gid", (int64_t)user->gid);
		attr_put_int(&w, "is_system", user->is_system ? 1 : 0);
	}
	attr_writer_end(&w);
}

/* text_ok - 0..max bytes of printable ASCII or UTF-8, no controls */
static bool text_ok(const char *v, size_t max)
{
	size_t len = strlen(v);

	if (len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* tag_ok - RFC 9051 tag: 1*<ASTRING-CHAR except "+"> */
static bool tag_ok(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len > LOGIN_TAG_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c) != NULL)
			return false;
	}
	return true;
}

/* port_ok - a decimal port number */
static bool port_ok(const char *v)
{
	unsigned int port;

	return str_to_uint(v, &port) == 0 && port <= 65535;
}

/* method_ok - a SASL mechanism name (RFC 4422 §3.1) */
static bool method_ok(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len > LOGIN_METHOD_MAX)
		return false;
	return strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == len;
}

/* path_ok - an absolute path without control characters */
static bool path_ok(const char *v, bool may_be_empty)
{
	if (*v == '\0')
		return may_be_empty;
	return v[0] == '/' && text_ok(v, LOGIN_PATH_MAX);
}

/* id_ok - a uid or gid, 0..2^32-1 ((uid_t)-1: none known) */
static bool id_ok(int64_t v)
{
	return v >= 0 && v <= (int64_t)UINT32_MAX;
}

/* login_session_read - decode and check a frame */
int login_session_read(struct attr_list *list, struct login_session *s,
		       struct mail_user *user, const char **error_r)
{
	static char error[128];
	const char *protocol, *name, *client, *cport, *lport, *tls, *tag,
		*method;
	const char *maildir, *home;
	int64_t uid, gid, is_system;
	const char *bad = NULL;
	bool want_user = user != NULL;

	if (strcmp(list->proto, want_user ? LOGIN_MAIL_SESSION_PROTO
					  : LOGIN_SESSION_PROTO) != 0) {
		*error_r = "unexpected protocol";
		return -1;
	}
	if (attr_get_str(list, "protocol", &protocol, error_r) < 0 ||
	    attr_get_str(list, "user", &name, error_r) < 0 ||
	    attr_get_str(list, "client", &client, error_r) < 0 ||
	    attr_get_str(list, "client_port", &cport, error_r) < 0 ||
	    attr_get_str(list, "local_port", &lport, error_r) < 0 ||
	    attr_get_str(list, "tls", &tls, error_r) < 0 ||
	    attr_get_str(list, "tag", &tag, error_r) < 0 ||
	    attr_get_str(list, "sasl_method", &method, error_r) < 0)
		return -1;
	if (want_user &&
	    (attr_get_str(list, "maildir", &maildir, error_r) < 0 ||
	     attr_get_str(list, "home", &home, error_r) < 0 ||
	     attr_get_int(list, "uid", &uid, error_r) < 0 ||
	     attr_get_int(list, "gid", &gid, error_r) < 0 ||
	     attr_get_int(list, "is_system", &is_system, error_r) < 0))
		return -1;
	if (attr_list_end(list, error_r) < 0)
		return -1;

	if (strcmp(protocol, "imap") != 0 && strcmp(protocol, "pop3") != 0)
		bad = "protocol";
	else if (*name == '\0' || !text_ok(name, LOGIN_USER_MAX) ||
		 strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
		 strcmp(name, "..") == 0)
		bad = "user";
	else if (*client == '\0' || !text_ok(client, LOGIN_CLIENT_MAX) ||
		 strchr(client, ' ') != NULL)
		bad = "client";
	else if (!port_ok(cport))
		bad = "client_port";
	else if (!port_ok(lport))
		bad = "local_port";
	else if (strcmp(tls, "yes") != 0 && strcmp(tls, "no") != 0)
		bad = "tls";
	else if (protocol[0] == 'i' ? !tag_ok(tag) : *tag != '\0')
		bad = "tag";
	else if (!method_ok(method))
		bad = "sasl_method";
	else if (want_user && (!path_ok(maildir, false) ||
			       maildir[strlen(maildir) - 1] != '/'))
		bad = "maildir";
	else if (want_user && !path_ok(home, true))
		bad = "home";
	else if (want_user && !id_ok(uid))
		bad = "uid";
	else if (want_user && !id_ok(gid))
		bad = "gid";
	else if (want_user && is_system != 0 && is_system != 1)
		bad = "is_system";
	if (bad != NULL) {
		snprintf(error, sizeof(error), "attribute '%s': bad value",
			 bad);
		*error_r = error;
		return -1;
	}
	s->protocol = protocol;
	s->user = name;
	s->client = client;
	s->client_port = cport;
	s->local_port = lport;
	s->tls = tls[0] == 'y';
	s->tag = tag;
	s->sasl_method = method;
	if (want_user) {
		memset(user, 0, sizeof(*user));
		user->name = (char *)name;
		user->maildir = (char *)maildir;
		user->home = *home ? (char *)home : NULL;
		user->uid = (uid_t)uid;
		user->gid = (gid_t)gid;
		user->is_system = (int)is_system;
	}
	return 0;
}

/* login_unavailable_reply - the temporary error of the protocol */
const char *login_unavailable_reply(const struct login_session *s,
				    const char *text, char *buf, size_t size)
{
	if (strcmp(s->protocol, "pop3") == 0)
		snprintf(buf, size, "-ERR [SYS/TEMP] %s\r\n", text);
	else
		snprintf(buf, size, "%s NO [UNAVAILABLE] %s\r\n",
			 s->tag && *s->tag ? s->tag : "*", text);
	return buf;
}
