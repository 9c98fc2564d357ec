/*
 * fuzz_smtp_cmd - libFuzzer target for the SMTP command and path parsers
 *
 * SYNOPSIS
 *	tests/fuzz/smtp_cmd/fuzz_smtp_cmd [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Feeds each input, as one command line of exactly its length (no NUL
 *	added, so ASan sees any read past the end), to smtp_cmd_parse()
 *	with every combination of the SMTPUTF8, UTF-8 transaction and strict
 *	flags, and the whole input to smtp_addr_parse() with and without
 *	every leniency.  Then checks what the parsers promise:
 *
 *	- a success has no error, and an error has a reply code of 5xx;
 *	- every pointer handed back lies inside the input;
 *	- every string of struct smtp_addr is NUL-terminated within its
 *	  buffer, and a successful path re-parses to the same address;
 *	- for a MAIL or RCPT that parses, every parameter value and every
 *	  decoded value survives decode(encode(x)) == x through the xtext
 *	  codec.
 *
 *	A broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort when a promise is broken */
static void check(int ok)
{
	if (!ok)
		abort();
}

/* inside - does [p, p+n) lie within the input (or is p NULL) */
static int inside(const char *p, size_t n, const uint8_t *data, size_t size)
{
	if (p == NULL)
		return n == 0;
	return (const uint8_t *)p >= data && n <= size &&
	       (const uint8_t *)p - data <= (ptrdiff_t)(size - n);
}

/* terminated - is there a NUL within buf[0..size) */
static int terminated(const char *buf, size_t size)
{
	return memchr(buf, 0, size) != NULL;
}

/* round_trip - decode(encode(x)) == x through the xtext codec */
static void round_trip(const void *x, size_t len)
{
	struct strbuf enc;
	char *dec;
	size_t n;

	strbuf_init(&enc, STRBUF_NO_LIMIT);
	check(smtp_cmd_xtext_encode(x, len, &enc) == 0);
	/* The encoding holds only xchars and "+HH": at most 3x. */
	check(enc.len <= 3 * len);
	dec = malloc(len + 1);
	check(dec != NULL);
	check(smtp_cmd_xtext_decode(enc.data, enc.len, dec, len + 1, &n) == 0);
	check(n == len && memcmp(dec, x, len) == 0);
	free(dec);
	strbuf_release(&enc);
}

/* check_addr - the invariants of a parsed path */
static void check_addr(const struct smtp_addr *a, unsigned flags)
{
	struct smtp_addr again;
	size_t len;

	check(terminated(a->addr, sizeof(a->addr)));
	check(terminated(a->local, sizeof(a->local)));
	check(terminated(a->local_unquoted, sizeof(a->local_unquoted)));
	check(terminated(a->domain, sizeof(a->domain)));
	check(strlen(a->local_unquoted) <= strlen(a->local));
	if (a->null) {
		check(a->addr[0] == 0);
		return;
	}
	/* The canonical address, bracketed, is a path that means the same
	 * (the source route is gone and quotes may be, nothing else). */
	{
		char path[SMTP_ADDR_PATH_MAX + 3];

		len = strlen(a->addr);
		check(len + 2 <= SMTP_ADDR_PATH_MAX);
		path[0] = '<';
		memcpy(path + 1, a->addr, len);
		path[len + 1] = '>';
		check(smtp_addr_parse(path, len + 2,
				      flags & ~SMTP_ADDR_FLAG_BARE_OK,
				      &again) == SMTP_ADDR_OK);
		check(strcmp(again.addr, a->addr) == 0);
		check(strcmp(again.local_unquoted, a->local_unquoted) == 0);
		check(strcmp(again.domain, a->domain) == 0);
		check(again.utf8 == a->utf8);
	}
}

/* check_cmd - the invariants of a command parse */
static void check_cmd(const struct smtp_cmd *cmd, int rc, unsigned flags,
		      const uint8_t *data, size_t size)
{
	char buf[SMTP_CMD_ORCPT_MAX + 1];
	size_t i, n;

	check((rc == 0) == (cmd->error == SMTP_CMD_OK));
	check(rc == 0 || rc == -1);
	if (rc < 0) {
		check(smtp_cmd_error_code(cmd->error) >= 500 &&
		      smtp_cmd_error_code(cmd->error) <= 555);
		check(smtp_cmd_error_dsn(cmd->error)[0] == '5');
		check(cmd->error_param >= -1 &&
		      cmd->error_param < (int)cmd->nparams);
		return;
	}
	check(cmd->verb != SMTP_CMD_UNKNOWN);
	check(inside(cmd->verb_text, cmd->verb_len, data, size));
	check(inside(cmd->arg, cmd->arg_len, data, size));
	check(inside(cmd->auth.mech, cmd->auth.mech_len, data, size));
	check(inside(cmd->auth.initial, cmd->auth.initial_len, data, size));
	check(cmd->nparams <= SMTP_CMD_PARAMS_MAX);
	if (cmd->verb != SMTP_CMD_MAIL && cmd->verb != SMTP_CMD_RCPT)
		return;
	check_addr(&cmd->addr,
		   (cmd->verb == SMTP_CMD_MAIL ? SMTP_ADDR_FLAG_NULL_OK
					       : SMTP_ADDR_FLAG_POSTMASTER_OK) |
			   SMTP_ADDR_FLAG_UTF8);
	if (cmd->addr.utf8)
		check(cmd->verb == SMTP_CMD_MAIL
			      ? cmd->smtputf8
			      : (flags & SMTP_CMD_FLAG_UTF8_TXN) != 0);
	for (i = 0; i < cmd->nparams; i++) {
		const struct smtp_cmd_param *pa = &cmd->params[i];

		check(inside(pa->keyword, pa->keyword_len, data, size));
		check(pa->keyword_len > 0);
		check(inside(pa->value, pa->value_len, data, size));
		if (pa->value != NULL) {
			round_trip(pa->value, pa->value_len);
			/* A value that decoded here decodes the same way
			 * again (AUTH=<> is not xtext, hence the size). */
			if (pa->value_len <= SMTP_CMD_ORCPT_MAX &&
			    smtp_cmd_xtext_decode(pa->value, pa->value_len, buf,
						  sizeof(buf), &n) == 0)
				round_trip(buf, n);
		}
	}
	if (cmd->mail.has_envid) {
		check(terminated(cmd->mail.envid, sizeof(cmd->mail.envid)));
		round_trip(cmd->mail.envid, strlen(cmd->mail.envid));
	}
	if (cmd->mail.has_auth && !cmd->mail.auth_null) {
		check(terminated(cmd->mail.auth, sizeof(cmd->mail.auth)));
		round_trip(cmd->mail.auth, strlen(cmd->mail.auth));
	}
	if (cmd->rcpt.has_orcpt) {
		check(terminated(cmd->rcpt.orcpt, sizeof(cmd->rcpt.orcpt)));
		check(cmd->rcpt.orcpt_type[0] != 0);
		round_trip(cmd->rcpt.orcpt, strlen(cmd->rcpt.orcpt));
	}
	if (cmd->rcpt.notify & SMTP_CMD_NOTIFY_NEVER)
		check(cmd->rcpt.notify == SMTP_CMD_NOTIFY_NEVER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the fuzzer's own buffer may have slack. */
	char *line = malloc(size ? size : 1);
	struct smtp_cmd *cmd = malloc(sizeof(*cmd));
	struct smtp_addr addr;
	unsigned flags;
	size_t used;
	enum smtp_addr_error err;
	int rc;

	check(line != NULL && cmd != NULL);
	memcpy(line, data, size);
	for (flags = 0; flags < 8; flags++) {
		rc = smtp_cmd_parse(line, size, flags, cmd);
		check_cmd(cmd, rc, flags, (const uint8_t *)line, size);
	}
	for (flags = 0; flags < 16; flags++) {
		err = smtp_addr_parse_prefix(line, size, flags, &addr, &used);
		check(err == SMTP_ADDR_OK ? used > 0 && used <= size
					  : used == 0);
		if (err == SMTP_ADDR_OK)
			check_addr(&addr, flags);
		err = smtp_addr_parse(line, size, flags, &addr);
		if (err == SMTP_ADDR_OK)
			check_addr(&addr, flags);
		(void)smtp_addr_check_domain(line, size, flags);
	}
	free(cmd);
	free(line);
	return 0;
}
