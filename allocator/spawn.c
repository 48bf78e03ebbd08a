#include "allocator/spawn.h"

#include "common/util.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static _Noreturn void exec_reaper(const char *name, const char *conf)
{
	/* From ephemera-shell the real ids are still the owner's; the reaper is
	 * root's alone (ephemeractl refuses anyone else). */
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		_exit(1);
	if (setsid() < 0)
		_exit(1);
	/* Not the caller's limits: a tiny RLIMIT_NOFILE or RLIMIT_FSIZE would
	 * make the reaper fail half way (root may raise them). */
	static const struct {
		int res;
		rlim_t v;
	} limits[] = {{RLIMIT_NOFILE, 1u << 17},
		      {RLIMIT_FSIZE, RLIM_INFINITY},
		      {RLIMIT_CPU, RLIM_INFINITY},
		      {RLIMIT_AS, RLIM_INFINITY},
		      {RLIMIT_DATA, RLIM_INFINITY},
		      {RLIMIT_STACK, 8 << 20},
		      {RLIMIT_CORE, 0}};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl = {limits[i].v, limits[i].v};
		/* 2^17 fds let the walker keep a deep chain's parents open (walk.h
		 * R3); a kernel whose nr_open is lower gets 4096. */
		struct rlimit fallback = {4096, 4096};
		if (setrlimit(limits[i].res, &rl) < 0 &&
		    (limits[i].res != RLIMIT_NOFILE || setrlimit(RLIMIT_NOFILE, &fallback) < 0))
			_exit(1);
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	close_range(3, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	/* --wait: the login that ended may not be the session's last, or the
	 * session lingers (reaper.h, reaper_wait_over). */
	if (conf) {
		char *const argv[] = {(char *)"ephemeractl", (char *)"--config", (char *)conf,
				      (char *)"reap",	     (char *)"--wait",	 (char *)name,
				      NULL};
		execve(EPHEMERACTL_PATH, argv, envp);
	} else {
		char *const argv[] = {(char *)"ephemeractl", (char *)"reap", (char *)"--wait",
				      (char *)name, NULL};
		execve(EPHEMERACTL_PATH, argv, envp);
	}
	_exit(127);
}

int reaper_spawn(const char *name, const char *conf)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	sigemptyset(&dfl.sa_mask);
	if (sigaction(SIGCHLD, &dfl, &old) < 0)
		return neg_errno();
	int r = 0;
	pid_t child = fork();
	if (child == 0) {
		/* The intermediate child: its own child is the reaper, re-parented to
		 * init once we exit, so the caller never has to wait for it. */
		pid_t grandchild = fork();
		if (grandchild == 0)
			exec_reaper(name, conf);
		_exit(grandchild < 0 ? 1 : 0);
	}
	if (child < 0) {
		r = neg_errno();
	} else {
		int st = 0;
		pid_t w;
		while ((w = waitpid(child, &st, 0)) < 0 && errno == EINTR)
			;
		if (w < 0)
			r = neg_errno();
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			r = -ECHILD;
	}
	sigaction(SIGCHLD, &old, NULL);
	return r;
}
