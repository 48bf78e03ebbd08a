/* allocator/rmtree.h: one test per invariant R1-R5, plus stats and arguments.
 *
 * Each defence was removed in a copy of the tree under /tmp (never in the real
 * tree), that copy built, and this test run against it:
 *  R1 step()'s fstatat without AT_SYMLINK_NOFOLLOW and open_dir_at() without
 *     O_NOFOLLOW: the walk follows "link" and outside/keep is deleted -> the
 *     "file outside survives" test fails.  Only AT_SYMLINK_NOFOLLOW removed:
 *     rmtree_at returns -ELOOP -> "symlink tree removed" fails.
 *  R2 the st_dev != root_dev check in step() removed: the walk empties the
 *     tmpfs and rmdir fails with EBUSY -> the -EXDEV and "file on the tmpfs
 *     survives" tests fail.  The mnt_id / mount-root part of the check removed:
 *     the walk enters the same-filesystem bind mount and deletes its file ->
 *     "a bind mount of the same filesystem: -EXDEV" and "keeps its file" fail.
 *  R3 step() keeping the parent fd open (no close(*fd)), i.e. one fd per level
 *     as a recursive openat walk holds: -EMFILE -> the deep test fails.
 *  R4 step() opening each non-directory (openat O_RDONLY) before unlinking it:
 *     the open blocks on the FIFO, alarm(10) kills the child -> "no hang" fails.
 *     O_NONBLOCK in open_dir_at() guards a FIFO swapped in between fstatat and
 *     openat; that race is not reproducible here (and O_DIRECTORY already fails
 *     with ENOTDIR before a FIFO's open could block).
 *  R5 the fchmod(fd, 0700) in push() removed: unlinkat in a mode-000 directory
 *     fails with EACCES once CAP_DAC_OVERRIDE is dropped -> the R5 test fails. */
#include "allocator/rmtree.h"

#include "common/util.h"
#include "tests/unit/tap.h"

#include <cap-ng.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define DEPTH 100000

static char tmpdir[64];
static int tfd = -1;

struct result {
	int r;
	struct rmtree_stats st;
	int v[4];
};

static int subdir(int dfd, const char *name, mode_t mode)
{
	if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
		diag("mkdir %s: %m", name);
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static void mkfile(int dfd, const char *name, size_t size)
{
	static const char block[1024];
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	for (size_t done = 0; fd >= 0 && done < size;) {
		size_t n = size - done < sizeof(block) ? size - done : sizeof(block);
		if (write(fd, block, n) != (ssize_t)n)
			break;
		done += n;
	}
	if (fd < 0)
		diag("create %s: %m", name);
	else if (size)
		fsync(fd); /* blocks allocated now, so that statfs sees them freed */
	close(fd);
}

static bool exists(int dfd, const char *path)
{
	return faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static uint64_t blocks_bytes(int dfd, const char *path)
{
	struct stat st;
	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* Runs fn in a child and brings its result back; false if the child died. */
static bool in_child(void (*fn)(int dfd, struct result *res), int dfd, struct result *res)
{
	int p[2];
	*res = (struct result){.r = -EIO};
	if (pipe(p) < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fn(dfd, res);
		_exit(write(p[1], res, sizeof(*res)) == (ssize_t)sizeof(*res) ? 0 : 1);
	}
	close(p[1]);
	bool got = pid > 0 && read(p[0], res, sizeof(*res)) == (ssize_t)sizeof(*res);
	close(p[0]);
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		diag("child killed by signal %d (%s)", WTERMSIG(status),
		     strsignal(WTERMSIG(status)));
	return got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_r1_symlink(void)
{
	int d = subdir(tfd, "r1", 0700);
	int out = subdir(d, "outside", 0700);
	mkfile(out, "keep", 100);
	int tree = subdir(d, "tree", 0700);
	int sub = subdir(tree, "sub", 0700);
	char abs[128];
	snprintf(abs, sizeof(abs), "%s/r1/outside", tmpdir);
	if (symlinkat("../outside", tree, "link") < 0 || symlinkat(abs, sub, "abs") < 0 ||
	    symlinkat("../../outside/keep", sub, "file") < 0 ||
	    symlinkat("outside", d, "toplink") < 0)
		diag("symlink: %m");
	close(sub);
	close(tree);
	is_errno(rmtree_at(d, "tree", NULL), 0,
		 "R1: tree with symlinks to a directory outside removed");
	ok(!exists(d, "tree"), "R1: the tree and its links are gone");
	ok(exists(out, "keep"), "R1: the file outside survives");
	is_errno(rmtree_at(d, "toplink", NULL), 0, "R1: a symlink as the top is removed");
	ok(!exists(d, "toplink") && exists(out, "keep"), "R1: the link only, not its target");
	close(out);
	close(d);
}

/* In a private mount namespace: a tmpfs and a same-filesystem bind mount.  The
 * directory is opened again after unshare(): an fd from before still walks the
 * mounts of the old namespace and would not see the new ones. */
static void r2_child(int old_d, struct result *res)
{
	char p1[128], p2[128], src[128];
	snprintf(p1, sizeof(p1), "%s/r2", tmpdir);
	close(old_d);
	int d;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (d = open(p1, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		res->r = -1000;
		return;
	}
	snprintf(p1, sizeof(p1), "%s/r2/t-tmpfs/x/mnt", tmpdir);
	snprintf(p2, sizeof(p2), "%s/r2/t-bind/x/mnt", tmpdir);
	snprintf(src, sizeof(src), "%s/r2/src", tmpdir);
	if (mount("ephemera-test", p1, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0 ||
	    mount(src, p2, NULL, MS_BIND, NULL) < 0) {
		res->r = -1001;
		return;
	}
	int in = open(p1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkfile(in, "inner", 10);
	close(in);
	res->r = rmtree_at(d, "t-tmpfs", &res->st);
	res->v[0] = exists(d, "t-tmpfs/x/mnt/inner");
	res->v[1] = !exists(d, "t-tmpfs/y");
	res->v[2] = rmtree_at(d, "t-bind", NULL);
	res->v[3] = exists(d, "src/keep");
	umount2(p1, MNT_DETACH);
	umount2(p2, MNT_DETACH);
}

static void test_r2_mount(void)
{
	int d = subdir(tfd, "r2", 0700);
	int s = subdir(d, "src", 0700);
	mkfile(s, "keep", 10);
	close(s);
	static const char *const dirs[] = {"t-tmpfs", "t-tmpfs/x", "t-tmpfs/x/mnt", "t-tmpfs/y",
					   "t-bind",  "t-bind/x",  "t-bind/x/mnt"};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		mkdirat(d, dirs[i], 0700);
	int y = openat(d, "t-tmpfs/y", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkfile(y, "gone", 10);
	close(y);
	struct result res;
	bool ran = in_child(r2_child, d, &res);
	if (!ok(ran && res.r > -1000, "R2: child in its own mount namespace set up the mounts")) {
		diag("result %d", res.r);
		skip(5, "no mount namespace");
	} else {
		is_errno(res.r, -EXDEV, "R2: a tmpfs inside the tree: -EXDEV");
		ok(res.v[0], "R2: the file on the tmpfs survives");
		ok(res.v[1], "R2: the rest of the tree is removed");
		is_errno(res.v[2], -EXDEV, "R2: a bind mount of the same filesystem: -EXDEV");
		ok(res.v[3], "R2: the bind-mounted directory keeps its file");
	}
	close(d);
}

static void r3_child(int d, struct result *res)
{
	struct rlimit rl = {64, 64};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		res->r = -1000;
		return;
	}
	res->r = rmtree_at(d, "deep", &res->st);
}

static void test_r3_deep(void)
{
	int d = subdir(tfd, "r3", 0700);
	int fd = subdir(d, "deep", 0700);
	int built = 0;
	for (; fd >= 0 && built < DEPTH; built++) {
		int next = subdir(fd, "d", 0700);
		close(fd);
		fd = next;
	}
	if (fd >= 0)
		mkfile(fd, "leaf", 1);
	close(fd);
	if (!is_int(built, DEPTH, "R3: built a tree %d levels deep", DEPTH)) {
		skip(3, "no deep tree");
		close(d);
		return;
	}
	struct result res;
	bool ran = in_child(r3_child, d, &res);
	ok(ran, "R3: the walk ran to its end with RLIMIT_NOFILE 64 (no stack overflow)");
	is_errno(res.r, 0, "R3: %d levels removed with 64 fds at most", DEPTH);
	is_int(res.st.files, DEPTH + 2, "R3: every directory and the leaf counted");
	ok(!exists(d, "deep"), "R3: nothing left");
	close(d);
}

/* R3, the cut: on a bind mount of a subdirectory every ".." costs O(depth),
 * so rmtree renames directories deeper than 128 levels up to the top.  In a
 * private mount namespace: the test directory bind-mounted on itself, a chain
 * 300 deep with a tmpfs at the bottom.  The tmpfs must survive (R2) and must
 * now sit under top/.ephemera-deep-N (the chain was cut), a name taken in the
 * top is not replaced, and a look-alike name next to the top is not touched. */
#define CUT_DEPTH 300
static void r3_cut_child(int old_d, struct result *res)
{
	char dir[128], mp[128 + 2 * CUT_DEPTH + 8];
	snprintf(dir, sizeof(dir), "%s/r3c", tmpdir);
	close(old_d);
	int d;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
	    (d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		res->r = -1000;
		return;
	}
	int n = snprintf(mp, sizeof(mp), "%s/chain", dir);
	for (int i = 1; i < CUT_DEPTH; i++)
		n += snprintf(mp + n, sizeof(mp) - (size_t)n, "/d");
	snprintf(mp + n, sizeof(mp) - (size_t)n, "/mnt");
	if (mount("ephemera-test-r3", mp, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0) {
		res->r = -1001;
		return;
	}
	int in = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkfile(in, "inner", 10);
	res->r = rmtree_at(d, "chain", &res->st);
	res->v[0] = faccessat(in, "inner", F_OK, 0) == 0;
	res->v[1] = !exists(d, mp + strlen(dir) + 1); /* the old path is gone */
	close(in);
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	while (mi && fgets(line, sizeof(line), mi))
		if (strstr(line, "ephemera-test-r3") && strstr(line, "/r3c/chain/.ephemera-deep-"))
			res->v[2] = 1;
	if (mi)
		fclose(mi);
	res->v[3] = exists(d, ".ephemera-deep-1/keep");
	close(d);
}

static void test_r3_cut(void)
{
	int d = subdir(tfd, "r3c", 0700);
	int side = subdir(d, ".ephemera-deep-1", 0700); /* beside the top, not in it */
	mkfile(side, "keep", 1);
	close(side);
	int fd = subdir(d, "chain", 0700);
	mkfile(fd, ".ephemera-deep-0", 1); /* taken: the first move must pick another */
	for (int i = 1; fd >= 0 && i <= CUT_DEPTH; i++) {
		int next = subdir(fd, i == CUT_DEPTH ? "mnt" : "d", 0700);
		close(fd);
		fd = next;
	}
	close(fd);
	struct result res;
	bool ran = in_child(r3_cut_child, d, &res);
	if (!ok(ran && res.r > -1000, "R3 cut: the child bind-mounted the test directory")) {
		diag("result %d", res.r);
		skip(4, "no mount namespace");
	} else {
		is_errno(res.r, -EXDEV, "R3 cut: a %d-deep chain on a bind mount with a tmpfs at the bottom: -EXDEV", CUT_DEPTH);
		ok(res.v[0] && res.v[1], "R3 cut: the tmpfs keeps its file, and its old path is gone");
		ok(res.v[2], "R3 cut: the chain was cut: the tmpfs now sits under chain/.ephemera-deep-N");
		ok(res.v[3], "R3 cut: .ephemera-deep-1 beside the top is not touched");
		ok(res.st.files >= CUT_DEPTH - 128, "R3 cut: the levels above the tmpfs removed (%llu)",
		   (unsigned long long)res.st.files);
	}
	close(d);
}

static void r4_child(int d, struct result *res)
{
	alarm(10); /* a blocking open would hang here: SIGALRM ends the child */
	res->r = rmtree_at(d, "tree", &res->st);
}

static void test_r4_fifo(void)
{
	int d = subdir(tfd, "r4", 0700);
	int tree = subdir(d, "tree", 0700);
	int sub = subdir(tree, "sub", 0700);
	bool made = mkfifoat(tree, "fifo", 0600) == 0 && mkfifoat(sub, "fifo2", 0666) == 0 &&
		    mknodat(sub, "null", S_IFCHR | 0600, makedev(1, 3)) == 0;
	ok(made, "R4: FIFOs and a device node made");
	close(sub);
	close(tree);
	struct result res;
	ok(in_child(r4_child, d, &res), "R4: rmtree_at does not hang on a FIFO");
	is_errno(res.r, 0, "R4: tree with FIFOs removed");
	ok(!exists(d, "tree"), "R4: nothing left");
	close(d);
}

/* Without CAP_DAC_OVERRIDE root is held to modes like anyone else (it keeps
 * CAP_DAC_READ_SEARCH and CAP_FOWNER): only the fchmod lets unlinkat work. */
static void r5_child(int d, struct result *res)
{
	capng_get_caps_process();
	if (capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_DAC_OVERRIDE) < 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) < 0) {
		res->r = -1000;
		return;
	}
	res->v[0] = unlinkat(d, "probe/f", 0) < 0 && errno == EACCES;
	res->r = rmtree_at(d, "tree", &res->st);
}

static void test_r5_modes(void)
{
	int d = subdir(tfd, "r5", 0700);
	int probe = subdir(d, "probe", 0700);
	mkfile(probe, "f", 1);
	fchmod(probe, 0500);
	close(probe);
	int tree = subdir(d, "tree", 0700);
	int locked = subdir(tree, "locked", 0700);
	int sub = subdir(locked, "sub", 0700);
	mkfile(locked, "a", 10);
	mkfile(locked, "b", 10);
	mkfile(sub, "c", 10);
	bool modes = fchmod(sub, 0) == 0 && fchmod(locked, 0) == 0 && fchmod(tree, 0) == 0;
	close(sub);
	close(locked);
	close(tree);
	ok(modes, "R5: three nested directories set to mode 000");
	struct result res;
	bool ran = in_child(r5_child, d, &res);
	ok(ran && res.r > -1000 && res.v[0],
	   "R5: without CAP_DAC_OVERRIDE modes bind root (precondition)");
	is_errno(res.r, 0, "R5: chmod 000 directories with files removed");
	is_int(res.st.files, 6, "R5: 3 files and 3 directories counted");
	ok(!exists(d, "tree"), "R5: nothing left");
	close(d);
}

static void test_stats_and_args(void)
{
	int d = subdir(tfd, "r6", 0700);
	int tree = subdir(d, "tree", 0700);
	int sub = subdir(tree, "d", 0700);
	mkfile(tree, "a", 4096);
	mkfile(tree, "b", 0);
	mkfile(sub, "c", 10000);
	if (symlinkat("a", tree, "l") < 0)
		diag("symlink: %m");
	/* Bytes freed as statfs counts them: an estimate (delayed allocation,
	 * other writers on the same filesystem), so only its bounds are checked:
	 * something was counted, and no more than the files' and the two
	 * directories' blocks plus slack. */
	uint64_t want = blocks_bytes(tree, "a") + blocks_bytes(tree, "b") + blocks_bytes(sub, "c") +
			blocks_bytes(tree, "l");
	uint64_t most = want + blocks_bytes(d, "tree") + blocks_bytes(tree, "d") + 65536;
	close(sub);
	close(tree);
	struct rmtree_stats st = {99, 99};
	is_errno(rmtree_at(d, "tree", &st), 0, "stats tree removed");
	is_int(st.files, 6, "stats: 4 non-directories and 2 directories");
	ok(st.bytes > 0 && st.bytes <= most,
	   "stats: bytes freed counted (%llu; files' st_blocks %llu, at most %llu)",
	   (unsigned long long)st.bytes, (unsigned long long)want, (unsigned long long)most);

	mkfile(d, "plain", 5000);
	uint64_t plain_bytes = blocks_bytes(d, "plain");
	st = (struct rmtree_stats){99, 99};
	is_errno(rmtree_at(d, "plain", &st), 0, "a plain file as the top is unlinked");
	ok(!exists(d, "plain"), "the plain file is gone");
	is_int(st.files, 1, "plain file: files == 1");
	ok(st.bytes > 0 && st.bytes <= plain_bytes + 65536,
	   "plain file: its bytes counted (%llu of %llu)", (unsigned long long)st.bytes,
	   (unsigned long long)plain_bytes);

	mkfile(d, "sentinel", 1);
	static const char *const bad[] = {"", ".", "..", "a/b", "/tmp", "sentinel/"};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		is_errno(rmtree_at(d, bad[i], NULL), -EINVAL, "name \"%s\": -EINVAL", bad[i]);
	ok(exists(d, "sentinel"), "nothing removed by the refused names");
	is_errno(rmtree_at(d, "missing", NULL), -ENOENT, "a missing name: -ENOENT");
	close(d);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-unit.XXXXXX");
	if (!mkdtemp(tmpdir) || (tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(tmpdir);
		return 99;
	}
	umask(022);
	test_r1_symlink();
	test_r2_mount();
	test_r3_deep();
	test_r3_cut();
	test_r4_fifo();
	test_r5_modes();
	test_stats_and_args();
	close(tfd);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return done_testing();
}
