/*
 * imap_parser - incremental IMAP command parser (RFC 9051, RFC 3501)
 *
 * A resumable state machine with no I/O (STYLE.md §1.4): the caller hands
 * it whatever bytes it has read, the parser copies what it needs into its
 * own bounded storage and says how many bytes it consumed.  It produces a
 * tag, an uppercased command name and a tree of arguments.  The command
 * semantics (which arguments FETCH takes, whether "UID" prefixes another
 * command) belong to imapd: "UID FETCH 1:* FLAGS" is command "UID" with
 * the atoms "FETCH", "1:*" and "FLAGS".
 */
#ifndef FACTEUR_IMAP_PARSER_H
#define FACTEUR_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,	  /* also flags (\Seen), sequence sets, BODY[..]<..> */
	IMAP_ARG_NUMBER,  /* an atom of digits that fits in 64 bits */
	IMAP_ARG_NIL,	  /* the atom NIL, any case */
	IMAP_ARG_STRING,  /* quoted string, escapes removed */
	IMAP_ARG_LITERAL, /* {N}, {N+}, ~{N} (see flags) */
	IMAP_ARG_LIST,	  /* ( ... ) */
};

/* Flags of an IMAP_ARG_LITERAL. */
#define IMAP_ARG_FLAG_NONSYNC  (1u << 0) /* {N+}, RFC 7888 */
#define IMAP_ARG_FLAG_LITERAL8 (1u << 1) /* ~{N}, RFC 3516: may hold NUL */

/*
 * One argument.  For every type but LIST, str/len hold the bytes as sent
 * (the digits of a NUMBER, the "NIL" of a NIL as the client spelled it,
 * the unescaped content of a STRING), always followed by a NUL that is not
 * counted in len.  Only a literal8 may contain NUL bytes itself.
 */
struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	const char *str;
	size_t len;
	uint64_t num;		     /* NUMBER */
	const struct imap_arg *list; /* LIST: list_count children */
	size_t list_count;
};

/* A complete command: valid until the next call on the parser. */
struct imap_command {
	const char *tag;
	const char *name; /* uppercased ASCII */
	const struct imap_arg *args;
	size_t args_count;
};

/* Limits on what one command may carry (STYLE.md §7). */
struct imap_parser_limits {
	size_t max_line_size;	   /* bytes outside literal data, CRLF incl. */
	uint64_t max_literal_size; /* one literal (imapd_max_literal_size) */
	uint64_t max_command_size; /* line + all literal data of a command */
	unsigned int max_list_depth; /* nesting of ( ) */
	unsigned int max_args;	     /* argument nodes, lists included */
};

/* Defaults after authentication. */
#define IMAP_PARSER_MAX_LINE_SIZE    65536
#define IMAP_PARSER_MAX_LITERAL_SIZE (16u * 1024 * 1024)
#define IMAP_PARSER_MAX_LIST_DEPTH   20
#define IMAP_PARSER_MAX_ARGS	     10000
/* Defaults before authentication: LOGIN, AUTHENTICATE, ID, STARTTLS... */
#define IMAP_PARSER_PREAUTH_MAX_LINE_SIZE    8192
#define IMAP_PARSER_PREAUTH_MAX_LITERAL_SIZE 8192
#define IMAP_PARSER_PREAUTH_MAX_LIST_DEPTH   4
#define IMAP_PARSER_PREAUTH_MAX_ARGS	     100
/* RFC 7888 §5: LITERAL- allows non-synchronizing literals up to 4096. */
#define IMAP_PARSER_LITERAL_MINUS_MAX 4096

/* Fill in the defaults, the tighter ones when !authenticated. */
void imap_parser_limits_init(struct imap_parser_limits *limits,
			     bool authenticated);

/* Parser flags: what the server advertises. */
#define IMAP_PARSER_FLAG_LITERAL_PLUS  (1u << 0) /* {N+} up to the limit */
#define IMAP_PARSER_FLAG_LITERAL_MINUS (1u << 1) /* {N+} up to 4096 */
#define IMAP_PARSER_FLAG_BINARY	       (1u << 2) /* ~{N} literal8 */

/* Error kinds; imap_parser_error_text() gives the text for "BAD". */
enum imap_parser_error {
	IMAP_PARSER_OK = 0,
	IMAP_PARSER_ERR_TAG_MISSING,	   /* "Missing tag" */
	IMAP_PARSER_ERR_TAG_INVALID,	   /* "Invalid characters in tag" */
	IMAP_PARSER_ERR_COMMAND_MISSING,   /* "Missing command name" */
	IMAP_PARSER_ERR_COMMAND_INVALID,   /* "Invalid characters in command" */
	IMAP_PARSER_ERR_LINE_TOO_LONG,	   /* "Command line too long" */
	IMAP_PARSER_ERR_ATOM_INVALID,	   /* "Invalid characters in atom" */
	IMAP_PARSER_ERR_BRACKET,	   /* "Missing ']'" */
	IMAP_PARSER_ERR_STRING_NUL,	   /* "NUL in string" */
	IMAP_PARSER_ERR_STRING_CRLF,	   /* "CR or LF in quoted string" */
	IMAP_PARSER_ERR_STRING_ESCAPE,	   /* "Invalid escape in string" */
	IMAP_PARSER_ERR_LITERAL_SYNTAX,	   /* "Invalid literal size" */
	IMAP_PARSER_ERR_LITERAL_TOO_LARGE, /* "Literal too large" */
	IMAP_PARSER_ERR_LITERAL_NONSYNC,   /* {N+} without LITERAL+/- */
	IMAP_PARSER_ERR_LITERAL8,	   /* ~{N} without BINARY */
	IMAP_PARSER_ERR_LITERAL_NUL,	   /* "NUL in literal" */
	IMAP_PARSER_ERR_LIST_CLOSE,	   /* "Unexpected ')'" */
	IMAP_PARSER_ERR_LIST_OPEN,	   /* "Missing ')'" */
	IMAP_PARSER_ERR_LIST_TOO_DEEP,	   /* "Too deeply nested lists" */
	IMAP_PARSER_ERR_TOO_MANY_ARGS,	   /* "Too many arguments" */
	IMAP_PARSER_ERR_MISSING_SPACE,	   /* "Missing space after argument" */
	IMAP_PARSER_ERR_BARE_CR,	   /* "CR not followed by LF" */
	IMAP_PARSER_ERR_COMMAND_TOO_LARGE, /* "Command too large" */
	IMAP_PARSER_ERR_LINE_NUL,	   /* raw line: "NUL in line" */
};

struct imap_parser;

/* limits is copied; flags are IMAP_PARSER_FLAG_*. */
struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits,
				       unsigned flags);
/* Wipes the stored bytes (they may hold a password) and frees. */
void imap_parser_free(struct imap_parser **parserp);
/* Switch limits or flags, e.g. after LOGIN; applies from the next command. */
void imap_parser_set_limits(struct imap_parser *parser,
			    const struct imap_parser_limits *limits);
void imap_parser_set_flags(struct imap_parser *parser, unsigned flags);

/*
 * imap_parser_parse - consume input, producing at most one command.
 *
 * Reads from data[0..len) and sets *consumed_r to the bytes it used; the
 * caller drops them from its buffer and calls again with the rest plus
 * whatever arrives.  Returns:
 *   1  a command is complete (*consumed_r ends right after its LF; more
 *      bytes may follow in the buffer).  cmd_r and everything it points
 *      to stay valid until the next call on this parser.
 *   0  all of data was consumed and the command is not complete yet.
 *      If imap_parser_literal_needs_continuation() is now true the client
 *      waits for "+ " before it sends a literal's data.
 *  -1  the command is malformed: imap_parser_error*() say why, for a
 *      "tag BAD text" (or "* BAD text" when no tag was read).  *consumed_r
 *      ends at the offending byte.  The next call first discards the rest
 *      of the bad command (see "Resynchronisation"), then parses on.
 *
 * Lines end in CRLF; a bare LF is accepted as Dovecot does, a CR without
 * LF is an error.  Spaces between arguments may be repeated, and trailing
 * spaces before CRLF are tolerated.  A tag is 1*ASTRING-CHAR without '+'
 * (RFC 9051 §9 "tag").  An argument atom is any run of printable ASCII
 * without SP ( ) { " and CTL; when the atom so far is BODY, BODY.PEEK,
 * BINARY, BINARY.PEEK or BINARY.SIZE (any case), a '[' opens a section in
 * which everything up to ']' belongs to the atom, spaces and parentheses
 * included (RFC 9051 §9 "fetch-att", "section"): so the whole of
 * BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> is one atom.  8-bit bytes are
 * accepted in quoted strings (RFC 9051 UTF-8) but not in atoms.
 *
 * Resynchronisation.  After an error the parser discards bytes up to the
 * end of the line, without buffering them.  When a discarded line ends in
 * a non-synchronizing literal announcement "{N+}" or "~{N+}" the client is
 * sending N bytes of literal data whatever we answer (RFC 7888 §4), so
 * those N bytes are discarded as data, not read as commands, and the
 * discarding goes on with the line that follows them.  A synchronizing
 * literal "{N}" ends the line: the client waits for a "+ " that never
 * comes.  When the error is in a literal size the announcement itself
 * decides, and an error inside literal data first discards the rest of
 * that literal.  (A quoted string cut by an error and whose content ends
 * in "{N+}" would be taken for a literal: clients never send that.)
 */
int imap_parser_parse(struct imap_parser *parser, const void *data, size_t len,
		      size_t *consumed_r, struct imap_command *cmd_r);

/*
 * imap_parser_literal_needs_continuation - is a "+ " continuation due
 *
 * True after a parse that returned 0 has read a synchronizing literal
 * announcement "{N}CRLF" and no continuation was acknowledged for it.  The
 * caller sends "+ Ready" and calls imap_parser_literal_continued().  Reset
 * when a command completes or fails.
 */
bool imap_parser_literal_needs_continuation(const struct imap_parser *parser);
void imap_parser_literal_continued(struct imap_parser *parser);

/*
 * imap_parser_read_line - read one raw line (AUTHENTICATE responses)
 *
 * Only between commands.  Returns 1 with the line (CRLF or LF stripped,
 * NUL-terminated, valid until the next call) in *line_r and *len_r, 0 when the
 * line is not complete (all data consumed), or -1 on error (too long, NUL
 * or bare CR); then imap_parser_parse() discards the rest of the line
 * and goes on with commands.  Between a 0 and the line's end only
 * imap_parser_read_line() may be called.
 * The bytes are wiped from the parser when the next call starts.
 */
int imap_parser_read_line(struct imap_parser *parser, const void *data,
			  size_t len, size_t *consumed_r, const char **line_r,
			  size_t *len_r);

/* The last error: its kind, its text and the tag of the bad command (NULL
 * when no tag was complete).  The strings last until the next call. */
enum imap_parser_error imap_parser_error(const struct imap_parser *parser);
const char *imap_parser_error_text(const struct imap_parser *parser);
const char *imap_parser_error_tag(const struct imap_parser *parser);
const char *imap_parser_error_string(enum imap_parser_error err);

/* Is the parser between commands (nothing pending, nothing to discard)? */
bool imap_parser_idle(const struct imap_parser *parser);

/*
 * Argument helpers.  astring: ATOM, NUMBER, NIL (as its text), STRING or
 * LITERAL.  nstring: STRING or LITERAL, or NIL giving NULL.  Return false
 * for any other type.
 */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r);
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r);

/*
 * Sequence sets (RFC 9051 §9 "sequence-set"): 1:*,4,7:9.  Each number is
 * 1..2^32-1 without sign; '*' is the largest number in use and is set as a
 * flag on the end it stands for.  Ranges are kept as sent (a first > last
 * stays so: "4:2" is the same set as "2:4", RFC 9051 §9).  Returns 0 and a
 * freshly allocated array (caller frees with free(3)) or -1 with
 * *error_r, a static string.  At most max_ranges ranges (0: no limit).
 */
struct imap_seqrange {
	uint32_t first, last;
	bool first_star, last_star; /* "*" (first/last are then 0) */
};

int imap_seqset_parse(const char *str, size_t len, size_t max_ranges,
		      struct imap_seqrange **ranges_r, size_t *count_r,
		      const char **error_r);

#endif
