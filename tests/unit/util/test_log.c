/*
 * test_log - unit tests for lib/util/log.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "log.h"
#include "testlib.h"

static int setup(void **state)
{
	(void)state;
	log_init("unittest");
	testlib_capture_logs();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testlib_release_logs();
	log_to_stderr(true);
	return 0;
}

static void test_levels_and_prefixes(void **state)
{
	(void)state;
	log_info("plain %d", 1);
	log_warn("careful");
	log_error("broken");
	log_debug("hidden");
	assert_string_equal(testlib_logs(),
			    "plain 1\nwarning: careful\nerror: broken\n");
	log_set_verbose(true);
	log_debug("shown");
	log_set_verbose(false);
	assert_true(testlib_log_contains("shown\n"));
}

static void test_fatal_and_panic_are_caught(void **state)
{
	volatile bool reached = false;

	(void)state;
	if (TESTLIB_EXPECT_FATAL()) {
		log_fatal("open %s: %s", "/x", "No such file");
		reached = true;
	}
	assert_false(reached);
	assert_int_equal(testlib_fatal_level(), LOG_LEVEL_FATAL);
	assert_true(testlib_log_contains("fatal: open /x: No such file\n"));
	if (TESTLIB_EXPECT_FATAL())
		log_panic("invariant");
	assert_int_equal(testlib_fatal_level(), LOG_LEVEL_PANIC);
	assert_true(testlib_log_contains("panic: invariant\n"));
}

static void test_control_characters_replaced(void **state)
{
	(void)state;
	log_info("from peer: %s", "evil\r\nforged line\x1b[0m");
	assert_string_equal(testlib_logs(),
			    "from peer: evil??forged line?[0m\n");
}

static void test_long_message_cut(void **state)
{
	char *big = xmalloc(LOG_LINE_MAX * 2);

	(void)state;
	memset(big, 'x', LOG_LINE_MAX * 2 - 1);
	big[LOG_LINE_MAX * 2 - 1] = '\0';
	log_info("%s", big);
	/* LOG_LINE_MAX - 1 characters, ending in "...", then our "\n". */
	assert_int_equal(strlen(testlib_logs()), LOG_LINE_MAX);
	assert_memory_equal(testlib_logs() + LOG_LINE_MAX - 4, "...\n", 4);
	free(big);
}

static void test_file_line_shape(void **state)
{
	char line[512];
	size_t len;

	(void)state;
	log_set_syslog_name("facteur");
	log_init("smtpd");
	assert_string_equal(log_ident(), "facteur/smtpd");
	len = log_format_file_line(line, sizeof(line), "hello");
	assert_int_equal(line[len - 1], '\n');
	/* "Mon dd hh:mm:ss host facteur/smtpd[pid]: hello" */
	assert_int_equal(line[3], ' ');
	assert_int_equal(line[9], ':');
	assert_non_null(strstr(line, " facteur/smtpd["));
	assert_non_null(strstr(line, "]: hello\n"));
	len = log_format_file_line(line, 40, "a long text that does not fit");
	assert_int_equal(len, 39);
	assert_int_equal(line[38], '\n');
}

static void test_fd_sink_sends_datagrams(void **state)
{
	int sv[2];
	char buf[1024];
	ssize_t n;

	(void)state;
	testlib_release_logs();
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	log_init("smtpd");
	log_to_fd(sv[1]);
	log_info("one");
	log_warn("two");
	n = recv(sv[0], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "facteur/smtpd["));
	assert_non_null(strstr(buf, "]: one\n"));
	n = recv(sv[0], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "]: warning: two\n"));
	log_to_stderr(true); /* closes sv[1] */
	close(sv[0]);
	testlib_capture_logs();
}

static void test_file_sink_appends(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = xasprintf("%s/maillog", dir);
	const char *error;
	char buf[1024];
	FILE *fp;
	size_t n;

	(void)state;
	testlib_release_logs();
	assert_int_equal(log_to_file(path, &error), 0);
	log_info("first");
	log_info("second");
	log_to_stderr(true);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "]: first\n"));
	assert_non_null(strstr(strstr(buf, "]: first\n"), "]: second\n"));
	assert_int_equal(log_to_file("/nonexistent/dir/maillog", &error), -1);
	assert_string_equal(
		error,
		"open /nonexistent/dir/maillog: No such file or directory");
	testlib_rmtree(dir);
	free(path);
	free(dir);
	testlib_capture_logs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels_and_prefixes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fatal_and_panic_are_caught,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_control_characters_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_message_cut, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_line_shape, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fd_sink_sends_datagrams,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_sink_appends, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
