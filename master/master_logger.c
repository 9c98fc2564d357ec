/*
 * master_logger - the maillog_file collector
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	int master_logger_init(path, error_r)
 *	int master_logger_reopen(path, error_r)
 *	void master_logger_drain(void)
 *	void master_logger_close(void)
 *
 * DESCRIPTION
 *	When maillog_file is set, master is the only writer of that file.
 *	It creates a SOCK_DGRAM socket pair, keeps one end and hands the
 *	other to every child on fd 4 (FACTEUR_LOG_FD).  A child's log line
 *	arrives as one datagram, already in syslog's shape
 *	(log_format_file_line()).  Master takes what is queued with one
 *	recvmmsg(2), up to LOGGER_BATCH datagrams, and writes those lines
 *	with one writev(2) on a descriptor opened with O_APPEND: lines
 *	never interleave, and master's own lines (written directly by
 *	log.c) append the same way.
 *
 *	master_logger_reopen() opens the file again (SIGHUP): this is how
 *	an admin rotates the log, and how a changed maillog_file applies.
 *
 * DIAGNOSTICS
 *	Failing to open the file or create the pair returns -1; a failed
 *	write is reported once on our own log sink.
 *
 * SECURITY
 *	Datagrams come from less privileged processes: each is bounded by
 *	the receive buffer, and a newline inside one is replaced, so that
 *	a child cannot write more than one line per datagram.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "master.h"
#include "net.h"

/* Longer than any line log.c formats; longer datagrams are cut. */
#define LOGGER_DGRAM_MAX (LOG_LINE_MAX + 1024)
/* Datagrams per callback, so that a chatty child cannot starve others. */
#define LOGGER_BATCH 64

static char *logger_error(const char *op, const char *path)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s %s: %s", op, path, strerror(errno));
	return buf;
}

/* logger_read - write out pending datagrams; returns how many */
static int logger_read(int max)
{
	static bool write_failed;
	static char bufs[LOGGER_BATCH][LOGGER_DGRAM_MAX + 1];
	struct mmsghdr msgs[LOGGER_BATCH];
	struct iovec in[LOGGER_BATCH], out[LOGGER_BATCH];
	size_t total = 0;
	int count;

	if (max > LOGGER_BATCH)
		max = LOGGER_BATCH;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < max; i++) {
		in[i].iov_base = bufs[i];
		in[i].iov_len = LOGGER_DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &in[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* All that is queued in one call, and out in one write: a busy
	 * system logs several lines per wakeup. */
	count = recvmmsg(master.log_pair[0], msgs, (unsigned)max, MSG_DONTWAIT,
			 NULL);
	if (count <= 0)
		return 0;
	for (int i = 0; i < count; i++) {
		char *buf = bufs[i];
		size_t n = msgs[i].msg_len;

		if (n == 0) {
			out[i].iov_base = buf;
			out[i].iov_len = 0;
			continue;
		}
		/* One datagram, one line: no embedded newline survives. */
		for (size_t j = 0; j < n - 1; j++)
			if (buf[j] == '\n' || buf[j] == '\0')
				buf[j] = '?';
		if (buf[n - 1] != '\n')
			buf[n++] = '\n';
		out[i].iov_base = buf;
		out[i].iov_len = n;
		total += n;
	}
	/* O_APPEND: the lines land together, after whatever master itself
	 * wrote, never inside another write. */
	if (writev(master.log_file_fd, out, count) != (ssize_t)total) {
		if (!write_failed)
			log_error("write %s: %m", master.log_path);
		write_failed = true;
	} else {
		write_failed = false;
	}
	return count;
}

/* logger_event - the collector socket is readable */
static void logger_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	(void)logger_read(LOGGER_BATCH);
}

/* master_logger_reopen - (re)open the file the collector writes */
int master_logger_reopen(const char *path, const char **error_r)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		*error_r = logger_error("open", path);
		return -1;
	}
	if (master.log_file_fd >= 0)
		close(master.log_file_fd);
	master.log_file_fd = fd;
	free(master.log_path);
	master.log_path = xstrdup(path);
	return 0;
}

/* master_logger_init - the socket pair and the file */
int master_logger_init(const char *path, const char **error_r)
{
	int size = 256 * 1024;

	if (master_logger_reopen(path, error_r) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, master.log_pair) <
	    0) {
		*error_r = logger_error("socketpair for", path);
		return -1;
	}
	(void)net_set_nonblock(master.log_pair[0], true);
	/* Room for bursts while master is busy elsewhere. */
	(void)setsockopt(master.log_pair[0], SOL_SOCKET, SO_RCVBUF, &size,
			 sizeof(size));
	master.log_ev = event_new(master.base, master.log_pair[0],
				  EV_READ | EV_PERSIST, logger_event, NULL);
	if (master.log_ev == NULL)
		log_fatal("event_new failed");
	event_add(master.log_ev, NULL);
	return 0;
}

/* master_logger_drain - write what is queued (before exit) */
void master_logger_drain(void)
{
	if (master.log_pair[0] >= 0)
		while (logger_read(LOGGER_BATCH) == LOGGER_BATCH)
			;
}

/* master_logger_close - drain and release everything */
void master_logger_close(void)
{
	master_logger_drain();
	if (master.log_ev != NULL)
		event_free(master.log_ev);
	master.log_ev = NULL;
	for (int i = 0; i < 2; i++) {
		if (master.log_pair[i] >= 0)
			close(master.log_pair[i]);
		master.log_pair[i] = -1;
	}
	if (master.log_file_fd >= 0)
		close(master.log_file_fd);
	master.log_file_fd = -1;
	free(master.log_path);
	master.log_path = NULL;
}
