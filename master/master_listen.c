/*
 * master_listen - open and close the listening sockets of a service
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	int master_listen_open(serv, cfg, error_r)
 *	void master_listen_close(serv, unlink_path)
 *	void master_listen_move(from, to)
 *	char *master_listen_key(entry, cfg)
 *	char *master_socket_path(entry, cfg)
 *
 * DESCRIPTION
 *	inet services listen on the host of their name when it has one,
 *	else on every address of inet_interfaces: "all" is the wildcard,
 *	"loopback-only" is 127.0.0.1 and/or ::1, anything else is a list of
 *	addresses or host names.  inet_protocols ("all", "ipv4", "ipv6")
 *	selects the address families.  unix services listen on
 *	queue_directory/private/NAME (mode 0600) or public/NAME (0666);
 *	fifo services get a FIFO at the same place (0600 or 0622).  When
 *	master runs as root the files belong to mail_owner, so that the
 *	unprivileged daemons can reach each other.
 *
 *	master_listen_key() describes what a service would listen on, so
 *	that a reload can tell an unchanged service (same key: keep the
 *	sockets, refuse no connection) from a changed one.
 *
 * DIAGNOSTICS
 *	-1 with a message naming the address or path.  With loopback-only,
 *	an address family the host lacks is a warning, not an error.
 *
 * SECURITY
 *	Only master binds: privileged ports need root, which the children
 *	drop before they read network input.  Every descriptor is
 *	close-on-exec in master; the spawn code passes duplicates.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "priv.h"
#include "strbuf.h"

/* inet_family - the families inet_protocols allows */
static int inet_family(const struct config *cfg, bool *v4_r, bool *v6_r)
{
	const char *const *protos = config_list(cfg, "inet_protocols", NULL);

	*v4_r = *v6_r = false;
	for (; *protos != NULL; protos++) {
		if (strcmp(*protos, "all") == 0)
			*v4_r = *v6_r = true;
		else if (strcmp(*protos, "ipv4") == 0)
			*v4_r = true;
		else if (strcmp(*protos, "ipv6") == 0)
			*v6_r = true;
		else
			log_warn("inet_protocols: unknown protocol %s ignored",
				 *protos);
	}
	if (!*v4_r && !*v6_r)
		*v4_r = *v6_r = true;
	return *v4_r && *v6_r ? AF_UNSPEC : *v4_r ? AF_INET : AF_INET6;
}

/* master_socket_path - where a unix or fifo service lives */
char *master_socket_path(const struct mastercf_entry *e,
			 const struct config *cfg)
{
	return xasprintf("%s/%s/%s", config_str(cfg, "queue_directory"),
			 e->private_ ? "private" : "public", e->name);
}

/*
 * inet_hosts - the hosts an inet service binds to; NULL items mean the
 * wildcard.  *lenient_r says whether a failing address may be skipped.
 */
static size_t inet_hosts(const struct mastercf_entry *e,
			 const struct config *cfg, const char **hosts,
			 size_t max, bool *lenient_r)
{
	const char *const *ifs;
	size_t count = 0;
	bool v4, v6;

	*lenient_r = false;
	if (e->host != NULL) {
		hosts[0] = e->host;
		return 1;
	}
	(void)inet_family(cfg, &v4, &v6);
	for (ifs = config_list(cfg, "inet_interfaces", NULL);
	     *ifs != NULL && count < max; ifs++) {
		if (strcmp(*ifs, "all") == 0) {
			hosts[0] = NULL;
			return 1;
		}
		if (strcmp(*ifs, "loopback-only") == 0) {
			*lenient_r = v4 && v6;
			if (v4)
				hosts[count++] = "127.0.0.1";
			if (v6 && count < max)
				hosts[count++] = "::1";
			continue;
		}
		hosts[count++] = *ifs;
	}
	if (count == 0)
		hosts[count++] = NULL;
	return count;
}

/* master_listen_key - a description of what the service listens on */
char *master_listen_key(const struct mastercf_entry *e,
			const struct config *cfg)
{
	struct strbuf key;
	const char *hosts[MASTER_LISTEN_MAX];
	size_t count;
	bool lenient, v4, v6;
	char *path;

	strbuf_init(&key, STRBUF_NO_LIMIT);
	switch (e->type) {
	case MASTERCF_INET:
		count = inet_hosts(e, cfg, hosts, MASTER_LISTEN_MAX, &lenient);
		strbuf_appendf(&key, "inet %d %s", inet_family(cfg, &v4, &v6),
			       e->port);
		for (size_t i = 0; i < count; i++)
			strbuf_appendf(&key, " %s", hosts[i] ? hosts[i] : "*");
		break;
	case MASTERCF_UNIX:
	case MASTERCF_FIFO:
		path = master_socket_path(e, cfg);
		strbuf_appendf(&key, "%s %s %s", mastercf_type_name(e->type),
			       path, config_str(cfg, "mail_owner"));
		free(path);
		break;
	case MASTERCF_PASS:
		strbuf_append_str(&key, "pass");
		break;
	}
	return strbuf_steal(&key);
}

/* add_listener - remember one descriptor and its event */
static void add_listener(struct master_service *serv, int fd);

/* open_inet - every socket of an inet service */
static int open_inet(struct master_service *serv,
		     const struct mastercf_entry *e, const struct config *cfg,
		     const char **error_r)
{
	const char *hosts[MASTER_LISTEN_MAX];
	int fds[MASTER_LISTEN_MAX];
	bool lenient, v4, v6;
	int family = inet_family(cfg, &v4, &v6);
	size_t count = inet_hosts(e, cfg, hosts, MASTER_LISTEN_MAX, &lenient);

	for (size_t i = 0; i < count; i++) {
		size_t room = MASTER_LISTEN_MAX - serv->nlisteners;
		int n = net_listen_inet(hosts[i], e->port, family,
					MASTER_BACKLOG, fds, room, error_r);

		if (n < 0) {
			if (lenient) {
				log_warn("service %s: %s", e->name, *error_r);
				continue;
			}
			return -1;
		}
		for (int j = 0; j < n; j++)
			add_listener(serv, fds[j]);
	}
	if (serv->nlisteners == 0) {
		*error_r = "no address to listen on";
		return -1;
	}
	return 0;
}

/* chown_owner - give a socket or FIFO to mail_owner when we are root */
static void chown_owner(const char *path, const struct config *cfg)
{
	const char *owner = config_str(cfg, "mail_owner");
	const char *error;
	uid_t uid;
	gid_t gid;

	if (!master.root)
		return;
	if (priv_lookup(owner, &uid, &gid, &error) < 0)
		log_warn("%s: %s", path, error);
	else if (chown(path, uid, gid) < 0)
		log_warn("chown %s: %m", path);
}

/* master_listen_open - create the service's listening sockets */
int master_listen_open(struct master_service *serv, const struct config *cfg,
		       const char **error_r)
{
	struct mastercf_entry e = {
		.name = serv->name,
		.type = serv->type,
		.private_ = serv->private_,
	};
	char *host = NULL, *port = NULL;
	int fd, rc = 0;

	switch (serv->type) {
	case MASTERCF_INET:
		if (mastercf_split_inet(serv->name, &host, &port, error_r) < 0)
			return -1;
		e.host = host;
		e.port = port;
		rc = open_inet(serv, &e, cfg, error_r);
		free(host);
		free(port);
		break;
	case MASTERCF_UNIX:
		serv->sock_path = master_socket_path(&e, cfg);
		fd = net_listen_unix(serv->sock_path,
				     serv->private_ ? 0600 : 0666,
				     MASTER_BACKLOG, error_r);
		if (fd < 0) {
			/* Not ours: never remove what we did not create. */
			free(serv->sock_path);
			serv->sock_path = NULL;
			return -1;
		}
		chown_owner(serv->sock_path, cfg);
		add_listener(serv, fd);
		break;
	case MASTERCF_FIFO:
		serv->sock_path = master_socket_path(&e, cfg);
		fd = net_make_fifo(serv->sock_path,
				   serv->private_ ? 0600 : 0622, error_r);
		if (fd < 0) {
			/* Not ours: never remove what we did not create. */
			free(serv->sock_path);
			serv->sock_path = NULL;
			return -1;
		}
		chown_owner(serv->sock_path, cfg);
		add_listener(serv, fd);
		break;
	case MASTERCF_PASS:
		*error_r = "service type pass is not supported";
		return -1;
	}
	if (rc < 0)
		master_listen_close(serv, false);
	return rc;
}

/* listen_event - a connection (or fifo data) waits and nobody takes it */
static void listen_event(evutil_socket_t fd, short what, void *arg)
{
	struct master_service *serv = arg;

	(void)fd;
	(void)what;
	/*
	 * master_avail_update() only keeps us watching when we may spawn;
	 * the check covers a second listener of the service that was
	 * already readable in the same round.
	 */
	if (serv->listening)
		master_spawn(serv);
}

static void add_listener(struct master_service *serv, int fd)
{
	struct master_listener *l;

	serv->listeners = xreallocarray(serv->listeners, serv->nlisteners + 1,
					sizeof(*serv->listeners));
	l = &serv->listeners[serv->nlisteners++];
	l->fd = fd;
	l->ev = event_new(master.base, fd, EV_READ | EV_PERSIST, listen_event,
			  serv);
	if (l->ev == NULL)
		log_fatal("event_new failed");
}

/* master_listen_close - close the listeners, remove the socket file */
void master_listen_close(struct master_service *serv, bool unlink_path)
{
	for (size_t i = 0; i < serv->nlisteners; i++) {
		event_free(serv->listeners[i].ev);
		close(serv->listeners[i].fd);
	}
	free(serv->listeners);
	serv->listeners = NULL;
	serv->nlisteners = 0;
	serv->listening = false;
	if (serv->sock_path != NULL) {
		if (unlink_path && unlink(serv->sock_path) < 0 &&
		    errno != ENOENT)
			log_warn("remove %s: %m", serv->sock_path);
		free(serv->sock_path);
		serv->sock_path = NULL;
	}
}

/* master_listen_move - hand the sockets of a replaced service over */
void master_listen_move(struct master_service *from, struct master_service *to)
{
	for (size_t i = 0; i < from->nlisteners; i++) {
		event_free(from->listeners[i].ev);
		add_listener(to, from->listeners[i].fd);
	}
	free(from->listeners);
	from->listeners = NULL;
	from->nlisteners = 0;
	from->listening = false;
	to->sock_path = from->sock_path;
	from->sock_path = NULL;
}
