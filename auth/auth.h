/*
 * auth - the authentication service: shared state of auth.c and
 * auth_request.c
 *
 * auth is the only process that reads password hashes (DESIGN.md §2).
 * auth.c holds main(), the settings and the passwd-file; auth_request.c
 * answers one auth/1 request per connection (protocol: auth_client.h);
 * auth_userdb.c answers userdb/1 lookups (protocol: userdb.h).
 */
#ifndef FACTEUR_AUTH_H
#define FACTEUR_AUTH_H

#include <stdbool.h>

struct server;
struct attr_list;
struct passwd_file;

/* Settings (loaded before the privilege drop, read-only after). */
struct auth_settings {
	const char *passwd_file;   /* auth_passwd_file; "" none */
	const char *default_realm; /* auth_default_realm; "" none */
	long long failure_delay;   /* auth_failure_delay, seconds */
	bool system_users;	   /* auth_system_users */
};

struct auth {
	struct auth_settings set;
	struct passwd_file *pf; /* NULL until it could be read */
	bool pf_warned;		/* the last load/refresh failure is logged */
};

/*
 * auth_passwd_file - the current user database after a refresh, or NULL
 * when none is configured or it cannot be read (*tempfail_r then says
 * whether that is a temporary failure rather than "no database").
 */
struct passwd_file *auth_passwd_file(struct auth *auth, bool *tempfail_r);

/* auth_request - the skeleton's request op (auth_request.c). */
void auth_request(struct server *srv, int fd, struct attr_list *list);

/* auth_userdb_serve - userdb/1 lookups on fd (auth_userdb.c). */
void auth_userdb_serve(struct server *srv, int fd, struct attr_list *list);

#endif
