/* Facts about processes from /proc, for binding a shell to its login and for
 * telling a live leader from a recycled pid. */
#ifndef EPHEMERA_PROC_H
#define EPHEMERA_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A pid is only a name until paired with its start time (clock ticks after
 * boot, /proc/PID/stat field 22): the pair never repeats. */
struct proc_id {
	pid_t pid;
	uint64_t start;
};

int proc_identify(pid_t pid, struct proc_id *ret);
int proc_parent(pid_t pid, pid_t *ret_ppid);

/* Up to max ancestors of the calling process, parent first.  Returns how many. */
int proc_ancestors(struct proc_id *ret, size_t max);

/* The controlling terminal of the live process id (0: it has none), as a
 * device number; -ESRCH when id names no live process. */
int proc_ctty(const struct proc_id *id, dev_t *ret);

/* 1 if id still names a live process, 0 if not. */
int proc_alive(const struct proc_id *id);

/* 1 if id names a live process that has not exited: a zombie (exited, not
 * yet reaped by its parent) is not running; 0 if not. */
int proc_running(const struct proc_id *id);

/* A pidfd (close-on-exec) of the process id names, proven to be that very
 * process: its start time is read after the pidfd is open, and the pidfd is
 * asked again after that, so a pid given to another process meanwhile is
 * never taken for it.  -ESRCH when id names no live process. */
int proc_pidfd_open(const struct proc_id *id);

/* Waits up to timeout_ms for the process id names to exit: 0 once it has
 * (or if it was gone already), -ETIMEDOUT if it still runs. */
int proc_wait_exit(const struct proc_id *id, int timeout_ms);

#endif
