/*
 * maildir - deliver a message into a Maildir
 *
 * The delivery half of the store (imapd will add reading and the index).
 * The algorithm is the standard one (maildir(5), Postfix local's
 * mail_copy into a maildir, Dovecot's maildir-save):
 *
 *   1. make DIR and DIR/{tmp,new,cur} when missing (mode 0700);
 *   2. create tmp/SECONDS.M<usec>P<pid>Q<n>.HOST exclusively, never
 *      following a symlink;
 *   3. write "Return-Path: <sender>" and "Delivered-To: <rcpt>" header
 *      lines, then the content with CRLF turned into LF (Maildir files
 *      use LF, as Dovecot and Postfix write them; the queue holds the
 *      message as SMTP carried it), fsync and close;
 *   4. rename it into new/ as the same name plus ",S=<size>,W=<vsize>"
 *      (the file's size, and its size with CRLF line ends, as Dovecot's
 *      LDA names them: Dovecot, imapd and pop3d read both from the name
 *      instead of opening the file), never over an existing name
 *      (RENAME_NOREPLACE; link then unlink where the filesystem lacks
 *      it), and fsync new/.
 *
 * Only when maildir_deliver() returned 0 is the message delivered: then
 * it is complete in new/ and durable.  On failure nothing is left in new/
 * (a file moved there whose directory fsync failed is removed again, so
 * that the retry cannot produce a duplicate) nor in tmp/.
 */
#ifndef FACTEUR_MAILDIR_H
#define FACTEUR_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Reads up to len content bytes into buf: returns the count, 0 at the
 * end, -1 on error with errno set.
 */
typedef ssize_t maildir_read_fn(void *ctx, void *buf, size_t len);

struct maildir_msg {
	/* Envelope sender for Return-Path ("" for <>); NULL: no header. */
	const char *return_path;
	/* Recipient for Delivered-To; NULL: no header. */
	const char *delivered_to;
	maildir_read_fn *read;
	void *read_ctx;
};

/* Flags for maildir_deliver(). */
#define MAILDIR_NO_SYMLINK 0x01u /* refuse a Maildir that is a symlink */

/* Results: 0, or one of these with *error_r set. */
#define MAILDIR_ERR_TEMP (-1) /* retry later (disk full, permissions) */
#define MAILDIR_ERR_PERM (-2) /* will not work (file too large) */

/*
 * maildir_deliver - deliver msg into the Maildir dir (with or without a
 * trailing slash).  Runs with the caller's privileges: local switches to
 * the mailbox owner first.  On success *path_r (when not NULL) is the
 * malloc'd path of the file in new/.  *error_r is valid until the next
 * call ("create maildir /home/bob/Maildir/tmp: Permission denied").
 */
int maildir_deliver(const char *dir, const struct maildir_msg *msg,
		    unsigned int flags, char **path_r, const char **error_r);

/*
 * maildir_unique_name - the tmp/ name of a new file into buf ("time.
 * MusecPpidQn.host"); the host name's '/' and ':' are escaped as \057
 * and \072 (maildir(5)).  Returns 0, or -1 when buf is too small.
 */
int maildir_unique_name(char *buf, size_t size);

#endif
