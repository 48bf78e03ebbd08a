#!/bin/bash
# network = proxy (issue 8): a session reaches the servers outside its
# network namespace only through ephemera-netproxy, and only the destinations
# the policy allows; every connection is logged in syslog and in the events.
# Each refusal here was checked to succeed with its defence removed: the
# deny list (denied.test), the port list (9999), the address class check
# (rebind.wild.test), the network namespace (direct connect).
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"
. "$(dirname "$0")/net-lib.sh"
net_servers || exit 1
net_config

# The environment a program finds.
out=$(in_session 'for v in HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy; do printf "%s=%s " $v "$(printenv $v)"; done')
is "$out" "HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3128 ALL_PROXY=socks5h://127.0.0.1:1080 NO_PROXY=localhost,127.0.0.1,::1 http_proxy=http://127.0.0.1:3128 https_proxy=http://127.0.0.1:3128 all_proxy=socks5h://127.0.0.1:1080 no_proxy=localhost,127.0.0.1,::1 " \
	"HTTP(S)_PROXY, ALL_PROXY (socks5h) and NO_PROXY are set, in both cases"

# Allowed: plain forward, CONNECT, SOCKS5 with the name resolved outside.
is "$(in_session 'curl -sS http://allowed.test:8080/hello.txt')" "hello from outside" \
	"curl reaches allowed.test through the HTTP proxy (forward)"
is "$(in_session 'curl -sS -p http://allowed.test:8443/hello.txt')" "hello from outside" \
	"  ... through CONNECT"
is "$(in_session 'curl -sS --socks5-hostname 127.0.0.1:1080 http://allowed.test:8080/hello.txt')" \
	"hello from outside" "  ... through SOCKS5 (--socks5-hostname)"
is "$(in_session 'curl -sS -x "" --socks5-hostname 127.0.0.1:1080 -p http://allowed.test:8443/hello.txt')" \
	"hello from outside" "  ... through SOCKS5 to the other allowed port"

# Refused, with the rule named.
out=$(in_session 'curl -sS -i http://denied.test:8080/hello.txt')
like "$out" '^HTTP/1.1 403 ' "denied.test gets a 403"
like "$out" 'X-Ephemera-Rule: proxy_deny denied.test' "  ... whose header names the rule"
like "$out" 'ephemera-netproxy: 403 Forbidden: proxy_deny denied.test' "  ... and so does its text"
out=$(in_session 'curl -sS -p -i http://denied.test:8443/hello.txt')
like "$out" 'X-Ephemera-Rule: proxy_deny denied.test' "CONNECT to denied.test is refused too"
out=$(in_session 'curl -sS --socks5-hostname 127.0.0.1:1080 http://denied.test:8080/hello.txt; echo "rc=$?"')
like "$out" 'rc=97' "SOCKS5 to denied.test is refused (curl: 97, the SOCKS error)"
out=$(in_session 'curl -sS -i http://other.test:8080/hello.txt')
like "$out" 'X-Ephemera-Rule: not in proxy_allow' "a name in no allow entry gets a 403: not in proxy_allow"
out=$(in_session 'curl -sS -i http://allowed.test:9999/hello.txt')
like "$out" 'X-Ephemera-Rule: port 9999 not in proxy_ports' "a port not in proxy_ports is refused (a server listens there)"
out=$(in_session 'curl -sS -x "" --socks5-hostname 127.0.0.1:1080 http://allowed.test:9999/; echo "rc=$?"')
like "$out" 'rc=97' "  ... through SOCKS5 too"
out=$(in_session 'curl -sS -i --noproxy "" http://127.0.0.1:8080/hello.txt')
like "$out" 'X-Ephemera-Rule: not in proxy_allow' "an address literal is a name like any other: refused"

# A DNS answer is no way back into the host: rebind.wild.test matches the
# allow list (through *.wild.test) but resolves to 127.0.0.1.
out=$(in_session 'curl -sS -i http://rebind.wild.test:8080/hello.txt')
like "$out" '^HTTP/1.1 403 ' "a wildcard name that resolves to 127.0.0.1 gets a 403"
like "$out" 'X-Ephemera-Rule: loopback address 127.0.0.1' "  ... naming the address class"
out=$(in_session 'curl -sS -x "" --socks5-hostname 127.0.0.1:1080 http://rebind.wild.test:8080/; echo "rc=$?"')
like "$out" 'rc=97' "  ... through SOCKS5 too"
# Allowed by an exact entry is not enough: only proxy_allow_private lets a
# name resolve to a non-public address.
out=$(in_session 'curl -sS -i http://exact.test:8080/hello.txt')
like "$out" 'X-Ephemera-Rule: loopback address 127.0.0.1 \(not in proxy_allow_private\)' \
	"an exact proxy_allow entry not in proxy_allow_private that resolves to 127.0.0.1 gets a 403"

# No search list: nx.test resolves nowhere, but "search corp" would make it
# nx.test.corp (127.0.0.1 here), a host the policy never named.
"$EPHEMERA_REPO/tests/helpers/dns-stub.py" corp >/dev/null 2>&1 &
printf 'nameserver 127.0.0.1\nsearch corp\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
for i in $(seq 100); do ss -lunH 'sport = :53' | grep -q . && break; sleep 0.05; done
is "$(python3 -c 'import socket; print(socket.getaddrinfo("nx.test", 80, socket.AF_INET)[0][4][0])' 2>&1)" 127.0.0.1 \
	"the control: with this resolv.conf, getaddrinfo turns nx.test into nx.test.corp"
out=$(in_session 'curl -sS -i http://nx.test:8080/hello.txt')
unlike "$out" 'hello from outside' "the proxy does not: nx.test (allowed, even to private addresses) is not reached"
like "$out" '^HTTP/1.1 50[24] ' "  ... the name does not resolve: $(printf '%s' "$out" | head -1)"
printf '' >/etc/resolv.conf

# No way around the proxy.
out=$(in_session 'curl -sS --noproxy "*" --max-time 10 http://allowed.test:8080/hello.txt; echo "rc=$?"')
like "$out" 'rc=7' "a direct connect without the proxy fails (nothing listens in the sandbox's namespace)"
out=$(in_session 'ip -o link | cut -d: -f2 | tr -d " \n"')
is "$out" "lo" "  ... whose only interface is lo"

# Every connection, allowed or not, in syslog with the session name ...
syslog_like 'session=[a-z-]+: net: http allowed\.test port 8080 allow \(proxy_allow allowed\.test\) up=[1-9][0-9]* down=[1-9][0-9]* ms=[0-9]+' \
	"syslog: an allowed connection with session, host, port, rule, bytes, duration"
syslog_like 'session=[a-z-]+: net: connect denied\.test port 8443 deny \(proxy_deny denied\.test\)' \
	"syslog: a refused CONNECT with its rule"
syslog_like 'session=[a-z-]+: net: socks rebind\.wild\.test port 8080 deny \(loopback address' \
	"syslog: a refused SOCKS connection with its rule"
# ... and in the events of its session.
n=$(sql "SELECT count(*) FROM events WHERE kind = 'net' AND detail LIKE 'socks allowed.test port 8080 allow%'")
is "$n" 1 "events: the SOCKS connection to allowed.test, kind net"
n=$(sql "SELECT count(*) FROM events e JOIN sessions s ON s.name = e.session WHERE e.kind = 'net' AND e.detail LIKE 'http denied.test port 8080 deny (proxy_deny denied.test)%'")
is "$n" 1 "events: the refusal of denied.test, under its session"

# 1 GiB through the proxy, byte for byte (pseudo-random, not zeros: a
# reordering would show).
head -c $((1 << 30)) /dev/urandom >"$NET_WWW/big"
want=$(sha256sum <"$NET_WWW/big" | cut -d' ' -f1)
got=$(in_session 'curl -sS http://allowed.test:8080/big | sha256sum' | cut -d' ' -f1)
is "$got" "$want" "1 GiB through the HTTP proxy arrives byte-identical"
got=$(in_session 'curl -sS -x "" --socks5-hostname 127.0.0.1:1080 http://allowed.test:8080/big | sha256sum' | cut -d' ' -f1)
is "$got" "$want" "  ... and through SOCKS5"
rm -f "$NET_WWW/big"
syslog_like "net: http allowed\.test port 8080 allow \(proxy_allow allowed\.test\) up=[0-9]+ down=10737[0-9]{5} " \
	"syslog: the download's bytes (1 GiB and the headers)"

# Logout leaves nothing of the proxy.
is "$(proxy_procs)" 0 "after logout no proxy process remains"
is "$(proxy_dirs)" 0 "  ... and no socket directory"

# Fail closed: no proxy, no login.
net_config
echo "[network]" >>/etc/ephemera/ephemera.conf
echo "proxy_user = nosuchuser" >>/etc/ephemera/ephemera.conf
out=$(in_session 'echo SHELL-RAN')
like "$out" 'network = proxy: proxy_user nosuchuser: no such user' "a proxy that cannot start refuses the login"
fails "  ... and runs nothing" grep -q SHELL-RAN <<<"$out"
# Where the install put it: /usr/local/libexec (make install) or /usr/libexec (the .deb).
np=$(ls /usr/local/libexec/ephemera/ephemera-netproxy /usr/libexec/ephemera/ephemera-netproxy 2>/dev/null | head -n 1)
ok "the proxy binary is installed (${np:-none})" test -n "$np"
mv "$np" "$np.away"
net_config
out=$(in_session 'echo SHELL-RAN')
like "$out" 'the proxy did not start' "a missing proxy binary refuses the login"
fails "  ... and runs nothing" grep -q SHELL-RAN <<<"$out"
mv "$np.away" "$np"
is "$(proxy_procs) $(proxy_dirs)" "0 0" "  ... and leaves nothing behind"

done_testing
