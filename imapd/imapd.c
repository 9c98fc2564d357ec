/*
 * imapd - the IMAP server after login: a user's folders over IMAP4rev2
 * and IMAP4rev1
 *
 * SYNOPSIS
 *	imapd -c DIR -n imapd -t unix [-o name=value...]
 *	(started by master from master.cf, as root: unpriv n)
 *
 * DESCRIPTION
 *	imap-login authenticates a client and hands it over to the
 *	"imapd" unix service (lib/login/login.h).  This program is that
 *	service: mail_dispatch_main() looks the user up, and a worker
 *	process running as the mailbox owner gets the client's
 *	descriptor and calls imapd_session_start() (imapd_session.c),
 *	which answers the LOGIN and serves the authenticated and
 *	selected states of RFC 9051 and RFC 3501 with the extensions
 *	listed in IMAPD_CAPABILITY (imapd.h).  One worker serves many
 *	sessions in one event loop.
 *
 * DIAGNOSTICS
 *	Problems of one session are logged and answered NO; they never
 *	end the worker.
 *
 * SECURITY
 *	The client's bytes reach this process only after authentication.
 *	The worker runs as the mailbox owner (when master runs as root).
 */
#include "autoconf.h"

#include "imapd.h"
#include "login.h"

int main(int argc, char **argv)
{
	return mail_dispatch_main(argc, argv, "imapd", imapd_session_start);
}
