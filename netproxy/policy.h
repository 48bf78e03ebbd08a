/* The proxy's policy: which destinations a session may reach (ephemera-netproxy(8)).
 *
 * A destination is a host name (or an IP literal) and a port.  It is allowed
 * when, in this order:
 *  P1 the name is well formed (normalised to lower case, no trailing dot);
 *  P2 no deny entry matches it (deny wins over allow);
 *  P3 an allow entry matches it: "host" exactly, or "*.domain" for any name
 *     strictly below domain ("*.x.com" does not match "x.com");
 *  P4 the port is one of the allowed ports (80 and 443 unless configured);
 *  P5 every address it is connected to is public: loopback, link-local,
 *     cloud metadata, private (RFC 1918, ULA), CGNAT, unspecified,
 *     multicast, broadcast, reserved and the host's own addresses are refused,
 *     unless the name is listed exactly in the private list (allow_private):
 *     a DNS answer must not become a way back into the host.
 * Every refusal names its rule ("deny *.x.com", "not in proxy_allow", ...).
 * Pure functions: tests/unit/test-netproxy.c. */
#ifndef EPHEMERA_NETPROXY_POLICY_H
#define EPHEMERA_NETPROXY_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NP_MAX_HOSTS 64
#define NP_MAX_PORTS 16
#define NP_MAX_LOCAL 64
#define NP_HOST_MAX  253
#define NP_RULE_MAX  320

struct np_policy {
	const char *allow[NP_MAX_HOSTS];
	size_t n_allow;
	const char *deny[NP_MAX_HOSTS];
	size_t n_deny;
	const char *private_ok[NP_MAX_HOSTS]; /* exact names that may resolve to private */
	size_t n_private_ok;
	uint16_t ports[NP_MAX_PORTS];
	size_t n_ports; /* 0: 80 and 443 */
	/* The host's own addresses (getifaddrs), refused like loopback. */
	struct sockaddr_storage local[NP_MAX_LOCAL];
	size_t n_local;
};

enum np_addr_class {
	NP_ADDR_PUBLIC,
	NP_ADDR_UNSPECIFIED,
	NP_ADDR_LOOPBACK,
	NP_ADDR_LINK_LOCAL,
	NP_ADDR_METADATA,
	NP_ADDR_PRIVATE,
	NP_ADDR_CGNAT,
	NP_ADDR_MULTICAST,
	NP_ADDR_BROADCAST,
	NP_ADDR_RESERVED,
	NP_ADDR_LOCAL, /* one of the host's own addresses */
};

/* Lower-cases host in place and drops one trailing dot; checks P1: a DNS
 * name of [a-z0-9_-] labels, 1..63 bytes each, or an IPv4 literal, or an
 * IPv6 literal (without brackets).  -EINVAL when malformed. */
int np_host_normalize(char *host);

/* "host" matches exactly; "*.domain" matches names strictly below domain. */
bool np_host_match(const char *pattern, const char *host);

/* An allow/deny entry as the config gives it: "host" or "*.domain". */
bool np_pattern_valid(const char *pattern);

/* P2..P4 for a normalised host.  true: allowed; false: refused, and the
 * rule in rule (rule may then be shown to the session). */
bool np_policy_check_name(const struct np_policy *p, const char *host, uint16_t port, char *rule,
			  size_t rulelen);

/* Classifies an AF_INET or AF_INET6 address (IPv4-mapped and -compatible
 * IPv6 as their IPv4 address). */
enum np_addr_class np_addr_classify(const struct sockaddr *sa);
const char *np_addr_class_name(enum np_addr_class c);

/* P5 for one address that host resolved to.  true: may connect. */
bool np_policy_check_addr(const struct np_policy *p, const char *host, const struct sockaddr *sa,
			  char *rule, size_t rulelen);

/* Fills p->local from getifaddrs(); -errno. */
int np_policy_load_local(struct np_policy *p);

#endif
