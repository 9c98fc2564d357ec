/*
 * test_queue_id - unit tests for lib/global/queue_id.c
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue_id.h"

/* build - an id that must build */
static void build(char *buf, uint64_t sec, uint32_t usec, uint64_t inode)
{
	assert_int_equal(queue_id_build(buf, sec, usec, inode), 0);
	assert_true(queue_id_valid(buf));
}

static void test_alphabet(void **state)
{
	const char *a = QUEUE_ID_ALPHABET;
	uint64_t limit = 1;

	(void)state;
	assert_int_equal(strlen(a), QUEUE_ID_BASE);
	/* Strictly ascending: ids sort by time; no duplicates. */
	for (size_t i = 1; i < strlen(a); i++)
		assert_true(a[i - 1] < a[i]);
	assert_null(strchr(a, QUEUE_ID_SEP));
	for (const char *v = "AEIOUaeiou"; *v; v++)
		assert_null(strchr(a, *v));
	for (int i = 0; i < QUEUE_ID_SEC_LEN; i++)
		limit *= QUEUE_ID_BASE;
	assert_true(limit == QUEUE_ID_SEC_LIMIT);
}

static void test_round_trip(void **state)
{
	static const struct {
		uint64_t sec;
		uint32_t usec;
		uint64_t inode;
	} cases[] = {
		{0, 0, 0},
		{1, 1, 1},
		{1700000000, 999999, 123456},
		{1767225600, 500000, 2},
		{QUEUE_ID_SEC_LIMIT - 1, 999999, UINT64_MAX},
		{1234567890, 42, 50},
		{1234567890, 42, 51},
	};
	char buf[QUEUE_ID_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t sec, inode;
		uint32_t usec;
		const char *error = NULL;

		build(buf, cases[i].sec, cases[i].usec, cases[i].inode);
		assert_true(strlen(buf) >= QUEUE_ID_MIN);
		assert_true(strlen(buf) <= QUEUE_ID_MAX);
		assert_int_equal(buf[QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN],
				 QUEUE_ID_SEP);
		assert_int_equal(
			queue_id_decode(buf, &sec, &usec, &inode, &error), 0);
		assert_true(sec == cases[i].sec);
		assert_int_equal(usec, cases[i].usec);
		assert_true(inode == cases[i].inode);
	}
	/* Known spellings. */
	build(buf, 0, 0, 0);
	assert_string_equal(buf, "0000000000z0");
	build(buf, 51, 52, 51);
	assert_string_equal(buf, "0000100011z10");
	build(buf, QUEUE_ID_SEC_LIMIT - 1, 999999, UINT64_MAX);
	assert_int_equal(strlen(buf), QUEUE_ID_MAX);
}

static void test_build_range(void **state)
{
	char buf[QUEUE_ID_MAX + 1] = "untouched";

	(void)state;
	assert_int_equal(queue_id_build(buf, QUEUE_ID_SEC_LIMIT, 0, 1), -1);
	assert_int_equal(queue_id_build(buf, 1, 1000000, 1), -1);
	assert_string_equal(buf, "untouched");
}

static void test_unique(void **state)
{
	char a[QUEUE_ID_MAX + 1], b[QUEUE_ID_MAX + 1];

	(void)state;
	/* Same time, different inodes. */
	build(a, 1700000000, 123, 1000);
	build(b, 1700000000, 123, 1001);
	assert_string_not_equal(a, b);
	/* Same time and inode, different microseconds. */
	build(a, 1700000000, 123, 1000);
	build(b, 1700000000, 124, 1000);
	assert_string_not_equal(a, b);
	/* The clock set back: still apart by inode. */
	build(a, 1700000000, 5, 7);
	build(b, 1700000000, 5, 8);
	assert_string_not_equal(a, b);
	/* Inodes whose digits could run into the time if the fields were
	 * not fixed: 1 and 51 ("1" vs "10"). */
	build(a, 1700000000, 5, 1);
	build(b, 1700000000, 5, 51);
	assert_string_not_equal(a, b);
	/* Order follows time. */
	build(a, 1700000000, 999999, 999);
	build(b, 1700000001, 0, 1);
	assert_true(strcmp(a, b) < 0);
	/* Many inodes at one instant: all distinct. */
	for (uint64_t i = 0; i < 3000; i++) {
		build(a, 1700000000, 1, i);
		build(b, 1700000000, 1, i + 1);
		assert_string_not_equal(a, b);
	}
}

static void test_validate(void **state)
{
	static const char *bad[] = {
		"",
		"0000000000z",		    /* no inode */
		"000000000z0",		    /* short time */
		"0000000000y0",		    /* no separator */
		"0000000000z00",	    /* leading zero */
		"0000000000z0z",	    /* second separator */
		"0000000000zA",		    /* vowel */
		"00000A0000z1",		    /* vowel in time */
		"0000000000z1/",	    /* slash */
		"../00000000z1",	    /* path */
		"0000000000z 1",	    /* space */
		"0000000000z1\n",	    /* newline */
		"000000Zy00z1",		    /* usec >= 1000000 */
		"0000000000zyyyyyyyyyyyy",  /* inode > 2^64 */
		"0000000000z1111111111111", /* too long */
		"tmp.123.4",		    /* a temporary name */
		"0000000000z\xc3\xa9",	    /* UTF-8 */
	};
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_false(queue_id_valid(bad[i]));
		assert_int_equal(
			queue_id_decode(bad[i], NULL, NULL, NULL, &error), -1);
		assert_non_null(error);
	}
	assert_true(queue_id_valid("0000000000z0"));
	assert_true(queue_id_valid("4Q7Z2K1mXbz1234"));
	/* Length-bounded form: exact bytes, a NUL inside is refused. */
	assert_true(queue_id_valid_n("0000000000z12junk", 13));
	assert_false(queue_id_valid_n("0000000000z1\0"
				      "2",
				      14));
	assert_false(queue_id_valid_n("0000000000z1", 11));
}

static void test_hash_dir(void **state)
{
	char id[QUEUE_ID_MAX + 1];
	char dir[QUEUE_ID_HASH_DIR_MAX];
	bool seen[256] = {false};
	int distinct = 0;

	(void)state;
	/* usec 52 = "0011" in base 51; the last digit is 1, then 1. */
	build(id, 1700000000, 52, 99);
	assert_int_equal(queue_id_hash_dir(id, 0, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "");
	assert_int_equal(queue_id_hash_dir(id, 1, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "1");
	build(id, 1700000000, 51 * 3 + 50, 99);
	assert_int_equal(queue_id_hash_dir(id, 2, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "y/3");
	/* Refusals. */
	assert_int_equal(queue_id_hash_dir(id, 3, dir, sizeof(dir)), -1);
	assert_int_equal(queue_id_hash_dir(id, 2, dir, 3), -1);
	assert_int_equal(queue_id_hash_dir("../etc", 1, dir, sizeof(dir)), -1);
	/* Spread: consecutive microseconds fill all 51 directories. */
	for (uint32_t us = 0; us < 51; us++) {
		build(id, 1700000000, us, 7);
		assert_int_equal(queue_id_hash_dir(id, 1, dir, sizeof(dir)), 0);
		assert_int_equal(strlen(dir), 1);
		if (!seen[(unsigned char)dir[0]]) {
			seen[(unsigned char)dir[0]] = true;
			distinct++;
		}
	}
	assert_int_equal(distinct, QUEUE_ID_BASE);
}

enum { RACE_THREADS = 8, RACE_ROUNDS = 50 };

static pthread_barrier_t race_start;

/* race_check - wait for the others, then check a valid id */
static void *race_check(void *arg)
{
	int *bad = arg;
	char id[QUEUE_ID_MAX + 1];

	assert_int_equal(queue_id_build(id, 1700000000, 123456, 98765), 0);
	pthread_barrier_wait(&race_start);
	for (int i = 0; i < 200; i++)
		if (!queue_id_valid(id) ||
		    queue_id_hash_dir(id, 1, (char[4]){0}, 4) < 0)
			(*bad)++;
	return NULL;
}

/*
 * The first use of the decoder, on several threads at once (smtpd's
 * commit threads), must see a complete table: each round is a fresh
 * process, so that the first use is the threads'.  The window of the
 * old lazily built table was a few hundred nanoseconds: this did not
 * catch it here in 800 rounds (a fresh smtpd panicked on it under load
 * instead), so it guards the behaviour more than it proves the fix,
 * which is pthread_once() by construction.
 */
static void test_first_use_threads(void **state)
{
	(void)state;
	for (int round = 0; round < RACE_ROUNDS; round++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			pthread_t t[RACE_THREADS];
			int bad[RACE_THREADS] = {0}, total = 0;

			pthread_barrier_init(&race_start, NULL, RACE_THREADS);
			for (int i = 0; i < RACE_THREADS; i++)
				pthread_create(&t[i], NULL, race_check,
					       &bad[i]);
			for (int i = 0; i < RACE_THREADS; i++) {
				pthread_join(t[i], NULL);
				total += bad[i];
			}
			_exit(total == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alphabet),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_build_range),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_hash_dir),
		cmocka_unit_test(test_first_use_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
