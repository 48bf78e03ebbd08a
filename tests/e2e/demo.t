#!/bin/bash
# `make demo` (issue 6): the scripted run CI gets without a terminal, then the
# interactive run on a real terminal (tmux plays it, as in shell-terminal.t).
#
# Unlike the other tests this one does not enter a testenv of its own: the
# demo builds one, and testenv cannot nest (its accounts already exist in a
# copied /etc).  So it runs on the host and checks with tests/host-snapshot
# that the host is as before; tmux keeps its socket in our scratch dir.
# (To see the checks fail: make a step of the scripted session expect
# "eth0:" instead of "lo:" -- the demo then exits 1 and the tests below fail.)
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
export EPHEMERA_RUN_TAG=${EPHEMERA_RUN_TAG:-demo-t$$}
scratch=$(mktemp -d /tmp/ephemera-demo-t.XXXXXX)
T="tmux -S $scratch/tmux.sock"
trap '$T kill-server 2>/dev/null; rm -rf "$scratch"' EXIT
before=$(tests/host-snapshot)

# section TEXT CMDLINE: what the demo printed under "$ CMDLINE"
section() {
	printf '%s\n' "$1" | awk -v c="\$ $2" '
		$0 == c { on = 1; next }
		on && /^(\$ |demo: |   ok: |   FAILED: )/ { exit }
		on { print }'
}

# ---- without a terminal: the scripted session ----
out=$(make -s demo </dev/null 2>&1)
is "$?" 0 "make demo </dev/null exits 0" || printf '%s\n' "$out" | sed 's/^/#   /'
name=$(printf '%s\n' "$out" | sed -n 's/^ephemera: session \([a-z-]*\), a throwaway sandbox (uid [0-9]*, .*/\1/p')
like "$name" '^[a-z]+-[a-z]+-[a-z]+$' "the banner names the session"
like "$out" '^Only ~/mnt/output is kept when you leave \(exit or Ctrl-D\); the rest is wiped\.$' "  ... and says what is kept and how to leave"
like "$(section "$out" id)" "^  uid=[0-9]+\\($name\\) gid=" "the session runs id, as its own user"
status=$(section "$out" "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status")
is "$(printf '%s\n' "$status" | grep -cE $'^  Cap(Inh|Prm|Eff|Bnd|Amb):\t0{16}$')" 5 "  ... shows five empty capability sets"
like "$status" $'^  Seccomp:\t2$' "  ... and its seccomp line"
is "$(section "$out" 'touch /etc/ephemera-demo')" "  touch: cannot touch '/etc/ephemera-demo': Read-only file system" \
	"a write outside the home fails"
is "$(printf '%s\n' "$out" | grep -c '^   ok: ')" 15 "all 15 checks of the demo report ok"
is "$(printf '%s\n' "$out" | grep -c 'FAILED')" 0 "  ... and none reports FAILED"
like "$(section "$out" "ephemeractl show $name")" '^  state: +reaped$' "ephemeractl show says the session was reaped"
is "$(section "$out" "ls -A /sessions/$name")" "  mnt" "  ... and all but mnt is gone from its home"
like "$(section "$out" "ls -l /sessions/$name/mnt/output")" \
	'^  -rw-rw----\+ 1 agent-session agent-session [0-9]+ .* hello\.txt$' \
	"the listing of mnt/output shows hello.txt, now agent-session's"
is "$(section "$out" "cat /sessions/$name/mnt/output/hello.txt")" "  written by $name" \
	"  ... with what the session wrote in it"
like "$out" '^demo: the host is unchanged' "the demo compared the host before and after"

# ---- on a terminal: the user's own shell ----
screen() { $T capture-pane -p -J -t demo -S -300; }
wait_for() { # wait_for TEXT SECONDS: until the pane shows TEXT (or the demo ended)
	local _ s
	for _ in $(seq $(($2 * 10))); do
		s=$(screen)
		grep -qF -- "$1" <<<"$s" && return 0
		grep -q '^DEMO-EXIT-' <<<"$s" && return 1
		sleep 0.1
	done
	return 1
}
$T new-session -d -s demo -x 160 -y 60 "make -s demo; echo DEMO-EXIT-\$?; sleep 600"
ok "on a terminal the demo shows the banner" wait_for 'the rest is wiped.' 120 || screen | sed "s/^/#   /"
tname=$(screen | sed -n 's/^ephemera: session \([a-z-]*\), a throwaway sandbox (uid.*/\1/p')
like "$tname" '^[a-z]+-[a-z]+-[a-z]+$' "  ... naming the session"
ok "  ... and gives the session's own prompt" wait_for "$tname@" 10
fails "  ... not a scripted session" wait_for 'a scripted session runs' 1
$T send-keys -t demo 'echo hi >mnt/output/x; exit' Enter
ok "after exit the demo ends with status 0" wait_for DEMO-EXIT-0 60
pane=$(screen)
like "$(section "$pane" "ephemeractl show $tname")" '^  state: +reaped$' "ephemeractl show says it was reaped"
like "$(section "$pane" "ls -l /sessions/$tname/mnt/output")" '^  -rw-rw----\+ 1 agent-session agent-session 3 .* x$' \
	"the output listing shows x (3 bytes), agent-session's"
$T kill-server 2>/dev/null

is "$(tests/host-snapshot)" "$before" "tests/host-snapshot: the host is as before both runs"
done_testing
