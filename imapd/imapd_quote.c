/*
 * imapd_quote - strings, mailbox names and dates on the wire
 *
 * SYNOPSIS
 *	#include "imapd.h"
 *
 *	void imapd_quote_astring(s, len, out);
 *	int imapd_quote_mailbox(name, utf8, out);
 *	int imapd_mailbox_name_decode(s, len, utf8, out, error_r);
 *	int imapd_parse_datetime(s, len, t_r);
 *
 * DESCRIPTION
 *	The store names folders in UTF-8.  An IMAP4rev1 client names them
 *	in modified UTF-7 (RFC 3501 §5.1.3); one that enabled UTF8=ACCEPT
 *	or IMAP4rev2 in UTF-8 (RFC 9051 §5.1, RFC 6855).  "INBOX" is
 *	case-insensitive, and so is its use as a parent ("inbox.x" is not
 *	special: with the Maildir++ layout INBOX has no children).
 *
 *	Names go out quoted, or as a literal when they hold a byte a
 *	quoted string cannot carry.
 *
 * DIAGNOSTICS
 *	-1 with a static error text for names that are not canonical
 *	mUTF-7 or not UTF-8; the caller answers "NO" or "BAD".
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap_utf7.h"
#include "imapd.h"
#include "rfc822.h"

void imapd_quote_astring(const char *s, size_t len, struct strbuf *out)
{
	rfc822_imap_string(s, len, RFC822_IMAP_UTF8, out);
}

int imapd_quote_mailbox(const char *name, bool utf8, struct strbuf *out)
{
	struct strbuf tmp;
	int ret = 0;

	if (utf8) {
		rfc822_imap_string(name, strlen(name), RFC822_IMAP_UTF8, out);
		return 0;
	}
	strbuf_init(&tmp, STRBUF_NO_LIMIT);
	if (imap_utf8_to_utf7(name, strlen(name), &tmp) < 0)
		ret = -1;
	else
		rfc822_imap_string(tmp.len ? tmp.data : "", tmp.len, 0, out);
	strbuf_release(&tmp);
	return ret;
}

int imapd_mailbox_name_decode(const char *s, size_t len, bool utf8,
			      struct strbuf *out, const char **error_r)
{
	if (len == 0) {
		*error_r = "Empty mailbox name";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL in mailbox name";
		return -1;
	}
	if (len == 5 && strncasecmp(s, "INBOX", 5) == 0) {
		strbuf_append_str(out, "INBOX");
		return 0;
	}
	if (utf8) {
		struct strbuf check;
		int bad;

		/* Only what the store can name on disk (mUTF-7) is valid. */
		strbuf_init(&check, STRBUF_NO_LIMIT);
		bad = imap_utf8_to_utf7(s, len, &check);
		strbuf_release(&check);
		if (bad < 0) {
			*error_r = "Mailbox name is not valid UTF-8";
			return -1;
		}
		if (strbuf_append(out, s, len) < 0) {
			*error_r = "Mailbox name too long";
			return -1;
		}
		return 0;
	}
	if (imap_utf7_to_utf8(s, len, out) < 0) {
		*error_r = "Mailbox name is not valid modified UTF-7";
		return -1;
	}
	return 0;
}

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* digits - n digits at s into *v */
static bool digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* days_from_civil - days since 1970-01-01 of y-m-d (proleptic Gregorian) */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (long)doe - 719468;
}

/* imapd_parse_datetime - "dd-Mon-yyyy hh:mm:ss +zzzz" ("d" may be " d") */
int imapd_parse_datetime(const char *s, size_t len, time_t *t_r)
{
	int day, year, hh, mm, ss, zh, zm, mon = -1;

	char buf[27];

	/* date-day-fixed is " d" or "dd"; some clients send a bare "d". */
	if (len == 26) {
		memcpy(buf, s, 26);
	} else if (len == 25) {
		buf[0] = '0';
		memcpy(buf + 1, s, 25);
	} else {
		return -1;
	}
	buf[26] = '\0';
	if (buf[0] == ' ')
		buf[0] = '0';
	if (!digits(buf, 2, &day) || buf[2] != '-' || buf[6] != '-' ||
	    !digits(buf + 7, 4, &year) || buf[11] != ' ' ||
	    !digits(buf + 12, 2, &hh) || buf[14] != ':' ||
	    !digits(buf + 15, 2, &mm) || buf[17] != ':' ||
	    !digits(buf + 18, 2, &ss) || buf[20] != ' ' ||
	    (buf[21] != '+' && buf[21] != '-') || !digits(buf + 22, 2, &zh) ||
	    !digits(buf + 24, 2, &zm))
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(buf + 3, months[i], 3) == 0)
			mon = i;
	if (mon < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 ||
	    zm > 59 || year < 1970)
		return -1;
	long days = days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
	long long t = (long long)days * 86400 + hh * 3600 + mm * 60 + ss;
	long long off = (zh * 60 + zm) * 60;

	t += buf[21] == '+' ? -off : off;
	*t_r = (time_t)t;
	return 0;
}

/* imapd_search_parse_date - "1-Feb-1994" or "01-Feb-1994" -> day number */
long imapd_search_parse_date(const char *s, size_t len)
{
	int day, year, mon = -1;
	size_t dl;

	if (len == 10)
		dl = 1;
	else if (len == 11)
		dl = 2;
	else
		return -1;
	if (!digits(s, dl, &day) || s[dl] != '-' || s[dl + 4] != '-' ||
	    !digits(s + dl + 5, 4, &year))
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s + dl + 1, months[i], 3) == 0)
			mon = i;
	if (mon < 0 || day < 1 || day > 31)
		return -1;
	return days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
}
