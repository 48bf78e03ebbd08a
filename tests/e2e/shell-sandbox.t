#!/bin/bash
# What a session sees from inside (issue 3 "Tests"): the probe runs in a
# session entered with `su - agent-session -c`, and -- so that every assertion
# can fail -- the same probe runs outside, as an ordinary user, where the
# value must be different.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

port=2222 # sshd of testenv listens here, outside any session
ip link add testenv0 type veth peer name testenv1 # interfaces of the host's (testenv's) namespace
inside=$(su - agent-session -c "ephemera-probe $port" 2>&1)
# Baselines: an ordinary user, and root in throwaway namespaces (process checks
# only: root must not write to the host's files).
plain=$(setpriv --reuid=plainuser --regid=plainuser --init-groups ephemera-probe $port 2>&1)
root=$(unshare --mount --pid --fork --mount-proc --ipc --uts \
	setpriv --inh-caps +net_raw --ambient-caps +net_raw ephemera-probe --process-only 2>&1)
get() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }
# check KEY WANT DESC [root]: inside must be WANT; outside (as plainuser, or as
# root with "root") it must not be.
check() {
	local in out
	in=$(get "$inside" "$1")
	if [ "${4:-}" = root ]; then out=$(get "$root" "$1"); else out=$(get "$plain" "$1"); fi
	is "$in" "$2" "$3"
	if [ "$out" = "$2" ]; then
		_report 1 "  ... and outside the sandbox $1 is not $2 (the check can fail)"
		echo "#   outside: '$out'"
	else
		_report 0 "  ... and outside the sandbox $1 is '$out', so the check can fail"
	fi
}

name=$(sql "SELECT name FROM sessions ORDER BY rowid DESC LIMIT 1")
uid=$(sql "SELECT uid FROM sessions WHERE name = '$name'")
owner_uid=$(id -u agent-session)
ids=$(get "$inside" uid)
is "$ids" "$uid,$uid,$uid" "real, effective and saved uid are the session's"
ok "the session's uid is neither 0 nor the owner's" test "$uid" != 0 -a "$uid" != "$owner_uid"
is "$(get "$inside" gid)" "$uid,$uid,$uid" "gids are the session's"
check groups 0 "no supplementary groups"
check setuid0 EPERM "setuid(0) fails" root
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	check "status.$cap" 0000000000000000 "$cap is empty" root
done
check status.NoNewPrivs 1 "no_new_privs is set"
check status.Seccomp 2 "a seccomp filter is on"

# The deny list (shell/seccomp.c); ENOSYS where the policy says so.
for s in mount umount2 pivot_root chroot unshare_user unshare_ns setns keyctl add_key \
	request_key bpf perf_event_open init_module finit_module delete_module kexec_load reboot \
	swapon acct settimeofday clock_settime open_by_handle_at userfaultfd io_uring_setup \
	clone_newuser clone_newuser_hi socket_vsock socket_vsock_hi personality_rie tiocsti \
	tiocsti_hi tioclinux tiocsetd; do
	check "sys.$s" EPERM "$s fails with EPERM" root
done
check sys.clone3 ENOSYS "clone3 answers ENOSYS (libc falls back to clone, which is inspected)" root
check sys.unknown_462 ENOSYS "a syscall newer than the build (mseal, 462) answers ENOSYS" root
check int80 signal31 "an int 0x80 call kills the child that made it (SIGSYS)" root
is "$(printf '%s\n' "$inside" | tail -n 1 | cut -d= -f1)" "home" "... and only that child: the probe ran on"

check net.interfaces lo "only lo in /proc/net/dev"
check net.connect ECONNREFUSED "a connect to a port the host listens on fails"
procs=$(get "$inside" procs)
ok "ps sees only the sandbox ($procs processes)" test "$procs" -le 3
ok "  ... and outside many more ($(get "$plain" procs))" test "$(get "$plain" procs)" -gt 3
is "$(get "$inside" read.shadow)" EACCES "/etc/shadow is unreadable"
check shadow.size 0 "  ... and masked by an empty file"
check home_entries -1 "/home is absent"
check write.usr EROFS "writing /usr fails with EROFS"
check write.etc EROFS "writing /etc fails with EROFS"
check write.rootdir EROFS "the root directory is read-only"
is "$(get "$inside" write.home)" OK "\$HOME is writable"
is "$(get "$inside" write.output)" OK "mnt/output is writable"
is "$(get "$inside" write.upload)" EROFS "mnt/upload is read-only inside"
is "$(get "$inside" home)" "/sessions/$name" "HOME is /sessions/<name>"
is "$(get "$inside" user)" "$name" "USER is the session's name"
check hostname ephemera "the hostname is the sandbox's"

# /etc/passwd names the transient user and little else.
pw=$(su - agent-session -c 'cat /etc/passwd')
like "$pw" "^root:.*
$name:x:$uid:$uid:ephemera session:/sessions/$name:/bin/bash
nobody:" "generated /etc/passwd names the session user"
ok "  ... and not the host's accounts" sh -c "! printf '%s' \"\$1\" | grep -q plainuser" _ "$pw"
ok "  ... which the host's /etc/passwd has" grep -q plainuser /etc/passwd

# Private /tmp; no other session visible; a home for each.
su - agent-session -c 'echo x >/tmp/marker-inside' 
ok "a file in the session's /tmp is not in the host's /tmp" test ! -e /tmp/marker-inside
other=$(ephemeractl alloc --owner root)
out=$(su - agent-session -c "ls /sessions/$other 2>&1; ls /sessions 2>&1")
like "$out" "No such file or directory" "another session's home is not even there"

# Exit status propagation and a hostile environment.
su - agent-session -c 'exit 7'
is "$?" 7 "exit 7 inside gives 7 outside"
su - agent-session -c 'kill -TERM $$'
is "$?" 143 "a shell killed by SIGTERM gives 128+15"
# Signals sent to the launcher (sshd's SIGHUP at a hangup, an admin's
# SIGTERM) reach the session: the launcher forwards them to pid 1 through a
# pidfd (launcher.c), pid 1 to the shell.
su - agent-session -c 'trap "echo got-hup >mnt/output/sig; exit 9" HUP; touch .ready; sleep 30 & wait' &
sigsu=$!
sname=$(ready_session)
kill -HUP "$(sql "SELECT leader_pid FROM sessions WHERE name = '$sname'")"
wait "$sigsu"
is "$?" 9 "a SIGHUP sent to the launcher reaches the shell's trap (exit 9)"
like "$(cat "/sessions/$sname/mnt/output/sig" 2>&1)" '^got-hup$' "  ... which ran inside the session"
envout=$(env BASH_ENV=/tmp/evil FOO=bar LANG=C.UTF-8 su agent-session -c env)
ok "caller's BASH_ENV and FOO do not reach the session" sh -c "! printf '%s' \"\$1\" | grep -qE '^(BASH_ENV|FOO)='" _ "$envout"
like "$envout" "LANG=C.UTF-8" "  ... while LANG does"
like "$(sql "SELECT state || ' ' || exit_status FROM sessions WHERE name = '$name'")" '^(closed|reaping|reaped) 0$' \
	"the session is recorded ended, with its exit status"
done_testing
