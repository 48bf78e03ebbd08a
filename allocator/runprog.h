/* Running a fixed program: fork + execve with a fixed path, a fixed argv and
 * a fixed environment, never through a shell.  For useradd/usermod/userdel
 * (setup-gateway) and sshd -T (doctor). */
#ifndef EPHEMERA_RUNPROG_H
#define EPHEMERA_RUNPROG_H

#include <stddef.h>

/* Runs argv[0] (an absolute path) with argv, stdin on /dev/null, every fd
 * above 2 closed and PATH and LC_ALL=C as the whole environment.  With out,
 * the program's stdout and stderr are read into out (NUL-terminated; what
 * does not fit is read and dropped); without, both are ours.  Returns the exit status (0-255), -ECHILD if a signal killed it, or
 * -errno when it could not be run. */
int runprog(const char *const argv[], char *out, size_t outlen);

#endif
