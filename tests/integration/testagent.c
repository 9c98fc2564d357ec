/*
 * testagent - a stand-in delivery agent for qmgr's tests
 *
 * SYNOPSIS
 *	testagent -c DIR -n NAME -t unix rules=PATH log=PATH  (by master)
 *
 * DESCRIPTION
 *	Answers deliver/1 requests (docs/architecture.md) the way the
 *	rule file says, without delivering anything, several on one
 *	connection as smtp does (lib/server/agent_conn.c), and appends
 *	one JSON line per request to the log file ("conn" counts the
 *	connections of the process):
 *
 *	  {"service": "testagent", "pid": 12, "queue_id": "...",
 *	   "sender": "...", "nexthop": "...", "rcpts": ["a@b", ...],
 *	   "start": 1700000000.123, "end": 1700000000.456}
 *
 *	The rule file is read at every request (a test may change it),
 *	one rule a line, the first whose pattern matches a recipient
 *	wins; a pattern is an address, "@domain" or "*":
 *
 *	  PATTERN sent|deferred|bounced DSN CODE TEXT...
 *	  PATTERN sleep MILLISECONDS
 *
 *	A result carries reason "CODE DSN TEXT"; with CODE other than "-"
 *	also diagnostic "smtp; CODE DSN TEXT" and remote_mta "dns;
 *	mx.NEXTHOP".  "-" stands for a failure without a remote reply (no
 *	connection): reason TEXT only.  A recipient no rule matches is
 *	sent.  Sleep rules (all that match a recipient, once each) delay
 *	the answer, so that the tests can see how many requests qmgr has
 *	in flight.  Never installed.
 *
 * DIAGNOSTICS
 *	A malformed request is logged and closed without an answer (qmgr
 *	then defers its recipients).
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent_conn.h"
#include "alloc.h"
#include "attr.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "strbuf.h"

#define TESTAGENT_RCPT_MAX 1000

struct testagent {
	const char *rules;
	const char *log;
	unsigned conns; /* connections served: "conn" in the log */
};

/* now - the time as a double */
static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* json_str - append s as a JSON string */
static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_append_char(sb, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_appendf(sb, "\\%c", c);
		else if (c < 0x20)
			strbuf_appendf(sb, "\\u%04x", c);
		else
			strbuf_append_char(sb, (char)c);
	}
	strbuf_append_char(sb, '"');
}

/* matches - whether pattern selects address */
static bool matches(const char *pattern, const char *address)
{
	const char *at = strrchr(address, '@');

	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '@')
		return at != NULL && strcasecmp(pattern, at) == 0;
	return strcasecmp(pattern, address) == 0;
}

/* rule_for - the first non-sleep rule line for address (a copy) */
static char *rule_for(const char *rules, const char *address, bool sleep_r,
		      long *ms_r)
{
	FILE *fp = fopen(rules, "r");
	char line[2048];

	*ms_r = 0;
	if (fp == NULL)
		return NULL;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char pattern[512];
		const char *rest;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%511s %n", pattern, &n) < 1 || n == 0 ||
		    !matches(pattern, address))
			continue;
		rest = line + n; /* "VERB ..." */
		if ((strncmp(rest, "sleep ", 6) == 0) != sleep_r)
			continue;
		fclose(fp);
		if (sleep_r) {
			*ms_r = strtol(rest + 6, NULL, 10);
			return NULL;
		}
		return xstrdup(rest);
	}
	fclose(fp);
	return NULL;
}

/* answer - the result/1 frame for one recipient */
static void answer(struct strbuf *out, int64_t index, const char *rule,
		   const char *id, const char *rcpt, const char *nexthop)
{
	char status[32] = "sent", dsn[16] = "2.0.0", code[8] = "250";
	const char *text = "Ok";
	struct attr_writer w;
	char *reason, *diag = NULL;
	int n = 0;

	if (rule != NULL &&
	    sscanf(rule, "%31s %15s %7s %n", status, dsn, code, &n) == 3)
		text = rule + n;
	if (strcmp(code, "-") == 0) {
		reason = xstrdup(text);
	} else {
		reason = xasprintf("%s %s %s", code, dsn, text);
		diag = xasprintf("smtp; %s", reason);
	}
	/* The agent logs each outcome, as local and smtp do. */
	log_info("%s: to=<%s>, relay=testagent[%s], delay=0, dsn=%s, "
		 "status=%s (%s)",
		 id, rcpt, nexthop, dsn, status, reason);
	attr_writer_begin(&w, out, "result/1");
	attr_put_int(&w, "index", index);
	attr_put_str(&w, "status", status);
	attr_put_str(&w, "dsn", dsn);
	attr_put_str(&w, "reason", reason);
	attr_put_str(&w, "relay", "testagent");
	if (diag != NULL) {
		char *mta = xasprintf("dns; mx.%s", nexthop);

		attr_put_str(&w, "diagnostic", diag);
		attr_put_str(&w, "remote_mta", mta);
		free(mta);
	}
	attr_writer_end(&w);
	free(reason);
	free(diag);
}

/* testagent_deliver - one deliver/1 request; -1 when malformed */
static int testagent_deliver(struct server *srv, struct attr_list *list,
			     struct strbuf *out)
{
	struct testagent *ta = server_ctx(srv);
	const char *id, *qfile, *sender, *nexthop, *error;
	const char **rcpts = NULL;
	struct strbuf json;
	double start = now();
	int64_t count = 0;
	long total_ms = 0;
	int logfd, ret = -1;

	strbuf_init(&json, STRBUF_NO_LIMIT);
	if (strcmp(list->proto, "deliver/1") != 0 ||
	    attr_get_str(list, "queue_id", &id, &error) < 0 ||
	    attr_get_str(list, "queue_file", &qfile, &error) < 0 ||
	    attr_get_str(list, "sender", &sender, &error) < 0 ||
	    attr_get_str(list, "nexthop", &nexthop, &error) < 0 ||
	    attr_get_int(list, "rcpt_count", &count, &error) < 0 || count < 1 ||
	    count > TESTAGENT_RCPT_MAX) {
		log_warn("bad request");
		goto done;
	}
	rcpts = xcalloc((size_t)count, sizeof(*rcpts));
	for (int64_t i = 0; i < count; i++) {
		char name[ATTR_NAME_MAX + 1];
		const char *orcpt;
		int64_t offset;

		snprintf(name, sizeof(name), "rcpt_%lld", (long long)i);
		if (attr_get_str(list, name, &rcpts[i], &error) < 0)
			goto bad;
		snprintf(name, sizeof(name), "rcpt_%lld_orcpt", (long long)i);
		if (attr_get_str(list, name, &orcpt, &error) < 0)
			goto bad;
		snprintf(name, sizeof(name), "rcpt_%lld_offset", (long long)i);
		if (attr_get_int(list, name, &offset, &error) < 0)
			goto bad;
	}
	if (attr_list_end(list, &error) < 0)
		goto bad;
	for (int64_t i = 0; i < count; i++) {
		long ms;

		rule_for(ta->rules, rcpts[i], true, &ms);
		if (ms > total_ms)
			total_ms = ms;
	}
	if (total_ms > 0)
		usleep((useconds_t)total_ms * 1000);
	for (int64_t i = 0; i < count; i++) {
		long ms;
		char *rule = rule_for(ta->rules, rcpts[i], false, &ms);

		answer(out, i, rule, id, rcpts[i], nexthop);
		free(rule);
	}
	strbuf_appendf(&json, "{\"service\": ");
	json_str(&json, server_service(srv));
	strbuf_appendf(&json, ", \"pid\": %ld, \"conn\": %u, \"queue_id\": ",
		       (long)getpid(), ta->conns);
	json_str(&json, id);
	strbuf_appendf(&json, ", \"sender\": ");
	json_str(&json, sender);
	strbuf_appendf(&json, ", \"nexthop\": ");
	json_str(&json, nexthop);
	strbuf_appendf(&json, ", \"rcpts\": [");
	for (int64_t i = 0; i < count; i++) {
		if (i > 0)
			strbuf_appendf(&json, ", ");
		json_str(&json, rcpts[i]);
	}
	strbuf_appendf(&json, "], \"start\": %.6f, \"end\": %.6f}\n", start,
		       now());
	logfd = open(ta->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0 || write(logfd, json.data, json.len) != (ssize_t)json.len)
		log_warn("write %s: %m", ta->log);
	if (logfd >= 0)
		close(logfd);
	ret = 0;
	goto done;
bad:
	log_warn("bad request: %s", error);
done:
	free(rcpts);
	strbuf_release(&json);
	return ret;
}

/* testagent_request - a connection from qmgr: its requests in turn */
static void testagent_request(struct server *srv, int fd,
			      struct attr_list *list)
{
	struct testagent *ta = server_ctx(srv);

	ta->conns++;
	agent_conn_serve(srv, fd, list, testagent_deliver);
}

/* testagent_init - rules= and log= from master.cf */
static void testagent_init(struct server *srv)
{
	struct testagent *ta = server_ctx(srv);
	int argc;
	char **argv = server_args(srv, &argc);

	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "rules=", 6) == 0)
			ta->rules = argv[i] + 6;
		else if (strncmp(argv[i], "log=", 4) == 0)
			ta->log = argv[i] + 4;
		else
			log_fatal("unknown argument: %s", argv[i]);
	}
	if (ta->rules == NULL || ta->log == NULL)
		log_fatal("usage: testagent rules=PATH log=PATH");
}

/* main - hand over to the skeleton */
int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "testagent",
		.init = testagent_init,
		.request = testagent_request,
	};
	struct testagent ta = {0};

	return server_main(argc, argv, &ops, &ta);
}
