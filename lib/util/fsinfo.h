/*
 * fsinfo - what the filesystem under a descriptor guarantees
 *
 * fs_fsync_covers_rename() tells whether fsync(2) of a file just renamed
 * (or linked) into a directory also makes the new directory entry
 * durable, so that the directory needs no fsync of its own.  It says yes
 * for ext4 only, and only when /proc/self/mountinfo names the mount
 * "ext4" (ext2 and ext3 share its superblock magic, and the ext2 driver
 * does not do this).  The answer is kept per device and thread.
 */
#ifndef FACTEUR_FSINFO_H
#define FACTEUR_FSINFO_H

#include <stdbool.h>

bool fs_fsync_covers_rename(int fd);

#endif
