/* bench-entry: the entry timer of bench/run (issue 7).  As root:
 *
 *   bench-entry [--as USER] [--prealloc OWNER] [--settle OWNER] RUNS -- CMD ARG...
 *
 * RUNS times (after 3 warm-up runs): fork, switch to USER's uid, gid and
 * groups, exec CMD, wait; only fork to wait is timed.  --prealloc OWNER first
 * allocates a session for OWNER bound to this process, exactly as
 * pam_ephemera does in sshd or su, so that the ephemera-shell CMD claims it
 * instead of allocating: the timed part is then the shell's own work.  After
 * the run the session is closed and the reaper started, as pam_ephemera's
 * close does.  --settle OWNER waits, untimed, until OWNER has no live session
 * left (the reaper is done), so that no run pays for the previous one's wipe.
 * Prints one line: "median min max mean runs errors", times in ms. */
#include "allocator/alloc.h"
#include "allocator/proc.h"
#include "allocator/spawn.h"
#include "common/config.h"
#include "db/db.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 3

struct opts {
	const char *as, *prealloc, *settle;
	int runs;
	char **cmd;
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int parse(int argc, char **argv, struct opts *o)
{
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i += 2) {
		if (!strcmp(argv[i], "--as"))
			o->as = argv[i + 1];
		else if (!strcmp(argv[i], "--prealloc"))
			o->prealloc = argv[i + 1];
		else if (!strcmp(argv[i], "--settle"))
			o->settle = argv[i + 1];
		else
			return -1;
	}
	if (i + 2 >= argc || strcmp(argv[i + 1], "--") || (o->runs = atoi(argv[i])) <= 0)
		return -1;
	o->cmd = argv + i + 2;
	return 0;
}

/* One timed run: fork, become pw (if any), exec, wait.  Returns the exit status. */
static int run_once(const struct opts *o, const struct passwd *pw, double *ret_ms)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (pw && (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
			   setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
			   setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0))
			_exit(125);
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	*ret_ms = now_ms() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int prealloc(const struct ephemera_config *cfg, const char *owner, char *name, size_t size)
{
	struct proc_id me;
	struct db *db;
	char err[512];
	if (proc_identify(getpid(), &me) < 0 || db_open(cfg->database, &db, err, sizeof(err)) < 0)
		return -1;
	struct alloc_request req = {.owner = owner, .service = "bench", .pam_pid = me.pid,
				    .pam_start = (int64_t)me.start};
	struct db_session s;
	int r = alloc_session(cfg, db, &req, &s, err, sizeof(err));
	db_close(db);
	if (r < 0) {
		fprintf(stderr, "bench-entry: alloc: %s\n", err);
		return -1;
	}
	snprintf(name, size, "%s", s.name);
	return 0;
}

static void close_and_reap(const struct ephemera_config *cfg, const char *name)
{
	struct db *db;
	if (db_open(cfg->database, &db, NULL, 0) == 0) {
		(void)db_session_close(db, name);
		db_close(db);
	}
	(void)reaper_spawn(name, NULL);
}

static void settle(const struct ephemera_config *cfg, const char *owner)
{
	struct passwd *pw = getpwnam(owner);
	struct db *db;
	if (!pw || db_open(cfg->database, &db, NULL, 0) < 0)
		return;
	int live = 1;
	for (int i = 0; i < 20000 && live > 0; i++) {
		if (db_count_live_sessions(db, pw->pw_uid, &live) < 0)
			break;
		if (live > 0)
			nanosleep(&(struct timespec){0, 500 * 1000}, NULL);
	}
	db_close(db);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: bench-entry [--as USER] [--prealloc OWNER] "
				"[--settle OWNER] RUNS -- CMD ARG...\n");
		return 2;
	}
	struct passwd pwbuf, *pw = NULL;
	if (o.as) {
		struct passwd *p = getpwnam(o.as);
		if (!p)
			return fprintf(stderr, "bench-entry: no user %s\n", o.as), 2;
		pwbuf = *p;
		pwbuf.pw_name = strdup(p->pw_name);
		pw = &pwbuf;
	}
	struct ephemera_config cfg;
	char err[512];
	if ((o.prealloc || o.settle) && config_load(CONFIG_DEFAULT_PATH, &cfg, err, sizeof(err)) < 0)
		return fprintf(stderr, "bench-entry: config: %s\n", err), 2;
	double *ms = calloc((size_t)o.runs, sizeof(*ms));
	int errors = 0, n = 0;
	for (int i = 0; ms && i < WARMUP + o.runs; i++) {
		char name[64] = "";
		if (o.prealloc && prealloc(&cfg, o.prealloc, name, sizeof(name)) < 0)
			return 1;
		double t;
		int st = run_once(&o, pw, &t);
		if (name[0])
			close_and_reap(&cfg, name);
		if (o.settle)
			settle(&cfg, o.settle);
		if (st != 0) {
			fprintf(stderr, "bench-entry: run %d exited %d\n", i, st);
			errors++;
		} else if (i >= WARMUP) {
			ms[n++] = t;
		}
	}
	if (n == 0)
		return fprintf(stderr, "bench-entry: no successful run\n"), 1;
	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += ms[i];
	double med = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
	printf("%.2f %.2f %.2f %.2f %d %d\n", med, ms[0], ms[n - 1], sum / n, n, errors);
	return errors ? 1 : 0;
}
