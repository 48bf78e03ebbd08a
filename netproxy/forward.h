/* The forwarder: runs inside the sandbox's network namespace, accepts TCP
 * connections on 127.0.0.1 (one listener for HTTP, one for SOCKS5) and hands
 * each accepted socket to the proxy outside over the Unix socket (SCM_RIGHTS,
 * one tag byte: 'H' or 'S').  No byte of a connection passes through it: the
 * proxy reads and writes the accepted socket itself.  It holds nothing the
 * session does not have (the Unix socket is the session's to use anyway), so
 * it runs as the session's user. */
#ifndef EPHEMERA_NETPROXY_FORWARD_H
#define EPHEMERA_NETPROXY_FORWARD_H

#include <stdint.h>

/* A listening TCP socket on 127.0.0.1:port (close-on-exec); -errno. */
int np_forward_listen(uint16_t port);
/* A SOCK_SEQPACKET connection to the proxy's socket at path; -errno. */
int np_forward_connect(const char *path);
/* Hands fd to the proxy with tag; 0 or -errno. */
int np_forward_send(int chan, int fd, char tag);
/* Serves until the proxy goes away; returns -errno then. */
int np_forward_run(int chan, int http_fd, int socks_fd);

#endif
