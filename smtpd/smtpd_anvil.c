/*
 * smtpd_anvil - per-client connection limits through the anvil service
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	int smtpd_anvil_init(struct smtpd *sd, const char **error_r);
 *	void smtpd_anvil_deinit(struct smtpd *sd);
 *	bool smtpd_anvil_check(struct smtpd_session *s);
 *
 * DESCRIPTION
 *	With smtpd_client_connection_count_limit or
 *	smtpd_client_connection_rate_limit set (non-zero), each new session
 *	of a client outside smtpd_client_event_limit_exceptions is
 *	registered with anvil (lib/global/anvil_client.h) under the
 *	master.cf service name and the client address, before the
 *	greeting.  anvil answers how many connections the client has open
 *	with this service (across all smtpd processes) and how many it made
 *	in the current anvil_rate_time_unit; past a limit the client gets
 *	Postfix's reply
 *
 *	  421 4.7.0 HOST Error: too many connections from ADDR
 *
 *	and the connection is closed; the warning names the limit
 *	("Connection concurrency limit exceeded: 51 from unknown[ADDR] for
 *	service smtp", or "Connection rate limit exceeded").  The session
 *	keeps its registration until it ends (session_free closes it).
 *
 *	No command is read before the answer: a client that talks first
 *	waits, its bytes stay in the socket.
 *
 *	With smtpd_client_message_rate_limit set, each MAIL command of a
 *	registered session is counted on the same stream ("message"); the
 *	session stops reading meanwhile (as for AUTH), and the command is
 *	then carried out, or refused as Postfix does:
 *
 *	  450 4.7.1 Error: too much mail from ADDR
 *
 *	with the warning "Message delivery request rate limit exceeded: N
 *	from unknown[ADDR] for service S".
 *
 * DIAGNOSTICS
 *	anvil unreachable or broken: a warning, and the client is let in,
 *	as Postfix does (a missing anvil must not stop mail).  A bad
 *	exception network is fatal at start-up.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "anvil_client.h"
#include "cidr.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "smtpd.h"

/* smtpd_anvil_init - parse smtpd_client_event_limit_exceptions */
int smtpd_anvil_init(struct smtpd *sd, const char **error_r)
{
	size_t n;
	const char *const *nets =
		config_list(sd->cfg, "smtpd_client_event_limit_exceptions", &n);
	static char buf[200];

	sd->limit_exceptions = xcalloc(n ? n : 1, sizeof(struct cidr));
	for (size_t i = 0; i < n; i++) {
		const char *err;

		if (cidr_parse(nets[i], &sd->limit_exceptions[i], &err) < 0) {
			snprintf(buf, sizeof(buf),
				 "smtpd_client_event_limit_exceptions: "
				 "%.80s: %s",
				 nets[i], err);
			*error_r = buf;
			return -1;
		}
	}
	sd->limit_exceptions_count = n;
	return 0;
}

/* smtpd_anvil_deinit - free the exception list */
void smtpd_anvil_deinit(struct smtpd *sd)
{
	free(sd->limit_exceptions);
	sd->limit_exceptions = NULL;
	sd->limit_exceptions_count = 0;
}

/* anvil_answer - compare with the limits, then greet or refuse */
static void anvil_answer(bool ok, long count, long rate, const char *reason,
			 void *ctx)
{
	struct smtpd_session *s = ctx;
	const struct smtpd_settings *set = &s->sd->set;
	const char *service = server_service(s->sd->srv);
	char refusal[256];

	if (!ok) {
		log_warn("connection limits of %s not checked: %s",
			 smtpd_session_client(s), reason);
		/* The stream is closed: nothing is registered. */
		anvil_client_free(&s->anvil);
		smtpd_session_greet(s, NULL);
		return;
	}
	snprintf(refusal, sizeof(refusal),
		 "421 4.7.0 %s Error: too many connections from %s",
		 set->hostname, s->addr);
	if (set->conn_count_limit > 0 && count > (long)set->conn_count_limit) {
		log_warn("Connection concurrency limit exceeded: %ld from %s "
			 "for service %s",
			 count, smtpd_session_client(s), service);
		smtpd_session_greet(s, refusal);
	} else if (set->conn_rate_limit > 0 &&
		   rate > (long)set->conn_rate_limit) {
		log_warn("Connection rate limit exceeded: %ld from %s for "
			 "service %s",
			 rate, smtpd_session_client(s), service);
		smtpd_session_greet(s, refusal);
	} else {
		smtpd_session_greet(s, NULL);
	}
}

/* smtpd_anvil_check - ask anvil when a limit applies to this client */
bool smtpd_anvil_check(struct smtpd_session *s)
{
	struct smtpd *sd = s->sd;

	if (sd->set.conn_count_limit == 0 && sd->set.conn_rate_limit == 0 &&
	    sd->set.message_rate_limit == 0)
		return false;
	if (cidr_match_text(sd->limit_exceptions, sd->limit_exceptions_count,
			    s->addr))
		return false;
	s->anvil = anvil_client_connect(
		server_event_base(sd->srv), sd->set.queue_dir,
		server_service(sd->srv), s->addr, anvil_answer, s);
	return true;
}

/* mail_answer - anvil counted the MAIL: go on with it or refuse it */
static void mail_answer(bool ok, long count, long rate, const char *reason,
			void *ctx)
{
	struct smtpd_session *s = ctx;
	char *line = s->mail_line;
	size_t len = s->mail_len;

	(void)count;
	s->mail_line = NULL;
	if (!ok) {
		log_warn("message rate of %s not checked: %s",
			 smtpd_session_client(s), reason);
		anvil_client_free(&s->anvil); /* the stream is gone */
	}
	if (ok && rate > (long)s->sd->set.message_rate_limit) {
		log_warn("Message delivery request rate limit exceeded: %ld "
			 "from %s for service %s",
			 rate, smtpd_session_client(s),
			 server_service(s->sd->srv));
		smtpd_chat_reply(s, "450 4.7.1 Error: too much mail from %s",
				 s->addr);
	} else {
		/* Once more, past this check; it is counted once. */
		s->mail_rate_done = true;
		s->counts[SMTPD_COUNT_MAIL].total--;
		smtpd_cmd_dispatch(s, line, len);
		s->mail_rate_done = false;
	}
	free(line);
	smtpd_session_resume(s);
}

/* smtpd_anvil_mail - count a MAIL command; true when it must wait */
bool smtpd_anvil_mail(struct smtpd_session *s)
{
	if (s->mail_rate_done || s->sd->set.message_rate_limit == 0 ||
	    s->anvil == NULL)
		return false;
	if (anvil_client_message(s->anvil, mail_answer, s) < 0)
		return false;
	s->mail_line = xmalloc(s->cur_len + 1);
	memcpy(s->mail_line, s->cur_line, s->cur_len);
	s->mail_line[s->cur_len] = '\0';
	s->mail_len = s->cur_len;
	smtpd_session_suspend(s);
	return true;
}
