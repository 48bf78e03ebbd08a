/* attack PID: tries to read another process the way a hostile owner would --
 * PTRACE_SEIZE, process_vm_readv, /proc/PID/mem -- and prints one
 * "attack.KIND=OK|ERRNO" line each.  With "self" instead of a PID it attacks
 * a child of its own, the control case that must succeed; with "watch" it
 * races processes as they start; with "life PATH" it tries to hold a session
 * by connecting to pid 1's life socket (shell/init.h I3) and prints
 * "attack.life=ACK|EOF|ERRNO".  Used by tests/e2e/shell-attacks.t and
 * tests/e2e/join-channels.t. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *result(long r)
{
	return r >= 0 ? "OK" : (strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
}

/* An address that is mapped in the target: its first mapping in /proc/PID/maps,
 * or (unreadable maps) our own stack address, which yields EFAULT, not EPERM. */
static unsigned long target_address(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	unsigned long a = (unsigned long)&path;
	if (f && fgets(line, sizeof(line), f))
		a = strtoul(line, NULL, 16);
	if (f)
		fclose(f);
	return a;
}

static void attack(pid_t pid)
{
	unsigned long addr = target_address(pid);
	char byte;
	struct iovec local = {&byte, 1}, remote = {(void *)addr, 1};
	errno = 0;
	printf("attack.process_vm_readv=%s\n",
	       result(process_vm_readv(pid, &local, 1, &remote, 1, 0)));

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	errno = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long r = fd;
	if (fd >= 0) {
		r = pread(fd, &byte, 1, (off_t)addr);
		close(fd);
	}
	printf("attack.proc_mem=%s\n", result(r));

	errno = 0;
	r = ptrace(PTRACE_SEIZE, pid, 0, 0);
	printf("attack.ptrace=%s\n", result(r));
	if (r == 0)
		ptrace(PTRACE_DETACH, pid, 0, 0);
}

/* watch COMM SECONDS: attack every process named COMM whose real uid is ours,
 * as soon as it appears, for SECONDS; print how many were tried and how many
 * of the attacks succeeded.  This is the race against a launcher in setup. */
static int watch(const char *comm, int seconds)
{
	unsigned tried = 0, succeeded = 0;
	pid_t seen[4096];
	size_t nseen = 0;
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			pid_t pid = (pid_t)atoi(de->d_name);
			if (pid <= 0 || pid == getpid())
				continue;
			char path[64], name[64] = "";
			snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
			FILE *f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(name, sizeof(name), f))
				name[strcspn(name, "\n")] = '\0';
			fclose(f);
			if (strcmp(name, comm) != 0)
				continue;
			bool known = false;
			for (size_t i = 0; i < nseen; i++)
				known |= seen[i] == pid;
			if (known || nseen >= 4096)
				continue;
			seen[nseen++] = pid;
			tried++;
			char byte;
			struct iovec local = {&byte, 1}, remote = {(void *)target_address(pid), 1};
			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) >= 0 || errno == EFAULT)
				succeeded++;
			if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
				succeeded++;
				ptrace(PTRACE_DETACH, pid, 0, 0);
			}
			snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				succeeded++;
				close(fd);
			}
		}
		if (d)
			closedir(d);
	}
	printf("watch.tried=%u\nwatch.succeeded=%u\n", tried, succeeded);
	return 0;
}

/* ACK: pid 1 counted us as a login (the session would be ours to hold);
 * EOF: it closed the connection unanswered; else the errno of the connect. */
static int life(const char *path)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("attack.life=%s\n", result(-1));
		return 0;
	}
	struct pollfd p = {.fd = s, .events = POLLIN};
	char b = 0;
	bool ack = poll(&p, 1, 5000) == 1 && recv(s, &b, 1, 0) == 1;
	printf("attack.life=%s\n", ack ? "ACK" : "EOF");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "watch") == 0)
		return watch(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "life") == 0)
		return life(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: attack PID|self | attack watch COMM SECONDS | attack life PATH\n");
		return 2;
	}
	if (strcmp(argv[1], "self") != 0) {
		attack((pid_t)atoi(argv[1]));
		return 0;
	}
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	usleep(100000);
	attack(child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
