/* probe: prints what a process can see and do, one "key=value" per line, for
 * tests/e2e/shell-sandbox.t.  Run inside a session and outside it: the test
 * asserts the values inside and shows they differ outside, so every
 * assertion can fail.  Usage: probe [PORT]  (a TCP port the host listens on) */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EBADF: return "EBADF";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EFAULT: return "EFAULT";
	case ENOTDIR: return "ENOTDIR";
	case EBUSY: return "EBUSY";
	case ESRCH: return "ESRCH";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "E?";
	}
}

/* Runs a raw syscall in a child (so that a call that succeeds -- as it may
 * for root outside a sandbox -- changes nothing for the probe) and prints
 * name=ERRNO, OK when it returned >= 0.  The arguments are chosen so that a
 * real kernel answer differs from the filter's EPERM. */
static void sys(const char *name, long nr, long a, long b, long c, long d, long e)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		errno = 0;
		long r = syscall(nr, a, b, c, d, e, 0);
		_exit(r >= 0 ? 0 : errno & 0xff);
	}
	int st = 0;
	waitpid(p, &st, 0);
	if (WIFSIGNALED(st))
		printf("sys.%s=signal%d\n", name, WTERMSIG(st));
	else
		printf("sys.%s=%s\n", name, WEXITSTATUS(st) ? err_name(WEXITSTATUS(st)) : "OK");
}

static void status_lines(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		char key[32], val[128];
		if (sscanf(line, "%31[^:]:%*[ \t]%127[^\n]", key, val) != 2)
			continue;
		if (!strncmp(key, "Cap", 3) || !strcmp(key, "NoNewPrivs") ||
		    !strcmp(key, "Seccomp"))
			printf("status.%s=%s\n", key, val);
	}
	if (f)
		fclose(f);
}

static void ids(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("uid=%u,%u,%u\ngid=%u,%u,%u\ngroups=%d\n", r, e, s, rg, eg, sg, getgroups(0, NULL));
	errno = 0;
	printf("setuid0=%s\n", setuid(0) == 0 ? "OK" : err_name(errno));
	char host[128] = "";
	gethostname(host, sizeof(host));
	printf("hostname=%s\n", host);
}

static void syscalls(void)
{
	sys("mount", SYS_mount, (long)"none", (long)"/nonexistent", (long)"tmpfs", 0, 0);
	sys("umount2", SYS_umount2, (long)"/nonexistent", 0, 0, 0, 0);
	sys("pivot_root", SYS_pivot_root, (long)"/nonexistent", (long)"/nonexistent", 0, 0, 0);
	sys("chroot", SYS_chroot, (long)"/nonexistent", 0, 0, 0, 0);
	sys("unshare_user", SYS_unshare, CLONE_NEWUSER, 0, 0, 0, 0);
	sys("unshare_ns", SYS_unshare, CLONE_NEWNS, 0, 0, 0, 0);
	sys("setns", SYS_setns, -1, 0, 0, 0, 0);
	sys("keyctl", SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0, 0, 0);
	sys("add_key", SYS_add_key, (long)"user", (long)"probe", (long)"x", 1, 0 /* no keyring */);
	sys("request_key", SYS_request_key, (long)"user", (long)"no-such-key", 0, 0, 0);
	sys("bpf", SYS_bpf, 0, 0, 0, 0, 0);
	sys("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0);
	sys("init_module", SYS_init_module, 0, 0, 0, 0, 0);
	sys("finit_module", SYS_finit_module, -1, 0, 0, 0, 0);
	sys("delete_module", SYS_delete_module, (long)"no_such_module", 0, 0, 0, 0);
	sys("kexec_load", SYS_kexec_load, 0, 0, 0, 0xdead0000, 0);
	sys("reboot", SYS_reboot, 0, 0, 0, 0, 0);
	sys("swapon", SYS_swapon, (long)"/nonexistent", 0, 0, 0, 0);
	sys("acct", SYS_acct, (long)"/nonexistent", 0, 0, 0, 0);
	sys("settimeofday", SYS_settimeofday, 0, 0, 0, 0, 0);
	sys("clock_settime", SYS_clock_settime, 0, 0, 0, 0, 0);
	sys("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0, 0, 0);
	sys("userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0);
	sys("io_uring_setup", SYS_io_uring_setup, 1, 0, 0, 0, 0);
	sys("clone3", SYS_clone3, 0, 0, 0, 0, 0);
	sys("clone_newuser", SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	sys("clone_newuser_hi", SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD | (1UL << 32)), 0, 0, 0,
	    0);
	sys("socket_vsock", SYS_socket, AF_VSOCK, SOCK_STREAM, 0, 0, 0);
	sys("socket_vsock_hi", SYS_socket, (long)(AF_VSOCK | (1UL << 32)), SOCK_STREAM, 0, 0, 0);
	sys("personality_rie", SYS_personality, 0x0400000, 0, 0, 0, 0);
	/* mseal (462) is newer than this build's libseccomp: ENOSYS inside; outside
	 * a kernel that has it answers for itself (here: OK or EINVAL). */
	sys("unknown_462", 462, 0, 0, 0, 0, 0);
}

/* TIOCSTI on our terminal (or /dev/tty): EPERM under the filter, else OK/EIO. */
static void terminal(void)
{
	int fd = isatty(0) ? 0 : open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	printf("tty=%s\n",
	       fd >= 0 && isatty(fd) ? (ttyname(fd) ? ttyname(fd) : "unnamed") : "none");
	char c = '\n';
	long cmd = TIOCSTI;
	errno = 0;
	long r = syscall(SYS_ioctl, fd, cmd, &c);
	printf("sys.tiocsti=%s\n", r >= 0 ? "OK" : err_name(errno));
	errno = 0;
	r = syscall(SYS_ioctl, fd, (long)(cmd | (1L << 32)), &c);
	printf("sys.tiocsti_hi=%s\n", r >= 0 ? "OK" : err_name(errno));
	char sub = 12; /* TIOCLINUX subcode 12: get shift state, harmless */
	errno = 0;
	r = syscall(SYS_ioctl, fd, (long)TIOCLINUX, &sub);
	printf("sys.tioclinux=%s\n", r >= 0 ? "OK" : err_name(errno));
	int disc = 0;
	errno = 0;
	r = syscall(SYS_ioctl, fd, (long)TIOCSETD, &disc);
	printf("sys.tiocsetd=%s\n", r >= 0 ? "OK" : err_name(errno));
}

/* int 0x80 in a child: killed by SIGSYS under the filter. */
static void int80(void)
{
	pid_t p = fork();
	if (p == 0) {
		long ret;
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
		_exit(ret > 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(p, &st, 0);
	if (WIFSIGNALED(st))
		printf("int80=signal%d\n", WTERMSIG(st));
	else
		printf("int80=exit%d\n", WEXITSTATUS(st));
}

static void network(int port)
{
	FILE *f = fopen("/proc/net/dev", "re");
	char line[256], list[256] = "";
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		if (++n > 2) {
			char ifname[64];
			if (sscanf(line, " %63[^:]:", ifname) == 1) {
				strncat(list, list[0] ? "," : "", sizeof(list) - strlen(list) - 1);
				strncat(list, ifname, sizeof(list) - strlen(list) - 1);
			}
		}
	if (f)
		fclose(f);
	printf("net.interfaces=%s\n", list);
	if (port > 0) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		errno = 0;
		int r = connect(s, (struct sockaddr *)&a, sizeof(a));
		printf("net.connect=%s\n", r == 0 ? "OK" : err_name(errno));
		close(s);
	}
}

static int count_entries(const char *dir, int digits_only)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    (!digits_only || (de->d_name[0] >= '0' && de->d_name[0] <= '9')))
			n++;
	closedir(d);
	return n;
}

static void try_write(const char *key, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	printf("write.%s=%s\n", key, fd >= 0 ? "OK" : err_name(errno));
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
}

static void files(void)
{
	int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
	printf("read.shadow=%s\n", fd >= 0 ? "OK" : err_name(errno));
	if (fd >= 0)
		close(fd);
	struct stat st;
	printf("shadow.size=%lld\n", stat("/etc/shadow", &st) == 0 ? (long long)st.st_size : -1LL);
	printf("procs=%d\n", count_entries("/proc", 1));
	printf("home_entries=%d\nroot_entries=%d\nsessions_entries=%d\n", count_entries("/home", 0),
	       count_entries("/root", 0), count_entries("/sessions", 0));
	try_write("usr", "/usr/probe-write-test");
	try_write("etc", "/etc/probe-write-test");
	try_write("rootdir", "/probe-write-test");
	const char *home = getenv("HOME");
	char path[4096];
	snprintf(path, sizeof(path), "%s/probe-write-test", home ? home : "/nonexistent");
	try_write("home", path);
	snprintf(path, sizeof(path), "%s/mnt/output/probe-write-test",
		 home ? home : "/nonexistent");
	try_write("output", path);
	snprintf(path, sizeof(path), "%s/mnt/upload/probe-write-test",
		 home ? home : "/nonexistent");
	try_write("upload", path);
	printf("user=%s\nhome=%s\n", getenv("USER") ? getenv("USER") : "", home ? home : "");
}

/* probe [--process-only] [PORT]: --process-only leaves out the file system and
 * network checks (for a run as root outside a sandbox, which must not write). */
int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int process_only = argc > 1 && strcmp(argv[1], "--process-only") == 0;
	ids();
	status_lines();
	syscalls();
	terminal();
	int80();
	if (process_only)
		return 0;
	network(argc > 1 ? atoi(argv[argc - 1]) : 0);
	files();
	return 0;
}
