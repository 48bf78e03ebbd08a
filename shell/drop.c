#include "shell/drop.h"

#include "common/errbuf.h"
#include "common/util.h"
#include "shell/seccomp.h"

#include <cap-ng.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int drop_tie_to_parent(int life_fd)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return neg_errno();
	/* getppid() is 0 for pid 1 of a new pid namespace, so ask the pipe. */
	struct pollfd p = {.fd = life_fd, .events = POLLIN};
	int n = poll(&p, 1, 0);
	if (n < 0)
		return neg_errno();
	if (n > 0 && (p.revents & (POLLHUP | POLLIN | POLLERR)))
		return -ECHILD;
	return 0;
}

/* Securebits: no root magic, no keeping caps across setuid, no ambient raise;
 * all locked so that nothing later can turn them back. */
#define SECUREBITS_LOCKED                                                                          \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |                    \
	 SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |                                   \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

static int caps_all_empty(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return errbuf(neg_errno(), err, errlen, "capget: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return errbuf(-EPERM, err, errlen,
				      "a capability set is not empty after the drop");
	for (int cap = 0; cap < 64; cap++) {
		int b = prctl(PR_CAPBSET_READ, cap);
		if (b < 0)
			break; /* past the last capability the kernel knows */
		if (b > 0)
			return errbuf(-EPERM, err, errlen,
				      "capability %d is still in the bounding set", cap);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			return errbuf(-EPERM, err, errlen, "capability %d is still ambient", cap);
	}
	return 0;
}

int drop_verify(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return errbuf(neg_errno(), err, errlen, "reading ids back: %s", strerror(errno));
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return errbuf(-EPERM, err, errlen, "ids read back differ from the transient user");
	if (getgroups(0, NULL) != 0)
		return errbuf(-EPERM, err, errlen, "supplementary groups remain");
	/* Try to undo it: every one of these must fail. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setgroups(0, NULL) == 0)
		return errbuf(-EPERM, err, errlen, "regaining root succeeded");
	int bits = prctl(PR_GET_SECUREBITS);
	if (bits < 0 || (bits & SECUREBITS_LOCKED) != SECUREBITS_LOCKED)
		return errbuf(-EPERM, err, errlen, "securebits are not locked");
	return caps_all_empty(err, errlen);
}

static int drop_bounding_and_lock(char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOUNDS);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return errbuf(-EPERM, err, errlen, "emptying the bounding set failed");
	if (prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED) < 0)
		return errbuf(neg_errno(), err, errlen, "locking securebits: %s", strerror(errno));
	return 0;
}

static int change_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(0, NULL) < 0)
		return errbuf(neg_errno(), err, errlen, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return errbuf(neg_errno(), err, errlen, "setresgid: %s", strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return errbuf(neg_errno(), err, errlen, "setresuid: %s", strerror(errno));
	return 0;
}

static int clear_remaining_caps(char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return errbuf(-EPERM, err, errlen, "clearing the capability sets failed");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return errbuf(neg_errno(), err, errlen, "clearing ambient capabilities: %s",
			      strerror(errno));
	return 0;
}

int drop_privileges(uid_t uid, gid_t gid, int life_fd, bool no_unix, char *err, size_t errlen)
{
	if (uid == 0 || gid == 0)
		return errbuf(-EINVAL, err, errlen, "refusing to drop to uid or gid 0");
	int r;
	if ((r = drop_bounding_and_lock(err, errlen)) < 0 ||
	    (r = change_ids(uid, gid, err, errlen)) < 0 ||
	    (r = clear_remaining_caps(err, errlen)) < 0 ||
	    (r = drop_verify(uid, gid, err, errlen)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errbuf(neg_errno(), err, errlen, "no_new_privs: %s", strerror(errno));
	/* The uid change made us dumpable again per suid_dumpable; say no. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return errbuf(neg_errno(), err, errlen, "dumpable: %s", strerror(errno));
	if ((r = drop_tie_to_parent(life_fd)) < 0)
		return errbuf(r, err, errlen, "the launcher went away during setup");
	if ((r = sandbox_seccomp_load_variant(no_unix)) < 0)
		return errbuf(r, err, errlen, "seccomp: %s", strerror(-r));
	return 0;
}
