/* Logging at the edge: programs log once, to syslog (authpriv) and stderr.
 * Library code never calls these; it returns -errno and lets the caller say it. */
#ifndef EPHEMERA_LOG_H
#define EPHEMERA_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_open(const char *ident, bool to_stderr);
/* session may be NULL. Every line carries "session=NAME" when known so that an
 * admin can grep one session's history. */
void log_msg(int prio, const char *session, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void log_die(const char *session, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
