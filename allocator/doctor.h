/* ephemeractl doctor: is this host set up so that a gateway login can only
 * ever land in a sandbox?  One line per check on out:
 *
 *   OK   NAME  reason
 *   WARN NAME  reason      (works, but weaker or incomplete)
 *   FAIL NAME  reason      (a hole, or logins that cannot work)
 *
 * then a summary line.  The checks are a table in doctor.c; each one looks and
 * tries (namespaces and seccomp are really created, in a child that exits)
 * but changes nothing on the host.  Opening the database is the exception
 * every ephemeractl command shares: an old schema is brought up to date. */
#ifndef EPHEMERA_DOCTOR_H
#define EPHEMERA_DOCTOR_H

#include <stdio.h>

/* Runs every check against the config at conf_path.  Returns the number of
 * FAIL lines (0: nothing failed), or -errno if out could not be written. */
int doctor_run(const char *conf_path, FILE *out);

#endif
