/*
 * rename - rename without replacing the target (see rename.h)
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "rename.h"

int rename_noreplace(int from_fd, const char *from, int to_fd, const char *to)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* Filesystems without renameat2(): link(2) never replaces either. */
	if (linkat(from_fd, from, to_fd, to, 0) < 0)
		return -1;
	(void)unlinkat(from_fd, from, 0);
	return 0;
}
