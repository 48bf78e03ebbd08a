#!/bin/bash
# Real logins over sshd (issue 4 "Tests", items 1-3): every ssh login to the
# gateway account is a fresh session with a transient UID, reaped after
# logout; an interactive pty login has job control; sftp, scp and rsync reach
# mnt/output; 50 parallel logins leave sshd as it was; a dropped client leaves
# nothing running; a failing PAM open, or a wrong login shell, refuses the
# login with nothing run; and a gateway user who names another live session in
# EPHEMERA_SESSION does not enter it.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

# The ssh command line of testenv, split: ssh OPTIONS... agent-session@127.0.0.1
read -r -a ssh_words <<<"$EPHEMERA_SSH"
SSH_OPTS=("${ssh_words[@]:1:${#ssh_words[@]}-2}")
DEST=${ssh_words[-1]}
# The same options for scp and sftp, whose port option is -P.
SCP_OPTS=()
for ((i = 0; i < ${#SSH_OPTS[@]}; i++)); do
	if [ "${SSH_OPTS[i]}" = -p ]; then
		SCP_OPTS+=(-P "${SSH_OPTS[i + 1]}")
		i=$((i + 1))
	else
		SCP_OPTS+=("${SSH_OPTS[i]}")
	fi
done
work=$(mktemp -d /tmp/pam-sshd.XXXXXX)
chmod 0755 "$work"
T="tmux -L ephemera-pam-sshd"
client= victim_client=
cleanup() {
	local p
	for p in $client $victim_client; do kill "$p" 2>/dev/null; done
	$T kill-server 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

name_of_uid() { sql "SELECT name FROM sessions WHERE uid = $1 ORDER BY rowid DESC LIMIT 1"; }
procs_of() { ps -e -o uid= | awk -v u="$1" '$1 == u' | wc -l; }
# wait_session ROWID: the name of the first sshd session after ROWID that is
# active (its shell runs), within 5 s
wait_session() {
	local i n
	for i in $(seq 50); do
		n=$(sql "SELECT name FROM sessions WHERE rowid > $1 AND service = 'sshd' AND state = 'active' ORDER BY rowid LIMIT 1")
		[ -n "$n" ] && { echo "$n"; return 0; }
		sleep 0.1
	done
	return 1
}
syslog_mark() { wc -l <"$EPHEMERA_SYSLOG"; }
syslog_since() { tail -n +"$(($1 + 1))" "$EPHEMERA_SYSLOG"; }
shell_since() { syslog_since "$1" | grep -q 'ephemera-shell\[.*entering the sandbox'; }
no_shell_since() { ! syslog_since "$1" | grep -q 'ephemera-shell\['; }
not_printed() { ! printf '%s' "$1" | grep -q "$2"; }

# ---- two logins: two sessions, each with a transient UID, each reaped ----
mark=$(last_rowid)
uid1=$($EPHEMERA_SSH id -u 2>&1)
uid2=$($EPHEMERA_SSH id -u 2>&1)
ok "ssh agent-session id -u gives a transient UID ($uid1)" in_range "$uid1"
ok "  ... and a second login another one ($uid2)" in_range "$uid2"
plain_uid=$($EPHEMERA_SSH_PLAIN id -u 2>&1)
is "$plain_uid" "$(id -u plainuser)" "  ... while plainuser over the same sshd keeps its own UID (control)"
ok "the two logins have different UIDs" test "$uid1" != "$uid2"
name1=$(name_of_uid "$uid1")
name2=$(name_of_uid "$uid2")
ok "  ... and different session names ($name1, $name2)" test -n "$name1" -a -n "$name2" -a "$name1" != "$name2"
is "$(sql "SELECT count(*) FROM sessions WHERE rowid > $mark")" 2 "  ... exactly two sessions were recorded"
is "$(sql "SELECT group_concat(service || '/' || owner, ' ') FROM sessions WHERE rowid > $mark ORDER BY rowid")" \
	"sshd/agent-session sshd/agent-session" "  ... both of service sshd, owned by agent-session"
ok "the first session is reaped after logout" wait_state "$name1" reaped
ok "the second session is reaped after logout" wait_state "$name2" reaped

# ---- an interactive login on a pty, driven by tmux ----
screen() { $T capture-pane -p -t s -S -200; }
wait_for() { # TEXT: until the pane shows TEXT (5 s at most)
	local i
	for i in $(seq 50); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
	return 1
}
wait_for_re() { # REGEX: until a line of the pane matches (5 s at most)
	local i
	for i in $(seq 50); do screen | grep -qE -- "$1" && return 0; sleep 0.1; done
	return 1
}
send() { $T send-keys -t s "$@"; }
$T new-session -d -s s -x 200 -y 50 "bash --norc --noprofile"
send "PS1='root-prompt\$ '" Enter
mark=$(last_rowid)
send "$EPHEMERA_SSH -tt" Enter
name=$(wait_session "$mark")
ok "the interactive login is an active session ($name)" test -n "$name"
uid=$(uid_of "$name")
ok "  ... the prompt shows the session name ($name@...)" wait_for_re "^$name@[^ ]+\\$ *\$"
like "$(sql "SELECT tty FROM sessions WHERE name = '$name'")" '^(ssh|pts/[0-9]+)$' "  ... and the session records the login's tty"
send "echo PID-\$\$-END" Enter
ok "echo \$\$ prints a number" wait_for_re '^PID-[0-9]+-END$'
send "sleep 300" Enter
for i in $(seq 50); do sleep_pid=$(pgrep -u "$uid" -x sleep) && break; sleep 0.1; done
ok "a foreground job runs as the session's uid" test -n "$sleep_pid"
send C-z
ok "Ctrl-Z stops the foreground job" wait_for Stopped
like "$(ps -o stat= -p "$sleep_pid")" '^T' "  ... the process is stopped (state T)"
send "fg" Enter
for i in $(seq 50); do [[ "$(ps -o stat= -p "$sleep_pid")" =~ ^T ]] || break; sleep 0.1; done
like "$(ps -o stat= -p "$sleep_pid")" '^[SR]' "fg resumes it"
send C-c
send "echo AFTER-FG-\$?" Enter
ok "  ... and Ctrl-C ends it (status 130)" wait_for AFTER-FG-130
send "exit 7" Enter
# Typed ahead, the next line would go to the remote shell: wait for root's prompt.
ok "exit logs out: root's prompt is back" wait_for_re '^root-prompt\$ ?$'
send "echo SSH-STATUS-\$?" Enter
ok "  ... and ssh returned the shell's exit status" wait_for SSH-STATUS-7
ok "  ... and the session is reaped afterwards" wait_state "$name" reaped
is "$(procs_of "$uid")" 0 "  ... with no process of its uid left"
$T kill-server 2>/dev/null

# ---- sftp: put a file into mnt/output and get it back in one connection ----
head -c 200000 /dev/urandom >"$work/blob"
cat >"$work/sftp.batch" <<EOF
pwd
put $work/blob mnt/output/blob
get mnt/output/blob $work/blob.back
EOF
mark=$(last_rowid)
out=$(sftp "${SCP_OPTS[@]}" -b "$work/sftp.batch" "$DEST" 2>&1); rc=$?
is "$rc" 0 "sftp -b put and get succeed"
ok "  ... the file came back byte-identical" cmp "$work/blob" "$work/blob.back"
name=$(sql "SELECT name FROM sessions WHERE rowid > $mark AND service = 'sshd' LIMIT 1")
like "$out" "Remote working directory: /sessions/$name\$" "  ... and sftp ran in the session's home ($name)"
ok "  ... which is reaped afterwards" wait_state "$name" reaped
ok "  ... keeping the file in mnt/output" cmp "$work/blob" "/sessions/$name/mnt/output/blob"

# ---- scp: a file into mnt/output, found on the host after logout ----
# Both protocols: SFTP (the default of scp since OpenSSH 9.0) and the legacy
# one (-O), where sshd runs "scp -t" through the login shell.
head -c 100000 /dev/urandom >"$work/scp-file"
for proto in sftp legacy; do
	flag=; [ "$proto" = legacy ] && flag=-O
	mark=$(last_rowid)
	out=$(scp $flag "${SCP_OPTS[@]}" "$work/scp-file" "$DEST:mnt/output/scp-$proto" 2>&1); rc=$?
	is "$rc $out" "0 " "scp ($proto protocol) puts a file into mnt/output"
	name=$(sql "SELECT name FROM sessions WHERE rowid > $mark AND service = 'sshd' LIMIT 1")
	ok "  ... its session ($name) is reaped after logout" wait_state "$name" reaped
	ok "  ... and /sessions/$name/mnt/output/scp-$proto is identical" \
		cmp "$work/scp-file" "/sessions/$name/mnt/output/scp-$proto"
	is "$(stat -c %U "/sessions/$name/mnt/output/scp-$proto" 2>&1)" agent-session "  ... and owned by agent-session"
done

# ---- rsync -e ssh: a tree copied in ----
tree=$work/tree
mkdir -p "$tree/a/b/c" "$tree/empty"
head -c 5000 /dev/urandom >"$tree/a/b/c/deep"
echo top >"$tree/top.txt"
printf 'x\n' >"$tree/a/mode600"; chmod 0600 "$tree/a/mode600"
ln -s ../top.txt "$tree/a/link"
mark=$(last_rowid)
out=$(rsync -e "ssh ${SSH_OPTS[*]}" -a "$tree" "$DEST:mnt/output/" 2>&1); rc=$?
is "$rc $out" "0 " "rsync -e ssh -a copies a tree into mnt/output"
name=$(sql "SELECT name FROM sessions WHERE rowid > $mark AND service = 'sshd' LIMIT 1")
ok "  ... its session ($name) is reaped after logout" wait_state "$name" reaped
ok "  ... and the tree is there on the host, identical (diff -r)" diff -r "$tree" "/sessions/$name/mnt/output/tree"
is "$(readlink "/sessions/$name/mnt/output/tree/a/link")" ../top.txt "  ... the symlink kept as a symlink"
is "$(stat -c %a "/sessions/$name/mnt/output/tree/a/mode600")" 600 "  ... the mode kept"
is "$(find "/sessions/$name/mnt/output/tree" ! -user agent-session | wc -l)" 0 "  ... everything owned by agent-session"

# ---- 50 parallel logins ----
sshd_pid=$(cat /run/sshd-testenv.pid)
fds_before=$(ls /proc/"$sshd_pid"/fd | wc -l)
mark=$(last_rowid)
pids=()
for i in $(seq 50); do
	$EPHEMERA_SSH 'id -u; sleep 1' >"$work/par.$i" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "50 parallel logins all succeed"
uids=$(cat "$work"/par.* | sort -u)
is "$(printf '%s\n' "$uids" | grep -c .)" 50 "  ... with 50 distinct outputs"
bad=$(for u in $uids; do in_range "$u" || echo "$u"; done)
is "$bad" "" "  ... every one a transient UID"
is "$(sql "SELECT count(DISTINCT name) || ' ' || count(DISTINCT uid) FROM sessions WHERE rowid > $mark")" \
	"50 50" "  ... recorded as 50 sessions with distinct names and UIDs"
in_db=$(sql "SELECT uid FROM sessions WHERE rowid > $mark" | sort -u)
is "$in_db" "$uids" "  ... the UIDs printed are the UIDs recorded"
for i in $(seq 150); do
	left=$(sql "SELECT count(*) FROM sessions WHERE rowid > $mark AND state <> 'reaped'")
	[ "$left" = 0 ] && break
	sleep 0.1
done
is "$left" 0 "  ... and afterwards every one of them is reaped"
is "$(sql "SELECT count(*) FROM leases l JOIN sessions s ON s.name = l.session WHERE s.rowid > $mark AND l.state = 'leased'")" 0 \
	"  ... none still holding a lease"
fds_after=$(ls /proc/"$sshd_pid"/fd | wc -l)
is "$fds_after" "$fds_before" "the sshd listener has as many fds as before ($fds_before)"

# ---- the client killed mid-session ----
mark=$(last_rowid)
$EPHEMERA_SSH 'sleep 300' >/dev/null 2>&1 &
client=$!
name=$(wait_session "$mark")
uid=$(uid_of "$name")
for i in $(seq 50); do [ "$(procs_of "$uid")" -ge 1 ] && break; sleep 0.1; done
ok "a session with 'sleep 300' runs processes as its uid ($name)" test "$(procs_of "$uid")" -ge 1
# sshd's processes of this connection (the privileged monitor, where PAM ran,
# and its unprivileged child) hold nothing of ephemera open after PAM open.
ours() { ls -l /proc/"$1"/fd 2>/dev/null | grep -cE '/var/lib/ephemera|/sessions'; }
# They are the ancestors of the session's leader below the listener.
conn_pids=
leader=$(sql "SELECT leader_pid FROM sessions WHERE name = '$name'")
p=$leader
while p=$(ps -o ppid= -p "$p" | tr -d ' ') && [ -n "$p" ] && [ "$p" -gt 1 ] && [ "$p" != "$sshd_pid" ]; do
	conn_pids="$conn_pids $p"
done
conn_pids=${conn_pids# }
ok "  ... below sshd's listener: $conn_pids" test "$p" = "$sshd_pid" -a -n "$conn_pids"
held=0
for p in $conn_pids; do held=$((held + $(ours "$p"))); done
is "$held" 0 "sshd's processes of the login ($conn_pids) hold no fd of the database or /sessions"
# The leader keeps its database connection from the claim to the end of the
# session (shell/session.h): the database, its -wal and -shm, nothing else;
# the sandbox's pid 1 and everything below it hold none of it.
is "$(ls -l /proc/"$leader"/fd 2>/dev/null | grep -E '/var/lib/ephemera|/sessions' | sed 's|.* -> ||' | sort | tr '\n' ' ')" \
	"/var/lib/ephemera/ephemera.db /var/lib/ephemera/ephemera.db-shm /var/lib/ephemera/ephemera.db-wal " \
	"  ... ephemera-shell, the session's leader ($leader), only its database connection"
below=0
for p in $(pgrep -P "$leader"); do
	below=$((below + $(ours "$p")))
	for c in $(pgrep -P "$p"); do below=$((below + $(ours "$c"))); done
done
is "$below" 0 "  ... and the sandbox's pid 1 and its children none"
exec 7</var/lib/ephemera/ephemera.db
is "$(ours $$)" 1 "  ... a check that sees such an fd when one is open (control)"
exec 7<&-
kill -9 "$client"
wait "$client" 2>/dev/null
for i in $(seq 100); do [ "$(procs_of "$uid")" = 0 ] && break; sleep 0.1; done
is "$(procs_of "$uid")" 0 "after kill -9 of the ssh client no process of the uid survives (10 s)"
ok "  ... and the session is closed or reaped" wait_state "$name" "closed|reaping|reaped" 100
ok "  ... and finally reaped" wait_state "$name" reaped 100

# ---- PAM open failing: the login is refused, nothing runs, syslog says why ----
# The command prints RAN-42, which neither the command line nor the motd that
# PAM shows before it fails contains ("WARRANTY" does contain RAN).
# refused DESC REGEX: ssh 'echo RAN-$((6*7))' fails, RAN-42 is not printed, no
# ephemera-shell started, and syslog has a pam_ephemera line matching REGEX
refused() {
	local m out rc
	m=$(syslog_mark)
	out=$($EPHEMERA_SSH 'echo RAN-$((6*7))' 2>&1); rc=$?
	ok "$1: the ssh login fails" test "$rc" != 0
	ok "  ... and nothing ran (no RAN-42)" not_printed "$out" RAN-42
	ok "  ... no ephemera-shell started" no_shell_since "$m"
	syslog_like "$2" "  ... and syslog has pam_ephemera's reason"
}
# works DESC: the control, the same login prints RAN-42; waits until its
# session is reaped, so that no reaper is at work when the next fault is made
works() {
	local out m n
	m=$(last_rowid)
	local s
	s=$(syslog_mark)
	out=$($EPHEMERA_SSH 'echo RAN-$((6*7))' 2>&1)
	is "$out" RAN-42 "$1"
	ok "  ... and syslog shows ephemera-shell starting (so the check above can fail)" shell_since "$s"
	n=$(sql "SELECT name FROM sessions WHERE rowid > $m LIMIT 1")
	wait_state "$n" reaped 100
}
works "before the faults, the same login prints RAN-42 (control)"

# (a) the sessions disk is read-only
mount -o remount,bind,ro,nosuid,nodev /sessions
refused "/sessions read-only" \
	"pam_ephemera\\(sshd:session\\): refusing the login of agent-session: .*Read-only file system"
mount -o remount,bind,rw,nosuid,nodev /sessions
works "  ... /sessions writable again: the login works (control)"

# (b) a corrupt database
cp /etc/ephemera/ephemera.conf "$work/conf.good"
head -c 65536 /dev/urandom >/var/lib/ephemera/garbage.db
cat >/etc/ephemera/ephemera.conf <<EOF
[gateway]
accounts = agent-session
[allocator]
max_sessions_per_owner = 1000
database = /var/lib/ephemera/garbage.db
EOF
refused "a corrupt database" \
	"pam_ephemera\\(sshd:session\\): refusing the login of agent-session: database .*(not a database|malformed|corrupt)"
cp "$work/conf.good" /etc/ephemera/ephemera.conf
works "  ... the real database again: the login works (control)"

# (c) the UID range exhausted: one UID, already held by another session
for u in $(seq $((UID_MIN + 100)) $((UID_MIN + 200))); do
	[ "$(sql "SELECT count(*) FROM leases WHERE uid = $u")" = 0 ] && break
done
cat >/etc/ephemera/ephemera.conf <<EOF
[gateway]
accounts = agent-session
[allocator]
max_sessions_per_owner = 1000
uid_min = $u
uid_max = $u
EOF
holder=$(ephemeractl alloc --owner root 2>/dev/null)
is "$(uid_of "$holder")" "$u" "a session held by root ($holder) takes the only UID $u"
refused "the UID range exhausted" \
	"pam_ephemera\\(sshd:session\\): refusing the login of agent-session: no free UID in $u-$u"
ephemeractl release "$holder" >/dev/null 2>&1 || ephemeractl reap "$holder" >/dev/null 2>&1
cp "$work/conf.good" /etc/ephemera/ephemera.conf
works "  ... the full range again: the login works (control)"

# ---- the account hook: a gateway account with a shell that is not ephemera-shell ----
usermod -s /bin/bash agent-session
refused "agent-session with /bin/bash as its shell" \
	"pam_ephemera\\(sshd:account\\): refusing agent-session: login shell is /bin/bash"
usermod -s "$EPHEMERA_SHELL_BIN" agent-session
works "  ... ephemera-shell again: the login works (control)"

# ---- the binding of shell to login (item 3) ----
as_gateway() { setpriv --reuid=agent-session --regid=agent-session --init-groups "$@"; }
mark=$(last_rowid)
$EPHEMERA_SSH 'sleep 30' >/dev/null 2>&1 &
victim_client=$!
victim=$(wait_session "$mark")
victim_uid=$(uid_of "$victim")
ok "a live session to attack ($victim, uid $victim_uid)" in_range "$victim_uid"
out=$(as_gateway env EPHEMERA_SESSION="$victim" "$EPHEMERA_SHELL_BIN" \
	-c 'echo ENTERED; grep Uid /proc/self/status' 2>&1); rc=$?
ok "ephemera-shell with EPHEMERA_SESSION=<another live session> is refused (status $rc)" test "$rc" != 0
ok "  ... nothing ran (no ENTERED)" not_printed "$out" ENTERED
ok "  ... the victim's uid does not appear" not_printed "$out" "$victim_uid"
like "$out" "EPHEMERA_SESSION=$victim is not (the|an unclaimed) session of this login" \
	"  ... and the message says EPHEMERA_SESSION is not this login's"
is "$(state_of "$victim")" active "  ... the victim session is still active, untouched"
# The control: the same command without EPHEMERA_SESSION enters a fresh session.
out=$(as_gateway "$EPHEMERA_SHELL_BIN" -c 'echo ENTERED; grep Uid /proc/self/status' 2>&1); rc=$?
like "$rc $out" "^0 ENTERED" "the same command without EPHEMERA_SESSION enters (control)"
own_uid=$(printf '%s\n' "$out" | awk '/^Uid:/ {print $2}')
ok "  ... a fresh session with a transient uid ($own_uid), not the victim's" \
	sh -c "[ '$own_uid' -ge $UID_MIN ] && [ '$own_uid' -le $UID_MAX ] && [ '$own_uid' != '$victim_uid' ]"
# A session made by hand: no PAM binding, so no shell may claim it.
unbound=$(ephemeractl alloc --owner agent-session 2>/dev/null)
is "$(state_of "$unbound")" allocated "ephemeractl alloc --owner agent-session made $unbound"
out=$(as_gateway env EPHEMERA_SESSION="$unbound" "$EPHEMERA_SHELL_BIN" \
	-c 'echo ENTERED' 2>&1); rc=$?
ok "EPHEMERA_SESSION naming it (no PAM binding) is refused (status $rc)" test "$rc" != 0
ok "  ... nothing ran (no ENTERED)" not_printed "$out" ENTERED
like "$out" "EPHEMERA_SESSION=$unbound is not (the|an unclaimed) session of this login" "  ... with the reason"
is "$(state_of "$unbound")" allocated "  ... and it is still unclaimed"
ephemeractl release "$unbound" >/dev/null 2>&1
kill "$victim_client" 2>/dev/null
wait "$victim_client" 2>/dev/null
ok "the victim session is reaped once its client is gone" wait_state "$victim" reaped 100

done_testing
