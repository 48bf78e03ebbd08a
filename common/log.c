#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *log_ident = "ephemera";
static bool log_stderr = true;

void log_open(const char *ident, bool to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr;
	openlog(ident, LOG_PID, LOG_AUTHPRIV);
}

static void log_vmsg(int prio, const char *session, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (session)
		syslog(LOG_AUTHPRIV | prio, "session=%s: %s", session, buf);
	else
		syslog(LOG_AUTHPRIV | prio, "%s", buf);
	if (log_stderr && prio <= LOG_NOTICE)
		fprintf(stderr, "%s: %s\n", log_ident, buf);
	errno = saved;
}

void log_msg(int prio, const char *session, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(prio, session, fmt, ap);
	va_end(ap);
}

_Noreturn void log_die(const char *session, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_ERR, session, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}
