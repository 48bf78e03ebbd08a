#include "allocator/proc.h"

#include "common/parse.h"
#include "common/util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* Fields of /proc/PID/stat after the command name, which may hold spaces and
 * parentheses: everything after the last ')' is plain numbers. */
static int read_stat_fields(pid_t pid, char *buf, size_t size, char **ret_rest)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = read(fd, buf, size - 1);
	if (n <= 0)
		return n < 0 ? neg_errno() : -EIO;
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return -EBADMSG;
	*ret_rest = rp + 2; /* field 3 (state) onwards */
	return 0;
}

/* Field k (1-based, as in proc(5)) from the text starting at field 3. */
static int stat_field(char *rest, int k, uint64_t *ret)
{
	char *save = NULL;
	int field = 3;
	for (char *t = strtok_r(rest, " ", &save); t; t = strtok_r(NULL, " ", &save), field++)
		if (field == k)
			return parse_u64(t, 0, UINT64_MAX, ret);
	return -EBADMSG;
}

int proc_identify(pid_t pid, struct proc_id *ret)
{
	char buf[1024], *rest;
	uint64_t start;
	int r = read_stat_fields(pid, buf, sizeof(buf), &rest);
	if (r == 0)
		r = stat_field(rest, 22, &start);
	if (r < 0)
		return r;
	*ret = (struct proc_id){pid, start};
	return 0;
}

int proc_parent(pid_t pid, pid_t *ret_ppid)
{
	char buf[1024], *rest;
	uint64_t ppid;
	int r = read_stat_fields(pid, buf, sizeof(buf), &rest);
	if (r == 0)
		r = stat_field(rest, 4, &ppid);
	if (r < 0)
		return r;
	*ret_ppid = (pid_t)ppid;
	return 0;
}

int proc_ancestors(struct proc_id *ret, size_t max)
{
	size_t n = 0;
	pid_t p = getppid();
	while (n < max && p > 1) {
		if (proc_identify(p, &ret[n]) < 0)
			break;
		pid_t pp;
		n++;
		if (proc_parent(p, &pp) < 0)
			break;
		p = pp;
	}
	return (int)n;
}

int proc_alive(const struct proc_id *id)
{
	struct proc_id now;
	if (proc_identify(id->pid, &now) < 0)
		return 0;
	return now.start == id->start;
}

int proc_ctty(const struct proc_id *id, dev_t *ret)
{
	char buf[1024], copy[1024], *rest;
	uint64_t tty_nr, start;
	int r = read_stat_fields(id->pid, buf, sizeof(buf), &rest);
	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0)
		return r;
	snprintf(copy, sizeof(copy), "%s", rest);
	if ((r = stat_field(rest, 7, &tty_nr)) < 0 || (r = stat_field(copy, 22, &start)) < 0)
		return r;
	if (start != id->start)
		return -ESRCH;
	/* proc(5): the major in bits 15-8, the minor in bits 31-20 and 7-0. */
	unsigned maj = (unsigned)(tty_nr >> 8) & 0xfff;
	unsigned min = (unsigned)(tty_nr & 0xff) | (unsigned)((tty_nr >> 12) & 0xfff00);
	*ret = tty_nr ? makedev(maj, min) : 0;
	return 0;
}

int proc_running(const struct proc_id *id)
{
	char buf[1024], *rest;
	uint64_t start;
	if (read_stat_fields(id->pid, buf, sizeof(buf), &rest) < 0)
		return 0;
	char state = rest[0];
	if (stat_field(rest, 22, &start) < 0 || start != id->start)
		return 0;
	return state != 'Z' && state != 'X';
}

int proc_pidfd_open(const struct proc_id *id)
{
	if (id->pid <= 0)
		return -ESRCH;
	_cleanup_close_ int fd = (int)syscall(SYS_pidfd_open, id->pid, 0);
	if (fd < 0)
		return errno == ESRCH || errno == EINVAL ? -ESRCH : neg_errno();
	struct proc_id now;
	if (proc_identify(id->pid, &now) < 0 || now.start != id->start)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0)
		return -ESRCH; /* it exited after pidfd_open: the start read may be another's */
	return take_fd(&fd);
}

int proc_wait_exit(const struct proc_id *id, int timeout_ms)
{
	_cleanup_close_ int fd = proc_pidfd_open(id);
	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue; /* a bound, not a deadline: a signal rarely lands here */
		if (n < 0)
			return neg_errno();
		return n > 0 ? 0 : -ETIMEDOUT;
	}
}
