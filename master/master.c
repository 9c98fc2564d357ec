/*
 * master - the Facteur supervisor
 *
 * SYNOPSIS
 *	master [-fvw] [-c config_dir]
 *	master -t [-c config_dir]
 *
 * DESCRIPTION
 *	master reads main.cf and master.cf, takes the lock on
 *	data_directory/master.pid (one master per configuration), creates
 *	queue_directory with private/ and public/, opens every service's
 *	listening sockets and starts service processes on demand, with the
 *	sockets already open (the contract is in docs/architecture.md).
 *	It restarts what exits, throttles what crashes, wakes services up
 *	on their timers, collects the children's log lines into
 *	maillog_file, reloads on SIGHUP and stops everything on SIGTERM or
 *	SIGINT.  Everything is driven by one libevent loop.
 *
 *	-c dir	configuration directory (default: the compiled-in one).
 *	-f	stay in the foreground; log to stderr unless maillog_file is
 *		set, and let the children inherit stderr too.
 *	-w	wait: the invoking process stays until the daemon has
 *		initialized (lock, listeners, first wakeups), then exits 0,
 *		or prints the daemon's fatal error and exits 1.
 *	-t	exit 0 when no master runs for this configuration, else 1.
 *	-v	verbose logging, passed on to the children.
 *
 *	When started as root, master stays root (it must bind ports and
 *	signal its children); unprivileged services drop to mail_owner
 *	themselves.  Started by another user ("unprivileged mode", as the
 *	tests run it), everything runs as that user.
 *
 * DIAGNOSTICS
 *	Start-up problems are fatal: configuration errors, a master already
 *	running ("the Facteur mail system is already running as PID N"), a
 *	socket that cannot be opened.  Afterwards master only logs: a
 *	failing service is throttled, a bad reload is refused.
 *
 * SECURITY
 *	master is the only long-lived root process.  It never reads network
 *	input; what it reads from children (status frames, log datagrams)
 *	is bounded and checked.  Children get a scrubbed environment and
 *	only the descriptors of the contract.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maillog.h"
#include "master.h"
#include "mastercf.h"
#include "params.h"
#include "pidlock.h"
#include "priv.h"

struct master master = {
	.devnull = -1,
	.log_pair = {-1, -1},
	.log_file_fd = -1,
};

/* The write end of the -w pipe while the daemon initializes, else -1. */
static int wait_fd = -1;
/* The pid file lock, held for as long as we run. */
static int lock_fd = -1;

static struct event *sig_hup, *sig_term, *sig_int, *sig_chld;

/* usage - complain about the command line */
static _Noreturn void usage(void)
{
	log_fatal("usage: master [-fvw] [-c config_dir] | master -t "
		  "[-c config_dir]");
}

/*
 * wait_report - tell the waiting parent how start-up went.  "ok" closes
 * the pipe; an error leaves it open until we exit, so that the parent
 * returns only once this process is gone (and its lock released).
 */
static void wait_report(const char *text, bool done)
{
	if (wait_fd < 0)
		return;
	(void)!write(wait_fd, text, strlen(text));
	if (done) {
		close(wait_fd);
		wait_fd = -1;
	}
}

/* relog - log text again at level, bypassing the hook */
static void relog(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void relog(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/*
 * wait_hook - during start-up in -w mode, copy a fatal error to the
 * waiting parent, then log it as usual.
 */
static void wait_hook(enum log_level level, const char *text, void *ctx)
{
	static const char *const prefix[] = {
		[LOG_LEVEL_DEBUG] = "",		[LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_WARN] = "warning: ", [LOG_LEVEL_ERROR] = "error: ",
		[LOG_LEVEL_FATAL] = "fatal: ",	[LOG_LEVEL_PANIC] = "panic: ",
	};
	size_t plen = strlen(prefix[level]);

	(void)ctx;
	if (level >= LOG_LEVEL_FATAL && wait_fd >= 0) {
		/* Let go of the lock before the parent can try again. */
		if (lock_fd >= 0)
			close(lock_fd);
		lock_fd = -1;
		wait_report(text, false);
	}
	/* log_vmsg() adds the prefix again: hand it the bare text. */
	log_set_hook(NULL, NULL);
	if (strncmp(text, prefix[level], plen) != 0)
		plen = 0;
	relog(level, "%s", text + plen);
	log_set_hook(wait_hook, NULL);
}

/* wait_for_daemon - the -w parent: relay the daemon's verdict */
static _Noreturn void wait_for_daemon(int fd)
{
	char buf[LOG_LINE_MAX + 1];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 &&
	       ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	buf[len] = '\0';
	if (strcmp(buf, "ok") == 0)
		exit(0);
	if (len == 0)
		snprintf(buf, sizeof(buf),
			 "fatal: master exited during start-up");
	fprintf(stderr, "%s: %s\n", log_ident(), buf);
	exit(1);
}

/* daemonize - detach; in -w mode the parent waits for the verdict */
static void daemonize(bool wait_mode, char *pid_path)
{
	int pfd[2] = {-1, -1};
	pid_t pid;

	if (wait_mode && pipe2(pfd, O_CLOEXEC) < 0)
		log_fatal("pipe: %m");
	if ((pid = fork()) < 0)
		log_fatal("fork: %m");
	if (pid > 0) {
		/* The parent's copies, freed for the leak checker's sake. */
		free(pid_path);
		config_free(&master.cfg);
		free(master.config_dir);
		if (wait_mode) {
			close(pfd[1]);
			wait_for_daemon(pfd[0]);
		}
		exit(0);
	}
	if (wait_mode) {
		close(pfd[0]);
		wait_fd = pfd[1];
		log_set_hook(wait_hook, NULL);
	}
	if (setsid() < 0)
		log_fatal("setsid: %m");
	if (dup2(master.devnull, 0) < 0 || dup2(master.devnull, 1) < 0 ||
	    dup2(master.devnull, 2) < 0)
		log_fatal("dup2 /dev/null: %m");
}

/*
 * make_dir - mkdir -p; the last component gets mode (also when it
 * exists, if force) and, when owned and we are root, mail_owner.
 */
static void make_dir(const char *path, mode_t mode, bool force, bool owned)
{
	char *copy = xstrdup(path);
	const char *error;
	struct stat st;
	uid_t uid;
	gid_t gid;

	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			log_fatal("create directory %s: %m", copy);
		*p = '/';
	}
	free(copy);
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		log_fatal("create directory %s: %m", path);
	if (stat(path, &st) < 0)
		log_fatal("stat %s: %m", path);
	if (!S_ISDIR(st.st_mode))
		log_fatal("%s is not a directory", path);
	/* mkdir obeys the umask, an old directory may have any mode. */
	if (force && (st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		log_fatal("chmod %s: %m", path);
	if (!owned || !master.root)
		return;
	if (priv_lookup(config_str(master.cfg, "mail_owner"), &uid, &gid,
			&error) < 0)
		log_fatal("mail_owner: %s", error);
	if ((st.st_uid != uid || st.st_gid != gid) && chown(path, uid, gid) < 0)
		log_fatal("chown %s: %m", path);
}

/* make_dirs - the queue and data directories */
static void make_dirs(void)
{
	const char *queue = config_str(master.cfg, "queue_directory");
	char *dir;

	/* The top is the admin's business once it exists. */
	make_dir(queue, 0755, false, false);
	dir = xasprintf("%s/private", queue);
	make_dir(dir, 0700, true, true);
	free(dir);
	/* 0711 for now: clients reach sockets by name, never list them. */
	dir = xasprintf("%s/public", queue);
	make_dir(dir, 0711, true, true);
	free(dir);
	make_dir(config_str(master.cfg, "data_directory"), 0700, true, true);
}

/* master_test_exit - -t: exit without leaks */
static _Noreturn void master_test_exit(int status)
{
	config_free(&master.cfg);
	free(master.config_dir);
	exit(status);
}

/* master_check_done - when stopping, exit once every child is reaped */
void master_check_done(void)
{
	if (!master.stopping || master.services != NULL ||
	    master.retired != NULL)
		return;
	event_base_loopbreak(master.base);
}

/* stop_timeout_event - children ignored SIGTERM: kill them */
static void stop_timeout_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (struct master_service *s = master.retired; s; s = s->next) {
		if (s->total > 0)
			log_warn("service %s: %u process(es) still running: "
				 "killing them",
				 s->name, s->total);
		master_signal_procs(s, SIGKILL);
	}
}

/* master_stop - stop every service, then exit */
void master_stop(int sig)
{
	struct timeval tv = {0};

	if (master.stopping)
		return;
	master.stopping = true;
	log_info("terminating on signal %d", sig);
	while (master.services != NULL)
		master_service_retire(master.services);
	tv.tv_sec = (time_t)config_time(master.cfg, "master_stop_timeout");
	master.stop_timer = evtimer_new(master.base, stop_timeout_event, NULL);
	evtimer_add(master.stop_timer, &tv);
	master_check_done();
}

/* signal_event - SIGHUP, SIGTERM, SIGINT, SIGCHLD */
static void signal_event(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		if (!master.stopping)
			master_reload();
		break;
	case SIGTERM:
	case SIGINT:
		master_stop((int)sig);
		break;
	case SIGCHLD:
		master_reap();
		break;
	}
}

/*
 * startup_exit - a fatal error during start-up: remove the socket files
 * made so far, so that a failed start leaves nothing behind.
 */
static void startup_exit(enum log_level level)
{
	for (struct master_service *s = master.services; s; s = s->next)
		if (s->sock_path != NULL && s->nlisteners > 0)
			(void)unlink(s->sock_path);
	if (level == LOG_LEVEL_PANIC)
		abort();
	exit(1);
}

/* start_services - every entry of master.cf */
static void start_services(void)
{
	char *path = xasprintf("%s/master.cf", master.config_dir);
	struct mastercf *mcf;
	const char *error;

	if ((mcf = mastercf_load(path, &error)) == NULL)
		log_fatal("%s", error);
	free(path);
	for (size_t i = 0; i < mcf->count; i++) {
		const struct mastercf_entry *e = &mcf->entries[i];
		struct master_service *serv;

		if ((serv = master_service_create(e, master.cfg, &error)) ==
		    NULL)
			log_fatal("%s:%d: service %s: %s", mcf->filename,
				  e->line, e->name, error);
		serv->next = master.services;
		master.services = serv;
		if (master_service_start(serv, &error) < 0)
			log_fatal("service %s: %s", serv->name, error);
	}
	mastercf_free(&mcf);
}

/* master_cleanup - free everything (the leak checker is watching) */
static void master_cleanup(void)
{
	if (master.stop_timer != NULL)
		event_free(master.stop_timer);
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	event_free(sig_chld);
	master_logger_close();
	event_base_free(master.base);
	config_free(&master.cfg);
	free(master.config_dir);
	close(master.devnull);
}

/* main - start-up in the order the contract needs, then the loop */
/*
 * raise_nofile - the soft descriptor limit up to the hard one, for every
 * child: an imapd worker holds one descriptor per session (10,000 IDLE
 * sessions of one mailbox owner in one process), and systemd starts
 * services with a soft limit of 1024.  Everything polls with epoll
 * (libevent), so descriptors above FD_SETSIZE are fine.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("setrlimit RLIMIT_NOFILE: %m");
	}
}

int main(int argc, char **argv)
{
	const char *config_dir = FACTEUR_CONFIG_DIR, *error;
	bool test_mode = false, wait_mode = false;
	char resolved[PATH_MAX], *pid_path;
	pid_t holder;
	int ch;

	log_init("master");
	while ((ch = getopt(argc, argv, "c:ftvw")) != -1) {
		switch (ch) {
		case 'c':
			config_dir = optarg;
			break;
		case 'f':
			master.foreground = true;
			break;
		case 't':
			test_mode = true;
			break;
		case 'v':
			master.verbose = true;
			break;
		case 'w':
			wait_mode = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_set_verbose(master.verbose);
	/* Children get -c: it must still mean the same after chdir. */
	if (realpath(config_dir, resolved) == NULL)
		log_fatal("configuration directory %s: %m", config_dir);
	master.config_dir = xstrdup(resolved);
	/* We are the collector, never a client of another one. */
	unsetenv(MAILLOG_FD_ENV);
	master.root = geteuid() == 0;
	umask(022);

	master.cfg = config_create(master.config_dir);
	if (config_load(master.cfg, &error) < 0)
		log_fatal("%s", error);
	pid_path = xasprintf("%s/master.pid",
			     config_str(master.cfg, "data_directory"));
	if (test_mode) {
		holder = pidlock_holder(pid_path, &error);
		if (holder < 0)
			log_fatal("%s", error);
		free(pid_path);
		master_test_exit(holder == 0 ? 0 : 1);
	}

	if ((master.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		log_fatal("open /dev/null: %m");
	if (!master.foreground)
		daemonize(wait_mode, pid_path);
	if (maillog_setup(master.cfg, master.foreground, &error) < 0)
		log_fatal("%s", error);
	master.child_stderr = master.foreground &&
			      config_str(master.cfg, "maillog_file")[0] == '\0';

	make_dirs();
	if ((lock_fd = pidlock_acquire(pid_path, &holder, &error)) < 0) {
		if (holder > 0)
			log_fatal("the Facteur mail system is already running "
				  "as PID %ld",
				  (long)holder);
		log_fatal("%s", error);
	}
	free(pid_path);
	if (chdir(config_str(master.cfg, "queue_directory")) < 0)
		log_fatal("chdir %s: %m",
			  config_str(master.cfg, "queue_directory"));
	/* A child that dies on a write must not take us along. */
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if ((master.base = event_base_new()) == NULL)
		log_fatal("event_base_new failed");
	if (config_str(master.cfg, "maillog_file")[0] != '\0' &&
	    master_logger_init(config_str(master.cfg, "maillog_file"), &error) <
		    0)
		log_fatal("%s", error);
	sig_hup = evsignal_new(master.base, SIGHUP, signal_event, NULL);
	sig_term = evsignal_new(master.base, SIGTERM, signal_event, NULL);
	sig_int = evsignal_new(master.base, SIGINT, signal_event, NULL);
	sig_chld = evsignal_new(master.base, SIGCHLD, signal_event, NULL);
	event_add(sig_hup, NULL);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);
	event_add(sig_chld, NULL);
	log_set_exit_hook(startup_exit);
	start_services();
	log_set_exit_hook(NULL);

	log_info("daemon started -- version %s, configuration %s",
		 PACKAGE_VERSION, master.config_dir);
	log_set_hook(NULL, NULL);
	wait_report("ok", true);
	event_base_dispatch(master.base);

	/* Children's last words, then ours. */
	master_logger_drain();
	master_cleanup();
	close(lock_fd);
	return 0;
}
