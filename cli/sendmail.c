/*
 * sendmail - Sendmail-compatible local submission (also mailq, newaliases)
 *
 * SYNOPSIS
 *	sendmail [-tiv] [-f sender] [-F name] [-C config_dir] [-N dsn]
 *		 [-R ret] [-V envid] [-o* ...] [-b mode] [recipient...]
 *	mailq [-C config_dir]		  (sendmail -bp)
 *	newaliases [-C config_dir]	  (sendmail -bi)
 *
 * DESCRIPTION
 *	The command line interface of Sendmail that MUAs, cron and scripts
 *	expect, as Postfix's sendmail(1) provides it.  The message is read
 *	from stdin, turned into a queue file (qfile.h) and committed into
 *	queue_directory/maildrop/, where the pickup daemon takes it over.
 *	It works while the mail system is stopped: nothing but the maildrop
 *	directory is needed.  After the commit sendmail wakes pickup through
 *	public/pickup and ignores a failure (pickup's timer finds the file).
 *
 *	Content: lines end in LF or CRLF on input and always in CRLF in the
 *	queue file, which holds SMTP-canonical content.  Without -i (-oi) a
 *	line holding a single dot ends the input, as Sendmail does.  The
 *	header is read into memory (at most SENDMAIL_HEADER_MAX bytes; what
 *	follows a longer header is body), so that -t can take recipients
 *	from To:, Cc: and Bcc:; Bcc: headers are always removed, as Postfix
 *	does.  Missing From:, Date: and Message-ID: headers are added, since
 *	this is a submission path and nothing downstream adds them.
 *
 *	The sender is -f (-r), else the invoking user's login name; an
 *	address without '@' gets "@$myorigin", as do unqualified recipients.
 *	"-f <>" gives the null sender.
 *
 *	By name: mailq (or -bp) runs `facteur queue -p` from
 *	command_directory; newaliases (-bi, -I) builds each table of
 *	alias_database from its aliases(5) source.
 *
 * DIAGNOSTICS
 *	Exit status from sysexits.h, as Sendmail and Postfix: EX_USAGE for a
 *	bad command line or no recipients, EX_NOUSER when the invoking user
 *	has no name, EX_DATAERR for a message over message_size_limit or an
 *	address over the queue file's limits, EX_CONFIG for a bad main.cf,
 *	EX_TEMPFAIL when the queue file cannot be written, EX_SOFTWARE for
 *	what should not happen.  Messages go to stderr.
 *
 * SECURITY
 *	sendmail may be installed set-gid setgid_group, the only group that
 *	may write into maildrop/ (mode 1730, owner mail_owner).  It then
 *	runs with the privileges of whoever invokes it, so it trusts nothing
 *	of its caller: -C is honoured only for root when set-gid, the group
 *	privilege is given up before anything but the queue file is written
 *	(mailq's exec, newaliases), and the file it writes is no more
 *	trusted downstream than the input: pickup re-validates every
 *	maildrop file as hostile.  The queue file is made readable (0444) so
 *	that pickup, running as mail_owner, can read a file owned by the
 *	submitting user; nobody else can reach it, maildrop/ being closed
 *	to others.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maps.h"
#include "params.h"
#include "qfile.h"
#include "strbuf.h"
#include "trigger.h"

/* The header block kept in memory for -t and the missing-header checks. */
#define SENDMAIL_HEADER_MAX (100 * 1024)
/* Content bytes buffered before they go to the queue file. */
#define SENDMAIL_CHUNK (64 * 1024)
/* Recipients from the command line and -t together. */
#define SENDMAIL_RCPT_MAX QFILE_DEFAULT_RECIPIENT_LIMIT

/* Exit status of the next log_fatal() (see fatal_exit). */
static int fatal_status = EX_SOFTWARE;

/* The temporary queue file to remove when a signal ends us. */
static char cleanup_path[PATH_MAX];

struct sendmail {
	const char *config_dir;
	struct config *cfg;
	const char *sender;   /* -f, or NULL */
	const char *fullname; /* -F, or NULL */
	const char *envid;    /* -V */
	const char *ret;      /* -R: FULL or HDRS */
	unsigned notify;      /* -N */
	bool extract;	      /* -t */
	bool dot_ok;	      /* -i, -oi: a lone dot is content */
	bool verbose;	      /* -v */
	char **rcpts;
	size_t rcpt_count;
	/* The header: one entry per field, folded lines joined by CRLF. */
	struct strbuf *fields;
	size_t field_count;
	/* The first body bytes read while looking for the header's end. */
	struct strbuf pending;
	bool input_done; /* a lone dot or EOF ended the input */
};

/* fatal_exit - log_fatal()'s exit, with our sysexits status */
static void fatal_exit(enum log_level level)
{
	if (level == LOG_LEVEL_PANIC)
		abort();
	exit(fatal_status);
}

/* sm_fatal - report and exit with a sysexits status */
static _Noreturn void sm_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static _Noreturn void sm_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	fatal_status = status;
	/* No half-written queue file stays behind a refused message. */
	if (cleanup_path[0] != '\0')
		(void)unlink(cleanup_path);
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, fmt, ap);
	va_end(ap);
	exit(status);
}

/* on_signal - remove the half-written queue file, then die */
static void on_signal(int sig)
{
	(void)sig;
	/* unlink(2) and _exit(2) are async-signal-safe. */
	if (cleanup_path[0] != '\0')
		(void)unlink(cleanup_path);
	_exit(EX_TEMPFAIL);
}

/* usage - the synopsis, EX_USAGE */
static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: sendmail [-tiv] [-f sender] [-F name] [-C config_dir]"
		" [-N dsn] [-R ret] [-V envid] [-b mode] [recipient...]\n");
	exit(EX_USAGE);
}

/* is_setgid - whether we run with a group that is not our caller's */
static bool is_setgid(void)
{
	return getegid() != getgid();
}

/* drop_group - give up a set-gid group for good before doing more */
static void drop_group(void)
{
	if (is_setgid() && setgid(getgid()) < 0)
		sm_fatal(EX_OSERR, "setgid: %m");
}

/* param - an expanded parameter value, never NULL */
static const char *param(const struct sendmail *sm, const char *name)
{
	const char *value = config_expanded(sm->cfg, name);

	return value != NULL ? value : "";
}

/* strip_angle - "<a@b>" to "a@b" (a copy) */
static char *strip_angle(const char *addr)
{
	size_t len = strlen(addr);

	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		return xstrndup(addr + 1, len - 2);
	return xstrdup(addr);
}

/* qualify - append "@$myorigin" to an address without a domain */
static char *qualify(const struct sendmail *sm, char *addr)
{
	char *full;

	if (addr[0] == '\0' || strchr(addr, '@') != NULL)
		return addr;
	full = xasprintf("%s@%s", addr, param(sm, "myorigin"));
	free(addr);
	return full;
}

/* add_rcpt - one recipient, qualified, checked against the file limits */
static void add_rcpt(struct sendmail *sm, const char *text)
{
	char *addr = strip_angle(text);

	if (addr[0] == '\0') {
		free(addr);
		sm_fatal(EX_USAGE, "empty recipient address");
	}
	addr = qualify(sm, addr);
	if (strlen(addr) > QFILE_ADDR_MAX)
		sm_fatal(EX_DATAERR, "recipient address too long (limit %d)",
			 QFILE_ADDR_MAX);
	if (sm->rcpt_count >= SENDMAIL_RCPT_MAX)
		sm_fatal(EX_DATAERR, "too many recipients (limit %d)",
			 SENDMAIL_RCPT_MAX);
	sm->rcpts = xreallocarray(sm->rcpts, sm->rcpt_count + 1,
				  sizeof(*sm->rcpts));
	sm->rcpts[sm->rcpt_count++] = addr;
}

/* parse_notify - -N never | success,failure,delay */
static unsigned parse_notify(const char *text)
{
	unsigned flags = 0;
	char *copy = xstrdup(text), *p = copy;

	while (p != NULL) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma++ = '\0';
		if (strcasecmp(p, "never") == 0)
			flags |= QFILE_NOTIFY_NEVER;
		else if (strcasecmp(p, "success") == 0)
			flags |= QFILE_NOTIFY_SUCCESS;
		else if (strcasecmp(p, "failure") == 0)
			flags |= QFILE_NOTIFY_FAILURE;
		else if (strcasecmp(p, "delay") == 0)
			flags |= QFILE_NOTIFY_DELAY;
		else
			sm_fatal(EX_USAGE, "-N: bad DSN notify keyword \"%s\"",
				 p);
		p = comma;
	}
	free(copy);
	/* RFC 3461 §4.1: NEVER excludes the others. */
	if ((flags & QFILE_NOTIFY_NEVER) && flags != QFILE_NOTIFY_NEVER)
		sm_fatal(EX_USAGE, "-N: never excludes the other keywords");
	return flags;
}

/* ------------------------------------------------------------ header */

/* field_name_len - length of the name of a "Name: value" line, or 0 */
static size_t field_name_len(const char *line, size_t len)
{
	size_t i;

	/* RFC 5322 §2.2: printable US-ASCII except ':', then ':'. */
	for (i = 0; i < len && line[i] != ':'; i++)
		if ((unsigned char)line[i] <= 32 ||
		    (unsigned char)line[i] >= 127)
			return 0;
	return i < len && i > 0 ? i : 0;
}

/* field_is - whether a field has the given name (any case) */
static bool field_is(const struct strbuf *field, const char *name)
{
	size_t n = strlen(name);

	return field->len > n && field->data[n] == ':' &&
	       strncasecmp(field->data, name, n) == 0;
}

/* has_field - whether the header has a field of that name */
static bool has_field(const struct sendmail *sm, const char *name)
{
	for (size_t i = 0; i < sm->field_count; i++)
		if (field_is(&sm->fields[i], name))
			return true;
	return false;
}

/* read_line - one input line without its LF into sb; false at EOF */
static bool read_line(struct strbuf *sb, size_t max, bool *too_long_r)
{
	int c;

	strbuf_reset(sb);
	*too_long_r = false;
	while ((c = getc_unlocked(stdin)) != EOF) {
		if (c == '\n')
			return true;
		if (sb->len >= max) {
			/* Keep the byte for the caller, who treats the rest
			 * of the line as body. */
			ungetc(c, stdin);
			*too_long_r = true;
			return true;
		}
		strbuf_append_char(sb, (char)c);
	}
	if (ferror(stdin))
		sm_fatal(EX_IOERR, "read message: %m");
	return sb->len > 0;
}

/* is_lone_dot - whether a line (CR not yet removed) is "." */
static bool is_lone_dot(const struct strbuf *line)
{
	return (line->len == 1 && line->data[0] == '.') ||
	       (line->len == 2 && line->data[0] == '.' &&
		line->data[1] == '\r');
}

/*
 * read_header - read header fields until the first line that is not one.
 * That line (with its CRLF) goes to sm->pending as the body's start.
 */
static void read_header(struct sendmail *sm)
{
	struct strbuf line;
	size_t total = 0;
	bool too_long;

	strbuf_init(&line, STRBUF_NO_LIMIT);
	while (read_line(&line, SENDMAIL_HEADER_MAX, &too_long)) {
		bool eol = !too_long;

		if (eol && !sm->dot_ok && is_lone_dot(&line)) {
			sm->input_done = true;
			break;
		}
		if (eol && line.len > 0 && line.data[line.len - 1] == '\r')
			strbuf_truncate(&line, line.len - 1);
		total += line.len + 2;
		if (eol && total <= SENDMAIL_HEADER_MAX) {
			if (line.len > 0 && sm->field_count > 0 &&
			    (line.data[0] == ' ' || line.data[0] == '\t')) {
				struct strbuf *f =
					&sm->fields[sm->field_count - 1];

				strbuf_append(f, "\r\n", 2);
				strbuf_append(f, line.data, line.len);
				continue;
			}
			if (field_name_len(line.data, line.len) > 0) {
				sm->fields = xreallocarray(sm->fields,
							   sm->field_count + 1,
							   sizeof(*sm->fields));
				strbuf_init(&sm->fields[sm->field_count],
					    STRBUF_NO_LIMIT);
				strbuf_append(&sm->fields[sm->field_count++],
					      line.data, line.len);
				continue;
			}
		}
		/* The end of the header: this line is body. */
		strbuf_append(&sm->pending, line.data, line.len);
		if (eol)
			strbuf_append(&sm->pending, "\r\n", 2);
		break;
	}
	strbuf_release(&line);
}

/* ------------------------------------------------------------ -t */

/* skip_comment - past a (nested) RFC 5322 comment starting at p */
static const char *skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

/* flush_addr - one address of a list: "<x>" wins over the bare words */
static void flush_addr(struct sendmail *sm, struct strbuf *words,
		       struct strbuf *angle, bool have_angle)
{
	const struct strbuf *use = have_angle ? angle : words;
	size_t start = 0, end = use->len;

	while (start < end &&
	       (use->data[start] == ' ' || use->data[start] == '\t'))
		start++;
	while (end > start &&
	       (use->data[end - 1] == ' ' || use->data[end - 1] == '\t'))
		end--;
	if (end > start) {
		char *addr = xstrndup(use->data + start, end - start);

		add_rcpt(sm, addr);
		free(addr);
	}
	strbuf_reset(words);
	strbuf_reset(angle);
}

/*
 * extract_addresses - the addresses of an address-list header value
 * (RFC 5322 §3.4): "Name <a@b>, c@d, group: e@f;", comments dropped,
 * quoted strings kept as written in a local part.
 */
static void extract_addresses(struct sendmail *sm, const char *value)
{
	struct strbuf words, angle;
	bool in_angle = false, have_angle = false;
	const char *p = value;

	strbuf_init(&words, STRBUF_NO_LIMIT);
	strbuf_init(&angle, STRBUF_NO_LIMIT);
	while (*p) {
		struct strbuf *out = in_angle ? &angle : &words;

		if (*p == '(') {
			p = skip_comment(p);
			continue;
		}
		if (*p == '"') {
			const char *q = p + 1;

			while (*q && *q != '"')
				q += (*q == '\\' && q[1] != '\0') ? 2 : 1;
			if (*q == '"')
				q++;
			strbuf_append(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (*p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (!in_angle && *p == '<') {
			in_angle = true;
			have_angle = true;
			strbuf_reset(&angle);
		} else if (in_angle && *p == '>') {
			in_angle = false;
		} else if (!in_angle && *p == ':') {
			/* A group's display name is no address. */
			strbuf_reset(&words);
		} else if (!in_angle && (*p == ',' || *p == ';')) {
			flush_addr(sm, &words, &angle, have_angle);
			have_angle = false;
		} else {
			strbuf_append_char(out, *p);
		}
		p++;
	}
	flush_addr(sm, &words, &angle, have_angle);
	strbuf_release(&words);
	strbuf_release(&angle);
}

/* extract_recipients - -t: To:, Cc: and Bcc: */
static void extract_recipients(struct sendmail *sm)
{
	static const char *const names[] = {"To", "Cc", "Bcc"};

	for (size_t i = 0; i < sm->field_count; i++)
		for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
			if (field_is(&sm->fields[i], names[n]))
				extract_addresses(sm, sm->fields[i].data +
							      strlen(names[n]) +
							      1);
}

/* ------------------------------------------------------------ output */

/* write_content - append content, fatal on a write error or over limit */
static void write_content(struct sendmail *sm, struct qfile_writer *w,
			  const void *data, size_t len)
{
	long long limit = config_size(sm->cfg, "message_size_limit");
	const char *error;

	if (limit > 0 &&
	    qfile_writer_content_size(w) + len > (unsigned long long)limit)
		sm_fatal(EX_DATAERR,
			 "message size exceeds message_size_limit (%lld)",
			 limit);
	if (qfile_write_content(w, data, len, &error) < 0)
		sm_fatal(EX_TEMPFAIL, "%s", error);
}

/* quote_phrase - a display name, quoted when it has specials */
static char *quote_phrase(const char *name)
{
	struct strbuf sb;
	bool plain = true;

	for (const char *p = name; *p; p++)
		if (strchr("()<>[]:;@\\,.\"", *p) != NULL ||
		    (unsigned char)*p < 32)
			plain = false;
	if (plain)
		return xstrdup(name);
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	strbuf_append_char(&sb, '"');
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 32)
			continue; /* no CR/LF in a header we write */
		if (*p == '"' || *p == '\\')
			strbuf_append_char(&sb, '\\');
		strbuf_append_char(&sb, *p);
	}
	strbuf_append_char(&sb, '"');
	return strbuf_steal(&sb);
}

/* write_header - the fields read (minus Bcc) and the missing ones */
static void write_header(struct sendmail *sm, struct qfile_writer *w,
			 const char *sender)
{
	struct strbuf sb;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	strbuf_init(&sb, STRBUF_NO_LIMIT);
	for (size_t i = 0; i < sm->field_count; i++) {
		/* Bcc recipients must not see each other (RFC 5322 §3.6.3). */
		if (field_is(&sm->fields[i], "Bcc"))
			continue;
		strbuf_append(&sb, sm->fields[i].data, sm->fields[i].len);
		strbuf_append(&sb, "\r\n", 2);
	}
	if (!has_field(sm, "From") && sender[0] != '\0') {
		if (sm->fullname != NULL && sm->fullname[0] != '\0') {
			char *phrase = quote_phrase(sm->fullname);

			strbuf_appendf(&sb, "From: %s <%s>\r\n", phrase,
				       sender);
			free(phrase);
		} else {
			strbuf_appendf(&sb, "From: %s\r\n", sender);
		}
	}
	localtime_r(&now, &tm);
	if (!has_field(sm, "Date")) {
		/* RFC 5322 §3.3; the C locale gives English names. */
		if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
			     &tm) == 0)
			sm_fatal(EX_SOFTWARE, "cannot format the date");
		strbuf_appendf(&sb, "Date: %s\r\n", date);
	}
	if (!has_field(sm, "Message-ID")) {
		if (strftime(date, sizeof(date), "%Y%m%d%H%M%S", &tm) == 0)
			sm_fatal(EX_SOFTWARE, "cannot format the date");
		strbuf_appendf(&sb, "Message-ID: <%s.%s@%s>\r\n", date,
			       qfile_writer_id(w), param(sm, "myhostname"));
	}
	write_content(sm, w, sb.data, sb.len);
	strbuf_release(&sb);
}

/* copy_body - the rest of stdin, LF to CRLF, up to EOF or a lone dot */
static void copy_body(struct sendmail *sm, struct qfile_writer *w)
{
	struct strbuf out, line;
	bool too_long, mid_line = false;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	strbuf_init(&line, STRBUF_NO_LIMIT);
	strbuf_append(&out, sm->pending.data, sm->pending.len);
	/* A header line cut for its length continues on the next read. */
	mid_line = sm->pending.len > 0 &&
		   (sm->pending.len < 2 ||
		    memcmp(sm->pending.data + sm->pending.len - 2, "\r\n", 2) !=
			    0);
	while (!sm->input_done && read_line(&line, SENDMAIL_CHUNK, &too_long)) {
		if (!mid_line && !too_long && !sm->dot_ok && is_lone_dot(&line))
			break;
		if (!too_long && line.len > 0 &&
		    line.data[line.len - 1] == '\r')
			strbuf_truncate(&line, line.len - 1);
		strbuf_append(&out, line.data, line.len);
		if (!too_long)
			strbuf_append(&out, "\r\n", 2);
		mid_line = too_long;
		if (out.len >= SENDMAIL_CHUNK) {
			write_content(sm, w, out.data, out.len);
			strbuf_reset(&out);
		}
	}
	/* A last line without LF still ends in CRLF in the queue. */
	if (mid_line)
		strbuf_append(&out, "\r\n", 2);
	if (out.len > 0)
		write_content(sm, w, out.data, out.len);
	strbuf_release(&out);
	strbuf_release(&line);
}

/* default_sender - the invoking user's login name */
static char *default_sender(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw == NULL || pw->pw_name == NULL || pw->pw_name[0] == '\0')
		sm_fatal(EX_NOUSER,
			 "unable to find out your login name "
			 "(uid %ld)",
			 (long)getuid());
	return xstrdup(pw->pw_name);
}

/* submit - write the message into maildrop/ and wake pickup */
static int submit(struct sendmail *sm)
{
	const char *queue_dir = param(sm, "queue_directory");
	char *maildrop = xasprintf("%s/maildrop", queue_dir);
	char *sender;
	struct qfile_writer *w;
	const char *error;
	struct sigaction sa;

	read_header(sm);
	if (sm->extract)
		extract_recipients(sm);
	if (sm->rcpt_count == 0)
		sm_fatal(EX_USAGE,
			 sm->extract ? "no recipient addresses found in "
				       "message header"
				     : "recipient addresses must be specified "
				       "on the command line or via the -t "
				       "option");
	sender =
		sm->sender != NULL ? strip_angle(sm->sender) : default_sender();
	sender = qualify(sm, sender);
	if (strlen(sender) > QFILE_ADDR_MAX)
		sm_fatal(EX_DATAERR, "sender address too long (limit %d)",
			 QFILE_ADDR_MAX);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);

	if ((w = qfile_writer_create(maildrop, NULL, &error)) == NULL) {
		if (errno == EACCES && geteuid() != 0 && !is_setgid())
			sm_fatal(EX_TEMPFAIL,
				 "%s (sendmail must be set-gid to "
				 "setgid_group to write into %s)",
				 error, maildrop);
		sm_fatal(EX_TEMPFAIL, "%s", error);
	}
	if (snprintf(cleanup_path, sizeof(cleanup_path), "%s",
		     qfile_writer_path(w)) >= (int)sizeof(cleanup_path))
		cleanup_path[0] = '\0';
	/*
	 * pickup runs as mail_owner and must read a file that we own: make
	 * it readable.  Only set-gid programs can reach maildrop/ (1730),
	 * so this shows the message to nobody else.
	 */
	if (chmod(qfile_writer_path(w), 0444) < 0)
		sm_fatal(EX_TEMPFAIL, "chmod %s: %m", qfile_writer_path(w));
	if (qfile_write_sender(w, sender, &error) < 0)
		sm_fatal(EX_DATAERR, "%s", error);
	if (sm->envid != NULL &&
	    qfile_write_attr(w, QFILE_ATTR_ENVID, sm->envid, &error) < 0)
		sm_fatal(EX_USAGE, "-V: %s", error);
	if (sm->ret != NULL &&
	    qfile_write_attr(w, QFILE_ATTR_RET, sm->ret, &error) < 0)
		sm_fatal(EX_USAGE, "-R: %s", error);
	for (size_t i = 0; i < sm->rcpt_count; i++)
		if (qfile_write_recipient(w, sm->rcpts[i], NULL, sm->notify,
					  &error) < 0)
			sm_fatal(EX_DATAERR, "%s", error);
	write_header(sm, w, sender);
	copy_body(sm, w);
	if (qfile_commit(w, NULL, 0, &error) < 0)
		sm_fatal(EX_TEMPFAIL, "%s", error);
	cleanup_path[0] = '\0';
	if (sm->verbose)
		fprintf(stderr, "sendmail: queued as %s\n", qfile_writer_id(w));
	qfile_writer_free(&w);

	/* pickup may not run: its timer or start-up scan finds the file. */
	if (trigger_wakeup(queue_dir, "public/pickup", &error) < 0 &&
	    sm->verbose)
		fprintf(stderr, "sendmail: wake pickup: %s\n", error);
	free(sender);
	free(maildrop);
	return EX_OK;
}

/* ------------------------------------------------------------ modes */

/* run_mailq - -bp: `facteur -c DIR queue -p` */
static int run_mailq(struct sendmail *sm)
{
	char *prog = xasprintf("%s/facteur", param(sm, "command_directory"));
	char *argv[] = {prog,	 "-c", (char *)config_dir(sm->cfg),
			"queue", "-p", NULL};

	drop_group();
	fflush(NULL);
	execv(prog, argv);
	sm_fatal(EX_UNAVAILABLE, "execute %s: %m", prog);
}

/* run_newaliases - -bi: build every table of alias_database */
static int run_newaliases(struct sendmail *sm)
{
	const char *const *tables;
	const char *error;
	size_t count;

	drop_group();
	tables = config_list(sm->cfg, "alias_database", &count);
	for (size_t i = 0; i < count; i++)
		if (maps_build_spec(tables[i], MAPS_ALIASES, &error) < 0)
			sm_fatal(EX_CANTCREAT, "%s", error);
	return EX_OK;
}

/* load_config - main.cf from -C or the default directory */
static void load_config(struct sendmail *sm)
{
	const char *error;

	/*
	 * Set-gid, -C would let any user pick a queue_directory and so any
	 * directory our group may write to: only root may choose.
	 */
	if (sm->config_dir != NULL && is_setgid() && getuid() != 0)
		sm_fatal(EX_USAGE, "-C is allowed only for root");
	sm->cfg = config_create(sm->config_dir);
	fatal_status = EX_CONFIG;
	if (config_load(sm->cfg, &error) < 0)
		sm_fatal(EX_CONFIG, "%s", error);
	fatal_status = EX_SOFTWARE;
}

/* sendmail_free - release what main() collected */
static void sendmail_free(struct sendmail *sm)
{
	for (size_t i = 0; i < sm->rcpt_count; i++)
		free(sm->rcpts[i]);
	free(sm->rcpts);
	for (size_t i = 0; i < sm->field_count; i++)
		strbuf_release(&sm->fields[i]);
	free(sm->fields);
	strbuf_release(&sm->pending);
	config_free(&sm->cfg);
}

enum sendmail_mode {
	MODE_SEND,
	MODE_MAILQ,
	MODE_NEWALIASES,
};

/* main - options, then submit, list or build */
int main(int argc, char **argv)
{
	struct sendmail sm = {0};
	enum sendmail_mode mode = MODE_SEND;
	const char *slash = strrchr(argv[0], '/');
	const char *name = slash != NULL ? slash + 1 : argv[0];
	int ch, status;

	log_init("sendmail");
	log_to_stderr(false);
	log_set_exit_hook(fatal_exit);
	strbuf_init(&sm.pending, STRBUF_NO_LIMIT);
	if (strcmp(name, "mailq") == 0)
		mode = MODE_MAILQ;
	else if (strcmp(name, "newaliases") == 0)
		mode = MODE_NEWALIASES;

	/*
	 * Sendmail's options, as Postfix's sendmail accepts them; those
	 * that make no sense here are ignored, as there.
	 */
	while ((ch = getopt(argc, argv,
			    "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:tvx")) !=
	       -1) {
		switch (ch) {
		case 'C':
			sm.config_dir = optarg;
			break;
		case 'F':
			sm.fullname = optarg;
			break;
		case 'I':
			mode = MODE_NEWALIASES;
			break;
		case 'N':
			sm.notify = parse_notify(optarg);
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				sm.ret = "FULL";
			else if (strcasecmp(optarg, "hdrs") == 0)
				sm.ret = "HDRS";
			else
				sm_fatal(EX_USAGE, "-R: expected full or hdrs");
			break;
		case 'V':
			sm.envid = optarg;
			break;
		case 'b':
			if (strlen(optarg) != 1)
				sm_fatal(EX_USAGE, "unsupported: -b%s", optarg);
			switch (optarg[0]) {
			case 'm':
				mode = MODE_SEND;
				break;
			case 'p':
				mode = MODE_MAILQ;
				break;
			case 'i':
				mode = MODE_NEWALIASES;
				break;
			default:
				sm_fatal(EX_USAGE, "unsupported: -b%s", optarg);
			}
			break;
		case 'f':
		case 'r':
			sm.sender = optarg;
			break;
		case 'i':
			sm.dot_ok = true;
			break;
		case 'o':
			/* -oi is -i; -oem, -odb and the rest mean nothing. */
			if (strcmp(optarg, "i") == 0)
				sm.dot_ok = true;
			break;
		case 't':
			sm.extract = true;
			break;
		case 'v':
			sm.verbose = true;
			break;
		case 'A': /* sendmail-submit.cf vs sendmail.cf */
		case 'B': /* body type: taken from the content */
		case 'G': /* gateway submission */
		case 'L': /* syslog label */
		case 'O': /* long option */
		case 'U': /* initial user submission */
		case 'X': /* traffic log */
		case 'c': /* hold expensive connections */
		case 'e': /* error mode */
		case 'h': /* hop count */
		case 'm': /* send to me too */
		case 'n': /* no aliasing */
		case 'p': /* protocol */
		case 'x':
			break;
		default:
			usage();
		}
	}
	load_config(&sm);
	switch (mode) {
	case MODE_MAILQ:
		return run_mailq(&sm);
	case MODE_NEWALIASES:
		status = run_newaliases(&sm);
		break;
	case MODE_SEND:
	default:
		for (int i = optind; i < argc; i++)
			add_rcpt(&sm, argv[i]);
		status = submit(&sm);
		break;
	}
	sendmail_free(&sm);
	return status;
}
