#!/bin/bash
# One PAM session, many shells (issue 10, "Join"): the channels of one ssh
# ControlMaster connection enter one sandbox -- same pid 1, /tmp and
# processes -- sftp beside a running shell writes where that shell reads, a
# joined shell has exactly the first shell's privileges (the probe), the
# session lives while its connection does and ends with it, and each defence
# of shell/join.h and shell/init.h is attacked.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

read -r -a ssh_words <<<"$EPHEMERA_SSH"
SSH_OPTS=("${ssh_words[@]:1:${#ssh_words[@]}-2}")
DEST=${ssh_words[-1]}
SFTP_OPTS=()
for ((i = 0; i < ${#SSH_OPTS[@]}; i++)); do
	if [ "${SSH_OPTS[i]}" = -p ]; then
		SFTP_OPTS+=(-P "${SSH_OPTS[i + 1]}")
		i=$((i + 1))
	else
		SFTP_OPTS+=("${SSH_OPTS[i]}")
	fi
done
work=$(mktemp -d /tmp/join-channels.XXXXXX)
chmod 0755 "$work"
bg=()
cleanup() {
	local p c
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
	for c in "$work"/cm.*; do [ -S "$c" ] && ssh -o ControlPath="$c" -O exit "$DEST" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# master CM: a ControlMaster connection, no command (PAM opens its session)
master() {
	ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -o ControlPath="$work/$1" -o ControlPersist=300 \
		-fN "$DEST"
}
# chan CM CMD: one more channel over it
chan() { local cm=$1; shift; ssh "${SSH_OPTS[@]}" -o ControlMaster=no -o ControlPath="$work/$cm" "$DEST" "$@"; }
# newest_sshd ROWID: the first sshd session after ROWID (its PAM open may
# come a moment after ssh -f returns), within 5 s
newest_sshd() {
	local i n
	for i in $(seq 50); do
		n=$(sql "SELECT name FROM sessions WHERE rowid > $1 AND service = 'sshd' ORDER BY rowid LIMIT 1" 2>/dev/null)
		[ -n "$n" ] && { echo "$n"; return 0; }
		sleep 0.1
	done
}
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
wait_lines() { local i; for i in $(seq 100); do lines "$1" "$2" && return 0; sleep 0.1; done; return 1; }
procs_of() { ps -e -o uid= | awk -v u="$1" '$1 == u' | wc -l; }
open_logins() { sql "SELECT count(*) FROM logins WHERE session = '$1' AND ended_at IS NULL"; }
wait_logins() { local i; for i in $(seq 100); do [ "$(open_logins "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# ---- two channels of one connection: one sandbox ----
mark=$(last_rowid)
master cm.a
name=$(newest_sshd "$mark")
ok "a ControlMaster connection opens one PAM session ($name)" test -n "$name"
# A: its pid namespace, pid 1's start time, writes /tmp/x, waits to see B's
# process, then waits for /tmp/stop.
chan cm.a 'echo "$(readlink /proc/self/ns/pid) $(cut -d" " -f22 /proc/1/stat) $(id -u)"
	echo from-a >/tmp/x
	sleep 998 &
	for i in $(seq 100); do ps -eo args= | grep -qx "sleep 997" && { echo SAW-B; break; }; sleep 0.1; done
	while [ ! -e /tmp/stop ]; do sleep 0.1; done; kill $!' >"$work/a.out" 2>&1 &
bg+=($!)
wait_lines "$work/a.out" 1
chan cm.a 'echo "$(readlink /proc/self/ns/pid) $(cut -d" " -f22 /proc/1/stat) $(id -u)"
	cat /tmp/x
	sleep 997 &
	for i in $(seq 100); do ps -eo args= | grep -qx "sleep 998" && { echo SAW-A; break; }; sleep 0.1; done
	while [ ! -e /tmp/stop ]; do sleep 0.1; done; kill $!' >"$work/b.out" 2>&1 &
bg+=($!)
wait_lines "$work/a.out" 2
wait_lines "$work/b.out" 3
a1=$(sed -n 1p "$work/a.out")
b1=$(sed -n 1p "$work/b.out")
like "$a1" '^pid:\[[0-9]+\] [0-9]+ [0-9]+$' "channel A reports its pid namespace, pid 1's start time, its uid ($a1)"
is "$b1" "$a1" "channel B: the same pid namespace, the same pid 1 (start time), the same uid"
ok "  ... a transient uid" in_range "${a1##* }"
is "$(sed -n 2p "$work/b.out")" from-a "B reads the /tmp/x A wrote"
is "$(sed -n 3p "$work/b.out")" SAW-A "B sees A's process (ps: sleep 998)"
is "$(sed -n 2p "$work/a.out")" SAW-B "A sees B's process (ps: sleep 997)"
is "$(sql "SELECT count(*) FROM sessions WHERE rowid > $mark")" 1 "  ... and only one session was made"
is "$(open_logins "$name")" 2 "two logins are attached to it"
show=$(ephemeractl show "$name")
like "$show" "logins:
  sshd +[^ ]+ +127\.0\.0\.1 +since [0-9-]+ [0-9:]+
  sshd +[^ ]+ +127\.0\.0\.1 +since " "ephemeractl show lists both logins (service, tty, rhost, since)"
like "$(ephemeractl show --json "$name")" '"logins":\[\{"service":"sshd","tty":"[^"]*","rhost":"127.0.0.1","pid":[0-9]+,"since":[0-9]+,"ended_at":null\},\{' \
	"  ... and show --json has them"

# The defences, from inside a joined shell.
out=$(chan cm.a 'stat -c %U:%a /run/ephemera-life; ephemera-attack life /run/ephemera-life/socket; ls /proc/1/fd 2>&1 | head -1
	ls -l /proc/$$/fd | grep -cE "socket|pidfd|ephemera"; ps -eo user= | sort -u | tr "\n" " "')
is "$(sed -n 1p <<<"$out")" root:700 "I3: the life socket's directory is root's, 0700"
# (Checked: with the directory and socket opened to all, the same attack gets
# EOF -- pid 1 closes a peer whose uid is not 0 -- and with that check gone
# too, ACK: a session process would hold its session open.)
is "$(sed -n 2p <<<"$out")" attack.life=EACCES "  ... a session process cannot connect to the life socket to hold the session"
like "$(sed -n 3p <<<"$out")" "Permission denied" "  ... nor pid 1's fds (/proc/1/fd: pid 1 is not dumpable)"
is "$(sed -n 4p <<<"$out")" 0 "S3: a joined shell holds no socket, pidfd or database fd"
is "$(sed -n 5p <<<"$out")" "$name " "J3: only the session's user runs in the sandbox (the root launcher stays outside)"

# The probe in a joined shell gives what it gives in the first shell.
first=$(chan cm.a 'ephemera-probe 2222' 2>&1 | grep -vE '^(procs|tty)=')
plain=$(setpriv --reuid=plainuser --regid=plainuser --init-groups ephemera-probe 2222 2>&1 | grep -vE '^(procs|tty)=')
ok "the probe ran in a joined shell ($(wc -l <<<"$first") lines)" test "$(wc -l <<<"$first")" -gt 40
ref=$(su - agent-session -c 'ephemera-probe 2222' 2>&1 | grep -vE '^(procs|tty)=' | sed "s|/sessions/[a-z-]*|/sessions/NAME|; s|^user=.*|user=NAME|")
got=$(sed "s|/sessions/[a-z-]*|/sessions/NAME|; s|^user=.*|user=NAME|" <<<"$first")
is "$(diff <(echo "$ref") <(echo "$got") | grep '^[<>]' | grep -vE '^[<>] uid=|^[<>] gid=')" "" \
	"  ... every line but the ids equals the probe's in a first shell (su)"
ok "  ... and differs from an ordinary user's (the comparison can fail)" test "$plain" != "$got"
is "$(grep -E '^(status.Cap(Inh|Prm|Eff|Bnd|Amb)|status.NoNewPrivs|status.Seccomp|setuid0)=' <<<"$first" | tr '\n' ' ')" \
	"setuid0=EPERM status.CapInh=0000000000000000 status.CapPrm=0000000000000000 status.CapEff=0000000000000000 status.CapBnd=0000000000000000 status.CapAmb=0000000000000000 status.NoNewPrivs=1 status.Seccomp=2 " \
	"  ... no capability, no_new_privs, seccomp on, setuid(0) refused"

# The channels end; the connection lives, and so does the session.
chan cm.a 'touch /tmp/stop'
wait "${bg[0]}" "${bg[1]}"
ok "A and B have ended" wait_logins "$name" 0
is "$(chan cm.a 'cat /tmp/x; echo "$(readlink /proc/self/ns/pid) $(cut -d" " -f22 /proc/1/stat) $(id -u)"' | tr '\n' ' ')" \
	"from-a $a1 " "a later channel of the same connection still finds /tmp/x and the same pid 1"
state=$(state_of "$name")
like "$state" '^(active|closed)$' "  ... the session is not reaped while its connection lives ($state)"
ssh -o ControlPath="$work/cm.a" -O exit "$DEST" 2>/dev/null
ok "the connection closed, the session is reaped" wait_state "$name" reaped 300
is "$(procs_of "${a1##* }")" 0 "  ... and no process of its uid is left"

# ---- sftp beside a running interactive shell ----
echo "uploaded $RANDOM" >"$work/up.txt"
mark=$(last_rowid)
master cm.s
name=$(newest_sshd "$mark")
chan cm.s -tt 'for i in $(seq 300); do [ -e /tmp/up.txt ] && { echo "SEEN:$(cat /tmp/up.txt)"; exit 0; }; sleep 0.1; done; echo NOT-SEEN' \
	>"$work/s.out" 2>&1 &
sh_pid=$!
bg+=($sh_pid)
ok "an interactive shell (pty) runs in $name" wait_logins "$name" 1
printf 'put %s /tmp/up.txt\n' "$work/up.txt" >"$work/put.batch"
out=$(sftp "${SFTP_OPTS[@]}" -o ControlPath="$work/cm.s" -b "$work/put.batch" "$DEST" 2>&1); rc=$?
is "$rc" 0 "sftp over the same connection puts /tmp/up.txt"
wait "$sh_pid"
like "$(tr -d '\r' <"$work/s.out")" "^SEEN:$(cat "$work/up.txt")\$" "  ... and the running shell sees it at once"
printf 'put %s /tmp/other.txt\n' "$work/up.txt" >"$work/other.batch"
sftp "${SFTP_OPTS[@]}" -b "$work/other.batch" "$DEST" >/dev/null 2>&1
is "$(chan cm.s 'ls /tmp/other.txt 2>&1 >/dev/null | grep -c "No such file"')" 1 \
	"  ... while an sftp over another connection writes another session's /tmp (control)"
ssh -o ControlPath="$work/cm.s" -O exit "$DEST" 2>/dev/null
ok "  ... $name is reaped after the connection" wait_state "$name" reaped 300

# ---- a login's end is its own; the session's end is the last login's ----
mark=$(last_rowid)
master cm.k
name=$(newest_sshd "$mark")
chan cm.k 'exec sleep 300' >/dev/null 2>&1 &
bg+=($!)
ok "a first channel runs (sleep 300)" wait_logins "$name" 1
chan cm.k 'exec sleep 301' >/dev/null 2>&1 &
bg+=($!)
ok "  ... and a joined one (sleep 301)" wait_logins "$name" 2
uid=$(uid_of "$name")
first_launcher=$(sql "SELECT pid FROM logins WHERE session = '$name' ORDER BY id LIMIT 1")
joined_launcher=$(sql "SELECT pid FROM logins WHERE session = '$name' ORDER BY id DESC LIMIT 1")
# runs ARGS: a process of the session's uid has exactly this command line
# (pid 1, a clone of the launcher, shows the launcher's "-c exec sleep ...")
runs() { ps -u "$uid" -o args= | grep -qx "$1"; }
for i in $(seq 50); do runs 'sleep 301' && break; sleep 0.1; done
kill -9 "$joined_launcher"
for i in $(seq 50); do runs 'sleep 301' || break; sleep 0.1; done
fails "J4: SIGKILL of the joined launcher ends its shell (sleep 301 gone)" runs 'sleep 301'
ok "  ... and only it: the first shell runs on (sleep 300)" runs 'sleep 300'
kill -9 "$first_launcher"
for i in $(seq 50); do runs 'sleep 300' || break; sleep 0.1; done
fails "I5: SIGKILL of the first launcher ends the first shell (sleep 300 gone)" runs 'sleep 300'
is "$(chan cm.k 'echo still-here')" still-here "  ... while the connection holds the session: a new channel joins"
ssh -o ControlPath="$work/cm.k" -O exit "$DEST" 2>/dev/null
ok "  ... which ends with the connection: reaped" wait_state "$name" reaped 300
is "$(procs_of "$uid")" 0 "  ... no process of its uid left"

done_testing
