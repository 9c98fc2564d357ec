/*
 * fuzz_userdb - libFuzzer target for the userdb/1 protocol checks
 *
 * SYNOPSIS
 *	fuzz_userdb [libFuzzer options] tests/fuzz/userdb/corpus
 *
 * DESCRIPTION
 *	Each input is a stream of frames (length prefix included), as a
 *	client or auth would send them.  Every frame that the attr reader
 *	takes out goes through the server's request check and, decoded
 *	again, the client's reply and done/1 checks (lib/global/userdb.c),
 *	whatever its protocol name says, so that the parsers meet every
 *	kind of frame.  A reply that passes must hold a valid name and an
 *	empty or absolute home, and a request that passes a valid name.
 *	The framing itself is fuzzed by tests/fuzz/attr.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "done_frame.h"
#include "log.h"
#include "userdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* quiet - keep the fuzzer's output clean */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* check_payload - every parser on one payload */
static void check_payload(const void *payload, size_t len)
{
	struct attr_list *list;
	struct userdb_entry e;
	enum userdb_result res;
	const char *error = NULL, *user, *reason;
	bool reuse;

	if ((list = attr_decode(payload, len, &error)) != NULL) {
		if (userdb_request_parse(list, &user, &error) == 0 &&
		    !userdb_name_valid(user))
			abort();
		attr_list_free(&list);
	}
	if ((list = attr_decode(payload, len, &error)) != NULL) {
		if (userdb_reply_parse(list, &res, &e, &reason, &error) == 0 &&
		    res == USERDB_OK &&
		    (!userdb_name_valid(e.user) ||
		     (e.home[0] != '\0' && e.home[0] != '/')))
			abort();
		userdb_entry_clear(&e);
		attr_list_free(&list);
	}
	if ((list = attr_decode(payload, len, &error)) != NULL) {
		(void)done_frame_parse(list, &reuse, &error);
		attr_list_free(&list);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	struct attr_reader *reader;
	struct attr_list *list;
	const char *error = NULL;

	if (!initialized) {
		log_set_hook(quiet, NULL);
		initialized = 1;
	}
	/* The whole input as a payload, then as a stream of frames. */
	check_payload(data, size);
	reader = attr_reader_create(USERDB_FRAME_MAX);
	if (attr_reader_feed(reader, data, size) == 0) {
		while (attr_reader_next(reader, &list, &error) > 0) {
			struct strbuf out;
			struct attr_writer w;

			/* Re-encode to get the payload back for the checks. */
			strbuf_init(&out, STRBUF_NO_LIMIT);
			attr_writer_begin(&w, &out, list->proto);
			for (size_t i = 0; i < list->count; i++)
				if (strcmp(list->attrs[i].name, "proto") != 0)
					attr_put_data(&w, list->attrs[i].name,
						      list->attrs[i].value,
						      list->attrs[i].len);
			attr_writer_end(&w);
			check_payload(out.data + ATTR_HEADER_SIZE,
				      out.len - ATTR_HEADER_SIZE);
			strbuf_release(&out);
			attr_list_free(&list);
		}
	}
	attr_reader_free(&reader);
	return 0;
}
