/* Session names: adjective-adjective-surname, e.g. brave-loving-maxwell. */
#ifndef EPHEMERA_NAMES_H
#define EPHEMERA_NAMES_H

#include <stddef.h>

#define NAME_MAX_LEN 32

/* Writes a random name of at most NAME_MAX_LEN bytes to buf (size >= 33).
 * Returns 0 or -errno (getrandom failed). */
int name_generate(char *buf, size_t size);

/* Word lists (allocator/words.c). */
extern const char *const name_adjectives[];
extern const size_t name_n_adjectives;
extern const char *const name_surnames[];
extern const size_t name_n_surnames;

#endif
