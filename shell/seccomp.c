#include "shell/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Why each group is refused, one line: printed after every rule of the group. */
static const char G_MOUNT[] = "mount: the mount tree is final; no remount, no way out";
static const char G_NS[] = "namespace: a user namespace gives capabilities back; no joining others";
static const char G_CLONE3[] = "clone3: flags the filter cannot read; libc falls back to clone";
static const char G_KEYS[] = "keyring: kernel keyrings are not namespaced";
static const char G_BPF[] = "bpf: a large kernel attack surface a login does not need";
static const char G_PERF[] = "perf: kernel attack surface and side channels";
static const char G_MODULE[] = "module: loading kernel code is the host's business";
static const char G_KEXEC[] = "kexec: replacing the running kernel";
static const char G_REBOOT[] = "reboot: the machine is shared";
static const char G_SWAP[] = "swap: the host's swap devices";
static const char G_ACCT[] = "acct: process accounting is host-wide";
static const char G_CLOCK[] = "clock: the system clock is the host's, not namespaced";
static const char G_HANDLE[] = "handle: file handles open files past the mount namespace";
static const char G_UFFD[] = "userfaultfd: lets an exploit stall the kernel mid-copy";
static const char G_URING[] = "io_uring: much exploited, and its operations bypass this filter";
static const char G_SYSLOG[] = "syslog: the kernel log shows kernel addresses and host messages";
static const char G_IOPORT[] = "ioport: raw hardware I/O ports";
static const char G_DCOOKIE[] = "dcookie: obsolete oprofile interface (gone since Linux 6.10)";
static const char G_PERSONA[] = "personality: only 0, ADDR_NO_RANDOMIZE (gdb) and the query";
static const char G_TTY[] = "tty: TIOCSTI/TIOCLINUX type into the owner's tty (su); TIOCSETD";
static const char G_VSOCK[] = "vsock: talks to the hypervisor, past the network namespace";
static const char G_UNIX[] = "unix: network = host shares the host's abstract AF_UNIX sockets";
static const char G_UNKNOWN[] = "unknown: newer than this libseccomp; ENOSYS until reviewed";

#define ALWAYS(g, name, err)                                                                       \
	{                                                                                          \
		g, #name, SCMP_SYS(name), err, -1, 0, 0                                            \
	}
#define MATCH(g, name, a, m, v)                                                                    \
	{                                                                                          \
		g, #name, SCMP_SYS(name), EPERM, a, m, v                                           \
	}
/* A clone/namespace flag set in the low 32 bits of the flags argument. */
#define CLONE_FLAG(f) MATCH(G_NS, clone, 0, f, f)
/* personality(2): bit i set and bit j clear; see the ring below. */
#define PERSONA(i, j) MATCH(G_PERSONA, personality, 0, (1u << (i)) | (1u << (j)), 1u << (i))

/* Every argument compare is on the low 32 bits only, as (arg & mask) == value:
 * ioctl's cmd, socket's family and personality are unsigned int or int in the
 * kernel, clone uses lower_32_bits(flags), so bits 32..63 are ignored there and
 * must be ignored here.  libseccomp's SCMP_A1_32(SCMP_CMP_EQ, TIOCSTI) is not
 * enough: it only casts the datum and still checks that the high word is 0, so
 * TIOCSTI | 1UL << 32 would pass (CVE-2019-10063, CVE-2019-7303; the unit
 * test shows it).  A masked compare with a 32-bit mask leaves the high word
 * unchecked.
 *
 * Not here on purpose: ptrace stays allowed.  The sandbox has its own pid
 * namespace, so only the session's own processes are reachable, and gdb and
 * strace inside should work. */
const struct seccomp_rule_desc sandbox_seccomp_rules[] = {
    ALWAYS(G_MOUNT, mount, EPERM),
    ALWAYS(G_MOUNT, umount2, EPERM),
    ALWAYS(G_MOUNT, pivot_root, EPERM),
    ALWAYS(G_MOUNT, chroot, EPERM),
    ALWAYS(G_MOUNT, fsopen, EPERM),
    ALWAYS(G_MOUNT, fsconfig, EPERM),
    ALWAYS(G_MOUNT, fsmount, EPERM),
    ALWAYS(G_MOUNT, fspick, EPERM),
    ALWAYS(G_MOUNT, open_tree, EPERM),
    ALWAYS(G_MOUNT, move_mount, EPERM),
    ALWAYS(G_MOUNT, mount_setattr, EPERM),

    ALWAYS(G_NS, unshare, EPERM),
    ALWAYS(G_NS, setns, EPERM),
    /* One rule per flag: a set bit, whatever else is set.  CLONE_NEWTIME
     * (0x80) lies in clone()'s exit-signal byte, where it is never a valid
     * signal, so refusing it costs nothing and closes the flag if a kernel
     * ever reads it there. */
    CLONE_FLAG(CLONE_NEWNS),
    CLONE_FLAG(CLONE_NEWUTS),
    CLONE_FLAG(CLONE_NEWIPC),
    CLONE_FLAG(CLONE_NEWUSER),
    CLONE_FLAG(CLONE_NEWPID),
    CLONE_FLAG(CLONE_NEWNET),
    CLONE_FLAG(CLONE_NEWCGROUP),
    CLONE_FLAG(CLONE_NEWTIME),
    ALWAYS(G_CLONE3, clone3, ENOSYS),

    ALWAYS(G_KEYS, keyctl, EPERM),
    ALWAYS(G_KEYS, add_key, EPERM),
    ALWAYS(G_KEYS, request_key, EPERM),
    ALWAYS(G_BPF, bpf, EPERM),
    ALWAYS(G_PERF, perf_event_open, EPERM),
    ALWAYS(G_MODULE, init_module, EPERM),
    ALWAYS(G_MODULE, finit_module, EPERM),
    ALWAYS(G_MODULE, delete_module, EPERM),
    ALWAYS(G_KEXEC, kexec_load, EPERM),
    ALWAYS(G_KEXEC, kexec_file_load, EPERM),
    ALWAYS(G_REBOOT, reboot, EPERM),
    ALWAYS(G_SWAP, swapon, EPERM),
    ALWAYS(G_SWAP, swapoff, EPERM),
    ALWAYS(G_ACCT, acct, EPERM),
    ALWAYS(G_CLOCK, settimeofday, EPERM),
    ALWAYS(G_CLOCK, clock_settime, EPERM),
    ALWAYS(G_CLOCK, clock_adjtime, EPERM),
    ALWAYS(G_CLOCK, adjtimex, EPERM),
    ALWAYS(G_HANDLE, open_by_handle_at, EPERM),
    ALWAYS(G_HANDLE, name_to_handle_at, EPERM),
    ALWAYS(G_UFFD, userfaultfd, EPERM),
    ALWAYS(G_URING, io_uring_setup, EPERM),
    ALWAYS(G_URING, io_uring_enter, EPERM),
    ALWAYS(G_URING, io_uring_register, EPERM),
    ALWAYS(G_SYSLOG, syslog, EPERM),
    ALWAYS(G_IOPORT, iopl, EPERM),
    ALWAYS(G_IOPORT, ioperm, EPERM),
    ALWAYS(G_DCOOKIE, lookup_dcookie, EPERM),

    /* personality(p) is allowed for exactly three values: 0 (PER_LINUX),
     * 0x0040000 (ADDR_NO_RANDOMIZE, which gdb sets) and 0xffffffff (the
     * query).  Everything else is refused: READ_IMPLIES_EXEC,
     * ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB,
     * SHORT_INODE, WHOLE_SECONDS, STICKY_TIMEOUTS, FDPIC_FUNCPTRS, UNAME26,
     * any personality type in the low byte, and flags not invented yet.
     *
     * libseccomp compares an argument at most once per rule (a second
     * compare is -EINVAL), so the refused set is a union of rules of the
     * form "bit i set and bit j clear".  Such a rule never matches 0 or
     * 0xffffffff.  One rule per dangerous bit ("bit set") would refuse the
     * query 0xffffffff too, and adding "bit 31 clear" would let 0x80400000
     * through, which the kernel accepts as READ_IMPLIES_EXEC.
     *
     * Put the 31 bits other than bit 18 (ADDR_NO_RANDOMIZE) on a ring and
     * refuse "bit i set, next bit clear" for each neighbour pair.  A value
     * whose bits other than 18 are neither all clear nor all set has such a
     * pair somewhere on the ring.  All clear: 0 or 0x40000, allowed.  All
     * set: 0xffffffff, allowed, or 0xfffbffff, refused by the last rule
     * (bit 31 set, bit 18 clear).  32 rules, and the set is exact. */
    PERSONA(0, 1),
    PERSONA(1, 2),
    PERSONA(2, 3),
    PERSONA(3, 4),
    PERSONA(4, 5),
    PERSONA(5, 6),
    PERSONA(6, 7),
    PERSONA(7, 8),
    PERSONA(8, 9),
    PERSONA(9, 10),
    PERSONA(10, 11),
    PERSONA(11, 12),
    PERSONA(12, 13),
    PERSONA(13, 14),
    PERSONA(14, 15),
    PERSONA(15, 16),
    PERSONA(16, 17),
    PERSONA(17, 19),
    PERSONA(19, 20),
    PERSONA(20, 21),
    PERSONA(21, 22),
    PERSONA(22, 23),
    PERSONA(23, 24),
    PERSONA(24, 25),
    PERSONA(25, 26),
    PERSONA(26, 27),
    PERSONA(27, 28),
    PERSONA(28, 29),
    PERSONA(29, 30),
    PERSONA(30, 31),
    PERSONA(31, 0),
    PERSONA(31, 18),

    MATCH(G_TTY, ioctl, 1, 0xffffffffu, TIOCSTI),
    MATCH(G_TTY, ioctl, 1, 0xffffffffu, TIOCLINUX),
    MATCH(G_TTY, ioctl, 1, 0xffffffffu, TIOCSETD),
    MATCH(G_VSOCK, socket, 0, 0xffffffffu, AF_VSOCK),

    /* Last, so that every named rule above is known when the sweep skips them. */
    {G_UNKNOWN, NULL, -1, ENOSYS, -1, 0, 0},
};
const size_t sandbox_seccomp_n_rules =
    sizeof(sandbox_seccomp_rules) / sizeof(sandbox_seccomp_rules[0]);

/* network = host without allow_unix: the sandbox is in the host's network
 * namespace, where abstract AF_UNIX sockets (named by the namespace, not by
 * a file the mount namespace could hide) of the host's daemons answer. */
const struct seccomp_rule_desc sandbox_seccomp_unix_rules[] = {
    MATCH(G_UNIX, socket, 0, 0xffffffffu, AF_UNIX),
    MATCH(G_UNIX, socketpair, 0, 0xffffffffu, AF_UNIX),
};
const size_t sandbox_seccomp_n_unix_rules =
    sizeof(sandbox_seccomp_unix_rules) / sizeof(sandbox_seccomp_unix_rules[0]);

/* Does the sweep take nr?  Only when libseccomp cannot name it for the native
 * architecture and no named rule of the table already decides it. */
static bool sweep_takes(int nr)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (name) {
		free(name);
		return false;
	}
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++)
		if (sandbox_seccomp_rules[i].syscall && sandbox_seccomp_rules[i].nr == nr)
			return false;
	return true;
}

static int rule_add(scmp_filter_ctx ctx, const struct seccomp_rule_desc *r)
{
	if (!r->syscall) {
		for (int nr = 0; nr <= SECCOMP_SWEEP_LAST; nr++) {
			if (!sweep_takes(nr))
				continue;
			int k = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(r->errnum), nr, 0);
			if (k < 0)
				return k;
		}
		return 0;
	}
	/* Negative: a pseudo number, the headers do not know this syscall for
	 * this architecture.  Refuse to load a policy with a hole in it. */
	if (r->nr < 0)
		return -EINVAL;
	if (r->arg < 0)
		return seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(r->errnum), r->nr, 0);
	return seccomp_rule_add_exact(
	    ctx, SCMP_ACT_ERRNO(r->errnum), r->nr, 1,
	    SCMP_CMP32((unsigned)r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value));
}

static int filter_build(scmp_filter_ctx *ret_ctx, bool no_unix)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;

	/* Native architecture only (seccomp_init adds no other): int 0x80 and
	 * x32 numbers die.  NNP is the caller's job.  TSYNC: no thread stays
	 * unfiltered.  Binary tree: about 700 rules, log2 compares a call.
	 * SYSRAWRC: the kernel's errno, not libseccomp's -ECANCELED. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r >= 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r >= 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r >= 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r >= 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	for (size_t i = 0; r >= 0 && i < sandbox_seccomp_n_rules; i++)
		r = rule_add(ctx, &sandbox_seccomp_rules[i]);
	for (size_t i = 0; r >= 0 && no_unix && i < sandbox_seccomp_n_unix_rules; i++)
		r = rule_add(ctx, &sandbox_seccomp_unix_rules[i]);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*ret_ctx = ctx;
	return 0;
}

int sandbox_seccomp_apply(void)
{
	return sandbox_seccomp_apply_variant(false);
}

int sandbox_seccomp_apply_variant(bool no_unix)
{
	scmp_filter_ctx ctx;
	int r = filter_build(&ctx, no_unix);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

int sandbox_seccomp_export_bpf(int fd)
{
	return sandbox_seccomp_export_bpf_variant(fd, false);
}

int sandbox_seccomp_export_bpf_variant(int fd, bool no_unix)
{
	scmp_filter_ctx ctx;
	int r = filter_build(&ctx, no_unix);
	if (r < 0)
		return r;
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

static void print_sweep(FILE *out, const struct seccomp_rule_desc *r)
{
	for (int nr = 0; nr <= SECCOMP_SWEEP_LAST; nr++) {
		if (!sweep_takes(nr))
			continue;
		int last = nr;
		while (last < SECCOMP_SWEEP_LAST && sweep_takes(last + 1))
			last++;
		if (last > nr)
			fprintf(out, "%d..%d", nr, last);
		else
			fprintf(out, "%d", nr);
		fprintf(out, " errno(%s)  # %s\n", strerrorname_np(r->errnum), r->group);
		nr = last;
	}
}

static void print_rules(FILE *out, const struct seccomp_rule_desc *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct seccomp_rule_desc *r = &rules[i];
		if (!r->syscall) {
			print_sweep(out, r);
			continue;
		}
		fprintf(out, "%s errno(%s)", r->syscall, strerrorname_np(r->errnum));
		if (r->arg >= 0)
			fprintf(out, " a%d & %#x == %#x", r->arg, r->mask, r->value);
		fprintf(out, "  # %s\n", r->group);
	}
}

void sandbox_seccomp_print(FILE *out)
{
	fprintf(out, "# default: allow; compares use the low 32 bits of an argument\n");
	fprintf(out, "# other architectures (i386 int 0x80, x32 nr | 0x40000000): kill-process\n");
	print_rules(out, sandbox_seccomp_rules, sandbox_seccomp_n_rules);
	fprintf(out, "# network = host without allow_unix, also:\n");
	print_rules(out, sandbox_seccomp_unix_rules, sandbox_seccomp_n_unix_rules);
}
