/*
 * log - one line per event, to syslog, a file, a collector socket or stderr
 *
 * Lines read "facteur/PROGRAM[PID]: text" (syslog adds the time and host;
 * the file sink writes them itself, in syslog's shape, so that pflogsumm and
 * habits built on Postfix's maillog keep working).  Warnings, errors, fatal
 * errors and panics are prefixed "warning: ", "error: ", "fatal: " and
 * "panic: " as Postfix does.  A message never spans lines: control
 * characters are replaced before the line is written.
 *
 * Levels (STYLE.md §6): log_panic() is for a broken invariant and aborts;
 * log_fatal() is for a bad configuration or environment and exits 1; the
 * others return.  Tests swap the sink (log_set_hook) and the exit
 * (log_set_exit_hook) to capture fatal paths instead of dying.
 */
#ifndef FACTEUR_LOG_H
#define FACTEUR_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_PANIC,
};

/* The longest message text kept; longer ones are cut and end in "...". */
#define LOG_LINE_MAX 2048

/* Name the program: lines then say "facteur/NAME[PID]".  Sink: stderr. */
void log_init(const char *progname);
/* The ident prefix, "facteur" unless syslog_name says otherwise. */
void log_set_syslog_name(const char *name);
/* The current ident, e.g. "facteur/master". */
const char *log_ident(void);
void log_set_verbose(bool verbose);

/* stderr; with_pid=false gives the terse "facteur: text" of a CLI. */
void log_to_stderr(bool with_pid);
/* syslog(3) with a facility name ("mail", "local0".."local7", "daemon",
 * "user"); -1 for an unknown name (the sink is then left as it was). */
int log_to_syslog(const char *facility);
/* Append to path, one write(2) per line.  Returns -1 with *error_r set. */
int log_to_file(const char *path, const char **error_r);
/* Send each line as one datagram to fd (master's collector).  When the
 * send fails the line goes to stderr instead, so nothing is lost silently. */
void log_to_fd(int fd);

/*
 * log_format_file_line - the syslog-shaped line the file sink writes:
 * "Mon dd hh:mm:ss host ident[pid]: text\n".  Returns its length; the
 * result is cut to fit size and always terminated.
 */
size_t log_format_file_line(char *buf, size_t size, const char *text);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
_Noreturn void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Tests: receive each formatted message instead of the sink. */
typedef void log_hook_fn(enum log_level level, const char *text, void *ctx);
void log_set_hook(log_hook_fn *hook, void *ctx);
/* Tests: called instead of exit(1)/abort(); it must not return. */
typedef void log_exit_fn(enum log_level level);
void log_set_exit_hook(log_exit_fn *hook);

#endif
