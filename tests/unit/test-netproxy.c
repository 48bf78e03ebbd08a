/* The proxy's pure functions (netproxy/policy.h P1..P5, http.h, socks.h). */
#include "netproxy/http.h"
#include "netproxy/policy.h"
#include "netproxy/socks.h"
#include "shell/net.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1)
		a4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
		a6->sin6_family = AF_INET6;
	return ss;
}

static const char *cls(const char *s)
{
	struct sockaddr_storage ss = addr(s);
	return np_addr_class_name(np_addr_classify((struct sockaddr *)&ss));
}

static void test_normalize(void)
{
	char h[300];
	snprintf(h, sizeof(h), "WWW.Example.COM.");
	is_int(np_host_normalize(h), 0, "P1: a name is normalised");
	is_str(h, "www.example.com", "  ... to lower case without the trailing dot");
	static const char *const bad[] = {"",	  "a..b",  "-",	     "a b",	   "a/b", "a\\b",
					  "x\ny", "1.2.3", "0x7f.1", "2130706433", "a:b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(h, sizeof(h), "%s", bad[i]);
		is_errno(np_host_normalize(h), -EINVAL, "P1: '%s' is refused", bad[i]);
	}
	memset(h, 'a', 64);
	h[64] = '\0';
	is_errno(np_host_normalize(h), -EINVAL, "P1: a label of 64 bytes is refused");
	snprintf(h, sizeof(h), "::1");
	is_int(np_host_normalize(h), 0, "P1: an IPv6 literal is a host");
}

static void test_match(void)
{
	ok(np_host_match("x.com", "x.com"), "P3: exact match");
	ok(!np_host_match("x.com", "a.x.com"), "P3: exact does not match below");
	ok(np_host_match("*.x.com", "a.x.com"), "P3: *.x.com matches a.x.com");
	ok(np_host_match("*.x.com", "a.b.x.com"), "P3: *.x.com matches a.b.x.com");
	ok(!np_host_match("*.x.com", "x.com"), "P3: *.x.com does not match x.com");
	ok(!np_host_match("*.x.com", "evilx.com"), "P3: *.x.com does not match evilx.com");
	ok(!np_host_match("*.x.com", "x.com.evil.org"), "P3: nor x.com.evil.org");
	ok(np_pattern_valid("*.x.com") && np_pattern_valid("x.com"), "patterns: host and *.domain");
	ok(!np_pattern_valid("*x.com") && !np_pattern_valid("a.*.com") &&
	       !np_pattern_valid("X.com"),
	   "patterns: no other wildcards, lower case only");
}

static void test_names(void)
{
	struct np_policy p = {.allow = {"allowed.test", "*.wild.test", "denied.test"},
			      .n_allow = 3,
			      .deny = {"denied.test", "*.bad.wild.test"},
			      .n_deny = 2};
	char rule[NP_RULE_MAX];
	ok(np_policy_check_name(&p, "allowed.test", 443, rule, sizeof(rule)), "allowed.test:443");
	is_str(rule, "proxy_allow allowed.test", "  ... by its rule");
	ok(!np_policy_check_name(&p, "allowed.test", 22, rule, sizeof(rule)),
	   "P4: port 22 refused");
	is_str(rule, "port 22 not in proxy_ports", "  ... by its rule");
	ok(!np_policy_check_name(&p, "denied.test", 80, rule, sizeof(rule)), "P2: deny wins");
	is_str(rule, "proxy_deny denied.test", "  ... by its rule");
	ok(!np_policy_check_name(&p, "a.bad.wild.test", 80, rule, sizeof(rule)),
	   "P2: a deny wildcard below an allow wildcard");
	ok(!np_policy_check_name(&p, "wild.test", 80, rule, sizeof(rule)),
	   "P3: *.wild.test != wild.test");
	is_str(rule, "not in proxy_allow", "  ... by its rule");
	p.ports[0] = 22;
	p.n_ports = 1;
	ok(np_policy_check_name(&p, "allowed.test", 22, rule, sizeof(rule)),
	   "P4: configured port 22");
	ok(!np_policy_check_name(&p, "allowed.test", 443, rule, sizeof(rule)),
	   "P4: configured ports replace 80 and 443");
}

static void test_classes(void)
{
	static const char *const cases[][2] = {
	    {"8.8.8.8", "public"},
	    {"2001:4860::8888", "public"},
	    {"127.0.0.1", "loopback"},
	    {"127.255.0.9", "loopback"},
	    {"::1", "loopback"},
	    {"0.0.0.0", "unspecified"},
	    {"::", "unspecified"},
	    {"169.254.169.254", "metadata"},
	    {"fd00:ec2::254", "metadata"},
	    {"169.254.1.1", "link-local"},
	    {"fe80::1", "link-local"},
	    {"10.1.2.3", "private"},
	    {"172.16.0.1", "private"},
	    {"172.31.255.255", "private"},
	    {"172.32.0.1", "public"},
	    {"192.168.1.1", "private"},
	    {"fd12::1", "private"},
	    {"fc00::1", "private"},
	    {"100.64.0.1", "cgnat"},
	    {"100.127.255.255", "cgnat"},
	    {"224.0.0.1", "multicast"},
	    {"ff02::1", "multicast"},
	    {"255.255.255.255", "broadcast"},
	    {"240.0.0.1", "reserved"},
	    {"::ffff:127.0.0.1", "loopback"},
	    {"::ffff:10.0.0.1", "private"},
	    {"::127.0.0.1", "loopback"},
	    {"64:ff9b::a9fe:a9fe", "metadata"},
	    {"2002:7f00:1::", "loopback"},
	    {"2001:db8::1", "reserved"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(cls(cases[i][0]), cases[i][1], "P5: %s is %s", cases[i][0], cases[i][1]);
}

static void test_addrs(void)
{
	struct np_policy p = {.private_ok = {"allowed.test"}, .n_private_ok = 1};
	struct sockaddr_storage lo = addr("127.0.0.1"), pub = addr("93.184.216.34");
	char rule[NP_RULE_MAX];
	ok(np_policy_check_addr(&p, "x.test", (struct sockaddr *)&pub, rule, sizeof(rule)),
	   "P5: a public address is fine");
	ok(!np_policy_check_addr(&p, "x.test", (struct sockaddr *)&lo, rule, sizeof(rule)),
	   "P5: 127.0.0.1 for a name not explicitly allowed is refused");
	is_str(rule, "loopback address 127.0.0.1 (not in proxy_allow_private)",
	       "  ... by its rule");
	ok(np_policy_check_addr(&p, "allowed.test", (struct sockaddr *)&lo, rule, sizeof(rule)),
	   "P5: ... and allowed for the name listed in allow_private");
	p.local[0] = pub;
	p.n_local = 1;
	struct sockaddr_storage mapped = addr("::ffff:93.184.216.34");
	ok(!np_policy_check_addr(&p, "x.test", (struct sockaddr *)&mapped, rule, sizeof(rule)),
	   "P5: one of the host's own addresses (even IPv4-mapped) is refused");
	is_str(rule, "the host's own address ::ffff:93.184.216.34 (not in proxy_allow_private)",
	       "  ... by its rule");
}

static int parse(const char *head, struct np_http_req *r)
{
	size_t scanned = 0, n = strlen(head);
	size_t end = np_http_head_end(head, n, &scanned);
	if (!end)
		return -EAGAIN;
	return np_http_parse(head, end, r);
}

static void test_http(void)
{
	struct np_http_req r;
	is_int(parse("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", &r), 0, "CONNECT");
	ok(r.connect && !strcmp(r.host, "a.test") && r.port == 443, "  ... a.test port 443");
	is_int(parse("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n", &r), 0, "CONNECT [::1]:8443");
	ok(!strcmp(r.host, "::1") && r.port == 8443, "  ... ::1 port 8443");
	is_errno(parse("CONNECT a.test HTTP/1.1\r\n\r\n", &r), -EINVAL, "CONNECT needs a port");
	const char *get = "GET http://A.test:8080/x?y HTTP/1.1\r\nHost: a.test\r\n"
			  "Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\n"
			  "Proxy-Authorization: Basic x\r\nAccept: */*\r\n\r\nBODY";
	is_int(parse(get, &r), 0, "GET absolute-form");
	ok(!r.connect && !strcmp(r.host, "a.test") && r.port == 8080, "  ... a.test port 8080");
	char out[512];
	int n = np_http_rewrite(get, &r, out, sizeof(out));
	ok(n > 0, "  ... rewrites");
	out[n > 0 ? n : 0] = '\0';
	is_str(out,
	       "GET /x?y HTTP/1.1\r\nHost: a.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	       "  ... to origin-form, hop-by-hop headers out, Connection: close in");
	/* Attack: the target names an allowed site, Host another one on the
	 * same server (a shared front end): the server must see the target's. */
	const char *fronted = "GET http://allowed.test/ HTTP/1.1\r\nHost: internal.corp\r\n"
			      "X: y\r\nhost:other.corp\r\n\r\n";
	is_int(parse(fronted, &r), 0, "GET with a Host header that names another site");
	n = np_http_rewrite(fronted, &r, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	is_str(out, "GET / HTTP/1.1\r\nHost: allowed.test\r\nX: y\r\nConnection: close\r\n\r\n",
	       "  ... the client's Host headers are replaced by the target's");
	is_int(parse("GET http://[2001:db8::1]:81/ HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0,
	       "GET to an IPv6 literal");
	n = np_http_rewrite("GET http://[2001:db8::1]:81/ HTTP/1.1\r\nHost: x\r\n\r\n", &r, out,
			    sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	is_str(out, "GET / HTTP/1.1\r\nHost: [2001:db8::1]:81\r\nConnection: close\r\n\r\n",
	       "  ... its Host in brackets, with the port");
	is_int(parse("GET http://a.test HTTP/1.0\r\n\r\n", &r), 0, "GET without path or port");
	n = np_http_rewrite("GET http://a.test HTTP/1.0\r\n\r\n", &r, out, sizeof(out));
	out[n > 0 ? n : 0] = '\0';
	ok(r.port == 80 && !strcmp(out, "GET / HTTP/1.0\r\nHost: a.test\r\nConnection: close\r\n\r\n"),
	   "  ... port 80, path /, and a Host");
	is_errno(parse("GET https://a.test/ HTTP/1.1\r\n\r\n", &r), -EPROTONOSUPPORT,
		 "https:// absolute-form is not forwarded (CONNECT is)");
	is_errno(parse("GET /x HTTP/1.1\r\n\r\n", &r), -EPROTONOSUPPORT,
		 "origin-form is no proxy request");
	is_errno(parse("GET http://u@a.test/ HTTP/1.1\r\n\r\n", &r), -EINVAL, "no userinfo");
	is_errno(parse("GET http://a.test/ HTTP/1.1\r\nX: a\nY: b\r\n\r\n", &r), -EINVAL,
		 "a bare LF in a header is refused");
	is_errno(parse("GET http://a.test/ HTTP/1.1\r\n folded\r\n\r\n", &r), -EINVAL,
		 "a folded header is refused");
	is_errno(parse("get http://a.test/ HTTP/1.1\r\n\r\n", &r), -EINVAL,
		 "methods are upper case");
	is_errno(parse("GET http://a.test:0/ HTTP/1.1\r\n\r\n", &r), -EINVAL, "port 0 is refused");
	is_errno(parse("GET http://a.test:65536/ HTTP/1.1\r\n\r\n", &r), -EINVAL, "port 65536 too");
	is_errno(parse("GET http://a.test/ HTTP/2.0\r\n\r\n", &r), -EINVAL, "HTTP/1.x only");
	is_errno(parse("GET http://a.test/ HTTP/1.1\r\nHost: x\r\n", &r), -EAGAIN,
		 "an unfinished head waits");
	char resp[1024];
	size_t rn = np_http_response(resp, sizeof(resp), 403, "Forbidden", "proxy_deny x.test");
	ok(rn > 0 &&
	       strstr(resp, "HTTP/1.1 403 Forbidden\r\nX-Ephemera-Rule: proxy_deny x.test\r\n"),
	   "a refusal names its rule in a header");
	size_t scanned = 0;
	ok(np_http_head_end("GET x HTTP/1.1\r\n\r", 17, &scanned) == 0 &&
	       np_http_head_end("GET x HTTP/1.1\r\n\r\n", 18, &scanned) == 18,
	   "the head's end is found across reads");
}

static void test_socks(void)
{
	is_int(np_socks_greeting((const uint8_t *)"\x05\x01\x00", 3), 3,
	       "greeting: no auth offered");
	is_int(np_socks_greeting((const uint8_t *)"\x05\x02", 2), 0, "greeting: waits for methods");
	is_errno(np_socks_greeting((const uint8_t *)"\x05\x01\x02", 3), -EACCES,
		 "greeting: only user/password offered");
	is_errno(np_socks_greeting((const uint8_t *)"\x04\x01", 2), -EPROTO, "greeting: SOCKS4");
	char host[NP_HOST_MAX + 1];
	uint16_t port = 0;
	const uint8_t dom[] = {5, 1, 0, 3, 6, 'A', '.', 't', 'e', 's', 't', 0x01, 0xbb};
	is_int(np_socks_request(dom, sizeof(dom), host, sizeof(host), &port), (int)sizeof(dom),
	       "request: a domain name");
	ok(!strcmp(host, "a.test") && port == 443, "  ... normalised, port 443");
	is_int(np_socks_request(dom, sizeof(dom) - 1, host, sizeof(host), &port), 0,
	       "request: waits for the port");
	const uint8_t v4[] = {5, 1, 0, 1, 127, 0, 0, 1, 0, 80};
	is_int(np_socks_request(v4, sizeof(v4), host, sizeof(host), &port), 10, "request: IPv4");
	ok(!strcmp(host, "127.0.0.1") && port == 80, "  ... 127.0.0.1 port 80");
	const uint8_t bind[] = {5, 2, 0, 1, 127, 0, 0, 1, 0, 80};
	is_int(np_socks_request(bind, sizeof(bind), host, sizeof(host), &port),
	       -NP_SOCKS_CMD_UNSUPPORTED, "request: BIND is not supported");
	const uint8_t nul[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
	is_int(np_socks_request(nul, sizeof(nul), host, sizeof(host), &port), -NP_SOCKS_FAILURE,
	       "request: a NUL in the name is refused");
	const uint8_t atyp[] = {5, 1, 0, 9, 0, 0};
	is_int(np_socks_request(atyp, sizeof(atyp), host, sizeof(host), &port),
	       -NP_SOCKS_ATYP_UNSUPPORTED, "request: unknown address type");
}

/* Attack: a subverted proxy writes escapes and a CR into its log lines;
 * the recorder (root) keeps none of them for syslog and the events. */
static void test_log_clean(void)
{
	char line[] = "connect a.test port 443 allow (x)\r\x1b]52;c;cGF5\x07\x1b[2J\x9b"
		      "1m\x7f\t ok";
	net_log_clean(line);
	is_str(line, "connect a.test port 443 allow (x)??]52;c;cGF5??[2J?1m?? ok",
	       "the recorder keeps no control byte, escape or non-ASCII byte of the proxy's");
	char plain[] = "socks 93.184.216.34 port 80 deny (proxy_deny *.x.test) up=0 down=0 ms=1";
	net_log_clean(plain);
	is_str(plain, "socks 93.184.216.34 port 80 deny (proxy_deny *.x.test) up=0 down=0 ms=1",
	       "  ... and leaves a line of the proxy's own format as it is");
}

int main(void)
{
	test_normalize();
	test_match();
	test_names();
	test_classes();
	test_addrs();
	test_http();
	test_socks();
	test_log_clean();
	return done_testing();
}
