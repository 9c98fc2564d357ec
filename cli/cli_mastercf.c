/*
 * cli_mastercf - `facteur conf -M`: show and edit master.cf entries
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_mastercf_show(ctx, argc, argv)
 *	int cli_mastercf_edit(ctx, mode, argc, argv)
 *
 * DESCRIPTION
 *	cli_mastercf_show() prints master.cf entries one per line, with
 *	continuation lines joined and the first seven fields in aligned
 *	columns, as postconf -M does.  Arguments "name" or "name/type"
 *	select entries; one that selects nothing draws the warning
 *	'unmatched request: "name/type"' and the exit status stays 0, as
 *	with postconf.
 *
 *	cli_mastercf_edit() copies master.cf line by line like cli_conf_edit
 *	does for main.cf: "name/type=entry" replaces the entry for name/type
 *	where it stands (its continuation lines dropped, interleaved comments
 *	kept) or appends it when absent; "name/type" with CLI_EDIT_REMOVE
 *	drops the entry, with CLI_EDIT_COMMENT puts '#' before each of its
 *	lines.  The new entry must itself start with name and type, and the
 *	edited file must parse; otherwise nothing is written.  Unlike
 *	postconf, the entry is written as given (trimmed), not reformatted,
 *	so that an admin's alignment survives.
 *
 * DIAGNOSTICS
 *	A master.cf that does not parse, a malformed request or entry, and a
 *	result that does not parse are fatal.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "log.h"
#include "mastercf.h"

/* A "name[/type]" pattern, with the entry text for an edit. */
struct svc_req {
	const char *raw;
	char *name;
	bool has_type;
	enum mastercf_type type;
	char *entry; /* CLI_EDIT_SET: the new logical line, trimmed */
	int matches;
};

/* parse_pattern - split "name[/type]"; -1 when malformed */
static int parse_pattern(const char *text, bool type_required,
			 struct svc_req *req)
{
	const char *slash = strrchr(text, '/');

	req->raw = text;
	req->matches = 0;
	req->entry = NULL;
	if (slash == NULL) {
		if (type_required || *text == '\0')
			return -1;
		req->name = xstrdup(text);
		req->has_type = false;
		return 0;
	}
	if (slash == text || mastercf_type_parse(slash + 1, &req->type) < 0)
		return -1;
	req->name = xstrndup(text, (size_t)(slash - text));
	req->has_type = true;
	return 0;
}

/* req_matches - whether a request selects service name/type */
static bool req_matches(const struct svc_req *req, const char *name,
			size_t name_len, enum mastercf_type type)
{
	return strlen(req->name) == name_len &&
	       memcmp(req->name, name, name_len) == 0 &&
	       (!req->has_type || req->type == type);
}

/* print_entry - one entry, fields aligned like postconf -M */
static void print_entry(const struct mastercf_entry *e)
{
	static const int width[] = {10, 5, 7, 7, 7, 7, 7};
	const char *p = e->text;

	/* text holds the fields joined by single spaces (mastercf.h). */
	for (size_t i = 0; i < sizeof(width) / sizeof(width[0]); i++) {
		size_t len = strcspn(p, " ");

		printf("%-*.*s ", width[i], (int)len, p);
		p += len;
		if (*p == ' ')
			p++;
	}
	printf("%s\n", p);
}

/* cli_mastercf_show - conf -M [name[/type]...] */
int cli_mastercf_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct mastercf *mcf = cli_load_mastercf(ctx);
	struct svc_req *reqs = xcalloc((size_t)argc + 1, sizeof(*reqs));

	for (int i = 0; i < argc; i++)
		if (parse_pattern(argv[i], false, &reqs[i]) < 0)
			log_fatal("-M requires service_name[/type]: \"%s\"",
				  argv[i]);
	for (size_t n = 0; n < mcf->count; n++) {
		const struct mastercf_entry *e = &mcf->entries[n];
		bool show = argc == 0;

		for (int i = 0; i < argc; i++) {
			if (req_matches(&reqs[i], e->name, strlen(e->name),
					e->type)) {
				reqs[i].matches++;
				show = true;
			}
		}
		if (show)
			print_entry(e);
	}
	fflush(stdout);
	for (int i = 0; i < argc; i++) {
		if (reqs[i].matches == 0)
			log_warn("unmatched request: \"%s\"", reqs[i].raw);
		free(reqs[i].name);
	}
	free(reqs);
	mastercf_free(&mcf);
	return 0;
}

/* trim_end - drop trailing blanks in place */
static void trim_end(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
}

/* check_entry - the new entry must be name/type's own and parse */
static void check_entry(const struct svc_req *req)
{
	const char *p = req->entry;
	size_t name_len = strcspn(p, " \t");
	const char *type = p + name_len + strspn(p + name_len, " \t");
	char *type_name = xstrndup(type, strcspn(type, " \t"));
	char *what =
		xasprintf("-M %s/%s", req->name, mastercf_type_name(req->type));
	enum mastercf_type t;
	struct mastercf *one;
	const char *error;

	if (mastercf_type_parse(type_name, &t) < 0 ||
	    !req_matches(req, p, name_len, t))
		log_fatal("%s: the entry must start with \"%s %s\": \"%s\"",
			  what, req->name, mastercf_type_name(req->type),
			  req->entry);
	if ((one = mastercf_parse(what, req->entry, &error)) == NULL)
		log_fatal("%s", error);
	mastercf_free(&one);
	free(type_name);
	free(what);
}

/* parse_edit_request - "name/type=entry" or "name/type" */
static void parse_edit_request(enum cli_edit_mode mode, const char *arg,
			       struct svc_req *req)
{
	char *copy = xstrdup(arg);
	char *pattern = copy + strspn(copy, " \t");
	char *eq = strchr(copy, '=');
	char *entry = NULL;

	if (strpbrk(arg, "\r\n") != NULL)
		log_fatal("-M accepts no multi-line input");
	if (mode == CLI_EDIT_SET) {
		if (eq == NULL)
			log_fatal("-M edit requires service_name/type=entry: "
				  "\"%s\"",
				  arg);
		*eq = '\0';
		entry = eq + 1 + strspn(eq + 1, " \t");
		trim_end(entry);
	} else if (eq != NULL) {
		log_fatal("-MX or -M# requires service_name/type without "
			  "value: \"%s\"",
			  arg);
	}
	/* "name/type = entry" is allowed, as with postconf. */
	trim_end(pattern);
	if (parse_pattern(pattern, true, req) < 0)
		log_fatal("-M requires service_name/type: \"%s\"", arg);
	req->raw = arg;
	if (entry != NULL) {
		req->entry = xstrdup(entry);
		check_entry(req);
	}
	free(copy);
}

/* edit_text - produce the edited master.cf from the old text */
static void edit_text(struct cli_edit *ed, const char *path,
		      enum cli_edit_mode mode, struct svc_req *reqs, int count,
		      const struct strbuf *in, struct strbuf *out)
{
	struct svc_req *current = NULL; /* request matching this entry */
	const char *p = in->data, *end = in->data + in->len;
	int lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		const char *q = p;

		lineno++;
		while (q < next && cli_is_blank(*q))
			q++;
		if (q == next || *q == '#') {
			/* Comments and blank lines never change. */
			strbuf_append(out, p, (size_t)(next - p));
		} else if (q > p) {
			/* A continuation line follows its entry's fate. */
			if (current == NULL)
				strbuf_append(out, p, (size_t)(next - p));
			else if (mode == CLI_EDIT_COMMENT) {
				strbuf_append_char(out, '#');
				strbuf_append(out, p, (size_t)(next - p));
			}
		} else {
			size_t name_len = strcspn(p, " \t\r\n");
			const char *t = p + name_len;
			size_t type_len;
			enum mastercf_type type;
			char *type_name;

			t += strspn(t, " \t");
			type_len = strcspn(t, " \t\r\n");
			type_name = xstrndup(t, type_len);
			if (type_len == 0) {
				cli_edit_abort(ed);
				log_fatal("%s:%d: specify service name and "
					  "type on the same line",
					  path, lineno);
			}
			if (mastercf_type_parse(type_name, &type) < 0) {
				cli_edit_abort(ed);
				log_fatal("%s:%d: unknown service type \"%s\"",
					  path, lineno, type_name);
			}
			free(type_name);
			current = NULL;
			for (int i = 0; i < count; i++)
				if (req_matches(&reqs[i], p, name_len, type))
					current = &reqs[i];
			if (current == NULL) {
				strbuf_append(out, p, (size_t)(next - p));
			} else if (current->matches++ == 0 &&
				   mode == CLI_EDIT_SET) {
				strbuf_appendf(out, "%s\n", current->entry);
			} else if (mode == CLI_EDIT_COMMENT) {
				strbuf_append_char(out, '#');
				strbuf_append(out, p, (size_t)(next - p));
			}
		}
		p = next;
	}
	for (int i = 0; i < count; i++) {
		if (reqs[i].matches > 0)
			continue;
		if (mode != CLI_EDIT_SET) {
			log_warn("unmatched request: \"%s\"", reqs[i].raw);
			continue;
		}
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			strbuf_append_char(out, '\n');
		strbuf_appendf(out, "%s\n", reqs[i].entry);
	}
}

/* cli_mastercf_edit - -M name/type=entry, -MX, -M# */
int cli_mastercf_edit(const struct cli_ctx *ctx, enum cli_edit_mode mode,
		      int argc, char **argv)
{
	char *path = cli_path(ctx->config_dir, "master.cf");
	struct svc_req *reqs = xcalloc((size_t)argc + 1, sizeof(*reqs));
	struct cli_edit ed;
	struct strbuf in, out;
	struct mastercf *mcf;
	const char *error;

	if (argc == 0)
		log_fatal("-M edits need at least one service_name/type");
	for (int i = 0; i < argc; i++) {
		parse_edit_request(mode, argv[i], &reqs[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(reqs[j].name, reqs[i].name) == 0 &&
			    reqs[j].type == reqs[i].type)
				log_fatal("-M: \"%s\" given twice",
					  reqs[i].raw);
	}

	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	/* Lock first, then read: a concurrent edit is never lost. */
	if (cli_edit_open(&ed, path, &error) < 0)
		log_fatal("%s", error);
	if (cli_read_file(path, &in, mode == CLI_EDIT_SET, &error) < 0) {
		cli_edit_abort(&ed);
		log_fatal("%s", error);
	}
	edit_text(&ed, path, mode, reqs, argc, &in, &out);

	/* Refuse a result master would refuse at the next start or reload. */
	if ((mcf = mastercf_parse(path, strbuf_cstr(&out), &error)) == NULL) {
		cli_edit_abort(&ed);
		log_fatal("%s (%s left unchanged)", error, path);
	}
	mastercf_free(&mcf);

	if (out.len == in.len && memcmp(out.data, in.data, in.len) == 0)
		cli_edit_abort(&ed);
	else if (cli_edit_commit(&ed, out.data, out.len, &error) < 0)
		log_fatal("%s", error);
	for (int i = 0; i < argc; i++) {
		free(reqs[i].name);
		free(reqs[i].entry);
	}
	free(reqs);
	strbuf_release(&in);
	strbuf_release(&out);
	free(path);
	return 0;
}
