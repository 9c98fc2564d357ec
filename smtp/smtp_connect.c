/*
 * smtp_connect - find and open a session for a destination
 *
 * DESCRIPTION
 *	The route: an MX lookup for a domain (lib/dns: preference order,
 *	random among equals, implicit MX, null MX), the host's addresses
 *	for "[host]", the address for a literal, the socket for lmtp
 *	"unix:".  Each address in turn, at most smtp_mx_address_limit
 *	addresses and smtp_mx_session_limit sessions (connections made):
 *	connect (smtp_connect_timeout), the greeting and EHLO/LHLO
 *	(smtp_helo_timeout; HELO when EHLO is refused, not for LMTP),
 *	STARTTLS per smtp_tls_security_level, then AUTH when configured.
 *	Any failure on one host (no connection, 4xx/5xx greeting, 4xx EHLO,
 *	TLS or AUTH trouble, a lost connection) is logged and the next one
 *	is tried; when none is left the last failure decides every
 *	recipient's outcome: a 5xx from the server or a permanent routing
 *	failure bounces, anything else defers.
 *
 * SECURITY
 *	STARTTLS: bytes the server sent after its 220 and before the
 *	handshake are refused (the STARTTLS command injection of
 *	CVE-2011-0411, client side); EHLO is sent again over TLS and its
 *	first answer forgotten.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "net.h"
#include "smtp.h"
#include "tls_client.h"

/* The last failure of the host loop. */
struct attempt {
	bool permanent;
	char dsn[16];
	char *reason;
	char *diagnostic;
	bool remote;
};

static void attempt_set(struct attempt *a, bool permanent, const char *dsn,
			const char *diagnostic, bool remote, char *reason)
{
	free(a->reason);
	free(a->diagnostic);
	a->permanent = permanent;
	snprintf(a->dsn, sizeof(a->dsn), "%s", dsn);
	a->reason = reason;
	a->diagnostic = diagnostic != NULL ? xstrdup(diagnostic) : NULL;
	a->remote = remote;
}

/* reply_failure - the server's reply to command as the attempt's outcome:
 * "host X refused to talk to me: REPLY (in reply to C command)" */
static void reply_failure(struct smtp_ctx *ctx, struct attempt *a,
			  struct smtp_sess *sess, const char *verb,
			  const char *command)
{
	char diag[SMTP_TEXT_MAX + 16];
	char *reason;

	if (*command != '\0')
		reason = xasprintf("host %s %s: %s (in reply to %s command)",
				   sess->hostaddr, verb,
				   strbuf_cstr(&sess->text), command);
	else
		reason = xasprintf("host %s %s: %s", sess->hostaddr, verb,
				   strbuf_cstr(&sess->text));
	snprintf(diag, sizeof(diag), "%s; %s", ctx->proto,
		 strbuf_cstr(&sess->text));
	attempt_set(a, sess->code >= 500, sess->status, diag, true, reason);
}

/* connect_addr - a TCP connection within the timeout; fd or -1 */
static int connect_addr(const struct dns_addr *da, unsigned port,
			int timeout_ms, char *why, size_t why_size)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, err = 0;
	socklen_t errlen = sizeof(err);
	struct pollfd pfd;
	int one = 1;

	if (da->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = da->u.v4;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = da->u.v6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	}
	fd = socket(da->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return -1;
	}
	/* Every write is a whole command group or the content with its
	 * dot, followed by a wait for the reply: Nagle would only hold
	 * the tail of a write back until the peer's delayed ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		snprintf(why, why_size, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int n = poll(&pfd, 1, timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, why_size, "Connection timed out");
			close(fd);
			return -1;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 ||
	    err != 0) {
		snprintf(why, why_size, "%s", strerror(err ? err : errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ehlo - EHLO/LHLO (HELO fallback for SMTP); 0 or -1 with a */
static int ehlo(struct smtp_ctx *ctx, struct smtp_sess *sess, struct attempt *a)
{
	char *cmd = xasprintf("%s %s\r\n", ctx->lmtp ? "LHLO" : "EHLO",
			      ctx->helo_name);
	const char *what = ctx->lmtp ? "performing the LHLO handshake"
				     : "performing the EHLO handshake";
	int r;

	memset(&sess->ehlo, 0, sizeof(sess->ehlo));
	r = smtp_sess_write(sess, cmd, strlen(cmd), ctx->t_helo, what);
	free(cmd);
	if (r < 0 || smtp_sess_reply(sess, ctx->t_helo, what) < 0) {
		attempt_set(a, false, "4.4.2", NULL, false,
			    xstrdup(sess->error));
		return -1;
	}
	if (sess->code / 100 == 2) {
		sess->esmtp = true;
		smtp_reply_ehlo(sess->rp, &sess->ehlo);
		return 0;
	}
	if (ctx->lmtp || sess->code / 100 != 5) {
		reply_failure(ctx, a, sess, "refused to talk to me",
			      ctx->lmtp ? "LHLO" : "EHLO");
		return -1;
	}
	cmd = xasprintf("HELO %s\r\n", ctx->helo_name);
	r = smtp_sess_write(sess, cmd, strlen(cmd), ctx->t_helo,
			    "performing the HELO handshake");
	free(cmd);
	if (r < 0 || smtp_sess_reply(sess, ctx->t_helo,
				     "performing the HELO handshake") < 0) {
		attempt_set(a, false, "4.4.2", NULL, false,
			    xstrdup(sess->error));
		return -1;
	}
	if (sess->code / 100 != 2) {
		reply_failure(ctx, a, sess, "refused to talk to me", "HELO");
		return -1;
	}
	sess->esmtp = false;
	return 0;
}

/* starttls - STARTTLS per the security level; 0 or -1 with a */
static int starttls(struct smtp_ctx *ctx, struct smtp_sess *sess,
		    const struct smtp_dest *dest, struct attempt *a)
{
	const char *error, *match;
	enum tls_trust trust;
	char desc[256];

	if (ctx->tls_level == SMTP_TLS_NONE || dest->kind == SMTP_DEST_UNIX)
		return 0;
	if (!(sess->ehlo.ext & SMTP_EXT_STARTTLS) || ctx->tls == NULL) {
		if (ctx->tls_level == SMTP_TLS_MAY)
			return 0;
		attempt_set(a, false, "4.7.4", NULL, false,
			    xasprintf("TLS is required, but was not offered "
				      "by host %s",
				      sess->hostaddr));
		return -1;
	}
	if (smtp_sess_write(sess, "STARTTLS\r\n", 10, ctx->t_starttls,
			    "sending STARTTLS") < 0 ||
	    smtp_sess_reply(sess, ctx->t_starttls, "sending STARTTLS") < 0) {
		attempt_set(a, false, "4.4.2", NULL, false,
			    xstrdup(sess->error));
		return -1;
	}
	if (sess->code != 220) {
		if (ctx->tls_level == SMTP_TLS_MAY && sess->code / 100 == 5)
			return 0; /* refused: Postfix goes on in plain text */
		reply_failure(ctx, a, sess, "refused STARTTLS", "STARTTLS");
		a->permanent = false;
		a->dsn[0] = '4';
		return -1;
	}
	if (smtp_sess_pending(sess)) {
		attempt_set(a, false, "4.7.5", NULL, false,
			    xasprintf("host %s sent data after STARTTLS "
				      "before the TLS handshake",
				      sess->hostaddr));
		return -1;
	}
	/* Name to match: the MX host name, or the bracketed nexthop's. */
	match = sess->host;
	sess->tls = tls_client_start(ctx->tls, sess->fd, sess->host, match,
				     ctx->t_starttls, &error);
	if (sess->tls == NULL) {
		attempt_set(a, false, "4.7.5", NULL, false,
			    xasprintf("Cannot start TLS: handshake failure "
				      "with %s: %s",
				      sess->hostaddr, error));
		return -1;
	}
	trust = tls_conn_trust(sess->tls);
	tls_conn_describe(sess->tls, desc, sizeof(desc));
	log_info("%s TLS connection established to %s: %s",
		 tls_trust_name(trust), sess->relay, desc);
	if (ctx->tls_level == SMTP_TLS_VERIFY && trust != TLS_VERIFIED) {
		attempt_set(
			a, false, "4.7.5", NULL, false,
			xasprintf("Server certificate not verified: %s: %s",
				  sess->hostaddr,
				  trust == TLS_TRUSTED
					  ? "name mismatch"
					  : tls_conn_verify_error(sess->tls)));
		return -1;
	}
	smtp_reply_parser_reset(sess->rp);
	return ehlo(ctx, sess, a);
}

/* greet - greeting, EHLO, STARTTLS, AUTH on a fresh session */
static int greet(struct smtp_ctx *ctx, struct smtp_sess *sess,
		 const struct smtp_req *req, const struct smtp_dest *dest,
		 struct attempt *a)
{
	const char *dsn;
	char *why;

	if (smtp_sess_reply(sess, ctx->t_helo,
			    "receiving the initial server greeting") < 0) {
		attempt_set(a, false, "4.4.2", NULL, false,
			    xstrdup(sess->error));
		return -1;
	}
	if (sess->code / 100 != 2) {
		reply_failure(ctx, a, sess, "refused to talk to me", "");
		return -1;
	}
	if (ehlo(ctx, sess, a) < 0 || starttls(ctx, sess, dest, a) < 0)
		return -1;
	if (smtp_sasl_auth(ctx, sess, req, dest, &why, &dsn) < 0) {
		attempt_set(a, false, dsn, NULL, false, why);
		return -1;
	}
	return 0;
}

/* is_localhost - "localhost" or a name under it (RFC 6761 §6.3) */
static bool is_localhost(const char *name)
{
	size_t len = strlen(name);

	return strcasecmp(name, "localhost") == 0 ||
	       (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0);
}

/*
 * localhost_route - the loopback addresses, without asking DNS: RFC 6761
 * reserves the name, and "inet:localhost:24" (an LMTP server on this
 * machine) must not depend on what a resolver says about it.
 */
static struct dns_route *localhost_route(struct smtp_ctx *ctx,
					 const struct smtp_dest *dest)
{
	struct dns_route *rt = xcalloc(1, sizeof(*rt));
	struct dns_host *h = xcalloc(1, sizeof(*h));

	rt->hosts = h;
	rt->nhosts = 1;
	snprintf(h->name, sizeof(h->name), "%s", dest->host);
	if (ctx->dns_flags & DNS_FLAG_IPV4) {
		h->addrs[h->naddrs].family = AF_INET;
		h->addrs[h->naddrs++].u.v4.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (ctx->dns_flags & DNS_FLAG_IPV6) {
		h->addrs[h->naddrs].family = AF_INET6;
		h->addrs[h->naddrs++].u.v6 = in6addr_loopback;
	}
	return rt;
}

/* route - the hosts to try; NULL with a set when there are none */
static struct dns_route *route(struct smtp_ctx *ctx,
			       const struct smtp_dest *dest, struct attempt *a)
{
	struct dns_route *rt = NULL;
	unsigned char buf[16];
	enum dns_status st;
	const char *error;

	if (dest->kind == SMTP_DEST_UNIX) {
		rt = xcalloc(1, sizeof(*rt));
		rt->hosts = xcalloc(1, sizeof(*rt->hosts));
		rt->nhosts = 1;
		snprintf(rt->hosts[0].name, sizeof(rt->hosts[0].name), "%s",
			 dest->host);
		rt->hosts[0].naddrs = 1; /* the socket path */
		return rt;
	}
	if (inet_pton(AF_INET, dest->host, buf) == 1 ||
	    inet_pton(AF_INET6, dest->host, buf) == 1) {
		struct dns_host *h;

		rt = xcalloc(1, sizeof(*rt));
		rt->hosts = h = xcalloc(1, sizeof(*rt->hosts));
		rt->nhosts = 1;
		snprintf(h->name, sizeof(h->name), "%s", dest->host);
		h->naddrs = 1;
		if (inet_pton(AF_INET, dest->host, &h->addrs[0].u.v4) == 1) {
			h->addrs[0].family = AF_INET;
		} else {
			h->addrs[0].family = AF_INET6;
			inet_pton(AF_INET6, dest->host, &h->addrs[0].u.v6);
		}
		return rt;
	}
	if (dest->kind == SMTP_DEST_HOST && is_localhost(dest->host))
		return localhost_route(ctx, dest);
	if (dest->kind == SMTP_DEST_MX)
		st = dns_mx_route(dest->host, ctx->dns_flags, &rt, &error);
	else
		st = dns_lookup_addrs(dest->host, ctx->dns_flags, &rt, &error);
	if (st == DNS_OK)
		return rt;
	if (st == DNS_NULLMX)
		attempt_set(a, true, dns_status_dsn(st), NULL, false,
			    xasprintf("Domain %s does not accept mail "
				      "(nullMX)",
				      dest->host));
	else
		attempt_set(a, dns_status_permanent(st), dns_status_dsn(st),
			    NULL, false,
			    xasprintf("Host or domain name not found. Name "
				      "service error for name=%s type=%s: %s",
				      dest->host,
				      dest->kind == SMTP_DEST_MX ? "MX" : "A",
				      error));
	return NULL;
}

/* open_unix - the LMTP socket */
static int open_unix(const struct smtp_dest *dest, char *why, size_t size)
{
	const char *error;
	int fd = net_connect_unix(dest->path, true, &error);

	if (fd < 0)
		snprintf(why, size, "%s", error);
	return fd;
}

struct smtp_sess *smtp_connect(struct smtp_ctx *ctx, struct smtp_req *req,
			       const struct smtp_dest *dest)
{
	struct attempt a = {0};
	struct dns_route *rt;
	struct smtp_sess *sess = NULL;
	unsigned tried = 0, sessions = 0;

	snprintf(req->relay, sizeof(req->relay), "none");
	req->remote_mta[0] = '\0';
	if ((rt = route(ctx, dest, &a)) == NULL)
		goto failed;
	for (size_t h = 0; h < rt->nhosts && sess == NULL; h++) {
		struct dns_host *host = &rt->hosts[h];

		for (size_t i = 0; i < host->naddrs; i++) {
			char addr[128], why[256];
			int fd;

			if ((ctx->mx_address_limit > 0 &&
			     tried >= ctx->mx_address_limit) ||
			    (ctx->mx_session_limit > 0 &&
			     sessions >= ctx->mx_session_limit))
				break;
			tried++;
			if (dest->kind == SMTP_DEST_UNIX) {
				snprintf(addr, sizeof(addr), "%s", dest->path);
				fd = open_unix(dest, why, sizeof(why));
			} else {
				dns_addr_str(&host->addrs[i], addr,
					     sizeof(addr));
				fd = connect_addr(&host->addrs[i], dest->port,
						  ctx->t_connect, why,
						  sizeof(why));
			}
			if (fd < 0) {
				char *reason;

				if (dest->kind == SMTP_DEST_UNIX)
					reason = xasprintf("connect to %s: %s",
							   addr, why);
				else
					reason = xasprintf(
						"connect to %s[%s]:%u: %s",
						host->name, addr, dest->port,
						why);
				log_info("%s", reason);
				attempt_set(&a, false, "4.4.1", NULL, false,
					    reason);
				continue;
			}
			sessions++;
			sess = smtp_sess_create(fd);
			snprintf(sess->host, sizeof(sess->host), "%s",
				 host->name);
			snprintf(sess->addr, sizeof(sess->addr), "%s", addr);
			sess->port = dest->port;
			snprintf(sess->hostaddr, sizeof(sess->hostaddr),
				 "%s[%s]", host->name, addr);
			if (dest->kind == SMTP_DEST_UNIX)
				snprintf(sess->relay, sizeof(sess->relay), "%s",
					 sess->hostaddr);
			else
				snprintf(sess->relay, sizeof(sess->relay),
					 "%s:%u", sess->hostaddr, dest->port);
			snprintf(req->relay, sizeof(req->relay), "%s",
				 sess->relay);
			snprintf(req->remote_mta, sizeof(req->remote_mta),
				 "dns; %s", host->name);
			if (greet(ctx, sess, req, dest, &a) == 0)
				break;
			log_info("%s: %s", req->queue_id, a.reason);
			smtp_sess_quit(ctx, &sess);
		}
	}
	dns_route_free(&rt);
	if (sess != NULL) {
		req->connected = smtp_now();
		free(a.reason);
		free(a.diagnostic);
		return sess;
	}
failed:
	req->connected = smtp_now();
	if (a.reason == NULL)
		attempt_set(&a, false, "4.4.1", NULL, false,
			    xasprintf("no usable address for %s", dest->host));
	for (size_t i = 0; i < req->count; i++) {
		struct smtp_rcpt *r = &req->rcpts[i];

		if (r->status != SMTP_TODO)
			continue;
		smtp_rcpt_set(r, a.permanent ? SMTP_BOUNCED : SMTP_DEFERRED,
			      a.dsn, a.diagnostic, "%s", a.reason);
		r->remote = a.remote;
	}
	free(a.reason);
	free(a.diagnostic);
	return NULL;
}
