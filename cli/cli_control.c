/*
 * cli_control - `facteur start`, `stop`, `reload` and `status`
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_start(ctx, argc, argv)
 *	int cli_stop(ctx, argc, argv)
 *	int cli_reload(ctx, argc, argv)
 *	int cli_status(ctx, argc, argv)
 *	void cli_log_action(cfg, fmt, ...)
 *
 * DESCRIPTION
 *	The running master is found through the lock on
 *	data_directory/master.pid (pidlock.h): the lock, not the pid in the
 *	file, says whether it runs, so a stale file left by a crash neither
 *	blocks a start nor makes status lie.
 *
 *	start runs everything check does, refuses a second instance, then
 *	executes "daemon_directory/master -c DIR -w": master -w returns once
 *	the daemon is ready (exit 0) or has failed (exit 1, saying why), and
 *	its exit status becomes ours.  stop sends SIGTERM and waits until
 *	the lock is gone and the process has exited (up to
 *	master_stop_timeout plus 5 seconds, the time master gives its
 *	children and then some).  reload validates both
 *	files, then sends SIGHUP.  status reports the pid.
 *
 *	Messages read as postfix(1)'s: "facteur: stopping the Facteur mail
 *	system".  start, stop and reload are also written to the mail log
 *	(maillog_file, else syslog), so that the log says why master went
 *	away or re-read its files.
 *
 * DIAGNOSTICS
 *	Exit 1 with "facteur: fatal: ..." when the configuration does not
 *	load, when start finds the system running, when stop or reload find
 *	it not running, and when stop times out.  status exits 1 when the
 *	system is not running.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "maillog.h"
#include "mastercf.h"
#include "params.h"
#include "pidlock.h"

/* How often stop looks at the lock: short next to a human's patience. */
#define STOP_POLL_NS (50 * 1000 * 1000L)
/* Extra time over master_stop_timeout before stop gives up. */
#define STOP_SLACK_SECONDS 5
/* Used when the table has no master_stop_timeout. */
#define STOP_DEFAULT_SECONDS 10

/* cli_log_action - tell the user, and the mail log */
void cli_log_action(const struct config *cfg, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	const char *error;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_info("%s", text);
	/* The log sink is one at a time: visit the mail log, come back. */
	if (maillog_setup(cfg, false, &error) == 0)
		log_info("%s", text);
	log_to_stderr(false);
}

/* master_pid_path - where master keeps its lock */
static char *master_pid_path(const struct config *cfg)
{
	return cli_path(config_str(cfg, "data_directory"), "master.pid");
}

/* running_pid - the master holding the lock, 0 when none; fatal on error */
static pid_t running_pid(const struct config *cfg)
{
	char *path = master_pid_path(cfg);
	const char *error;
	pid_t pid = pidlock_holder(path, &error);

	if (pid < 0)
		log_fatal("%s", error);
	free(path);
	return pid;
}

/* no_args - subcommands that take no arguments */
static int no_args(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	fprintf(stderr, "usage: facteur %s\n", argv[0]);
	return -1;
}

/* cli_start - check, then run master -w */
int cli_start(struct cli_ctx *ctx, int argc, char **argv)
{
	struct config *cfg;
	struct mastercf *mcf;
	char *master, *dir;
	const char *args[6];
	int n = 0;

	if (no_args(argc, argv) < 0)
		return 1;
	cfg = cli_load_config(ctx);
	mcf = cli_load_mastercf(ctx);
	cli_check_run(ctx, cfg, mcf);
	mastercf_free(&mcf);
	if (running_pid(cfg) > 0)
		log_fatal("the Facteur mail system is already running");

	/* master daemonizes and leaves "/": give it an absolute path. */
	if ((dir = realpath(ctx->config_dir, NULL)) == NULL)
		log_fatal("%s: %m", ctx->config_dir);
	master = cli_path(config_str(cfg, "daemon_directory"), "master");
	args[n++] = "master";
	args[n++] = "-c";
	args[n++] = dir;
	args[n++] = "-w";
	if (ctx->verbose)
		args[n++] = "-v";
	args[n] = NULL;
	/* Say so before the log claims that the system is starting. */
	if (access(master, X_OK) < 0)
		log_fatal("cannot execute %s: %m", master);

	cli_log_action(cfg, "starting the Facteur mail system");
	config_free(&cfg);
	fflush(NULL);
	execv(master, (char *const *)args);
	log_fatal("execute %s: %m", master);
}

/*
 * process_gone - whether pid has exited (or is a zombie nobody reaped
 * yet: it holds nothing any more).  /proc tells zombies apart on Linux;
 * elsewhere kill(pid, 0) is the best there is.
 */
static bool process_gone(pid_t pid)
{
	char path[64], buf[512];
	const char *state;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT && access("/proc/self/stat", F_OK) == 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, so find the last ')'. */
	if ((state = strrchr(buf, ')')) == NULL)
		return false;
	return state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
}

/*
 * wait_stopped - poll until master lets go of the lock and has exited.
 * The lock alone is not enough: master releases it on its way out, and
 * "stop" promises that no master is left when it returns (a start right
 * after a stop must not race the old process's last writes).
 */
static bool wait_stopped(const struct config *cfg, pid_t pid, long long seconds)
{
	struct timespec poll = {.tv_sec = 0, .tv_nsec = STOP_POLL_NS};
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (running_pid(cfg) == 0 && process_gone(pid))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= seconds)
			return false;
		nanosleep(&poll, NULL);
	}
}

/* cli_stop - SIGTERM and wait */
int cli_stop(struct cli_ctx *ctx, int argc, char **argv)
{
	long long timeout = STOP_DEFAULT_SECONDS;
	struct config *cfg;
	pid_t pid;

	if (no_args(argc, argv) < 0)
		return 1;
	cfg = cli_load_config(ctx);
	if ((pid = running_pid(cfg)) == 0)
		log_fatal("the Facteur mail system is not running");
	if (param_lookup("master_stop_timeout") != NULL)
		timeout = config_time(cfg, "master_stop_timeout");
	cli_log_action(cfg, "stopping the Facteur mail system");
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		log_fatal("send SIGTERM to master (pid %ld): %m", (long)pid);
	if (!wait_stopped(cfg, pid, timeout + STOP_SLACK_SECONDS))
		log_fatal("the Facteur mail system (master pid %ld) did not "
			  "stop within %lld seconds",
			  (long)pid, timeout + STOP_SLACK_SECONDS);
	config_free(&cfg);
	return 0;
}

/* cli_reload - validate, then SIGHUP */
int cli_reload(struct cli_ctx *ctx, int argc, char **argv)
{
	struct config *cfg;
	struct mastercf *mcf;
	pid_t pid;

	if (no_args(argc, argv) < 0)
		return 1;
	/*
	 * master refuses a reload whose files do not parse, but only its
	 * log would say so: say it here, where the admin is looking.
	 */
	cfg = cli_load_config(ctx);
	mcf = cli_load_mastercf(ctx);
	mastercf_free(&mcf);
	if ((pid = running_pid(cfg)) == 0)
		log_fatal("the Facteur mail system is not running");
	cli_log_action(cfg, "refreshing the Facteur mail system");
	if (kill(pid, SIGHUP) < 0)
		log_fatal("send SIGHUP to master (pid %ld): %m", (long)pid);
	config_free(&cfg);
	return 0;
}

/* cli_status - running or not, and the pid */
int cli_status(struct cli_ctx *ctx, int argc, char **argv)
{
	struct config *cfg;
	pid_t pid;

	if (no_args(argc, argv) < 0)
		return 1;
	cfg = cli_load_config(ctx);
	pid = running_pid(cfg);
	config_free(&cfg);
	if (pid == 0) {
		log_info("the Facteur mail system is not running");
		return 1;
	}
	log_info("the Facteur mail system is running: PID: %ld", (long)pid);
	return 0;
}
