/*
 * master_spawn - start service processes, reap them, throttle failures
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	void master_spawn(serv)
 *	void master_reap(void)
 *	void master_signal_procs(serv, sig)
 *
 * DESCRIPTION
 *	master_spawn() forks and executes the service's program with the
 *	descriptors and environment of the master/child contract
 *	(docs/architecture.md): 0-2 on /dev/null (or our stderr in the
 *	foreground without maillog_file), 3 the status pipe, 4 the log
 *	collector, listeners from 5; argv "PROGRAM -c DIR -n NAME -t TYPE
 *	[-u] [args...]"; an environment of PATH, TZ, import_environment and
 *	the FACTEUR_* descriptor counts.  Everything that can fail or
 *	allocate is prepared before fork(), so the child only moves
 *	descriptors and calls execve().
 *
 *	master_reap() collects every exited child (SIGCHLD), logs abnormal
 *	exits and throttles their service: after an abnormal exit master
 *	spawns nothing for that service for 1 second, doubling on each
 *	further abnormal exit up to service_throttle_time; a normal exit
 *	resets the delay.  A crash loop therefore costs a few processes a
 *	minute, never a spinning master.
 *
 * DIAGNOSTICS
 *	Warnings: fork failure, abnormal exits, throttling.  A failed exec
 *	is logged by the child (through the collector when there is one),
 *	which then exits 1 and so is throttled like any crash.
 *
 * SECURITY
 *	Children do not inherit master's environment beyond the listed
 *	names, nor any descriptor other than the contract's (everything
 *	else is close-on-exec).  master does not change ids for the child:
 *	a service with -u drops privileges itself, after it has opened what
 *	needs root.
 */
#include "autoconf.h"

#include <errno.h>
#include <sys/prctl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maillog.h"
#include "master.h"

/* A growable NULL-terminated string vector. */
struct strvec {
	char **items;
	size_t count;
};

static void strvec_add(struct strvec *v, char *item)
{
	v->items = xreallocarray(v->items, v->count + 2, sizeof(*v->items));
	v->items[v->count++] = item;
	v->items[v->count] = NULL;
}

static void strvec_free(struct strvec *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->count = 0;
}

/* build_env - the scrubbed environment of a child */
static void build_env(struct strvec *env, struct master_service *serv)
{
	const char *path = getenv("PATH");
	const char *const *names;

	strvec_add(env, xasprintf("PATH=%s", path ? path : "/usr/bin:/bin"));
	/* TZ always passes: log time stamps must agree with master's. */
	if (getenv("TZ") != NULL)
		strvec_add(env, xasprintf("TZ=%s", getenv("TZ")));
	for (names = config_list(master.cfg, "import_environment", NULL);
	     *names != NULL; names++) {
		const char *value;

		if (strchr(*names, '=') != NULL)
			strvec_add(env, xstrdup(*names));
		else if (strcmp(*names, "PATH") != 0 &&
			 strcmp(*names, "TZ") != 0 &&
			 (value = getenv(*names)) != NULL)
			strvec_add(env, xasprintf("%s=%s", *names, value));
	}
	strvec_add(env, xasprintf("FACTEUR_LISTEN_FDS=%zu", serv->nlisteners));
	strvec_add(env, xasprintf("FACTEUR_STATUS_FD=%d", MASTER_STATUS_FD));
	if (master.log_pair[1] >= 0)
		strvec_add(env,
			   xasprintf("%s=%d", MAILLOG_FD_ENV, MASTER_LOG_FD));
}

/* build_argv - PROGRAM -c DIR -n NAME -t TYPE [-u] [args...] */
static void build_argv(struct strvec *argv, struct master_service *serv)
{
	strvec_add(argv, xstrdup(serv->path));
	strvec_add(argv, xstrdup("-c"));
	strvec_add(argv, xstrdup(master.config_dir));
	strvec_add(argv, xstrdup("-n"));
	strvec_add(argv, xstrdup(serv->name));
	strvec_add(argv, xstrdup("-t"));
	strvec_add(argv, xstrdup(mastercf_type_name(serv->type)));
	if (serv->unpriv)
		strvec_add(argv, xstrdup("-u"));
	if (master.verbose)
		strvec_add(argv, xstrdup("-v"));
	for (size_t i = 1; i < serv->argc; i++)
		strvec_add(argv, xstrdup(serv->argv[i]));
}

/* child_setup - in the child: put descriptors where the contract says */
static void child_setup(struct master_service *serv)
{
	int high = MASTER_LISTEN_FD + (int)serv->nlisteners + 3;
	int status_fd, log_fd = -1, null_fd;
	int *listen_fds = NULL;

	/*
	 * Copy every source above all targets first, so that no dup2()
	 * below can overwrite a source that sits on a target number.
	 */
	status_fd = fcntl(serv->status_pipe[1], F_DUPFD, high);
	null_fd = fcntl(master.devnull, F_DUPFD, high);
	if (master.log_pair[1] >= 0)
		log_fd = fcntl(master.log_pair[1], F_DUPFD, high);
	if (serv->nlisteners > 0)
		listen_fds = calloc(serv->nlisteners, sizeof(int));
	if (status_fd < 0 || null_fd < 0 ||
	    (master.log_pair[1] >= 0 && log_fd < 0) ||
	    (serv->nlisteners > 0 && listen_fds == NULL))
		_exit(126);
	for (size_t i = 0; i < serv->nlisteners; i++)
		if ((listen_fds[i] =
			     fcntl(serv->listeners[i].fd, F_DUPFD, high)) < 0)
			_exit(126);
	/* dup2() clears close-on-exec on the targets: these are inherited. */
	if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
	    (!master.child_stderr && dup2(null_fd, 2) < 0) ||
	    dup2(status_fd, MASTER_STATUS_FD) < 0 ||
	    (log_fd >= 0 && dup2(log_fd, MASTER_LOG_FD) < 0))
		_exit(126);
	for (size_t i = 0; i < serv->nlisteners; i++)
		if (dup2(listen_fds[i], MASTER_LISTEN_FD + (int)i) < 0)
			_exit(126);
	/* The high copies are not close-on-exec (F_DUPFD): close them. */
	close(status_fd);
	close(null_fd);
	if (log_fd >= 0)
		close(log_fd);
	for (size_t i = 0; i < serv->nlisteners; i++)
		close(listen_fds[i]);
	free(listen_fds);
}

/* master_spawn - start one process of a service */
void master_spawn(struct master_service *serv)
{
	struct strvec argv = {0}, env = {0};
	struct master_proc *proc;
	sigset_t all, saved;
	pid_t pid, parent;

	if (serv->retired || master.stopping || serv->throttled ||
	    serv->avail_count > 0 ||
	    (serv->maxproc > 0 && serv->proc_count >= (unsigned)serv->maxproc))
		log_panic("master_spawn: service %s may not spawn now",
			  serv->name);
	build_argv(&argv, serv);
	build_env(&env, serv);
	/*
	 * Block signals across fork: a signal that hits the child before
	 * exec would run libevent's handler and look like one sent to us.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		static const int sigs[] = {SIGHUP,  SIGINT,  SIGTERM,
					   SIGCHLD, SIGPIPE, SIGQUIT};

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		/*
		 * SIGHUP stays blocked across exec: a reload right now must
		 * not kill a process that cannot handle it yet.  The skeleton
		 * unblocks it once it does (docs/architecture.md).
		 */
		sigaddset(&saved, SIGHUP);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		/*
		 * A service must not outlive master (kill -9, crash): the
		 * kernel then sends it SIGTERM, which the skeleton takes as
		 * "stop now", so a restarted master never meets orphans.
		 * Checking getppid() closes the race with a master that died
		 * before the prctl.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(1);
		child_setup(serv);
		execve(argv.items[0], argv.items, env.items);
		/* Tell the log why; master sees exit status 1 and throttles. */
		if (master.log_pair[1] >= 0)
			log_to_fd(MASTER_LOG_FD);
		log_error("execute %s: %m", argv.items[0]);
		_exit(1);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	strvec_free(&argv);
	strvec_free(&env);
	if (pid < 0) {
		log_warn("fork: %m");
		/* Try again later rather than at once. */
		master_throttle(serv);
		return;
	}
	proc = xcalloc(1, sizeof(*proc));
	proc->pid = pid;
	proc->serv = serv;
	/* Available until it says otherwise: one connection, one process. */
	proc->avail = true;
	proc->next = serv->procs;
	serv->procs = proc;
	serv->total++;
	serv->proc_count++;
	serv->avail_count++;
	serv->used = true;
	if (master.verbose)
		log_debug("service %s: started %s pid %ld", serv->name,
			  serv->path, (long)pid);
	master_avail_update(serv);
}

/* throttle_event - the back-off is over */
static void throttle_event(evutil_socket_t fd, short what, void *arg)
{
	struct master_service *serv = arg;

	(void)fd;
	(void)what;
	serv->throttled = false;
	master_avail_update(serv);
}

/* master_throttle - spawn nothing for a while after a failure */
void master_throttle(struct master_service *serv)
{
	long long limit = config_time(master.cfg, "service_throttle_time");
	struct timeval tv = {0};

	if (serv->throttled || serv->retired)
		return;
	if (serv->throttle_delay == 0)
		serv->throttle_delay = 1;
	else if (serv->throttle_delay < limit)
		serv->throttle_delay *= 2;
	if (serv->throttle_delay > limit)
		serv->throttle_delay = (unsigned)limit;
	if (serv->throttle_timer == NULL)
		serv->throttle_timer =
			evtimer_new(master.base, throttle_event, serv);
	serv->throttled = true;
	tv.tv_sec = (time_t)serv->throttle_delay;
	evtimer_add(serv->throttle_timer, &tv);
	log_warn("service %s: throttling for %u seconds after abnormal exit",
		 serv->name, serv->throttle_delay);
	master_avail_update(serv);
}

/* proc_exited - bookkeeping and policy for one reaped child */
static void proc_exited(struct master_proc *proc, int status)
{
	struct master_service *serv = proc->serv;
	struct master_proc **pp;
	bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	for (pp = &serv->procs; *pp != proc; pp = &(*pp)->next)
		;
	*pp = proc->next;
	serv->total--;
	if (!proc->draining)
		serv->proc_count--;
	if (proc->avail)
		serv->avail_count--;
	if (!normal && !proc->signaled) {
		if (WIFSIGNALED(status))
			log_warn("process %s pid %ld killed by signal %d",
				 serv->path, (long)proc->pid, WTERMSIG(status));
		else
			log_warn("process %s pid %ld exit status %d",
				 serv->path, (long)proc->pid,
				 WEXITSTATUS(status));
		master_throttle(serv);
	} else if (normal) {
		serv->throttle_delay = 0;
	}
	free(proc);
	master_avail_update(serv);
}

/* master_reap - collect every child that has exited */
void master_reap(void)
{
	struct master_proc *proc;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((proc = master_proc_find(pid)) == NULL) {
			log_warn("reaped unknown process %ld", (long)pid);
			continue;
		}
		if (master.verbose)
			log_debug("reaped %s pid %ld status 0x%x",
				  proc->serv->path, (long)pid, status);
		proc_exited(proc, status);
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid: %m");
	master_service_reap_retired();
	master_check_done();
}

/* master_signal_procs - signal every child of a service */
void master_signal_procs(struct master_service *serv, int sig)
{
	for (struct master_proc *p = serv->procs; p != NULL; p = p->next) {
		if (sig == SIGTERM || sig == SIGKILL)
			p->signaled = true;
		if (kill(p->pid, sig) < 0 && errno != ESRCH)
			log_warn("kill %ld: %m", (long)p->pid);
	}
}
