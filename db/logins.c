/* The logins attached to a session (one row per shell that entered its
 * sandbox) and the sandbox's pid 1, which later logins join. */
#include "db/db-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

int db_session_set_init(struct db *db, const char *name, int64_t pid, int64_t start)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "UPDATE sessions SET init_pid = ?, init_start = ? WHERE name = ?",
			   &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, start);
	bind_text(st, 3, name);
	r = db_step_done(db, st);
	if (r == 0 && sqlite3_changes(db->conn) != 1)
		r = -ENOENT;
	return r;
}

int db_login_add(struct db *db, const struct db_login *l, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "INSERT INTO logins (session, pid, start, service, tty, rhost, since)"
			   " VALUES (?, ?, ?, ?, ?, ?, unixepoch())",
			   &st);
	if (r < 0)
		return r;
	bind_text(st, 1, l->session);
	sqlite3_bind_int64(st, 2, l->pid);
	sqlite3_bind_int64(st, 3, l->start);
	bind_text(st, 4, l->service);
	bind_text(st, 5, l->tty);
	bind_text(st, 6, l->rhost);
	r = db_step_done(db, st);
	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(db->conn);
	return r;
}

int db_login_end(struct db *db, int64_t id)
{
	sqlite3_stmt *st;
	int r = db_prepare(
	    db, "UPDATE logins SET ended_at = unixepoch() WHERE id = ? AND ended_at IS NULL", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	return db_step_done(db, st);
}

int db_logins_end_all(struct db *db, const char *session)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "UPDATE logins SET ended_at = unixepoch() WHERE session = ? AND"
			   " ended_at IS NULL",
			   &st);
	if (r < 0)
		return r;
	bind_text(st, 1, session);
	return db_step_done(db, st);
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int db_each_login(struct db *db, const char *session, db_login_row_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT id, session, pid, start, service, tty, rhost, since,"
			   " coalesce(ended_at, 0) FROM logins WHERE session = ? ORDER BY id",
			   &st);
	if (r < 0)
		return r;
	bind_text(st, 1, session);
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_login l = {
		    .id = sqlite3_column_int64(st, 0),
		    .pid = sqlite3_column_int64(st, 2),
		    .start = sqlite3_column_int64(st, 3),
		    .since = sqlite3_column_int64(st, 7),
		    .ended_at = sqlite3_column_int64(st, 8),
		};
		copy_col(l.session, sizeof(l.session), st, 1);
		copy_col(l.service, sizeof(l.service), st, 4);
		copy_col(l.tty, sizeof(l.tty), st, 5);
		copy_col(l.rhost, sizeof(l.rhost), st, 6);
		r = cb(&l, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_count_logins(struct db *db, const char *session, int *ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT count(*) FROM logins WHERE session = ? AND ended_at IS NULL", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, session);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(st, 0);
	r = rc == SQLITE_ROW ? 0 : db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_each_bound(struct db *db, uint32_t owner_uid, db_binding_cb cb, void *userdata)
{
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "SELECT name, pam_pid, pam_start FROM sessions WHERE owner_uid = ? AND"
			   " state IN ('allocated', 'active', 'closed') AND reaped_at IS NULL AND"
			   " pam_pid IS NOT NULL ORDER BY rowid",
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
