/*
 * test_base64 - unit tests for lib/util/base64.c
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "strbuf.h"

struct vector {
	const char *in;
	enum base64_mode mode;
	int ret;
	const char *out; /* NULL: do not compare */
	size_t out_len;
};

static const struct vector vectors[] = {
	/* RFC 4648 §10 */
	{"", BASE64_STRICT, 0, "", 0},
	{"Zg==", BASE64_STRICT, 0, "f", 1},
	{"Zm8=", BASE64_STRICT, 0, "fo", 2},
	{"Zm9v", BASE64_STRICT, 0, "foo", 3},
	{"Zm9vYg==", BASE64_STRICT, 0, "foob", 4},
	{"Zm9vYmE=", BASE64_STRICT, 0, "fooba", 5},
	{"Zm9vYmFy", BASE64_STRICT, 0, "foobar", 6},
	/* SASL PLAIN "\0user\0pass" */
	{"AHVzZXIAcGFzcw==", BASE64_STRICT, 0, "\0user\0pass", 10},
	/* strict refusals */
	{"Zg=", BASE64_STRICT, -1, NULL, 0},
	{"Zg", BASE64_STRICT, -1, NULL, 0},
	{"Z===", BASE64_STRICT, -1, NULL, 0},
	{"====", BASE64_STRICT, -1, NULL, 0},
	{"Zg==Zg==", BASE64_STRICT, -1, NULL, 0},
	{"Zm9v YmFy", BASE64_STRICT, -1, NULL, 0},
	{"Zm9*", BASE64_STRICT, -1, NULL, 0},
	{"Z=9v", BASE64_STRICT, -1, NULL, 0},
	/* missing padding forgiven (RFC 2047 words) */
	{"Zg", BASE64_PAD_OPTIONAL, 0, "f", 1},
	{"Zm8", BASE64_PAD_OPTIONAL, 0, "fo", 2},
	{"Zm8=", BASE64_PAD_OPTIONAL, 0, "fo", 2},
	{"Z", BASE64_PAD_OPTIONAL, -1, NULL, 0},
	{"Zg=x", BASE64_PAD_OPTIONAL, -1, NULL, 0},
	{"Zm 8", BASE64_PAD_OPTIONAL, -1, NULL, 0},
	/* lenient (RFC 2045 §6.8 bodies) */
	{"Zm9v\r\nYmFy\r\n", BASE64_LENIENT, 0, "foobar", 6},
	{"Zm9v*YmFy", BASE64_LENIENT, 1, "foobar", 6},
	{"Zm8=junk", BASE64_LENIENT, 0, "fo", 2},
	{"Zm9vY", BASE64_LENIENT, 1, "foo", 3},
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct strbuf out;
		int ret;

		strbuf_init(&out, 100);
		ret = base64_decode(v->in, strlen(v->in), v->mode, &out);
		if (ret != v->ret)
			fail_msg("\"%s\" mode %d: %d, expected %d", v->in,
				 v->mode, ret, v->ret);
		if (v->out != NULL) {
			assert_int_equal(out.len, v->out_len);
			assert_memory_equal(out.data, v->out, v->out_len);
		}
		/* base64_valid agrees with a strict decode of non-empty input. */
		strbuf_reset(&out);
		assert_int_equal(base64_valid(v->in, strlen(v->in)),
				 v->in[0] != '\0' &&
					 base64_decode(v->in, strlen(v->in),
						       BASE64_STRICT,
						       &out) == 0);
		strbuf_release(&out);
	}
}

static void test_output_limit(void **state)
{
	struct strbuf out;

	(void)state;
	strbuf_init(&out, 5);
	assert_int_equal(base64_decode("Zm9vYmE=", 8, BASE64_STRICT, &out), 0);
	strbuf_reset(&out);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, BASE64_STRICT, &out), -1);
	strbuf_release(&out);
}

static void test_encode_round_trip(void **state)
{
	unsigned char bytes[256];
	struct strbuf enc, dec;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(255 - i);
	strbuf_init(&enc, STRBUF_NO_LIMIT);
	strbuf_init(&dec, STRBUF_NO_LIMIT);
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		strbuf_reset(&enc);
		strbuf_reset(&dec);
		assert_int_equal(base64_encode(bytes, len, &enc), 0);
		assert_int_equal(enc.len, (len + 2) / 3 * 4);
		assert_int_equal(
			base64_decode(enc.data, enc.len, BASE64_STRICT, &dec),
			0);
		assert_int_equal(dec.len, len);
		assert_memory_equal(dec.data, bytes, len);
	}
	strbuf_reset(&enc);
	assert_int_equal(base64_encode("foobar", 6, &enc), 0);
	assert_string_equal(enc.data, "Zm9vYmFy");
	strbuf_release(&enc);
	strbuf_release(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_encode_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
