/*
 * auth - check user names and passwords for smtpd, imapd and pop3d
 *
 * SYNOPSIS
 *	auth -c DIR -n auth -t unix [-u] [-v]	(started by master)
 *
 * DESCRIPTION
 *	A unix service on queue_directory/private/auth, built on the
 *	server skeleton.  Each connection carries one "auth/1" request
 *	(user, password, service, client address: the client decoded SASL
 *	itself) and gets one "auth-result/1" answer: ok with the canonical
 *	user name, fail, or tempfail (see auth_client.h).
 *
 *	Users come from auth_passwd_file (Dovecot's passwd-file format,
 *	re-read whenever it changes, so `facteur user passwd` takes effect
 *	without a restart) and, with auth_system_users = yes, from the
 *	system's accounts (getpwnam(3), getspnam(3)) for names without '@'.
 *	A name without '@' first gets "@$auth_default_realm" appended when
 *	that parameter is set (Dovecot's auth_default_realm).
 *
 *	A failed login is answered after auth_failure_delay, with a
 *	libevent timer: the process keeps serving other requests meanwhile.
 *
 *	The same program serves the "userdb" service (master.cf
 *	"userdb unix - - n - - auth", socket private/userdb): a connection
 *	whose first frame is userdb/1 carries user lookups (home, uid, gid,
 *	never the hash) for smtpd, local and the imapd/pop3d dispatchers,
 *	which never read auth_passwd_file themselves (auth_userdb.c).
 *
 * CONFIGURATION
 *	auth_passwd_file, auth_default_realm, auth_failure_delay,
 *	auth_system_users, auth_owner, plus the skeleton's (max_idle, max_use...).
 *
 * DIAGNOSTICS
 *	One line per request: "auth: service=S user=<U> client=A: ok" or
 *	"...: failed (why)".  An unreadable passwd-file is logged (once per
 *	failure) and makes requests tempfail; a passwd-file that no longer
 *	parses keeps the last good contents.
 *
 * SECURITY
 *	auth reads secrets.  It runs as auth_owner when that is set, else
 *	as mail_owner (master.cf unpriv "-"), which must be able to read
 *	auth_passwd_file; with a uid of its own the file can be closed to
 *	every other process.  Only auth_system_users needs root, for
 *	/etc/shadow (unpriv "n" then).
 *	Passwords are never logged and are wiped from memory after use.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "passwd_file.h"
#include "server.h"

/* How many requests one process handles at once (most wait on a timer). */
#define AUTH_CLIENT_LIMIT 100

/* auth_passwd_file - the database, refreshed; NULL when unusable */
struct passwd_file *auth_passwd_file(struct auth *auth, bool *tempfail_r)
{
	const char *error;

	*tempfail_r = false;
	if (auth->set.passwd_file[0] == '\0')
		return NULL;
	if (auth->pf == NULL) {
		auth->pf = passwd_file_open(auth->set.passwd_file, &error);
		if (auth->pf == NULL) {
			if (!auth->pf_warned)
				log_error("%s", error);
			auth->pf_warned = true;
			*tempfail_r = true;
			return NULL;
		}
		auth->pf_warned = false;
		return auth->pf;
	}
	if (passwd_file_refresh(auth->pf, &error) < 0) {
		/* Keep serving the old contents: a bad edit locks nobody out. */
		if (!auth->pf_warned)
			log_warn("%s (keeping the previous contents)", error);
		auth->pf_warned = true;
	} else {
		auth->pf_warned = false;
	}
	return auth->pf;
}

/* auth_init - settings and the first load, after the privilege drop */
static void auth_init(struct server *srv)
{
	struct auth *auth = server_ctx(srv);
	const struct config *cfg = server_config(srv);
	bool tempfail;

	auth->set.passwd_file = config_str(cfg, "auth_passwd_file");
	auth->set.default_realm = config_str(cfg, "auth_default_realm");
	auth->set.failure_delay = config_time(cfg, "auth_failure_delay");
	auth->set.system_users = config_bool(cfg, "auth_system_users");

	if (auth->set.passwd_file[0] == '\0' && !auth->set.system_users)
		log_warn("neither auth_passwd_file nor auth_system_users is "
			 "set: every login will fail");
	if (auth->set.system_users && geteuid() != 0)
		log_warn("auth_system_users = yes needs root to read shadow "
			 "passwords: set the auth service's unpriv column to "
			 "n in master.cf");
	(void)auth_passwd_file(auth, &tempfail);
}

/* auth_pre_exit - wipe the hashes before going */
static void auth_pre_exit(struct server *srv)
{
	struct auth *auth = server_ctx(srv);

	passwd_file_free(&auth->pf);
}

/* main - run the service */
int main(int argc, char **argv)
{
	static struct auth auth;
	static const struct server_ops ops = {
		.name = "auth",
		.init = auth_init,
		.request = auth_request,
		.pre_exit = auth_pre_exit,
		.client_limit = AUTH_CLIENT_LIMIT,
		.owner_param = "auth_owner",
	};

	return server_main(argc, argv, &ops, &auth);
}
