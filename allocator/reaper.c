/* The reaper (reaper.h has its invariants).  One session at a time:
 * lock -> reaping -> kill -> detach mounts -> wipe but mnt/output -> hand the
 * output over -> quarantine the lease -> reaped. */
#include "allocator/reaper.h"

#include "allocator/home.h"
#include "allocator/proc.h"
#include "allocator/quota.h"
#include "allocator/rmtree.h"
#include "allocator/walk.h"
#include "common/cgroup.h"
#include "common/errbuf.h"
#include "common/parse.h"
#include "common/util.h"

#include <acl/libacl.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#define KILL_ROUNDS 250 /* 20 ms apart: 5 s for a pid namespace to die */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* P1: an OFD lock (released when the fd closes or the process dies). */
static int lock_session(const char *db_path, uint32_t uid)
{
	char dir[4096], path[4200];
	snprintf(dir, sizeof(dir), "%s", db_path);
	snprintf(path, sizeof(path), "%s/reap.lock", dirname(dir));
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return neg_errno();
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = uid, .l_len = 1};
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int r = errno == EAGAIN || errno == EACCES ? -EALREADY : neg_errno();
		close(fd);
		return r;
	}
	return fd;
}

/* 1 if a live (non-zombie) process has uid among its real, effective, saved
 * or filesystem uids. */
static int uid_has_processes(uid_t uid)
{
	DIR *d = opendir("/proc");
	if (!d)
		return neg_errno();
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d))) {
		uint64_t pid;
		if (parse_u64(de->d_name, 1, UINT32_MAX, &pid) < 0)
			continue;
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/%llu/status", (unsigned long long)pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		bool zombie = false;
		while (fgets(line, sizeof(line), f)) {
			unsigned r, e, s, fs;
			if (strncmp(line, "State:", 6) == 0 && strchr(line, 'Z'))
				zombie = true;
			if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &fs) == 4 && !zombie)
				found = r == uid || e == uid || s == uid || fs == uid;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* kill(-1) as the UID: one syscall reaches every process the UID can signal,
 * so a fork bomb cannot outrun it by forking between a scan and a kill. */
static int kill_as_uid(uid_t uid, gid_t gid)
{
	pid_t p = fork();
	if (p < 0)
		return neg_errno();
	if (p == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(1);
		kill(-1, SIGKILL);
		_exit(0);
	}
	int st = 0;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPERM;
}

/* P2 */
static int kill_everything(const struct db_session *s, char *err, size_t errlen)
{
	struct proc_id leader = {(pid_t)s->leader_pid, (uint64_t)s->leader_start};
	/* A launcher that recorded its exit status is on its way out (it may be
	 * the very process that started us): let it report its status. */
	if (s->leader_pid > 0 && !s->exited && proc_alive(&leader) == 1)
		kill(leader.pid, SIGKILL); /* pid 1 of the sandbox dies with it */
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int alive = uid_has_processes(s->uid);
		if (alive < 0)
			return errbuf(alive, err, errlen, "scanning /proc: %s", strerror(-alive));
		if (!alive)
			return 0;
		int r = kill_as_uid(s->uid, s->gid);
		if (r < 0)
			return errbuf(r, err, errlen, "cannot signal as uid %u", s->uid);
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return errbuf(-EBUSY, err, errlen, "processes of uid %u survive; nothing wiped", s->uid);
}

/* P3: mounts under the home (an admin's bind, a stale one) are detached, the
 * deepest first, never descended into.  Mount points are read from
 * mountinfo, where spaces and the like are escaped as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* Detaches one mount, by fd: mountinfo gives a path, but the owner could
 * still swap a directory on that path for a symlink, so the path is resolved
 * beneath the sessions directory without any link, and only if it lands on
 * that very mount (its id, its root) is it detached. */
static int detach_one(int sessions_fd, const char *rel, uint64_t mnt_id)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, sessions_fd, rel, &how, sizeof(how));
	if (fd < 0)
		return neg_errno();
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return neg_errno();
	if (!(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != mnt_id ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return -ESTALE;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return umount2(path, MNT_DETACH) < 0 ? neg_errno() : 0;
}

static int detach_mounts_under(int sessions_fd, const char *sessions_dir, const char *name)
{
	char home[4200];
	snprintf(home, sizeof(home), "%s/%s", sessions_dir, name);
	size_t hl = strlen(home), sl = strlen(sessions_dir);
	int detached = 0;
	for (int pass = 0; pass < 64; pass++) { /* one mount a pass, deepest first */
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return neg_errno();
		char *line = NULL;
		size_t cap = 0;
		char deepest[4200] = "";
		uint64_t deepest_id = 0;
		while (getline(&line, &cap, f) > 0) {
			unsigned long long id;
			char mp[4200];
			if (sscanf(line, "%llu %*s %*s %*s %4199s", &id, mp) != 2)
				continue;
			unescape(mp);
			/* ">=": of mounts stacked on one path, the later line is on top. */
			if (strncmp(mp, home, hl) == 0 && (mp[hl] == '/' || mp[hl] == '\0') &&
			    strlen(mp) >= strlen(deepest)) {
				snprintf(deepest, sizeof(deepest), "%s", mp);
				deepest_id = id;
			}
		}
		free(line);
		fclose(f);
		if (!deepest[0])
			return detached;
		int r = detach_one(sessions_fd, deepest + sl + 1, deepest_id);
		if (r < 0)
			return r;
		detached++;
	}
	return -ELOOP;
}

/* Removes every entry of dir_fd except `keep` (when it is a real directory). */
static int wipe_except(int dir_fd, const char *keep, struct rmtree_stats *total)
{
	int dfd = dup(dir_fd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return neg_errno();
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*p));
		if (!p || !(p[n] = strdup(de->d_name))) {
			free(p ? p : names);
			names = p ? p : NULL;
			r = -ENOMEM;
			break;
		}
		names = p;
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		bool kept = keep && !strcmp(names[i], keep) &&
			    fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode);
		if (r == 0 && !kept) {
			struct rmtree_stats s = {0};
			int k = rmtree_at(dir_fd, names[i], &s);
			total->files += s.files;
			total->bytes += s.bytes;
			if (k < 0 && k != -ENOENT)
				r = k;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static int wipe_home(int sessions_fd, const char *name, struct rmtree_stats *stats)
{
	_cleanup_close_ int home =
	    openat(sessions_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (home < 0)
		return errno == ENOENT ? 0 : neg_errno();
	/* No chmod here: on a directory with an ACL it would reset the mask and
	 * lock the owner out of the output (root needs no mode bits anyway). */
	int r = wipe_except(home, "mnt", stats);
	if (r < 0)
		return r;
	_cleanup_close_ int mnt =
	    openat(home, "mnt", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (mnt < 0)
		return errno == ENOENT ? 0 : neg_errno();
	return wipe_except(mnt, "output", stats);
}

/* P4: the handover, one entry at a time. */
struct handover {
	uid_t uid, owner;
	gid_t gid, owner_gid;
	uint64_t mnt_id; /* of the output: a mount inside it is not ours */
	unsigned skipped;
};

/* Drops every named ACL entry but the owner's: those of the session's uid
 * and gid, and any grant the untrusted session made to a third party (the
 * owner must not receive files already shared with someone else). */
static int strip_acl(const char *path, acl_type_t type, const struct handover *h)
{
	acl_t acl = acl_get_file(path, type);
	if (!acl)
		return errno == ENOTSUP || errno == ENODATA ? 0 : neg_errno();
	bool changed = false;
	acl_entry_t e;
	for (int w = ACL_FIRST_ENTRY; acl_get_entry(acl, w, &e) == 1; w = ACL_NEXT_ENTRY) {
		acl_tag_t tag;
		void *q;
		if (acl_get_tag_type(e, &tag) < 0 || (tag != ACL_USER && tag != ACL_GROUP))
			continue;
		if (!(q = acl_get_qualifier(e)))
			continue;
		bool owners = tag == ACL_USER ? *(uid_t *)q == h->owner : *(gid_t *)q == h->owner_gid;
		acl_free(q);
		if (!owners && acl_delete_entry(acl, e) == 0)
			changed = true;
	}
	int r = 0;
	if (changed && (acl_calc_mask(&acl) < 0 || acl_set_file(path, type, acl) < 0))
		r = neg_errno();
	acl_free(acl);
	return r;
}

/* One entry, by one fd from first to last: the owner may still be renaming
 * things in its output while we work, so whatever the name points to after
 * the walk's statx is looked at again through the fd we act on, and only a
 * file that is the session's (its UID, the walk's mount) is given over. */
static int hand_over(struct handover *h, int dir_fd, const char *name)
{
	_cleanup_close_ int fd =
	    name[0] ? openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(dir_fd);
	if (fd < 0)
		return errno == ENOENT ? 0 : neg_errno();
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID,
		  &stx) < 0)
		return neg_errno();
	if (stx.stx_uid != h->uid || !(stx.stx_mask & STATX_MNT_ID) ||
	    stx.stx_mnt_id != h->mnt_id) {
		h->skipped++; /* not the session's: a hard link to another's file, or a swap */
		return 0;
	}
	/* ACLs first, owner last: "still the UID's" then means "not done", so
	 * a reaper killed in between leaves the entry for the next one (P5). */
	if (!S_ISLNK(stx.stx_mode)) { /* no ACLs on links */
		char path[64];	      /* ACL calls take paths: this very fd, never the name */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		int r = strip_acl(path, ACL_TYPE_ACCESS, h);
		if (r == 0 && S_ISDIR(stx.stx_mode))
			r = strip_acl(path, ACL_TYPE_DEFAULT, h);
		if (r < 0)
			return r;
	}
	return fchownat(fd, "", h->owner, h->owner_gid, AT_EMPTY_PATH) < 0 ? neg_errno() : 0;
}

static int ho_leaf(void *ctx, int dir_fd, const char *name, const struct stat *st)
{
	(void)st;
	return hand_over(ctx, dir_fd, name);
}

static int ho_enter(void *ctx, int fd, const struct stat *st)
{
	(void)st;
	return hand_over(ctx, fd, "");
}

static int open_dir(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

static int hand_output_over(int sessions_fd, const struct db_session *s)
{
	_cleanup_close_ int home = open_dir(sessions_fd, s->name);
	if (home < 0)
		return home == -ENOENT ? 0 : home;
	_cleanup_close_ int mnt = open_dir(home, "mnt");
	if (mnt < 0 && mnt != -ENOENT && mnt != -ENOTDIR && mnt != -ELOOP)
		return mnt;
	if (mnt < 0) /* the session removed or replaced mnt: the wipe took it */
		return home_restore_access(home, -1, s->owner_uid);
	struct handover h = {.uid = s->uid, .gid = s->gid, .owner = s->owner_uid};
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(s->owner_uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ESRCH; /* never leave the session's gid on what the owner keeps */
	h.owner_gid = res->pw_gid;
	struct statx stx;
	if (statx(mnt, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	h.mnt_id = stx.stx_mnt_id;
	struct walk_ops ops = {ho_leaf, ho_enter, NULL, NULL, &h, true, false};
	int r = walk_tree(mnt, "output", &ops, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	/* What holds the output is root's now, so that nothing under the home is
	 * the UID's and its lease can go; the owner keeps its way in. */
	return home_restore_access(home, mnt, s->owner_uid);
}

/* May this session be reaped now?  0 yes, -EINPROGRESS (with a reason) no:
 * a code of its own, so that reap --all can tell "not over yet" from a reap
 * that failed (a wipe's rmdir also answers EBUSY). */
static int check_over(const struct db_session *s, enum reap_mode mode, char *err, size_t errlen)
{
	if (mode == REAP_FORCE)
		return 0;
	/* P7: the sandbox's pid 1 is the session; alive, whatever the state says
	 * (a PAM close of the first connection while a re-attached login runs,
	 * or a linger), the session is not over. */
	struct proc_id init = {(pid_t)s->init_pid, (uint64_t)s->init_start};
	if (s->init_pid > 0 && proc_running(&init) == 1)
		return errbuf(-EINPROGRESS, err, errlen, "session %s is running (use kill)",
			      s->name);
	struct proc_id leader = {(pid_t)s->leader_pid, (uint64_t)s->leader_start};
	struct proc_id pam = {(pid_t)s->pam_pid, (uint64_t)s->pam_start};
	switch (s->state) {
	case SESSION_ALLOCATED:
		if (s->pam_pid > 0 && proc_alive(&pam) == 0)
			return 0; /* its login went away before a shell claimed it */
		return errbuf(-EINPROGRESS, err, errlen,
			      "session %s has not started (use kill or release)", s->name);
	case SESSION_ACTIVE:
		if (s->leader_pid > 0 && proc_alive(&leader) == 1)
			return errbuf(-EINPROGRESS, err, errlen, "session %s is running (use kill)",
				      s->name);
		return 0; /* its leader died (a crash, a reboot) */
	default: return 0;
	}
}

static int do_reap(const struct ephemera_config *cfg, struct db *db, const struct db_session *s,
		   struct reap_result *res, char *err, size_t errlen)
{
	int64_t t0 = now_ms();
	int r = db_session_reaping(db, s->name);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	/* The session's cgroup first, all at once (P2 still scans for the UID). */
	(void)cgroup_session_kill(s->name);
	if ((r = kill_everything(s, err, errlen)) < 0)
		return r;
	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, false);
	if (sfd < 0)
		return errbuf(sfd, err, errlen, "sessions directory %s: %s", cfg->sessions_dir,
			      home_strerror(sfd));
	char home[4200];
	snprintf(home, sizeof(home), "%s/%s", cfg->sessions_dir, s->name);
	if ((r = detach_mounts_under(sfd, cfg->sessions_dir, s->name)) < 0)
		return errbuf(r, err, errlen, "detaching mounts under %s: %s", home, strerror(-r));
	struct rmtree_stats st = {0};
	r = wipe_home(sfd, s->name, &st);
	res->files = st.files;
	res->bytes = st.bytes;
	if (r < 0)
		return errbuf(r, err, errlen, "wiping %s: %s", home, strerror(-r));
	if ((r = home_output_restore(sfd, s->name)) < 0) /* a tmpfs home's, from disk */
		return errbuf(r, err, errlen, "moving the output of %s back: %s", home, strerror(-r));
	if ((r = hand_output_over(sfd, s)) < 0)
		return errbuf(r, err, errlen, "handing %s/mnt/output over: %s", home, strerror(-r));
	if ((r = quota_apply(sfd, s->uid, 0)) < 0) /* disk_quota: the UID's limit goes */
		return errbuf(r, err, errlen, "clearing the quota of uid %u: %s", s->uid,
			      strerror(-r));
	if ((r = cgroup_session_remove(s->name)) < 0)
		return errbuf(r, err, errlen, "removing the cgroup %s/%s: %s", CGROUP_PARENT, s->name,
			      strerror(-r));
	res->millis = now_ms() - t0;
	r = db_session_reaped(db, s->name, res->files, res->bytes, res->millis);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	(void)db_logins_end_all(db, s->name); /* a launcher killed never said it left */
	return 0;
}

/* Stops the walk at the first entry of uid: -EEXIST. */
static int owned_leaf(void *ctx, int dir_fd, const char *name, const struct stat *st)
{
	(void)dir_fd;
	(void)name;
	return st->st_uid == *(uid_t *)ctx ? -EEXIST : 0;
}

static int owned_enter(void *ctx, int fd, const struct stat *st)
{
	(void)fd;
	return st->st_uid == *(uid_t *)ctx ? -EEXIST : 0;
}

/* P6: 0 when nothing under sessions_dir/name belongs to uid (or the home is
 * gone), -EEXIST when something does, another -errno when it cannot tell. */
static int home_free_of_uid(int sfd, const char *name, uid_t uid)
{
	struct walk_ops ops = {owned_leaf, owned_enter, NULL, NULL, &uid, true, false};
	int r = walk_tree(sfd, name, &ops, NULL);
	return r == -ENOENT ? 0 : r;
}

/* Right after a reap the lease can usually leave quarantine at once: the
 * owner then gets its UID back for the next session without waiting for gc
 * (max_sessions_per_owner counts quarantined leases too).  When something of
 * the uid is still there, gc tries again later. */
static void release_if_free(const struct ephemera_config *cfg, struct db *db,
			    const struct db_session *s)
{
	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, false);
	if (sfd >= 0 && home_free_of_uid(sfd, s->name, s->uid) == 0)
		(void)db_lease_release(db, s->name);
}

int reaper_reap(const struct ephemera_config *cfg, struct db *db, const char *name,
		enum reap_mode mode, struct reap_result *ret, char *err, size_t errlen)
{
	struct reap_result res = {0};
	struct db_session s;
	int r = db_session_get(db, name, &s);
	if (r < 0)
		return errbuf(r, err, errlen, "%s: %s", name,
			      r == -ENOENT ? "no such session" : db_errmsg(db));
	if (s.reaped) {
		/* A reaper killed after its record but before releasing the
		 * lease leaves that to the next one (reaper-killed.t). */
		release_if_free(cfg, db, &s);
		res.already = 1;
		*ret = res;
		return 0;
	}
	if ((r = check_over(&s, mode, err, errlen)) < 0)
		return r;
	int lock = lock_session(cfg->database, s.uid);
	if (lock < 0)
		return errbuf(lock, err, errlen, "session %s is being reaped by another reaper",
			      name);
	/* Read again under the lock: the other reaper may just have finished. */
	r = db_session_get(db, name, &s);
	if (r == 0 && s.reaped)
		res.already = 1;
	else if (r == 0)
		r = do_reap(cfg, db, &s, &res, err, errlen);
	else
		errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	close(lock);
	if (r == 0) {
		release_if_free(cfg, db, &s);
		*ret = res;
		(void)db_checkpoint(db); /* keeps the next login's open cheap (db.h) */
	}
	return r;
}

struct gc_ctx {
	const struct ephemera_config *cfg;
	struct db *db;
	int sfd;
	uint32_t older_than_days;
	unsigned released, deleted;
	int first_error;
};

/* Outputs past retention: the whole home of a session reaped that long ago. */
static int gc_expire(const struct db_session *s, void *userdata)
{
	struct gc_ctx *g = userdata;
	if (!s->reaped || s->reaped_at >= (int64_t)time(NULL) - (int64_t)g->older_than_days * 86400)
		return 0;
	struct stat st;
	if (fstatat(g->sfd, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* deleted before */
	int r = home_remove(g->sfd, s->name);
	if (r == 0) {
		g->deleted++;
		(void)db_event_add(g->db, s->name, "output-deleted", NULL);
	} else if (!g->first_error) {
		g->first_error = r;
	}
	return 0;
}

/* P6: a quarantined lease is released once nothing under the home is its UID's. */
static int gc_release(const struct db_session *s, void *userdata)
{
	struct gc_ctx *g = userdata;
	int r = home_free_of_uid(g->sfd, s->name, s->uid);
	if (r == 0) {
		if (db_lease_release(g->db, s->name) == 0)
			g->released++;
	} else if (r != -EEXIST && !g->first_error) {
		g->first_error = r;
	}
	return 0;
}

int reaper_gc(const struct ephemera_config *cfg, struct db *db, uint32_t older_than_days,
	      unsigned *ret_released, unsigned *ret_deleted, char *err, size_t errlen)
{
	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, false);
	if (sfd < 0)
		return errbuf(sfd, err, errlen, "sessions directory %s: %s", cfg->sessions_dir,
			      home_strerror(sfd));
	struct gc_ctx g = {cfg, db, sfd, older_than_days, 0, 0, 0};
	int r = older_than_days > 0 ? db_each_session(db, NULL, gc_expire, &g) : 0;
	if (r == 0)
		r = db_each_quarantined(db, gc_release, &g);
	*ret_released = g.released;
	*ret_deleted = g.deleted;
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	if (g.first_error)
		return errbuf(g.first_error, err, errlen, "gc: %s", strerror(-g.first_error));
	return 0;
}

int reaper_wait_over(const struct ephemera_config *cfg, struct db *db, const char *name)
{
	struct db_session s;
	int r = db_session_get(db, name, &s);
	if (r < 0 || s.reaped || s.init_pid <= 0)
		return 0; /* reaper_reap says what is wrong, if anything */
	const struct ephemera_profile *p = config_profile_named(cfg, s.profile);
	int64_t bound = (int64_t)(p ? p->linger : 0) + REAP_WAIT_SLACK;
	struct proc_id init = {(pid_t)s.init_pid, (uint64_t)s.init_start};
	return proc_wait_exit(&init, (int)(bound * 1000));
}
