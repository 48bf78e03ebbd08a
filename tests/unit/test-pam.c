/* pam_module/pam_ephemera.c, driven through the real libpam: pam_start_confdir()
 * (Linux-PAM >= 1.4) reads service files from a temporary directory, as
 * Linux-PAM's own tests do, and the lines name build/pam_ephemera.so by its
 * absolute path with conf= pointing to a temporary ephemera.conf.  Run as root.
 *
 * What it touches outside its mkdtemp directory: lckpwdf() takes a lock on the
 * real /etc/.pwd.lock (locking does not change the file); pam_syslog() writes
 * to syslog when there is one.  The account test of a correctly installed
 * ephemera-shell runs in a child with a private mount namespace, where a copy
 * of /etc/passwd and a temporary BINDIR are bind-mounted; the host sees none
 * of it.
 *
 * The stacks are described at enum stack below.
 *
 * Defences and how their tests were checked (mutations in a copy under /tmp):
 *  - reaper_spawn() without the SIG_DFL around its fork -> "the caller's
 *    SIGCHLD handler never ran" fails;
 *  - reaper_spawn() not restoring the old SIGCHLD action -> "the SIGCHLD
 *    disposition is the caller's" fails;
 *  - exec_reaper() without setsid() -> "the reaper is in a session of its
 *    own" fails;
 *  - reaper_spawn() without its waitpid() -> "no child left" fails (zombies);
 *  - open_session() without db_close() -> "no fd left" fails;
 *  - open_session() without pam_putenv() -> "EPHEMERA_SESSION is a session
 *    name" fails;
 *  - pam_sm_close_session() without db_session_close() -> "the session is
 *    closed" fails;
 *  - parse_options() accepting anything -> the unknown-option tests fail;
 *  - pam_sm_acct_mgmt() without the shell comparison, the S_ISUID, the
 *    st_uid or the S_IWGRP|S_IWOTH test -> the matching ephemera-shell case
 *    fails;
 *  - open_session() answering PAM_IGNORE when db_open fails -> "corrupt
 *    database: PAM_SESSION_ERR" fails;
 *  - gateway_user() answering 1 for everyone -> the "nobody" tests fail.
 */
#include "allocator/names.h"
#include "allocator/proc.h"
#include "allocator/rmtree.h"
#include "allocator/spawn.h"
#include "common/config.h"
#include "db/db.h"
#include "tests/unit/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Above the allocator's default range, and away from test-lease's ids. */
#define UID_BASE     (CONFIG_DEFAULT_UID_MAX + 1001)
#define UID_COUNT    512
#define ACCT_UID     (UID_BASE + UID_COUNT + 10) /* the account test's gateway user */
#define ACCT_USER    "ephemera-pam-gw"
#define ACCT_USER2   "ephemera-pam-gw2" /* the same, with /bin/sh as its shell */
#define SHELL_PATH   BINDIR "/ephemera-shell"
#define CYCLES	     100
#define CORRUPT_SIZE 8192

/* Three kinds of stack:
 *  PLAIN   "TYPE required pam_ephemera.so ...", alone, as shipped;
 *  SHARED  the same followed by "TYPE required pam_permit.so": a service's
 *          own stack with "@include ephemera" in it;
 *  EXACT   one that hands the module's own answer to the caller.  libpam
 *          never returns PAM_IGNORE (a stack of ignoring modules answers
 *          PAM_PERM_DENIED), so PAM_IGNORE jumps over pam_permit to a marker,
 *          pam_debug.so returning PAM_BAD_ITEM; PAM_SUCCESS ends at
 *          pam_permit ("done"), and any other answer ends the stack as it is.
 *          Their names end in "-exact"; pam_debug talks through the
 *          conversation, so there its calls are not counted. */
enum stack { PLAIN, SHARED, EXACT };
#define IGNORED PAM_BAD_ITEM /* what an EXACT stack answers for the module's PAM_IGNORE */

#define SVC	    "ephemera-test"
#define SVC_EXACT   "ephemera-test-exact"
#define SVC_SHARED  "ephemera-test-shared"
#define SVC_BADOPT  "ephemera-test-badopt"  /* ... bogus */
#define SVC_RELCONF "ephemera-test-relconf" /* ... conf=relative */
#define SVC_CORRUPT "ephemera-test-corrupt" /* a corrupt database */
#define SVC_ACCT    "ephemera-test-acct"
#define SVC_ACCT_X  "ephemera-test-acct-exact"
#define SVC_ACCT_SH "ephemera-test-acct-shared"
#define SVC_ACCT_BO "ephemera-test-acct-badopt-exact"
#define SVC_ACCT_GW "ephemera-test-acct-gw-exact" /* a conf naming ACCT_USER */

static char tmpdir[64];
static char module[PATH_MAX];
static int conv_calls;
static volatile sig_atomic_t sigchld_count;

static const char *tpath(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, rel);
	return buf[i];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f || fputs(text, f) < 0 || fchmod(fd, mode) < 0 || fclose(f) != 0) {
		diag("cannot write %s: %s", path, strerror(errno));
		exit(99);
	}
}

/* No prompt is expected from this module: any would be a bug.  data points
 * to the counter of calls. */
static int no_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(*(int *)data)++;
	return PAM_CONV_ERR;
}

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld_count++;
}

static pam_handle_t *start(const char *service, const char *user)
{
	static int marker_conv_calls;
	size_t n = strlen(service);
	bool exact = n > 6 && strcmp(service + n - 6, "-exact") == 0;
	static struct pam_conv conv[2] = {{no_conv, &conv_calls}, {no_conv, &marker_conv_calls}};
	pam_handle_t *pamh = NULL;
	int r = pam_start_confdir(service, user, &conv[exact], tpath("pam.d"), &pamh);
	if (r != PAM_SUCCESS) {
		diag("pam_start_confdir(%s, %s): %s", service, user, pam_strerror(pamh, r));
		return NULL;
	}
	return pamh;
}

/* One hook on a fresh handle: pam_start_confdir, the call, pam_end. */
enum hook { OPEN, CLOSE, ACCT };

static int run_hook(const char *service, const char *user, enum hook h)
{
	pam_handle_t *pamh = start(service, user);
	if (!pamh)
		return -1;
	int r = h == OPEN    ? pam_open_session(pamh, 0)
		: h == CLOSE ? pam_close_session(pamh, 0)
			     : pam_acct_mgmt(pamh, 0);
	pam_end(pamh, r);
	return r;
}

static int count_cb(const struct db_session *s, void *userdata)
{
	(void)s;
	(*(int *)userdata)++;
	return 0;
}

/* Rows in the session table of the database at path, or -1. */
static int count_sessions(const char *path)
{
	struct db *db;
	char err[256];
	if (db_open(path, &db, err, sizeof(err)) < 0) {
		diag("db_open: %s", err);
		return -1;
	}
	int n = 0;
	int r = db_each_session(db, NULL, count_cb, &n);
	db_close(db);
	return r < 0 ? -1 : n;
}

static int get_session(const char *name, struct db_session *s)
{
	struct db *db;
	char err[256];
	if (db_open(tpath("db/ephemera.db"), &db, err, sizeof(err)) < 0) {
		diag("db_open: %s", err);
		return -1;
	}
	int r = db_session_get(db, name, s);
	if (r < 0)
		diag("db_session_get(%s): %s", name, strerror(-r));
	db_close(db);
	return r;
}

/* Entries of a directory (without . and ..), or -1 when it cannot be read. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* "fd:target fd:target ..." of this process: what the fd table holds. */
static void fd_table(char *buf, size_t size)
{
	DIR *d = opendir("/proc/self/fd");
	size_t len = 0;
	buf[0] = '\0';
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		char target[PATH_MAX] = "?";
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n >= 0)
			target[n] = '\0';
		int w = snprintf(buf + len, size - len, "%s:%s ", de->d_name, target);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
	closedir(d);
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd");
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* True when this process has no child at all, running or zombie. */
static bool no_children(void)
{
	int st;
	return waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

/* Member by member: the kernel fills only part of a sigset_t. */
static bool sigset_equal(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return false;
	return true;
}

static bool sigaction_equal(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
	       sigset_equal(&a->sa_mask, &b->sa_mask);
}

static bool removed;

/* Also at exit, so that a test that gives up leaves nothing behind. */
static void cleanup(void)
{
	if (removed || !tmpdir[0])
		return;
	removed = true;
	(void)umount2(tmpdir, MNT_DETACH); /* the tmpfs goes, then its mount point */
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -errno : rmtree_at(fd, tmpdir + strlen("/tmp/"), NULL);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		diag("cannot remove %s: %s", tmpdir, strerror(-r));
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-pam.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		diag("mkdtemp: %s", strerror(errno));
		tmpdir[0] = '\0';
		exit(99);
	}
	if (mount("tmpfs", tmpdir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
		diag("tmpfs on %s: %s", tmpdir, strerror(errno));
		exit(99);
	}
	atexit(cleanup);
	if (mkdir(tpath("pam.d"), 0755) < 0 || mkdir(tpath("db"), 0700) < 0 ||
	    mkdir(tpath("bad"), 0700) < 0) {
		diag("mkdir: %s", strerror(errno));
		exit(99);
	}

	char text[1024];
	snprintf(text, sizeof(text),
		 "[gateway]\naccounts = root\n[allocator]\nuid_min = %u\nuid_max = %u\n"
		 "max_sessions_per_owner = 100000\nsessions_dir = %s\ndatabase = %s\n",
		 UID_BASE, UID_BASE + UID_COUNT - 1, tpath("sessions"), tpath("db/ephemera.db"));
	write_file(tpath("ephemera.conf"), text, 0644);
	snprintf(text, sizeof(text),
		 "[gateway]\naccounts = root\n[allocator]\nuid_min = %u\nuid_max = %u\n"
		 "sessions_dir = %s\ndatabase = %s\n",
		 UID_BASE, UID_BASE + UID_COUNT - 1, tpath("bad-sessions"),
		 tpath("bad/ephemera.db"));
	write_file(tpath("corrupt.conf"), text, 0644);
	snprintf(text, sizeof(text),
		 "[gateway]\naccounts = " ACCT_USER ", " ACCT_USER2
		 "\n[allocator]\nsessions_dir = %s\n"
		 "database = %s\n",
		 tpath("sessions"), tpath("db/ephemera.db"));
	write_file(tpath("acct.conf"), text, 0644);
	/* Not SQLite's magic header: db_open must call it corrupt. */
	char junk[CORRUPT_SIZE + 1];
	memset(junk, 'x', CORRUPT_SIZE);
	junk[CORRUPT_SIZE] = '\0';
	write_file(tpath("bad/ephemera.db"), junk, 0600);

	static const struct {
		const char *service, *type;
		enum stack stack;
		const char *conf, *extra;
	} svc[] = {
	    {SVC, "session", PLAIN, "ephemera.conf", ""},
	    {SVC_EXACT, "session", EXACT, "ephemera.conf", ""},
	    {SVC_SHARED, "session", SHARED, "ephemera.conf", ""},
	    {SVC_BADOPT, "session", PLAIN, "ephemera.conf", " bogus"},
	    {SVC_RELCONF, "session", PLAIN, NULL, " conf=ephemera.conf"},
	    {SVC_CORRUPT, "session", PLAIN, "corrupt.conf", ""},
	    {SVC_ACCT, "account", PLAIN, "ephemera.conf", ""},
	    {SVC_ACCT_X, "account", EXACT, "ephemera.conf", ""},
	    {SVC_ACCT_SH, "account", SHARED, "ephemera.conf", ""},
	    {SVC_ACCT_BO, "account", EXACT, "ephemera.conf", " bogus"},
	    {SVC_ACCT_GW, "account", EXACT, "acct.conf", ""},
	};
	for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
		const char *t = svc[i].type;
		char conf[PATH_MAX + 8] = "";
		if (svc[i].conf)
			snprintf(conf, sizeof(conf), " conf=%s", tpath(svc[i].conf));
		int n;
		if (svc[i].stack == PLAIN)
			n = snprintf(text, sizeof(text), "%s required %s%s%s\n", t, module, conf,
				     svc[i].extra);
		else if (svc[i].stack == SHARED)
			n = snprintf(text, sizeof(text),
				     "%s required %s%s%s\n%s required pam_permit.so\n", t, module,
				     conf, svc[i].extra, t);
		else
			n = snprintf(text, sizeof(text),
				     "%s [success=ok ignore=1 default=die] %s%s%s\n"
				     "%s [default=done] pam_permit.so\n"
				     "%s required pam_debug.so open_session=bad_item "
				     "close_session=bad_item acct=bad_item\n",
				     t, module, conf, svc[i].extra, t, t);
		if (n < 0 || (size_t)n >= sizeof(text)) {
			diag("service file too long");
			exit(99);
		}
		char rel[128];
		snprintf(rel, sizeof(rel), "pam.d/%s", svc[i].service);
		write_file(tpath(rel), text, 0644);
	}
}

/* (a) a gateway account: allocate, export, record; close marks it closed. */
static void test_open_close(void)
{
	pam_handle_t *pamh = start(SVC, "root");
	if (!pamh) {
		skip(15, "no PAM handle");
		return;
	}
	pam_set_item(pamh, PAM_TTY, "pts/9");
	pam_set_item(pamh, PAM_RHOST, "192.0.2.7");
	is_int(pam_open_session(pamh, 0), PAM_SUCCESS, "open: a gateway account gets a session");
	const char *env = pam_getenv(pamh, "EPHEMERA_SESSION");
	char name[64] = "";
	snprintf(name, sizeof(name), "%s", env ? env : "");
	ok(env && config_valid_name(name) && name_is_generated(name),
	   "open: EPHEMERA_SESSION is a session name ('%s')", name);

	struct db_session s = {0};
	struct proc_id me = {0};
	proc_identify(getpid(), &me);
	if (!name[0] || get_session(name, &s) < 0) {
		skip(10, "no session row");
	} else {
		is_str(session_state_name(s.state), "allocated", "open: the row is allocated");
		is_str(s.service, SVC, "open: service is the PAM service");
		is_str(s.owner, "root", "open: owner is the PAM user");
		is_int(s.owner_uid, 0, "open: owner_uid is the PAM user's uid");
		is_int(s.pam_pid, getpid(), "open: pam_pid is the pid of the PAM caller");
		is_int(s.pam_start, (int64_t)me.start,
		       "open: pam_start is the caller's start time");
		is_str(s.tty, "pts/9", "open: PAM_TTY is recorded");
		is_str(s.rhost, "192.0.2.7", "open: PAM_RHOST is recorded");
		ok(s.uid >= UID_BASE && s.uid < UID_BASE + UID_COUNT && s.gid == s.uid,
		   "open: uid %u from the configured range", s.uid);
		struct stat st;
		char home[128];
		snprintf(home, sizeof(home), "sessions/%s", name);
		ok(stat(tpath(home), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0,
		   "open: the home exists and is root's (the session writes through its ACL)");
	}

	is_int(pam_close_session(pamh, 0), PAM_SUCCESS, "close: PAM_SUCCESS");
	pam_end(pamh, PAM_SUCCESS);
	if (!name[0] || get_session(name, &s) < 0) {
		skip(1, "no session row");
	} else if (access(EPHEMERACTL_PATH, X_OK) == 0) {
		/* A real reaper may already have moved it on. */
		ok(s.state == SESSION_CLOSED || s.state == SESSION_REAPING ||
		       s.state == SESSION_REAPED,
		   "close: the session is closed (or reaped): %s", session_state_name(s.state));
	} else {
		is_str(session_state_name(s.state), "closed", "close: the session is closed");
	}
	msleep(200);
	ok(no_children(), "close: no child left (the intermediate child was reaped)");
}

/* The reaper is double-forked and in a session of its own.  As a child
 * subreaper this process gets the orphaned reaper instead of init, and can
 * look at it and reap it. */
static void test_reaper_detached(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		skip(4, "PR_SET_CHILD_SUBREAPER refused");
		return;
	}
	pam_handle_t *pamh = start(SVC, "root");
	int r = pamh ? pam_open_session(pamh, 0) : -1;
	is_int(r, PAM_SUCCESS, "subreaper: open");
	if (pamh)
		is_int(pam_close_session(pamh, 0), PAM_SUCCESS, "subreaper: close");
	else
		skip(1, "no PAM handle");
	if (pamh)
		pam_end(pamh, PAM_SUCCESS);
	siginfo_t si = {0};
	for (int i = 0; i < 500 && si.si_pid == 0; i++) {
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			break;
		if (si.si_pid == 0)
			msleep(10);
	}
	pid_t pid = si.si_pid;
	long sid = -1;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		char state;
		long ppid, pgrp;
		if (!p || sscanf(p + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &sid) != 4)
			sid = -1;
	}
	ok(pid > 0 && sid == pid, "the reaper is in a session of its own (pid %d, sid %ld)",
	   (int)pid, sid);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (pid <= 0 || access(EPHEMERACTL_PATH, X_OK) == 0)
		skip(1, EPHEMERACTL_PATH " exists: its exit status is its own");
	else /* exec_reaper: 127 only after setsid, /dev/null and execve were tried */
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 127,
		   "the reaper got as far as execve of " EPHEMERACTL_PATH " (status %d)",
		   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

/* (b) anyone else: PAM_IGNORE, no row. */
static void test_not_gateway(void)
{
	int before = count_sessions(tpath("db/ephemera.db"));
	/* A stack whose only module ignores: libpam answers PAM_PERM_DENIED
	 * (PAM_MUST_FAIL_CODE, since no module said yes).  The shipped
	 * /etc/pam.d/ephemera is included after the service's own modules, which
	 * give the answer for such users. */
	is_int(run_hook(SVC, "nobody", OPEN), PAM_PERM_DENIED,
	       "nobody, session required alone: libpam answers PAM_PERM_DENIED");
	is_int(run_hook(SVC_SHARED, "nobody", OPEN), PAM_SUCCESS,
	       "nobody, in a shared stack: the line is harmless (PAM_SUCCESS)");
	is_int(run_hook(SVC_EXACT, "nobody", OPEN), IGNORED,
	       "nobody: the module's open answers PAM_IGNORE");
	is_int(run_hook(SVC_EXACT, "nobody", CLOSE), IGNORED,
	       "nobody: the module's close answers PAM_IGNORE");
	is_int(run_hook(SVC_EXACT, "root", CLOSE), IGNORED,
	       "close without open (no PAM data): PAM_IGNORE");
	is_int(run_hook(SVC_SHARED, "root", CLOSE), PAM_SUCCESS,
	       "close without open, in a shared stack: PAM_SUCCESS");
	is_int(count_sessions(tpath("db/ephemera.db")), before, "nobody: no session row added");

	pam_handle_t *pamh = start(SVC_EXACT, "nobody");
	if (pamh) {
		pam_open_session(pamh, 0);
		ok(!pam_getenv(pamh, "EPHEMERA_SESSION"), "nobody: no EPHEMERA_SESSION");
		pam_end(pamh, PAM_SUCCESS);
	} else {
		skip(1, "no PAM handle");
	}
	is_int(run_hook(SVC_SHARED, "no-such-user-ephemera", OPEN), PAM_SESSION_ERR,
	       "an unknown user: PAM_SESSION_ERR (fail closed)");
}

/* (c) options: anything but debug and conf=/path refuses. */
static void test_options(void)
{
	int before = count_sessions(tpath("db/ephemera.db"));
	is_int(run_hook(SVC_BADOPT, "root", OPEN), PAM_SESSION_ERR,
	       "an unknown option: open answers PAM_SESSION_ERR");
	is_int(run_hook(SVC_BADOPT, "nobody", OPEN), PAM_SESSION_ERR,
	       "an unknown option refuses even for a user that is not a gateway");
	is_int(run_hook(SVC_RELCONF, "root", OPEN), PAM_SESSION_ERR,
	       "conf= with a relative path is an unknown option: PAM_SESSION_ERR");
	is_int(run_hook(SVC_BADOPT, "root", CLOSE), PAM_SESSION_ERR,
	       "an unknown option: close answers PAM_SESSION_ERR");
	is_int(count_sessions(tpath("db/ephemera.db")), before, "unknown options: no row added");
}

/* (d) a corrupt database refuses the login and creates nothing. */
static void test_corrupt_db(void)
{
	pam_handle_t *pamh = start(SVC_CORRUPT, "root");
	if (!pamh) {
		skip(4, "no PAM handle");
		return;
	}
	is_int(pam_open_session(pamh, 0), PAM_SESSION_ERR, "corrupt database: PAM_SESSION_ERR");
	ok(!pam_getenv(pamh, "EPHEMERA_SESSION"), "corrupt database: no EPHEMERA_SESSION");
	pam_end(pamh, PAM_SESSION_ERR);
	int n = count_entries(tpath("bad-sessions"));
	ok(n <= 0, "corrupt database: no home created (sessions_dir %s)",
	   n < 0    ? "not even created"
	   : n == 0 ? "empty"
		    : "not empty");
	struct stat st;
	ok(stat(tpath("bad/ephemera.db"), &st) == 0 && st.st_size == CORRUPT_SIZE,
	   "corrupt database: the file is left as it was, not replaced");
}

/* (e) 100 logins leave the fd table, SIGCHLD and the signal mask as they were. */
static void test_hygiene(void)
{
	struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	struct sigaction before, after;
	sigset_t mask_before, mask_after;
	sigemptyset(&mask_before);
	if (sigaction(SIGCHLD, &sa, NULL) < 0 || sigaction(SIGCHLD, NULL, &before) < 0 ||
	    sigprocmask(SIG_SETMASK, NULL, &mask_before) < 0) {
		skip(9, "sigaction");
		return;
	}
	/* One login first: what is opened once for the life of the process and
	 * kept (the syslog socket, where there is one) is not a leak. */
	pam_handle_t *pamh = start(SVC, "root");
	if (pamh) {
		pam_open_session(pamh, 0);
		pam_close_session(pamh, 0);
		pam_end(pamh, PAM_SUCCESS);
	}
	msleep(50);
	sigchld_count = 0;
	static char table_before[16384], table_after[16384];
	int fds_before = count_fds();
	fd_table(table_before, sizeof(table_before));

	int failed_open = 0, failed_close = 0;
	for (int i = 0; i < CYCLES; i++) {
		pamh = start(SVC, "root");
		if (!pamh) {
			failed_open++;
			continue;
		}
		int r = pam_open_session(pamh, 0);
		failed_open += r != PAM_SUCCESS;
		if (r == PAM_SUCCESS)
			failed_close += pam_close_session(pamh, 0) != PAM_SUCCESS;
		pam_end(pamh, r);
	}
	is_int(failed_open, 0, "%d logins: every open succeeded", CYCLES);
	is_int(failed_close, 0, "%d logins: every close succeeded", CYCLES);
	int fds_after = count_fds();
	fd_table(table_after, sizeof(table_after));
	is_int(fds_after, fds_before, "%d logins: no fd left in the caller", CYCLES);
	is_str(table_after, table_before, "%d logins: the same fds, to the same files", CYCLES);
	ok(sigaction(SIGCHLD, NULL, &after) == 0 && sigaction_equal(&before, &after),
	   "%d logins: the SIGCHLD disposition is the caller's", CYCLES);
	sigemptyset(&mask_after);
	ok(sigprocmask(SIG_SETMASK, NULL, &mask_after) == 0 &&
	       sigset_equal(&mask_before, &mask_after),
	   "%d logins: the signal mask is unchanged", CYCLES);
	msleep(100);
	is_int(sigchld_count, 0,
	       "the caller's SIGCHLD handler never ran for the module's children");
	ok(no_children(), "%d logins: no child left", CYCLES);

	/* The control: the handler does see a child of ours. */
	sigchld_count = 0;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	int st;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	is_int(sigchld_count, 1, "control: the handler counts a child of the caller");
	signal(SIGCHLD, SIG_DFL);
}

/* (f) the account hook. */
static void test_account(void)
{
	is_int(run_hook(SVC_ACCT, "root", ACCT), PAM_PERM_DENIED,
	       "account: a gateway account with /bin/bash as its shell is refused");
	is_int(run_hook(SVC_ACCT_SH, "root", ACCT), PAM_PERM_DENIED,
	       "account: refused in a shared stack too");
	is_int(run_hook(SVC_ACCT_X, "root", ACCT), PAM_PERM_DENIED,
	       "account: the module itself answers PAM_PERM_DENIED");
	/* As for sessions: a stack whose only module ignores fails in libpam. */
	is_int(run_hook(SVC_ACCT, "nobody", ACCT), PAM_PERM_DENIED,
	       "account required alone, nobody: libpam answers PAM_PERM_DENIED");
	is_int(run_hook(SVC_ACCT_SH, "nobody", ACCT), PAM_SUCCESS,
	       "account, nobody, in a shared stack: PAM_SUCCESS");
	is_int(run_hook(SVC_ACCT_X, "nobody", ACCT), IGNORED,
	       "account: the module answers PAM_IGNORE for nobody");
	is_int(run_hook(SVC_ACCT_BO, "root", ACCT), PAM_AUTH_ERR,
	       "account: an unknown option answers PAM_AUTH_ERR");
	is_int(run_hook(SVC_ACCT_X, "no-such-user-ephemera", ACCT), PAM_AUTH_ERR,
	       "account: an unknown user answers PAM_AUTH_ERR");
}

/* The account hook for a gateway account whose shell is SHELL_PATH, in a
 * child with a private mount namespace: a copy of /etc/passwd with two more
 * users, and a temporary directory over BINDIR holding ephemera-shell. */
static const struct shell_case {
	const char *what, *user;
	mode_t mode;
	uid_t uid;
	bool present;
	int want;
} shell_cases[] = {
    {"installed 4755 root: PAM_SUCCESS", ACCT_USER, 04755, 0, true, PAM_SUCCESS},
    {"installed, but the account's shell is /bin/sh: PAM_PERM_DENIED", ACCT_USER2, 04755, 0, true,
     PAM_PERM_DENIED},
    {"0755 root (not setuid): PAM_PERM_DENIED", ACCT_USER, 0755, 0, true, PAM_PERM_DENIED},
    {"4755 owned by uid 1: PAM_PERM_DENIED", ACCT_USER, 04755, 1, true, PAM_PERM_DENIED},
    {"4775 (group-writable): PAM_PERM_DENIED", ACCT_USER, 04775, 0, true, PAM_PERM_DENIED},
    {"4757 (writable by others): PAM_PERM_DENIED", ACCT_USER, 04757, 0, true, PAM_PERM_DENIED},
    {"missing: PAM_PERM_DENIED", ACCT_USER, 0, 0, false, PAM_PERM_DENIED},
};
#define N_SHELL_CASES ((int)(sizeof(shell_cases) / sizeof(shell_cases[0])))

static _Noreturn void account_child(int out)
{
	int results[N_SHELL_CASES];
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(77);
	FILE *in = fopen("/etc/passwd", "re");
	FILE *copy = fopen(tpath("passwd"), "we");
	if (!in || !copy)
		_exit(1);
	for (int c; (c = fgetc(in)) != EOF;)
		fputc(c, copy);
	fprintf(copy, "%s:x:%u:%u:ephemera test:/nonexistent:%s\n", ACCT_USER, ACCT_UID, ACCT_UID,
		SHELL_PATH);
	fprintf(copy, "%s:x:%u:%u:ephemera test:/nonexistent:/bin/sh\n", ACCT_USER2, ACCT_UID + 1,
		ACCT_UID + 1);
	fclose(in);
	if (fclose(copy) != 0 || mkdir(tpath("bindir"), 0755) < 0 ||
	    mount(tpath("passwd"), "/etc/passwd", NULL, MS_BIND, NULL) < 0 ||
	    mount(tpath("bindir"), BINDIR, NULL, MS_BIND, NULL) < 0)
		_exit(78);
	for (int i = 0; i < N_SHELL_CASES; i++) {
		const struct shell_case *c = &shell_cases[i];
		unlink(SHELL_PATH);
		if (c->present) {
			int fd = open(SHELL_PATH, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
			if (fd < 0 || fchown(fd, c->uid, 0) < 0 || fchmod(fd, c->mode) < 0)
				_exit(79);
			close(fd);
		}
		results[i] = run_hook(SVC_ACCT_GW, c->user, ACCT);
	}
	ssize_t w = write(out, results, sizeof(results));
	_exit(w == (ssize_t)sizeof(results) ? 0 : 1);
}

static void test_account_shell(void)
{
	struct stat st;
	if (stat(BINDIR, &st) < 0 || !S_ISDIR(st.st_mode)) {
		skip(N_SHELL_CASES, BINDIR " does not exist");
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		skip(N_SHELL_CASES, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		account_child(p[1]);
	}
	close(p[1]);
	int results[N_SHELL_CASES];
	ssize_t n = pid > 0 ? read(p[0], results, sizeof(results)) : -1;
	close(p[0]);
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (n != (ssize_t)sizeof(results)) {
		diag("account child: exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
			skip(N_SHELL_CASES, "no private mount namespace");
			return;
		}
		for (int i = 0; i < N_SHELL_CASES; i++)
			ok(false, "account, %s: %s", SHELL_PATH, shell_cases[i].what);
		return;
	}
	for (int i = 0; i < N_SHELL_CASES; i++)
		is_int(results[i], shell_cases[i].want, "account, %s %s", SHELL_PATH,
		       shell_cases[i].what);
}

static int find_module(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	/* build/tests/test-pam -> the repository is ../.. of its directory */
	char *dir = dirname(exe);
	char root[PATH_MAX + 8];
	snprintf(root, sizeof(root), "%s/../..", dir);
	char real[PATH_MAX];
	if (!realpath(root, real))
		return -1;
	int n2 = snprintf(module, sizeof(module), "%s/build/pam_ephemera.so", real);
	return n2 > 0 && (size_t)n2 < sizeof(module) ? 0 : -1;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # skip needs root\n");
		return 0;
	}
	if (find_module() < 0 || access(module, R_OK) < 0) {
		ok(false, "the module is built: %s", module[0] ? module : "?");
		return done_testing();
	}
	/* The allocator wants its sessions directory on a nosuid,nodev
	 * filesystem: the temporary directory becomes a tmpfs that is one, in a
	 * mount namespace of the test's own (the host sees none of it; the
	 * module, wherever the tree was cloned, stays reachable). */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		ok(false, "a private mount namespace: %s", strerror(errno));
		return done_testing();
	}
	setup();
	test_open_close();
	test_reaper_detached();
	test_not_gateway();
	test_options();
	test_corrupt_db();
	test_hygiene();
	test_account();
	test_account_shell();
	is_int(conv_calls, 0, "the module never called the conversation function");
	cleanup();
	struct stat st;
	ok(lstat(tmpdir, &st) < 0 && errno == ENOENT, "the temporary directory is removed");
	return done_testing();
}
