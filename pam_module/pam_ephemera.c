/* pam_ephemera: gateway logins become ephemeral sessions.
 *
 *   account  refuses a gateway account whose login shell is not ephemera-shell
 *   session  open: allocate the session, export EPHEMERA_SESSION, keep the name
 *            close: mark the session closed, start its reaper detached
 *
 * Thin by design (STYLE.md 9): parse options, call the allocator, return
 * PAM_*.  Inside sshd, su and login it never exits, never changes a signal
 * disposition for longer than a fork (reaper_spawn), logs only through
 * pam_syslog, and opens and closes the database within each call.  For any
 * user that is not a gateway account it returns PAM_IGNORE. */
#include "allocator/alloc.h"
#include "allocator/proc.h"
#include "allocator/spawn.h"
#include "common/config.h"
#include "db/db.h"

#include <errno.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define DATA_KEY   "pam_ephemera_session"
#define SHELL_PATH BINDIR "/ephemera-shell"

struct options {
	bool debug;
	const char *conf; /* NULL: the built-in path */
};

static int parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *o)
{
	*o = (struct options){0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "debug") == 0)
			o->debug = true;
		else if (strncmp(argv[i], "conf=", 5) == 0 && argv[i][5] == '/')
			o->conf = argv[i] + 5;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown option '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Loads the config and the user; 1 for a gateway account, 0 for anyone else,
 * -1 on an error (which refuses: a broken config must not let anyone through). */
static int gateway_user(pam_handle_t *pamh, const struct options *o, struct ephemera_config *cfg,
			struct passwd *pw, char *buf, size_t bufsz)
{
	const char *user = NULL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user) {
		pam_syslog(pamh, LOG_ERR, "cannot get the user name");
		return -1;
	}
	struct passwd *res = NULL;
	if (getpwnam_r(user, pw, buf, bufsz, &res) != 0 || !res) {
		pam_syslog(pamh, LOG_ERR, "unknown user %s", user);
		return -1;
	}
	char err[512];
	if (config_load(o->conf ? o->conf : CONFIG_DEFAULT_PATH, cfg, err, sizeof(err)) < 0) {
		pam_syslog(pamh, LOG_ERR, "config: %s", err);
		return -1;
	}
	int g = config_is_gateway(cfg, pw->pw_name, pw->pw_gid);
	if (g < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot tell whether %s is a gateway account: %s", user,
			   strerror(-g));
		config_free(cfg);
		return -1;
	}
	if (g == 0)
		config_free(cfg);
	return g;
}

static const char *pam_item(pam_handle_t *pamh, int item)
{
	const void *v = NULL;
	return pam_get_item(pamh, item, &v) == PAM_SUCCESS && v ? v : NULL;
}

static void free_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* An open that fails after the allocation leaves nothing behind: sshd does
 * not call close after a failed open. */
static void release_after_failure(const struct ephemera_config *cfg, const char *name)
{
	struct db *db;
	char err[256];
	if (db_open(cfg->database, &db, NULL, 0) == 0) {
		(void)alloc_release(cfg, db, name, err, sizeof(err));
		db_close(db);
	}
}

static int open_session(pam_handle_t *pamh, const struct options *o, struct ephemera_config *cfg,
			const struct passwd *pw)
{
	const void *old = NULL;
	if (pam_get_data(pamh, DATA_KEY, &old) == PAM_SUCCESS && old) {
		pam_syslog(pamh, LOG_ERR, "session=%s: the PAM session is already open",
			   (const char *)old);
		return PAM_SESSION_ERR;
	}
	struct proc_id me;
	if (proc_identify(getpid(), &me) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot read /proc/self/stat");
		return PAM_SESSION_ERR;
	}
	struct alloc_request req = {
	    .owner = pw->pw_name,
	    .service = pam_item(pamh, PAM_SERVICE),
	    .tty = pam_item(pamh, PAM_TTY),
	    .rhost = pam_item(pamh, PAM_RHOST),
	    .pam_pid = me.pid,
	    .pam_start = (int64_t)me.start,
	};
	char err[512];
	struct db *db;
	if (db_open(cfg->database, &db, err, sizeof(err)) < 0) {
		pam_syslog(pamh, LOG_ERR, "refusing the login of %s: database %s", pw->pw_name,
			   err);
		return PAM_SESSION_ERR;
	}
	struct db_session s;
	int r = alloc_session(cfg, db, &req, &s, err, sizeof(err));
	db_close(db);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "refusing the login of %s: %s", pw->pw_name, err);
		return PAM_SESSION_ERR;
	}
	char env[64];
	snprintf(env, sizeof(env), "EPHEMERA_SESSION=%s", s.name);
	char *name = strdup(s.name);
	if (!name || pam_set_data(pamh, DATA_KEY, name, free_data) != PAM_SUCCESS) {
		free(name);
		pam_syslog(pamh, LOG_ERR, "session=%s: cannot keep the session in PAM", s.name);
		release_after_failure(cfg, s.name);
		return PAM_SESSION_ERR;
	}
	if (pam_putenv(pamh, env) != PAM_SUCCESS) {
		(void)pam_set_data(pamh, DATA_KEY, NULL, NULL); /* frees name */
		pam_syslog(pamh, LOG_ERR, "session=%s: cannot export EPHEMERA_SESSION", s.name);
		release_after_failure(cfg, s.name);
		return PAM_SESSION_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "session=%s: allocated uid %u for %s (%s)", s.name, s.uid,
		   pw->pw_name, req.service ? req.service : "?");
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "session=%s: bound to pid %d", s.name, (int)me.pid);
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	struct options o;
	if (parse_options(pamh, argc, argv, &o) < 0)
		return PAM_SESSION_ERR;
	struct ephemera_config cfg;
	struct passwd pw;
	char buf[4096];
	int g = gateway_user(pamh, &o, &cfg, &pw, buf, sizeof(buf));
	if (g <= 0)
		return g == 0 ? PAM_IGNORE : PAM_SESSION_ERR;
	int r = open_session(pamh, &o, &cfg, &pw);
	config_free(&cfg);
	return r;
}

static int mark_closed(pam_handle_t *pamh, const struct options *o, const char *name)
{
	struct ephemera_config cfg;
	char err[512];
	if (config_load(o->conf ? o->conf : CONFIG_DEFAULT_PATH, &cfg, err, sizeof(err)) < 0) {
		pam_syslog(pamh, LOG_ERR, "session=%s: config: %s", name, err);
		return -1;
	}
	struct db *db;
	int r = db_open(cfg.database, &db, err, sizeof(err));
	if (r == 0) {
		r = db_session_close(db, name);
		if (r == -ESTALE)
			r = 0; /* the shell recorded the end first */
		if (r < 0)
			snprintf(err, sizeof(err), "%s", db_errmsg(db));
		db_close(db);
	}
	config_free(&cfg);
	if (r < 0)
		pam_syslog(pamh, LOG_ERR, "session=%s: cannot mark it closed: %s", name, err);
	return r;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	struct options o;
	if (parse_options(pamh, argc, argv, &o) < 0)
		return PAM_SESSION_ERR;
	const void *data = NULL;
	if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS || !data)
		return PAM_IGNORE; /* not ours, or open failed */
	char name[64];
	snprintf(name, sizeof(name), "%s", (const char *)data);
	(void)pam_set_data(pamh, DATA_KEY, NULL, NULL); /* a second close finds nothing */
	int r = mark_closed(pamh, &o, name);
	/* Reap even when that failed (the reaper reads the config itself): what
	 * is left of the session must not keep running.  After the record, so
	 * that the reaper finds the session closed. */
	if (reaper_spawn(name, o.conf) < 0) {
		pam_syslog(pamh, LOG_ERR, "session=%s: cannot start the reaper", name);
		r = -1;
	} else if (o.debug) {
		pam_syslog(pamh, LOG_DEBUG, "session=%s: closed, reaper started", name);
	}
	return r < 0 ? PAM_SESSION_ERR : PAM_SUCCESS;
}

/* A gateway account must have ephemera-shell as its shell, installed setuid
 * root: any other shell would be a login without a sandbox. */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	struct options o;
	if (parse_options(pamh, argc, argv, &o) < 0)
		return PAM_AUTH_ERR;
	struct ephemera_config cfg;
	struct passwd pw;
	char buf[4096];
	int g = gateway_user(pamh, &o, &cfg, &pw, buf, sizeof(buf));
	if (g <= 0)
		return g == 0 ? PAM_IGNORE : PAM_AUTH_ERR;
	config_free(&cfg);
	struct stat st;
	if (strcmp(pw.pw_shell, SHELL_PATH) != 0) {
		pam_syslog(pamh, LOG_ERR, "refusing %s: login shell is %s, not %s", pw.pw_name,
			   pw.pw_shell, SHELL_PATH);
		return PAM_PERM_DENIED;
	}
	if (stat(SHELL_PATH, &st) < 0 || st.st_uid != 0 || !(st.st_mode & S_ISUID) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		pam_syslog(pamh, LOG_ERR, "refusing %s: %s is not installed setuid root",
			   pw.pw_name, SHELL_PATH);
		return PAM_PERM_DENIED;
	}
	return PAM_SUCCESS;
}
