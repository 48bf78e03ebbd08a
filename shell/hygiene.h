/* What a setuid program does first, before it looks at anything the caller
 * gave it (STYLE.md 7, DESIGN.md "What every part must hold"). */
#ifndef EPHEMERA_SHELL_HYGIENE_H
#define EPHEMERA_SHELL_HYGIENE_H

#include <stddef.h>
#include <sys/types.h>

#define ARGS_MAX_COUNT 8
#define ARGS_MAX_BYTES (256 * 1024)

/* Not dumpable, fds above 2 closed, 0-2 open, umask 077, signals default and
 * unblocked (but the terminal's stop signals ignored), no core dumps, and
 * every uid and gid root's: *ret_caller is the real uid we were started with,
 * the only place it is kept.  Returns 0 or -errno (the caller dies). */
int hygiene_early(uid_t *ret_caller);

/* Whether argv stays within ARGS_MAX_COUNT and ARGS_MAX_BYTES. */
int hygiene_check_args(int argc, char **argv);

#endif
