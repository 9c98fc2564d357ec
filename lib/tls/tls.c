/*
 * tls - OpenSSL server contexts and libevent TLS filters
 *
 * SYNOPSIS
 *	#include "tls.h"
 *
 *	struct tls_server *tls_server_create(cert_file, key_file, error_r);
 *	struct bufferevent *tls_server_wrap(ts, base, underlying, error_r);
 *	int tls_describe(bev, buf, size);
 *
 * DESCRIPTION
 *	One SSL_CTX per struct tls_server, loaded once before the privilege
 *	drop.  Minimum protocol TLS 1.2 (RFC 8996 deprecates 1.0 and 1.1);
 *	renegotiation is off (client-initiated renegotiation is a cheap
 *	denial of service); compression is off (CRIME).  Connections are
 *	libevent OpenSSL filters, so the session code reads and writes
 *	plaintext through the same bufferevent API before and after
 *	STARTTLS.  A peer that closes without close_notify is treated as an
 *	ordinary end of connection (allow dirty shutdown): SMTP has its own
 *	end of message, so truncation attacks gain nothing.
 *
 * DIAGNOSTICS
 *	Failures return NULL or -1 with a text; nothing here exits or logs.
 *
 * SECURITY
 *	The key file is read as root in pre_drop; after the drop only the
 *	in-memory key remains.  Handshake input is untrusted and handled by
 *	OpenSSL.
 */
#include "autoconf.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "tls.h"

struct tls_server {
	SSL_CTX *ctx;
};

static char tls_errbuf[512];

/* tls_ssl_error - OpenSSL's queued error text, with a prefix */
static const char *tls_ssl_error(const char *what, const char *file)
{
	unsigned long err = ERR_get_error();
	char reason[256];

	if (err != 0)
		ERR_error_string_n(err, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "unknown error");
	ERR_clear_error();
	snprintf(tls_errbuf, sizeof(tls_errbuf), "%s%s%s: %s", what,
		 file ? " " : "", file ? file : "", reason);
	return tls_errbuf;
}

/* tls_server_create - a server context from PEM files */
struct tls_server *tls_server_create(const char *cert_file,
				     const char *key_file, const char **error_r)
{
	struct tls_server *ts;
	SSL_CTX *ctx;

	if (cert_file == NULL || *cert_file == '\0' || key_file == NULL ||
	    *key_file == '\0') {
		*error_r = "no certificate or key file configured";
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*error_r = tls_ssl_error("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Tickets would need a key shared by all smtpd processes. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*error_r = tls_ssl_error("load certificate", cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		*error_r = tls_ssl_error("load private key", key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_ssl_error("key does not match certificate",
					 key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	ts = xcalloc(1, sizeof(*ts));
	ts->ctx = ctx;
	return ts;
}

/* tls_server_free - release the context */
void tls_server_free(struct tls_server **tsp)
{
	if (*tsp == NULL)
		return;
	SSL_CTX_free((*tsp)->ctx);
	free(*tsp);
	*tsp = NULL;
}

/* tls_server_wrap - a TLS filter in accepting state over underlying */
struct bufferevent *tls_server_wrap(struct tls_server *ts,
				    struct event_base *base,
				    struct bufferevent *underlying,
				    const char **error_r)
{
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(ts->ctx)) == NULL) {
		*error_r = tls_ssl_error("SSL_new", NULL);
		return NULL;
	}
	bev = bufferevent_openssl_filter_new(base, underlying, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* libevent frees ssl on failure only with the bev. */
		SSL_free(ssl);
		*error_r = "bufferevent_openssl_filter_new failed";
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* tls_protocol - the negotiated protocol name */
const char *tls_protocol(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	return ssl ? SSL_get_version(ssl) : NULL;
}

/* tls_describe - protocol, cipher and strength, Postfix's wording */
int tls_describe(struct bufferevent *bev, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	const SSL_CIPHER *cipher;
	int alg_bits = 0, bits;

	if (size > 0)
		buf[0] = '\0';
	if (ssl == NULL || (cipher = SSL_get_current_cipher(ssl)) == NULL)
		return -1;
	bits = SSL_CIPHER_get_bits(cipher, &alg_bits);
	snprintf(buf, size, "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(ssl), SSL_CIPHER_get_name(cipher), bits,
		 alg_bits);
	return 0;
}

/* tls_error - the reason a TLS connection failed */
const char *tls_error(struct bufferevent *bev)
{
	unsigned long err = bufferevent_get_openssl_error(bev);

	if (err == 0)
		err = ERR_get_error();
	if (err == 0)
		snprintf(tls_errbuf, sizeof(tls_errbuf), "unknown");
	else
		ERR_error_string_n(err, tls_errbuf, sizeof(tls_errbuf));
	ERR_clear_error();
	return tls_errbuf;
}
