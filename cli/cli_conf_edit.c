/*
 * cli_conf_edit - edit main.cf in place: `facteur conf -e`, `-X`, `-#`
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_conf_edit(ctx, mode, argc, argv)
 *	int cli_read_file(path, sb, missing_ok, error_r)
 *	int cli_edit_open(ed, path, error_r)
 *	int cli_edit_commit(ed, data, len, error_r)
 *	void cli_edit_abort(ed)
 *
 * DESCRIPTION
 *	cli_conf_edit() copies main.cf line by line and changes only the
 *	logical lines the request names, as postconf(1) does: -e replaces
 *	"name = value" (the first physical line, its continuation lines
 *	dropped) where it stands, and appends the names main.cf did not set
 *	at the end, sorted; -X drops the logical line; -# puts a '#' before
 *	each of its physical lines.  Comment and blank lines, even those
 *	between continuation lines, pass through untouched, and so does every
 *	other byte of the file, so that an admin's layout survives an edit.
 *
 *	Before anything is written the new text is loaded like main.cf
 *	itself: a value the table refuses ("message_size_limit = 10x"), or a
 *	$name loop, leaves the file as it was and is reported.
 *
 *	cli_edit_open() and cli_edit_commit() make the change atomic:
 *	readers see the old file or the new one, never a mix, even across a
 *	crash (write path.tmp, fsync, rename, fsync the directory).  The
 *	temporary file is locked from before the original is read until it
 *	is renamed, so that concurrent editors take turns and each one edits
 *	what the one before it wrote.
 *
 * DIAGNOSTICS
 *	Bad requests (bad name syntax, a value with a newline, "name=value"
 *	for -X) and a result that does not load are fatal; I/O errors too.
 *	A name given twice draws a warning and the later request wins; a
 *	name main.cf sets twice draws a warning and both lines are replaced.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "config.h"
#include "log.h"

static char file_error[1024];

/* cli_read_file - the whole file, bounded */
int cli_read_file(const char *path, struct strbuf *sb, bool missing_ok,
		  const char **error_r)
{
	char buf[8192];
	ssize_t n;
	int fd;

	strbuf_reset(sb);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		snprintf(file_error, sizeof(file_error), "open %s: %s", path,
			 strerror(errno));
		*error_r = file_error;
		return -1;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(file_error, sizeof(file_error), "read %s: %s",
				 path, strerror(errno));
			break;
		}
		if (n == 0) {
			close(fd);
			return 0;
		}
		/* A config file larger than this is a mistake, not config. */
		if (sb->len + (size_t)n > CLI_FILE_MAX ||
		    strbuf_append(sb, buf, (size_t)n) < 0) {
			snprintf(file_error, sizeof(file_error),
				 "read %s: file larger than %d bytes", path,
				 CLI_FILE_MAX);
			break;
		}
	}
	close(fd);
	*error_r = file_error;
	return -1;
}

/* write_all - write every byte, retrying short writes and EINTR */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync_dir - make a rename in dir durable */
static int fsync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd, ret = 0;

	/* dirname() may modify its argument, hence the copy. */
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		free(copy);
		return -1;
	}
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -1;
	close(fd);
	free(copy);
	return ret;
}

/* edit_fail - format an error about the temporary file */
static int edit_fail(struct cli_edit *ed, const char *op, const char **error_r)
{
	snprintf(file_error, sizeof(file_error), "%s %s: %s", op, ed->tmp,
		 strerror(errno));
	*error_r = file_error;
	return -1;
}

/* edit_close - release an edit's resources */
static void edit_close(struct cli_edit *ed)
{
	if (ed->fd >= 0)
		close(ed->fd);
	ed->fd = -1;
	free(ed->tmp);
	free(ed->path);
	ed->tmp = ed->path = NULL;
}

/* cli_edit_open - create and lock path.tmp */
int cli_edit_open(struct cli_edit *ed, const char *path, const char **error_r)
{
	struct stat st_fd, st_path;
	const char *op;

	ed->path = xstrdup(path);
	ed->tmp = xasprintf("%s.tmp", path);
	for (;;) {
		int ret;

		op = "open";
		if ((ed->fd = open(ed->tmp, O_WRONLY | O_CREAT | O_CLOEXEC,
				   0644)) < 0)
			break;
		op = "lock";
		if (flock(ed->fd, LOCK_EX) < 0 || fstat(ed->fd, &st_fd) < 0)
			break;
		/*
		 * While we waited, the editor before us may have renamed
		 * the file we locked over path, or removed it: then it is
		 * no longer the temporary file, and we start again.
		 */
		ret = stat(ed->tmp, &st_path);
		if (ret == 0 && st_path.st_dev == st_fd.st_dev &&
		    st_path.st_ino == st_fd.st_ino) {
			op = "truncate";
			if (ftruncate(ed->fd, 0) < 0)
				break;
			return 0;
		}
		op = "stat";
		if (ret < 0 && errno != ENOENT)
			break;
		close(ed->fd);
	}
	edit_fail(ed, op, error_r);
	edit_close(ed);
	return -1;
}

/* cli_edit_abort - forget the edit; the original stays as it was */
void cli_edit_abort(struct cli_edit *ed)
{
	/* The name is ours alone while we hold the lock. */
	if (ed->tmp != NULL)
		(void)unlink(ed->tmp);
	edit_close(ed);
}

/* cli_edit_commit - write, sync and rename into place */
int cli_edit_commit(struct cli_edit *ed, const char *data, size_t len,
		    const char **error_r)
{
	struct stat st;
	const char *op;

	if (stat(ed->path, &st) == 0) {
		op = "chmod";
		if (fchmod(ed->fd, st.st_mode & 07777) < 0)
			goto fail;
		/* Only root can give a file away; others keep their own. */
		op = "chown";
		if (geteuid() == 0 && fchown(ed->fd, st.st_uid, st.st_gid) < 0)
			goto fail;
	}
	op = "write";
	if (write_all(ed->fd, data, len) < 0)
		goto fail;
	op = "fsync";
	if (fsync(ed->fd) < 0)
		goto fail;
	op = "rename";
	if (rename(ed->tmp, ed->path) < 0)
		goto fail;
	if (fsync_dir(ed->path) < 0) {
		snprintf(file_error, sizeof(file_error),
			 "fsync directory of %s: %s", ed->path,
			 strerror(errno));
		*error_r = file_error;
		edit_close(ed);
		return -1;
	}
	edit_close(ed);
	return 0;

fail:
	edit_fail(ed, op, error_r);
	cli_edit_abort(ed);
	return -1;
}

/* One request from the command line. */
struct edit_req {
	char *name;
	char *value;  /* CLI_EDIT_SET only */
	int found;    /* logical lines of main.cf it matched */
	bool dropped; /* superseded by a later request for the same name */
};

/* trim - strip leading and trailing blanks in place */
static char *trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* parse_request - split "name = value" (or check "name") */
static void parse_request(enum cli_edit_mode mode, const char *arg,
			  struct edit_req *req)
{
	char *copy = xstrdup(arg);
	char *name, *eq;

	if (strpbrk(arg, "\r\n") != NULL)
		log_fatal("-e, -X or -# accepts no multi-line input");
	name = trim(copy);
	if (*name == '#')
		log_fatal("-e, -X or -# accepts no comment input");
	eq = strchr(name, '=');
	if (mode == CLI_EDIT_SET) {
		if (eq == NULL)
			log_fatal("missing '=' after parameter name: \"%s\"",
				  arg);
		*eq = '\0';
		req->value = xstrdup(trim(eq + 1));
		name = trim(name);
	} else if (eq != NULL) {
		log_fatal("-X or -# requires parameter names without value");
	}
	if (!cli_valid_param_name(name))
		log_fatal("bad parameter name syntax: \"%s\"", name);
	req->name = xstrdup(name);
	req->found = 0;
	req->dropped = false;
	free(copy);
}

/* find_req - the live request for a name, or NULL */
static struct edit_req *find_req(struct edit_req *reqs, int count,
				 const char *name, size_t name_len)
{
	for (int i = 0; i < count; i++)
		if (!reqs[i].dropped && strlen(reqs[i].name) == name_len &&
		    memcmp(reqs[i].name, name, name_len) == 0)
			return &reqs[i];
	return NULL;
}

/* compare_reqs - qsort helper: by name */
static int compare_reqs(const void *a, const void *b)
{
	return strcmp(((const struct edit_req *)a)->name,
		      ((const struct edit_req *)b)->name);
}

/* append_assignment - "name = value", no trailing blank when empty */
static void append_assignment(struct strbuf *out, const struct edit_req *req)
{
	if (req->value[0] == '\0')
		strbuf_appendf(out, "%s =\n", req->name);
	else
		strbuf_appendf(out, "%s = %s\n", req->name, req->value);
}

/* edit_text - produce the edited main.cf from the old text */
static void edit_text(const char *path, enum cli_edit_mode mode,
		      struct edit_req *reqs, int count, const struct strbuf *in,
		      struct strbuf *out)
{
	struct edit_req *current = NULL; /* request matching this entry */
	const char *p = in->data, *end = in->data + in->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		const char *q = p;

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
			size_t name_len = strcspn(p, " \t\r\n=");

			if (p + name_len > next)
				name_len = (size_t)(next - p);
			current = find_req(reqs, count, p, name_len);
			if (current == NULL) {
				strbuf_append(out, p, (size_t)(next - p));
			} else {
				if (current->found++ == 1)
					log_warn("%s: multiple entries for "
						 "\"%s\"",
						 path, current->name);
				if (mode == CLI_EDIT_SET)
					append_assignment(out, current);
				else if (mode == CLI_EDIT_COMMENT) {
					strbuf_append_char(out, '#');
					strbuf_append(out, p,
						      (size_t)(next - p));
				}
			}
		}
		p = next;
	}
	if (mode != CLI_EDIT_SET)
		return;
	qsort(reqs, (size_t)count, sizeof(*reqs), compare_reqs);
	for (int i = 0; i < count; i++) {
		if (reqs[i].dropped || reqs[i].found > 0)
			continue;
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			strbuf_append_char(out, '\n');
		append_assignment(out, &reqs[i]);
	}
}

/* drop_warnings - log hook that silences the validation load */
static void drop_warnings(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)text;
	(void)ctx;
}

/* cli_conf_edit - -e, -X or -# on main.cf */
int cli_conf_edit(const struct cli_ctx *ctx, enum cli_edit_mode mode, int argc,
		  char **argv)
{
	char *path = cli_path(ctx->config_dir, "main.cf");
	struct edit_req *reqs = xcalloc((size_t)argc, sizeof(*reqs));
	struct cli_edit ed;
	struct strbuf in, out;
	struct config *cfg;
	const char *error;
	int ret;

	for (int i = 0; i < argc; i++) {
		struct edit_req *earlier;

		parse_request(mode, argv[i], &reqs[i]);
		earlier = find_req(reqs, i, reqs[i].name, strlen(reqs[i].name));
		if (earlier != NULL) {
			if (mode == CLI_EDIT_SET)
				log_warn("ignoring earlier request: "
					 "'%s = %s'",
					 earlier->name, earlier->value);
			earlier->dropped = true;
		}
	}

	strbuf_init(&in, STRBUF_NO_LIMIT);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	/* Lock first, then read: a concurrent edit is never lost. */
	if (cli_edit_open(&ed, path, &error) < 0)
		log_fatal("%s", error);
	/* postconf -e creates a missing main.cf; so do we. */
	if (cli_read_file(path, &in, mode == CLI_EDIT_SET, &error) < 0) {
		cli_edit_abort(&ed);
		log_fatal("%s", error);
	}
	edit_text(path, mode, reqs, argc, &in, &out);

	/*
	 * Refuse a result that would not load: the running system would
	 * keep working, but the next start or reload would fail.  Warnings
	 * (unknown names, which postconf -e allows) are not the edit's
	 * business here.
	 */
	cfg = config_create(ctx->config_dir);
	log_set_hook(drop_warnings, NULL);
	ret = config_load_string(cfg, path, strbuf_cstr(&out), &error);
	log_set_hook(NULL, NULL);
	if (ret < 0) {
		cli_edit_abort(&ed);
		log_fatal("%s (%s left unchanged)", error, path);
	}
	config_free(&cfg);

	if (out.len == in.len && memcmp(out.data, in.data, in.len) == 0)
		cli_edit_abort(&ed);
	else if (cli_edit_commit(&ed, out.data, out.len, &error) < 0)
		log_fatal("%s", error);
	for (int i = 0; i < argc; i++) {
		free(reqs[i].name);
		free(reqs[i].value);
	}
	free(reqs);
	strbuf_release(&in);
	strbuf_release(&out);
	free(path);
	return 0;
}
