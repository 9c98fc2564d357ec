/*
 * smtp_io - a session's I/O: bytes out, replies in, every wait bounded
 *
 * DESCRIPTION
 *	The socket is non-blocking; each read or write waits with poll(2)
 *	until an absolute deadline (the stage's timeout), through OpenSSL
 *	once STARTTLS is done.  Replies are cut by lib/proto/smtp_reply;
 *	the text kept for logs and notices is its sanitized format (no
 *	control or 8-bit bytes), at most SMTP_TEXT_MAX octets.  Errors
 *	are worded as Postfix's: "lost connection with HOST[ADDR] while
 *	WHAT", "conversation with HOST[ADDR] timed out while WHAT".
 */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "smtp.h"
#include "tls_client.h"

struct smtp_sess *smtp_sess_create(int fd)
{
	struct smtp_sess *sess = xcalloc(1, sizeof(*sess));

	sess->fd = fd;
	sess->rp = smtp_reply_parser_create();
	strbuf_init(&sess->text, STRBUF_NO_LIMIT);
	return sess;
}

void smtp_sess_free(struct smtp_sess **sessp)
{
	struct smtp_sess *sess = *sessp;

	if (sess == NULL)
		return;
	tls_conn_free(&sess->tls);
	if (sess->fd >= 0)
		close(sess->fd);
	smtp_reply_parser_free(&sess->rp);
	strbuf_release(&sess->text);
	free(sess);
	*sessp = NULL;
}

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll for events until deadline: 1 ready, 0 timeout, -1 */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* io_error - record a failure in Postfix's words */
static void io_error(struct smtp_sess *sess, bool timeout, const char *what)
{
	if (timeout)
		snprintf(sess->error, sizeof(sess->error),
			 "conversation with %s timed out while %s",
			 sess->hostaddr, what);
	else
		snprintf(sess->error, sizeof(sess->error),
			 "lost connection with %s while %s", sess->hostaddr,
			 what);
	sess->broken = true;
}

int smtp_sess_write(struct smtp_sess *sess, const void *data, size_t len,
		    int timeout_ms, const char *what)
{
	long long deadline = now_ms() + timeout_ms;
	const unsigned char *p = data;

	if (sess->broken) {
		io_error(sess, false, what);
		return -1;
	}
	if (sess->tls != NULL) {
		const char *error;

		if (tls_conn_write(sess->tls, data, len, timeout_ms, &error) <
		    0) {
			io_error(sess, strcmp(error, "timeout") == 0, what);
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		ssize_t n = write(sess->fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(sess->fd, POLLOUT, deadline);

			if (w > 0)
				continue;
			io_error(sess, w == 0, what);
			return -1;
		}
		io_error(sess, false, what);
		return -1;
	}
	return 0;
}

/* fill - read more bytes into sess->in: 1, or 0 timeout, -1 lost */
static int fill(struct smtp_sess *sess, long long deadline)
{
	sess->in_pos = sess->in_len = 0;
	for (;;) {
		ssize_t n;

		if (sess->tls != NULL) {
			const char *error;
			long long left = deadline - now_ms();

			if (left <= 0)
				return 0;
			n = tls_conn_read(sess->tls, sess->in, sizeof(sess->in),
					  (int)left, &error);
			if (n < 0)
				return strcmp(error, "timeout") == 0 ? 0 : -1;
			if (n == 0)
				return -1;
			sess->in_len = (size_t)n;
			return 1;
		}
		n = read(sess->fd, sess->in, sizeof(sess->in));
		if (n > 0) {
			sess->in_len = (size_t)n;
			return 1;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		n = wait_fd(sess->fd, POLLIN, deadline);
		if (n <= 0)
			return (int)n;
	}
}

/* derive_status - "x.0.0" from the reply code when the server sent none */
static void derive_status(struct smtp_sess *sess)
{
	unsigned cls = sess->code / 100 % 10;

	sess->status[0] = (char)('0' + cls);
	memcpy(sess->status + 1, ".0.0", 5);
}

int smtp_sess_reply(struct smtp_sess *sess, int timeout_ms, const char *what)
{
	long long deadline = now_ms() + timeout_ms;

	if (sess->broken) {
		io_error(sess, false, what);
		return -1;
	}
	for (;;) {
		const struct smtp_reply *reply;
		const char *error;
		size_t used;
		int r;

		if (sess->in_pos >= sess->in_len) {
			r = fill(sess, deadline);
			if (r <= 0) {
				io_error(sess, r == 0, what);
				return -1;
			}
		}
		r = smtp_reply_parse(sess->rp, sess->in + sess->in_pos,
				     sess->in_len - sess->in_pos, &used, &reply,
				     &error);
		sess->in_pos += used;
		if (r < 0) {
			snprintf(sess->error, sizeof(sess->error),
				 "malformed reply from %s while %s: %s",
				 sess->hostaddr, what, error);
			sess->broken = true;
			return -1;
		}
		if (r == 1) {
			sess->code = reply->code;
			if (reply->status[0] != '\0')
				snprintf(sess->status, sizeof(sess->status),
					 "%s", reply->status);
			else
				derive_status(sess);
			strbuf_reset(&sess->text);
			smtp_reply_format(sess->rp, &sess->text, SMTP_TEXT_MAX);
			if (sess->code == 421)
				sess->broken = true;
			return 0;
		}
	}
}

bool smtp_sess_pending(const struct smtp_sess *sess)
{
	return sess->in_pos < sess->in_len;
}

bool smtp_sess_idle_ok(const struct smtp_sess *sess)
{
	struct pollfd pfd = {.fd = sess->fd, .events = POLLIN};

	if (sess->broken || smtp_sess_pending(sess) ||
	    (sess->tls != NULL && tls_conn_pending(sess->tls) > 0))
		return false;
	/* Readable while idle: data we never asked for, or the close. */
	return poll(&pfd, 1, 0) == 0;
}

void smtp_sess_quit(struct smtp_ctx *ctx, struct smtp_sess **sessp)
{
	struct smtp_sess *sess = *sessp;

	if (sess == NULL)
		return;
	if (!sess->broken && smtp_sess_write(sess, "QUIT\r\n", 6, ctx->t_quit,
					     "sending QUIT") == 0)
		(void)smtp_sess_reply(sess, ctx->t_quit, "sending QUIT");
	smtp_sess_free(sessp);
}
