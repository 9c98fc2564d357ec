/*
 * password - hash and verify passwords in Dovecot's "{SCHEME}data" form
 *
 * SYNOPSIS
 *	#include "password.h"
 *
 *	int password_verify(const char *stored, const char *plain,
 *			    const char **error_r);
 *	char *password_hash(const char *scheme, const char *plain,
 *			    const char **error_r);
 *
 * DESCRIPTION
 *	A stored password is "{SCHEME}data" as Dovecot writes it; a value
 *	without a "{SCHEME}" prefix is taken as CRYPT, which is the default
 *	scheme of Dovecot's passwd-file driver.  Scheme names are matched
 *	without regard to case.
 *
 *	SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT ($2y$, also $2a$
 *	and $2b$ when verifying) and YESCRYPT ($y$) are crypt(3) hashes
 *	whose prefix must match the scheme; CRYPT accepts whatever libcrypt
 *	recognises (DES, MD5-crypt, any of the above).  PLAIN (with
 *	Dovecot's aliases CLEAR and CLEARTEXT) is the password itself.
 *
 *	password_hash() makes a new salt from getrandom(2) and libcrypt's
 *	crypt_gensalt_rn() with the algorithm's default cost.  CRYPT hashes
 *	with libcrypt's preferred method (yescrypt on current systems), not
 *	with DES, which is too weak to be made on purpose.
 *
 * DIAGNOSTICS
 *	password_verify() returns 1 for a match, 0 for a mismatch, and -1
 *	with *error_r (static text) for an unknown scheme or a hash that
 *	libcrypt refuses or whose prefix does not fit its scheme.
 *	password_hash() returns NULL with *error_r likewise.
 *
 * SECURITY
 *	This is where secrets meet hashes.  The comparison of the computed
 *	and the stored hash (or of PLAIN passwords) takes a time that does
 *	not depend on where they differ.  libcrypt's work area, which holds
 *	intermediate state derived from the password, is wiped before it is
 *	freed.  Nothing here logs.
 */
#include "autoconf.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "alloc.h"
#include "password.h"

/* The longest password accepted: far beyond any human's, but bounded. */
#define PASSWORD_PLAIN_MAX 4096

enum password_kind {
	PASSWORD_KIND_CRYPT,
	PASSWORD_KIND_PLAIN,
};

struct password_scheme {
	const char *name;
	enum password_kind kind;
	/* crypt(3) prefixes accepted when verifying; NULL-terminated. */
	const char *verify_prefix[4];
	/* The prefix handed to crypt_gensalt_rn(); NULL: libcrypt's best. */
	const char *gensalt_prefix;
};

static const struct password_scheme password_schemes[] = {
	{"SHA512-CRYPT", PASSWORD_KIND_CRYPT, {"$6$", NULL}, "$6$"},
	{"SHA256-CRYPT", PASSWORD_KIND_CRYPT, {"$5$", NULL}, "$5$"},
	{"BLF-CRYPT",
	 PASSWORD_KIND_CRYPT,
	 {"$2y$", "$2b$", "$2a$", NULL},
	 "$2y$"},
	{"YESCRYPT", PASSWORD_KIND_CRYPT, {"$y$", NULL}, "$y$"},
	{"CRYPT", PASSWORD_KIND_CRYPT, {NULL}, NULL},
	{"PLAIN", PASSWORD_KIND_PLAIN, {NULL}, NULL},
	{"CLEAR", PASSWORD_KIND_PLAIN, {NULL}, NULL},
	{"CLEARTEXT", PASSWORD_KIND_PLAIN, {NULL}, NULL},
};

/* password_scheme_find - the scheme named name[0..len), or NULL */
static const struct password_scheme *password_scheme_find(const char *name,
							  size_t len)
{
	for (size_t i = 0;
	     i < sizeof(password_schemes) / sizeof(password_schemes[0]); i++) {
		const struct password_scheme *s = &password_schemes[i];

		if (strlen(s->name) == len &&
		    strncasecmp(s->name, name, len) == 0)
			return s;
	}
	return NULL;
}

/*
 * password_equal - compare a and b in a time that depends on their
 * lengths only, never on where they first differ.
 */
static bool password_equal(const char *a, size_t alen, const char *b,
			   size_t blen)
{
	volatile unsigned char diff = (unsigned char)(alen != blen);
	size_t n = alen > blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;

		diff |= (unsigned char)(x ^ y);
	}
	return diff == 0;
}

/* password_split - "{SCHEME}data" into scheme and data; bare data: CRYPT */
static const struct password_scheme *
password_split(const char *stored, const char **data_r, const char **error_r)
{
	const char *end;
	const struct password_scheme *s;

	if (stored[0] != '{') {
		*data_r = stored;
		return password_scheme_find("CRYPT", 5);
	}
	if ((end = strchr(stored, '}')) == NULL) {
		*error_r = "malformed password: '{' without '}'";
		return NULL;
	}
	if ((s = password_scheme_find(stored + 1,
				      (size_t)(end - stored - 1))) == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	*data_r = end + 1;
	return s;
}

/* password_prefix_ok - whether hash starts with a prefix of scheme s */
static bool password_prefix_ok(const struct password_scheme *s,
			       const char *hash)
{
	if (s->verify_prefix[0] == NULL)
		return true;
	for (size_t i = 0; s->verify_prefix[i] != NULL; i++)
		if (strncmp(hash, s->verify_prefix[i],
			    strlen(s->verify_prefix[i])) == 0)
			return true;
	return false;
}

/* password_crypt_free - wipe and free libcrypt's work area */
static void password_crypt_free(struct crypt_data *cd)
{
	memzero_explicit(cd, sizeof(*cd));
	free(cd);
}

/* password_verify - 1 match, 0 mismatch, -1 bad scheme or hash */
int password_verify(const char *stored, const char *plain, const char **error_r)
{
	const struct password_scheme *s;
	const char *data;
	struct crypt_data *cd;
	const char *out;
	int ret;

	if ((s = password_split(stored, &data, error_r)) == NULL)
		return -1;
	if (s->kind == PASSWORD_KIND_PLAIN)
		return password_equal(data, strlen(data), plain, strlen(plain))
			       ? 1
			       : 0;

	/*
	 * An empty hash or one libcrypt marks as invalid ("*", "!") could
	 * otherwise compare equal to crypt's failure token.
	 */
	if (data[0] == '\0' || data[0] == '*' || data[0] == '!') {
		*error_r = "malformed password hash";
		return -1;
	}
	if (!password_prefix_ok(s, data)) {
		*error_r = "password hash does not match its scheme";
		return -1;
	}
	if (strlen(plain) > PASSWORD_PLAIN_MAX)
		return 0;
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(plain, data, cd);
	if (out == NULL || out[0] == '*') {
		*error_r = "malformed password hash";
		ret = -1;
	} else {
		ret = password_equal(out, strlen(out), data, strlen(data)) ? 1
									   : 0;
	}
	password_crypt_free(cd);
	return ret;
}

/* password_hash - a new "{SCHEME}hash" for plain; caller frees */
char *password_hash(const char *scheme, const char *plain, const char **error_r)
{
	const struct password_scheme *s =
		password_scheme_find(scheme, strlen(scheme));
	unsigned char rbytes[32];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *out;
	char *result;

	if (s == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	if (strlen(plain) > PASSWORD_PLAIN_MAX) {
		*error_r = "password too long";
		return NULL;
	}
	if (s->kind == PASSWORD_KIND_PLAIN) {
		/* A passwd-file line cannot hold these. */
		if (strpbrk(plain, ":\r\n") != NULL) {
			*error_r = "a PLAIN password must not contain ':' or "
				   "line breaks";
			return NULL;
		}
		return xasprintf("{%s}%s", s->name, plain);
	}

	if (getrandom(rbytes, sizeof(rbytes), 0) != (ssize_t)sizeof(rbytes)) {
		*error_r = "getrandom failed";
		return NULL;
	}
	if (crypt_gensalt_rn(s->gensalt_prefix, 0, (const char *)rbytes,
			     (int)sizeof(rbytes), setting,
			     (int)sizeof(setting)) == NULL) {
		memzero_explicit(rbytes, sizeof(rbytes));
		*error_r = "crypt_gensalt: scheme not supported by libcrypt";
		return NULL;
	}
	memzero_explicit(rbytes, sizeof(rbytes));
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(plain, setting, cd);
	if (out == NULL || out[0] == '*') {
		password_crypt_free(cd);
		*error_r = "crypt: hashing failed";
		return NULL;
	}
	result = xasprintf("{%s}%s", s->name, out);
	password_crypt_free(cd);
	return result;
}
