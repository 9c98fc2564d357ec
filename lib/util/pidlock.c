/*
 * pidlock - one running instance per configuration: a locked pid file
 *
 * SYNOPSIS
 *	#include "pidlock.h"
 *
 * DESCRIPTION
 *	fcntl(2) record locks: F_GETLK reports the pid of the holder, which
 *	is exactly what `facteur status` and `stop` need, and the lock goes
 *	away with the process however it dies.
 *
 * DIAGNOSTICS
 *	Every failure returns -1 with a message naming the path and errno.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"

static char error[512];

static const char *fail(const char *op, const char *path)
{
	snprintf(error, sizeof(error), "%s %s: %s", op, path, strerror(errno));
	return error;
}

int pidlock_rewrite(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

int pidlock_acquire(const char *path, pid_t *holder_r, const char **error_r)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	*holder_r = 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		*error_r = fail("open", path);
		return -1;
	}
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int saved = errno;

		if (saved == EAGAIN || saved == EACCES) {
			struct flock probe = {.l_type = F_WRLCK,
					      .l_whence = SEEK_SET};

			if (fcntl(fd, F_GETLK, &probe) == 0 &&
			    probe.l_type != F_UNLCK)
				*holder_r = probe.l_pid;
			snprintf(error, sizeof(error),
				 "%s is locked by process %ld", path,
				 (long)*holder_r);
			*error_r = error;
		} else {
			errno = saved;
			*error_r = fail("lock", path);
		}
		close(fd);
		return -1;
	}
	if (pidlock_rewrite(fd) < 0) {
		*error_r = fail("write", path);
		close(fd);
		return -1;
	}
	return fd;
}

pid_t pidlock_holder(const char *path, const char **error_r)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = fail("open", path);
		return -1;
	}
	/* F_GETLK with a write lock type needs no write access. */
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		*error_r = fail("lock test", path);
		close(fd);
		return -1;
	}
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}
