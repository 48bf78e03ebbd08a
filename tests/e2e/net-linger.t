#!/bin/bash
# network = proxy with sessions longer than one login (issues 8 and 10): the
# proxy lives as long as the sandbox's pid 1, not as the first login, so a
# login that attaches to a lingering session still has its network; when
# pid 1 is gone, so are the proxy, its recorder and its socket directory.
# And the forwarder inside holds no fd of pid 1's.  Checked by mutation: with
# the proxy tied to the first launcher again (net_proxy_stop at the end of
# the first login), the attached curl fails; with the forwarder closing only
# pid 1's two pipes, it holds 5 more fds.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"
. "$(dirname "$0")/net-lib.sh"
net_servers || exit 1
net_config "linger = 20s"

read -r -a ssh_words <<<"$EPHEMERA_SSH"
SSH_OPTS=("${ssh_words[@]:1:${#ssh_words[@]}-2}")
DEST=${ssh_words[-1]}
attach() { local n=$1; shift; timeout 60 ssh "${SSH_OPTS[@]}" -o SetEnv=EPHEMERA_ATTACH="$n" "$DEST" "$@"; }

out=$(timeout 60 $EPHEMERA_SSH 'echo "$EPHEMERA_SESSION"; curl -sS http://allowed.test:8080/hello.txt' 2>&1)
n=$(printf '%s\n' "$out" | head -1)
is "$(printf '%s\n' "$out" | sed -n 2p)" "hello from outside" "a first ssh reaches allowed.test through the proxy ($n)"
like "$(state_of "$n")" '^(active|closed)$' "  ... and its session lingers after it"
ok "  ... with its proxy still running" test "$(proxy_procs)" -ge 1
is "$(attach "$n" 'curl -sS http://allowed.test:8080/hello.txt' 2>&1)" "hello from outside" \
	"a login attached to the lingering session has the network too"
is "$(attach "$n" 'curl -sS -i http://denied.test:8080/ | grep -i ^x-ephemera-rule' 2>&1 | tr -d '\r')" \
	"X-Ephemera-Rule: proxy_deny denied.test" "  ... under the same policy"

# The forwarder: pid 1's child that is not a shell; its fds, from the host.
uid=$(uid_of "$n")
fwd=
for p in $(pgrep -u "$uid" -x ephemera-shell); do
	pp=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
	[ "$(stat -c %u "/proc/$pp" 2>/dev/null)" = "$uid" ] && fwd=$p
done
ok "the forwarder runs, as the session's user ($fwd)" test -n "$fwd"
fds=$(ls "/proc/$fwd/fd" 2>/dev/null | sort -n)
is "$(echo $fds | wc -w)" 6 "  ... holding its stdio and its 3 sockets, no fd of pid 1's ($(echo $fds))"
is "$(for f in $fds; do [ "$f" -gt 2 ] && readlink "/proc/$fwd/fd/$f"; done | grep -vc '^socket:')" 0 \
	"  ... (every fd above 2 is a socket)"

ok "after the linger the session is reaped" wait_state "$n" reaped 600
for i in $(seq 100); do [ "$(proxy_procs)$(proxy_dirs)" = 00 ] && break; sleep 0.1; done
is "$(proxy_procs) $(proxy_dirs)" "0 0" "  ... and its proxy and socket directory are gone"
is "$(sql "SELECT count(*) FROM events WHERE session = '$n' AND kind = 'net'")" 3 \
	"  ... after recording all 3 connections, the attached logins' included"
done_testing
