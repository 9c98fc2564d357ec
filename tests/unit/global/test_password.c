/*
 * test_password - unit tests for lib/global/password.c
 *
 * The fixed vectors were made outside Facteur: SHA512-CRYPT and
 * SHA256-CRYPT with `openssl passwd -6|-5 -salt abc pw`, BLF-CRYPT,
 * YESCRYPT and DES CRYPT with Python's crypt module (libxcrypt).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"

#define V_SHA512                                                               \
	"$6$abc$MtSdWSZbhct2oe.SOqOUM2M/GA/uj5.vyVtJgRHgKi9uqXuWuJqOYE7H/YlsY" \
	"GVg/YYzDV0xt3fEIwYt580.5."
#define V_SHA256 "$5$abc$/LKlXd6vuvdFX3oWbf2vGk3DgflzzsvOtMZsiOxqqY5"
#define V_BLF	 "$2y$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q"
#define V_YES                                                                  \
	"$y$j9T$abcdefghijklmnopqrstu0$GLYj2y9777yWd79OxbNK3HERCPpB6OkHQycrM." \
	"vBEN/"
#define V_DES "abzlUXK5ed5rs"

/* verify - password_verify with a must-be-known result */
static int verify(const char *stored, const char *plain)
{
	const char *error = NULL;
	int ret = password_verify(stored, plain, &error);

	if (ret < 0)
		assert_non_null(error);
	return ret;
}

static void test_known_vectors(void **state)
{
	static const char *const vectors[] = {
		"{SHA512-CRYPT}" V_SHA512, "{SHA256-CRYPT}" V_SHA256,
		"{BLF-CRYPT}" V_BLF,	   "{YESCRYPT}" V_YES,
		"{CRYPT}" V_DES,	   "{CRYPT}" V_SHA512,
		"{sha512-crypt}" V_SHA512, V_SHA512, /* bare: CRYPT */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(verify(vectors[i], "pw"), 1);
		assert_int_equal(verify(vectors[i], "pW"), 0);
		assert_int_equal(verify(vectors[i], ""), 0);
		assert_int_equal(verify(vectors[i], "pw "), 0);
	}
}

static void test_plain(void **state)
{
	(void)state;
	assert_int_equal(verify("{PLAIN}secret", "secret"), 1);
	assert_int_equal(verify("{PLAIN}secret", "secre"), 0);
	assert_int_equal(verify("{PLAIN}secret", "secrets"), 0);
	assert_int_equal(verify("{PLAIN}secret", "Secret"), 0);
	assert_int_equal(verify("{CLEARTEXT}a:b", "a:b"), 1);
	assert_int_equal(verify("{PLAIN}", ""), 1);
	assert_int_equal(verify("{PLAIN}", "x"), 0);
}

static void test_malformed(void **state)
{
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_verify("{MD99}xyz", "pw", &error), -1);
	assert_string_equal(error, "unknown password scheme");
	assert_int_equal(verify("{SHA512-CRYPT", "pw"), -1);
	assert_int_equal(verify("{}abc", "pw"), -1);
	/* Scheme and hash prefix disagree. */
	assert_int_equal(verify("{SHA256-CRYPT}" V_SHA512, "pw"), -1);
	assert_int_equal(verify("{BLF-CRYPT}" V_YES, "pw"), -1);
	/* Empty, locked and junk hashes never match anything. */
	assert_int_equal(verify("{SHA512-CRYPT}", ""), -1);
	assert_int_equal(verify("{CRYPT}", ""), -1);
	assert_int_equal(verify("{CRYPT}!", ""), -1);
	assert_int_equal(verify("{CRYPT}*", "*"), -1);
	assert_int_not_equal(verify("{CRYPT}$6$", "pw"), 1);
	assert_int_equal(verify("{CRYPT}$9$nonsense", "pw"), -1);
	/* A truncated hash must not match. */
	assert_int_not_equal(verify("{SHA512-CRYPT}$6$abc$MtSd", "pw"), 1);
}

static void test_round_trip(void **state)
{
	static const struct {
		const char *scheme;
		const char *prefix;
	} cases[] = {
		{"SHA512-CRYPT", "{SHA512-CRYPT}$6$"},
		{"SHA256-CRYPT", "{SHA256-CRYPT}$5$"},
		{"BLF-CRYPT", "{BLF-CRYPT}$2y$"},
		{"YESCRYPT", "{YESCRYPT}$y$"},
		{"CRYPT", "{CRYPT}$"},
		{"PLAIN", "{PLAIN}"},
	};
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h1 =
			password_hash(cases[i].scheme, "correct horse", &error);
		char *h2 =
			password_hash(cases[i].scheme, "correct horse", &error);

		assert_non_null(h1);
		assert_non_null(h2);
		assert_true(strncmp(h1, cases[i].prefix,
				    strlen(cases[i].prefix)) == 0);
		assert_null(strchr(h1, ':'));
		assert_int_equal(verify(h1, "correct horse"), 1);
		assert_int_equal(verify(h1, "correct horsE"), 0);
		/* Fresh salt every time (PLAIN has none). */
		if (strcmp(cases[i].scheme, "PLAIN") != 0)
			assert_string_not_equal(h1, h2);
		free(h1);
		free(h2);
	}
}

static void test_hash_errors(void **state)
{
	const char *error = NULL;

	(void)state;
	assert_null(password_hash("NOPE", "pw", &error));
	assert_string_equal(error, "unknown password scheme");
	error = NULL;
	assert_null(password_hash("PLAIN", "a:b", &error));
	assert_non_null(error);
	assert_null(password_hash("PLAIN", "a\nb", &error));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hash_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
