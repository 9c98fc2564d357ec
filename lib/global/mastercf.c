/*
 * mastercf - master.cf: the services master runs
 *
 * SYNOPSIS
 *	#include "mastercf.h"
 *
 *	mcf = mastercf_load("/etc/facteur/master.cf", &error);
 *	entry = mastercf_find(mcf, "smtp", MASTERCF_INET);
 *	mastercf_free(&mcf);
 *
 * DESCRIPTION
 *	The syntax is Postfix's (see mastercf.h).  The text is cut into
 *	physical lines; blank lines and lines whose first non-blank byte is
 *	'#' are skipped (also in the middle of an entry, so that an admin
 *	can comment out one "-o" line of a multi-line service); a line that
 *	starts with a space or tab is joined, with one space, to the logical
 *	line before it.  Each logical line is split on spaces and tabs and
 *	checked field by field.  The parser keeps no state between calls.
 *
 *	Limits, so that a broken or hostile file cannot make master (root)
 *	use unbounded memory or time: MASTERCF_FILE_MAX bytes per file,
 *	MASTERCF_LINE_MAX bytes per logical line, MASTERCF_ENTRY_MAX
 *	services, MASTERCF_ARG_MAX words of command and arguments.
 *
 * DIAGNOSTICS
 *	mastercf_parse() and mastercf_load() return NULL with *error_r
 *	"FILE:LINE: what is wrong" (or "FILE: ..." for the file as a whole)
 *	in a static buffer that the next call into this module overwrites.
 *	Nothing is logged and nothing is fatal: master decides, since a bad
 *	file at reload must leave the running configuration alone.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "mastercf.h"
#include "strbuf.h"
#include "strnum.h"

/* Values are shown cut to this many bytes in error messages. */
#define SHOW_MAX 64

static char mastercf_errbuf[1024];

/* parse state shared by the helpers of one mastercf_parse() call */
struct parser {
	const char *filename;
	struct mastercf *mcf;
	size_t cap;
};

/* set_error - format an error into the module's static buffer */
static const char *set_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mastercf_errbuf, sizeof(mastercf_errbuf), fmt, ap);
	va_end(ap);
	return mastercf_errbuf;
}

/* is_blank - the field separators of master.cf */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* mastercf_type_name - the master.cf spelling of a service type */
const char *mastercf_type_name(enum mastercf_type type)
{
	switch (type) {
	case MASTERCF_INET:
		return "inet";
	case MASTERCF_UNIX:
		return "unix";
	case MASTERCF_FIFO:
		return "fifo";
	case MASTERCF_PASS:
		return "pass";
	}
	return "unknown";
}

/* mastercf_type_parse - a service type from its master.cf spelling */
int mastercf_type_parse(const char *name, enum mastercf_type *type_r)
{
	static const enum mastercf_type types[] = {
		MASTERCF_INET,
		MASTERCF_UNIX,
		MASTERCF_FIFO,
		MASTERCF_PASS,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(name, mastercf_type_name(types[i])) == 0) {
			*type_r = types[i];
			return 0;
		}
	}
	return -1;
}

/* chars_ok - does s consist only of bytes from the set allowed? */
static bool chars_ok(const char *s, size_t len, const char *allowed)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr(allowed, c) != NULL)))
			return false;
	}
	return true;
}

/* port_ok - a port number 1..65535 or a name for /etc/services */
static bool port_ok(const char *port)
{
	size_t len = strlen(port);
	unsigned int num;

	if (len == 0 || !chars_ok(port, len, "._-"))
		return false;
	if (port[0] >= '0' && port[0] <= '9')
		return str_to_uint(port, &num) == 0 && num >= 1 && num <= 65535;
	return true;
}

/* mastercf_split_inet - split [host:]port, host possibly [IPv6] */
int mastercf_split_inet(const char *name, char **host_r, char **port_r,
			const char **error_r)
{
	const char *host = NULL, *port;
	size_t hostlen = 0;

	if (name[0] == '[') {
		const char *end = strchr(name, ']');

		if (end == NULL) {
			*error_r = "missing ']' after IPv6 address";
			return -1;
		}
		host = name + 1;
		hostlen = (size_t)(end - host);
		if (end[1] != ':') {
			*error_r = "expected ':port' after ']'";
			return -1;
		}
		port = end + 2;
		/* Hex digits, ':', '.' for v4-mapped, '%' and a zone name. */
		if (hostlen == 0 || !chars_ok(host, hostlen, ":.%_-")) {
			*error_r = "bad IPv6 address";
			return -1;
		}
	} else {
		const char *colon = strchr(name, ':');

		port = name;
		if (colon != NULL) {
			if (strchr(colon + 1, ':') != NULL) {
				*error_r = "too many ':' (put an IPv6 "
					   "address in brackets)";
				return -1;
			}
			host = name;
			hostlen = (size_t)(colon - name);
			port = colon + 1;
			if (hostlen == 0) {
				*error_r = "empty host";
				return -1;
			}
			if (!chars_ok(host, hostlen, "._-")) {
				*error_r = "bad host";
				return -1;
			}
		}
	}
	if (*port == '\0') {
		*error_r = "empty port";
		return -1;
	}
	if (!port_ok(port)) {
		*error_r = "bad port";
		return -1;
	}
	*host_r = host != NULL ? xstrndup(host, hostlen) : NULL;
	*port_r = xstrdup(port);
	return 0;
}

/* file_name_ok - a name that is safe as a socket file under private/ */
static bool file_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return chars_ok(name, len, "._-");
}

/* parse_bool - a y/n/- field; '-' gives the default */
static int parse_bool(const struct parser *p, int line, const char *what,
		      const char *field, bool def, bool *value_r,
		      const char **error_r)
{
	if (strcmp(field, "-") == 0)
		*value_r = def;
	else if (strcmp(field, "y") == 0)
		*value_r = true;
	else if (strcmp(field, "n") == 0)
		*value_r = false;
	else {
		*error_r = set_error("%s:%d: bad %s field '%.*s': expected y, "
				     "n or -",
				     p->filename, line, what, SHOW_MAX, field);
		return -1;
	}
	return 0;
}

/* parse_count - a non-negative int, strictly */
static int parse_count(const char *s, int *value_r)
{
	unsigned int num;

	if (str_to_uint(s, &num) < 0 || num > INT_MAX)
		return -1;
	*value_r = (int)num;
	return 0;
}

/* parse_wakeup - seconds with an optional '?', or '-' for none */
static int parse_wakeup(const struct parser *p, int line, const char *field,
			struct mastercf_entry *e, const char **error_r)
{
	size_t len = strlen(field);
	char *copy;
	int ret;

	e->wakeup = 0;
	e->wakeup_if_used = false;
	if (strcmp(field, "-") == 0)
		return 0;
	if (len > 0 && field[len - 1] == '?') {
		e->wakeup_if_used = true;
		len--;
	}
	copy = xstrndup(field, len);
	ret = parse_count(copy, &e->wakeup);
	free(copy);
	if (ret < 0) {
		*error_r = set_error("%s:%d: bad wakeup field '%.*s': expected "
				     "seconds, seconds?, or -",
				     p->filename, line, SHOW_MAX, field);
		return -1;
	}
	return 0;
}

/* check_overrides - every -o must carry a name=value */
static int check_overrides(const struct parser *p, int line,
			   const struct mastercf_entry *e, const char **error_r)
{
	for (size_t i = 1; i < e->argc; i++) {
		const char *value, *eq;

		if (strcmp(e->argv[i], "-o") == 0) {
			if (i + 1 >= e->argc) {
				*error_r = set_error("%s:%d: -o without an "
						     "argument",
						     p->filename, line);
				return -1;
			}
			value = e->argv[++i];
		} else if (strncmp(e->argv[i], "-o", 2) == 0) {
			value = e->argv[i] + 2;
		} else {
			continue;
		}
		eq = strchr(value, '=');
		if (eq == NULL || eq == value) {
			*error_r =
				set_error("%s:%d: bad override '-o %.*s': "
					  "expected name=value",
					  p->filename, line, SHOW_MAX, value);
			return -1;
		}
	}
	return 0;
}

/* entry_free - release what one entry owns */
static void entry_free(struct mastercf_entry *e)
{
	free(e->name);
	if (e->argv != NULL) {
		for (size_t i = 0; i < e->argc; i++)
			free(e->argv[i]);
		free(e->argv);
	}
	free(e->host);
	free(e->port);
	free(e->text);
}

/* parse_entry - check one logical line (split into fields) into e */
static int parse_entry(const struct parser *p, int line, char **fields,
		       size_t nfields, struct mastercf_entry *e,
		       const char **error_r)
{
	const char *name = fields[0];
	struct strbuf text;

	if (nfields < 8) {
		*error_r = set_error("%s:%d: %zu field%s, expected at least 8 "
				     "fields",
				     p->filename, line, nfields,
				     nfields == 1 ? "" : "s");
		return -1;
	}
	e->line = line;
	if (mastercf_type_parse(fields[1], &e->type) < 0) {
		*error_r = set_error("%s:%d: unknown service type '%.*s'",
				     p->filename, line, SHOW_MAX, fields[1]);
		return -1;
	}
	e->name = xstrdup(name);
	if (e->type == MASTERCF_INET) {
		const char *why;

		if (mastercf_split_inet(name, &e->host, &e->port, &why) < 0) {
			*error_r = set_error("%s:%d: bad inet service '%.*s': "
					     "%s",
					     p->filename, line, SHOW_MAX, name,
					     why);
			return -1;
		}
	} else if (!file_name_ok(name)) {
		/* The name becomes a path under private/ or public/. */
		*error_r =
			set_error("%s:%d: bad %s service name '%.*s': "
				  "expected a file name of "
				  "[A-Za-z0-9._-]",
				  p->filename, line,
				  mastercf_type_name(e->type), SHOW_MAX, name);
		return -1;
	}
	if (parse_bool(p, line, "private", fields[2], true, &e->private_,
		       error_r) < 0 ||
	    parse_bool(p, line, "unpriv", fields[3], true, &e->unpriv,
		       error_r) < 0 ||
	    parse_bool(p, line, "chroot", fields[4], false, &e->chroot,
		       error_r) < 0 ||
	    parse_wakeup(p, line, fields[5], e, error_r) < 0)
		return -1;
	if (strcmp(fields[6], "-") == 0) {
		e->maxproc = -1;
	} else if (parse_count(fields[6], &e->maxproc) < 0) {
		*error_r = set_error("%s:%d: bad maxproc field '%.*s': "
				     "expected a number or -",
				     p->filename, line, SHOW_MAX, fields[6]);
		return -1;
	}
	e->argc = nfields - 7;
	e->argv = xcalloc(e->argc + 1, sizeof(*e->argv));
	for (size_t i = 0; i < e->argc; i++)
		e->argv[i] = xstrdup(fields[7 + i]);
	if (check_overrides(p, line, e, error_r) < 0)
		return -1;
	strbuf_init(&text, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < nfields; i++) {
		if (i > 0)
			(void)strbuf_append_char(&text, ' ');
		(void)strbuf_append_str(&text, fields[i]);
	}
	e->text = strbuf_steal(&text);
	return 0;
}

/* finish_line - split a logical line, parse it, add it to the table */
static int finish_line(struct parser *p, int line, char *buf,
		       const char **error_r)
{
	char *fields[MASTERCF_ARG_MAX + 7];
	size_t nfields = 0;
	struct mastercf_entry e;
	const struct mastercf_entry *old;
	struct mastercf *mcf = p->mcf;
	char *cp = buf;

	/* Split in place: the buffer is ours and NUL-terminated. */
	for (;;) {
		while (is_blank(*cp))
			cp++;
		if (*cp == '\0')
			break;
		if (nfields == sizeof(fields) / sizeof(fields[0])) {
			*error_r =
				set_error("%s:%d: more than %d command "
					  "words",
					  p->filename, line, MASTERCF_ARG_MAX);
			return -1;
		}
		fields[nfields++] = cp;
		while (*cp != '\0' && !is_blank(*cp))
			cp++;
		if (*cp != '\0')
			*cp++ = '\0';
	}
	if (mcf->count >= MASTERCF_ENTRY_MAX) {
		*error_r = set_error("%s:%d: more than %d services",
				     p->filename, line, MASTERCF_ENTRY_MAX);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	if (parse_entry(p, line, fields, nfields, &e, error_r) < 0) {
		entry_free(&e);
		return -1;
	}
	old = mastercf_find(mcf, e.name, e.type);
	if (old != NULL) {
		*error_r =
			set_error("%s:%d: duplicate %s service '%.*s' "
				  "(first defined at line %d)",
				  p->filename, line, mastercf_type_name(e.type),
				  SHOW_MAX, e.name, old->line);
		entry_free(&e);
		return -1;
	}
	if (mcf->count == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		mcf->entries = xreallocarray(mcf->entries, p->cap, sizeof(e));
	}
	mcf->entries[mcf->count++] = e;
	return 0;
}

/* mastercf_parse - parse master.cf text into a table */
struct mastercf *mastercf_parse(const char *filename, const char *text,
				const char **error_r)
{
	struct parser p;
	struct strbuf logical;
	const char *cp = text;
	int lineno = 0, start = 0;
	bool pending = false;

	if (filename == NULL)
		filename = "master.cf";
	if (strlen(text) > MASTERCF_FILE_MAX) {
		*error_r = set_error("%s: larger than %d bytes", filename,
				     MASTERCF_FILE_MAX);
		return NULL;
	}
	p.filename = filename;
	p.mcf = xcalloc(1, sizeof(*p.mcf));
	p.mcf->filename = xstrdup(filename);
	p.cap = 0;
	strbuf_init(&logical, MASTERCF_LINE_MAX);

	while (*cp != '\0') {
		const char *line = cp, *eol = strchr(cp, '\n'), *first;
		size_t len;

		if (eol == NULL)
			eol = cp + strlen(cp);
		len = (size_t)(eol - line);
		cp = *eol != '\0' ? eol + 1 : eol;
		lineno++;

		for (first = line; first < eol && is_blank(*first); first++)
			;
		/* Comments and blank lines do not end a logical line. */
		if (first == eol || *first == '#')
			continue;
		if (first != line) {
			if (!pending) {
				*error_r = set_error("%s:%d: continuation "
						     "line without an entry "
						     "to continue",
						     filename, lineno);
				goto fail;
			}
			if (strbuf_append_char(&logical, ' ') < 0 ||
			    strbuf_append(&logical, line, len) < 0)
				goto toolong;
			continue;
		}
		if (pending &&
		    finish_line(&p, start, logical.data, error_r) < 0)
			goto fail;
		strbuf_reset(&logical);
		start = lineno;
		pending = true;
		if (strbuf_append(&logical, line, len) < 0)
			goto toolong;
	}
	if (pending && finish_line(&p, start, logical.data, error_r) < 0)
		goto fail;
	strbuf_release(&logical);
	return p.mcf;

toolong:
	*error_r = set_error("%s:%d: logical line longer than %d bytes",
			     filename, start, MASTERCF_LINE_MAX);
fail:
	strbuf_release(&logical);
	mastercf_free(&p.mcf);
	return NULL;
}

/* mastercf_load - read and parse a master.cf file */
struct mastercf *mastercf_load(const char *path, const char **error_r)
{
	struct strbuf buf;
	struct mastercf *mcf;
	char chunk[8192];
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*error_r = set_error("open %s: %s", path, strerror(errno));
		return NULL;
	}
	strbuf_init(&buf, MASTERCF_FILE_MAX);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r =
				set_error("read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (strbuf_append(&buf, chunk, (size_t)n) < 0) {
			*error_r = set_error("%s: larger than %d bytes", path,
					     MASTERCF_FILE_MAX);
			goto fail;
		}
	}
	(void)close(fd);
	/* parse() sees a C string: a NUL would hide the rest of the file. */
	if (memchr(buf.data, '\0', buf.len) != NULL) {
		*error_r = set_error("%s: contains a NUL byte", path);
		strbuf_release(&buf);
		return NULL;
	}
	mcf = mastercf_parse(path, buf.data, error_r);
	strbuf_release(&buf);
	return mcf;

fail:
	(void)close(fd);
	strbuf_release(&buf);
	return NULL;
}

/* mastercf_free - free a table and clear the caller's pointer */
void mastercf_free(struct mastercf **mcfp)
{
	struct mastercf *mcf = *mcfp;

	if (mcf == NULL)
		return;
	for (size_t i = 0; i < mcf->count; i++)
		entry_free(&mcf->entries[i]);
	free(mcf->entries);
	free(mcf->filename);
	free(mcf);
	*mcfp = NULL;
}

/* mastercf_find - the entry for name/type, or NULL */
const struct mastercf_entry *mastercf_find(const struct mastercf *mcf,
					   const char *name,
					   enum mastercf_type type)
{
	for (size_t i = 0; i < mcf->count; i++) {
		const struct mastercf_entry *e = &mcf->entries[i];

		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}
