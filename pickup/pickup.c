/*
 * pickup - move locally submitted mail from maildrop/ into the queue
 *
 * SYNOPSIS
 *	pickup -c DIR -n pickup -t unix [-u] [-v]	(started by master)
 *
 * DESCRIPTION
 *	sendmail(1) writes each message as a queue file into
 *	queue_directory/maildrop/.  pickup, a unix (or fifo) service woken by
 *	master's timer and by sendmail's trigger on public/pickup, scans
 *	maildrop/ on every wakeup and at start-up.  For each committed file
 *	(its name a valid queue id: temporary names are skipped) it
 *
 *	  1. opens and parses it completely with the queue file reader;
 *	  2. checks it: a regular file with one link, every recipient
 *	     pending, content within message_size_limit;
 *	  3. writes a new queue file into incoming/ with a fresh writer: the
 *	     envelope (sender, recipients with ORCPT and NOTIFY, the envid
 *	     and ret attributes only), protocol=local and uid=UID of the
 *	     file's owner, a Received: header, then the content unchanged;
 *	     the arrival time of the maildrop file is kept unless it lies in
 *	     the future;
 *	  4. commits it, removes the maildrop file and wakes qmgr through
 *	     public/qmgr (a failure is only logged: qmgr's timer and its
 *	     start-up scan find the file).
 *
 *	A crash between 4's commit and the removal makes the message appear
 *	twice: at least once, never lost, as everywhere in the queue.
 *
 *	Each message is logged as Postfix does:
 *	"ID: uid=1000 from=<user@example.org>" and
 *	"ID: message-id=<...>", ID being the new queue id.
 *
 * DIAGNOSTICS
 *	A maildrop file that does not parse, or fails a check, is moved to
 *	corrupt/ with a warning that names it and says why; pickup goes on.
 *	A file that cannot be read for a system reason is left for the next
 *	wakeup with a warning.  An incoming/ file that cannot be written is
 *	an error; the maildrop file stays for the next wakeup.
 *
 * SECURITY
 *	Every maildrop file is hostile: any local user may write one, with
 *	sendmail or without it.  It is opened without following symlinks and
 *	without blocking on a FIFO (qfile_open), parsed by the bounded reader
 *	that checks every length before it reads, and never trusted beyond
 *	what the reader validated: its attributes are dropped (a user must
 *	not claim a client_address or a sasl_username), its uid comes from
 *	the file's owner, not from its content, and its status bytes must
 *	all be pending.  The content is copied as bytes and never parsed
 *	beyond the search for a Message-ID to log, which is bounded.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "qfile.h"
#include "queue_id.h"
#include "server.h"
#include "strbuf.h"
#include "trigger.h"

/* How much of the content is searched for a Message-ID to log. */
#define PICKUP_HEADER_SCAN (16 * 1024)
/* The longest Message-ID value we log. */
#define PICKUP_MSGID_LOG_MAX 200

struct pickup {
	const char *queue_dir;
	char *maildrop;
	char *incoming;
	char *corrupt;
	long long size_limit;
	const char *hostname;
};

/* move_corrupt - put a bad maildrop file aside, so it is not retried */
static void move_corrupt(struct pickup *pk, const char *id, const char *why)
{
	char *from = xasprintf("%s/%s", pk->maildrop, id);
	char *to = xasprintf("%s/%s", pk->corrupt, id);

	log_warn("%s: maildrop file is not valid: %s; moved to corrupt/", id,
		 why);
	if (rename(from, to) < 0)
		log_error("%s: rename %s to %s: %m", id, from, to);
	free(from);
	free(to);
}

/* log_message_id - log the content's Message-ID:, when the header has one */
static void log_message_id(const struct qfile *q, const char *id)
{
	char buf[PICKUP_HEADER_SCAN + 1];
	ssize_t n = qfile_content_pread(q, q->fd, buf, PICKUP_HEADER_SCAN, 0);
	const char *line = buf, *end;

	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + n;
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t len = eol != NULL ? (size_t)(eol - line)
					 : (size_t)(end - line);

		if (len == 0 || (len == 1 && line[0] == '\r'))
			break; /* end of the header */
		if (len > 11 && strncasecmp(line, "Message-ID:", 11) == 0) {
			const char *v = line + 11;

			while (v < line + len && (*v == ' ' || *v == '\t'))
				v++;
			len -= (size_t)(v - line);
			if (len > 0 && v[len - 1] == '\r')
				len--;
			if (len > PICKUP_MSGID_LOG_MAX)
				len = PICKUP_MSGID_LOG_MAX;
			/* log.c replaces control characters. */
			log_info("%s: message-id=%.*s", id, (int)len, v);
			return;
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
}

/* copy_content - the content of q, as is, into w */
static int copy_content(const struct qfile *q, struct qfile_writer *w,
			const char **error_r)
{
	static char buf[QFILE_CHUNK_SIZE];
	uint64_t pos = 0;

	while (pos < q->content_size) {
		ssize_t n =
			qfile_content_pread(q, q->fd, buf, sizeof(buf), pos);

		if (n < 0) {
			*error_r = "read maildrop content";
			return -1;
		}
		if (n == 0) {
			*error_r = "maildrop content shorter than its size";
			return -1;
		}
		if (qfile_write_content(w, buf, (size_t)n, error_r) < 0)
			return -1;
		pos += (uint64_t)n;
	}
	return 0;
}

/* write_incoming - the new queue file: 0, or -1 with *error_r */
static int write_incoming(struct pickup *pk, const struct qfile *q, uid_t uid,
			  char **id_r, const char **error_r)
{
	struct timeval now, arrival;
	struct qfile_writer *w;
	struct strbuf hdr;
	char date[64], uidbuf[32];
	struct tm tm;
	time_t t;
	const char *v;

	gettimeofday(&now, NULL);
	arrival.tv_sec = (time_t)q->arrival_sec;
	arrival.tv_usec = (suseconds_t)q->arrival_usec;
	/* The time is the submitter's word: never later than now. */
	if (q->arrival_sec > (uint64_t)now.tv_sec)
		arrival = now;
	if ((w = qfile_writer_create(pk->incoming, &arrival, error_r)) == NULL)
		return -1;
	snprintf(uidbuf, sizeof(uidbuf), "%lu", (unsigned long)uid);
	if (qfile_write_sender(w, q->sender, error_r) < 0 ||
	    qfile_write_attr(w, QFILE_ATTR_PROTOCOL, "local", error_r) < 0 ||
	    qfile_write_attr(w, "uid", uidbuf, error_r) < 0)
		goto fail;
	/* Only the DSN attributes that sendmail -V/-R may set survive. */
	if ((v = qfile_attr(q, QFILE_ATTR_ENVID)) != NULL &&
	    qfile_write_attr(w, QFILE_ATTR_ENVID, v, error_r) < 0)
		goto fail;
	if ((v = qfile_attr(q, QFILE_ATTR_RET)) != NULL &&
	    qfile_write_attr(w, QFILE_ATTR_RET, v, error_r) < 0)
		goto fail;
	for (size_t i = 0; i < q->rcpt_count; i++)
		if (qfile_write_recipient(w, q->rcpts[i].address,
					  q->rcpts[i].orcpt[0] != '\0'
						  ? q->rcpts[i].orcpt
						  : NULL,
					  q->rcpts[i].notify, error_r) < 0)
			goto fail;

	/* RFC 5321 §4.4 wants a trace header; Postfix's pickup adds it. */
	t = now.tv_sec;
	localtime_r(&t, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		date[0] = '\0';
	strbuf_init(&hdr, STRBUF_NO_LIMIT);
	strbuf_appendf(&hdr,
		       "Received: by %s (Facteur, from userid %s)\r\n"
		       "\tid %s; %s\r\n",
		       pk->hostname, uidbuf, qfile_writer_id(w), date);
	if (qfile_write_content(w, hdr.data, hdr.len, error_r) < 0) {
		strbuf_release(&hdr);
		goto fail;
	}
	strbuf_release(&hdr);
	if (copy_content(q, w, error_r) < 0)
		goto fail;
	if (qfile_commit(w, NULL, 0, error_r) < 0)
		goto fail;
	*id_r = xstrdup(qfile_writer_id(w));
	qfile_writer_free(&w);
	return 0;
fail:
	qfile_writer_free(&w); /* removes the temporary file */
	return -1;
}

/*
 * check_file - the checks beyond the reader's: NULL when q may be queued,
 * else why not
 */
static const char *check_file(struct pickup *pk, const struct qfile *q,
			      const struct stat *st)
{
	/* A hard link would let a user queue a file he cannot read. */
	if (st->st_nlink != 1)
		return "file has more than one link";
	if (q->rcpt_count == 0)
		return "no recipients";
	for (size_t i = 0; i < q->rcpt_count; i++)
		if (q->rcpts[i].status != QFILE_RCPT_PENDING)
			return "recipient status is not pending";
	if (pk->size_limit > 0 &&
	    q->content_size > (unsigned long long)pk->size_limit)
		return "message size exceeds message_size_limit";
	return NULL;
}

/* pickup_file - take one maildrop file into the queue */
static void pickup_file(struct pickup *pk, const char *id)
{
	char *path = xasprintf("%s/%s", pk->maildrop, id);
	struct qfile *q = NULL;
	const char *error, *why;
	char *new_id = NULL;
	struct stat st;
	int ret;

	/*
	 * A symlink or FIFO would fail qfile_open() as a system error again
	 * on every wakeup: put it aside instead (the open below still
	 * refuses one that replaces the file after this check).
	 */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		move_corrupt(pk, id, "not a regular file");
		goto out;
	}
	ret = qfile_open(path, false, NULL, &q, &error);
	if (ret == QFILE_ERR_SYSTEM) {
		/* Gone already (another pickup), or a passing problem. */
		if (errno != ENOENT)
			log_warn("%s: %s", id, error);
		goto out;
	}
	if (ret < 0) {
		move_corrupt(pk, id, error);
		goto out;
	}
	if (fstat(q->fd, &st) < 0) {
		log_warn("%s: fstat %s: %m", id, path);
		goto out;
	}
	if ((why = check_file(pk, q, &st)) != NULL) {
		move_corrupt(pk, id, why);
		goto out;
	}
	if (write_incoming(pk, q, st.st_uid, &new_id, &error) < 0) {
		log_error("%s: cannot queue maildrop file: %s", id, error);
		goto out;
	}
	log_info("%s: uid=%lu from=<%s>", new_id, (unsigned long)st.st_uid,
		 q->sender);
	log_message_id(q, new_id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_error("%s: remove %s: %m", id, path);
	if (trigger_wakeup(pk->queue_dir, "public/qmgr", &error) < 0)
		log_debug("wake qmgr: %s", error);
out:
	free(new_id);
	qfile_free(&q);
	free(path);
}

/* pickup_scan - every committed file in maildrop/ */
static void pickup_scan(struct pickup *pk)
{
	DIR *dir = opendir(pk->maildrop);
	struct dirent *de;
	char **ids = NULL;
	size_t count = 0;

	if (dir == NULL) {
		log_error("open directory %s: %m", pk->maildrop);
		return;
	}
	/* Collect first: the directory changes while we work. */
	while ((de = readdir(dir)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue; /* tmp.*, ., .. and junk */
		ids = xreallocarray(ids, count + 1, sizeof(*ids));
		ids[count++] = xstrdup(de->d_name);
	}
	closedir(dir);
	for (size_t i = 0; i < count; i++) {
		pickup_file(pk, ids[i]);
		free(ids[i]);
	}
	free(ids);
}

/* pickup_wakeup - master's timer or sendmail's trigger */
static void pickup_wakeup(struct server *srv)
{
	pickup_scan(server_ctx(srv));
}

/* pickup_init - settings, then a first scan for what came while down */
static void pickup_init(struct server *srv)
{
	struct pickup *pk = server_ctx(srv);
	const struct config *cfg = server_config(srv);

	pk->queue_dir = config_str(cfg, "queue_directory");
	pk->maildrop = xasprintf("%s/maildrop", pk->queue_dir);
	pk->incoming = xasprintf("%s/incoming", pk->queue_dir);
	pk->corrupt = xasprintf("%s/corrupt", pk->queue_dir);
	pk->size_limit = config_size(cfg, "message_size_limit");
	pk->hostname = config_str(cfg, "myhostname");
	pickup_scan(pk);
}

/* pickup_pre_exit - free the settings */
static void pickup_pre_exit(struct server *srv)
{
	struct pickup *pk = server_ctx(srv);

	free(pk->maildrop);
	free(pk->incoming);
	free(pk->corrupt);
}

/* pickup_accept - a stray connection on a non-unix listener */
static void pickup_accept(struct server *srv, int fd, const struct sockaddr *sa,
			  socklen_t salen)
{
	(void)sa;
	(void)salen;
	close(fd);
	server_conn_done(srv);
}

/* main - run as a service of master */
int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "pickup",
		.init = pickup_init,
		.accept = pickup_accept,
		.wakeup = pickup_wakeup,
		.pre_exit = pickup_pre_exit,
	};
	struct pickup pk = {0};

	return server_main(argc, argv, &ops, &pk);
}
