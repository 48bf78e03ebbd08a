#!/bin/bash
# The owner attacks its own launcher (issue 3, "Distrust of the caller"): the
# launcher is setuid root with the owner's real uid, so without PR_SET_DUMPABLE
# 0 the owner could ptrace it or read its memory (bubblewrap CVE-2016-8659).
# Each attack is also run against a process the owner may attack, to show the
# same attack succeeds where it is allowed.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

as_owner() { setpriv --reuid=agent-session --regid=agent-session --init-groups "$@"; }
get() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }

# Control: the owner attacking a process of its own works.
control=$(as_owner ephemera-attack self)
for k in ptrace process_vm_readv proc_mem; do
	is "$(get "$control" "attack.$k")" OK "control: the owner can $k its own child"
done

# The launcher and pid 1 of a running session.
su - agent-session -c 'sleep 30' &
for i in $(seq 50); do
	leader=$(sql "SELECT leader_pid FROM sessions WHERE state = 'active' LIMIT 1" 2>/dev/null)
	[ -n "$leader" ] && break
	sleep 0.1
done
pid1=$(pgrep -P "$leader" | head -n 1)
ok "a session is running (launcher $leader, pid 1 $pid1)" test -n "$leader" -a -n "$pid1"
out=$(as_owner ephemera-attack "$leader")
for k in ptrace process_vm_readv proc_mem; do
	like "$(get "$out" "attack.$k")" '^(EPERM|EACCES)$' "the owner cannot $k the launcher"
done
out=$(as_owner ephemera-attack "$pid1")
for k in ptrace process_vm_readv proc_mem; do
	like "$(get "$out" "attack.$k")" '^(EPERM|EACCES)$' "the owner cannot $k the sandbox's pid 1"
done
# Review finding 6: with the owner's real uid the launcher could be stopped
# by the owner (SIGSTOP cannot be caught) while it holds lckpwdf or the
# database's write lock, stopping every login.  Its ids are all root's now.
is "$(awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$leader/status")" "0 0 0" "the launcher's real, effective and saved uid are root's"
out=$(as_owner kill -STOP "$leader" 2>&1); rc=$?
like "$rc $out" '^[1-9].*(not permitted|EPERM)' "the owner cannot SIGSTOP the launcher"
is "$(awk '/^State:/ { print $2 }' "/proc/$leader/status")" S "  ... which keeps running (state S)"
kill -CONT "$leader" # should the attack have worked: fail, do not hang
setpriv --reuid=agent-session --regid=agent-session --init-groups sleep 30 &
own=$!
sleep 0.1
ok "control: the owner can SIGSTOP a process of its own" as_owner kill -STOP "$own"
kill -9 "$own"
kill "$leader"
wait

# Inside: the session's processes cannot attack their pid 1 (not dumpable),
# and can debug their own children (gdb, strace keep working).
inside=$(su - agent-session -c 'ephemera-attack 1; ephemera-attack self')
like "$(printf '%s\n' "$inside" | sed -n 1,3p | tr '\n' ' ')" \
	'attack.process_vm_readv=EPERM attack.proc_mem=(EPERM|EACCES) attack.ptrace=EPERM' \
	"inside, pid 1 cannot be read or traced"
like "$(printf '%s\n' "$inside" | sed -n 4,6p | tr '\n' ' ')" \
	'attack.process_vm_readv=OK attack.proc_mem=OK attack.ptrace=OK' \
	"inside, a process can trace its own child"

# The race: attack every launcher the moment it appears, during setup.
as_owner ephemera-attack watch ephemera-shell 6 >/tmp/watch &
watcher=$!
sleep 0.3
for i in $(seq 15); do su - agent-session -c true; done
wait "$watcher"
w=$(cat /tmp/watch)
ok "the watcher saw launchers during setup ($(get "$w" watch.tried))" test "$(get "$w" watch.tried)" -gt 0
is "$(get "$w" watch.succeeded)" 0 "no attack on a launcher in setup succeeded"

# An fd the caller leaves open does not reach the session; closed stdio is
# replaced, not reused for our own files.
echo secret >/tmp/secret
chmod 0644 /tmp/secret
fds=$(as_owner sh -c 'exec 9</tmp/secret; '"$EPHEMERA_SHELL_BIN"' -c "ls /proc/self/fd"')
like "$(echo $fds)" '^0 1 2 3$' "only 0-2 (and ls's own dir fd) reach the session"
ctl=$(as_owner sh -c 'exec 9</tmp/secret; ls /proc/self/fd')
like "$(echo $ctl)" ' 9( |$)' "  ... while without ephemera-shell fd 9 is inherited"
out=$(as_owner "$EPHEMERA_SHELL_BIN" -c 'stat -L -c %t:%T /proc/self/fd/0' <&-)
# glibc opens /dev/full (1:7) for a setuid program's closed stdin; our own
# check would open /dev/null (1:3).  Either way no file of ours lands on fd 0.
like "$out" '^1:(3|7)$' "a closed stdin is a null device, not one of our files"
# A directory as stdin would be a door out of the sandbox (/proc/self/fd/0/
# resolves in the host's tree): refused before anything is allocated.
before=$(sql "SELECT count(*) FROM sessions")
out=$(as_owner "$EPHEMERA_SHELL_BIN" -c 'ls /proc/self/fd/0/ && echo ESCAPED' 0</ 2>&1); rc=$?
like "$rc $out" '^1 ephemera-shell: refusing a directory as standard input or output$' "a directory on stdin is refused"
is "$(sql "SELECT count(*) FROM sessions")" "$before" "  ... before any session is allocated"
as_owner "$EPHEMERA_SHELL_BIN" -c 'ls /proc/self/fd/1/ >&2' 1</etc 2>/tmp/stdout-dir.err
like "$(cat /tmp/stdout-dir.err)" 'refusing a directory' "  ... and on stdout"
ctl=$(as_owner sh -c 'ls /proc/self/fd/0/ | head -n 3' 0</)
ok "  ... while without ephemera-shell the same fd lists the host's root" test -n "$ctl"
# The session cannot open its home to other local users (review finding 5):
# the home is root's, the session writes through an ACL entry, and only an
# inode's owner may chmod it or change its ACL.  What the session opens below
# its home stays unreachable.  Control: the same chmod on a directory the
# session owns (mnt) works, so a failure below is the gate, not the test.
su - agent-session -c '
	chmod 0777 ~ 2>/dev/null; echo "chmod.home=$?"
	setfacl -m o::rwx ~ 2>/dev/null; echo "setfacl.home=$?"
	chmod 0777 ~/mnt; echo "chmod.mnt=$?"
	mkdir ~/open && chmod 0777 ~/open && echo secret >~/open/f && chmod 0666 ~/open/f
	touch ~/.ready; for i in $(seq 100); do [ -e ~/.go ] && break; sleep 0.1; done' >/tmp/gate.out 2>&1 &
gate=$!
gname=$(ready_session)
ok "a session opened what it could ($gname)" test -e "/sessions/$gname/.ready"
as_plain() { setpriv --reuid=plainuser --regid=plainuser --init-groups "$@"; }
out=$(cat /tmp/gate.out)
like "$out" 'chmod\.home=[1-9]' "the session cannot chmod its home"
like "$out" 'setfacl\.home=[1-9]' "the session cannot change its home's ACL"
like "$out" 'chmod\.mnt=0' "control: it can chmod a directory it owns (mnt)"
is "$(stat -c %a "/sessions/$gname/open")" 777 "control: below its home it made a directory 0777"
fails "another local user cannot read the 0777 directory's file" as_plain cat "/sessions/$gname/open/f"
fails "... nor write into it" as_plain touch "/sessions/$gname/open/x"
fails "... nor enter the session's mnt it made 0777" as_plain ls "/sessions/$gname/mnt"
touch "/sessions/$gname/.go"
wait "$gate"

done_testing
