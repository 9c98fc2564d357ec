/*
 * auth_userdb - answer userdb/1 lookups: who a user is, never the hash
 *
 * SYNOPSIS
 *	#include "auth.h"
 *
 *	void auth_userdb_serve(struct server *srv, int fd,
 *			       struct attr_list *list);
 *
 * DESCRIPTION
 *	auth_request() hands a connection whose first frame is userdb/1
 *	over to here.  The connection then carries any number of lookups
 *	(lib/server/agent_conn.c: result, done/1, wait for the next one),
 *	each answered at once from the passwd-file in memory: no crypt(),
 *	no failure delay.  master.cf runs the auth program a second time
 *	as the "userdb" service, so that these lookups have processes of
 *	their own and never queue behind the password checks of the
 *	"auth" service.
 *
 *	The name is looked up as asked, with the domain part lowercased
 *	(passwd_file_canon_user); callers apply auth_default_realm
 *	themselves where a login name is concerned (mail_user.c), since
 *	a recipient address always has its domain.  System accounts are
 *	not answered here: their homes are no secret, and the callers read
 *	them with getpwnam(3).
 *
 * DIAGNOSTICS
 *	A malformed request is a warning and closes the connection (the
 *	client takes that as a temporary failure).  An unreadable
 *	passwd-file answers tempfail (auth.c logs it once).
 *
 * SECURITY
 *	The answer holds the canonical name, home, uid and gid: what
 *	delivery needs, never the password field or the extra fields.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>

#include "agent_conn.h"
#include "attr.h"
#include "auth.h"
#include "log.h"
#include "passwd_file.h"
#include "server.h"
#include "strbuf.h"
#include "userdb.h"

/* userdb_answer - one lookup (agent_conn_fn) */
static int userdb_answer(struct server *srv, struct attr_list *list,
			 struct strbuf *out)
{
	struct auth *auth = server_ctx(srv);
	const struct passwd_entry *pe = NULL;
	struct passwd_file *pf;
	const char *user, *error;
	bool tempfail;
	char *canon;

	if (userdb_request_parse(list, &user, &error) < 0) {
		log_warn("userdb: bad request: %s", error);
		return -1;
	}
	canon = passwd_file_canon_user(user);
	pf = auth_passwd_file(auth, &tempfail);
	if (pf != NULL)
		pe = passwd_file_lookup(pf, canon);
	if (pe != NULL) {
		userdb_reply_passwd(out, pe);
	} else if (tempfail) {
		userdb_reply_frame(out, USERDB_TEMPFAIL, NULL,
				   "user database unavailable");
	} else {
		userdb_reply_frame(out, USERDB_NOTFOUND, NULL, "");
	}
	if (server_verbose(srv))
		log_info("userdb: user=<%.128s>: %s", canon,
			 pe != NULL ? "ok"
			 : tempfail ? "tempfail"
				    : "notfound");
	free(canon);
	return 0;
}

/* auth_userdb_serve - take the connection for lookups */
void auth_userdb_serve(struct server *srv, int fd, struct attr_list *list)
{
	agent_conn_serve(srv, fd, list, userdb_answer);
}
