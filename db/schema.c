/* Schema migrations.  db_migrations[i] takes a database from user_version i to
 * i + 1; db_open() runs the missing ones in one transaction.  Never edit a
 * migration that has shipped: add a new one. */
#include "db/db-internal.h"

const char *const db_migrations[] = {
    /* 0 -> 1: the tables of DESIGN.md. */
    "CREATE TABLE sessions ("
    "  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),"
    "  uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
    "  owner TEXT NOT NULL, owner_uid INTEGER NOT NULL,"
    "  service TEXT NOT NULL DEFAULT '', tty TEXT NOT NULL DEFAULT '',"
    "  rhost TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('allocated','active','closed','reaping','reaped','failed')),"
    "  created_at INTEGER NOT NULL, started_at INTEGER, ended_at INTEGER,"
    "  reaped_at INTEGER, leader_pid INTEGER, exit_status INTEGER,"
    "  bytes_reaped INTEGER, files_reaped INTEGER"
    ") STRICT;"
    "CREATE TABLE leases ("
    "  uid INTEGER PRIMARY KEY,"
    "  session TEXT NOT NULL REFERENCES sessions(name),"
    "  state TEXT NOT NULL CHECK (state IN ('leased','quarantine')),"
    "  since INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY, session TEXT, at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''"
    ") STRICT;",

    /* 1 -> 2: lookups by owner (sessions per owner) and by session (audit). */
    "CREATE INDEX sessions_owner_state ON sessions(owner_uid, state);"
    "CREATE INDEX leases_session ON leases(session);"
    "CREATE INDEX events_session ON events(session, at);",

    /* 2 -> 3: the login a session was allocated for (the PAM caller's pid and
     * start time, which ephemera-shell finds among its ancestors), and the
     * leader's start time, so that a recycled pid is not taken for it. */
    "ALTER TABLE sessions ADD COLUMN pam_pid INTEGER;"
    "ALTER TABLE sessions ADD COLUMN pam_start INTEGER;"
    "ALTER TABLE sessions ADD COLUMN leader_start INTEGER;",

    /* 3 -> 4: the profile a session runs under; its sandbox's pid 1 (pid and
     * start time: later logins join it, and it is alive as long as the
     * session is); when a lifetime warning went out and when activity was
     * last seen (the periodic reap enforces lifetimes); and the logins
     * attached to a session, one row per shell that entered it. */
    "ALTER TABLE sessions ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE sessions ADD COLUMN init_pid INTEGER;"
    "ALTER TABLE sessions ADD COLUMN init_start INTEGER;"
    "ALTER TABLE sessions ADD COLUMN warned_at INTEGER;"
    "ALTER TABLE sessions ADD COLUMN active_at INTEGER;"
    "CREATE TABLE logins ("
    "  id INTEGER PRIMARY KEY,"
    "  session TEXT NOT NULL REFERENCES sessions(name),"
    "  pid INTEGER NOT NULL, start INTEGER NOT NULL,"
    "  service TEXT NOT NULL DEFAULT '', tty TEXT NOT NULL DEFAULT '',"
    "  rhost TEXT NOT NULL DEFAULT '',"
    "  since INTEGER NOT NULL, ended_at INTEGER"
    ") STRICT;"
    "CREATE INDEX logins_session ON logins(session, ended_at);",
};

/* One migration per version, no more, no less. */
_Static_assert(sizeof(db_migrations) / sizeof(db_migrations[0]) == DB_SCHEMA_VERSION,
	       "db_migrations must have DB_SCHEMA_VERSION entries");
