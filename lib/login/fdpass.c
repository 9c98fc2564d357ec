/*
 * fdpass - send and receive one file descriptor over a UNIX socket
 *
 * SYNOPSIS
 *	#include "login.h"
 *
 *	int fdpass_send(int sock, int fd, const void *data, size_t len);
 *	ssize_t fdpass_recv(int sock, int *fd_r, void *buf, size_t size);
 *
 * DESCRIPTION
 *	The descriptor travels as SCM_RIGHTS ancillary data (unix(7)) with
 *	len bytes of ordinary data, at least one: Linux drops ancillary
 *	data that comes with no payload byte.  On a SOCK_STREAM socket the
 *	descriptor is attached to the first byte of the data, so a reader
 *	must not read across it with read(2): lib/login sends a frame first
 *	with write(2) and the descriptor afterwards in a message of its own
 *	(login_handoff.c), and uses SOCK_SEQPACKET, where a message and its
 *	descriptor arrive together, between the dispatcher and its workers.
 *
 *	fdpass_recv() takes at most one descriptor (MSG_CMSG_CLOEXEC); a
 *	peer that sends more has the extra ones closed, and a message whose
 *	control data was cut (MSG_CTRUNC) fails with EBADMSG, and a
 *	datagram larger than buf (MSG_TRUNC) with EMSGSIZE, so no
 *	descriptor leaks in any case.
 *
 * DIAGNOSTICS
 *	-1 with errno from sendmsg(2)/recvmsg(2); EINVAL for len 0 or a
 *	negative fd; EBADMSG, EMSGSIZE as above.  Both retry EINTR.
 */
#include "autoconf.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "login.h"

/* Room for a few descriptors, so that an over-eager peer's extras can be
 * closed instead of being truncated away by the kernel. */
#define FDPASS_MAX_FDS 8

/* fdpass_send - data and one descriptor in one message */
int fdpass_send(int sock, int fd, const void *data, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr msg = {0};
	struct cmsghdr *cmsg;
	ssize_t n;

	if (len == 0 || fd < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		/* A stream socket took part of it; the caller's framing is
		 * broken from here on, so say so rather than go on. */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* fdpass_recv - data and at most one descriptor */
ssize_t fdpass_recv(int sock, int *fd_r, void *buf, size_t size)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr msg = {0};
	struct cmsghdr *cmsg;
	ssize_t n;
	int got = -1;

	*fd_r = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t count;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			if (got < 0)
				got = fd;
			else
				close(fd);
		}
	}
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		/* Cut control data, or a datagram larger than buf. */
		if (got >= 0)
			close(got);
		errno = (msg.msg_flags & MSG_CTRUNC) ? EBADMSG : EMSGSIZE;
		return -1;
	}
	*fd_r = got;
	return n;
}
