/*
 * priv - give up root for good, and other start-up hygiene of a daemon
 *
 * A program that master starts as root drops to an unprivileged user
 * (mail_owner) after it has opened what needs root and before it reads a
 * byte from the network (DESIGN.md §2, STYLE.md §9).  The drop is
 * permanent: supplementary groups, real, effective and saved ids all
 * change, and priv_drop() checks that root cannot be regained.
 */
#ifndef FACTEUR_PRIV_H
#define FACTEUR_PRIV_H

#include <sys/types.h>

/*
 * priv_lookup - the uid and primary gid of user (a name, or a number).
 * Returns 0, or -1 with *error_r set (static, valid until the next call).
 */
int priv_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
		const char **error_r);

/*
 * priv_drop - become uid/gid with only gid as group, for good.  Returns
 * 0, or -1 with *error_r set; a caller must treat -1 as fatal, since the
 * process may be half-changed.
 */
int priv_drop(uid_t uid, gid_t gid, const char **error_r);

/* priv_close_from - close every descriptor >= fd (inherited leftovers). */
void priv_close_from(int fd);

#endif
