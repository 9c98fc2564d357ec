/*
 * testlib_userdb - a stand-in for auth's userdb service in unit tests
 *
 * SYNOPSIS
 *	#include "testlib.h"
 *
 *	pid_t pid = testlib_userdb_start(queue_dir, passwd_path);
 *	testlib_userdb_stop(pid, queue_dir);
 *
 * DESCRIPTION
 *	Code that asks auth's userdb service (resolve.c, mail_user.c)
 *	needs a server on queue_dir/private/userdb.  This one forks: the
 *	child (its own process group) accepts connections and forks once
 *	more per connection, which answers userdb/1 requests from
 *	passwd_path, read afresh for each request (an unreadable file is
 *	a tempfail answer), with done/1 reuse=1 after each, as
 *	auth_userdb.c does.  testlib_userdb_stop() kills the group, so a
 *	client's kept connection sees the server go away.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "done_frame.h"
#include "log.h"
#include "net.h"
#include "passwd_file.h"
#include "strbuf.h"
#include "testlib.h"
#include "userdb.h"

/* serve - answer the requests of one connection, then exit */
static void serve(int fd, const char *passwd_path)
{
	for (;;) {
		struct attr_list *list = NULL;
		struct passwd_file *pf;
		const struct passwd_entry *pe = NULL;
		const char *user, *error;
		struct attr_writer w;
		struct strbuf out;
		char *canon;

		if (attr_read_fd(fd, USERDB_FRAME_MAX, &list, &error) <= 0 ||
		    userdb_request_parse(list, &user, &error) < 0)
			_exit(0);
		strbuf_init(&out, STRBUF_NO_LIMIT);
		canon = passwd_file_canon_user(user);
		pf = passwd_file_open(passwd_path, &error);
		if (pf != NULL)
			pe = passwd_file_lookup(pf, canon);
		if (pe != NULL) {
			userdb_reply_passwd(&out, pe);
		} else {
			userdb_reply_frame(&out,
					   pf == NULL ? USERDB_TEMPFAIL
						      : USERDB_NOTFOUND,
					   NULL, pf == NULL ? error : "");
		}
		attr_writer_begin(&w, &out, DONE_FRAME_PROTO);
		attr_put_int(&w, "reuse", 1);
		attr_writer_end(&w);
		if (attr_write_fd(fd, &out) < 0)
			_exit(0);
		strbuf_release(&out);
		free(canon);
		passwd_file_free(&pf);
		attr_list_free(&list);
	}
}

/* testlib_userdb_start - listen and fork the server */
pid_t testlib_userdb_start(const char *queue_dir, const char *passwd_path)
{
	char *dir = xasprintf("%s/private", queue_dir);
	char *path = xasprintf("%s/%s", queue_dir, USERDB_SOCKET);
	const char *error;
	pid_t pid;
	int lfd;

	(void)mkdir(dir, 0700);
	(void)unlink(path);
	if ((lfd = net_listen_unix(path, 0600, 16, &error)) < 0)
		log_fatal("testlib_userdb: %s", error);
	(void)net_set_nonblock(lfd, false);
	if ((pid = fork()) < 0)
		log_fatal("fork: %m");
	if (pid == 0) {
		(void)setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN); /* no zombies */
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			if (fork() == 0) {
				close(lfd);
				serve(fd, passwd_path);
			}
			close(fd);
		}
	}
	(void)setpgid(pid, pid); /* whichever of us runs first */
	close(lfd);
	free(dir);
	free(path);
	return pid;
}

/* testlib_userdb_stop - kill the server and its connections */
void testlib_userdb_stop(pid_t pid, const char *queue_dir)
{
	char *path = xasprintf("%s/%s", queue_dir, USERDB_SOCKET);

	(void)kill(-pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	(void)unlink(path);
	free(path);
}
