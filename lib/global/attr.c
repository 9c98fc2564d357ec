/*
 * attr - the one IPC framing: length-prefixed name/value attribute records
 *
 * SYNOPSIS
 *	#include "attr.h"
 *
 *	struct attr_writer w;
 *	attr_writer_begin(&w, out, "status/1");
 *	attr_put_int(&w, "pid", getpid());
 *	attr_writer_end(&w);
 *
 *	list = attr_decode(payload, len, &error);
 *	attr_get_int(list, "pid", &pid, &error);
 *	attr_list_end(list, &error);
 *	attr_list_free(&list);
 *
 *	reader = attr_reader_create(max_frame);
 *	attr_reader_feed(reader, data, len);
 *	while ((ret = attr_reader_next(reader, &list, &error)) == 1) ...
 *
 * DESCRIPTION
 *	The wire format is described in attr.h.  The writer appends frames
 *	to a strbuf: attr_writer_begin() reserves the 4-byte length prefix
 *	and writes the "proto" attribute, the attr_put_*() calls append
 *	attributes (integers as decimal text, so that a reader never has to
 *	care about the width or byte order the writer used), and
 *	attr_writer_end() fills in the length.
 *
 *	attr_decode() turns one payload into a list of NUL-terminated copies.
 *	The getters look attributes up by name and mark them consumed;
 *	attr_list_end() then fails if the peer sent something nobody read
 *	(OpenSMTPD mproc.c m_end(), Postfix attr_scan0.c).
 *
 *	attr_reader is the incremental form for event-driven code: bytes go
 *	in as they arrive, whole frames come out.  attr_read_fd() and
 *	attr_write_fd() are blocking helpers for simple request/reply.
 *
 * DIAGNOSTICS
 *	Decoding and reading never exit on bad input: they return -1 (or
 *	NULL) with *error_r pointing to a static string or to a static
 *	buffer that the next call into this module overwrites.  A writer
 *	that builds a frame larger than ATTR_FRAME_MAX, or uses a bad
 *	attribute name, is a bug and panics.  Out of memory is fatal
 *	(alloc.h).
 *
 * SECURITY
 *	Frames come from less privileged processes (a compromised smtpd may
 *	send anything to master or qmgr), so every length is checked
 *	against what remains of the payload with subtraction (never by
 *	adding two lengths that a peer controls, which could wrap), names
 *	are restricted to [a-z0-9_] so they can be printed in errors and
 *	logs as they are, the number of attributes is capped, and the frame
 *	size is checked on the length prefix before a byte of the payload
 *	is buffered or allocated.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "log.h"
#include "strbuf.h"
#include "strnum.h"

/* Room for a message naming an attribute (<= 64 bytes) or a caller's name. */
static char attr_errbuf[256];

struct attr_reader {
	struct strbuf buf;
	size_t max_frame;
	const char *error; /* sticky: once broken, the stream stays so */
};

/* attr_error - format an error into the module's static buffer */
static const char *attr_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *attr_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(attr_errbuf, sizeof(attr_errbuf), fmt, ap);
	va_end(ap);
	return attr_errbuf;
}

/* put_u32 - store a 32-bit big-endian number */
static void put_u32(unsigned char *p, uint32_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

/* get_u32 - load a 32-bit big-endian number */
static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* attr_name_valid - is this a legal attribute name of len bytes? */
bool attr_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ATTR_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* writer_append - append to the frame; our own buffer, so failure is a bug */
static void writer_append(struct attr_writer *w, const void *data, size_t len)
{
	if (strbuf_append(w->out, data, len) < 0)
		log_panic("attr: output buffer limit reached");
}

/* attr_writer_begin - start a frame with its length prefix and proto */
void attr_writer_begin(struct attr_writer *w, struct strbuf *out,
		       const char *proto)
{
	static const unsigned char zero[ATTR_HEADER_SIZE];

	if (proto == NULL || *proto == '\0')
		log_panic("attr_writer_begin: empty proto");
	w->out = out;
	w->start = out->len;
	writer_append(w, zero, sizeof(zero));
	attr_put_str(w, "proto", proto);
}

/* attr_put_str - append a string attribute */
void attr_put_str(struct attr_writer *w, const char *name, const char *value)
{
	attr_put_data(w, name, value, strlen(value));
}

/* attr_put_data - append an attribute with arbitrary bytes as its value */
void attr_put_data(struct attr_writer *w, const char *name, const void *data,
		   size_t len)
{
	size_t nlen = strlen(name);
	unsigned char hdr[4];
	unsigned char nl;

	/* Our own names and sizes: a bad one is a bug, not a peer's fault. */
	if (!attr_name_valid(name, nlen))
		log_panic("attr_put_data: bad attribute name '%.64s'", name);
	if (len > ATTR_FRAME_MAX)
		log_panic("attr_put_data: value of '%s' is %zu bytes, more "
			  "than a frame may hold",
			  name, len);
	nl = (unsigned char)nlen;
	writer_append(w, &nl, 1);
	writer_append(w, name, nlen);
	put_u32(hdr, (uint32_t)len);
	writer_append(w, hdr, sizeof(hdr));
	writer_append(w, data, len);
}

/* attr_put_int - append an integer attribute as decimal text */
void attr_put_int(struct attr_writer *w, const char *name, int64_t value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)value);

	if (n < 0 || (size_t)n >= sizeof(buf))
		log_panic("attr_put_int: cannot format %lld", (long long)value);
	attr_put_data(w, name, buf, (size_t)n);
}

/* attr_writer_end - fill in the length prefix of the frame */
void attr_writer_end(struct attr_writer *w)
{
	size_t payload;

	if (w->out->len < w->start + ATTR_HEADER_SIZE)
		log_panic("attr_writer_end: frame without a header");
	payload = w->out->len - w->start - ATTR_HEADER_SIZE;
	if (payload > ATTR_FRAME_MAX)
		log_panic("attr_writer_end: frame of %zu bytes exceeds the "
			  "limit of %d",
			  payload, ATTR_FRAME_MAX);
	put_u32((unsigned char *)w->out->data + w->start, (uint32_t)payload);
}

/* list_add - append a decoded attribute to the list */
static void list_add(struct attr_list *list, size_t *cap, const char *name,
		     size_t nlen, const unsigned char *value, size_t vlen)
{
	struct attr *a;

	if (list->count == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		list->attrs = xreallocarray(list->attrs, *cap, sizeof(*a));
	}
	a = &list->attrs[list->count++];
	a->name = xstrndup(name, nlen);
	/* vlen is at most the payload size, so vlen + 1 cannot wrap. */
	a->value = xmalloc(vlen + 1);
	if (vlen > 0)
		memcpy(a->value, value, vlen);
	a->value[vlen] = '\0';
	a->len = vlen;
	a->consumed = false;
}

/* attr_decode - decode one payload into a list of attributes */
struct attr_list *attr_decode(const void *payload, size_t len,
			      const char **error_r)
{
	const unsigned char *p = payload;
	struct attr_list *list = xcalloc(1, sizeof(*list));
	size_t cap = 0, pos = 0;

	while (pos < len) {
		const char *name;
		size_t nlen, vlen;

		if (list->count >= ATTR_COUNT_MAX) {
			*error_r = "too many attributes";
			goto fail;
		}
		nlen = p[pos++];
		if (nlen == 0 || nlen > ATTR_NAME_MAX) {
			*error_r = "bad attribute name";
			goto fail;
		}
		/* Compare with what is left: pos + nlen could wrap. */
		if (nlen > len - pos) {
			*error_r = "truncated attribute name";
			goto fail;
		}
		name = (const char *)p + pos;
		if (!attr_name_valid(name, nlen)) {
			*error_r = "bad attribute name";
			goto fail;
		}
		pos += nlen;
		if (len - pos < 4) {
			*error_r = "truncated attribute length";
			goto fail;
		}
		vlen = get_u32(p + pos);
		pos += 4;
		if (vlen > len - pos) {
			*error_r = "truncated attribute value";
			goto fail;
		}
		if (list->count == 0) {
			if (nlen != 5 || memcmp(name, "proto", 5) != 0) {
				*error_r = "first attribute is not proto";
				goto fail;
			}
			if (vlen == 0) {
				*error_r = "empty proto attribute";
				goto fail;
			}
			if (memchr(p + pos, '\0', vlen) != NULL) {
				*error_r = "bad proto attribute";
				goto fail;
			}
		}
		/* At most 256 names of 64 bytes: a linear scan is cheap. */
		for (size_t i = 0; i < list->count; i++) {
			if (strlen(list->attrs[i].name) == nlen &&
			    memcmp(list->attrs[i].name, name, nlen) == 0) {
				*error_r = attr_error("duplicate attribute "
						      "'%.*s'",
						      (int)nlen, name);
				goto fail;
			}
		}
		list_add(list, &cap, name, nlen, p + pos, vlen);
		pos += vlen;
	}
	if (list->count == 0) {
		*error_r = "first attribute is not proto";
		goto fail;
	}
	list->proto = list->attrs[0].value;
	list->attrs[0].consumed = true;
	return list;

fail:
	attr_list_free(&list);
	return NULL;
}

/* attr_list_free - free a decoded list and clear the caller's pointer */
void attr_list_free(struct attr_list **listp)
{
	struct attr_list *list = *listp;

	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->attrs[i].name);
		/* Values may be secrets (auth/1 passwords): wipe them. */
		memzero_explicit(list->attrs[i].value, list->attrs[i].len);
		free(list->attrs[i].value);
	}
	free(list->attrs);
	free(list);
	*listp = NULL;
}

/* find - the attribute called name, or NULL with *error_r set */
static struct attr *find(struct attr_list *list, const char *name,
			 const char **error_r)
{
	for (size_t i = 0; i < list->count; i++) {
		if (strcmp(list->attrs[i].name, name) == 0)
			return &list->attrs[i];
	}
	*error_r = attr_error("missing attribute '%.64s'", name);
	return NULL;
}

/* attr_get_str - a string value; fails when the value holds a NUL byte */
int attr_get_str(struct attr_list *list, const char *name, const char **value_r,
		 const char **error_r)
{
	struct attr *a = find(list, name, error_r);

	if (a == NULL)
		return -1;
	/* A NUL would silently cut the string short for every C caller. */
	if (memchr(a->value, '\0', a->len) != NULL) {
		*error_r = attr_error("attribute '%s': contains a NUL byte",
				      a->name);
		return -1;
	}
	a->consumed = true;
	*value_r = a->value;
	return 0;
}

/* attr_get_data - the raw bytes of a value */
int attr_get_data(struct attr_list *list, const char *name, const void **data_r,
		  size_t *len_r, const char **error_r)
{
	struct attr *a = find(list, name, error_r);

	if (a == NULL)
		return -1;
	a->consumed = true;
	*data_r = a->value;
	*len_r = a->len;
	return 0;
}

/* attr_get_int - a strict decimal int64 value */
int attr_get_int(struct attr_list *list, const char *name, int64_t *value_r,
		 const char **error_r)
{
	struct attr *a = find(list, name, error_r);
	int64_t num;

	if (a == NULL)
		return -1;
	/* strlen() check: "12\0junk" must not pass as 12. */
	if (strlen(a->value) != a->len || str_to_i64(a->value, &num) < 0) {
		*error_r = attr_error("attribute '%s': not a number", a->name);
		return -1;
	}
	a->consumed = true;
	*value_r = num;
	return 0;
}

/* attr_list_end - strict end: every attribute must have been read */
int attr_list_end(struct attr_list *list, const char **error_r)
{
	for (size_t i = 0; i < list->count; i++) {
		if (!list->attrs[i].consumed) {
			*error_r = attr_error("unexpected attribute '%s'",
					      list->attrs[i].name);
			return -1;
		}
	}
	return 0;
}

/* attr_list_end_tolerant - end for readers that accept newer peers */
int attr_list_end_tolerant(struct attr_list *list)
{
	(void)list;
	return 0;
}

/* oversize_error - the message for a length prefix above the limit */
static const char *oversize_error(uint32_t len, size_t max_frame)
{
	return attr_error("frame of %lu bytes exceeds the limit of %zu",
			  (unsigned long)len, max_frame);
}

/* attr_reader_create - an incremental reader for frames up to max_frame */
struct attr_reader *attr_reader_create(size_t max_frame)
{
	struct attr_reader *reader = xcalloc(1, sizeof(*reader));

	/* No writer can produce more, so a larger cap only wastes memory. */
	if (max_frame > ATTR_FRAME_MAX)
		max_frame = ATTR_FRAME_MAX;
	reader->max_frame = max_frame;
	strbuf_init(&reader->buf, ATTR_HEADER_SIZE + max_frame);
	return reader;
}

/* attr_reader_free - free a reader and clear the caller's pointer */
void attr_reader_free(struct attr_reader **readerp)
{
	if (*readerp == NULL)
		return;
	strbuf_release(&(*readerp)->buf);
	free(*readerp);
	*readerp = NULL;
}

/* attr_reader_feed - buffer bytes that arrived; -1 past one maximal frame */
int attr_reader_feed(struct attr_reader *reader, const void *data, size_t len)
{
	return strbuf_append(&reader->buf, data, len);
}

/* attr_reader_next - take one whole frame out of the buffer, if there is */
int attr_reader_next(struct attr_reader *reader, struct attr_list **list_r,
		     const char **error_r)
{
	const unsigned char *p = (const unsigned char *)reader->buf.data;
	uint32_t len;

	if (reader->error != NULL) {
		*error_r = reader->error;
		return -1;
	}
	if (reader->buf.len < ATTR_HEADER_SIZE)
		return 0;
	len = get_u32(p);
	/* Refuse on the prefix alone, before waiting for the payload. */
	if (len > reader->max_frame) {
		reader->error = "frame exceeds the size limit";
		*error_r = oversize_error(len, reader->max_frame);
		return -1;
	}
	if (reader->buf.len - ATTR_HEADER_SIZE < len)
		return 0;
	*list_r = attr_decode(p + ATTR_HEADER_SIZE, len, error_r);
	if (*list_r == NULL) {
		reader->error = "malformed frame";
		return -1;
	}
	strbuf_consume(&reader->buf, ATTR_HEADER_SIZE + (size_t)len);
	return 1;
}

/* attr_reader_buffered - bytes waiting in the reader */
size_t attr_reader_buffered(const struct attr_reader *reader)
{
	return reader->buf.len;
}

/* attr_write_fd - write a whole frame, riding out EINTR and short writes */
int attr_write_fd(int fd, const struct strbuf *frame)
{
	const char *p = frame->data;
	size_t left = frame->len;

	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

/*
 * read_full - read up to len bytes; returns how many arrived before end of
 * file, or -1 on an I/O error
 */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* read_error - the message for a failed read(2), keeping errno */
static const char *read_error(void)
{
	int saved = errno;
	const char *error = attr_error("read: %s", strerror(saved));

	errno = saved;
	return error;
}

/* attr_read_fd - read exactly one frame from a blocking descriptor */
int attr_read_fd(int fd, size_t max_frame, struct attr_list **list_r,
		 const char **error_r)
{
	unsigned char hdr[ATTR_HEADER_SIZE];
	unsigned char *payload;
	uint32_t len;
	ssize_t n;

	if (max_frame > ATTR_FRAME_MAX)
		max_frame = ATTR_FRAME_MAX;
	n = read_full(fd, hdr, sizeof(hdr));
	if (n < 0) {
		*error_r = read_error();
		return -1;
	}
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(hdr)) {
		*error_r = "unexpected end of file";
		return -1;
	}
	len = get_u32(hdr);
	/* Before allocating or reading a byte of what the peer announced. */
	if (len > max_frame) {
		*error_r = oversize_error(len, max_frame);
		return -1;
	}
	payload = xmalloc(len > 0 ? len : 1);
	n = read_full(fd, payload, len);
	if (n < 0) {
		free(payload);
		*error_r = read_error();
		return -1;
	}
	if ((size_t)n < len) {
		free(payload);
		*error_r = "unexpected end of file";
		return -1;
	}
	*list_r = attr_decode(payload, len, error_r);
	free(payload);
	return *list_r == NULL ? -1 : 1;
}
