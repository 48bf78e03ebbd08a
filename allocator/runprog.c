#include "allocator/runprog.h"

#include "common/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

static _Noreturn void child(const char *const argv[], int out_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0)
		_exit(127);
	if (out_fd >= 0 && (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0))
		_exit(127);
	close_range(3, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C",
			      NULL};
	execve(argv[0], (char *const *)argv, envp);
	_exit(127);
}

/* Reads fd to EOF into out; the rest past outlen - 1 is dropped. */
static void read_all(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	char sink[4096];
	for (;;) {
		bool room = n + 1 < outlen;
		ssize_t k = room ? read(fd, out + n, outlen - 1 - n) : read(fd, sink, sizeof(sink));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (room)
			n += (size_t)k;
	}
	out[n] = '\0';
}

static int wait_child(pid_t pid)
{
	int st;
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		return neg_errno();
	return WIFEXITED(st) ? WEXITSTATUS(st) : -ECHILD;
}

int runprog(const char *const argv[], char *out, size_t outlen)
{
	if (!argv[0] || argv[0][0] != '/' || (out && outlen == 0))
		return -EINVAL;
	int pipefd[2] = {-1, -1};
	if (out && pipe2(pipefd, O_CLOEXEC) < 0)
		return neg_errno();
	pid_t pid = fork();
	if (pid == 0)
		child(argv, pipefd[1]);
	int r = pid < 0 ? neg_errno() : 0;
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid > 0 && out)
		read_all(pipefd[0], out, outlen);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	return pid < 0 ? r : wait_child(pid);
}
