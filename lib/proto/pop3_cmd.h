/*
 * pop3_cmd - POP3 command line parser (RFC 1939, 2449, 2595, 5034, 6856)
 *
 * Turns one command line (CRLF already stripped; any bytes, NUL included)
 * into a struct pop3_cmd: the keyword, its arguments, message numbers
 * decoded, or an error kind with the "-ERR" text it suggests.  Both POP3
 * programs use it: pop3-login (USER, PASS, AUTH, STLS, CAPA, UTF8, QUIT)
 * and pop3d (STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL, CAPA, QUIT);
 * which keyword is allowed in which state is the session's business.
 *
 * Pure: no I/O, no logging, no allocation.  Total over arbitrary bytes and
 * linear in the line length.
 */
#ifndef FACTEUR_POP3_CMD_H
#define FACTEUR_POP3_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * RFC 2449 §4: a command line is at most 255 octets, CRLF included; the
 * readers use POP3_CMD_LINE_MAX as their line limit (CRLF excluded).
 */
#define POP3_CMD_LINE_MAX 253
/* RFC 4422 §3.1: a SASL mechanism name is 1 to 20 characters. */
#define POP3_CMD_MECH_MAX 20

enum pop3_cmd_verb {
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_UTF8,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
	POP3_CMD_UNKNOWN,
};

/* Error kinds; pop3_cmd_error_text() gives the reply text (shown here). */
enum pop3_cmd_error {
	POP3_CMD_OK = 0,
	POP3_CMD_ERR_EMPTY,    /* "Empty command" */
	POP3_CMD_ERR_TOO_LONG, /* "Command line too long" */
	POP3_CMD_ERR_UNKNOWN,  /* "Unknown command" */
	POP3_CMD_ERR_BAD_CHAR, /* "Invalid character in command" */
	POP3_CMD_ERR_8BIT,     /* "Non-ASCII character without UTF8" */
	POP3_CMD_ERR_BAD_UTF8, /* "Invalid UTF-8" */
	POP3_CMD_ERR_NO_ARGS,  /* "No arguments allowed" */
	POP3_CMD_ERR_MISSING,  /* "Missing argument" */
	POP3_CMD_ERR_EXTRA,    /* "Too many arguments" */
	POP3_CMD_ERR_NUMBER,   /* "Invalid message number" */
	POP3_CMD_ERR_LINES,    /* "Invalid number of lines" */
	POP3_CMD_ERR_MECH,     /* "Invalid mechanism name" */
	POP3_CMD_ERR_BASE64,   /* "Invalid base64 data" */
};

/* Flags for pop3_cmd_parse(). */
/* RFC 6856 §2: the client sent UTF8; USER may carry UTF-8. */
#define POP3_CMD_FLAG_UTF8 (1u << 0)

/*
 * The result of pop3_cmd_parse().  Pointers point into the parsed line
 * and are valid as long as it is; they are not NUL-terminated and are
 * raw network bytes (sanitize before logging).  The struct holds no
 * pointer to itself, so it may be copied.
 */
struct pop3_cmd {
	enum pop3_cmd_verb verb;
	const char *verb_text; /* the keyword as sent, for the log */
	size_t verb_len;

	/* USER name, PASS password (the rest of the line after one SP,
	 * spaces included: RFC 1939 §7), AUTH mechanism; NULL when none. */
	const char *arg;
	size_t arg_len;
	/* AUTH initial response (RFC 5034 §4): base64 or "=" (empty);
	 * NULL when absent.  A secret: the caller wipes the line. */
	const char *initial;
	size_t initial_len;

	/* LIST, UIDL: has_msg tells whether a number was given; RETR,
	 * DELE, TOP: always set.  1 or more (RFC 1939 §3). */
	bool has_msg;
	uint32_t msg;
	uint64_t lines; /* TOP */

	enum pop3_cmd_error error;
};

/*
 * pop3_cmd_parse - parse one command line
 *
 * line[0..len) is one command without CRLF; it may hold any byte.
 * Returns 0 with cmd->error == POP3_CMD_OK, or -1 with cmd->error set
 * and cmd->verb set when the keyword was recognized (POP3_CMD_UNKNOWN
 * otherwise).  cmd is overwritten either way.
 *
 * Syntax, as RFC 1939 §3 and RFC 2449 §3: a keyword of 3 or 4
 * characters, case-insensitive, arguments separated by single spaces.
 * Leniency as Dovecot's: several spaces between arguments and trailing
 * spaces are accepted (not for PASS, whose argument is taken whole).
 * Over POP3_CMD_LINE_MAX octets is POP3_CMD_ERR_TOO_LONG.  NUL and
 * control characters (HTAB included) are refused everywhere; 8-bit
 * bytes are allowed in PASS (a password is opaque), in USER only with
 * POP3_CMD_FLAG_UTF8 and as valid UTF-8, nowhere else.
 */
int pop3_cmd_parse(const char *line, size_t len, unsigned flags,
		   struct pop3_cmd *cmd);

/* pop3_cmd_verb_name - "USER", ..., "UNKNOWN" (static) */
const char *pop3_cmd_verb_name(enum pop3_cmd_verb verb);

/* pop3_cmd_error_text - the text after "-ERR " (static) */
const char *pop3_cmd_error_text(enum pop3_cmd_error err);

#endif
