/*
 * tls_client - the client side of TLS (see tls_client.h)
 *
 * DESCRIPTION
 *	One SSL_CTX per process: TLS 1.2 at least, OpenSSL's default
 *	ciphers, no compression, no renegotiation.  The trust store is
 *	loaded once; SSL_VERIFY_NONE keeps the handshake going whatever the
 *	certificate, and the verification result (with the host name check
 *	of SSL_set1_host) is read afterwards, so that the agent can log
 *	"Untrusted" at level may and refuse at level verify, as Postfix.
 *
 *	I/O waits with poll(2) on the non-blocking socket; OpenSSL's
 *	WANT_READ/WANT_WRITE say which way.  Deadlines are absolute, so a
 *	peer that trickles bytes cannot stretch a timeout.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "tls_client.h"

struct tls_client {
	SSL_CTX *ctx;
};

struct tls_conn {
	SSL *ssl;
	int fd;
	long verify_result;
	bool name_checked;
};

static char tls_client_errbuf[512];

/* ssl_error - OpenSSL's first queued error with a prefix (static) */
static const char *ssl_error(const char *what)
{
	unsigned long err = ERR_get_error();
	char reason[256];

	if (err != 0)
		ERR_error_string_n(err, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "%s",
			 errno != 0 ? strerror(errno) : "unknown error");
	ERR_clear_error();
	snprintf(tls_client_errbuf, sizeof(tls_client_errbuf), "%s: %s", what,
		 reason);
	return tls_client_errbuf;
}

/* tls_client_create - the process's client context */
struct tls_client *tls_client_create(const char *cafile, const char **error_r)
{
	struct tls_client *tc;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		*error_r = ssl_error("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
			    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (cafile != NULL && *cafile != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(tls_client_errbuf, sizeof(tls_client_errbuf),
				 "load CA file %s: %s", cafile,
				 ssl_error("SSL_CTX_load_verify_locations"));
			*error_r = tls_client_errbuf;
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		/* No system store: everything is Untrusted, not an error. */
		ERR_clear_error();
	}
	tc = xcalloc(1, sizeof(*tc));
	tc->ctx = ctx;
	return tc;
}

void tls_client_free(struct tls_client **tcp)
{
	if (*tcp == NULL)
		return;
	SSL_CTX_free((*tcp)->ctx);
	free(*tcp);
	*tcp = NULL;
}

/* now_ms - a monotonic clock in milliseconds */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * wait_io - after an SSL call returned r, wait for what it wants until
 * deadline.  1: call again; 0: clean close (read side); -1: error.
 */
static int wait_io(struct tls_conn *conn, int r, long long deadline,
		   const char *what, const char **error_r)
{
	int err = SSL_get_error(conn->ssl, r);
	struct pollfd pfd = {.fd = conn->fd};
	long long left;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		pfd.events = POLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		pfd.events = POLLOUT;
		break;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			snprintf(tls_client_errbuf, sizeof(tls_client_errbuf),
				 "%s: %s", what,
				 errno != 0 ? strerror(errno)
					    : "lost connection");
			*error_r = tls_client_errbuf;
			return -1;
		}
		/* fall through */
	default:
		*error_r = ssl_error(what);
		return -1;
	}
	left = deadline - now_ms();
	if (left <= 0) {
		*error_r = "timeout";
		return -1;
	}
	for (;;) {
		int n = poll(&pfd, 1, (int)left);

		if (n > 0)
			return 1;
		if (n == 0) {
			*error_r = "timeout";
			return -1;
		}
		if (errno != EINTR) {
			*error_r = ssl_error("poll");
			return -1;
		}
	}
}

/* is_address - an address literal (no SNI, RFC 6066 §3) */
static bool is_address(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

struct tls_conn *tls_client_start(struct tls_client *tc, int fd,
				  const char *servername,
				  const char *match_name, int timeout_ms,
				  const char **error_r)
{
	long long deadline = now_ms() + timeout_ms;
	struct tls_conn *conn;
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		*error_r = "fcntl O_NONBLOCK failed";
		return NULL;
	}
	conn = xcalloc(1, sizeof(*conn));
	conn->fd = fd;
	if ((conn->ssl = SSL_new(tc->ctx)) == NULL) {
		*error_r = ssl_error("SSL_new");
		free(conn);
		return NULL;
	}
	SSL_set_fd(conn->ssl, fd);
	if (servername != NULL && !is_address(servername))
		SSL_set_tlsext_host_name(conn->ssl, servername);
	if (match_name != NULL && *match_name != '\0') {
		if (is_address(match_name))
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl),
						      match_name);
		else
			SSL_set1_host(conn->ssl, match_name);
		conn->name_checked = true;
	}
	SSL_set_connect_state(conn->ssl);
	for (;;) {
		int r;

		errno = 0;
		ERR_clear_error();
		r = SSL_do_handshake(conn->ssl);
		if (r == 1)
			break;
		r = wait_io(conn, r, deadline, "TLS handshake", error_r);
		if (r <= 0) {
			if (r == 0)
				*error_r = "TLS handshake: connection closed";
			tls_conn_free(&conn);
			return NULL;
		}
	}
	conn->verify_result = SSL_get_verify_result(conn->ssl);
	if (SSL_get0_peer_certificate(conn->ssl) == NULL)
		conn->verify_result = X509_V_ERR_UNSPECIFIED;
	return conn;
}

void tls_conn_free(struct tls_conn **connp)
{
	struct tls_conn *conn = *connp;

	if (conn == NULL)
		return;
	/* One close_notify, without waiting for the peer's. */
	if (SSL_is_init_finished(conn->ssl))
		SSL_shutdown(conn->ssl);
	SSL_free(conn->ssl);
	ERR_clear_error();
	free(conn);
	*connp = NULL;
}

ssize_t tls_conn_read(struct tls_conn *conn, void *buf, size_t len,
		      int timeout_ms, const char **error_r)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		size_t got = 0;
		int r;

		errno = 0;
		ERR_clear_error();
		r = SSL_read_ex(conn->ssl, buf, len, &got);
		if (r == 1)
			return (ssize_t)got;
		r = wait_io(conn, r, deadline, "TLS read", error_r);
		if (r <= 0)
			return r;
	}
}

int tls_conn_write(struct tls_conn *conn, const void *buf, size_t len,
		   int timeout_ms, const char **error_r)
{
	long long deadline = now_ms() + timeout_ms;
	const unsigned char *p = buf;

	while (len > 0) {
		size_t done = 0;
		int r;

		errno = 0;
		ERR_clear_error();
		r = SSL_write_ex(conn->ssl, p, len, &done);
		if (r == 1) {
			p += done;
			len -= done;
			continue;
		}
		r = wait_io(conn, r, deadline, "TLS write", error_r);
		if (r <= 0) {
			if (r == 0)
				*error_r = "TLS write: connection closed";
			return -1;
		}
	}
	return 0;
}

size_t tls_conn_pending(const struct tls_conn *conn)
{
	return (size_t)SSL_pending(conn->ssl);
}

enum tls_trust tls_conn_trust(const struct tls_conn *conn)
{
	if (conn->verify_result == X509_V_OK)
		return conn->name_checked ? TLS_VERIFIED : TLS_TRUSTED;
	if (conn->verify_result == X509_V_ERR_HOSTNAME_MISMATCH ||
	    conn->verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return TLS_TRUSTED;
	return TLS_UNTRUSTED;
}

const char *tls_trust_name(enum tls_trust trust)
{
	static const char *const names[] = {"Untrusted", "Trusted", "Verified"};

	return names[trust];
}

void tls_conn_describe(const struct tls_conn *conn, char *buf, size_t size)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(conn->ssl);
	int alg = 0, bits = SSL_CIPHER_get_bits(c, &alg);

	snprintf(buf, size, "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(conn->ssl), SSL_CIPHER_get_name(c), bits, alg);
}

const char *tls_conn_verify_error(const struct tls_conn *conn)
{
	if (conn->verify_result == X509_V_ERR_UNSPECIFIED)
		return "no certificate";
	return X509_verify_cert_error_string(conn->verify_result);
}
