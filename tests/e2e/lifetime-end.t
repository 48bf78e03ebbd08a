#!/bin/bash
# max_lifetime (issue 9, "Lifetimes"; allocator/lifetime.h L1, L3, L4): a
# session on a terminal (tmux plays it) whose profile gives it 20 s, warned
# 18 s before, is warned on its terminal by `ephemeractl reap --all` inside
# that window, once; typing does not extend it; after 20 s the next run ends
# it and reaps it, with the reason in its events and in syslog, and nothing of
# its UID is left.  A session without a lifetime is untouched by both runs.
# Attack: the login record names another user's process (a stale row whose
# terminal now belongs to plainuser): nothing is written to that terminal.
# Checked by removing the defence: without the owner check of the terminal
# (lifetime.c open_terminal) the victim pane shows the warning.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

useradd -M -d /home/agent-two -s "$EPHEMERA_SHELL_BIN" agent-two
usermod -p '*' agent-two
mkdir -p /home/agent-two
cat >/etc/ephemera/ephemera.conf <<'EOF'
[gateway]
accounts = agent-session, agent-two
[allocator]
max_sessions_per_owner = 1000
[profile short]
accounts = agent-session
max_lifetime = 20s
lifetime_warning = 18s
EOF

T="tmux -L ephemera-lifetime"
trap '$T kill-server 2>/dev/null' EXIT
screen() { $T capture-pane -p -t "$1" -S -100; }
wait_for() { # wait_for PANE TEXT: 5 s at most
	local i
	for i in $(seq 50); do screen "$1" | grep -qF -- "$2" && return 0; sleep 0.1; done
	return 1
}
age() { sql "SELECT unixepoch() - started_at FROM sessions WHERE name = '$1'"; }
wait_age() { while [ "$(age "$1")" -lt "$2" ]; do sleep 0.5; done; }
events() { sql "SELECT count(*) FROM events WHERE session = '$1' AND kind = '$2'"; }

# B: agent-two, the default profile (no lifetime), running in the background.
su - agent-two -c 'touch .ready; exec sleep 300' >/dev/null 2>&1 &
b=$(ready_session)
ok "session B runs without a lifetime ($b)" test -n "$b"
is "$(sql "SELECT profile FROM sessions WHERE name = '$b'")" default "  ... under the default profile"

# The victim: plainuser's shell on a terminal of its own (as login(1) leaves it).
$T new-session -d -s victim -x 150 -y 40 "bash --norc --noprofile"
vtty=$($T display -p -t victim '#{pane_tty}')
chown plainuser "$vtty"
$T send-keys -t victim "exec setpriv --reuid=plainuser --regid=plainuser --init-groups bash --norc" Enter
$T send-keys -t victim "echo VICTIM-\$((2+2))" Enter
ok "the victim's shell runs on $vtty" wait_for victim VICTIM-4
vpid=$(pgrep -u plainuser -t "${vtty#/dev/}" bash | head -n 1)

# A: agent-session on a terminal, the profile "short".
$T new-session -d -s a -x 150 -y 40 "bash --norc --noprofile"
$T send-keys -t a "su - agent-session" Enter
$T send-keys -t a "PS1='in-\$((1+1))-a\$ '" Enter
ok "session A gives a prompt" wait_for a 'in-2-a$'
a=$(sql "SELECT name FROM sessions WHERE owner = 'agent-session' AND state = 'active' ORDER BY rowid DESC LIMIT 1")
is "$(ephemeractl show "$a" | sed -n 's/^profile: *//p')" short "ephemeractl show: A runs under the profile short"
a_uid=$(uid_of "$a")
# The stale record: a login of A that names the victim's process.
vstart=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$vpid/stat")
sql "INSERT INTO logins (session, pid, start, since) VALUES ('$a', $vpid, $vstart, unixepoch())"

# Inside the warning window (20 s - 18 s), not yet over.
wait_age "$a" 3
ok "reap --all runs" ephemeractl reap --all
ok "A's terminal shows the warning" wait_for a "*** ephemera: session $a ends in"
like "$(screen a | grep -F '*** ephemera')" 'its max_lifetime is 20s' "  ... naming the limit"
is "$(state_of "$a")" active "  ... and A still runs"
is "$(events "$a" warned)" 1 "  ... a 'warned' event is recorded"
syslog_like "session=$a: warned: lifetime: ends in" "  ... and a syslog line"
sleep 0.5
is "$(screen victim | grep -cF 'ephemera:')" 0 "nothing is written to the victim's terminal (plainuser's)"
is "$(events "$b" warned)" 0 "B is not warned"
ephemeractl reap --all
is "$(events "$a" warned)" 1 "a second run does not warn again"

# Activity does not extend a lifetime (L1).
$T send-keys -t a "echo TYPED-\$((3+3))" Enter
ok "A is typed in" wait_for a TYPED-6
wait_age "$a" 21
ok "reap --all after the lifetime" ephemeractl reap --all
is "$(state_of "$a")" reaped "A is ended and reaped"
like "$(sql "SELECT detail FROM events WHERE session = '$a' AND kind = 'expired'")" \
	'^lifetime: ran [0-9]+s \(max_lifetime 20s\)$' "  ... with the reason in its events"
syslog_like "session=$a: ended by its lifetime" "  ... and in syslog"
is "$(ps -u "$a_uid" -o pid= | wc -l)" 0 "  ... no process of its UID is left"
$T send-keys -t a "echo BACK-\$((5+5))" Enter
ok "A's terminal is back at root's shell" wait_for a BACK-10
is "$(state_of "$b")" active "B still runs"
ok "  ... its process too" pgrep -u "$(uid_of "$b")" sleep
is "$(sql "SELECT count(*) FROM events WHERE session = '$b' AND kind IN ('warned', 'expired')")" 0 \
	"  ... neither warned nor expired"
is "$(screen victim | grep -cF 'ephemera:')" 0 "the victim's terminal stayed clean"
ephemeractl kill "$b" >/dev/null 2>&1
wait
done_testing
