/*
 * net - listening and connecting sockets, without mail knowledge
 *
 * SYNOPSIS
 *	#include "net.h"
 *
 *	int net_listen_inet(host, port, family, backlog, fds, max, error_r)
 *	int net_listen_unix(path, mode, backlog, error_r)
 *	int net_connect_unix(path, nonblock, error_r)
 *	int net_make_fifo(path, mode, error_r)
 *
 * DESCRIPTION
 *	See net.h.  Names are resolved with getaddrinfo(3), so ports may be
 *	service names and hosts may be names or literal addresses.  bind(2)
 *	creates a UNIX socket with the umask's mode, so its mode is set with
 *	chmod(2) right after bind and before listen(2): nobody can connect
 *	before the mode is right.
 *
 * DIAGNOSTICS
 *	Every failure returns -1 and a message naming the operation, the
 *	address or path, and errno.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"

static char error[1536];

/* fail - format the error message, keep errno */
static const char *fail(const char *op, const char *what)
{
	int saved = errno;

	snprintf(error, sizeof(error), "%s %s: %s", op, what, strerror(saved));
	errno = saved;
	return error;
}

/* net_set_nonblock - set or clear O_NONBLOCK */
int net_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

/* net_set_cloexec - set or clear FD_CLOEXEC */
int net_set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -1;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags);
}

/* net_addr_str - numeric form of an address */
const char *net_addr_str(const struct sockaddr *sa, socklen_t len, char *buf,
			 size_t size)
{
	if (sa == NULL || len == 0 || sa->sa_family == AF_UNIX) {
		snprintf(buf, size, "local");
		return buf;
	}
	if (getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(buf, size, "unknown");
	return buf;
}

/* listen_one - socket, options, bind and listen for one address */
static int listen_one(const struct addrinfo *ai, int backlog,
		      const char **error_r)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV], what[NI_MAXHOST + 16];
	int fd, on = 1;

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv,
			sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, sizeof(host), "?");
		snprintf(serv, sizeof(serv), "?");
	}
	snprintf(what, sizeof(what),
		 ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0) {
		*error_r = fail("socket", what);
		return -1;
	}
	/* A restart must not wait for old connections in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto bad_opt;
	/* Keep :: from also taking the IPv4 port that 0.0.0.0 wants. */
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto bad_opt;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		*error_r = fail("bind", what);
		goto bad;
	}
	if (listen(fd, backlog) < 0) {
		*error_r = fail("listen", what);
		goto bad;
	}
	return fd;

bad_opt:
	*error_r = fail("setsockopt", what);
bad:
	close(fd);
	return -1;
}

/* net_listen_inet - listen on every address of host */
int net_listen_inet(const char *host, const char *port, int family, int backlog,
		    int *fds, size_t max, const char **error_r)
{
	struct addrinfo hints, *res, *ai;
	char what[300];
	size_t count = 0;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(what, sizeof(what), "%s:%s", host ? host : "*", port);
		snprintf(error, sizeof(error), "resolve %s: %s", what,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		*error_r = error;
		return -1;
	}
	for (ai = res; ai != NULL && count < max; ai = ai->ai_next) {
		int fd;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if ((fd = listen_one(ai, backlog, error_r)) < 0) {
			/* The wildcard of a family this kernel lacks. */
			if (host == NULL &&
			    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
				continue;
			while (count > 0)
				close(fds[--count]);
			freeaddrinfo(res);
			return -1;
		}
		fds[count++] = fd;
	}
	freeaddrinfo(res);
	if (count == 0) {
		snprintf(what, sizeof(what), "%s:%s", host ? host : "*", port);
		if (error_r != NULL && *error_r != error) {
			snprintf(error, sizeof(error),
				 "listen %s: no usable address", what);
			*error_r = error;
		}
		return -1;
	}
	return (int)count;
}

/* fill_sun - build a sockaddr_un, refusing paths that do not fit */
static int fill_sun(struct sockaddr_un *sun, const char *path,
		    const char **error_r)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(error, sizeof(error), "socket path too long: %s",
			 path);
		*error_r = error;
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* net_listen_unix - listen on a UNIX stream socket */
int net_listen_unix(const char *path, mode_t mode, int backlog,
		    const char **error_r)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (fill_sun(&sun, path, error_r) < 0)
		return -1;
	/* Replace a socket left by a previous run, nothing else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			*error_r = fail("create socket", path);
			return -1;
		}
		if (unlink(path) < 0) {
			*error_r = fail("remove stale socket", path);
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = fail("socket", path);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = fail("bind", path);
		close(fd);
		return -1;
	}
	if (chmod(path, mode) < 0) {
		*error_r = fail("chmod", path);
		goto bad;
	}
	if (listen(fd, backlog) < 0) {
		*error_r = fail("listen", path);
		goto bad;
	}
	return fd;

bad:
	close(fd);
	(void)unlink(path);
	return -1;
}

/* net_connect_unix - connect to a UNIX stream socket */
int net_connect_unix(const char *path, bool nonblock, const char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	if (fill_sun(&sun, path, error_r) < 0)
		return -1;
	fd = socket(AF_UNIX,
		    SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0) {
		*error_r = fail("socket", path);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = fail("connect to", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* net_make_fifo - create and open a FIFO read-write */
int net_make_fifo(const char *path, mode_t mode, const char **error_r)
{
	struct stat st;
	int fd;

	if (mkfifo(path, mode) < 0 && errno != EEXIST) {
		*error_r = fail("mkfifo", path);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		*error_r = fail("open", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		errno = EEXIST;
		*error_r = fail("open fifo", path);
		close(fd);
		return -1;
	}
	/* mkfifo obeys the umask; an existing FIFO may have another mode. */
	if (fchmod(fd, mode) < 0) {
		*error_r = fail("chmod", path);
		close(fd);
		return -1;
	}
	return fd;
}
