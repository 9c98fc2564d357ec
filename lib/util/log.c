/*
 * log - one line per event, to syslog, a file, a collector socket or stderr
 *
 * SYNOPSIS
 *	#include "log.h"
 *
 * DESCRIPTION
 *	See log.h for the API.  Exactly one sink is active at a time.  Every
 *	sink receives a whole line in one system call (write, send or
 *	syslog), so that lines from many processes never interleave inside
 *	a line: the file sink relies on O_APPEND, the fd sink on datagrams
 *	that master's collector writes out one at a time.
 *
 * DIAGNOSTICS
 *	log_fatal() exits 1 (without atexit handlers) and log_panic()
 *	aborts, unless a test hook took
 *	over.  A sink that fails falls back to stderr.
 *
 * SECURITY
 *	Control characters in the text are replaced with '?', so that bytes a
 *	peer sent cannot forge or split log lines.  Callers still sanitize
 *	and truncate peer input before they log it.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_sink { SINK_STDERR, SINK_SYSLOG, SINK_FILE, SINK_FD };

static struct {
	char syslog_name[64];
	char progname[64];
	char ident[130];
	enum log_sink sink;
	bool stderr_pid;
	bool verbose;
	int fd;
	int facility;
	log_hook_fn *hook;
	void *hook_ctx;
	log_exit_fn *exit_hook;
} lg = {
	.syslog_name = "facteur",
	.progname = "facteur",
	.ident = "facteur",
	.sink = SINK_STDERR,
	.stderr_pid = true,
	.fd = -1,
	.facility = LOG_MAIL,
};

static void update_ident(void)
{
	if (strcmp(lg.syslog_name, lg.progname) == 0)
		snprintf(lg.ident, sizeof(lg.ident), "%s", lg.syslog_name);
	else
		snprintf(lg.ident, sizeof(lg.ident), "%s/%s", lg.syslog_name,
			 lg.progname);
}

/* log_init - name the program */
void log_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');

	snprintf(lg.progname, sizeof(lg.progname), "%s",
		 slash ? slash + 1 : progname);
	update_ident();
}

/* log_set_syslog_name - the ident prefix */
void log_set_syslog_name(const char *name)
{
	snprintf(lg.syslog_name, sizeof(lg.syslog_name), "%s", name);
	update_ident();
	if (lg.sink == SINK_SYSLOG) {
		closelog();
		openlog(lg.ident, LOG_PID | LOG_NDELAY, lg.facility);
	}
}

const char *log_ident(void)
{
	return lg.ident;
}

void log_set_verbose(bool verbose)
{
	lg.verbose = verbose;
}

static void close_sink(void)
{
	if (lg.sink == SINK_SYSLOG)
		closelog();
	if ((lg.sink == SINK_FILE || lg.sink == SINK_FD) && lg.fd >= 0)
		close(lg.fd);
	lg.fd = -1;
	lg.sink = SINK_STDERR;
}

void log_to_stderr(bool with_pid)
{
	close_sink();
	lg.stderr_pid = with_pid;
}

/* log_to_syslog - send lines to syslog(3) */
int log_to_syslog(const char *facility)
{
	static const struct {
		const char *name;
		int code;
	} facilities[] = {
		{"mail", LOG_MAIL},	{"daemon", LOG_DAEMON},
		{"user", LOG_USER},	{"local0", LOG_LOCAL0},
		{"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
		{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
		{"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
		{"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]);
	     i++) {
		if (strcmp(facility, facilities[i].name) == 0) {
			close_sink();
			lg.facility = facilities[i].code;
			openlog(lg.ident, LOG_PID | LOG_NDELAY, lg.facility);
			lg.sink = SINK_SYSLOG;
			return 0;
		}
	}
	return -1;
}

/* log_to_file - append lines to one file */
int log_to_file(const char *path, const char **error_r)
{
	static char error[512];
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		snprintf(error, sizeof(error), "open %s: %s", path,
			 strerror(errno));
		*error_r = error;
		return -1;
	}
	close_sink();
	lg.fd = fd;
	lg.sink = SINK_FILE;
	return 0;
}

/* log_to_fd - send lines to master's collector */
void log_to_fd(int fd)
{
	close_sink();
	lg.fd = fd;
	lg.sink = SINK_FD;
}

/*
 * short_host - the short host name, looked up once per process: it was a
 * uname(2) for every line, and a process logs a few lines per message.
 */
static const char *short_host(void)
{
	static char host[256];
	static bool looked_up;

	if (!looked_up) {
		looked_up = true;
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		/* syslog shows the short host name. */
		host[strcspn(host, ".")] = '\0';
	}
	return host;
}

static pid_t cached_pid;

/* forget_pid - in a fork()ed child: the pid is a new one */
static void forget_pid(void)
{
	cached_pid = 0;
}

/*
 * log_pid - getpid() once per process, not a system call per line; a
 * child of fork() asks again (pthread_atfork: local's pipe children
 * log before they exec).
 */
static long log_pid(void)
{
	static bool registered;

	if (cached_pid == 0) {
		if (!registered) {
			registered = true;
			(void)pthread_atfork(NULL, NULL, forget_pid);
		}
		cached_pid = getpid();
	}
	return (long)cached_pid;
}

/*
 * log_format_file_line - a line as syslog would have written it.  The
 * time stamp is formatted once per second (only the loop's thread logs).
 */
size_t log_format_file_line(char *buf, size_t size, const char *text)
{
	static char stamp[32];
	static time_t stamp_time = (time_t)-1;
	const char *host = short_host();
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (now != stamp_time) {
		stamp_time = now;
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
			snprintf(stamp, sizeof(stamp), "Jan  1 00:00:00");
	}
	n = snprintf(buf, size, "%s %s %s[%ld]: %s\n", stamp, host, lg.ident,
		     log_pid(), text);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	if ((size_t)n >= size) {
		buf[size - 2] = '\n';
		return size - 1;
	}
	return (size_t)n;
}

static void write_stderr(const char *text)
{
	char line[LOG_LINE_MAX + 256];
	int n;

	if (lg.stderr_pid)
		n = snprintf(line, sizeof(line), "%s[%ld]: %s\n", lg.ident,
			     log_pid(), text);
	else
		n = snprintf(line, sizeof(line), "%s: %s\n", lg.ident, text);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n
						      : sizeof(line) - 1);
}

static void emit(enum log_level level, const char *text)
{
	static const int prio[] = {
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,	[LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_FATAL] = LOG_CRIT,	[LOG_LEVEL_PANIC] = LOG_CRIT,
	};
	char line[LOG_LINE_MAX + 512];
	size_t len;
	int saved = errno;

	switch (lg.sink) {
	case SINK_SYSLOG:
		syslog(prio[level], "%s", text);
		break;
	case SINK_FILE:
		len = log_format_file_line(line, sizeof(line), text);
		if (write(lg.fd, line, len) != (ssize_t)len)
			write_stderr(text);
		break;
	case SINK_FD:
		len = log_format_file_line(line, sizeof(line), text);
		if (send(lg.fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
			write_stderr(text);
		break;
	case SINK_STDERR:
		write_stderr(text);
		break;
	}
	errno = saved;
}

/* log_vmsg - format, clean and send one message */
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[LOG_LEVEL_DEBUG] = "",		[LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_WARN] = "warning: ", [LOG_LEVEL_ERROR] = "error: ",
		[LOG_LEVEL_FATAL] = "fatal: ",	[LOG_LEVEL_PANIC] = "panic: ",
	};
	char text[LOG_LINE_MAX];
	size_t plen = strlen(prefix[level]);
	int n;

	if (level == LOG_LEVEL_DEBUG && !lg.verbose)
		return;
	memcpy(text, prefix[level], plen);
	n = vsnprintf(text + plen, sizeof(text) - plen, fmt, ap);
	if (n >= 0 && (size_t)n >= sizeof(text) - plen)
		memcpy(text + sizeof(text) - 4, "...", 4);
	for (unsigned char *p = (unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (lg.hook != NULL)
		lg.hook(level, text, lg.hook_ctx);
	else
		emit(level, text);
}

#define LOG_FUNCTION(name, level)                                              \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vmsg(level, fmt, ap);                                      \
		va_end(ap);                                                    \
	}

LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO)
LOG_FUNCTION(log_warn, LOG_LEVEL_WARN)
LOG_FUNCTION(log_error, LOG_LEVEL_ERROR)

/* log_fatal - report a broken environment and exit */
_Noreturn void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, fmt, ap);
	va_end(ap);
	if (lg.exit_hook != NULL)
		lg.exit_hook(LOG_LEVEL_FATAL);
	/*
	 * Flush what the program printed, then leave without atexit
	 * handlers: a fatal error ends the process where it stands, and
	 * LeakSanitizer would otherwise report the memory still in use.
	 */
	fflush(NULL);
	_exit(1);
}

/* log_panic - report a broken invariant and dump core */
_Noreturn void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_PANIC, fmt, ap);
	va_end(ap);
	if (lg.exit_hook != NULL)
		lg.exit_hook(LOG_LEVEL_PANIC);
	abort();
}

void log_set_hook(log_hook_fn *hook, void *ctx)
{
	lg.hook = hook;
	lg.hook_ctx = ctx;
}

void log_set_exit_hook(log_exit_fn *hook)
{
	lg.exit_hook = hook;
}
