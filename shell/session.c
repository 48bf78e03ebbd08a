/* Which session a shell runs, and the record of its end.
 *
 * The binding of shell to login (issue 4): pam_ephemera allocates a session in
 * the process that calls pam_open_session (sshd's privileged monitor, su,
 * login) and records that process's pid and start time.  ephemera-shell is a
 * descendant of that very process and of no other login's, so it claims the
 * allocated session of its owner whose recorded (pid, start time) is among its
 * own ancestors.  EPHEMERA_SESSION, which the caller can set at will, is only
 * a cross-check: when it names a session that is not bound to this login, the
 * shell refuses.  No PAM session: the shell allocates one of its own. */
#include "shell/session.h"

#include "allocator/alloc.h"
#include "allocator/proc.h"
#include "allocator/spawn.h"
#include "common/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ANCESTORS 16

struct claim {
	struct proc_id anc[MAX_ANCESTORS];
	int n_anc;
	char name[33];
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
	if (!c->name[0] && is_ancestor(c, pam_pid, pam_start))
		snprintf(c->name, sizeof(c->name), "%s", name);
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
	int r = db_each_unclaimed(db, owner_uid, match_binding, c);
	return r < 0 ? errbuf(r, err, errlen, "database: %s", db_errmsg(db)) : 0;
}

/* The session of this login: the PAM-bound one, or one of our own. */
static int find_or_allocate(const struct ephemera_config *cfg, struct db *db,
			    const struct passwd *owner, const struct shell_hints *hints,
			    struct db_session *s, bool *from_pam, char *err, size_t errlen)
{
	struct claim c = {0};
	int r = find_bound(db, owner->pw_uid, &c, err, errlen);
	if (r < 0)
		return r;
	if (c.name[0]) {
		*from_pam = true;
		if (hints->session && strcmp(hints->session, c.name) != 0)
			return errbuf(-EPERM, err, errlen,
				      "EPHEMERA_SESSION=%s is not the session of this login",
				      hints->session);
		r = db_session_get(db, c.name, s);
		return r < 0 ? errbuf(r, err, errlen, "database: %s", db_errmsg(db)) : 0;
	}
	if (hints->session)
		return errbuf(-EPERM, err, errlen,
			      "EPHEMERA_SESSION=%s is not an unclaimed session of this login",
			      hints->session);
	return allocate_own(cfg, db, owner, hints->ssh_connection, s, err, errlen);
}

int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			const struct shell_hints *hints, struct shell_session *ret, char *err,
			size_t errlen)
{
	struct db *db;
	int r = db_open(cfg->database, &db, err, errlen);
	if (r < 0)
		return r;
	struct db_session s;
	bool from_pam = false;
	r = find_or_allocate(cfg, db, owner, hints, &s, &from_pam, err, errlen);
	if (r == 0) {
		struct proc_id me;
		r = proc_identify(getpid(), &me);
		if (r < 0)
			errbuf(r, err, errlen, "reading /proc/self/stat: %s", strerror(-r));
		else
			r = db_session_start(db, s.name, me.pid, (int64_t)me.start);
		if (r == -ESTALE)
			errbuf(r, err, errlen, "session %s was claimed by another shell", s.name);
		else if (r < 0 && !err[0])
			errbuf(r, err, errlen, "recording the session start: %s", db_errmsg(db));
		else
			s.state = SESSION_ACTIVE;
	}
	if (r < 0) {
		db_close(db);
		return r;
	}
	*ret = (struct shell_session){.s = s, .db = db, .from_pam = from_pam};
	return 0;
}

int shell_session_finish(struct shell_session *ss, int exit_status)
{
	/* A PAM close may have been first (a dropped connection): then the
	 * status is lost, but the session is closed either way. */
	int r = db_session_finish(ss->db, ss->s.name, exit_status);
	if (r == -ESTALE)
		r = 0;
	db_close(ss->db);
	ss->db = NULL;
	/* Without a PAM module nobody else starts the reaper. */
	if (!ss->from_pam) {
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
