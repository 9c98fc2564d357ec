/*
 * mailecho - a test post-login service for the hand-over (never installed)
 *
 * SYNOPSIS
 *	mailecho -c DIR -n imapd -t unix (started by master from master.cf)
 *
 * DESCRIPTION
 *	main() is mail_dispatch_main() (lib/login/login.h), exactly as the
 *	real imapd and pop3d, with a start callback that proves where the
 *	session landed: it writes
 *
 *	    TAG OK Logged in as USER uid=UID gid=GID pid=PID tls=yes|no
 *	        method=METHOD maildir=MAILDIR
 *
 *	(IMAP; POP3 gets "+OK Logged in as ..."), with the worker's own
 *	uid, gid and pid, then echoes every byte it reads until the client
 *	closes.  test_imap_login.py reads /proc/PID/status to check that the
 *	worker runs as the mailbox owner.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "login.h"
#include "mail_user.h"

/* echo_read - send it back */
static void echo_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

/* echo_event - the client went away */
static void echo_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(bev);
		mail_worker_session_done();
	}
}

/* echo_start - a session arrived in this worker */
static void echo_start(struct event_base *base, const struct config *cfg,
		       int fd, const struct login_session *s,
		       const struct mail_user *user)
{
	struct bufferevent *bev;
	char line[8192];

	(void)cfg;
	snprintf(line, sizeof(line),
		 "%s%sOK Logged in as %s uid=%ld gid=%ld pid=%ld tls=%s "
		 "method=%s maildir=%s\r\n",
		 strcmp(s->protocol, "imap") == 0 ? s->tag : "+",
		 strcmp(s->protocol, "imap") == 0 ? " " : "", user->name,
		 (long)getuid(), (long)getgid(), (long)getpid(),
		 s->tls ? "yes" : "no", s->sasl_method, user->maildir);
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		log_fatal("libevent: out of memory");
	bufferevent_setcb(bev, echo_read, NULL, echo_event, NULL);
	bufferevent_write(bev, line, strlen(line));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	log_info("session: user=<%s>, uid=%ld, rip=%s", user->name,
		 (long)getuid(), s->client);
}

int main(int argc, char **argv)
{
	/* Named after argv[0], so that a link named pop3... plays a POP3
	 * service (the dispatcher then refuses IMAP sessions). */
	const char *slash = strrchr(argv[0], '/');

	return mail_dispatch_main(argc, argv, slash ? slash + 1 : argv[0],
				  echo_start);
}
