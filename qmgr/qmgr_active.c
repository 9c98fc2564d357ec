/*
 * qmgr_active - the messages qmgr holds in memory, by queue id
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	struct qmgr_msg *qmgr_active_find(struct qmgr *qm, const char *id);
 *	void qmgr_active_add(struct qmgr *qm, struct qmgr_msg *msg);
 *	void qmgr_active_remove(struct qmgr *qm, struct qmgr_msg *msg);
 *	void qmgr_active_free_all(struct qmgr *qm);
 *
 * DESCRIPTION
 *	Every scan of incoming/ and active/ asks whether a file is already
 *	being worked on: `facteur queue requeue` may move a file qmgr holds
 *	back into incoming/.  With thousands of messages in active/, a walk
 *	over a list for each was the most qmgr did per message; a chained
 *	hash keeps both the lookup and the removal of a finished message
 *	constant.  The table doubles when it holds more messages than it
 *	has chains, and never shrinks (active_limit bounds it).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "qmgr.h"

/* chain - where a message with this id is kept */
static struct qmgr_msg **chain(struct qmgr *qm, const char *id)
{
	return &qm->msg_table[hash_string(id) & (qm->msg_table_size - 1)];
}

/* grow - double the chains and rehash */
static void grow(struct qmgr *qm)
{
	struct qmgr_msg **old = qm->msg_table;
	size_t old_size = qm->msg_table_size;

	qm->msg_table_size = old_size ? old_size * 2 : 256;
	qm->msg_table = xcalloc(qm->msg_table_size, sizeof(*qm->msg_table));
	for (size_t i = 0; i < old_size; i++) {
		while (old[i] != NULL) {
			struct qmgr_msg *m = old[i], **head;

			old[i] = m->hnext;
			head = chain(qm, m->id);
			m->hnext = *head;
			*head = m;
		}
	}
	free(old);
}

/* qmgr_active_find - the message with this id, or NULL */
struct qmgr_msg *qmgr_active_find(struct qmgr *qm, const char *id)
{
	if (qm->msg_table_size == 0)
		return NULL;
	for (struct qmgr_msg *m = *chain(qm, id); m != NULL; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

/* qmgr_active_add - hold msg (its id not held yet) */
void qmgr_active_add(struct qmgr *qm, struct qmgr_msg *msg)
{
	struct qmgr_msg **head;

	if (qm->msg_count >= qm->msg_table_size)
		grow(qm);
	head = chain(qm, msg->id);
	msg->hnext = *head;
	*head = msg;
	qm->msg_count++;
}

/* qmgr_active_remove - let go of msg; the caller frees it */
void qmgr_active_remove(struct qmgr *qm, struct qmgr_msg *msg)
{
	for (struct qmgr_msg **pp = chain(qm, msg->id); *pp != NULL;
	     pp = &(*pp)->hnext) {
		if (*pp == msg) {
			*pp = msg->hnext;
			msg->hnext = NULL;
			qm->msg_count--;
			return;
		}
	}
}

/* qmgr_active_free_all - free every message and the table (at exit) */
void qmgr_active_free_all(struct qmgr *qm)
{
	for (size_t i = 0; i < qm->msg_table_size; i++) {
		while (qm->msg_table[i] != NULL) {
			struct qmgr_msg *m = qm->msg_table[i];

			qm->msg_table[i] = m->hnext;
			qmgr_message_free(&m);
		}
	}
	free(qm->msg_table);
	qm->msg_table = NULL;
	qm->msg_table_size = 0;
	qm->msg_count = 0;
}
