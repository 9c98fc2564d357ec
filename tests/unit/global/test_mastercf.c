/*
 * test_mastercf - unit tests for lib/global/mastercf.c
 *
 * A realistic file is checked field by field; every error is checked by
 * its exact "FILE:LINE: ..." text, since master shows that text to the
 * admin as it is.  The shipped conf/master.cf is checked too: it must
 * parse to the services whose programs exist, and to all the services it
 * documents once the others are uncommented.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "log.h"
#include "mastercf.h"
#include "strbuf.h"

#define FN "test.cf"

/* ---------------------------------------------------------- helpers */

/* parse_ok - parse text that must be valid */
static struct mastercf *parse_ok(const char *text)
{
	const char *error = NULL;
	struct mastercf *mcf = mastercf_parse(FN, text, &error);

	if (mcf == NULL)
		fail_msg("unexpected error: %s", error);
	return mcf;
}

/* parse_error - parse text that must fail; returns the error */
static const char *parse_error(const char *text)
{
	const char *error = NULL;
	struct mastercf *mcf = mastercf_parse(FN, text, &error);

	if (mcf != NULL) {
		mastercf_free(&mcf);
		fail_msg("no error for: %s", text);
	}
	assert_non_null(error);
	return error;
}

/* check_argv - compare an entry's argv with a NULL-terminated list */
static void check_argv(const struct mastercf_entry *e, ...)
{
	va_list ap;
	const char *arg;
	size_t i = 0;

	va_start(ap, e);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		assert_true(i < e->argc);
		assert_string_equal(e->argv[i], arg);
		i++;
	}
	va_end(ap);
	assert_int_equal(e->argc, i);
	assert_null(e->argv[i]);
}

/* ---------------------------------------------------------- parsing */

static const char realistic[] =
	"#\n"
	"# master.cf, as an admin would write it\n"
	"# ======================================================\n"
	"# service type  private unpriv  chroot  wakeup  maxproc command\n"
	"smtp      inet  n       -       n       -       -       smtpd\n"
	"submission inet n       -       n       -       -       smtpd\n"
	"  -o syslog_name=postfix/submission\n"
	"#  -o smtpd_tls_security_level=may\n"
	"\t-o smtpd_tls_security_level=encrypt\n"
	"\n"
	"  -o smtpd_sasl_auth_enable=yes\n"
	"127.0.0.1:2525 inet n - n - 10 smtpd -osmtpd_banner=test\n"
	"[::1]:10025\tinet\tn\t-\ty\t-\t0\tsmtpd\n"
	"   # an indented comment\n"
	"pickup    unix  n       -       n       60      1       pickup\n"
	"qmgr      unix  n       -       n       300?    1       qmgr\n"
	"local     unix  -       n       n       -       -       local\n"
	"   \t   \n"
	"smtp      unix  -       -       n       -       -       smtp\n"
	"    -v\n"
	"relay.fifo fifo y y y 5 2147483647 relay a  b \t c\n"
	"fd-pass   pass  -       -       -       0?      0       testsvc";

static void test_realistic(void **state)
{
	struct mastercf *mcf = parse_ok(realistic);
	const struct mastercf_entry *e;

	(void)state;
	assert_string_equal(mcf->filename, FN);
	assert_int_equal(mcf->count, 10);

	e = &mcf->entries[0];
	assert_string_equal(e->name, "smtp");
	assert_int_equal(e->type, MASTERCF_INET);
	assert_false(e->private_);
	assert_true(e->unpriv);
	assert_false(e->chroot);
	assert_int_equal(e->wakeup, 0);
	assert_false(e->wakeup_if_used);
	assert_int_equal(e->maxproc, -1);
	assert_null(e->host);
	assert_string_equal(e->port, "smtp");
	check_argv(e, "smtpd", NULL);
	assert_string_equal(e->text, "smtp inet n - n - - smtpd");
	assert_int_equal(e->line, 5);

	e = &mcf->entries[1];
	assert_string_equal(e->name, "submission");
	assert_int_equal(e->line, 6);
	check_argv(e, "smtpd", "-o", "syslog_name=postfix/submission", "-o",
		   "smtpd_tls_security_level=encrypt", "-o",
		   "smtpd_sasl_auth_enable=yes", NULL);
	assert_string_equal(e->text, "submission inet n - n - - smtpd -o "
				     "syslog_name=postfix/submission -o "
				     "smtpd_tls_security_level=encrypt -o "
				     "smtpd_sasl_auth_enable=yes");

	e = &mcf->entries[2];
	assert_string_equal(e->name, "127.0.0.1:2525");
	assert_string_equal(e->host, "127.0.0.1");
	assert_string_equal(e->port, "2525");
	assert_int_equal(e->maxproc, 10);
	assert_int_equal(e->line, 12);
	check_argv(e, "smtpd", "-osmtpd_banner=test", NULL);

	e = &mcf->entries[3];
	assert_string_equal(e->name, "[::1]:10025");
	assert_string_equal(e->host, "::1");
	assert_string_equal(e->port, "10025");
	assert_true(e->chroot);
	assert_int_equal(e->maxproc, 0);
	assert_string_equal(e->text, "[::1]:10025 inet n - y - 0 smtpd");

	e = &mcf->entries[4];
	assert_string_equal(e->name, "pickup");
	assert_int_equal(e->type, MASTERCF_UNIX);
	assert_false(e->private_);
	assert_int_equal(e->wakeup, 60);
	assert_false(e->wakeup_if_used);
	assert_int_equal(e->maxproc, 1);
	assert_null(e->host);
	assert_null(e->port);
	assert_int_equal(e->line, 15);

	e = &mcf->entries[5];
	assert_string_equal(e->name, "qmgr");
	assert_int_equal(e->wakeup, 300);
	assert_true(e->wakeup_if_used);
	assert_string_equal(e->text, "qmgr unix n - n 300? 1 qmgr");

	e = &mcf->entries[6];
	assert_string_equal(e->name, "local");
	assert_true(e->private_);
	assert_false(e->unpriv);

	e = &mcf->entries[7];
	assert_string_equal(e->name, "smtp");
	assert_int_equal(e->type, MASTERCF_UNIX);
	assert_int_equal(e->line, 19);
	check_argv(e, "smtp", "-v", NULL);

	e = &mcf->entries[8];
	assert_string_equal(e->name, "relay.fifo");
	assert_int_equal(e->type, MASTERCF_FIFO);
	assert_true(e->private_);
	assert_true(e->unpriv);
	assert_true(e->chroot);
	assert_int_equal(e->wakeup, 5);
	assert_int_equal(e->maxproc, 2147483647);
	check_argv(e, "relay", "a", "b", "c", NULL);
	assert_string_equal(e->text,
			    "relay.fifo fifo y y y 5 2147483647 relay a b c");

	e = &mcf->entries[9];
	assert_string_equal(e->name, "fd-pass");
	assert_int_equal(e->type, MASTERCF_PASS);
	assert_true(e->private_);
	assert_true(e->unpriv);
	assert_false(e->chroot);
	assert_int_equal(e->wakeup, 0);
	assert_true(e->wakeup_if_used);
	assert_int_equal(e->maxproc, 0);
	assert_int_equal(e->line, 22);

	/* find: by name and type */
	assert_ptr_equal(mastercf_find(mcf, "smtp", MASTERCF_INET),
			 &mcf->entries[0]);
	assert_ptr_equal(mastercf_find(mcf, "smtp", MASTERCF_UNIX),
			 &mcf->entries[7]);
	assert_null(mastercf_find(mcf, "smtp", MASTERCF_FIFO));
	assert_null(mastercf_find(mcf, "smt", MASTERCF_INET));
	assert_null(mastercf_find(mcf, "nosuch", MASTERCF_UNIX));

	mastercf_free(&mcf);
	assert_null(mcf);
	mastercf_free(&mcf);
}

static void test_empty(void **state)
{
	static const char *texts[] = {
		"", "\n", "# only a comment", "#\n#\n\n  \n\t# x\n", "   ",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct mastercf *mcf = parse_ok(texts[i]);

		assert_int_equal(mcf->count, 0);
		assert_null(mastercf_find(mcf, "smtp", MASTERCF_INET));
		mastercf_free(&mcf);
	}
}

static const struct {
	const char *text;
	const char *error;
} error_cases[] = {
	/* field count */
	{"smtp inet n - n - -", FN ":1: 7 fields, expected at least 8 fields"},
	{"\n\n# c\nsmtp\n", FN ":4: 1 field, expected at least 8 fields"},
	{"a unix - - - - - x\nb unix - - -\n  - -\n",
	 FN ":2: 7 fields, expected at least 8 fields"},
	/* type */
	{"smtp tcp n - n - - smtpd", FN ":1: unknown service type 'tcp'"},
	{"smtp INET n - n - - smtpd", FN ":1: unknown service type 'INET'"},
	{"smtp - n - n - - smtpd", FN ":1: unknown service type '-'"},
	/* y/n/- columns */
	{"smtp inet x - n - - smtpd",
	 FN ":1: bad private field 'x': expected y, n or -"},
	{"smtp inet n yes n - - smtpd",
	 FN ":1: bad unpriv field 'yes': expected y, n or -"},
	{"smtp inet n - 1 - - smtpd",
	 FN ":1: bad chroot field '1': expected y, n or -"},
	{"smtp inet n - N - - smtpd",
	 FN ":1: bad chroot field 'N': expected y, n or -"},
	/* wakeup */
	{"q unix n - n -1 1 qmgr",
	 FN ":1: bad wakeup field '-1': expected seconds, seconds?, or -"},
	{"q unix n - n x 1 qmgr",
	 FN ":1: bad wakeup field 'x': expected seconds, seconds?, or -"},
	{"q unix n - n ? 1 qmgr",
	 FN ":1: bad wakeup field '?': expected seconds, seconds?, or -"},
	{"q unix n - n 10?? 1 qmgr",
	 FN ":1: bad wakeup field '10?\?': expected seconds, seconds?, or -"},
	{"q unix n - n -? 1 qmgr",
	 FN ":1: bad wakeup field '-?': expected seconds, seconds?, or -"},
	{"q unix n - n 60s 1 qmgr",
	 FN ":1: bad wakeup field '60s': expected seconds, seconds?, or -"},
	{"q unix n - n +5 1 qmgr",
	 FN ":1: bad wakeup field '+5': expected seconds, seconds?, or -"},
	{"q unix n - n 2147483648 1 qmgr",
	 FN ":1: bad wakeup field '2147483648': expected seconds, seconds?, "
	    "or -"},
	/* maxproc */
	{"q unix n - n - -1 qmgr",
	 FN ":1: bad maxproc field '-1': expected a number or -"},
	{"q unix n - n - 1? qmgr",
	 FN ":1: bad maxproc field '1?': expected a number or -"},
	{"q unix n - n - 0x10 qmgr",
	 FN ":1: bad maxproc field '0x10': expected a number or -"},
	{"q unix n - n - 99999999999 qmgr",
	 FN ":1: bad maxproc field '99999999999': expected a number or -"},
	/* -o */
	{"smtp inet n - n - - smtpd -o", FN ":1: -o without an argument"},
	{"smtp inet n - n - - smtpd\n -o a=b\n -o\n",
	 FN ":1: -o without an argument"},
	{"smtp inet n - n - - smtpd -o noequals",
	 FN ":1: bad override '-o noequals': expected name=value"},
	{"smtp inet n - n - - smtpd -o =value",
	 FN ":1: bad override '-o =value': expected name=value"},
	{"smtp inet n - n - - smtpd -o=x",
	 FN ":1: bad override '-o =x': expected name=value"},
	{"smtp inet n - n - - smtpd -ox",
	 FN ":1: bad override '-o x': expected name=value"},
	/* inet names */
	{"[::1 inet n - n - - smtpd",
	 FN ":1: bad inet service '[::1': missing ']' after IPv6 address"},
	{"host: inet n - n - - smtpd",
	 FN ":1: bad inet service 'host:': empty port"},
	{":25 inet n - n - - smtpd",
	 FN ":1: bad inet service ':25': empty host"},
	{"a:b:c inet n - n - - smtpd",
	 FN ":1: bad inet service 'a:b:c': too many ':' (put an IPv6 address "
	    "in brackets)"},
	{"0 inet n - n - - smtpd", FN ":1: bad inet service '0': bad port"},
	/* unix/fifo/pass names */
	{"a/b unix n - n - - x",
	 FN ":1: bad unix service name 'a/b': expected a file name of "
	    "[A-Za-z0-9._-]"},
	{". fifo n - n - - x",
	 FN ":1: bad fifo service name '.': expected a file name of "
	    "[A-Za-z0-9._-]"},
	{".. pass n - n - - x",
	 FN ":1: bad pass service name '..': expected a file name of "
	    "[A-Za-z0-9._-]"},
	{"127.0.0.1:25 unix n - n - - x",
	 FN ":1: bad unix service name '127.0.0.1:25': expected a file name "
	    "of [A-Za-z0-9._-]"},
	{"q$ unix n - n - - x",
	 FN ":1: bad unix service name 'q$': expected a file name of "
	    "[A-Za-z0-9._-]"},
	/* structure */
	{"  -o a=b\n", FN ":1: continuation line without an entry to continue"},
	{"# c\n\n\tsmtp inet n - n - - smtpd\n",
	 FN ":3: continuation line without an entry to continue"},
	/* duplicates */
	{"smtp inet n - n - - smtpd\n"
	 "qmgr unix n - n - 1 qmgr\n"
	 "smtp inet n - n - - smtpd -v\n",
	 FN ":3: duplicate inet service 'smtp' (first defined at line 1)"},
	{"# x\nq unix n - n - 1 qmgr\n -v\n\nq unix n - n - 1 qmgr\n",
	 FN ":5: duplicate unix service 'q' (first defined at line 2)"},
	/* an error in a later line of an entry names its first line */
	{"a unix - - - - - x\n\nb unix - - - - - x\n -o\n  bad\n",
	 FN ":3: bad override '-o bad': expected name=value"},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
	     i++) {
		const char *error = parse_error(error_cases[i].text);

		if (strcmp(error, error_cases[i].error) != 0)
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i,
				 error, error_cases[i].error);
	}
}

static void test_same_name_other_type(void **state)
{
	struct mastercf *mcf =
		parse_ok("smtp inet n - n - - smtpd\nsmtp unix - - n - - smtp\n"
			 "smtp fifo - - n - - x\nsmtp pass - - n - - y\n");

	(void)state;
	assert_int_equal(mcf->count, 4);
	assert_int_equal(mastercf_find(mcf, "smtp", MASTERCF_FIFO)->line, 3);
	assert_int_equal(mastercf_find(mcf, "smtp", MASTERCF_PASS)->line, 4);
	mastercf_free(&mcf);
}

static void test_overrides_ok(void **state)
{
	struct mastercf *mcf = parse_ok(
		"smtp inet n - n - - smtpd -o a=b -oc=d -o e= -o f=g=h -v x");

	(void)state;
	check_argv(&mcf->entries[0], "smtpd", "-o", "a=b", "-oc=d", "-o",
		   "e=", "-o", "f=g=h", "-v", "x", NULL);
	mastercf_free(&mcf);
}

/* ---------------------------------------------------------- limits */

static void test_limit_entries(void **state)
{
	struct strbuf sb;
	const char *error = NULL;
	struct mastercf *mcf;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (int i = 0; i < MASTERCF_ENTRY_MAX; i++)
		assert_int_equal(
			strbuf_appendf(&sb, "s%d unix - - - - - x\n", i), 0);
	mcf = parse_ok(sb.data);
	assert_int_equal(mcf->count, 1000);
	assert_string_equal(mcf->entries[999].name, "s999");
	mastercf_free(&mcf);
	assert_int_equal(strbuf_append_str(&sb, "one unix - - - - - more\n"),
			 0);
	assert_null(mastercf_parse(FN, sb.data, &error));
	assert_string_equal(error, FN ":1001: more than 1000 services");
	strbuf_release(&sb);
}

static void test_limit_args(void **state)
{
	struct strbuf sb;
	const char *error = NULL;
	struct mastercf *mcf;

	(void)state;
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(strbuf_append_str(&sb, "s unix - - - - - cmd"), 0);
	for (int i = 1; i < MASTERCF_ARG_MAX; i++)
		assert_int_equal(strbuf_appendf(&sb, "\n a%d", i), 0);
	mcf = parse_ok(sb.data);
	assert_int_equal(mcf->entries[0].argc, 256);
	assert_string_equal(mcf->entries[0].argv[255], "a255");
	assert_null(mcf->entries[0].argv[256]);
	mastercf_free(&mcf);
	assert_int_equal(strbuf_append_str(&sb, " a256"), 0);
	assert_null(mastercf_parse(FN, sb.data, &error));
	assert_string_equal(error, FN ":1: more than 256 command words");
	strbuf_release(&sb);
}

static void test_limit_line(void **state)
{
	static const char head[] = "s unix - - - - - cmd ";
	struct strbuf sb;
	const char *error = NULL;
	struct mastercf *mcf;
	char *arg;
	size_t arglen = MASTERCF_LINE_MAX - (sizeof(head) - 1) - 4;

	(void)state;
	/* head + "\n x" continuation ("x" joined as " x") + the argument:
	 * exactly MASTERCF_LINE_MAX bytes of logical line. */
	arg = malloc(arglen + 1);
	assert_non_null(arg);
	memset(arg, 'a', arglen);
	arg[arglen] = '\0';
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	assert_int_equal(strbuf_appendf(&sb, "# c\n%s%s\n xy\n", head, arg), 0);
	mcf = parse_ok(sb.data);
	assert_int_equal(strlen(mcf->entries[0].argv[1]), arglen);
	assert_string_equal(mcf->entries[0].argv[2], "xy");
	mastercf_free(&mcf);

	strbuf_reset(&sb);
	assert_int_equal(strbuf_appendf(&sb, "# c\n%s%s\n xyz\n", head, arg),
			 0);
	assert_null(mastercf_parse(FN, sb.data, &error));
	assert_string_equal(error,
			    FN ":2: logical line longer than 65536 bytes");

	/* Long comment lines are fine: only the file limit applies. */
	strbuf_reset(&sb);
	assert_int_equal(strbuf_appendf(&sb, "#%s%s\n", arg, arg), 0);
	mcf = parse_ok(sb.data);
	assert_int_equal(mcf->count, 0);
	mastercf_free(&mcf);
	free(arg);
	strbuf_release(&sb);
}

static void test_limit_file(void **state)
{
	size_t size = MASTERCF_FILE_MAX + 1;
	char *text = malloc(size + 1);
	const char *error = NULL;
	struct mastercf *mcf;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', size);
	text[size] = '\0';
	assert_null(mastercf_parse(FN, text, &error));
	assert_string_equal(error, FN ": larger than 4194304 bytes");
	text[size - 1] = '\0';
	mcf = parse_ok(text);
	assert_int_equal(mcf->count, 0);
	mastercf_free(&mcf);
	free(text);
}

/* ---------------------------------------------------------- split_inet */

static void test_split_inet(void **state)
{
	static const struct {
		const char *name, *host, *port, *error;
	} cases[] = {
		{"2525", NULL, "2525", NULL},
		{"smtp", NULL, "smtp", NULL},
		{"65535", NULL, "65535", NULL},
		{"127.0.0.1:25", "127.0.0.1", "25", NULL},
		{"localhost:smtp", "localhost", "smtp", NULL},
		{"mail-1.example.com:submission", "mail-1.example.com",
		 "submission", NULL},
		{"[::1]:2525", "::1", "2525", NULL},
		{"[2001:db8::25]:smtp", "2001:db8::25", "smtp", NULL},
		{"[fe80::1%eth0]:25", "fe80::1%eth0", "25", NULL},
		{"[::ffff:192.0.2.1]:25", "::ffff:192.0.2.1", "25", NULL},
		{"", NULL, NULL, "empty port"},
		{"[::1", NULL, NULL, "missing ']' after IPv6 address"},
		{"[::1]", NULL, NULL, "expected ':port' after ']'"},
		{"[::1]25", NULL, NULL, "expected ':port' after ']'"},
		{"[::1]:", NULL, NULL, "empty port"},
		{"[]:25", NULL, NULL, "bad IPv6 address"},
		{"[a/b]:25", NULL, NULL, "bad IPv6 address"},
		{"host:", NULL, NULL, "empty port"},
		{":25", NULL, NULL, "empty host"},
		{":", NULL, NULL, "empty host"},
		{"a:b:c", NULL, NULL,
		 "too many ':' (put an IPv6 address in "
		 "brackets)"},
		{"::1:25", NULL, NULL,
		 "too many ':' (put an IPv6 address in "
		 "brackets)"},
		{"0", NULL, NULL, "bad port"},
		{"65536", NULL, NULL, "bad port"},
		{"host:99999999999999999999", NULL, NULL, "bad port"},
		{"host:25x", NULL, NULL, "bad port"},
		{"host:sm/tp", NULL, NULL, "bad port"},
		{"ho/st:25", NULL, NULL, "bad host"},
		{"*:25", NULL, NULL, "bad host"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *host = (char *)"unset", *port = (char *)"unset";
		const char *error = NULL;
		int ret = mastercf_split_inet(cases[i].name, &host, &port,
					      &error);

		if (cases[i].error != NULL) {
			if (ret != -1 || strcmp(error, cases[i].error) != 0)
				fail_msg("'%s': ret %d error \"%s\", expected "
					 "\"%s\"",
					 cases[i].name, ret,
					 error ? error : "(null)",
					 cases[i].error);
			continue;
		}
		if (ret != 0)
			fail_msg("'%s': unexpected error %s", cases[i].name,
				 error);
		if (cases[i].host == NULL)
			assert_null(host);
		else
			assert_string_equal(host, cases[i].host);
		assert_string_equal(port, cases[i].port);
		free(host);
		free(port);
	}
}

static void test_type_names(void **state)
{
	static const struct {
		const char *name;
		enum mastercf_type type;
	} types[] = {
		{"inet", MASTERCF_INET},
		{"unix", MASTERCF_UNIX},
		{"fifo", MASTERCF_FIFO},
		{"pass", MASTERCF_PASS},
	};
	enum mastercf_type type;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_string_equal(mastercf_type_name(types[i].type),
				    types[i].name);
		type = types[i].type == MASTERCF_INET ? MASTERCF_PASS
						      : MASTERCF_INET;
		assert_int_equal(mastercf_type_parse(types[i].name, &type), 0);
		assert_int_equal(type, types[i].type);
	}
	type = MASTERCF_FIFO;
	assert_int_equal(mastercf_type_parse("tcp", &type), -1);
	assert_int_equal(mastercf_type_parse("", &type), -1);
	assert_int_equal(mastercf_type_parse("Unix", &type), -1);
	assert_int_equal(mastercf_type_parse("inet ", &type), -1);
	assert_int_equal(type, MASTERCF_FIFO);
}

/* ---------------------------------------------------------- files */

/* write_file - a temporary file with the given bytes; returns its path */
static char *write_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/test_mastercf.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load(void **state)
{
	static const char text[] = "smtp inet n - n - - smtpd\n"
				   "bad unix n - n - - x\n -o\n";
	const char *error = NULL;
	struct mastercf *mcf;
	char *path, expect[256];
	char *big;

	(void)state;
	mcf = mastercf_load("/nonexistent/dir/master.cf", &error);
	assert_null(mcf);
	assert_string_equal(error, "open /nonexistent/dir/master.cf: No such "
				   "file or directory");

	path = write_file(text, 26);
	mcf = mastercf_load(path, &error);
	assert_non_null(mcf);
	assert_int_equal(mcf->count, 1);
	assert_string_equal(mcf->filename, path);
	mastercf_free(&mcf);
	unlink(path);
	free(path);

	/* Errors name the file by the path it was loaded from. */
	path = write_file(text, sizeof(text) - 1);
	assert_null(mastercf_load(path, &error));
	snprintf(expect, sizeof(expect), "%s:2: -o without an argument", path);
	assert_string_equal(error, expect);
	unlink(path);
	free(path);

	path = write_file("smtp inet n - n - - smtpd\0x\n", 28);
	assert_null(mastercf_load(path, &error));
	snprintf(expect, sizeof(expect), "%s: contains a NUL byte", path);
	assert_string_equal(error, expect);
	unlink(path);
	free(path);

	big = malloc(MASTERCF_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '#', MASTERCF_FILE_MAX + 1);
	path = write_file(big, MASTERCF_FILE_MAX + 1);
	assert_null(mastercf_load(path, &error));
	snprintf(expect, sizeof(expect), "%s: larger than 4194304 bytes", path);
	assert_string_equal(error, expect);
	unlink(path);
	free(path);
	path = write_file(big, MASTERCF_FILE_MAX);
	mcf = mastercf_load(path, &error);
	assert_non_null(mcf);
	assert_int_equal(mcf->count, 0);
	mastercf_free(&mcf);
	unlink(path);
	free(path);
	free(big);

	path = write_file("", 0);
	mcf = mastercf_load(path, &error);
	assert_non_null(mcf);
	assert_int_equal(mcf->count, 0);
	mastercf_free(&mcf);
	unlink(path);
	free(path);
}

/* shipped_path - conf/master.cf in the source tree */
static char *shipped_path(void)
{
	const char *srcdir = getenv("FACTEUR_SRCDIR");
	struct strbuf sb;

	strbuf_init(&sb, STRBUF_NO_LIMIT);
	if (srcdir != NULL) {
		assert_int_equal(
			strbuf_appendf(&sb, "%s/conf/master.cf", srcdir), 0);
	} else {
		/* Run by hand: find the tree from this file's name. */
		const char *file = __FILE__;
		const char *end = strstr(file, "tests/unit/global/");

		if (end == NULL)
			return NULL;
		assert_int_equal(strbuf_append(&sb, file, (size_t)(end - file)),
				 0);
		assert_int_equal(strbuf_append_str(&sb, "conf/master.cf"), 0);
	}
	return strbuf_steal(&sb);
}

static void test_shipped_master_cf(void **state)
{
	static const char *const expect[][2] = {
		{"smtp", "inet"},	 {"submission", "inet"},
		{"submissions", "inet"}, {"pickup", "unix"},
		{"qmgr", "unix"},	 {"local", "unix"},
		{"auth", "unix"},	 {"userdb", "unix"},
		{"anvil", "unix"},	 {"smtp", "unix"},
		{"lmtp", "unix"},	 {"imap", "inet"},
		{"imaps", "inet"},	 {"imapd", "unix"},
		{"pop3", "inet"},	 {"pop3s", "inet"},
		{"pop3d", "unix"},
	};
	char *path = shipped_path();
	const char *error = NULL;
	struct mastercf *mcf;
	struct strbuf text, out;
	const struct mastercf_entry *e;
	char buf[4096];
	ssize_t n;
	int fd;

	(void)state;
	if (path == NULL)
		skip();
	mcf = mastercf_load(path, &error);
	if (mcf == NULL)
		fail_msg("%s", error);
	/* Shipped active: every service has its program now. */
	assert_int_equal(mcf->count, sizeof(expect) / sizeof(expect[0]));
	assert_string_equal(mcf->entries[6].name, "auth");
	mastercf_free(&mcf);

	/* Uncomment the service lines: they must be valid as shipped. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	strbuf_init(&text, STRBUF_NO_LIMIT);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(strbuf_append(&text, buf, (size_t)n), 0);
	close(fd);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	for (char *line = text.data; *line != '\0';) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line + 1) : strlen(line);

		if (line[0] == '#' && ((line[1] >= 'a' && line[1] <= 'z') ||
				       strncmp(line + 1, "  -o ", 5) == 0))
			assert_int_equal(strbuf_append(&out, line + 1, len - 1),
					 0);
		else if (line[0] != '#')
			assert_int_equal(strbuf_append(&out, line, len), 0);
		line += len;
	}
	mcf = mastercf_parse("master.cf", out.data, &error);
	if (mcf == NULL)
		fail_msg("uncommented shipped master.cf: %s", error);
	assert_int_equal(mcf->count, sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < mcf->count; i++) {
		assert_string_equal(mcf->entries[i].name, expect[i][0]);
		assert_string_equal(mastercf_type_name(mcf->entries[i].type),
				    expect[i][1]);
	}
	e = mastercf_find(mcf, "submission", MASTERCF_INET);
	assert_non_null(e);
	assert_string_equal(e->text, "submission inet n - n - - smtpd -o "
				     "syslog_name=facteur/submission -o "
				     "smtpd_tls_security_level=encrypt -o "
				     "smtpd_sasl_auth_enable=yes -o "
				     "smtpd_add_missing_headers=yes -o "
				     "smtpd_relay_restrictions="
				     "permit_sasl_authenticated,reject");
	e = mastercf_find(mcf, "submissions", MASTERCF_INET);
	assert_non_null(e);
	assert_string_equal(e->text, "submissions inet n - n - - smtpd -o "
				     "syslog_name=facteur/submissions -o "
				     "smtpd_tls_wrappermode=yes -o "
				     "smtpd_sasl_auth_enable=yes -o "
				     "smtpd_add_missing_headers=yes -o "
				     "smtpd_relay_restrictions="
				     "permit_sasl_authenticated,reject");
	e = mastercf_find(mcf, "pickup", MASTERCF_UNIX);
	assert_int_equal(e->wakeup, 60);
	assert_int_equal(e->maxproc, 1);
	e = mastercf_find(mcf, "qmgr", MASTERCF_UNIX);
	assert_int_equal(e->wakeup, 300);
	assert_int_equal(e->maxproc, 1);
	e = mastercf_find(mcf, "local", MASTERCF_UNIX);
	assert_false(e->unpriv);
	e = mastercf_find(mcf, "imapd", MASTERCF_UNIX);
	assert_false(e->unpriv);
	e = mastercf_find(mcf, "anvil", MASTERCF_UNIX);
	assert_int_equal(e->maxproc, 1);
	mastercf_free(&mcf);
	strbuf_release(&out);
	strbuf_release(&text);
	free(path);
}

/* quiet_hook - keep log output out of the test report */
static void quiet_hook(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_realistic),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_same_name_other_type),
		cmocka_unit_test(test_overrides_ok),
		cmocka_unit_test(test_limit_entries),
		cmocka_unit_test(test_limit_args),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_limit_file),
		cmocka_unit_test(test_split_inet),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_shipped_master_cf),
	};

	log_set_hook(quiet_hook, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
