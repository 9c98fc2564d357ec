/*
 * smtp_cmd - RFC 5321 command line parser
 *
 * Turns one command line (CRLF already stripped; any bytes, NUL included)
 * into a struct smtp_cmd: the verb, its arguments, the ESMTP parameters of
 * MAIL and RCPT both as raw keyword/value pairs and decoded for the known
 * extensions, or an error kind with the reply it suggests.  Also the xtext
 * codec of RFC 3461 §4.
 *
 * Pure: no I/O, no logging, no allocation.  Total over arbitrary bytes and
 * linear in the line length.  The session state (is MAIL allowed now?) and
 * the policy (is SIZE over the limit? is AUTH offered?) belong to smtpd.
 */
#ifndef FACTEUR_SMTP_CMD_H
#define FACTEUR_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h"

struct strbuf;

enum smtp_cmd_verb {
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_UNKNOWN,
};

/*
 * Error kinds.  smtp_cmd_error_code(), _dsn() and _text() give the reply
 * each one suggests (shown here); struct smtp_cmd.detail says more.
 */
enum smtp_cmd_error {
	SMTP_CMD_OK = 0,
	SMTP_CMD_ERR_EMPTY,	   /* 500 5.5.2 Error: bad syntax */
	SMTP_CMD_ERR_UNKNOWN_VERB, /* 500 5.5.2 Error: command not recognized */
	SMTP_CMD_ERR_BAD_CHAR,	   /* 500 5.5.2 NUL or control character */
	SMTP_CMD_ERR_SYNTAX,	   /* 501 5.5.4 Syntax error in arguments */
	SMTP_CMD_ERR_NO_ARGS,	   /* 501 5.5.4 no arguments allowed */
	SMTP_CMD_ERR_8BIT,	   /* 501 5.5.4 non-ASCII where not allowed */
	SMTP_CMD_ERR_BAD_UTF8,	   /* 500 5.5.2 Error: bad UTF-8 syntax */
	SMTP_CMD_ERR_BAD_SENDER,   /* 501 5.1.7 Bad sender address syntax */
	SMTP_CMD_ERR_BAD_RECIPIENT, /* 501 5.1.3 Bad recipient address syntax */
	SMTP_CMD_ERR_UTF8_ADDR,	    /* 553 5.6.7 unicode address w/o SMTPUTF8 */
	SMTP_CMD_ERR_PARAM_SYNTAX,  /* 501 5.5.4 malformed parameter */
	SMTP_CMD_ERR_PARAM_VALUE,   /* 501 5.5.4 bad value for a known one */
	SMTP_CMD_ERR_PARAM_DUP,	    /* 501 5.5.4 parameter given twice */
	SMTP_CMD_ERR_PARAM_UNKNOWN, /* 555 5.5.4 Unsupported option */
	/* 501 5.5.4 over SMTP_CMD_PARAMS_MAX: a guard for params[]; while
	 * unknown and repeated parameters are refused it cannot happen. */
	SMTP_CMD_ERR_PARAM_TOO_MANY,
	SMTP_CMD_ERR_BAD_BASE64, /* 501 5.5.2 AUTH initial response */
};

/* Flags for smtp_cmd_parse(). */
/* SMTPUTF8 is offered (RFC 6531): MAIL may carry the SMTPUTF8 parameter,
 * and then a UTF-8 reverse-path; VRFY/EXPN may end in " SMTPUTF8". */
#define SMTP_CMD_FLAG_SMTPUTF8 (1u << 0)
/* The current transaction's MAIL had SMTPUTF8: RCPT (and VRFY/EXPN) may
 * carry UTF-8 addresses. */
#define SMTP_CMD_FLAG_UTF8_TXN (1u << 1)
/* Postfix strict_rfc821_envelopes=yes: MAIL/RCPT need "<" ">" and no
 * space after the colon.  Without it both are tolerated and flagged. */
#define SMTP_CMD_FLAG_STRICT (1u << 2)

/* Limits on what one command may carry (STYLE.md §7). */
#define SMTP_CMD_PARAMS_MAX	16  /* ESMTP parameters per MAIL/RCPT */
#define SMTP_CMD_ENVID_MAX	100 /* RFC 3461 §4.4, decoded */
#define SMTP_CMD_ORCPT_MAX	500 /* RFC 3461 §4.2, whole value */
#define SMTP_CMD_ADDR_TYPE_MAX	64  /* ORCPT addr-type (an atom) */
#define SMTP_CMD_AUTH_PARAM_MAX SMTP_ADDR_PATH_MAX /* MAIL AUTH=, decoded */
#define SMTP_CMD_SASL_MECH_MAX	20 /* RFC 4422 §3.1 sasl-mech */

/* One ESMTP parameter as given: pointers into the parsed line. */
struct smtp_cmd_param {
	const char *keyword;
	size_t keyword_len;
	const char *value; /* NULL when there was no "=" */
	size_t value_len;
};

enum smtp_cmd_body {
	SMTP_CMD_BODY_NONE = 0, /* no BODY= */
	SMTP_CMD_BODY_7BIT,
	SMTP_CMD_BODY_8BITMIME,	  /* RFC 6152 */
	SMTP_CMD_BODY_BINARYMIME, /* RFC 3030 */
};

enum smtp_cmd_ret {
	SMTP_CMD_RET_NONE = 0, /* no RET= */
	SMTP_CMD_RET_FULL,
	SMTP_CMD_RET_HDRS,
};

/* RCPT NOTIFY= bits (RFC 3461 §4.1); 0 when NOTIFY was not given. */
#define SMTP_CMD_NOTIFY_NEVER	(1u << 0)
#define SMTP_CMD_NOTIFY_SUCCESS (1u << 1)
#define SMTP_CMD_NOTIFY_FAILURE (1u << 2)
#define SMTP_CMD_NOTIFY_DELAY	(1u << 3)

/*
 * The result of smtp_cmd_parse().  Fields of type "const char *" point into
 * the line that was parsed and are valid as long as it is: they are not
 * NUL-terminated (use the _len next to them), and they are raw network
 * bytes, to be sanitized before they are logged.  The char arrays are
 * owned by the struct and NUL-terminated.  The struct holds no pointer to
 * itself, so it may be copied.
 */
struct smtp_cmd {
	enum smtp_cmd_verb verb;
	const char *verb_text; /* the verb as sent, e.g. for "unknown" logs */
	size_t verb_len;

	/* HELO/EHLO name, VRFY/EXPN/HELP/NOOP string: the argument text,
	 * leading and trailing blanks removed; NULL when there is none. */
	const char *arg;
	size_t arg_len;
	bool helo_valid; /* HELO/EHLO name is a domain or address literal */
	bool smtputf8;	 /* MAIL SMTPUTF8, or VRFY/EXPN ... SMTPUTF8 */

	/* MAIL/RCPT */
	struct smtp_addr addr;
	bool path_lenient; /* no "<" ">", or blanks after the colon */
	struct smtp_cmd_param params[SMTP_CMD_PARAMS_MAX];
	size_t nparams;

	struct {
		bool has_size;
		uint64_t size; /* RFC 1870; compared to the limit by smtpd */
		enum smtp_cmd_body body;
		enum smtp_cmd_ret ret;
		bool has_envid;
		char envid[SMTP_CMD_ENVID_MAX + 1]; /* xtext-decoded */
		bool has_auth;
		bool auth_null; /* AUTH=<> (RFC 4954 §5) */
		char auth[SMTP_CMD_AUTH_PARAM_MAX + 1]; /* xtext-decoded */
	} mail;

	struct {
		unsigned notify; /* SMTP_CMD_NOTIFY_* */
		bool has_orcpt;
		char orcpt_type[SMTP_CMD_ADDR_TYPE_MAX + 1]; /* "rfc822" */
		char orcpt[SMTP_CMD_ORCPT_MAX + 1];	     /* xtext-decoded */
	} rcpt;

	struct {
		uint64_t size;
		bool last;
	} bdat;

	struct {
		/* Mechanism name, validated (RFC 4422 §3.1), as sent. */
		const char *mech;
		size_t mech_len;
		/* Initial response, still base64, syntax checked; NULL
		 * when absent, "=" (length 1) for an empty one (RFC 4954
		 * §4).  A secret: wipe the line, not only this struct. */
		const char *initial;
		size_t initial_len;
	} auth;

	enum smtp_cmd_error error;
	/* Static text with the specifics of the error ("SIZE: bad value",
	 * "Syntax: MAIL FROM:<address>", an smtp_addr error text), or NULL. */
	const char *detail;
	/* Index in params[] of the parameter the error is about, or -1. */
	int error_param;
};

/*
 * smtp_cmd_parse - parse one command line
 *
 * line[0..len) is one command without its CRLF; it may hold any byte.
 * flags: SMTP_CMD_FLAG_*.  Returns 0 with cmd->error == SMTP_CMD_OK, or
 * -1 with cmd->error, cmd->detail and, when the verb was recognized,
 * cmd->verb set (SMTP_CMD_UNKNOWN otherwise).  cmd is overwritten either
 * way and keeps pointers into line (see struct smtp_cmd).
 *
 * Leniency, as Postfix by default: blanks (SP, HTAB) around the verb and at
 * the end of the line are ignored; HELO/EHLO take any printable ASCII text
 * (helo_valid tells whether it is a domain); MAIL FROM:/RCPT TO: accept
 * blanks after the colon and an address without brackets unless
 * SMTP_CMD_FLAG_STRICT.  Unknown ESMTP parameters are errors.
 */
int smtp_cmd_parse(const char *line, size_t len, unsigned flags,
		   struct smtp_cmd *cmd);

/* smtp_cmd_verb_name - "MAIL", ..., "UNKNOWN" (static) */
const char *smtp_cmd_verb_name(enum smtp_cmd_verb verb);

/* smtp_cmd_error_code - suggested basic reply code (500, 501, 553, 555) */
int smtp_cmd_error_code(enum smtp_cmd_error err);
/* smtp_cmd_error_dsn - RFC 3463 enhanced status code, e.g. "5.5.4" */
const char *smtp_cmd_error_dsn(enum smtp_cmd_error err);
/* smtp_cmd_error_text - suggested reply text, e.g. "Unsupported option" */
const char *smtp_cmd_error_text(enum smtp_cmd_error err);

/*
 * smtp_cmd_xtext_decode - decode RFC 3461 §4 xtext
 *
 * xtext = *( xchar / hexchar ): xchar is any of "!" .. "~" but "+" and
 * "="; hexchar is "+" and two hex digits (lower case accepted, as Postfix
 * does).  Decodes src[0..len) into out, which has room for size bytes,
 * and NUL-terminates it; the decoded bytes may include NUL, so the length
 * is stored in *len_r.  Returns 0, or -1 on a bad character, a bad or cut
 * escape, or when out is too small (out is then unspecified).
 */
int smtp_cmd_xtext_decode(const char *src, size_t len, char *out, size_t size,
			  size_t *len_r);

/*
 * smtp_cmd_xtext_encode - append the xtext form of src[0..len) to out
 *
 * Bytes that are not xchar become "+HH" (upper case).  Returns 0, or -1
 * when out's limit would be passed (out is then as it was).
 */
int smtp_cmd_xtext_encode(const void *src, size_t len, struct strbuf *out);

#endif
