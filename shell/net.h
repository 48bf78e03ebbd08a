/* network = proxy, the shell's side (ephemera-netproxy(8)).
 *
 * Outside, before pid 1 is cloned, the launcher (root):
 *  N1 makes /run/ephemera/net/NAME.PID (0700 root) and in it the listening
 *     Unix socket proxy.sock (SOCK_SEQPACKET, 0600, the session's user);
 *  N2 forks the proxy, which becomes proxy_user (never root, never the
 *     session's user: the session can neither signal nor trace it; it lives
 *     outside the sandbox's pid namespace anyway), with no_new_privs,
 *     the listening socket, the log pipe, a readiness pipe and the read end
 *     of its life pipe as its only fds; no readiness byte, no login (fail
 *     closed).  The life pipe's writer goes to pid 1 alone, so the proxy
 *     lives as long as the sandbox (joined and lingering logins included)
 *     and ends at EOF when pid 1 is gone;
 *  N3 forks the recorder (root), which reads the proxy's log lines and puts
 *     each one in syslog and in the db's events (kind "net") until the proxy
 *     is gone, then removes the directory of N1.
 * The plan binds proxy.sock on /run/ephemera/proxy.sock inside.  Inside, pid 1
 * forks the forwarder (netproxy/forward.h) after the drop, as the session's
 * user, before the shell, closing every fd but its own.  When pid 1 exits,
 * the proxy sees EOF on its life pipe and exits, then the recorder: nothing
 * of them outlives the session. */
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
	int life_w; /* the writer of the proxy's --life-fd: for pid 1 to hold */
	char socket[108]; /* host path of proxy.sock */
};

/* N1..N3.  On failure returns -errno with the reason in err; nothing is
 * left running then. */
int net_proxy_start(const struct ephemera_config *cfg, const struct ephemera_profile *p,
		    const char *session, uid_t uid, gid_t gid, struct net_proxy *ret, char *err,
		    size_t errlen);
/* Ends the proxy and waits for it and the recorder (the sandbox was not
 * built). */
void net_proxy_stop(struct net_proxy *np);
/* The login is over but the session may not be: the proxy lives on until
 * pid 1, which holds life_w, is gone.  Closes our handles only. */
void net_proxy_leave(struct net_proxy *np);

/* A line of the proxy's log as the recorder keeps it: every byte that is
 * not printable ASCII becomes '?'.  The proxy parses what the session sends
 * and may be subverted by it: its lines must not carry terminal escapes or
 * carriage returns into syslog, the events, and the terminals that show them. */
void net_log_clean(char *line);

/* In pid 1, after the drop: connects to the proxy, listens on 127.0.0.1
 * NET_HTTP_PORT and NET_SOCKS_PORT and forks the forwarder, which closes
 * every fd of pid 1's first.  Returns its pid or -errno. */
pid_t net_forwarder_start(void);

/* HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, in both cases. */
int net_env(struct session_env *env);

#endif
