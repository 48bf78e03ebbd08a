/* Opening, migrating and transactions.  Queries live in db/session.c. */
#include "db/db-internal.h"

#include "common/util.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int db_map_rc(struct db *db, int rc)
{
	if (db && db->conn)
		snprintf(db->errmsg, sizeof(db->errmsg), "%s", sqlite3_errmsg(db->conn));
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			   ? -EEXIST
			   : -EINVAL;
	default: return -EIO;
	}
}

const char *db_errmsg(const struct db *db)
{
	return db && db->errmsg[0] ? db->errmsg : "no error";
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db->conn, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : db_map_rc(db, rc);
}

int db_step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : db_map_rc(db, rc);
	sqlite3_finalize(st);
	return r;
}

int db_exec(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_map_rc(db, rc);
}

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}
int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	/* Keep the error of what failed, not of the rollback. */
	char saved[sizeof(db->errmsg)];
	memcpy(saved, db->errmsg, sizeof(saved));
	if (!sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	memcpy(db->errmsg, saved, sizeof(saved));
}

int db_user_version(struct db *db, int *ret)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "PRAGMA user_version", &st);
	if (r < 0)
		return r;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = db_map_rc(db, rc);
		sqlite3_finalize(st);
		return r < 0 ? r : -EIO;
	}
	*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* The directory holding the database: root's alone.  Created 0700 if missing;
 * one that others can write to is refused (they could swap the file). */
static int check_db_dir(struct db *db, const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	const char *dir = dirname(buf);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int r = neg_errno();
		snprintf(db->errmsg, sizeof(db->errmsg), "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = neg_errno();
		snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", dir, strerror(-r));
		return r;
	}
	if (st.st_uid != 0 || (st.st_mode & 0022)) {
		snprintf(db->errmsg, sizeof(db->errmsg),
			 "%s must be owned by root and writable by root alone", dir);
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		return neg_errno();
	return 0;
}

static int check_db_file(struct db *db, const char *path)
{
	_cleanup_close_ int fd =
	    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = neg_errno();
		snprintf(db->errmsg, sizeof(db->errmsg), "%s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0) {
		snprintf(db->errmsg, sizeof(db->errmsg), "not a regular file owned by root");
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
		return neg_errno();
	return 0;
}

static int migrate(struct db *db)
{
	int v, r = db_user_version(db, &v);
	if (r < 0)
		return r;
	if (v == DB_SCHEMA_VERSION)
		return 0;
	r = db_begin(db);
	if (r < 0)
		return r;
	/* Read again under the write lock: another opener may have migrated. */
	r = db_user_version(db, &v);
	if (r == 0 && (v < 0 || v > DB_SCHEMA_VERSION)) {
		snprintf(db->errmsg, sizeof(db->errmsg),
			 "schema version %d is not one this build knows (%d)", v,
			 DB_SCHEMA_VERSION);
		r = -EPROTO;
	}
	for (; r == 0 && v < DB_SCHEMA_VERSION; v++) {
		char pragma[40];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		r = db_exec(db, db_migrations[v]);
		if (r == 0)
			r = db_exec(db, pragma);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

/* WAL is persistent, so only a new file needs the switch.  The switch needs
 * an exclusive lock, and SQLite answers BUSY at once (no busy handler) when
 * two new openers try it together: retry, bounded, before giving up. */
static int ensure_wal(struct db *db)
{
	for (int attempt = 0; attempt < 200; attempt++) {
		sqlite3_stmt *st;
		int r = db_prepare(db, "PRAGMA journal_mode", &st);
		if (r < 0)
			return r;
		int rc = sqlite3_step(st);
		bool wal = rc == SQLITE_ROW &&
			   strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && (rc & 0xff) != SQLITE_BUSY)
			return db_map_rc(db, rc);
		if (wal)
			return 0;
		if (rc == SQLITE_ROW) {
			r = db_exec(db, "PRAGMA journal_mode = WAL");
			if (r == 0)
				continue; /* read it back */
			if (r != -EBUSY)
				return r;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	snprintf(db->errmsg, sizeof(db->errmsg), "could not switch to WAL: database is busy");
	return -EBUSY;
}

static int configure(struct db *db)
{
	int r = sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS);
	if (r != SQLITE_OK)
		return db_map_rc(db, r);
	/* Every login opens and closes the database a few times; a checkpoint
	 * (and two fsyncs) at each close would cost more than the login itself.
	 * The WAL is checkpointed as it grows (wal_autocheckpoint) instead. */
	r = sqlite3_db_config(db->conn, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (r != SQLITE_OK)
		return db_map_rc(db, r);
	/* Refuse a schema from the future before changing anything in the file. */
	int v;
	r = db_user_version(db, &v);
	if (r < 0)
		return r;
	if (v < 0 || v > DB_SCHEMA_VERSION) {
		snprintf(db->errmsg, sizeof(db->errmsg),
			 "schema version %d is not one this build knows (%d)", v,
			 DB_SCHEMA_VERSION);
		return -EPROTO;
	}
	r = ensure_wal(db);
	if (r < 0)
		return r;
	r = db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
			"PRAGMA trusted_schema = OFF");
	if (r < 0)
		return r;
	return migrate(db);
}

int db_open(const char *path, struct db **ret, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	int r = check_db_dir(db, path);
	if (r == 0)
		r = check_db_file(db, path);
	if (r == 0) {
		int rc = sqlite3_open_v2(path, &db->conn,
					 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
					     SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE,
					 NULL);
		r = rc == SQLITE_OK ? configure(db) : db_map_rc(db, rc);
	}
	if (r < 0) {
		if (err)
			snprintf(err, errlen, "%s: %s", path,
				 r == -EBADMSG ? "corrupt or not a database" : db_errmsg(db));
		db_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

int db_checkpoint(struct db *db)
{
	/* TRUNCATE holds new writers back while it waits for readers: wait
	 * briefly, never for the full busy timeout a login might then spend. */
	sqlite3_busy_timeout(db->conn, DB_CHECKPOINT_WAIT_MS);
	int rc = sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS);
	return rc == SQLITE_OK ? 0 : db_map_rc(db, rc);
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->conn)
		sqlite3_close_v2(db->conn);
	free(db);
}

int db_integrity_check(struct db *db)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "PRAGMA integrity_check", &st);
	if (r < 0)
		return r;
	int rc = sqlite3_step(st);
	bool ok = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (rc != SQLITE_ROW)
		r = db_map_rc(db, rc);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (!ok) {
		snprintf(db->errmsg, sizeof(db->errmsg), "integrity_check failed");
		return -EBADMSG;
	}
	/* No lease without its session (foreign keys say so; check anyway). */
	r = db_prepare(db, "PRAGMA foreign_key_check", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		snprintf(db->errmsg, sizeof(db->errmsg), "foreign_key_check failed");
		return -EBADMSG;
	}
	return rc == SQLITE_DONE ? 0 : db_map_rc(db, rc);
}
