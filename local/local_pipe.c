/*
 * local_pipe - |command deliveries
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	void local_pipe_deliver(struct local_ctx *ctx,
 *				struct local_request *req, const char *command,
 *				const struct local_copy *copy,
 *				const struct local_user *u,
 *				const struct local_pipe_env *env,
 *				struct local_result *res);
 *
 * DESCRIPTION
 *	Runs "/bin/sh -c COMMAND" as the user u (when local is root; else
 *	as local's own user), in the user's home directory (else /), in a
 *	new session, with an environment of only SENDER, RECIPIENT, LOCAL,
 *	DOMAIN, EXTENSION, HOME, USER, LOGNAME, SHELL and
 *	PATH=/usr/bin:/bin, as Postfix's local(8).  Its standard input is
 *	the message as local_copy_write() makes it (From_ line, Return-Path,
 *	X-Original-To, Delivered-To; no quoting, no final empty line:
 *	Postfix's command delivery), held in an anonymous memory file so
 *	that a command that writes much and reads little cannot deadlock
 *	with local.  Standard output and error are collected (the first
 *	LOCAL_PIPE_OUTPUT_MAX bytes) for the bounce reason.
 *
 *	The outcome:
 *	  exit 0                 sent ("delivered to command: COMMAND")
 *	  exit 75 (EX_TEMPFAIL)  deferred 4.3.0
 *	  exit 64..78            bounced with the <sysexits.h> status of
 *	                         Postfix's table (EX_NOUSER 5.1.1, EX_NOPERM
 *	                         5.7.0, ...)
 *	  other exits, signals   bounced 5.3.0 "Command died with ..."
 *	  command_time_limit     the process group is killed; bounced 5.3.0
 *	                         "Command time limit exceeded"
 *	Every failure reason ends with "Command output: ..." when there was
 *	output.
 *
 * SECURITY
 *	Never runs a command as root: a user id 0 (root's own .forward)
 *	runs as default_privs instead.  The child gets real ids (setgid,
 *	setgroups, setuid), not only effective ones, before exec, and no
 *	descriptor but 0, 1 and 2.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"

/* Command output kept for the bounce reason. */
#define LOCAL_PIPE_OUTPUT_MAX 300

/* Postfix's sys_exits table: status, DSN, text. */
static const struct {
	int status;
	const char *dsn;
	const char *text;
} sys_exits[] = {
	{EX_USAGE, "5.3.0", "command line usage error"},
	{EX_DATAERR, "5.6.0", "data format error"},
	{EX_NOINPUT, "5.3.0", "cannot open input"},
	{EX_NOUSER, "5.1.1", "user unknown"},
	{EX_NOHOST, "5.1.2", "host name unknown"},
	{EX_UNAVAILABLE, "5.3.0", "service unavailable"},
	{EX_SOFTWARE, "5.3.0", "internal software error"},
	{EX_OSERR, "5.3.0", "system resource problem"},
	{EX_OSFILE, "5.3.0", "critical OS file missing"},
	{EX_CANTCREAT, "5.2.0", "can't create user output file"},
	{EX_IOERR, "5.3.0", "input/output error"},
	{EX_TEMPFAIL, "4.3.0", "temporary failure"},
	{EX_PROTOCOL, "5.5.0", "remote error in protocol"},
	{EX_NOPERM, "5.7.0", "permission denied"},
	{EX_CONFIG, "5.3.5", "local configuration error"},
};

/* child - become the user and exec the shell; never returns */
static void child(const struct local_ctx *ctx, int in, int out,
		  const char *command, const struct local_user *u, char **envp)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	(void)setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(EX_TEMPFAIL);
	for (int fd = 3; fd < 1024; fd++)
		(void)close(fd);
	if (ctx->root) {
		if (geteuid() != 0 && seteuid(0) < 0)
			_exit(EX_TEMPFAIL);
		if (setgid(u->gid) < 0 || setgroups(1, &u->gid) < 0 ||
		    setuid(u->uid) < 0 || u->uid == 0 || getuid() == 0)
			_exit(EX_TEMPFAIL);
	}
	if (u->home[0] == '\0' || chdir(u->home) < 0)
		(void)chdir("/");
	execle("/bin/sh", "sh", "-c", command, (char *)NULL, envp);
	_exit(EX_TEMPFAIL);
}

/* output_text - the collected output on one line */
static void output_text(char *buf, size_t len)
{
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t' ||
		    buf[i] == '\0')
			buf[i] = ' ';
	while (len > 0 && buf[len - 1] == ' ')
		buf[--len] = '\0';
}

/* local_pipe_deliver - run command with the message on its input */
void local_pipe_deliver(struct local_ctx *ctx, struct local_request *req,
			const char *command, const struct local_copy *copy,
			const struct local_user *u,
			const struct local_pipe_env *env,
			struct local_result *res)
{
	char out[LOCAL_PIPE_OUTPUT_MAX + 1], junk[4096];
	char *envp[12];
	size_t out_len = 0, envc = 0;
	int in_fd, pipefd[2], status = 0;
	bool timed_out = false, exited = false;
	time_t deadline = time(NULL) + (time_t)ctx->command_time_limit;
	const char *tail;
	pid_t pid;

	if ((in_fd = memfd_create("local-pipe", MFD_CLOEXEC)) < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "cannot create a message copy: %s",
				 strerror(errno));
		return;
	}
	if (local_copy_write(in_fd, req, copy) < 0 ||
	    lseek(in_fd, 0, SEEK_SET) < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "cannot copy the message: %s",
				 strerror(errno));
		close(in_fd);
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.0", "pipe: %s",
				 strerror(errno));
		close(in_fd);
		return;
	}
	envp[envc++] = xasprintf("SENDER=%s", copy->sender);
	envp[envc++] = xasprintf("RECIPIENT=%s", env->recipient);
	envp[envc++] = xasprintf("LOCAL=%s", env->local);
	envp[envc++] = xasprintf("DOMAIN=%s", env->domain);
	envp[envc++] = xasprintf("EXTENSION=%s", env->extension);
	envp[envc++] = xasprintf("HOME=%s", u->home);
	envp[envc++] = xasprintf("USER=%s", u->name);
	envp[envc++] = xasprintf("LOGNAME=%s", u->name);
	envp[envc++] = xasprintf("SHELL=%s", u->shell);
	envp[envc++] = xstrdup("PATH=/usr/bin:/bin");
	envp[envc] = NULL;

	pid = fork();
	if (pid == 0)
		child(ctx, in_fd, pipefd[1], command, u, envp);
	close(in_fd);
	close(pipefd[1]);
	for (size_t i = 0; i < envc; i++)
		free(envp[i]);
	if (pid < 0) {
		local_result_set(res, LOCAL_DEFERRED, "4.3.0", "fork: %s",
				 strerror(errno));
		close(pipefd[0]);
		return;
	}
	/* Read output until end of file (or the child is gone), bounded
	 * by the time limit. */
	for (;;) {
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		time_t now = time(NULL);
		int r;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		r = poll(&pfd, 1, exited ? 0 : 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			char *dst = out_len < LOCAL_PIPE_OUTPUT_MAX
					    ? out + out_len
					    : junk;
			size_t room = out_len < LOCAL_PIPE_OUTPUT_MAX
					      ? LOCAL_PIPE_OUTPUT_MAX - out_len
					      : sizeof(junk);
			ssize_t n = read(pipefd[0], dst, room);

			if (n <= 0)
				break; /* end of file: every writer closed */
			if (dst != junk)
				out_len += (size_t)n;
			continue;
		}
		if (exited)
			break; /* gone, and a background child keeps the
				* pipe open: stop reading */
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(pipefd[0]);
	/* The output is closed: wait for the exit, still within the limit. */
	while (!exited && !timed_out) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		else if (time(NULL) >= deadline)
			timed_out = true;
		else
			usleep(20000);
	}
	if (timed_out)
		(void)kill(-pid, SIGKILL);
	if (!exited) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	output_text(out, out_len);
	tail = out_len > 0 ? ". Command output: " : "";
	if (timed_out) {
		local_result_set(res, LOCAL_BOUNCED, "5.3.0",
				 "Command time limit exceeded: \"%s\"%s%s",
				 command, tail, out);
	} else if (WIFSIGNALED(status)) {
		local_result_set(res, LOCAL_BOUNCED, "5.3.0",
				 "Command died with signal %d: \"%s\"%s%s",
				 WTERMSIG(status), command, tail, out);
	} else if (WEXITSTATUS(status) == 0) {
		local_result_set(res, LOCAL_SENT, "2.0.0",
				 "delivered to command: %s", command);
	} else {
		int code = WEXITSTATUS(status);
		size_t i;

		for (i = 0; i < sizeof(sys_exits) / sizeof(sys_exits[0]); i++)
			if (sys_exits[i].status == code)
				break;
		if (i == sizeof(sys_exits) / sizeof(sys_exits[0]))
			local_result_set(res, LOCAL_BOUNCED, "5.3.0",
					 "Command died with status %d: "
					 "\"%s\"%s%s",
					 code, command, tail, out);
		else
			local_result_set(res,
					 code == EX_TEMPFAIL ? LOCAL_DEFERRED
							     : LOCAL_BOUNCED,
					 sys_exits[i].dsn, "%s%s%s",
					 sys_exits[i].text, tail, out);
	}
}
