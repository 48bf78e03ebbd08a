/* ephemera-netproxy: the allow-listing HTTP/SOCKS5 proxy of one session
 * (network = proxy), started by ephemera-shell outside the sandbox as an
 * unprivileged user, and the forwarder for tests and benchmarks.  Policy on
 * the command line; see ephemera-netproxy(8). */
#include "common/parse.h"
#include "netproxy/forward.h"
#include "netproxy/loop.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: ephemera-netproxy [OPTION]...\n"
    "       ephemera-netproxy --forward PATH --http-port PORT --socks-port PORT\n"
    "The allow-listing proxy of an ephemera session (network = proxy).\n"
    "  --listen-fd N            listening AF_UNIX SOCK_SEQPACKET socket (default 3)\n"
    "  --listen PATH            make and listen on that socket instead\n"
    "  --log-fd N               one line per connection (default 2)\n"
    "  --ready-fd N             write one byte there once serving, then close it\n"
    "  --life-fd N              end when the pipe on N has no writer left (EOF)\n"
    "  --allow HOST|*.DOMAIN    destination allowed (repeat)\n"
    "  --deny HOST|*.DOMAIN     destination refused, before any allow (repeat)\n"
    "  --allow-private HOST     HOST may resolve to a non-public address (repeat)\n"
    "  --port N                 port allowed (repeat; default 80 and 443)\n"
    "  --max-connections N      at once (default 256)\n"
    "  --handshake-timeout S    seconds for a request to be made (default 30)\n"
    "  --forward PATH           be the forwarder: 127.0.0.1 listeners to the proxy at PATH\n"
    "  --http-port N, --socks-port N   the forwarder's ports\n"
    "  --help, --version\n";

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ephemera-netproxy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static unsigned number(const char *s, unsigned min, unsigned max, const char *what)
{
	uint32_t v;
	if (parse_u32(s, min, max, &v) < 0)
		fail("%s must be a number from %u to %u, not '%s'", what, min, max, s);
	return v;
}

static void add_host(const char **list, size_t *n, const char *s, bool pattern)
{
	if (*n >= NP_MAX_HOSTS)
		fail("more than %d entries", NP_MAX_HOSTS);
	if (pattern ? !np_pattern_valid(s) : (!np_pattern_valid(s) || s[0] == '*'))
		fail("'%s' is not a host%s (lower case)", s, pattern ? " or *.domain" : "");
	list[(*n)++] = s;
}

static int listen_path(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		fail("%s: path too long", path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		fail("%s: %s", path, strerror(errno));
	return fd;
}

/* Two descriptors a connection, and some to spare. */
static void fit_fd_limit(struct np_options *o)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * (rlim_t)o->max_connections + 64)
		o->max_connections = rl.rlim_cur > 96 ? (unsigned)(rl.rlim_cur - 64) / 2 : 16;
}

static int forwarder(const char *path, unsigned http, unsigned socks)
{
	int chan = np_forward_connect(path);
	if (chan < 0)
		fail("%s: %s", path, strerror(-chan));
	int h = np_forward_listen((uint16_t)http), s = np_forward_listen((uint16_t)socks);
	if (h < 0 || s < 0)
		fail("listening on 127.0.0.1: %s", strerror(-(h < 0 ? h : s)));
	int r = np_forward_run(chan, h, s);
	fail("forwarder: %s", strerror(-r));
}

int main(int argc, char **argv)
{
	/* Not traceable by other processes of the same (unprivileged) user. */
	prctl(PR_SET_DUMPABLE, 0);
	static struct np_options o = {.max_connections = 256,
				      .handshake_timeout = 30,
				      .listen_fd = 3,
				      .log_fd = 2,
				      .ready_fd = -1,
				      .life_fd = -1};
	const char *listen = NULL, *forward = NULL;
	unsigned http_port = 0, socks_port = 0;
	enum {
		O_LISTEN_FD = 256,
		O_LISTEN,
		O_LOG_FD,
		O_READY_FD,
		O_LIFE_FD,
		O_ALLOW,
		O_DENY,
		O_PRIVATE,
		O_PORT,
		O_MAX,
		O_TIMEOUT,
		O_FORWARD,
		O_HTTP,
		O_SOCKS,
		O_HELP,
		O_VERSION
	};
	static const struct option opts[] = {
	    {"listen-fd", 1, NULL, O_LISTEN_FD},   {"listen", 1, NULL, O_LISTEN},
	    {"log-fd", 1, NULL, O_LOG_FD},	   {"ready-fd", 1, NULL, O_READY_FD},
	    {"life-fd", 1, NULL, O_LIFE_FD},
	    {"allow", 1, NULL, O_ALLOW},	   {"deny", 1, NULL, O_DENY},
	    {"allow-private", 1, NULL, O_PRIVATE}, {"port", 1, NULL, O_PORT},
	    {"max-connections", 1, NULL, O_MAX},   {"handshake-timeout", 1, NULL, O_TIMEOUT},
	    {"forward", 1, NULL, O_FORWARD},	   {"http-port", 1, NULL, O_HTTP},
	    {"socks-port", 1, NULL, O_SOCKS},	   {"help", 0, NULL, O_HELP},
	    {"version", 0, NULL, O_VERSION},	   {NULL, 0, NULL, 0}};
	struct np_policy *p = &o.policy;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN_FD: o.listen_fd = (int)number(optarg, 0, 65535, "--listen-fd"); break;
		case O_LISTEN: listen = optarg; break;
		case O_LOG_FD: o.log_fd = (int)number(optarg, 0, 65535, "--log-fd"); break;
		case O_READY_FD: o.ready_fd = (int)number(optarg, 0, 65535, "--ready-fd"); break;
		case O_LIFE_FD: o.life_fd = (int)number(optarg, 0, 65535, "--life-fd"); break;
		case O_ALLOW: add_host(p->allow, &p->n_allow, optarg, true); break;
		case O_DENY: add_host(p->deny, &p->n_deny, optarg, true); break;
		case O_PRIVATE: add_host(p->private_ok, &p->n_private_ok, optarg, false); break;
		case O_PORT:
			if (p->n_ports >= NP_MAX_PORTS)
				fail("more than %d ports", NP_MAX_PORTS);
			p->ports[p->n_ports++] = (uint16_t)number(optarg, 1, 65535, "--port");
			break;
		case O_MAX:
			o.max_connections = number(optarg, 1, 65536, "--max-connections");
			break;
		case O_TIMEOUT:
			o.handshake_timeout = number(optarg, 1, 3600, "--handshake-timeout");
			break;
		case O_FORWARD: forward = optarg; break;
		case O_HTTP: http_port = number(optarg, 1, 65535, "--http-port"); break;
		case O_SOCKS: socks_port = number(optarg, 1, 65535, "--socks-port"); break;
		case O_HELP: fputs(usage_text, stdout); return 0;
		case O_VERSION: printf("ephemera-netproxy %s\n", EPHEMERA_VERSION); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind != argc)
		fail("unexpected argument '%s' (try --help)", argv[optind]);
	if (forward) {
		if (!http_port || !socks_port)
			fail("--forward needs --http-port and --socks-port");
		return forwarder(forward, http_port, socks_port);
	}
	if (listen)
		o.listen_fd = listen_path(listen);
	int r = np_policy_load_local(p);
	if (r < 0)
		fail("the host's addresses: %s", strerror(-r));
	fit_fd_limit(&o);
	r = np_loop_run(&o);
	if (r < 0)
		fail("%s", strerror(-r));
	return 0;
}
