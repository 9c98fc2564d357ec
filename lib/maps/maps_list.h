/*
 * maps_list - a parameter's list of lookup tables, searched in order
 *
 * Postfix's "maps": alias_maps, virtual_alias_maps, virtual_mailbox_maps,
 * access tables... each name a list of "type:name" tables, and a lookup
 * asks each table in turn until one has the key.  Tables are opened on
 * first use and kept open; a table whose file was replaced (a rebuild by
 * `facteur map`, an edited texthash source) is reopened, checked at most
 * once a second, so long-running processes (qmgr) see new data without a
 * restart.  A table that fails is closed and opened again next time.
 */
#ifndef FACTEUR_MAPS_LIST_H
#define FACTEUR_MAPS_LIST_H

#include <stddef.h>

struct maps_list;

/*
 * maps_list_create - a list named title (the parameter, for messages) of
 * the tables in specs (count of them), opened with flags (MAPS_*) when
 * first needed.  Never fails: a bad spec shows at the first lookup.
 */
struct maps_list *maps_list_create(const char *title, const char *const *specs,
				   size_t count, unsigned int flags);
void maps_list_free(struct maps_list **listp);

/*
 * maps_list_find - key in the first table that has it.  Returns 1 with
 * *value_r (a loan, valid until the next call on this list), 0 when no
 * table has it, -1 when a table cannot be opened or read, with *error_r
 * "title: what went wrong" (valid until the next call): a temporary
 * failure, never "not found".
 */
int maps_list_find(struct maps_list *list, const char *key,
		   const char **value_r, const char **error_r);

/* maps_list_count - how many tables the list names. */
size_t maps_list_count(const struct maps_list *list);

#endif
