/* mktree DIR DIRS FILES [OWNER_UID]: creates DIR with DIRS subdirectories of
 * FILES empty files each (chowned to OWNER_UID when given), fast, for the
 * wipe benchmark and the reaper tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: mktree DIR DIRS FILES [OWNER_UID]\n");
		return 2;
	}
	long dirs = atol(argv[2]), files = atol(argv[3]);
	int owner = argc == 5 ? atoi(argv[4]) : -1;
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST)
		return perror(argv[1]), 1;
	int top = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0 || (owner >= 0 && fchown(top, (uid_t)owner, (gid_t)owner) < 0))
		return perror(argv[1]), 1;
	for (long d = 0; d < dirs; d++) {
		char name[32];
		snprintf(name, sizeof(name), "d%ld", d);
		if (mkdirat(top, name, 0755) < 0)
			return perror(name), 1;
		int dfd = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || (owner >= 0 && fchown(dfd, (uid_t)owner, (gid_t)owner) < 0))
			return perror(name), 1;
		for (long f = 0; f < files; f++) {
			char fname[32];
			snprintf(fname, sizeof(fname), "f%ld", f);
			int fd = openat(dfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 || (owner >= 0 && fchown(fd, (uid_t)owner, (gid_t)owner) < 0))
				return perror(fname), 1;
			close(fd);
		}
		close(dfd);
	}
	return 0;
}
