/*
 * fuzz_smtp_nexthop - libFuzzer target for the smtp agent's nexthop
 *		       parser and content encoder
 *
 * SYNOPSIS
 *	tests/fuzz/smtp_nexthop/fuzz_smtp_nexthop [libFuzzer options]
 *
 * DESCRIPTION
 *	The first byte picks lmtp (bit 0) and a chunk size (the rest); the
 *	input after it, up to the first NUL, is given to
 *	smtp_nexthop_parse() (a transport_maps value is an admin's text):
 *	on success the port must be 1..65535, the host non-empty and
 *	bounded, a unix path absolute.  The whole input is then encoded by
 *	smtp_dot_encode() in chunks of that size and must decode back:
 *	every line of the output ends in CRLF, the output ends in
 *	"\r\n.\r\n" (or is ".\r\n"), no line but the last is a lone ".",
 *	and un-stuffing it gives the input with bare LF made CRLF.  A
 *	broken promise calls abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "strbuf.h"

static void check_nexthop(const uint8_t *data, size_t size, bool lmtp)
{
	char buf[1024];
	struct smtp_dest d;
	const char *err;
	size_t n = strnlen((const char *)data, size);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, data, n);
	buf[n] = '\0';
	if (smtp_nexthop_parse(buf, lmtp, 25, &d, &err) < 0) {
		if (err == NULL || strncmp(err, "bad nexthop", 11) != 0)
			abort();
		return;
	}
	if (d.port < 1 || d.port > 65535 || d.host[0] == '\0' ||
	    strlen(d.host) > DNS_NAME_MAX)
		abort();
	if (d.kind == SMTP_DEST_UNIX && (!lmtp || d.path[0] != '/'))
		abort();
	if (d.kind == SMTP_DEST_MX && lmtp)
		abort();
}

static void check_dot(const uint8_t *data, size_t size, size_t chunk)
{
	struct smtp_dot dot;
	struct strbuf out, expect;
	size_t i, line_start = 0;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_init(&expect, STRBUF_NO_LIMIT);
	smtp_dot_init(&dot);
	for (i = 0; i < size; i += chunk)
		smtp_dot_encode(&dot, data + i,
				size - i < chunk ? size - i : chunk, &out);
	smtp_dot_finish(&dot, &out);
	/* What un-stuffing must give: bare LF as CRLF, a final CRLF. */
	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			strbuf_append_char(&expect, '\r');
		strbuf_append_char(&expect, (char)data[i]);
	}
	if (expect.len > 0 &&
	    !(expect.len >= 2 && expect.data[expect.len - 1] == '\n' &&
	      expect.data[expect.len - 2] == '\r')) {
		if (expect.data[expect.len - 1] == '\r')
			strbuf_append_char(&expect, '\n');
		else
			strbuf_append_str(&expect, "\r\n");
	}
	if (out.len < 3 || memcmp(out.data + out.len - 3, ".\r\n", 3) != 0)
		abort();
	if (out.len > 3 && memcmp(out.data + out.len - 5, "\r\n", 2) != 0)
		abort();
	/* Un-stuff line by line (the terminator excluded) and compare. */
	{
		struct strbuf un;
		size_t end = out.len - 3;

		strbuf_init(&un, STRBUF_NO_LIMIT);
		for (i = 0; i < end; i++) {
			if (out.data[i] == '\n' &&
			    (i == 0 || out.data[i - 1] != '\r'))
				abort(); /* a bare LF on the wire */
			if (i == line_start && out.data[i] == '.') {
				if (i + 1 >= end || out.data[i + 1] != '.')
					abort(); /* a lone or unstuffed dot */
				continue;
			}
			strbuf_append_char(&un, out.data[i]);
			if (out.data[i] == '\n')
				line_start = i + 1;
		}
		if (un.len != expect.len ||
		    memcmp(un.data, expect.data, un.len) != 0)
			abort();
		strbuf_release(&un);
	}
	strbuf_release(&out);
	strbuf_release(&expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool lmtp;
	size_t chunk;

	if (size < 1)
		return 0;
	lmtp = data[0] & 1;
	chunk = (data[0] >> 1) + 1;
	check_nexthop(data + 1, size - 1, lmtp);
	check_dot(data + 1, size - 1, chunk);
	return 0;
}
