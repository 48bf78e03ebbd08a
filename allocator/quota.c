#include "allocator/quota.h"

#include "common/util.h"

#include <linux/dqblk_xfs.h>
#include <linux/quota.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

static int qctl(int fd, int cmd, uid_t id, void *addr)
{
	long r = syscall(SYS_quotactl_fd, (unsigned)fd, (unsigned)QCMD(cmd, USRQUOTA), (int)id, addr);
	return r < 0 ? neg_errno() : 0;
}

int quota_probe(int dir_fd, char *why, size_t len)
{
	struct fs_quota_stat st;
	memset(&st, 0, sizeof(st));
	int r = qctl(dir_fd, Q_XGETQSTAT, 0, &st);
	if (r == -ENOSYS)
		snprintf(why, len, "the sessions filesystem has no quota support (or the kernel, "
				   "before Linux 5.14, no quotactl_fd)");
	else if (r == -ESRCH || r == -ENOTSUP || r == -EOPNOTSUPP || r == -EINVAL ||
		 r == -ENOTTY)
		snprintf(why, len, "the sessions filesystem has no user quotas");
	else if (r < 0)
		snprintf(why, len, "quotactl: %s", strerror(-r));
	else if (!(st.qs_flags & FS_QUOTA_UDQ_ENFD))
		return snprintf(why, len, "user quotas are counted but not enforced on the sessions "
				       "filesystem (mount it with usrquota, or quotaon)"),
		       -ENOLINK;
	return r;
}

int quota_set(int dir_fd, uid_t uid, uint64_t bytes)
{
	struct if_dqblk q = {0};
	q.dqb_bhardlimit = q.dqb_bsoftlimit = (bytes + 1023) / 1024;
	q.dqb_valid = QIF_BLIMITS;
	return qctl(dir_fd, Q_SETQUOTA, uid, &q);
}

int quota_apply(int dir_fd, uid_t uid, uint64_t bytes)
{
	char why[160];
	return quota_probe(dir_fd, why, sizeof(why)) < 0 ? 0 : quota_set(dir_fd, uid, bytes);
}
