#include "shell/env.h"

#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Exact names, and prefixes that end in '_'. */
static const char *const allowed[] = {
    "TERM", "LANG",	  "LANGUAGE",	    "TZ",      "COLORTERM",
    "LC_",  "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_ORIGINAL_COMMAND"};

static bool name_allowed(const char *var, size_t namelen)
{
	for (size_t i = 0; i < ELEMENTSOF(allowed); i++) {
		size_t n = strlen(allowed[i]);
		if (allowed[i][n - 1] == '_' ? namelen > n && strncmp(var, allowed[i], n) == 0
					     : namelen == n && strncmp(var, allowed[i], n) == 0)
			return true;
	}
	return false;
}

/* Printable ASCII only: no escape sequences into a log or a terminal title. */
static bool value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n > ENV_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

int env_keep_allowed(struct session_env *env, char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');
		if (!eq || !name_allowed(envp[i], (size_t)(eq - envp[i])) || !value_ok(eq + 1))
			continue;
		if (env->n >= ENV_MAX_VARS - 8) /* room for what we set ourselves */
			break;
		char name[64];
		if ((size_t)(eq - envp[i]) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - envp[i]), envp[i]);
		int r = env_set(env, name, eq + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int env_set(struct session_env *env, const char *name, const char *value)
{
	size_t nl = strlen(name);
	char *s = NULL;
	if (asprintf(&s, "%s=%s", name, value) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->vars[i], name, nl) == 0 && env->vars[i][nl] == '=') {
			free(env->vars[i]);
			env->vars[i] = s;
			return 0;
		}
	if (env->n >= ENV_MAX_VARS) {
		free(s);
		return -E2BIG;
	}
	env->vars[env->n++] = s;
	env->vars[env->n] = NULL;
	return 0;
}

void env_free(struct session_env *env)
{
	for (size_t i = 0; i < env->n; i++)
		free(env->vars[i]);
	env->n = 0;
	env->vars[0] = NULL;
}
