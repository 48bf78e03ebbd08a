/* allocator/names.h: the word lists and name_generate().
 *
 * How the checks were shown to bite (mutations in a copy under /tmp):
 *  - adding "magnificent" (11 letters) to name_adjectives -> "adjectives are at
 *    most 9 letters" fails; adding a second "bohr" -> "surnames are unique" fails;
 *  - random_below() returning v % (n - 1) (the last word never drawn) -> "every
 *    adjective appears" fails;
 *  - dropping the a == b retry loop -> "two different adjectives" fails. */
#include "allocator/names.h"

#include "common/config.h"
#include "common/util.h"
#include "tests/unit/tap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define N_NAMES 10000

static bool lower_az(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < 'a' || *s > 'z')
			return false;
	return true;
}

/* Checks one list: lengths, alphabet, duplicates. */
static void check_list(const char *what, const char *const *words, size_t n, size_t max_len)
{
	size_t too_long = 0, bad_chars = 0, dups = 0;
	for (size_t i = 0; i < n; i++) {
		if (strlen(words[i]) > max_len) {
			diag("%s '%s' is longer than %zu", what, words[i], max_len);
			too_long++;
		}
		if (!lower_az(words[i])) {
			diag("%s '%s' is not lowercase a-z", what, words[i]);
			bad_chars++;
		}
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(words[i], words[j]) == 0) {
				diag("%s '%s' appears twice", what, words[i]);
				dups++;
			}
	}
	ok(n >= 50, "%s: %zu words", what, n);
	is_int(too_long, 0, "%s are at most %zu letters", what, max_len);
	is_int(bad_chars, 0, "%s are lowercase a-z only", what);
	is_int(dups, 0, "%s are unique", what);
}

static long find(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], w) == 0)
			return (long)i;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int main(void)
{
	check_list("adjectives", name_adjectives, name_n_adjectives, 9);
	check_list("surnames", name_surnames, name_n_surnames, 12);

	char small[NAME_MAX_LEN];
	is_errno(name_generate(small, sizeof(small)), -EINVAL,
		 "a buffer under 33 bytes is refused");

	static char names[N_NAMES][NAME_MAX_LEN + 1];
	static unsigned adj_seen[512], sur_seen[512];
	size_t gen_err = 0, invalid = 0, too_long = 0, bad_shape = 0, same_adj = 0, not_ours = 0;
	for (size_t i = 0; i < N_NAMES; i++) {
		char *name = names[i];
		if (name_generate(name, sizeof(names[i])) < 0) {
			gen_err++;
			continue;
		}
		if (!config_valid_name(name))
			invalid++;
		if (strlen(name) > NAME_MAX_LEN)
			too_long++;
		if (!name_is_generated(name))
			not_ours++;
		char copy[NAME_MAX_LEN + 1], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", name);
		char *a = strtok_r(copy, "-", &save), *b = strtok_r(NULL, "-", &save);
		char *s = strtok_r(NULL, "-", &save), *extra = strtok_r(NULL, "-", &save);
		long ia = a ? find(name_adjectives, name_n_adjectives, a) : -1;
		long ib = b ? find(name_adjectives, name_n_adjectives, b) : -1;
		long is = s ? find(name_surnames, name_n_surnames, s) : -1;
		if (ia < 0 || ib < 0 || is < 0 || extra) {
			if (bad_shape++ < 5)
				diag("'%s' is not adjective-adjective-surname", name);
			continue;
		}
		if (ia == ib)
			same_adj++;
		if ((size_t)ia < ELEMENTSOF(adj_seen) && (size_t)ib < ELEMENTSOF(adj_seen)) {
			adj_seen[ia]++;
			adj_seen[ib]++;
		}
		if ((size_t)is < ELEMENTSOF(sur_seen))
			sur_seen[is]++;
	}
	is_int(gen_err, 0, "%d names generated", N_NAMES);
	is_int(invalid, 0, "all pass config_valid_name");
	is_int(too_long, 0, "all at most %d bytes", NAME_MAX_LEN);
	is_int(bad_shape, 0, "all are adjective-adjective-surname from the lists");
	is_int(same_adj, 0, "two different adjectives in every name");
	is_int(not_ours, 0, "name_is_generated() knows every generated name");

	/* Repair removes only directories for which name_is_generated() holds. */
	static const char *const foreign[] = {
	    "admin",
	    "lost+found",
	    "brave-loving",
	    "brave-loving-maxwell-x",
	    "brave-loving-",
	    "-loving-maxwell",
	    "brave--maxwell",
	    "Brave-loving-maxwell",
	    "brave-loving-maxwel",
	    "brav-loving-maxwell",
	    "brave-loving-maxwellx",
	    "",
	};
	for (size_t i = 0; i < ELEMENTSOF(foreign); i++)
		ok(!name_is_generated(foreign[i]), "name_is_generated(\"%s\") is false",
		   foreign[i]);

	/* With ~100 adjectives drawn 20000 times and ~100 surnames 10000 times, a
	 * word never drawn means it cannot be (odds of chance: below 1e-30). */
	size_t adj_missing = 0, sur_missing = 0;
	for (size_t i = 0; i < name_n_adjectives && i < ELEMENTSOF(adj_seen); i++)
		adj_missing += adj_seen[i] == 0;
	for (size_t i = 0; i < name_n_surnames && i < ELEMENTSOF(sur_seen); i++)
		sur_missing += sur_seen[i] == 0;
	is_int(adj_missing, 0, "every adjective appears");
	is_int(sur_missing, 0, "every surname appears");

	qsort(names, N_NAMES, sizeof(names[0]), cmp_str);
	size_t distinct = N_NAMES ? 1 : 0;
	for (size_t i = 1; i < N_NAMES; i++)
		distinct += strcmp(names[i - 1], names[i]) != 0;
	ok(distinct >= 9000, "%zu of %d names distinct (>= 9000)", distinct, N_NAMES);

	return done_testing();
}
