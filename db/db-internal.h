/* Shared between the files of db/ only. */
#ifndef EPHEMERA_DB_INTERNAL_H
#define EPHEMERA_DB_INTERNAL_H

#include "db/db.h"

#include <sqlite3.h>

struct db {
	sqlite3 *conn;
	char errmsg[256];
};

int db_map_rc(struct db *db, int rc);
/* Prepare; on failure the error is recorded and -errno returned. */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret);
/* Run a statement without results to completion, then finalize it. */
int db_step_done(struct db *db, sqlite3_stmt *st);
int db_exec(struct db *db, const char *sql);
/* One integer column of a session: sql binds ?1 = v and ?2 = name. */
int db_update_int(struct db *db, const char *sql, const char *name, int64_t v);

extern const char *const db_migrations[DB_SCHEMA_VERSION];

#endif
