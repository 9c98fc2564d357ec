/*
 * agent_conn - a delivery agent's side of its connection with qmgr
 *
 * qmgr keeps a connection to a delivery agent for several deliver/1
 * requests, one at a time (docs/architecture.md, "delivery protocol").
 * The skeleton reads the first frame and hands it to the service's
 * request op, which passes it on here with the service's handler:
 *
 *	static void my_request(struct server *srv, int fd,
 *			       struct attr_list *list)
 *	{
 *		agent_conn_serve(srv, fd, list, my_deliver);
 *	}
 *
 * For each request the handler appends its result/1 frames to out;
 * this module adds the done/1 frame (reuse=1 when this process takes
 * another request on the connection), writes them with one write and
 * waits in the event loop for the next deliver/1.  It ends the
 * connection (close, server_conn_done()) when qmgr closes it, when a
 * request is malformed (the handler returns -1: closed without an
 * answer, so qmgr defers its recipients), after 10 x max_use requests
 * (a process still starts afresh now and then), when
 * the skeleton drains (SIGHUP, master gone: done/1 says reuse=0), or
 * after max_idle seconds without a request.  While connected the
 * process counts as busy (client_limit 1).
 */
#ifndef FACTEUR_AGENT_CONN_H
#define FACTEUR_AGENT_CONN_H

struct server;
struct attr_list;
struct strbuf;

/*
 * agent_conn_fn - serve one request: append the result/1 frames to out
 * and return 0, or -1 (nothing appended) when the request is malformed.
 * list stays the caller's.
 */
typedef int agent_conn_fn(struct server *srv, struct attr_list *list,
			  struct strbuf *out);

/* agent_conn_serve - serve list and the requests that follow on fd;
 * takes fd and list */
void agent_conn_serve(struct server *srv, int fd, struct attr_list *list,
		      agent_conn_fn *fn);

#endif
