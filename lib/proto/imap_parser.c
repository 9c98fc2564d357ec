/*
 * imap_parser - incremental IMAP command parser (RFC 9051, RFC 3501)
 *
 * SYNOPSIS
 *	#include "imap_parser.h"
 *
 *	void imap_parser_limits_init(limits, authenticated)
 *	struct imap_parser *imap_parser_create(limits, flags)
 *	void imap_parser_free(parserp)
 *	void imap_parser_set_limits(parser, limits)
 *	void imap_parser_set_flags(parser, flags)
 *	int imap_parser_parse(parser, data, len, consumed_r, cmd_r)
 *	bool imap_parser_literal_needs_continuation(parser)
 *	void imap_parser_literal_continued(parser)
 *	int imap_parser_read_line(parser, data, len, consumed_r, line_r, len_r)
 *	enum imap_parser_error imap_parser_error(parser)
 *	const char *imap_parser_error_text(parser)
 *	const char *imap_parser_error_tag(parser)
 *	bool imap_parser_idle(parser)
 *	bool imap_arg_get_astring(arg, str_r, len_r)
 *	bool imap_arg_get_nstring(arg, str_r, len_r)
 *	int imap_seqset_parse(str, len, max_ranges, ranges_r, count_r, error_r)
 *
 * DESCRIPTION
 *	The parser is one explicit state machine driven a byte at a time
 *	(a literal's data is taken in blocks), so a command may arrive
 *	split at any byte and the result is the same (STYLE.md §1.4,
 *	Dovecot lib-imap/imap-parser.c for the ideas).  Nothing is kept
 *	between calls but the parser struct: the token text goes into one
 *	bounded byte store, the argument tree into an array of nodes linked
 *	by index (the store may move while it grows, so nodes keep offsets).
 *	When the final LF arrives the nodes are laid out as the public
 *	struct imap_arg tree: each list's children contiguous, breadth
 *	first, with no recursion.
 *
 *	Grammar (RFC 9051 §9; RFC 3501 §9 is the same for what we parse):
 *	command = tag SP name *(SP arg) CRLF; arg = atom / number / NIL /
 *	quoted / literal / literal8 / "(" [arg *(SP arg)] ")".  Literals:
 *	"{N}" synchronizing (§4.3), "{N+}" non-synchronizing (RFC 7888
 *	LITERAL+, or LITERAL- up to 4096 bytes), "~{N}" literal8 (RFC 3516
 *	§4.2, may contain NUL).  See imap_parser.h for the exact token rules
 *	and for how the parser resynchronises after an error.
 *
 *	imap_seqset_parse() is separate because a sequence set is just an
 *	atom to the command grammar; imapd calls it where one is expected.
 *
 * DIAGNOSTICS
 *	Malformed input makes imap_parser_parse() return -1 with an error
 *	kind and a text fit for "BAD"; nothing is logged.  Calling
 *	imap_parser_read_line() while a command is half parsed is a bug and
 *	panics.
 *
 * SECURITY
 *	Everything here is untrusted network input.  Every byte outside
 *	literal data counts against max_line_size, every literal against
 *	max_literal_size (checked from its announced size, before a single
 *	data byte is stored), everything against max_command_size, and the
 *	argument count and list depth have their own caps; skipped input is
 *	never stored.  Literal sizes are parsed with an overflow check.
 *	The store is wiped before reuse and on free because it may hold a
 *	LOGIN password or an AUTHENTICATE response.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "alloc.h"
#include "log.h"
#include "strbuf.h"
#include "strnum.h"
#include "imap_parser.h"

enum state {
	S_TAG,	      /* start of a line, reading the tag */
	S_NAME,	      /* reading the command name */
	S_ARGSEP,     /* between arguments */
	S_AFTER_ARG,  /* after a string, literal or ')': SP ) or EOL */
	S_ATOM,	      /* inside an atom */
	S_ATOM_SECT,  /* inside [section] of a fetch-att atom */
	S_QUOTED,     /* inside "..." */
	S_QUOTED_ESC, /* after a backslash inside "..." */
	S_TILDE,      /* after '~' at the start of an argument */
	S_LIT_SIZE,   /* after '{', digits */
	S_LIT_PLUS,   /* after '+', expecting '}' */
	S_LIT_CR,     /* after '}', expecting CRLF */
	S_LIT_LF,     /* after "}\r" */
	S_LIT_DATA,   /* literal data */
	S_CR,	      /* after a CR where a line may end */
	S_SKIP,	      /* discarding the rest of a bad line */
	S_SKIP_DATA,  /* discarding literal data of a bad line */
	S_RAW,	      /* imap_parser_read_line() */
	S_RAW_CR,     /* imap_parser_read_line() after a CR */
};

/* The tail of a discarded line, to spot "{N+}CRLF" (see imap_parser.h). */
enum skip_tail {
	TAIL_NONE,
	TAIL_OPEN,   /* "{" */
	TAIL_DIGITS, /* "{1" */
	TAIL_PLUS,   /* "{1+" */
	TAIL_CLOSE,  /* "{1+}" */
	TAIL_CR,     /* "{1+}\r" */
};

#define NO_NODE ((size_t)-1)

/* One argument while the command is being parsed. */
struct node {
	enum imap_arg_type type;
	unsigned flags;
	size_t off, len; /* text in the store */
	uint64_t num;
	size_t parent;	    /* enclosing list or NO_NODE */
	size_t first, last; /* children of a list */
	size_t next;	    /* next sibling */
	size_t count;	    /* children of a list */
};

struct imap_parser {
	struct imap_parser_limits limits;
	unsigned flags;
	struct imap_parser_limits next_limits;
	unsigned next_flags;

	enum state state;
	struct strbuf store; /* token text, each followed by a NUL */
	size_t line_size;    /* bytes outside literal data */
	uint64_t lit_total;  /* literal data bytes of this command */

	size_t tag_off, tag_len; /* tag_len 0: no tag yet */
	bool tag_done;
	size_t name_off, name_len;

	struct node *nodes;
	size_t nodes_count, nodes_alloc;
	size_t top_first, top_last, top_count;
	size_t cur_list; /* innermost open list or NO_NODE */
	unsigned depth;

	size_t tok_off;	   /* start of the token being read */
	bool sect_done;	   /* the atom already had its [section] */
	bool lit8;	   /* the literal being announced is ~{ } */
	bool lit_nonsync;  /* ... is {N+} */
	bool lit_digits;   /* ... has at least one digit */
	uint64_t lit_size; /* ... its size */
	uint64_t lit_left; /* data bytes still to come */
	bool need_cont;	   /* a "+ " is due */

	enum skip_tail tail;
	uint64_t tail_size;
	uint64_t skip_left; /* S_SKIP_DATA */

	enum imap_parser_error error;
	struct strbuf error_tag;

	struct imap_arg *args; /* the laid-out tree of the last command */
	size_t args_alloc;
	bool wipe; /* the store held a raw (secret) line */
};

/* imap_parser_limits_init - defaults, tighter before authentication */
void imap_parser_limits_init(struct imap_parser_limits *limits,
			     bool authenticated)
{
	if (authenticated) {
		limits->max_line_size = IMAP_PARSER_MAX_LINE_SIZE;
		limits->max_literal_size = IMAP_PARSER_MAX_LITERAL_SIZE;
		limits->max_list_depth = IMAP_PARSER_MAX_LIST_DEPTH;
		limits->max_args = IMAP_PARSER_MAX_ARGS;
	} else {
		limits->max_line_size = IMAP_PARSER_PREAUTH_MAX_LINE_SIZE;
		limits->max_literal_size = IMAP_PARSER_PREAUTH_MAX_LITERAL_SIZE;
		limits->max_list_depth = IMAP_PARSER_PREAUTH_MAX_LIST_DEPTH;
		limits->max_args = IMAP_PARSER_PREAUTH_MAX_ARGS;
	}
	limits->max_command_size =
		limits->max_line_size + limits->max_literal_size;
}

/* store_limit - how large the store may grow under these limits */
static size_t store_limit(const struct imap_parser_limits *l)
{
	uint64_t n = l->max_command_size;

	/* Token text plus one NUL per argument, tag and name. */
	n += (uint64_t)l->max_args + 2;
	if (n < l->max_command_size || n > STRBUF_NO_LIMIT)
		n = STRBUF_NO_LIMIT;
	return (size_t)n;
}

/* start_command - forget the previous command; apply pending settings */
static void start_command(struct imap_parser *p)
{
	if (p->wipe || p->store.len > 0)
		memzero_explicit(p->store.data, p->store.len);
	p->wipe = false;
	p->limits = p->next_limits;
	p->flags = p->next_flags;
	strbuf_reset(&p->store);
	p->store.limit = store_limit(&p->limits);
	p->line_size = 0;
	p->lit_total = 0;
	p->tag_off = p->tag_len = 0;
	p->tag_done = false;
	p->name_off = p->name_len = 0;
	p->nodes_count = 0;
	p->top_first = p->top_last = NO_NODE;
	p->top_count = 0;
	p->cur_list = NO_NODE;
	p->depth = 0;
	p->need_cont = false;
	p->state = S_TAG;
}

/* imap_parser_create - a parser waiting for the first command */
struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits,
				       unsigned flags)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->next_limits = *limits;
	p->next_flags = flags;
	strbuf_init(&p->store, store_limit(limits));
	strbuf_init(&p->error_tag, STRBUF_NO_LIMIT);
	start_command(p);
	return p;
}

/* imap_parser_free - wipe and free; NULL is fine */
void imap_parser_free(struct imap_parser **parserp)
{
	struct imap_parser *p = *parserp;

	if (p == NULL)
		return;
	if (p->store.data != NULL)
		memzero_explicit(p->store.data, p->store.len);
	strbuf_release(&p->store);
	strbuf_release(&p->error_tag);
	free(p->nodes);
	free(p->args);
	free(p);
	*parserp = NULL;
}

/* imap_parser_set_limits - takes effect at the next command */
void imap_parser_set_limits(struct imap_parser *parser,
			    const struct imap_parser_limits *limits)
{
	parser->next_limits = *limits;
	if (imap_parser_idle(parser)) {
		parser->limits = *limits;
		parser->store.limit = store_limit(limits);
	}
}

/* imap_parser_set_flags - takes effect at the next command */
void imap_parser_set_flags(struct imap_parser *parser, unsigned flags)
{
	parser->next_flags = flags;
	if (imap_parser_idle(parser))
		parser->flags = flags;
}

/* imap_parser_idle - between commands */
bool imap_parser_idle(const struct imap_parser *parser)
{
	return parser->state == S_TAG && parser->line_size == 0;
}

bool imap_parser_literal_needs_continuation(const struct imap_parser *parser)
{
	return parser->need_cont;
}

void imap_parser_literal_continued(struct imap_parser *parser)
{
	parser->need_cont = false;
}

static const char *const error_texts[] = {
	[IMAP_PARSER_OK] = "OK",
	[IMAP_PARSER_ERR_TAG_MISSING] = "Missing tag",
	[IMAP_PARSER_ERR_TAG_INVALID] = "Invalid characters in tag",
	[IMAP_PARSER_ERR_COMMAND_MISSING] = "Missing command name",
	[IMAP_PARSER_ERR_COMMAND_INVALID] =
		"Invalid characters in command name",
	[IMAP_PARSER_ERR_LINE_TOO_LONG] = "Command line too long",
	[IMAP_PARSER_ERR_ATOM_INVALID] = "Invalid characters in atom",
	[IMAP_PARSER_ERR_BRACKET] = "Missing ']'",
	[IMAP_PARSER_ERR_STRING_NUL] = "NUL in string",
	[IMAP_PARSER_ERR_STRING_CRLF] = "CR or LF in quoted string",
	[IMAP_PARSER_ERR_STRING_ESCAPE] = "Invalid escape in quoted string",
	[IMAP_PARSER_ERR_LITERAL_SYNTAX] = "Invalid literal size",
	[IMAP_PARSER_ERR_LITERAL_TOO_LARGE] = "[TOOBIG] Literal too large",
	[IMAP_PARSER_ERR_LITERAL_NONSYNC] =
		"Non-synchronizing literals not supported",
	[IMAP_PARSER_ERR_LITERAL8] = "literal8 not supported",
	[IMAP_PARSER_ERR_LITERAL_NUL] = "NUL in literal",
	[IMAP_PARSER_ERR_LIST_CLOSE] = "Unexpected ')'",
	[IMAP_PARSER_ERR_LIST_OPEN] = "Missing ')'",
	[IMAP_PARSER_ERR_LIST_TOO_DEEP] = "Too deeply nested lists",
	[IMAP_PARSER_ERR_TOO_MANY_ARGS] = "Too many arguments",
	[IMAP_PARSER_ERR_MISSING_SPACE] = "Missing space after argument",
	[IMAP_PARSER_ERR_BARE_CR] = "CR not followed by LF",
	[IMAP_PARSER_ERR_COMMAND_TOO_LARGE] = "[TOOBIG] Command too large",
	[IMAP_PARSER_ERR_LINE_NUL] = "NUL in line",
};

/* imap_parser_error_string - the "BAD" text of an error kind */
const char *imap_parser_error_string(enum imap_parser_error err)
{
	if ((size_t)err >= sizeof(error_texts) / sizeof(error_texts[0]) ||
	    error_texts[err] == NULL)
		return "Syntax error";
	return error_texts[err];
}

enum imap_parser_error imap_parser_error(const struct imap_parser *parser)
{
	return parser->error;
}

const char *imap_parser_error_text(const struct imap_parser *parser)
{
	return imap_parser_error_string(parser->error);
}

const char *imap_parser_error_tag(const struct imap_parser *parser)
{
	return parser->error_tag.len > 0 ? parser->error_tag.data : NULL;
}

/* is_tag_char - ASTRING-CHAR except '+' (RFC 9051 §9 "tag") */
static bool is_tag_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	/* atom-specials but resp-specials (']' is an ASTRING-CHAR) */
	return strchr("(){%*\"\\+", c) == NULL;
}

/* is_atom_char - printable ASCII other than atom delimiters.  Broader than
 * ATOM-CHAR on purpose: list-wildcards (LIST), '\' (flags), ']' (astring)
 * and '[' occur in arguments that the grammar builds from atoms. */
static bool is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){\"", c) == NULL;
}

/* is_name_char - ATOM-CHAR for the command name */
static bool is_name_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* skip_tail_step - follow the tail of a discarded line; true at "{N+}LF" */
static bool skip_tail_step(struct imap_parser *p, unsigned char c)
{
	switch (p->tail) {
	case TAIL_OPEN:
	case TAIL_DIGITS:
		if (c >= '0' && c <= '9') {
			uint64_t d = (uint64_t)(c - '0');

			/* Saturate: a huge announced size is still data. */
			if (p->tail_size > (UINT64_MAX - d) / 10)
				p->tail_size = UINT64_MAX;
			else
				p->tail_size = p->tail_size * 10 + d;
			p->tail = TAIL_DIGITS;
			return false;
		}
		if (c == '+' && p->tail == TAIL_DIGITS) {
			p->tail = TAIL_PLUS;
			return false;
		}
		break;
	case TAIL_PLUS:
		if (c == '}') {
			p->tail = TAIL_CLOSE;
			return false;
		}
		break;
	case TAIL_CLOSE:
		if (c == '\r') {
			p->tail = TAIL_CR;
			return false;
		}
		/* FALLTHROUGH */
	case TAIL_CR:
		if (c == '\n') {
			p->tail = TAIL_NONE;
			return true;
		}
		break;
	case TAIL_NONE:
		break;
	}
	p->tail = TAIL_NONE;
	if (c == '{') {
		p->tail = TAIL_OPEN;
		p->tail_size = 0;
	}
	return false;
}

/* fail - record an error at byte c and arrange to discard the rest */
static int fail(struct imap_parser *p, enum imap_parser_error err,
		unsigned char c)
{
	p->error = err;
	strbuf_reset(&p->error_tag);
	if (p->tag_done)
		(void)strbuf_append(&p->error_tag, p->store.data + p->tag_off,
				    p->tag_len);
	p->need_cont = false;
	if (c == '\n') {
		/* The line is over: nothing to discard. */
		start_command(p);
		return -1;
	}
	p->state = S_SKIP;
	p->tail = TAIL_NONE;
	(void)skip_tail_step(p, c);
	/* start_command() runs when the discarding ends; line_size != 0
	 * keeps imap_parser_idle() false meanwhile. */
	p->line_size = 1;
	return -1;
}

/* new_node - append an argument to the open list (or the top level) */
static int new_node(struct imap_parser *p, enum imap_arg_type type,
		    struct node **node_r)
{
	struct node *n;
	size_t idx;

	if (p->nodes_count >= p->limits.max_args)
		return -1;
	if (p->nodes_count == p->nodes_alloc) {
		size_t na = p->nodes_alloc == 0 ? 16 : p->nodes_alloc * 2;

		if (na > p->limits.max_args)
			na = p->limits.max_args;
		p->nodes = xreallocarray(p->nodes, na, sizeof(*p->nodes));
		p->nodes_alloc = na;
	}
	idx = p->nodes_count++;
	n = &p->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->parent = p->cur_list;
	n->first = n->last = n->next = NO_NODE;
	if (p->cur_list == NO_NODE) {
		if (p->top_last == NO_NODE)
			p->top_first = idx;
		else
			p->nodes[p->top_last].next = idx;
		p->top_last = idx;
		p->top_count++;
	} else {
		struct node *l = &p->nodes[p->cur_list];

		if (l->last == NO_NODE)
			l->first = idx;
		else
			p->nodes[l->last].next = idx;
		l->last = idx;
		l->count++;
	}
	*node_r = n;
	return 0;
}

/* store_byte - keep one token byte; false when over the command limit */
static bool store_byte(struct imap_parser *p, unsigned char c)
{
	return strbuf_append_char(&p->store, (char)c) == 0;
}

/* token_start - remember where the next token's text begins */
static void token_start(struct imap_parser *p)
{
	p->tok_off = p->store.len;
}

/* token_end - terminate the token with a NUL; false when over the limit */
static bool token_end(struct imap_parser *p)
{
	return strbuf_append_char(&p->store, '\0') == 0;
}

/* finish_atom - classify the atom just read (NUMBER, NIL or ATOM) */
static int finish_atom(struct imap_parser *p, unsigned char c)
{
	size_t len = p->store.len - p->tok_off;
	const char *s = p->store.data + p->tok_off;
	enum imap_arg_type type = IMAP_ARG_ATOM;
	struct node *n;
	uint64_t num = 0;
	size_t i;

	if (len == 3 && strncasecmp(s, "NIL", 3) == 0) {
		type = IMAP_ARG_NIL;
	} else {
		for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == len && strn_to_u64(s, len, &num) == 0)
			type = IMAP_ARG_NUMBER;
	}
	if (!token_end(p))
		return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
	if (new_node(p, type, &n) < 0)
		return fail(p, IMAP_PARSER_ERR_TOO_MANY_ARGS, c);
	n->off = p->tok_off;
	n->len = len;
	n->num = num;
	return 0;
}

/* finish_string - the quoted string or literal just read is an argument */
static int finish_string(struct imap_parser *p, enum imap_arg_type type,
			 unsigned flags, unsigned char c)
{
	size_t len = p->store.len - p->tok_off;
	struct node *n;

	if (!token_end(p))
		return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
	if (new_node(p, type, &n) < 0)
		return fail(p, IMAP_PARSER_ERR_TOO_MANY_ARGS, c);
	n->off = p->tok_off;
	n->len = len;
	n->flags = flags;
	return 0;
}

/* open_list - "(" */
static int open_list(struct imap_parser *p, unsigned char c)
{
	struct node *n;

	if (p->depth >= p->limits.max_list_depth)
		return fail(p, IMAP_PARSER_ERR_LIST_TOO_DEEP, c);
	if (new_node(p, IMAP_ARG_LIST, &n) < 0)
		return fail(p, IMAP_PARSER_ERR_TOO_MANY_ARGS, c);
	p->cur_list = (size_t)(n - p->nodes);
	p->depth++;
	return 0;
}

/* close_list - ")" */
static int close_list(struct imap_parser *p, unsigned char c)
{
	if (p->cur_list == NO_NODE)
		return fail(p, IMAP_PARSER_ERR_LIST_CLOSE, c);
	p->cur_list = p->nodes[p->cur_list].parent;
	p->depth--;
	p->state = S_AFTER_ARG;
	return 0;
}

/* layout - turn the nodes into the public tree, breadth first */
static void layout(struct imap_parser *p, struct imap_command *cmd)
{
	size_t n = p->nodes_count, fill, i, j, src;

	if (n > p->args_alloc) {
		free(p->args);
		p->args = xreallocarray(NULL, n, sizeof(*p->args));
		p->args_alloc = n;
	}
	/* Breadth first: args[] itself is the queue.  A slot's list_count
	 * holds its node index until the slot is filled in. */
	fill = 0;
	for (src = p->top_first; src != NO_NODE; src = p->nodes[src].next)
		p->args[fill++].list_count = src; /* temporarily: node index */
	for (i = 0; i < fill; i++) {
		struct node *nd = &p->nodes[p->args[i].list_count];
		struct imap_arg *a = &p->args[i];

		a->type = nd->type;
		a->flags = nd->flags;
		a->num = nd->num;
		a->list = NULL;
		a->list_count = 0;
		if (nd->type == IMAP_ARG_LIST) {
			a->str = NULL;
			a->len = 0;
			a->list = nd->count > 0 ? &p->args[fill] : NULL;
			a->list_count = nd->count;
			j = fill;
			for (src = nd->first; src != NO_NODE;
			     src = p->nodes[src].next)
				p->args[j++].list_count = src;
			fill = j;
		} else {
			a->str = p->store.data + nd->off;
			a->len = nd->len;
		}
	}
	cmd->tag = p->store.data + p->tag_off;
	cmd->name = p->store.data + p->name_off;
	cmd->args = p->top_count > 0 ? p->args : NULL;
	cmd->args_count = p->top_count;
}

/* end_of_line - LF where a command may end */
static int end_of_line(struct imap_parser *p, struct imap_command *cmd)
{
	if (p->state == S_TAG || (p->state == S_CR && !p->tag_done))
		return fail(p, IMAP_PARSER_ERR_TAG_MISSING, '\n');
	if (p->name_len == 0)
		return fail(p, IMAP_PARSER_ERR_COMMAND_MISSING, '\n');
	if (p->cur_list != NO_NODE)
		return fail(p, IMAP_PARSER_ERR_LIST_OPEN, '\n');
	layout(p, cmd);
	p->error = IMAP_PARSER_OK;
	/* The command stays in the store until the next call. */
	p->state = S_TAG;
	p->line_size = 0;
	p->need_cont = false;
	return 1;
}

/* atom_may_have_section - BODY, BODY.PEEK, BINARY[.PEEK|.SIZE] so far */
static bool atom_may_have_section(const struct imap_parser *p)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	size_t len = p->store.len - p->tok_off;
	size_t i;

	if (p->sect_done)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len &&
		    strncasecmp(names[i], p->store.data + p->tok_off, len) == 0)
			return true;
	return false;
}

/* literal_announced - "}" seen: check the announcement against limits */
static int literal_announced(struct imap_parser *p, unsigned char c)
{
	uint64_t max = p->limits.max_literal_size;

	if (!p->lit_digits)
		return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX, c);
	if (p->lit8 && (p->flags & IMAP_PARSER_FLAG_BINARY) == 0)
		goto refuse_literal8;
	if (p->lit_nonsync) {
		if ((p->flags & IMAP_PARSER_FLAG_LITERAL_PLUS) == 0) {
			if ((p->flags & IMAP_PARSER_FLAG_LITERAL_MINUS) == 0) {
				fail(p, IMAP_PARSER_ERR_LITERAL_NONSYNC, c);
				goto skip_data;
			}
			if (max > IMAP_PARSER_LITERAL_MINUS_MAX)
				max = IMAP_PARSER_LITERAL_MINUS_MAX;
		}
	}
	if (p->lit_size > max) {
		fail(p, IMAP_PARSER_ERR_LITERAL_TOO_LARGE, c);
		goto skip_data;
	}
	if (p->lit_size + p->lit_total + p->line_size >
		    p->limits.max_command_size ||
	    p->lit_size + p->store.len + 1 > p->store.limit) {
		fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		goto skip_data;
	}
	p->state = S_LIT_CR;
	return 0;

refuse_literal8:
	fail(p, IMAP_PARSER_ERR_LITERAL8, c);
skip_data:
	/* The client sends the data of a non-synchronizing literal anyway
	 * (RFC 7888 §4): let the discarding skip it.  A synchronizing one
	 * waits for "+ " that will not come. */
	if (p->lit_nonsync) {
		p->tail = TAIL_CLOSE;
		p->tail_size = p->lit_size;
	} else {
		p->tail = TAIL_NONE;
	}
	return -1;
}

/* after_arg - the byte after an argument: SP, ')' or the end of line */
static int after_arg(struct imap_parser *p, unsigned char c,
		     struct imap_command *cmd)
{
	p->state = S_AFTER_ARG;
	if (c == ' ') {
		p->state = S_ARGSEP;
		return 0;
	}
	if (c == ')')
		return close_list(p, c);
	if (c == '\r') {
		p->state = S_CR;
		return 0;
	}
	if (c == '\n')
		return end_of_line(p, cmd);
	return fail(p, IMAP_PARSER_ERR_MISSING_SPACE, c);
}

/* literal_done - all data of a literal is in: it is an argument */
static int literal_done(struct imap_parser *p, unsigned char c)
{
	unsigned flags = 0;

	if (p->lit_nonsync)
		flags |= IMAP_ARG_FLAG_NONSYNC;
	if (p->lit8)
		flags |= IMAP_ARG_FLAG_LITERAL8;
	if (finish_string(p, IMAP_ARG_LITERAL, flags, c) < 0)
		return -1;
	/* need_cont stays: "{0}" still waits for its "+ " */
	p->state = S_AFTER_ARG;
	return 0;
}

/* step - one byte of the command line (not literal data) */
static int step(struct imap_parser *p, unsigned char c,
		struct imap_command *cmd)
{
	if (++p->line_size > p->limits.max_line_size)
		return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG, c);

	switch (p->state) {
	case S_TAG:
		if (c == ' ') {
			if (p->tag_len == 0)
				return fail(p, IMAP_PARSER_ERR_TAG_MISSING, c);
			if (!token_end(p))
				return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG,
					    c);
			p->tag_done = true;
			p->name_off = p->store.len;
			p->state = S_NAME;
			return 0;
		}
		if (c == '\r' && p->tag_len == 0) {
			p->state = S_CR;
			return 0;
		}
		if (c == '\n' && p->tag_len == 0)
			return end_of_line(p, cmd);
		if (!is_tag_char(c))
			return fail(p,
				    c == '\r' || c == '\n'
					    ? IMAP_PARSER_ERR_COMMAND_MISSING
					    : IMAP_PARSER_ERR_TAG_INVALID,
				    c);
		if (p->tag_len == 0)
			p->tag_off = p->store.len;
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG, c);
		p->tag_len++;
		return 0;

	case S_NAME:
		if (c == ' ' || c == '\r' || c == '\n') {
			if (p->name_len == 0) {
				if (c == ' ')
					return fail(
						p,
						IMAP_PARSER_ERR_COMMAND_MISSING,
						c);
				if (c == '\n')
					return end_of_line(p, cmd);
				p->state = S_CR;
				return 0;
			}
			if (!token_end(p))
				return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG,
					    c);
			if (c == ' ') {
				p->state = S_ARGSEP;
				return 0;
			}
			if (c == '\n')
				return end_of_line(p, cmd);
			p->state = S_CR;
			return 0;
		}
		if (!is_name_char(c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_INVALID, c);
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG, c);
		p->name_len++;
		return 0;

	case S_AFTER_ARG:
		return after_arg(p, c, cmd);

	case S_ARGSEP:
		switch (c) {
		case ' ':
			return 0;
		case '(':
			return open_list(p, c);
		case ')':
			return close_list(p, c);
		case '\r':
			p->state = S_CR;
			return 0;
		case '\n':
			return end_of_line(p, cmd);
		case '"':
			token_start(p);
			p->state = S_QUOTED;
			return 0;
		case '{':
			p->lit8 = false;
			goto literal;
		case '~':
			p->state = S_TILDE;
			return 0;
		default:
			break;
		}
		if (!is_atom_char(c))
			return fail(p, IMAP_PARSER_ERR_ATOM_INVALID, c);
		token_start(p);
		p->sect_done = false;
		p->state = S_ATOM;
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		return 0;

	case S_TILDE:
		if (c == '{') {
			p->lit8 = true;
			goto literal;
		}
		/* An atom that starts with '~' ("~peter" as a mailbox). */
		token_start(p);
		p->sect_done = false;
		p->state = S_ATOM;
		if (!store_byte(p, '~'))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		/* FALLTHROUGH */
	case S_ATOM:
		if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
			if (finish_atom(p, c) < 0)
				return -1;
			return after_arg(p, c, cmd);
		}
		if (c == '[' && atom_may_have_section(p))
			p->state = S_ATOM_SECT;
		else if (!is_atom_char(c))
			return fail(p, IMAP_PARSER_ERR_ATOM_INVALID, c);
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		return 0;

	case S_ATOM_SECT:
		/* section = "[" [section-spec] "]": printable ASCII and SP,
		 * header-list parentheses included (RFC 9051 §9). */
		if (c == '\r' || c == '\n')
			return fail(p, IMAP_PARSER_ERR_BRACKET, c);
		if (c < 0x20 || c >= 0x7f || c == '[' || c == '{')
			return fail(p, IMAP_PARSER_ERR_ATOM_INVALID, c);
		if (c == ']') {
			p->sect_done = true;
			p->state = S_ATOM;
		}
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		return 0;

	case S_QUOTED:
		if (c == '"') {
			if (finish_string(p, IMAP_ARG_STRING, 0, c) < 0)
				return -1;
			p->state = S_AFTER_ARG;
			return 0;
		}
		if (c == '\\') {
			p->state = S_QUOTED_ESC;
			return 0;
		}
		if (c == '\0')
			return fail(p, IMAP_PARSER_ERR_STRING_NUL, c);
		if (c == '\r' || c == '\n')
			return fail(p, IMAP_PARSER_ERR_STRING_CRLF, c);
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		return 0;

	case S_QUOTED_ESC:
		/* quoted-specials only (RFC 9051 §9 "QUOTED-CHAR") */
		if (c != '"' && c != '\\') {
			if (c == '\r' || c == '\n')
				return fail(p, IMAP_PARSER_ERR_STRING_CRLF, c);
			if (c == '\0')
				return fail(p, IMAP_PARSER_ERR_STRING_NUL, c);
			return fail(p, IMAP_PARSER_ERR_STRING_ESCAPE, c);
		}
		p->state = S_QUOTED;
		if (!store_byte(p, c))
			return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LARGE, c);
		return 0;

	case S_LIT_SIZE:
		if (c >= '0' && c <= '9') {
			uint64_t d = (uint64_t)(c - '0');

			if (p->lit_size > (UINT64_MAX - d) / 10) {
				/* Refuse with what we know; the skipping
				 * must not mistake the rest for a size. */
				p->lit_size = UINT64_MAX;
				fail(p, IMAP_PARSER_ERR_LITERAL_TOO_LARGE, c);
				p->tail = TAIL_NONE;
				return -1;
			}
			p->lit_size = p->lit_size * 10 + d;
			p->lit_digits = true;
			return 0;
		}
		if (c == '+' && p->lit_digits) {
			p->lit_nonsync = true;
			p->state = S_LIT_PLUS;
			return 0;
		}
		if (c == '}')
			return literal_announced(p, c);
		return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX, c);

	case S_LIT_PLUS:
		if (c == '}')
			return literal_announced(p, c);
		return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX, c);

	case S_LIT_CR:
		if (c == '\r') {
			p->state = S_LIT_LF;
			return 0;
		}
		/* FALLTHROUGH */
	case S_LIT_LF:
		if (c != '\n')
			return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX, c);
		token_start(p);
		p->lit_left = p->lit_size;
		p->need_cont = !p->lit_nonsync;
		p->state = S_LIT_DATA;
		if (p->lit_left == 0)
			return literal_done(p, c);
		return 0;

	case S_CR:
		if (c != '\n')
			return fail(p, IMAP_PARSER_ERR_BARE_CR, c);
		return end_of_line(p, cmd);

	default:
		break;
	}
	log_panic("imap_parser: step in state %d", (int)p->state);

literal:
	p->lit_size = 0;
	p->lit_digits = false;
	p->lit_nonsync = false;
	p->state = S_LIT_SIZE;
	return 0;
}

/* literal_data - take a block of literal data; returns bytes used or -1 */
static ssize_t literal_data(struct imap_parser *p, const unsigned char *d,
			    size_t len)
{
	size_t n = len, i;

	if ((uint64_t)n > p->lit_left)
		n = (size_t)p->lit_left;
	if (!p->lit8) {
		/* CHAR8 excludes NUL (RFC 9051 §9 "literal"); literal8
		 * exists to carry it (RFC 3516 §4.2). */
		const unsigned char *z = memchr(d, '\0', n);

		if (z != NULL) {
			i = (size_t)(z - d);
			p->lit_left -= i + 1;
			fail(p, IMAP_PARSER_ERR_LITERAL_NUL, 'x');
			/* Discard the rest of the literal first. */
			p->skip_left = p->lit_left;
			p->state = S_SKIP_DATA;
			return -1 - (ssize_t)i;
		}
	}
	if (strbuf_append(&p->store, d, n) < 0)
		log_panic("imap_parser: literal over the checked limit");
	p->lit_left -= n;
	p->lit_total += n;
	return (ssize_t)n;
}

/* skip - discard bytes of a bad command; returns bytes used, *done_r set
 * when the command is over */
static size_t skip(struct imap_parser *p, const unsigned char *d, size_t len,
		   bool *done_r)
{
	size_t i = 0;

	*done_r = false;
	while (i < len) {
		if (p->state == S_SKIP_DATA) {
			uint64_t n = len - i;

			if (n > p->skip_left)
				n = p->skip_left;
			i += (size_t)n;
			p->skip_left -= n;
			if (p->skip_left == 0)
				p->state = S_SKIP;
			continue;
		}
		if (skip_tail_step(p, d[i])) {
			/* "{N+}" ended the line: N bytes of data follow. */
			p->skip_left = p->tail_size;
			p->state = p->skip_left > 0 ? S_SKIP_DATA : S_SKIP;
			i++;
			continue;
		}
		if (d[i++] == '\n') {
			*done_r = true;
			break;
		}
	}
	return i;
}

/* imap_parser_parse - see imap_parser.h */
int imap_parser_parse(struct imap_parser *parser, const void *data, size_t len,
		      size_t *consumed_r, struct imap_command *cmd_r)
{
	struct imap_parser *p = parser;
	const unsigned char *d = data;
	size_t i = 0;
	int ret;

	if (p->state == S_RAW || p->state == S_RAW_CR)
		log_panic("imap_parser_parse: a raw line is being read");
	if (p->state == S_TAG && p->line_size == 0)
		start_command(p);

	while (i < len) {
		if (p->state == S_SKIP || p->state == S_SKIP_DATA) {
			bool done;

			i += skip(p, d + i, len - i, &done);
			if (done)
				start_command(p);
			continue;
		}
		if (p->state == S_LIT_DATA) {
			ssize_t n = literal_data(p, d + i, len - i);

			if (n < 0) {
				*consumed_r = i + (size_t)(-n);
				return -1;
			}
			i += (size_t)n;
			if (p->lit_left == 0 && literal_done(p, d[i - 1]) < 0) {
				*consumed_r = i;
				return -1;
			}
			continue;
		}
		ret = step(p, d[i++], cmd_r);
		if (ret != 0) {
			*consumed_r = i;
			return ret;
		}
	}
	*consumed_r = i;
	return 0;
}

/* imap_parser_read_line - see imap_parser.h */
int imap_parser_read_line(struct imap_parser *parser, const void *data,
			  size_t len, size_t *consumed_r, const char **line_r,
			  size_t *len_r)
{
	struct imap_parser *p = parser;
	const unsigned char *d = data;
	size_t i = 0;

	if (p->state == S_TAG && p->line_size == 0) {
		start_command(p);
		p->state = S_RAW;
		p->wipe = true;
	} else if (p->state != S_RAW && p->state != S_RAW_CR) {
		log_panic("imap_parser_read_line: a command is being parsed");
	}

	while (i < len) {
		unsigned char c = d[i++];

		if (c == '\n') {
			if (!token_end(p))
				log_panic("imap_parser: raw line over limit");
			*line_r = p->store.data;
			*len_r = p->store.len - 1;
			*consumed_r = i;
			p->error = IMAP_PARSER_OK;
			/* Back to commands; the line is wiped next call. */
			p->state = S_TAG;
			p->line_size = 0;
			return 1;
		}
		if (p->state == S_RAW_CR) {
			p->error = IMAP_PARSER_ERR_BARE_CR;
			goto bad;
		}
		if (++p->line_size > p->limits.max_line_size) {
			p->error = IMAP_PARSER_ERR_LINE_TOO_LONG;
			goto bad;
		}
		if (c == '\r') {
			p->state = S_RAW_CR;
			continue;
		}
		if (c == '\0') {
			p->error = IMAP_PARSER_ERR_LINE_NUL;
			goto bad;
		}
		if (!store_byte(p, c)) {
			p->error = IMAP_PARSER_ERR_LINE_TOO_LONG;
			goto bad;
		}
	}
	*consumed_r = i;
	return 0;
bad:
	/* imap_parser_parse() discards the rest of the line. */
	strbuf_reset(&p->error_tag);
	p->state = S_SKIP;
	p->tail = TAIL_NONE;
	p->line_size = 1;
	*consumed_r = i;
	return -1;
}

/* imap_arg_get_astring - ATOM, NUMBER, NIL, STRING or LITERAL text */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r)
{
	if (arg->type == IMAP_ARG_LIST)
		return false;
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

/* imap_arg_get_nstring - STRING or LITERAL text, NULL for NIL */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_NIL:
		*str_r = NULL;
		*len_r = 0;
		return true;
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*str_r = arg->str;
		*len_r = arg->len;
		return true;
	default:
		return false;
	}
}

/* seq_number - one seq-number: nz-number (1..2^32-1) or '*' */
static int seq_number(const char *s, size_t len, size_t *pos, uint32_t *num_r,
		      bool *star_r, const char **error_r)
{
	size_t start = *pos;
	uint64_t n = 0;

	if (start < len && s[start] == '*') {
		*pos = start + 1;
		*num_r = 0;
		*star_r = true;
		return 0;
	}
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		n = n * 10 + (uint64_t)(s[*pos] - '0');
		if (n > UINT32_MAX) {
			*error_r = "Sequence number too large";
			return -1;
		}
		(*pos)++;
	}
	if (*pos == start) {
		*error_r = "Invalid sequence set";
		return -1;
	}
	/* nz-number = digit-nz *DIGIT: no zero, no leading zero */
	if (s[start] == '0') {
		*error_r = n == 0 ? "Sequence number zero"
				  : "Invalid sequence set";
		return -1;
	}
	*num_r = (uint32_t)n;
	*star_r = false;
	return 0;
}

/* imap_seqset_parse - see imap_parser.h */
int imap_seqset_parse(const char *str, size_t len, size_t max_ranges,
		      struct imap_seqrange **ranges_r, size_t *count_r,
		      const char **error_r)
{
	struct imap_seqrange *r = NULL;
	size_t count = 0, alloc = 0, pos = 0;

	if (len == 0) {
		*error_r = "Empty sequence set";
		return -1;
	}
	for (;;) {
		struct imap_seqrange cur;

		if (max_ranges > 0 && count >= max_ranges) {
			*error_r = "Too many sequence ranges";
			goto bad;
		}
		if (seq_number(str, len, &pos, &cur.first, &cur.first_star,
			       error_r) < 0)
			goto bad;
		if (pos < len && str[pos] == ':') {
			pos++;
			if (seq_number(str, len, &pos, &cur.last,
				       &cur.last_star, error_r) < 0)
				goto bad;
		} else {
			cur.last = cur.first;
			cur.last_star = cur.first_star;
		}
		if (count == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			r = xreallocarray(r, alloc, sizeof(*r));
		}
		r[count++] = cur;
		if (pos == len)
			break;
		if (str[pos] != ',' || pos + 1 == len) {
			*error_r = "Invalid sequence set";
			goto bad;
		}
		pos++;
	}
	*ranges_r = r;
	*count_r = count;
	return 0;
bad:
	free(r);
	return -1;
}
