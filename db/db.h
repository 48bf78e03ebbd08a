/* The state database: the only code in ephemera that speaks SQL.
 *
 * Every function returns 0 (or a count / boolean >= 0) on success and -errno on
 * failure; ret_* outputs are untouched on failure.  SQLite results map to errno
 * so that callers can tell the cases apart:
 *   -EBUSY   locked past busy_timeout      -EBADMSG  corrupt / not a database
 *   -EROFS   read-only file or medium      -ENOSPC   disk full
 *   -EACCES  cannot open                   -EPROTO   schema newer than this build
 *   -ENOENT  no such row                   -EEXIST   unique constraint
 * db_errmsg() gives SQLite's text for the last failure, for the caller's log.
 */
#ifndef EPHEMERA_DB_H
#define EPHEMERA_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct db;

#define DB_SCHEMA_VERSION  4
#define DB_BUSY_TIMEOUT_MS 10000
#define DB_CHECKPOINT_WAIT_MS 50

enum session_state {
	SESSION_ALLOCATED,
	SESSION_ACTIVE,
	SESSION_CLOSED,
	SESSION_REAPING,
	SESSION_REAPED,
	SESSION_FAILED,
};

struct db_session {
	char name[33];
	uint32_t uid, gid;
	char owner[33];
	uint32_t owner_uid;
	char service[33];
	char tty[65];
	char rhost[256];
	enum session_state state;
	int64_t created_at;
	int64_t pam_pid, pam_start;	  /* the login's PAM caller; 0 when no PAM module ran */
	int64_t leader_pid, leader_start; /* the launcher; 0 before the shell claimed it */
	bool reaped;			  /* the reaper finished with it */
	bool exited; /* the launcher recorded an exit status */
	int64_t reaped_at;
	char profile[33]; /* the profile it runs under ("default" when unset) */
	int64_t init_pid, init_start; /* pid 1 of its sandbox; 0 before it started */
};

/* Opens (creating if needed) the database at path: parent directory 0700 root,
 * file 0600 root, WAL, busy_timeout, foreign keys, schema migrated to
 * DB_SCHEMA_VERSION.  Refuses a file or directory with other owners or modes.
 * On failure writes "PATH: reason" to err (which may be NULL). */
int db_open(const char *path, struct db **ret, char *err, size_t errlen);
void db_close(struct db *db);
/* Copies the WAL into the database and empties it.  Logins open the database
 * with no other connection open, and such an opener rebuilds the WAL index by
 * reading every frame in the WAL: a WAL left long makes every login slower.
 * The reaper, off the login's path, calls this when it is done.  -EBUSY when
 * readers or writers were in the way (nothing is lost: try again later). */
int db_checkpoint(struct db *db);
const char *db_errmsg(const struct db *db);
int db_user_version(struct db *db, int *ret);

/* BEGIN IMMEDIATE: the write lock is taken now, not at the first write. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

const char *session_state_name(enum session_state s);
int session_state_from_name(const char *s, enum session_state *ret);

/* Leases.  1 if uid is leased or in quarantine, 0 if free in the database. */
int db_uid_is_held(struct db *db, uint32_t uid);
/* 1 if a session (any state) has this name. */
int db_name_exists(struct db *db, const char *name);
/* Sessions of owner_uid that are not yet reaped or failed. */
int db_count_live_sessions(struct db *db, uint32_t owner_uid, int *ret);
/* Sessions of owner_uid that are live or whose lease is still held (in
 * quarantine after the reap): the UIDs the owner takes from the range. */
int db_count_held_uids(struct db *db, uint32_t owner_uid, int *ret);

/* Inserts the session (state allocated), its lease and an "allocated" event. */
int db_session_create(struct db *db, const struct db_session *s);
int db_session_get(struct db *db, const char *name, struct db_session *ret);
/* Moves state forward only: from any state in from_mask (bit per state) to `to`.
 * -ESTALE when the session is not in one of those states. */
int db_session_set_state(struct db *db, const char *name, unsigned from_mask,
			 enum session_state to);
/* allocated -> active, with the leader's pid and its start time. */
int db_session_start(struct db *db, const char *name, int64_t leader_pid, int64_t leader_start);
/* allocated or active -> closed (PAM close: the login is over). */
int db_session_close(struct db *db, const char *name);
/* Sessions of owner_uid in state allocated that a PAM module allocated. */
typedef int (*db_binding_cb)(const char *name, int64_t pam_pid, int64_t pam_start, void *userdata);
int db_each_unclaimed(struct db *db, uint32_t owner_uid, db_binding_cb cb, void *userdata);
/* active -> closed, with the exit status of the session. */
int db_session_finish(struct db *db, const char *name, int exit_status);
/* any live state -> failed, with the reason as an event. */
int db_session_fail(struct db *db, const char *name, const char *reason);

typedef int (*db_session_cb)(const struct db_session *s, void *userdata);

/* The reaper's records.  reaping: from allocated, active or closed (0 when it
 * already is reaping, or failed).  reaped: files/bytes freed and the time
 * taken, lease to quarantine, state reaped (a failed session stays failed). */
int db_session_reaping(struct db *db, const char *name);
int db_session_reaped(struct db *db, const char *name, uint64_t files, uint64_t bytes,
		      int64_t millis);
/* Sessions not yet reaped (any state), and sessions whose lease is in quarantine. */
int db_each_reapable(struct db *db, db_session_cb cb, void *userdata);
int db_each_quarantined(struct db *db, db_session_cb cb, void *userdata);
/* A quarantined lease leaves: its UID may be leased again. */
int db_lease_release(struct db *db, const char *name);

/* Drops the lease of a session outright (no quarantine): only for a session
 * that never ran a process. */
int db_lease_delete(struct db *db, const char *name);

int db_event_add(struct db *db, const char *session, const char *kind, const char *detail);

/* Names of the sessions whose home is expected to exist (not reaped). */
typedef int (*db_name_cb)(const char *name, void *userdata);
int db_each_live_name(struct db *db, db_name_cb cb, void *userdata);

/* Text listing: one callback per session, newest first; state may be NULL. */
int db_each_session(struct db *db, const enum session_state *state, db_session_cb cb,
		    void *userdata);

/* The audit trail of one session, oldest first. */
typedef int (*db_event_cb)(int64_t at, const char *kind, const char *detail, void *userdata);
int db_each_event(struct db *db, const char *name, db_event_cb cb, void *userdata);

/* JSON built by SQLite's json functions; *ret is malloc'ed. */
int db_sessions_json(struct db *db, const enum session_state *state, char **ret);
int db_session_json(struct db *db, const char *name, char **ret);

/* Lifetimes (db/lifetime.c). */
struct db_times {
	int64_t started_at; /* when its shell claimed it (created_at before) */
	int64_t warned_at;  /* the last lifetime warning; 0: none */
	int64_t active_at;  /* the last activity seen; 0: none yet */
	int64_t last_logout; /* when its last login left; 0: none has */
};
int db_session_times(struct db *db, const char *name, struct db_times *ret);
/* The logins still attached to a session (the logins table): pid, start time. */
typedef int (*db_login_cb)(int64_t pid, int64_t start, void *userdata);
int db_each_open_login(struct db *db, const char *name, db_login_cb cb, void *userdata);
/* warned_at = at, and a "warned" event with detail, in one transaction. */
int db_session_warned(struct db *db, const char *name, int64_t at, const char *detail);
int db_session_seen(struct db *db, const char *name, int64_t at);

/* The sandbox's pid 1 (its pid and start time), recorded once it runs. */
int db_session_set_init(struct db *db, const char *name, int64_t pid, int64_t start);

/* One login attached to a session: the launcher that entered its sandbox. */
struct db_login {
	int64_t id;
	char session[33];
	int64_t pid, start; /* the launcher (ephemera-shell outside the sandbox) */
	char service[33];
	char tty[65];
	char rhost[256];
	int64_t since, ended_at; /* ended_at 0 while it runs */
};
int db_login_add(struct db *db, const struct db_login *l, int64_t *ret_id);
int db_login_end(struct db *db, int64_t id);
/* Every login of the session still open is ended (the reaper, at the reap). */
int db_logins_end_all(struct db *db, const char *session);
typedef int (*db_login_row_cb)(const struct db_login *l, void *userdata);
int db_each_login(struct db *db, const char *session, db_login_row_cb cb, void *userdata);
/* Logins of the session not yet ended. */
int db_count_logins(struct db *db, const char *session, int *ret);
/* Sessions of owner_uid that a PAM module allocated and that are not over
 * yet (allocated, active or closed, not reaped): the PAM session a shell
 * belongs to, whether it is the first shell of that login or a later one. */
int db_each_bound(struct db *db, uint32_t owner_uid, db_binding_cb cb, void *userdata);

/* PRAGMA integrity_check: 0 when "ok", -EBADMSG otherwise. */
int db_integrity_check(struct db *db);

#endif
