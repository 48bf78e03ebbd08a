/* Queries on sessions, leases and events. */
#include "db/db-internal.h"

#include "common/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const state_names[] = {
    [SESSION_ALLOCATED] = "allocated", [SESSION_ACTIVE] = "active", [SESSION_CLOSED] = "closed",
    [SESSION_REAPING] = "reaping",     [SESSION_REAPED] = "reaped", [SESSION_FAILED] = "failed",
};

const char *session_state_name(enum session_state s)
{
	return (unsigned)s < ELEMENTSOF(state_names) ? state_names[s] : "unknown";
}

int session_state_from_name(const char *s, enum session_state *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(state_names); i++)
		if (strcmp(s, state_names[i]) == 0) {
			*ret = (enum session_state)i;
			return 0;
		}
	return -EINVAL;
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Runs a one-row, one-integer query with up to one int64 and one text binding. */
static int query_int(struct db *db, const char *sql, const int64_t *i1, const char *t2,
		     int64_t *ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, sql, &st);
	if (r < 0)
		return r;
	int n = 1;
	if (i1)
		sqlite3_bind_int64(st, n++, *i1);
	if (t2)
		bind_text(st, n, t2);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : (db_map_rc(db, rc) ?: -EIO);
	sqlite3_finalize(st);
	return r;
}

int db_uid_is_held(struct db *db, uint32_t uid)
{
	int64_t u = uid, n = 0;
	int r = query_int(db, "SELECT count(*) FROM leases WHERE uid = ?", &u, NULL, &n);
	return r < 0 ? r : n > 0;
}

int db_name_exists(struct db *db, const char *name)
{
	int64_t n = 0;
	int r = query_int(db, "SELECT count(*) FROM sessions WHERE name = ?", NULL, name, &n);
	return r < 0 ? r : n > 0;
}

/* count(*) of sessions of one owner, by a query with one parameter. */
static int count_of_owner(struct db *db, const char *sql, uint32_t owner_uid, int *ret)
{
	int64_t u = owner_uid, n = 0;
	int r = query_int(db, sql, &u, NULL, &n);
	if (r < 0)
		return r;
	*ret = (int)n;
	return 0;
}

int db_count_live_sessions(struct db *db, uint32_t owner_uid, int *ret)
{
	return count_of_owner(db,
			      "SELECT count(*) FROM sessions WHERE owner_uid = ? AND "
			      "state NOT IN ('reaped', 'failed')",
			      owner_uid, ret);
}

int db_count_held_uids(struct db *db, uint32_t owner_uid, int *ret)
{
	return count_of_owner(db,
			      "SELECT count(*) FROM sessions s WHERE owner_uid = ? AND "
			      "(state NOT IN ('reaped', 'failed') OR "
			      " EXISTS (SELECT 1 FROM leases l WHERE l.session = s.name))",
			      owner_uid, ret);
}

int db_event_add(struct db *db, const char *session, const char *kind, const char *detail)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "INSERT INTO events (session, at, kind, detail) VALUES (?, ?, ?, ?)",
			   &st);
	if (r < 0)
		return r;
	bind_text(st, 1, session);
	sqlite3_bind_int64(st, 2, now());
	bind_text(st, 3, kind);
	bind_text(st, 4, detail ? detail : "");
	return db_step_done(db, st);
}

static int session_insert(struct db *db, const struct db_session *s)
{
	sqlite3_stmt *st;
	int r = db_prepare(
	    db,
	    "INSERT INTO sessions (name, uid, gid, owner, owner_uid, service, tty, rhost,"
	    " state, created_at, pam_pid, pam_start, profile)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'allocated', ?, ?, ?, ?)",
	    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, s->name);
	sqlite3_bind_int64(st, 2, s->uid);
	sqlite3_bind_int64(st, 3, s->gid);
	bind_text(st, 4, s->owner);
	sqlite3_bind_int64(st, 5, s->owner_uid);
	bind_text(st, 6, s->service);
	bind_text(st, 7, s->tty);
	bind_text(st, 8, s->rhost);
	sqlite3_bind_int64(st, 9, s->created_at ? s->created_at : now());
	if (s->pam_pid > 0) {
		sqlite3_bind_int64(st, 10, s->pam_pid);
		sqlite3_bind_int64(st, 11, s->pam_start);
	}
	bind_text(st, 12, s->profile[0] ? s->profile : "default");
	r = db_step_done(db, st);
	if (r < 0)
		return r;

	r = db_prepare(
	    db, "INSERT INTO leases (uid, session, state, since) VALUES (?, ?, 'leased', ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, s->uid);
	bind_text(st, 2, s->name);
	sqlite3_bind_int64(st, 3, now());
	r = db_step_done(db, st);
	if (r < 0)
		return r;
	return db_event_add(db, s->name, "allocated", s->owner);
}

/* The three inserts are one unit even when the caller holds no transaction:
 * a savepoint nests inside the allocation's BEGIN IMMEDIATE. */
int db_session_create(struct db *db, const struct db_session *s)
{
	int r = db_exec(db, "SAVEPOINT session_create");
	if (r < 0)
		return r;
	r = session_insert(db, s);
	if (r < 0) {
		char saved[sizeof(db->errmsg)];
		memcpy(saved, db->errmsg, sizeof(saved));
		db_exec(db, "ROLLBACK TO session_create");
		db_exec(db, "RELEASE session_create");
		memcpy(db->errmsg, saved, sizeof(saved));
		return r;
	}
	return db_exec(db, "RELEASE session_create");
}

#define SESSION_COLUMNS                                                                            \
	"name, uid, gid, owner, owner_uid, service, tty, rhost, state, created_at,"                \
	" coalesce(pam_pid, 0), coalesce(pam_start, 0), coalesce(leader_pid, 0),"                  \
	" coalesce(leader_start, 0), reaped_at IS NOT NULL, coalesce(reaped_at, 0),"               \
	" exit_status IS NOT NULL, profile, coalesce(init_pid, 0), coalesce(init_start, 0)"

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static int row_to_session(sqlite3_stmt *st, struct db_session *s)
{
	*s = (struct db_session){0};
	copy_col(s->name, sizeof(s->name), st, 0);
	s->uid = (uint32_t)sqlite3_column_int64(st, 1);
	s->gid = (uint32_t)sqlite3_column_int64(st, 2);
	copy_col(s->owner, sizeof(s->owner), st, 3);
	s->owner_uid = (uint32_t)sqlite3_column_int64(st, 4);
	copy_col(s->service, sizeof(s->service), st, 5);
	copy_col(s->tty, sizeof(s->tty), st, 6);
	copy_col(s->rhost, sizeof(s->rhost), st, 7);
	const unsigned char *state = sqlite3_column_text(st, 8);
	s->created_at = sqlite3_column_int64(st, 9);
	s->pam_pid = sqlite3_column_int64(st, 10);
	s->pam_start = sqlite3_column_int64(st, 11);
	s->leader_pid = sqlite3_column_int64(st, 12);
	s->leader_start = sqlite3_column_int64(st, 13);
	s->reaped = sqlite3_column_int(st, 14) != 0;
	s->reaped_at = sqlite3_column_int64(st, 15);
	s->exited = sqlite3_column_int(st, 16) != 0;
	copy_col(s->profile, sizeof(s->profile), st, 17);
	s->init_pid = sqlite3_column_int64(st, 18);
	s->init_start = sqlite3_column_int64(st, 19);
	return session_state_from_name(state ? (const char *)state : "", &s->state) < 0 ? -EBADMSG
											: 0;
}

int db_session_get(struct db *db, const char *name, struct db_session *ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE name = ?", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct db_session s;
		r = row_to_session(st, &s);
		if (r == 0)
			*ret = s;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : db_map_rc(db, rc);
	}
	sqlite3_finalize(st);
	return r;
}

int db_session_set_state(struct db *db, const char *name, unsigned from_mask, enum session_state to)
{
	/* Forward only: a target must rank above every source it is reached from;
	 * failed is reached from the live states only, never from reaped or failed. */
	for (unsigned s = 0; s < ELEMENTSOF(state_names); s++) {
		if (!(from_mask & (1u << s)))
			continue;
		if (to == SESSION_FAILED ? s >= SESSION_REAPED : s >= (unsigned)to)
			return -EINVAL;
	}

	sqlite3_stmt *st;
	int r =
	    db_prepare(db,
		       "UPDATE sessions SET state = ?1,"
		       " ended_at = CASE WHEN ?1 IN ('closed','failed') THEN ?2 ELSE ended_at END,"
		       " reaped_at = CASE WHEN ?1 = 'reaped' THEN ?2 ELSE reaped_at END"
		       " WHERE name = ?3 AND (?4 >> (CASE state WHEN 'allocated' THEN 0"
		       " WHEN 'active' THEN 1 WHEN 'closed' THEN 2 WHEN 'reaping' THEN 3"
		       " WHEN 'reaped' THEN 4 ELSE 5 END)) & 1",
		       &st);
	if (r < 0)
		return r;
	bind_text(st, 1, session_state_name(to));
	sqlite3_bind_int64(st, 2, now());
	bind_text(st, 3, name);
	sqlite3_bind_int64(st, 4, from_mask);
	r = db_step_done(db, st);
	if (r < 0)
		return r;
	if (sqlite3_changes(db->conn) == 1)
		return db_event_add(db, name, session_state_name(to), NULL);
	return db_name_exists(db, name) == 1 ? -ESTALE : -ENOENT;
}

int db_lease_delete(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "DELETE FROM leases WHERE session = ?", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	return db_step_done(db, st);
}

int db_each_live_name(struct db *db, db_name_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "SELECT name FROM sessions WHERE state <> 'reaped'", &st);
	if (r < 0)
		return r;
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb((const char *)sqlite3_column_text(st, 0), userdata);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

/* Runs a SELECT of SESSION_COLUMNS and hands each row to cb. */
static int each_session_row(struct db *db, sqlite3_stmt *st, db_session_cb cb, void *userdata)
{
	int r = 0, rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_session s;
		r = row_to_session(st, &s);
		if (r == 0)
			r = cb(&s, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_each_session(struct db *db, const enum session_state *state, db_session_cb cb,
		    void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT " SESSION_COLUMNS " FROM sessions WHERE ?1 IS NULL OR state = ?1"
			   " ORDER BY created_at DESC, rowid DESC",
			   &st);
	if (r < 0)
		return r;
	if (state)
		bind_text(st, 1, session_state_name(*state));
	return each_session_row(db, st, cb, userdata);
}

#define SESSION_JSON                                                                               \
	"json_object('name', s.name, 'uid', s.uid, 'gid', s.gid, 'owner', s.owner,"                \
	" 'owner_uid', s.owner_uid, 'service', s.service, 'tty', s.tty, 'rhost', s.rhost,"         \
	" 'state', s.state, 'created_at', s.created_at, 'started_at', s.started_at,"               \
	" 'ended_at', s.ended_at, 'reaped_at', s.reaped_at, 'leader_pid', s.leader_pid,"           \
	" 'exit_status', s.exit_status, 'bytes_reaped', s.bytes_reaped,"                           \
	" 'files_reaped', s.files_reaped, 'pam_pid', s.pam_pid, 'profile', s.profile,"             \
	" 'init_pid', s.init_pid, 'lease', (SELECT l.state FROM "    \
	"leases l"                                                                                 \
	" WHERE l.session = s.name))"

static int query_text(struct db *db, sqlite3_stmt *st, char **ret)
{
	int rc = sqlite3_step(st);
	int r;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		char *s = strdup((const char *)sqlite3_column_text(st, 0));
		r = s ? 0 : -ENOMEM;
		if (s)
			*ret = s;
	} else {
		r = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : db_map_rc(db, rc);
	}
	sqlite3_finalize(st);
	return r;
}

int db_sessions_json(struct db *db, const enum session_state *state, char **ret)
{
	sqlite3_stmt *st;
	int r =
	    db_prepare(db,
		       "SELECT coalesce(json_group_array(json(j)), '[]') FROM (SELECT " SESSION_JSON
		       " AS j FROM sessions s WHERE ?1 IS NULL OR s.state = ?1"
		       " ORDER BY s.created_at DESC, s.rowid DESC)",
		       &st);
	if (r < 0)
		return r;
	if (state)
		bind_text(st, 1, session_state_name(*state));
	return query_text(db, st, ret);
}

int db_session_json(struct db *db, const char *name, char **ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(
	    db,
	    "SELECT json_set(" SESSION_JSON ", '$.events', json((SELECT"
	    " json_group_array(json_object('at', e.at, 'kind', e.kind, 'detail', e.detail))"
	    " FROM (SELECT * FROM events e WHERE e.session = s.name ORDER BY e.id) e)),"
	    " '$.logins', json((SELECT json_group_array(json_object('service', g.service,"
	    " 'tty', g.tty, 'rhost', g.rhost, 'pid', g.pid, 'since', g.since,"
	    " 'ended_at', g.ended_at))"
	    " FROM (SELECT * FROM logins g WHERE g.session = s.name ORDER BY g.id) g)))"
	    " FROM sessions s WHERE s.name = ?",
	    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	return query_text(db, st, ret);
}

int db_each_event(struct db *db, const char *name, db_event_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "SELECT at, kind, detail FROM events WHERE session = ? ORDER BY id",
			   &st);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2), userdata);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

/* One column update on a session, by name. */
int db_update_int(struct db *db, const char *sql, const char *name, int64_t v)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, v);
	bind_text(st, 2, name);
	return db_step_done(db, st);
}

/* Runs fn-like steps in one transaction: begin, state move, extras, event, commit. */
static int transition(struct db *db, const char *name, unsigned from, enum session_state to,
		      const char *sql, int64_t v, const char *detail)
{
	int r = db_begin(db);
	if (r < 0)
		return r;
	r = db_session_set_state(db, name, from, to);
	if (r == 0 && sql)
		r = db_update_int(db, sql, name, v);
	if (r == 0 && detail)
		r = db_event_add(db, name, "reason", detail);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int db_session_start(struct db *db, const char *name, int64_t leader_pid, int64_t leader_start)
{
	/* Pid and start time together, in the transaction of the state change:
	 * a reaper must never see an active session without its leader's start. */
	int r = db_begin(db);
	if (r < 0)
		return r;
	r = db_session_set_state(db, name, 1u << SESSION_ALLOCATED, SESSION_ACTIVE);
	sqlite3_stmt *st;
	if (r == 0)
		r = db_prepare(db,
			       "UPDATE sessions SET leader_pid = ?1, leader_start = ?2,"
			       " started_at = unixepoch() WHERE name = ?3",
			       &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, leader_pid);
		sqlite3_bind_int64(st, 2, leader_start);
		bind_text(st, 3, name);
		r = db_step_done(db, st);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int db_session_close(struct db *db, const char *name)
{
	return transition(db, name, (1u << SESSION_ALLOCATED) | (1u << SESSION_ACTIVE),
			  SESSION_CLOSED, NULL, 0, NULL);
}

int db_each_unclaimed(struct db *db, uint32_t owner_uid, db_binding_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT name, pam_pid, pam_start FROM sessions WHERE owner_uid = ? AND"
			   " state = 'allocated' AND pam_pid IS NOT NULL ORDER BY rowid",
			   &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, owner_uid);
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
		       sqlite3_column_int64(st, 2), userdata);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_session_finish(struct db *db, const char *name, int exit_status)
{
	return transition(db, name, 1u << SESSION_ACTIVE, SESSION_CLOSED,
			  "UPDATE sessions SET exit_status = ?1 WHERE name = ?2", exit_status,
			  NULL);
}

int db_session_fail(struct db *db, const char *name, const char *reason)
{
	unsigned live = (1u << SESSION_ALLOCATED) | (1u << SESSION_ACTIVE) |
			(1u << SESSION_CLOSED) | (1u << SESSION_REAPING);
	return transition(db, name, live, SESSION_FAILED, NULL, 0, reason);
}

int db_session_reaping(struct db *db, const char *name)
{
	unsigned from = (1u << SESSION_ALLOCATED) | (1u << SESSION_ACTIVE) | (1u << SESSION_CLOSED);
	int r = transition(db, name, from, SESSION_REAPING, NULL, 0, NULL);
	return r == -ESTALE ? 0 : r; /* already reaping (a rerun), or failed */
}

int db_session_reaped(struct db *db, const char *name, uint64_t files, uint64_t bytes,
		      int64_t millis)
{
	int r = db_begin(db);
	if (r < 0)
		return r;
	sqlite3_stmt *st;
	r = db_prepare(
	    db,
	    "UPDATE sessions SET files_reaped = ?1, bytes_reaped = ?2, reaped_at = unixepoch(),"
	    " state = CASE state WHEN 'failed' THEN 'failed' ELSE 'reaped' END"
	    " WHERE name = ?3 AND state IN ('reaping', 'failed') AND reaped_at IS NULL",
	    &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, (int64_t)files);
		sqlite3_bind_int64(st, 2, (int64_t)bytes);
		bind_text(st, 3, name);
		r = db_step_done(db, st);
	}
	if (r == 0 && sqlite3_changes(db->conn) != 1)
		r = -ESTALE;
	if (r == 0)
		r = db_prepare(db,
			       "UPDATE leases SET state = 'quarantine', since = unixepoch()"
			       " WHERE session = ?",
			       &st);
	if (r == 0) {
		bind_text(st, 1, name);
		r = db_step_done(db, st);
	}
	if (r == 0) {
		char detail[128];
		snprintf(detail, sizeof(detail), "files=%llu bytes=%llu ms=%lld",
			 (unsigned long long)files, (unsigned long long)bytes, (long long)millis);
		r = db_event_add(db, name, "reaped", detail);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int db_each_reapable(struct db *db, db_session_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(
	    db,
	    "SELECT " SESSION_COLUMNS " FROM sessions WHERE reaped_at IS NULL AND"
	    " state IN ('allocated', 'active', 'closed', 'reaping', 'failed') ORDER BY rowid",
	    &st);
	return r < 0 ? r : each_session_row(db, st, cb, userdata);
}

int db_each_quarantined(struct db *db, db_session_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r =
	    db_prepare(db,
		       "SELECT " SESSION_COLUMNS " FROM sessions WHERE name IN"
		       " (SELECT session FROM leases WHERE state = 'quarantine') ORDER BY rowid",
		       &st);
	return r < 0 ? r : each_session_row(db, st, cb, userdata);
}

int db_lease_release(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int r =
	    db_prepare(db, "DELETE FROM leases WHERE session = ? AND state = 'quarantine'", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, name);
	r = db_step_done(db, st);
	if (r == 0 && sqlite3_changes(db->conn) == 1)
		r = db_event_add(db, name, "lease-released", NULL);
	return r;
}
