/* allocator/hostids.h and allocator/lease.h: invariants L3 and L5 of lease.h.
 * L1 (one session per uid) is checked in test-db.c ("leased uid again");
 * L2 (the transaction and lckpwdf) belongs to alloc.c; L4 (an NSS error means
 * taken) has no test: a failing NSS lookup cannot be provoked from here.
 *
 * Each defence was checked by a mutation in a copy of the tree under /tmp:
 *  - scan_subid_file() returning at once        -> the subuid/subgid tests fail;
 *  - scan_processes() returning at once         -> "uid of a running process" fails;
 *  - scan_ipc_file() returning at once          -> "owner of a SysV shm segment" fails;
 *  - the getpwuid_r result ignored              -> "known to NSS as a user only" fails;
 *  - the getgrgid_r result ignored              -> "known to NSS as a group only" fails;
 *  - the [min, max] check in hostids_is_free removed -> the binary crashes in
 *    test_scan_basics (is_busy reads outside the bitmap), so the run fails;
 *  - the db_uid_is_held() check in lease_pick_uid -> "held uids are skipped" fails;
 *  - start fixed at 0 instead of getrandom        -> "random start" fails. */
#include "allocator/hostids.h"
#include "allocator/lease.h"
#include "db/db-internal.h"

#include "common/config.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Just above the allocator's default range: no session of a concurrent
 * end-to-end run can hold these ids while this test looks at them. */
#define BASE (CONFIG_DEFAULT_UID_MAX + 1)

static char tmpdir[64];
static char no_subuid[128], no_subgid[128];

static const char *write_file(const char *name, const char *text)
{
	static char path[2][128];
	static int i;
	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	FILE *f = fopen(path[i], "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		diag("cannot write %s", path[i]);
		exit(99);
	}
	return path[i];
}

/* Scans [min, max] with the given subid files; 0 on success. */
static int scan(uint32_t min, uint32_t max, const char *subuid, const char *subgid,
		struct hostids *h)
{
	int r = hostids_scan(min, max, subuid, subgid, h);
	if (r < 0)
		diag("hostids_scan: %s", strerror(-r));
	return r;
}

static void test_scan_basics(void)
{
	struct hostids h;
	is_errno(hostids_scan(BASE + 5, BASE + 4, no_subuid, no_subgid, &h), -EINVAL,
		 "hostids_scan with min > max");
	if (scan(BASE, BASE + 31, no_subuid, no_subgid, &h) < 0) {
		skip(6, "no scan");
		return;
	}
	unsigned n_free = 0;
	for (uint32_t id = BASE; id <= BASE + 31; id++)
		n_free += hostids_is_free(&h, id) == 1;
	is_int(n_free, 32, "the test range is free on this host (precondition)");
	is_int(hostids_is_free(&h, 0), 0, "uid 0 is outside [min,max]: not free");
	is_int(hostids_is_free(&h, 65534), 0, "uid 65534 is outside: not free");
	is_int(hostids_is_free(&h, BASE - 1), 0, "min - 1: not free");
	is_int(hostids_is_free(&h, BASE + 32), 0, "max + 1: not free");
	is_int(hostids_is_free(&h, UINT32_MAX), 0, "UINT32_MAX: not free");
	hostids_free(&h);
}

static void test_subids(void)
{
	char uidtext[256], gidtext[128];
	snprintf(uidtext, sizeof(uidtext), "# comment\nbad line\nx:abc:1\nzero:%u:0\nalice:%u:5\n",
		 BASE + 20, BASE + 10);
	snprintf(gidtext, sizeof(gidtext), "bob:%u:2", BASE + 16); /* no final newline */
	const char *subuid = write_file("subuid", uidtext);
	const char *subgid = write_file("subgid", gidtext);
	struct hostids h;
	if (scan(BASE, BASE + 31, subuid, subgid, &h) < 0) {
		skip(6, "no scan");
		return;
	}
	unsigned taken = 0;
	for (uint32_t id = BASE + 10; id <= BASE + 14; id++)
		taken += hostids_is_free(&h, id) == 0;
	is_int(taken, 5, "all 5 ids of a subuid range are taken");
	is_int(hostids_is_free(&h, BASE + 9), 1, "the id before a subuid range is free");
	is_int(hostids_is_free(&h, BASE + 15), 1, "the id after a subuid range is free");
	ok(hostids_is_free(&h, BASE + 16) == 0 && hostids_is_free(&h, BASE + 17) == 0,
	   "a subgid range (last line without newline) is taken");
	is_int(hostids_is_free(&h, BASE + 18), 1, "after the subgid range: free");
	is_int(hostids_is_free(&h, BASE + 20), 1, "a range of count 0 is ignored");
	hostids_free(&h);
}

/* L3: a process with the uid (or gid) makes it taken, and only while it runs. */
static void test_process(void)
{
	int p[2];
	if (pipe(p) < 0) {
		skip(5, "no pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setresgid(BASE + 3, BASE + 3, BASE + 3) < 0 ||
		    setresuid(BASE + 1, BASE + 1, BASE + 1) < 0)
			_exit(1);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the uid change: set it after */
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	bool ready = pid > 0 && read(p[0], &c, 1) == 1;
	close(p[0]);
	ok(ready, "child runs as uid %u, gid %u", BASE + 1, BASE + 3);
	struct hostids h;
	if (ready && scan(BASE, BASE + 31, no_subuid, no_subgid, &h) == 0) {
		is_int(hostids_is_free(&h, BASE + 1), 0, "uid of a running process is taken");
		is_int(hostids_is_free(&h, BASE + 3), 0, "gid of a running process is taken");
		is_int(hostids_is_free(&h, BASE + 2), 1, "the uid next to it is free");
		hostids_free(&h);
	} else {
		skip(3, "no child");
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (scan(BASE, BASE + 31, no_subuid, no_subgid, &h) == 0) {
		is_int(hostids_is_free(&h, BASE + 1), 1, "free again once the process is gone");
		hostids_free(&h);
	}
}

/* L3: a SysV IPC object owned by the uid/gid. */
static void test_ipc(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	struct shmid_ds ds;
	if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0) {
		skip(2, "no SysV shm");
		return;
	}
	ds.shm_perm.uid = BASE + 5;
	ds.shm_perm.gid = BASE + 6;
	struct hostids h;
	if (shmctl(id, IPC_SET, &ds) == 0 && scan(BASE, BASE + 31, no_subuid, no_subgid, &h) == 0) {
		is_int(hostids_is_free(&h, BASE + 5), 0,
		       "owner uid of a SysV shm segment is taken");
		is_int(hostids_is_free(&h, BASE + 6), 0,
		       "owner gid of a SysV shm segment is taken");
		hostids_free(&h);
	} else {
		skip(2, "IPC_SET failed");
	}
	shmctl(id, IPC_RMID, NULL);
}

/* L3: known to NSS as a user, or as a group only.  The busy bit must be clear
 * so that the answer comes from NSS, not from a process. */
static void test_nss(void)
{
	struct hostids h;
	if (getpwuid(65534) && scan(65534, 65534, no_subuid, no_subgid, &h) == 0) {
		if (h.busy[0] & 1) {
			skip(2, "a process runs as 65534");
		} else {
			is_int(hostids_is_free(&h, 65534), 0,
			       "uid 65534 (nobody, known to NSS) is taken");
			is_int(h.nss_errors, 0, "no NSS error counted");
		}
		hostids_free(&h);
	} else {
		skip(2, "no user 65534");
	}
}

/* Appends line to a copy of /etc/NAME in tmpdir and binds the copy over it
 * (in the caller's private mount namespace: the host's /etc is not touched). */
static int shadow_etc(const char *name, const char *line)
{
	char src[64], dst[128], buf[4096];
	snprintf(src, sizeof(src), "/etc/%s", name);
	snprintf(dst, sizeof(dst), "%s/etc-%s", tmpdir, name);
	FILE *in = fopen(src, "re"), *out = fopen(dst, "we");
	size_t n;
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	bool good = in && out && fputs(line, out) >= 0;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		good = false;
	return good && mount(dst, src, NULL, MS_BIND, NULL) == 0 ? 0 : -1;
}

/* A user only (no group of that id) and a group only, added in a private mount
 * namespace.  Exit status: bit 0 setup failed, bit 1 user-only id free, bit 2
 * group-only id free, bit 3 the id next to them not free. */
static void test_nss_private(void)
{
	if (access("/run/nscd/socket", F_OK) == 0) {
		skip(3, "nscd caches NSS answers");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char pw[128], gr[64];
		snprintf(pw, sizeof(pw), "ephemera-test:x:%u:%u::/nonexistent:/usr/sbin/nologin\n",
			 BASE + 30, BASE + 29);
		snprintf(gr, sizeof(gr), "ephemera-testg:x:%u:\n", BASE + 31);
		struct hostids h;
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    shadow_etc("passwd", pw) < 0 || shadow_etc("group", gr) < 0 ||
		    hostids_scan(BASE + 28, BASE + 31, no_subuid, no_subgid, &h) < 0)
			_exit(1);
		_exit((hostids_is_free(&h, BASE + 30) ? 2 : 0) |
		      (hostids_is_free(&h, BASE + 31) ? 4 : 0) |
		      (hostids_is_free(&h, BASE + 28) ? 0 : 8));
	}
	int status = -1;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) & 1) {
		skip(3, "no private mount namespace");
		return;
	}
	int e = WEXITSTATUS(status);
	ok(!(e & 2), "a uid known to NSS as a user only is taken");
	ok(!(e & 4), "a gid known to NSS as a group only is taken");
	ok(!(e & 8), "the id next to them is free");
}

static int add_session(struct db *db, const char *name, uint32_t uid)
{
	struct db_session s = {.uid = uid, .gid = uid, .owner_uid = 1000};
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.owner, sizeof(s.owner), "agent-session");
	return db_session_create(db, &s);
}

static void test_pick(void)
{
	char path[128], err[512] = "";
	snprintf(path, sizeof(path), "%s/db/e.db", tmpdir);
	struct db *db = NULL;
	struct hostids h;
	if (db_open(path, &db, err, sizeof(err)) < 0 ||
	    scan(BASE, BASE + 7, no_subuid, no_subgid, &h) < 0) {
		diag("%s", err);
		skip(8, "no database");
		db_close(db);
		return;
	}
	unsigned outside = 0, seen = 0;
	for (int i = 0; i < 200; i++) {
		uint32_t uid = 0;
		if (lease_pick_uid(db, &h, BASE, BASE + 7, &uid) < 0 || uid < BASE ||
		    uid > BASE + 7)
			outside++;
		else
			seen |= 1u << (uid - BASE);
	}
	is_int(outside, 0, "200 picks, all inside [min, max]");
	ok(__builtin_popcount(seen) >= 4, "random start: %d different uids picked",
	   __builtin_popcount(seen));

	char name[16];
	int bad = 0;
	for (uint32_t i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		bad += add_session(db, name, BASE + i) < 0;
	}
	is_int(bad, 0, "7 of 8 uids leased");
	ok(db_exec(db, "UPDATE leases SET state = 'quarantine' WHERE session = 's0'") == 0,
	   "one lease moved to quarantine");
	unsigned wrong = 0;
	for (int i = 0; i < 50; i++) {
		uint32_t uid = 0;
		wrong += lease_pick_uid(db, &h, BASE, BASE + 7, &uid) != 0 || uid != BASE + 7;
	}
	is_int(wrong, 0, "held uids (leased or quarantined) are skipped: always %u", BASE + 7);
	add_session(db, "s7", BASE + 7);
	uint32_t uid = 12345;
	is_errno(lease_pick_uid(db, &h, BASE, BASE + 7, &uid), -EUSERS, "all held: -EUSERS");
	is_int(uid, 12345, "ret_uid untouched");
	hostids_free(&h);

	/* Held in the database or taken on the host: nothing left. */
	char text[64];
	snprintf(text, sizeof(text), "carol:%u:2\n", BASE + 8);
	const char *subuid = write_file("subuid-pick", text);
	if (scan(BASE + 6, BASE + 9, subuid, no_subgid, &h) == 0) {
		is_errno(lease_pick_uid(db, &h, BASE + 6, BASE + 9, &uid), -EUSERS,
			 "2 leased + 2 in subuid: -EUSERS");
		hostids_free(&h);
	}
	db_close(db);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(no_subuid, sizeof(no_subuid), "%s/no-subuid", tmpdir);
	snprintf(no_subgid, sizeof(no_subgid), "%s/no-subgid", tmpdir);
	test_scan_basics();
	test_subids();
	test_process();
	test_ipc();
	test_nss();
	test_nss_private();
	test_pick();

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return done_testing();
}
