/* Loads the seccomp program compiled at build time (seccomp.h). */
#include "shell/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

int sandbox_seccomp_load(void)
{
	if (sandbox_seccomp_bpf_size == 0 || sandbox_seccomp_bpf_size % sizeof(struct sock_filter))
		return -EINVAL;
	struct sock_fprog prog = {
	    .len = (unsigned short)(sandbox_seccomp_bpf_size / sizeof(struct sock_filter)),
	    .filter = (struct sock_filter *)(void *)sandbox_seccomp_bpf,
	};
	/* TSYNC as the runtime build does: no thread may stay unfiltered. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return errno > 0 ? -errno : -EIO;
	return 0;
}
