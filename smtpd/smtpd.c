/*
 * smtpd - the RFC 5321 SMTP server: receives mail into the queue
 *
 * SYNOPSIS
 *	smtpd -c DIR -n SERVICE -t inet [-u] [-o name=value...]
 *	(started by master from master.cf)
 *
 * DESCRIPTION
 *	Speaks ESMTP (RFC 5321) with PIPELINING (RFC 2920), SIZE (RFC
 *	1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), ENHANCEDSTATUSCODES
 *	(RFC 2034), DSN (RFC 3461), CHUNKING (RFC 3030) and STARTTLS (RFC
 *	3207) or implicit TLS (RFC 8314, smtpd_tls_wrappermode = yes).
 *	Accepted mail is written to queue_directory/incoming with the fsync
 *	protocol of lib/global/qfile.h; "250 Ok: queued as ID" is sent only
 *	once the file is durably there.  qmgr is then woken.
 *
 *	One process serves up to smtpd_process_session_limit sessions at
 *	once in its libevent loop; master starts more processes as needed.
 *	This module holds main(), the settings and the server_ops; see
 *	smtpd.h for the other modules.
 *
 * DIAGNOSTICS
 *	Bad settings (unknown restriction, bad mynetworks, TLS level
 *	"encrypt" or wrapper mode without a usable certificate) are fatal
 *	at start-up.  Problems of one session are logged and never end the
 *	process.
 *
 * SECURITY
 *	Network input is untrusted: see smtpd_session.c, smtpd_data.c and
 *	smtpd_cmd.c.  The TLS key is loaded before the privilege drop; no
 *	network byte is read before it.  The process runs as mail_owner.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "resolve.h"
#include "server.h"
#include "smtpd.h"
#include "tls.h"

/* smtpd_settings_load - read the parameters once */
static void smtpd_settings_load(struct smtpd *sd)
{
	const struct config *cfg = sd->cfg;
	struct smtpd_settings *set = &sd->set;
	const char *v;

	set->hostname = config_str(cfg, "myhostname");
	set->mail_name = config_str(cfg, "mail_name");
	set->banner = config_str(cfg, "smtpd_banner");
	set->queue_dir = config_str(cfg, "queue_directory");
	set->timeout = config_time(cfg, "smtpd_timeout");
	set->error_sleep = config_time(cfg, "smtpd_error_sleep_time");
	set->recipient_limit =
		(unsigned)config_int(cfg, "smtpd_recipient_limit");
	set->soft_error_limit =
		(unsigned)config_int(cfg, "smtpd_soft_error_limit");
	set->hard_error_limit =
		(unsigned)config_int(cfg, "smtpd_hard_error_limit");
	set->command_line_limit =
		(unsigned)config_int(cfg, "smtpd_command_line_limit");
	set->session_limit =
		(unsigned)config_int(cfg, "smtpd_process_session_limit");
	set->conn_count_limit = (unsigned)config_int(
		cfg, "smtpd_client_connection_count_limit");
	set->conn_rate_limit =
		(unsigned)config_int(cfg, "smtpd_client_connection_rate_limit");
	set->message_rate_limit =
		(unsigned)config_int(cfg, "smtpd_client_message_rate_limit");
	set->message_size_limit =
		(uint64_t)config_size(cfg, "message_size_limit");
	set->header_size_limit =
		(uint64_t)config_size(cfg, "header_size_limit");
	set->helo_required = config_bool(cfg, "smtpd_helo_required");
	set->disable_vrfy = config_bool(cfg, "disable_vrfy_command");
	set->wrappermode = config_bool(cfg, "smtpd_tls_wrappermode");
	set->tls_received_header =
		config_bool(cfg, "smtpd_tls_received_header");
	set->add_missing_headers =
		config_bool(cfg, "smtpd_add_missing_headers");
	set->sasl_enable = config_bool(cfg, "smtpd_sasl_auth_enable");
	set->tls_auth_only = config_bool(cfg, "smtpd_tls_auth_only");
	set->relay_restrictions =
		config_list(cfg, "smtpd_relay_restrictions", NULL);
	set->recipient_restrictions =
		config_list(cfg, "smtpd_recipient_restrictions", NULL);

	v = config_str(cfg, "smtpd_forbid_bare_newline");
	if (strcmp(v, "normalize") == 0)
		set->bare_newline = SMTPD_BARE_NORMALIZE;
	else if (strcmp(v, "yes") == 0)
		set->bare_newline = SMTPD_BARE_REJECT;
	else if (strcmp(v, "no") == 0)
		set->bare_newline = SMTPD_BARE_ALLOW;
	else
		log_fatal("smtpd_forbid_bare_newline: bad value \"%s\" "
			  "(normalize, yes or no)",
			  v);
	v = config_str(cfg, "smtpd_tls_security_level");
	if (strcmp(v, "none") == 0 || *v == '\0')
		set->tls_level = SMTPD_TLS_NONE;
	else if (strcmp(v, "may") == 0)
		set->tls_level = SMTPD_TLS_MAY;
	else if (strcmp(v, "encrypt") == 0)
		set->tls_level = SMTPD_TLS_ENCRYPT;
	else
		log_fatal("smtpd_tls_security_level: bad value \"%s\" "
			  "(none, may or encrypt)",
			  v);
}

/* smtpd_pre_drop - settings and TLS keys, with start-up privileges */
static void smtpd_pre_drop(struct server *srv)
{
	struct smtpd *sd = server_ctx(srv);
	const char *err;

	sd->srv = srv;
	sd->cfg = server_config(srv);
	smtpd_settings_load(sd);
	if (sd->set.tls_level != SMTPD_TLS_NONE || sd->set.wrappermode) {
		sd->tls = tls_server_create(
			config_str(sd->cfg, "smtpd_tls_cert_file"),
			config_str(sd->cfg, "smtpd_tls_key_file"), &err);
		if (sd->tls == NULL) {
			/* Postfix degrades "may" to plaintext; a level that
			 * promises TLS must not start without it. */
			if (sd->set.tls_level == SMTPD_TLS_ENCRYPT ||
			    sd->set.wrappermode)
				log_fatal("TLS: %s", err);
			log_warn("TLS disabled: %s", err);
		}
	}
	if (sd->set.wrappermode)
		/* Already encrypted: STARTTLS makes no sense (RFC 8314). */
		sd->set.tls_level = SMTPD_TLS_NONE;
}

/* smtpd_init - resolver and policy, after the privilege drop */
static void smtpd_init(struct server *srv)
{
	struct smtpd *sd = server_ctx(srv);
	const char *err;

	sd->resolver = resolver_create(sd->cfg, &err);
	if (sd->resolver == NULL)
		log_fatal("resolver: %s", err);
	if (smtpd_check_init(sd, &err) < 0 || smtpd_anvil_init(sd, &err) < 0)
		log_fatal("%s", err);
	sd->incoming_dir = xasprintf("%s/incoming", sd->set.queue_dir);
	sd->qmgr_fd = -1;
}

/* smtpd_accept - a new SMTP client */
static void smtpd_accept(struct server *srv, int fd, const struct sockaddr *sa,
			 socklen_t salen)
{
	char addr[SMTPD_ADDR_MAX];

	net_addr_str(sa, salen, addr, sizeof(addr));
	smtpd_session_accept(server_ctx(srv), fd, addr);
}

/* smtpd_pre_exit - release what the process holds */
static void smtpd_pre_exit(struct server *srv)
{
	struct smtpd *sd = server_ctx(srv);

	tls_server_free(&sd->tls);
	resolver_free(&sd->resolver);
	smtpd_check_deinit(sd);
	smtpd_anvil_deinit(sd);
	free(sd->incoming_dir);
	if (sd->qmgr_fd >= 0)
		close(sd->qmgr_fd);
}

/*
 * smtpd_session_limit - smtpd_process_session_limit, read before
 * server_main(): the skeleton takes ops.client_limit before it loads the
 * configuration, so main() loads it once more (-c and -o only; anything
 * wrong is reported by server_main()'s own load right after).
 */
static unsigned smtpd_session_limit(int argc, char **argv)
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
					     "smtpd_process_session_limit");
	config_free(&cfg);
	return limit;
}

int main(int argc, char **argv)
{
	static struct server_ops ops = {
		.name = "smtpd",
		.pre_drop = smtpd_pre_drop,
		.init = smtpd_init,
		.accept = smtpd_accept,
		.pre_exit = smtpd_pre_exit,
	};
	static struct smtpd sd;

	ops.client_limit = smtpd_session_limit(argc, argv);
	return server_main(argc, argv, &ops, &sd);
}
