/*
 * maps_list - a parameter's list of lookup tables, searched in order
 *
 * SYNOPSIS
 *	#include "maps_list.h"
 *
 *	list = maps_list_create("alias_maps", specs, count, MAPS_ALIASES);
 *	r = maps_list_find(list, "postmaster", &value, &error);
 *	maps_list_free(&list);
 *
 * DESCRIPTION
 *	See maps_list.h.  Opening a Berkeley DB or LMDB file costs system
 *	calls and memory; doing it once per process instead of once per
 *	lookup is the point of this module.
 *
 * DIAGNOSTICS
 *	-1 with "title: error" for a table that cannot be opened or read.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "maps.h"
#include "maps_list.h"

struct maps_list_entry {
	char *spec;
	struct maps_table *table; /* NULL until opened, or after a failure */
	time_t checked;		  /* when maps_changed() last ran */
};

struct maps_list {
	char *title;
	unsigned int flags;
	struct maps_list_entry *entries;
	size_t count;
	char error[1024];
};

/* maps_list_create - remember the specs; open nothing yet */
struct maps_list *maps_list_create(const char *title, const char *const *specs,
				   size_t count, unsigned int flags)
{
	struct maps_list *list = xcalloc(1, sizeof(*list));

	list->title = xstrdup(title);
	list->flags = flags;
	list->count = count;
	list->entries = xcalloc(count ? count : 1, sizeof(*list->entries));
	for (size_t i = 0; i < count; i++)
		list->entries[i].spec = xstrdup(specs[i]);
	return list;
}

/* maps_list_free - close every table */
void maps_list_free(struct maps_list **listp)
{
	struct maps_list *list = *listp;

	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		maps_close(&list->entries[i].table);
		free(list->entries[i].spec);
	}
	free(list->entries);
	free(list->title);
	free(list);
	*listp = NULL;
}

/* fail - the error text, prefixed by the list's title */
static int fail(struct maps_list *list, const char *error, const char **error_r)
{
	snprintf(list->error, sizeof(list->error), "%s: %s", list->title,
		 error);
	*error_r = list->error;
	return -1;
}

/* entry_table - the entry's table, (re)opened when needed */
static struct maps_table *entry_table(struct maps_list *list,
				      struct maps_list_entry *e,
				      const char **error_r)
{
	time_t now = time(NULL);
	const char *error;

	if (e->table != NULL && now != e->checked) {
		e->checked = now;
		if (maps_changed(e->table))
			maps_close(&e->table);
	}
	if (e->table == NULL) {
		e->table = maps_open(e->spec, list->flags, &error);
		if (e->table == NULL) {
			fail(list, error, error_r);
			return NULL;
		}
		e->checked = now;
	}
	return e->table;
}

/* maps_list_find - the first table that has key */
int maps_list_find(struct maps_list *list, const char *key,
		   const char **value_r, const char **error_r)
{
	const char *error;

	for (size_t i = 0; i < list->count; i++) {
		struct maps_list_entry *e = &list->entries[i];
		struct maps_table *t = entry_table(list, e, error_r);
		int r;

		if (t == NULL)
			return -1;
		if ((r = maps_lookup(t, key, value_r, &error)) < 0) {
			/* Reopen next time: the file may have been replaced. */
			maps_close(&e->table);
			return fail(list, error, error_r);
		}
		if (r > 0)
			return 1;
	}
	return 0;
}

size_t maps_list_count(const struct maps_list *list)
{
	return list->count;
}
