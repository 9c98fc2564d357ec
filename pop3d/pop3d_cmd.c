/*
 * pop3d_cmd - the TRANSACTION and UPDATE states of RFC 1939
 *
 * SYNOPSIS
 *	#include "pop3d.h"
 *
 *	void pop3d_cmd_dispatch(struct pop3d_session *s, const char *line,
 *				size_t len);
 *	int pop3d_cmd_update(struct pop3d_session *s);
 *
 * DESCRIPTION
 *	One command line at a time, parsed by lib/proto/pop3_cmd:
 *
 *	STAT, LIST [n]	count and CRLF sizes of the messages not deleted
 *			in this session (RFC 1939 §5)
 *	RETR n, TOP n l	the message, or its header and l body lines,
 *			streamed by pop3d_session_send()
 *	DELE n, RSET	mark, unmark; nothing changes in the store before
 *			QUIT
 *	UIDL [n]	the unique-id: Dovecot's default pop3_uidl_format
 *			%08Xu%08Xv, i.e. the store's UID then its
 *			UIDVALIDITY, 8 upper-case hex digits each.  Stable
 *			across sessions and restarts as long as the
 *			folder's UIDVALIDITY is, and the same id that
 *			Dovecot gives a mailbox that we took over with its
 *			dovecot-uidlist (RFC 1939 §7)
 *	NOOP, CAPA	RFC 1939 §5, RFC 2449 §5
 *	QUIT		the UPDATE state: messages marked with DELE get
 *			\Deleted and are expunged (by UID: a message that
 *			an IMAP client marked \Deleted stays), messages
 *			sent with RETR get \Seen (as Dovecot does); then
 *			"+OK Logging out."
 *
 *	Message numbers are those of the session's fixed list; a number
 *	past its end is "-ERR There's no message N.", a message deleted in
 *	this session "-ERR Message is deleted.".
 *
 * DIAGNOSTICS
 *	Bad commands are answered "-ERR text" and counted; at
 *	POP3D_BAD_COMMANDS_MAX the session is closed.  A failing store
 *	call is logged and answered "-ERR [SYS/TEMP]".
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "mailbox.h"
#include "pop3_cmd.h"
#include "pop3d.h"

/* bad - answer a client error and count it */
static void bad(struct pop3d_session *s, const char *text)
{
	pop3d_session_reply(s, "-ERR %s", text);
	if (++s->bad_commands >= POP3D_BAD_COMMANDS_MAX) {
		pop3d_session_reply(s, "-ERR Too many bad commands.");
		pop3d_session_close(s, "Too many bad commands");
	}
}

/* get_msg - message cmd->msg as an index; -1 after an error reply */
static ssize_t get_msg(struct pop3d_session *s, const struct pop3_cmd *cmd)
{
	size_t idx;

	if (cmd->msg > s->count) {
		pop3d_session_reply(s, "-ERR There's no message %u.", cmd->msg);
		return -1;
	}
	idx = cmd->msg - 1;
	if (s->msgs[idx].deleted) {
		pop3d_session_reply(s, "-ERR Message is deleted.");
		return -1;
	}
	return (ssize_t)idx;
}

/* size_of - message idx's CRLF size; -1 after an error reply */
static int size_of(struct pop3d_session *s, size_t idx, uint64_t *size_r)
{
	if (pop3d_session_msg_size(s, idx, size_r) == 0)
		return 0;
	pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't read message %zu.",
			    idx + 1);
	return -1;
}

/* cmd_capa - RFC 2449 §5, the TRANSACTION state's list */
static void cmd_capa(struct pop3d_session *s)
{
	pop3d_session_reply(s, "+OK Capability list follows\r\n"
			       "CAPA\r\n"
			       "TOP\r\n"
			       "UIDL\r\n"
			       "RESP-CODES\r\n"
			       "PIPELINING\r\n"
			       "AUTH-RESP-CODE\r\n"
			       ".");
}

/* cmd_stat - "+OK count size" */
static void cmd_stat(struct pop3d_session *s)
{
	unsigned long long total = 0;
	size_t n = 0;

	for (size_t i = 0; i < s->count; i++) {
		uint64_t size;

		if (s->msgs[i].deleted)
			continue;
		if (size_of(s, i, &size) < 0)
			return;
		total += size;
		n++;
	}
	pop3d_session_reply(s, "+OK %zu %llu", n, total);
}

/* cmd_list - one scan listing, or all of them */
static void cmd_list(struct pop3d_session *s, const struct pop3_cmd *cmd)
{
	struct strbuf lines;
	unsigned long long total = 0;
	uint64_t size;
	size_t n = 0;
	ssize_t idx;

	if (cmd->has_msg) {
		if ((idx = get_msg(s, cmd)) < 0 ||
		    size_of(s, (size_t)idx, &size) < 0)
			return;
		pop3d_session_reply(s, "+OK %u %llu", cmd->msg,
				    (unsigned long long)size);
		return;
	}
	/* Sizes first: an error must come before the "+OK". */
	strbuf_init(&lines, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < s->count; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (size_of(s, i, &size) < 0) {
			strbuf_release(&lines);
			return;
		}
		strbuf_appendf(&lines, "%zu %llu\r\n", i + 1,
			       (unsigned long long)size);
		total += size;
		n++;
	}
	pop3d_session_reply(s, "+OK %zu messages (%llu octets)\r\n%s.", n,
			    total, lines.data ? lines.data : "");
	strbuf_release(&lines);
}

/* cmd_uidl - Dovecot's %08Xu%08Xv */
static void cmd_uidl(struct pop3d_session *s, const struct pop3_cmd *cmd)
{
	struct strbuf lines;
	ssize_t idx;

	if (cmd->has_msg) {
		if ((idx = get_msg(s, cmd)) < 0)
			return;
		pop3d_session_reply(s, "+OK %u %08X%08X", cmd->msg,
				    s->msgs[idx].uid, s->uidvalidity);
		return;
	}
	strbuf_init(&lines, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < s->count; i++)
		if (!s->msgs[i].deleted)
			strbuf_appendf(&lines, "%zu %08X%08X\r\n", i + 1,
				       s->msgs[i].uid, s->uidvalidity);
	pop3d_session_reply(s, "+OK\r\n%s.", lines.data ? lines.data : "");
	strbuf_release(&lines);
}

/* cmd_retr - RETR n, and TOP n l */
static void cmd_retr(struct pop3d_session *s, const struct pop3_cmd *cmd,
		     bool top)
{
	uint64_t size = 0;
	ssize_t idx;
	int fd;

	if ((idx = get_msg(s, cmd)) < 0)
		return;
	if (!top && size_of(s, (size_t)idx, &size) < 0)
		return;
	fd = pop3d_session_msg_open(s, (size_t)idx);
	if (fd < 0) {
		log_warn("pop3(%s): open message UID %u: %m", s->user,
			 s->msgs[idx].uid);
		pop3d_session_reply(s,
				    "-ERR [SYS/TEMP] Couldn't open "
				    "message %u.",
				    cmd->msg);
		return;
	}
	if (top) {
		s->stats.top_count++;
		pop3d_session_reply(s, "+OK");
	} else {
		s->stats.retr_count++;
		s->msgs[idx].retrieved = true;
		pop3d_session_reply(s, "+OK %llu octets",
				    (unsigned long long)size);
	}
	pop3d_session_send(s, fd, top, cmd->lines);
}

/* pop3d_cmd_update - RFC 1939 §6: apply the session's changes */
int pop3d_cmd_update(struct pop3d_session *s)
{
	uint32_t *uids = xcalloc(s->count ? s->count : 1, sizeof(*uids));
	const char *err;
	size_t n = 0;

	for (size_t i = 0; i < s->count; i++) {
		ssize_t v;

		if (!s->msgs[i].deleted && !s->msgs[i].retrieved)
			continue;
		v = mailbox_find_uid(s->mb, s->msgs[i].uid);
		if (v < 0)
			continue; /* expunged meanwhile: nothing to do */
		if (s->msgs[i].deleted) {
			if (mailbox_store_flags(s->mb, (size_t)v, '+',
						MAIL_DELETED, NULL, 0, 0,
						&err) < 0)
				goto fail;
			uids[n++] = s->msgs[i].uid;
		} else if (mailbox_store_flags(s->mb, (size_t)v, '+', MAIL_SEEN,
					       NULL, 0, 0, &err) < 0) {
			/* Not worth failing the QUIT for. */
			log_warn("pop3(%s): mark UID %u seen: %s", s->user,
				 s->msgs[i].uid, err);
		}
	}
	if (n > 0 && mailbox_expunge(s->mb, uids, n, &err) < 0)
		goto fail;
	s->stats.del_count = (unsigned)n;
	free(uids);
	return 0;
fail:
	free(uids);
	log_warn("pop3(%s): update INBOX: %s", s->user, err);
	pop3d_session_reply(s, "-ERR [SYS/TEMP] Couldn't update INBOX, "
			       "some messages may not have been deleted.");
	return -1;
}

/* cmd_quit - enter the UPDATE state, then close */
static void cmd_quit(struct pop3d_session *s)
{
	bool any = false;

	for (size_t i = 0; i < s->count; i++)
		any = any || s->msgs[i].deleted;
	if (pop3d_cmd_update(s) == 0)
		pop3d_session_reply(s, any ? "+OK Logging out, messages "
					     "deleted."
					   : "+OK Logging out.");
	pop3d_session_close(s, "Logged out");
}

/* pop3d_cmd_dispatch - one command of the TRANSACTION state */
void pop3d_cmd_dispatch(struct pop3d_session *s, const char *line, size_t len)
{
	struct pop3_cmd cmd;
	ssize_t idx;

	if (pop3_cmd_parse(line, len, POP3_CMD_FLAG_UTF8, &cmd) < 0) {
		bad(s, pop3_cmd_error_text(cmd.error));
		return;
	}
	switch (cmd.verb) {
	case POP3_CMD_CAPA:
		cmd_capa(s);
		break;
	case POP3_CMD_STAT:
		cmd_stat(s);
		break;
	case POP3_CMD_LIST:
		cmd_list(s, &cmd);
		break;
	case POP3_CMD_UIDL:
		cmd_uidl(s, &cmd);
		break;
	case POP3_CMD_RETR:
		cmd_retr(s, &cmd, false);
		break;
	case POP3_CMD_TOP:
		cmd_retr(s, &cmd, true);
		break;
	case POP3_CMD_DELE:
		if ((idx = get_msg(s, &cmd)) < 0)
			break;
		s->msgs[idx].deleted = true;
		pop3d_session_reply(s, "+OK Marked to be deleted.");
		break;
	case POP3_CMD_RSET:
		for (size_t i = 0; i < s->count; i++)
			s->msgs[i].deleted = s->msgs[i].retrieved = false;
		pop3d_session_reply(s, "+OK");
		break;
	case POP3_CMD_NOOP:
		pop3d_session_reply(s, "+OK");
		break;
	case POP3_CMD_QUIT:
		cmd_quit(s);
		break;
	case POP3_CMD_USER:
	case POP3_CMD_PASS:
	case POP3_CMD_AUTH:
	case POP3_CMD_STLS:
	case POP3_CMD_UTF8:
		/* AUTHORIZATION-state commands (RFC 1939 §4, RFC 6856). */
		bad(s, "Already logged in.");
		break;
	case POP3_CMD_UNKNOWN:
		bad(s, pop3_cmd_error_text(POP3_CMD_ERR_UNKNOWN));
		break;
	}
}
