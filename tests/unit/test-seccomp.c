/* shell/seccomp.h: the sandbox's seccomp policy, rule by rule.
 *
 * Every call runs in a child (a SIGSYS must not take the test down): with the
 * filter (PR_SET_NO_NEW_PRIVS, then sandbox_seccomp_apply(), as ephemera-shell
 * does) it must answer the policy's errno; the same call without the filter
 * must answer something else, so each assertion can fail.  The arguments are
 * chosen so that, unfiltered and as root, the kernel refuses them before doing
 * anything (a bad pointer, an invalid flag): nothing on the machine changes.
 *
 * Each defence was checked by a mutation of shell/seccomp.c in a copy of the
 * tree:
 *  - ioctl/socket compared with SCMP_A1_32(SCMP_CMP_EQ, ...) -> every "high
 *    bits set" test of ioctl and socket fails, and TIOCSTI | 1 << 32 on the
 *    pty (libseccomp still checks the high word against 0);
 *  - a rule deleted (mount, clone3, TIOCSTI, CLONE_NEWUSER, AF_VSOCK) -> its
 *    "filtered: ... answers" test fails;
 *  - the AF_VSOCK rule made unconditional -> "socket(AF_UNIX) works" and
 *    "every rule of the table is one the policy asks for" fail;
 *  - a rule added (getppid) -> "every rule ... the policy asks for" fails;
 *  - BADARCH left at libseccomp's default (KILL_THREAD) -> "int 0x80 in a
 *    second thread kills the whole process" fails (the main thread lives on);
 *  - the sweep deleted -> the statmount/listmount/mseal tests fail;
 *  - a personality ring rule changed or deleted, or (31, 18) deleted -> the
 *    model test fails, and personality(0x7fffffff / 0xfffbffff);
 *  - CTL_NNP left at 1 -> "does not set PR_SET_NO_NEW_PRIVS" fails;
 *  - API_SYSRAWRC left at 0 -> "-EACCES without NNP" fails (-ECANCELED);
 *  - CTL_TSYNC left at 0 -> "a thread started before the filter" fails.
 * Without the binary tree (CTL_OPTIMIZE 2) everything passes: it only makes
 * an allowed call cheaper (about 700 rules: log2 compares instead of all). */
#include "shell/seccomp.h"

#include "common/util.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BAD		1L	   /* an address that always faults */
#define PIPE_FD		(-1000L)   /* stands for the read end of probe_pipe */
#define NO_ANSWER	(-4095)	   /* the child did not come back with an answer */
#define HIGH		(1L << 32) /* a bit the kernel drops from 32-bit arguments */
#define X32_SYSCALL_BIT 0x40000000L

static int probe_pipe[2] = {-1, -1};

/* How one child went. */
struct outcome {
	pid_t pid;
	bool returned; /* the call came back; value holds what it answered */
	long value;    /* >= 0, or -errno */
	int setup;     /* 0, or -errno: the filter could not be applied */
	int status;    /* from waitpid */
};

struct report {
	int setup;
	long value;
};

typedef long (*call_fn)(const void *arg);

/* Runs fn in a child, with or without the filter. */
static struct outcome run(bool filtered, call_fn fn, const void *arg)
{
	struct outcome o = {.pid = -1, .setup = NO_ANSWER};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return o;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return o;
	}
	if (pid == 0) {
		struct report rep = {0, 0};
		struct rlimit no_core = {0, 0};
		close(p[0]);
		/* A SIGSYS dumps core by default; leave no core file behind. */
		setrlimit(RLIMIT_CORE, &no_core);
		if (filtered) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				rep.setup = -errno;
			else
				rep.setup = sandbox_seccomp_apply();
		}
		if (rep.setup == 0)
			rep.value = fn(arg);
		if (write(p[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	struct report rep;
	ssize_t n;
	do
		n = read(p[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &o.status, 0) < 0 && errno == EINTR)
		;
	o.pid = pid;
	if (n == (ssize_t)sizeof(rep)) {
		o.setup = rep.setup;
		o.returned = rep.setup == 0;
		o.value = rep.value;
	}
	return o;
}

/* What the call answered, for is_errno(); says why when there is no answer. */
static int answer(const struct outcome *o)
{
	if (o->returned)
		return o->value > INT_MAX ? INT_MAX : (int)o->value;
	if (o->setup != NO_ANSWER && o->setup != 0)
		diag("  the filter was not applied: %s", strerror(-o->setup));
	else if (o->pid < 0)
		diag("  no child (pipe or fork failed)");
	else if (WIFSIGNALED(o->status))
		diag("  the child was killed by %s", strsignal(WTERMSIG(o->status)));
	else
		diag("  the child exited with %d before answering", WEXITSTATUS(o->status));
	return NO_ANSWER;
}

static const char *errname(long v)
{
	if (v >= 0)
		return "success";
	const char *s = v == NO_ANSWER ? NULL : strerrorname_np((int)-v);
	return s ? s : "no answer";
}

static bool killed_by(const struct outcome *o, int sig)
{
	return o->pid > 0 && !o->returned && WIFSIGNALED(o->status) && WTERMSIG(o->status) == sig;
}

/* ---- raw system calls ---------------------------------------------------- */

struct raw {
	long nr;
	long a[6];
};

static long call_raw(const void *arg)
{
	const struct raw *c = arg;
	long r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	if (r < 0)
		return -errno;
	if (c->nr == SYS_clone) {
		if (r == 0)
			_exit(0); /* the new process of a clone that was let through */
		waitpid((pid_t)r, NULL, __WALL);
	}
	return r;
}

static struct outcome run_raw(bool filtered, long nr, const long a[6])
{
	struct raw c = {.nr = nr};
	for (int i = 0; i < 6; i++)
		c.a[i] = a[i] == PIPE_FD ? probe_pipe[0] : a[i];
	return run(filtered, call_raw, &c);
}

static const char *fmt_call(const char *name, const long a[6])
{
	static char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s(", name);
	for (int i = 0; i < 6 && n > 0 && (size_t)n < sizeof(buf); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%#lx", i ? ", " : "",
			      (unsigned long)a[i]);
	if (n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ")");
	return buf;
}

/* Arguments for every syscall of the table.  Unfiltered, as root, each is
 * refused (the answer in the comment) before the kernel acts; a rule's
 * compared argument is then set to match the rule. */
struct probe {
	const char *syscall;
	long a[6];
};

static const struct probe probes[] = {
    {"mount", {BAD, BAD, BAD, 0, 0, 0}},		      /* EFAULT */
    {"umount2", {BAD, (long)0x80000000u, 0, 0, 0, 0}},	      /* EINVAL: flags */
    {"pivot_root", {BAD, BAD, 0, 0, 0, 0}},		      /* EFAULT */
    {"chroot", {BAD, 0, 0, 0, 0, 0}},			      /* EFAULT */
    {"fsopen", {BAD, 0x80, 0, 0, 0, 0}},		      /* EINVAL: flags */
    {"fsconfig", {-1, 0x7fff, 0, 0, 0, 0}},		      /* EOPNOTSUPP/EBADF */
    {"fsmount", {-1, (long)0x80000000u, 0, 0, 0, 0}},	      /* EINVAL: flags */
    {"fspick", {-1, BAD, (long)0x80000000u, 0, 0, 0}},	      /* EINVAL: flags */
    {"open_tree", {-1, BAD, (long)0x80000000u, 0, 0, 0}},     /* EINVAL: flags */
    {"move_mount", {-1, BAD, -1, BAD, (long)0x80000000u, 0}}, /* EINVAL: flags */
    {"mount_setattr", {-1, BAD, (long)0x80000000u, 0, 0, 0}}, /* EINVAL: flags */
    {"unshare", {0x1, 0, 0, 0, 0, 0}},			      /* EINVAL: a CSIGNAL bit */
    {"setns", {-1, 0, 0, 0, 0, 0}},			      /* EBADF */
    /* CLONE_THREAD without CLONE_SIGHAND: EINVAL before any namespace is made. */
    {"clone", {CLONE_THREAD, 0, 0, 0, 0, 0}},
    {"clone3", {0, 0, 0, 0, 0, 0}},			  /* EINVAL: size 0 */
    {"keyctl", {0x7fff, 0, 0, 0, 0, 0}},		  /* EOPNOTSUPP */
    {"add_key", {BAD, BAD, 0, 0, 0, 0}},		  /* EFAULT */
    {"request_key", {BAD, BAD, 0, 0, 0, 0}},		  /* EFAULT */
    {"bpf", {0x7fff, 0, 0, 0, 0, 0}},			  /* EINVAL: cmd */
    {"perf_event_open", {BAD, 0, -1, -1, ~0L, 0}},	  /* EINVAL: flags */
    {"init_module", {BAD, 0, BAD, 0, 0, 0}},		  /* EFAULT, ENOSYS */
    {"finit_module", {-1, BAD, 0, 0, 0, 0}},		  /* EBADF, ENOSYS */
    {"delete_module", {BAD, 0, 0, 0, 0, 0}},		  /* EFAULT, ENOSYS */
    {"kexec_load", {0, 0, 0, 1L << 16, 0, 0}},		  /* EINVAL: arch, ENOSYS */
    {"kexec_file_load", {-1, -1, 0, 0, 1L << 30, 0}},	  /* EINVAL, ENOSYS */
    {"reboot", {0, 0, 0, 0, 0, 0}},			  /* EINVAL: no magic */
    {"swapon", {BAD, 0, 0, 0, 0, 0}},			  /* EFAULT */
    {"swapoff", {BAD, 0, 0, 0, 0, 0}},			  /* EFAULT */
    {"acct", {BAD, 0, 0, 0, 0, 0}},			  /* EFAULT (never NULL: off) */
    {"settimeofday", {BAD, 0, 0, 0, 0, 0}},		  /* EFAULT */
    {"clock_settime", {CLOCK_REALTIME, BAD, 0, 0, 0, 0}}, /* EFAULT */
    {"clock_adjtime", {CLOCK_REALTIME, BAD, 0, 0, 0, 0}}, /* EFAULT */
    {"adjtimex", {BAD, 0, 0, 0, 0, 0}},			  /* EFAULT */
    {"open_by_handle_at", {-1, BAD, 0, 0, 0, 0}},	  /* EFAULT/EBADF */
    {"name_to_handle_at", {-1, BAD, BAD, BAD, 0, 0}},	  /* EFAULT/EBADF */
    {"userfaultfd", {0x2, 0, 0, 0, 0, 0}},		  /* EINVAL: flags */
    {"io_uring_setup", {1, BAD, 0, 0, 0, 0}},		  /* EFAULT */
    {"io_uring_enter", {-1, 0, 0, 0, 0, 0}},		  /* EBADF */
    {"io_uring_register", {-1, 0, 0, 0, 0, 0}},		  /* EBADF */
    {"syslog", {99, 0, 0, 0, 0, 0}},			  /* EINVAL: type */
    {"iopl", {4, 0, 0, 0, 0, 0}},			  /* EINVAL: level */
    {"ioperm", {0, 65537, 0, 0, 0, 0}},			  /* EINVAL: range */
    {"lookup_dcookie", {0, BAD, 0, 0, 0, 0}},		  /* ENOSYS since 6.10 */
    {"personality", {0, 0, 0, 0, 0, 0}},		  /* succeeds */
    {"ioctl", {PIPE_FD, 0, 0, 0, 0, 0}},		  /* ENOTTY on a pipe */
    /* An unknown type flag: EINVAL before the family is looked up (no module
     * is loaded for it). */
    {"socket", {0, SOCK_STREAM | 0x100, 0, 0, 0, 0}},
};

static const struct probe *probe_for(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(probes); i++)
		if (strcmp(probes[i].syscall, name) == 0)
			return &probes[i];
	return NULL;
}

/* ---- the table ----------------------------------------------------------- */

static void test_table_shape(void)
{
	size_t bad = 0, sweeps = 0;
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++) {
		const struct seccomp_rule_desc *r = &sandbox_seccomp_rules[i];
		bool fine = r->group && strchr(r->group, ':') && !strchr(r->group, '\n') &&
			    (r->errnum == EPERM || r->errnum == ENOSYS);
		if (r->syscall)
			fine = fine && r->nr >= 0 &&
			       r->nr == seccomp_syscall_resolve_name(r->syscall) &&
			       (r->arg < 0 || (r->arg < 6 && r->mask && !(r->value & ~r->mask)));
		else
			sweeps++;
		if (!fine) {
			diag("  rule %zu (%s) is malformed", i, r->syscall ? r->syscall : "sweep");
			bad++;
		}
	}
	ok(bad == 0,
	   "every rule has a group, a known syscall number, EPERM/ENOSYS, a sane compare");
	is_int(sweeps, 1, "one sweep of unnamed numbers");
	ok(sandbox_seccomp_rules[sandbox_seccomp_n_rules - 1].syscall == NULL,
	   "the sweep is the last rule");
}

/* The policy itself (not the kernel) refuses this value of argument arg? */
static bool table_refuses(const char *name, int arg, uint32_t v)
{
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++) {
		const struct seccomp_rule_desc *r = &sandbox_seccomp_rules[i];
		if (r->syscall && strcmp(r->syscall, name) == 0 &&
		    (r->arg < 0 || (r->arg == arg && (v & r->mask) == r->value)))
			return true;
	}
	return false;
}

static bool personality_allowed(uint32_t p)
{
	return p == PER_LINUX || p == ADDR_NO_RANDOMIZE || p == 0xffffffffu;
}

/* The personality rules refuse exactly what they should: every value with at
 * most two bits set, every value with at most two bits clear, and a million
 * random ones. */
static void test_personality_model(void)
{
	size_t wrong = 0, tried = 0;
	uint32_t first = 0;
	for (int i = -1; i < 32; i++)
		for (int j = i; j < 32; j++) {
			uint32_t v = (i >= 0 ? 1u << i : 0) | (j >= 0 ? 1u << j : 0);
			uint32_t both[2] = {v, ~v};
			for (int k = 0; k < 2; k++, tried++)
				if (table_refuses("personality", 0, both[k]) ==
					personality_allowed(both[k]) &&
				    !wrong++)
					first = both[k];
		}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int n = 0; n < 1000000; n++, tried++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t v = (uint32_t)x;
		if (table_refuses("personality", 0, v) == personality_allowed(v) && !wrong++)
			first = v;
	}
	ok(wrong == 0,
	   "personality rules allow exactly 0, ADDR_NO_RANDOMIZE, 0xffffffff (%zu values)", tried);
	if (wrong)
		diag("  %zu wrong, first %#x", wrong, first);
}

static void test_bpf_size(void)
{
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	int r = fd < 0 ? -errno : sandbox_seccomp_export_bpf(fd);
	is_errno(r, 0, "the filter exports as BPF");
	off_t size = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
	long insns = (long)size / (long)sizeof(struct sock_filter);
	ok(insns > 0 && insns <= BPF_MAXINSNS, "the filter fits in BPF_MAXINSNS (%ld of %d)", insns,
	   BPF_MAXINSNS);
	diag("BPF program: %ld instructions", insns);
	if (fd >= 0)
		close(fd);
}

static void test_print(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		skip(4, "no memstream");
		return;
	}
	sandbox_seccomp_print(f);
	fclose(f);
	ok(text && strstr(text, "\nioctl errno(EPERM) a1 & 0xffffffff == 0x5412  # tty: "),
	   "print: the TIOCSTI rule");
	ok(text && strstr(text, "kill-process"), "print: says what happens to other architectures");

	size_t named = 0, lines = 0, rule_lines = 0, bad = 0;
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++)
		named += sandbox_seccomp_rules[i].syscall != NULL;
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		lines++;
		if (line[0] == '#')
			continue;
		rule_lines++;
		if (!strstr(line, " errno(") || !strstr(line, "  # "))
			bad++;
	}
	ok(rule_lines > named,
	   "print: one line per named rule and at least one sweep range (%zu lines)", lines);
	is_int(bad, 0, "print: every rule line reads \"syscall action [condition]  # group\"");
	free(text);
}

/* ---- the policy as the issue states it, with and without the filter ------ */

/* Written out here, apart from the table, so that a rule missing from the
 * table fails a test instead of taking its test away with it.  arg >= 0:
 * only calls whose argument arg has these bits set are refused. */
struct expect {
	const char *syscall;
	int errnum;
	int arg;
	unsigned long bits;
};

static const struct expect policy[] = {
    {"mount", EPERM, -1, 0},
    {"umount2", EPERM, -1, 0},
    {"pivot_root", EPERM, -1, 0},
    {"chroot", EPERM, -1, 0},
    {"fsopen", EPERM, -1, 0},
    {"fsconfig", EPERM, -1, 0},
    {"fsmount", EPERM, -1, 0},
    {"fspick", EPERM, -1, 0},
    {"open_tree", EPERM, -1, 0},
    {"move_mount", EPERM, -1, 0},
    {"mount_setattr", EPERM, -1, 0},
    {"unshare", EPERM, -1, 0},
    {"setns", EPERM, -1, 0},
    {"clone", EPERM, 0, CLONE_NEWNS},
    {"clone", EPERM, 0, CLONE_NEWUTS},
    {"clone", EPERM, 0, CLONE_NEWIPC},
    {"clone", EPERM, 0, CLONE_NEWUSER},
    {"clone", EPERM, 0, CLONE_NEWPID},
    {"clone", EPERM, 0, CLONE_NEWNET},
    {"clone", EPERM, 0, CLONE_NEWCGROUP},
    {"clone", EPERM, 0, 0x80 /* CLONE_NEWTIME */},
    {"clone3", ENOSYS, -1, 0},
    {"keyctl", EPERM, -1, 0},
    {"add_key", EPERM, -1, 0},
    {"request_key", EPERM, -1, 0},
    {"bpf", EPERM, -1, 0},
    {"perf_event_open", EPERM, -1, 0},
    {"init_module", EPERM, -1, 0},
    {"finit_module", EPERM, -1, 0},
    {"delete_module", EPERM, -1, 0},
    {"kexec_load", EPERM, -1, 0},
    {"kexec_file_load", EPERM, -1, 0},
    {"reboot", EPERM, -1, 0},
    {"swapon", EPERM, -1, 0},
    {"swapoff", EPERM, -1, 0},
    {"acct", EPERM, -1, 0},
    {"settimeofday", EPERM, -1, 0},
    {"clock_settime", EPERM, -1, 0},
    {"clock_adjtime", EPERM, -1, 0},
    {"adjtimex", EPERM, -1, 0},
    {"open_by_handle_at", EPERM, -1, 0},
    {"name_to_handle_at", EPERM, -1, 0},
    {"userfaultfd", EPERM, -1, 0},
    {"io_uring_setup", EPERM, -1, 0},
    {"io_uring_enter", EPERM, -1, 0},
    {"io_uring_register", EPERM, -1, 0},
    {"syslog", EPERM, -1, 0},
    {"iopl", EPERM, -1, 0},
    {"ioperm", EPERM, -1, 0},
    {"lookup_dcookie", EPERM, -1, 0},
    {"personality", EPERM, 0, READ_IMPLIES_EXEC}, /* and the rest: test_personality() */
    {"ioctl", EPERM, 1, TIOCSTI},
    {"ioctl", EPERM, 1, TIOCLINUX},
    {"ioctl", EPERM, 1, TIOCSETD},
    {"socket", EPERM, 0, AF_VSOCK},
};

static void test_expect(const struct expect *e)
{
	const struct probe *p = probe_for(e->syscall);
	int nr = seccomp_syscall_resolve_name(e->syscall);
	if (!ok(p != NULL && nr >= 0, "%s has a probe and a number", e->syscall))
		return;
	long a[6];
	memcpy(a, p->a, sizeof(a));
	if (e->arg >= 0)
		a[e->arg] |= (long)e->bits;

	const char *call = fmt_call(e->syscall, a);
	struct outcome o = run_raw(true, nr, a);
	is_errno(answer(&o), -e->errnum, "filtered: %s answers %s", call,
		 strerrorname_np(e->errnum));
	o = run_raw(false, nr, a);
	int got = answer(&o);
	ok(got != NO_ANSWER && got != -e->errnum, "unfiltered: %s answers %s, not %s", call,
	   errname(got), strerrorname_np(e->errnum));

	/* The kernel reads these arguments as 32 bits: bits 32..63 set must not
	 * get the call past the rule (CVE-2019-10063). */
	if (e->arg >= 0) {
		a[e->arg] |= HIGH;
		o = run_raw(true, nr, a);
		is_errno(answer(&o), -e->errnum, "filtered, high bits set: %s answers %s",
			 fmt_call(e->syscall, a), strerrorname_np(e->errnum));
	}
}

/* Nothing in the table that the issue did not ask for. */
static void test_table_is_policy(void)
{
	size_t extra = 0;
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++) {
		const struct seccomp_rule_desc *r = &sandbox_seccomp_rules[i];
		bool found = !r->syscall;
		for (size_t j = 0; !found && j < ELEMENTSOF(policy); j++)
			found = strcmp(policy[j].syscall, r->syscall) == 0 &&
				policy[j].errnum == r->errnum && policy[j].arg == r->arg;
		if (!found) {
			diag("  %s: not in this test's policy", r->syscall);
			extra++;
		}
	}
	is_int(extra, 0, "every rule of the table is one the policy asks for");
}

/* Each rule of the table, on its own, takes effect once loaded (the
 * personality ring rules above all). */
static void test_each_table_rule(void)
{
	size_t failed = 0, tried = 0;
	for (size_t i = 0; i < sandbox_seccomp_n_rules; i++) {
		const struct seccomp_rule_desc *r = &sandbox_seccomp_rules[i];
		const struct probe *p = r->syscall ? probe_for(r->syscall) : NULL;
		if (!p)
			continue;
		long a[6];
		memcpy(a, p->a, sizeof(a));
		if (r->arg >= 0)
			a[r->arg] =
			    (long)(((unsigned long)a[r->arg] & ~(unsigned long)r->mask) | r->value);
		struct outcome o = run_raw(true, r->nr, a);
		tried++;
		if (!o.returned || o.value != -r->errnum) {
			diag("  rule %zu: %s answers %s", i, fmt_call(r->syscall, a),
			     errname(answer(&o)));
			failed++;
		}
	}
	ok(failed == 0 && tried + 1 == sandbox_seccomp_n_rules,
	   "each of the %zu named rules of the table answers its errno under the filter", tried);
}

static void test_policy(void)
{
	for (size_t i = 0; i < ELEMENTSOF(policy); i++)
		test_expect(&policy[i]);
	test_table_is_policy();
	test_each_table_rule();
}

/* ---- personality by name ------------------------------------------------- */

static void test_personality(void)
{
	static const struct {
		const char *name;
		unsigned long p;
	} refused[] = {
	    {"READ_IMPLIES_EXEC", READ_IMPLIES_EXEC},
	    {"ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT},
	    {"MMAP_PAGE_ZERO", MMAP_PAGE_ZERO},
	    {"ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT},
	    {"ADDR_LIMIT_3GB", ADDR_LIMIT_3GB},
	    {"SHORT_INODE", SHORT_INODE},
	    {"WHOLE_SECONDS", WHOLE_SECONDS},
	    {"STICKY_TIMEOUTS", STICKY_TIMEOUTS},
	    {"FDPIC_FUNCPTRS", FDPIC_FUNCPTRS},
	    {"UNAME26", UNAME26},
	    {"PER_LINUX32", PER_LINUX32},
	    {"PER_SVR4", PER_SVR4},
	    {"PER_BSD", PER_BSD},
	    {"ADDR_NO_RANDOMIZE|READ_IMPLIES_EXEC", ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC},
	    {"ADDR_NO_RANDOMIZE|PER_LINUX32", ADDR_NO_RANDOMIZE | PER_LINUX32},
	    {"0x80000000|READ_IMPLIES_EXEC", 0x80000000u | READ_IMPLIES_EXEC},
	    {"0xfffbffff", 0xfffbffffu},
	    {"0xfffffffe", 0xfffffffeu},
	    {"0x7fffffff", 0x7fffffffu},
	    {"0x100 (no such flag yet)", 0x100},
	    {"READ_IMPLIES_EXEC, high bits set", READ_IMPLIES_EXEC | HIGH},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		long a[6] = {(long)refused[i].p};
		struct outcome o = run_raw(true, SYS_personality, a);
		is_errno(answer(&o), -EPERM, "filtered: personality(%s) answers EPERM",
			 refused[i].name);
		o = run_raw(false, SYS_personality, a);
		ok(o.returned && o.value >= 0, "unfiltered: personality(%s) succeeds",
		   refused[i].name);
	}

	static const struct {
		const char *name;
		unsigned long p;
	} allowed[] = {
	    {"0xffffffff (query)", 0xffffffffu},
	    {"PER_LINUX", PER_LINUX},
	    {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE},
	};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		long a[6] = {(long)allowed[i].p};
		struct outcome o = run_raw(true, SYS_personality, a);
		ok(o.returned && o.value >= 0, "filtered: personality(%s) still works (%s)",
		   allowed[i].name, errname(answer(&o)));
	}
}

/* ---- terminal injection on a real terminal ------------------------------- */

struct sti {
	unsigned long cmd;
};

/* A new session whose controlling terminal is a fresh pty, then TIOCSTI on
 * it: exactly what a process inside does to the owner's terminal after su. */
static long call_tiocsti(const void *arg)
{
	const struct sti *s = arg;
	if (setsid() < 0)
		return -errno;
	int m = posix_openpt(O_RDWR | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -ENXIO;
	const char *name = ptsname(m);
	int t = name ? open(name, O_RDWR | O_CLOEXEC) : -1; /* becomes the controlling tty */
	if (t < 0)
		return -ENXIO;
	char c = 'x';
	return syscall(SYS_ioctl, t, s->cmd, &c) < 0 ? -errno : 0;
}

static void test_tiocsti_pty(void)
{
	struct sti plain = {TIOCSTI}, high = {TIOCSTI | HIGH};
	struct outcome o = run(false, call_tiocsti, &plain);
	int got = answer(&o);
	if (got == -ENXIO) {
		skip(3, "no pty here");
		return;
	}
	is_errno(got, 0, "unfiltered: TIOCSTI on the controlling pty injects a byte");
	o = run(true, call_tiocsti, &plain);
	is_errno(answer(&o), -EPERM, "filtered: TIOCSTI on the controlling pty answers EPERM");
	o = run(true, call_tiocsti, &high);
	is_errno(answer(&o), -EPERM,
		 "filtered: TIOCSTI | 1 << 32 on the controlling pty answers EPERM");
}

/* ---- what must keep working under the filter ----------------------------- */

static long call_winsz_pty(const void *arg)
{
	(void)arg;
	struct winsize ws;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -ENXIO;
	return ioctl(m, TIOCGWINSZ, &ws) < 0 ? -errno : 0;
}

static long call_fork(const void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(7);
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* glibc tries clone3 first and falls back to clone on ENOSYS. */
static long call_thread(const void *arg)
{
	(void)arg;
	pthread_t t;
	void *ret = NULL;
	int r = pthread_create(&t, NULL, thread_main, (void *)(intptr_t)42);
	if (r != 0)
		return -r;
	pthread_join(t, &ret);
	return (long)(intptr_t)ret;
}

static long call_exec(const void *arg)
{
	const char *const *argv = arg;
	execv(argv[0], (char *const *)argv); /* execv does not write to them */
	return -errno;
}

/* The child exec'd (so it sent no report: the filter, if asked for, was
 * applied) and the program exited 0. */
static bool exited_0(const struct outcome *o)
{
	return o->pid > 0 && o->setup == NO_ANSWER && WIFEXITED(o->status) &&
	       WEXITSTATUS(o->status) == 0;
}

static void test_harmless(void)
{
	long none[6] = {0};
	struct outcome o = run_raw(true, SYS_getpid, none);
	ok(o.returned && o.value == o.pid, "filtered: getpid works");

	struct winsize ws;
	long winsz_pipe[6] = {PIPE_FD, TIOCGWINSZ, (long)&ws};
	o = run_raw(true, SYS_ioctl, winsz_pipe);
	is_errno(answer(&o), -ENOTTY,
		 "filtered: ioctl(pipe, TIOCGWINSZ) answers ENOTTY, not EPERM");
	o = run(true, call_winsz_pty, NULL);
	if (answer(&o) == -ENXIO)
		skip(1, "no pty here");
	else
		is_errno(answer(&o), 0, "filtered: ioctl(pty, TIOCGWINSZ) works");

	long unix_sock[6] = {AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0};
	o = run_raw(true, SYS_socket, unix_sock);
	ok(o.returned && o.value >= 0, "filtered: socket(AF_UNIX) works (%s)", errname(answer(&o)));
	long inet_sock[6] = {AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0};
	o = run_raw(true, SYS_socket, inet_sock);
	ok(o.returned && o.value >= 0, "filtered: socket(AF_INET) works (%s)", errname(answer(&o)));

	o = run(true, call_fork, NULL);
	is_int(answer(&o), 7, "filtered: fork() works (clone without namespace flags)");
	long clone_plain[6] = {SIGCHLD};
	o = run_raw(true, SYS_clone, clone_plain);
	ok(o.returned && o.value > 0, "filtered: raw clone(SIGCHLD) works (%s)",
	   errname(answer(&o)));
	o = run(true, call_thread, NULL);
	is_int(answer(&o), 42, "filtered: pthread_create works (clone3 ENOSYS, then clone)");

	/* ptrace is allowed on purpose (seccomp.c): not tracing the parent is
	 * ESRCH, a refusal by the filter would be EPERM. */
	long peek[6] = {PTRACE_PEEKUSER, getpid(), 0, 0};
	o = run_raw(true, SYS_ptrace, peek);
	is_errno(answer(&o), -ESRCH, "filtered: ptrace is not refused (ESRCH, not EPERM)");

	/* The filter survives exec, and a shell with ordinary tools runs under it
	 * (no syscall libc needs is in the sweep). */
	const char *const sh[] = {
	    "/bin/sh", "-c",
	    "grep -q '^Seccomp:[[:space:]]*2' /proc/self/status && ls / >/dev/null &&"
	    " date >/dev/null && echo ok | sed s/ok/yes/ | grep -q yes && id -u >/dev/null",
	    NULL};
	o = run(true, call_exec, sh);
	ok(exited_0(&o), "filtered: /bin/sh with ls, date, sed, grep, id runs, in seccomp mode 2");
	o = run(false, call_exec, sh);
	ok(o.pid > 0 && !exited_0(&o), "unfiltered: the same shell is not in seccomp mode 2");

	const char *const spawn_argv[] = {"/bin/true", NULL};
	o = run(true, call_exec, spawn_argv);
	ok(exited_0(&o), "filtered: exec /bin/true");

	const char *const strace[] = {"/usr/bin/strace", "-f",	      "-qq", "-o",
				      "/dev/null",	 "/bin/true", NULL};
	if (access(strace[0], X_OK) != 0) {
		skip(1, "no strace");
	} else {
		o = run(true, call_exec, strace);
		ok(exited_0(&o), "filtered: strace -f /bin/true works (ptrace allowed)");
	}
	/* gdb asks for ADDR_NO_RANDOMIZE and warns when personality refuses. */
	const char *const gdb[] = {
	    "/bin/sh", "-c",
	    "out=$(gdb -nx -q -batch -ex run --args /bin/true 2>&1);"
	    " case $out in *'not permitted'*|*'rror disabling'*) exit 1;; esac;"
	    " case $out in *'exited normally'*) exit 0;; esac; exit 2",
	    NULL};
	if (access("/usr/bin/gdb", X_OK) != 0) {
		skip(1, "no gdb");
	} else {
		o = run(true, call_exec, gdb);
		ok(exited_0(&o), "filtered: gdb runs a program, address randomization off");
	}
}

/* ---- other architectures ------------------------------------------------- */

/* i386 getpid (20) through the 32-bit entry. */
static long call_int80(const void *arg)
{
	(void)arg;
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "0"(20L)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret;
}

static void *int80_thread(void *arg)
{
	return (void *)call_int80(arg);
}

/* int 0x80 in a second thread: KILL_PROCESS takes the whole process, where
 * KILL_THREAD (libseccomp's default) would let the main thread go on. */
static long call_int80_in_thread(const void *arg)
{
	pthread_t t;
	void *ret;
	(void)arg;
	if (pthread_create(&t, NULL, int80_thread, NULL) != 0)
		return -ECHILD;
	pthread_join(t, &ret);
	return 0; /* the process survived */
}

static void test_other_arch(void)
{
	struct outcome o = run(false, call_int80, NULL);
	if (!o.returned) {
		skip(3, "int 0x80 does not work here even without the filter (no IA32 emulation)");
	} else {
		is_int(o.value, o.pid, "unfiltered: int 0x80 getpid answers the pid");
		o = run(true, call_int80, NULL);
		ok(killed_by(&o, SIGSYS), "filtered: int 0x80 kills the process with SIGSYS");
		o = run(true, call_int80_in_thread, NULL);
		ok(killed_by(&o, SIGSYS),
		   "filtered: int 0x80 in a second thread kills the whole process");
	}

	long none[6] = {0};
	o = run_raw(false, X32_SYSCALL_BIT | SYS_getpid, none);
	ok(o.returned, "unfiltered: x32 getpid (0x40000027) comes back (%s)", errname(answer(&o)));
	o = run_raw(true, X32_SYSCALL_BIT | SYS_getpid, none);
	ok(killed_by(&o, SIGSYS),
	   "filtered: x32 getpid (0x40000027) kills the process with SIGSYS");

	ok(kill(getpid(), 0) == 0, "the test process itself lives on");
}

/* ---- the sweep of unnamed numbers ---------------------------------------- */

static void test_sweep(void)
{
	long none[6] = {0};
	struct outcome o = run_raw(true, 1000, none);
	/* Not a proof of the sweep (the kernel says ENOSYS too): the calls below are. */
	is_errno(answer(&o), -ENOSYS, "filtered: syscall 1000 answers ENOSYS");

	/* Syscalls the kernel has and this libseccomp cannot name, with
	 * arguments the kernel refuses before acting (an unknown flag). */
	static const struct {
		const char *name;
		long nr;
		long a[6];
	} newer[] = {
	    {"statmount", 457, {0, 0, 0, 1}},
	    {"listmount", 458, {0, 0, 0, 2}},
	    {"mseal", 462, {0, 0, 1}},
	};
	for (size_t i = 0; i < ELEMENTSOF(newer); i++) {
		char *known = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)newer[i].nr);
		free(known);
		if (known) {
			skip(2, "libseccomp knows this number now; pick a newer one");
			continue;
		}
		o = run_raw(false, newer[i].nr, newer[i].a);
		int got = answer(&o);
		if (got == -ENOSYS) {
			skip(2, "this kernel does not have it");
			continue;
		}
		ok(got != NO_ANSWER, "unfiltered: %s (%ld) answers %s", newer[i].name, newer[i].nr,
		   errname(got));
		o = run_raw(true, newer[i].nr, newer[i].a);
		is_errno(answer(&o), -ENOSYS,
			 "filtered: %s (%ld), unknown to libseccomp, answers ENOSYS", newer[i].name,
			 newer[i].nr);
	}
}

/* ---- how the filter is loaded -------------------------------------------- */

static long call_apply_keep_nnp(const void *arg)
{
	(void)arg;
	int r = sandbox_seccomp_apply();
	return r < 0 ? r : prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

static long call_apply_unprivileged(const void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return -ECHILD;
	return sandbox_seccomp_apply();
}

struct tsync {
	int go[2];
	long answer;
};

static void *tsync_thread(void *arg)
{
	struct tsync *t = arg;
	char c;
	if (read(t->go[0], &c, 1) != 1)
		t->answer = -EPIPE;
	else
		t->answer = syscall(SYS_unshare, 0x1L) < 0 ? -errno : 0;
	return NULL;
}

/* A thread that exists before the filter is loaded, then calls unshare. */
static long call_tsync(const void *arg)
{
	(void)arg;
	struct tsync t = {.answer = NO_ANSWER};
	pthread_t th;
	if (pipe(t.go) < 0 || pthread_create(&th, NULL, tsync_thread, &t) != 0)
		return -ECHILD;
	long r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : sandbox_seccomp_apply();
	if (write(t.go[1], "x", 1) != 1)
		return -EPIPE;
	pthread_join(th, NULL);
	return r < 0 ? r : t.answer;
}

static void test_loading(void)
{
	struct outcome o = run(false, call_apply_keep_nnp, NULL);
	is_int(answer(&o), 0,
	       "apply (as root, without NNP) does not set PR_SET_NO_NEW_PRIVS itself");

	o = run(false, call_apply_unprivileged, NULL);
	is_errno(answer(&o), -EACCES,
		 "apply without NNP and without CAP_SYS_ADMIN fails with the kernel's -EACCES");

	long unshare_1[6] = {0x1};
	o = run_raw(false, SYS_unshare, unshare_1);
	is_errno(answer(&o), -EINVAL, "unfiltered: unshare(0x1) answers EINVAL");
	o = run(false, call_tsync, NULL);
	is_errno(answer(&o), -EPERM, "a thread started before the filter is filtered too (TSYNC)");
}

/* In the child: load the embedded program, then TIOCSTI on a pipe (ENOTTY
 * without a filter, EPERM with it). */
static long call_embedded_tiocsti(const void *arg)
{
	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	int r = sandbox_seccomp_load();
	if (r < 0)
		return r;
	char c = 'x';
	return ioctl(probe_pipe[0], TIOCSTI, &c) < 0 ? -errno : 0;
}

/* ephemera-shell loads the program compiled at build time: it must be the
 * table's, byte for byte (a stale or hand-edited build fails here). */
static void test_embedded(void)
{
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	ok(fd >= 0 && sandbox_seccomp_export_bpf(fd) == 0, "the table exports a program");
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	is_int(size, (long long)sandbox_seccomp_bpf_size,
	       "the embedded program has the table's size");
	unsigned char *buf = size > 0 ? malloc((size_t)size) : NULL;
	ok(buf && pread(fd, buf, (size_t)size, 0) == size &&
	       memcmp(buf, sandbox_seccomp_bpf, (size_t)size) == 0,
	   "the embedded program is the table's, byte for byte");
	free(buf);
	if (fd >= 0)
		close(fd);
	struct outcome o = run(false, call_embedded_tiocsti, NULL);
	is_errno(answer(&o), -EPERM, "loaded with sandbox_seccomp_load(), TIOCSTI answers EPERM");
}

/* network = host without allow_unix: the second embedded program is the
 * table's plus the AF_UNIX rules, and refuses socket and socketpair for
 * AF_UNIX only (the default program allows them). */
static long call_embedded_unix(const void *arg)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	int r = sandbox_seccomp_load_variant(arg != NULL);
	if (r < 0)
		return r;
	int sv[2], fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno - 1000;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno - 2000 : 0;
}

static long call_embedded_socketpair(const void *arg)
{
	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	int r = sandbox_seccomp_load_variant(true);
	int sv[2];
	return r < 0 ? r : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
}

static void test_embedded_nounix(void)
{
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	ok(fd >= 0 && sandbox_seccomp_export_bpf_variant(fd, true) == 0,
	   "the table with the AF_UNIX rules exports a program");
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	unsigned char *buf = size > 0 ? malloc((size_t)size) : NULL;
	ok(buf && size == (off_t)sandbox_seccomp_bpf_nounix_size &&
	       pread(fd, buf, (size_t)size, 0) == size &&
	       memcmp(buf, sandbox_seccomp_bpf_nounix, (size_t)size) == 0,
	   "the embedded network = host program is the table's, byte for byte");
	free(buf);
	if (fd >= 0)
		close(fd);
	struct outcome o = run(false, call_embedded_unix, NULL);
	is_errno(answer(&o), 0, "default program: AF_UNIX socket and socketpair work");
	o = run(false, call_embedded_unix, "no-unix");
	is_errno(answer(&o), -EPERM, "network = host program: socket(AF_UNIX) answers EPERM");
	o = run(false, call_embedded_socketpair, NULL);
	is_errno(answer(&o), -EPERM, "  ... and socketpair(AF_UNIX)");
}

int main(void)
{
	if (pipe2(probe_pipe, O_CLOEXEC) < 0) {
		diag("pipe: %s", strerror(errno));
		return 99;
	}
	if (geteuid() != 0)
		diag("not root: the unfiltered controls will meet the kernel's own EPERM");

	test_table_shape();
	test_personality_model();
	test_bpf_size();
	test_print();
	test_policy();
	test_personality();
	test_tiocsti_pty();
	test_harmless();
	test_other_arch();
	test_sweep();
	test_loading();
	test_embedded();
	test_embedded_nounix();
	return done_testing();
}
