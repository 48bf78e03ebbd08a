# Sourced by the net-*.t tests after lib.sh and enter_testenv: servers on
# 127.0.0.1 of testenv, outside every sandbox, named through testenv's own
# /etc/hosts (a copy), and the proxy's configuration.
#
#   allowed.test, denied.test, exact.test, rebind.wild.test, other.test -> 127.0.0.1
#   :8080 and :8443 plain HTTP (tests/helpers/net-server.py) serving $NET_WWW,
#   :9999 another one, on a port the proxy does not allow.

NET_WWW=/var/tmp/net-www
mkdir -p "$NET_WWW"
echo "hello from outside" >"$NET_WWW/hello.txt"
echo "127.0.0.1 allowed.test denied.test exact.test rebind.wild.test other.test" >>/etc/hosts

net_servers() {
	"$EPHEMERA_REPO/tests/helpers/net-server.py" "$NET_WWW" 8080 8443 9999 >/dev/null 2>&1 &
	local i
	for i in $(seq 100); do
		[ "$(ss -ltnH '( sport = :8080 or sport = :8443 or sport = :9999 )' | wc -l)" = 3 ] &&
			return 0
		sleep 0.05
	done
	echo "# the test servers did not start" >&2
	return 1
}

# sandbox_config [KEY = VALUE]...: the test config with these [sandbox] lines.
sandbox_config() {
	{
		echo "[gateway]"
		echo "accounts = agent-session"
		echo "[allocator]"
		echo "max_sessions_per_owner = 1000"
		echo "[sandbox]"
		local kv
		for kv in "$@"; do echo "$kv"; done
	} >/etc/ephemera/ephemera.conf
}

# net_config [KEY = VALUE]...: network = proxy with the tests' policy, plus
# any extra [sandbox] lines.
net_config() {
	sandbox_config "network = proxy" \
		"proxy_allow = allowed.test, denied.test, exact.test, nx.test, *.wild.test" \
		"proxy_allow_private = allowed.test, denied.test, nx.test" \
		"proxy_deny = denied.test" "proxy_ports = 8080, 8443" "$@"
}

# in_session CMD: runs CMD in a fresh session, prints its output.
in_session() { su - agent-session -c "$1" 2>&1; }

# proxy_gone: no proxy process and no socket directory are left.
proxy_procs() { pgrep -x ephemera-netpro | wc -l; }
proxy_dirs() { find /run/ephemera/net -mindepth 1 2>/dev/null | wc -l; }
