/*
 * userdb - the userdb/1 protocol: who a user is, without the password
 *
 * SYNOPSIS
 *	#include "userdb.h"
 *
 *	userdb_request_frame(out, user);
 *	r = userdb_request_parse(list, &user, &error);
 *	userdb_reply_frame(out, USERDB_OK, &entry, "");
 *	r = userdb_reply_parse(list, &result, &entry, &reason, &error);
 *
 * DESCRIPTION
 *	See userdb.h for the protocol.  Builders append whole frames with
 *	the attr writer; parsers take a decoded attr_list (the attr
 *	reader has already capped the frame) and check it completely:
 *	the protocol name, each attribute's presence, its bytes and
 *	range, and that nothing else came along (attr_list_end).
 *
 * DIAGNOSTICS
 *	Parsers return -1 with a static text; nothing is logged.
 *
 * SECURITY
 *	The server parses what smtpd, local and the login dispatchers
 *	relay from the network (a recipient, a login name); the client
 *	parses what auth answers.  Both are length-bounded, and a home
 *	must be an absolute path without control characters, so that a
 *	broken reply cannot point delivery at a relative path.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "attr.h"
#include "passwd_file.h"
#include "userdb.h"

/* The largest uid/gid: (uid_t)-1 means "none" to the kernel. */
#define USERDB_ID_MAX 4294967294LL

/* userdb_result_str - the protocol's word for result */
const char *userdb_result_str(enum userdb_result result)
{
	switch (result) {
	case USERDB_OK:
		return "ok";
	case USERDB_NOTFOUND:
		return "notfound";
	case USERDB_TEMPFAIL:
		return "tempfail";
	}
	return "tempfail";
}

/* userdb_name_valid - length and bytes of a user name */
bool userdb_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > USERDB_USER_MAX)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ' ||
		    *p == ':')
			return false;
	return true;
}

/* home_valid - "" or an absolute path of printable bytes */
static bool home_valid(const char *home)
{
	size_t len = strlen(home);

	if (len == 0)
		return true;
	if (len > USERDB_HOME_MAX || home[0] != '/')
		return false;
	for (const char *p = home; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* userdb_request_frame - a userdb/1 frame */
void userdb_request_frame(struct strbuf *out, const char *user)
{
	struct attr_writer w;

	attr_writer_begin(&w, out, USERDB_PROTO);
	attr_put_str(&w, "user", user);
	attr_writer_end(&w);
}

/* userdb_request_parse - the server's check of a request */
int userdb_request_parse(struct attr_list *list, const char **user_r,
			 const char **error_r)
{
	if (strcmp(list->proto, USERDB_PROTO) != 0) {
		*error_r = "unexpected protocol";
		return -1;
	}
	if (attr_get_str(list, "user", user_r, error_r) < 0 ||
	    attr_list_end(list, error_r) < 0)
		return -1;
	if (!userdb_name_valid(*user_r)) {
		*error_r = "bad user name";
		return -1;
	}
	return 0;
}

/* userdb_reply_frame - a userdb-result/1 frame */
void userdb_reply_frame(struct strbuf *out, enum userdb_result result,
			const struct userdb_entry *entry, const char *reason)
{
	struct attr_writer w;

	attr_writer_begin(&w, out, USERDB_RESULT_PROTO);
	attr_put_str(&w, "result", userdb_result_str(result));
	attr_put_str(&w, "reason", reason);
	if (result == USERDB_OK) {
		attr_put_str(&w, "user", entry->user);
		attr_put_str(&w, "home", entry->home);
		if (entry->has_uid)
			attr_put_int(&w, "uid", (int64_t)entry->uid);
		if (entry->has_gid)
			attr_put_int(&w, "gid", (int64_t)entry->gid);
	}
	attr_writer_end(&w);
}

/* has_attr - whether list carries name (for the optional ones) */
static bool has_attr(const struct attr_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->attrs[i].name, name) == 0)
			return true;
	return false;
}

/* get_id - an optional uid/gid; 1 present, 0 absent, -1 malformed */
static int get_id(struct attr_list *list, const char *name, int64_t *id_r,
		  const char **error_r)
{
	if (!has_attr(list, name))
		return 0;
	if (attr_get_int(list, name, id_r, error_r) < 0)
		return -1;
	if (*id_r < 0 || *id_r > USERDB_ID_MAX) {
		*error_r = "uid or gid out of range";
		return -1;
	}
	return 1;
}

/* userdb_reply_parse - the client's check of an answer */
int userdb_reply_parse(struct attr_list *list, enum userdb_result *result_r,
		       struct userdb_entry *entry, const char **reason_r,
		       const char **error_r)
{
	const char *result, *user, *home;
	int64_t uid = 0, gid = 0;
	int has_uid = 0, has_gid = 0;

	memset(entry, 0, sizeof(*entry));
	if (strcmp(list->proto, USERDB_RESULT_PROTO) != 0) {
		*error_r = "unexpected protocol";
		return -1;
	}
	if (attr_get_str(list, "result", &result, error_r) < 0 ||
	    attr_get_str(list, "reason", reason_r, error_r) < 0)
		return -1;
	if (strcmp(result, "ok") == 0) {
		*result_r = USERDB_OK;
		if (attr_get_str(list, "user", &user, error_r) < 0 ||
		    attr_get_str(list, "home", &home, error_r) < 0 ||
		    (has_uid = get_id(list, "uid", &uid, error_r)) < 0 ||
		    (has_gid = get_id(list, "gid", &gid, error_r)) < 0)
			return -1;
		if (!userdb_name_valid(user)) {
			*error_r = "bad user name";
			return -1;
		}
		if (!home_valid(home)) {
			*error_r = "bad home directory";
			return -1;
		}
	} else if (strcmp(result, "notfound") == 0) {
		*result_r = USERDB_NOTFOUND;
	} else if (strcmp(result, "tempfail") == 0) {
		*result_r = USERDB_TEMPFAIL;
	} else {
		*error_r = "unknown result";
		return -1;
	}
	if (attr_list_end(list, error_r) < 0)
		return -1;
	if (*result_r == USERDB_OK) {
		entry->user = xstrdup(user);
		entry->home = xstrdup(home);
		entry->has_uid = has_uid > 0;
		entry->has_gid = has_gid > 0;
		entry->uid = (uid_t)uid;
		entry->gid = (gid_t)gid;
	}
	return 0;
}

/* userdb_reply_passwd - what a passwd-file entry says, without its hash */
void userdb_reply_passwd(struct strbuf *out, const struct passwd_entry *pe)
{
	struct userdb_entry e = {
		.user = pe->user,
		.home = pe->home,
		.has_uid = pe->has_uid,
		.has_gid = pe->has_gid,
		.uid = pe->uid,
		.gid = pe->gid,
	};

	userdb_reply_frame(out, USERDB_OK, &e, "");
}

/* userdb_entry_copy - a deep copy */
void userdb_entry_copy(struct userdb_entry *dst, const struct userdb_entry *src)
{
	*dst = *src;
	dst->user = src->user != NULL ? xstrdup(src->user) : NULL;
	dst->home = src->home != NULL ? xstrdup(src->home) : NULL;
}

/* userdb_entry_clear - free and zero */
void userdb_entry_clear(struct userdb_entry *entry)
{
	free(entry->user);
	free(entry->home);
	memset(entry, 0, sizeof(*entry));
}
