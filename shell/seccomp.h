/* The sandbox's seccomp filter (DESIGN.md "The sandbox"), applied last, after
 * PR_SET_NO_NEW_PRIVS.  A policy is data: one table, printed by tests and
 * doctor, loaded in one loop.
 *
 * Default allow.  Any architecture but the native one (i386 through int 0x80,
 * x32 through __X32_SYSCALL_BIT) kills the process.  A rule answers an errno:
 * EPERM for what the sandbox refuses, ENOSYS where a fallback is wanted. */
#ifndef EPHEMERA_SHELL_SECCOMP_H
#define EPHEMERA_SHELL_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Syscall numbers 0..SECCOMP_SWEEP_LAST that the installed libseccomp cannot
 * name for the native architecture answer ENOSYS: newer than this build, so
 * closed until someone looks at them. */
#define SECCOMP_SWEEP_LAST 1023

struct seccomp_rule_desc {
	const char *group;    /* why, one line */
	const char *syscall;  /* its name; NULL for the sweep of unnamed numbers */
	int nr;		      /* native number (SCMP_SYS); -1 for the sweep */
	int errnum;	      /* answered errno: EPERM or ENOSYS */
	int arg;	      /* -1: always; else the argument that is compared */
	uint32_t mask, value; /* refused when (low 32 bits of arg & mask) == value */
};

/* The policy itself, for the tests and ephemeractl doctor. */
extern const struct seccomp_rule_desc sandbox_seccomp_rules[];
extern const size_t sandbox_seccomp_n_rules;
/* Added for network = host unless allow_unix: AF_UNIX socket/socketpair. */
extern const struct seccomp_rule_desc sandbox_seccomp_unix_rules[];
extern const size_t sandbox_seccomp_n_unix_rules;

/* Builds the filter from the table and loads it (with TSYNC).  Does not set
 * PR_SET_NO_NEW_PRIVS itself: the caller did, and without it (or
 * CAP_SYS_ADMIN) the kernel refuses with -EACCES.  Returns 0 or -errno. */
int sandbox_seccomp_apply(void);
int sandbox_seccomp_apply_variant(bool no_unix);

/* One line per rule: "syscall action [arg condition]  # group"; the sweep as
 * ranges of numbers; lines starting with '#' say what holds for all. */
void sandbox_seccomp_print(FILE *out);

/* Writes the BPF program that sandbox_seccomp_apply() would load to fd
 * (8 bytes an instruction), without loading it.  Returns 0 or -errno. */
int sandbox_seccomp_export_bpf(int fd);
int sandbox_seccomp_export_bpf_variant(int fd, bool no_unix);

/* The same program, compiled from the table when ephemera-shell was built
 * (shell/gen-seccomp.c): building it at every login costs ~15 ms of CPU.
 * "Numbers newer than the build knows" are then, to the letter, the build's.
 * Defined only in ephemera-shell (shell/seccomp-embedded.c). */
extern const unsigned char sandbox_seccomp_bpf[];
extern const size_t sandbox_seccomp_bpf_size;
/* The same with sandbox_seccomp_unix_rules (network = host, no allow_unix). */
extern const unsigned char sandbox_seccomp_bpf_nounix[];
extern const size_t sandbox_seccomp_bpf_nounix_size;
int sandbox_seccomp_load(void);
int sandbox_seccomp_load_variant(bool no_unix);

#endif
