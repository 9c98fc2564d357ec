/*
 * testlib - helpers for the cmocka unit tests
 *
 * Log capture: testlib_capture_logs() routes every log line into a buffer
 * that tests search with testlib_log_contains(), and turns log_fatal() and
 * log_panic() into a longjmp back to the test, so fatal paths can be
 * asserted instead of ending the test program (STYLE.md §6):
 *
 *	if (TESTLIB_EXPECT_FATAL()) {
 *		call_that_should_die();
 *		fail_msg("did not die");
 *	}
 *	assert_true(testlib_log_contains("fatal: bad value"));
 *
 * Temporary directories: testlib_tmpdir() makes one under $TMPDIR (or
 * /tmp) and testlib_rmtree() removes it.
 */
#ifndef FACTEUR_TESTLIB_H
#define FACTEUR_TESTLIB_H

#include <setjmp.h>
#include <stdbool.h>
#include <sys/types.h>

#include "log.h"

extern jmp_buf testlib_fatal_jmp;
extern bool testlib_fatal_armed;

void testlib_capture_logs(void);
void testlib_release_logs(void);
void testlib_clear_logs(void);
/* All captured lines, each ending in "\n". */
const char *testlib_logs(void);
bool testlib_log_contains(const char *needle);
/* The level of the last fatal or panic caught. */
enum log_level testlib_fatal_level(void);

/* True the first time (run the code); true again never: after a fatal
 * the longjmp makes it return false, and the test goes on after it. */
#define TESTLIB_EXPECT_FATAL()                                                 \
	(testlib_fatal_armed = true, setjmp(testlib_fatal_jmp) == 0)

char *testlib_tmpdir(void);
void testlib_rmtree(const char *path);
/* Write text to dir/name; returns the malloc'd path. */
char *testlib_write_file(const char *dir, const char *name, const char *text);

/*
 * A stand-in for auth's userdb service on queue_dir/private/userdb,
 * answering from passwd_path (testlib_userdb.c); stop kills it and its
 * connections.
 */
pid_t testlib_userdb_start(const char *queue_dir, const char *passwd_path);
void testlib_userdb_stop(pid_t pid, const char *queue_dir);

#endif
