/*
 * userdb - the userdb/1 protocol: who a user is, without the password
 *
 * smtpd (does this virtual recipient exist?), local (home and owner of a
 * virtual mailbox) and the imapd/pop3d dispatcher (where the mailbox of
 * a logged-in user is) ask the auth program instead of reading
 * auth_passwd_file, so that only auth reads secrets (DESIGN.md §2), as
 * Dovecot's auth-userdb does.  The questions go to their own service,
 * queue_directory/private/userdb (run by the auth program, master.cf
 * "userdb unix - - n - - auth"), so that they never wait behind the
 * crypt() work and failure delays of password checks on private/auth.
 *
 * A master.cf without the userdb line (an upgrade) still works: clients
 * then ask private/auth, whose processes answer userdb/1 too.
 *
 * One connection carries any number of requests, one at a time:
 *
 *	userdb/1:        user (1..USERDB_USER_MAX bytes, no control
 *	                 characters, space or ':')
 *	userdb-result/1: result (ok | notfound | tempfail), reason (text
 *	                 for the log, may be empty); with ok also user (the
 *	                 canonical name), home (may be empty) and, when the
 *	                 entry has them, uid and gid (0..2^32-2)
 *	done/1:          reuse (1: ask the next question on this
 *	                 connection; 0: the server closes it)
 *
 * result/done are the frames of the delivery agents' connection
 * (lib/server/agent_conn.h), which the server side reuses.  Both sides
 * are strict: a missing, duplicate, extra or malformed attribute makes
 * the frame malformed (the server closes the connection, the client
 * takes it as a temporary failure), and frames are capped at
 * USERDB_FRAME_MAX before they are buffered.  The password hash never
 * travels.
 *
 * The functions here do no I/O: they build and check frames
 * (tests/unit/global/test_userdb.c, tests/fuzz/userdb).
 */
#ifndef FACTEUR_USERDB_H
#define FACTEUR_USERDB_H

#include <stdbool.h>
#include <sys/types.h>

#include "strbuf.h"

struct attr_list;

#define USERDB_PROTO	    "userdb/1"
#define USERDB_RESULT_PROTO "userdb-result/1"
/* private/userdb, relative to queue_directory. */
#define USERDB_SOCKET "private/userdb"
/* Asked when USERDB_SOCKET does not exist (an older master.cf). */
#define USERDB_FALLBACK_SOCKET "private/auth"
/* Longest user name asked for (as AUTH_USER_MAX). */
#define USERDB_USER_MAX 512
/* Longest home directory answered. */
#define USERDB_HOME_MAX 4096
/* The largest frame either side accepts. */
#define USERDB_FRAME_MAX 16384

enum userdb_result {
	USERDB_OK,
	USERDB_NOTFOUND,
	USERDB_TEMPFAIL, /* the database or the service is unavailable */
};

/* What a client learns about a user (passwd_entry without secrets). */
struct userdb_entry {
	char *user; /* canonical: the domain part lowercased */
	char *home; /* "" when none */
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

/* "ok", "notfound", "tempfail". */
const char *userdb_result_str(enum userdb_result result);

/* userdb_name_valid - a name the protocol carries (length, bytes). */
bool userdb_name_valid(const char *name);

/* userdb_request_frame - append a userdb/1 frame for user to out. */
void userdb_request_frame(struct strbuf *out, const char *user);

/*
 * userdb_request_parse - check a userdb/1 list (server side).  Returns
 * 0 with *user_r (a loan from list), or -1 with *error_r (static).
 */
int userdb_request_parse(struct attr_list *list, const char **user_r,
			 const char **error_r);

/*
 * userdb_reply_frame - append a userdb-result/1 frame to out; entry is
 * used (and required) only for USERDB_OK.
 */
void userdb_reply_frame(struct strbuf *out, enum userdb_result result,
			const struct userdb_entry *entry, const char *reason);

/* userdb_reply_passwd - the ok frame for a passwd-file entry (no hash) */
struct passwd_entry;
void userdb_reply_passwd(struct strbuf *out, const struct passwd_entry *pe);

/*
 * userdb_reply_parse - check a userdb-result/1 list (client side).
 * Returns 0 with *result_r, *reason_r (a loan from list) and, for ok,
 * entry filled with new copies (userdb_entry_clear() them); -1 with
 * *error_r (static) when the frame is malformed.
 */
int userdb_reply_parse(struct attr_list *list, enum userdb_result *result_r,
		       struct userdb_entry *entry, const char **reason_r,
		       const char **error_r);

/* userdb_entry_copy - dst becomes a deep copy of src. */
void userdb_entry_copy(struct userdb_entry *dst,
		       const struct userdb_entry *src);
/* userdb_entry_clear - free the strings and zero the entry. */
void userdb_entry_clear(struct userdb_entry *entry);

#endif
