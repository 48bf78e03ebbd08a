/* common/parse.h: the one strict number parser (STYLE.md rule 12). */
#include "common/parse.h"

#include "tests/unit/tap.h"

#include <errno.h>
#include <stdint.h>

#define SENTINEL64 0x5a5a5a5a5a5a5a5aull
#define SENTINEL32 0x5a5a5a5au

/* A rejected string returns want and leaves *ret as it was. */
static void refuse64(const char *s, uint64_t min, uint64_t max, int want)
{
	uint64_t v = SENTINEL64;
	is_errno(parse_u64(s, min, max, &v), want, "parse_u64(\"%s\", %llu, %llu) refused", s,
		 (unsigned long long)min, (unsigned long long)max);
	ok(v == SENTINEL64, "parse_u64(\"%s\") left *ret untouched", s);
}

static void accept64(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = SENTINEL64;
	is_errno(parse_u64(s, min, max, &v), 0, "parse_u64(\"%s\") accepted", s);
	ok(v == want, "parse_u64(\"%s\") = %llu", s, (unsigned long long)want);
}

static void refuse32(const char *s, uint32_t min, uint32_t max, int want)
{
	uint32_t v = SENTINEL32;
	is_errno(parse_u32(s, min, max, &v), want, "parse_u32(\"%s\", %u, %u) refused", s, min,
		 max);
	ok(v == SENTINEL32, "parse_u32(\"%s\") left *ret untouched", s);
}

static void accept32(const char *s, uint32_t min, uint32_t max, uint32_t want)
{
	uint32_t v = SENTINEL32;
	is_errno(parse_u32(s, min, max, &v), 0, "parse_u32(\"%s\") accepted", s);
	is_int(v, want, "parse_u32(\"%s\") = %u", s, want);
}

int main(void)
{
	/* Not a number: -EINVAL. */
	static const char
	    *const garbage[] =
		{
		    "",	   "-1", "+1",	" 1",  "1 ",	       "\t1", "1\n", "0x10",
		    "010", "00", "1a",	"a1",  "1.0",	       "1e3", "1,0", "-0",
		    "+0",  "0 ", "- 1", "--1", "\xef\xbc\x91", /* U+FF11, a full-width "1" */
		};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		refuse64(garbage[i], 0, UINT64_MAX, -EINVAL);
	{
		uint64_t v = SENTINEL64;
		is_errno(parse_u64(NULL, 0, UINT64_MAX, &v), -EINVAL, "parse_u64(NULL) refused");
	}

	/* Too big for 64 bits, or outside [min, max]: -ERANGE. */
	refuse64("18446744073709551616", 0, UINT64_MAX, -ERANGE);
	refuse64("99999999999999999999999999999", 0, UINT64_MAX, -ERANGE);
	refuse64("9", 10, 20, -ERANGE);
	refuse64("21", 10, 20, -ERANGE);
	refuse64("0", 1, UINT64_MAX, -ERANGE);
	refuse64("18446744073709551615", 0, UINT64_MAX - 1, -ERANGE);

	/* Accepted: "0", the bounds, the maximum. */
	accept64("0", 0, UINT64_MAX, 0);
	accept64("1", 0, UINT64_MAX, 1);
	accept64("10", 10, 20, 10);
	accept64("20", 10, 20, 20);
	accept64("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
	accept64("2013265920", 0, UINT64_MAX, 2013265920u);

	/* parse_u32: the same rules and its own width. */
	refuse32("", 0, UINT32_MAX, -EINVAL);
	refuse32("-1", 0, UINT32_MAX, -EINVAL);
	refuse32("+1", 0, UINT32_MAX, -EINVAL);
	refuse32(" 1", 0, UINT32_MAX, -EINVAL);
	refuse32("1 ", 0, UINT32_MAX, -EINVAL);
	refuse32("0x10", 0, UINT32_MAX, -EINVAL);
	refuse32("010", 0, UINT32_MAX, -EINVAL);
	refuse32("4294967296", 0, UINT32_MAX, -ERANGE);
	refuse32("18446744073709551616", 0, UINT32_MAX, -ERANGE);
	refuse32("999", 1000, 2147483647u, -ERANGE);
	refuse32("2147483648", 1000, 2147483647u, -ERANGE);
	accept32("0", 0, UINT32_MAX, 0);
	accept32("4294967295", 0, UINT32_MAX, UINT32_MAX);
	accept32("1000", 1000, 2147483647u, 1000);
	accept32("2147483647", 1000, 2147483647u, 2147483647u);

	return done_testing();
}
