/* network = proxy, the shell's side (ephemera-netproxy(8)).
 *
 * Outside, before pid 1 is cloned, the launcher (root):
 *  N1 makes /run/ephemera/net/NAME.PID (0700 root) and in it the listening
 *     Unix socket proxy.sock (SOCK_SEQPACKET, 0600, the session's user);
 *  N2 forks the proxy, which becomes proxy_user (never root, never the
 *     session's user: the session can neither signal nor trace it; it lives
 *     outside the sandbox's pid namespace anyway), with no_new_privs,
 *     PR_SET_PDEATHSIG tied to the launcher, and the listening socket, the
 *     log pipe and a readiness pipe as its only fds; no readiness byte, no
 *     login (fail closed);
 *  N3 forks the recorder (root), which reads the proxy's log lines and puts
 *     each one in syslog and in the db's events (kind "net") until the proxy
 *     is gone, then removes the directory of N1.
 * The plan binds proxy.sock on /run/ephemera/proxy.sock inside.  Inside, pid 1
 * forks the forwarder (netproxy/forward.h) after the drop, as the session's
 * user, before the shell.  At the end the launcher ends the proxy (TERM, then
 * KILL) and waits for both: nothing of them outlives the login. */
#ifndef EPHEMERA_SHELL_NET_H
#define EPHEMERA_SHELL_NET_H

#include "common/config.h"
#include "shell/env.h"

#include <stddef.h>
#include <sys/types.h>

#define NET_RUN_DIR	  "/run/ephemera"
#define NET_SOCKET_INSIDE "/run/ephemera/proxy.sock"
#define NET_HTTP_PORT	  3128
#define NET_SOCKS_PORT	  1080
#define NET_PROXY_BIN	  LIBEXECDIR "/ephemera-netproxy"

struct net_proxy {
	pid_t pid, recorder;
	int pidfd, recorder_pidfd;
	char socket[108]; /* host path of proxy.sock */
};

/* N1..N3.  On failure returns -errno with the reason in err; nothing is
 * left running then. */
int net_proxy_start(const struct ephemera_config *cfg, const struct ephemera_profile *p,
		    const char *session, uid_t uid, gid_t gid, struct net_proxy *ret, char *err,
		    size_t errlen);
/* Ends the proxy and waits for it and the recorder. */
void net_proxy_stop(struct net_proxy *np);

/* A line of the proxy's log as the recorder keeps it: every byte that is
 * not printable ASCII becomes '?'.  The proxy parses what the session sends
 * and may be subverted by it: its lines must not carry terminal escapes or
 * carriage returns into syslog, the events, and the terminals that show them. */
void net_log_clean(char *line);

/* In pid 1, after the drop: connects to the proxy, listens on 127.0.0.1
 * NET_HTTP_PORT and NET_SOCKS_PORT and forks the forwarder, which closes
 * keep_a and keep_b (pid 1's pipes to the launcher) first.  Returns its pid
 * or -errno. */
pid_t net_forwarder_start(int close_a, int close_b);

/* HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, in both cases. */
int net_env(struct session_env *env);

#endif
