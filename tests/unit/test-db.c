/* db/db.h: opening, migrations, refusals, sessions and leases, JSON.
 *
 * Defences and how their tests were checked (mutations in a copy under /tmp):
 *  - check_db_dir()'s "st_mode & 0022" test: removed -> "group-writable db dir
 *    refused" fails (the database is created);
 *  - the v > DB_SCHEMA_VERSION test in migrate(): removed -> "user_version 99
 *    refused" fails;
 *  - the forward-only loop in db_session_set_state(): removed -> the -EINVAL
 *    cases fail (the SQL alone answers -ESTALE or moves the state back);
 *  - sqlite3_busy_timeout() in configure() removed -> "after waiting
 *    busy_timeout" fails (-EBUSY comes at once). */
#include "db/db-internal.h"

#include "common/util.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define BIT(s) (1u << (s))

static char tmpdir[64];

static const char *tpath(const char *rel)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, rel);
	return buf[i];
}

static struct db_session mk_session(const char *name, uint32_t uid, uint32_t owner_uid)
{
	struct db_session s = {
	    .uid = uid, .gid = uid, .owner_uid = owner_uid, .created_at = 1700000000};
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.owner, sizeof(s.owner), "agent-session");
	snprintf(s.service, sizeof(s.service), "sshd");
	snprintf(s.tty, sizeof(s.tty), "pts/3");
	snprintf(s.rhost, sizeof(s.rhost), "192.0.2.7");
	return s;
}

/* A database made with sqlite3 directly, at schema version v, with one session
 * when the tables exist. */
static int build_old(const char *path, int v, int user_version)
{
	sqlite3 *c;
	if (sqlite3_open(path, &c) != SQLITE_OK)
		return -1;
	int rc = SQLITE_OK;
	for (int i = 0; rc == SQLITE_OK && i < v; i++)
		rc = sqlite3_exec(c, db_migrations[i], NULL, NULL, NULL);
	char sql[512];
	snprintf(
	    sql, sizeof(sql), "%s PRAGMA user_version = %d;",
	    v >= 1 ? "INSERT INTO sessions (name, uid, gid, owner, owner_uid, state, created_at)"
		     " VALUES ('old-session', 2013265999, 2013265999, 'alice', 1000, 'active', 1);"
		     "INSERT INTO leases VALUES (2013265999, 'old-session', 'leased', 1);"
		   : "",
	    user_version);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
	sqlite3_close(c);
	return rc == SQLITE_OK ? 0 : -1;
}

static bool json_valid(const char *text)
{
	sqlite3 *c;
	sqlite3_stmt *st;
	bool valid = false;
	if (sqlite3_open(":memory:", &c) != SQLITE_OK)
		return false;
	if (sqlite3_prepare_v2(c, "SELECT json_valid(?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		valid = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
		sqlite3_finalize(st);
	}
	sqlite3_close(c);
	return valid;
}

static void test_fresh(void)
{
	const char *path = tpath("state/ephemera.db");
	char err[512] = "";
	struct db *db = NULL;
	int r = db_open(path, &db, err, sizeof(err));
	if (!is_errno(r, 0, "db_open on a fresh path"))
		diag("%s", err);
	struct stat st;
	ok(stat(tpath("state"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 &&
	       st.st_uid == 0,
	   "directory created 0700 root");
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600 &&
	       st.st_uid == 0,
	   "file created 0600 root");
	if (r < 0) {
		skip(3, "no database");
		return;
	}
	int v = -1;
	is_errno(db_user_version(db, &v), 0, "db_user_version");
	is_int(v, DB_SCHEMA_VERSION, "user_version == DB_SCHEMA_VERSION");
	sqlite3_stmt *q;
	bool wal = sqlite3_prepare_v2(db->conn, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
		   sqlite3_step(q) == SQLITE_ROW &&
		   strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
	sqlite3_finalize(q);
	ok(wal, "journal mode wal");
	db_close(db);
}

static void test_migrations(void)
{
	for (int v = 0; v < DB_SCHEMA_VERSION; v++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "mig%d", v);
		const char *dir = tpath(rel);
		mkdir(dir, 0700);
		snprintf(rel, sizeof(rel), "mig%d/e.db", v);
		const char *path = tpath(rel);
		if (!ok(build_old(path, v, v) == 0, "v%d: built with db_migrations[0..%d)", v, v)) {
			skip(4, "no old database");
			continue;
		}
		char err[512] = "";
		struct db *db = NULL;
		int r = db_open(path, &db, err, sizeof(err));
		if (!is_errno(r, 0, "v%d: db_open migrates", v))
			diag("%s", err);
		if (r < 0) {
			skip(3, "not opened");
			continue;
		}
		int uv = -1;
		db_user_version(db, &uv);
		is_int(uv, DB_SCHEMA_VERSION, "v%d: now at DB_SCHEMA_VERSION", v);
		struct db_session s;
		if (v >= 1) {
			ok(db_session_get(db, "old-session", &s) == 0 && s.uid == 2013265999 &&
			       s.state == SESSION_ACTIVE,
			   "v%d: the old session survived", v);
			is_int(db_uid_is_held(db, 2013265999), 1, "v%d: its lease survived", v);
		} else {
			is_errno(db_session_get(db, "old-session", &s), -ENOENT,
				 "v0: tables exist, empty");
			is_int(db_uid_is_held(db, 2013265999), 0, "v0: no lease");
		}
		db_close(db);
	}
	/* Opening a current database again changes nothing. */
	struct db *db = NULL;
	is_errno(db_open(tpath("mig1/e.db"), &db, NULL, 0), 0, "reopening a migrated database");
	struct db_session s;
	ok(db && db_session_get(db, "old-session", &s) == 0, "rows still there after reopening");
	db_close(db);

	mkdir(tpath("future"), 0700);
	const char *future = tpath("future/e.db");
	build_old(future, DB_SCHEMA_VERSION, 99);
	char err[512] = "";
	db = NULL;
	is_errno(db_open(future, &db, err, sizeof(err)), -EPROTO, "user_version 99 refused");
	if (!ok(strstr(err, "99") != NULL, "message names version 99"))
		diag("%s", err);
}

static void test_refusals(void)
{
	char err[512] = "";
	struct db *db = NULL;

	mkdir(tpath("corrupt"), 0700);
	const char *path = tpath("corrupt/e.db");
	unsigned char junk[8192];
	bool random = getrandom(junk, sizeof(junk), 0) == (ssize_t)sizeof(junk);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ok(random && fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk),
	   "wrote random bytes");
	close(fd);
	is_errno(db_open(path, &db, err, sizeof(err)), -EBADMSG, "corrupt file refused");
	if (!ok(strstr(err, "corrupt") != NULL, "message mentions \"corrupt\""))
		diag("%s", err);

	mkdir(tpath("gw"), 0700);
	chmod(tpath("gw"), 0770);
	is_errno(db_open(tpath("gw/e.db"), &db, err, sizeof(err)), -EPERM,
		 "group-writable db dir refused");
	ok(access(tpath("gw/e.db"), F_OK) < 0, "no file created in it");
	mkdir(tpath("notroot"), 0700);
	if (chown(tpath("notroot"), 65534, 65534) < 0)
		diag("chown: %m");
	is_errno(db_open(tpath("notroot/e.db"), &db, err, sizeof(err)), -EPERM,
		 "db dir owned by 65534 refused");

	mkdir(tpath("link"), 0700);
	if (symlink(tpath("state/ephemera.db"), tpath("link/e.db")) < 0)
		diag("symlink: %m");
	is_errno(db_open(tpath("link/e.db"), &db, err, sizeof(err)), -ELOOP,
		 "symlinked db file refused");
}

/* A child holds BEGIN EXCLUSIVE on its own connection until we close the pipe. */
static void test_busy(void)
{
	const char *path = tpath("state/ephemera.db");
	int ready[2], hold[2];
	if (pipe(ready) < 0 || pipe(hold) < 0) {
		skip(3, "no pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sqlite3 *c;
		char b = 'x';
		close(ready[0]);
		close(hold[1]);
		if (sqlite3_open(path, &c) != SQLITE_OK ||
		    sqlite3_exec(c, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
			b = 'e';
		if (write(ready[1], &b, 1) != 1 || read(hold[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char b = 0;
	ok(read(ready[0], &b, 1) == 1 && b == 'x', "child holds BEGIN EXCLUSIVE");
	struct db *db = NULL;
	char err[512] = "";
	int r = db_open(path, &db, err, sizeof(err));
	if (r == 0) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		is_errno(db_begin(db), -EBUSY, "db_begin on a second handle: -EBUSY");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		ok(s >= DB_BUSY_TIMEOUT_MS / 1000.0 - 0.5, "after waiting busy_timeout (%.1f s)",
		   s);
		db_close(db);
	} else {
		diag("%s", err);
		skip(2, "second handle did not open");
	}
	close(hold[1]);
	close(ready[0]);
	waitpid(pid, NULL, 0);
}

static void test_sessions(void)
{
	struct db *db = NULL;
	char err[512] = "";
	if (db_open(tpath("state/ephemera.db"), &db, err, sizeof(err)) < 0) {
		diag("%s", err);
		skip(42, "no database");
		return;
	}
	struct db_session a = mk_session("brave-loving-maxwell", 2013265921, 1000), got;
	is_errno(db_session_create(db, &a), 0, "db_session_create");
	is_errno(db_session_get(db, a.name, &got), 0, "db_session_get");
	is_str(got.name, a.name, "name");
	ok(got.uid == a.uid && got.gid == a.gid && got.owner_uid == 1000, "uid, gid, owner_uid");
	ok(!strcmp(got.owner, "agent-session") && !strcmp(got.service, "sshd") &&
	       !strcmp(got.tty, "pts/3") && !strcmp(got.rhost, "192.0.2.7"),
	   "owner, service, tty, rhost");
	is_int(got.state, SESSION_ALLOCATED, "state allocated");
	is_int(got.created_at, 1700000000, "created_at");
	got.uid = 7;
	is_errno(db_session_get(db, "no-such-session", &got), -ENOENT, "unknown name: -ENOENT");
	is_int(got.uid, 7, "ret untouched on failure");

	struct db_session dup = mk_session(a.name, 2013265922, 1000);
	is_errno(db_session_create(db, &dup), -EEXIST, "same name again: -EEXIST");
	/* db_session_create is two INSERTs: only a transaction makes it atomic. */
	struct db_session same_uid = mk_session("other-name", 2013265921, 1000);
	db_begin(db);
	is_errno(db_session_create(db, &same_uid), -EEXIST, "leased uid again: -EEXIST");
	db_rollback(db);
	is_int(db_name_exists(db, "other-name"), 0, "rolled back: no session without its lease");

	is_int(db_uid_is_held(db, 2013265921), 1, "db_uid_is_held: leased");
	is_int(db_uid_is_held(db, 2013265922), 0, "db_uid_is_held: free");
	is_int(db_name_exists(db, a.name), 1, "db_name_exists: yes");
	is_int(db_name_exists(db, "calm-witty-turing"), 0, "db_name_exists: no");

	struct db_session b = mk_session("calm-witty-turing", 2013265923, 1000);
	struct db_session c = mk_session("eager-noble-curie", 2013265924, 1001);
	db_session_create(db, &b);
	db_session_create(db, &c);
	int n = -1;
	is_errno(db_count_live_sessions(db, 1000, &n), 0, "db_count_live_sessions");
	is_int(n, 2, "owner 1000 has two live sessions");
	db_count_live_sessions(db, 1001, &n);
	is_int(n, 1, "owner 1001 has one");

	is_errno(db_session_set_state(db, a.name, BIT(SESSION_ALLOCATED), SESSION_ACTIVE), 0,
		 "allocated -> active");
	is_errno(db_session_set_state(db, a.name, BIT(SESSION_ACTIVE), SESSION_ALLOCATED), -EINVAL,
		 "active -> allocated: backwards, -EINVAL");
	is_errno(db_session_set_state(db, a.name, BIT(SESSION_ACTIVE), SESSION_ACTIVE), -EINVAL,
		 "active -> active: -EINVAL");
	is_errno(db_session_set_state(db, a.name, BIT(SESSION_ALLOCATED) | BIT(SESSION_CLOSED),
				      SESSION_ACTIVE),
		 -EINVAL, "a mask with a later state: -EINVAL");
	is_errno(db_session_set_state(db, a.name, BIT(SESSION_ALLOCATED), SESSION_CLOSED), -ESTALE,
		 "allocated -> closed while active: -ESTALE");
	is_errno(db_session_set_state(db, "no-such-session", BIT(SESSION_ACTIVE), SESSION_CLOSED),
		 -ENOENT, "unknown session: -ENOENT");
	ok(db_session_set_state(db, a.name, BIT(SESSION_ACTIVE), SESSION_CLOSED) == 0 &&
	       db_session_set_state(db, a.name, BIT(SESSION_CLOSED), SESSION_REAPING) == 0 &&
	       db_session_set_state(db, a.name, BIT(SESSION_REAPING), SESSION_REAPED) == 0,
	   "active -> closed -> reaping -> reaped");
	db_session_get(db, a.name, &got);
	is_int(got.state, SESSION_REAPED, "state reaped");
	db_count_live_sessions(db, 1000, &n);
	is_int(n, 1, "a reaped session is not live");
	is_errno(db_count_held_uids(db, 1000, &n), 0, "db_count_held_uids");
	is_int(n, 2, "... but it still holds its UID while its lease is there");
	db_count_held_uids(db, 1001, &n);
	is_int(n, 1, "db_count_held_uids: owner 1001 holds one");
	is_errno(db_session_set_state(db, b.name, BIT(SESSION_ALLOCATED), SESSION_FAILED), 0,
		 "allocated -> failed");
	/* Failed is reached from live states only. */
	is_errno(db_session_set_state(db, a.name, BIT(SESSION_REAPED), SESSION_FAILED), -EINVAL,
		 "reaped -> failed: -EINVAL");
	is_errno(db_session_set_state(db, b.name, BIT(SESSION_FAILED), SESSION_FAILED), -EINVAL,
		 "failed -> failed: -EINVAL");
	db_session_get(db, a.name, &got);
	is_int(got.state, SESSION_REAPED, "still reaped");

	char *json = NULL;
	is_errno(db_sessions_json(db, NULL, &json), 0, "db_sessions_json");
	ok(json && json[0] == '[', "a JSON array");
	ok(json && json_valid(json), "valid JSON");
	ok(json && strstr(json, "\"name\":\"eager-noble-curie\"") && strstr(json, "\"lease\":") &&
	       strstr(json, "\"owner_uid\":1001"),
	   "has name, owner_uid and lease keys");
	free(json);
	json = NULL;
	enum session_state active = SESSION_ACTIVE;
	db_sessions_json(db, &active, &json);
	is_str(json, "[]", "no active session: []");
	free(json);
	json = NULL;
	is_errno(db_session_json(db, c.name, &json), 0, "db_session_json");
	ok(json && json[0] == '{' && json_valid(json), "a valid JSON object");
	ok(json && strstr(json, "\"events\":[") && strstr(json, "\"kind\":\"allocated\""),
	   "with its events");
	free(json);
	json = NULL;
	is_errno(db_session_json(db, "no-such-session", &json), -ENOENT,
		 "db_session_json: -ENOENT");
	is_errno(db_integrity_check(db), 0, "db_integrity_check ok");
	db_close(db);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	test_fresh();
	test_migrations();
	test_refusals();
	test_sessions();
	test_busy();

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return done_testing();
}
