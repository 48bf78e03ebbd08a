/* The environment of the session, built from scratch (STYLE.md 8): a few
 * harmless facts the caller may pass (terminal, locale, time zone, the
 * read-only SSH_* facts), then HOME, USER, LOGNAME, SHELL and PATH for the
 * transient user.  Everything else the caller set is dropped. */
#ifndef EPHEMERA_SHELL_ENV_H
#define EPHEMERA_SHELL_ENV_H

#include <stddef.h>

#define ENV_MAX_VARS  48
#define ENV_MAX_VALUE 1024

struct session_env {
	char *vars[ENV_MAX_VARS + 1]; /* NULL-terminated, malloc'ed strings */
	size_t n;
};

/* Keeps the allowed variables of envp (the caller's); call before clearenv(). */
int env_keep_allowed(struct session_env *env, char *const *envp);
/* Adds NAME=value, replacing an existing NAME. */
int env_set(struct session_env *env, const char *name, const char *value);
void env_free(struct session_env *env);

#endif
