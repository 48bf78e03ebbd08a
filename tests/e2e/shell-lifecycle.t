#!/bin/bash
# A session's life and its refusals (shell/launcher.h S1, S2; fail closed):
# SIGKILL of the launcher leaves no process of the transient user; callers and
# hosts that cannot get a full sandbox get nothing, with one clear line.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

latest() { sql "SELECT name FROM sessions ORDER BY rowid DESC LIMIT 1" 2>/dev/null; }
procs_of() { ps -e -o uid= | awk -v u="$1" '$1 == u' | wc -l; }

# S2: kill -9 the launcher; pid 1 dies with it, and the kernel kills the rest.
su - agent-session -c 'sleep 300 & sleep 300' &
supid=$!
for i in $(seq 50); do
	name=$(latest)
	[ -n "$name" ] && uid=$(sql "SELECT uid FROM sessions WHERE name = '$name'") &&
		[ "$(procs_of "$uid")" -ge 2 ] && break
	sleep 0.1
done
leader=$(sql "SELECT leader_pid FROM sessions WHERE name = '$name'")
ok "the session runs processes as its uid ($(procs_of "$uid"))" test "$(procs_of "$uid")" -ge 2
ok "the leader pid is recorded and alive" kill -0 "$leader"
kill -9 "$leader"
for i in $(seq 50); do [ "$(procs_of "$uid")" = 0 ] && break; sleep 0.1; done
is "$(procs_of "$uid")" 0 "after SIGKILL of the launcher no process of the transient uid is left"
wait "$supid" 2>/dev/null

# Without PAM (the shell run directly), the shell allocates its own session
# and starts the reaper itself when it ends.
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups "$EPHEMERA_SHELL_BIN" -c 'echo kept >mnt/output/k; echo RAN')
is "$out" RAN "run directly, the shell allocates a session of its own"
own=$(latest)
for i in $(seq 50); do [ "$(sql "SELECT state FROM sessions WHERE name = '$own'")" = reaped ] && break; sleep 0.1; done
is "$(sql "SELECT state || ' ' || exit_status FROM sessions WHERE name = '$own'")" "reaped 0" \
	"  ... and it is reaped when the shell ends, with its exit status"
is "$(cat "/sessions/$own/mnt/output/k" 2>&1)" kept "  ... keeping its output"

# A sessions directory deeper than one level (the sandbox makes every parent).
mkdir -p /var/lib/ephemera-deep/sessions
mount --bind /var/lib/ephemera-deep/sessions /var/lib/ephemera-deep/sessions
mount -o remount,bind,nosuid,nodev /var/lib/ephemera-deep/sessions
cp /etc/ephemera/ephemera.conf /tmp/conf.before-deep
sed -i 's|^\[allocator\]|[allocator]\nsessions_dir = /var/lib/ephemera-deep/sessions|' /etc/ephemera/ephemera.conf
out=$(su - agent-session -c 'pwd' 2>&1)
like "$out" '^/var/lib/ephemera-deep/sessions/[a-z]+-[a-z]+-[a-z]+$' "a nested sessions_dir works (home $out)"
cp /tmp/conf.before-deep /etc/ephemera/ephemera.conf

# A caller that is not a gateway account is refused, nothing started.
before=$(sql "SELECT count(*) FROM sessions")
out=$(setpriv --reuid=plainuser --regid=plainuser --init-groups "$EPHEMERA_SHELL_BIN" -c 'echo RAN' 2>&1); rc=$?
like "$rc $out" "^1 ephemera-shell: plainuser is not an ephemera gateway account$" "a non-gateway caller is refused in one line"
is "$(sql "SELECT count(*) FROM sessions")" "$before" "  ... and no session was allocated"

# Run directly (not setuid, e.g. a copy), it refuses rather than run unsandboxed.
cp "$EPHEMERA_SHELL_BIN" /tmp/copy-shell; chmod 0755 /tmp/copy-shell
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups /tmp/copy-shell -c 'echo RAN' 2>&1)
like "$out" "not installed setuid root" "without the setuid bit it refuses (no fallback)"

# Bad arguments: refused with the argument named.
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups "$EPHEMERA_SHELL_BIN" --frobnicate 2>&1)
like "$out" "unexpected argument '--frobnicate'" "an unknown argument is refused and named"
big=$(head -c 100000 /dev/zero | tr '\0' x)
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups "$EPHEMERA_SHELL_BIN" -c "$big" "$big" "$big" 2>&1)
like "$out" "too many or too long arguments" "oversized arguments (300 KB) are refused"
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups "$EPHEMERA_SHELL_BIN" -l -l -l -l -l -l -l -l 2>&1)
like "$out" "too many or too long arguments" "too many arguments are refused"
ok "--version works without a session" sh -c 'setpriv --reuid=agent-session --regid=agent-session --init-groups '"$EPHEMERA_SHELL_BIN"' --version | grep -q "^ephemera-shell "'

# A corrupt config: refused before anything is allocated.
cp /etc/ephemera/ephemera.conf /tmp/conf.good
printf '[gateway]\naccounts = agent-session\n[allocator]\nuid_min = banana\n' >/etc/ephemera/ephemera.conf
before=$(sql "SELECT count(*) FROM sessions")
out=$(su - agent-session -c 'echo RAN' 2>&1); rc=$?
like "$rc" "^1$" "a corrupt config refuses the login"
syslog_like "pam_ephemera.*config: /etc/ephemera/ephemera.conf:4: uid_min must be a number" \
	"  ... and syslog names the file and the line"
out=$(setpriv --reuid=agent-session --regid=agent-session --init-groups "$EPHEMERA_SHELL_BIN" -c 'echo RAN' 2>&1)
like "$out" "config: /etc/ephemera/ephemera.conf:4: uid_min must be a number" "  ... as does the shell itself, on stderr"
ok "  ... and nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q RAN" _ "$out"
is "$(sql "SELECT count(*) FROM sessions")" "$before" "  ... and no session was allocated"
# EPHEMERA_CONF from the caller is not honoured by the setuid shell.
printf '[gateway]\naccounts = plainuser\n' >/tmp/evil.conf
out=$(setpriv --reuid=plainuser --regid=plainuser --init-groups env EPHEMERA_CONF=/tmp/evil.conf "$EPHEMERA_SHELL_BIN" -c 'echo RAN' 2>&1)
like "$out" "config: /etc/ephemera/ephemera.conf" "EPHEMERA_CONF from the caller is ignored"
cp /tmp/conf.good /etc/ephemera/ephemera.conf

# A real shell that cannot be exec'd: the session fails, nothing else runs.
printf '[sandbox]\nshell = /nonexistent/shell\n' >>/etc/ephemera/ephemera.conf
out=$(su - agent-session -c 'echo RAN' 2>&1); rc=$?
like "$rc $out" "^1 .*exec /nonexistent/shell: No such file or directory" "a missing real shell fails closed"
is "$(sql "SELECT state FROM sessions ORDER BY rowid DESC LIMIT 1")" failed "  ... and the session is marked failed"
like "$(sql "SELECT detail FROM events WHERE kind = 'reason' ORDER BY id DESC LIMIT 1")" "exec /nonexistent/shell" \
	"  ... with the reason in its events"
cp /tmp/conf.good /etc/ephemera/ephemera.conf

# A full sessions disk: refused, nothing started.
mount -t tmpfs -o size=256k,nr_inodes=32,mode=0711,nosuid,nodev full /sessions
dd if=/dev/zero of=/sessions/fill bs=4k 2>/dev/null
for i in $(seq 40); do : 2>/dev/null >"/sessions/f$i" || break; done
out=$(su - agent-session -c 'echo RAN' 2>&1); rc=$?
like "$rc $out" "^1 su: cannot open session" "a full sessions disk refuses the login"
syslog_like "pam_ephemera.*refusing the login of agent-session: .*No space left on device" \
	"  ... with the reason in syslog"
ok "  ... and nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q RAN" _ "$out"
umount /sessions

done_testing
