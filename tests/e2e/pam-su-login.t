#!/bin/bash
# Logins through su and login (issue 4 "Tests"): `su - agent-session -c` from
# root, `su - agent-session` by plainuser with the password on a terminal,
# and `login -f agent-session` on a terminal each give a session with a
# transient UID, recorded with the service that opened it, and reaped after
# logout.  tmux plays the terminal.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

procs_of() { ps -e -o uid= | awk -v u="$1" '$1 == u' | wc -l; }
servers=()
cleanup() {
	local s
	for s in "${servers[@]}"; do tmux -L "$s" kill-server 2>/dev/null; done
}
trap cleanup EXIT
# term NAME COMMAND: a fresh tmux server (one per terminal) running COMMAND
term() {
	T="tmux -L ephemera-pam-su-$1"
	servers+=("ephemera-pam-su-$1")
	$T new-session -d -s s -x 200 -y 50 "$2"
}
screen() { $T capture-pane -p -t s -S -200; }
wait_for_re() { # REGEX [TENTHS]: until a line of the pane matches (5 s)
	local i
	for i in $(seq "${2:-50}"); do screen | grep -qE -- "$1" && return 0; sleep 0.1; done
	return 1
}
send() { $T send-keys -t s "$@"; }
# ok_screen DESC CMD...: ok, and on failure the pane's last lines
ok_screen() {
	local desc=$1 r
	shift
	"$@" >/dev/null 2>&1
	r=$?
	_report "$r" "$desc"
	[ "$r" = 0 ] || screen | grep -v '^$' | tail -n 15 | sed 's/^/#   /'
}
# session_after ROWID: the first session recorded after ROWID
session_after() { sql "SELECT name FROM sessions WHERE rowid > $1 ORDER BY rowid LIMIT 1"; }
# check_session NAME UID SERVICE: the session has that uid and service, its
# owner is agent-session; it is closed, then reaped, nothing of its uid left
check_session() {
	is "$(sql "SELECT uid || ' ' || service || ' ' || owner FROM sessions WHERE name = '$1'")" \
		"$2 $3 agent-session" "  ... recorded as session $1 of service $3, owner agent-session"
	ok "  ... closed after logout" wait_state "$1" "closed|reaping|reaped"
	wait_state "$1" reaped 100
	local r=$?
	_report "$r" "  ... and reaped"
	[ "$r" = 0 ] || diag "state $(state_of "$1"); events: $(sql "SELECT group_concat(kind || ':' || detail, '; ') FROM events WHERE session = '$1'")"
	is "$(procs_of "$2")" 0 "  ... and no process of its uid is left"
}

# in_terminal_session MARK WHO PROMPT SERVICE: the shell on the terminal is a
# session allocated after rowid MARK; exit goes back to WHO's PROMPT (a
# regex), and the session is recorded and reaped (check_session).
in_terminal_session() {
	local mark=$1 who=$2 prompt=$3 service=$4 uid name
	send "echo UID-\$(id -u)-END" Enter
	wait_for_re '^UID-[0-9]+-END$'
	uid=$(screen | sed -n 's/^UID-\([0-9]*\)-END$/\1/p' | tail -n 1)
	ok "  ... running as a transient UID ($uid)" in_range "$uid"
	name=$(session_after "$mark")
	ok "  ... the prompt names the session ($name)" wait_for_re "^$name@ephemera:~\\$"
	send "exit" Enter
	ok "exit returns to $who's prompt" wait_for_re "$prompt"
	check_session "$name" "$uid" "$service"
}

# ---- su - agent-session -c 'id -u' from root ----
mark=$(last_rowid)
uid=$(su - agent-session -c 'id -u' 2>&1)
ok "su - agent-session -c 'id -u' from root gives a transient UID ($uid)" in_range "$uid"
plain=$(su - plainuser -c 'id -u' 2>&1)
is "$plain" "$(id -u plainuser)" "  ... while su - plainuser gives plainuser's own UID (control)"
name=$(session_after "$mark")
check_session "$name" "$uid" su-l
is "$(sql "SELECT count(*) FROM sessions WHERE rowid > $mark")" 1 "  ... and su - plainuser made no session"
mark=$(last_rowid)
uid=$(su agent-session -c 'id -u' 2>&1)
ok "su agent-session -c 'id -u' (no -) gives a transient UID too ($uid)" in_range "$uid"
check_session "$(session_after "$mark")" "$uid" su

# ---- su - agent-session by plainuser, with the password, on a terminal ----
echo 'agent-session:Gw-pass-42' | chpasswd
term plain "setpriv --reuid=plainuser --regid=plainuser --init-groups env -i HOME=/home/plainuser PATH=$PATH TERM=screen bash --norc --noprofile"
send "PS1='plain-prompt\$ '" Enter
send "id -un; echo WHO-\$((6*7))" Enter
wait_for_re '^WHO-42$'
is "$(screen | grep -B1 '^WHO-42$' | head -n 1)" plainuser "the terminal's shell runs as plainuser"
mark=$(last_rowid)
send "su - agent-session" Enter
ok_screen "su - agent-session asks plainuser for the password" wait_for_re '^Password: *$'
send "Gw-pass-42" Enter
ok_screen "  ... and with it gives a shell" wait_for_re '@ephemera:~\$ *$'
in_terminal_session "$mark" plainuser '^plain-prompt\$ *$' su-l
# The control: a wrong password gives no shell and no session.
mark=$(last_rowid)
send "clear" Enter
send "su - agent-session; echo SU-STATUS-\$?" Enter
wait_for_re '^Password: *$'
send "wrong-password" Enter
ok "a wrong password: su fails (control)" wait_for_re '^SU-STATUS-1$' 60
is "$(sql "SELECT count(*) FROM sessions WHERE rowid > $mark")" 0 "  ... and no session was allocated"
$T kill-server
usermod -p '*' agent-session

# ---- login -f agent-session under script, on a terminal ----
term login "bash --norc --noprofile"
send "PS1='root-prompt\$ '" Enter
mark=$(last_rowid)
send "script -qec 'login -f agent-session' /dev/null" Enter
ok_screen "login -f agent-session under script gives a shell" wait_for_re '@ephemera:~\$ *$' 100
in_terminal_session "$mark" root '^root-prompt\$ *$' login
$T kill-server

done_testing
