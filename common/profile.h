/* The keys of a profile ([sandbox] or [profile NAME]): their parsers, the
 * defaults, and deep copy and free.  Internal to config.c. */
#ifndef EPHEMERA_PROFILE_H
#define EPHEMERA_PROFILE_H

#include "common/config.h"

#include <stddef.h>

/* Built-in defaults for the default profile; -ENOMEM. */
int profile_defaults(struct ephemera_profile *p);
/* dst becomes a deep copy of src, named name; -ENOMEM (dst then empty). */
int profile_copy(struct ephemera_profile *dst, const struct ephemera_profile *src,
		 const char *name);
void profile_free(struct ephemera_profile *p);

/* 1 when name is a profile key, 0 when not. */
int profile_is_key(const char *name);
/* Applies one key.  -EINVAL with the reason in msg; -EEXIST when the key was
 * given twice (mount may repeat); -ENOMEM. */
int profile_apply(struct ephemera_profile *p, const char *name, const char *value, char *msg,
		  size_t msglen);

/* Shared value checks. */
bool config_valid_abs_path(const char *s);
/* "64k", "512M", "4G", "1T" (powers of 1024) or bytes; -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* "90s", "30m", "8h", "2d" or seconds. */
int parse_duration(const char *s, uint32_t max, uint32_t *ret);

#endif
