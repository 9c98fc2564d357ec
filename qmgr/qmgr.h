/*
 * qmgr - shared state of the queue manager
 *
 * qmgr.c: main(), settings, wakeups and the queue-run timer;
 * qmgr_scan.c: incoming/, due deferred/ and (at start) active/;
 * qmgr_message.c: load a message, expand and classify its recipients,
 *	finish it (mark, bounce, defer or remove);
 * qmgr_active.c: the messages held in memory, by queue id;
 * qmgr_transport.c: the transport and next hop of an address;
 * qmgr_deliver.c: per-destination queues, deliver/1 requests to the
 *	delivery agents, result/1 and done/1, the pool of agent
 *	connections;
 * qmgr_defer.c: defer logs, backoff, move to deferred/;
 * qmgr_bounce.c: non-delivery and delay notices (RFC 3464).
 */
#ifndef FACTEUR_QMGR_H
#define FACTEUR_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct event;
struct event_base;
struct resolver;
struct server;
struct qfile;

/* Hash depths of the queue directories (docs/architecture.md). */
#define QMGR_INCOMING_DEPTH 1
#define QMGR_DEFERRED_DEPTH 1
/* Longest transport name (a master.cf service) and next hop. */
#define QMGR_TRANSPORT_MAX 64
#define QMGR_NEXTHOP_MAX   512
/* virtual_alias_maps nesting and fan-out limits (Postfix: 100, 1000). */
#define QMGR_VALIAS_DEPTH_MAX	100
#define QMGR_VALIAS_TARGETS_MAX 1000
/* Wakeups scan deferred/ at most once per this many seconds. */
#define QMGR_DEFERRED_SCAN_GAP 1.0
/* A delivery agent that says nothing for this long is given up on. */
#define QMGR_AGENT_TIMEOUT 3600
/* An agent connection idle in the pool this long is closed (seconds):
 * under load it never is; after a burst the agent processes go. */
#define QMGR_AGENT_IDLE_TIME 5

enum qmgr_outcome {
	QMGR_TODO,     /* not yet handed to an agent */
	QMGR_INFLIGHT, /* in a request */
	QMGR_SENT,
	QMGR_BOUNCED,
	QMGR_DEFERRED,
};

/* One delivery address (a queue recipient after virtual aliasing). */
struct qmgr_dest {
	char *address;
	size_t rcpt; /* index of the queue recipient */
	int cls;     /* enum resolve_class */
	enum qmgr_outcome outcome;
	char dsn[16];
	char *reason;
	char *remote_mta; /* from result/1, for the DSN; may be NULL */
	char *diagnostic; /* "smtp; 550 ..." from result/1; may be NULL */
};

/* Where an address goes (qmgr_transport.c). */
enum qmgr_route_kind {
	QMGR_ROUTE_AGENT,   /* a deliver/1 request to private/transport */
	QMGR_ROUTE_ERROR,   /* bounce (or defer, 4.x.y) with nexthop's text */
	QMGR_ROUTE_DISCARD, /* drop, logged as sent */
	QMGR_ROUTE_DEFER,   /* cannot route now (table failure) */
};

struct qmgr_route {
	enum qmgr_route_kind kind;
	char transport[QMGR_TRANSPORT_MAX + 1];
	char *nexthop; /* AGENT: the next hop; others: the text */
	char dsn[16];  /* ERROR, DISCARD, DEFER */
	/*
	 * A virtual mailbox (RESOLVE_VIRTUAL): the destination's limit is
	 * default_destination_concurrency_limit, as for Postfix's virtual(8),
	 * even through the transport "local", whose own limit
	 * (local_destination_concurrency_limit, 2) is for local users.
	 */
	bool virtual_mailbox;
};

/* A message in active/. */
struct qmgr_msg {
	struct qmgr *qm;
	char id[64];
	char *path; /* queue_dir/active/ID */
	struct qfile *q;
	struct qmgr_dest *dests;
	size_t dest_count;
	size_t unfinished;	/* dests not yet SENT/BOUNCED/DEFERRED */
	struct qmgr_msg *hnext; /* next in its chain of qm->msg_table */
};

struct qmgr_req;
struct qmgr_queue;
struct qmgr_agent;

struct maps_list;

struct qmgr {
	struct server *srv;
	const struct config *cfg;
	struct event_base *base;
	const char *queue_dir;
	const char *myhostname;
	struct resolver *res;
	struct maps_list *virtual_alias_maps;
	struct maps_list *transport_maps;
	/* transport and next hop (NULL: the domain) per class */
	char *local_transport, *local_nexthop;
	char *virtual_transport, *virtual_nexthop;
	char *default_transport, *default_nexthop;
	long long active_limit;
	long long process_limit;     /* requests in flight, all queues */
	long long local_concurrency; /* per queue of transport "local" */
	long long dest_concurrency;  /* per queue of any other transport */
	long long rcpt_limit;	     /* recipients per request */
	long long cohort_limit;	     /* failed requests before suspension */
	long long delay_warning;     /* seconds; 0: no delay notices */
	long long min_backoff, max_backoff;
	long long max_lifetime, bounce_lifetime;
	long long queue_run_delay;
	struct qmgr_msg **msg_table; /* messages held, by id (qmgr_active.c) */
	size_t msg_table_size;	     /* chains: 0 or a power of two */
	size_t msg_count;
	struct qmgr_queue *queues; /* one per transport + next hop */
	unsigned busy;		   /* requests in flight */
	/* Idle delivery agent connections (qmgr_deliver.c), newest first. */
	struct qmgr_agent *agents_idle;
	unsigned agents_idle_count;
	bool dispatching, redispatch;
	struct event *run_timer;      /* queue_run_delay: due deferred/ */
	struct event *scan_event;     /* a scan soon (wakeup, bounce) */
	bool scan_deferred;	      /* the next scan includes deferred/ */
	struct event *deferred_timer; /* a deferred/ scan put off */
	double deferred_scanned;      /* monotonic time of the last one */
};

/* qmgr.c */
void qmgr_schedule_scan(struct qmgr *qm, bool deferred_too);

/* qmgr_scan.c */
void qmgr_scan_active(struct qmgr *qm);
void qmgr_scan(struct qmgr *qm, bool deferred_too);
/* qmgr_ensure_dirs - make the queue directories qmgr uses */
void qmgr_ensure_dirs(struct qmgr *qm);

/* qmgr_message.c */
/* Load active/ID and start its deliveries; false when it is gone. */
void qmgr_message_activate(struct qmgr *qm, const char *id);
/* A dest got its outcome; finishes the message after the last one. */
void qmgr_message_outcome(struct qmgr_msg *msg, struct qmgr_dest *dest,
			  enum qmgr_outcome outcome, const char *dsn,
			  const char *reason, const char *remote_mta,
			  const char *diagnostic);
void qmgr_message_free(struct qmgr_msg **msgp);
/* The age of a message in seconds (from its arrival time). */
double qmgr_message_age(const struct qmgr_msg *msg);

/* qmgr_active.c */
struct qmgr_msg *qmgr_active_find(struct qmgr *qm, const char *id);
void qmgr_active_add(struct qmgr *qm, struct qmgr_msg *msg);
void qmgr_active_remove(struct qmgr *qm, struct qmgr_msg *msg);
void qmgr_active_free_all(struct qmgr *qm);

/* qmgr_transport.c */
/* Defaults from main.cf (fatal when malformed), transport_maps. */
void qmgr_transport_init(struct qmgr *qm);
void qmgr_transport_free(struct qmgr *qm);
/* The route of dest; release it with qmgr_route_release(). */
void qmgr_transport_route(struct qmgr *qm, const struct qmgr_dest *dest,
			  struct qmgr_route *route);
void qmgr_route_release(struct qmgr_route *route);

/* qmgr_deliver.c */
/*
 * qmgr_deliver_add - deliver these dests of msg (all with the same
 * transport and next hop) in requests of at most rcpt_limit.  When the
 * destination is suspended their outcomes (deferred) are recorded at
 * once, so the caller must hold msg (its unfinished count) meanwhile.
 * virtual_mailbox: see struct qmgr_route.
 */
void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
		      const char *transport, const char *nexthop,
		      bool virtual_mailbox, size_t *dests, size_t count);
void qmgr_deliver_free_all(struct qmgr *qm);

/* qmgr_defer.c */
void qmgr_defer_log(struct qmgr_msg *msg, const struct qmgr_dest *dest);
/* Move active/ID to deferred/ with mtime = next attempt. 0 or -1. */
int qmgr_defer_message(struct qmgr_msg *msg);
void qmgr_defer_remove_logs(struct qmgr *qm, const char *id);

/* qmgr_bounce.c */
/*
 * qmgr_bounce_send - queue one non-delivery notice to the sender for the
 * dests listed (their outcome BOUNCED, or DEFERRED when expired), or
 * with delay, a delay notice for deferred dests (Action: delayed).
 * Returns 0 when the notice is committed in incoming/ (or none was
 * needed: null sender), -1 when it could not be written (logged).
 */
int qmgr_bounce_send(struct qmgr_msg *msg, size_t *dests, size_t count,
		     bool delay);

/* qmgr_log_delivery - the Postfix line for an outcome qmgr decides */
void qmgr_log_delivery(struct qmgr_msg *msg, const struct qmgr_dest *dest,
		       const char *relay, const char *status);

#endif
