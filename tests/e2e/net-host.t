#!/bin/bash
# network = none (the default) and network = host (issue 8).  none: only lo,
# no proxy, no proxy variables.  host: the host's network namespace, where
# the host's abstract AF_UNIX sockets answer, so seccomp refuses AF_UNIX
# sockets unless allow_unix = yes; allow_unix = yes is the control that
# shows the same connect succeeds without the rule.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"
. "$(dirname "$0")/net-lib.sh"
net_servers || exit 1

# An abstract socket of the host, answering one line to whoever connects.
python3 -c '
import socket
s = socket.socket(socket.AF_UNIX)
s.bind("\0ephemera-test-abstract")
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(b"host abstract socket\n")
    c.close()
' &
for i in $(seq 50); do grep -q '@ephemera-test-abstract' /proc/net/unix && break; sleep 0.05; done
probe='import socket
s = socket.socket(socket.AF_UNIX)
s.connect("\0ephemera-test-abstract")
print(s.recv(100).decode().strip())'
pair='import socket; a, b = socket.socketpair(); print("pair ok")'

# none
sandbox_config
is "$(in_session 'ip -o link | cut -d: -f2 | tr -d " \n"')" "lo" "network = none: only lo"
is "$(in_session 'env | grep -ci _proxy=')" "0" "  ... no proxy variables"
out=$(in_session 'curl -sS --max-time 10 http://127.0.0.1:8080/hello.txt; echo "rc=$?"')
like "$out" 'rc=7' "  ... the host's servers are out of reach"
out=$(in_session "python3 -c '$probe'")
like "$out" 'ConnectionRefusedError|FileNotFoundError' "  ... and so are the host's abstract sockets (another namespace)"
is "$(proxy_procs)" 0 "  ... and no proxy ran"

# host
sandbox_config "network = host"
is "$(in_session 'curl -sS --max-time 10 http://127.0.0.1:8080/hello.txt')" "hello from outside" \
	"network = host: the host's network (a server on the host's 127.0.0.1)"
is "$(in_session 'env | grep -ci _proxy=')" "0" "  ... no proxy variables"
out=$(in_session "python3 -c '$probe'")
like "$out" 'PermissionError' "  ... socket(AF_UNIX) is refused: the host's abstract socket is out of reach"
out=$(in_session "python3 -c '$pair'")
like "$out" 'PermissionError' "  ... and socketpair(AF_UNIX)"
out=$(in_session 'python3 -c "import socket; socket.socket(socket.AF_INET6); print(\"inet ok\")"')
like "$out" 'inet ok' "  ... other families are not"
is "$(proxy_procs)" 0 "  ... and no proxy ran"

sandbox_config "network = host" "allow_unix = yes"
is "$(in_session "python3 -c '$probe'")" "host abstract socket" \
	"network = host, allow_unix = yes: the control, the same connect reaches the host's socket"
is "$(in_session "python3 -c '$pair'")" "pair ok" "  ... and socketpair works"

done_testing
