/* syslogd FILE: a tiny syslog receiver for tests/testenv.  Binds /dev/log
 * (a datagram socket, as glibc's syslog() expects) and appends every message
 * to FILE, one per line, so that tests can assert what an admin would grep.
 * It exits when its parent (testenv's pid 1) does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: syslogd FILE\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "/dev/log");
	unlink(a.sun_path);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "syslogd: /dev/log: %s\n", strerror(errno));
		return 1;
	}
	chmod(a.sun_path, 0666);
	int out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0)
		return 1;
	char buf[4096];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
			n--;
		buf[n++] = '\n';
		if (write(out, buf, (size_t)n) < 0)
			return 1;
	}
}
