/*
 * test_pidlock - unit tests for lib/util/pidlock.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "pidlock.h"
#include "testlib.h"

static void test_lock_cycle(void **state)
{
	char *dir = testlib_tmpdir();
	char *path = xasprintf("%s/master.pid", dir);
	const char *error = NULL;
	int sync_pipe[2], done_pipe[2];
	pid_t holder, child;
	char c;
	int fd, status;

	(void)state;
	assert_int_equal(pidlock_holder(path, &error), 0); /* no file yet */
	assert_int_equal(pipe(sync_pipe), 0);
	assert_int_equal(pipe(done_pipe), 0);
	/* fcntl locks are per process: the holder must be another one. */
	if ((child = fork()) == 0) {
		fd = pidlock_acquire(path, &holder, &error);
		(void)!write(sync_pipe[1], fd >= 0 ? "y" : "n", 1);
		(void)!read(done_pipe[0], &c, 1);
		_exit(0);
	}
	assert_int_equal(read(sync_pipe[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(pidlock_holder(path, &error), child);
	fd = pidlock_acquire(path, &holder, &error);
	assert_int_equal(fd, -1);
	assert_int_equal(holder, child);
	assert_non_null(strstr(error, "is locked by process"));
	/* When the holder exits the lock is gone, though the file stays. */
	(void)!write(done_pipe[1], "x", 1);
	waitpid(child, &status, 0);
	assert_int_equal(pidlock_holder(path, &error), 0);
	fd = pidlock_acquire(path, &holder, &error);
	assert_true(fd >= 0);
	{
		char buf[32] = "";
		FILE *fp = fopen(path, "r");

		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		assert_int_equal(atol(buf), (long)getpid());
	}
	close(fd);
	testlib_rmtree(dir);
	free(path);
	free(dir);
}

static void test_unopenable(void **state)
{
	const char *error = NULL;
	pid_t holder = 99;

	(void)state;
	assert_int_equal(
		pidlock_acquire("/nonexistent/x/master.pid", &holder, &error),
		-1);
	assert_int_equal(holder, 0);
	assert_string_equal(
		error,
		"open /nonexistent/x/master.pid: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_cycle),
		cmocka_unit_test(test_unopenable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
