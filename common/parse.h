/* The one strict number parser: every number that comes from a user goes here. */
#ifndef EPHEMERA_PARSE_H
#define EPHEMERA_PARSE_H

#include <stdint.h>

/* Decimal only, no sign, no spaces, no trailing garbage, within [min, max].
 * Returns 0, -EINVAL (not a number) or -ERANGE; *ret untouched on failure. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);

#endif
