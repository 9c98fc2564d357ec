/*
 * net - listening and connecting sockets, without mail knowledge
 *
 * master opens every listening socket itself (only master binds privileged
 * ports, STYLE.md §9) and hands them to its children; these helpers do the
 * socket(2)/bind(2)/listen(2) dance once, with the options every listener
 * needs: SO_REUSEADDR (a restart must not wait for TIME_WAIT), IPV6_V6ONLY
 * on IPv6 sockets (so that 0.0.0.0 and :: can be bound side by side), and
 * O_NONBLOCK (several processes accept on one socket: whoever loses the
 * race must see EAGAIN, not block).  Every descriptor returned here is
 * close-on-exec; master clears the flag only in the child, on the
 * duplicates it passes on.
 *
 * Errors are returned, never fatal: -1 with *error_r pointing to a static
 * message ("bind 127.0.0.1:25: Address already in use") valid until the
 * next call into this module.
 */
#ifndef FACTEUR_NET_H
#define FACTEUR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * net_listen_inet - listen on every address host resolves to (family
 * AF_INET, AF_INET6 or AF_UNSPEC for both), on port (a number or a name
 * from /etc/services).  host NULL means the wildcard addresses.  Stores up
 * to max descriptors in fds and returns how many; -1 when nothing could
 * be opened or on the first failing bind when host is explicit (already
 * opened descriptors are then closed).  For the wildcard, a family the
 * kernel does not support is skipped.
 */
int net_listen_inet(const char *host, const char *port, int family, int backlog,
		    int *fds, size_t max, const char **error_r);

/*
 * net_listen_unix - listen on a UNIX stream socket at path with the given
 * mode, replacing a stale socket file left there (but never another kind
 * of file).  Returns the descriptor or -1.
 */
int net_listen_unix(const char *path, mode_t mode, int backlog,
		    const char **error_r);

/*
 * net_connect_unix - connect to a UNIX stream socket.  nonblock selects a
 * non-blocking descriptor (the connect itself never waits on Linux: it
 * fails with EAGAIN when the listen queue is full).  Returns the
 * descriptor (close-on-exec) or -1.
 */
int net_connect_unix(const char *path, bool nonblock, const char **error_r);

/*
 * net_make_fifo - create (or reuse) a FIFO at path with mode and open it
 * read-write and non-blocking: holding both ends means the reader never
 * sees end-of-file when a writer goes away.  Returns the descriptor or -1.
 */
int net_make_fifo(const char *path, mode_t mode, const char **error_r);

/* Set or clear O_NONBLOCK / FD_CLOEXEC.  Return 0 or -1 (errno set). */
int net_set_nonblock(int fd, bool on);
int net_set_cloexec(int fd, bool on);

/*
 * net_addr_str - the numeric address of sa ("192.0.2.1", "2001:db8::1",
 * "local" for a UNIX socket) in buf, which is returned.
 */
const char *net_addr_str(const struct sockaddr *sa, socklen_t len, char *buf,
			 size_t size);

#endif
