/*
 * smtp_cmd - RFC 5321 command line parser
 *
 * SYNOPSIS
 *	#include "smtp_cmd.h"
 *
 *	int smtp_cmd_parse(line, len, flags, cmd)
 *	const char *smtp_cmd_verb_name(verb)
 *	int smtp_cmd_error_code(err)
 *	const char *smtp_cmd_error_dsn(err)
 *	const char *smtp_cmd_error_text(err)
 *	int smtp_cmd_xtext_decode(src, len, out, size, len_r)
 *	int smtp_cmd_xtext_encode(src, len, out)
 *
 * DESCRIPTION
 *	smtp_cmd_parse() works on one complete line, which smtpd's bounded
 *	line reader has already framed (RFC 5321 §4.5.3.1.4, STYLE.md §7),
 *	so it needs no resumable state: it is a plain function of the
 *	bytes.  It finds the verb (case-insensitive, §2.4), refuses NUL and
 *	control characters anywhere, and then parses the arguments of that
 *	verb:
 *
 *	HELO/EHLO name		§4.1.1.1; Postfix-lenient, see helo_valid
 *	MAIL FROM:path [params]	§4.1.1.2, params §4.1.2 esmtp-param
 *	RCPT TO:path [params]	§4.1.1.3
 *	DATA, RSET, QUIT	§4.1.1.4, .5, .10: no argument
 *	STARTTLS		RFC 3207 §4: no argument
 *	BDAT size [LAST]	RFC 3030 §2
 *	AUTH mech [initial]	RFC 4954 §4
 *	VRFY/EXPN string	§4.1.1.6-7 (+ " SMTPUTF8", RFC 6531 §3.7.4)
 *	HELP/NOOP [string]	§4.1.1.8-9
 *
 *	The ESMTP parameters known here are validated and decoded: SIZE
 *	(RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET,
 *	ENVID, NOTIFY, ORCPT (RFC 3461), AUTH (RFC 4954 §5); anything else
 *	is "555 5.5.4 Unsupported option" (§4.1.1.11).
 *
 *	8-bit bytes are refused except in addresses (RFC 6531) and in the
 *	VRFY/EXPN string, and only when SMTPUTF8 is in effect.
 *
 * DIAGNOSTICS
 *	smtp_cmd_parse() returns -1 and an error kind with a suggested
 *	reply; nothing is logged and nothing is fatal.
 *
 * SECURITY
 *	This parses untrusted network input.  It never reads past len, does
 *	a bounded amount of work per byte (parameter duplicate checks are
 *	bounded by SMTP_CMD_PARAMS_MAX), writes decoded values only into
 *	fixed buffers after checking their size, and leaves the AUTH
 *	initial response in the caller's buffer, which the caller wipes.
 */
#include "autoconf.h"

#include <string.h>

#include "base64.h"
#include "strbuf.h"
#include "strnum.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"

static const struct {
	const char *name;
	enum smtp_cmd_verb verb;
	const char *syntax; /* detail for a malformed argument */
} verbs[] = {
	{"HELO", SMTP_CMD_HELO, "Syntax: HELO hostname"},
	{"EHLO", SMTP_CMD_EHLO, "Syntax: EHLO hostname"},
	{"MAIL", SMTP_CMD_MAIL, "Syntax: MAIL FROM:<address> [parameters]"},
	{"RCPT", SMTP_CMD_RCPT, "Syntax: RCPT TO:<address> [parameters]"},
	{"DATA", SMTP_CMD_DATA, "Syntax: DATA"},
	{"BDAT", SMTP_CMD_BDAT, "Syntax: BDAT chunk-size [LAST]"},
	{"RSET", SMTP_CMD_RSET, "Syntax: RSET"},
	{"NOOP", SMTP_CMD_NOOP, "Syntax: NOOP [string]"},
	{"QUIT", SMTP_CMD_QUIT, "Syntax: QUIT"},
	{"VRFY", SMTP_CMD_VRFY, "Syntax: VRFY address"},
	{"EXPN", SMTP_CMD_EXPN, "Syntax: EXPN list"},
	{"HELP", SMTP_CMD_HELP, "Syntax: HELP [topic]"},
	{"STARTTLS", SMTP_CMD_STARTTLS, "Syntax: STARTTLS"},
	{"AUTH", SMTP_CMD_AUTH, "Syntax: AUTH mechanism [initial-response]"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct {
	int code;
	const char *dsn;
	const char *text;
} errors[] = {
	[SMTP_CMD_OK] = {250, "2.0.0", "Ok"},
	[SMTP_CMD_ERR_EMPTY] = {500, "5.5.2", "Error: bad syntax"},
	[SMTP_CMD_ERR_UNKNOWN_VERB] = {500, "5.5.2",
				       "Error: command not recognized"},
	[SMTP_CMD_ERR_BAD_CHAR] = {500, "5.5.2",
				   "Error: bad character in command"},
	[SMTP_CMD_ERR_SYNTAX] = {501, "5.5.4",
				 "Syntax error in parameters or arguments"},
	[SMTP_CMD_ERR_NO_ARGS] = {501, "5.5.4",
				  "Syntax error: no arguments allowed"},
	[SMTP_CMD_ERR_8BIT] = {501, "5.5.4",
			       "Syntax error: non-ASCII character"},
	[SMTP_CMD_ERR_BAD_UTF8] = {500, "5.5.2", "Error: bad UTF-8 syntax"},
	[SMTP_CMD_ERR_BAD_SENDER] = {501, "5.1.7", "Bad sender address syntax"},
	[SMTP_CMD_ERR_BAD_RECIPIENT] = {501, "5.1.3",
					"Bad recipient address syntax"},
	[SMTP_CMD_ERR_UTF8_ADDR] = {553, "5.6.7",
				    "Must declare SMTPUTF8 to send unicode "
				    "address"},
	[SMTP_CMD_ERR_PARAM_SYNTAX] = {501, "5.5.4", "Bad parameter syntax"},
	[SMTP_CMD_ERR_PARAM_VALUE] = {501, "5.5.4", "Bad parameter value"},
	[SMTP_CMD_ERR_PARAM_DUP] = {501, "5.5.4", "Duplicate parameter"},
	[SMTP_CMD_ERR_PARAM_UNKNOWN] = {555, "5.5.4", "Unsupported option"},
	[SMTP_CMD_ERR_PARAM_TOO_MANY] = {501, "5.5.4", "Too many parameters"},
	[SMTP_CMD_ERR_BAD_BASE64] = {501, "5.5.2",
				     "Invalid base64 data in initial "
				     "response"},
};

#define NERRORS (sizeof(errors) / sizeof(errors[0]))

/* is_blank - SP or HTAB, the separators Postfix tolerates */
static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* is_alnum - ASCII letter or digit, whatever the locale says */
static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* is_digit - ASCII digit */
static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* lower - ASCII lower case */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* eq_nocase - is buf[0..len) the ASCII word, any case */
static int eq_nocase(const unsigned char *buf, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (word[i] == 0 ||
		    lower(buf[i]) != lower((unsigned char)word[i]))
			return 0;
	return word[len] == 0;
}

/* same_nocase - are a[0..len) and b[0..len) equal in any ASCII case */
static int same_nocase(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* prefix_nocase - does buf[0..len) start with the ASCII word, any case */
static int prefix_nocase(const unsigned char *buf, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && eq_nocase(buf, n, word);
}

/* token - the bytes from *pos up to a blank or end; *pos moves past them */
static size_t token(const unsigned char *p, size_t len, size_t *pos)
{
	size_t start = *pos;

	while (*pos < len && !is_blank(p[*pos]))
		(*pos)++;
	return *pos - start;
}

/* skip_blanks - move *pos past blanks; returns how many */
static size_t skip_blanks(const unsigned char *p, size_t len, size_t *pos)
{
	size_t start = *pos;

	while (*pos < len && is_blank(p[*pos]))
		(*pos)++;
	return *pos - start;
}

/* fail - record an error in cmd and return -1 */
static int fail(struct smtp_cmd *cmd, enum smtp_cmd_error err,
		const char *detail)
{
	cmd->error = err;
	cmd->detail = detail;
	return -1;
}

/* fail_param - record an error about params[idx] */
static int fail_param(struct smtp_cmd *cmd, size_t idx, enum smtp_cmd_error err,
		      const char *detail)
{
	cmd->error_param = (int)idx;
	return fail(cmd, err, detail);
}

/* syntax_of - the "Syntax: ..." detail of the verb */
static const char *syntax_of(enum smtp_cmd_verb verb)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].syntax;
	return NULL;
}

/* has_8bit - does buf[0..len) hold a byte over 0x7f */
static int has_8bit(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			return 1;
	return 0;
}

/* hexval - value of an ASCII hex digit, or -1 */
static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* is_xchar - RFC 3461 §4 xchar: "!" .. "~" except "+" and "=" */
static int is_xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

/* smtp_cmd_xtext_decode - decode RFC 3461 §4 xtext */
int smtp_cmd_xtext_decode(const char *src, size_t len, char *out, size_t size,
			  size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i, o = 0;
	int hi, lo;

	if (size == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (o >= size - 1)
			return -1;
		if (p[i] == '+') {
			if (len - i < 3 || (hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (is_xchar(p[i])) {
			out[o++] = (char)p[i];
		} else {
			return -1;
		}
	}
	out[o] = 0;
	*len_r = o;
	return 0;
}

/* smtp_cmd_xtext_encode - append the xtext form of src[0..len) to out */
int smtp_cmd_xtext_encode(const void *src, size_t len, struct strbuf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = src;
	size_t i, start = out->len;
	char esc[3];

	for (i = 0; i < len; i++) {
		if (is_xchar(p[i])) {
			if (strbuf_append_char(out, (char)p[i]) < 0)
				goto full;
		} else {
			esc[0] = '+';
			esc[1] = hex[p[i] >> 4];
			esc[2] = hex[p[i] & 15];
			if (strbuf_append(out, esc, 3) < 0)
				goto full;
		}
	}
	return 0;
full:
	strbuf_truncate(out, start);
	return -1;
}

/* decode_printable - xtext-decode a parameter that must be printable */
static int decode_printable(const struct smtp_cmd_param *param, char *out,
			    size_t size)
{
	size_t n, i;

	/* RFC 3461 §4.2 and §4.4: the decoded ORCPT and ENVID are printable
	 * US-ASCII; we hold AUTH= (an addr-spec) to the same, which keeps
	 * NUL and controls out of every decoded string we hand on. */
	if (smtp_cmd_xtext_decode(param->value, param->value_len, out, size,
				  &n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 32 || (unsigned char)out[i] > 126)
			return -1;
	return 0;
}

/* param_size - MAIL SIZE=1*20DIGIT (RFC 1870 §6) */
static int param_size(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];
	const unsigned char *v = (const unsigned char *)pa->value;
	size_t i;

	if (pa->value == NULL || pa->value_len > 20)
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad message size syntax");
	for (i = 0; i < pa->value_len; i++)
		if (!is_digit(v[i]))
			return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
					  "Bad message size syntax");
	/* 20 digits can still pass 2^64 - 1; strn_to_u64 says so. */
	if (strn_to_u64(pa->value, pa->value_len, &cmd->mail.size) < 0)
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad message size syntax");
	cmd->mail.has_size = 1;
	return 0;
}

/* param_body - MAIL BODY=7BIT|8BITMIME|BINARYMIME */
static int param_body(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];
	const unsigned char *v = (const unsigned char *)pa->value;

	if (v != NULL && eq_nocase(v, pa->value_len, "7BIT"))
		cmd->mail.body = SMTP_CMD_BODY_7BIT;
	else if (v != NULL && eq_nocase(v, pa->value_len, "8BITMIME"))
		cmd->mail.body = SMTP_CMD_BODY_8BITMIME;
	else if (v != NULL && eq_nocase(v, pa->value_len, "BINARYMIME"))
		cmd->mail.body = SMTP_CMD_BODY_BINARYMIME;
	else
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad BODY parameter value");
	return 0;
}

/* param_smtputf8 - MAIL SMTPUTF8, which takes no value (RFC 6531 §3.4) */
static int param_smtputf8(struct smtp_cmd *cmd, size_t idx)
{
	if (cmd->params[idx].value != NULL)
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "SMTPUTF8 takes no value");
	cmd->smtputf8 = 1;
	return 0;
}

/* param_ret - MAIL RET=FULL|HDRS (RFC 3461 §4.3) */
static int param_ret(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];
	const unsigned char *v = (const unsigned char *)pa->value;

	if (v != NULL && eq_nocase(v, pa->value_len, "FULL"))
		cmd->mail.ret = SMTP_CMD_RET_FULL;
	else if (v != NULL && eq_nocase(v, pa->value_len, "HDRS"))
		cmd->mail.ret = SMTP_CMD_RET_HDRS;
	else
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad RET parameter value");
	return 0;
}

/* param_envid - MAIL ENVID=xtext, at most 100 characters (RFC 3461 §4.4) */
static int param_envid(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];

	if (pa->value == NULL ||
	    decode_printable(pa, cmd->mail.envid, sizeof(cmd->mail.envid)) < 0)
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad ENVID parameter value");
	cmd->mail.has_envid = 1;
	return 0;
}

/* param_auth - MAIL AUTH=xtext|<> (RFC 4954 §5) */
static int param_auth(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];

	if (pa->value == NULL)
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad AUTH parameter value");
	/* "<" and ">" are xchars, so "<>" must be looked for first. */
	if (pa->value_len == 2 && memcmp(pa->value, "<>", 2) == 0) {
		cmd->mail.auth_null = 1;
	} else if (decode_printable(pa, cmd->mail.auth,
				    sizeof(cmd->mail.auth)) < 0) {
		return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
				  "Bad AUTH parameter value");
	}
	cmd->mail.has_auth = 1;
	return 0;
}

/* param_notify - RCPT NOTIFY=NEVER|1#(SUCCESS|FAILURE|DELAY) (RFC 3461) */
static int param_notify(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];
	const unsigned char *v = (const unsigned char *)pa->value;
	size_t i = 0, start;
	unsigned mask = 0, bit;

	if (v == NULL)
		goto bad;
	/* §4.1: "NEVER" alone, or a comma list of the others; a repeated
	 * keyword is harmless and tolerated, an empty item is not. */
	while (i <= pa->value_len) {
		start = i;
		while (i < pa->value_len && v[i] != ',')
			i++;
		if (eq_nocase(v + start, i - start, "NEVER"))
			bit = SMTP_CMD_NOTIFY_NEVER;
		else if (eq_nocase(v + start, i - start, "SUCCESS"))
			bit = SMTP_CMD_NOTIFY_SUCCESS;
		else if (eq_nocase(v + start, i - start, "FAILURE"))
			bit = SMTP_CMD_NOTIFY_FAILURE;
		else if (eq_nocase(v + start, i - start, "DELAY"))
			bit = SMTP_CMD_NOTIFY_DELAY;
		else
			goto bad;
		mask |= bit;
		i++; /* past the comma, or past the end to stop */
	}
	if ((mask & SMTP_CMD_NOTIFY_NEVER) && mask != SMTP_CMD_NOTIFY_NEVER)
		goto bad;
	cmd->rcpt.notify = mask;
	return 0;
bad:
	return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
			  "Bad NOTIFY parameter value");
}

/* param_orcpt - RCPT ORCPT=addr-type ";" xtext (RFC 3461 §4.2) */
static int param_orcpt(struct smtp_cmd *cmd, size_t idx)
{
	const struct smtp_cmd_param *pa = &cmd->params[idx];
	const unsigned char *v = (const unsigned char *)pa->value;
	struct smtp_cmd_param rest;
	size_t i;

	if (v == NULL || pa->value_len > SMTP_CMD_ORCPT_MAX)
		goto bad;
	/* addr-type is an atom; in practice "rfc822" or "utf-8" (RFC 6533,
	 * whose utf-8-addr-xtext is a subset of xtext). */
	for (i = 0; i < pa->value_len && v[i] != ';'; i++)
		if (!is_alnum(v[i]) && strchr("!#$%&'*+-/=?^_`{|}~", v[i]) == 0)
			goto bad;
	if (i == 0 || i >= pa->value_len || i > SMTP_CMD_ADDR_TYPE_MAX ||
	    i + 1 == pa->value_len)
		goto bad;
	memcpy(cmd->rcpt.orcpt_type, v, i);
	cmd->rcpt.orcpt_type[i] = 0;
	rest.value = pa->value + i + 1;
	rest.value_len = pa->value_len - i - 1;
	if (decode_printable(&rest, cmd->rcpt.orcpt, sizeof(cmd->rcpt.orcpt)) <
	    0)
		goto bad;
	cmd->rcpt.has_orcpt = 1;
	return 0;
bad:
	return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_VALUE,
			  "Bad ORCPT parameter value");
}

/* The parameters we know, and the command each belongs to. */
static const struct {
	const char *keyword;
	enum smtp_cmd_verb verb;
	unsigned need_flag; /* offered only with this flag, or 0 */
	int (*check)(struct smtp_cmd *, size_t);
} known_params[] = {
	{"SIZE", SMTP_CMD_MAIL, 0, param_size},
	{"BODY", SMTP_CMD_MAIL, 0, param_body},
	{"SMTPUTF8", SMTP_CMD_MAIL, SMTP_CMD_FLAG_SMTPUTF8, param_smtputf8},
	{"RET", SMTP_CMD_MAIL, 0, param_ret},
	{"ENVID", SMTP_CMD_MAIL, 0, param_envid},
	{"AUTH", SMTP_CMD_MAIL, 0, param_auth},
	{"NOTIFY", SMTP_CMD_RCPT, 0, param_notify},
	{"ORCPT", SMTP_CMD_RCPT, 0, param_orcpt},
};

#define NKNOWN (sizeof(known_params) / sizeof(known_params[0]))

/* parse_params - esmtp-param *(SP esmtp-param) of MAIL or RCPT */
static int parse_params(struct smtp_cmd *cmd, const unsigned char *p,
			size_t len, unsigned flags)
{
	struct smtp_cmd_param *pa;
	size_t pos = 0, start, end, k, i, idx;

	for (;;) {
		skip_blanks(p, len, &pos);
		if (pos >= len)
			return 0;
		start = pos;
		end = start + token(p, len, &pos);
		if (cmd->nparams >= SMTP_CMD_PARAMS_MAX)
			return fail(cmd, SMTP_CMD_ERR_PARAM_TOO_MANY, NULL);
		idx = cmd->nparams++;
		pa = &cmd->params[idx];
		/* §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT /
		 * "-"), esmtp-value = 1*(%d33-60 / %d62-126). */
		for (k = start;
		     k < end && (is_alnum(p[k]) || (k > start && p[k] == '-'));
		     k++)
			;
		pa->keyword = (const char *)p + start;
		pa->keyword_len = k - start;
		if (k == start || (k < end && p[k] != '='))
			return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_SYNTAX,
					  "Bad parameter keyword");
		if (k < end) {
			pa->value = (const char *)p + k + 1;
			pa->value_len = end - k - 1;
			if (pa->value_len == 0)
				return fail_param(cmd, idx,
						  SMTP_CMD_ERR_PARAM_SYNTAX,
						  "Empty parameter value");
			for (i = k + 1; i < end; i++)
				if (p[i] < 33 || p[i] > 126 || p[i] == '=')
					return fail_param(
						cmd, idx,
						SMTP_CMD_ERR_PARAM_SYNTAX,
						"Bad character in parameter "
						"value");
		}
		/* A parameter given twice is ambiguous: refuse it rather
		 * than guess which one counts. */
		for (i = 0; i < idx; i++)
			if (cmd->params[i].keyword_len == pa->keyword_len &&
			    same_nocase(cmd->params[i].keyword, pa->keyword,
					pa->keyword_len))
				return fail_param(cmd, idx,
						  SMTP_CMD_ERR_PARAM_DUP, NULL);
		for (i = 0; i < NKNOWN; i++)
			if (known_params[i].verb == cmd->verb &&
			    (known_params[i].need_flag & ~flags) == 0 &&
			    eq_nocase((const unsigned char *)pa->keyword,
				      pa->keyword_len, known_params[i].keyword))
				break;
		if (i == NKNOWN)
			return fail_param(cmd, idx, SMTP_CMD_ERR_PARAM_UNKNOWN,
					  NULL);
		if (known_params[i].check(cmd, idx) < 0)
			return -1;
	}
}

/* parse_path_cmd - MAIL FROM:path [params] and RCPT TO:path [params] */
static int parse_path_cmd(struct smtp_cmd *cmd, const unsigned char *p,
			  size_t len, unsigned flags)
{
	int is_mail = cmd->verb == SMTP_CMD_MAIL;
	const char *word = is_mail ? "FROM:" : "TO:";
	enum smtp_cmd_error bad =
		is_mail ? SMTP_CMD_ERR_BAD_SENDER : SMTP_CMD_ERR_BAD_RECIPIENT;
	enum smtp_addr_error aerr;
	unsigned aflags = 0;
	size_t pos, used;

	if (!prefix_nocase(p, len, word))
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	pos = strlen(word);
	/* "MAIL FROM: <a@b>" is common; Postfix takes it unless
	 * strict_rfc821_envelopes, and so do we. */
	if (skip_blanks(p, len, &pos) > 0) {
		if (flags & SMTP_CMD_FLAG_STRICT)
			return fail(cmd, SMTP_CMD_ERR_SYNTAX,
				    syntax_of(cmd->verb));
		cmd->path_lenient = 1;
	}
	if (pos >= len)
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	if ((flags & SMTP_CMD_FLAG_STRICT) == 0)
		aflags |= SMTP_ADDR_FLAG_BARE_OK;
	if (is_mail) {
		/* Whether the SMTPUTF8 parameter follows is known only
		 * after the path; allow UTF-8 now, check below. */
		aflags |= SMTP_ADDR_FLAG_NULL_OK;
		if (flags & SMTP_CMD_FLAG_SMTPUTF8)
			aflags |= SMTP_ADDR_FLAG_UTF8;
	} else {
		aflags |= SMTP_ADDR_FLAG_POSTMASTER_OK;
		if (flags & SMTP_CMD_FLAG_UTF8_TXN)
			aflags |= SMTP_ADDR_FLAG_UTF8;
	}
	aerr = smtp_addr_parse_prefix((const char *)p + pos, len - pos, aflags,
				      &cmd->addr, &used);
	if (aerr == SMTP_ADDR_ERR_8BIT)
		return fail(cmd, SMTP_CMD_ERR_UTF8_ADDR,
			    smtp_addr_error_text(aerr));
	if (aerr != SMTP_ADDR_OK)
		return fail(cmd, bad, smtp_addr_error_text(aerr));
	if (!cmd->addr.bracketed)
		cmd->path_lenient = 1;
	pos += used;
	if (pos < len && !is_blank(p[pos]))
		return fail(cmd, bad,
			    smtp_addr_error_text(SMTP_ADDR_ERR_TRAILING));
	if (parse_params(cmd, p + pos, len - pos, flags) < 0)
		return -1;
	/* RFC 6531 §3.4: a UTF-8 reverse-path needs SMTPUTF8 on MAIL. */
	if (is_mail && cmd->addr.utf8 && !cmd->smtputf8)
		return fail(cmd, SMTP_CMD_ERR_UTF8_ADDR,
			    smtp_addr_error_text(SMTP_ADDR_ERR_8BIT));
	return 0;
}

/* parse_helo - HELO/EHLO name */
static int parse_helo(struct smtp_cmd *cmd, const unsigned char *p, size_t len)
{
	/* RFC 5321 wants a domain or address literal; Postfix accepts any
	 * text (smtpd_helo_restrictions judge it later), so we keep the text
	 * and say whether it is valid.  8-bit text is refused: RFC 6531
	 * §3.7.1 keeps EHLO in A-labels. */
	if (len == 0)
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	if (has_8bit(p, len))
		return fail(cmd, SMTP_CMD_ERR_8BIT, syntax_of(cmd->verb));
	cmd->arg = (const char *)p;
	cmd->arg_len = len;
	cmd->helo_valid =
		smtp_addr_check_domain((const char *)p, len, 0) == SMTP_ADDR_OK;
	return 0;
}

/* parse_bdat - BDAT chunk-size [SP end-marker] (RFC 3030 §2) */
static int parse_bdat(struct smtp_cmd *cmd, const unsigned char *p, size_t len)
{
	size_t pos = 0, n, i, start;

	n = token(p, len, &pos);
	for (i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return fail(cmd, SMTP_CMD_ERR_SYNTAX,
				    syntax_of(cmd->verb));
	if (n == 0 || strn_to_u64((const char *)p, n, &cmd->bdat.size) < 0)
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	skip_blanks(p, len, &pos);
	if (pos < len) {
		start = pos;
		n = token(p, len, &pos);
		if (!eq_nocase(p + start, n, "LAST") || pos < len)
			return fail(cmd, SMTP_CMD_ERR_SYNTAX,
				    syntax_of(cmd->verb));
		cmd->bdat.last = 1;
	}
	return 0;
}

/* parse_auth - AUTH mechanism [initial-response] (RFC 4954 §4) */
static int parse_auth(struct smtp_cmd *cmd, const unsigned char *p, size_t len)
{
	size_t pos = 0, n, i, start;

	/* sasl-mech = 1*20 (UPPER-ALPHA / DIGIT / "-" / "_"), RFC 4422
	 * §3.1; clients send lower case too, and names compare any case. */
	n = token(p, len, &pos);
	if (n == 0 || n > SMTP_CMD_SASL_MECH_MAX)
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	for (i = 0; i < n; i++)
		if (!is_alnum(p[i]) && p[i] != '-' && p[i] != '_')
			return fail(cmd, SMTP_CMD_ERR_SYNTAX,
				    syntax_of(cmd->verb));
	cmd->auth.mech = (const char *)p;
	cmd->auth.mech_len = n;
	skip_blanks(p, len, &pos);
	if (pos >= len)
		return 0;
	start = pos;
	n = token(p, len, &pos);
	if (pos < len)
		return fail(cmd, SMTP_CMD_ERR_SYNTAX, syntax_of(cmd->verb));
	if (!(n == 1 && p[start] == '=') && !base64_valid(p + start, n))
		return fail(cmd, SMTP_CMD_ERR_BAD_BASE64, NULL);
	cmd->auth.initial = (const char *)p + start;
	cmd->auth.initial_len = n;
	return 0;
}

/* parse_string - VRFY/EXPN (required) and HELP/NOOP (optional) string */
static int parse_string(struct smtp_cmd *cmd, const unsigned char *p,
			size_t len, unsigned flags)
{
	int vrfy = cmd->verb == SMTP_CMD_VRFY || cmd->verb == SMTP_CMD_EXPN;
	int utf8_ok = (flags & SMTP_CMD_FLAG_UTF8_TXN) != 0;
	size_t i, n, last;

	if (len == 0) {
		if (vrfy)
			return fail(cmd, SMTP_CMD_ERR_SYNTAX,
				    syntax_of(cmd->verb));
		return 0;
	}
	if (vrfy && (flags & SMTP_CMD_FLAG_SMTPUTF8)) {
		/* RFC 6531 §3.7.4.2: "VRFY" SP String [SP "SMTPUTF8"]. */
		for (last = len; last > 0 && !is_blank(p[last - 1]); last--)
			;
		if (last > 0 && eq_nocase(p + last, len - last, "SMTPUTF8")) {
			cmd->smtputf8 = 1;
			utf8_ok = 1;
			for (len = last; len > 0 && is_blank(p[len - 1]); len--)
				;
		}
	}
	for (i = 0; i < len; i += n) {
		n = 1;
		if (p[i] < 0x80)
			continue;
		if (!vrfy || !utf8_ok)
			return fail(cmd, SMTP_CMD_ERR_8BIT, NULL);
		if ((n = smtp_addr_utf8_seq((const char *)p + i, len - i)) == 0)
			return fail(cmd, SMTP_CMD_ERR_BAD_UTF8, NULL);
	}
	cmd->arg = (const char *)p;
	cmd->arg_len = len;
	return 0;
}

/* smtp_cmd_parse - parse one command line */
int smtp_cmd_parse(const char *line, size_t len, unsigned flags,
		   struct smtp_cmd *cmd)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t start = 0, end = len, v, i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->error_param = -1;
	skip_blanks(p, len, &start);
	while (end > start && is_blank(p[end - 1]))
		end--;
	if (start == end)
		return fail(cmd, SMTP_CMD_ERR_EMPTY, NULL);
	v = start;
	token(p, end, &v);
	cmd->verb_text = line + start;
	cmd->verb_len = v - start;
	for (i = 0; i < NVERBS; i++)
		if (eq_nocase(p + start, v - start, verbs[i].name))
			cmd->verb = verbs[i].verb;
	/* NUL and controls have no place in a command (§4.1.1; HTAB is
	 * tolerated as a blank).  A NUL would also cut the line short for
	 * any later code that took it for a C string. */
	for (i = 0; i < len; i++)
		if (p[i] == 0 || (p[i] < 32 && p[i] != '\t') || p[i] == 127)
			return fail(cmd, SMTP_CMD_ERR_BAD_CHAR,
				    "NUL or control character in command");
	if (cmd->verb == SMTP_CMD_UNKNOWN)
		return fail(cmd, SMTP_CMD_ERR_UNKNOWN_VERB, NULL);
	skip_blanks(p, end, &v);
	p += v;
	len = end - v;

	switch (cmd->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		return parse_helo(cmd, p, len);
	case SMTP_CMD_MAIL:
	case SMTP_CMD_RCPT:
		return parse_path_cmd(cmd, p, len, flags);
	case SMTP_CMD_BDAT:
		return parse_bdat(cmd, p, len);
	case SMTP_CMD_AUTH:
		return parse_auth(cmd, p, len);
	case SMTP_CMD_VRFY:
	case SMTP_CMD_EXPN:
	case SMTP_CMD_HELP:
	case SMTP_CMD_NOOP:
		return parse_string(cmd, p, len, flags);
	case SMTP_CMD_DATA:
	case SMTP_CMD_RSET:
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
		if (len > 0)
			return fail(cmd, SMTP_CMD_ERR_NO_ARGS,
				    syntax_of(cmd->verb));
		return 0;
	case SMTP_CMD_UNKNOWN:
		break;
	}
	return fail(cmd, SMTP_CMD_ERR_UNKNOWN_VERB, NULL);
}

/* smtp_cmd_verb_name - the verb's name */
const char *smtp_cmd_verb_name(enum smtp_cmd_verb verb)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "UNKNOWN";
}

/* smtp_cmd_error_code - suggested basic reply code */
int smtp_cmd_error_code(enum smtp_cmd_error err)
{
	return (size_t)err < NERRORS ? errors[err].code : 500;
}

/* smtp_cmd_error_dsn - RFC 3463 enhanced status code */
const char *smtp_cmd_error_dsn(enum smtp_cmd_error err)
{
	return (size_t)err < NERRORS ? errors[err].dsn : "5.5.0";
}

/* smtp_cmd_error_text - suggested reply text */
const char *smtp_cmd_error_text(enum smtp_cmd_error err)
{
	return (size_t)err < NERRORS ? errors[err].text : "Error";
}
