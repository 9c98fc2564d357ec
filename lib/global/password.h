/*
 * password - hash and verify passwords in Dovecot's "{SCHEME}data" form
 *
 * Schemes: SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT ($2y$),
 * YESCRYPT ($y$), CRYPT (whatever crypt(3) recognises), and PLAIN (only
 * for tests and migrations; never the default).  Hashing and verification
 * use libcrypt's crypt_r/crypt_gensalt_rn; comparisons are constant-time.
 */
#ifndef FACTEUR_PASSWORD_H
#define FACTEUR_PASSWORD_H

#include <stddef.h>

#define PASSWORD_DEFAULT_SCHEME "SHA512-CRYPT"

/* 1 match, 0 mismatch, -1 unknown scheme or malformed hash (*error_r). */
int password_verify(const char *stored, const char *plain,
		    const char **error_r);
/* A new "{SCHEME}hash" (caller frees), or NULL with *error_r. */
char *password_hash(const char *scheme, const char *plain,
		    const char **error_r);

#endif
