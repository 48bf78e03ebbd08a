#include "allocator/alloc.h"

#include "allocator/home.h"
#include "allocator/hostids.h"
#include "allocator/lease.h"
#include "allocator/names.h"
#include "allocator/quota.h"
#include "common/errbuf.h"
#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NAME_TRIES 32

/* A name is usable when no session had it, no user or group has it, and no
 * directory of that name sits in the sessions directory. */
static int name_is_free(struct db *db, int sessions_fd, const char *name)
{
	int r = db_name_exists(db, name);
	if (r != 0)
		return r < 0 ? r : 0;
	char buf[4096];
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwr) != 0 || pwr)
		return 0;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &grr) != 0 || grr)
		return 0;
	struct stat st;
	if (fstatat(sessions_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return 0;
	return 1;
}

static int pick_name(struct db *db, int sessions_fd, char *buf, size_t size)
{
	for (int i = 0; i < NAME_TRIES; i++) {
		int r = name_generate(buf, size);
		if (r < 0)
			return r;
		r = name_is_free(db, sessions_fd, buf);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return -EEXIST;
}

static int lookup_owner(const char *owner, uid_t *ret_uid, gid_t *ret_gid)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(owner, &pw, buf, sizeof(buf), &res);
	if (e != 0)
		return -e;
	if (!res)
		return -ESRCH;
	*ret_uid = res->pw_uid;
	*ret_gid = res->pw_gid;
	return 0;
}

/* The profile is chosen once, here, and recorded: a config edited while the
 * session runs does not move it to another profile. */
static int pick_profile(const struct ephemera_config *cfg, const char *owner, gid_t gid,
			struct db_session *s, char *err, size_t errlen)
{
	int e = 0;
	const struct ephemera_profile *p = config_profile_for(cfg, owner, gid, &e);
	if (e < 0)
		return errbuf(e, err, errlen, "cannot tell the profile of %s: %s", owner,
			      strerror(-e));
	snprintf(s->profile, sizeof(s->profile), "%s", p->name);
	return 0;
}

/* The home as the session's profile has it: on disk, or on a tmpfs (home.h),
 * and the UID's user quota where the filesystem enforces quotas (quota.h). */
static int make_home(const struct ephemera_config *cfg, int sfd, const struct db_session *s)
{
	const struct ephemera_profile *p = config_profile_named(cfg, s->profile);
	int r = p && p->home_tmpfs
		    ? home_create_tmpfs(sfd, s->name, s->uid, s->gid, s->owner_uid, p->home_tmpfs)
		    : home_create(sfd, s->name, s->uid, s->gid, s->owner_uid);
	/* disk_quota, or no limit (a reaper killed before it cleared the last). */
	int q = r < 0 ? 0 : quota_apply(sfd, s->uid, p ? p->disk_quota : 0);
	if (q < 0)
		(void)home_remove(sfd, s->name);
	return r < 0 ? r : q;
}

/* Everything between BEGIN and COMMIT.  On failure the caller rolls back; a
 * home created here has already been removed (home_create, or below). */
static int alloc_locked(const struct ephemera_config *cfg, struct db *db, int sfd,
			struct db_session *s, char *err, size_t errlen)
{
	int r = alloc_repair(db, sfd);
	if (r < 0)
		return errbuf(r, err, errlen, "removing homes of crashed allocations: %s",
			      strerror(-r));
	/* Quarantined leases count: else one owner could take the whole UID
	 * range by logging in and out faster than gc frees the UIDs. */
	int held;
	r = db_count_held_uids(db, s->owner_uid, &held);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	if ((uint32_t)held >= cfg->max_sessions_per_owner)
		return errbuf(-EDQUOT, err, errlen,
			      "%s already holds %d UIDs: live sessions and leases still in "
			      "quarantine (max_sessions_per_owner)",
			      s->owner, held);

	struct hostids host;
	r = hostids_scan(cfg->uid_min, cfg->uid_max, "/etc/subuid", "/etc/subgid", &host);
	if (r < 0)
		return errbuf(r, err, errlen, "scanning the host's ids: %s", strerror(-r));
	r = lease_pick_uid(db, &host, cfg->uid_min, cfg->uid_max, &s->uid);
	unsigned nss_errors = host.nss_errors;
	hostids_free(&host);
	if (r == -EUSERS)
		return errbuf(r, err, errlen, "no free UID in %u-%u%s", cfg->uid_min, cfg->uid_max,
			      nss_errors ? " (NSS lookups failed; counted as taken)" : "");
	if (r < 0)
		return errbuf(r, err, errlen, "picking a UID: %s",
			      r == -EIO ? db_errmsg(db) : strerror(-r));
	s->gid = s->uid;

	r = pick_name(db, sfd, s->name, sizeof(s->name));
	if (r < 0)
		return errbuf(r, err, errlen, "picking a session name: %s", strerror(-r));
	r = db_session_create(db, s);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	r = make_home(cfg, sfd, s);
	if (r < 0)
		return errbuf(r, err, errlen, "creating %s/%s: %s", cfg->sessions_dir, s->name,
			      strerror(-r));
	r = db_commit(db);
	if (r < 0) {
		(void)home_remove(sfd, s->name);
		return errbuf(r, err, errlen, "database commit: %s", db_errmsg(db));
	}
	return 0;
}

int alloc_session(const struct ephemera_config *cfg, struct db *db, const struct alloc_request *req,
		  struct db_session *ret, char *err, size_t errlen)
{
	struct db_session s = {.state = SESSION_ALLOCATED, .created_at = (int64_t)time(NULL)};
	if (!req->owner || !config_valid_name(req->owner))
		return errbuf(-EINVAL, err, errlen, "invalid owner name");
	gid_t owner_gid = 0;
	int r = lookup_owner(req->owner, &s.owner_uid, &owner_gid);
	if (r < 0)
		return errbuf(r, err, errlen, "owner %s: %s", req->owner,
			      r == -ESRCH ? "no such user" : strerror(-r));
	if ((r = pick_profile(cfg, req->owner, owner_gid, &s, err, errlen)) < 0)
		return r;
	snprintf(s.owner, sizeof(s.owner), "%s", req->owner);
	snprintf(s.service, sizeof(s.service), "%s", req->service ? req->service : "");
	snprintf(s.tty, sizeof(s.tty), "%s", req->tty ? req->tty : "");
	snprintf(s.rhost, sizeof(s.rhost), "%s", req->rhost ? req->rhost : "");
	s.pam_pid = req->pam_pid;
	s.pam_start = req->pam_start;

	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, true);
	if (sfd < 0)
		return errbuf(sfd, err, errlen, "sessions directory %s: %s", cfg->sessions_dir,
			      home_strerror(sfd));
	/* L2: lckpwdf first, then the database lock, always in this order. */
	if (lckpwdf() < 0)
		return errbuf(-ENOLCK, err, errlen, "cannot lock the password database (lckpwdf)");
	r = db_begin(db);
	if (r < 0) {
		ulckpwdf();
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	}
	r = alloc_locked(cfg, db, sfd, &s, err, errlen);
	if (r < 0)
		db_rollback(db);
	ulckpwdf();
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

int alloc_release(const struct ephemera_config *cfg, struct db *db, const char *name, char *err,
		  size_t errlen)
{
	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, false);
	if (sfd < 0)
		return errbuf(sfd, err, errlen, "sessions directory %s: %s", cfg->sessions_dir,
			      home_strerror(sfd));
	int r = db_begin(db);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	struct db_session s;
	r = db_session_get(db, name, &s);
	if (r == -ENOENT) {
		errbuf(r, err, errlen, "no session named %s", name);
	} else if (r < 0) {
		errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	} else if (s.state != SESSION_ALLOCATED) {
		r = errbuf(-EBUSY, err, errlen,
			   "session %s is %s, not allocated: only a session that never started can "
			   "be released",
			   name, session_state_name(s.state));
	} else if ((r = home_remove(sfd, name)) < 0) {
		errbuf(r, err, errlen, "removing %s/%s: %s", cfg->sessions_dir, name, strerror(-r));
	} else if ((r = db_lease_delete(db, name)) < 0 ||
		   (r = db_session_set_state(db, name, 1u << SESSION_ALLOCATED, SESSION_REAPED)) <
		       0 ||
		   (r = db_event_add(db, name, "released", NULL)) < 0 || (r = db_commit(db)) < 0) {
		errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	}
	if (r < 0)
		db_rollback(db);
	return r;
}

int alloc_repair(struct db *db, int sessions_fd)
{
	int dfd = dup(sessions_fd);
	if (dfd < 0)
		return neg_errno();
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return neg_errno();
	}
	/* Collect first, remove after: never unlink while readdir runs. */
	char(*orphans)[NAME_MAX_LEN + 1] = NULL;
	size_t n = 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		/* Only names we could have made; anything else is not ours to touch. */
		if (!name_is_generated(de->d_name))
			continue;
		struct stat st;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN ||
		     fstatat(sessions_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(st.st_mode)))
			continue;
		int exists = db_name_exists(db, de->d_name);
		if (exists < 0) {
			r = exists;
			break;
		}
		if (exists)
			continue;
		void *p = realloc(orphans, (n + 1) * sizeof(*orphans));
		if (!p) {
			r = -ENOMEM;
			break;
		}
		orphans = p;
		memcpy(orphans[n++], de->d_name, strlen(de->d_name) + 1); /* valid names fit */
	}
	closedir(d);
	int removed = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = home_remove(sessions_fd, orphans[i]);
		if (r == 0) {
			removed++;
			r = db_event_add(db, orphans[i], "repair",
					 "removed a home without a session");
		}
	}
	free(orphans);
	return r < 0 ? r : removed;
}

int alloc_repair_now(const struct ephemera_config *cfg, struct db *db, char *err, size_t errlen)
{
	_cleanup_close_ int sfd = home_open_sessions_dir(cfg->sessions_dir, false);
	if (sfd < 0)
		return errbuf(sfd, err, errlen, "sessions directory %s: %s", cfg->sessions_dir,
			      home_strerror(sfd));
	int r = db_begin(db);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	int removed = alloc_repair(db, sfd);
	if (removed < 0) {
		db_rollback(db);
		return errbuf(removed, err, errlen, "repair: %s", strerror(-removed));
	}
	r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return errbuf(r, err, errlen, "database commit: %s", db_errmsg(db));
	}
	return removed;
}
