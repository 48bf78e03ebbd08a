/* pid 1 of a sandbox: the session-level process.  It outlives any one shell
 * (later: shells join and leave), reaps every orphan, forwards the terminal
 * and job signals to its shells, and exits with the status of the last one
 * (128 + signal when it was killed), which the kernel turns into a SIGKILL of
 * everything still running in the pid namespace. */
#ifndef EPHEMERA_SHELL_INIT_H
#define EPHEMERA_SHELL_INIT_H

#include <signal.h>
#include <sys/types.h>

/* The signals pid 1 forwards; blocked before the shell is forked. */
void init_signal_set(sigset_t *set);

/* Runs until the shell has exited; returns the exit status to report. */
int init_run(pid_t shell, const sigset_t *set);

/* A wait status as a shell reports it: the code, or 128 + signal. */
int init_status_code(int wstatus);

#endif
