/*
 * test_fsinfo - unit tests for lib/util/fsinfo.c: the answer for each
 * mounted filesystem the test can reach agrees with findmnt(8)'s type
 * (yes for ext4 only), asked twice (the second from the cache) and for
 * two filesystems in turn; a pipe is no filesystem of ours.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsinfo.h"
#include "testlib.h"

/* findmnt_type - the type findmnt(8) gives the mount holding path */
static bool findmnt_type(const char *path, char *buf, size_t size)
{
	char cmd[512];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof(cmd), "findmnt -no FSTYPE -T '%s' 2>/dev/null",
		 path);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	ok = fgets(buf, (int)size, p) != NULL;
	if (pclose(p) != 0)
		ok = false;
	buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0] != '\0';
}

static void check_path(const char *path)
{
	char type[64];
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool want;

	if (fd < 0 || !findmnt_type(path, type, sizeof(type))) {
		if (fd >= 0)
			close(fd);
		return; /* not on this machine */
	}
	want = strcmp(type, "ext4") == 0;
	if (fs_fsync_covers_rename(fd) != want)
		fail_msg("%s (%s): expected %s", path, type,
			 want ? "true" : "false");
	assert_true(fs_fsync_covers_rename(fd) == want);
	close(fd);
}

static void test_mounts(void **state)
{
	char *tmp = testlib_tmpdir();

	(void)state;
	/* Alternating between filesystems defeats the one-entry cache. */
	for (int round = 0; round < 2; round++) {
		check_path(tmp);
		check_path("/dev/shm");
		check_path("/proc");
		check_path("/");
	}
	testlib_rmtree(tmp);
	free(tmp);
}

static void test_not_a_mount(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_false(fs_fsync_covers_rename(p[0]));
	close(p[0]);
	close(p[1]);
	assert_false(fs_fsync_covers_rename(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_not_a_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
