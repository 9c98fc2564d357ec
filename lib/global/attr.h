/*
 * attr - the one IPC framing: length-prefixed name/value attribute records
 *
 * Every pair of Facteur processes talks in frames (DESIGN.md §4, STYLE.md
 * §9).  A frame is
 *
 *	u32 payload length (big-endian) | payload
 *
 * and the payload is a sequence of attributes
 *
 *	u8 name length | name | u32 value length (big-endian) | value
 *
 * Names are 1..ATTR_NAME_MAX bytes of [a-z0-9_]; values are arbitrary
 * bytes.  The first attribute of every frame is "proto" and names the
 * protocol and its version ("status/1", "wakeup/1"), so that a reader can
 * refuse what it does not speak.  Frames are capped (ATTR_FRAME_MAX by
 * default, smaller per use): a peer that announces a larger frame is
 * refused before a byte of it is buffered.
 *
 * Reading is strict by default: attr_list_end() fails when the reader did
 * not consume every attribute, so that a new attribute on one side cannot
 * be silently ignored by the other; readers that must accept newer peers
 * call attr_list_end_tolerant() instead.
 */
#ifndef FACTEUR_ATTR_H
#define FACTEUR_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define ATTR_NAME_MAX	 64
#define ATTR_FRAME_MAX	 (1024 * 1024)
#define ATTR_HEADER_SIZE 4
/* At most this many attributes (proto included) in one frame. */
#define ATTR_COUNT_MAX 256

/* Whether name[0..len) is a legal name: 1..ATTR_NAME_MAX of [a-z0-9_].
 * Queue file attributes (qfile.h) follow the same rule. */
bool attr_name_valid(const char *name, size_t len);

/* Encoding: frames are appended to a strbuf (with STRBUF_NO_LIMIT). */
struct attr_writer {
	struct strbuf *out;
	size_t start; /* offset of this frame's length prefix */
};

/* Start a frame in out with its "proto" attribute. */
void attr_writer_begin(struct attr_writer *w, struct strbuf *out,
		       const char *proto);
void attr_put_str(struct attr_writer *w, const char *name, const char *value);
void attr_put_data(struct attr_writer *w, const char *name, const void *data,
		   size_t len);
void attr_put_int(struct attr_writer *w, const char *name, int64_t value);
/* Fill in the length prefix; panics if the frame passed ATTR_FRAME_MAX. */
void attr_writer_end(struct attr_writer *w);

/* A decoded frame.  Values are NUL-terminated copies (len excludes it). */
struct attr {
	char *name;
	char *value;
	size_t len;
	bool consumed;
};

struct attr_list {
	struct attr *attrs;
	size_t count;
	const char *proto; /* value of the leading "proto" attribute */
};

/*
 * attr_decode - decode one payload (without the length prefix).
 * Returns a list or NULL with *error_r set (static text): bad name,
 * truncated attribute, missing "proto" first, duplicate name.
 */
struct attr_list *attr_decode(const void *payload, size_t len,
			      const char **error_r);
void attr_list_free(struct attr_list **listp);

/*
 * Getters mark the attribute consumed.  Each returns 0, or -1 with
 * *error_r ("missing attribute 'pid'", "attribute 'pid': not a number").
 * The string getter fails for values holding a NUL byte.
 */
int attr_get_str(struct attr_list *list, const char *name, const char **value_r,
		 const char **error_r);
int attr_get_data(struct attr_list *list, const char *name, const void **data_r,
		  size_t *len_r, const char **error_r);
int attr_get_int(struct attr_list *list, const char *name, int64_t *value_r,
		 const char **error_r);
/* Strict end: -1 when an attribute was left unread. */
int attr_list_end(struct attr_list *list, const char **error_r);
/* Tolerant end: always 0. */
int attr_list_end_tolerant(struct attr_list *list);

/*
 * Incremental reader for a byte stream: feed it what arrived, take frames
 * out.  attr_reader_next() returns 1 with a frame, 0 when it needs more
 * bytes, -1 on a malformed or oversized frame (the stream is then
 * unusable: close it).
 */
struct attr_reader;
struct attr_reader *attr_reader_create(size_t max_frame);
void attr_reader_free(struct attr_reader **readerp);
/* -1 when the bytes would make the buffer exceed one maximal frame. */
int attr_reader_feed(struct attr_reader *reader, const void *data, size_t len);
int attr_reader_next(struct attr_reader *reader, struct attr_list **list_r,
		     const char **error_r);
/* Bytes fed and not yet taken out as frames (a peer that spoke out of
 * turn leaves some behind). */
size_t attr_reader_buffered(const struct attr_reader *reader);

/*
 * Blocking helpers for simple request/reply over a socket or pipe.
 * attr_write_fd() writes the whole frame (retrying EINTR and short
 * writes).  attr_read_fd() reads exactly one frame of at most max_frame
 * bytes; it returns 1 with a frame, 0 at a clean end of file before any
 * byte, -1 on error (*error_r set, errno preserved for I/O errors).
 */
int attr_write_fd(int fd, const struct strbuf *frame);
int attr_read_fd(int fd, size_t max_frame, struct attr_list **list_r,
		 const char **error_r);

#endif
