/*
 * pop3d - the POP3 server after login: one user's INBOX over RFC 1939
 *
 * SYNOPSIS
 *	pop3d -c DIR -n pop3d -t unix [-o name=value...]
 *	(started by master from master.cf, as root: unpriv n)
 *
 * DESCRIPTION
 *	pop3-login authenticates a client and hands it over to the
 *	"pop3d" unix service (lib/login/login.h).  This program is that
 *	service: mail_dispatch_main() looks the user up, and a worker
 *	process running as the mailbox owner gets the client's descriptor
 *	and calls pop3d_start(), which opens the session (pop3d_session.c):
 *	the session lock, INBOX opened and synced, "+OK Logged in.", then
 *	the TRANSACTION state (pop3d_cmd.c) until QUIT, which applies the
 *	deletions (the UPDATE state), or until the client goes away, which
 *	changes nothing.
 *
 * DIAGNOSTICS
 *	Problems of one session (a mailbox that cannot be opened, a
 *	message that cannot be read) are logged and answered with
 *	"-ERR [SYS/TEMP]"; they never end the worker.
 *
 * SECURITY
 *	The client's bytes reach this process only after authentication.
 *	The worker runs as the mailbox owner (when master runs as root) and
 *	is bounded by the same line and error limits as pop3-login.
 */
#include "autoconf.h"

#include "config.h"
#include "login.h"
#include "mail_user.h"
#include "pop3d.h"

/* pop3d_start - a worker received an authenticated session */
static void pop3d_start(struct event_base *base, const struct config *cfg,
			int fd, const struct login_session *session,
			const struct mail_user *user)
{
	pop3d_session_start(base, cfg, fd, session->user, user->maildir,
			    session->client);
}

int main(int argc, char **argv)
{
	return mail_dispatch_main(argc, argv, "pop3d", pop3d_start);
}
