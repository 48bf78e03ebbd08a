#include "netproxy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

static bool is_ipv4_literal(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

static bool is_ipv6_literal(const char *s)
{
	struct in6_addr a;
	return strchr(s, ':') && inet_pton(AF_INET6, s, &a) == 1;
}

static bool valid_dns_name(const char *s)
{
	size_t label = 0;
	for (const char *c = s;; c++) {
		if (*c == '.' || *c == '\0') {
			if (label == 0 || label > 63 || c[-1] == '-')
				return false;
			if (*c == '\0')
				return true;
			label = 0;
			continue;
		}
		bool ok =
		    (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
		if (!ok || (label == 0 && *c == '-'))
			return false;
		label++;
	}
}

int np_host_normalize(char *host)
{
	size_t n = strlen(host);
	if (n > 0 && host[n - 1] == '.' && !strchr(host, ':'))
		host[--n] = '\0';
	if (n == 0 || n > NP_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] = (char)(host[i] - 'A' + 'a');
	if (is_ipv6_literal(host) || is_ipv4_literal(host))
		return 0;
	/* An address in another notation ("1.2.3", "0x7f.1", "2130706433"):
	 * inet_aton, and so the resolver, reads it as one.  No DNS name ends
	 * in an all-digit label either. */
	struct in_addr a;
	const char *last = strrchr(host, '.');
	last = last ? last + 1 : host;
	if (inet_aton(host, &a) || strspn(last, "0123456789") == strlen(last))
		return -EINVAL;
	return valid_dns_name(host) ? 0 : -EINVAL;
}

bool np_pattern_valid(const char *pattern)
{
	char buf[NP_HOST_MAX + 1];
	const char *name = strncmp(pattern, "*.", 2) == 0 ? pattern + 2 : pattern;
	if (strlen(name) > NP_HOST_MAX)
		return false;
	snprintf(buf, sizeof(buf), "%s", name);
	return np_host_normalize(buf) == 0 && strcmp(buf, name) == 0;
}

bool np_host_match(const char *pattern, const char *host)
{
	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, host) == 0;
	const char *domain = pattern + 1; /* ".x.com" */
	size_t hn = strlen(host), dn = strlen(domain);
	return hn > dn && strcmp(host + hn - dn, domain) == 0;
}

static const char *first_match(const char *const *list, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (np_host_match(list[i], host))
			return list[i];
	return NULL;
}

static bool port_allowed(const struct np_policy *p, uint16_t port)
{
	if (p->n_ports == 0)
		return port == 80 || port == 443;
	for (size_t i = 0; i < p->n_ports; i++)
		if (p->ports[i] == port)
			return true;
	return false;
}

bool np_policy_check_name(const struct np_policy *p, const char *host, uint16_t port, char *rule,
			  size_t rulelen)
{
	const char *m = first_match(p->deny, p->n_deny, host);
	if (m) {
		snprintf(rule, rulelen, "proxy_deny %s", m);
		return false;
	}
	if (!first_match(p->allow, p->n_allow, host)) {
		snprintf(rule, rulelen, "not in proxy_allow");
		return false;
	}
	if (!port_allowed(p, port)) {
		snprintf(rule, rulelen, "port %u not in proxy_ports", (unsigned)port);
		return false;
	}
	snprintf(rule, rulelen, "proxy_allow %s", first_match(p->allow, p->n_allow, host));
	return true;
}

static enum np_addr_class classify4(uint32_t a)
{
	uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16), b2 = (uint8_t)(a >> 8);
	if (b0 == 0)
		return NP_ADDR_UNSPECIFIED;
	if (b0 == 127)
		return NP_ADDR_LOOPBACK;
	if (a == 0xa9fea9feu) /* 169.254.169.254 */
		return NP_ADDR_METADATA;
	if (b0 == 169 && b1 == 254)
		return NP_ADDR_LINK_LOCAL;
	if (b0 == 10 || (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168))
		return NP_ADDR_PRIVATE;
	if (b0 == 100 && (b1 & 0xc0) == 64)
		return NP_ADDR_CGNAT;
	if (a == 0xffffffffu)
		return NP_ADDR_BROADCAST;
	if ((b0 & 0xf0) == 224)
		return NP_ADDR_MULTICAST;
	if ((b0 & 0xf0) == 240)
		return NP_ADDR_RESERVED;
	/* IETF assignments, documentation nets, benchmarking. */
	if ((b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) || (b0 == 198 && (b1 & 0xfe) == 18) ||
	    (b0 == 198 && b1 == 51 && b2 == 100) || (b0 == 203 && b1 == 0 && b2 == 113))
		return NP_ADDR_RESERVED;
	return NP_ADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static enum np_addr_class classify6(const struct in6_addr *in)
{
	const uint8_t *b = in->s6_addr;
	static const uint8_t metadata[16] = {0xfd, 0, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	if (IN6_IS_ADDR_UNSPECIFIED(in))
		return NP_ADDR_UNSPECIFIED;
	if (IN6_IS_ADDR_LOOPBACK(in))
		return NP_ADDR_LOOPBACK;
	/* Addresses that carry an IPv4 address: mapped, compatible, NAT64, 6to4. */
	if (IN6_IS_ADDR_V4MAPPED(in) || IN6_IS_ADDR_V4COMPAT(in) || !memcmp(b, nat64, 12))
		return classify4(v4_at(b + 12));
	if (b[0] == 0x20 && b[1] == 0x02)
		return classify4(v4_at(b + 2));
	if (!memcmp(b, metadata, 16))
		return NP_ADDR_METADATA;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NP_ADDR_LINK_LOCAL;
	if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
		return NP_ADDR_PRIVATE; /* ULA, and the old site-local */
	if (b[0] == 0xff)
		return NP_ADDR_MULTICAST;
	if ((b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) ||
	    (b[0] == 0x01 && !b[1] && !b[2] && !b[3] && !b[4] && !b[5] && !b[6] && !b[7]))
		return NP_ADDR_RESERVED; /* documentation, discard */
	return NP_ADDR_PUBLIC;
}

enum np_addr_class np_addr_classify(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return classify4(
		    ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return classify6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return NP_ADDR_RESERVED;
}

static const char *const class_names[] = {
    [NP_ADDR_PUBLIC] = "public",	[NP_ADDR_UNSPECIFIED] = "unspecified",
    [NP_ADDR_LOOPBACK] = "loopback",	[NP_ADDR_LINK_LOCAL] = "link-local",
    [NP_ADDR_METADATA] = "metadata",	[NP_ADDR_PRIVATE] = "private",
    [NP_ADDR_CGNAT] = "cgnat",		[NP_ADDR_MULTICAST] = "multicast",
    [NP_ADDR_BROADCAST] = "broadcast",	[NP_ADDR_RESERVED] = "reserved",
    [NP_ADDR_LOCAL] = "the host's own",
};

const char *np_addr_class_name(enum np_addr_class c)
{
	return (unsigned)c < sizeof(class_names) / sizeof(class_names[0]) ? class_names[c] : "?";
}

/* The IPv4 address a sockaddr stands for (mapped IPv6 included), or false. */
static bool as_v4(const struct sockaddr *sa, uint32_t *ret)
{
	if (sa->sa_family == AF_INET) {
		*ret = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
		return true;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a)) {
		*ret = v4_at(a->s6_addr + 12);
		return true;
	}
	return false;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	uint32_t x, y;
	if (as_v4(a, &x) && as_v4(b, &y))
		return x == y;
	if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6)
		return false;
	return !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
		       sizeof(struct in6_addr));
}

static enum np_addr_class classify_for(const struct np_policy *p, const struct sockaddr *sa)
{
	enum np_addr_class c = np_addr_classify(sa);
	if (c != NP_ADDR_PUBLIC)
		return c;
	for (size_t i = 0; i < p->n_local; i++)
		if (same_addr(sa, (const struct sockaddr *)&p->local[i]))
			return NP_ADDR_LOCAL;
	return c;
}

bool np_policy_check_addr(const struct np_policy *p, const char *host, const struct sockaddr *sa,
			  char *rule, size_t rulelen)
{
	enum np_addr_class c = classify_for(p, sa);
	if (c == NP_ADDR_PUBLIC)
		return true;
	for (size_t i = 0; i < p->n_private_ok; i++)
		if (!strcmp(p->private_ok[i], host))
			return true;
	char txt[INET6_ADDRSTRLEN] = "?";
	const void *a =
	    sa->sa_family == AF_INET
		? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	inet_ntop(sa->sa_family, a, txt, sizeof(txt));
	snprintf(rule, rulelen, "%s address %s (not in proxy_allow_private)", np_addr_class_name(c),
		 txt);
	return false;
}

int np_policy_load_local(struct np_policy *p)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return errno > 0 ? -errno : -EIO;
	p->n_local = 0;
	for (struct ifaddrs *i = ifa; i && p->n_local < NP_MAX_LOCAL; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		size_t len = i->ifa_addr->sa_family == AF_INET	  ? sizeof(struct sockaddr_in)
			     : i->ifa_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								  : 0;
		if (len)
			memcpy(&p->local[p->n_local++], i->ifa_addr, len);
	}
	freeifaddrs(ifa);
	return 0;
}
