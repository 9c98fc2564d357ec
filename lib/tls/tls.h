/*
 * tls - every OpenSSL call of the suite (server side for now)
 *
 * A struct tls_server is an SSL_CTX loaded from a certificate chain and a
 * private key.  Build it before the privilege drop (the key is readable by
 * root only), then wrap accepted connections with tls_server_wrap(): a
 * libevent OpenSSL filter over the plain socket bufferevent, used both for
 * STARTTLS (RFC 3207) and for implicit TLS (port 465, RFC 8314).
 *
 * Policy: TLS 1.2 at least, OpenSSL's default cipher list, no
 * renegotiation, no session tickets across processes (each smtpd process
 * has its own keys; a failed resumption is a full handshake), no client
 * certificates.
 */
#ifndef FACTEUR_TLS_H
#define FACTEUR_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct tls_server;

/*
 * tls_server_create - load cert_file (PEM chain) and key_file (PEM) and
 * check that they match.  Returns NULL with *error_r (static until the
 * next call) naming the file and OpenSSL's reason.
 */
struct tls_server *tls_server_create(const char *cert_file,
				     const char *key_file,
				     const char **error_r);
void tls_server_free(struct tls_server **tsp);

/*
 * tls_server_wrap - start a server handshake over underlying, which the
 * returned bufferevent owns from then on (freeing it frees underlying and
 * closes the socket).  Whatever underlying has buffered for reading is
 * left alone: the caller drains it first when it must not be used (the
 * STARTTLS injection, CVE-2011-0411).  Returns NULL with *error_r when
 * OpenSSL cannot make a session (underlying is then still the caller's).
 * The event callback sees BEV_EVENT_CONNECTED once the handshake is done.
 */
struct bufferevent *tls_server_wrap(struct tls_server *ts,
				    struct event_base *base,
				    struct bufferevent *underlying,
				    const char **error_r);

/*
 * tls_describe - "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256
 * bits)" for an established connection made by tls_server_wrap(), into
 * buf.  Returns 0, or -1 (buf "") when bev is not a TLS connection.
 */
int tls_describe(struct bufferevent *bev, char *buf, size_t size);
/* tls_protocol - "TLSv1.3" (static), or NULL. */
const char *tls_protocol(struct bufferevent *bev);

/*
 * tls_error - OpenSSL's last error on bev ("wrong version number"), or
 * "unknown"; also empties OpenSSL's error queue.  Static until next call.
 */
const char *tls_error(struct bufferevent *bev);

#endif
