#!/bin/bash
# Reapers killed with SIGKILL (issue 5, "Tests" and "Nothing lost";
# allocator/reaper.h P4, P5): one killed halfway through the wipe of 100,000
# small files, one killed again and again at growing delays (0.01 s, 0.02 s,
# ...) until a run finishes, and several killed in the middle of the handover
# of a 20,000-file output.  Each time the next reaper is not locked out and
# finishes the job; in between the output stays byte-identical to the
# manifest and the session is 'reaping' (or 'reaped').  At the end: the
# canaries are intact, no process of the uid lives, the home holds only
# mnt/output, the owner's, with no ACL entry of the uid left, and the session
# is reaped exactly once (one 'reaped' event); gc releases the leases.
#
# How the reap is driven.  After `su - agent-session -c CMD` returns, PAM has
# already started `ephemeractl reap NAME` in the background, which would race
# the reaper the test wants to kill.  So start_session runs the login in the
# background (it plants, touches ~/.ready and waits for ~/.go), and
# crash_session then SIGKILLs su first (its close_session never runs, so no
# reaper is started) and then the launcher (leader_pid in the db; the
# sandbox's pid 1 dies with it, launcher.h S2).  The session is left 'active'
# with a dead leader, as after a crash, which `ephemeractl reap NAME` accepts
# (reaper.c check_over); from then on every reaper is the test's own, started
# in the background and killed with kill -9 by its pid.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

. "$(dirname "$0")/reaper-lib.sh" # helpers shared by every reaper-*.t

make_canaries
ALL=()
out_manifest() { ephemera-reaper-manifest "/sessions/$1/mnt/output" 2>&1; }
saved_manifest() { cat "/sessions/$1/mnt/output/.manifest" 2>/dev/null; }

# --- a reaper SIGKILLed halfway through a 100,000-file wipe; the next one
# finishes the job (P5), the output untouched in between ---
start_session 'perl -e '\''mkdir "many"; for my $d (1 .. 100) { mkdir "many/$d" or die; for (1 .. 1000) { open my $f, ">", "many/$d/$_" or die } }'\''
	for i in $(seq 100); do echo "out $i" >mnt/output/o$i; done'
home=/sessions/$NAME
crash_session "$NAME"
ephemeractl reap "$NAME" >"$LOGS/half.1" 2>&1 &
rpid=$!
for i in $(seq 400); do
	left=$(find "$home/many" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	[ "$left" -lt 95 ] && break
	sleep 0.05
done
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
left=$(find "$home/many" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
ok "$NAME: the reaper was killed halfway through the wipe ($left of 100 directories left)" \
	test "$left" -gt 0 -a "$left" -lt 100
is "$(state_of "$NAME")" reaping "$NAME: ... the session is left reaping, not reaped"
is "$(out_manifest "$NAME")" "$(saved_manifest "$NAME")" "$NAME: ... its output untouched"
out=$(ephemeractl reap "$NAME" 2>&1); rc=$?
like "$rc $out" "^0 .*reaped: [0-9]+ files" "$NAME: the next reaper is not locked out and finishes the job"
wait_reaped "$NAME"
check_reaped "$NAME" 101
ALL+=("$NAME")

# --- killed again and again (0.01 s, 0.02 s, ... after its start): every
# run leaves the output whole, and some run finishes ---
start_session 'perl -e '\''mkdir "w"; for my $d (1 .. 10) { mkdir "w/$d" or die; for (1 .. 1000) { open my $f, ">", "w/$d/$_" or die } }'\''
	mkdir mnt/output/d
	perl -e '\''for (1 .. 2000) { open my $f, ">", "mnt/output/d/o$_" or die; print $f "out $_\n" }'\'''
crash_session "$NAME"
kills=0 torn=0
for i in $(seq 60); do
	ephemeractl reap "$NAME" >/dev/null 2>&1 &
	rpid=$!
	sleep "$(printf '0.%02d' "$i")"
	kill -9 "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	[ $? = 137 ] && kills=$((kills + 1))
	[ "$(out_manifest "$NAME")" = "$(saved_manifest "$NAME")" ] || torn=$((torn + 1))
	case "$(state_of "$NAME")" in active|reaping|reaped) ;; *) torn=$((torn + 1)) ;; esac
	[ "$(state_of "$NAME")" = reaped ] && break
done
# The loop stops at the first reaped: the reaper that recorded it may have
# been killed before it released the lease, which the next reap does.
out=$(ephemeractl reap "$NAME" 2>&1)
is "$?" 0 "$NAME: a reap after the kills succeeds (it releases a lease left behind) ${out:+($out)}"
ok "$NAME: $kills reapers were killed before one finished" test "$kills" -ge 3
is "$torn" 0 "$NAME: after every kill the output matched the manifest and the session was active (killed before it began), reaping or reaped"
check_reaped "$NAME" 2002
ALL+=("$NAME")

# --- killed in the middle of the handover: the next reaper hands over the
# rest, and no ACL entry of the uid is left behind on what the first one had
# already chowned (P4, P5) ---
start_session 'mkdir mnt/output/d
	perl -e '\''for (1 .. 20000) { open my $f, ">", "mnt/output/d/o$_" or die; print $f "out $_\n" }'\''
	setfacl -R -m u:$(id -u):rw,g:$(id -g):rw mnt/output/d'
home=/sessions/$NAME
crash_session "$NAME"
partial=0
for round in 1 2 3 4 5 6 7 8; do
	ephemeractl reap "$NAME" >/dev/null 2>&1 &
	rpid=$!
	for i in $(seq 400); do
		[ -n "$(find "$home/mnt/output/d" -user "$OWNER" -print -quit 2>/dev/null)" ] && break
		sleep 0.01
	done
	sleep "0.0$round"
	kill -9 "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	mine=$(find "$home/mnt/output/d" -user "$OWNER" | wc -l)
	[ "$mine" -gt 0 ] && [ "$mine" -lt 20000 ] && partial=$((partial + 1))
	diag "$NAME: round $round: killed with $mine of 20000 files handed over"
	[ "$(state_of "$NAME")" = reaped ] && break
done
ok "$NAME: reapers were killed in the middle of the handover ($partial of 8 rounds)" test "$partial" -ge 2
is "$(out_manifest "$NAME")" "$(saved_manifest "$NAME")" "$NAME: ... the output is intact"
out=$(ephemeractl reap "$NAME" 2>&1); rc=$?
is "$rc" 0 "$NAME: the next reaper finishes the handover (or finds it finished) ${out:+($out)}"
check_reaped "$NAME" 20002
ALL+=("$NAME")

check_gc "${ALL[@]}"
is "$(canary_state)" "$CANARIES" "the host canaries are intact at the end"

done_testing
