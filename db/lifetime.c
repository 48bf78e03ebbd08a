/* Queries of the lifetime checks (allocator/lifetime.c): running sessions,
 * their times, their open logins, and the records of a warning. */
#include "db/db-internal.h"

#include <errno.h>
#include <stdio.h>

int db_session_times(struct db *db, const char *name, struct db_times *ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT coalesce(started_at, created_at), coalesce(warned_at, 0),"
			   " coalesce(active_at, 0), coalesce((SELECT max(ended_at) FROM logins"
			   " WHERE session = s.name), 0) FROM sessions s WHERE name = ?",
			   &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (struct db_times){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					 sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_each_open_login(struct db *db, const char *name, db_login_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT pid, start FROM logins WHERE session = ? AND ended_at IS NULL"
			   " ORDER BY id",
			   &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), userdata);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_session_warned(struct db *db, const char *name, int64_t at, const char *detail)
{
	int r = db_begin(db);
	if (r < 0)
		return r;
	r = db_update_int(db, "UPDATE sessions SET warned_at = ?1 WHERE name = ?2", name, at);
	if (r == 0)
		r = db_event_add(db, name, "warned", detail);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int db_session_seen(struct db *db, const char *name, int64_t at)
{
	return db_update_int(db, "UPDATE sessions SET active_at = ?1 WHERE name = ?2", name, at);
}
