/*
 * pidlock - one running instance per configuration: a locked pid file
 *
 * master holds an exclusive fcntl(2) lock on DATA_DIRECTORY/master.pid for
 * as long as it runs, and the file holds its pid.  The lock, not the pid,
 * is the truth: a stale file left by a crash is not locked, so it neither
 * blocks a new start nor makes `facteur status` lie.
 */
#ifndef FACTEUR_PIDLOCK_H
#define FACTEUR_PIDLOCK_H

#include <sys/types.h>

/*
 * pidlock_acquire - lock path and write our pid into it.  Returns the
 * open descriptor (keep it open; it is close-on-exec), or -1 with
 * *error_r set; *holder_r is then the pid of the process that holds the
 * lock, or 0 when the failure was something else.
 */
int pidlock_acquire(const char *path, pid_t *holder_r, const char **error_r);
/* pidlock_rewrite - after a fork, put the current pid in the file. */
int pidlock_rewrite(int fd);
/*
 * pidlock_holder - the pid holding the lock on path, 0 when nobody holds
 * it (or the file does not exist), -1 on another error (*error_r set).
 */
pid_t pidlock_holder(const char *path, const char **error_r);

#endif
