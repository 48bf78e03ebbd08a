/* ephemeractl setup-gateway: make an account a gateway account, or stop it
 * being one.
 *
 * setup: USER is added to [gateway] accounts of the config first (the step
 * most likely to fail: then nothing else was touched); then a missing account
 * is created (useradd: no home made by useradd, a private group, password
 * "*": key logins only; its home GATEWAY_HOME_ROOT/USER made root's, 0755,
 * with a root-owned .ssh, as the README asks) or an existing one adopted
 * (usermod -s).  Either way its shell becomes GATEWAY_SHELL.  What is done to
 * the account is recorded in GATEWAY_STATE_DIR/USER before it is done:
 * "created", or "adopted SHELL" with the shell it had.  The record is root's,
 * in a root-only directory; not the GECOS field, which chfn lets the user
 * change.
 *
 * remove: USER leaves [gateway] accounts first (from then on PAM and
 * ephemera-shell treat it as any other account), then an account setup
 * created is deleted (userdel; its home only if empty but for an empty .ssh)
 * and an adopted one gets its old shell back.  An account whose shell someone
 * changed since is left alone.  Nothing here touches /etc/shells.
 *
 * Between the two steps of either, a login of USER is refused, never
 * unsandboxed: PAM refuses a gateway account whose shell is not
 * ephemera-shell, and ephemera-shell refuses an account that is not a gateway.
 *
 * Both are idempotent: a second run finds nothing to do and returns 0. */
#ifndef EPHEMERA_GATEWAY_H
#define EPHEMERA_GATEWAY_H

#include <stddef.h>

#define GATEWAY_SHELL	  BINDIR "/ephemera-shell"
#define GATEWAY_STATE_DIR "/var/lib/ephemera/gateways"
#define GATEWAY_HOME_ROOT "/home"
/* Accounts below this UID are the system's (Debian's SYS_UID_MAX is 999):
 * never adopted, so that root or a daemon cannot be turned into a gateway. */
#define GATEWAY_MIN_UID 1000

/* Called once per change made (LOG_NOTICE) and per thing left as it was on
 * purpose (LOG_WARNING), with a one-line message. */
typedef void (*gateway_log_fn)(int prio, const char *msg);

/* Return the number of changes made (0: nothing to do), or -errno with the
 * reason in err.  conf is the config file to edit. */
int gateway_setup(const char *conf, const char *user, gateway_log_fn log, char *err,
		  size_t errlen);
int gateway_remove(const char *conf, const char *user, gateway_log_fn log, char *err,
		   size_t errlen);

#endif
