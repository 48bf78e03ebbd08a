#!/bin/bash
# Re-attach and linger (issue 10, items 2 and 3): an owner attaches a new
# connection to one of its own live sessions by name (ssh -o
# SetEnv=EPHEMERA_ATTACH=NAME); another owner, a reaped session, a name that
# does not exist, a forged pid 1 are refused with one clear line and a syslog
# line, and the connection's own PAM session is released, not leaked.  With
# linger = 30s a second ssh sees what the first left in /tmp, and the session
# is reaped after the linger.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

read -r -a ssh_words <<<"$EPHEMERA_SSH"
SSH_OPTS=("${ssh_words[@]:1:${#ssh_words[@]}-2}")
DEST=${ssh_words[-1]}
SSH_TWO="${EPHEMERA_SSH/agent-session@/agent-two@}"
DEST_TWO=${DEST/agent-session@/agent-two@}
work=$(mktemp -d /tmp/join-attach.XXXXXX)
bg=()
cleanup() {
	local p
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

attach() { local n=$1; shift; ssh "${SSH_OPTS[@]}" -o SetEnv=EPHEMERA_ATTACH="$n" "${AS_DEST:-$DEST}" "$@"; }
newest_sshd() {
	local i n
	for i in $(seq 50); do
		n=$(sql "SELECT name FROM sessions WHERE rowid > $1 AND service = 'sshd' ORDER BY rowid LIMIT 1" 2>/dev/null)
		[ -n "$n" ] && [ -e "/sessions/$n/.ready" ] && { echo "$n"; return 0; }
		sleep 0.1
	done
}
syslog_mark() { wc -l <"$EPHEMERA_SYSLOG"; }
# leaked ROWID: sessions after ROWID, not live, that still hold a leased UID
leaked() {
	sql "SELECT count(*) FROM sessions s JOIN leases l ON l.session = s.name WHERE s.rowid > $1
		AND l.state = 'leased' AND s.state NOT IN ('allocated', 'active', 'closed')"
}
# released_own ROWID NAME: the connection's own PAM sessions after ROWID
# (other than NAME) were released unused, not left holding a UID
released_own() {
	local i
	for i in $(seq 50); do
		[ "$(sql "SELECT count(*) FROM sessions s WHERE s.rowid > $1 AND s.name <> '$2' AND
			(s.state <> 'reaped' OR EXISTS (SELECT 1 FROM leases l WHERE l.session = s.name
			AND l.state = 'leased'))")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
# refused DESC NAME REGEX [USER@HOST]: the attach fails, nothing runs, stderr says
# "NAME: attach refused: ...", syslog too
refused() {
	local desc=$1 n=$2 re=$3 m out rc
	m=$(syslog_mark)
	local r0
	r0=$(last_rowid)
	out=$(AS_DEST=${4:-$DEST} attach "$n" 'echo RAN-$((6*7))' 2>&1); rc=$?
	ok "$desc: refused (status $rc)" test "$rc" != 0
	ok "  ... nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q RAN-42" _ "$out"
	like "$out" "^ephemera-shell: $n: attach refused: $re" "  ... one clear line: $(printf '%s' "$out" | head -n 1)"
	local i
	for i in $(seq 30); do tail -n +"$((m + 1))" "$EPHEMERA_SYSLOG" | grep -q "ephemera-shell\[[0-9]*\]: $n: attach refused" && break; sleep 0.1; done
	ok "  ... and in syslog" sh -c "tail -n +$((m + 1)) '$EPHEMERA_SYSLOG' | grep -q 'ephemera-shell\[[0-9]*\]: $n: attach refused'"
	ok "  ... the connection's own PAM session is not left holding a UID" released_own "$r0" "$n"
}

# ---- the owner re-attaches to its live session ----
mark=$(last_rowid)
$EPHEMERA_SSH 'echo "$EPHEMERA_SESSION $(cut -d" " -f22 /proc/1/stat)"; echo v1 >/tmp/att; touch .ready; exec sleep 120' \
	>"$work/first.out" 2>&1 &
bg+=($!)
name=$(newest_sshd "$mark")
ok "a first login runs ($name)" test -n "$name"
first=$(cat "$work/first.out")
mark=$(last_rowid)
out=$(attach "$name" 'echo "$EPHEMERA_SESSION $(cut -d" " -f22 /proc/1/stat)"; cat /tmp/att; id -u' 2>&1)
is "$(sed -n 1p <<<"$out")" "$first" "ssh -o SetEnv=EPHEMERA_ATTACH=$name enters the same session and pid 1"
is "$(sed -n 2p <<<"$out")" v1 "  ... sees the /tmp file of the first login"
is "$(sed -n 3p <<<"$out")" "$(uid_of "$name")" "  ... as the session's uid"
ok "  ... the attaching connection's own PAM session was released unused" released_own "$mark" "$name"
like "$(sql "SELECT kind FROM events e JOIN sessions s ON s.name = e.session WHERE s.rowid > $mark AND kind = 'released' LIMIT 1")" \
	'^released$' "  ... (its events say released)"
like "$(ephemeractl show "$name" | sed -n '/^logins:/,/^events:/p')" "logins:
  sshd .*since [^,]*
  sshd .*since .*, ended " "ephemeractl show: the first login and the attached one, ended"
syslog_like "ephemera-shell\\[[0-9]+\\]: session=$name: owner agent-session uid [0-9]+: re-attaching to the sandbox" \
	"  ... and syslog says it re-attached"

# ---- refusals ----
refused "a name that does not exist" no-such-session "no live session no-such-session of agent-session"
out=$(attach '../etc' 'echo RAN' 2>&1)
like "$out" "EPHEMERA_ATTACH is not a session name" "a value that is not a name is refused before anything"

# Another owner: a second gateway account, with the same sshd policy.
useradd -M -d /home/agent-two -s "$EPHEMERA_SHELL_BIN" agent-two
mkdir -p /home/agent-two
usermod -p '*' agent-two
install -m 0644 /etc/ssh/testenv/client_key.pub /etc/ssh/testenv/keys/agent-two
sed -i 's/^accounts = agent-session$/accounts = agent-session agent-two/' /etc/ephemera/ephemera.conf
sed -i 's/^Match User agent-session$/Match User agent-session,agent-two/' /etc/ssh/sshd_config.d/ephemera.conf
kill -HUP "$(cat /run/sshd-testenv.pid)"
for i in $(seq 50); do $SSH_TWO true 2>/dev/null && break; sleep 0.1; done
is "$($SSH_TWO 'echo two-$((1+1))' 2>&1)" two-2 "agent-two is a gateway account too (control)"
refused "agent-two naming agent-session's session" "$name" "no live session $name of agent-two" "$DEST_TWO"
syslog_like "$name: attach refused for agent-two: its owner is uid $(id -u agent-session)" "  ... syslog names the reason"
is "$(sql "SELECT state FROM sessions WHERE name = '$name'")" active "  ... and the session is untouched"
out=$(setpriv --reuid=agent-two --regid=agent-two --init-groups env EPHEMERA_ATTACH="$name" \
	"$EPHEMERA_SHELL_BIN" -c 'echo RAN' 2>&1); rc=$?
like "$rc $out" "^1 ephemera-shell: $name: attach refused" "  ... also without sshd (ephemera-shell run directly)"

# J1: pid 1 is proven, not taken from the record.
init=$(sql "SELECT init_pid || ' ' || init_start FROM sessions WHERE name = '$name'")
sql "UPDATE sessions SET init_start = init_start + 1 WHERE name = '$name'"
refused "J1: a recorded start time that is not pid 1's (a reused pid)" "$name" "its sandbox has ended"
sleep_pid=$(ps -u "$(uid_of "$name")" -o pid=,args= | awk '$2 == "sleep" && $3 == "120" {print $1}')
sleep_start=$(cut -d' ' -f22 "/proc/$sleep_pid/stat")
sql "UPDATE sessions SET init_pid = $sleep_pid, init_start = $sleep_start WHERE name = '$name'"
refused "J1: a recorded pid that is a session process, not pid 1" "$name" "pid $sleep_pid is not the sandbox's pid 1"
sql "UPDATE sessions SET init_pid = ${init% *}, init_start = ${init#* } WHERE name = '$name'"
is "$(attach "$name" 'cat /tmp/att' 2>&1)" v1 "  ... the true record again: the attach works (control)"

kill "${bg[0]}"
wait "${bg[0]}" 2>/dev/null
ok "the first login gone, the session is reaped" wait_state "$name" reaped 300
refused "a reaped session" "$name" "the session is reaped"

# ---- linger ----
is "$(sql "SELECT count(*) FROM sessions s WHERE s.rowid > 0 AND s.state = 'reaped' AND EXISTS
	(SELECT 1 FROM leases l WHERE l.session = s.name AND l.state = 'leased')")" 0 "no reaped session holds a lease"
# Control first: without linger a second ssh finds the session ended.
out=$(timeout 60 $EPHEMERA_SSH 'echo "$EPHEMERA_SESSION"; echo lingering >/tmp/x' 2>&1)
n0=$(sed -n 1p <<<"$out")
ok "linger 0: the login's session ($n0) is reaped when it ends" wait_state "$n0" reaped 300
refused "  ... and a second ssh cannot attach to it" "$n0" "the session is reaped"
printf '[sandbox]\nlinger = 30s\n' >>/etc/ephemera/ephemera.conf
out=$(timeout 60 $EPHEMERA_SSH 'echo "$EPHEMERA_SESSION"; echo lingering >/tmp/x' 2>&1); rc=$?
n=$(sed -n 1p <<<"$out")
is "$rc" 0 "linger = 30s: a first 'ssh host cmd' returns when cmd ends ($n)"
out=$(attach "$n" 'cat /tmp/x' 2>&1)
is "$out" lingering "  ... and a second ssh, attached by name, sees the file the first wrote"
like "$(state_of "$n")" '^(active|closed)$' "  ... the session is not reaped while it lingers"
init=$(sql "SELECT init_pid FROM sessions WHERE name = '$n'")
ok "  ... its pid 1 lives ($init)" kill -0 "$init"
out=$(ephemeractl reap "$n" 2>&1); rc=$?
like "$rc $out" "^1 .*session $n is running \(use kill\)" "P7: ephemeractl reap refuses a lingering session"
ephemeractl reap --all >/dev/null 2>&1
like "$(state_of "$n")" '^(active|closed)$' "  ... and reap --all leaves it"
is "$(attach "$n" 'cat /tmp/x' 2>&1)" lingering "  ... which a third ssh still attaches to"
ok "  ... and after the linger it is reaped" wait_state "$n" reaped 900
is "$(sql "SELECT count(*) FROM logins WHERE session = '$n' AND ended_at IS NULL")" 0 "  ... every login of it ended"

done_testing
