/*
 * rename - rename without replacing the target
 *
 * rename_noreplace() is renameat(2) that fails with EEXIST when to exists,
 * with renameat2(RENAME_NOREPLACE) where the filesystem has it, else
 * link(2) + unlink(2) (should that unlink fail, both names are left,
 * which every caller here tolerates: see the qfile and maildir
 * protocols).  0, or -1 with errno.
 */
#ifndef FACTEUR_RENAME_H
#define FACTEUR_RENAME_H

int rename_noreplace(int from_fd, const char *from, int to_fd, const char *to);

#endif
