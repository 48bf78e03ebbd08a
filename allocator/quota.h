/* disk_quota: a user quota (block hard limit) of the session's UID on the
 * filesystem of the sessions directory, set at allocation and cleared by the
 * reaper.  Only where that filesystem enforces user quotas (ext4 with the
 * quota feature or quotaon and usrquota, xfs with uquota); elsewhere the
 * login logs a WARN line and doctor WARNs (ephemera.conf(5)).  Works on the
 * directory's fd (quotactl_fd, Linux 5.14): no device path to find. */
#ifndef EPHEMERA_QUOTA_H
#define EPHEMERA_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 when user quota limits are enforced on dir_fd's filesystem; else -errno
 * with the reason (a short phrase) in why. */
int quota_probe(int dir_fd, char *why, size_t len);

/* Sets the block hard (and soft) limit of uid to bytes, rounded up to
 * 1 KiB; 0 removes the limit. */
int quota_set(int dir_fd, uid_t uid, uint64_t bytes);

/* quota_set where the filesystem enforces user quotas; 0 (nothing done)
 * where it does not. */
int quota_apply(int dir_fd, uid_t uid, uint64_t bytes);

#endif
