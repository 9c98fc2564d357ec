/*
 * config - main.cf: parse, expand, override, validate and read parameters
 *
 * SYNOPSIS
 *	#include "config.h"
 *
 *	struct config *cfg = config_create(dir);
 *	config_override(cfg, "name=value", &error);	(any number)
 *	if (config_load(cfg, &error) < 0)
 *		log_fatal("%s", error);
 *	config_str(cfg, "myhostname"), config_time(cfg, "max_idle"), ...
 *	config_free(&cfg);
 *
 * DESCRIPTION
 *	The syntax and semantics are in config.h.  How it is done:
 *
 *	Every name (table parameter, name set in main.cf or by -o, name
 *	referenced by $name) has one entry, found through an open-addressing
 *	hash table.  A load first splits the text into logical lines and
 *	records each assignment, then applies the queued overrides, then
 *	expands every entry that is set (in order of appearance, so errors
 *	come in file order) and every table parameter, and last converts the
 *	table parameters to their types.  Getters only read what the load
 *	computed, so they take a const struct and cost a hash lookup.
 *
 *	Expansion is recursive with a per-entry state (new, expanding,
 *	done): meeting an entry that is being expanded is a loop, and the
 *	stack of entries gives the loop's path for the message.  Expanded
 *	values are cached, so $a$a$a chains cost the size of their output,
 *	and that output is bounded three ways: depth (CONFIG_EXPAND_DEPTH),
 *	size of one value (CONFIG_VALUE_MAX) and size of all values together
 *	(CONFIG_EXPAND_TOTAL), so that a hostile or broken main.cf cannot
 *	make a daemon eat memory before it even starts.
 *
 *	${name?text} and ${name:text} test name's expanded value (Postfix
 *	tests the value as written; the difference only shows for a value
 *	like "$empty", where ours is the less surprising answer).  A '$'
 *	followed by anything but '$', '{', '(' or a name character is kept
 *	as it is.
 *
 *	mydomain's default is computed from myhostname when main.cf or an
 *	override sets myhostname (as Postfix does), and from the host's name
 *	otherwise.  config_directory is always the directory given to
 *	config_create(): the file cannot move itself.
 *
 * DIAGNOSTICS
 *	Errors in the text are returned (-1 and *error_r, which points into
 *	cfg and lasts until the next call on it), never fatal: the caller
 *	decides (STYLE.md §6).  An unknown parameter, a reference to an
 *	undefined one and an ignored config_directory setting are warnings
 *	through log_warn().  A table default that does not validate, and a
 *	typed getter used on a name that is not in the table or has another
 *	type, are bugs and panic.
 *
 * SECURITY
 *	main.cf is trusted (root writes it) but the limits above still hold,
 *	because a typo should fail loudly rather than exhaust memory, and
 *	because the parser is fuzzed.  Quoted values in messages are cut.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "params.h"
#include "strbuf.h"
#include "strnum.h"

/* Limits; see the DESCRIPTION.  main.cf files are a few KiB in practice. */
#define CONFIG_FILE_MAX	    (4 * 1024 * 1024)
#define CONFIG_LINE_MAX	    (64 * 1024)
#define CONFIG_EXPAND_DEPTH 100
#define CONFIG_VALUE_MAX    (1024 * 1024)
#define CONFIG_EXPAND_TOTAL (16 * 1024 * 1024)
/* Longest value quoted in a message (log lines are cut at 2 KiB). */
#define CONFIG_QUOTE_MAX 100

enum entry_state {
	ENTRY_NEW,
	ENTRY_EXPANDING,
	ENTRY_DONE,
};

struct entry {
	char *name;
	const struct param_def *def; /* NULL: not in the table */
	char *raw;		     /* set value (main.cf or -o), or NULL */
	char *where;		     /* "FILE:LINE" where main.cf sets it */
	char *override;		     /* "-o name=value" when -o sets it */
	bool listed;		     /* in cfg->set (foreach order) */
	char *dflt;		     /* computed default, table entries only */
	enum entry_state state;
	char *expanded;
	/* Typed value, for table parameters. */
	long long num;
	bool flag;
	char **items;
	size_t item_count;
};

struct config_override_item {
	char *name;
	char *value;
	char *text; /* "-o name=value" for messages */
};

struct config {
	char *dir;
	struct entry **entries;
	size_t entry_count, entry_alloc;
	/* Open addressing: index + 1 into entries, 0 = empty slot. */
	size_t *slots;
	size_t slot_count;
	/* Set entries in order of first appearance. */
	struct entry **set;
	size_t set_count, set_alloc;
	struct config_override_item *overrides;
	size_t override_count, override_alloc;
	/* Load state. */
	const char *filename;
	/* Entries being expanded, outermost first: a loop's path. */
	struct entry *stack[CONFIG_EXPAND_DEPTH + 2];
	size_t stack_len;
	/* Nesting of expansions, including ${name?text} texts. */
	size_t depth;
	size_t expand_total;
	struct strbuf error;
};

/* grow - make room for one more element in a doubling array */
static void *grow(void *array, size_t count, size_t *alloc, size_t size)
{
	if (count < *alloc)
		return array;
	*alloc = *alloc ? *alloc * 2 : 16;
	return xreallocarray(array, *alloc, size);
}

/* find - the entry for name, or NULL */
static struct entry *find(const struct config *cfg, const char *name)
{
	size_t mask = cfg->slot_count - 1;

	for (size_t i = hash_string(name) & mask;; i = (i + 1) & mask) {
		size_t slot = cfg->slots[i];

		if (slot == 0)
			return NULL;
		if (strcmp(cfg->entries[slot - 1]->name, name) == 0)
			return cfg->entries[slot - 1];
	}
}

/* insert_slot - put entries[index] into the hash table */
static void insert_slot(struct config *cfg, size_t index)
{
	size_t mask = cfg->slot_count - 1;
	size_t i = hash_string(cfg->entries[index]->name) & mask;

	while (cfg->slots[i] != 0)
		i = (i + 1) & mask;
	cfg->slots[i] = index + 1;
}

/* find_or_add - the entry for name, created when new */
static struct entry *find_or_add(struct config *cfg, const char *name)
{
	struct entry *e = find(cfg, name);

	if (e != NULL)
		return e;
	/* Keep the table at most half full so probes stay short. */
	if ((cfg->entry_count + 1) * 2 > cfg->slot_count) {
		free(cfg->slots);
		cfg->slot_count *= 2;
		cfg->slots = xcalloc(cfg->slot_count, sizeof(*cfg->slots));
		for (size_t i = 0; i < cfg->entry_count; i++)
			insert_slot(cfg, i);
	}
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->def = param_lookup(name);
	cfg->entries = grow(cfg->entries, cfg->entry_count, &cfg->entry_alloc,
			    sizeof(*cfg->entries));
	cfg->entries[cfg->entry_count++] = e;
	insert_slot(cfg, cfg->entry_count - 1);
	return e;
}

/* free_items - drop a list value */
static void free_items(struct entry *e)
{
	for (size_t i = 0; i < e->item_count; i++)
		free(e->items[i]);
	free(e->items);
	e->items = NULL;
	e->item_count = 0;
}

/* reset_entry - forget what a previous load computed or set */
static void reset_entry(struct entry *e)
{
	free(e->raw);
	free(e->where);
	free(e->override);
	free(e->dflt);
	free(e->expanded);
	free_items(e);
	e->raw = e->where = e->override = e->dflt = e->expanded = NULL;
	e->listed = false;
	e->state = ENTRY_NEW;
	e->num = 0;
	e->flag = false;
}

/* set_error - format the error that error_r will point at */
static int set_error(struct config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int set_error(struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&cfg->error);
	va_start(ap, fmt);
	(void)strbuf_vappendf(&cfg->error, fmt, ap);
	va_end(ap);
	return -1;
}

/* quote - value for a message, cut so that one line stays readable */
static const char *quote(struct strbuf *sb, const char *value)
{
	size_t len = strlen(value);

	strbuf_reset(sb);
	if (len > CONFIG_QUOTE_MAX) {
		(void)strbuf_append(sb, value, CONFIG_QUOTE_MAX);
		(void)strbuf_append_str(sb, "...");
	} else {
		(void)strbuf_append(sb, value, len);
	}
	return strbuf_cstr(sb);
}

/* is_name_char - may appear in $name (Postfix: letters, digits, '_') */
static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* is_space - the whitespace of main.cf, independent of the locale */
static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/*
 * valid_name - a main.cf parameter name.  '-' and '.' are allowed beside
 * $name's characters because Postfix admins name per-transport parameters
 * after master.cf services ("smtp-amavis_destination_recipient_limit").
 */
static bool valid_name(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '.')
			return false;
	return true;
}

/* config_create - an empty configuration with defaults computed */
struct config *config_create(const char *dir)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	const char *error;

	cfg->dir = xstrdup(dir != NULL ? dir : FACTEUR_CONFIG_DIR);
	cfg->slot_count = 64;
	cfg->slots = xcalloc(cfg->slot_count, sizeof(*cfg->slots));
	strbuf_init(&cfg->error, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < param_table_count; i++)
		(void)find_or_add(cfg, param_table[i].name);
	/* Getters work before any load: on the defaults. */
	if (config_load_string(cfg, "(defaults)", "", &error) < 0)
		log_panic("config: the built-in defaults do not load: %s",
			  error);
	return cfg;
}

/* config_free - release everything, NULL-safe */
void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->entry_count; i++) {
		reset_entry(cfg->entries[i]);
		free(cfg->entries[i]->name);
		free(cfg->entries[i]);
	}
	for (size_t i = 0; i < cfg->override_count; i++) {
		free(cfg->overrides[i].name);
		free(cfg->overrides[i].value);
		free(cfg->overrides[i].text);
	}
	free(cfg->overrides);
	free(cfg->entries);
	free(cfg->slots);
	free(cfg->set);
	free(cfg->dir);
	strbuf_release(&cfg->error);
	free(cfg);
	*cfgp = NULL;
}

/* mark_set - record name as set, for config_foreach_set() */
static void mark_set(struct config *cfg, struct entry *e)
{
	if (e->listed)
		return;
	e->listed = true;
	cfg->set = grow(cfg->set, cfg->set_count, &cfg->set_alloc,
			sizeof(*cfg->set));
	cfg->set[cfg->set_count++] = e;
}

/* assign - main.cf sets name = value at where; a later line wins */
static void assign(struct config *cfg, const char *name, size_t name_len,
		   const char *value, const char *filename, int line)
{
	char *copy = xstrndup(name, name_len);
	struct entry *e = find_or_add(cfg, copy);

	free(copy);
	free(e->raw);
	free(e->where);
	e->raw = xstrdup(value);
	e->where = xasprintf("%s:%d", filename, line);
	mark_set(cfg, e);
}

/* parse_line - one logical line "name = value" */
static int parse_line(struct config *cfg, const char *filename, int line,
		      char *text)
{
	const char *name = text;
	size_t name_len;
	char *p = text;
	struct strbuf q;
	int ret;

	while (*p != '\0' && *p != '=' && !is_space((unsigned char)*p))
		p++;
	name_len = (size_t)(p - name);
	while (is_space((unsigned char)*p))
		p++;
	strbuf_init(&q, STRBUF_NO_LIMIT);
	if (name_len == 0) {
		ret = set_error(cfg, "%s:%d: missing parameter name before '='",
				filename, line);
	} else if (*p != '=') {
		char *shown = xstrndup(name, name_len);

		ret = set_error(cfg, "%s:%d: missing '=' after '%s'", filename,
				line, quote(&q, shown));
		free(shown);
	} else if (!valid_name(name, name_len)) {
		char *shown = xstrndup(name, name_len);

		ret = set_error(cfg, "%s:%d: bad parameter name '%s'", filename,
				line, quote(&q, shown));
		free(shown);
	} else {
		/* Trailing whitespace was trimmed when the line was joined. */
		for (p++; is_space((unsigned char)*p); p++)
			;
		assign(cfg, name, name_len, p, filename, line);
		ret = 0;
	}
	strbuf_release(&q);
	return ret;
}

/* trim_end - drop trailing whitespace from a strbuf */
static void trim_end(struct strbuf *sb)
{
	size_t len = sb->len;

	while (len > 0 && is_space((unsigned char)sb->data[len - 1]))
		len--;
	strbuf_truncate(sb, len);
}

/*
 * parse_text - split text into logical lines and record assignments.
 * Comment and blank lines are skipped even inside a continued line, as
 * Postfix's readlline() does.
 */
static int parse_text(struct config *cfg, const char *filename,
		      const char *text)
{
	struct strbuf logical;
	const char *p = text;
	int lineno = 0, start = 0, ret = 0;

	strbuf_init(&logical, CONFIG_LINE_MAX);
	while (*p != '\0' && ret == 0) {
		const char *line = p, *end = strchr(p, '\n'), *s;
		bool continued;

		if (end == NULL)
			end = p + strlen(p);
		p = *end == '\n' ? end + 1 : end;
		lineno++;
		for (s = line; s < end && is_space((unsigned char)*s); s++)
			;
		if (s == end || *s == '#')
			continue;
		continued = s != line;
		if (continued && logical.len == 0) {
			ret = set_error(cfg,
					"%s:%d: continuation line without a "
					"parameter line before it",
					filename, lineno);
			break;
		}
		if (!continued) {
			if (logical.len > 0)
				ret = parse_line(cfg, filename, start,
						 logical.data);
			strbuf_reset(&logical);
			start = lineno;
			if (ret < 0)
				break;
		}
		if ((continued && strbuf_append_char(&logical, ' ') < 0) ||
		    strbuf_append(&logical, s, (size_t)(end - s)) < 0) {
			ret = set_error(cfg,
					"%s:%d: line too long (more than %d "
					"bytes)",
					filename, start, CONFIG_LINE_MAX);
			break;
		}
		trim_end(&logical);
	}
	if (ret == 0 && logical.len > 0)
		ret = parse_line(cfg, filename, start, logical.data);
	strbuf_release(&logical);
	return ret;
}

/* origin - where an entry's value comes from, for messages */
static const char *origin(const struct config *cfg, const struct entry *e)
{
	if (e->override != NULL)
		return e->override;
	if (e->where != NULL)
		return e->where;
	return cfg->filename;
}

static int expand_entry(struct config *cfg, struct entry *e);

/* loop_error - report the loop that closes at e, from a set entry */
static int loop_error(struct config *cfg, struct entry *e)
{
	size_t first = 0, report;
	struct strbuf path;
	int ret;

	while (cfg->stack[first] != e)
		first++;
	/* Blame an entry the admin set: the defaults have no loops. */
	for (report = first; report < cfg->stack_len; report++)
		if (cfg->stack[report]->raw != NULL)
			break;
	if (report == cfg->stack_len)
		log_panic("config: %s: loop in the built-in defaults", e->name);
	strbuf_init(&path, STRBUF_NO_LIMIT);
	for (size_t i = report; i < cfg->stack_len; i++)
		(void)strbuf_appendf(&path, "%s -> ", cfg->stack[i]->name);
	for (size_t i = first; i <= report; i++)
		(void)strbuf_appendf(&path, "%s%s", cfg->stack[i]->name,
				     i < report ? " -> " : "");
	ret = set_error(cfg, "%s: %s: parameter expansion loop: %s",
			origin(cfg, cfg->stack[report]),
			cfg->stack[report]->name, strbuf_cstr(&path));
	strbuf_release(&path);
	return ret;
}

/* too_long - the expanded value of owner passed CONFIG_VALUE_MAX */
static int too_long(struct config *cfg, const struct entry *owner)
{
	return set_error(cfg,
			 "%s: %s: expanded value too long (more than %d "
			 "bytes)",
			 origin(cfg, owner), owner->name, CONFIG_VALUE_MAX);
}

/* closing - index of the ')' or '}' that ends a reference, or 0 */
static size_t closing(const char *text, size_t open)
{
	char o = text[open], c = o == '{' ? '}' : ')';
	int level = 0;

	for (size_t i = open; text[i] != '\0'; i++) {
		if (text[i] == o)
			level++;
		else if (text[i] == c && --level == 0)
			return i;
	}
	return 0;
}

/* lookup_value - expanded value of name for a reference, or NULL */
static int lookup_value(struct config *cfg, const char *name,
			const char **value_r)
{
	struct entry *e = find(cfg, name);

	*value_r = NULL;
	if (e == NULL || (e->def == NULL && e->raw == NULL))
		return 0;
	if (expand_entry(cfg, e) < 0)
		return -1;
	*value_r = e->expanded;
	return 0;
}

static int expand_text(struct config *cfg, struct entry *owner,
		       const char *text, size_t len, struct strbuf *out);

/* expand_ref - one $name, ${name}, $(name), ${name?x} or ${name:x} */
static int expand_ref(struct config *cfg, struct entry *owner, const char *name,
		      char op, const char *arg, size_t arg_len,
		      struct strbuf *out)
{
	const char *value;

	if (lookup_value(cfg, name, &value) < 0)
		return -1;
	if (op == '?' || op == ':') {
		bool nonempty = value != NULL && value[0] != '\0';

		if (nonempty == (op == '?'))
			return expand_text(cfg, owner, arg, arg_len, out);
		return 0;
	}
	if (value == NULL) {
		/* Postfix expands it to nothing; say so, it is a typo. */
		log_warn("%s: %s: undefined parameter $%s expands to nothing",
			 origin(cfg, owner), owner->name, name);
		return 0;
	}
	if (strbuf_append_str(out, value) < 0)
		return too_long(cfg, owner);
	return 0;
}

/* expand_text - expand len bytes of text (part of owner's value) */
static int expand_text(struct config *cfg, struct entry *owner,
		       const char *text, size_t len, struct strbuf *out)
{
	struct strbuf q;
	int ret = 0;

	if (cfg->depth >= CONFIG_EXPAND_DEPTH)
		return set_error(cfg,
				 "%s: %s: parameter expansion too deep (more "
				 "than %d levels)",
				 origin(cfg, owner), owner->name,
				 CONFIG_EXPAND_DEPTH);
	/* Nested ${x?...} text counts towards the depth like a $name. */
	cfg->depth++;
	strbuf_init(&q, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < len && ret == 0;) {
		size_t start = i, end, name_end;
		char *name;
		char op = 0;

		if (text[i] != '$' || i + 1 >= len) {
			if (strbuf_append_char(out, text[i]) < 0)
				ret = too_long(cfg, owner);
			i++;
			continue;
		}
		if (text[i + 1] == '$') {
			if (strbuf_append_char(out, '$') < 0)
				ret = too_long(cfg, owner);
			i += 2;
			continue;
		}
		if (is_name_char((unsigned char)text[i + 1])) {
			for (end = i + 1;
			     end < len &&
			     is_name_char((unsigned char)text[end]);
			     end++)
				;
			name = xstrndup(text + i + 1, end - i - 1);
			ret = expand_ref(cfg, owner, name, 0, NULL, 0, out);
			free(name);
			i = end;
			continue;
		}
		if (text[i + 1] != '{' && text[i + 1] != '(') {
			/* A lone '$' stays as it is. */
			if (strbuf_append_char(out, '$') < 0)
				ret = too_long(cfg, owner);
			i++;
			continue;
		}
		end = closing(text, i + 1);
		if (end == 0 || end >= len) {
			ret = set_error(cfg, "%s: %s: missing '%c' in '%s'",
					origin(cfg, owner), owner->name,
					text[i + 1] == '{' ? '}' : ')',
					quote(&q, text + start));
			break;
		}
		for (name_end = i + 2;
		     is_name_char((unsigned char)text[name_end]); name_end++)
			;
		if (text[name_end] == '?' || text[name_end] == ':')
			op = text[name_end];
		if (name_end == i + 2 || (op == 0 && name_end != end)) {
			char *ref = xstrndup(text + i, end + 1 - i);

			ret = set_error(cfg,
					"%s: %s: bad parameter reference '%s'",
					origin(cfg, owner), owner->name,
					quote(&q, ref));
			free(ref);
			break;
		}
		name = xstrndup(text + i + 2, name_end - i - 2);
		ret = expand_ref(cfg, owner, name, op, text + name_end + 1,
				 op != 0 ? end - name_end - 1 : 0, out);
		free(name);
		i = end + 1;
	}
	strbuf_release(&q);
	cfg->depth--;
	return ret;
}

/*
 * escape_dollars - main.cf text for a literal value.  Computed defaults
 * are expanded like any text, so a '$' in them (a host name, a -c DIR)
 * must not start a reference.
 */
static char *escape_dollars(const char *value)
{
	struct strbuf sb;

	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (const char *p = value; *p != '\0'; p++)
		(void)strbuf_append(&sb, *p == '$' ? "$$" : p,
				    *p == '$' ? 2 : 1);
	return strbuf_steal(&sb);
}

/* derive_mydomain - mydomain's default from a myhostname that is set */
static int derive_mydomain(struct config *cfg, struct entry *e)
{
	struct entry *host = find(cfg, "myhostname");
	const char *dot;

	if (host == NULL || host->raw == NULL)
		return 0;
	if (expand_entry(cfg, host) < 0)
		return -1;
	dot = strchr(host->expanded, '.');
	if (dot == NULL || dot[1] == '\0')
		dot = ".localdomain";
	free(e->dflt);
	e->dflt = escape_dollars(dot + 1);
	return 0;
}

/* entry_text - the unexpanded value: set value, else the default */
static const char *entry_text(const struct config *cfg, const struct entry *e)
{
	(void)cfg;
	if (e->raw != NULL)
		return e->raw;
	if (e->dflt != NULL)
		return e->dflt;
	return e->def != NULL ? param_default(e->def) : NULL;
}

/* expand_entry - compute e->expanded once, detecting loops */
static int expand_entry(struct config *cfg, struct entry *e)
{
	struct strbuf out;
	const char *text;
	int ret;

	if (e->state == ENTRY_DONE)
		return 0;
	if (e->state == ENTRY_EXPANDING)
		return loop_error(cfg, e);
	if (cfg->stack_len > CONFIG_EXPAND_DEPTH)
		return set_error(cfg,
				 "%s: %s: parameter expansion too deep (more "
				 "than %d levels)",
				 origin(cfg, e), e->name, CONFIG_EXPAND_DEPTH);
	e->state = ENTRY_EXPANDING;
	cfg->stack[cfg->stack_len++] = e;
	strbuf_init(&out, CONFIG_VALUE_MAX);
	/* The host lookup would be wrong for a host that main.cf names. */
	if (e->raw == NULL && strcmp(e->name, "mydomain") == 0)
		ret = derive_mydomain(cfg, e);
	else
		ret = 0;
	if (ret == 0) {
		text = entry_text(cfg, e);
		ret = expand_text(cfg, e, text, strlen(text), &out);
	}
	cfg->stack_len--;
	if (ret == 0 && out.len > CONFIG_EXPAND_TOTAL - cfg->expand_total)
		ret = set_error(cfg,
				"%s: %s: expanded configuration too large "
				"(more than %d bytes)",
				origin(cfg, e), e->name, CONFIG_EXPAND_TOTAL);
	if (ret < 0) {
		strbuf_release(&out);
		return -1;
	}
	cfg->expand_total += out.len;
	e->expanded = strbuf_steal(&out);
	e->state = ENTRY_DONE;
	return 0;
}

/* ascii_eq - case-insensitive equality without the locale */
static bool ascii_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return false;
	}
	return *a == *b;
}

/* config_parse_bool - yes/no, true/false, on/off, 1/0 */
int config_parse_bool(const char *text, bool *value_r, const char **error_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ascii_eq(text, yes[i])) {
			*value_r = true;
			return 0;
		}
		if (ascii_eq(text, no[i])) {
			*value_r = false;
			return 0;
		}
	}
	*error_r = "expected yes or no";
	return -1;
}

/*
 * parse_scaled - a decimal number and an optional one-letter unit from
 * units (lower case; matched case-insensitively) with the multipliers in
 * mult; without a unit the multiplier is 1.
 */
static int parse_scaled(const char *text, const char *units,
			const long long *mult, const char *unit_error,
			long long *value_r, const char **error_r)
{
	size_t digits = 0, len = strlen(text);
	uint64_t num;
	long long m = 1;

	while (text[digits] >= '0' && text[digits] <= '9')
		digits++;
	if (len == 0) {
		*error_r = "empty value";
		return -1;
	}
	if (digits == 0) {
		*error_r = "not a number";
		return -1;
	}
	if (len > digits + 1) {
		*error_r = unit_error;
		return -1;
	}
	if (len == digits + 1) {
		int c = (unsigned char)text[digits];
		const char *u;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		u = c != '\0' ? strchr(units, c) : NULL;
		if (u == NULL) {
			*error_r = unit_error;
			return -1;
		}
		m = mult[u - units];
	}
	if (strn_to_u64(text, digits, &num) < 0 || num > (uint64_t)LLONG_MAX ||
	    (long long)num > LLONG_MAX / m) {
		*error_r = "value too large";
		return -1;
	}
	*value_r = (long long)num * m;
	return 0;
}

/* config_parse_time - seconds from "N", "Ns", "Nm", "Nh", "Nd", "Nw" */
int config_parse_time(const char *text, long long *seconds_r,
		      const char **error_r)
{
	static const long long mult[] = {1, 60, 3600, 86400, 604800};
	static const char *unit_error = "bad time unit (use s, m, h, d or w)";

	return parse_scaled(text, "smhdw", mult, unit_error, seconds_r,
			    error_r);
}

/* config_parse_size - bytes from "N", "Nk", "Nm", "Ng" (powers of 1024) */
int config_parse_size(const char *text, long long *bytes_r,
		      const char **error_r)
{
	static const long long mult[] = {1024LL, 1024LL * 1024,
					 1024LL * 1024 * 1024};
	static const char *unit_error = "bad size unit (use k, m or g)";

	return parse_scaled(text, "kmg", mult, unit_error, bytes_r, error_r);
}

/* split_list - items separated by commas and/or whitespace */
static void split_list(struct entry *e)
{
	const char *p = e->expanded;
	size_t alloc = 0;

	free_items(e);
	for (;;) {
		const char *start;

		while (*p == ',' || is_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !is_space((unsigned char)*p))
			p++;
		/* One more for the NULL that ends the array. */
		e->items = grow(e->items, e->item_count + 1, &alloc,
				sizeof(*e->items));
		e->items[e->item_count++] =
			xstrndup(start, (size_t)(p - start));
	}
	e->items = grow(e->items, e->item_count, &alloc, sizeof(*e->items));
	e->items[e->item_count] = NULL;
}

/* check_inet_protocols - the only words inet_protocols knows */
static const char *check_inet_protocols(const struct entry *e)
{
	for (size_t i = 0; i < e->item_count; i++)
		if (strcmp(e->items[i], "all") != 0 &&
		    strcmp(e->items[i], "ipv4") != 0 &&
		    strcmp(e->items[i], "ipv6") != 0)
			return e->items[i];
	return NULL;
}

/* validate - convert a table parameter's expanded value to its type */
static int validate(struct config *cfg, struct entry *e)
{
	const struct param_def *def = e->def;
	const char *why = NULL, *bad;
	long long num = 0;
	struct strbuf q;
	int ret = 0;

	switch (def->type) {
	case PARAM_STRING:
		return 0;
	case PARAM_LIST:
		split_list(e);
		if (strcmp(def->name, "inet_protocols") == 0 &&
		    (bad = check_inet_protocols(e)) != NULL) {
			why = "expected all, ipv4 or ipv6";
			strbuf_init(&q, STRBUF_NO_LIMIT);
			ret = set_error(cfg, "%s: %s: bad list item '%s': %s",
					origin(cfg, e), e->name, quote(&q, bad),
					why);
			strbuf_release(&q);
			goto bad_default;
		}
		return 0;
	case PARAM_BOOL:
		if (config_parse_bool(e->expanded, &e->flag, &why) < 0)
			goto bad_value;
		return 0;
	case PARAM_INT: {
		int64_t n;

		if (str_to_i64(e->expanded, &n) < 0) {
			why = "not a decimal number";
			goto bad_value;
		}
		num = n;
		break;
	}
	case PARAM_TIME:
		if (config_parse_time(e->expanded, &num, &why) < 0)
			goto bad_value;
		break;
	case PARAM_SIZE:
		if (config_parse_size(e->expanded, &num, &why) < 0)
			goto bad_value;
		break;
	}
	if (num < def->min || num > def->max) {
		strbuf_init(&q, STRBUF_NO_LIMIT);
		ret = set_error(cfg, "%s: %s: value '%s' is %s the %s %lld%s",
				origin(cfg, e), e->name, quote(&q, e->expanded),
				num < def->min ? "below" : "above",
				num < def->min ? "minimum" : "maximum",
				num < def->min ? def->min : def->max,
				def->type == PARAM_TIME ? "s" : "");
		strbuf_release(&q);
		goto bad_default;
	}
	e->num = num;
	return 0;

bad_value:
	strbuf_init(&q, STRBUF_NO_LIMIT);
	ret = set_error(cfg, "%s: %s: bad %s value '%s': %s", origin(cfg, e),
			e->name, param_type_name(def->type),
			quote(&q, e->expanded), why);
	strbuf_release(&q);
bad_default:
	/* A default that does not parse is a bug in the table. */
	if (e->raw == NULL && strchr(entry_text(cfg, e), '$') == NULL)
		log_panic("config: bad built-in default: %s",
			  strbuf_cstr(&cfg->error));
	return ret;
}

/* apply_overrides - -o values win over main.cf */
static void apply_overrides(struct config *cfg)
{
	for (size_t i = 0; i < cfg->override_count; i++) {
		struct config_override_item *o = &cfg->overrides[i];
		struct entry *e = find_or_add(cfg, o->name);

		free(e->raw);
		free(e->override);
		e->raw = xstrdup(o->value);
		e->override = xstrdup(o->text);
		mark_set(cfg, e);
	}
}

/* load_text - the common part of config_load() and config_load_string() */
static int load_text(struct config *cfg, const char *filename, const char *text)
{
	struct entry *dir;

	for (size_t i = 0; i < cfg->entry_count; i++)
		reset_entry(cfg->entries[i]);
	cfg->set_count = 0;
	cfg->stack_len = 0;
	cfg->depth = 0;
	cfg->expand_total = 0;
	cfg->filename = filename;
	if (strnlen(text, CONFIG_FILE_MAX + 1) > CONFIG_FILE_MAX)
		return set_error(cfg, "%s: file too large (more than %d bytes)",
				 filename, CONFIG_FILE_MAX);
	if (parse_text(cfg, filename, text) < 0)
		return -1;
	apply_overrides(cfg);
	for (size_t i = 0; i < cfg->set_count; i++)
		if (cfg->set[i]->def == NULL)
			log_warn("%s: unknown parameter %s",
				 origin(cfg, cfg->set[i]), cfg->set[i]->name);
	/* The directory the file was read from is the only truth. */
	dir = find(cfg, "config_directory");
	if (dir->raw != NULL && strcmp(dir->raw, cfg->dir) != 0)
		log_warn("%s: config_directory is ignored: the configuration "
			 "directory is %s",
			 origin(cfg, dir), cfg->dir);
	dir->dflt = escape_dollars(cfg->dir);
	free(dir->raw);
	dir->raw = NULL;
	for (size_t i = 0; i < cfg->set_count; i++)
		if (expand_entry(cfg, cfg->set[i]) < 0)
			return -1;
	for (size_t i = 0; i < cfg->entry_count; i++)
		if (cfg->entries[i]->def != NULL &&
		    expand_entry(cfg, cfg->entries[i]) < 0)
			return -1;
	/* Validate what the admin set first, so errors come in file order. */
	for (size_t i = 0; i < cfg->set_count; i++)
		if (cfg->set[i]->def != NULL && validate(cfg, cfg->set[i]) < 0)
			return -1;
	for (size_t i = 0; i < cfg->entry_count; i++)
		if (cfg->entries[i]->def != NULL && !cfg->entries[i]->listed &&
		    validate(cfg, cfg->entries[i]) < 0)
			return -1;
	return 0;
}

/* config_load_string - load main.cf text */
int config_load_string(struct config *cfg, const char *filename,
		       const char *text, const char **error_r)
{
	int ret = load_text(cfg, filename, text);

	cfg->filename = NULL;
	*error_r = strbuf_cstr(&cfg->error);
	return ret;
}

/* read_file - the whole file, at most CONFIG_FILE_MAX bytes */
static int read_file(struct config *cfg, const char *path, char **text_r)
{
	struct strbuf sb;
	char buf[8192];
	int fd;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return set_error(cfg, "open %s: %s", path, strerror(errno));
	strbuf_init(&sb, CONFIG_FILE_MAX);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (strbuf_append(&sb, buf, (size_t)n) < 0) {
			close(fd);
			strbuf_release(&sb);
			return set_error(cfg,
					 "%s: file too large (more than %d "
					 "bytes)",
					 path, CONFIG_FILE_MAX);
		}
	}
	if (n < 0) {
		set_error(cfg, "read %s: %s", path, strerror(errno));
		close(fd);
		strbuf_release(&sb);
		return -1;
	}
	close(fd);
	/* Text with a NUL would be silently cut: say where it is. */
	if (memchr(sb.data, '\0', sb.len) != NULL) {
		const char *nul = memchr(sb.data, '\0', sb.len);
		int line = 1;

		for (const char *p = sb.data; p < nul; p++)
			line += *p == '\n';
		strbuf_release(&sb);
		return set_error(cfg, "%s:%d: NUL byte in line", path, line);
	}
	*text_r = strbuf_steal(&sb);
	return 0;
}

/* config_load - read DIR/main.cf */
int config_load(struct config *cfg, const char **error_r)
{
	char *path = xasprintf("%s/main.cf", cfg->dir);
	char *text = NULL;
	int ret;

	ret = read_file(cfg, path, &text);
	if (ret == 0)
		ret = load_text(cfg, path, text);
	cfg->filename = NULL;
	free(text);
	free(path);
	*error_r = strbuf_cstr(&cfg->error);
	return ret;
}

/* config_override - queue "name=value" for the next load */
int config_override(struct config *cfg, const char *assignment,
		    const char **error_r)
{
	const char *eq = strchr(assignment, '='), *name = assignment, *end;
	struct config_override_item *o;
	struct strbuf q;
	const char *v;
	size_t vlen;

	strbuf_init(&q, STRBUF_NO_LIMIT);
	*error_r = strbuf_cstr(&cfg->error);
	if (eq == NULL) {
		set_error(cfg, "-o %s: missing '='", quote(&q, assignment));
		strbuf_release(&q);
		*error_r = strbuf_cstr(&cfg->error);
		return -1;
	}
	while (is_space((unsigned char)*name))
		name++;
	for (end = eq; end > name && is_space((unsigned char)end[-1]); end--)
		;
	if (!valid_name(name, (size_t)(end - name))) {
		set_error(cfg, "-o %s: bad parameter name",
			  quote(&q, assignment));
		strbuf_release(&q);
		*error_r = strbuf_cstr(&cfg->error);
		return -1;
	}
	for (v = eq + 1; is_space((unsigned char)*v); v++)
		;
	for (vlen = strlen(v); vlen > 0 && is_space((unsigned char)v[vlen - 1]);
	     vlen--)
		;
	cfg->overrides = grow(cfg->overrides, cfg->override_count,
			      &cfg->override_alloc, sizeof(*cfg->overrides));
	o = &cfg->overrides[cfg->override_count++];
	o->name = xstrndup(name, (size_t)(end - name));
	o->value = xstrndup(v, vlen);
	o->text = xasprintf("-o %s=%s", o->name, quote(&q, o->value));
	strbuf_release(&q);
	return 0;
}

/* config_dir - where main.cf is read from; lives as long as cfg */
const char *config_dir(const struct config *cfg)
{
	return cfg->dir;
}

/* known - the entry for a name that is in the table or set */
static const struct entry *known(const struct config *cfg, const char *name)
{
	const struct entry *e = find(cfg, name);

	if (e == NULL || (e->def == NULL && e->raw == NULL))
		return NULL;
	return e;
}

/* config_raw - the value as written; valid until the next load */
const char *config_raw(const struct config *cfg, const char *name)
{
	const struct entry *e = known(cfg, name);

	return e != NULL ? entry_text(cfg, e) : NULL;
}

/* config_expanded - the expanded value; valid until the next load */
const char *config_expanded(const struct config *cfg, const char *name)
{
	const struct entry *e = known(cfg, name);

	/* After a failed load some values were never reached. */
	return e != NULL && e->state == ENTRY_DONE ? e->expanded : NULL;
}

/* config_is_set - whether main.cf or -o sets name */
bool config_is_set(const struct config *cfg, const char *name)
{
	const struct entry *e = find(cfg, name);

	return e != NULL && e->listed;
}

/* config_where - "FILE:LINE" of main.cf's setting, or NULL */
const char *config_where(const struct config *cfg, const char *name)
{
	const struct entry *e = find(cfg, name);

	return e != NULL ? e->where : NULL;
}

/* typed - the entry of a table parameter of the given type, or panic */
static const struct entry *typed(const struct config *cfg, const char *name,
				 enum param_type type, const char *caller)
{
	const struct entry *e = find(cfg, name);

	if (e == NULL || e->def == NULL)
		log_panic("%s: unknown parameter %s", caller, name);
	if (e->def->type != type)
		log_panic("%s: %s is a %s parameter", caller, name,
			  param_type_name(e->def->type));
	if (e->state != ENTRY_DONE)
		log_panic("%s: %s: configuration not loaded", caller, name);
	return e;
}

/* config_str - the expanded value of any table parameter */
const char *config_str(const struct config *cfg, const char *name)
{
	const struct entry *e = find(cfg, name);

	if (e == NULL || e->def == NULL)
		log_panic("config_str: unknown parameter %s", name);
	if (e->state != ENTRY_DONE)
		log_panic("config_str: %s: configuration not loaded", name);
	return e->expanded;
}

long long config_int(const struct config *cfg, const char *name)
{
	return typed(cfg, name, PARAM_INT, "config_int")->num;
}

bool config_bool(const struct config *cfg, const char *name)
{
	return typed(cfg, name, PARAM_BOOL, "config_bool")->flag;
}

long long config_time(const struct config *cfg, const char *name)
{
	return typed(cfg, name, PARAM_TIME, "config_time")->num;
}

long long config_size(const struct config *cfg, const char *name)
{
	return typed(cfg, name, PARAM_SIZE, "config_size")->num;
}

/* config_list - the items; the array lives until the next load */
const char *const *config_list(const struct config *cfg, const char *name,
			       size_t *count_r)
{
	const struct entry *e = typed(cfg, name, PARAM_LIST, "config_list");

	if (e->items == NULL)
		log_panic("config_list: %s: configuration not loaded", name);
	if (count_r != NULL)
		*count_r = e->item_count;
	return (const char *const *)e->items;
}

/* config_foreach_set - each name set, in order of first appearance */
void config_foreach_set(const struct config *cfg, config_iter_fn *fn, void *ctx)
{
	for (size_t i = 0; i < cfg->set_count; i++) {
		const struct entry *e = cfg->set[i];

		fn(e->name, e->raw != NULL ? e->raw : entry_text(cfg, e), ctx);
	}
}
