/*
 * test_config - unit tests for lib/global/params.c and config.c
 *
 * SYNOPSIS
 *	tests/unit/global/test_config
 *
 * DESCRIPTION
 *	Table checks, then main.cf parsing, expansion, loops, overrides,
 *	validation with the exact error texts, limits and file loading.
 *	Log lines are captured with log_set_hook() so that warnings can be
 *	asserted; panics (bugs in the caller) are turned into a longjmp by
 *	log_set_exit_hook().  The default conf/main.cf is loaded from
 *	$srcdir (set by make check) or from beside this source file.
 *
 * DIAGNOSTICS
 *	cmocka's summary; exit status non-zero when a test fails.
 */
#include "autoconf.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "strbuf.h"

static struct strbuf logs;
static jmp_buf panic_jmp;
static bool panic_armed;

/* capture - log hook: keep every line, "\n"-terminated */
static void capture(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)ctx;
	(void)strbuf_append_str(&logs, text);
	(void)strbuf_append_char(&logs, '\n');
}

/* on_exit_hook - turn a panic or fatal into a jump back to the test */
static void on_exit_hook(enum log_level level)
{
	(void)level;
	if (!panic_armed)
		abort();
	panic_armed = false;
	longjmp(panic_jmp, 1);
}

static int setup(void **state)
{
	(void)state;
	strbuf_init(&logs, STRBUF_NO_LIMIT);
	log_set_hook(capture, NULL);
	log_set_exit_hook(on_exit_hook);
	return 0;
}

/* clear_logs - each test starts with no captured lines */
static int clear_logs(void **state)
{
	(void)state;
	strbuf_reset(&logs);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strbuf_release(&logs);
	log_set_hook(NULL, NULL);
	log_set_exit_hook(NULL);
	return 0;
}

/* load - a fresh config loaded from text; asserts success */
static struct config *load(const char *text)
{
	struct config *cfg = config_create("/test/etc");
	const char *error;

	if (config_load_string(cfg, "t.cf", text, &error) < 0)
		fail_msg("load failed: %s", error);
	return cfg;
}

/* load_error - load text into a fresh config; assert the exact error */
static void load_error(const char *text, const char *expect)
{
	struct config *cfg = config_create("/test/etc");
	const char *error;

	assert_int_equal(config_load_string(cfg, "t.cf", text, &error), -1);
	assert_string_equal(error, expect);
	config_free(&cfg);
	assert_null(cfg);
}

static void test_table(void **state)
{
	(void)state;
	assert_true(param_table_count >= 25);
	for (size_t i = 0; i < param_table_count; i++) {
		const struct param_def *def = &param_table[i];

		if (i > 0)
			assert_true(strcmp(param_table[i - 1].name, def->name) <
				    0);
		assert_ptr_equal(param_lookup(def->name), def);
		assert_non_null(def->doc);
		assert_true(strlen(def->doc) > 10);
		assert_true((def->def == NULL) != (def->default_fn == NULL));
		assert_non_null(param_default(def));
	}
	assert_null(param_lookup("nope"));
	assert_null(param_lookup(""));
	assert_null(param_lookup("zzz"));
	assert_null(param_lookup("aaa"));
	assert_string_equal(param_type_name(PARAM_STRING), "string");
	assert_string_equal(param_type_name(PARAM_INT), "int");
	assert_string_equal(param_type_name(PARAM_BOOL), "bool");
	assert_string_equal(param_type_name(PARAM_TIME), "time");
	assert_string_equal(param_type_name(PARAM_SIZE), "size");
	assert_string_equal(param_type_name(PARAM_LIST), "list");
	assert_int_equal(param_lookup("max_idle")->type, PARAM_TIME);
	assert_int_equal(param_lookup("message_size_limit")->type, PARAM_SIZE);
	assert_int_equal(param_lookup("mynetworks")->type, PARAM_LIST);
	assert_int_equal(param_lookup("default_process_limit")->min, 1);
}

static void test_defaults(void **state)
{
	struct config *cfg = config_create("/test/etc");
	const char *const *list;
	const char *host, *domain;
	char *expect;
	size_t n;

	(void)state;
	assert_string_equal(config_dir(cfg), "/test/etc");
	assert_string_equal(config_str(cfg, "config_directory"), "/test/etc");
	assert_string_equal(config_str(cfg, "queue_directory"),
			    FACTEUR_QUEUE_DIR);
	assert_string_equal(config_str(cfg, "data_directory"),
			    FACTEUR_DATA_DIR);
	assert_string_equal(config_str(cfg, "daemon_directory"),
			    FACTEUR_DAEMON_DIR);
	assert_string_equal(config_str(cfg, "command_directory"),
			    FACTEUR_COMMAND_DIR);
	assert_string_equal(config_str(cfg, "mail_owner"), "facteur");
	assert_string_equal(config_str(cfg, "maillog_file"), "");
	assert_string_equal(config_str(cfg, "syslog_name"), "facteur");
	assert_string_equal(config_str(cfg, "syslog_facility"), "mail");
	assert_string_equal(config_str(cfg, "smtpd_tls_cert_file"), "");
	assert_string_equal(config_str(cfg, "smtpd_tls_key_file"), "");
	assert_int_equal(config_int(cfg, "default_process_limit"), 100);
	assert_int_equal(config_int(cfg, "max_use"), 100);
	assert_int_equal(config_time(cfg, "max_idle"), 100);
	assert_int_equal(config_time(cfg, "service_throttle_time"), 60);
	assert_int_equal(config_time(cfg, "master_stop_timeout"), 10);
	assert_int_equal(config_size(cfg, "message_size_limit"), 10240000);
	list = config_list(cfg, "mynetworks", &n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "127.0.0.0/8");
	assert_string_equal(list[1], "[::1]/128");
	assert_null(list[2]);
	list = config_list(cfg, "inet_interfaces", NULL);
	assert_string_equal(list[0], "all");
	assert_null(list[1]);
	list = config_list(cfg, "inet_protocols", &n);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "all");
	list = config_list(cfg, "import_environment", &n);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "TZ");

	/* Computed names: FQDN, domain = FQDN minus the first label. */
	host = config_str(cfg, "myhostname");
	domain = config_str(cfg, "mydomain");
	assert_non_null(strchr(host, '.'));
	assert_string_equal(domain, strchr(host, '.') + 1);
	assert_string_equal(config_str(cfg, "myorigin"), host);
	assert_string_equal(config_raw(cfg, "myorigin"), "$myhostname");
	list = config_list(cfg, "mydestination", &n);
	assert_int_equal(n, 3);
	assert_string_equal(list[0], host);
	expect = xasprintf("localhost.%s", domain);
	assert_string_equal(list[1], expect);
	free(expect);
	assert_string_equal(list[2], "localhost");

	assert_false(config_is_set(cfg, "myorigin"));
	assert_null(config_where(cfg, "myorigin"));
	assert_null(config_raw(cfg, "nope"));
	assert_null(config_expanded(cfg, "nope"));
	assert_false(config_is_set(cfg, "nope"));
	assert_int_equal(logs.len, 0);
	config_free(&cfg);
	config_free(&cfg); /* NULL-safe */

	cfg = config_create("/odd/$dir");
	assert_string_equal(config_str(cfg, "config_directory"), "/odd/$dir");
	config_free(&cfg);

	cfg = config_create(NULL);
	assert_string_equal(config_dir(cfg), FACTEUR_CONFIG_DIR);
	assert_string_equal(config_str(cfg, "config_directory"),
			    FACTEUR_CONFIG_DIR);
	config_free(&cfg);
}

static void test_expansion(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load("a = x\n"
		   "b = $a\n"
		   "c = ${a}\n"
		   "d = $(a)\n"
		   "e = pre-$a-post.${a}.$(a)\n"
		   "f = ${a?yes}\n"
		   "g = ${undefined_x?yes}\n"
		   "h = ${a:no}\n"
		   "i = ${undefined_x:no}\n"
		   "j = $$a $$$a $$\n"
		   "k = ${a?${b}!$(c)}\n"
		   "l = cost $ 5 $-$\n"
		   "m = $a$b$c\n"
		   "n = <$m>\n"
		   "o = $p/later\n"
		   "p = 1\n"
		   "empty =\n"
		   "q = [${empty?set}][${empty:unset}][$empty]\n"
		   "r = ${a?${undefined_x:deep}}\n"
		   "s = ${a?a(b)c}x\n"
		   "t = $(a?{b})\n"
		   "myhostname = mail.example.test\n");
	assert_string_equal(config_expanded(cfg, "b"), "x");
	assert_string_equal(config_expanded(cfg, "c"), "x");
	assert_string_equal(config_expanded(cfg, "d"), "x");
	assert_string_equal(config_expanded(cfg, "e"), "pre-x-post.x.x");
	assert_string_equal(config_expanded(cfg, "f"), "yes");
	assert_string_equal(config_expanded(cfg, "g"), "");
	assert_string_equal(config_expanded(cfg, "h"), "");
	assert_string_equal(config_expanded(cfg, "i"), "no");
	assert_string_equal(config_expanded(cfg, "j"), "$a $x $");
	assert_string_equal(config_expanded(cfg, "k"), "x!x");
	assert_string_equal(config_expanded(cfg, "l"), "cost $ 5 $-$");
	assert_string_equal(config_expanded(cfg, "m"), "xxx");
	assert_string_equal(config_expanded(cfg, "n"), "<xxx>");
	assert_string_equal(config_expanded(cfg, "o"), "1/later");
	assert_string_equal(config_expanded(cfg, "empty"), "");
	assert_string_equal(config_expanded(cfg, "q"), "[][unset][]");
	assert_string_equal(config_expanded(cfg, "r"), "deep");
	assert_string_equal(config_expanded(cfg, "s"), "a(b)cx");
	assert_string_equal(config_expanded(cfg, "t"), "{b}");
	assert_string_equal(config_raw(cfg, "n"), "<$m>");
	/* mydomain follows the myhostname that main.cf sets. */
	assert_string_equal(config_str(cfg, "mydomain"), "example.test");
	assert_string_equal(config_str(cfg, "myorigin"), "mail.example.test");
	assert_string_equal(config_raw(cfg, "mydomain"), "example.test");
	assert_string_equal(config_list(cfg, "mydestination", NULL)[1],
			    "localhost.example.test");
	config_free(&cfg);

	/* The derived default is text: a '$' in the host name stays one. */
	cfg = load("myhostname = a.$$b\n");
	assert_string_equal(config_str(cfg, "myhostname"), "a.$b");
	assert_string_equal(config_raw(cfg, "mydomain"), "$$b");
	assert_string_equal(config_str(cfg, "mydomain"), "$b");
	config_free(&cfg);
	cfg = load("myhostname = bare\n");
	assert_string_equal(config_str(cfg, "mydomain"), "localdomain");
	config_free(&cfg);
	cfg = load("myhostname = a.b.c\nmydomain = other.test\n");
	assert_string_equal(config_str(cfg, "mydomain"), "other.test");
	config_free(&cfg);
}

static void test_loops(void **state)
{
	(void)state;
	load_error("a = $a\n", "t.cf:1: a: parameter expansion loop: a -> a");
	load_error("x = 1\na = ${a}\n",
		   "t.cf:2: a: parameter expansion loop: a -> a");
	load_error("a = $b\nb = $c\nc = $a\n",
		   "t.cf:1: a: parameter expansion loop: a -> b -> c -> a");
	load_error("a = ok\nb = $(c)\nc = x${b}y\n",
		   "t.cf:2: b: parameter expansion loop: b -> c -> b");
	load_error("a = ${a?x}\n",
		   "t.cf:1: a: parameter expansion loop: a -> a");
	load_error("a = ${b:${a}}\nb =\n",
		   "t.cf:1: a: parameter expansion loop: a -> a");
	/* Through a default: myorigin's default is $myhostname. */
	load_error("myhostname = x.$myorigin\n",
		   "t.cf:1: myhostname: parameter expansion loop: myhostname "
		   "-> myorigin -> myhostname");
	/* The loop is told from the first entry the admin set. */
	load_error("z = $myorigin\nmyhostname = $myorigin\n",
		   "t.cf:2: myhostname: parameter expansion loop: myhostname "
		   "-> myorigin -> myhostname");
	load_error("myhostname = mail.$mydomain\n",
		   "t.cf:1: myhostname: parameter expansion loop: myhostname "
		   "-> mydomain -> myhostname");
}

static void test_syntax(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load("# comment\n"
		   "  # indented comment\n"
		   "\n"
		   "a = one\n"
		   "  two\n"
		   "\t three   \n"
		   "# a comment does not end the line\n"
		   "\n"
		   "   four\n"
		   "b = x # not a comment\n"
		   "c=1\n"
		   "d\t=\t 2 \t\r\n"
		   "e =\n"
		   "f = b=c\n"
		   "g =\n"
		   "  cont\n"
		   "h = last without newline");
	assert_string_equal(config_expanded(cfg, "a"), "one two three four");
	assert_string_equal(config_where(cfg, "a"), "t.cf:4");
	assert_string_equal(config_expanded(cfg, "b"), "x # not a comment");
	assert_string_equal(config_where(cfg, "b"), "t.cf:10");
	assert_string_equal(config_expanded(cfg, "c"), "1");
	assert_string_equal(config_expanded(cfg, "d"), "2");
	assert_string_equal(config_expanded(cfg, "e"), "");
	assert_true(config_is_set(cfg, "e"));
	assert_string_equal(config_expanded(cfg, "f"), "b=c");
	assert_string_equal(config_expanded(cfg, "g"), "cont");
	assert_string_equal(config_expanded(cfg, "h"), "last without newline");
	assert_string_equal(config_where(cfg, "h"), "t.cf:17");
	config_free(&cfg);

	cfg = load("");
	assert_null(config_raw(cfg, "a"));
	config_free(&cfg);
	cfg = load("\n\n# only comments\n   \n\t\n");
	config_free(&cfg);
}

/* foreach_collect - config_foreach_set callback: "name=raw;" */
static void foreach_collect(const char *name, const char *raw, void *ctx)
{
	(void)strbuf_appendf(ctx, "%s=%s;", name, raw);
}

static void test_later_wins(void **state)
{
	struct config *cfg;
	struct strbuf seen;

	(void)state;
	cfg = load("a = 1\nb = 2\na = 3\nmax_idle = 5\nmax_idle = 7m\n");
	assert_string_equal(config_expanded(cfg, "a"), "3");
	assert_string_equal(config_where(cfg, "a"), "t.cf:3");
	assert_int_equal(config_time(cfg, "max_idle"), 420);
	assert_string_equal(config_where(cfg, "max_idle"), "t.cf:5");
	strbuf_init(&seen, STRBUF_NO_LIMIT);
	config_foreach_set(cfg, foreach_collect, &seen);
	assert_string_equal(strbuf_cstr(&seen), "a=3;b=2;max_idle=7m;");
	strbuf_release(&seen);

	/* A new load forgets the previous one. */
	{
		const char *error;

		assert_int_equal(config_load_string(cfg, "u.cf",
						    "b = 4\nmyhostname = h.d\n",
						    &error),
				 0);
	}
	assert_null(config_raw(cfg, "a"));
	assert_false(config_is_set(cfg, "a"));
	assert_string_equal(config_expanded(cfg, "b"), "4");
	assert_int_equal(config_time(cfg, "max_idle"), 100);
	assert_string_equal(config_where(cfg, "b"), "u.cf:1");
	config_free(&cfg);
}

static void test_bad_values(void **state)
{
	(void)state;
	load_error("default_process_limit = 10x\n",
		   "t.cf:1: default_process_limit: bad int value '10x': not a "
		   "decimal number");
	load_error("\n\ndefault_process_limit = 0\n",
		   "t.cf:3: default_process_limit: value '0' is below the "
		   "minimum 1");
	load_error("max_use = -5\n",
		   "t.cf:1: max_use: value '-5' is below the minimum 1");
	load_error("max_use = 2147483648\n",
		   "t.cf:1: max_use: value '2147483648' is above the maximum "
		   "2147483647");
	load_error("max_use = 99999999999999999999\n",
		   "t.cf:1: max_use: bad int value '99999999999999999999': not "
		   "a decimal number");
	load_error("max_use = +5\n",
		   "t.cf:1: max_use: bad int value '+5': not a decimal number");
	load_error("max_use =\n",
		   "t.cf:1: max_use: bad int value '': not a decimal number");
	load_error("max_idle = 10x\n",
		   "t.cf:1: max_idle: bad time value '10x': bad time unit (use "
		   "s, m, h, d or w)");
	load_error("max_idle = 10ss\n",
		   "t.cf:1: max_idle: bad time value '10ss': bad time unit "
		   "(use s, m, h, d or w)");
	load_error("max_idle = 0\n",
		   "t.cf:1: max_idle: value '0' is below the minimum 1s");
	load_error("max_idle =\n",
		   "t.cf:1: max_idle: bad time value '': empty value");
	load_error("max_idle = s\n",
		   "t.cf:1: max_idle: bad time value 's': not a number");
	load_error("master_stop_timeout = 99999999999w\n"
		   "max_idle = 9223372036854775808\n",
		   "t.cf:2: max_idle: bad time value '9223372036854775808': "
		   "value too large");
	load_error("message_size_limit = 10x\n",
		   "t.cf:1: message_size_limit: bad size value '10x': bad size "
		   "unit (use k, m or g)");
	load_error("message_size_limit = 8589934592g\n",
		   "t.cf:1: message_size_limit: bad size value '8589934592g': "
		   "value too large");
	load_error("inet_protocols = ipv4, ipv5\n",
		   "t.cf:1: inet_protocols: bad list item 'ipv5': expected "
		   "all, ipv4 or ipv6");
	/* The bad value is reported where the parameter is set. */
	load_error("n = 10x\nmessage_size_limit = $n\n",
		   "t.cf:2: message_size_limit: bad size value '10x': bad size "
		   "unit (use k, m or g)");
	/* Errors come in file order. */
	load_error("max_use = y\nmax_idle = z\n",
		   "t.cf:1: max_use: bad int value 'y': not a decimal number");
	load_error("max_idle = z\nmax_use = y\n",
		   "t.cf:1: max_idle: bad time value 'z': not a number");
	/* Long values are cut in the message. */
	{
		struct strbuf text, expect;

		strbuf_init(&text, STRBUF_NO_LIMIT);
		strbuf_init(&expect, STRBUF_NO_LIMIT);
		strbuf_append_str(&text, "max_use = ");
		strbuf_append_str(&expect, "t.cf:1: max_use: bad int value '");
		for (int i = 0; i < 300; i++)
			strbuf_append_char(&text, 'y');
		for (int i = 0; i < 100; i++)
			strbuf_append_char(&expect, 'y');
		strbuf_append_str(&expect, "...': not a decimal number");
		load_error(strbuf_cstr(&text), strbuf_cstr(&expect));
		strbuf_release(&text);
		strbuf_release(&expect);
	}
	{
		struct config *cfg = load("max_use = 2147483647\n"
					  "master_stop_timeout = 0\n"
					  "message_size_limit = 0\n"
					  "inet_protocols = ipv4 ipv6\n");

		assert_int_equal(config_int(cfg, "max_use"), 2147483647);
		assert_int_equal(config_time(cfg, "master_stop_timeout"), 0);
		assert_int_equal(config_size(cfg, "message_size_limit"), 0);
		config_free(&cfg);
	}
}

static void test_unknown_warning(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load("foo = 1\nbar = $foo\nmax_idle = 1h\n");
	assert_string_equal(strbuf_cstr(&logs),
			    "warning: t.cf:1: unknown parameter foo\n"
			    "warning: t.cf:2: unknown parameter bar\n");
	assert_string_equal(config_expanded(cfg, "bar"), "1");
	assert_string_equal(config_raw(cfg, "bar"), "$foo");
	assert_true(config_is_set(cfg, "foo"));
	config_free(&cfg);

	strbuf_reset(&logs);
	cfg = load("myorigin = $nothere.x\nmaillog_file = ${nothere2:/x}\n");
	assert_string_equal(strbuf_cstr(&logs),
			    "warning: t.cf:1: myorigin: undefined parameter "
			    "$nothere expands to nothing\n");
	assert_string_equal(config_str(cfg, "myorigin"), ".x");
	assert_string_equal(config_str(cfg, "maillog_file"), "/x");
	config_free(&cfg);

	strbuf_reset(&logs);
	cfg = load("config_directory = /elsewhere\n");
	assert_string_equal(strbuf_cstr(&logs),
			    "warning: t.cf:1: config_directory is ignored: the "
			    "configuration directory is /test/etc\n");
	assert_string_equal(config_str(cfg, "config_directory"), "/test/etc");
	config_free(&cfg);
	strbuf_reset(&logs);
}

static void test_overrides(void **state)
{
	struct config *cfg = config_create("/test/etc");
	const char *error;
	struct strbuf seen;

	(void)state;
	assert_int_equal(config_override(cfg, "max_idle = 5m", &error), 0);
	assert_int_equal(config_override(cfg, "myorigin=$mydomain", &error), 0);
	assert_int_equal(config_override(cfg, " newparam =  1 ", &error), 0);
	assert_int_equal(config_override(cfg, "max_use=1", &error), 0);
	assert_int_equal(config_override(cfg, "max_use=2", &error), 0);
	assert_int_equal(config_load_string(cfg, "t.cf",
					    "max_idle = 10s\n"
					    "myhostname = m.example.org\n"
					    "max_use = 50\n",
					    &error),
			 0);
	assert_int_equal(config_time(cfg, "max_idle"), 300);
	assert_int_equal(config_int(cfg, "max_use"), 2);
	assert_string_equal(config_raw(cfg, "max_idle"), "5m");
	assert_string_equal(config_where(cfg, "max_idle"), "t.cf:1");
	assert_true(config_is_set(cfg, "max_idle"));
	assert_string_equal(config_str(cfg, "myorigin"), "example.org");
	assert_string_equal(config_expanded(cfg, "newparam"), "1");
	assert_null(config_where(cfg, "newparam"));
	assert_string_equal(strbuf_cstr(&logs),
			    "warning: -o newparam=1: unknown parameter "
			    "newparam\n");
	strbuf_init(&seen, STRBUF_NO_LIMIT);
	config_foreach_set(cfg, foreach_collect, &seen);
	assert_string_equal(strbuf_cstr(&seen),
			    "max_idle=5m;myhostname=m.example.org;max_use=2;"
			    "myorigin=$mydomain;newparam=1;");
	strbuf_release(&seen);
	config_free(&cfg);
	strbuf_reset(&logs);

	cfg = config_create("/test/etc");
	assert_int_equal(config_override(cfg, "message_size_limit=10x", &error),
			 0);
	assert_int_equal(config_load_string(cfg, "t.cf", "", &error), -1);
	assert_string_equal(error, "-o message_size_limit=10x: "
				   "message_size_limit: bad size value '10x': "
				   "bad size unit (use k, m or g)");
	assert_int_equal(config_override(cfg, "novalue", &error), -1);
	assert_string_equal(error, "-o novalue: missing '='");
	assert_int_equal(config_override(cfg, "=x", &error), -1);
	assert_string_equal(error, "-o =x: bad parameter name");
	assert_int_equal(config_override(cfg, "a b=c", &error), -1);
	assert_string_equal(error, "-o a b=c: bad parameter name");
	assert_int_equal(config_override(cfg, "a$=c", &error), -1);
	assert_string_equal(error, "-o a$=c: bad parameter name");
	config_free(&cfg);

	cfg = config_create("/test/etc");
	assert_int_equal(config_override(cfg, "a=$a", &error), 0);
	assert_int_equal(config_load_string(cfg, "t.cf", "", &error), -1);
	assert_string_equal(error, "-o a=$a: a: parameter expansion loop: a "
				   "-> a");
	config_free(&cfg);
	strbuf_reset(&logs);
}

static void test_parse_time(void **state)
{
	static const struct {
		const char *text;
		long long value;
	} good[] = {
		{"0", 0},
		{"1", 1},
		{"1s", 1},
		{"2m", 120},
		{"3h", 10800},
		{"1d", 86400},
		{"1w", 604800},
		{"1W", 604800},
		{"100S", 100},
		{"9223372036854775807", LLONG_MAX},
		{"9223372036854775807s", LLONG_MAX},
		{"15250284452471w", 15250284452471LL * 604800},
		{"153722867280912930m", 153722867280912930LL * 60},
	};
	static const struct {
		const char *text;
		const char *error;
	} bad[] = {
		{"", "empty value"},
		{" 1", "not a number"},
		{"+1", "not a number"},
		{"-1", "not a number"},
		{"s", "not a number"},
		{"1 ", "bad time unit (use s, m, h, d or w)"},
		{"1.5h", "bad time unit (use s, m, h, d or w)"},
		{"1x", "bad time unit (use s, m, h, d or w)"},
		{"1k", "bad time unit (use s, m, h, d or w)"},
		{"1hs", "bad time unit (use s, m, h, d or w)"},
		{"9223372036854775808", "value too large"},
		{"15250284452472w", "value too large"},
		{"153722867280912931m", "value too large"},
		{"99999999999999999999999", "value too large"},
	};
	long long v;
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		if (config_parse_time(good[i].text, &v, &error) < 0)
			fail_msg("'%s': %s", good[i].text, error);
		assert_int_equal(v, good[i].value);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -7;
		error = NULL;
		if (config_parse_time(bad[i].text, &v, &error) == 0)
			fail_msg("'%s' parsed", bad[i].text);
		assert_string_equal(error, bad[i].error);
		assert_int_equal(v, -7);
	}
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *text;
		long long value;
	} good[] = {
		{"0", 0},
		{"10240000", 10240000},
		{"1k", 1024},
		{"1K", 1024},
		{"3m", 3 * 1048576},
		{"1M", 1048576},
		{"2g", 2147483648LL},
		{"9223372036854775807", LLONG_MAX},
		{"8589934591g", 8589934591LL * 1073741824},
		{"9007199254740991k", 9007199254740991LL * 1024},
	};
	static const struct {
		const char *text;
		const char *error;
	} bad[] = {
		{"", "empty value"},
		{"k", "not a number"},
		{"-1", "not a number"},
		{"10x", "bad size unit (use k, m or g)"},
		{"1kb", "bad size unit (use k, m or g)"},
		{"1s", "bad size unit (use k, m or g)"},
		{"1t", "bad size unit (use k, m or g)"},
		{"8589934592g", "value too large"},
		{"9007199254740992k", "value too large"},
		{"9223372036854775808", "value too large"},
	};
	long long v;
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (config_parse_size(good[i].text, &v, &error) < 0)
			fail_msg("'%s': %s", good[i].text, error);
		assert_int_equal(v, good[i].value);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		if (config_parse_size(bad[i].text, &v, &error) == 0)
			fail_msg("'%s' parsed", bad[i].text);
		assert_string_equal(error, bad[i].error);
	}
}

static void test_parse_bool(void **state)
{
	static const char *const yes[] = {"yes",  "YES", "Yes", "true",
					  "TRUE", "on",	 "On",	"1"};
	static const char *const no[] = {"no",	"NO",  "false", "False",
					 "off", "OFF", "0"};
	static const char *const bad[] = {"",	  "2",	  "yess", "ye",
					  " yes", "yes ", "nope", "enable"};
	const char *error;
	bool v;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = false;
		assert_int_equal(config_parse_bool(yes[i], &v, &error), 0);
		assert_true(v);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = true;
		assert_int_equal(config_parse_bool(no[i], &v, &error), 0);
		assert_false(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(config_parse_bool(bad[i], &v, &error), -1);
		assert_string_equal(error, "expected yes or no");
	}
}

static void test_lists(void **state)
{
	struct config *cfg;
	const char *const *list;
	size_t n;

	(void)state;
	cfg = load("mynetworks = , 10.0.0.0/8,,192.168.0.0/16 \t"
		   "[::1]/128 ,\n"
		   "  172.16.0.0/12,\n"
		   "import_environment =\n"
		   "inet_interfaces = $x, 127.0.0.1\n"
		   "x = ::1 ,\n");
	list = config_list(cfg, "mynetworks", &n);
	assert_int_equal(n, 4);
	assert_string_equal(list[0], "10.0.0.0/8");
	assert_string_equal(list[1], "192.168.0.0/16");
	assert_string_equal(list[2], "[::1]/128");
	assert_string_equal(list[3], "172.16.0.0/12");
	assert_null(list[4]);
	list = config_list(cfg, "import_environment", &n);
	assert_int_equal(n, 0);
	assert_null(list[0]);
	list = config_list(cfg, "inet_interfaces", &n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "::1");
	assert_string_equal(list[1], "127.0.0.1");
	config_free(&cfg);
}

static void test_line_limits(void **state)
{
	struct strbuf text;
	struct config *cfg;
	char *big;

	(void)state;
	/* A logical line of exactly 64 KiB is fine. */
	strbuf_init(&text, STRBUF_NO_LIMIT);
	strbuf_append_str(&text, "a = ");
	while (text.len < 65536)
		strbuf_append_char(&text, 'x');
	cfg = load(strbuf_cstr(&text));
	assert_int_equal(strlen(config_expanded(cfg, "a")), 65532);
	config_free(&cfg);
	strbuf_append_char(&text, 'x');
	load_error(strbuf_cstr(&text),
		   "t.cf:1: line too long (more than 65536 bytes)");

	/* Continuation lines count towards the logical line. */
	strbuf_reset(&text);
	strbuf_append_str(&text, "z = 1\nb = ");
	for (int i = 0; i < 40000; i++)
		strbuf_append_char(&text, 'x');
	strbuf_append_str(&text, "\n ");
	for (int i = 0; i < 40000; i++)
		strbuf_append_char(&text, 'y');
	strbuf_append_str(&text, "\n");
	load_error(strbuf_cstr(&text),
		   "t.cf:2: line too long (more than 65536 bytes)");
	strbuf_release(&text);

	/* Comment lines are not held, but the file size is capped. */
	big = xmalloc(4 * 1024 * 1024 + 2);
	memset(big, '#', 4 * 1024 * 1024 + 1);
	big[4 * 1024 * 1024 + 1] = '\0';
	load_error(big, "t.cf: file too large (more than 4194304 bytes)");
	big[4 * 1024 * 1024] = '\0';
	cfg = load(big);
	config_free(&cfg);
	free(big);
}

static void test_malformed(void **state)
{
	(void)state;
	load_error("novalue\n", "t.cf:1: missing '=' after 'novalue'");
	load_error("# c\n\n  \nfoo\n", "t.cf:4: missing '=' after 'foo'");
	load_error("= x\n", "t.cf:1: missing parameter name before '='");
	load_error("a b = c\n", "t.cf:1: missing '=' after 'a'");
	load_error("a/b = c\n", "t.cf:1: bad parameter name 'a/b'");
	load_error("a$b = c\n", "t.cf:1: bad parameter name 'a$b'");
	load_error("\xc3\xa9t\xc3\xa9 = c\n",
		   "t.cf:1: bad parameter name '\xc3\xa9t\xc3\xa9'");
	load_error("  a = b\n",
		   "t.cf:1: continuation line without a parameter line before "
		   "it");
	load_error("ok = 1\n\nbad line here\n",
		   "t.cf:3: missing '=' after 'bad'");
	load_error("a = ${b\n", "t.cf:1: a: missing '}' in '${b'");
	load_error("a = x$(b\n", "t.cf:1: a: missing ')' in '$(b'");
	load_error("a = ${b?${c}\n", "t.cf:1: a: missing '}' in '${b?${c}'");
	load_error("a = ${}\n", "t.cf:1: a: bad parameter reference '${}'");
	load_error("a = $()\n", "t.cf:1: a: bad parameter reference '$()'");
	load_error("a = ${b c}\n",
		   "t.cf:1: a: bad parameter reference '${b c}'");
	load_error("a = ${b!x}\n",
		   "t.cf:1: a: bad parameter reference '${b!x}'");
	load_error("a = ${?x}\n", "t.cf:1: a: bad parameter reference '${?x}'");
	/* Dotted and dashed names are Postfix per-service names. */
	{
		struct config *cfg = load("smtp-amavis_x.y = 1\n");

		assert_string_equal(config_raw(cfg, "smtp-amavis_x.y"), "1");
		config_free(&cfg);
		strbuf_reset(&logs);
	}
}

static void test_weird_bytes(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load("a = \x01\x7f\xff\xfe\n"
		   "b = \xc3\xa9t\xc3\xa9 $a\n"
		   "c = x\ry\n"
		   "d = 1\r\n");
	assert_string_equal(config_expanded(cfg, "a"), "\x01\x7f\xff\xfe");
	assert_string_equal(config_expanded(cfg, "b"),
			    "\xc3\xa9t\xc3\xa9 \x01\x7f\xff\xfe");
	assert_string_equal(config_expanded(cfg, "c"), "x\ry");
	assert_string_equal(config_expanded(cfg, "d"), "1");
	config_free(&cfg);
	load_error("\xff = 1\n", "t.cf:1: bad parameter name '\xff'");
	load_error("a\x01 = 1\n", "t.cf:1: bad parameter name 'a\x01'");
	/* Text ends at the first NUL of a C string. */
	cfg = load("a = 1\0b = 2\n");
	assert_null(config_raw(cfg, "b"));
	config_free(&cfg);
	strbuf_reset(&logs);
}

static void test_expansion_limits(void **state)
{
	struct strbuf text;
	struct config *cfg;

	(void)state;
	strbuf_init(&text, STRBUF_NO_LIMIT);
	/* A chain of 90 references is fine, 150 is too deep. */
	for (int i = 0; i < 90; i++)
		strbuf_appendf(&text, "p%d = $p%d\n", i, i + 1);
	strbuf_append_str(&text, "p90 = end\n");
	cfg = load(strbuf_cstr(&text));
	assert_string_equal(config_expanded(cfg, "p0"), "end");
	config_free(&cfg);
	strbuf_reset(&text);
	for (int i = 0; i < 150; i++)
		strbuf_appendf(&text, "p%d = $p%d\n", i, i + 1);
	strbuf_append_str(&text, "p150 = end\n");
	load_error(strbuf_cstr(&text),
		   "t.cf:101: p100: parameter expansion too deep (more than "
		   "100 levels)");

	/* Nested conditionals count too. */
	strbuf_reset(&text);
	strbuf_append_str(&text, "a = ");
	for (int i = 0; i < 120; i++)
		strbuf_append_str(&text, "${a?");
	for (int i = 0; i < 120; i++)
		strbuf_append_str(&text, "}");
	strbuf_append_str(&text, "\n");
	load_error(strbuf_cstr(&text),
		   "t.cf:1: a: parameter expansion loop: a -> a");
	strbuf_reset(&text);
	strbuf_append_str(&text, "b = 1\na = ");
	for (int i = 0; i < 120; i++)
		strbuf_append_str(&text, "${b?");
	for (int i = 0; i < 120; i++)
		strbuf_append_str(&text, "}");
	strbuf_append_str(&text, "\n");
	load_error(strbuf_cstr(&text),
		   "t.cf:2: a: parameter expansion too deep (more than 100 "
		   "levels)");

	/* One value may not pass 1 MiB... */
	strbuf_reset(&text);
	strbuf_append_str(&text, "a = ");
	for (int i = 0; i < 1024; i++)
		strbuf_append_char(&text, 'x');
	strbuf_append_str(&text, "\nb = ");
	for (int i = 0; i < 1024; i++)
		strbuf_append_str(&text, "$a");
	strbuf_append_str(&text, "\nc = $b$a\n");
	load_error(strbuf_cstr(&text),
		   "t.cf:3: c: expanded value too long (more than 1048576 "
		   "bytes)");
	/* ... and all values together not 16 MiB. */
	strbuf_truncate(&text, text.len - strlen("c = $b$a\n"));
	for (int i = 0; i < 20; i++)
		strbuf_appendf(&text, "c%d = $b\n", i);
	load_error(strbuf_cstr(&text),
		   "t.cf:17: c14: expanded configuration too large (more than "
		   "16777216 bytes)");
	strbuf_release(&text);
	strbuf_reset(&logs);
}

static void test_load_file(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX";
	char *path, *expect;
	struct config *cfg;
	const char *error;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/main.cf", dir);
	cfg = config_create(dir);
	assert_int_equal(config_load(cfg, &error), -1);
	expect = xasprintf("open %s: No such file or directory", path);
	assert_string_equal(error, expect);
	free(expect);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("myhostname = a.b.c\nmax_idle = 1h\n", fp);
	fclose(fp);
	assert_int_equal(config_load(cfg, &error), 0);
	assert_int_equal(config_time(cfg, "max_idle"), 3600);
	assert_string_equal(config_str(cfg, "config_directory"), dir);
	expect = xasprintf("%s:2", path);
	assert_string_equal(config_where(cfg, "max_idle"), expect);
	free(expect);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite("a = 1\nb = \0\n", 1, 12, fp);
	fclose(fp);
	assert_int_equal(config_load(cfg, &error), -1);
	expect = xasprintf("%s:2: NUL byte in line", path);
	assert_string_equal(error, expect);
	free(expect);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("max_use = 0\n", fp);
	fclose(fp);
	assert_int_equal(config_load(cfg, &error), -1);
	expect = xasprintf("%s:1: max_use: value '0' is below the minimum 1",
			   path);
	assert_string_equal(error, expect);
	free(expect);
	config_free(&cfg);

	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_default_main_cf(void **state)
{
	const char *srcdir = getenv("srcdir");
	char *dir;
	struct config *cfg;
	const char *error;

	(void)state;
	if (srcdir != NULL) {
		dir = xasprintf("%s/conf", srcdir);
	} else {
		/* __FILE__ is SRCDIR/tests/unit/global/test_config.c */
		const char *f = __FILE__;
		const char *tail = strstr(f, "tests/unit/global/test_config.c");

		if (tail == NULL)
			skip();
		dir = xasprintf("%.*sconf", (int)(tail - f), f);
	}
	if (access(dir, F_OK) < 0) {
		free(dir);
		skip();
	}
	cfg = config_create(dir);
	strbuf_reset(&logs);
	if (config_load(cfg, &error) < 0)
		fail_msg("%s", error);
	assert_string_equal(strbuf_cstr(&logs), "");
	config_free(&cfg);
	free(dir);
}

static void test_getter_panics(void **state)
{
	struct config *cfg = config_create("/test/etc");

	(void)state;
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		(void)config_int(cfg, "myhostname");
		fail_msg("no panic");
	}
	assert_non_null(strstr(strbuf_cstr(&logs),
			       "panic: config_int: myhostname is a string "
			       "parameter\n"));
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		(void)config_str(cfg, "nope");
		fail_msg("no panic");
	}
	assert_non_null(strstr(strbuf_cstr(&logs),
			       "panic: config_str: unknown parameter nope\n"));
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		(void)config_list(cfg, "max_idle", NULL);
		fail_msg("no panic");
	}
	assert_non_null(strstr(strbuf_cstr(&logs),
			       "panic: config_list: max_idle is a time "
			       "parameter\n"));
	panic_armed = false;
	strbuf_reset(&logs);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table, clear_logs),
		cmocka_unit_test_setup(test_defaults, clear_logs),
		cmocka_unit_test_setup(test_expansion, clear_logs),
		cmocka_unit_test_setup(test_loops, clear_logs),
		cmocka_unit_test_setup(test_syntax, clear_logs),
		cmocka_unit_test_setup(test_later_wins, clear_logs),
		cmocka_unit_test_setup(test_bad_values, clear_logs),
		cmocka_unit_test_setup(test_unknown_warning, clear_logs),
		cmocka_unit_test_setup(test_overrides, clear_logs),
		cmocka_unit_test_setup(test_parse_time, clear_logs),
		cmocka_unit_test_setup(test_parse_size, clear_logs),
		cmocka_unit_test_setup(test_parse_bool, clear_logs),
		cmocka_unit_test_setup(test_lists, clear_logs),
		cmocka_unit_test_setup(test_line_limits, clear_logs),
		cmocka_unit_test_setup(test_malformed, clear_logs),
		cmocka_unit_test_setup(test_weird_bytes, clear_logs),
		cmocka_unit_test_setup(test_expansion_limits, clear_logs),
		cmocka_unit_test_setup(test_load_file, clear_logs),
		cmocka_unit_test_setup(test_default_main_cf, clear_logs),
		cmocka_unit_test_setup(test_getter_panics, clear_logs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
