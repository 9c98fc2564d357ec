/*
 * tls_client - the client side of TLS for the smtp delivery agent
 *
 * A struct tls_client is an SSL_CTX for outgoing connections (TLS 1.2 at
 * least, the system CA store or a CAfile).  tls_client_start() runs the
 * handshake over a connected socket (STARTTLS, RFC 3207) in blocking
 * style: the socket is non-blocking and every wait is a poll(2) bounded
 * by a timeout, because the agent serves one request at a time and has
 * nothing else to do meanwhile.  Reads and writes then go through
 * tls_conn_read()/tls_conn_write() with the same timeouts.
 *
 * Verification: the handshake never fails on a bad certificate; the
 * caller decides by the level tls_conn_trust() reports (Postfix's
 * words): "Verified" (chain valid and the name matches), "Trusted"
 * (chain valid, name does not match), "Untrusted".
 */
#ifndef FACTEUR_TLS_CLIENT_H
#define FACTEUR_TLS_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

struct tls_client;
struct tls_conn;

enum tls_trust {
	TLS_UNTRUSTED,
	TLS_TRUSTED,
	TLS_VERIFIED,
};

/*
 * tls_client_create - a client context; cafile (PEM, may be NULL or "")
 * replaces the system CA store.  NULL with *error_r (static until the
 * next call) when the file cannot be loaded.
 */
struct tls_client *tls_client_create(const char *cafile, const char **error_r);
void tls_client_free(struct tls_client **tcp);

/*
 * tls_client_start - the client handshake on fd (connected; made
 * non-blocking here), with SNI servername (NULL or an address literal:
 * none) and the name the certificate must match (NULL: no name check).
 * Waits at most timeout_ms in all.  NULL with *error_r on failure; the
 * caller still owns fd either way (tls_conn_free() does not close it).
 */
struct tls_conn *tls_client_start(struct tls_client *tc, int fd,
				  const char *servername,
				  const char *match_name, int timeout_ms,
				  const char **error_r);
void tls_conn_free(struct tls_conn **connp);

/*
 * tls_conn_read - up to len bytes, waiting at most timeout_ms: the count,
 * 0 at the peer's close, -1 with *error_r (timeout or TLS/socket error).
 */
ssize_t tls_conn_read(struct tls_conn *conn, void *buf, size_t len,
		      int timeout_ms, const char **error_r);
/* tls_conn_write - all of buf within timeout_ms; 0 or -1 with *error_r */
int tls_conn_write(struct tls_conn *conn, const void *buf, size_t len,
		   int timeout_ms, const char **error_r);

/* tls_conn_pending - decrypted bytes OpenSSL holds that were not read */
size_t tls_conn_pending(const struct tls_conn *conn);
/* tls_conn_trust - how far the peer's certificate was verified */
enum tls_trust tls_conn_trust(const struct tls_conn *conn);
/* tls_trust_name - "Verified", "Trusted", "Untrusted" */
const char *tls_trust_name(enum tls_trust trust);
/* tls_conn_describe - "TLSv1.3 with cipher X (256/256 bits)" into buf */
void tls_conn_describe(const struct tls_conn *conn, char *buf, size_t size);
/* tls_conn_verify_error - why the certificate is not Verified (static) */
const char *tls_conn_verify_error(const struct tls_conn *conn);

#endif
