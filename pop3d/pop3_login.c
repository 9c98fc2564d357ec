/*
 * pop3-login - the POP3 server before login: greeting, TLS, authentication
 *
 * SYNOPSIS
 *	pop3-login -c DIR -n SERVICE -t inet [-u] [-o name=value...]
 *	(started by master from master.cf)
 *
 * DESCRIPTION
 *	Speaks the AUTHORIZATION state of POP3 (RFC 1939 §4) with CAPA
 *	(RFC 2449), STLS (RFC 2595) or implicit TLS (RFC 8314,
 *	pop3d_tls_wrappermode = yes, port 995), UTF8 (RFC 6856), USER/PASS
 *	and AUTH PLAIN (RFC 5034, RFC 4616).  Credentials are checked by
 *	the auth service (service=pop3); on success the client is handed to
 *	the "pop3d" service with login_handoff(), which answers "+OK Logged
 *	in." once the mailbox is open.
 *
 *	USER/PASS and AUTH are refused before TLS while
 *	pop3d_disable_plaintext_auth = yes (the default, Dovecot's
 *	disable_plaintext_auth), with "-ERR [AUTH] Plaintext authentication
 *	disallowed on non-secure (SSL/TLS) connections.", and CAPA does not
 *	offer them then (RFC 2595 §2.1).
 *
 *	This module holds main(), the settings and the server_ops; see
 *	pop3_login.h for the other modules.
 *
 * DIAGNOSTICS
 *	Wrapper mode without a usable certificate is fatal at start-up; a
 *	certificate that cannot be loaded otherwise only disables STLS
 *	(with a warning).  Problems of one session are logged and never
 *	end the process.
 *
 * SECURITY
 *	Everything the client sends before authentication is parsed here,
 *	in a process running as mail_owner that has no access to any
 *	mailbox.  The TLS key is loaded before the privilege drop.
 *	Passwords are wiped after use and never logged.
 */
#include "autoconf.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "login.h"
#include "net.h"
#include "pop3_login.h"
#include "server.h"
#include "tls.h"

/* pop3_login_settings_load - read the parameters once */
static void pop3_login_settings_load(struct pop3_login *pl)
{
	const struct config *cfg = pl->cfg;
	struct pop3_login_settings *set = &pl->set;

	set->queue_dir = config_str(cfg, "queue_directory");
	set->timeout = config_time(cfg, "pop3d_login_timeout");
	set->session_limit =
		(unsigned)config_int(cfg, "pop3d_process_session_limit");
	set->disable_plaintext_auth =
		config_bool(cfg, "pop3d_disable_plaintext_auth");
	set->wrappermode = config_bool(cfg, "pop3d_tls_wrappermode");
}

/* pop3_login_pre_drop - settings and TLS keys, with start-up privileges */
static void pop3_login_pre_drop(struct server *srv)
{
	struct pop3_login *pl = server_ctx(srv);
	const char *cert, *key, *err;

	pl->srv = srv;
	pl->cfg = server_config(srv);
	pop3_login_settings_load(pl);
	cert = config_str(pl->cfg, "pop3d_tls_cert_file");
	key = config_str(pl->cfg, "pop3d_tls_key_file");
	if (*cert == '\0') {
		if (pl->set.wrappermode)
			log_fatal("pop3d_tls_wrappermode = yes needs "
				  "pop3d_tls_cert_file");
		return;
	}
	pl->tls = tls_server_create(cert, key, &err);
	if (pl->tls == NULL) {
		if (pl->set.wrappermode)
			log_fatal("TLS: %s", err);
		log_warn("STLS disabled: %s", err);
	}
}

/* relay_end - a relayed (TLS) session is over: it stops counting */
static void relay_end(void *arg)
{
	server_conn_done(arg);
}

/* pop3_login_init - after the privilege drop */
static void pop3_login_init(struct server *srv)
{
	struct pop3_login *pl = server_ctx(srv);

	login_handoff_set_relay_end(relay_end, srv);
	if (pl->tls == NULL && pl->set.disable_plaintext_auth)
		log_warn("no TLS and pop3d_disable_plaintext_auth = yes: "
			 "nobody can log in");
}

/* port_str - the numeric port of sa into buf */
static void port_str(const struct sockaddr *sa, socklen_t salen, char *buf,
		     size_t size)
{
	if (salen == 0 || getnameinfo(sa, salen, NULL, 0, buf, (socklen_t)size,
				      NI_NUMERICSERV) != 0)
		snprintf(buf, size, "0");
}

/* pop3_login_accept - a new POP3 client */
static void pop3_login_accept(struct server *srv, int fd,
			      const struct sockaddr *sa, socklen_t salen)
{
	char addr[POP3_LOGIN_ADDR_MAX], port[16], lport[16];
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);

	net_addr_str(sa, salen, addr, sizeof(addr));
	port_str(sa, salen, port, sizeof(port));
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
		llen = 0;
	port_str((struct sockaddr *)&local, llen, lport, sizeof(lport));
	pop3_login_session_accept(server_ctx(srv), fd, addr, port, lport);
}

/* pop3_login_pre_exit - release what the process holds */
static void pop3_login_pre_exit(struct server *srv)
{
	struct pop3_login *pl = server_ctx(srv);

	tls_server_free(&pl->tls);
}

/*
 * session_limit - pop3d_process_session_limit, read before server_main()
 * (the skeleton takes client_limit before it loads the configuration; see
 * smtpd.c).
 */
static unsigned session_limit(int argc, char **argv)
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
					     "pop3d_process_session_limit");
	config_free(&cfg);
	return limit;
}

int main(int argc, char **argv)
{
	static struct server_ops ops = {
		.name = "pop3-login",
		.pre_drop = pop3_login_pre_drop,
		.init = pop3_login_init,
		.accept = pop3_login_accept,
		.pre_exit = pop3_login_pre_exit,
	};
	static struct pop3_login pl;

	ops.client_limit = session_limit(argc, argv);
	return server_main(argc, argv, &ops, &pl);
}
