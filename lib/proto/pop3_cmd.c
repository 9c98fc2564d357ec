/*
 * pop3_cmd - POP3 command line parser
 *
 * SYNOPSIS
 *	#include "pop3_cmd.h"
 *
 *	int pop3_cmd_parse(line, len, flags, cmd)
 *	const char *pop3_cmd_verb_name(verb)
 *	const char *pop3_cmd_error_text(err)
 *
 * DESCRIPTION
 *	pop3_cmd_parse() works on one complete line that the session's
 *	bounded line reader has framed, so it needs no resumable state.  It
 *	checks the length (RFC 2449 §4: 255 octets with CRLF), finds the
 *	keyword (case-insensitive), refuses control characters, and parses
 *	the arguments of that keyword:
 *
 *	USER name		RFC 1939 §7 (UTF-8 after UTF8, RFC 6856)
 *	PASS string		RFC 1939 §7: the rest of the line, spaces too
 *	AUTH [mech [initial]]	RFC 5034 §4 (no mechanism: list them, as
 *				Dovecot and the pre-RFC clients do)
 *	STLS			RFC 2595 §4
 *	CAPA			RFC 2449 §5
 *	UTF8			RFC 6856 §2
 *	STAT, NOOP, RSET, QUIT	RFC 1939 §5-6
 *	LIST [msg], UIDL [msg]	RFC 1939 §5, §7
 *	RETR msg, DELE msg	RFC 1939 §5
 *	TOP msg n		RFC 1939 §7
 *
 *	A message number is decimal, 1 to 2^32-1; the TOP line count is
 *	decimal, 0 to 2^64-1.  Leading zeros are accepted, signs are not.
 *
 * DIAGNOSTICS
 *	pop3_cmd_parse() returns -1 and an error kind; nothing is logged
 *	and nothing is fatal.
 *
 * SECURITY
 *	This parses untrusted network input, before authentication too.
 *	It never reads past len and does a constant amount of work per
 *	byte.  PASS and the AUTH initial response stay in the caller's
 *	buffer, which the caller wipes.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "smtp_addr.h"
#include "strnum.h"
#include "pop3_cmd.h"

/* What each keyword takes. */
enum args {
	ARGS_NONE,	/* nothing */
	ARGS_REST,	/* USER, PASS: the rest of the line */
	ARGS_AUTH,	/* [mech [initial]] */
	ARGS_MSG_OPT,	/* [msg] */
	ARGS_MSG,	/* msg */
	ARGS_MSG_LINES, /* msg n */
};

static const struct {
	const char *name;
	enum pop3_cmd_verb verb;
	enum args args;
} verbs[] = {
	{"USER", POP3_CMD_USER, ARGS_REST},
	{"PASS", POP3_CMD_PASS, ARGS_REST},
	{"AUTH", POP3_CMD_AUTH, ARGS_AUTH},
	{"STLS", POP3_CMD_STLS, ARGS_NONE},
	{"CAPA", POP3_CMD_CAPA, ARGS_NONE},
	{"UTF8", POP3_CMD_UTF8, ARGS_NONE},
	{"QUIT", POP3_CMD_QUIT, ARGS_NONE},
	{"STAT", POP3_CMD_STAT, ARGS_NONE},
	{"LIST", POP3_CMD_LIST, ARGS_MSG_OPT},
	{"RETR", POP3_CMD_RETR, ARGS_MSG},
	{"DELE", POP3_CMD_DELE, ARGS_MSG},
	{"NOOP", POP3_CMD_NOOP, ARGS_NONE},
	{"RSET", POP3_CMD_RSET, ARGS_NONE},
	{"TOP", POP3_CMD_TOP, ARGS_MSG_LINES},
	{"UIDL", POP3_CMD_UIDL, ARGS_MSG_OPT},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char *const error_texts[] = {
	[POP3_CMD_OK] = "OK",
	[POP3_CMD_ERR_EMPTY] = "Empty command",
	[POP3_CMD_ERR_TOO_LONG] = "Command line too long",
	[POP3_CMD_ERR_UNKNOWN] = "Unknown command",
	[POP3_CMD_ERR_BAD_CHAR] = "Invalid character in command",
	[POP3_CMD_ERR_8BIT] = "Non-ASCII character without UTF8",
	[POP3_CMD_ERR_BAD_UTF8] = "Invalid UTF-8",
	[POP3_CMD_ERR_NO_ARGS] = "No arguments allowed",
	[POP3_CMD_ERR_MISSING] = "Missing argument",
	[POP3_CMD_ERR_EXTRA] = "Too many arguments",
	[POP3_CMD_ERR_NUMBER] = "Invalid message number",
	[POP3_CMD_ERR_LINES] = "Invalid number of lines",
	[POP3_CMD_ERR_MECH] = "Invalid mechanism name",
	[POP3_CMD_ERR_BASE64] = "Invalid base64 data",
};

#define NERRORS (sizeof(error_texts) / sizeof(error_texts[0]))

/* At most this many space-separated words after the keyword are looked
 * at; one more tells "too many". */
#define WORDS_MAX 3

struct word {
	const char *p;
	size_t len;
};

/* fail - record an error; returns -1 */
static int fail(struct pop3_cmd *cmd, enum pop3_cmd_error err)
{
	cmd->error = err;
	return -1;
}

/* is_control - C0 controls and DEL */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* split - the space-separated words of p[0..len); returns their count,
 * up to WORDS_MAX + 1 (words beyond that are not stored) */
static size_t split(const char *p, size_t len, struct word *w)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start;

		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && p[i] != ' ')
			i++;
		if (n < WORDS_MAX) {
			w[n].p = p + start;
			w[n].len = i - start;
		}
		if (++n > WORDS_MAX)
			break;
	}
	return n;
}

/* parse_u64 - all digits, no sign, no overflow */
static int parse_u64(const struct word *w, uint64_t *num_r)
{
	for (size_t i = 0; i < w->len; i++)
		if (w->p[i] < '0' || w->p[i] > '9')
			return -1;
	return strn_to_u64(w->p, w->len, num_r);
}

/* parse_msg - a message number, 1 .. 2^32-1 */
static int parse_msg(struct pop3_cmd *cmd, const struct word *w)
{
	uint64_t n;

	if (parse_u64(w, &n) < 0 || n == 0 || n > UINT32_MAX)
		return fail(cmd, POP3_CMD_ERR_NUMBER);
	cmd->has_msg = true;
	cmd->msg = (uint32_t)n;
	return 0;
}

/* check_rest - USER and PASS: one argument, the rest of the line */
static int check_rest(struct pop3_cmd *cmd, const char *p, size_t len,
		      unsigned flags)
{
	/* Exactly one SP separates the keyword from the argument; the
	 * argument is everything after it (RFC 1939 §7, PASS). */
	if (len < 2 || p[0] != ' ')
		return fail(cmd, POP3_CMD_ERR_MISSING);
	cmd->arg = p + 1;
	cmd->arg_len = len - 1;
	if (cmd->verb == POP3_CMD_PASS)
		return 0;
	/* A user name: blanks around it are not part of it (as with the
	 * other keywords' arguments); spaces inside are kept. */
	while (cmd->arg_len > 0 && cmd->arg[0] == ' ') {
		cmd->arg++;
		cmd->arg_len--;
	}
	while (cmd->arg_len > 0 && cmd->arg[cmd->arg_len - 1] == ' ')
		cmd->arg_len--;
	if (cmd->arg_len == 0)
		return fail(cmd, POP3_CMD_ERR_MISSING);
	for (size_t i = 0; i < cmd->arg_len;) {
		size_t n;

		if ((unsigned char)cmd->arg[i] < 0x80) {
			i++;
			continue;
		}
		if (!(flags & POP3_CMD_FLAG_UTF8))
			return fail(cmd, POP3_CMD_ERR_8BIT);
		n = smtp_addr_utf8_seq(cmd->arg + i, cmd->arg_len - i);
		if (n == 0)
			return fail(cmd, POP3_CMD_ERR_BAD_UTF8);
		i += n;
	}
	return 0;
}

/* check_mech - RFC 4422 §3.1 sasl-mech: [A-Z0-9-_]{1,20} */
static bool check_mech(const struct word *w)
{
	if (w->len == 0 || w->len > POP3_CMD_MECH_MAX)
		return false;
	for (size_t i = 0; i < w->len; i++) {
		char c = w->p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* parse_args - the arguments of a recognized keyword */
static int parse_args(struct pop3_cmd *cmd, enum args args, const char *p,
		      size_t len, unsigned flags)
{
	struct word w[WORDS_MAX];
	size_t n;

	if (args == ARGS_REST)
		return check_rest(cmd, p, len, flags);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return fail(cmd, POP3_CMD_ERR_8BIT);
	n = split(p, len, w);
	switch (args) {
	case ARGS_NONE:
		return n == 0 ? 0 : fail(cmd, POP3_CMD_ERR_NO_ARGS);
	case ARGS_AUTH:
		if (n == 0)
			return 0;
		if (n > 2)
			return fail(cmd, POP3_CMD_ERR_EXTRA);
		if (!check_mech(&w[0]))
			return fail(cmd, POP3_CMD_ERR_MECH);
		cmd->arg = w[0].p;
		cmd->arg_len = w[0].len;
		if (n == 2) {
			/* "=" is the empty initial response (RFC 5034 §4). */
			if (!(w[1].len == 1 && w[1].p[0] == '=') &&
			    !base64_valid(w[1].p, w[1].len))
				return fail(cmd, POP3_CMD_ERR_BASE64);
			cmd->initial = w[1].p;
			cmd->initial_len = w[1].len;
		}
		return 0;
	case ARGS_MSG_OPT:
		if (n == 0)
			return 0;
		if (n > 1)
			return fail(cmd, POP3_CMD_ERR_EXTRA);
		return parse_msg(cmd, &w[0]);
	case ARGS_MSG:
		if (n == 0)
			return fail(cmd, POP3_CMD_ERR_MISSING);
		if (n > 1)
			return fail(cmd, POP3_CMD_ERR_EXTRA);
		return parse_msg(cmd, &w[0]);
	case ARGS_MSG_LINES:
		if (n < 2)
			return fail(cmd, POP3_CMD_ERR_MISSING);
		if (n > 2)
			return fail(cmd, POP3_CMD_ERR_EXTRA);
		if (parse_msg(cmd, &w[0]) < 0)
			return -1;
		if (parse_u64(&w[1], &cmd->lines) < 0)
			return fail(cmd, POP3_CMD_ERR_LINES);
		return 0;
	case ARGS_REST:
		break;
	}
	return fail(cmd, POP3_CMD_ERR_UNKNOWN); /* not reached */
}

/* pop3_cmd_parse - parse one command line */
int pop3_cmd_parse(const char *line, size_t len, unsigned flags,
		   struct pop3_cmd *cmd)
{
	size_t i = 0, klen;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = POP3_CMD_UNKNOWN;
	if (len > POP3_CMD_LINE_MAX)
		return fail(cmd, POP3_CMD_ERR_TOO_LONG);
	while (i < len && line[i] == ' ')
		i++;
	if (i == len)
		return fail(cmd, POP3_CMD_ERR_EMPTY);
	klen = 0;
	while (i + klen < len && line[i + klen] != ' ')
		klen++;
	cmd->verb_text = line + i;
	cmd->verb_len = klen;
	for (size_t k = 0; k < klen; k++)
		if (is_control((unsigned char)line[i + k]))
			return fail(cmd, POP3_CMD_ERR_BAD_CHAR);
	for (size_t v = 0; v < NVERBS; v++) {
		if (strlen(verbs[v].name) != klen ||
		    strncasecmp(verbs[v].name, line + i, klen) != 0)
			continue;
		cmd->verb = verbs[v].verb;
		i += klen;
		for (size_t k = i; k < len; k++)
			if (is_control((unsigned char)line[k]))
				return fail(cmd, POP3_CMD_ERR_BAD_CHAR);
		return parse_args(cmd, verbs[v].args, line + i, len - i, flags);
	}
	return fail(cmd, POP3_CMD_ERR_UNKNOWN);
}

/* pop3_cmd_verb_name - the keyword's name */
const char *pop3_cmd_verb_name(enum pop3_cmd_verb verb)
{
	for (size_t v = 0; v < NVERBS; v++)
		if (verbs[v].verb == verb)
			return verbs[v].name;
	return "UNKNOWN";
}

/* pop3_cmd_error_text - the suggested reply text */
const char *pop3_cmd_error_text(enum pop3_cmd_error err)
{
	if ((size_t)err >= NERRORS || error_texts[err] == NULL)
		return "Syntax error";
	return error_texts[err];
}
