/*
 * test_qmgr_active - unit tests for qmgr's table of held messages
 * (qmgr_active.c): lookups across growth, removal from the middle of
 * a chain, ids that are prefixes of others, and freeing at exit
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "qmgr.h"

static size_t freed;

/* qmgr_message_free - stands in for qmgr_message.c's: counts the frees */
void qmgr_message_free(struct qmgr_msg **msgp)
{
	free(*msgp);
	*msgp = NULL;
	freed++;
}

/* new_msg - a message with id prefix followed by n */
static struct qmgr_msg *new_msg(struct qmgr *qm, const char *prefix, size_t n)
{
	struct qmgr_msg *m = calloc(1, sizeof(*m));

	m->qm = qm;
	snprintf(m->id, sizeof(m->id), "%s%zu", prefix, n);
	return m;
}

static void test_empty(void **state)
{
	struct qmgr qm = {0};

	(void)state;
	assert_null(qmgr_active_find(&qm, "4XyZ"));
	qmgr_active_free_all(&qm);
	assert_int_equal(qm.msg_count, 0);
}

/* Thousands of ids, past several doublings: each is found, once. */
static void test_many(void **state)
{
	enum { N = 5000 };
	struct qmgr qm = {0};
	static struct qmgr_msg *msgs[N];
	char id[64];

	(void)state;
	for (size_t i = 0; i < N; i++) {
		msgs[i] = new_msg(&qm, "Q", i);
		qmgr_active_add(&qm, msgs[i]);
	}
	assert_int_equal(qm.msg_count, N);
	assert_true(qm.msg_table_size >= N);
	for (size_t i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "Q%zu", i);
		assert_ptr_equal(qmgr_active_find(&qm, id), msgs[i]);
	}
	assert_null(qmgr_active_find(&qm, "Q"));
	assert_null(qmgr_active_find(&qm, "Q5000"));
	assert_null(qmgr_active_find(&qm, ""));

	/* Remove every other one: the rest stay, the removed are gone. */
	for (size_t i = 0; i < N; i += 2) {
		qmgr_active_remove(&qm, msgs[i]);
		free(msgs[i]);
	}
	assert_int_equal(qm.msg_count, N / 2);
	for (size_t i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "Q%zu", i);
		if (i % 2 == 0)
			assert_null(qmgr_active_find(&qm, id));
		else
			assert_ptr_equal(qmgr_active_find(&qm, id), msgs[i]);
	}

	/* An id can be held again once it was let go (requeue). */
	msgs[0] = new_msg(&qm, "Q", 0);
	qmgr_active_add(&qm, msgs[0]);
	assert_ptr_equal(qmgr_active_find(&qm, "Q0"), msgs[0]);

	freed = 0;
	qmgr_active_free_all(&qm);
	assert_int_equal(freed, N / 2 + 1);
	assert_int_equal(qm.msg_count, 0);
	assert_null(qm.msg_table);
	assert_null(qmgr_active_find(&qm, "Q1"));
}

/* Removing a message in the middle of a chain keeps its neighbours. */
static void test_shared_chain(void **state)
{
	struct qmgr qm = {0};
	struct qmgr_msg *m[3];
	size_t n = 0, chain = hash_string("S0") & 255;

	(void)state;
	/* Three ids in one chain of the first table (256 chains). */
	for (size_t i = 0; n < 3; i++) {
		char id[64];

		snprintf(id, sizeof(id), "S%zu", i);
		if ((hash_string(id) & 255) == chain)
			m[n++] = new_msg(&qm, "S", i);
	}
	for (size_t i = 0; i < 3; i++)
		qmgr_active_add(&qm, m[i]);
	assert_int_equal(qm.msg_table_size, 256);
	assert_ptr_equal(qm.msg_table[chain], m[2]);
	assert_ptr_equal(m[2]->hnext, m[1]);

	qmgr_active_remove(&qm, m[1]);
	assert_null(qmgr_active_find(&qm, m[1]->id));
	assert_ptr_equal(qmgr_active_find(&qm, m[0]->id), m[0]);
	assert_ptr_equal(qmgr_active_find(&qm, m[2]->id), m[2]);
	free(m[1]);
	/* Removing one not held changes nothing. */
	m[1] = new_msg(&qm, "", 77);
	qmgr_active_remove(&qm, m[1]);
	assert_int_equal(qm.msg_count, 2);
	free(m[1]);

	freed = 0;
	qmgr_active_free_all(&qm);
	assert_int_equal(freed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_shared_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
