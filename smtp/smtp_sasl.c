/*
 * smtp_sasl - the AUTH client (RFC 4954): PLAIN, else LOGIN
 *
 * DESCRIPTION
 *	With smtp_sasl_auth_enable, the password comes from
 *	smtp_sasl_password_maps, looked up with "[host]:port", "[host]",
 *	"host" (the server as routed, lower case) and then the nexthop as
 *	qmgr sent it; the value is "user:password".  No entry: no AUTH.
 *	AUTH goes only over TLS unless smtp_sasl_auth_plaintext = yes.  A
 *	server that refuses the credentials makes this host fail (the next
 *	one is tried, then the recipients are deferred: an admin may fix
 *	the password), as Postfix does.
 *
 * SECURITY
 *	The password is never logged; the buffers that held it are wiped.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "base64.h"
#include "log.h"
#include "maps_list.h"
#include "smtp.h"

/* wipe - clear a strbuf that held a secret */
static void wipe(struct strbuf *sb)
{
	if (sb->len > 0)
		memset(sb->data, 0, sb->len);
	strbuf_release(sb);
}

/* lookup - the "user:password" entry for this server; NULL when none */
static char *lookup(struct smtp_ctx *ctx, const struct smtp_sess *sess,
		    const struct smtp_req *req, const struct smtp_dest *dest,
		    int *error_r)
{
	char keys[4][DNS_NAME_MAX + 16];
	const char *value, *error;

	snprintf(keys[0], sizeof(keys[0]), "[%s]:%u", dest->host, dest->port);
	snprintf(keys[1], sizeof(keys[1]), "[%s]", dest->host);
	snprintf(keys[2], sizeof(keys[2]), "%s", sess->host);
	snprintf(keys[3], sizeof(keys[3]), "%s", req->nexthop);
	*error_r = 0;
	for (size_t i = 0; i < 4; i++) {
		int r;

		for (char *p = keys[i]; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		r = maps_list_find(ctx->sasl_maps, keys[i], &value, &error);
		if (r > 0)
			return xstrdup(value);
		if (r < 0) {
			log_warn("%s", error);
			*error_r = 1;
			return NULL;
		}
	}
	return NULL;
}

/* step - send line (a secret), read the reply; 0 or -1 */
static int step(struct smtp_ctx *ctx, struct smtp_sess *sess,
		struct strbuf *line)
{
	strbuf_append_str(line, "\r\n");
	return smtp_sess_write(sess, line->data, line->len, ctx->t_helo,
			       "authenticating") < 0 ||
			       smtp_sess_reply(sess, ctx->t_helo,
					       "authenticating") < 0
		       ? -1
		       : 0;
}

int smtp_sasl_auth(struct smtp_ctx *ctx, struct smtp_sess *sess,
		   const struct smtp_req *req, const struct smtp_dest *dest,
		   char **why_r, const char **dsn_r)
{
	struct strbuf line, plain;
	char *entry, *colon;
	bool use_plain;
	int error, r = -1;

	if (!ctx->sasl_enable || ctx->sasl_maps == NULL)
		return 0;
	entry = lookup(ctx, sess, req, dest, &error);
	if (entry == NULL) {
		if (!error)
			return 0;
		*why_r = xasprintf("smtp_sasl_password_maps cannot be read");
		*dsn_r = "4.3.0";
		return -1;
	}
	if ((colon = strchr(entry, ':')) == NULL) {
		log_warn("smtp_sasl_password_maps: entry for %s has no "
			 "user:password form",
			 sess->host);
		memset(entry, 0, strlen(entry));
		free(entry);
		return 0;
	}
	*colon = '\0';
	if (!(sess->ehlo.ext & SMTP_EXT_AUTH) ||
	    (sess->tls == NULL && !ctx->sasl_plaintext)) {
		/* Nothing to authenticate to, or not in the clear. */
		memset(colon + 1, 0, strlen(colon + 1));
		free(entry);
		return 0;
	}
	use_plain = smtp_ehlo_has_auth(&sess->ehlo, "PLAIN");
	if (!use_plain && !smtp_ehlo_has_auth(&sess->ehlo, "LOGIN")) {
		*why_r = xasprintf("SASL authentication failed: server %s "
				   "offered no compatible authentication "
				   "mechanism (PLAIN, LOGIN)",
				   sess->hostaddr);
		*dsn_r = "4.7.0";
		memset(colon + 1, 0, strlen(colon + 1));
		free(entry);
		return -1;
	}
	strbuf_init(&line, STRBUF_NO_LIMIT);
	strbuf_init(&plain, STRBUF_NO_LIMIT);
	if (use_plain) {
		strbuf_append_char(&plain, '\0');
		strbuf_append_str(&plain, entry);
		strbuf_append_char(&plain, '\0');
		strbuf_append_str(&plain, colon + 1);
		strbuf_append_str(&line, "AUTH PLAIN ");
		base64_encode(plain.data, plain.len, &line);
		if (step(ctx, sess, &line) < 0)
			goto io_failed;
	} else {
		strbuf_append_str(&line, "AUTH LOGIN");
		if (step(ctx, sess, &line) < 0)
			goto io_failed;
		if (sess->code == 334) {
			strbuf_reset(&line);
			base64_encode(entry, strlen(entry), &line);
			if (step(ctx, sess, &line) < 0)
				goto io_failed;
		}
		if (sess->code == 334) {
			wipe(&line);
			strbuf_init(&line, STRBUF_NO_LIMIT);
			base64_encode(colon + 1, strlen(colon + 1), &line);
			if (step(ctx, sess, &line) < 0)
				goto io_failed;
		}
	}
	if (sess->code / 100 == 2) {
		log_info("%s: sasl_method=%s, sasl_username=%s", sess->relay,
			 use_plain ? "PLAIN" : "LOGIN", entry);
		r = 0;
	} else {
		*why_r = xasprintf("SASL authentication failed; server %s "
				   "said: %s",
				   sess->hostaddr, strbuf_cstr(&sess->text));
		*dsn_r = "4.7.0";
	}
	goto done;
io_failed:
	*why_r = xstrdup(sess->error);
	*dsn_r = "4.4.2";
done:
	wipe(&line);
	wipe(&plain);
	memset(colon + 1, 0, strlen(colon + 1));
	free(entry);
	return r;
}
