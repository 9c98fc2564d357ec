/*
 * local_loop - mail forwarding loop detection with Delivered-To:
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	char **local_loop_parse(const char *data, size_t len,
 *				size_t *count_r);
 *	bool local_loop_seen(struct local_request *req, const char *address);
 *	void local_loop_free(struct local_request *req);
 *
 * DESCRIPTION
 *	Every copy local writes (Maildir, file, command, forwarded message)
 *	carries "Delivered-To: <recipient>".  A message that comes back
 *	with that header for the recipient it is now being delivered to has
 *	gone round a loop (a .forward pointing at an address that forwards
 *	back, say): local_recipient.c bounces it with 5.4.6 "mail
 *	forwarding loop for ADDRESS", as Postfix's local does.
 *
 *	local_loop_parse() is the pure parser: header fields up to the
 *	first empty line (CRLF or LF line ends), folded lines joined,
 *	the field name matched without regard to case.  local_loop_seen()
 *	reads the header section of the request's message once (at most
 *	LOCAL_LOOP_HEADER_MAX bytes) and compares without regard to case.
 *
 * DIAGNOSTICS
 *	A message that cannot be read counts as carrying no header: the
 *	delivery itself then fails on the same read and defers.
 *
 * SECURITY
 *	The header is the sender's: bounded input, bounded output
 *	(LOCAL_LOOP_MAX values of at most 998 bytes).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "local.h"
#include "qfile.h"

/* How much of the header section is read for the check. */
#define LOCAL_LOOP_HEADER_MAX (256 * 1024)
/* The longest value kept (RFC 5322 line length). */
#define LOCAL_LOOP_VALUE_MAX 998

/* take_field - keep field[0..len) when it is a Delivered-To: */
static void take_field(const char *field, size_t len, char ***list,
		       size_t *count)
{
	static const char name[] = "delivered-to:";
	size_t n = sizeof(name) - 1, start, end;
	char *value;

	if (len < n || strncasecmp(field, name, n) != 0 ||
	    *count >= LOCAL_LOOP_MAX)
		return;
	start = n;
	end = len;
	while (start < end && isspace((unsigned char)field[start]))
		start++;
	while (end > start && isspace((unsigned char)field[end - 1]))
		end--;
	/* Empty, too long, or with a NUL (no address has one): skip. */
	if (end == start || end - start > LOCAL_LOOP_VALUE_MAX ||
	    memchr(field + start, '\0', end - start) != NULL)
		return;
	value = xstrndup(field + start, end - start);
	for (char *p = value; *p != '\0'; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	}
	*list = xreallocarray(*list, *count + 2, sizeof(char *));
	(*list)[(*count)++] = value;
	(*list)[*count] = NULL;
}

/* local_loop_parse - the Delivered-To: values of a header section */
char **local_loop_parse(const char *data, size_t len, size_t *count_r)
{
	char **list = NULL;
	size_t count = 0, pos = 0, field = 0;
	bool in_field = false;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t eol = nl != NULL ? (size_t)(nl - data) : len;
		size_t next = nl != NULL ? eol + 1 : len;
		size_t line_len = eol - pos;

		if (line_len > 0 && data[eol - 1] == '\r')
			line_len--;
		if (line_len == 0)
			break; /* the end of the header section */
		if (data[pos] == ' ' || data[pos] == '\t') {
			/* A continuation belongs to the field before it. */
		} else {
			if (in_field)
				take_field(data + field, pos - field, &list,
					   &count);
			field = pos;
			in_field = true;
		}
		pos = next;
	}
	if (in_field)
		take_field(data + field, (pos < len ? pos : len) - field, &list,
			   &count);
	*count_r = count;
	return list;
}

/* read_header - the message's header section, at most the limit */
static char *read_header(struct local_request *req, size_t *len_r)
{
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);

	while (len < LOCAL_LOOP_HEADER_MAX) {
		ssize_t n;

		if (cap - len < 4096) {
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = qfile_content_pread(req->q, req->fd, buf + len, cap - len,
					(uint64_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
		/* Stop once the empty line is in. */
		if (memmem(buf, len, "\n\r\n", 3) != NULL ||
		    memmem(buf, len, "\n\n", 2) != NULL)
			break;
	}
	*len_r = len;
	return buf;
}

/* local_loop_seen - whether a Delivered-To: names address */
bool local_loop_seen(struct local_request *req, const char *address)
{
	if (!req->delivered_read) {
		size_t len;
		char *hdr = read_header(req, &len);

		req->delivered =
			local_loop_parse(hdr, len, &req->delivered_count);
		req->delivered_read = true;
		free(hdr);
	}
	for (size_t i = 0; i < req->delivered_count; i++)
		if (strcasecmp(req->delivered[i], address) == 0)
			return true;
	return false;
}

/* local_loop_free - forget the values */
void local_loop_free(struct local_request *req)
{
	for (size_t i = 0; i < req->delivered_count; i++)
		free(req->delivered[i]);
	free(req->delivered);
	req->delivered = NULL;
	req->delivered_count = 0;
	req->delivered_read = false;
}
