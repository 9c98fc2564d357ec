/*
 * master_status - availability reports from the children of a service
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	int master_status_init(serv, error_r)
 *	void master_status_close(serv)
 *
 * DESCRIPTION
 *	Each service has one pipe; all its children write on fd 3, master
 *	reads the other end.  A frame is attr protocol "status/1" with
 *	"pid" and "avail" (0 or 1).  Frames are written with one write(2)
 *	each and are far smaller than PIPE_BUF, so siblings' frames never
 *	interleave.  master keeps the write end open itself (it hands it to
 *	every new child), so the read end never sees end-of-file.
 *
 * DIAGNOSTICS
 *	A malformed frame or one naming a process that is not a child of
 *	this service is logged and ignored; after a malformed frame the
 *	buffered bytes are dropped so that reading can start over.
 *
 * SECURITY
 *	Children are less privileged than master: a frame is checked for
 *	its protocol, its size (STATUS_FRAME_MAX, checked on the length
 *	prefix) and full consumption, and a child can only change the
 *	state that master keeps for its own service.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "log.h"
#include "master.h"
#include "net.h"

/* A status frame is two small numbers; anything bigger is garbage. */
#define STATUS_FRAME_MAX 256

/* status_frame - apply one decoded frame */
static void status_frame(struct master_service *serv, struct attr_list *list)
{
	struct master_proc *proc;
	int64_t pid, avail;
	const char *error;

	if (strcmp(list->proto, "status/1") != 0) {
		log_warn("service %s: unexpected status protocol %.32s",
			 serv->name, list->proto);
		return;
	}
	if (attr_get_int(list, "pid", &pid, &error) < 0 ||
	    attr_get_int(list, "avail", &avail, &error) < 0 ||
	    attr_list_end(list, &error) < 0) {
		log_warn("service %s: bad status frame: %s", serv->name, error);
		return;
	}
	if (avail != 0 && avail != 1) {
		log_warn("service %s: bad status frame: avail %lld", serv->name,
			 (long long)avail);
		return;
	}
	for (proc = serv->procs; proc != NULL; proc = proc->next)
		if (proc->pid == pid)
			break;
	/* Already reaped, or draining after a reload: nothing to count. */
	if (proc == NULL || proc->draining)
		return;
	if (proc->avail != (avail == 1)) {
		proc->avail = avail == 1;
		if (proc->avail)
			serv->avail_count++;
		else
			serv->avail_count--;
		master_avail_update(serv);
	}
}

/* status_event - read what the children wrote */
static void status_event(evutil_socket_t fd, short what, void *arg)
{
	struct master_service *serv = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		struct attr_list *list;
		const char *error;
		int rc;

		if (attr_reader_feed(serv->status_reader, buf, (size_t)n) < 0)
			goto reset;
		while ((rc = attr_reader_next(serv->status_reader, &list,
					      &error)) > 0) {
			status_frame(serv, list);
			attr_list_free(&list);
		}
		if (rc < 0) {
			log_warn("service %s: bad status frame: %s", serv->name,
				 error);
			goto reset;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("service %s: read status: %m", serv->name);
	return;

reset:
	attr_reader_free(&serv->status_reader);
	serv->status_reader = attr_reader_create(STATUS_FRAME_MAX);
}

/* master_status_init - the status pipe of a service */
int master_status_init(struct master_service *serv, const char **error_r)
{
	if (pipe2(serv->status_pipe, O_CLOEXEC) < 0) {
		*error_r = "pipe: cannot create the status pipe";
		return -1;
	}
	(void)net_set_nonblock(serv->status_pipe[0], true);
	serv->status_reader = attr_reader_create(STATUS_FRAME_MAX);
	serv->status_ev = event_new(master.base, serv->status_pipe[0],
				    EV_READ | EV_PERSIST, status_event, serv);
	if (serv->status_ev == NULL)
		log_fatal("event_new failed");
	event_add(serv->status_ev, NULL);
	return 0;
}

/* master_status_close - release the pipe (children are all gone) */
void master_status_close(struct master_service *serv)
{
	if (serv->status_ev != NULL) {
		event_free(serv->status_ev);
		serv->status_ev = NULL;
	}
	attr_reader_free(&serv->status_reader);
	for (int i = 0; i < 2; i++) {
		if (serv->status_pipe[i] >= 0)
			close(serv->status_pipe[i]);
		serv->status_pipe[i] = -1;
	}
}
