#include "netproxy/loop.h"

#include "netproxy/conn.h"
#include "netproxy/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum tag { T_LISTEN = 1, T_CHANNEL, T_RESOLVER, T_SIGNAL, T_CLIENT, T_UPSTREAM, T_LIFE };
#define TOKEN(t, i) ((uint64_t)(t) << 32 | (uint32_t)(i))

struct np_ctx {
	const struct np_options *opt;
	int ep, sfd;
	struct np_conn *conns;
	unsigned *free_slots, n_free;
	unsigned *queue, n_queue;
	unsigned *running; /* the queue being run */
	int channels[NP_MAX_CHANNELS];
	struct np_resolver *res;
	bool stop;
};

const struct np_policy *np_ctx_policy(const struct np_ctx *ctx)
{
	return &ctx->opt->policy;
}

unsigned np_ctx_timeout(const struct np_ctx *ctx)
{
	return ctx->opt->handshake_timeout;
}

static unsigned slot_of(const struct np_ctx *ctx, const struct np_conn *c)
{
	return (unsigned)(c - ctx->conns);
}

int np_ctx_watch(struct np_ctx *ctx, struct np_conn *c, int fd, bool upstream)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    .data.u64 = TOKEN(upstream ? T_UPSTREAM : T_CLIENT, slot_of(ctx, c)),
	};
	return epoll_ctl(ctx->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int np_ctx_resolve(struct np_ctx *ctx, struct np_conn *c)
{
	uint64_t cookie = (uint64_t)c->gen << 32 | slot_of(ctx, c);
	return np_resolver_submit(ctx->res, c->host, c->port, cookie);
}

void np_ctx_requeue(struct np_ctx *ctx, struct np_conn *c)
{
	if (c->queued)
		return;
	c->queued = true;
	ctx->queue[ctx->n_queue++] = slot_of(ctx, c);
}

int np_log_line(char *out, size_t outsz, const char *kind, const char *host, unsigned port,
		const char *verdict, const char *rule, unsigned long long up,
		unsigned long long down, unsigned long long ms)
{
	return snprintf(out, outsz, "%s %s port %u %s (%s) up=%llu down=%llu ms=%llu", kind, host,
			port, verdict, rule, up, down, ms);
}

static void log_write(int fd, const char *line)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf);
		buf[n - 1] = '\n';
	}
	/* Blocking on purpose: a slow recorder slows this session's proxy,
	 * but no line is lost. */
	for (size_t done = 0; done < (size_t)n;) {
		ssize_t w = write(fd, buf + done, (size_t)n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

void np_ctx_release(struct np_ctx *ctx, const struct np_conn *c)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (now.tv_sec - c->started.tv_sec) * 1000LL +
		       (now.tv_nsec - c->started.tv_nsec) / 1000000;
	const char *kind = c->kind == NP_KIND_SOCKS ? "socks"
			   : c->connect_method	    ? "connect"
						    : "http";
	char line[800];
	np_log_line(line, sizeof(line), kind, c->host, c->port, c->verdict, c->rule,
		    (unsigned long long)c->bytes_up, (unsigned long long)c->bytes_down,
		    (unsigned long long)(ms < 0 ? 0 : ms));
	log_write(ctx->opt->log_fd, line);
	ctx->free_slots[ctx->n_free++] = slot_of(ctx, c);
}

/* A received fd must be a connected TCP socket: anything else the session
 * might send (a file, a pipe, a Unix socket, a listener) is closed. */
static bool is_tcp_stream(int fd)
{
	struct stat st;
	int type = 0, domain = 0, listening = 1;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain), l3 = sizeof(listening);
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) == 0 && type == SOCK_STREAM &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) == 0 &&
	       (domain == AF_INET || domain == AF_INET6) &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l3) == 0 && !listening;
}

/* Over the limit: a short answer, sent without waiting, and a log line. */
static void refuse_at_limit(struct np_ctx *ctx, int fd, enum np_kind kind)
{
	static const char http[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "X-Ephemera-Rule: proxy_max_connections\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	if (kind == NP_KIND_HTTP)
		(void)!send(fd, http, sizeof(http) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	else
		(void)!send(fd, "\x05\xff", 2, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
	char line[256], rule[64];
	snprintf(rule, sizeof(rule), "proxy_max_connections %u", ctx->opt->max_connections);
	np_log_line(line, sizeof(line), kind == NP_KIND_SOCKS ? "socks" : "http", "-", 0, "limit",
		    rule, 0, 0, 0);
	log_write(ctx->opt->log_fd, line);
}

static void new_connection(struct np_ctx *ctx, int fd, char tag)
{
	enum np_kind kind = tag == 'S' ? NP_KIND_SOCKS : NP_KIND_HTTP;
	if ((tag != 'H' && tag != 'S') || !is_tcp_stream(fd)) {
		close(fd);
		return;
	}
	if (ctx->n_free == 0) {
		refuse_at_limit(ctx, fd, kind);
		return;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return;
	}
	struct np_conn *c = &ctx->conns[ctx->free_slots[--ctx->n_free]];
	if (np_conn_open(ctx, c, fd, kind) < 0) {
		snprintf(c->rule, sizeof(c->rule), "out of memory");
		np_conn_free(ctx, c);
		return;
	}
	np_conn_pump(ctx, c);
}

/* One message of a channel: 1 = got one, 0 = nothing more now, -1 = closed. */
static int channel_read(struct np_ctx *ctx, int ch)
{
	char tag = 0;
	struct iovec iov = {&tag, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(ch, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	int fd = -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
			memcpy(&fd, CMSG_DATA(h), sizeof(int));
	/* More fds than one do not fit the buffer: the kernel closed them. */
	if (fd >= 0)
		new_connection(ctx, fd, (msg.msg_flags & MSG_CTRUNC) ? 0 : tag);
	return 1;
}

static void channel_event(struct np_ctx *ctx, unsigned i)
{
	for (int k = 0; k < 64 && ctx->channels[i] >= 0; k++) {
		int r = channel_read(ctx, ctx->channels[i]);
		if (r == 0)
			return;
		if (r < 0) {
			close(ctx->channels[i]);
			ctx->channels[i] = -1;
		}
	}
}

static void accept_channel(struct np_ctx *ctx)
{
	for (;;) {
		int fd = accept4(ctx->opt->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		unsigned i = 0;
		while (i < NP_MAX_CHANNELS && ctx->channels[i] >= 0)
			i++;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TOKEN(T_CHANNEL, i)};
		if (i == NP_MAX_CHANNELS || epoll_ctl(ctx->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		ctx->channels[i] = fd;
	}
}

static void resolver_event(struct np_ctx *ctx)
{
	uint64_t cookie;
	struct addrinfo *ai;
	int err;
	while (np_resolver_next(ctx->res, &cookie, &ai, &err) > 0) {
		unsigned slot = (uint32_t)cookie;
		struct np_conn *c = &ctx->conns[slot];
		if (slot >= ctx->opt->max_connections || c->gen != (uint32_t)(cookie >> 32) ||
		    c->state != NP_RESOLVE) {
			if (!err)
				freeaddrinfo(ai);
			continue;
		}
		np_conn_resolved(ctx, c, err ? NULL : ai, err);
	}
}

static void conn_event(struct np_ctx *ctx, unsigned slot, bool upstream, uint32_t events)
{
	if (slot >= ctx->opt->max_connections)
		return;
	struct np_conn *c = &ctx->conns[slot];
	if (c->state == NP_FREE || (upstream && c->ufd < 0))
		return;
	bool rd = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	bool wr = events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
	if (upstream) {
		c->u_rd |= rd;
		c->u_wr |= wr;
	} else {
		c->c_rd |= rd;
		c->c_wr |= wr;
	}
	np_conn_pump(ctx, c);
}

/* C3: states other than RELAY end at their deadline. */
static void sweep(struct np_ctx *ctx, time_t now)
{
	for (unsigned i = 0; i < ctx->opt->max_connections; i++) {
		struct np_conn *c = &ctx->conns[i];
		if (c->state == NP_FREE || c->state == NP_RELAY || c->deadline > now)
			continue;
		if (c->state != NP_CLOSING) {
			c->verdict = "timeout";
			snprintf(c->rule, sizeof(c->rule), "no complete exchange in %us",
				 ctx->opt->handshake_timeout);
		}
		np_conn_free(ctx, c);
	}
}

/* Connections that used their rounds get another turn, in the order they
 * gave it up; one that gives it up again is queued for the next pass. */
static void run_queue(struct np_ctx *ctx)
{
	unsigned n = ctx->n_queue;
	memcpy(ctx->running, ctx->queue, n * sizeof(unsigned));
	ctx->n_queue = 0;
	for (unsigned i = 0; i < n; i++) {
		struct np_conn *c = &ctx->conns[ctx->running[i]];
		c->queued = false;
		if (c->state != NP_FREE)
			np_conn_pump(ctx, c);
	}
}

static void dispatch(struct np_ctx *ctx, const struct epoll_event *ev)
{
	unsigned tag = (unsigned)(ev->data.u64 >> 32), idx = (uint32_t)ev->data.u64;
	switch (tag) {
	case T_LISTEN: accept_channel(ctx); break;
	case T_CHANNEL:
		if (idx < NP_MAX_CHANNELS)
			channel_event(ctx, idx);
		break;
	case T_RESOLVER: resolver_event(ctx); break;
	case T_SIGNAL: ctx->stop = true; break;
	case T_LIFE: ctx->stop = true; break; /* EOF: the sandbox's pid 1 is gone */
	case T_CLIENT: conn_event(ctx, idx, false, ev->events); break;
	case T_UPSTREAM: conn_event(ctx, idx, true, ev->events); break;
	}
}

static int add_fd(int ep, int fd, enum tag t)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TOKEN(t, 0)};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup(struct np_ctx *ctx, const struct np_options *opt)
{
	unsigned n = opt->max_connections;
	*ctx = (struct np_ctx){.opt = opt};
	for (unsigned i = 0; i < NP_MAX_CHANNELS; i++)
		ctx->channels[i] = -1;
	ctx->conns = calloc(n, sizeof(*ctx->conns));
	ctx->free_slots = calloc(n, sizeof(unsigned));
	ctx->queue = calloc(n, sizeof(unsigned));
	ctx->running = calloc(n, sizeof(unsigned));
	if (!ctx->conns || !ctx->free_slots || !ctx->queue || !ctx->running)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		ctx->conns[i] = (struct np_conn){.cfd = -1, .ufd = -1};
		ctx->free_slots[ctx->n_free++] = n - 1 - i;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ctx->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ctx->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->sfd < 0 || ctx->ep < 0)
		return -errno;
	int r = np_resolver_start(&ctx->res);
	if (r < 0)
		return r;
	int fl = fcntl(opt->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(opt->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if ((r = add_fd(ctx->ep, opt->listen_fd, T_LISTEN)) < 0 ||
	    (r = add_fd(ctx->ep, ctx->sfd, T_SIGNAL)) < 0 ||
	    (r = add_fd(ctx->ep, np_resolver_fd(ctx->res), T_RESOLVER)) < 0)
		return r;
	if (opt->life_fd >= 0 && (r = add_fd(ctx->ep, opt->life_fd, T_LIFE)) < 0)
		return r;
	return 0;
}

int np_loop_run(const struct np_options *opt)
{
	static struct np_ctx ctx;
	int r = setup(&ctx, opt);
	if (r < 0)
		return r;
	if (opt->ready_fd >= 0) {
		(void)!write(opt->ready_fd, "R", 1);
		close(opt->ready_fd);
	}
	struct epoll_event evs[64];
	time_t last = 0;
	while (!ctx.stop) {
		int n = epoll_wait(ctx.ep, evs, 64, ctx.n_queue ? 0 : 1000);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			dispatch(&ctx, &evs[i]);
		run_queue(&ctx);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last) {
			sweep(&ctx, now.tv_sec);
			last = now.tv_sec;
		}
	}
	/* C4 at the end too: what is still open is logged as it stands. */
	for (unsigned i = 0; i < opt->max_connections; i++)
		np_conn_free(&ctx, &ctx.conns[i]);
	return 0;
}
