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
	{"command_directory", PARAM_STRING, FACTEUR_COMMAND_DIR, NOLIMIT,
	 "Directory with the administrative commands (facteur, sendmail).",
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
	{"default_process_limit", PARAM_INT, "100", 1, INT_MAX,
	 "Processes per service when master.cf's maxproc column is '-'.", NULL},
	{"import_environment", PARAM_LIST, "TZ", NOLIMIT,
	 "Environment variables that master passes on to its children.", NULL},
	{"inet_interfaces", PARAM_LIST, "all", NOLIMIT,
	 "Addresses the inet services listen on: all, loopback-only, or IP "
	 "addresses.",
	 NULL},
	{"inet_protocols", PARAM_LIST, "all", NOLIMIT,
	 "IP versions to use: all, or ipv4 and/or ipv6.", NULL},
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
	{"message_size_limit", PARAM_SIZE, "10240000", 0, UNBOUNDED,
	 "Largest message accepted, in bytes (suffix k, m, g: powers of "
	 "1024; 0: no limit).",
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
	{"queue_directory", PARAM_STRING, FACTEUR_QUEUE_DIR, NOLIMIT,
	 "Root of the mail queue and of the daemons' IPC sockets.", NULL},
	{"service_throttle_time", PARAM_TIME, "60s", 1, UNBOUNDED,
	 "Longest wait before master restarts a service that keeps failing.",
	 NULL},
	{"smtpd_tls_cert_file", PARAM_STRING, "", NOLIMIT,
	 "PEM file with the SMTP server's certificate chain; empty: no TLS.",
	 NULL},
	{"smtpd_tls_key_file", PARAM_STRING, "", NOLIMIT,
	 "PEM file with the SMTP server's private key.", NULL},
	{"syslog_facility", PARAM_STRING, "mail", NOLIMIT,
	 "Syslog facility of the log messages.", NULL},
	{"syslog_name", PARAM_STRING, "facteur", NOLIMIT,
	 "Prefix of the program name in log lines (facteur/smtpd).", NULL},
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
