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
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "net.h"
#include "strbuf.h"
#include "trigger.h"

/* trigger_connect - connect and send one frame of proto; fd or -1 */
static int trigger_connect(const char *queue_dir, const char *service_path,
			   const char *proto, const char **error_r)
{
	static char error[512];
	struct attr_writer w;
	struct strbuf frame;
	char *path = xasprintf("%s/%s", queue_dir, service_path);
	int fd;

	if ((fd = net_connect_unix(path, true, error_r)) < 0) {
		free(path);
		return -1;
	}
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, proto);
	attr_writer_end(&w);
	/* A unix stream socket takes a few bytes without blocking. */
	if (send(fd, frame.data, frame.len, MSG_NOSIGNAL) !=
	    (ssize_t)frame.len) {
		snprintf(error, sizeof(error), "write %s: %s", path,
			 strerror(errno));
		*error_r = error;
		close(fd);
		fd = -1;
	}
	strbuf_release(&frame);
	free(path);
	return fd;
}

/* trigger_wakeup - send one wakeup/1 frame */
int trigger_wakeup(const char *queue_dir, const char *service_path,
		   const char **error_r)
{
	int fd = trigger_connect(queue_dir, service_path, "wakeup/1", error_r);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* trigger_stream_wakeup - one "W" on the kept stream */
int trigger_stream_wakeup(int *fd, const char *queue_dir,
			  const char *service_path, const char **error_r)
{
	if (*fd >= 0) {
		if (send(*fd, "W", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 ||
		    errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		/* Gone (EPIPE, ECONNRESET): the service restarted. */
		close(*fd);
		*fd = -1;
	}
	*fd = trigger_connect(queue_dir, service_path, "wakeup-stream/1",
			      error_r);
	return *fd < 0 ? -1 : 0;
}
