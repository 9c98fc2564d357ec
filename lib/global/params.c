/*
 * params - the one table of every configuration parameter
 *
 * SYNOPSIS
 *	#include "params.h"
 *
 *	const struct param_def *param_lookup(const char *name);
 *	const char *param_default(const struct param_def *def);
 *	const char *param_type_name(enum param_type type);
 *
 * DESCRIPTION
 *	param_table[] lists every parameter once, sorted by name so that
 *	param_lookup() can use binary search (a unit test checks the order).
 *	Defaults are main.cf text: config.c expands and validates them the
 *	same way as what an admin writes, so a default that does not parse
 *	is caught by the first config_create() of every test run.
 *
 *	Two defaults are computed: myhostname is the host's canonical name
 *	(gethostname(2), then getaddrinfo(3) with AI_CANONNAME), with
 *	".localdomain" appended when it has no dot, as Postfix does so that
 *	it is always usable as a domain; mydomain is myhostname minus its
 *	first label.  The lookup is done once per process and cached: the
 *	resolver may be slow, and the fuzzer and the tests create many
 *	configurations.  (config.c derives mydomain from a myhostname that
 *	main.cf sets, not from this host name.)
 *
 * DIAGNOSTICS
 *	param_lookup() returns NULL for an unknown name.  A failing
 *	gethostname() falls back to "localhost.localdomain".
 */
#include "autoconf.h"

#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "params.h"

static const char *param_default_myhostname(void);
static const char *param_default_mydomain(void);

#define NOLIMIT	  0, 0
#define UNBOUNDED LLONG_MAX

/* Keep sorted by name (strcmp order). */
const struct param_def param_table[] = {
	{"alias_database", PARAM_LIST, "hash:/etc/aliases", NOLIMIT,
	 "Alias tables that newaliases (sendmail -bi) builds from their source.",
	 NULL},
	{"alias_maps", PARAM_LIST, "hash:/etc/aliases", NOLIMIT,
	 "Alias tables that local applies to local domains (aliases(5) format).",
	 NULL},
	{"allow_mail_to_commands", PARAM_LIST, "alias, forward", NOLIMIT,
	 "Where local accepts |command destinations: alias, forward, include.",
	 NULL},
	{"allow_mail_to_files", PARAM_LIST, "alias, forward", NOLIMIT,
	 "Where local accepts /file destinations: alias, forward, include.",
	 NULL},
	{"anvil_rate_time_unit", PARAM_TIME, "60s", 1, 86400,
	 "The time window in which anvil counts a client's connection rate.",
	 NULL},
	{"auth_default_realm", PARAM_STRING, "", NOLIMIT,
	 "Domain auth appends to a login name without '@'; empty: none.", NULL},
	{"auth_failure_delay", PARAM_TIME, "2s", 0, 60,
	 "How long auth waits before it answers a failed login.", NULL},
	{"auth_owner", PARAM_STRING, "", NOLIMIT,
	 "User the auth and userdb services run as, when started as root, "
	 "instead of mail_owner (the only reader of auth_passwd_file); empty: "
	 "mail_owner.",
	 NULL},
	{"auth_passwd_file", PARAM_STRING, "", NOLIMIT,
	 "Dovecot-style passwd-file of virtual users (user:hash:uid:gid::home).",
	 NULL},
	{"auth_system_users", PARAM_BOOL, "no", NOLIMIT,
	 "Whether auth also accepts system accounts (shadow passwords; auth "
	 "must then run as root).",
	 NULL},
	{"bounce_queue_lifetime", PARAM_TIME, "5d", 0, UNBOUNDED,
	 "How long a non-delivery notice stays queued before it is dropped.",
	 NULL},
	{"command_directory", PARAM_STRING, FACTEUR_COMMAND_DIR, NOLIMIT,
	 "Directory with the administrative commands (facteur, sendmail).",
	 NULL},
	{"command_time_limit", PARAM_TIME, "1000s", 1, UNBOUNDED,
	 "How long a |command delivery of local may run before it is killed.",
	 NULL},
	{"config_directory", PARAM_STRING, FACTEUR_CONFIG_DIR, NOLIMIT,
	 "Directory with main.cf and master.cf; set by -c DIR, not in main.cf.",
	 NULL},
	{"daemon_directory", PARAM_STRING, FACTEUR_DAEMON_DIR, NOLIMIT,
	 "Directory with the programs that master starts.", NULL},
	{"data_directory", PARAM_STRING, FACTEUR_DATA_DIR, NOLIMIT,
	 "Directory with writable state (master.pid, caches), owned by "
	 "mail_owner.",
	 NULL},
	{"default_destination_concurrency_limit", PARAM_INT, "20", 1, 1000,
	 "Parallel delivery requests qmgr sends to one transport and next hop.",
	 NULL},
	{"default_destination_recipient_limit", PARAM_INT, "50", 1, 80,
	 "Recipients of one message in one delivery request (at most 80: a "
	 "request is one IPC frame).",
	 NULL},
	{"default_privs", PARAM_STRING, "nobody", NOLIMIT,
	 "Account whose rights local uses for alias commands and files (when "
	 "it runs as root).",
	 NULL},
	{"default_process_limit", PARAM_INT, "100", 1, INT_MAX,
	 "Processes per service when master.cf's maxproc column is '-'.", NULL},
	{"default_transport", PARAM_STRING, "smtp", NOLIMIT,
	 "Transport[:nexthop] for recipients in no local or virtual domain.",
	 NULL},
	{"delay_warning_time", PARAM_TIME, "0h", 0, UNBOUNDED,
	 "Send the sender one delay notice when a message is deferred for "
	 "longer than this; 0: never.",
	 NULL},
	{"destination_concurrency_failed_cohort_limit", PARAM_INT, "1", 1, 1000,
	 "Consecutive failed connections after which qmgr suspends a "
	 "destination for minimal_backoff_time.",
	 NULL},
	{"disable_vrfy_command", PARAM_BOOL, "yes", NOLIMIT,
	 "Whether smtpd answers VRFY with 252 instead of looking the address up.",
	 NULL},
	{"dns_servers", PARAM_LIST, "", NOLIMIT,
	 "Name servers for MX lookups, ADDRESS[:PORT] or [IPV6]:PORT; empty: "
	 "resolv.conf.",
	 NULL},
	{"forward_path", PARAM_LIST, "$$home/.forward", NOLIMIT,
	 "Files local reads as a user's .forward, the first that exists "
	 "wins; $home and $user are the recipient's (write $$ in main.cf).",
	 NULL},
	{"header_size_limit", PARAM_SIZE, "102400", 1024, UNBOUNDED,
	 "Largest message header section smtpd accepts (552 5.3.4 beyond).",
	 NULL},
	{"home_mailbox", PARAM_STRING, "Maildir/", NOLIMIT,
	 "Mailbox under a local user's home; only Maildir (trailing slash).",
	 NULL},
	{"imapd_disable_plaintext_auth", PARAM_BOOL, "yes", NOLIMIT,
	 "imap-login refuses LOGIN and AUTHENTICATE before TLS and says "
	 "LOGINDISABLED (Dovecot's disable_plaintext_auth).",
	 NULL},
	{"imapd_idle_timeout", PARAM_TIME, "30m", 1, UNBOUNDED,
	 "imapd ends an authenticated session after this long without a "
	 "command, IDLE included (RFC 9051: at least 30 minutes).",
	 NULL},
	{"imapd_login_failure_limit", PARAM_INT, "3", 1, 1000,
	 "Failed logins imap-login allows on one connection before it says "
	 "BYE.",
	 NULL},
	{"imapd_login_timeout", PARAM_TIME, "180s", 1, 3600,
	 "imap-login closes a connection idle this long before login "
	 "(Dovecot: 3 minutes).",
	 NULL},
	{"imapd_max_literal_size", PARAM_SIZE, "10485760", 1024, UNBOUNDED,
	 "Largest literal imapd accepts in one command, which bounds APPEND; "
	 "keep it a bit over message_size_limit.",
	 NULL},
	{"imapd_process_session_limit", PARAM_INT, "100", 1, 100000,
	 "Sessions one imap-login process serves at once, relayed TLS "
	 "sessions included; master starts more processes as needed.",
	 NULL},
	{"imapd_tls_cert_file", PARAM_STRING, "$smtpd_tls_cert_file", NOLIMIT,
	 "PEM file with the IMAP server's certificate chain.", NULL},
	{"imapd_tls_key_file", PARAM_STRING, "$smtpd_tls_key_file", NOLIMIT,
	 "PEM file with the IMAP server's private key.", NULL},
	{"imapd_tls_security_level", PARAM_STRING, "may", NOLIMIT,
	 "IMAP TLS: none; may (STARTTLS when a certificate is set); encrypt "
	 "(no login before STARTTLS, a certificate is required).",
	 NULL},
	{"imapd_tls_wrappermode", PARAM_BOOL, "no", NOLIMIT,
	 "Whether imap-login speaks TLS from the first byte (port 993).", NULL},
	{"import_environment", PARAM_LIST, "TZ", NOLIMIT,
	 "Environment variables that master passes on to its children.", NULL},
	{"inet_interfaces", PARAM_LIST, "all", NOLIMIT,
	 "Addresses the inet services listen on: all, loopback-only, or IP "
	 "addresses.",
	 NULL},
	{"inet_protocols", PARAM_LIST, "all", NOLIMIT,
	 "IP versions to use: all, or ipv4 and/or ipv6.", NULL},
	{"local_destination_concurrency_limit", PARAM_INT, "2", 1, 1000,
	 "Parallel requests qmgr sends to local for local users "
	 "(virtual mailboxes: default_destination_concurrency_limit).",
	 NULL},
	{"local_transport", PARAM_STRING, "local:$myhostname", NOLIMIT,
	 "Transport[:nexthop] for recipients in mydestination.", NULL},
	{"mail_name", PARAM_STRING, "Facteur", NOLIMIT,
	 "Name of the mail system in the SMTP greeting and Received headers.",
	 NULL},
	{"mail_owner", PARAM_STRING, "facteur", NOLIMIT,
	 "Unprivileged user that owns the queue and runs most daemons.", NULL},
	{"maillog_file", PARAM_STRING, "", NOLIMIT,
	 "Log to this file (written by master) instead of syslog; empty: "
	 "syslog.",
	 NULL},
	{"master_stop_timeout", PARAM_TIME, "10s", 0, UNBOUNDED,
	 "Grace period between SIGTERM and SIGKILL when master stops a "
	 "service.",
	 NULL},
	{"max_idle", PARAM_TIME, "100s", 1, UNBOUNDED,
	 "A daemon process exits after this long without a client.", NULL},
	{"max_use", PARAM_INT, "100", 1, INT_MAX,
	 "A daemon process exits after serving this many clients.", NULL},
	{"maximal_backoff_time", PARAM_TIME, "4000s", 1, UNBOUNDED,
	 "Longest wait between two attempts to deliver a deferred message.",
	 NULL},
	{"maximal_queue_lifetime", PARAM_TIME, "5d", 0, UNBOUNDED,
	 "Deferred recipients older than this are returned as undeliverable.",
	 NULL},
	{"message_size_limit", PARAM_SIZE, "10240000", 0, UNBOUNDED,
	 "Largest message accepted, in bytes (suffix k, m, g: powers of "
	 "1024; 0: no limit).",
	 NULL},
	{"minimal_backoff_time", PARAM_TIME, "300s", 1, UNBOUNDED,
	 "Shortest wait between two attempts to deliver a deferred message.",
	 NULL},
	{"mydestination", PARAM_LIST,
	 "$myhostname, localhost.$mydomain, "
	 "localhost",
	 NOLIMIT, "Domains delivered locally (by the local delivery agent).",
	 NULL},
	{"mydomain", PARAM_STRING, NULL, NOLIMIT,
	 "The internet domain of this host; default: myhostname minus its "
	 "first label.",
	 param_default_mydomain},
	{"myhostname", PARAM_STRING, NULL, NOLIMIT,
	 "The fully qualified name of this host; default: from the system.",
	 param_default_myhostname},
	{"mynetworks", PARAM_LIST, "127.0.0.0/8 [::1]/128", NOLIMIT,
	 "Trusted client networks that may relay through this host.", NULL},
	{"myorigin", PARAM_STRING, "$myhostname", NOLIMIT,
	 "Domain appended to locally posted mail without one.", NULL},
	{"pop3d_disable_plaintext_auth", PARAM_BOOL, "yes", NOLIMIT,
	 "Whether pop3-login refuses USER/PASS and AUTH before TLS.", NULL},
	{"pop3d_login_timeout", PARAM_TIME, "60s", 1, 3600,
	 "How long pop3-login waits for a command before it disconnects.",
	 NULL},
	{"pop3d_process_session_limit", PARAM_INT, "100", 1, 100000,
	 "POP3 clients one pop3-login process serves at once.", NULL},
	{"pop3d_timeout", PARAM_TIME, "600s", 1, 86400,
	 "How long pop3d waits for a command after login (RFC 1939: at least "
	 "10 minutes).",
	 NULL},
	{"pop3d_tls_cert_file", PARAM_STRING, "$smtpd_tls_cert_file", NOLIMIT,
	 "PEM file with pop3-login's certificate chain; empty: no TLS.", NULL},
	{"pop3d_tls_key_file", PARAM_STRING, "$smtpd_tls_key_file", NOLIMIT,
	 "PEM file with pop3-login's private key.", NULL},
	{"pop3d_tls_wrappermode", PARAM_BOOL, "no", NOLIMIT,
	 "Whether pop3-login speaks TLS from the first byte (port 995).", NULL},
	{"qmgr_message_active_limit", PARAM_INT, "20000", 1, INT_MAX,
	 "Messages qmgr keeps in active/ at once.", NULL},
	{"queue_directory", PARAM_STRING, FACTEUR_QUEUE_DIR, NOLIMIT,
	 "Root of the mail queue and of the daemons' IPC sockets.", NULL},
	{"queue_run_delay", PARAM_TIME, "300s", 1, UNBOUNDED,
	 "How often qmgr scans deferred/ for messages due for another try.",
	 NULL},
	{"recipient_delimiter", PARAM_STRING, "", NOLIMIT,
	 "Separator of address extensions (user+ext); empty: none.", NULL},
	{"relayhost", PARAM_STRING, "", NOLIMIT,
	 "Next hop for default_transport instead of the recipient domain: host, "
	 "[host] (no MX lookup), with an optional :port.",
	 NULL},
	{"service_throttle_time", PARAM_TIME, "60s", 1, UNBOUNDED,
	 "Longest wait before master restarts a service that keeps failing.",
	 NULL},
	{"setgid_group", PARAM_STRING, "facteur-drop", NOLIMIT,
	 "Group that owns maildrop/ and that sendmail is set-gid to.", NULL},
	{"smtp_connect_timeout", PARAM_TIME, "30s", 1, 3600,
	 "How long the smtp client waits for a TCP connection to "
	 "complete (per address).",
	 NULL},
	{"smtp_connection_cache_time_limit", PARAM_TIME, "2s", 0, 300,
	 "How long the smtp and lmtp clients keep an idle session open "
	 "for the next request to the same nexthop; 0: no connection "
	 "reuse.",
	 NULL},
	{"smtp_connection_reuse_count_limit", PARAM_INT, "0", 0, 1000000,
	 "Mail transactions over one cached smtp or lmtp session before "
	 "it is closed; 0: no limit (smtp_connection_cache_time_limit "
	 "still applies).",
	 NULL},
	{"smtp_data_done_timeout", PARAM_TIME, "600s", 1, 86400,
	 "How long the smtp client waits for the reply to the end of the "
	 "message (the final dot).",
	 NULL},
	{"smtp_data_init_timeout", PARAM_TIME, "120s", 1, 86400,
	 "How long the smtp client waits for the reply to DATA.", NULL},
	{"smtp_data_xfer_timeout", PARAM_TIME, "180s", 1, 86400,
	 "How long the smtp client may take to send one chunk of message "
	 "content.",
	 NULL},
	{"smtp_helo_name", PARAM_STRING, "$myhostname", NOLIMIT,
	 "Host name the smtp client sends in EHLO, HELO and LHLO.", NULL},
	{"smtp_helo_timeout", PARAM_TIME, "300s", 1, 86400,
	 "How long the smtp client waits for the server's greeting and "
	 "for the reply to EHLO, HELO, LHLO and AUTH.",
	 NULL},
	{"smtp_mail_timeout", PARAM_TIME, "300s", 1, 86400,
	 "How long the smtp client waits for the reply to MAIL FROM.", NULL},
	{"smtp_mx_address_limit", PARAM_INT, "5", 0, 1000,
	 "Server addresses the smtp client tries per delivery, across "
	 "all MX hosts; 0: no limit.",
	 NULL},
	{"smtp_mx_session_limit", PARAM_INT, "2", 0, 1000,
	 "Servers the smtp client talks to (connections made) per delivery, "
	 "across all MX hosts; 0: no limit.",
	 NULL},
	{"smtp_quit_timeout", PARAM_TIME, "300s", 1, 86400,
	 "How long the smtp client waits for the reply to QUIT.", NULL},
	{"smtp_rcpt_timeout", PARAM_TIME, "300s", 1, 86400,
	 "How long the smtp client waits for the reply to each RCPT TO.", NULL},
	{"smtp_rset_timeout", PARAM_TIME, "20s", 1, 86400,
	 "How long the smtp client waits for the reply to RSET, which "
	 "checks a session before it is cached for reuse.",
	 NULL},
	{"smtp_sasl_auth_enable", PARAM_BOOL, "no", NOLIMIT,
	 "Whether the smtp client authenticates (AUTH PLAIN or LOGIN) to "
	 "servers that have an entry in smtp_sasl_password_maps.",
	 NULL},
	{"smtp_sasl_auth_plaintext", PARAM_BOOL, "no", NOLIMIT,
	 "Facteur: whether the smtp client may send AUTH over a "
	 "connection without TLS; no: only after STARTTLS.",
	 NULL},
	{"smtp_sasl_password_maps", PARAM_LIST, "", NOLIMIT,
	 "Tables of user:password for the smtp client, keyed by "
	 "[host]:port, [host], host or the nexthop.",
	 NULL},
	{"smtp_starttls_timeout", PARAM_TIME, "300s", 1, 86400,
	 "How long the smtp client waits for the reply to STARTTLS and "
	 "for the TLS handshake.",
	 NULL},
	{"smtp_tls_CAfile", PARAM_STRING, "", NOLIMIT,
	 "PEM file of the certificate authorities the smtp client trusts "
	 "instead of the system store.",
	 NULL},
	{"smtp_tls_security_level", PARAM_STRING, "may", NOLIMIT,
	 "TLS policy of the smtp client: none, may (STARTTLS when "
	 "offered), encrypt (TLS required), verify (TLS with a verified "
	 "certificate whose name matches the server). Postfix's built-in "
	 "default is none; its stock main.cf sets may.",
	 NULL},
	{"smtpd_add_missing_headers", PARAM_BOOL, "no", NOLIMIT,
	 "Whether smtpd adds Message-ID and Date when missing (submission).",
	 NULL},
	{"smtpd_banner", PARAM_STRING, "$myhostname ESMTP $mail_name", NOLIMIT,
	 "Text of the SMTP greeting after the 220 code.", NULL},
	{"smtpd_client_connection_count_limit", PARAM_INT, "50", 0, 100000,
	 "Simultaneous connections one client may have with one smtpd service "
	 "(counted by anvil across processes); more get 421 4.7.0. 0: no "
	 "limit.",
	 NULL},
	{"smtpd_client_connection_rate_limit", PARAM_INT, "0", 0, 1000000,
	 "Connections one client may make to one smtpd service per "
	 "anvil_rate_time_unit (counted by anvil); more get 421 4.7.0. 0: no "
	 "limit.",
	 NULL},
	{"smtpd_client_event_limit_exceptions", PARAM_LIST, "$mynetworks",
	 NOLIMIT,
	 "Client networks (address or address/prefix) exempt from the "
	 "smtpd_client_connection_* and smtpd_client_message_rate_limit "
	 "limits.",
	 NULL},
	{"smtpd_client_message_rate_limit", PARAM_INT, "0", 0, 1000000,
	 "MAIL commands one client may send to one smtpd service per "
	 "anvil_rate_time_unit (counted by anvil); more get 450 4.7.1. 0: no "
	 "limit.",
	 NULL},
	{"smtpd_command_line_limit", PARAM_INT, "1024", 512, 65536,
	 "Longest SMTP command line smtpd accepts, CRLF excluded (500 beyond).",
	 NULL},
	{"smtpd_error_sleep_time", PARAM_TIME, "1s", 0, 60,
	 "Pause before each reply once a client has made soft_error_limit errors.",
	 NULL},
	{"smtpd_forbid_bare_newline", PARAM_STRING, "normalize", NOLIMIT,
	 "Bare LF in SMTP input: normalize (accept as CRLF, never as end of "
	 "DATA), yes (reject), no (treat as CRLF).",
	 NULL},
	{"smtpd_hard_error_limit", PARAM_INT, "20", 1, 10000,
	 "Errors after which smtpd says 421 and disconnects.", NULL},
	{"smtpd_helo_required", PARAM_BOOL, "no", NOLIMIT,
	 "Whether smtpd requires HELO or EHLO before MAIL.", NULL},
	{"smtpd_process_session_limit", PARAM_INT, "100", 1, 100000,
	 "SMTP sessions one smtpd process serves at once.", NULL},
	{"smtpd_recipient_limit", PARAM_INT, "1000", 1, 1000000,
	 "Recipients smtpd accepts per message (452 4.5.3 beyond).", NULL},
	{"smtpd_recipient_restrictions", PARAM_LIST, "", NOLIMIT,
	 "Restrictions smtpd applies to RCPT after smtpd_relay_restrictions.",
	 NULL},
	{"smtpd_relay_restrictions", PARAM_LIST,
	 "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
	 NOLIMIT, "Relay control restrictions smtpd applies to RCPT.", NULL},
	{"smtpd_sasl_auth_enable", PARAM_BOOL, "no", NOLIMIT,
	 "Whether smtpd offers SMTP AUTH (through the auth service).", NULL},
	{"smtpd_soft_error_limit", PARAM_INT, "10", 0, 10000,
	 "Errors after which smtpd pauses smtpd_error_sleep_time per reply.",
	 NULL},
	{"smtpd_timeout", PARAM_TIME, "300s", 1, 3600,
	 "How long smtpd waits for client input (421 4.4.2 after).", NULL},
	{"smtpd_tls_auth_only", PARAM_BOOL, "yes", NOLIMIT,
	 "Whether smtpd offers AUTH only over TLS.", NULL},
	{"smtpd_tls_cert_file", PARAM_STRING, "", NOLIMIT,
	 "PEM file with the SMTP server's certificate chain; empty: no TLS.",
	 NULL},
	{"smtpd_tls_key_file", PARAM_STRING, "", NOLIMIT,
	 "PEM file with the SMTP server's private key.", NULL},
	{"smtpd_tls_received_header", PARAM_BOOL, "yes", NOLIMIT,
	 "Whether the Received header names the TLS protocol and cipher.",
	 NULL},
	{"smtpd_tls_security_level", PARAM_STRING, "none", NOLIMIT,
	 "smtpd TLS: none, may (offer STARTTLS) or encrypt (require it).",
	 NULL},
	{"smtpd_tls_wrappermode", PARAM_BOOL, "no", NOLIMIT,
	 "Whether smtpd speaks TLS from the first byte (port 465).", NULL},
	{"syslog_facility", PARAM_STRING, "mail", NOLIMIT,
	 "Syslog facility of the log messages.", NULL},
	{"syslog_name", PARAM_STRING, "facteur", NOLIMIT,
	 "Prefix of the program name in log lines (facteur/smtpd).", NULL},
	{"transport_maps", PARAM_LIST, "", NOLIMIT,
	 "Tables of transport:nexthop by address, domain, .parent domain or *; "
	 "they override the defaults.",
	 NULL},
	{"virtual_alias_maps", PARAM_LIST, "", NOLIMIT,
	 "Tables that rewrite recipient addresses before delivery (qmgr).",
	 NULL},
	{"virtual_gid_maps", PARAM_STRING, "", NOLIMIT,
	 "Group of virtual mailboxes: a table, or static:NUMBER or static:NAME.",
	 NULL},
	{"virtual_mailbox_base", PARAM_STRING, "", NOLIMIT,
	 "Directory that virtual_mailbox_maps paths are relative to.", NULL},
	{"virtual_mailbox_domains", PARAM_LIST, "", NOLIMIT,
	 "Domains whose users have mailboxes here without a system account.",
	 NULL},
	{"virtual_mailbox_maps", PARAM_LIST, "", NOLIMIT,
	 "Tables: virtual address to Maildir path (ending in /) under "
	 "virtual_mailbox_base.",
	 NULL},
	{"virtual_transport", PARAM_STRING, "local", NOLIMIT,
	 "Transport[:nexthop] for recipients in virtual_mailbox_domains.",
	 NULL},
	{"virtual_uid_maps", PARAM_STRING, "", NOLIMIT,
	 "Owner of virtual mailboxes: a table, or static:NUMBER or static:NAME.",
	 NULL},
};

const size_t param_table_count = sizeof(param_table) / sizeof(param_table[0]);

/* host_names - find this host's name once: [0] FQDN, [1] its domain */
static const char *host_names(int which)
{
	static char fqdn[NI_MAXHOST + sizeof(".localdomain")];
	static char domain[sizeof(fqdn)];
	static int done;
	char name[NI_MAXHOST];
	struct addrinfo hints, *res = NULL;
	const char *best, *dot;
	int n;

	if (!done) {
		done = 1;
		if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		best = name;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
		    res->ai_canonname != NULL &&
		    strchr(res->ai_canonname, '.') != NULL)
			best = res->ai_canonname;
		/* A bare host name is not usable as a mail domain. */
		n = snprintf(fqdn, sizeof(fqdn), "%s%s", best,
			     strchr(best, '.') ? "" : ".localdomain");
		if (n < 0 || (size_t)n >= sizeof(fqdn))
			snprintf(fqdn, sizeof(fqdn), "localhost.localdomain");
		if (res != NULL)
			freeaddrinfo(res);
		dot = strchr(fqdn, '.');
		snprintf(domain, sizeof(domain), "%s",
			 dot != NULL && dot[1] ? dot + 1 : "localdomain");
	}
	return which == 0 ? fqdn : domain;
}

/* param_default_myhostname - the host's fully qualified name */
static const char *param_default_myhostname(void)
{
	return host_names(0);
}

/* param_default_mydomain - the host's name minus its first label */
static const char *param_default_mydomain(void)
{
	return host_names(1);
}

/* param_lookup - binary search of the sorted table */
const struct param_def *param_lookup(const char *name)
{
	size_t lo = 0, hi = param_table_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, param_table[mid].name);

		if (cmp == 0)
			return &param_table[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* param_default - the default's main.cf text, computed when need be */
const char *param_default(const struct param_def *def)
{
	if (def->def != NULL)
		return def->def;
	if (def->default_fn != NULL)
		return def->default_fn();
	return "";
}

/* param_type_name - the type's name for docs and messages */
const char *param_type_name(enum param_type type)
{
	switch (type) {
	case PARAM_STRING:
		return "string";
	case PARAM_INT:
		return "int";
	case PARAM_BOOL:
		return "bool";
	case PARAM_TIME:
		return "time";
	case PARAM_SIZE:
		return "size";
	case PARAM_LIST:
		return "list";
	}
	return "unknown";
}
