/*
 * maillog - choose the log sink a program uses, from its configuration
 *
 * In this order: a collector socket inherited from master (FACTEUR_LOG_FD,
 * see docs/architecture.md), else maillog_file when it is set, else stderr
 * when to_stderr is true (a program in the foreground, the CLI), else syslog
 * with facility mail.  syslog_name sets the ident prefix ("facteur").
 */
#ifndef FACTEUR_MAILLOG_H
#define FACTEUR_MAILLOG_H

#include <stdbool.h>

struct config;

/* Environment variable naming the inherited collector socket. */
#define MAILLOG_FD_ENV "FACTEUR_LOG_FD"

/* Returns 0, or -1 with *error_r when maillog_file cannot be opened. */
int maillog_setup(const struct config *cfg, bool to_stderr,
		  const char **error_r);

#endif
