/*
 * cli_queue - `facteur queue`: list and manage the queue (postqueue,
 *	       postsuper)
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_queue(ctx, argc, argv)
 *
 * DESCRIPTION
 *	facteur queue -p	list the queue as `postqueue -p` (mailq) does:
 *				per message its id ('*' when active, '!' when
 *				on hold), content size, arrival time, sender,
 *				then its pending recipients, each group
 *				preceded by the reason from defer/ID;
 *	facteur queue -j	the same as JSON lines, as `postqueue -j`;
 *	facteur queue -f	flush: move deferred/ into incoming/, wake qmgr;
 *	facteur queue -d ID	delete (postsuper -d), with defer/ID, bounce/ID;
 *	facteur queue -h ID	put on hold (postsuper -h);
 *	facteur queue -H ID	release from hold into deferred/ (postsuper -H);
 *	facteur queue -r ID	requeue into incoming/ (postsuper -r);
 *	facteur queue -s ID	show one message: envelope, recipients with
 *				their state, then the content (postcat -q).
 *
 *	The words list, flush, delete, hold, release, requeue and show
 *	name the same operations (facteur queue show ID).
 *
 *	ID is a queue id, ALL, or "-" to read ids from stdin; more ids may
 *	follow as arguments.  Queues are scanned with their hash
 *	subdirectories whatever their depth.  Moves never replace a file
 *	(renameat2 RENAME_NOREPLACE, else link+unlink); hash directories made
 *	by root are given to the owner of their queue directory.
 *
 * DIAGNOSTICS
 *	Exit status 0, or 1 after an error, as postqueue and postsuper.  A
 *	malformed id is fatal ("invalid mail queue id"), an id not in the
 *	queue is not an error (the message may have just left).  Queue
 *	files that do not parse are skipped in listings with a warning.
 *
 * SECURITY
 *	Every id from the command line or stdin is checked with
 *	queue_id_valid() before it makes a path.  maildrop/ files are read
 *	only by the strict queue file reader.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "qfile.h"
#include "queue_id.h"
#include "rename.h"
#include "strbuf.h"
#include "trigger.h"

/* The largest defer/ID log read for reasons. */
#define QUEUE_LOG_MAX (1024 * 1024)

/* The queues that hold messages, in listing order. */
static const struct {
	const char *name;
	char mark;
} queues[] = {
	{"maildrop", ' '}, {"incoming", ' '}, {"active", '*'},
	{"deferred", ' '}, {"hold", '!'},
};

struct queue_ctx {
	const char *queue_dir;
	bool json;
	uint64_t total_size;
	size_t count;
};

typedef void queue_file_fn(struct queue_ctx *qc, const char *queue,
			   const char *path, const char *id, void *arg);

/* walk - call fn for each queue file under dir (hash levels included) */
static void walk(struct queue_ctx *qc, const char *queue, const char *dir,
		 unsigned depth, queue_file_fn *fn, void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;

	if (d == NULL) {
		if (errno != ENOENT)
			log_warn("open directory %s: %m", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, "tmp.", 4) == 0)
			continue;
		names = xreallocarray(names, count + 1, sizeof(*names));
		names[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < count; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);

		if (queue_id_valid(names[i]))
			fn(qc, queue, path, names[i], arg);
		else if (strlen(names[i]) == 1 &&
			 depth < QUEUE_ID_HASH_DEPTH_MAX &&
			 strchr(QUEUE_ID_ALPHABET, names[i][0]) != NULL)
			walk(qc, queue, path, depth + 1, fn, arg);
		free(path);
		free(names[i]);
	}
	free(names);
}

/* walk_queue - every file of queue */
static void walk_queue(struct queue_ctx *qc, const char *queue,
		       queue_file_fn *fn, void *arg)
{
	char *dir = xasprintf("%s/%s", qc->queue_dir, queue);

	walk(qc, queue, dir, 0, fn, arg);
	free(dir);
}

/* ------------------------------------------------------------ listing */

struct reason {
	char *address;
	char *text;
};

/* read_reasons - recipient=<a> ... reason=text lines of defer/ID */
static struct reason *read_reasons(struct queue_ctx *qc, const char *id,
				   size_t *count_r)
{
	struct strbuf sb;
	struct reason *rs = NULL;
	const char *error;
	char *path = xasprintf("%s/defer/%s", qc->queue_dir, id);
	char *line, *next;

	*count_r = 0;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	if (cli_read_file(path, &sb, true, &error) < 0)
		log_warn("%s", error);
	for (line = sb.data; line != NULL && *line != '\0'; line = next) {
		char *addr, *end, *reason;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(line, "recipient=<", 11) != 0 ||
		    (end = strstr(line + 11, "> ")) == NULL ||
		    (reason = strstr(end, " reason=")) == NULL)
			continue;
		addr = line + 11;
		*end = '\0';
		rs = xreallocarray(rs, *count_r + 1, sizeof(*rs));
		rs[*count_r].address = xstrdup(addr);
		rs[(*count_r)++].text = xstrdup(reason + 8);
	}
	strbuf_release(&sb);
	free(path);
	return rs;
}

/* reason_for - the last logged reason for address, or NULL */
static const char *reason_for(const struct reason *rs, size_t count,
			      const char *address)
{
	const char *found = NULL;

	for (size_t i = 0; i < count; i++)
		if (strcmp(rs[i].address, address) == 0)
			found = rs[i].text;
	return found;
}

/* json_str - s as a JSON string */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* list_one - print one message (text or JSON) */
static void list_one(struct queue_ctx *qc, const char *queue, const char *path,
		     const char *id, void *arg)
{
	char mark = *(const char *)arg;
	struct qfile *q;
	struct reason *rs;
	size_t nrs;
	const char *error;
	char when[32];
	time_t t;
	struct tm tm;
	bool first = true;

	if (qfile_open(path, false, NULL, &q, &error) < 0) {
		if (errno != ENOENT)
			log_warn("%s: %s", id, error);
		return;
	}
	rs = read_reasons(qc, id, &nrs);
	qc->count++;
	qc->total_size += q->content_size;
	t = (time_t)q->arrival_sec;
	if (qc->json) {
		printf("{\"queue_name\": ");
		json_str(queue);
		printf(", \"queue_id\": ");
		json_str(id);
		printf(", \"arrival_time\": %llu, \"message_size\": %llu, "
		       "\"forced_expire\": false, \"sender\": ",
		       (unsigned long long)q->arrival_sec,
		       (unsigned long long)q->content_size);
		json_str(q->sender);
		printf(", \"recipients\": [");
		for (size_t i = 0; i < q->rcpt_count; i++) {
			const char *why;

			if (q->rcpts[i].status != QFILE_RCPT_PENDING)
				continue;
			printf("%s{\"address\": ", first ? "" : ", ");
			first = false;
			json_str(q->rcpts[i].address);
			why = reason_for(rs, nrs, q->rcpts[i].address);
			if (why != NULL) {
				printf(", \"delay_reason\": ");
				json_str(why);
			}
			putchar('}');
		}
		printf("]}\n");
	} else {
		const char *last = NULL;

		if (qc->count == 1)
			printf("%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--",
			       "----Arrival Time----",
			       "-Sender/Recipient-------");
		localtime_r(&t, &tm);
		if (strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
			when[0] = '\0';
		printf("%-10s%c %8llu %-20.20s %s\n", id, mark,
		       (unsigned long long)q->content_size, when,
		       q->sender[0] != '\0' ? q->sender : "MAILER-DAEMON");
		for (size_t i = 0; i < q->rcpt_count; i++) {
			const char *why;

			if (q->rcpts[i].status != QFILE_RCPT_PENDING)
				continue;
			why = reason_for(rs, nrs, q->rcpts[i].address);
			/* Like postqueue: a reason heads the recipients that
			 * share it. */
			if (why != NULL &&
			    (last == NULL || strcmp(why, last) != 0))
				printf("(%s)\n", why);
			last = why;
			printf("%41s %s\n", "", q->rcpts[i].address);
		}
		printf("\n");
	}
	for (size_t i = 0; i < nrs; i++) {
		free(rs[i].address);
		free(rs[i].text);
	}
	free(rs);
	qfile_free(&q);
}

/* list - -p and -j */
static int list(struct queue_ctx *qc)
{
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++)
		walk_queue(qc, queues[i].name, list_one,
			   (void *)&queues[i].mark);
	if (!qc->json) {
		if (qc->count == 0)
			printf("Mail queue is empty\n");
		else
			printf("-- %llu Kbytes in %zu Request%s.\n",
			       (unsigned long long)(qc->total_size + 1023) /
				       1024,
			       qc->count, qc->count == 1 ? "" : "s");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ moves */

/* find_file - the path of id in queue (any hash depth), or NULL */
static char *find_file(struct queue_ctx *qc, const char *queue, const char *id)
{
	for (unsigned depth = 0; depth <= QUEUE_ID_HASH_DEPTH_MAX; depth++) {
		char hash[QUEUE_ID_HASH_DIR_MAX];
		char *path;
		struct stat st;

		if (queue_id_hash_dir(id, depth, hash, sizeof(hash)) < 0)
			continue;
		path = depth == 0
			       ? xasprintf("%s/%s/%s", qc->queue_dir, queue, id)
			       : xasprintf("%s/%s/%s/%s", qc->queue_dir, queue,
					   hash, id);
		if (lstat(path, &st) == 0)
			return path;
		free(path);
	}
	return NULL;
}

/* make_hash_dir - dir, owned like its queue directory when we are root */
static int make_hash_dir(const char *dir, const char *queue_path)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		log_error("create directory %s: %m", dir);
		return -1;
	}
	if (geteuid() == 0 && stat(queue_path, &st) == 0 &&
	    chown(dir, st.st_uid, st.st_gid) < 0) {
		log_error("chown %s: %m", dir);
		return -1;
	}
	return 0;
}

/* move_file - from path into queue at hash depth, never replacing */
static int move_file(struct queue_ctx *qc, const char *from, const char *id,
		     const char *queue, unsigned depth)
{
	char *qpath = xasprintf("%s/%s", qc->queue_dir, queue);
	char *to;
	int ret = -1;

	if (depth > 0) {
		char hash[QUEUE_ID_HASH_DIR_MAX];
		char *dir;

		if (queue_id_hash_dir(id, 1, hash, sizeof(hash)) < 0)
			log_panic("bad id %s", id);
		dir = xasprintf("%s/%s", qpath, hash);
		if (make_hash_dir(dir, qpath) < 0) {
			free(dir);
			free(qpath);
			return -1;
		}
		to = xasprintf("%s/%s", dir, id);
		free(dir);
	} else {
		to = xasprintf("%s/%s", qpath, id);
	}
	if (rename_noreplace(AT_FDCWD, from, AT_FDCWD, to) == 0)
		ret = 0;
	if (ret < 0 && errno != ENOENT)
		log_error("%s: move %s to %s: %m", id, from, to);
	free(to);
	free(qpath);
	return ret;
}

/* remove_logs - defer/ID and bounce/ID, where they exist */
static void remove_logs(struct queue_ctx *qc, const char *id)
{
	static const char *const logs[] = {"defer", "bounce"};

	for (size_t i = 0; i < 2; i++) {
		char *path = find_file(qc, logs[i], id);

		if (path != NULL && unlink(path) < 0 && errno != ENOENT)
			log_error("%s: remove %s: %m", id, path);
		free(path);
	}
}

enum queue_op {
	OP_DELETE,
	OP_HOLD,
	OP_RELEASE,
	OP_REQUEUE,
	OP_FLUSH,
};

/* The queues each operation takes messages from. */
static const char *const op_sources[][6] = {
	[OP_DELETE] = {"maildrop", "incoming", "active", "deferred", "hold",
		       NULL},
	[OP_HOLD] = {"incoming", "active", "deferred", NULL},
	[OP_RELEASE] = {"hold", NULL},
	[OP_REQUEUE] = {"active", "deferred", "hold", NULL},
	[OP_FLUSH] = {"deferred", NULL},
};

struct op_state {
	enum queue_op op;
	size_t done;
	bool failed;
};

/* apply - do the operation on one file */
static void apply(struct queue_ctx *qc, const char *queue, const char *path,
		  const char *id, void *arg)
{
	struct op_state *st = arg;
	int ret = 0;

	(void)queue;
	switch (st->op) {
	case OP_DELETE:
		if ((ret = unlink(path)) < 0 && errno != ENOENT)
			log_error("%s: remove %s: %m", id, path);
		if (ret == 0) {
			remove_logs(qc, id);
			log_info("%s: removed", id);
		}
		break;
	case OP_HOLD:
		ret = move_file(qc, path, id, "hold", 0);
		break;
	case OP_RELEASE:
		ret = move_file(qc, path, id, "deferred", 1);
		break;
	case OP_REQUEUE:
	case OP_FLUSH:
		ret = move_file(qc, path, id, "incoming", 0);
		break;
	}
	if (ret == 0)
		st->done++;
	else if (errno != ENOENT)
		st->failed = true;
}

/* apply_id - the operation on the message id, wherever it is */
static void apply_id(struct queue_ctx *qc, struct op_state *st, const char *id)
{
	if (strcmp(id, "ALL") == 0) {
		for (size_t i = 0; op_sources[st->op][i] != NULL; i++)
			walk_queue(qc, op_sources[st->op][i], apply, st);
		return;
	}
	if (!queue_id_valid(id))
		log_fatal("invalid mail queue id: %s", id);
	for (size_t i = 0; op_sources[st->op][i] != NULL; i++) {
		char *path = find_file(qc, op_sources[st->op][i], id);

		if (path != NULL) {
			apply(qc, op_sources[st->op][i], path, id, st);
			free(path);
			return;
		}
	}
}

/* ------------------------------------------------------------ show */

static const char *rcpt_state(int status)
{
	switch (status) {
	case QFILE_RCPT_PENDING:
		return "pending";
	case QFILE_RCPT_DELIVERED:
		return "delivered";
	case QFILE_RCPT_BOUNCED:
		return "bounced";
	case QFILE_RCPT_EXPIRED:
		return "expired";
	}
	return "unknown";
}

/* print_notify - " notify=SUCCESS,DELAY" as RFC 3461 spells it */
static void print_notify(unsigned notify)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{QFILE_NOTIFY_NEVER, "NEVER"},
		{QFILE_NOTIFY_SUCCESS, "SUCCESS"},
		{QFILE_NOTIFY_FAILURE, "FAILURE"},
		{QFILE_NOTIFY_DELAY, "DELAY"},
	};
	const char *sep = " notify=";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (notify & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = ",";
		}
}

/* show_envelope - the envelope records of q, one per line */
static void show_envelope(const struct qfile *q)
{
	time_t t = (time_t)q->arrival_sec;
	char when[64];
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		when[0] = '\0';
	printf("message_size: %llu\n", (unsigned long long)q->content_size);
	printf("message_arrival_time: %s\n", when);
	printf("sender: %s\n", q->sender);
	for (size_t i = 0; i < q->attr_count; i++)
		printf("named_attribute: %s=%s\n", q->attrs[i].name,
		       q->attrs[i].value);
	for (size_t i = 0; i < q->rcpt_count; i++) {
		const struct qfile_rcpt *r = &q->rcpts[i];

		printf("recipient: %s (%s%s)", r->address,
		       rcpt_state(r->status),
		       r->delay_warned ? ", delay notice sent" : "");
		if (r->orcpt[0] != '\0')
			printf(" orcpt=%s", r->orcpt);
		if (r->notify != 0)
			print_notify(r->notify);
		putchar('\n');
	}
}

/* show_content - the message as queued, to stdout */
static int show_content(const struct qfile *q, const char *id)
{
	char buf[16384];
	uint64_t pos = 0;
	ssize_t n;

	while ((n = qfile_content_pread(q, q->fd, buf, sizeof(buf), pos)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
		pos += (uint64_t)n;
	}
	if (n < 0) {
		log_error("%s: read content: %m", id);
		return -1;
	}
	return 0;
}

/* show - -s ID: the first queue holding id, as postcat -q prints it */
static int show(struct queue_ctx *qc, const char *id)
{
	struct qfile *q;
	const char *error;
	char *path = NULL;
	const char *queue = NULL;
	int status;

	if (!queue_id_valid(id))
		log_fatal("invalid mail queue id: %s", id);
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++)
		if ((path = find_file(qc, queues[i].name, id)) != NULL) {
			queue = queues[i].name;
			break;
		}
	if (path == NULL) {
		log_error("%s: no such message in the queue", id);
		return 1;
	}
	if (qfile_open(path, false, NULL, &q, &error) < 0) {
		log_error("%s: %s", id, error);
		free(path);
		return 1;
	}
	printf("*** ENVELOPE RECORDS %s/%s ***\n", queue, id);
	show_envelope(q);
	printf("*** MESSAGE CONTENTS %s/%s ***\n", queue, id);
	status = show_content(q, id) < 0 ? 1 : 0;
	printf("*** MESSAGE FILE END %s/%s ***\n", queue, id);
	qfile_free(&q);
	free(path);
	return fflush(stdout) == 0 ? status : 1;
}

/* queue_usage - the synopsis, exit 1 */
static _Noreturn void queue_usage(void)
{
	fprintf(stderr, "usage: facteur queue -p | -j | -f | -s id | "
			"-d|-h|-H|-r id|ALL|- [id...]\n"
			"       facteur queue list | flush | show id | "
			"delete|hold|release|requeue id|ALL|- [id...]\n");
	exit(1);
}

/* The word forms and the options they stand for. */
static const struct {
	const char *word;
	const char *option;
} queue_words[] = {
	{"list", "-p"}, {"flush", "-f"},   {"show", "-s"},    {"delete", "-d"},
	{"hold", "-h"}, {"release", "-H"}, {"requeue", "-r"},
};

/* word_option - the option a word form stands for; usage when unknown */
static const char *word_option(const char *word)
{
	for (size_t i = 0; i < sizeof(queue_words) / sizeof(queue_words[0]);
	     i++)
		if (strcmp(word, queue_words[i].word) == 0)
			return queue_words[i].option;
	queue_usage();
}

/* cli_queue - `facteur queue` */
int cli_queue(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const done_text[] = {
		[OP_DELETE] = "Deleted",
		[OP_HOLD] = "Placed on hold",
		[OP_RELEASE] = "Released from hold",
		[OP_REQUEUE] = "Requeued",
	};
	struct config *cfg = cli_load_config(ctx);
	struct queue_ctx qc = {0};
	struct op_state st = {0};
	const char *first = NULL, *error;
	int ch, mode = 0, status = 0;

	qc.queue_dir = config_str(cfg, "queue_directory");
	if (argc > 1 && argv[1][0] != '-')
		argv[1] = (char *)word_option(argv[1]);
	while ((ch = getopt(argc, argv, "pjfs:d:h:H:r:")) != -1) {
		if (mode != 0)
			queue_usage(); /* one operation at a time */
		mode = ch;
		switch (ch) {
		case 'p':
		case 'j':
			qc.json = ch == 'j';
			break;
		case 'f':
			st.op = OP_FLUSH;
			break;
		case 's':
			first = optarg;
			break;
		case 'd':
		case 'h':
		case 'H':
		case 'r':
			st.op = ch == 'd'   ? OP_DELETE
				: ch == 'h' ? OP_HOLD
				: ch == 'H' ? OP_RELEASE
					    : OP_REQUEUE;
			first = optarg;
			break;
		default:
			queue_usage();
		}
	}
	if (mode == 0 ||
	    ((mode == 'p' || mode == 'j' || mode == 'f' || mode == 's') &&
	     optind < argc))
		queue_usage();
	if (mode == 'p' || mode == 'j') {
		status = list(&qc);
	} else if (mode == 's') {
		status = show(&qc, first);
	} else if (mode == 'f') {
		apply_id(&qc, &st, "ALL");
		/* qmgr may be down: its start-up scan finds the files. */
		if (trigger_wakeup(qc.queue_dir, "public/qmgr", &error) < 0)
			log_debug("wake qmgr: %s", error);
		status = st.failed ? 1 : 0;
	} else {
		char line[QUEUE_ID_MAX + 3];

		for (int i = optind - 1; i < argc; i++) {
			const char *id = i == optind - 1 ? first : argv[i];

			if (strcmp(id, "-") != 0) {
				apply_id(&qc, &st, id);
				continue;
			}
			while (fgets(line, sizeof(line), stdin) != NULL) {
				line[strcspn(line, "\r\n")] = '\0';
				if (line[0] != '\0')
					apply_id(&qc, &st, line);
			}
		}
		log_info("%s: %zu message%s", done_text[st.op], st.done,
			 st.done == 1 ? "" : "s");
		if (st.op != OP_DELETE &&
		    trigger_wakeup(qc.queue_dir, "public/qmgr", &error) < 0)
			log_debug("wake qmgr: %s", error);
		status = st.failed ? 1 : 0;
	}
	config_free(&cfg);
	return status;
}
