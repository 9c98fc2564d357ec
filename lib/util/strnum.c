/*
 * strnum - strict decimal number parsing
 *
 * SYNOPSIS
 *	#include "strnum.h"
 *
 * DIAGNOSTICS
 *	-1 for anything but a complete, in-range decimal number.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "strnum.h"

int strn_to_u64(const char *str, size_t len, uint64_t *num_r)
{
	uint64_t num = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned digit = (unsigned char)str[i] - '0';

		if (digit > 9)
			return -1;
		if (num > (UINT64_MAX - digit) / 10)
			return -1;
		num = num * 10 + digit;
	}
	*num_r = num;
	return 0;
}

int str_to_u64(const char *str, uint64_t *num_r)
{
	return strn_to_u64(str, strlen(str), num_r);
}

int str_to_i64(const char *str, int64_t *num_r)
{
	uint64_t mag;
	bool neg = str[0] == '-';

	if (str_to_u64(str + neg, &mag) < 0)
		return -1;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return -1;
		*num_r = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
							: -(int64_t)mag;
	} else {
		if (mag > INT64_MAX)
			return -1;
		*num_r = (int64_t)mag;
	}
	return 0;
}

int str_to_uint(const char *str, unsigned int *num_r)
{
	uint64_t num;

	if (str_to_u64(str, &num) < 0 || num > UINT_MAX)
		return -1;
	*num_r = (unsigned int)num;
	return 0;
}

int str_to_int(const char *str, int *num_r)
{
	int64_t num;

	if (str_to_i64(str, &num) < 0 || num < INT_MIN || num > INT_MAX)
		return -1;
	*num_r = (int)num;
	return 0;
}
