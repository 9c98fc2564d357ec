/*
 * strnum - strict decimal number parsing
 *
 * The whole string must be digits (an optional '-' for the signed form);
 * empty strings, leading '+' or spaces, trailing junk and overflow are all
 * rejected.  Never use atoi(3) or sscanf(3) on foreign input (STYLE.md §7).
 * Each returns 0 on success and -1 on failure, leaving *num_r untouched.
 */
#ifndef FACTEUR_STRNUM_H
#define FACTEUR_STRNUM_H

#include <stdint.h>
#include <stddef.h>

int str_to_u64(const char *str, uint64_t *num_r);
int str_to_i64(const char *str, int64_t *num_r);
int str_to_uint(const char *str, unsigned int *num_r);
int str_to_int(const char *str, int *num_r);
/* Parse the first len bytes only (for text that is not NUL-terminated). */
int strn_to_u64(const char *str, size_t len, uint64_t *num_r);

#endif
