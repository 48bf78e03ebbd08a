#!/bin/bash
# The reaper against live processes and other reapers (issue 5, "Tests";
# allocator/reaper.h P1, P2): a detached `setsid nohup` writer inside the
# sandbox still writing into the home every 100 ms when `ephemeractl kill`
# reaps (and `reap` refusing the session while it runs); processes of the uid
# outside the sandbox (a writer ignoring SIGTERM, a stopped process, a pid
# hopper that forks and exits all the time) when the session logs out; three
# reapers started at once on one session; `reap --all` after two crashes, as
# at boot.  After each: the canaries are intact, no process of the uid lives,
# the home holds only mnt/output, byte-identical to the manifest and the
# owner's, and the session is reaped exactly once (one 'reaped' event).
# (Reapers killed with SIGKILL: reaper-killed.t.)
#
# How the reap is driven.  After `su - agent-session -c CMD` returns, PAM has
# already started `ephemeractl reap NAME` in the background, so a case that
# must own its reaper cannot simply log out:
#  - start_session runs the login in the background; it plants, touches
#    ~/.ready and waits for ~/.go, so the session is live and un-reaped for as
#    long as the test wants (end_session creates ~/.go: a normal logout, and
#    PAM's reaper, as for the escaped processes);
#  - for `ephemeractl kill NAME` (the live writer) the session stays as it
#    is: kill marks it closed and reaps it by force; the launcher's death
#    makes su return and PAM start a second reaper, which must find the reap
#    lock held (or the session reaped) and do nothing;
#  - for the three reapers and reap --all, crash_session SIGKILLs su first
#    (so its close_session never runs and no reaper is started) and then the
#    launcher (leader_pid in the db; the sandbox's pid 1 dies with it,
#    launcher.h S2).  The session is left 'active' with a dead leader, as
#    after a crash, which `ephemeractl reap NAME` accepts (reaper.c
#    check_over); nothing reaps it until the test starts the reapers itself.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

. "$(dirname "$0")/reaper-lib.sh" # helpers shared by every reaper-*.t

make_canaries
ALL=()

# --- reap refuses a session that runs; kill reaps it, though a detached
# writer inside the sandbox is still writing into the home every 100 ms ---
start_session 'setsid nohup sh -c "while :; do date >>~/keepalive; sleep 0.1; done" >/dev/null 2>&1 &
	echo "kept" >mnt/output/kept'
home=/sessions/$NAME
sleep 0.5
s1=$(stat -c %s "$home/keepalive" 2>/dev/null || echo 0)
sleep 0.5
s2=$(stat -c %s "$home/keepalive" 2>/dev/null || echo 0)
ok "$NAME: the detached writer writes into the home ($s1 -> $s2 bytes)" test "$s2" -gt "$s1"
wsid=$(ps -e -o uid=,pid=,sid=,args= | awk -v u="$SUID" '$1 == u && /keepalive/ && $2 == $3 {print $2; exit}')
ok "$NAME: ... from a session of its own (setsid: pid $wsid)" test -n "$wsid"
before=$(listing "$home" 1)
out=$(ephemeractl reap "$NAME" 2>&1); rc=$?
like "$rc $out" "^1 .*session $NAME is running \(use kill\)" "$NAME: reap refuses a running session"
is "$(state_of "$NAME")" active "$NAME: ... which stays active"
is "$(listing "$home" 1)" "$before" "$NAME: ... and keeps its files"
out=$(ephemeractl reap --all 2>&1); rc=$?
is "$(state_of "$NAME")" active "$NAME: reap --all leaves a running session alone (rc $rc)"
s3=$(stat -c %s "$home/keepalive")
sleep 0.5
ok "$NAME: ... the writer still writes" test "$(stat -c %s "$home/keepalive")" -gt "$s3"
out=$(ephemeractl kill "$NAME" 2>&1); rc=$?
out=$(printf '%s' "$out" | tr '\n' ' ')
like "$rc $out" "^0 .*reaped: [0-9]+ files" "$NAME: ephemeractl kill ends and reaps it"
wait "$SUPID" 2>/dev/null
wait_reaped "$NAME"
check_reaped "$NAME" 2
syslog_like "ephemeractl.*session=$NAME: killed by the administrator" "$NAME: syslog says who ended it"
ALL+=("$NAME")

# --- processes of the uid outside the sandbox (as if one had got out of its
# pid namespace): P2 kills every process of the uid, not just the sandbox ---
start_session 'echo "kept" >mnt/output/kept'
home=/sessions/$NAME
as_uid() { setsid -f setpriv --reuid="$SUID" --regid="$SUID" --clear-groups -- "$@" </dev/null >/dev/null 2>&1; }
as_uid sh -c "trap '' HUP INT TERM; while :; do date >>$home/escaped; sleep 0.1; done"
as_uid perl -e '$SIG{$_} = "IGNORE" for qw(HUP INT TERM); while (1) { my $p = fork; exit 0 if $p; select undef, undef, undef, 0.01 }'
as_uid sleep 1000
for i in $(seq 50); do [ -e "$home/escaped" ] && pgrep -u "$SUID" -fx 'sleep 1000' >/dev/null && break; sleep 0.1; done
stopped=$(pgrep -u "$SUID" -fx 'sleep 1000')
kill -STOP "$stopped"
# The stop is delivered asynchronously: give it a moment before looking.
for i in $(seq 50); do [ "$(ps -o stat= -p "$stopped" | cut -c1)" = T ] && break; sleep 0.02; done
is "$(ps -o stat= -p "$stopped" | cut -c1)" T "$NAME: ... one of them is stopped (SIGSTOP)"
n=$(procs_of "$SUID")
ok "$NAME: uid $SUID runs processes outside the sandbox too ($n in all)" test "$n" -ge 5
ok "$NAME: ... one of them writes into the home" test -s "$home/escaped"
hopper() { local i p; for i in $(seq 50); do p=$(pgrep -u "$SUID" -x perl) && echo "$p" && return; sleep 0.01; done; }
h1=$(hopper); sleep 0.1; h2=$(hopper)
ok "$NAME: ... one of them hops from pid to pid ($h1 -> $h2)" test -n "$h1" -a -n "$h2" -a "$h1" != "$h2"
end_session "$NAME"
wait_reaped "$NAME"
check_reaped "$NAME" 2
sleep 0.3
ok "$NAME: nothing writes into the home any more" test ! -e "$home/escaped"
ALL+=("$NAME")

# --- three reapers at once on one session: one does the work (P1) ---
start_session 'perl -e '\''mkdir "w"; for my $d (1 .. 10) { mkdir "w/$d" or die; for (1 .. 1000) { open my $f, ">", "w/$d/$_" or die } }'\''
	for i in $(seq 20); do echo "out $i" >mnt/output/o$i; done'
crash_session "$NAME"
is "$(state_of "$NAME"),$(procs_of "$SUID"),$(pgrep -xc ephemeractl)" "active,0,0" \
	"$NAME: crashed: active, no process of the uid, no reaper started"
for r in 1 2 3; do
	args=("$NAME"); [ "$r" = 3 ] && args=(--all)
	( ephemeractl reap "${args[@]}" >"$LOGS/race.$r" 2>&1; echo $? >"$LOGS/race.$r.rc" ) &
done
wait
rcs=$(cat "$LOGS"/race.[123].rc | sort | tr '\n' ' ')
like "$rcs" "^[01] [01] [01] $" "$NAME: the three reapers exit sanely (status $rcs)"
all=$(cat "$LOGS"/race.[123])
is "$(printf '%s\n' "$all" | grep -c 'reaped: ')" 1 "$NAME: exactly one of them reaped"
like "$all" "being reaped by another reaper" "$NAME: ... another one found the reap lock held"
is "$(printf '%s\n' "$all" | grep -v -e 'reaped: ' -e 'being reaped by another reaper' | grep -c .)" 0 \
	"$NAME: ... and none said anything else"
[ "$(printf '%s\n' "$all" | grep -c 'reaped: ')" = 1 ] || printf '%s\n' "$all" | sed 's/^/#   /'
is "$(sql "SELECT count(*) FROM events WHERE session = '$NAME' AND kind = 'reaping'")" 1 \
	"$NAME: one 'reaping' event"
check_reaped "$NAME" 21
ALL+=("$NAME")

# --- reap --all, as at boot: every session whose leader is gone ---
CRASHED=()
for i in 1 2; do
	start_session "echo crashed $i >mnt/output/c"
	crash_session "$NAME"
	CRASHED+=("$NAME")
done
is "$(state_of "${CRASHED[0]}") $(state_of "${CRASHED[1]}")" "active active" "two sessions crashed (active, leader gone)"
out=$(ephemeractl reap --all 2>&1); rc=$?
is "$rc" 0 "reap --all exits 0"
is "$(printf '%s\n' "$out" | grep -c 'reaped: ')" 2 "reap --all reaped both"
for n in "${CRASHED[@]}"; do
	check_reaped "$n" 2
	is "$(sql "SELECT state FROM leases WHERE session = '$n'")" "" "$n: reap --all ran gc too: the lease is released"
	ALL+=("$n")
done

check_gc "${ALL[@]}"
is "$(canary_state)" "$CANARIES" "the host canaries are intact at the end"

done_testing
