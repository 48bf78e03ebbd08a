#!/bin/bash
# idle_timeout (issue 9, "Lifetimes"; allocator/lifetime.h L2, L4): idle
# means no input on the session's terminals, as w(1) has it (the terminal's
# atime).  Waiting ten minutes is not a test: the sessions' start is moved an
# hour back in the database and each terminal's atime is set as root (touch),
# which is what the kernel would show after that long without input.
# A session with no input for 7 of its 10 minutes is warned on its terminal;
# past 10 it is ended and reaped; one typed in is not; one that only prints
# (output is no input) is ended; one with no terminal (a running command) is
# left alone.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

cat >/etc/ephemera/ephemera.conf <<'EOF'
[gateway]
accounts = agent-session
[allocator]
max_sessions_per_owner = 1000
[profile lab]
accounts = agent-session
idle_timeout = 10m
lifetime_warning = 5m
EOF

T="tmux -L ephemera-idle"
trap '$T kill-server 2>/dev/null' EXIT
screen() { $T capture-pane -p -t "$1" -S -100; }
wait_for() { # wait_for PANE TEXT: 5 s at most
	local i
	for i in $(seq 50); do screen "$1" | grep -qF -- "$2" && return 0; sleep 0.1; done
	return 1
}
newest() { sql "SELECT name FROM sessions WHERE state = 'active' ORDER BY rowid DESC LIMIT 1"; }
idle_for() { touch -a -d "@$(($(date +%s) - $2))" "$1"; } # idle_for TTY SECONDS
events() { sql "SELECT count(*) FROM events WHERE session = '$1' AND kind = '$2'"; }
login() { # login PANE: su - agent-session on a terminal of its own
	$T new-session -d -s "$1" -x 150 -y 40 "bash --norc --noprofile"
	$T send-keys -t "$1" "su - agent-session" Enter
	$T send-keys -t "$1" "PS1='in-\$((1+1))-$1\$ '" Enter
	wait_for "$1" "in-2-$1\$"
}

ok "session A1 on a terminal" login a1
a1=$(newest) tty1=$($T display -p -t a1 '#{pane_tty}')
ok "session A2 on another" login a2
a2=$(newest) tty2=$($T display -p -t a2 '#{pane_tty}')
setsid su - agent-session -c 'touch .ready; exec sleep 300' </dev/null >/dev/null 2>&1 &
c=$(ready_session)
ok "session C runs a command with no terminal ($c)" test -n "$c" -a "$c" != "$a2"
sql "UPDATE sessions SET started_at = started_at - 3600 WHERE state = 'active'"

# A1: 7 minutes without input: warned, not ended.
idle_for "$tty1" 420
ok "reap --all" ephemeractl reap --all
ok "A1 is warned on its terminal" wait_for a1 "*** ephemera: session $a1 ends in"
like "$(screen a1 | grep -F '*** ephemera')" 'unless there is input \(idle_timeout 10m00s\)' \
	"  ... that input keeps it"
is "$(state_of "$a1")" active "  ... still running"
is "$(events "$a2" warned)$(events "$c" warned)" 00 "A2 (input just now) and C are not warned"

# A1 past 10 minutes: ended.  A2 too, but typed in since: kept.
idle_for "$tty1" 660
idle_for "$tty2" 660
$T send-keys -t a2 "echo TYPED-\$((3+3))" Enter
ok "A2 is typed in" wait_for a2 TYPED-6
ok "reap --all" ephemeractl reap --all
is "$(state_of "$a1")" reaped "A1, idle past idle_timeout, is ended and reaped"
like "$(sql "SELECT detail FROM events WHERE session = '$a1' AND kind = 'expired'")" \
	'^idle: no activity for 6[6-9][0-9]s \(idle_timeout 600s\)$' "  ... for being idle"
is "$(state_of "$a2")" active "A2, typed in, is kept"
is "$(events "$a2" warned)" 0 "  ... and not warned"
is "$(state_of "$c")" active "C, a command with no terminal, is kept"

# A2 only prints from now on: output is not input.
$T send-keys -t a2 "while :; do echo tick-\$((2*2)); sleep 0.2; done" Enter
ok "A2 prints in a loop" wait_for a2 tick-4
idle_for "$tty2" 660
sleep 1
ok "reap --all" ephemeractl reap --all
is "$(state_of "$a2")" reaped "A2, printing but without input, is ended"
is "$(state_of "$c")" active "C is still kept"
ephemeractl kill "$c" >/dev/null 2>&1
wait
done_testing
