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
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "strbuf.h"
#include "trigger.h"

/* trigger_wakeup - send one wakeup/1 frame */
int trigger_wakeup(const char *queue_dir, const char *service_path,
		   const char **error_r)
{
	static char error[512];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct attr_writer w;
	struct strbuf frame;
	int fd, ret = -1;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
			     queue_dir, service_path) >= sizeof(sun.sun_path)) {
		snprintf(error, sizeof(error), "%s/%s: path too long",
			 queue_dir, service_path);
		*error_r = error;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(error, sizeof(error), "connect %s: %s", sun.sun_path,
			 strerror(errno));
		*error_r = error;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, "wakeup/1");
	attr_writer_end(&w);
	/* A unix stream socket takes a few bytes without blocking. */
	if (write(fd, frame.data, frame.len) != (ssize_t)frame.len) {
		snprintf(error, sizeof(error), "write %s: %s", sun.sun_path,
			 strerror(errno));
		*error_r = error;
	} else {
		ret = 0;
	}
	strbuf_release(&frame);
	close(fd);
	return ret;
}
