/*
 * imapd_cmd - commands of any state: CAPABILITY, NOOP, CHECK, LOGOUT,
 * ENABLE, ID, NAMESPACE, IDLE
 *
 * DESCRIPTION
 *	ENABLE (RFC 5161) knows CONDSTORE (RFC 7162), UTF8=ACCEPT
 *	(RFC 6855) and IMAP4rev2 (RFC 9051); the last two switch mailbox
 *	names from modified UTF-7 to UTF-8, and IMAP4rev2 also drops
 *	RECENT responses and makes SEARCH answer with ESEARCH.  ID
 *	(RFC 2971) answers the server's name.  NAMESPACE (RFC 2342) has
 *	one personal namespace with "." as its separator (Maildir++).
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "mailbox.h"

void imapd_cmd_capability(struct imapd_session *s, const char *tag,
			  const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)uid;
	if (n != 0) {
		imapd_printf(s, "%s BAD CAPABILITY takes no arguments\r\n",
			     tag);
		return;
	}
	imapd_printf(s, "* CAPABILITY " IMAPD_CAPABILITY "\r\n");
	imapd_tagged(s, tag, "OK Capability completed.");
}

void imapd_cmd_noop(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)n;
	(void)uid;
	imapd_tagged(s, tag, "OK NOOP completed.");
}

void imapd_cmd_check(struct imapd_session *s, const char *tag,
		     const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)n;
	(void)uid;
	imapd_tagged(s, tag, "OK Check completed.");
}

void imapd_cmd_logout(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)n;
	(void)uid;
	imapd_printf(s, "* BYE Logging out\r\n%s OK Logout completed.\r\n",
		     tag);
	s->logout = true;
}

void imapd_cmd_enable(struct imapd_session *s, const char *tag,
		      const struct imap_arg *args, size_t n, bool uid)
{
	char line[128] = "* ENABLED";
	unsigned now = 0;

	(void)uid;
	if (n == 0) {
		imapd_printf(s, "%s BAD ENABLE needs capabilities\r\n", tag);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imapd_printf(s, "%s BAD Invalid capability\r\n", tag);
			return;
		}
		unsigned bit = 0;
		const char *name = NULL;

		if (strcasecmp(args[i].str, "CONDSTORE") == 0) {
			bit = IMAPD_ENABLED_CONDSTORE;
			name = "CONDSTORE";
		} else if (strcasecmp(args[i].str, "UTF8=ACCEPT") == 0) {
			bit = IMAPD_ENABLED_UTF8;
			name = "UTF8=ACCEPT";
		} else if (strcasecmp(args[i].str, "IMAP4rev2") == 0) {
			bit = IMAPD_ENABLED_REV2;
			name = "IMAP4rev2";
		}
		/* Unknown ones are ignored (RFC 5161 §3.1); each is listed
		 * once, when this command enabled it. */
		if (bit == 0 || (s->enabled & bit) || (now & bit))
			continue;
		now |= bit;
		strcat(line, " ");
		strcat(line, name);
	}
	s->enabled |= now;
	if (now & IMAPD_ENABLED_CONDSTORE)
		s->condstore = true;
	imapd_printf(s, "%s\r\n", line);
	imapd_tagged(s, tag, "OK Enabled.");
}

void imapd_cmd_id(struct imapd_session *s, const char *tag,
		  const struct imap_arg *args, size_t n, bool uid)
{
	(void)uid;
	if (n != 1 ||
	    (args[0].type != IMAP_ARG_LIST && args[0].type != IMAP_ARG_NIL)) {
		imapd_printf(s, "%s BAD ID needs a list or NIL\r\n", tag);
		return;
	}
	imapd_printf(s, "* ID (\"name\" \"Facteur\" \"vendor\" \"Facteur\")"
			"\r\n");
	imapd_tagged(s, tag, "OK ID completed.");
}

void imapd_cmd_namespace(struct imapd_session *s, const char *tag,
			 const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)uid;
	if (n != 0) {
		imapd_printf(s, "%s BAD NAMESPACE takes no arguments\r\n", tag);
		return;
	}
	imapd_printf(s, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
	imapd_tagged(s, tag, "OK Namespace completed.");
}

void imapd_cmd_idle(struct imapd_session *s, const char *tag,
		    const struct imap_arg *args, size_t n, bool uid)
{
	(void)args;
	(void)uid;
	if (n != 0) {
		imapd_printf(s, "%s BAD IDLE takes no arguments\r\n", tag);
		return;
	}
	imapd_idle_start(s, tag);
}
