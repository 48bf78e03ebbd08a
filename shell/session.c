#include "shell/session.h"

#include "allocator/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static void remote_host(char *buf, size_t size)
{
	const char *c = getenv("SSH_CONNECTION");
	size_t n = c ? strcspn(c, " ") : 0;
	if (n >= size)
		n = size - 1;
	snprintf(buf, size, "%.*s", (int)n, c ? c : "");
	for (char *p = buf; *p; p++)
		if (!strchr("0123456789abcdefABCDEF.:", *p))
			*p = '?';
}

int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			struct db_session *ret, char *err, size_t errlen)
{
	struct db *db;
	int r = db_open(cfg->database, &db, err, errlen);
	if (r < 0)
		return r;
	char tty[65], rhost[64];
	tty_name(tty, sizeof(tty));
	remote_host(rhost, sizeof(rhost));
	struct alloc_request req = {
	    .owner = owner->pw_name,
	    .service = "ephemera-shell",
	    .tty = tty,
	    .rhost = rhost,
	};
	struct db_session s;
	r = alloc_session(cfg, db, &req, &s, err, errlen);
	if (r == 0) {
		r = db_session_start(db, s.name, getpid());
		if (r < 0)
			snprintf(err, errlen, "recording the session start: %s", db_errmsg(db));
		else
			s.state = SESSION_ACTIVE;
	}
	db_close(db);
	if (r == 0)
		*ret = s;
	return r;
}

int shell_session_finish(const struct ephemera_config *cfg, const char *name, int exit_status)
{
	struct db *db;
	int r = db_open(cfg->database, &db, NULL, 0);
	if (r < 0)
		return r;
	r = db_session_finish(db, name, exit_status);
	db_close(db);
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
