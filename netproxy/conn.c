#include "netproxy/conn.h"

#include "netproxy/http.h"
#include "netproxy/socks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NP_SOCKS_HEAD_MAX 1024	     /* greeting (<= 257) + request (<= 262) */
#define NP_DRAIN_MAX	  (1u << 20) /* CLOSING reads at most this much before closing */
#define NP_ROUNDS	  32	     /* pump rounds before other connections get a turn */

static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t blen(const struct np_buf *b)
{
	return b->end - b->start;
}

/* Room at the end, after moving what is left to the front when needed. */
static size_t bspace(struct np_buf *b)
{
	if (b->start == b->end)
		b->start = b->end = 0;
	else if (b->end == NP_BUF && b->start > 0) {
		memmove(b->data, b->data + b->start, blen(b));
		b->end -= b->start;
		b->start = 0;
	}
	return NP_BUF - b->end;
}

static void bput(struct np_buf *b, const void *p, size_t n)
{
	if (n > bspace(b))
		n = bspace(b);
	memcpy(b->data + b->end, p, n);
	b->end += n;
}

int np_conn_open(struct np_ctx *ctx, struct np_conn *c, int fd, enum np_kind kind)
{
	uint32_t gen = c->gen + 1;
	*c = (struct np_conn){.gen = gen, .cfd = fd, .ufd = -1, .kind = kind, .state = NP_HEAD};
	c->up.data = malloc(NP_BUF);
	c->down.data = malloc(NP_BUF);
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->deadline = c->started.tv_sec + np_ctx_timeout(ctx);
	c->verdict = "error";
	snprintf(c->host, sizeof(c->host), "-");
	snprintf(c->rule, sizeof(c->rule), "closed before a complete request");
	if (!c->up.data || !c->down.data)
		return -ENOMEM;
	c->c_rd = c->c_wr = true;
	return np_ctx_watch(ctx, c, fd, false);
}

void np_conn_free(struct np_ctx *ctx, struct np_conn *c)
{
	if (c->state == NP_FREE)
		return;
	np_ctx_release(ctx, c);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c->up.data);
	free(c->down.data);
	if (c->ai)
		freeaddrinfo(c->ai);
	uint32_t gen = c->gen;
	*c = (struct np_conn){.gen = gen, .cfd = -1, .ufd = -1, .state = NP_FREE};
}

/* Answer the client (a status for HTTP, a reply code for SOCKS, or nothing
 * when rep < 0), then close: state CLOSING. */
static void refuse(struct np_ctx *ctx, struct np_conn *c, const char *verdict, int code,
		   const char *reason, int rep)
{
	c->verdict = verdict;
	c->up.start = c->up.end = 0;
	if (c->kind == NP_KIND_HTTP) {
		char resp[1024];
		size_t n = np_http_response(resp, sizeof(resp), code, reason, c->rule);
		bput(&c->down, resp, n);
	} else if (rep >= 0) {
		uint8_t r[10];
		np_socks_reply(r, rep);
		bput(&c->down, r, sizeof(r));
	}
	c->state = NP_CLOSING;
	c->deadline = now_s() + np_ctx_timeout(ctx);
}

static void go_resolve(struct np_ctx *ctx, struct np_conn *c)
{
	c->state = NP_RESOLVE;
	if (np_ctx_resolve(ctx, c) < 0) {
		snprintf(c->rule, sizeof(c->rule), "resolver: too many lookups pending");
		refuse(ctx, c, "error", 502, "Bad Gateway", NP_SOCKS_FAILURE);
	}
}

/* The head is complete in up: replace it by the head to send (forward) or
 * drop it (CONNECT); what follows it stays. */
static int rewrite_head(struct np_conn *c, const struct np_http_req *r)
{
	static char out[NP_HTTP_HEAD_MAX + 128];
	char *head = c->up.data + c->up.start;
	if (r->connect) {
		c->up.start += r->head_len;
		return 0;
	}
	int n = np_http_rewrite(head, r, out, sizeof(out));
	if (n < 0)
		return n;
	size_t rest = blen(&c->up) - r->head_len;
	memmove(c->up.data + n, head + r->head_len, rest);
	memcpy(c->up.data, out, (size_t)n);
	c->up.start = 0;
	c->up.end = (size_t)n + rest;
	return 0;
}

static void head_http(struct np_ctx *ctx, struct np_conn *c)
{
	const char *head = c->up.data + c->up.start;
	size_t end = np_http_head_end(head, blen(&c->up), &c->scanned);
	if (!end) {
		if (blen(&c->up) >= NP_HTTP_HEAD_MAX) {
			snprintf(c->rule, sizeof(c->rule), "request head over %d bytes",
				 NP_HTTP_HEAD_MAX);
			refuse(ctx, c, "error", 431, "Request Header Fields Too Large", -1);
		}
		return;
	}
	struct np_http_req r;
	int k = np_http_parse(head, end, &r);
	if (k < 0) {
		snprintf(c->rule, sizeof(c->rule), "%s",
			 k == -EPROTONOSUPPORT ? "only http:// targets and CONNECT"
					       : "malformed request");
		refuse(ctx, c, "error", 400, "Bad Request", -1);
		return;
	}
	snprintf(c->host, sizeof(c->host), "%s", r.host);
	c->port = r.port;
	c->connect_method = r.connect;
	if (!np_policy_check_name(np_ctx_policy(ctx), c->host, c->port, c->rule, sizeof(c->rule))) {
		refuse(ctx, c, "deny", 403, "Forbidden", -1);
		return;
	}
	if (rewrite_head(c, &r) < 0) {
		snprintf(c->rule, sizeof(c->rule), "request head too large to forward");
		refuse(ctx, c, "error", 431, "Request Header Fields Too Large", -1);
		return;
	}
	go_resolve(ctx, c);
}

static void head_socks(struct np_ctx *ctx, struct np_conn *c)
{
	const uint8_t *b = (const uint8_t *)c->up.data + c->up.start;
	if (!c->socks_greeted) {
		int k = np_socks_greeting(b, blen(&c->up));
		if (k == 0)
			return;
		if (k < 0) {
			snprintf(c->rule, sizeof(c->rule), "%s",
				 k == -EACCES ? "no acceptable SOCKS method" : "not SOCKS5");
			c->verdict = "error";
			if (k == -EACCES)
				bput(&c->down, "\x05\xff", 2);
			c->up.start = c->up.end = 0;
			c->state = NP_CLOSING;
			return;
		}
		c->up.start += (size_t)k;
		c->socks_greeted = true;
		bput(&c->down, "\x05\x00", 2);
		b += k;
	}
	int k = np_socks_request(b, blen(&c->up), c->host, sizeof(c->host), &c->port);
	if (k == 0) {
		if (blen(&c->up) >= NP_SOCKS_HEAD_MAX)
			k = -NP_SOCKS_FAILURE;
		else
			return;
	}
	if (k < 0) {
		snprintf(c->host, sizeof(c->host), "-");
		snprintf(c->rule, sizeof(c->rule), "bad SOCKS request (reply %d)", -k);
		refuse(ctx, c, "error", 0, NULL, -k);
		return;
	}
	c->up.start += (size_t)k;
	if (!np_policy_check_name(np_ctx_policy(ctx), c->host, c->port, c->rule, sizeof(c->rule))) {
		refuse(ctx, c, "deny", 0, NULL, NP_SOCKS_NOT_ALLOWED);
		return;
	}
	go_resolve(ctx, c);
}

/* Next allowed address of the answer; CONNECT state, or a refusal when
 * none is left.  Addresses that P5 refuses are skipped, never tried. */
static void try_connect(struct np_ctx *ctx, struct np_conn *c, int last_err)
{
	const struct np_policy *p = np_ctx_policy(ctx);
	bool tried = last_err != 0;
	while (c->ai_next) {
		struct addrinfo *a = c->ai_next;
		c->ai_next = a->ai_next;
		if (!np_policy_check_addr(p, c->host, a->ai_addr, c->rule, sizeof(c->rule)))
			continue;
		tried = true;
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last_err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_err = errno;
			close(fd);
			continue;
		}
		c->ufd = fd;
		c->u_rd = c->u_wr = false;
		if (np_ctx_watch(ctx, c, fd, true) < 0) {
			last_err = errno;
			close(fd);
			c->ufd = -1;
			continue;
		}
		c->state = NP_CONNECT;
		return;
	}
	if (!tried) { /* every address was refused by P5: c->rule says which */
		refuse(ctx, c, "deny", 403, "Forbidden", NP_SOCKS_NOT_ALLOWED);
		return;
	}
	snprintf(c->rule, sizeof(c->rule), "cannot connect to %s port %u: %s", c->host,
		 (unsigned)c->port, strerror(last_err ? last_err : ECONNREFUSED));
	refuse(ctx, c, "error", 502, "Bad Gateway", NP_SOCKS_REFUSED);
}

void np_conn_resolved(struct np_ctx *ctx, struct np_conn *c, struct addrinfo *ai, int gai_err)
{
	if (gai_err) {
		snprintf(c->rule, sizeof(c->rule), "cannot resolve %s: %s", c->host,
			 gai_strerror(gai_err));
		refuse(ctx, c, "error", 502, "Bad Gateway", NP_SOCKS_HOST_UNREACHABLE);
	} else {
		c->ai = c->ai_next = ai;
		try_connect(ctx, c, 0);
	}
	np_conn_pump(ctx, c);
}

static void connected(struct np_ctx *ctx, struct np_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		close(c->ufd);
		c->ufd = -1;
		try_connect(ctx, c, err);
		return;
	}
	freeaddrinfo(c->ai);
	c->ai = c->ai_next = NULL;
	c->state = NP_RELAY;
	c->deadline = 0;
	c->verdict = "allow";
	np_policy_check_name(np_ctx_policy(ctx), c->host, c->port, c->rule, sizeof(c->rule));
	if (c->kind == NP_KIND_SOCKS) {
		uint8_t r[10];
		np_socks_reply(r, NP_SOCKS_OK);
		bput(&c->down, r, sizeof(r));
	} else if (c->connect_method) {
		bput(&c->down, established, sizeof(established) - 1);
	}
	c->u_rd = true;
	c->c_rd = true;
}

static bool want_client_read(struct np_conn *c)
{
	if (c->c_eof)
		return false;
	switch (c->state) {
	case NP_HEAD:
		return blen(&c->up) <
		       (c->kind == NP_KIND_HTTP ? (size_t)NP_HTTP_HEAD_MAX : NP_SOCKS_HEAD_MAX);
	case NP_RELAY: return bspace(&c->up) > 0;
	case NP_CLOSING: return true;
	default: return false;
	}
}

/* recv/send results: 1 progress, 0 would block, -1 error or EOF handled. */
static int read_client(struct np_ctx *ctx, struct np_conn *c)
{
	char sink[4096];
	bool drain = c->state == NP_CLOSING;
	size_t room = c->state == NP_HEAD ? (c->kind == NP_KIND_HTTP ? (size_t)NP_HTTP_HEAD_MAX
								     : NP_SOCKS_HEAD_MAX) -
						blen(&c->up)
					  : bspace(&c->up);
	if (!drain && c->state == NP_HEAD && room > bspace(&c->up))
		room = bspace(&c->up);
	ssize_t n =
	    recv(c->cfd, drain ? sink : c->up.data + c->up.end, drain ? sizeof(sink) : room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->c_rd = errno == EINTR;
		return 0;
	}
	if (n <= 0) {
		c->c_eof = true;
		return n < 0 ? -1 : 1;
	}
	if (drain) {
		c->drained += (size_t)n;
		return 1;
	}
	c->up.end += (size_t)n;
	if (c->state == NP_HEAD)
		c->kind == NP_KIND_HTTP ? head_http(ctx, c) : head_socks(ctx, c);
	return 1;
}

static int send_some(int fd, struct np_buf *b, bool *ready, uint64_t *count)
{
	ssize_t n = send(fd, b->data + b->start, blen(b), MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		*ready = errno == EINTR;
		return 0;
	}
	if (n < 0)
		return -1;
	b->start += (size_t)n;
	if (count)
		*count += (uint64_t)n;
	return 1;
}

static int read_upstream(struct np_conn *c)
{
	ssize_t n = recv(c->ufd, c->down.data + c->down.end, bspace(&c->down), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->u_rd = errno == EINTR;
		return 0;
	}
	if (n < 0)
		return -1;
	if (n == 0) {
		c->u_eof = true;
		return 1;
	}
	c->down.end += (size_t)n;
	c->bytes_down += (uint64_t)n;
	return 1;
}

/* One round of every transfer that can move; -1 when the connection ends. */
static int pump_round(struct np_ctx *ctx, struct np_conn *c)
{
	int moved = 0, r;
	if (c->state == NP_CONNECT) {
		if (!c->u_wr)
			return 0;
		connected(ctx, c);
		moved = 1;
	}
	if (c->c_rd && want_client_read(c)) {
		if ((r = read_client(ctx, c)) < 0 && c->state != NP_RELAY)
			return -1;
		if (r < 0)
			return -1;
		moved |= r;
	}
	bool relay = c->state == NP_RELAY;
	if (relay && c->u_wr && blen(&c->up)) {
		if ((r = send_some(c->ufd, &c->up, &c->u_wr, &c->bytes_up)) < 0)
			return -1;
		moved |= r;
	}
	if (relay && c->c_eof && !blen(&c->up) && !c->u_shut) {
		shutdown(c->ufd, SHUT_WR);
		c->u_shut = true;
		moved = 1;
	}
	if (relay && c->u_rd && !c->u_eof && bspace(&c->down)) {
		if ((r = read_upstream(c)) < 0)
			return -1;
		moved |= r;
	}
	if (c->c_wr && blen(&c->down)) {
		if ((r = send_some(c->cfd, &c->down, &c->c_wr, NULL)) < 0)
			return -1;
		moved |= r;
	}
	bool flushed = !blen(&c->down) && !c->c_shut;
	if (flushed && ((relay && c->u_eof) || c->state == NP_CLOSING)) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
		moved = 1;
	}
	if (relay && c->c_shut && c->u_shut)
		return -1;
	if (c->state == NP_CLOSING && c->c_shut && (c->c_eof || c->drained > NP_DRAIN_MAX))
		return -1;
	if (c->state == NP_HEAD && c->c_eof)
		return -1;
	return moved;
}

void np_conn_pump(struct np_ctx *ctx, struct np_conn *c)
{
	for (int i = 0; i < NP_ROUNDS; i++) {
		if (c->state == NP_FREE)
			return;
		int r = pump_round(ctx, c);
		if (r < 0) {
			np_conn_free(ctx, c);
			return;
		}
		if (r == 0)
			return;
	}
	np_ctx_requeue(ctx, c);
}
