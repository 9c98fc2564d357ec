/*
 * fuzz_pop3_cmd - libFuzzer target for the POP3 command parser
 *
 * SYNOPSIS
 *	tests/fuzz/pop3_cmd/fuzz_pop3_cmd [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Feeds each input, as one command line of exactly its length (no NUL
 *	added, so ASan sees any read past the end), to pop3_cmd_parse()
 *	with and without POP3_CMD_FLAG_UTF8, and checks what the parser
 *	promises:
 *
 *	- the return value agrees with cmd->error, and every error has a
 *	  text;
 *	- every pointer handed back lies inside the input;
 *	- a line over POP3_CMD_LINE_MAX is always refused;
 *	- a success has no control character anywhere, a message number
 *	  of at least 1 where one is required, and 8-bit bytes only in
 *	  PASS, or in USER with the UTF8 flag;
 *	- a parse with the UTF8 flag succeeds whenever one without it does.
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

#include "pop3_cmd.h"

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

/* check_cmd - the invariants of one parse */
static void check_cmd(const struct pop3_cmd *cmd, int rc, unsigned flags,
		      const uint8_t *data, size_t size)
{
	check(rc == 0 || rc == -1);
	check((rc == 0) == (cmd->error == POP3_CMD_OK));
	check(pop3_cmd_error_text(cmd->error) != NULL);
	check(pop3_cmd_verb_name(cmd->verb) != NULL);
	if (size > POP3_CMD_LINE_MAX)
		check(rc == -1 && cmd->error == POP3_CMD_ERR_TOO_LONG);
	if (rc < 0)
		return;
	check(cmd->verb != POP3_CMD_UNKNOWN);
	check(inside(cmd->verb_text, cmd->verb_len, data, size));
	check(inside(cmd->arg, cmd->arg_len, data, size));
	check(inside(cmd->initial, cmd->initial_len, data, size));
	for (size_t i = 0; i < size; i++) {
		check(data[i] >= 0x20 && data[i] != 0x7f);
		if (data[i] >= 0x80)
			check(cmd->verb == POP3_CMD_PASS ||
			      (cmd->verb == POP3_CMD_USER &&
			       (flags & POP3_CMD_FLAG_UTF8)));
	}
	switch (cmd->verb) {
	case POP3_CMD_RETR:
	case POP3_CMD_DELE:
	case POP3_CMD_TOP:
		check(cmd->has_msg);
		/* fall through */
	case POP3_CMD_LIST:
	case POP3_CMD_UIDL:
		check(!cmd->has_msg || cmd->msg >= 1);
		break;
	case POP3_CMD_USER:
	case POP3_CMD_PASS:
		check(cmd->arg != NULL && cmd->arg_len > 0);
		break;
	case POP3_CMD_AUTH:
		check(cmd->initial == NULL || cmd->arg != NULL);
		check(cmd->arg_len <= POP3_CMD_MECH_MAX);
		break;
	default:
		check(cmd->arg == NULL && !cmd->has_msg);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the fuzzer's own buffer may have slack. */
	char *line = malloc(size ? size : 1);
	struct pop3_cmd plain, utf8;
	int rc_plain, rc_utf8;

	check(line != NULL);
	memcpy(line, data, size);
	rc_plain = pop3_cmd_parse(line, size, 0, &plain);
	check_cmd(&plain, rc_plain, 0, (const uint8_t *)line, size);
	rc_utf8 = pop3_cmd_parse(line, size, POP3_CMD_FLAG_UTF8, &utf8);
	check_cmd(&utf8, rc_utf8, POP3_CMD_FLAG_UTF8, (const uint8_t *)line,
		  size);
	if (rc_plain == 0)
		check(rc_utf8 == 0 && utf8.verb == plain.verb);
	free(line);
	return 0;
}
