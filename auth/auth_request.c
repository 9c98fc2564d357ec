/*
 * auth_request - answer one auth/1 request
 *
 * SYNOPSIS
 *	#include "auth.h"
 *
 *	void auth_request(struct server *srv, int fd, struct attr_list *list);
 *
 * DESCRIPTION
 *	The skeleton hands over a connection and its first frame.  The
 *	request is checked (protocol, attributes, lengths), the login name
 *	made canonical (auth_default_realm appended to a bare name, domain
 *	part lowercased), looked up in the passwd-file, then, for a bare
 *	name with auth_system_users, in the system's accounts; the password
 *	is verified against the stored hash (password.c).
 *
 *	ok and tempfail are answered at once.  fail is answered after
 *	auth_failure_delay on a libevent timer, so that guessing is slow
 *	while the process keeps serving others.  An unknown user costs a
 *	hash computation like a known one, so that timing does not tell
 *	which names exist.  The reply is written without blocking; then the
 *	connection is closed.
 *
 *	The password check itself runs in the event loop: a SHA512-CRYPT or
 *	yescrypt hash takes milliseconds, which is acceptable for the
 *	request rates of a mail server.
 *
 * DIAGNOSTICS
 *	"auth: service=S user=<U> client=A: ok", "...: failed (unknown
 *	user)", "...: failed (password mismatch)", "...: tempfail (why)";
 *	"auth: bad request: why" for a request that does not parse.  A
 *	passwd-file hash that libcrypt refuses is an error naming the file
 *	and line.  User names are truncated in the log; passwords never
 *	appear.
 *
 * SECURITY
 *	The request comes from smtpd/imapd/pop3d, less privileged
 *	processes that relay what a network client sent: every attribute is
 *	checked for presence, length and full consumption.  Every value of
 *	the request list (the password among them) is wiped before it is
 *	freed, as is the copy of the hash read from the system.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <pwd.h>
#include <shadow.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "auth.h"
#include "auth_client.h"
#include "log.h"
#include "passwd_file.h"
#include "password.h"
#include "server.h"
#include "strbuf.h"
#include "userdb.h"

/* Verified for an unknown user, so that it costs the time of a known one. */
#define AUTH_DUMMY_HASH                                                         \
	"{SHA512-CRYPT}$6$Ks5yMqzBkOaSR1wh$pgYADbA/Fw8.AnrRErTjAYo9pqiWhhmbSj2" \
	"2bWgjz0Cgit9SmHTAJ.giWlrS.XYxr3zj/eYRrhSFcaVwNWs11/"

/* How long we try to hand the reply to a client that does not read. */
#define AUTH_WRITE_TIMEOUT 10

struct auth_conn {
	struct server *srv;
	int fd;
	struct event *ev;
	struct strbuf out;
	size_t sent;
};

/* auth_wipe_list - wipe every value (the password) and free the list */
static void auth_wipe_list(struct attr_list **listp)
{
	struct attr_list *list = *listp;

	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		memzero_explicit(list->attrs[i].value, list->attrs[i].len);
	attr_list_free(listp);
}

/* auth_conn_close - close the connection and tell the skeleton */
static void auth_conn_close(struct auth_conn *conn)
{
	struct server *srv = conn->srv;

	if (conn->ev != NULL)
		event_free(conn->ev);
	close(conn->fd);
	strbuf_release(&conn->out);
	free(conn);
	server_conn_done(srv);
}

/* auth_conn_write - send (the rest of) the reply, then close */
static void auth_conn_write(evutil_socket_t fd, short what, void *arg)
{
	struct auth_conn *conn = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		log_warn("auth: reply write timeout");
		auth_conn_close(conn);
		return;
	}
	while (conn->sent < conn->out.len) {
		ssize_t n = send(conn->fd, conn->out.data + conn->sent,
				 conn->out.len - conn->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct timeval tv = {.tv_sec = AUTH_WRITE_TIMEOUT};

			if (conn->ev != NULL)
				event_free(conn->ev);
			conn->ev = event_new(server_event_base(conn->srv),
					     conn->fd, EV_WRITE,
					     auth_conn_write, conn);
			if (conn->ev == NULL)
				log_fatal("event_new failed");
			event_add(conn->ev, &tv);
			return;
		}
		if (n < 0) {
			/* The client gave up waiting: nothing to tell. */
			break;
		}
		conn->sent += (size_t)n;
	}
	auth_conn_close(conn);
}

/* auth_conn_delay - the failure delay is over: answer */
static void auth_conn_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	auth_conn_write(fd, 0, arg);
}

/*
 * auth_reply - queue the answer; fail waits auth_failure_delay.
 * user is the canonical name for ok, else NULL.
 */
static void auth_reply(struct auth_conn *conn, enum auth_client_result res,
		       const char *user, const char *reason)
{
	struct auth *auth = server_ctx(conn->srv);
	struct attr_writer w;

	attr_writer_begin(&w, &conn->out, AUTH_RESULT_PROTO);
	attr_put_str(&w, "result", auth_client_result_str(res));
	if (user != NULL)
		attr_put_str(&w, "user", user);
	attr_put_str(&w, "reason", reason);
	attr_writer_end(&w);

	if (res == AUTH_CLIENT_FAIL && auth->set.failure_delay > 0) {
		struct timeval tv = {.tv_sec = auth->set.failure_delay};

		conn->ev = evtimer_new(server_event_base(conn->srv),
				       auth_conn_delay, conn);
		if (conn->ev == NULL)
			log_fatal("evtimer_new failed");
		evtimer_add(conn->ev, &tv);
		return;
	}
	auth_conn_write(conn->fd, 0, conn);
}

/* auth_bad_name - whether a login name has bytes we refuse */
static bool auth_bad_name(const char *name)
{
	if (name[0] == '\0')
		return true;
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ' ||
		    *p == ':')
			return true;
	return false;
}

/*
 * auth_system - check a system account.  Returns 1 ok, 0 fail (with
 * *why_r), -1 tempfail.
 */
static int auth_system(const char *name, const char *password,
		       const char **why_r)
{
	struct passwd pw, *pwres = NULL;
	struct spwd sp, *spres = NULL;
	char pwbuf[4096], spbuf[4096];
	const char *hash, *error;
	char *stored;
	int ret;

	if (getpwnam_r(name, &pw, pwbuf, sizeof(pwbuf), &pwres) != 0) {
		log_error("auth: getpwnam %s: %m", name);
		return -1;
	}
	if (pwres == NULL) {
		(void)password_verify(AUTH_DUMMY_HASH, password, &error);
		*why_r = "unknown user";
		return 0;
	}
	hash = pw.pw_passwd;
	if (strcmp(hash, "x") == 0) {
		errno = 0;
		if (getspnam_r(name, &sp, spbuf, sizeof(spbuf), &spres) != 0 ||
		    spres == NULL) {
			if (errno == EACCES || errno == EPERM) {
				log_error("auth: cannot read shadow password "
					  "of %s: auth must run as root for "
					  "auth_system_users",
					  name);
				return -1;
			}
			*why_r = "no shadow entry";
			return 0;
		}
		hash = sp.sp_pwdp;
	}
	stored = xasprintf("{CRYPT}%s", hash);
	ret = password_verify(stored, password, &error);
	memzero_explicit(stored, strlen(stored));
	free(stored);
	memzero_explicit(spbuf, sizeof(spbuf));
	memzero_explicit(pwbuf, sizeof(pwbuf));
	if (ret == 1)
		return 1;
	/* "!" or "*": a locked account; not an error worth logging. */
	*why_r = ret == 0 ? "password mismatch" : "account locked";
	return 0;
}

/* auth_request - the skeleton's request op */
void auth_request(struct server *srv, int fd, struct attr_list *list)
{
	struct auth *auth = server_ctx(srv);
	struct auth_conn *conn;
	const char *mech, *user, *password, *service, *client, *error;
	const struct passwd_entry *entry = NULL;
	struct passwd_file *pf;
	const char *why = NULL;
	char *login, *canon;
	bool tempfail;
	int ret;

	/* Lookups, on the userdb service's connections (auth_userdb.c). */
	if (strcmp(list->proto, USERDB_PROTO) == 0) {
		auth_userdb_serve(srv, fd, list);
		return;
	}
	conn = xcalloc(1, sizeof(*conn));
	conn->srv = srv;
	conn->fd = fd;
	strbuf_init(&conn->out, STRBUF_NO_LIMIT);

	if (strcmp(list->proto, AUTH_PROTO) != 0) {
		log_warn("auth: bad request: protocol %.64s", list->proto);
		auth_wipe_list(&list);
		auth_reply(conn, AUTH_CLIENT_TEMPFAIL, NULL,
			   "unsupported protocol");
		return;
	}
	if (attr_get_str(list, "mech", &mech, &error) < 0 ||
	    attr_get_str(list, "user", &user, &error) < 0 ||
	    attr_get_str(list, "password", &password, &error) < 0 ||
	    attr_get_str(list, "service", &service, &error) < 0 ||
	    attr_get_str(list, "client", &client, &error) < 0 ||
	    attr_list_end(list, &error) < 0) {
		log_warn("auth: bad request: %s", error);
		auth_wipe_list(&list);
		auth_reply(conn, AUTH_CLIENT_TEMPFAIL, NULL,
			   "malformed request");
		return;
	}
	if (strcmp(mech, "PLAIN") != 0 && strcmp(mech, "LOGIN") != 0) {
		log_warn("auth: bad request: mechanism %.32s", mech);
		auth_wipe_list(&list);
		auth_reply(conn, AUTH_CLIENT_TEMPFAIL, NULL,
			   "unsupported mechanism");
		return;
	}
	if (strlen(user) > AUTH_USER_MAX || auth_bad_name(user) ||
	    strlen(password) > AUTH_PASSWORD_MAX) {
		log_info("auth: service=%.32s user=<%.128s> client=%.64s: "
			 "failed (bad user name or password length)",
			 service, user, client);
		auth_wipe_list(&list);
		auth_reply(conn, AUTH_CLIENT_FAIL, NULL,
			   "authentication failed");
		return;
	}

	/* Dovecot's auth_default_realm: "bob" logs in as "bob@realm". */
	if (strchr(user, '@') == NULL && auth->set.default_realm[0] != '\0')
		login = xasprintf("%s@%s", user, auth->set.default_realm);
	else
		login = xstrdup(user);
	canon = passwd_file_canon_user(login);
	free(login);

	pf = auth_passwd_file(auth, &tempfail);
	if (pf != NULL)
		entry = passwd_file_lookup(pf, canon);
	if (entry != NULL) {
		ret = password_verify(entry->password, password, &error);
		if (ret < 0) {
			log_error("auth: %s:%d: user %s: %s",
				  auth->set.passwd_file, entry->line,
				  entry->user, error);
			why = "bad password hash";
		} else if (ret == 0) {
			why = "password mismatch";
		}
	} else if (auth->set.system_users && strchr(user, '@') == NULL) {
		/* A system account answers to its bare name. */
		free(canon);
		canon = xstrdup(user);
		ret = auth_system(user, password, &why);
		/* The system answered: the passwd-file's state is moot. */
		tempfail = ret < 0;
	} else {
		(void)password_verify(AUTH_DUMMY_HASH, password, &error);
		why = "unknown user";
	}

	if (entry == NULL && tempfail) {
		log_info("auth: service=%.32s user=<%.128s> client=%.64s: "
			 "tempfail (user database unavailable)",
			 service, canon, client);
		auth_reply(conn, AUTH_CLIENT_TEMPFAIL, NULL,
			   "user database unavailable");
	} else if (why != NULL) {
		log_info("auth: service=%.32s user=<%.128s> client=%.64s: "
			 "failed (%s)",
			 service, canon, client, why);
		auth_reply(conn, AUTH_CLIENT_FAIL, NULL,
			   "authentication failed");
	} else {
		log_info("auth: service=%.32s user=<%.128s> client=%.64s: ok",
			 service, canon, client);
		auth_reply(conn, AUTH_CLIENT_OK, canon, "");
	}
	free(canon);
	auth_wipe_list(&list);
}
