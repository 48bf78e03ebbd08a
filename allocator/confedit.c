/* The file is read as lines the way libinih reads them: a line whose first
 * non-blank character is ';' or '#' is a comment, "[name]" starts a section,
 * "key = value" or "key: value" sets a key, and " ;" starts an inline
 * comment.  config_load() has already accepted the file, so [gateway] holds
 * at most one accounts line and no other key.  Only that line is rewritten;
 * every other byte is copied as it was. */
#include "allocator/confedit.h"

#include "common/config.h"
#include "common/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#define CONF_MAX_SIZE (1u << 20) /* far more than any sane config */

struct conf_text {
	char *buf; /* the file, NUL-terminated; NULL when it is missing */
	size_t len;
	uid_t uid; /* owner and mode to keep */
	gid_t gid;
	mode_t mode;
};

struct conf_edit {
	const char *user;
	bool add;
	const char *accounts; /* the accounts line of [gateway], or NULL */
	const char *after_gw; /* the line after the first [gateway] header, or NULL */
};

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static int check_owner(const struct stat *st, const char *path, char *err, size_t errlen)
{
	if (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return fail(err, errlen, -EPERM,
			    "%s: must be owned by root and not writable by group or others", path);
	return 0;
}

static int read_fd(int fd, size_t size, struct conf_text *t)
{
	t->buf = malloc(size + 1);
	if (!t->buf)
		return -ENOMEM;
	size_t n = 0;
	while (n < size) {
		ssize_t k = read(fd, t->buf + n, size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return neg_errno();
		if (k == 0)
			break;
		n += (size_t)k;
	}
	t->buf[n] = '\0';
	t->len = n;
	return 0;
}

/* Reads the whole file; a missing one is an empty text, root's, mode 0644. */
static int read_conf(const char *path, struct conf_text *t, char *err, size_t errlen)
{
	*t = (struct conf_text){.mode = 0644};
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(err, errlen, neg_errno(), "%s: %m", path);
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, "%s: not a regular file", path);
	int r = check_owner(&st, path, err, errlen);
	if (r < 0)
		return r;
	if (st.st_size > (off_t)CONF_MAX_SIZE)
		return fail(err, errlen, -EFBIG, "%s: larger than %u bytes", path, CONF_MAX_SIZE);
	t->uid = st.st_uid;
	t->gid = st.st_gid;
	t->mode = st.st_mode & 07777;
	r = read_fd(fd, (size_t)st.st_size, t);
	if (r < 0)
		return fail(err, errlen, r, "%s: %s", path, strerror(-r));
	if (strlen(t->buf) != t->len)
		return fail(err, errlen, -EINVAL, "%s: contains a NUL byte", path);
	return 0;
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "[name]" (anything may follow the bracket): the name in ret, else false. */
static bool section_of(const char *p, const char *end, char *ret, size_t size)
{
	p = skip_blank(p, end);
	if (p == end || *p != '[')
		return false;
	const char *close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return false;
	snprintf(ret, size, "%.*s", (int)(close - p - 1), p + 1);
	return true;
}

/* The '=' or ':' of a "key = value" line whose key is accounts, or NULL. */
static const char *accounts_sep(const char *p, const char *end)
{
	p = skip_blank(p, end);
	if (p == end || *p == ';' || *p == '#' || *p == '[')
		return NULL;
	const char *sep = p;
	while (sep < end && *sep != '=' && *sep != ':')
		sep++;
	if (sep == end)
		return NULL;
	const char *k = sep;
	while (k > p && isspace((unsigned char)k[-1]))
		k--;
	return (size_t)(k - p) == strlen("accounts") && memcmp(p, "accounts", 8) == 0 ? sep : NULL;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Finds the accounts line and the first [gateway] header. */
static void scan(const struct conf_text *t, struct conf_edit *e)
{
	const char *end = t->buf + t->len;
	char section[64] = "";
	for (const char *p = t->buf; p < end;) {
		const char *eol = line_end(p, end);
		const char *q = p == t->buf && eol - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0
				    ? p + 3 /* inih skips a BOM */
				    : p;
		const char *next = eol < end ? eol + 1 : end;
		if (section_of(q, eol, section, sizeof(section))) {
			if (!e->after_gw && strcmp(section, "gateway") == 0)
				e->after_gw = next;
		} else if (strcmp(section, "gateway") == 0 && !e->accounts && accounts_sep(q, eol)) {
			e->accounts = p;
		}
		p = next;
	}
}

/* Where the inline comment (" ;...") of a value starts, or end. */
static const char *comment_of(const char *v, const char *end)
{
	for (const char *p = v; p < end; p++)
		if (*p == ';' && p > v && isspace((unsigned char)p[-1]))
			return p;
	return end;
}

/* The tokens of an accounts value (separated as config.c separates them). */
struct tokens {
	size_t n;
	/* Users and groups: config_load() allows CONFIG_MAX_GATEWAYS of each. */
	struct {
		const char *start, *end;
	} t[CONFIG_MAX_GATEWAYS * 2];
};

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r';
}

static int tokenize(const char *v, const char *end, struct tokens *ret)
{
	ret->n = 0;
	for (const char *p = v; p < end;) {
		if (is_sep(*p)) {
			p++;
			continue;
		}
		if (ret->n == ELEMENTSOF(ret->t))
			return -E2BIG;
		ret->t[ret->n].start = p;
		while (p < end && !is_sep(*p))
			p++;
		ret->t[ret->n++].end = p;
	}
	return 0;
}

static bool token_is(const struct tokens *k, size_t i, const char *user)
{
	size_t len = (size_t)(k->t[i].end - k->t[i].start);
	return len == strlen(user) && memcmp(k->t[i].start, user, len) == 0;
}

/* Copies p..eol but each token naming user, with the separator before it
 * (after it, for the first token; the blanks after "=" for the only one):
 * ", bob" goes as it came. */
static void drop_user(const char *p, const char *v, const char *eol, const struct tokens *k,
		      const char *user, FILE *out)
{
	const char *from = p;
	for (size_t i = 0; i < k->n; i++) {
		if (!token_is(k, i, user))
			continue;
		const char *cut = i > 0 ? k->t[i - 1].end : k->n == 1 ? v : k->t[i].start;
		const char *upto = i > 0 || i + 1 == k->n ? k->t[i].end : k->t[i + 1].start;
		if (cut > from)
			fprintf(out, "%.*s", (int)(cut - from), from);
		from = upto > from ? upto : from;
	}
	fprintf(out, "%.*s", (int)(eol - from), from);
}

/* Writes the accounts line with user added or removed; 1 if it changed.
 * Only the user and one separator are added or taken out: the rest of the
 * line (spacing, other names, an inline comment) stays as it was. */
static int edit_line(const char *p, const char *eol, const struct conf_edit *e, FILE *out)
{
	const char *v = accounts_sep(p, eol) + 1;
	struct tokens k;
	if (tokenize(v, comment_of(v, eol), &k) < 0)
		return -E2BIG;
	bool found = false;
	for (size_t i = 0; i < k.n; i++)
		found |= token_is(&k, i, e->user);
	if (found == e->add) {
		fprintf(out, "%.*s", (int)(eol - p), p);
		return 0;
	}
	if (!e->add) {
		drop_user(p, v, eol, &k, e->user, out);
		return 1;
	}
	if (k.n > 0) { /* after the last name */
		const char *at = k.t[k.n - 1].end;
		fprintf(out, "%.*s, %s%.*s", (int)(at - p), p, e->user, (int)(eol - at), at);
		return 1;
	}
	const char *c = comment_of(v, eol);
	fprintf(out, "%.*s %s%s%.*s", (int)(v - p), p, e->user, c < eol ? " " : "", (int)(eol - c),
		c);
	return 1;
}

/* The new text in out; 1 if it differs from the old. */
static int rewrite(const struct conf_text *t, const struct conf_edit *e, FILE *out)
{
	const char *end = t->buf ? t->buf + t->len : NULL;
	int changed = 0;
	for (const char *p = t->buf; p && p < end;) {
		const char *eol = line_end(p, end);
		if (p == e->accounts) {
			changed = edit_line(p, eol, e, out);
			if (changed < 0)
				return changed;
		} else {
			fprintf(out, "%.*s", (int)(eol - p), p);
		}
		if (eol < end)
			fputc('\n', out);
		p = eol < end ? eol + 1 : end;
		if (e->add && !e->accounts && p == e->after_gw) {
			fprintf(out, "%saccounts = %s\n", eol == end ? "\n" : "", e->user);
			changed = 1;
		}
	}
	if (e->add && !e->accounts && !e->after_gw) {
		if (t->len > 0)
			fputs(t->buf[t->len - 1] == '\n' ? "\n" : "\n\n", out);
		fprintf(out, "[gateway]\naccounts = %s\n", e->user);
		changed = 1;
	}
	return changed;
}

/* The directory of path, opened and locked (one editor at a time); a
 * missing one is created when the file is missing too. */
static int open_dir(const char *path, bool create, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	const char *dir = dirname(buf);
	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail(err, errlen, neg_errno(), "%s: %m", dir);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(err, errlen, neg_errno(), "%s: %m", dir);
	int r = check_owner(&st, dir, err, errlen);
	if (r < 0)
		return r;
	if (flock(fd, LOCK_EX) < 0)
		return fail(err, errlen, neg_errno(), "%s: cannot lock: %m", dir);
	return take_fd(&fd);
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return neg_errno();
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The temporary file: the text, the old owner and mode, on the disk. */
static int write_temp(char *tmpl, const struct conf_text *t, const char *text, size_t len)
{
	int fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	int r = 0;
	if (fchown(fd, t->uid, t->gid) < 0 || fchmod(fd, t->mode) < 0)
		r = neg_errno();
	if (r == 0)
		r = write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = neg_errno();
	if (close(fd) < 0 && r == 0)
		r = neg_errno();
	if (r < 0)
		unlink(tmpl);
	return r;
}

/* The new file must load, and say what we meant to say. */
static int verify(const char *tmp, const char *path, const struct conf_edit *e, char *err,
		  size_t errlen)
{
	struct ephemera_config cfg;
	char why[512];
	if (config_load(tmp, &cfg, why, sizeof(why)) < 0)
		return fail(err, errlen, -EINVAL, "%s: the edited file would not load: %s", path,
			    why);
	bool listed = false;
	for (size_t i = 0; i < cfg.n_gateway_users; i++)
		listed |= strcmp(cfg.gateway_users[i], e->user) == 0;
	config_free(&cfg);
	if (listed != e->add)
		return fail(err, errlen, -EPROTO, "%s: could not %s %s in [gateway] accounts", path,
			    e->add ? "add" : "remove", e->user);
	return 0;
}

static int replace(int dirfd, const char *path, const struct conf_text *t,
		   const struct conf_edit *e, const char *text, size_t len, char *err,
		   size_t errlen)
{
	char tmpl[PATH_MAX];
	if (snprintf(tmpl, sizeof(tmpl), "%s.XXXXXX", path) >= (int)sizeof(tmpl))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	int r = write_temp(tmpl, t, text, len);
	if (r < 0)
		return fail(err, errlen, r, "%s: cannot write a temporary file: %s", path,
			    strerror(-r));
	r = verify(tmpl, path, e, err, errlen);
	if (r == 0 && rename(tmpl, path) < 0)
		r = fail(err, errlen, neg_errno(), "%s: cannot rename %s over it: %m", path, tmpl);
	if (r < 0) {
		unlink(tmpl);
		return r;
	}
	if (fsync(dirfd) < 0)
		return fail(err, errlen, neg_errno(), "%s: fsync of its directory: %m", path);
	return 0;
}

int confedit_gateway(const char *path, const char *user, bool add, char *err, size_t errlen)
{
	if (!config_valid_name(user))
		return fail(err, errlen, -EINVAL, "invalid user name");
	struct stat st;
	bool missing = lstat(path, &st) < 0 && errno == ENOENT;
	if (missing && !add)
		return 0; /* no file: nobody to remove */
	_cleanup_close_ int dirfd = open_dir(path, missing && add, err, errlen);
	if (dirfd < 0)
		return dirfd;
	struct conf_text t;
	int r = read_conf(path, &t, err, errlen);
	_cleanup_free_ char *old = t.buf;
	if (r < 0)
		return r;
	struct conf_edit e = {.user = user, .add = add};
	if (t.buf)
		scan(&t, &e);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		return fail(err, errlen, -ENOMEM, "out of memory");
	r = rewrite(&t, &e, out);
	if (fclose(out) != 0 && r >= 0)
		r = -ENOMEM;
	if (r <= 0)
		return r < 0 ? fail(err, errlen, r, "%s: %s", path, strerror(-r)) : 0;
	r = replace(dirfd, path, &t, &e, text, len, err, errlen);
	return r < 0 ? r : 1;
}
