/* Name resolution off the event loop.  getaddrinfo() blocks (a slow DNS
 * server would stall every connection of the session), so a fixed pool of
 * NP_RESOLVER_THREADS threads does the lookups; the loop submits a name and
 * learns of the answer through an eventfd.  At most NP_RESOLVER_QUEUE_MAX
 * lookups are pending (a connection that times out leaves its lookup
 * behind, so the connection limit alone does not bound them).  Not a
 * thread per connection: a burst of lookups waits for a free thread. */
#ifndef EPHEMERA_NETPROXY_RESOLVE_H
#define EPHEMERA_NETPROXY_RESOLVE_H

#include <netdb.h>
#include <stdint.h>

#define NP_RESOLVER_THREADS   4
#define NP_RESOLVER_QUEUE_MAX 1024

struct np_resolver;

/* -errno. */
int np_resolver_start(struct np_resolver **ret);
/* The eventfd to poll for answers. */
int np_resolver_fd(const struct np_resolver *r);
/* Queues a lookup of host:port; the cookie comes back with the answer.
 * -EAGAIN when the queue is full, -ENOMEM. */
int np_resolver_submit(struct np_resolver *r, const char *host, uint16_t port, uint64_t cookie);
/* One answer: 1 (ai, or gai_err != 0), 0 when none is waiting. */
int np_resolver_next(struct np_resolver *r, uint64_t *ret_cookie, struct addrinfo **ret_ai,
		     int *ret_gai_err);

#endif
