/*
 * local_resubmit - forward mail to addresses local cannot deliver itself
 *
 * SYNOPSIS
 *	#include "local.h"
 *
 *	int local_resubmit(struct local_ctx *ctx, struct local_request *req,
 *			   char *const *addresses, size_t count,
 *			   const char *delivered_to, char *id_r,
 *			   struct local_result *res);
 *
 * DESCRIPTION
 *	An alias or a .forward may point to an address in another domain:
 *	that needs qmgr (and the smtp client), as Postfix's local hands such
 *	addresses back to cleanup.  local writes a new queue file into
 *	incoming/ with the qfile writer (lib/global/qfile.h, the same fsync
 *	protocol as smtpd): the original sender, the new recipients, the
 *	original arrival time kept out (a new message, new lifetime), and
 *	the attributes smtputf8, body, ret and envid of the original, and
 *	the content with "Delivered-To: DELIVERED_TO" in front, so that the
 *	copy coming back here is recognized as a loop (local_loop.c).  It
 *	then wakes qmgr through public/qmgr.  The original recipient counts
 *	as sent ("forwarded as NEWID") only once the new file is committed.
 *
 * DIAGNOSTICS
 *	Any failure to write or commit defers the original recipient
 *	(4.3.0): nothing is lost, and the failed file leaves nothing behind.
 *	A qmgr that cannot be woken is only logged (its timer finds the
 *	file).
 *
 * SECURITY
 *	As root, the file is written with mail_owner's effective ids, so
 *	that qmgr (mail_owner) can open and mark it as it does smtpd's.
 */
#include "autoconf.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "qfile.h"
#include "queue_id.h"
#include "trigger.h"

/* The hash depth of incoming/ for files written here (qmgr's own). */
#define LOCAL_INCOMING_DEPTH 1

/* Attributes of the original that the forwarded copy keeps. */
static const char *const kept[] = {
	QFILE_ATTR_SMTPUTF8,
	QFILE_ATTR_BODY,
	QFILE_ATTR_RET,
	QFILE_ATTR_ENVID,
};

/* local_resubmit - a new queue file for addresses */
int local_resubmit(struct local_ctx *ctx, struct local_request *req,
		   char *const *addresses, size_t count,
		   const char *delivered_to, char *id_r,
		   struct local_result *res)
{
	char *incoming = xasprintf("%s/incoming", ctx->queue_dir);
	struct qfile_writer *w = NULL;
	char *header = NULL, buf[65536], why[256];
	const char *error = "unknown error";
	uint64_t pos = 0;
	bool switched = false;
	int ret = -1;

	if (ctx->root) {
		struct passwd *pw = getpwnam(ctx->mail_owner);

		if (pw == NULL || pw->pw_uid == 0) {
			log_warn("%s: mail_owner %s: no such account: cannot "
				 "forward",
				 req->queue_id, ctx->mail_owner);
			error = "mail_owner unknown";
			goto out;
		}
		local_become(ctx, pw->pw_uid, pw->pw_gid);
		switched = true;
	}
	if ((w = qfile_writer_create(incoming, NULL, &error)) == NULL)
		goto out;
	if (qfile_write_sender(w, req->sender, &error) < 0)
		goto out;
	/* What the message is and what its sender asked for stays. */
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const char *v = qfile_attr(req->q, kept[i]);

		if (v != NULL && qfile_write_attr(w, kept[i], v, &error) < 0)
			goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (qfile_write_recipient(w, addresses[i], NULL, 0, &error) < 0)
			goto out;
	header = xasprintf("Delivered-To: %s\r\n", delivered_to);
	if (qfile_write_content(w, header, strlen(header), &error) < 0)
		goto out;
	for (;;) {
		ssize_t n = qfile_content_pread(req->q, req->fd, buf,
						sizeof(buf), pos);

		if (n < 0) {
			error = "cannot read the queue file";
			goto out;
		}
		if (n == 0)
			break;
		pos += (uint64_t)n;
		if (qfile_write_content(w, buf, (size_t)n, &error) < 0)
			goto out;
	}
	if (qfile_commit(w, incoming, LOCAL_INCOMING_DEPTH, &error) < 0)
		goto out;
	snprintf(id_r, QUEUE_ID_MAX + 1, "%s", qfile_writer_id(w));
	ret = 0;
out:
	/* The writer's text dies with it. */
	snprintf(why, sizeof(why), "%s", error);
	qfile_writer_free(&w);
	if (switched)
		local_become_root(ctx);
	if (ret == 0) {
		if (trigger_wakeup(ctx->queue_dir, "public/qmgr", &error) < 0)
			log_info("%s: cannot wake qmgr: %s", req->queue_id,
				 error);
	} else {
		log_warn("%s: cannot forward: %s", req->queue_id, why);
		local_result_set(res, LOCAL_DEFERRED, "4.3.0",
				 "cannot forward: %s", why);
	}
	free(header);
	free(incoming);
	return ret;
}
