/*
 * fsinfo - what the filesystem under a descriptor guarantees (fsinfo.h)
 *
 * Why ext4's fsync of a renamed file covers its new name:
 *   - with a journal, the rename set the file's ctime, so the inode is
 *     in the rename's transaction (or a later one), and fsync commits
 *     the inode's last transaction;
 *   - without one, ext4_add_entry() marks the inode EXT4_STATE_NEWENTRY
 *     and ext4_fsync_nojournal() then calls ext4_sync_parent(), which
 *     writes the directory's blocks and inode (fs/ext4/fsync.c).
 * Elsewhere nothing promises it, and the directory is synced as well.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsinfo.h"

/* mount_type - the type mountinfo gives the mount of dev, into buf */
static bool mount_type(dev_t dev, char *buf, size_t size)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, want[32];
	size_t cap = 0;
	bool found = false;

	if (fp == NULL)
		return false;
	snprintf(want, sizeof(want), " %u:%u ", major(dev), minor(dev));
	while (!found && getline(&line, &cap, fp) > 0) {
		/* "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS] - TYPE ..." */
		char *at = strstr(line, want), *sep = strstr(line, " - ");
		size_t len;

		if (at == NULL || sep == NULL || at > sep)
			continue;
		sep += 3;
		len = strcspn(sep, " \n");
		if (len > 0 && len < size) {
			memcpy(buf, sep, len);
			buf[len] = '\0';
			found = true;
		}
	}
	free(line);
	(void)fclose(fp);
	return found;
}

bool fs_fsync_covers_rename(int fd)
{
	static _Thread_local struct {
		dev_t dev;
		bool known, covers;
	} last;
	struct stat st;
	char type[64];

	if (fstat(fd, &st) < 0)
		return false;
	if (last.known && last.dev == st.st_dev)
		return last.covers;
	last.dev = st.st_dev;
	last.covers = mount_type(st.st_dev, type, sizeof(type)) &&
		      strcmp(type, "ext4") == 0;
	last.known = true;
	return last.covers;
}
