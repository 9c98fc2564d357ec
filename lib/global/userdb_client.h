/*
 * userdb_client - ask auth's userdb service who a user is
 *
 * The client side of userdb/1 (userdb.h) for smtpd, local and the
 * imapd/pop3d dispatchers.  A client keeps one connection to
 * queue_directory/private/userdb open across lookups (reconnecting
 * once when the server has closed it meanwhile) and remembers the last
 * USERDB_CACHE_SIZE answers, found and not found alike, for
 * USERDB_CACHE_TTL seconds, so that the recipients of one message or
 * the logins of one user cost one round trip.  Temporary failures are
 * never cached.
 *
 * Lookups block for at most USERDB_CLIENT_TIMEOUT seconds: the service
 * answers from memory at once, never behind password checks, and an
 * unreachable service (no socket, nobody listening) fails at once.
 */
#ifndef FACTEUR_USERDB_CLIENT_H
#define FACTEUR_USERDB_CLIENT_H

#include "userdb.h"

#define USERDB_CLIENT_TIMEOUT 5
#define USERDB_CACHE_SIZE     64
#define USERDB_CACHE_TTL      2

struct userdb_client;

/* userdb_client_create - for the service under queue_dir; no I/O yet. */
struct userdb_client *userdb_client_create(const char *queue_dir);
void userdb_client_free(struct userdb_client **clientp);

/*
 * userdb_client_lookup - 1 found (*entry_r: a loan until the next call
 * on the client), 0 unknown, -1 temporary failure (*error_r, valid
 * until the next call: "userdb: connect ...: No such file or
 * directory", "userdb: user database unavailable").  user must be the
 * name as the passwd-file has it (domain part lowercased); an invalid
 * name (userdb_name_valid) is unknown.
 */
int userdb_client_lookup(struct userdb_client *client, const char *user,
			 const struct userdb_entry **entry_r,
			 const char **error_r);

#endif
