/* Profiles in the config: [sandbox] is the default, [profile NAME] starts as
 * a copy of it, selection by user and by group, every key's parser, and the
 * refusals.  Selection by group runs against the real NSS of the machine
 * (root's primary group is 0, named "root" on Debian). */
#include "common/config.h"
#include "common/profile.h"

#include "common/util.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static const char *write_conf(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		diag("cannot write %s", path);
		exit(99);
	}
	close(fd);
	return path;
}

static int load(const char *name, const char *text, struct ephemera_config *cfg, char *err,
		size_t errlen)
{
	return config_load(write_conf(name, text), cfg, err, errlen);
}

static const char full[] = "[gateway]\n"
			   "accounts = agent-session\n"
			   "[sandbox]\n"
			   "max_processes = 500\n"
			   "network = proxy\n"
			   "proxy_allow = pypi.org, *.debian.org\n"
			   "proxy_allow_private = pypi.org\n"
			   "mount = ro:/srv/tools:mnt/.skill\n"
			   "[profile lab]\n"
			   "accounts = alice, @root\n"
			   "network = none\n"
			   "memory_max = 2G\n"
			   "cpu_weight = 50\n"
			   "pids_max = 300\n"
			   "tmp_size = 512M\n"
			   "home = tmpfs:4G\n"
			   "max_lifetime = 8h\n"
			   "idle_timeout = 30m\n"
			   "lifetime_warning = 90s\n"
			   "linger = 30s\n"
			   "mount = rw:/var/lib/ephemera/config/%u:mnt/.config\n"
			   "mount = ro:/srv/upload/%u:mnt/upload\n"
			   "[profile agents]\n"
			   "accounts = bob\n"
			   "network = host\n"
			   "allow_unix = yes\n"
			   "proxy_ports = 443, 22\n"
			   "[network]\n"
			   "proxy_user = ephemera-proxy\n";

static void test_full(void)
{
	struct ephemera_config cfg;
	char err[512] = "";
	int r = load("full.conf", full, &cfg, err, sizeof(err));
	if (!is_errno(r, 0, "a config with profiles loads"))
		diag("%s", err);
	if (r < 0) {
		skip(24, "did not load");
		return;
	}
	is_int(cfg.n_profiles, 3, "default and two profiles");
	const struct ephemera_profile *d = &cfg.profiles[0], *lab = config_profile_named(&cfg, "lab"),
				      *ag = config_profile_named(&cfg, "agents");
	is_str(d->name, "default", "profiles[0] is default");
	ok(lab && ag, "both found by name");
	if (!lab || !ag) {
		skip(21, "profiles missing");
		config_free(&cfg);
		return;
	}
	ok(config_profile_named(&cfg, "nope") == NULL, "an unknown name is NULL");
	is_int(lab->max_processes, 500, "lab inherits max_processes from [sandbox]");
	is_int(lab->network, NET_NONE, "lab overrides network");
	ok(lab->memory_max == 2ull << 30 && lab->cpu_weight == 50 && lab->pids_max == 300,
	   "cgroup limits");
	ok(lab->tmp_size == 512ull << 20 && lab->home_tmpfs == 4ull << 30, "tmp_size, home tmpfs");
	ok(lab->max_lifetime == 8 * 3600 && lab->idle_timeout == 1800 &&
	       lab->lifetime_warning == 90 && lab->linger == 30,
	   "lifetimes in seconds");
	is_int(lab->n_proxy_allow, 2, "lab inherits the allow list");
	ok(lab->n_proxy_allow_private == 1 && !strcmp(lab->proxy_allow_private[0], "pypi.org"),
	   "  ... and proxy_allow_private");
	is_int(lab->n_mounts, 2, "lab's mount lines replace the default's");
	ok(lab->n_mounts == 2 && lab->mounts[0].rw && !strcmp(lab->mounts[0].dst, "mnt/.config") &&
	       !strcmp(lab->mounts[0].src, "/var/lib/ephemera/config/%u") && !lab->mounts[1].rw,
	   "mounts parsed in order, %%u kept for later");
	is_int(ag->n_mounts, 1, "agents inherits the default's mount");
	ok(ag->network == NET_HOST && ag->allow_unix, "agents: host network, unix allowed");
	ok(ag->n_proxy_ports == 2 && ag->proxy_ports[0] == 443 && ag->proxy_ports[1] == 22,
	   "proxy_ports");
	ok(d->n_proxy_ports == 2 && d->proxy_ports[0] == 80 && d->proxy_ports[1] == 443,
	   "default proxy ports 80, 443");
	is_str(cfg.proxy_user, "ephemera-proxy", "proxy_user");

	int e = 1;
	is_str(config_profile_for(&cfg, "alice", 65534, &e)->name, "lab", "alice: by user");
	is_int(e, 0, "no error");
	is_str(config_profile_for(&cfg, "root", 0, NULL)->name, "lab", "root: by group @root");
	is_str(config_profile_for(&cfg, "bob", 65534, NULL)->name, "agents", "bob: by user");
	is_str(config_profile_for(&cfg, "agent-session", 65534, NULL)->name, "default",
	       "a [gateway] account: default");
	is_int(config_is_gateway(&cfg, "bob", 65534), 1, "a profile's account is a gateway account");
	is_int(config_is_gateway(&cfg, "carol", 65534), 0, "an account named nowhere is not");
	config_free(&cfg);
}

static void test_defaults(void)
{
	struct ephemera_config cfg;
	char err[512] = "";
	if (load("empty.conf", "", &cfg, err, sizeof(err)) < 0) {
		diag("%s", err);
		skip(4, "empty did not load");
		return;
	}
	const struct ephemera_profile *d = &cfg.profiles[0];
	is_int(cfg.n_profiles, 1, "only the default profile");
	ok(d->network == NET_NONE && d->linger == 0 && d->max_lifetime == 0 && d->home_tmpfs == 0,
	   "defaults: no network, no linger, no lifetime, home on disk");
	ok(d->tmp_size == 1ull << 30 && d->shm_size == 256ull << 20 && d->run_size == 16ull << 20,
	   "default tmpfs sizes 1G, 256M, 16M");
	is_str(cfg.proxy_user, "nobody", "default proxy_user");
	config_free(&cfg);
}

static void refuse(const char *name, const char *text, const char *where, const char *what)
{
	struct ephemera_config cfg = {0};
	char err[512] = "";
	is_errno(load(name, text, &cfg, err, sizeof(err)), -EINVAL, "%s: refused", name);
	if (!ok(strstr(err, where) && strstr(err, what), "%s: says %s %s", name, where, what))
		diag("message: %s", err);
}

static void test_bad(void)
{
	refuse("p-dup.conf", "[profile a]\nlinger = 1s\n[profile a]\nlinger = 2s\n", ":4:",
	       "profile 'a' is defined twice");
	refuse("p-default.conf", "[profile default]\nlinger = 1s\n", ":2:", "[sandbox]");
	refuse("p-name.conf", "[profile Lab]\nlinger = 1s\n", ":2:", "invalid profile name");
	refuse("p-key.conf", "[profile a]\nbogus = 1\n", ":2:", "unknown key 'bogus'");
	refuse("p-dupkey.conf", "[profile a]\nlinger = 1s\nlinger = 2s\n", ":3:",
	       "duplicate key 'linger'");
	refuse("p-acct.conf", "[sandbox]\naccounts = a\n", ":2:", "accounts in [sandbox]");
	refuse("p-net.conf", "[sandbox]\nnetwork = open\n", ":2:", "none, proxy or host");
	refuse("p-size.conf", "[sandbox]\nmemory_max = 2X\n", ":2:", "memory_max must be a size");
	refuse("p-tmp.conf", "[sandbox]\ntmp_size = 10\n", ":2:", "tmp_size");
	refuse("p-dur.conf", "[sandbox]\nlinger = 1w\n", ":2:", "linger must be a time");
	refuse("p-dur2.conf", "[sandbox]\nmax_lifetime = 400d\n", ":2:", "max_lifetime");
	refuse("p-home.conf", "[sandbox]\nhome = tmpfs:\n", ":2:", "home must be disk or tmpfs");
	refuse("p-host.conf", "[sandbox]\nproxy_allow = Evil.COM\n", ":2:", "invalid entry");
	refuse("p-host2.conf", "[sandbox]\nproxy_allow = a..b\n", ":2:", "invalid entry");
	refuse("p-priv.conf", "[sandbox]\nproxy_allow_private = *.x.org\n", ":2:", "invalid entry");
	refuse("p-port.conf", "[sandbox]\nproxy_ports = 80, 70000\n", ":2:", "not a port");
	refuse("p-bool.conf", "[sandbox]\nallow_unix = maybe\n", ":2:", "yes or no");
	refuse("p-m1.conf", "[sandbox]\nmount = /a:b\n", ":2:", "ro: or rw:");
	refuse("p-m2.conf", "[sandbox]\nmount = ro:relative:b\n", ":2:", "absolute path");
	refuse("p-m3.conf", "[sandbox]\nmount = ro:/a:../etc\n", ":2:", "plain path in the home");
	refuse("p-m4.conf", "[sandbox]\nmount = ro:/a:/abs\n", ":2:", "plain path in the home");
	refuse("p-m5.conf", "[sandbox]\nmount = ro:/a/%x:b\n", ":2:", "absolute path");
	refuse("p-m6.conf", "[sandbox]\nmount = ro:/a:mnt/./b\n", ":2:", "plain path");
	refuse("p-user.conf", "[network]\nproxy_user = Root\n", ":2:", "proxy_user");
}

static void test_parsers(void)
{
	uint64_t v = 0;
	uint32_t t = 0;
	ok(parse_size("64K", 0, ~0ull, &v) == 0 && v == 65536, "64K");
	ok(parse_size("3g", 0, ~0ull, &v) == 0 && v == 3ull << 30, "3g");
	ok(parse_size("100", 0, ~0ull, &v) == 0 && v == 100, "bytes");
	ok(parse_size("K", 0, ~0ull, &v) < 0, "a unit alone is refused");
	ok(parse_size("99999999999T", 0, ~0ull, &v) < 0, "overflow refused");
	ok(parse_size("-1M", 0, ~0ull, &v) < 0, "negative refused");
	ok(parse_duration("90", 1000, &t) == 0 && t == 90, "90 seconds");
	ok(parse_duration("2h", 86400, &t) == 0 && t == 7200, "2h");
	ok(parse_duration("2h", 3600, &t) == -ERANGE, "over the maximum");
	ok(parse_duration("h", 3600, &t) < 0, "a unit alone is refused");
	ok(parse_duration("4294967295d", UINT32_MAX, &t) == -ERANGE, "no overflow");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ephemera-unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	umask(022);
	test_full();
	test_defaults();
	test_bad();
	test_parsers();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", tmpdir);
	return done_testing();
}
