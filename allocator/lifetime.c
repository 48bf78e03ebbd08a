/* Lifetimes: judge one running session, warn its terminals (lifetime.h has
 * the invariants).  Ending a session that is over is the caller's: it is an
 * `ephemeractl kill` with a reason. */
#include "allocator/lifetime.h"

#include "allocator/proc.h"
#include "common/errbuf.h"
#include "common/util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#define MAX_TERMINALS 16
#define PTS_MAJOR     136 /* UNIX98 pty slaves: /dev/pts/N is (136, N) */
#define VT_MAJOR      4	  /* virtual consoles /dev/tty1-63 */

struct terminals {
	const struct db_session *s;
	int fd[MAX_TERMINALS]; /* O_PATH */
	dev_t dev[MAX_TERMINALS];
	struct proc_id login[MAX_TERMINALS]; /* whose controlling terminal it is */
	size_t n;
	bool without_tty; /* a live login with no terminal */
	int64_t input;	  /* latest atime of them */
};

static int tty_path(dev_t dev, char *buf, size_t size)
{
	if (major(dev) == PTS_MAJOR)
		snprintf(buf, size, "/dev/pts/%u", minor(dev));
	else if (major(dev) == VT_MAJOR && minor(dev) >= 1 && minor(dev) < 64)
		snprintf(buf, size, "/dev/tty%u", minor(dev));
	else
		return -ENODEV;
	return 0;
}

/* L3: the node of device dev, checked; an O_PATH fd. */
static int open_terminal(dev_t dev, const struct db_session *s, struct stat *ret_st)
{
	char path[64];
	int r = tty_path(dev, path, sizeof(path));
	if (r < 0)
		return r;
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, ret_st) < 0)
		return neg_errno();
	if (!S_ISCHR(ret_st->st_mode) || ret_st->st_rdev != dev)
		return -ENOTTY;
	uid_t u = ret_st->st_uid;
	if (u != 0 && u != s->owner_uid && u != s->uid)
		return -EPERM;
	return take_fd(&fd);
}

static void add_login(struct terminals *t, struct proc_id id)
{
	dev_t dev;
	if (proc_ctty(&id, &dev) < 0)
		return; /* gone */
	if (dev == 0) {
		t->without_tty = true;
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->dev[i] == dev)
			return;
	struct stat st;
	int fd = t->n < MAX_TERMINALS ? open_terminal(dev, t->s, &st) : -ENOSPC;
	if (fd < 0)
		return; /* not one we may write to, or judge by */
	t->fd[t->n] = fd;
	t->dev[t->n] = dev;
	t->login[t->n++] = id;
	if ((int64_t)st.st_atime > t->input)
		t->input = st.st_atime;
}

static int add_open_login(int64_t pid, int64_t start, void *userdata)
{
	add_login(userdata, (struct proc_id){(pid_t)pid, (uint64_t)start});
	return 0;
}

static void close_terminals(struct terminals *t)
{
	for (size_t i = 0; i < t->n; i++)
		close(t->fd[i]);
	t->n = 0;
}

/* L3 at the time of the write: reopened from our fd (no path), the same
 * device, still the controlling terminal of that same login. */
static bool write_one(const struct terminals *t, size_t i, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd[i]);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	dev_t now;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != t->dev[i] ||
	    proc_ctty(&t->login[i], &now) < 0 || now != t->dev[i])
		return false;
	size_t len = strlen(text);
	return write(fd, text, len) == (ssize_t)len;
}

static void human(int64_t secs, char *buf, size_t size)
{
	if (secs >= 3600)
		snprintf(buf, size, "%lldh%02lldm", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
	else if (secs >= 60)
		snprintf(buf, size, "%lldm%02llds", (long long)(secs / 60), (long long)(secs % 60));
	else
		snprintf(buf, size, "%llds", (long long)secs);
}

static void warn(struct terminals *t, const char *name, bool idle, int64_t left, int64_t limit,
		 struct lifetime_verdict *v)
{
	char in[32], lim[32], text[300];
	human(left, in, sizeof(in));
	human(limit, lim, sizeof(lim));
	if (idle)
		snprintf(text, sizeof(text),
			 "\r\n*** ephemera: session %s ends in %s unless there is input "
			 "(idle_timeout %s) ***\r\n",
			 name, in, lim);
	else
		snprintf(text, sizeof(text),
			 "\r\n*** ephemera: session %s ends in %s: its max_lifetime is %s ***\r\n",
			 name, in, lim);
	for (size_t i = 0; i < t->n; i++)
		v->terminals += write_one(t, i, text);
	v->action = LIFETIME_WARNED;
	snprintf(v->detail, sizeof(v->detail), "%s: ends in %llds, %u terminal(s) told", v->reason,
		 (long long)left, v->terminals);
}

static void decide(const struct ephemera_profile *p, const struct db_times *tm,
		   struct terminals *t, const char *name, int64_t now, int64_t active,
		   struct lifetime_verdict *v)
{
	int64_t end = INT64_MAX, limit = 0;
	bool idle = false;
	if (p->max_lifetime) {
		end = tm->started_at + p->max_lifetime;
		limit = p->max_lifetime;
	}
	if (p->idle_timeout && active + p->idle_timeout < end) {
		end = active + p->idle_timeout;
		limit = p->idle_timeout;
		idle = true;
	}
	v->reason = idle ? "idle" : "lifetime";
	if (now >= end) {
		v->action = LIFETIME_OVER;
		if (idle)
			snprintf(v->detail, sizeof(v->detail), "idle: no activity for %llds (idle_timeout %llds)",
				 (long long)(now - active), (long long)limit);
		else
			snprintf(v->detail, sizeof(v->detail), "lifetime: ran %llds (max_lifetime %llds)",
				 (long long)(now - tm->started_at), (long long)limit);
		return;
	}
	/* L4 */
	bool due = now + p->lifetime_warning >= end &&
		   (tm->warned_at == 0 || (idle && tm->warned_at < active));
	if (due)
		warn(t, name, idle, end - now, limit, v);
}

int lifetime_judge(const struct ephemera_config *cfg, struct db *db, const char *name,
		   int64_t now, struct lifetime_verdict *ret, char *err, size_t errlen)
{
	struct lifetime_verdict v = {.action = LIFETIME_OK, .reason = ""};
	struct db_session s;
	int r = db_session_get(db, name, &s);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	const struct ephemera_profile *p = config_profile_named(cfg, s.profile);
	if (s.state != SESSION_ACTIVE || (p && !p->max_lifetime && !p->idle_timeout)) {
		*ret = v;
		return 0;
	}
	if (!p)
		return errbuf(-ENOENT, err, errlen,
			      "profile '%s' is not in the config: its lifetimes are unknown",
			      s.profile);
	struct db_times tm;
	if ((r = db_session_times(db, name, &tm)) < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	struct terminals t = {.s = &s};
	if (s.leader_pid > 0 && !s.exited)
		add_login(&t, (struct proc_id){(pid_t)s.leader_pid, (uint64_t)s.leader_start});
	r = db_each_open_login(db, name, add_open_login, &t);
	int64_t active = tm.started_at;
	if (tm.last_logout > active)
		active = tm.last_logout;
	if (t.input > active)
		active = t.input;
	if (t.without_tty)
		active = now;
	if (r == 0)
		decide(p, &tm, &t, name, now, active, &v);
	close_terminals(&t);
	if (r == 0 && v.action == LIFETIME_WARNED)
		r = db_session_warned(db, name, now, v.detail);
	if (r == 0 && active != tm.active_at)
		r = db_session_seen(db, name, active);
	if (r < 0)
		return errbuf(r, err, errlen, "database: %s", db_errmsg(db));
	*ret = v;
	return 0;
}
