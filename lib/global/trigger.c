/*
 * trigger - wake a service over its unix socket
 *
 * SYNOPSIS
 *	#include "trigger.h"
 *
 * DESCRIPTION
 *	See trigger.h.
 *
 * DIAGNOSTICS
 *	-1 with a text naming the socket and errno.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "net.h"
#include "strbuf.h"
#include "trigger.h"

/* trigger_wakeup - send one wakeup/1 frame */
int trigger_wakeup(const char *queue_dir, const char *service_path,
		   const char **error_r)
{
	static char error[512];
	struct attr_writer w;
	struct strbuf frame;
	char *path = xasprintf("%s/%s", queue_dir, service_path);
	int fd, ret = -1;

	if ((fd = net_connect_unix(path, true, error_r)) < 0) {
		free(path);
		return -1;
	}
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, "wakeup/1");
	attr_writer_end(&w);
	/* A unix stream socket takes a few bytes without blocking. */
	if (write(fd, frame.data, frame.len) != (ssize_t)frame.len) {
		snprintf(error, sizeof(error), "write %s: %s", path,
			 strerror(errno));
		*error_r = error;
	} else {
		ret = 0;
	}
	strbuf_release(&frame);
	close(fd);
	free(path);
	return ret;
}
