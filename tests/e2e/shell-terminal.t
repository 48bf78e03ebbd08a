#!/bin/bash
# An interactive login on a terminal (issue 3, "The terminal"): tmux plays the
# admin's terminal, `su - agent-session` runs in it.  Job control works, `tty`
# names the terminal, and TIOCSTI -- which would type into root's shell after
# su exits -- fails with EPERM, while root on the same terminal may use it.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

T="tmux -L ephemera-test"
screen() { $T capture-pane -p -t s -S -200; }
# wait_for TEXT: until the pane shows TEXT (5 s at most)
wait_for() {
	local i
	for i in $(seq 50); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
	return 1
}
send() { $T send-keys -t s "$@"; }

$T new-session -d -s s -x 150 -y 50 "bash --norc --noprofile"
send "PS1='root-prompt\$ '" Enter
send "ephemera-probe --process-only | grep -E '^(tty|sys.tiocsti)='; echo ROOT-\$((1+1))-DONE" Enter
ok "root's shell on the terminal ran the probe" wait_for ROOT-2-DONE
root_tiocsti=$(screen | sed -n 's/^sys.tiocsti=//p' | head -n 1)
ok "  ... where TIOCSTI is not EPERM ($root_tiocsti): the check below can fail" \
	test -n "$root_tiocsti" -a "$root_tiocsti" != EPERM

send "su - agent-session" Enter
send "PS1='in-\$((1+1))-session\$ '" Enter
ok "the session gives an interactive prompt" wait_for 'in-2-session$'
send "tty; echo TTY-\$((1+1))-DONE" Enter
wait_for TTY-2-DONE
like "$(screen | grep -E '^/dev/' | tail -n 1)" '^/dev/(console|pts/[0-9]+)$' "tty prints a name"

send "ephemera-probe --process-only | grep -E '^sys.tiocsti='; echo PROBE-\$((1+1))-DONE" Enter
wait_for PROBE-2-DONE
is "$(screen | sed -n 's/^sys.tiocsti=//p' | tail -n 1)" EPERM "TIOCSTI from the session fails with EPERM"

# Job control: Ctrl-Z stops a job, jobs lists it, fg brings it back.
send "sleep 300" Enter
sleep 0.5
send C-z
ok "Ctrl-Z stops the foreground job" wait_for Stopped
send "jobs; echo JOBS-\$((1+1))-DONE" Enter
wait_for JOBS-2-DONE
like "$(screen | grep -E '^\[1\]' | tail -n 1)" 'Stopped +sleep 300' "jobs lists the stopped job"
send "fg" Enter
sleep 0.3
send C-c
send "echo AFTER-FG-\$?" Enter
ok "fg resumed it and Ctrl-C ended it (status 130)" wait_for AFTER-FG-130
send "exit 3" Enter
send "echo SU-STATUS-\$?" Enter
ok "leaving the session returns to root's shell with the exit status" wait_for SU-STATUS-3
$T kill-server 2>/dev/null
done_testing
