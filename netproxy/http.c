#include "netproxy/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t np_http_head_end(const char *buf, size_t len, size_t *scanned)
{
	size_t i = *scanned > 3 ? *scanned - 3 : 0;
	for (; i + 4 <= len; i++)
		if (buf[i] == '\r' && !memcmp(buf + i, "\r\n\r\n", 4))
			return i + 4;
	*scanned = len;
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *ret)
{
	if (n == 0 || n > 5)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int np_parse_authority(const char *s, size_t n, uint16_t default_port, char *host, size_t hostsz,
		       uint16_t *ret_port)
{
	const char *h = s, *colon = NULL;
	size_t hn;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -EINVAL;
		h = s + 1;
		hn = (size_t)(close - h);
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return -EINVAL;
			colon = close + 1;
		}
		if (!memchr(h, ':', hn)) /* brackets are for IPv6 only */
			return -EINVAL;
	} else {
		colon = memrchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
		if (memchr(s, ':', hn)) /* an IPv6 literal needs brackets */
			return -EINVAL;
	}
	uint16_t port = default_port;
	if (colon && parse_port(colon + 1, (size_t)(s + n - colon - 1), &port) < 0)
		return -EINVAL;
	if (!colon && !default_port)
		return -EINVAL;
	if (hn == 0 || hn >= hostsz || memchr(h, '\0', hn))
		return -EINVAL;
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (np_host_normalize(host) < 0)
		return -EINVAL;
	*ret_port = port;
	return 0;
}

static bool is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Header lines: "Name: value" CRLF, no NUL, no bare CR or LF, no folding. */
static int check_headers(const char *p, const char *end)
{
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol || eol + 1 >= end || eol[1] != '\n')
			return -EINVAL;
		if (memchr(p, '\n', (size_t)(eol - p)) || memchr(p, '\0', (size_t)(eol - p)))
			return -EINVAL;
		const char *c = p;
		while (c < eol && is_tchar(*c))
			c++;
		if (c == p || c == eol || *c != ':')
			return -EINVAL;
		p = eol + 2;
	}
	return 0;
}

int np_http_parse(const char *buf, size_t head_len, struct np_http_req *ret)
{
	struct np_http_req r = {0};
	const char *end = buf + head_len - 2; /* the final empty line's CRLF */
	const char *eol = memchr(buf, '\r', head_len);
	if (!eol || eol[1] != '\n')
		return -EINVAL;
	const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf || sp1 - buf > 16)
		return -EINVAL;
	for (const char *c = buf; c < sp1; c++)
		if (*c < 'A' || *c > 'Z')
			return -EINVAL;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (!sp2 || eol - sp2 != 9 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return -EINVAL;
	size_t tn = (size_t)(sp2 - target);
	r.method_len = (size_t)(sp1 - buf);
	r.version_off = (size_t)(sp2 + 1 - buf);
	r.headers_off = (size_t)(eol + 2 - buf);
	r.head_len = head_len;
	if (tn == 0 || memchr(target, '\0', tn) || memchr(target, '\n', tn))
		return -EINVAL;
	if (r.method_len == 7 && !memcmp(buf, "CONNECT", 7)) {
		r.connect = true;
		if (np_parse_authority(target, tn, 0, r.host, sizeof(r.host), &r.port) < 0)
			return -EINVAL;
	} else {
		if (tn < 7 || strncasecmp(target, "http://", 7))
			return -EPROTONOSUPPORT;
		const char *auth = target + 7, *tend = target + tn;
		const char *path = auth;
		while (path < tend && *path != '/' && *path != '?' && *path != '#')
			path++;
		if (memchr(auth, '@', (size_t)(path - auth))) /* no userinfo */
			return -EINVAL;
		if (np_parse_authority(auth, (size_t)(path - auth), 80, r.host, sizeof(r.host),
				       &r.port) < 0)
			return -EINVAL;
		r.path_off = (size_t)(path - buf);
		r.path_len = (size_t)(tend - path);
	}
	int k = check_headers(eol + 2, end);
	if (k < 0)
		return k;
	*ret = r;
	return 0;
}

/* The headers not passed on: the hop-by-hop ones, and Host, which the
 * request-target replaces (RFC 9112 3.2.2): a Host naming another site
 * would reach a name the policy never saw, on a server that hosts both. */
static bool hop_by_hop(const char *line, size_t n)
{
	static const char *const names[] = {"connection:", "keep-alive:", "proxy-connection:",
					    "proxy-authorization:", "host:"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);
		if (n >= k && !strncasecmp(line, names[i], k))
			return true;
	}
	return false;
}

static bool put(char *out, size_t outsz, size_t *at, const char *s, size_t n)
{
	if (n > outsz - *at)
		return false;
	memcpy(out + *at, s, n);
	*at += n;
	return true;
}

int np_http_rewrite(const char *buf, const struct np_http_req *req, char *out, size_t outsz)
{
	size_t at = 0;
	bool ok = put(out, outsz, &at, buf, req->method_len) && put(out, outsz, &at, " ", 1);
	if (req->path_len == 0 || buf[req->path_off] != '/')
		ok = ok && put(out, outsz, &at, "/", 1);
	ok = ok && put(out, outsz, &at, buf + req->path_off, req->path_len) &&
	     put(out, outsz, &at, " ", 1) && put(out, outsz, &at, buf + req->version_off, 8) &&
	     put(out, outsz, &at, "\r\n", 2);
	char host[NP_HOST_MAX + 32];
	bool v6 = strchr(req->host, ':') != NULL;
	int hn = req->port == 80 ? snprintf(host, sizeof(host), "Host: %s%s%s\r\n", v6 ? "[" : "",
					    req->host, v6 ? "]" : "")
				 : snprintf(host, sizeof(host), "Host: %s%s%s:%u\r\n", v6 ? "[" : "",
					    req->host, v6 ? "]" : "", (unsigned)req->port);
	ok = ok && hn > 0 && (size_t)hn < sizeof(host) && put(out, outsz, &at, host, (size_t)hn);
	const char *p = buf + req->headers_off, *end = buf + req->head_len - 2;
	while (ok && p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		size_t n = (size_t)(eol + 2 - p);
		if (!hop_by_hop(p, n))
			ok = put(out, outsz, &at, p, n);
		p = eol + 2;
	}
	static const char close_hdr[] = "Connection: close\r\n\r\n";
	ok = ok && put(out, outsz, &at, close_hdr, sizeof(close_hdr) - 1);
	return ok ? (int)at : -ENOBUFS;
}

size_t np_http_response(char *out, size_t outsz, int code, const char *reason, const char *rule)
{
	char body[NP_RULE_MAX + 64];
	int bn = snprintf(body, sizeof(body), "ephemera-netproxy: %d %s: %s\n", code,
			  reason ? reason : "", rule ? rule : "");
	if (bn < 0)
		bn = 0;
	if ((size_t)bn >= sizeof(body))
		bn = (int)sizeof(body) - 1;
	int n = snprintf(out, outsz,
			 "HTTP/1.1 %d %s\r\nX-Ephemera-Rule: %s\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 code, reason, rule, bn, body);
	if (n < 0)
		return 0;
	return (size_t)n < outsz ? (size_t)n : outsz - 1;
}
