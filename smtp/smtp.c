/*
 * smtp - the SMTP and LMTP delivery agent
 *
 * SYNOPSIS
 *	smtp -c DIR -n smtp -t unix          (started by master)
 *	smtp -c DIR -n lmtp -t unix
 *
 * DESCRIPTION
 *	qmgr connects to private/smtp (or private/lmtp) and sends
 *	deliver/1 frames, one at a time, each for recipients that share a
 *	nexthop (docs/architecture.md, "Outbound: smtp and lmtp").  For
 *	each the agent opens the queue file read-only, finds a server for
 *	the nexthop (smtp_connect.c), runs the transaction (smtp_trans.c),
 *	logs one Postfix line per recipient and answers one result/1 frame
 *	per recipient, then done/1 (lib/server/agent_conn.c), and waits for
 *	qmgr's next request on the same connection.  It never changes the
 *	queue file.
 *
 *	The service name selects the protocol: LMTP when it is "lmtp" or
 *	starts with "lmtp", SMTP otherwise.  One request at a time per
 *	process (client_limit 1): the session blocks on the network with
 *	every wait bounded by the smtp_*_timeout parameters.
 *
 *	Connection cache: after a request the session is kept for
 *	smtp_connection_cache_time_limit; a request for the same nexthop
 *	in that time reuses it, at most smtp_connection_reuse_count_limit
 *	times (0: no limit).  RSET is sent only when the last transaction
 *	was left open; QUIT when the time is up or another nexthop comes.
 *
 * DIAGNOSTICS
 *	A malformed request is logged and closed without a reply (qmgr
 *	defers its recipients).  Log lines as Postfix's smtp(8).
 *
 * SECURITY
 *	Runs unprivileged.  The request is checked as local does (the
 *	queue file must be "active/" + a valid queue id, every attribute
 *	read strictly).  Remote replies are sanitized before they are
 *	logged or reported (smtp_reply_format).
 */
#include "autoconf.h"

#include <event2/event.h>
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
#include "log.h"
#include "maps_list.h"
#include "net.h"
#include "qfile.h"
#include "queue_id.h"
#include "server.h"
#include "smtp.h"
#include "tls_client.h"

/* fmt_delay - Postfix's style: "0", "0.52", "3.1", "45" */
static const char *fmt_delay(double v, char *buf, size_t size)
{
	if (v < 0.01)
		snprintf(buf, size, "0");
	else if (v < 10)
		snprintf(buf, size, "%.2g", v);
	else
		snprintf(buf, size, "%.0f", v);
	return buf;
}

/* log_rcpt - the Postfix line for one recipient */
static void log_rcpt(const struct smtp_req *req, const struct smtp_rcpt *r,
		     double done)
{
	static const char *const names[] = {"sent", "bounced", "deferred"};
	double a = req->received - req->arrival;
	double c = req->connected > 0 ? req->connected - req->received : 0;
	double d = req->connected > 0 ? done - req->connected : 0;
	char orig[1200] = "", b0[32], b1[32], b2[32], b3[32];

	if (a < 0)
		a = 0;
	if (r->orig[0] != '\0' && strcasecmp(r->orig, r->address) != 0)
		snprintf(orig, sizeof(orig), " orig_to=<%s>,", r->orig);
	log_info("%s: to=<%s>,%s relay=%s, delay=%s, delays=%s/0/%s/%s, "
		 "dsn=%s, status=%s (%s)",
		 req->queue_id, r->address, orig, req->relay,
		 fmt_delay(done - req->arrival, b0, sizeof(b0)),
		 fmt_delay(a, b1, sizeof(b1)), fmt_delay(c, b2, sizeof(b2)),
		 fmt_delay(d, b3, sizeof(b3)), r->dsn, names[r->status],
		 r->reason);
}

/* reply_result - append one result/1 frame */
static void reply_result(struct strbuf *out, size_t index,
			 const struct smtp_req *req, const struct smtp_rcpt *r)
{
	static const char *const names[] = {"sent", "bounced", "deferred"};
	struct attr_writer w;

	attr_writer_begin(&w, out, "result/1");
	attr_put_int(&w, "index", (int64_t)index);
	attr_put_str(&w, "status", names[r->status]);
	attr_put_str(&w, "dsn", r->dsn);
	attr_put_str(&w, "reason", r->reason);
	attr_put_str(&w, "relay", req->relay);
	if (r->diagnostic != NULL)
		attr_put_str(&w, "diagnostic", r->diagnostic);
	if (r->remote && req->remote_mta[0] != '\0')
		attr_put_str(&w, "remote_mta", req->remote_mta);
	attr_writer_end(&w);
}

/* cache_drop - QUIT and forget the cached session */
static void cache_drop(struct smtp_ctx *ctx)
{
	if (ctx->cache_timer != NULL)
		evtimer_del(ctx->cache_timer);
	smtp_sess_quit(ctx, &ctx->cached);
	free(ctx->cached_nexthop);
	ctx->cached_nexthop = NULL;
}

/* cache_expired - the session stayed unused for the time limit */
static void cache_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cache_drop(arg);
}

/* cache_take - the cached session for nexthop, or NULL */
static struct smtp_sess *cache_take(struct smtp_ctx *ctx, const char *nexthop)
{
	struct smtp_sess *sess;

	if (ctx->cached == NULL)
		return NULL;
	if (strcmp(ctx->cached_nexthop, nexthop) != 0) {
		cache_drop(ctx);
		return NULL;
	}
	evtimer_del(ctx->cache_timer);
	sess = ctx->cached;
	ctx->cached = NULL;
	free(ctx->cached_nexthop);
	ctx->cached_nexthop = NULL;
	if (!smtp_sess_idle_ok(sess)) {
		/* Closed or spoke meanwhile (421 on idle): not worth a QUIT. */
		smtp_sess_free(&sess);
		return NULL;
	}
	return sess;
}

/*
 * cache_put - keep sess for the next request, or close it.  A session
 * whose transaction ended (the reply to the end of data came) is kept
 * as it is: the next MAIL can follow at once, so a message costs no
 * RSET round trip.  Only a session left in a transaction (MAIL
 * accepted, then nothing sent) gets RSET first.
 */
static void cache_put(struct smtp_ctx *ctx, struct smtp_sess *sess,
		      const char *nexthop)
{
	struct timeval tv;

	if (ctx->cache_time_ms <= 0 || sess->broken ||
	    (ctx->reuse_limit > 0 && sess->uses >= ctx->reuse_limit)) {
		smtp_sess_quit(ctx, &sess);
		return;
	}
	if (sess->in_trans) {
		if (smtp_sess_write(sess, "RSET\r\n", 6, ctx->t_rset,
				    "sending RSET") < 0 ||
		    smtp_sess_reply(sess, ctx->t_rset, "sending RSET") < 0 ||
		    sess->code / 100 != 2) {
			smtp_sess_quit(ctx, &sess);
			return;
		}
		sess->in_trans = false;
	}
	/* A server that sent more than it was asked for is out of step:
	 * its extra replies would be taken for the next commands'.  What
	 * has arrived already is checked here; what comes later, by the
	 * poll of smtp_sess_idle_ok() before the session is used again. */
	if (smtp_sess_pending(sess) ||
	    (sess->tls != NULL && tls_conn_pending(sess->tls) > 0)) {
		smtp_sess_quit(ctx, &sess);
		return;
	}
	ctx->cached = sess;
	ctx->cached_nexthop = xstrdup(nexthop);
	tv.tv_sec = ctx->cache_time_ms / 1000;
	tv.tv_usec = (ctx->cache_time_ms % 1000) * 1000;
	evtimer_add(ctx->cache_timer, &tv);
}

/* deliver - route, connect (or reuse), transact */
static void deliver(struct smtp_ctx *ctx, struct smtp_req *req)
{
	struct smtp_dest dest;
	struct smtp_sess *sess;
	const char *error;
	bool retry;

	if (smtp_nexthop_parse(req->nexthop, ctx->lmtp, ctx->lmtp ? 24 : 25,
			       &dest, &error) < 0) {
		smtp_fail_all(req, SMTP_DEFERRED, "4.3.5", NULL, "%s", error);
		log_warn("%s: %s", req->queue_id, error);
		return;
	}
	sess = cache_take(ctx, req->nexthop);
	if (sess != NULL) {
		snprintf(req->relay, sizeof(req->relay), "%s", sess->relay);
		snprintf(req->remote_mta, sizeof(req->remote_mta), "dns; %s",
			 sess->host);
		req->connected = smtp_now();
		if (smtp_transaction(ctx, sess, req, &retry) == 0) {
			cache_put(ctx, sess, req->nexthop);
			return;
		}
		smtp_sess_free(&sess);
		if (!retry)
			return;
		/* The cached session had gone stale: start afresh. */
		for (size_t i = 0; i < req->count; i++) {
			struct smtp_rcpt *r = &req->rcpts[i];

			r->status = SMTP_TODO;
			free(r->reason);
			free(r->diagnostic);
			r->reason = r->diagnostic = NULL;
			r->remote = r->accepted = false;
		}
	}
	if ((sess = smtp_connect(ctx, req, &dest)) == NULL)
		return;
	if (smtp_transaction(ctx, sess, req, &retry) == 0)
		cache_put(ctx, sess, req->nexthop);
	else
		smtp_sess_free(&sess);
}

/* get_rcpt_str - "rcpt_I<suffix>" */
static int get_rcpt_str(struct attr_list *list, int64_t i, const char *suffix,
			const char **value_r, const char **error_r)
{
	char name[ATTR_NAME_MAX + 1];

	snprintf(name, sizeof(name), "rcpt_%lld%s", (long long)i, suffix);
	return attr_get_str(list, name, value_r, error_r);
}

/* queue_rcpt - the queue recipient whose status byte is at offset */
static const struct qfile_rcpt *queue_rcpt(const struct qfile *q, int64_t off)
{
	for (size_t i = 0; i < q->rcpt_count; i++)
		if (q->rcpts[i].status_offset == (off_t)off)
			return &q->rcpts[i];
	return NULL;
}

/*
 * smtp_deliver_request - one deliver/1 request: deliver, append the
 * results to out; -1 (nothing appended) for a malformed request
 */
static int smtp_deliver_request(struct server *srv, struct attr_list *list,
				struct strbuf *out)
{
	struct smtp_ctx *ctx = server_ctx(srv);
	struct smtp_req req = {0};
	const char *id, *qpath, *error;
	int64_t count, *offsets = NULL;
	char *path = NULL;
	double done;
	int r, ret = -1;

	req.received = smtp_now();
	if (strcmp(list->proto, "deliver/1") != 0) {
		log_warn("unexpected request protocol %.64s", list->proto);
		goto end;
	}
	if (attr_get_str(list, "queue_id", &id, &error) < 0 ||
	    attr_get_str(list, "queue_file", &qpath, &error) < 0 ||
	    attr_get_str(list, "sender", &req.sender, &error) < 0 ||
	    attr_get_str(list, "nexthop", &req.nexthop, &error) < 0 ||
	    attr_get_int(list, "rcpt_count", &count, &error) < 0) {
		log_warn("bad deliver request: %s", error);
		goto end;
	}
	if (!queue_id_valid(id) || strncmp(qpath, "active/", 7) != 0 ||
	    strcmp(qpath + 7, id) != 0) {
		log_warn("bad deliver request: queue file %.100s", qpath);
		goto end;
	}
	if (count < 1 || count > SMTP_RCPT_MAX) {
		log_warn("%s: bad deliver request: rcpt_count %lld", id,
			 (long long)count);
		goto end;
	}
	snprintf(req.queue_id, sizeof(req.queue_id), "%s", id);
	req.count = (size_t)count;
	req.rcpts = xcalloc(req.count, sizeof(*req.rcpts));
	offsets = xcalloc(req.count, sizeof(*offsets));
	for (int64_t i = 0; i < count; i++) {
		struct smtp_rcpt *rc = &req.rcpts[i];
		char name[32];

		rc->status = SMTP_TODO;
		rc->orcpt = "";
		snprintf(name, sizeof(name), "rcpt_%lld_offset", (long long)i);
		if (get_rcpt_str(list, i, "", &rc->address, &error) < 0 ||
		    get_rcpt_str(list, i, "_orcpt", &rc->orig, &error) < 0 ||
		    attr_get_int(list, name, &offsets[i], &error) < 0) {
			log_warn("%s: bad deliver request: %s", id, error);
			goto end;
		}
		if (rc->address[0] == '\0' ||
		    strcspn(rc->address, "<>\r\n ") != strlen(rc->address)) {
			log_warn("%s: bad deliver request: recipient %.100s",
				 id, rc->address);
			goto end;
		}
	}
	if (strcspn(req.sender, "<>\r\n ") != strlen(req.sender)) {
		log_warn("%s: bad deliver request: sender %.100s", id,
			 req.sender);
		goto end;
	}
	if (attr_list_end(list, &error) < 0) {
		log_warn("%s: bad deliver request: %s", id, error);
		goto end;
	}
	path = xasprintf("%s/%s", ctx->queue_dir, qpath);
	r = qfile_open(path, false, NULL, &req.q, &error);
	if (r < 0) {
		req.arrival = req.received;
		snprintf(req.relay, sizeof(req.relay), "none");
		smtp_fail_all(&req, SMTP_DEFERRED, "4.3.0", NULL,
			      "cannot read queue file: %s", error);
	} else {
		const char *utf8 = qfile_attr(req.q, QFILE_ATTR_SMTPUTF8);

		req.arrival = (double)req.q->arrival_sec +
			      (double)req.q->arrival_usec / 1e6;
		req.smtputf8 = utf8 != NULL && strcmp(utf8, "1") == 0;
		for (size_t i = 0; i < req.count; i++) {
			const struct qfile_rcpt *qr =
				queue_rcpt(req.q, offsets[i]);

			if (qr != NULL) {
				req.rcpts[i].orcpt = qr->orcpt;
				req.rcpts[i].notify = qr->notify;
			}
		}
		deliver(ctx, &req);
	}
	done = smtp_now();
	for (size_t i = 0; i < req.count; i++) {
		struct smtp_rcpt *rc = &req.rcpts[i];

		if (rc->status == SMTP_TODO) /* cannot happen; never lose */
			smtp_rcpt_set(rc, SMTP_DEFERRED, "4.3.0", NULL,
				      "delivery status unknown");
		log_rcpt(&req, rc, done);
		reply_result(out, i, &req, rc);
	}
	ret = 0;
end:
	for (size_t i = 0; i < req.count; i++) {
		free(req.rcpts[i].reason);
		free(req.rcpts[i].diagnostic);
	}
	free(req.rcpts);
	free(offsets);
	qfile_free(&req.q);
	free(path);
	return ret;
}

/* smtp_request - a connection from qmgr: its requests, one by one */
static void smtp_request(struct server *srv, int fd, struct attr_list *list)
{
	agent_conn_serve(srv, fd, list, smtp_deliver_request);
}

/* ms - a time parameter in milliseconds */
static int ms(const struct config *cfg, const char *name)
{
	long long s = config_time(cfg, name);

	return s > 3600 * 24 ? 3600 * 24 * 1000 : (int)(s * 1000);
}

/* smtp_init - settings, DNS servers, TLS context, tables */
static void smtp_init(struct server *srv)
{
	struct smtp_ctx *ctx = server_ctx(srv);
	const struct config *cfg = server_config(srv);
	const char *service = server_service(srv);
	const char *const *list;
	const char *level, *error;
	size_t count;

	ctx->cfg = cfg;
	ctx->lmtp = strncmp(service, "lmtp", 4) == 0;
	if (ctx->lmtp)
		log_init("lmtp"); /* facteur/lmtp[PID], as Postfix's lmtp */
	ctx->proto = ctx->lmtp ? "lmtp" : "smtp";
	ctx->queue_dir = config_str(cfg, "queue_directory");
	ctx->helo_name = config_str(cfg, "smtp_helo_name");
	if (!dns_valid_hostname(ctx->helo_name))
		log_fatal("smtp_helo_name = %s: not a valid host name",
			  ctx->helo_name);
	ctx->t_connect = ms(cfg, "smtp_connect_timeout");
	ctx->t_helo = ms(cfg, "smtp_helo_timeout");
	ctx->t_starttls = ms(cfg, "smtp_starttls_timeout");
	ctx->t_mail = ms(cfg, "smtp_mail_timeout");
	ctx->t_rcpt = ms(cfg, "smtp_rcpt_timeout");
	ctx->t_data_init = ms(cfg, "smtp_data_init_timeout");
	ctx->t_data_xfer = ms(cfg, "smtp_data_xfer_timeout");
	ctx->t_data_done = ms(cfg, "smtp_data_done_timeout");
	ctx->t_rset = ms(cfg, "smtp_rset_timeout");
	ctx->t_quit = ms(cfg, "smtp_quit_timeout");
	ctx->cache_time_ms = ms(cfg, "smtp_connection_cache_time_limit");
	ctx->reuse_limit =
		(unsigned)config_int(cfg, "smtp_connection_reuse_count_limit");
	ctx->mx_address_limit =
		(unsigned)config_int(cfg, "smtp_mx_address_limit");
	ctx->mx_session_limit =
		(unsigned)config_int(cfg, "smtp_mx_session_limit");
	ctx->cache_timer =
		evtimer_new(server_event_base(srv), cache_expired, ctx);

	ctx->dns_flags = 0;
	list = config_list(cfg, "inet_protocols", &count);
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(list[i], "all") == 0)
			ctx->dns_flags |= DNS_FLAG_ALL;
		else if (strcasecmp(list[i], "ipv4") == 0)
			ctx->dns_flags |= DNS_FLAG_IPV4;
		else if (strcasecmp(list[i], "ipv6") == 0)
			ctx->dns_flags |= DNS_FLAG_IPV6;
		else
			log_warn("inet_protocols: unknown protocol %s ignored",
				 list[i]);
	}
	if (ctx->dns_flags == 0)
		ctx->dns_flags = DNS_FLAG_ALL;
	list = config_list(cfg, "dns_servers", &count);
	if (dns_set_servers(list, count, &error) < 0)
		log_fatal("dns_servers: %s", error);

	level = config_str(cfg, "smtp_tls_security_level");
	if (*level == '\0' || strcmp(level, "none") == 0)
		ctx->tls_level = SMTP_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		ctx->tls_level = SMTP_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		ctx->tls_level = SMTP_TLS_ENCRYPT;
	else if (strcmp(level, "verify") == 0 || strcmp(level, "secure") == 0)
		ctx->tls_level = SMTP_TLS_VERIFY;
	else
		log_fatal("smtp_tls_security_level = %s: expected none, may, "
			  "encrypt or verify",
			  level);
	if (ctx->tls_level != SMTP_TLS_NONE) {
		ctx->tls = tls_client_create(config_str(cfg, "smtp_tls_CAfile"),
					     &error);
		if (ctx->tls == NULL) {
			/* At level may, plain text is still allowed. */
			if (ctx->tls_level != SMTP_TLS_MAY)
				log_fatal("smtp_tls_CAfile: %s", error);
			log_warn("TLS disabled: %s", error);
		}
	}
	ctx->sasl_enable = config_bool(cfg, "smtp_sasl_auth_enable");
	ctx->sasl_plaintext = config_bool(cfg, "smtp_sasl_auth_plaintext");
	list = config_list(cfg, "smtp_sasl_password_maps", &count);
	if (ctx->sasl_enable && count > 0)
		ctx->sasl_maps = maps_list_create("smtp_sasl_password_maps",
						  list, count, 0);
}

/* smtp_exit - close the cached session, free for the leak checker */
static void smtp_exit(struct server *srv)
{
	struct smtp_ctx *ctx = server_ctx(srv);

	cache_drop(ctx);
	if (ctx->cache_timer != NULL)
		event_free(ctx->cache_timer);
	tls_client_free(&ctx->tls);
	maps_list_free(&ctx->sasl_maps);
}

int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "smtp",
		.init = smtp_init,
		.request = smtp_request,
		.pre_exit = smtp_exit,
		.client_limit = 1,
	};
	struct smtp_ctx ctx = {0};

	return server_main(argc, argv, &ops, &ctx);
}
