#!/bin/bash
# The reaper and a 100,000-deep directory chain (issue 5, "Tests"; DESIGN.md
# "Reaping safely": "trees can be 100,000 deep"; walk.h R3).  The session
# builds the chain with mkdir+chdir in a loop (perl: 100,000 forks of mkdir
# would take minutes) and logs out; the reaper PAM starts on logout must wipe
# it, without recursion, in reasonable time: REAPER_DEEP_WAIT seconds (120 by
# default; the reap takes about 5 s on this machine).  Then the usual: canaries intact, no
# process of the uid, the home holds only mnt/output, as the manifest says,
# the owner's, reaped once, and gc releases the lease.
#
# Why a file of its own: the depth.  walk_tree climbs back up with
# openat(fd, ".."), and when the sessions directory is reached through a bind
# mount whose root is not its filesystem's root (testenv binds a scratch
# directory on /sessions; so do containers and BindPaths=), the kernel checks
# every ".." against the mount root (follow_dotdot -> path_connected ->
# is_subdir), which walks the whole chain up: the wipe was O(depth^2), 269 s
# for 100,000 levels.  rmtree now renames directories deeper than 128 levels
# up to the top of the tree it removes (walk.c, WALK_MOVE_DEPTH), which makes
# it O(depth): about 4 s for 100,000 levels on a bind mount, where rm -rf
# takes 5 s without one.  If the reap does not finish in REAPER_DEEP_WAIT
# seconds, the checks that need it are skipped (a find over the chain would
# take as long), the failure says so, and the testenv teardown ends the reaper.
#
# How the reap is driven: by the reaper PAM starts on logout, as in
# production; wait_reaped polls the db until the session is reaped.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

. "$(dirname "$0")/reaper-lib.sh" # helpers shared by every reaper-*.t

make_canaries
WAIT=${REAPER_DEEP_WAIT:-120}
DEPTH=${REAPER_DEEP_DEPTH:-100000}
files_reaped() { sql "SELECT files_reaped FROM sessions WHERE name = '$1'"; }

run_session 'perl -e '\''
	my $n = shift; mkdir q(chain) or die; chdir q(chain) or die;
	for (1 .. $n) { mkdir q(d) or die "$_: $!"; chdir q(d) or die "$_: $!" }
	open my $f, q(>), q(bottom) or die; print $f "bottom\n"; close $f or die;
	print STDERR "built $n levels\n"'\'' '"$DEPTH"'
	echo kept >mnt/output/kept'
like "$(cat "$LOGS"/su.*.log)" "built $DEPTH levels" "$NAME: the session built a $DEPTH-deep chain"
t0=$(date +%s)
while [ "$(state_of "$NAME")" != reaped ] && [ "$(date +%s)" -lt "$((t0 + WAIT))" ]; do sleep 0.2; done
took=$(($(date +%s) - t0))
is "$(state_of "$NAME")" reaped "$NAME: the $DEPTH-deep chain is reaped within $WAIT s (took $took s)"
if [ "$(state_of "$NAME")" = reaped ]; then
	check_reaped "$NAME" 2
	ok "$NAME: the wipe counted every level ($(files_reaped "$NAME") files)" test "$(files_reaped "$NAME")" -ge "$((DEPTH + 1))"
	diag "$NAME: $(sql "SELECT detail FROM events WHERE session = '$NAME' AND kind = 'reaped'")"
	check_gc "$NAME"
else
	diag "$NAME: still $(state_of "$NAME") after $took s; the reaper: $(ps -o etime=,time=,args= -C ephemeractl | head -n 1)"
	for d in "canaries intact" "no process of the uid" "home holds only mnt/output" \
		"output matches the manifest" "output is the owner's" "every level counted" "gc releases the lease"; do
		_report 0 "$NAME: $d # SKIP the reap did not finish"
	done
	# What can be checked without walking the chain:
	is "$(canary_state)" "$CANARIES" "$NAME: the host canaries are intact meanwhile"
	is "$(procs_of "$SUID")" 0 "$NAME: no process of uid $SUID lives meanwhile"
	is "$(ephemera-reaper-manifest "/sessions/$NAME/mnt/output" 2>&1)" "$(cat "/sessions/$NAME/mnt/output/.manifest")" \
		"$NAME: the output is untouched meanwhile"
fi

done_testing
