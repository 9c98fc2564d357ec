/*
 * priv - give up root for good, and other start-up hygiene of a daemon
 *
 * SYNOPSIS
 *	#include "priv.h"
 *
 *	int priv_lookup(user, uid_r, gid_r, error_r)
 *	int priv_drop(uid, gid, error_r)
 *	void priv_close_from(fd)
 *
 * DESCRIPTION
 *	See priv.h.  The order in priv_drop() matters: setgroups(2) and
 *	setgid(2) need root, so they come before setuid(2); setuid(2) as
 *	root sets the real, effective and saved uid at once, so that no
 *	id is left to switch back to.
 *
 * DIAGNOSTICS
 *	-1 with a message naming the call and errno, or the unknown user.
 *	priv_drop() also fails when setuid(0) still succeeds afterwards.
 *
 * SECURITY
 *	Callers must treat a failed drop as fatal and never continue.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"
#include "strnum.h"

static char error[512];

/* priv_lookup - resolve a user name or number */
int priv_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
		const char **error_r)
{
	struct passwd *pw;
	unsigned int num;

	errno = 0;
	if (str_to_uint(user, &num) == 0)
		pw = getpwuid((uid_t)num);
	else
		pw = getpwnam(user);
	if (pw == NULL) {
		if (errno != 0)
			snprintf(error, sizeof(error), "look up user %s: %s",
				 user, strerror(errno));
		else
			snprintf(error, sizeof(error), "unknown user: %s",
				 user);
		*error_r = error;
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

/* priv_drop - switch to uid/gid permanently */
int priv_drop(uid_t uid, gid_t gid, const char **error_r)
{
	const char *op;

	op = "setgroups";
	if (setgroups(1, &gid) < 0)
		goto bad;
	op = "setgid";
	if (setgid(gid) < 0)
		goto bad;
	op = "setuid";
	if (setuid(uid) < 0)
		goto bad;
	/* The point of the exercise: there must be no way back. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(error, sizeof(error),
			 "root privileges could be regained after setuid(%ld)",
			 (long)uid);
		*error_r = error;
		return -1;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		snprintf(error, sizeof(error), "ids not changed to %ld:%ld",
			 (long)uid, (long)gid);
		*error_r = error;
		return -1;
	}
	return 0;

bad:
	snprintf(error, sizeof(error), "%s(%ld): %s", op,
		 op[3] == 'u' ? (long)uid : (long)gid, strerror(errno));
	*error_r = error;
	return -1;
}

/* priv_close_from - close descriptors we did not mean to inherit */
void priv_close_from(int fd)
{
	DIR *dir;
	struct dirent *de;

	/* /proc lists exactly the open descriptors; fall back to a loop. */
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		int dir_fd = dirfd(dir);
		int *fds = NULL;
		size_t count = 0, cap = 0;

		while ((de = readdir(dir)) != NULL) {
			unsigned int num;

			if (str_to_uint(de->d_name, &num) < 0 ||
			    (int)num < fd || (int)num == dir_fd)
				continue;
			if (count == cap) {
				int *more;

				cap = cap ? cap * 2 : 32;
				more = realloc(fds, cap * sizeof(*fds));
				if (more == NULL)
					break;
				fds = more;
			}
			fds[count++] = (int)num;
		}
		closedir(dir);
		for (size_t i = 0; i < count; i++)
			(void)close(fds[i]);
		free(fds);
		if (de == NULL)
			return;
	}
	for (long i = fd, max = sysconf(_SC_OPEN_MAX); i < max && i < 65536;
	     i++)
		(void)close((int)i);
}
