/* Session names: adjective-adjective-surname, e.g. brave-loving-maxwell. */
#ifndef EPHEMERA_NAMES_H
#define EPHEMERA_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN 32

/* Writes a random name of at most NAME_MAX_LEN bytes to buf (size >= 33).
 * Returns 0 or -errno (getrandom failed). */
int name_generate(char *buf, size_t size);

/* Whether s is a name name_generate() could have made (three words from the
 * lists).  Repair removes only such directories: anything else is not ours. */
bool name_is_generated(const char *s);

/* Word lists (allocator/words.c). */
extern const char *const name_adjectives[];
extern const size_t name_n_adjectives;
extern const char *const name_surnames[];
extern const size_t name_n_surnames;

#endif
