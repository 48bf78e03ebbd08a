#include "allocator/hostids.h"

#include "common/parse.h"
#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

static void mark_busy(struct hostids *h, uint64_t id)
{
	if (id >= h->min && id <= h->max) {
		uint64_t bit = id - h->min;
		h->busy[bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
}

static bool is_busy(const struct hostids *h, uint32_t id)
{
	uint32_t bit = id - h->min;
	return h->busy[bit / 8] & (1u << (bit % 8));
}

/* "Uid:\t1\t2\t3\t4", "Gid:..." and "Groups:\t..." lines of /proc/PID/status
 * (a thread with other ids of its own is not seen: setuid per thread is rare,
 * and the lease check in the database covers our own sessions). */
static void scan_status_line(struct hostids *h, const char *line)
{
	size_t skip;
	if (strncmp(line, "Groups:", 7) == 0)
		skip = 7;
	else if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "Gid:", 4) == 0)
		skip = 4;
	else
		return;
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", line + skip);
	char *save = NULL;
	for (char *tok = strtok_r(copy, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		uint64_t id;
		if (parse_u64(tok, 0, UINT32_MAX, &id) == 0)
			mark_busy(h, id);
	}
}

static int scan_processes(struct hostids *h)
{
	DIR *d = opendir("/proc");
	if (!d)
		return neg_errno();
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t pid;
		if (parse_u64(de->d_name, 1, UINT32_MAX, &pid) < 0)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%llu/status", (unsigned long long)pid);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		if (!f)
			continue; /* exited meanwhile */
		char line[512];
		while (fgets(line, sizeof(line), f))
			scan_status_line(h, line);
	}
	closedir(d);
	return 0;
}

/* /proc/sysvipc/{msg,sem,shm}: a header names the columns; uid, gid, cuid and
 * cgid are the ones that matter. */
static int scan_ipc_file(struct hostids *h, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : neg_errno();
	char line[1024];
	if (!fgets(line, sizeof(line), f))
		return 0;
	bool want[64] = {false};
	int col = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\n", &save); t && col < 64;
	     t = strtok_r(NULL, " \t\n", &save), col++)
		want[col] = !strcmp(t, "uid") || !strcmp(t, "gid") || !strcmp(t, "cuid") ||
			    !strcmp(t, "cgid");
	while (fgets(line, sizeof(line), f)) {
		col = 0;
		save = NULL;
		for (char *t = strtok_r(line, " \t\n", &save); t && col < 64;
		     t = strtok_r(NULL, " \t\n", &save), col++) {
			uint64_t id;
			if (want[col] && parse_u64(t, 0, UINT32_MAX, &id) == 0)
				mark_busy(h, id);
		}
	}
	return 0;
}

/* name:start:count lines; a line we cannot read is skipped, as shadow does. */
static int scan_subid_file(struct hostids *h, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : neg_errno();
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		struct id_range r;
		if (parse_u64(c1 + 1, 0, UINT32_MAX, &r.start) < 0 ||
		    parse_u64(c2 + 1, 1, UINT32_MAX, &r.count) < 0)
			continue;
		struct id_range *n = realloc(h->sub, (h->n_sub + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		h->sub = n;
		h->sub[h->n_sub++] = r;
	}
	return 0;
}

int hostids_scan(uint32_t min, uint32_t max, const char *subuid, const char *subgid,
		 struct hostids *ret)
{
	if (min > max)
		return -EINVAL;
	struct hostids h = {.min = min, .max = max};
	h.busy = calloc(((uint64_t)max - min) / 8 + 1, 1);
	if (!h.busy)
		return -ENOMEM;
	int r = scan_processes(&h);
	static const char *const ipc[] = {"/proc/sysvipc/msg", "/proc/sysvipc/sem",
					  "/proc/sysvipc/shm"};
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(ipc); i++)
		r = scan_ipc_file(&h, ipc[i]);
	if (r == 0)
		r = scan_subid_file(&h, subuid);
	if (r == 0)
		r = scan_subid_file(&h, subgid);
	if (r < 0) {
		hostids_free(&h);
		return r;
	}
	*ret = h;
	return 0;
}

void hostids_free(struct hostids *h)
{
	free(h->busy);
	free(h->sub);
	*h = (struct hostids){0};
}

/* glibc reports "not found" as 0 with no result, or as one of these. */
static bool nss_not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH;
}

int hostids_is_free(struct hostids *h, uint32_t id)
{
	if (id < h->min || id > h->max || is_busy(h, id))
		return 0;
	for (size_t i = 0; i < h->n_sub; i++)
		if (id >= h->sub[i].start && id - h->sub[i].start < h->sub[i].count)
			return 0;

	char buf[4096];
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	int e = getpwuid_r(id, &pw, buf, sizeof(buf), &pwr);
	if (!nss_not_found(e)) {
		h->nss_errors++;
		return 0;
	}
	if (pwr)
		return 0;
	e = getgrgid_r(id, &gr, buf, sizeof(buf), &grr);
	if (!nss_not_found(e)) {
		h->nss_errors++;
		return 0;
	}
	return grr ? 0 : 1;
}
