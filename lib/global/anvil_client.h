/*
 * anvil_client - register a connection with the anvil service and learn
 *		  how many the same client has open and has made lately
 *
 * anvil (anvil/anvil.c, docs/architecture.md "Connection limits") counts
 * connections per (service, ident) across every process of every
 * service.  The protocol, over queue_directory/private/anvil:
 *
 *	anvil/1:        op (connect|disconnect|lookup|message), service (the
 *	                counting domain, e.g. the master.cf service name),
 *	                ident (what is counted: a client address)
 *	anvil-result/1: status (ok|fail), count (connections open now),
 *	                rate (connects in the current anvil_rate_time_unit),
 *	                reason (with fail)
 *
 * A stream may carry any number of requests, answered in order.
 * "connect" registers one connection of (service, ident) on the stream
 * that sent it and answers with the counts including it; "disconnect"
 * removes one such registration; "lookup" changes nothing; "message"
 * counts one message (a MAIL command) and answers the message rate in
 * "rate" (and the connection count in "count").  Closing the
 * stream removes every registration made on it, so a client that dies
 * leaves no count behind.
 *
 * This client uses one stream per counted connection: the handle holds
 * the registration until anvil_client_free() closes it.  Start a
 * request with anvil_client_connect(); the callback runs exactly once,
 * later, from the loop (never from inside the call), unless the handle is
 * freed first.  The handle stays valid after the callback.
 */
#ifndef FACTEUR_ANVIL_CLIENT_H
#define FACTEUR_ANVIL_CLIENT_H

#include <stdbool.h>

struct event_base;

#define ANVIL_PROTO	   "anvil/1"
#define ANVIL_RESULT_PROTO "anvil-result/1"
/* private/anvil, relative to queue_directory. */
#define ANVIL_SOCKET "private/anvil"
/* The largest frame either side accepts. */
#define ANVIL_FRAME_MAX 4096
/* The longest service name and ident. */
#define ANVIL_NAME_MAX 256
/* How long a client waits for an answer, in seconds. */
#define ANVIL_CLIENT_TIMEOUT 5

/*
 * The callback: ok is false when anvil could not be asked (reason says
 * why, for a warning); count and rate are then 0.  reason lives during
 * the call only.
 */
typedef void anvil_client_callback_fn(bool ok, long count, long rate,
				      const char *reason, void *ctx);

struct anvil_client;

/*
 * anvil_client_connect - register (service, ident) on a new stream;
 * cb(ctx) runs once from the loop.  Never fails: a problem becomes an
 * ok=false callback.
 */
struct anvil_client *
anvil_client_connect(struct event_base *base, const char *queue_dir,
		     const char *service, const char *ident,
		     anvil_client_callback_fn *cb, void *ctx);

/*
 * anvil_client_message - count one message of the registered (service,
 * ident) on the same stream; cb(ctx) runs once from the loop with the
 * message rate.  Only after the connect callback said ok; returns -1
 * (no callback) when the stream is not usable.
 */
int anvil_client_message(struct anvil_client *c, anvil_client_callback_fn *cb,
			 void *ctx);

/* anvil_client_free - end the registration (close); no callback after. */
void anvil_client_free(struct anvil_client **clientp);

#endif
