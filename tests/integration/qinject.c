/*
 * qinject - put a message into the queue the way smtpd does (tests)
 *
 * SYNOPSIS
 *	qinject [-t] [-R FULL|HDRS] [-N never|failure|success,...]
 *		[-E envid] QUEUE_DIR SENDER RECIPIENT... < MESSAGE
 *
 * DESCRIPTION
 *	Writes standard input as the content of a new queue file (the qfile
 *	writer, committed into QUEUE_DIR/incoming with hash depth 1), prints
 *	its queue id and wakes qmgr through QUEUE_DIR/public/qmgr unless -t.
 *	SENDER "" is the null sender.  -R and -E set the ret and envid
 *	attributes, -N the NOTIFY flags of every recipient.  Never installed.
 *
 * DIAGNOSTICS
 *	Exit 1 with a message on stderr when the file cannot be written;
 *	a failed wakeup is only reported.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "qfile.h"
#include "trigger.h"

/* die - report and exit */
static _Noreturn void die(const char *what, const char *error)
{
	fprintf(stderr, "qinject: %s: %s\n", what, error);
	exit(1);
}

/* parse_notify - "failure,delay" into flags */
static unsigned int parse_notify(const char *s)
{
	unsigned int flags = 0;

	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		char *t = xstrndup(s, n);

		if (strcasecmp(t, "never") == 0)
			flags |= QFILE_NOTIFY_NEVER;
		else if (strcasecmp(t, "failure") == 0)
			flags |= QFILE_NOTIFY_FAILURE;
		else if (strcasecmp(t, "success") == 0)
			flags |= QFILE_NOTIFY_SUCCESS;
		else if (strcasecmp(t, "delay") == 0)
			flags |= QFILE_NOTIFY_DELAY;
		else
			die("bad NOTIFY", t);
		free(t);
		s += n + (s[n] == ',');
	}
	return flags;
}

int main(int argc, char **argv)
{
	const char *ret = NULL, *envid = NULL, *error;
	unsigned int notify = 0;
	bool trigger = true;
	struct qfile_writer *w;
	char buf[8192], *incoming;
	size_t n;
	int c;

	while ((c = getopt(argc, argv, "tR:N:E:")) != -1) {
		switch (c) {
		case 't':
			trigger = false;
			break;
		case 'R':
			ret = optarg;
			break;
		case 'N':
			notify = parse_notify(optarg);
			break;
		case 'E':
			envid = optarg;
			break;
		default:
			fprintf(stderr, "usage: qinject [-t] [-R ret] "
					"[-N notify] [-E envid] QUEUE_DIR "
					"SENDER RCPT...\n");
			return 2;
		}
	}
	if (argc - optind < 3)
		die("usage", "QUEUE_DIR SENDER RCPT...");
	incoming = xasprintf("%s/incoming", argv[optind]);
	if ((w = qfile_writer_create(incoming, NULL, &error)) == NULL)
		die("create", error);
	if (qfile_write_sender(w, argv[optind + 1], &error) < 0)
		die("sender", error);
	if (ret != NULL && qfile_write_attr(w, QFILE_ATTR_RET, ret, &error) < 0)
		die("ret", error);
	if (envid != NULL &&
	    qfile_write_attr(w, QFILE_ATTR_ENVID, envid, &error) < 0)
		die("envid", error);
	for (int i = optind + 2; i < argc; i++)
		if (qfile_write_recipient(w, argv[i], NULL, notify, &error) < 0)
			die("recipient", error);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (qfile_write_content(w, buf, n, &error) < 0)
			die("content", error);
	if (qfile_commit(w, incoming, 1, &error) < 0)
		die("commit", error);
	printf("%s\n", qfile_writer_id(w));
	fflush(stdout);
	if (trigger && trigger_wakeup(argv[optind], "public/qmgr", &error) < 0)
		fprintf(stderr, "qinject: wakeup qmgr: %s\n", error);
	qfile_writer_free(&w);
	free(incoming);
	return 0;
}
