/*
 * done_frame - parse the done/1 frame (see done_frame.h)
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "attr.h"
#include "done_frame.h"

/* done_frame_parse - the end of one answer */
int done_frame_parse(struct attr_list *list, bool *reuse_r,
		     const char **error_r)
{
	int64_t reuse;

	if (strcmp(list->proto, DONE_FRAME_PROTO) != 0) {
		*error_r = "expected done/1";
		return -1;
	}
	if (attr_get_int(list, "reuse", &reuse, error_r) < 0 ||
	    attr_list_end(list, error_r) < 0)
		return -1;
	if (reuse != 0 && reuse != 1) {
		*error_r = "attribute 'reuse': not 0 or 1";
		return -1;
	}
	*reuse_r = reuse == 1;
	return 0;
}
