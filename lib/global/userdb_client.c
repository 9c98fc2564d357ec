/*
 * userdb_client - ask auth's userdb service who a user is
 *
 * SYNOPSIS
 *	#include "userdb_client.h"
 *
 *	c = userdb_client_create(queue_dir);
 *	r = userdb_client_lookup(c, "bob@example.com", &entry, &error);
 *	userdb_client_free(&c);
 *
 * DESCRIPTION
 *	See userdb_client.h.  A lookup first looks in the cache (a small
 *	array searched linearly, the oldest slot replaced: 64 entries
 *	make a hash table pointless).  Otherwise it writes one userdb/1
 *	frame on the kept connection, reads the userdb-result/1 frame and
 *	the done/1 frame after it, and closes the connection when done/1
 *	says reuse=0.  When a kept connection turns out to be closed (the
 *	server's max_idle, a restart) before any answer arrived, the
 *	lookup reconnects and asks once more; a fresh connection that
 *	fails is a temporary failure.  When private/userdb does not exist
 *	(an upgraded installation whose master.cf has no userdb line yet),
 *	the client asks private/auth, which answers userdb/1 as well, only
 *	without the separation from password checks.
 *
 * DIAGNOSTICS
 *	Nothing is logged; -1 comes with a text for the caller's log.
 *
 * SECURITY
 *	Replies are capped (USERDB_FRAME_MAX) before they are buffered and
 *	checked strictly (userdb_reply_parse); a malformed one closes the
 *	connection and is a temporary failure, never "unknown user", so
 *	that a broken service cannot make smtpd bounce mail.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "done_frame.h"
#include "net.h"
#include "strbuf.h"
#include "userdb_client.h"

struct userdb_cache_slot {
	char *key;  /* the name asked for; NULL: unused */
	bool found; /* else a "notfound" answer */
	struct userdb_entry entry;
	time_t expires; /* CLOCK_MONOTONIC seconds */
};

struct userdb_client {
	char *path;
	char *fallback; /* private/auth, for a master.cf without userdb */
	int fd;		/* -1: not connected */
	struct userdb_cache_slot cache[USERDB_CACHE_SIZE];
	size_t next_slot;
	struct userdb_entry result; /* the loan of the last lookup */
	char error[512];
};

/* now - monotonic seconds, for the cache */
static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* userdb_client_create - no connection until the first lookup */
struct userdb_client *userdb_client_create(const char *queue_dir)
{
	struct userdb_client *c = xcalloc(1, sizeof(*c));

	c->path = xasprintf("%s/%s", queue_dir, USERDB_SOCKET);
	c->fallback = xasprintf("%s/%s", queue_dir, USERDB_FALLBACK_SOCKET);
	c->fd = -1;
	return c;
}

/* disconnect - drop the kept connection */
static void disconnect(struct userdb_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* userdb_client_free - close and free; *clientp = NULL */
void userdb_client_free(struct userdb_client **clientp)
{
	struct userdb_client *c = *clientp;

	if (c == NULL)
		return;
	disconnect(c);
	for (size_t i = 0; i < USERDB_CACHE_SIZE; i++) {
		free(c->cache[i].key);
		userdb_entry_clear(&c->cache[i].entry);
	}
	userdb_entry_clear(&c->result);
	free(c->path);
	free(c->fallback);
	free(c);
	*clientp = NULL;
}

/* fail - set the error text "userdb: WHAT[: WHY]"; returns -1 */
static int fail(struct userdb_client *c, const char *what, const char *why)
{
	snprintf(c->error, sizeof(c->error), "userdb: %s%s%s", what,
		 why != NULL ? ": " : "", why != NULL ? why : "");
	return -1;
}

/* connect_service - open the connection with the I/O timeouts */
static int connect_service(struct userdb_client *c)
{
	struct timeval tv = {.tv_sec = USERDB_CLIENT_TIMEOUT};
	struct stat st;
	const char *error;

	c->fd = net_connect_unix(c->path, false, &error);
	/*
	 * No private/userdb at all: a master.cf from before the service.
	 * auth answers userdb/1 on its own socket too (behind its password
	 * checks), so that such an upgrade keeps accepting mail.
	 */
	if (c->fd < 0 && stat(c->path, &st) < 0 && errno == ENOENT)
		c->fd = net_connect_unix(c->fallback, false, &error);
	if (c->fd < 0)
		return fail(c, error, NULL);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* send_all - write the frame without SIGPIPE; -1 with errno */
static int send_all(int fd, const struct strbuf *frame)
{
	size_t sent = 0;

	while (sent < frame->len) {
		ssize_t n = send(fd, frame->data + sent, frame->len - sent,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		sent += (size_t)n;
	}
	return 0;
}

/*
 * ask - one request on the connection.  Returns 0 with *result_r (and
 * c->result for ok), -1 on a failure after which the connection is
 * unusable; *stale_r says the failure came before any reply byte
 * (worth a retry on a new connection when the old one was kept).
 */
static int ask(struct userdb_client *c, const struct strbuf *req,
	       enum userdb_result *result_r, bool *stale_r)
{
	struct attr_list *list = NULL;
	const char *error, *reason;
	bool reuse;
	int r;

	*stale_r = false;
	if (send_all(c->fd, req) < 0) {
		*stale_r = errno == EPIPE || errno == ECONNRESET;
		return fail(c, "write", strerror(errno));
	}
	r = attr_read_fd(c->fd, USERDB_FRAME_MAX, &list, &error);
	if (r == 0 || (r < 0 && errno == ECONNRESET)) {
		*stale_r = true;
		return fail(c, "connection closed by the server", NULL);
	}
	if (r < 0)
		return fail(c, "read reply", error);
	userdb_entry_clear(&c->result);
	r = userdb_reply_parse(list, result_r, &c->result, &reason, &error);
	if (r == 0 && *result_r == USERDB_TEMPFAIL)
		snprintf(c->error, sizeof(c->error), "userdb: %s",
			 reason[0] != '\0' ? reason : "temporary failure");
	attr_list_free(&list);
	if (r < 0)
		return fail(c, "malformed reply", error);
	if (attr_read_fd(c->fd, USERDB_FRAME_MAX, &list, &error) <= 0)
		return fail(c, "no end of reply", NULL);
	r = done_frame_parse(list, &reuse, &error);
	attr_list_free(&list);
	if (r < 0)
		return fail(c, "malformed end of reply", error);
	if (!reuse)
		disconnect(c);
	return 0;
}

/* cache_find - a live slot for user, or NULL */
static struct userdb_cache_slot *cache_find(struct userdb_client *c,
					    const char *user)
{
	time_t t = now();

	for (size_t i = 0; i < USERDB_CACHE_SIZE; i++) {
		struct userdb_cache_slot *s = &c->cache[i];

		if (s->key != NULL && s->expires > t &&
		    strcmp(s->key, user) == 0)
			return s;
	}
	return NULL;
}

/* cache_put - remember an answer in the oldest slot */
static void cache_put(struct userdb_client *c, const char *user, bool found,
		      const struct userdb_entry *entry)
{
	struct userdb_cache_slot *s = &c->cache[c->next_slot];

	c->next_slot = (c->next_slot + 1) % USERDB_CACHE_SIZE;
	free(s->key);
	userdb_entry_clear(&s->entry);
	s->key = xstrdup(user);
	s->found = found;
	if (found)
		userdb_entry_copy(&s->entry, entry);
	s->expires = now() + USERDB_CACHE_TTL;
}

/* userdb_client_lookup - 1 found, 0 unknown, -1 tempfail */
int userdb_client_lookup(struct userdb_client *client, const char *user,
			 const struct userdb_entry **entry_r,
			 const char **error_r)
{
	struct userdb_client *c = client;
	struct userdb_cache_slot *slot;
	enum userdb_result result;
	struct strbuf req;
	bool stale, kept;
	int r;

	*entry_r = NULL;
	if (!userdb_name_valid(user))
		return 0;
	if ((slot = cache_find(c, user)) != NULL) {
		if (!slot->found)
			return 0;
		userdb_entry_clear(&c->result);
		userdb_entry_copy(&c->result, &slot->entry);
		*entry_r = &c->result;
		return 1;
	}
	strbuf_init(&req, STRBUF_NO_LIMIT);
	userdb_request_frame(&req, user);
	for (int attempt = 0;; attempt++) {
		kept = c->fd >= 0;
		if (!kept && connect_service(c) < 0) {
			r = -1;
			break;
		}
		r = ask(c, &req, &result, &stale);
		if (r == 0)
			break;
		disconnect(c);
		if (!(kept && stale && attempt == 0))
			break;
	}
	strbuf_release(&req);
	if (r < 0 || result == USERDB_TEMPFAIL) {
		*error_r = c->error;
		return -1;
	}
	cache_put(c, user, result == USERDB_OK, &c->result);
	if (result != USERDB_OK)
		return 0;
	*entry_r = &c->result;
	return 1;
}
