/*
 * test_mailbox - unit tests for lib/store/mailbox.c (folders and the index)
 *
 * Each test builds a Maildir in a temporary directory, drives it through
 * the mailbox API and checks the bytes on disk (file names, index lines,
 * dovecot-keywords) and the rules: UIDs ascend, survive a reopen and are
 * never reused, two handles agree, new/ moves to cur/ unless READONLY,
 * Dovecot's dovecot-uidlist is imported, a damaged index is rebuilt with
 * a new UIDVALIDITY, and a large folder syncs without opening a message.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "mailbox.h"
#include "maildir.h"
#include "strbuf.h"
#include "testlib.h"

struct src {
	const char *data;
	size_t len, pos;
};

/* msg - message i of the view, by value (mailbox_msg fills a struct) */
static struct mailbox_msg msg(const struct mailbox *mb, size_t i)
{
	struct mailbox_msg m;

	mailbox_msg(mb, i, &m);
	return m;
}

static ssize_t src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/* deliver - what local does: a file in new/ */
static void deliver(const char *dir, const char *text)
{
	struct src s = {text, strlen(text), 0};
	struct maildir_msg msg = {NULL, NULL, src_read, &s};
	const char *error;

	assert_int_equal(maildir_deliver(dir, &msg, 0, NULL, &error), 0);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	return buf;
}

static struct mailbox *open_ok(const char *root, const char *name,
			       unsigned flags)
{
	bool notfound;
	const char *error = NULL;
	struct mailbox *mb = mailbox_open(root, name, flags, &notfound, &error);

	if (mb == NULL)
		fail_msg("open %s: %s", name, error);
	return mb;
}

static void sync_ok(struct mailbox *mb, struct mailbox_changes *ch)
{
	const char *error = NULL;

	if (mailbox_sync(mb, ch, &error) < 0)
		fail_msg("sync: %s", error);
}

static void store_ok(struct mailbox *mb, size_t i, char mode, unsigned flags,
		     const char *const *kw, size_t n)
{
	const char *error = NULL;

	if (mailbox_store_flags(mb, i, mode, flags, kw, n, 0, &error) != 0)
		fail_msg("store: %s", error);
}

static void test_new_to_cur(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *new = xasprintf("%s/new", md), *cur = xasprintf("%s/cur", md);
	char *ix = xasprintf("%s/facteur-index", md);
	struct mailbox *mb;
	char *text;
	uint32_t uidv;

	(void)state;
	deliver(md, "Subject: 1\n\none\n");
	deliver(md, "Subject: 2\n\ntwo\n");
	deliver(md, "Subject: 3\n\nthree\n");
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(mb), 3);
	assert_int_equal(count_entries(new), 0);
	assert_int_equal(count_entries(cur), 3);
	for (size_t i = 0; i < 3; i++) {
		struct mailbox_msg m_v = msg(mb, i), *m = &m_v;

		assert_int_equal(m->uid, i + 1);
		assert_true(m->flags & MAIL_RECENT);
		assert_non_null(strstr(m->name, "cur/"));
		assert_string_equal(m->name + strlen(m->name) - 3, ":2,");
		assert_true(m->size > 10 && m->size < 20);
		assert_true(m->internal > 0);
	}
	assert_int_equal(mailbox_recent_count(mb), 3);
	assert_int_equal(mailbox_uidnext(mb), 4);
	uidv = mailbox_uidvalidity(mb);
	/* The index on disk: the header, three records, the R mark. */
	text = slurp(ix);
	assert_true(strncmp(text, "FACTEUR-INDEX 1 V", 17) == 0);
	assert_non_null(strstr(text, "\n+1 1 0 0 "));
	assert_non_null(strstr(text, "\n+3 3 0 0 "));
	free(text);
	{
		/* Reading a message leaves its atime alone (O_NOATIME; an
		 * atime before the mtime would have relatime update it). */
		char *path = xasprintf("%s/%s", md, msg(mb, 1).name);
		struct timespec ts[2] = {{1000000000, 0}, {0, UTIME_OMIT}};
		struct stat st;
		int fd;
		char buf[64] = {0};

		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
		fd = mailbox_msg_open(mb, 1);
		assert_true(fd >= 0);
		assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
		assert_string_equal(buf, "Subject: 2\n\ntwo\n");
		close(fd);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_atim.tv_sec, 1000000000);
		free(path);
	}
	mailbox_close(&mb);
	assert_null(mb);
	/* A writer killed long ago left a file in tmp/: the next read-write
	 * open removes it; a recent one (a writer at work) stays. */
	{
		char *tmp = xasprintf("%s/tmp", md);
		char *old = testlib_write_file(tmp, "1.M1P1.dead", "x");
		char *young = testlib_write_file(tmp, "2.M2P2.busy", "y");
		struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};

		assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
		mb = open_ok(md, "INBOX", MAILBOX_READONLY);
		mailbox_close(&mb);
		assert_int_equal(count_entries(tmp), 2);
		mb = open_ok(md, "INBOX", 0);
		mailbox_close(&mb);
		assert_int_equal(count_entries(tmp), 1);
		assert_int_equal(access(young, F_OK), 0);
		assert_int_equal(unlink(young), 0);
		free(old);
		free(young);
		free(tmp);
	}
	/* Reopen: same UIDs and UIDVALIDITY, nothing recent any more. */
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(mb), 3);
	assert_int_equal(mailbox_uidvalidity(mb), uidv);
	assert_int_equal(mailbox_recent_count(mb), 0);
	assert_int_equal(msg(mb, 2).uid, 3);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(ix);
	free(new);
	free(cur);
	free(md);
	free(dir);
}

static void test_no_uid_reuse(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_changes ch;
	struct mailbox *mb;
	const char *error;

	(void)state;
	deliver(md, "a\n");
	deliver(md, "b\n");
	deliver(md, "c\n");
	mb = open_ok(md, "INBOX", 0);
	store_ok(mb, 2, '+', MAIL_DELETED, NULL, 0);
	assert_true(msg(mb, 2).flags & MAIL_DELETED);
	assert_non_null(strstr(msg(mb, 2).name, ":2,T"));
	assert_int_equal(mailbox_expunge(mb, NULL, 0, &error), 0);
	/* The view keeps it until the sync. */
	assert_int_equal(mailbox_count(mb), 3);
	sync_ok(mb, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged[0], 2);
	assert_int_equal(ch.new_count, 0);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(mb), 2);
	mailbox_close(&mb);
	/* Expunge the highest UID, reopen, deliver: 4, not 3. */
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_uidnext(mb), 4);
	deliver(md, "d\n");
	sync_ok(mb, &ch);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	assert_int_equal(msg(mb, 2).uid, 4);
	/* UID EXPUNGE only takes the listed ones with \Deleted. */
	store_ok(mb, 0, '+', MAIL_DELETED, NULL, 0);
	store_ok(mb, 1, '+', MAIL_DELETED, NULL, 0);
	{
		uint32_t uids[] = {2, 4};

		assert_int_equal(mailbox_expunge(mb, uids, 2, &error), 0);
	}
	sync_ok(mb, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged[0], 1);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(mb), 2);
	assert_int_equal(msg(mb, 0).uid, 1);
	assert_int_equal(msg(mb, 1).uid, 4);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static void test_two_handles(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_changes ch;
	struct mailbox *a, *b;
	const char *error;
	uint32_t uid;
	uint64_t modseq;

	(void)state;
	deliver(md, "1\n");
	deliver(md, "2\n");
	deliver(md, "3\n");
	a = open_ok(md, "INBOX", 0);
	b = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_recent_count(a), 3);
	assert_int_equal(mailbox_recent_count(b), 0);
	assert_int_equal(mailbox_uidvalidity(a), mailbox_uidvalidity(b));
	/* a: append, flag one, expunge one. */
	assert_int_equal(mailbox_append(a, "Subject: x\r\n\r\nbody\r\n", 21,
					MAIL_SEEN, NULL, 0, 1000000000, &uid,
					&error),
			 0);
	assert_int_equal(uid, 4);
	modseq = msg(a, 0).modseq;
	store_ok(a, 0, '+', MAIL_FLAGGED, NULL, 0);
	assert_true(msg(a, 0).modseq > modseq);
	store_ok(a, 1, '=', MAIL_DELETED | MAIL_SEEN, NULL, 0);
	assert_int_equal(mailbox_expunge(a, NULL, 0, &error), 0);
	/* b sees exactly that. */
	sync_ok(b, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged[0], 1);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 0);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(b), 3);
	assert_int_equal(msg(b, 0).flags, MAIL_FLAGGED);
	assert_int_equal(msg(b, 0).modseq, msg(a, 0).modseq);
	assert_int_equal(msg(b, 2).uid, 4);
	/* b synced it first: it is \Recent to b (Dovecot's rule). */
	assert_int_equal(msg(b, 2).flags, MAIL_SEEN | MAIL_RECENT);
	assert_int_equal(mailbox_recent_count(b), 1);
	assert_int_equal(msg(b, 2).size, 18);
	/* Dovecot's ,W= (the CRLF size) is in the name: 18 + 3 lines. */
	assert_non_null(strstr(msg(b, 2).name, ",S=18,W=21:2,S"));
	assert_int_equal(msg(b, 2).internal, 1000000000);
	assert_int_equal(mailbox_highestmodseq(b), mailbox_highestmodseq(a));
	/* a's sync: its own changes are not news, the append is. */
	sync_ok(a, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.changed_count, 0);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	/* b changes flags: a sees them. */
	store_ok(b, 2, '-', MAIL_SEEN, NULL, 0);
	sync_ok(a, &ch);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 2);
	mailbox_changes_free(&ch);
	assert_int_equal(msg(a, 2).flags & ~MAIL_RECENT, 0);
	/* UNCHANGEDSINCE: b's change made a's modseq old. */
	assert_int_equal(
		mailbox_store_flags(a, 2, '+', MAIL_SEEN, NULL, 0, 1, &error),
		1);
	{
		int fd = mailbox_msg_open(b, 2);
		char buf[32] = {0};

		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, sizeof(buf)), 18);
		assert_string_equal(buf, "Subject: x\n\nbody\n");
		close(fd);
	}
	mailbox_close(&a);
	mailbox_close(&b);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/* The batch store: one call, the view and a second session agree. */
static void test_store_many(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox *mb, *other;
	const char *error;
	size_t idx[] = {0, 2, 3};
	uint64_t modseq;

	(void)state;
	for (int i = 0; i < 4; i++)
		deliver(md, "x\n");
	mb = open_ok(md, "INBOX", 0);
	modseq = msg(mb, 3).modseq;
	assert_int_equal(
		mailbox_store_flags_many(mb, idx, 3, '+', MAIL_SEEN, &error),
		0);
	assert_true(msg(mb, 0).flags & MAIL_SEEN);
	assert_false(msg(mb, 1).flags & MAIL_SEEN);
	assert_true(msg(mb, 2).flags & MAIL_SEEN);
	assert_true(msg(mb, 3).flags & MAIL_SEEN);
	assert_true(msg(mb, 3).modseq > modseq);
	assert_non_null(strstr(msg(mb, 2).name, ":2,S"));
	/* Nothing to do, and a bad index, change nothing. */
	assert_int_equal(
		mailbox_store_flags_many(mb, idx, 0, '+', MAIL_SEEN, &error),
		0);
	idx[1] = 99;
	assert_int_equal(
		mailbox_store_flags_many(mb, idx, 2, '-', MAIL_SEEN, &error),
		-1);
	assert_true(msg(mb, 0).flags & MAIL_SEEN);
	other = open_ok(md, "INBOX", 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal((msg(other, i).flags & MAIL_SEEN) != 0,
				 i != 1);
	mailbox_close(&other);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static void test_readonly(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *new = xasprintf("%s/new", md);
	struct mailbox *mb;
	const char *error;

	(void)state;
	deliver(md, "1\n");
	deliver(md, "2\n");
	mb = open_ok(md, "INBOX", MAILBOX_READONLY);
	assert_int_equal(mailbox_count(mb), 2);
	assert_int_equal(count_entries(new), 2);
	assert_int_equal(mailbox_recent_count(mb), 0);
	assert_non_null(strstr(msg(mb, 0).name, "new/"));
	assert_int_equal(
		mailbox_store_flags(mb, 0, '+', MAIL_SEEN, NULL, 0, 0, &error),
		-1);
	{
		int fd = mailbox_msg_open(mb, 0);

		assert_true(fd >= 0);
		close(fd);
	}
	mailbox_close(&mb);
	/* The first read-write session moves them and sees them recent,
	 * under the UIDs the read-only one gave. */
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(count_entries(new), 0);
	assert_int_equal(mailbox_recent_count(mb), 2);
	assert_int_equal(msg(mb, 1).uid, 2);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(new);
	free(md);
	free(dir);
}

static void test_flags_keywords(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *kwfile = xasprintf("%s/dovecot-keywords", md);
	const char *kw1[] = {"$Forwarded", "Work"};
	const char *kw2[] = {"Work"};
	const char *const *names;
	struct mailbox *mb;
	const char *error;
	size_t count;
	char *text;

	(void)state;
	deliver(md, "1\n");
	mb = open_ok(md, "INBOX", 0);
	store_ok(mb, 0, '+', MAIL_SEEN | MAIL_FLAGGED | MAIL_ANSWERED, kw1, 2);
	assert_string_equal(strchr(msg(mb, 0).name, ':'), ":2,FRSab");
	text = slurp(kwfile);
	assert_string_equal(text, "0 $Forwarded\n1 Work\n");
	free(text);
	store_ok(mb, 0, '-', MAIL_ANSWERED, kw1, 1);
	assert_string_equal(strchr(msg(mb, 0).name, ':'), ":2,FSb");
	/* Keywords are found case-insensitively. */
	{
		const char *kw3[] = {"work"};

		store_ok(mb, 0, '+', MAIL_DRAFT, kw3, 1);
		assert_string_equal(strchr(msg(mb, 0).name, ':'), ":2,DFSb");
	}
	assert_int_equal(mailbox_store_flags(mb, 0, '+', 0,
					     (const char *[]){"bad kw"}, 1, 0,
					     &error),
			 -1);
	mailbox_close(&mb);
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(msg(mb, 0).flags,
			 MAIL_DRAFT | MAIL_FLAGGED | MAIL_SEEN);
	assert_int_equal(msg(mb, 0).keywords, 2);
	names = mailbox_keywords(mb, &count);
	assert_int_equal(count, 2);
	assert_string_equal(names[1], "Work");
	/* A flag change made by another program (a rename) is seen with
	 * a new modseq. */
	{
		char *from = xasprintf("%s/%s", md, msg(mb, 0).name);
		char *to = xstrdup(from);
		uint64_t before = msg(mb, 0).modseq;
		struct mailbox_changes ch;

		strcpy(strrchr(to, ',') + 1, "Sa");
		assert_int_equal(rename(from, to), 0);
		sync_ok(mb, &ch);
		assert_int_equal(ch.changed_count, 1);
		mailbox_changes_free(&ch);
		assert_int_equal(msg(mb, 0).flags, MAIL_SEEN);
		assert_int_equal(msg(mb, 0).keywords, 1);
		assert_true(msg(mb, 0).modseq > before);
		free(from);
		free(to);
	}
	store_ok(mb, 0, '=', 0, kw2, 1);
	assert_string_equal(strchr(msg(mb, 0).name, ':'), ":2,b");
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(kwfile);
	free(md);
	free(dir);
}

/* test_delivery_order - UIDs follow delivery time, also when the
 * microseconds have fewer digits (a plain sort would put M99999 last) */
static void test_delivery_order(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *new = xasprintf("%s/new", md), *cur = xasprintf("%s/cur", md);
	struct mailbox *mb;

	(void)state;
	assert_int_equal(mkdir(md, 0700), 0);
	assert_int_equal(mkdir(new, 0700), 0);
	assert_int_equal(mkdir(cur, 0700), 0);
	free(testlib_write_file(new, "1700000001.M5P9.h,S=2", "c\n"));
	free(testlib_write_file(new, "1700000000.M100000P9.h,S=2", "b\n"));
	free(testlib_write_file(new, "1700000000.M99999P9.h,S=2", "a\n"));
	free(testlib_write_file(cur, "999999999.M1P9.h,S=2:2,S", "0\n"));
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(mb), 4);
	assert_non_null(strstr(msg(mb, 0).name, "999999999.M1P9"));
	assert_non_null(strstr(msg(mb, 1).name, "M99999P9"));
	assert_non_null(strstr(msg(mb, 2).name, "M100000P9"));
	assert_non_null(strstr(msg(mb, 3).name, "1700000001"));
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(new);
	free(cur);
	free(md);
	free(dir);
}

static void test_uidlist_import(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *cur = xasprintf("%s/cur", md);
	struct mailbox *mb;
	char *p;

	(void)state;
	assert_int_equal(mkdir(md, 0700), 0);
	assert_int_equal(mkdir(cur, 0700), 0);
	free(testlib_write_file(cur, "1000.M1P1.host,S=5:2,S", "abcd\n"));
	free(testlib_write_file(cur, "1001.M2P1.host:2,", "xy\n"));
	free(testlib_write_file(cur, "1002.M3P1.host,S=2:2,F", "z\n"));
	free(testlib_write_file(md, "dovecot-uidlist",
				"3 V1234567 N20 Gc0ffee\n"
				"3 :1000.M1P1.host,S=5\n"
				"7 W6 S5 :1001.M2P1.host\n"
				"9 :1999.gone.host\n"));
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_uidvalidity(mb), 1234567);
	assert_int_equal(mailbox_count(mb), 3);
	assert_int_equal(msg(mb, 0).uid, 3);
	assert_int_equal(msg(mb, 0).flags, MAIL_SEEN);
	assert_int_equal(msg(mb, 0).size, 5);
	assert_int_equal(msg(mb, 1).uid, 7);
	assert_int_equal(msg(mb, 1).size, 5); /* from S5 */
	assert_int_equal(msg(mb, 2).uid, 20);
	assert_int_equal(msg(mb, 2).flags & ~MAIL_RECENT, MAIL_FLAGGED);
	assert_int_equal(mailbox_uidnext(mb), 21);
	mailbox_close(&mb);
	/* Once imported, our index rules: a changed uidlist is ignored. */
	p = testlib_write_file(md, "dovecot-uidlist", "3 V99 N1\n");
	free(p);
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_uidvalidity(mb), 1234567);
	assert_int_equal(msg(mb, 2).uid, 20);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(cur);
	free(md);
	free(dir);
}

static void test_corrupt_index(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *ix = xasprintf("%s/facteur-index", md);
	struct mailbox *mb;
	uint32_t uidv;
	char *text;
	FILE *f;

	(void)state;
	deliver(md, "1\n");
	deliver(md, "2\n");
	mb = open_ok(md, "INBOX", 0);
	uidv = mailbox_uidvalidity(mb);
	mailbox_close(&mb);
	/* A torn last line (a writer killed mid-write) is not damage. */
	f = fopen(ix, "a");
	fputs("+3 9 0 0 12 1000 torn", f);
	fclose(f);
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_uidvalidity(mb), uidv);
	assert_int_equal(mailbox_count(mb), 2);
	mailbox_close(&mb);
	/* A bad line in the middle is. */
	text = slurp(ix);
	f = fopen(ix, "w");
	fprintf(f, "%.*s+x garbage\n%s", (int)(strchr(text, '\n') - text + 1),
		text, strchr(text, '\n') + 1);
	fclose(f);
	free(text);
	testlib_capture_logs();
	mb = open_ok(md, "INBOX", 0);
	assert_true(testlib_log_contains("rebuilding the index"));
	testlib_release_logs();
	assert_true(mailbox_uidvalidity(mb) > uidv);
	assert_int_equal(mailbox_count(mb), 2);
	assert_int_equal(msg(mb, 1).uid, 2);
	mailbox_close(&mb);
	/* Garbage all through, even binary. */
	f = fopen(ix, "w");
	fwrite("\0\xff\n\n", 1, 4, f);
	fclose(f);
	testlib_capture_logs();
	mb = open_ok(md, "INBOX", 0);
	testlib_release_logs();
	assert_int_equal(mailbox_count(mb), 2);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(ix);
	free(md);
	free(dir);
}

static void test_folders(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_info *list = NULL;
	struct stat st;
	const char *error;
	bool notfound;
	ssize_t n;
	char *p, *text;

	(void)state;
	assert_int_equal(mailbox_ensure_special(md, &error), 0);
	assert_int_equal(mailbox_create(md, "Entwürfe", &error), 0);
	p = xasprintf("%s/.Entw&APw-rfe/cur", md);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = xasprintf("%s/.Entw&APw-rfe/maildirfolder", md);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	assert_int_equal(mailbox_create(md, "Entwürfe", &error), -1);
	assert_int_equal(mailbox_create(md, "a.b.c", &error), 0);
	p = xasprintf("%s/.a.b/cur", md);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	assert_int_equal(mailbox_create(md, "bad..name", &error), -1);
	assert_int_equal(mailbox_create(md, "bad/name", &error), -1);
	assert_int_equal(mailbox_subscribe(md, "Entwürfe", true, &error), 0);
	assert_int_equal(mailbox_subscribe(md, "Gone", true, &error), 0);
	p = xasprintf("%s/subscriptions", md);
	text = slurp(p);
	assert_non_null(strstr(text, "V\t2\n\n"));
	assert_non_null(strstr(text, "\nEntwürfe\n"));
	assert_non_null(strstr(text, "\nTrash\n"));
	free(text);
	n = mailbox_list(md, &list, &error);
	assert_int_equal(n, 11);
	assert_string_equal(list[0].name, "INBOX");
	assert_string_equal(list[1].name, "Archive");
	assert_int_equal(list[1].special, MAILBOX_SPECIAL_ARCHIVE);
	assert_true(list[1].subscribed);
	assert_string_equal(list[2].name, "Drafts");
	assert_int_equal(list[2].special, MAILBOX_SPECIAL_DRAFTS);
	assert_string_equal(list[3].name, "Entwürfe");
	assert_true(list[3].subscribed);
	assert_false(list[3].nonexistent);
	assert_string_equal(list[4].name, "Gone");
	assert_true(list[4].nonexistent);
	assert_true(list[4].subscribed);
	assert_string_equal(list[6].name, "Sent");
	assert_int_equal(list[6].special, MAILBOX_SPECIAL_SENT);
	assert_string_equal(list[8].name, "a");
	assert_true(list[8].has_children);
	assert_false(list[8].nonexistent);
	assert_string_equal(list[10].name, "a.b.c");
	assert_false(list[10].has_children);
	mailbox_list_free(&list, (size_t)n);
	assert_int_equal(mailbox_subscribe(md, "Gone", false, &error), 0);
	text = slurp(p);
	assert_null(strstr(text, "Gone"));
	free(text);
	free(p);
	/* Rename with children; delete refuses a parent. */
	assert_int_equal(mailbox_delete(md, "a", &notfound, &error), -1);
	assert_false(notfound);
	assert_int_equal(mailbox_rename(md, "a", "Ä", &notfound, &error), 0);
	p = xasprintf("%s/.&AMQ-.b.c/cur", md);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	assert_int_equal(mailbox_rename(md, "nope", "x", &notfound, &error),
			 -1);
	assert_true(notfound);
	assert_int_equal(mailbox_rename(md, "Ä", "Trash", &notfound, &error),
			 -1);
	assert_int_equal(mailbox_delete(md, "Ä.b.c", &notfound, &error), 0);
	p = xasprintf("%s/.&AMQ-.b.c", md);
	assert_int_equal(stat(p, &st), -1);
	free(p);
	assert_int_equal(mailbox_delete(md, "Ä.b.c", &notfound, &error), -1);
	assert_true(notfound);
	assert_int_equal(mailbox_delete(md, "INBOX", &notfound, &error), -1);
	/* Renaming INBOX moves its messages and leaves it empty. */
	deliver(md, "1\n");
	deliver(md, "2\n");
	{
		struct mailbox *mb = open_ok(md, "INBOX", 0);

		mailbox_close(&mb);
	}
	assert_int_equal(mailbox_rename(md, "INBOX", "Old", &notfound, &error),
			 0);
	{
		struct mailbox *mb = open_ok(md, "INBOX", 0);

		assert_int_equal(mailbox_count(mb), 0);
		mailbox_close(&mb);
		mb = open_ok(md, "Old", 0);
		assert_int_equal(mailbox_count(mb), 2);
		mailbox_close(&mb);
	}
	/* A folder deleted while open: an error, no rebuild, no warning. */
	{
		struct mailbox *mb = open_ok(md, "Old", 0);
		const char *err = NULL;

		assert_int_equal(mailbox_delete(md, "Old", &notfound, &error),
				 0);
		testlib_capture_logs();
		assert_int_equal(mailbox_sync(mb, NULL, &err), -1);
		assert_non_null(strstr(err, "mailbox was deleted"));
		assert_false(testlib_log_contains("rebuilding"));
		testlib_release_logs();
		mailbox_close(&mb);
	}
	/* A folder that does not exist, and MAILBOX_CREATE. */
	{
		struct mailbox *mb =
			mailbox_open(md, "Nope", 0, &notfound, &error);

		assert_null(mb);
		assert_true(notfound);
		mb = open_ok(md, "Nope", MAILBOX_CREATE);
		mailbox_close(&mb);
	}
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static double now_ms(void);

/* test_many_folders - 3,000 folders and 3,000 subscriptions list fast */
static void test_many_folders(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_info *list = NULL;
	struct strbuf subs;
	const char *error;
	double t0;
	ssize_t n;

	(void)state;
	assert_int_equal(mkdir(md, 0700), 0);
	strbuf_init(&subs, STRBUF_NO_LIMIT);
	strbuf_append_str(&subs, "V\t2\n\n");
	for (int i = 0; i < 3000; i++) {
		char *p = i % 2 == 0 ? xasprintf("%s/.f%04d", md, i)
				     : xasprintf("%s/.f%04d.sub", md, i - 1);

		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
		strbuf_appendf(&subs, "s%04d\tx\n", i);
	}
	free(testlib_write_file(md, "subscriptions", subs.data));
	strbuf_release(&subs);
	t0 = now_ms();
	n = mailbox_list(md, &list, &error);
	print_message("list of %zd names: %.1f ms\n", n, now_ms() - t0);
	/* INBOX, 1500 + 1500 folders, 3000 subscriptions and their 3000
	 * missing parents. */
	assert_int_equal(n, 1 + 3000 + 6000);
	assert_string_equal(list[0].name, "INBOX");
	assert_string_equal(list[1].name, "f0000");
	assert_true(list[1].has_children);
	assert_false(list[1].nonexistent);
	assert_string_equal(list[2].name, "f0000.sub");
	assert_false(list[2].has_children);
	assert_string_equal(list[3001].name, "s0000");
	assert_true(list[3001].nonexistent);
	assert_true(list[3001].has_children);
	assert_false(list[3001].subscribed);
	assert_string_equal(list[3002].name, "s0000.x");
	assert_true(list[3002].subscribed);
	assert_true(list[3002].nonexistent);
	mailbox_list_free(&list, (size_t)n);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static void test_copy(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	const char *kw[] = {"Work"};
	struct mailbox *a, *b;
	const char *error;
	uint32_t uid;
	bool notfound;

	(void)state;
	deliver(md, "Subject: c\n\nbody\n");
	a = open_ok(md, "INBOX", 0);
	b = open_ok(md, "Sent", MAILBOX_CREATE);
	store_ok(a, 0, '+', MAIL_SEEN, kw, 1);
	assert_int_equal(mailbox_copy(a, 0, b, &uid, &error), 0);
	assert_int_equal(uid, 1);
	sync_ok(b, NULL);
	assert_int_equal(mailbox_count(b), 1);
	assert_int_equal(msg(b, 0).flags & ~MAIL_RECENT, MAIL_SEEN);
	assert_int_equal(msg(b, 0).keywords, 1);
	assert_int_equal(msg(b, 0).size, msg(a, 0).size);
	assert_int_equal(msg(b, 0).internal, msg(a, 0).internal);
	mailbox_close(&a);
	mailbox_close(&b);
	/* The copy is a hard link of the same file. */
	a = mailbox_open(md, "Sent", 0, &notfound, &error);
	assert_non_null(a);
	{
		char *p = xasprintf("%s/%s", mailbox_path(a), msg(a, 0).name);
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_nlink, 2);
		free(p);
	}
	mailbox_close(&a);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/*
 * test_shared_views - the handles of one process share the folder: each
 * keeps its own sequence numbers, \Recent and pending reports; a message
 * another handle expunged stays visible until the handle syncs; closing
 * one leaves the others working; one watch serves every waiting handle
 */
static void test_shared_views(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_changes ch;
	struct mailbox *a, *b, *c;
	struct mailbox_msg m;
	const char *error;
	uint32_t uid;
	int fd;

	(void)state;
	deliver(md, "1\n");
	deliver(md, "2\n");
	deliver(md, "3\n");
	a = open_ok(md, "INBOX", 0);
	b = open_ok(md, "INBOX", 0);
	c = open_ok(md, "INBOX", MAILBOX_READONLY);
	assert_int_equal(mailbox_recent_count(a), 3);
	assert_int_equal(mailbox_recent_count(b), 0);
	assert_int_equal(mailbox_recent_count(c), 0);
	/* One watch for the folder, kept while anyone waits. */
	fd = mailbox_wait_fd(a);
	assert_true(fd >= 0);
	assert_int_equal(mailbox_wait_fd(b), fd);
	mailbox_wait_stop(a);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	/* a expunges the second message, stores on the first, appends. */
	store_ok(a, 1, '+', MAIL_DELETED, NULL, 0);
	assert_int_equal(mailbox_expunge(a, NULL, 0, &error), 0);
	store_ok(a, 0, '+', MAIL_ANSWERED, NULL, 0);
	assert_int_equal(
		mailbox_append(a, "x\n", 2, 0, NULL, 0, 0, &uid, &error), 0);
	/* b still has it, as it was, until it syncs; its file is gone. */
	assert_int_equal(mailbox_count(b), 3);
	mailbox_msg(b, 1, &m);
	assert_int_equal(m.uid, 2);
	assert_true(m.flags & MAIL_DELETED);
	assert_int_equal(mailbox_msg_open(b, 1), -1);
	assert_int_equal(errno, ENOENT);
	sync_ok(b, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged[0], 1);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 0);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(b), 3);
	assert_int_equal(mailbox_uid(b, 2), uid);
	assert_int_equal(mailbox_recent_count(b), 1); /* b synced it first */
	/* c (READONLY) has not synced: still three, the old second. */
	assert_int_equal(mailbox_uid(c, 1), 2);
	mailbox_close(&a);
	/* Closing a leaves b and c working. */
	deliver(md, "4\n");
	sync_ok(c, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.new_count, 2);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_recent_count(c), 0);
	sync_ok(b, &ch);
	assert_int_equal(ch.expunged_count, 0);
	assert_int_equal(ch.changed_count, 0);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(b), 4);
	assert_int_equal(mailbox_count(c), 4);
	/* b's own store is not reported back to it; c is told. */
	store_ok(b, 3, '+', MAIL_FLAGGED, NULL, 0);
	sync_ok(b, &ch);
	assert_int_equal(ch.changed_count, 0);
	mailbox_changes_free(&ch);
	sync_ok(c, &ch);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 3);
	mailbox_changes_free(&ch);
	fd = mailbox_msg_open(c, 3);
	assert_true(fd >= 0);
	close(fd);
	mailbox_close(&c);
	mailbox_close(&b);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

static void test_wait_fd(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_changes ch;
	struct mailbox *mb;
	struct pollfd pfd;

	(void)state;
	deliver(md, "1\n");
	mb = open_ok(md, "INBOX", 0);
	pfd.fd = mailbox_wait_fd(mb);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	deliver(md, "2\n");
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	mailbox_wait_drain(mb);
	sync_ok(mb, &ch);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/* set_old - cur/ and new/ last changed long ago (so a sync may trust
 * that an unchanged time means unchanged contents) */
static void set_old(const char *md)
{
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	char *cur = xasprintf("%s/cur", md), *new = xasprintf("%s/new", md);

	assert_int_equal(utimensat(AT_FDCWD, cur, ts, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, new, ts, 0), 0);
	free(cur);
	free(new);
}

/*
 * test_unchanged_dirs - a sync that skips reading unchanged directories
 * still sees what others did through the index, and reads them again
 * as soon as their time moves (a delivery, a rename by another program)
 */
static void test_unchanged_dirs(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	struct mailbox_changes ch;
	struct mailbox *a, *b;
	const char *error;
	uint32_t uid;

	(void)state;
	deliver(md, "1\n");
	deliver(md, "2\n");
	a = open_ok(md, "INBOX", 0);
	set_old(md);
	b = open_ok(md, "INBOX", 0);
	sync_ok(a, NULL);
	/* Both trust the directories now.  b's changes reach a. */
	store_ok(b, 0, '+', MAIL_SEEN, NULL, 0);
	assert_int_equal(
		mailbox_append(b, "x\n", 2, 0, NULL, 0, 0, &uid, &error), 0);
	sync_ok(a, &ch);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	assert_int_equal(mailbox_count(a), 3);
	{
		int fd = mailbox_msg_open(a, 2);

		assert_true(fd >= 0);
		close(fd);
	}
	/* A delivery moves new/'s time. */
	set_old(md);
	sync_ok(a, NULL);
	deliver(md, "3\n");
	sync_ok(a, &ch);
	assert_int_equal(ch.new_count, 1);
	mailbox_changes_free(&ch);
	/* Another program removes a file: cur/'s time moves. */
	set_old(md);
	sync_ok(a, NULL);
	{
		char *p = xasprintf("%s/%s", md, msg(a, 0).name);

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	sync_ok(a, &ch);
	assert_int_equal(ch.expunged_count, 1);
	mailbox_changes_free(&ch);
	mailbox_close(&a);
	mailbox_close(&b);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/*
 * test_kill9 - a writer killed at random moments (kill -9) never loses a
 * UID it reported, the index stays readable, and UIDs are not reused
 */
static void test_kill9(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	uint32_t reported[4096];
	size_t nrep = 0;

	(void)state;
	mailbox_close(
		&(struct mailbox *){open_ok(md, "INBOX", MAILBOX_CREATE)});
	srand(42);
	for (int round = 0; round < 10; round++) {
		int fds[2];
		pid_t pid;
		uint32_t uid;
		ssize_t n;

		assert_int_equal(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			struct mailbox *mb = open_ok(md, "INBOX", 0);
			const char *error;

			close(fds[0]);
			for (int i = 0;; i++) {
				if (mailbox_append(mb, "k\n", 2, 0, NULL, 0, 0,
						   &uid, &error) < 0)
					_exit(1);
				if (write(fds[1], &uid, sizeof(uid)) < 0)
					_exit(1);
				if (i % 3 == 0 &&
				    (mailbox_sync(mb, NULL, &error) < 0 ||
				     mailbox_store_flags(mb, 0, '+', MAIL_SEEN,
							 NULL, 0, 0,
							 &error) < 0))
					_exit(1);
			}
		}
		close(fds[1]);
		usleep((useconds_t)(40000 + rand() % 160000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while ((n = read(fds[0], &uid, sizeof(uid))) == sizeof(uid))
			if (nrep < sizeof(reported) / sizeof(*reported))
				reported[nrep++] = uid;
		close(fds[0]);
	}
	{
		struct mailbox *mb = open_ok(md, "INBOX", 0);
		uint32_t last = 0;

		for (size_t i = 0; i < nrep; i++) {
			assert_true(reported[i] > last); /* never reused */
			last = reported[i];
			if (mailbox_find_uid(mb, reported[i]) < 0)
				fail_msg("UID %u lost", reported[i]);
		}
		assert_true(mailbox_uidnext(mb) > last);
		print_message("%zu UIDs reported by killed writers, all kept; "
			      "%zu messages\n",
			      nrep, mailbox_count(mb));
		mailbox_close(&mb);
	}
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/*
 * test_concurrent - three processes append, store and sync at once:
 * every message gets one UID, all agree
 */
static void test_concurrent(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	pid_t pids[3];
	struct mailbox *mb;

	(void)state;
	mailbox_close(
		&(struct mailbox *){open_ok(md, "INBOX", MAILBOX_CREATE)});
	for (int k = 0; k < 3; k++) {
		if ((pids[k] = fork()) == 0) {
			struct mailbox *m = open_ok(md, "INBOX", 0);
			const char *error;
			uint32_t uid;

			for (int i = 0; i < 60; i++) {
				if (k == 2)
					deliver(md, "d\n");
				else if (mailbox_append(m, "a\n", 2, 0, NULL, 0,
							0, &uid, &error) < 0)
					_exit(1);
				if (mailbox_sync(m, NULL, &error) < 0)
					_exit(2);
				if (mailbox_count(m) > 0 &&
				    mailbox_store_flags(
					    m, (size_t)i % mailbox_count(m),
					    '+', MAIL_FLAGGED, NULL, 0, 0,
					    &error) < 0)
					_exit(3);
			}
			mailbox_close(&m);
			_exit(0);
		}
	}
	for (int k = 0; k < 3; k++) {
		int status;

		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(mb), 180);
	for (size_t i = 0; i < 180; i++)
		assert_int_equal(msg(mb, i).uid, i + 1);
	{
		char *cur = xasprintf("%s/cur", md),
		     *new = xasprintf("%s/new", md);

		assert_int_equal(count_entries(cur), 180);
		assert_int_equal(count_entries(new), 0);
		free(cur);
		free(new);
	}
	mailbox_close(&mb);
	testlib_rmtree(dir);
	free(md);
	free(dir);
}

/*
 * test_write_failure - the index cannot grow (RLIMIT_FSIZE: writes fail
 * with EFBIG): the sync fails, and what it had given in memory only is
 * forgotten, so the next sync gives the same UIDs to the same files and
 * another process agrees
 */
static void test_write_failure(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *ix = xasprintf("%s/facteur-index", md);
	struct mailbox *a, *b;
	struct rlimit old, lim;
	struct stat st;
	const char *error;

	(void)state;
	deliver(md, "1\n");
	a = open_ok(md, "INBOX", 0);
	deliver(md, "2\n");
	deliver(md, "3\n");
	assert_int_equal(stat(ix, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(mailbox_sync(a, NULL, &error), -1);
	assert_non_null(strstr(error, "facteur-index"));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(mailbox_count(a), 1);
	/* The first of the two files goes away; b gives UID 2 to the other
	 * one.  Had a kept its unwritten UIDs, it would disagree. */
	{
		char *cur = xasprintf("%s/cur", md);
		DIR *d = opendir(cur);
		struct dirent *e;
		char *first = NULL;

		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' &&
			    strcmp(e->d_name,
				   strchr(msg(a, 0).name, '/') + 1) != 0 &&
			    (first == NULL || strcmp(e->d_name, first) < 0)) {
				free(first);
				first = xstrdup(e->d_name);
			}
		closedir(d);
		assert_non_null(first);
		free(cur);
		cur = xasprintf("%s/cur/%s", md, first);
		assert_int_equal(unlink(cur), 0);
		free(cur);
		free(first);
	}
	b = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(b), 2);
	sync_ok(a, NULL);
	assert_int_equal(mailbox_count(a), 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(msg(a, i).uid, i + 1);
		assert_int_equal(msg(b, i).uid, i + 1);
		assert_string_equal(msg(a, i).name, msg(b, i).name);
	}
	mailbox_close(&a);
	mailbox_close(&b);
	testlib_rmtree(dir);
	free(ix);
	free(md);
	free(dir);
}

static double now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec * 1000 + (double)tv.tv_usec / 1000;
}

/*
 * test_large - 20,000 messages that are FIFOs: opening one for reading
 * would block (the alarm fails the test), stat works.  The second open
 * must not even stat: a changed mtime is not seen.
 */
static void test_large(void **state)
{
	char *dir = testlib_tmpdir(), *md = xasprintf("%s/Maildir", dir);
	char *cur = xasprintf("%s/cur", md);
	struct mailbox *mb;
	char name[256];
	double t0, t1, t2;
	const size_t n = 20000;
	const char *error;

	(void)state;
	assert_int_equal(mkdir(md, 0700), 0);
	assert_int_equal(mkdir(cur, 0700), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/%zu.M%zuP1.host,S=%zu:2,S",
			 cur, 1700000000 + i, i, 100 + i);
		assert_int_equal(mkfifo(name, 0600), 0);
	}
	alarm(120);
	t0 = now_ms();
	mb = open_ok(md, "INBOX", 0);
	t1 = now_ms();
	assert_int_equal(mailbox_count(mb), n);
	assert_int_equal(msg(mb, 0).size, 100);
	assert_int_equal(msg(mb, n - 1).uid, n);
	assert_int_equal(msg(mb, n - 1).size, 100 + n - 1);
	mailbox_close(&mb);
	snprintf(name, sizeof(name), "%s/%zu.M%zuP1.host,S=%zu:2,S", cur,
		 (size_t)1700000000, (size_t)0, (size_t)100);
	{
		struct timespec ts[2] = {{12345, 0}, {12345, 0}};

		assert_int_equal(utimensat(AT_FDCWD, name, ts, 0), 0);
	}
	t2 = now_ms();
	mb = open_ok(md, "INBOX", 0);
	print_message("first open %.1f ms, second %.1f ms (%zu messages)\n",
		      t1 - t0, now_ms() - t2, n);
	assert_int_equal(mailbox_count(mb), n);
	assert_true(msg(mb, 0).internal != 12345);
	t2 = now_ms();
	sync_ok(mb, NULL);
	print_message("sync %.1f ms\n", now_ms() - t2);
	set_old(md);
	sync_ok(mb, NULL);
	t2 = now_ms();
	sync_ok(mb, NULL);
	print_message("sync of unchanged directories %.1f ms\n", now_ms() - t2);
	/* Flag every message, then expunge half: one append each. */
	for (size_t i = 0; i < n; i += 2)
		store_ok(mb, i, '+', MAIL_DELETED, NULL, 0);
	assert_int_equal(mailbox_expunge(mb, NULL, 0, &error), 0);
	sync_ok(mb, NULL);
	assert_int_equal(mailbox_count(mb), n / 2);
	mailbox_close(&mb);
	mb = open_ok(md, "INBOX", 0);
	assert_int_equal(mailbox_count(mb), n / 2);
	assert_int_equal(msg(mb, 0).uid, 2);
	mailbox_close(&mb);
	alarm(0);
	testlib_rmtree(dir);
	free(cur);
	free(md);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_to_cur),
		cmocka_unit_test(test_no_uid_reuse),
		cmocka_unit_test(test_two_handles),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_flags_keywords),
		cmocka_unit_test(test_delivery_order),
		cmocka_unit_test(test_uidlist_import),
		cmocka_unit_test(test_corrupt_index),
		cmocka_unit_test(test_folders),
		cmocka_unit_test(test_many_folders),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_wait_fd),
		cmocka_unit_test(test_shared_views),
		cmocka_unit_test(test_unchanged_dirs),
		cmocka_unit_test(test_store_many),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
