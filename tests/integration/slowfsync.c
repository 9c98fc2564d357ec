/*
 * slowfsync - LD_PRELOAD shim for test_smtpd.py: slow, logged fsync()
 *
 * For a descriptor whose path contains "/incoming" (a queue file or the
 * incoming/ directory), fsync() appends "fsync PATH" to $SLOWFSYNC_LOG,
 * sleeps $SLOWFSYNC_MS milliseconds, calls the real fsync() and appends
 * "done PATH".  The test then checks that a 250 came only after the
 * "done" lines of its file and directory, and that the process answered
 * other sessions while a commit slept.  Built by the test with cc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void note(const char *what, const char *path)
{
	const char *log = getenv("SLOWFSYNC_LOG");
	char line[4200];
	int fd, n;

	if (log == NULL)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", what, path);
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return;
	/* One O_APPEND write per line: lines of threads never mix. */
	if (write(fd, line, (size_t)n) < 0) {
	}
	close(fd);
}

int fsync(int fd)
{
	static int (*real)(int);
	char link[64], path[4096];
	const char *ms = getenv("SLOWFSYNC_MS");
	ssize_t n;
	int ret;

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || (path[n] = '\0', strstr(path, "/incoming") == NULL))
		return real(fd);
	note("fsync", path);
	if (ms != NULL) {
		long v = atol(ms);
		struct timespec ts = {v / 1000, (v % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	ret = real(fd);
	note("done", path);
	return ret;
}
