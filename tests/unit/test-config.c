/* common/config.h: config_load, the gateway list, names and the caller's path.
 *
 * Defences and how their tests were checked (each mutation was made in a copy of
 * the tree under /tmp, built there, and this test run against it):
 *  - O_NOFOLLOW in open_config(): removed -> "symlinked config refused" fails
 *    (the link is followed and the file loads);
 *  - the S_IWGRP|S_IWOTH check: removed -> "group-writable config refused" fails;
 *  - the st_uid != 0 check: removed -> "config owned by uid 65534 refused" fails;
 *  - getuid() == 0 in config_path_for_caller(): removed -> both forked non-root
 *    cases fail (they get the argument back). */
#include "common/config.h"

#include "common/util.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

/* Writes DIR/name with the given mode (umask does not apply); returns the path. */
static const char *write_conf(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0) {
		diag("cannot write %s", path);
		exit(99);
	}
	close(fd);
	return path;
}

/* A bad file: config_load fails with want, the message names want_prefix
 * ("FILE:LINE:" or "FILE:") and contains what. */
static void refuse(const char *name, const char *text, int want, const char *where,
		   const char *what)
{
	const char *path = write_conf(name, text, 0644);
	char err[512] = "", prefix[300];
	struct ephemera_config cfg = {0};
	int r = config_load(path, &cfg, err, sizeof(err));
	is_errno(r, want, "%s: refused", name);
	snprintf(prefix, sizeof(prefix), "%s%s", path, where);
	if (!ok(strncmp(err, prefix, strlen(prefix)) == 0, "%s: message starts with \"FILE%s\"",
		name, where))
		diag("message: %s", err);
	if (!ok(strstr(err, what) != NULL, "%s: message says \"%s\"", name, what))
		diag("message: %s", err);
	ok(cfg.sessions_dir == NULL && cfg.n_gateway_users == 0, "%s: *ret left empty", name);
}

static void test_good(void)
{
	const char *path = write_conf("good.conf",
				      "; a comment\n"
				      "[gateway]\n"
				      "accounts = agent-session, @lab\n"
				      "[allocator]\n"
				      "uid_min = 100000\n"
				      "uid_max = 100999\n"
				      "max_sessions_per_owner = 5\n"
				      "sessions_dir = /srv/sessions\n"
				      "database = /srv/ephemera/state.db\n"
				      "[sandbox]\n"
				      "shell = /bin/sh\n"
				      "hostname = box-1\n"
				      "max_processes = 200\n"
				      "max_open_files = 300\n"
				      "max_file_size_mb = 7\n",
				      0644);
	char err[512] = "";
	struct ephemera_config cfg;
	int r = config_load(path, &cfg, err, sizeof(err));
	if (!is_errno(r, 0, "good file loads"))
		diag("%s", err);
	if (r < 0) {
		skip(13, "good file did not load");
		return;
	}
	is_int(cfg.n_gateway_users, 1, "one gateway user");
	is_str(cfg.n_gateway_users ? cfg.gateway_users[0] : NULL, "agent-session",
	       "user agent-session");
	is_int(cfg.n_gateway_groups, 1, "one gateway group");
	is_str(cfg.n_gateway_groups ? cfg.gateway_groups[0] : NULL, "lab",
	       "group lab, without '@'");
	is_int(cfg.uid_min, 100000, "uid_min");
	is_int(cfg.uid_max, 100999, "uid_max");
	is_int(cfg.max_sessions_per_owner, 5, "max_sessions_per_owner");
	is_str(cfg.sessions_dir, "/srv/sessions", "sessions_dir");
	is_str(cfg.database, "/srv/ephemera/state.db", "database");
	is_str(cfg.profiles[0].shell, "/bin/sh", "shell");
	is_str(cfg.profiles[0].hostname, "box-1", "hostname");
	ok(cfg.profiles[0].max_processes == 200 && cfg.profiles[0].max_open_files == 300 &&
	       cfg.profiles[0].max_file_size_mb == 7,
	   "max_processes, max_open_files, max_file_size_mb");
	config_free(&cfg);
	ok(cfg.sessions_dir == NULL && cfg.n_gateway_users == 0, "config_free empties the struct");

	path = write_conf("many.conf", "[gateway]\naccounts = a1,b2 ,\t@g1, c3,@g2\n", 0600);
	r = config_load(path, &cfg, err, sizeof(err));
	is_errno(r, 0, "accounts with odd spacing loads");
	if (r == 0) {
		ok(cfg.n_gateway_users == 3 && !strcmp(cfg.gateway_users[2], "c3"),
		   "three users, in order");
		ok(cfg.n_gateway_groups == 2 && !strcmp(cfg.gateway_groups[1], "g2"),
		   "two groups, in order");
		is_int(config_is_gateway(&cfg, "b2", 0), 1, "config_is_gateway: a listed user");
		is_int(config_is_gateway(&cfg, "root", 0), 0, "config_is_gateway: root is not");
		config_free(&cfg);
	} else {
		skip(4, "did not load");
	}
}

static void test_missing(void)
{
	char path[128], err[512] = "";
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	struct ephemera_config cfg;
	int r = config_load(path, &cfg, err, sizeof(err));
	is_errno(r, 0, "missing file: defaults");
	if (r < 0) {
		skip(8, "missing file did not load");
		return;
	}
	is_int(cfg.uid_min, 2013265920u, "default uid_min 2013265920");
	is_int(cfg.uid_max, 2013331455u, "default uid_max 2013331455");
	is_str(cfg.sessions_dir, "/sessions", "default sessions_dir");
	is_str(cfg.database, "/var/lib/ephemera/ephemera.db", "default database");
	is_str(cfg.profiles[0].shell, "/bin/bash", "default shell");
	is_int(cfg.n_gateway_users + cfg.n_gateway_groups, 0, "no gateway accounts by default");
	ok(cfg.max_sessions_per_owner > 0, "a default session limit");
	ok(cfg.profiles[0].max_processes == 1024 && cfg.profiles[0].max_open_files == 1024 &&
	       cfg.profiles[0].max_file_size_mb == 0,
	   "default limits: 1024 processes, 1024 files, no file size limit");
	config_free(&cfg);
}

static void test_bad(void)
{
	refuse("unknown-key.conf", "[allocator]\nuid_min = 100000\nbogus = 1\n", -EINVAL,
	       ":3:", "unknown key 'bogus'");
	refuse("unknown-section.conf", "[gateway]\naccounts = a\n\n[nope]\nkey = 1\n", -EINVAL,
	       ":4:", "unknown section [nope]");
	refuse("empty-section.conf", "[allocator]\nuid_min = 100000\n[empty]\n", -EINVAL,
	       ":3:", "unknown section [empty]");
	refuse("no-section.conf", "uid_min = 100000\n", -EINVAL, ":1:", "outside of any section");
	refuse("dup-key.conf",
	       "[allocator]\nuid_min = 100000\nuid_max = 200000\nuid_min = 100001\n", -EINVAL,
	       ":4:", "duplicate key 'uid_min'");
	refuse("bad-number.conf", "[allocator]\n\nuid_max = 12abc\n", -EINVAL, ":3:", "uid_max");
	refuse("hex-number.conf", "[allocator]\nuid_max = 0x100000\n", -EINVAL, ":2:", "uid_max");
	refuse("low-uid.conf", "[allocator]\nuid_min = 999\n", -EINVAL, ":2:", "uid_min");
	refuse("big-uid.conf", "[allocator]\nuid_max = 2147483648\n", -EINVAL, ":2:", "uid_max");
	/* Checked after parsing: config.c names the file but no line. */
	refuse("min-above-max.conf", "[allocator]\nuid_min = 200000\nuid_max = 100000\n", -EINVAL,
	       ": ", "uid_min 200000 is above uid_max 100000");
	refuse("bad-user.conf", "[gateway]\n# x\naccounts = ok, Agent\n", -EINVAL,
	       ":3:", "invalid user name 'Agent'");
	refuse("bad-group.conf", "[gateway]\naccounts = @\n", -EINVAL, ":2:", "invalid group name");
	refuse("relative.conf", "[allocator]\nsessions_dir = sessions\n", -EINVAL,
	       ":2:", "sessions_dir");
	refuse("dotdot.conf", "[allocator]\n\n\ndatabase = /var/lib/../../etc/x.db\n", -EINVAL,
	       ":4:", "database");
	refuse("bad-host.conf", "[sandbox]\nhostname = a.b\n", -EINVAL, ":2:", "hostname");
	refuse("nproc.conf", "[sandbox]\nmax_processes = 7\n", -EINVAL, ":2:",
	       "max_processes must be a number from 8");
	refuse("nofile.conf", "[sandbox]\nmax_open_files = lots\n", -EINVAL, ":2:",
	       "max_open_files");
	refuse("syntax.conf", "[allocator]\nno equals sign here\n", -EINVAL, ":2:", "syntax error");

	/* inih would split a line longer than its buffer into two. */
	char longline[400] = "[gateway]\naccounts = ";
	size_t n = strlen(longline);
	memset(longline + n, 'a', 300);
	snprintf(longline + n + 300, sizeof(longline) - n - 300, "\n");
	refuse("long-line.conf", longline, -EINVAL, ":2:", "line longer than");
	char err[512] = "";
	struct ephemera_config cfg = {0};
	/* The first error wins, whether inih's (syntax) or ours (a key). */
	refuse("syntax-then-key.conf", "[allocator]\nno equals\n\nbogus = 1\n", -EINVAL,
	       ":2:", "syntax error");
	refuse("key-then-syntax.conf", "[allocator]\nbogus = 1\nno equals\n", -EINVAL,
	       ":2:", "unknown key 'bogus'");

	const char *good = write_conf("target.conf", "[allocator]\nuid_min = 100000\n", 0644);
	char link[256];
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	if (symlink(good, link) < 0)
		diag("symlink: %m");
	is_errno(config_load(link, &cfg, err, sizeof(err)), -ELOOP, "symlinked config refused");
	if (!ok(strncmp(err, link, strlen(link)) == 0 && err[strlen(link)] == ':',
		"symlink: message names the file"))
		diag("message: %s", err);

	const char *gw = write_conf("group-writable.conf", "[allocator]\nuid_min = 100000\n", 0664);
	is_errno(config_load(gw, &cfg, err, sizeof(err)), -EPERM, "group-writable config refused");
	if (!ok(strstr(err, "not writable by group or others") != NULL, "group-writable: says why"))
		diag("message: %s", err);
	const char *ow = write_conf("other-writable.conf", "[allocator]\n", 0602);
	is_errno(config_load(ow, &cfg, err, sizeof(err)), -EPERM, "world-writable config refused");
	const char *nr = write_conf("not-root.conf", "[allocator]\n", 0644);
	if (chown(nr, 65534, 65534) < 0)
		diag("chown: %m");
	is_errno(config_load(nr, &cfg, err, sizeof(err)), -EPERM,
		 "config owned by uid 65534 refused");
	is_errno(config_load(tmpdir, &cfg, err, sizeof(err)), -EINVAL, "a directory is refused");
}

static void test_names(void)
{
	static const char *const good[] = {
	    "agent-session", "a", "_x", "a1-b_2", "lab", "abcdefghijabcdefghijabcdefghij12"};
	static const char *const bad[] = {"",
					  "1abc",
					  "-a",
					  "Abc",
					  "a b",
					  "a.b",
					  "a/b",
					  "a:b",
					  "abcdefghijabcdefghijabcdefghij123",
					  "\xc3\xa9t\xc3\xa9"};
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		ok(config_valid_name(good[i]), "valid name '%s'", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ok(!config_valid_name(bad[i]), "invalid name '%s'", bad[i]);
}

/* In a child with the given real/effective uid, config_path_for_caller(arg)
 * must give the built-in path.  Exit 0 if so, 1 if not, 2 if setup failed. */
static int path_as(uid_t ruid, uid_t euid, const char *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(ruid, euid, euid) < 0)
			_exit(2);
		_exit(strcmp(config_path_for_caller(arg), CONFIG_DEFAULT_PATH) == 0 ? 0 : 1);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_caller_path(void)
{
	is_str(config_path_for_caller("/tmp/x.conf"), "/tmp/x.conf",
	       "root: the argument is honoured");
	is_str(config_path_for_caller(NULL), CONFIG_DEFAULT_PATH, "root, NULL: the built-in path");
	is_str(config_path_for_caller(""), CONFIG_DEFAULT_PATH, "root, \"\": the built-in path");
	is_str(CONFIG_DEFAULT_PATH, "/etc/ephemera/ephemera.conf", "built-in path");
	is_int(path_as(65534, 65534, "/tmp/x.conf"), 0, "uid 65534: the argument is ignored");
	/* What a setuid-root binary started by a user looks like. */
	is_int(path_as(65534, 0, "/tmp/x.conf"), 0, "real uid 65534, effective 0: ignored");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	umask(022);
	test_good();
	test_missing();
	test_bad();
	test_names();
	test_caller_path();

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return done_testing();
}
