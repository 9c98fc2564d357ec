/*
 * local - the local delivery agent: Maildir delivery for local and
 *	   virtual domains
 *
 * SYNOPSIS
 *	local -c DIR -n local -t unix        (started by master, as root)
 *
 * DESCRIPTION
 *	qmgr connects to private/local and sends one deliver/1 frame
 *	(docs/architecture.md, "Inbound mail").  local opens the queue
 *	file it names (read-only), delivers to each recipient of the
 *	request in turn (local_deliver.c), answers one result/1 frame per
 *	recipient, then done/1, and waits for qmgr's next request on the
 *	same connection (lib/server/agent_conn.c).  It never changes the
 *	queue file: qmgr marks the recipients from the replies.
 *
 *	One request at a time per process (client_limit 1): a delivery
 *	blocks on the disk, and master starts up to maxproc processes for
 *	the parallel requests qmgr sends.
 *
 * DIAGNOSTICS
 *	A malformed request is logged and the connection closed without a
 *	reply: qmgr then treats the recipients of that request as deferred.  A queue file
 *	that cannot be read makes every recipient deferred.
 *
 * SECURITY
 *	local runs as root (master.cf unpriv column "n") because it writes
 *	into users' home directories with their ids.  For each delivery it
 *	switches its effective uid and gid (and the group list) to the
 *	mailbox owner and back to root afterwards (local_deliver.c,
 *	set_eugid); every file and directory of a mailbox is made with the
 *	owner's ids and refuses symlinks while root.  It never delivers
 *	into a virtual mailbox as root.  Requests come from qmgr over a
 *	mode 0600 socket, but are checked all the same: the queue file
 *	must be "active/" followed by a valid queue id (no path tricks),
 *	every attribute is read strictly and bounded by the frame size.
 *	Started without root (tests, the demo), it delivers as the
 *	invoking user and ignores mailbox ownership.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent_conn.h"
#include "alloc.h"
#include "attr.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "maps_list.h"
#include "qfile.h"
#include "queue_id.h"
#include "resolve.h"
#include "server.h"
#include "strbuf.h"
#include "userdb_client.h"

/* The most recipients one request may carry (qmgr sends fewer). */
#define LOCAL_RCPT_MAX 1000

/* local_result_set - record an outcome; a worse one never gets better */
void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...)
{
	va_list ap;

	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* now_seconds - the time as a double */
static double now_seconds(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* reply_result - append one result/1 frame */
static void reply_result(struct strbuf *out, int64_t index,
			 const struct local_result *res)
{
	static const char *const names[] = {"sent", "bounced", "deferred"};
	struct attr_writer w;

	attr_writer_begin(&w, out, "result/1");
	attr_put_int(&w, "index", index);
	attr_put_str(&w, "status", names[res->status]);
	attr_put_str(&w, "dsn", res->dsn);
	attr_put_str(&w, "reason", res->reason);
	attr_put_str(&w, "relay", "local");
	attr_writer_end(&w);
}

/* get_rcpt_attr - "rcpt_I<suffix>" as a string */
static int get_rcpt_attr(struct attr_list *list, int64_t i, const char *suffix,
			 const char **value_r, const char **error_r)
{
	char name[ATTR_NAME_MAX + 1];

	snprintf(name, sizeof(name), "rcpt_%lld%s", (long long)i, suffix);
	return attr_get_str(list, name, value_r, error_r);
}

/*
 * local_deliver_request - one deliver/1 request: deliver to each
 * recipient, append a result/1 frame per recipient to out; -1 (nothing
 * appended) for a malformed request.
 */
static int local_deliver_request(struct server *srv, struct attr_list *list,
				 struct strbuf *out)
{
	struct local_ctx *ctx = server_ctx(srv);
	struct local_request req = {.fd = -1};
	const char *id, *qpath, *nexthop, *error, *addr, *orcpt;
	int64_t count, offset;
	char *path = NULL;
	int r, ret = -1;

	req.received = now_seconds();
	if (strcmp(list->proto, "deliver/1") != 0) {
		log_warn("unexpected request protocol %.64s", list->proto);
		goto done;
	}
	if (attr_get_str(list, "queue_id", &id, &error) < 0 ||
	    attr_get_str(list, "queue_file", &qpath, &error) < 0 ||
	    attr_get_str(list, "sender", &req.sender, &error) < 0 ||
	    attr_get_str(list, "nexthop", &nexthop, &error) < 0 ||
	    attr_get_int(list, "rcpt_count", &count, &error) < 0) {
		log_warn("bad deliver request: %s", error);
		goto done;
	}
	if (!queue_id_valid(id) || strncmp(qpath, "active/", 7) != 0 ||
	    strcmp(qpath + 7, id) != 0) {
		log_warn("bad deliver request: queue file %.100s", qpath);
		goto done;
	}
	if (count < 1 || count > LOCAL_RCPT_MAX) {
		log_warn("%s: bad deliver request: rcpt_count %lld", id,
			 (long long)count);
		goto done;
	}
	snprintf(req.queue_id, sizeof(req.queue_id), "%s", id);
	/* Check the whole frame before delivering to anyone. */
	for (int64_t i = 0; i < count; i++) {
		if (get_rcpt_attr(list, i, "", &addr, &error) < 0 ||
		    get_rcpt_attr(list, i, "_orcpt", &orcpt, &error) < 0) {
			log_warn("%s: bad deliver request: %s", id, error);
			goto done;
		}
		{
			char name[32];

			snprintf(name, sizeof(name), "rcpt_%lld_offset",
				 (long long)i);
			if (attr_get_int(list, name, &offset, &error) < 0) {
				log_warn("%s: bad deliver request: %s", id,
					 error);
				goto done;
			}
		}
	}
	if (attr_list_end(list, &error) < 0) {
		log_warn("%s: bad deliver request: %s", id, error);
		goto done;
	}
	path = xasprintf("%s/%s", ctx->queue_dir, qpath);
	r = qfile_open(path, false, NULL, &req.q, &error);
	for (int64_t i = 0; i < count; i++) {
		struct local_result res = {0};

		get_rcpt_attr(list, i, "", &addr, &error);
		get_rcpt_attr(list, i, "_orcpt", &orcpt, &error);
		if (r < 0) {
			local_result_set(&res, LOCAL_DEFERRED, "4.3.0",
					 "cannot read queue file: %s", error);
			log_warn("%s: to=<%s>, relay=local, dsn=4.3.0, "
				 "status=deferred (%s)",
				 id, addr, res.reason);
		} else {
			req.fd = req.q->fd;
			req.arrival = (double)req.q->arrival_sec +
				      (double)req.q->arrival_usec / 1e6;
			local_deliver_one(ctx, &req, addr, orcpt, &res);
		}
		reply_result(out, i, &res);
	}
	ret = 0;
done:
	local_loop_free(&req);
	qfile_free(&req.q);
	free(path);
	return ret;
}

/* local_request - a connection from qmgr: its requests, one by one */
static void local_request(struct server *srv, int fd, struct attr_list *list)
{
	agent_conn_serve(srv, fd, list, local_deliver_request);
}

/* local_maps - the tables a list parameter names */
static struct maps_list *local_maps(const struct config *cfg, const char *name,
				    unsigned int flags)
{
	size_t count;
	const char *const *specs = config_list(cfg, name, &count);

	return maps_list_create(name, specs, count, flags);
}

/* local_classes - allow_mail_to_* as LOCAL_CLASS_* bits */
static unsigned local_classes(const struct config *cfg, const char *name)
{
	size_t count;
	const char *const *words = config_list(cfg, name, &count);
	unsigned bits = 0;

	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(words[i], "alias") == 0)
			bits |= LOCAL_CLASS_ALIAS;
		else if (strcasecmp(words[i], "forward") == 0)
			bits |= LOCAL_CLASS_FORWARD;
		else if (strcasecmp(words[i], "include") == 0)
			bits |= LOCAL_CLASS_INCLUDE;
		else
			log_fatal("%s: unknown class \"%s\" (alias, forward "
				  "or include)",
				  name, words[i]);
	}
	return bits;
}

/* local_init - settings, tables (opened on first use) */
static void local_init(struct server *srv)
{
	struct local_ctx *ctx = server_ctx(srv);
	const struct config *cfg = server_config(srv);
	const char *error;
	size_t len;

	ctx->cfg = cfg;
	ctx->root = geteuid() == 0;
	ctx->queue_dir = config_str(cfg, "queue_directory");
	ctx->home_mailbox = config_str(cfg, "home_mailbox");
	len = strlen(ctx->home_mailbox);
	if (len == 0 || ctx->home_mailbox[len - 1] != '/' ||
	    ctx->home_mailbox[0] == '/')
		log_fatal("home_mailbox = %s: only Maildir delivery is "
			  "supported: a path relative to the home directory, "
			  "ending in '/'",
			  ctx->home_mailbox);
	ctx->virtual_mailbox_base = config_str(cfg, "virtual_mailbox_base");
	ctx->virtual_uid_maps = config_str(cfg, "virtual_uid_maps");
	ctx->virtual_gid_maps = config_str(cfg, "virtual_gid_maps");
	ctx->delimiters = config_str(cfg, "recipient_delimiter");
	ctx->myhostname = config_str(cfg, "myhostname");
	ctx->alias_maps = local_maps(cfg, "alias_maps", MAPS_ALIASES);
	ctx->virtual_mailbox_maps = local_maps(cfg, "virtual_mailbox_maps", 0);
	/* One table, or "static:ID" which needs none. */
	if (ctx->virtual_uid_maps[0] != '\0' &&
	    strncmp(ctx->virtual_uid_maps, "static:", 7) != 0)
		ctx->uid_maps = maps_list_create("virtual_uid_maps",
						 &ctx->virtual_uid_maps, 1, 0);
	if (ctx->virtual_gid_maps[0] != '\0' &&
	    strncmp(ctx->virtual_gid_maps, "static:", 7) != 0)
		ctx->gid_maps = maps_list_create("virtual_gid_maps",
						 &ctx->virtual_gid_maps, 1, 0);
	/* auth reads the file; we ask its userdb service (userdb.h). */
	if (config_str(cfg, "auth_passwd_file")[0] != '\0')
		ctx->userdb = userdb_client_create(ctx->queue_dir);
	ctx->forward_path =
		config_list(cfg, "forward_path", &ctx->forward_path_count);
	ctx->commands_allowed = local_classes(cfg, "allow_mail_to_commands");
	ctx->files_allowed = local_classes(cfg, "allow_mail_to_files");
	ctx->command_time_limit = config_time(cfg, "command_time_limit");
	ctx->default_privs = config_str(cfg, "default_privs");
	ctx->mail_owner = config_str(cfg, "mail_owner");
	if ((ctx->res = resolver_create(cfg, &error)) == NULL)
		log_fatal("%s", error);
}

/* local_exit - free for the leak checker */
static void local_exit(struct server *srv)
{
	struct local_ctx *ctx = server_ctx(srv);

	resolver_free(&ctx->res);
	userdb_client_free(&ctx->userdb);
	maps_list_free(&ctx->alias_maps);
	maps_list_free(&ctx->virtual_mailbox_maps);
	maps_list_free(&ctx->uid_maps);
	maps_list_free(&ctx->gid_maps);
}

int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "local",
		.init = local_init,
		.request = local_request,
		.pre_exit = local_exit,
		.client_limit = 1,
	};
	struct local_ctx ctx = {0};

	return server_main(argc, argv, &ops, &ctx);
}
