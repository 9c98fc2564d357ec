/*
 * fuzz_smtp_session - libFuzzer target: the smtp agent's client side of a
 *		       session against whatever a server sends
 *
 * SYNOPSIS
 *	tests/fuzz/smtp_session/fuzz_smtp_session [libFuzzer options]
 *
 * DESCRIPTION
 *	The first input byte picks the protocol (bit 0: LMTP), whether
 *	recipients are non-ASCII (bit 1) and how many there are (bits 2-3:
 *	1 to 4); the rest is the server's whole side of the conversation.
 *	It is written ahead into one end of a socketpair, which is then
 *	shut for writing; the agent's code reads the greeting, sends EHLO
 *	(or LHLO) and decodes the reply, then runs smtp_transaction() for a
 *	small queue file (in a memfd) with every wait bounded by 200 ms.
 *	Whatever the bytes: no crash, no leak, and every recipient ends
 *	with an outcome whose DSN class agrees with it (2 sent, 4 deferred,
 *	5 bounced), a reason, and only printable ASCII in the reason and
 *	the diagnostic.  A broken promise calls abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qfile.h"
#include "smtp.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A queue file: 3 recipients would do, 4 keeps it general. */
static int make_qfile(struct qfile **q_r)
{
	static const char content[] = "Subject: x\r\n\r\n.a\nb\r\n";
	struct strbuf b;
	const char *err;
	int fd;

	fd = memfd_create("qfile", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	strbuf_init(&b, STRBUF_NO_LIMIT);
#define REC(t, d, n)                                                           \
	do {                                                                   \
		unsigned char h[5] = {(t), (unsigned char)((n) >> 24),         \
				      (unsigned char)((n) >> 16),              \
				      (unsigned char)((n) >> 8),               \
				      (unsigned char)(n)};                     \
		strbuf_append(&b, h, 5);                                       \
		strbuf_append(&b, (d), (n));                                   \
	} while (0)
	REC('V', QFILE_MAGIC, strlen(QFILE_MAGIC));
	REC('T', "\0\0\0\0\0\0\0\1\0\0\0\0", 12);
	REC('S', "a@example.test", 14);
	REC('A', "envid=E1", 8);
	REC('A', "ret=HDRS", 8);
	for (int i = 0; i < 4; i++) {
		char r[64];
		int n = snprintf(r, sizeof(r),
				 "P%c%c%cr%d@example.testrfc822;r%d@x",
				 (char)QFILE_NOTIFY_FAILURE, 0, 15, i, i);

		r[n] = '\0';
		REC('R', r, (unsigned)n);
	}
	REC('C', "", 0);
	REC('M', content, sizeof(content) - 1);
	{
		unsigned char e[12] = {0};

		e[7] = sizeof(content) - 1;
		e[11] = 4;
		REC('E', e, 12);
	}
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		abort();
	strbuf_release(&b);
	if (qfile_read_fd(fd, NULL, q_r, &err) < 0) {
		fprintf(stderr, "qfile: %s\n", err);
		abort();
	}
	return fd;
}

static void check_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ascii[] = {
		"r0@example.test", "r1@example.test", "r2@example.test",
		"r3@example.test"};
	static const char *const utf8[] = {"r\xc3\xa9@example.test",
					   "r1@example.test", "r2@example.test",
					   "r3@example.test"};
	struct smtp_ctx ctx = {0};
	struct smtp_req req = {0};
	struct smtp_rcpt rcpts[4];
	struct smtp_sess *sess;
	struct qfile *q = NULL;
	int sv[2], qfd;
	bool retry;
	size_t n;

	if (size < 1 || size > 65536)
		return 0;
	ctx.lmtp = data[0] & 1;
	ctx.proto = ctx.lmtp ? "lmtp" : "smtp";
	ctx.helo_name = "client.example.test";
	ctx.t_connect = ctx.t_helo = ctx.t_starttls = ctx.t_mail = ctx.t_rcpt =
		ctx.t_data_init = ctx.t_data_xfer = ctx.t_data_done =
			ctx.t_rset = ctx.t_quit = 200;
	n = ((data[0] >> 2) & 3) + 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[1], SHUT_WR);
	qfd = make_qfile(&q);

	sess = smtp_sess_create(sv[0]);
	snprintf(sess->host, sizeof(sess->host), "mx.example.test");
	snprintf(sess->hostaddr, sizeof(sess->hostaddr),
		 "mx.example.test[192.0.2.1]");
	memset(rcpts, 0, sizeof(rcpts));
	for (size_t i = 0; i < n; i++) {
		rcpts[i].address = (data[0] & 2) ? utf8[i] : ascii[i];
		rcpts[i].orig = "";
		rcpts[i].orcpt = q->rcpts[i].orcpt;
		rcpts[i].notify = q->rcpts[i].notify;
		rcpts[i].status = SMTP_TODO;
	}
	snprintf(req.queue_id, sizeof(req.queue_id), "5BM8TN1nH7z1bY58");
	req.sender = "a@example.test";
	req.nexthop = "example.test";
	req.q = q;
	req.rcpts = rcpts;
	req.count = n;

	if (smtp_sess_reply(sess, 200,
			    "receiving the initial server greeting") == 0 &&
	    sess->code / 100 == 2) {
		const char *cmd = ctx.lmtp ? "LHLO client.example.test\r\n"
					   : "EHLO client.example.test\r\n";

		if (smtp_sess_write(sess, cmd, strlen(cmd), 200, "EHLO") == 0 &&
		    smtp_sess_reply(sess, 200, "EHLO") == 0 &&
		    sess->code / 100 == 2) {
			sess->esmtp = true;
			smtp_reply_ehlo(sess->rp, &sess->ehlo);
			if (smtp_transaction(&ctx, sess, &req, &retry) == 0)
				(void)smtp_sess_idle_ok(sess);
		}
	}
	/* What deliver() leaves to the caller: nothing may stay unknown. */
	for (size_t i = 0; i < n; i++) {
		struct smtp_rcpt *r = &rcpts[i];
		char want;

		if (r->status == SMTP_TODO)
			smtp_rcpt_set(r, SMTP_DEFERRED, "4.3.0", NULL,
				      "no outcome");
		want = r->status == SMTP_SENT	   ? '2'
		       : r->status == SMTP_BOUNCED ? '5'
						   : '4';
		if (r->dsn[0] != want || r->reason == NULL)
			abort();
		check_text(r->reason);
		check_text(r->diagnostic);
		free(r->reason);
		free(r->diagnostic);
	}
	smtp_sess_free(&sess);
	close(sv[1]);
	qfile_free(&q);
	close(qfd);
	return 0;
}
