/* /sessions/<name> and its layout (DESIGN.md, "Layout of a session"):
 * (modes before ACLs: with an ACL, ls shows the mask in the group bits)
 *   <name>/            0700 root:root, ACL uid rwx, owner r-x (root's, so that the
 *                      session cannot chmod or setfacl it open to others)
 *   <name>/mnt         0755 uid:gid
 *   <name>/mnt/output  0700 uid:gid, ACL and default ACL owner rwx
 *   <name>/mnt/upload  0755 owner:gid (the owner hands files in; read-only inside)
 * /sessions itself is root's, 0711 (set if it was anything else), created if missing.
 *
 * home = tmpfs:SIZE: <name>/ is a tmpfs of that size (nosuid, nodev) over an
 * empty root-owned directory, with the layout above; its mnt/output is a bind
 * of <sessions>/.output/<name> (root's .output is 0700), on disk, made as
 * mnt/output above.  The reaper detaches both (the wipe is the unmount) and
 * moves the output to <name>/mnt/output on disk (home_output_restore), where
 * it is handed over like any other. */
#ifndef EPHEMERA_HOME_H
#define EPHEMERA_HOME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens the sessions directory (creating it 0711 if missing) and checks it is
 * root's and writable by root alone (-EPERM otherwise) and on a filesystem
 * mounted nosuid,nodev (-ENOEXEC otherwise; checked only for_new_sessions:
 * the reaper must still clean up).  Returns a directory fd. */
int home_open_sessions_dir(const char *path, bool for_new_sessions);
/* The text for an error of home_open_sessions_dir(). */
const char *home_strerror(int r);

/* Creates the home and its layout under sessions_fd.  On failure nothing of it
 * is left behind. */
int home_create(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner_uid);

#define HOME_OUTPUTS ".output"

/* The same on a tmpfs of size bytes (see above); nothing left on failure. */
int home_create_tmpfs(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner_uid,
		      uint64_t size);

/* Detaches whatever is mounted on the home itself (a tmpfs home and the
 * output bound in it go together).  Only for a session with no process. */
int home_detach(int sessions_fd, const char *name);

/* After the wipe of a tmpfs home: moves <sessions>/.output/<name> to
 * <name>/mnt/output.  0 when there is nothing to move (a disk home, or moved
 * by an earlier reaper). */
int home_output_restore(int sessions_fd, const char *name);

/* After a reap: home and mnt become root's, with the modes and ACL of the
 * layout above restored (the session may have changed mnt) minus the uid's
 * entry, so that the owner reaches mnt/output and nothing else.  mnt_fd is -1 when the session
 * left no mnt directory. */
int home_restore_access(int home_fd, int mnt_fd, uid_t owner_uid);

/* Removes a home (see rmtree.h for how).  A missing home is not an error. */
int home_remove(int sessions_fd, const char *name);

#endif
