/*
 * test_fdpass - unit tests for lib/login/fdpass.c
 *
 * Descriptors are passed over real socketpairs (stream and seqpacket),
 * and identified by their inode: what arrives must be the file that was
 * sent.  Error paths: no descriptor, a datagram too large for the
 * buffer (MSG_TRUNC: the descriptor must not leak), bad arguments.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "login.h"

/* same_file - whether two descriptors name the same open file's inode */
static bool same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* open_fd_count - descriptors open in this process */
static int open_fd_count(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void test_stream_roundtrip(void **state)
{
	int sp[2], pipefd[2], got = -1;
	char buf[16];
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(fdpass_send(sp[0], pipefd[0], "F", 1), 0);
	n = fdpass_recv(sp[1], &got, buf, sizeof(buf));
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 'F');
	assert_true(got >= 0);
	assert_true(same_file(got, pipefd[0]));
	/* close-on-exec was asked for */
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	/* it works: write into the pipe, read from the passed end */
	assert_int_equal(write(pipefd[1], "x", 1), 1);
	assert_int_equal(read(got, buf, 1), 1);
	close(got);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_frame_then_fd_on_stream(void **state)
{
	/* login_handoff's order: a frame by write(2), then the descriptor:
	 * read(2) of exactly the frame must not lose the descriptor. */
	int sp[2], pipefd[2], got = -1;
	char buf[16];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(sp[0], "FRAME", 5), 5);
	assert_int_equal(fdpass_send(sp[0], pipefd[1], "F", 1), 0);
	assert_int_equal(read(sp[1], buf, 5), 5);
	assert_memory_equal(buf, "FRAME", 5);
	assert_int_equal(fdpass_recv(sp[1], &got, buf, 1), 1);
	assert_true(same_file(got, pipefd[1]));
	close(got);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_seqpacket_message(void **state)
{
	int sp[2], pipefd[2], got = -1;
	char msg[300], buf[512];

	(void)state;
	memset(msg, 'a', sizeof(msg));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(fdpass_send(sp[0], pipefd[0], msg, sizeof(msg)), 0);
	assert_int_equal(fdpass_recv(sp[1], &got, buf, sizeof(buf)),
			 (ssize_t)sizeof(msg));
	assert_true(same_file(got, pipefd[0]));
	close(got);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_no_fd(void **state)
{
	int sp[2], got = 7;
	char buf[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[0], "abc", 3), 3);
	assert_int_equal(fdpass_recv(sp[1], &got, buf, sizeof(buf)), 3);
	assert_int_equal(got, -1);
	close(sp[0]);
	/* end of file */
	assert_int_equal(fdpass_recv(sp[1], &got, buf, sizeof(buf)), 0);
	assert_int_equal(got, -1);
	close(sp[1]);
}

static void test_truncated_datagram_does_not_leak(void **state)
{
	int sp[2], pipefd[2], got = 7, before;
	char msg[100] = {0}, buf[10];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(fdpass_send(sp[0], pipefd[0], msg, sizeof(msg)), 0);
	before = open_fd_count();
	errno = 0;
	assert_int_equal(fdpass_recv(sp[1], &got, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(got, -1);
	assert_int_equal(open_fd_count(), before);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_extra_fds_closed(void **state)
{
	/* A peer that sends two descriptors: we keep the first only. */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	int sp[2], p1[2], p2[2], got = -1, before, fds[2];
	struct iovec iov = {.iov_base = "F", .iov_len = 1};
	struct msghdr msg = {0};
	struct cmsghdr *cmsg;
	char buf[4];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
	fds[0] = p1[0];
	fds[1] = p2[0];
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	assert_int_equal(sendmsg(sp[0], &msg, 0), 1);
	before = open_fd_count();
	assert_int_equal(fdpass_recv(sp[1], &got, buf, sizeof(buf)), 1);
	assert_true(same_file(got, p1[0]));
	assert_int_equal(open_fd_count(), before + 1);
	close(got);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_bad_arguments(void **state)
{
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	errno = 0;
	assert_int_equal(fdpass_send(sp[0], 0, "", 0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fdpass_send(sp[0], -1, "F", 1), -1);
	assert_int_equal(errno, EINVAL);
	/* a closed peer is an error, not a SIGPIPE */
	close(sp[1]);
	assert_int_equal(fdpass_send(sp[0], 0, "F", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(sp[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_roundtrip),
		cmocka_unit_test(test_frame_then_fd_on_stream),
		cmocka_unit_test(test_seqpacket_message),
		cmocka_unit_test(test_no_fd),
		cmocka_unit_test(test_truncated_datagram_does_not_leak),
		cmocka_unit_test(test_extra_fds_closed),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
