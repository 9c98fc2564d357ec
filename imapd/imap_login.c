/*
 * imap-login - the IMAP server before authentication
 *
 * SYNOPSIS
 *	imap-login -c DIR -n SERVICE -t inet [-u] [-o name=value...]
 *	    [post-login-service]
 *	(started by master from master.cf)
 *
 * DESCRIPTION
 *	Greets IMAP clients, offers STARTTLS (RFC 9051 §6.2.1) or speaks
 *	implicit TLS (RFC 8314, imapd_tls_wrappermode = yes, port 993),
 *	answers CAPABILITY, NOOP, LOGOUT and ID (RFC 2971), and checks LOGIN
 *	and AUTHENTICATE PLAIN/LOGIN (with SASL-IR) with the auth service.
 *	An authenticated session is handed to the post-login service
 *	(private/imapd, or the service named by the argument) with
 *	login_handoff() (lib/login/login.h), which writes the tagged OK.
 *	This is Dovecot's imap-login: it runs unprivileged, many sessions
 *	per process in one libevent loop, and never touches a mailbox.
 *
 *	This module holds main(), the settings and the server_ops; see
 *	imap_login.h for the other modules.
 *
 * DIAGNOSTICS
 *	Bad settings (TLS level "encrypt" or wrapper mode without a usable
 *	certificate, an unknown level) are fatal at start-up.  Problems of
 *	one session are logged and never end the process.
 *
 * SECURITY
 *	Network input is untrusted: see imap_login_session.c and
 *	imap_login_auth.c.  The TLS key is loaded before the privilege
 *	drop; no network byte is read before it.  The process runs as
 *	mail_owner (master.cf unpriv "-" or "y").
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "imap_login.h"
#include "log.h"
#include "login.h"
#include "net.h"
#include "server.h"
#include "tls.h"

/* imap_login_settings_load - read the parameters once */
static void imap_login_settings_load(struct imap_login *il)
{
	const struct config *cfg = il->cfg;
	struct imap_login_settings *set = &il->set;
	char **args;
	int nargs;
	const char *v;

	set->queue_dir = config_str(cfg, "queue_directory");
	set->mail_name = config_str(cfg, "mail_name");
	set->login_timeout = config_time(cfg, "imapd_login_timeout");
	set->failure_limit =
		(unsigned)config_int(cfg, "imapd_login_failure_limit");
	set->wrappermode = config_bool(cfg, "imapd_tls_wrappermode");
	set->disable_plaintext_auth =
		config_bool(cfg, "imapd_disable_plaintext_auth");
	args = server_args(il->srv, &nargs);
	set->service = nargs > 0 ? args[0] : IMAP_LOGIN_SERVICE;
	if (nargs > 1 || strchr(set->service, '/') != NULL ||
	    set->service[0] == '.')
		log_fatal("usage: imap-login [post-login-service]");
	v = config_str(cfg, "imapd_tls_security_level");
	if (strcmp(v, "none") == 0 || *v == '\0')
		set->tls_level = IMAP_LOGIN_TLS_NONE;
	else if (strcmp(v, "may") == 0)
		set->tls_level = IMAP_LOGIN_TLS_MAY;
	else if (strcmp(v, "encrypt") == 0)
		set->tls_level = IMAP_LOGIN_TLS_ENCRYPT;
	else
		log_fatal("imapd_tls_security_level: bad value \"%s\" "
			  "(none, may or encrypt)",
			  v);
}

/* imap_login_pre_drop - settings and TLS keys, with start-up privileges */
static void imap_login_pre_drop(struct server *srv)
{
	struct imap_login *il = server_ctx(srv);
	const char *cert, *key, *err;

	il->srv = srv;
	il->cfg = server_config(srv);
	imap_login_settings_load(il);
	if (il->set.tls_level == IMAP_LOGIN_TLS_NONE && !il->set.wrappermode)
		return;
	cert = config_str(il->cfg, "imapd_tls_cert_file");
	key = config_str(il->cfg, "imapd_tls_key_file");
	if (*cert == '\0' && il->set.tls_level == IMAP_LOGIN_TLS_MAY &&
	    !il->set.wrappermode)
		return; /* "may" without a certificate: plaintext only */
	il->tls = tls_server_create(cert, key, &err);
	if (il->tls == NULL) {
		/* A level that promises TLS must not start without it. */
		if (il->set.tls_level == IMAP_LOGIN_TLS_ENCRYPT ||
		    il->set.wrappermode)
			log_fatal("TLS: %s", err);
		log_warn("TLS disabled: %s", err);
	}
}

/* relay_end - a relayed session ended: it no longer counts */
static void relay_end(void *arg)
{
	server_conn_done(arg);
}

/* sighup_event - reload: say goodbye to the sessions not logged in */
static void sighup_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	imap_login_session_shutdown(arg, "Server shutting down.");
}

/*
 * sigterm_event - stop: the skeleton's own handler exits right after
 * this one (libevent runs the handler added last first), so the BYE is
 * written to the sockets directly instead of through the loop.
 */
static void sigterm_event(evutil_socket_t fd, short what, void *arg)
{
	struct imap_login *il = arg;

	(void)fd;
	(void)what;
	for (struct imap_login_session *s = il->sessions; s; s = s->next) {
		struct bufferevent *under = bufferevent_get_underlying(s->bev);
		struct bufferevent *raw = under ? under : s->bev;
		struct evbuffer *out = bufferevent_get_output(raw);

		if (s->closing)
			continue;
		/* A TLS filter encrypts into the socket's buffer at once. */
		imap_login_reply(s, "* BYE Server shutting down.");
		/* The bufferevent keeps its output's start frozen: only it
		 * may drain it, and it will not run again. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, bufferevent_getfd(raw));
		evbuffer_freeze(out, 1);
	}
}

/* late_init - from the loop: our SIGTERM handler goes after the
 * skeleton's, so that it runs before it */
static void late_init(evutil_socket_t fd, short what, void *arg)
{
	struct imap_login *il = arg;

	(void)fd;
	(void)what;
	il->sigterm = evsignal_new(server_event_base(il->srv), SIGTERM,
				   sigterm_event, il);
	if (il->sigterm != NULL)
		event_add(il->sigterm, NULL);
}

/* imap_login_init - after the privilege drop */
static void imap_login_init(struct server *srv)
{
	struct imap_login *il = server_ctx(srv);
	struct event_base *base = server_event_base(srv);
	struct timeval now = {0, 0};

	login_handoff_set_relay_end(relay_end, srv);
	il->sighup = evsignal_new(base, SIGHUP, sighup_event, il);
	il->late = evtimer_new(base, late_init, il);
	if (il->sighup == NULL || il->late == NULL)
		log_fatal("libevent: out of memory");
	event_add(il->sighup, NULL);
	evtimer_add(il->late, &now);
}

/* imap_login_accept - a new IMAP client */
static void imap_login_accept(struct server *srv, int fd,
			      const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ls;
	socklen_t llen = sizeof(ls);
	char addr[IMAP_LOGIN_ADDR_MAX], laddr[IMAP_LOGIN_ADDR_MAX];
	char port[8] = "0", lport[8] = "0";

	net_addr_str(sa, salen, addr, sizeof(addr));
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		snprintf(port, sizeof(port), "%u",
			 (unsigned)ntohs(
				 ((const struct sockaddr_in *)sa)->sin_port));
	if (getsockname(fd, (struct sockaddr *)&ls, &llen) == 0) {
		net_addr_str((struct sockaddr *)&ls, llen, laddr,
			     sizeof(laddr));
		if (ls.ss_family == AF_INET || ls.ss_family == AF_INET6)
			snprintf(
				lport, sizeof(lport), "%u",
				(unsigned)ntohs(
					((struct sockaddr_in *)&ls)->sin_port));
	} else {
		snprintf(laddr, sizeof(laddr), "unknown");
	}
	imap_login_session_accept(server_ctx(srv), fd, addr, port, laddr,
				  lport);
}

/* imap_login_pre_exit - release what the process holds */
static void imap_login_pre_exit(struct server *srv)
{
	struct imap_login *il = server_ctx(srv);

	tls_server_free(&il->tls);
	if (il->sighup)
		event_free(il->sighup);
	if (il->sigterm)
		event_free(il->sigterm);
	if (il->late)
		event_free(il->late);
}

/*
 * imap_login_session_limit - imapd_process_session_limit, read before
 * server_main(): the skeleton takes ops.client_limit before it loads the
 * configuration, so main() loads it once more (-c and -o only; anything
 * wrong is reported by server_main()'s own load right after).
 */
static unsigned imap_login_session_limit(int argc, char **argv)
{
	const char *dir = NULL, *err;
	struct config *cfg;
	unsigned limit = 100;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-c") == 0)
			dir = argv[i + 1];
	cfg = config_create(dir);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-o") == 0)
			(void)config_override(cfg, argv[i + 1], &err);
	if (config_load(cfg, &err) == 0)
		limit = (unsigned)config_int(cfg,
					     "imapd_process_session_limit");
	config_free(&cfg);
	return limit;
}

int main(int argc, char **argv)
{
	static struct server_ops ops = {
		.name = "imap-login",
		.pre_drop = imap_login_pre_drop,
		.init = imap_login_init,
		.accept = imap_login_accept,
		.pre_exit = imap_login_pre_exit,
	};
	static struct imap_login il;

	/* Relayed TLS sessions count here too. */
	ops.client_limit = imap_login_session_limit(argc, argv);
	return server_main(argc, argv, &ops, &il);
}
