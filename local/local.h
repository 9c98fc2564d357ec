/*
 * local - shared state of the local delivery agent
 *
 * local.c holds main(), the request reader and the reply writer;
 * local_deliver.c finds a recipient's mailbox and delivers into it;
 * local_alias.c expands alias_maps for local domains.
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
struct passwd_file;
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
	const char *passwd_path;
	struct passwd_file *passwd;
	bool root; /* started as root: switch ids per delivery */
};

/* One delivery request (deliver/1) and its message. */
struct local_request {
	char queue_id[64];
	const char *sender;
	struct qfile *q;
	int fd;		 /* the queue file, read-only */
	double arrival;	 /* seconds since the epoch */
	double received; /* when local got the request */
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
 * NULL-terminated list of addresses, free each and the list), 0 when
 * there is no alias, -1 with res set to a deferral when a table cannot
 * be read.
 */
int local_alias_lookup(struct local_ctx *ctx, const char *address,
		       char ***targets_r, struct local_result *res);

/* local_base_name - the local part, lowercased, extension stripped */
char *local_base_name(const struct local_ctx *ctx, const char *local);

#endif
