/*
 * local - shared state of the local delivery agent
 *
 * local.c holds main(), the request reader and the reply writer;
 * local_recipient.c routes one queue recipient (aliases, .forward,
 * commands, files, forwarding) and logs each delivery;
 * local_deliver.c finds a recipient's mailbox and delivers into it;
 * local_alias.c expands alias_maps for local domains;
 * local_forward.c reads .forward and :include: files;
 * local_pipe.c runs |command targets; local_file.c writes /file targets;
 * local_resubmit.c queues forwarded mail for other domains;
 * local_loop.c finds the Delivered-To: headers of a message.
 */
#ifndef FACTEUR_LOCAL_H
#define FACTEUR_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct resolver;
struct maps_table;
struct userdb_client;
struct qfile;

/* How deep alias expansion goes before it is called a loop. */
#define LOCAL_ALIAS_DEPTH_MAX 10
/* Addresses one alias may expand into (all levels together). */
#define LOCAL_ALIAS_TARGETS_MAX 1000

struct maps_list;

/* The process-wide settings and tables. */
struct local_ctx {
	const struct config *cfg;
	struct resolver *res;
	const char *queue_dir;
	const char *home_mailbox;
	const char *virtual_mailbox_base;
	const char *virtual_uid_maps; /* the spec, for "static:" */
	const char *virtual_gid_maps;
	struct maps_list *uid_maps; /* NULL for static: or empty */
	struct maps_list *gid_maps;
	const char *delimiters;
	const char *myhostname;
	struct maps_list *alias_maps;
	struct maps_list *virtual_mailbox_maps;
	struct userdb_client *userdb; /* NULL: no auth_passwd_file */
	bool root; /* started as root: switch ids per delivery */
	const char *const *forward_path;
	size_t forward_path_count;
	unsigned commands_allowed; /* LOCAL_CLASS_* bits */
	unsigned files_allowed;
	long long command_time_limit;
	const char *default_privs;
	const char *mail_owner;
};

/* Where an address, command or file came from (allow_mail_to_*). */
#define LOCAL_CLASS_ALIAS   0x01u
#define LOCAL_CLASS_FORWARD 0x02u
#define LOCAL_CLASS_INCLUDE 0x04u

/* One delivery request (deliver/1) and its message. */
struct local_request {
	char queue_id[64];
	const char *sender;
	struct qfile *q;
	int fd;		 /* the queue file, read-only */
	double arrival;	 /* seconds since the epoch */
	double received; /* when local got the request */
	/* Delivered-To: values of the message (lowercased), read once. */
	char **delivered;
	size_t delivered_count;
	bool delivered_read;
};

/* The outcome of one recipient. */
enum local_status {
	LOCAL_SENT,
	LOCAL_BOUNCED,
	LOCAL_DEFERRED,
};

struct local_result {
	enum local_status status;
	char dsn[16];
	char reason[512];
};

/* local_result_set - set the outcome of res (replacing what it held) */
void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * local_deliver_mailbox - deliver to address (a final one, after alias
 * expansion) on behalf of the request.  Fills res; logs nothing
 * (local_deliver_one does).
 */
void local_deliver_mailbox(struct local_ctx *ctx, struct local_request *req,
			   const char *address, struct local_result *res);

/*
 * local_deliver_one - the whole delivery of one queue recipient: alias
 * expansion (local domains), mailbox delivery of every target, the log
 * line.  orcpt is the original recipient from qmgr ("" when none).
 */
void local_deliver_one(struct local_ctx *ctx, struct local_request *req,
		       const char *address, const char *orcpt,
		       struct local_result *res);

/*
 * local_alias_lookup - alias_maps lookup for the local part of address
 * (LOCAL class).  Returns 1 with the expansion in *targets_r (a malloc'd
 * NULL-terminated list of addresses, "|command"s and "/file"s: free each
 * and the list) and the LOCAL_CLASS_* of each in *classes_r (malloc'd),
 * 0 when there is no alias, -1 with res set (deferred when a table
 * cannot be read, bounced for a loop).
 */
int local_alias_lookup(struct local_ctx *ctx, const char *address,
		       char ***targets_r, unsigned **classes_r,
		       struct local_result *res);

/* local_base_name - the local part, lowercased, extension stripped */
char *local_base_name(const struct local_ctx *ctx, const char *local);

/* The identity a command or file delivery runs with. */
struct local_user {
	uid_t uid;
	gid_t gid;
	const char *name;  /* USER */
	const char *home;  /* HOME ("" when none) */
	const char *shell; /* SHELL */
};

/*
 * local_user_default - default_privs (as root) or the invoking user:
 * the identity of alias commands and files.  -1 when default_privs
 * names no account (res set to a deferral).
 */
int local_user_default(struct local_ctx *ctx, struct local_user *u,
		       struct local_result *res);

/* local_loop.c */
/*
 * local_loop_parse - the Delivered-To: values in the header section
 * data[0..len) (to its first empty line or its end), unfolded, trimmed
 * and lowercased; a malloc'd list of *count_r strings (free each and the
 * list).  At most LOCAL_LOOP_MAX values are kept.
 */
#define LOCAL_LOOP_MAX 100
char **local_loop_parse(const char *data, size_t len, size_t *count_r);
/* local_loop_seen - whether the message already went to address */
bool local_loop_seen(struct local_request *req, const char *address);
void local_loop_free(struct local_request *req);

/* local_forward.c */
/*
 * local_forward_split - the entries of a .forward or :include: text:
 * separated by commas and newlines, '#' lines are comments, a quoted
 * "|command with, commas" is one entry (quotes removed).  A malloc'd
 * NULL-terminated list, or NULL (with *error_r) when there are more than
 * LOCAL_ALIAS_TARGETS_MAX entries.
 */
char **local_forward_split(const char *text, size_t len, const char **error_r);
/*
 * local_forward_read - read path as a list file for the owner uid (its
 * owner must be uid or root and it must not be group or world
 * writable, as Postfix requires).  Returns 1 with the entries, 0 when
 * there is no such file, -1 with res set (deferred for I/O errors,
 * bounced for an unsafe file).  The caller has switched to the user's
 * ids when root.
 */
int local_forward_read(const char *path, uid_t uid, char ***entries_r,
		       struct local_result *res);
void local_forward_free(char **entries);

/* local_file.c */
/* Which headers a copy for a command or a file gets (Postfix's). */
struct local_copy {
	const char *sender;	  /* "" for <> */
	const char *orig_rcpt;	  /* X-Original-To */
	const char *delivered_to; /* Delivered-To */
	bool quote_from;	  /* ">From " quoting and a final empty line */
};
/*
 * local_copy_write - From_ line, Return-Path, X-Original-To,
 * Delivered-To, then the message with CRLF turned into LF.  -1 with
 * errno on a write error (EPIPE included).
 */
int local_copy_write(int fd, struct local_request *req,
		     const struct local_copy *copy);
/*
 * local_file_deliver - append to the mbox file path (fcntl-locked), or
 * deliver into the Maildir path when it ends in '/', as user u.
 */
void local_file_deliver(struct local_ctx *ctx, struct local_request *req,
			const char *path, const struct local_copy *copy,
			const struct local_user *u, struct local_result *res);

/* Effective ids of a user while root (no-op otherwise), and back. */
void local_become(const struct local_ctx *ctx, uid_t uid, gid_t gid);
void local_become_root(const struct local_ctx *ctx);

/* local_pipe.c */
/* What a command sees in its environment. */
struct local_pipe_env {
	const char *recipient; /* RECIPIENT, full address */
	const char *local;     /* LOCAL */
	const char *domain;    /* DOMAIN */
	const char *extension; /* EXTENSION ("" when none) */
};
void local_pipe_deliver(struct local_ctx *ctx, struct local_request *req,
			const char *command, const struct local_copy *copy,
			const struct local_user *u,
			const struct local_pipe_env *env,
			struct local_result *res);

/* local_resubmit.c */
/*
 * local_resubmit - queue the message again for addresses (count of
 * them) with the original sender and "Delivered-To: delivered_to"
 * prepended, then wake qmgr.  Returns 0 with the new queue id in
 * id_r[QUEUE_ID_MAX + 1], or -1 with res set (deferred).
 */
int local_resubmit(struct local_ctx *ctx, struct local_request *req,
		   char *const *addresses, size_t count,
		   const char *delivered_to, char *id_r,
		   struct local_result *res);

#endif
