/* shell/mount.h: targets are resolved inside the new root without following
 * a symlink anywhere (bubblewrap CVE-2026-87766 followed a user's symlink out
 * of the new root).  The whole test runs in a private mount namespace of its
 * own, so nothing it mounts is seen by the host.  Checked by mutation in a
 * copy of the tree: without RESOLVE_NO_SYMLINKS in shell/mount.c, "a symlink
 * in the middle of a path" fails; without O_NOFOLLOW in mnt_resolve() as well,
 * the last-component tests and the mount/bind/plan tests fail (the mount
 * lands on the link's target). */
#include "shell/mount.h"
#include "shell/sandbox.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/ephemera-mount.XXXXXX";

/* A link as the last component shows as ENOTDIR (O_NOFOLLOW opened the link
 * itself, O_DIRECTORY refused it), one in the middle as ELOOP: both refuse. */
static bool refused(int r)
{
	if (r >= 0)
		close(r);
	return r == -ELOOP || r == -ENOTDIR;
}

static int count_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int n = 0, c;
	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static bool file_has(const char *path, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok_ = fgets(buf, sizeof(buf), f) && strstr(buf, text);
	fclose(f);
	return ok_;
}

int main(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("1..0 # SKIP no private mount namespace (%s)\n", strerror(errno));
		return 0;
	}
	if (!mkdtemp(base))
		return 1;
	char root[256], outside[256], path[512];
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(root, 0755);
	mkdir(outside, 0755);
	snprintf(path, sizeof(path), "%s/secret", outside);
	FILE *f = fopen(path, "we");
	fputs("host data\n", f);
	fclose(f);
	/* The new root: a tree with a planted link where a mount target is expected. */
	snprintf(path, sizeof(path), "%s/home", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/home/upload", root);
	ok(symlink(outside, path) == 0, "planted: home/upload -> a host directory");
	snprintf(path, sizeof(path), "%s/escape", root);
	ok(symlink("/", path) == 0, "planted: escape -> /");
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	ok(refused(mnt_resolve(rfd, "/home/upload", true)),
	   "a symlink as the last component is refused");
	ok(refused(mnt_resolve(rfd, "/escape/etc", true)),
	   "a symlink in the middle of a path is refused");
	int before = count_mounts();
	ok(refused(mnt_fresh(rfd, "tmpfs", "size=4k", "/home/upload", 0)),
	   "mounting onto a planted symlink fails");
	ok(refused(mnt_bind(rfd, "/proc", -1, "/home/upload", false, MOUNT_ATTR_RDONLY)),
	   "binding onto a planted symlink fails");
	is_int(count_mounts(), before, "  ... and nothing was mounted");
	snprintf(path, sizeof(path), "%s/secret", outside);
	ok(file_has(path, "host data"), "  ... and the host directory is untouched");
	ok(refused(mnt_mkdir(rfd, "/escape/newdir", 0755)), "mkdir through a symlink fails");
	ok(refused(mnt_mkfile(rfd, "/home/upload/x", 0644)),
	   "creating a file through a symlink fails");

	/* ".." cannot climb out: RESOLVE_IN_ROOT keeps it at the new root. */
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	int a = mnt_resolve(rfd, "/../../../etc", true);
	struct stat sa, sb;
	ok(a >= 0 && fstat(a, &sa) == 0 && stat(path, &sb) == 0 && sa.st_ino == sb.st_ino,
	   "/../../../etc resolves to the new root's etc, not the host's");
	if (a >= 0)
		close(a);

	/* A sandbox step table run against the planted root fails at the link. */
	static struct sandbox_plan plan;
	plan.steps[0] = (struct sandbox_step){STEP_TMPFS, NULL, "/home/upload", "size=4k", 0, -1};
	plan.n = 1;
	size_t failed = 99;
	ok(refused(sandbox_plan_run(&plan, rfd, &failed)),
	   "a plan step onto a planted link fails the plan");
	is_int(failed, 0, "  ... naming the step");

	/* The normal case works: a directory target gets its mount. */
	snprintf(path, sizeof(path), "%s/tmp", root);
	mkdir(path, 0755);
	before = count_mounts();
	is_errno(mnt_fresh(rfd, "tmpfs", "size=4k,mode=0700", "/tmp", 0), 0,
		 "a tmpfs onto a real directory works");
	is_int(count_mounts(), before + 1, "  ... and is mounted");
	close(rfd);
	umount2(path, MNT_DETACH);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system '%s'", base);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", base);
	return done_testing();
}
