/*
 * mastercf - master.cf: the services master runs
 *
 * Syntax as Postfix's master.cf: one service per logical line of eight or
 * more whitespace-separated fields
 *
 *	service type private unpriv chroot wakeup maxproc command [args...]
 *
 * '#' at the start of a line is a comment; a line starting with whitespace
 * continues the previous one.  '-' in fields 3..7 selects the default:
 * private y, unpriv y, chroot n (we do not chroot by default, unlike old
 * Postfix), wakeup 0 (never), maxproc default_process_limit.  wakeup may
 * end in '?' (wake only when the service is in use, as in Postfix).
 * type is inet, unix, fifo or pass.  For inet the service is
 * [host:]port, with host a name, an IPv4 address or [IPv6], and port a
 * number or a name from /etc/services; without host, the service listens
 * on every address of inet_interfaces.  Arguments of the form "-o
 * name=value" (two words or "-oname=value") are overrides for that
 * service; they stay in argv too so the program receives them.
 *
 * The parser does no I/O except mastercf_load() reading the file.
 */
#ifndef FACTEUR_MASTERCF_H
#define FACTEUR_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Limits: bytes per file and per logical line, services per file, and
 * words (command plus arguments) per service.
 */
#define MASTERCF_FILE_MAX  (4 * 1024 * 1024)
#define MASTERCF_LINE_MAX  (64 * 1024)
#define MASTERCF_ENTRY_MAX 1000
#define MASTERCF_ARG_MAX   256

enum mastercf_type {
	MASTERCF_INET,
	MASTERCF_UNIX,
	MASTERCF_FIFO,
	MASTERCF_PASS,
};

struct mastercf_entry {
	char *name; /* "smtp", "127.0.0.1:2525", "qmgr" */
	enum mastercf_type type;
	bool private_; /* socket under private/ (else public/) */
	bool unpriv;   /* runs as mail_owner, not root */
	bool chroot;
	int wakeup;	     /* seconds, 0 = none */
	bool wakeup_if_used; /* the '?' suffix */
	int maxproc;	     /* -1: default_process_limit; 0: no limit */
	char **argv;	     /* command and its arguments, NULL-terminated */
	size_t argc;
	char *host; /* inet: host part, NULL when none */
	char *port; /* inet: port part (service name or number) */
	char *text; /* the whole logical line, fields joined by
				 * single spaces: used to compare entries
				 * across a reload */
	int line;   /* line number where the entry starts */
};

struct mastercf {
	char *filename;
	struct mastercf_entry *entries;
	size_t count;
};

/*
 * mastercf_parse - parse master.cf text.  Returns the table, or NULL with
 * *error_r "FILE:LINE: what is wrong" (a static buffer, valid until the
 * next call into this module).  Two entries with the same name and type
 * are an error.
 */
struct mastercf *mastercf_parse(const char *filename, const char *text,
				const char **error_r);
struct mastercf *mastercf_load(const char *path, const char **error_r);
void mastercf_free(struct mastercf **mcfp);

/* The entry for name/type, or NULL. */
const struct mastercf_entry *mastercf_find(const struct mastercf *mcf,
					   const char *name,
					   enum mastercf_type type);
const char *mastercf_type_name(enum mastercf_type type);
/* Returns 0 and sets *type_r, or -1 for an unknown type name. */
int mastercf_type_parse(const char *name, enum mastercf_type *type_r);

/*
 * mastercf_split_inet - split an inet service name into host and port:
 * "2525" -> (NULL, "2525"); "127.0.0.1:2525"; "[::1]:2525" -> ("::1",
 * "2525"); "localhost:smtp".  Returns 0, or -1 with *error_r set.
 * *host_r and *port_r are newly allocated.
 */
int mastercf_split_inet(const char *name, char **host_r, char **port_r,
			const char **error_r);

#endif
