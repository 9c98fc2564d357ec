/*
 * fuzz_login_session - libFuzzer target for the session/1 and
 * mail-session/1 frame checks (lib/login/login_session.c)
 *
 * SYNOPSIS
 *	fuzz_login_session [libFuzzer options] tests/fuzz/login_session/corpus
 *
 * DESCRIPTION
 *	Each input is a frame payload (no length prefix) as the dispatcher
 *	gets it from a login process, or a worker from its dispatcher: it
 *	goes to attr_decode() and, when that succeeds, to
 *	login_session_read() as a session/1 and (decoded again) as a
 *	mail-session/1.  A frame that is accepted is written back with
 *	login_session_write() and must be accepted again with the same
 *	values: what one side writes, the other reads.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "log.h"
#include "login.h"
#include "mail_user.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* quiet - keep the fuzzer's output clean */
static void quiet(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* roundtrip - write s (and user) again; it must read back the same */
static void roundtrip(const struct login_session *s,
		      const struct mail_user *user)
{
	struct strbuf out;
	struct attr_list *list;
	struct login_session s2;
	struct mail_user u2;
	const char *err;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	login_session_write(&out, s, user);
	list = attr_decode(out.data + ATTR_HEADER_SIZE,
			   out.len - ATTR_HEADER_SIZE, &err);
	if (list == NULL ||
	    login_session_read(list, &s2, user ? &u2 : NULL, &err) < 0)
		abort();
	if (strcmp(s->user, s2.user) != 0 || strcmp(s->tag, s2.tag) != 0 ||
	    s->tls != s2.tls || strcmp(s->client, s2.client) != 0)
		abort();
	if (user != NULL && (strcmp(user->maildir, u2.maildir) != 0 ||
			     user->uid != u2.uid || user->gid != u2.gid))
		abort();
	attr_list_free(&list);
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attr_list *list;
	struct login_session s;
	struct mail_user user;
	const char *err;

	log_set_hook(quiet, NULL);
	list = attr_decode(data, size, &err);
	if (list == NULL)
		return 0;
	if (login_session_read(list, &s, NULL, &err) == 0)
		roundtrip(&s, NULL);
	attr_list_free(&list);
	list = attr_decode(data, size, &err);
	if (list != NULL && login_session_read(list, &s, &user, &err) == 0)
		roundtrip(&s, &user);
	attr_list_free(&list);
	return 0;
}
