/* One proxied connection and its state machine (ephemera-netproxy(8)).
 *
 *   HEAD ----> RESOLVE ----> CONNECT ----> RELAY ----> (closed)
 *     |           |             |
 *     +-----------+-------------+--> CLOSING (a refusal or an error is
 *                                    being sent; then a bounded drain)
 *
 * Invariants:
 *  C1 a connection holds at most two buffers of NP_BUF bytes; the request
 *     head at most NP_HTTP_HEAD_MAX bytes (431 past that);
 *  C2 bytes reach an upstream only in RELAY, and RELAY is entered only after
 *     np_policy_check_name and np_policy_check_addr allowed the destination;
 *  C3 every state but RELAY has a deadline (a slow or silent client costs one
 *     slot for at most the handshake timeout, never the loop);
 *  C4 every connection, allowed or not, is logged once when it is freed. */
#ifndef EPHEMERA_NETPROXY_CONN_H
#define EPHEMERA_NETPROXY_CONN_H

#include "netproxy/policy.h"

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NP_BUF 65536

enum np_state { NP_FREE, NP_HEAD, NP_RESOLVE, NP_CONNECT, NP_RELAY, NP_CLOSING };
enum np_kind { NP_KIND_HTTP = 'H', NP_KIND_SOCKS = 'S' };

struct np_buf {
	char *data; /* NP_BUF bytes */
	size_t start, end;
};

struct np_conn {
	enum np_state state;
	enum np_kind kind;
	uint32_t gen; /* changes when the slot is reused: stale resolver answers */
	int cfd, ufd;
	bool c_rd, c_wr, u_rd, u_wr; /* edge-triggered readiness */
	bool c_eof, u_eof, c_shut, u_shut;
	bool socks_greeted, connect_method, forward;
	bool queued;
	struct np_buf up, down; /* client -> upstream, upstream -> client */
	size_t scanned;		/* how far the head search got */
	size_t drained;		/* CLOSING: client bytes discarded */
	char host[NP_HOST_MAX + 1];
	uint16_t port;
	struct addrinfo *ai, *ai_next;
	uint64_t bytes_up, bytes_down;
	struct timespec started;
	time_t deadline; /* CLOCK_MONOTONIC seconds; 0 in RELAY */
	const char *verdict;
	char rule[NP_RULE_MAX];
};

struct np_ctx; /* the loop (loop.c) */

/* Called by the loop: */
int np_conn_open(struct np_ctx *ctx, struct np_conn *c, int fd, enum np_kind kind);
void np_conn_pump(struct np_ctx *ctx, struct np_conn *c);
void np_conn_resolved(struct np_ctx *ctx, struct np_conn *c, struct addrinfo *ai, int gai_err);
void np_conn_free(struct np_ctx *ctx, struct np_conn *c);

/* Provided by the loop to conn.c: */
const struct np_policy *np_ctx_policy(const struct np_ctx *ctx);
unsigned np_ctx_timeout(const struct np_ctx *ctx);
int np_ctx_watch(struct np_ctx *ctx, struct np_conn *c, int fd, bool upstream);
int np_ctx_resolve(struct np_ctx *ctx, struct np_conn *c);
void np_ctx_requeue(struct np_ctx *ctx, struct np_conn *c);
/* Logs the connection (C4) and gives its slot back; c is still intact. */
void np_ctx_release(struct np_ctx *ctx, const struct np_conn *c);

#endif
