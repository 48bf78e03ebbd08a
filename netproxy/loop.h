/* The proxy's one event loop (epoll, edge-triggered for connections).
 *
 * It accepts channels on a listening Unix SOCK_SEQPACKET socket (the
 * forwarder inside the sandbox, ephemera-netproxy(8)); every message on a
 * channel is one byte, 'H' (HTTP) or 'S' (SOCKS5), with one TCP socket
 * attached (SCM_RIGHTS): a connection accepted inside the sandbox, which the
 * proxy then serves directly.  At most max_connections at once (the rest are
 * answered 503 / SOCKS "general failure" and logged); each line of the log
 * (log_fd) is one connection: kind host:port verdict rule bytes duration. */
#ifndef EPHEMERA_NETPROXY_LOOP_H
#define EPHEMERA_NETPROXY_LOOP_H

#include "netproxy/policy.h"

#define NP_MAX_CHANNELS 16

struct np_options {
	struct np_policy policy;
	unsigned max_connections;
	unsigned handshake_timeout; /* seconds */
	int listen_fd;		    /* listening AF_UNIX SOCK_SEQPACKET */
	int log_fd;
	int ready_fd; /* gets one byte once the loop serves, then closed; -1: none */
	int life_fd;  /* the proxy ends when this pipe's writers are gone; -1: none */
};

/* Runs until SIGTERM, SIGINT or SIGHUP; every open connection is logged
 * then.  Returns 0, or -errno when the loop could not be set up. */
int np_loop_run(const struct np_options *opt);

/* The connection log line for the given facts, without a newline. */
int np_log_line(char *out, size_t outsz, const char *kind, const char *host, unsigned port,
		const char *verdict, const char *rule, unsigned long long up,
		unsigned long long down, unsigned long long ms);

#endif
