/* What the check files of ephemeractl doctor share (doctor.c has the table
 * and the run, doctor-login.c the checks of the login path: the shell,
 * /etc/shells, PAM and sshd). */
#ifndef EPHEMERA_DOCTOR_INTERNAL_H
#define EPHEMERA_DOCTOR_INTERNAL_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>

enum level { OK, WARN, FAIL };

struct doctor {
	const char *conf_path;
	struct ephemera_config cfg;
	bool have_cfg;
	char cfg_err[512];
};

/* Writes the reason into why and returns l. */
enum level doctor_verdict(char *why, size_t len, enum level l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends "; text" (or text) to why: for checks that collect several findings. */
void doctor_append(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Runs fn(arg) in a child; its return value (0 or a positive errno) is the
 * child's exit status.  Kernel features are tried there, not in us. */
int doctor_in_child(int (*fn)(int), int arg);

/* doctor-login.c */
enum level check_shell(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_shell_dirs(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_etc_shells(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_pam_service(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_pam_module(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_sshd_policy(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_sshd_sftp(const struct doctor *d, const void *arg, char *why, size_t len);

/* doctor-limits.c */
enum level check_limits_host(const struct doctor *d, const void *arg, char *why, size_t len);
enum level check_limits_profiles(const struct doctor *d, const void *arg, char *why, size_t len);

/* doctor-mounts.c */
enum level check_mounts(const struct doctor *d, const void *arg, char *why, size_t len);

#endif
