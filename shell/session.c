/* Which session a shell runs, and the record of its end.
 *
 * The binding of shell to login (issue 4): pam_ephemera allocates a session in
 * the process that calls pam_open_session (sshd's privileged monitor, su,
 * login) and records that process's pid and start time.  ephemera-shell is a
 * descendant of that very process and of no other login's, so it claims the
 * allocated session of its owner whose recorded (pid, start time) is among its
 * own ancestors.  EPHEMERA_SESSION, which the caller can set at will, is only
 * a cross-check: when it names a session that is not bound to this login, the
 * shell refuses.  No PAM session: the shell allocates one of its own.
 *
 * One PAM session, many shells (issue 10): sshd calls pam_open_session once
 * per connection, in its privileged monitor; every channel's shell of that
 * connection (ControlMaster, sftp beside a shell) descends from the monitor.
 * The first to come claims the session and builds the sandbox; the others
 * find the same binding on a session already active (or closed: the first
 * shell may be gone while the connection lives) and join its sandbox. */
#include "shell/session.h"

#include "allocator/alloc.h"
#include "allocator/proc.h"
#include "allocator/spawn.h"
#include "common/errbuf.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ANCESTORS 16

#define INIT_WAIT_ROUNDS 200 /* 50 ms apart: a sibling shell builds the sandbox */

struct claim {
	struct proc_id anc[MAX_ANCESTORS];
	int n_anc;
	char name[33];
	struct proc_id pam;
};

static bool is_ancestor(const struct claim *c, int64_t pid, int64_t start)
{
	for (int i = 0; i < c->n_anc; i++)
		if (c->anc[i].pid == pid && (int64_t)c->anc[i].start == start)
			return true;
	return false;
}

static int match_binding(const char *name, int64_t pam_pid, int64_t pam_start, void *userdata)
{
	struct claim *c = userdata;
	if (!c->name[0] && is_ancestor(c, pam_pid, pam_start)) {
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->pam = (struct proc_id){(pid_t)pam_pid, (uint64_t)pam_start};
	}
	return 0;
}

/* "pts/3" for /dev/pts/3; "" without a terminal. */
static void tty_name(char *buf, size_t size)
{
	const char *t = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	if (t && strncmp(t, "/dev/", 5) == 0)
		t += 5;
	snprintf(buf, size, "%s", t ? t : "");
}

/* The client address from SSH_CONNECTION, for the record only (the caller
 * controls it, so it is bounded and never trusted for anything). */
static void remote_host(const char *conn, char *buf, size_t size)
{
	size_t n = conn ? strcspn(conn, " ") : 0;
	if (n >= size)
		n = size - 1;
	snprintf(buf, size, "%.*s", (int)n, conn ? conn : "");
	for (char *p = buf; *p; p++)
		if (!strchr("0123456789abcdefABCDEF.:", *p))
			*p = '?';
}

static int allocate_own(const struct ephemera_config *cfg, struct db *db,
			const struct passwd *owner, const char *ssh_connection,
			struct db_session *ret, char *err, size_t errlen)
{
	char tty[65], rhost[64];
	tty_name(tty, sizeof(tty));
	remote_host(ssh_connection, rhost, sizeof(rhost));
	struct alloc_request req = {
	    .owner = owner->pw_name,
	    .service = "ephemera-shell",
	    .tty = tty,
	    .rhost = rhost,
	};
	return alloc_session(cfg, db, &req, ret, err, errlen);
}

/* The bound session of this login, or none (ret->name empty). */
static int find_bound(struct db *db, uid_t owner_uid, struct claim *c, char *err, size_t errlen)
{
	c->n_anc = proc_ancestors(c->anc, MAX_ANCESTORS);
	int r = db_each_bound(db, owner_uid, match_binding, c);
	return r < 0 ? errbuf(r, err, errlen, "database: %s", db_errmsg(db)) : 0;
}

/* A sibling shell of this login claimed the session first: its sandbox is
 * being built; wait (bounded) until pid 1 is recorded. */
static int wait_for_init(struct db *db, const char *name, struct db_session *s, char *err,
			 size_t errlen)
{
	for (int i = 0; i < INIT_WAIT_ROUNDS; i++) {
		int r = db_session_get(db, name, s);
		if (r < 0)
			return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
		if (s->reaped || s->state > SESSION_CLOSED)
			return errbuf(-ESRCH, err, errlen, "session %s has ended", name);
		if (s->init_pid > 0)
			return 0;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return errbuf(-ETIMEDOUT, err, errlen, "session %s did not start its sandbox", name);
}

static int mark_started(struct db *db, struct db_session *s, char *err, size_t errlen)
{
	struct proc_id me;
	int r = proc_identify(getpid(), &me);
	if (r < 0)
		return errbuf(r, err, errlen, "reading /proc/self/stat: %s", strerror(-r));
	r = db_session_start(db, s->name, me.pid, (int64_t)me.start);
	if (r == 0)
		s->state = SESSION_ACTIVE;
	else if (r != -ESTALE)
		errbuf(r, err, errlen, "recording the session start: %s", db_errmsg(db));
	return r;
}

/* The PAM-bound session: claimed by the first shell, joined by the others. */
static int claim_bound(struct db *db, const struct claim *c, const struct shell_hints *hints,
		       struct shell_session *ss, char *err, size_t errlen)
{
	if (hints->session && strcmp(hints->session, c->name) != 0)
		return errbuf(-EPERM, err, errlen,
			      "EPHEMERA_SESSION=%s is not the session of this login", hints->session);
	int r = db_session_get(db, c->name, &ss->s);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	if (ss->s.state == SESSION_ALLOCATED) {
		r = mark_started(db, &ss->s, err, errlen);
		if (r != -ESTALE)
			return r;
	}
	ss->join = true;
	return wait_for_init(db, c->name, &ss->s, err, errlen);
}

/* One refusal line for the user (the same whether NAME does not exist or is
 * another owner's: no owner learns the names of others); the exact reason
 * goes to syslog. */
static int refuse_attach(const char *name, const char *owner, const char *why, char *err,
			 size_t errlen)
{
	log_msg(LOG_INFO, NULL, "%s: attach refused for %s: %s", name, owner, why);
	return errbuf(-EACCES, err, errlen, "%s: attach refused: no live session %s of %s", name,
		      name, owner);
}

/* EPHEMERA_ATTACH=NAME: the owner's own live session, joined; this login's
 * own PAM session, if any, is released unused (its UID goes back at once). */
static int attach(const struct ephemera_config *cfg, struct db *db, const struct passwd *owner,
		  const struct shell_hints *hints, const struct claim *c, struct shell_session *ss,
		  char *err, size_t errlen)
{
	const char *name = hints->attach;
	if (c->name[0]) {
		char rerr[256];
		if (alloc_release(cfg, db, c->name, rerr, sizeof(rerr)) < 0)
			log_msg(LOG_INFO, c->name, "not released (the reaper will): %s", rerr);
	}
	int r = db_session_get(db, name, &ss->s);
	if (r == -ENOENT)
		return refuse_attach(name, owner->pw_name, "no such session", err, errlen);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	if (ss->s.owner_uid != owner->pw_uid) {
		char why[64];
		snprintf(why, sizeof(why), "its owner is uid %u", ss->s.owner_uid);
		return refuse_attach(name, owner->pw_name, why, err, errlen);
	}
	if (ss->s.reaped || (ss->s.state != SESSION_ACTIVE && ss->s.state != SESSION_CLOSED))
		return errbuf(-EACCES, err, errlen, "%s: attach refused: the session is %s", name,
			      session_state_name(ss->s.state));
	if (ss->s.init_pid <= 0)
		return errbuf(-EACCES, err, errlen, "%s: attach refused: its sandbox never ran",
			      name);
	ss->join = ss->attach = true;
	return 0;
}

/* This login's row in logins: service of its own PAM session (or
 * ephemera-shell), its terminal and client address. */
static int add_login(struct db *db, struct shell_session *ss, const char *service,
		     const char *ssh_connection, char *err, size_t errlen)
{
	struct proc_id me;
	int r = proc_identify(getpid(), &me);
	if (r < 0)
		return errbuf(r, err, errlen, "reading /proc/self/stat: %s", strerror(-r));
	struct db_login l = {.pid = me.pid, .start = (int64_t)me.start};
	snprintf(l.session, sizeof(l.session), "%s", ss->s.name);
	snprintf(l.service, sizeof(l.service), "%s", service);
	tty_name(l.tty, sizeof(l.tty));
	remote_host(ssh_connection, l.rhost, sizeof(l.rhost));
	r = db_login_add(db, &l, &ss->login_id);
	return r < 0 ? errbuf(r, err, errlen, "recording the login: %s", db_errmsg(db)) : 0;
}

static int find_session(const struct ephemera_config *cfg, struct db *db,
			const struct passwd *owner, const struct shell_hints *hints,
			struct shell_session *ss, char *service, size_t ssz, char *err,
			size_t errlen)
{
	struct claim c = {0};
	int r = find_bound(db, owner->pw_uid, &c, err, errlen);
	if (r < 0)
		return r;
	snprintf(service, ssz, "ephemera-shell");
	if (c.name[0]) {
		struct db_session own;
		if (db_session_get(db, c.name, &own) == 0)
			snprintf(service, ssz, "%s", own.service);
		ss->from_pam = true;
		ss->pam = c.pam;
	}
	if (hints->attach)
		return attach(cfg, db, owner, hints, &c, ss, err, errlen);
	if (c.name[0])
		return claim_bound(db, &c, hints, ss, err, errlen);
	if (hints->session)
		return errbuf(-EPERM, err, errlen,
			      "EPHEMERA_SESSION=%s is not an unclaimed session of this login",
			      hints->session);
	r = allocate_own(cfg, db, owner, hints->ssh_connection, &ss->s, err, errlen);
	if (r == 0)
		r = mark_started(db, &ss->s, err, errlen);
	if (r == -ESTALE)
		errbuf(r, err, errlen, "session %s was claimed by another shell", ss->s.name);
	return r;
}

int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			const struct shell_hints *hints, struct shell_session *ret, char *err,
			size_t errlen)
{
	struct db *db;
	int r = db_open(cfg->database, &db, err, errlen);
	if (r < 0)
		return r;
	struct shell_session ss = {.db = db};
	char service[33];
	r = find_session(cfg, db, owner, hints, &ss, service, sizeof(service), err, errlen);
	if (r == 0)
		r = add_login(db, &ss, service, hints->ssh_connection, err, errlen);
	if (r < 0) {
		db_close(db);
		return r;
	}
	*ret = ss;
	return 0;
}

void shell_session_ready(void *ctx, pid_t pid1)
{
	struct shell_session *ss = ctx;
	struct proc_id init;
	int r = proc_identify(pid1, &init);
	if (r == 0)
		r = db_session_set_init(ss->db, ss->s.name, init.pid, (int64_t)init.start);
	if (r < 0) /* later logins cannot join; this one runs on */
		log_msg(LOG_ERR, ss->s.name, "recording pid 1 (%d): %s", (int)pid1,
			r == -EIO ? db_errmsg(ss->db) : strerror(-r));
}

void shell_session_login_failed(struct shell_session *ss)
{
	if (ss->db)
		(void)db_login_end(ss->db, ss->login_id);
}

int shell_session_finish(struct shell_session *ss, int exit_status)
{
	int r = db_login_end(ss->db, ss->login_id);
	/* A PAM close may have been first (a dropped connection): then the
	 * status is lost, but the session is closed either way.  A joined
	 * login's status is its own, not the session's.  A PAM caller that died
	 * before us without a close (killed: a crash of the login) leaves the
	 * session as it is, active with its leader gone, for the reaper. */
	bool pam_crashed = ss->pam.pid > 0 && proc_running(&ss->pam) == 0;
	if (!ss->join && !pam_crashed) {
		r = db_session_finish(ss->db, ss->s.name, exit_status);
		if (r == -ESTALE)
			r = 0;
	}
	db_close(ss->db);
	ss->db = NULL;
	/* Without a PAM module nobody else starts the reaper; nor does the PAM
	 * close of an attached login's own connection, which is another
	 * session's.  The reaper waits for the sandbox to end (reaper.h). */
	if (!ss->from_pam || ss->attach) {
		int s = reaper_spawn(ss->s.name, NULL);
		if (r == 0)
			r = s;
	}
	return r;
}

int shell_session_fail(const struct ephemera_config *cfg, const char *name, const char *reason)
{
	struct db *db;
	int r = db_open(cfg->database, &db, NULL, 0);
	if (r < 0)
		return r;
	r = db_session_fail(db, name, reason);
	db_close(db);
	return r;
}
