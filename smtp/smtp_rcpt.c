/*
 * smtp_rcpt - recipient outcomes of a request
 *
 * DESCRIPTION
 *	A recipient's outcome is set once: the first one wins, so that a
 *	later general failure (a lost connection) never overwrites what the
 *	server already said about it.  The DSN's class always agrees with
 *	the outcome (qmgr refuses a result where they differ): a 5.x.y from
 *	a server whose reply code said 4xx becomes 4.x.y.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "alloc.h"
#include "smtp.h"

double smtp_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_status status,
		   const char *dsn, const char *diagnostic, const char *fmt,
		   ...)
{
	va_list ap;
	char buf[2048];

	if (r->status != SMTP_TODO)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->status = status;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	/* The DSN's class must agree with the outcome (qmgr checks). */
	r->dsn[0] = status == SMTP_SENT	     ? '2'
		    : status == SMTP_BOUNCED ? '5'
					     : '4';
	free(r->reason);
	r->reason = xstrdup(buf);
	free(r->diagnostic);
	r->diagnostic = diagnostic != NULL ? xstrdup(diagnostic) : NULL;
}

void smtp_fail_all(struct smtp_req *req, enum smtp_status status,
		   const char *dsn, const char *diagnostic, const char *fmt,
		   ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < req->count; i++)
		smtp_rcpt_set(&req->rcpts[i], status, dsn, diagnostic, "%s",
			      buf);
}
