/*
 * done_frame - the done/1 frame that ends each answer on a kept connection
 *
 * A delivery agent (lib/server/agent_conn.c) and the userdb service end
 * every answer with "done/1 reuse=0|1": 1 when the server takes another
 * request on the same connection, 0 when it closes it.
 */
#ifndef FACTEUR_DONE_FRAME_H
#define FACTEUR_DONE_FRAME_H

#include <stdbool.h>

struct attr_list;

#define DONE_FRAME_PROTO "done/1"

/*
 * done_frame_parse - check a done/1 list strictly (protocol name, reuse
 * 0 or 1, nothing else).  Returns 0 with *reuse_r, or -1 with *error_r.
 */
int done_frame_parse(struct attr_list *list, bool *reuse_r,
		     const char **error_r);

#endif
