/*
 * maillog - choose the log sink a program uses, from its configuration
 *
 * SYNOPSIS
 *	#include "maillog.h"
 *
 * DESCRIPTION
 *	See maillog.h.  The collector fd comes from the environment because
 *	its number is part of the master/child contract, and a program that
 *	was not started by master simply does not have it.
 *
 * DIAGNOSTICS
 *	-1 when maillog_file cannot be opened for appending.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "maillog.h"
#include "strnum.h"

/* maillog_setup - pick the sink */
int maillog_setup(const struct config *cfg, bool to_stderr,
		  const char **error_r)
{
	const char *fd_text = getenv(MAILLOG_FD_ENV);
	const char *file = config_str(cfg, "maillog_file");
	int fd;

	log_set_syslog_name(config_str(cfg, "syslog_name"));
	if (fd_text != NULL && str_to_int(fd_text, &fd) == 0 && fd > 2 &&
	    fcntl(fd, F_GETFD) >= 0) {
		log_to_fd(fd);
		return 0;
	}
	if (file[0] != '\0')
		return log_to_file(file, error_r);
	if (to_stderr) {
		log_to_stderr(true);
	} else if (log_to_syslog(config_str(cfg, "syslog_facility")) < 0) {
		*error_r = "syslog_facility: unknown facility name";
		return -1;
	}
	return 0;
}
