/* Loads a seccomp program compiled at build time (seccomp.h). */
#include "shell/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

int sandbox_seccomp_load_variant(bool no_unix)
{
	const unsigned char *bpf = no_unix ? sandbox_seccomp_bpf_nounix : sandbox_seccomp_bpf;
	size_t size = no_unix ? sandbox_seccomp_bpf_nounix_size : sandbox_seccomp_bpf_size;
	if (size == 0 || size % sizeof(struct sock_filter))
		return -EINVAL;
	struct sock_fprog prog = {
	    .len = (unsigned short)(size / sizeof(struct sock_filter)),
	    .filter = (struct sock_filter *)(void *)bpf,
	};
	/* TSYNC as the runtime build does: no thread may stay unfiltered. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return errno > 0 ? -errno : -EIO;
	return 0;
}

int sandbox_seccomp_load(void)
{
	return sandbox_seccomp_load_variant(false);
}
