#!/bin/bash
# The reaper and links (issue 5, "Tests"; allocator/reaper.h P3, P4; walk.h R1):
# a session plants symlinks from its home to host canaries (/etc, /var/tmp,
# /root, /) and to the files of another session that is still live, a link
# loop, relative links climbing out, a link inside mnt/output pointing out,
# and replaces mnt/output and mnt themselves with a link (or a FIFO).  The
# host adds hard links to a root-owned canary.  After each reap: no canary and
# no file of the other session was followed, deleted or chowned; the links in
# the output are still links, now the owner's; the host's hard link in the
# output is still root's.
#
# How the reap is driven: every case here is reaped by the reaper PAM starts
# on logout (`ephemeractl reap NAME`), as in production.  A case that needs
# the host to act on the live session first (plant hard links, keep a second
# session open) uses start_session: the login plants, touches ~/.ready and
# waits for ~/.go; end_session creates ~/.go and waits for su, whose PAM close
# then marks the session closed and starts the reaper.  wait_reaped polls the
# db until the session is reaped and no ephemeractl is left running.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

. "$(dirname "$0")/reaper-lib.sh" # helpers shared by every reaper-*.t

make_canaries
# A root canary on the sessions filesystem itself, where hard links can reach it.
mkdir -p /sessions/.canary
printf 'hard-link canary\n' >/sessions/.canary/file
chmod 0600 /sessions/.canary/file
hl_state() { stat -c '%U:%G %a %h %s' /sessions/.canary/file; sha256sum </sessions/.canary/file; }

# --- the other session: live for the whole file; its files must not move ---
start_session 'mkdir data; echo "secret of B" >data/file; echo "output of B" >mnt/output/b-file'
B=$NAME B_SUPID=$SUPID
b_state() {
	(cd "/sessions/$B" && find . -printf '%p %y %U:%G %m %s %T@\n' | LC_ALL=C sort &&
		find . -type f ! -name .go -exec sha256sum {} + | LC_ALL=C sort)
}
B_STATE=$(b_state)
like "$B_STATE" "data/file f $(uid_of "$B"):" "$B: the other session's file is its own (before)"

# --- links everywhere, the host's hard links, reaped on logout ---
start_session "
	ln -s /etc/ephemera-canary to-etc-canary
	ln -s /var/tmp/canary-dir to-canary-dir
	ln -s /var/tmp/canary-dir/file to-canary-file
	ln -s /root/canary-dir to-root
	ln -s / to-slash
	ln -s /etc to-etc
	ln -s ../.. up-up
	mkdir -p deep/er && ln -s ../../../../../../etc deep/er/rel-etc
	ln -s loop2 loop1 && ln -s loop1 loop2
	mkdir links && ln -s /var/tmp/canary-dir links/sub && ln -s /sessions/$B/data links/data
	ln -s /sessions/$B to-other-home
	ln -s /sessions/$B/data/file to-other-file
	ln -s /sessions/$B/mnt/output to-other-output
	ln -s /etc/ephemera-canary mnt/output/link-to-canary
	ln -s /var/tmp/canary-dir mnt/output/link-to-canary-dir
	ln -s /sessions/$B/data/file mnt/output/link-to-other
	ln -s /sessions/$B/mnt/output mnt/output/link-to-other-output
	ln -s /nonexistent mnt/output/dangling
	mkdir mnt/output/sub && ln -s ../../../../../etc mnt/output/sub/rel-up
	echo side >side && ln side mnt/output/hardlink-from-home
	setfacl -m u:\$(id -u):rwx,g:\$(id -g):rwx mnt/output/hello mnt/output/sub
	setfacl -d -m u:\$(id -u):rwx,g:\$(id -g):rwx mnt/output/sub"
A=$NAME
ln /sessions/.canary/file "/sessions/$A/hl-wiped"
ln /sessions/.canary/file "/sessions/$A/mnt/output/root-hardlink"
HL=$(hl_state)
like "$HL" "^root:root 600 3 " "the host's hard links to its canary are in place (3 links)"
end_session "$A"
wait_reaped "$A"
check_reaped "$A" 9
out=/sessions/$A/mnt/output
ok "$A: the link to the canary in the output is still a link" test -L "$out/link-to-canary"
is "$(readlink "$out/link-to-canary")" /etc/ephemera-canary "$A: ... pointing where it did"
is "$(stat -c %U:%G "$out/link-to-canary")" "$OWNER:$OWNER" "$A: ... and is the owner's (lchown, not chown)"
is "$(stat -c %U "$out/link-to-other" "$out/link-to-canary-dir" "$out/dangling" | sort -u)" "$OWNER" \
	"$A: the other links in the output are the owner's too"
is "$(cat "$out/hardlink-from-home")" side "$A: a hard link from the wiped home into the output keeps its data"
is "$(b_state)" "$B_STATE" "$A: the live session $B behind the links is untouched (names, owners, modes, data)"
want=$(printf '%s\n' "$HL" | sed 's/^root:root 600 3 /root:root 600 2 /')
is "$(hl_state)" "$want" "$A: the hard-link canary lost only the wiped link (owner, mode, data kept)"
is "$(stat -c %U:%G "$out/root-hardlink")" root:root \
	"$A: the host's hard link in the output is still root's (P4: only the uid's entries change hands)"

# --- mnt/output or mnt itself is not a directory ---
# check_swapped NAME LISTING: nothing was followed, the home holds LISTING and
# nothing of the uid, the session is reaped once.
check_swapped() {
	local name=$1 home=/sessions/$1 uid
	uid=$(uid_of "$name")
	is "$(canary_state)" "$CANARIES" "$name: the host canaries are intact"
	is "$(b_state)" "$B_STATE" "$name: the live session $B is untouched"
	is "$(procs_of "$uid")" 0 "$name: no process of uid $uid lives"
	is "$(state_of "$name")" reaped "$name: the session is reaped"
	is "$(reaped_events "$name")" 1 "$name: ... once"
	is "$(listing "$home")" "$2" "$name: the home holds $(printf '%s' "${2:-nothing}" | tr '\n' ' ')"
	is "$(find "$home" -user "$uid" -printf '/%P %y\n' 2>&1 | head -n 3)" "" \
		"$name: nothing under the home belongs to uid $uid (else its lease never leaves quarantine)"
}
SWAPPED=()
swap() { # swap DESC LISTING CMD
	PLANT_PRE='set -e; cd ~; ' PLANT_POST='' run_session "$3"
	diag "$NAME: $1"
	wait_reaped "$NAME"
	check_swapped "$NAME" "$2"
	SWAPPED+=("$NAME")
}
swap "mnt/output is a link to a host directory" mnt \
	'rm -rf mnt/output; ln -s /var/tmp/canary-dir mnt/output'
swap "mnt/output is a link to the other session's output" mnt \
	"rm -rf mnt/output; ln -s /sessions/$B/mnt/output mnt/output"
swap "mnt/output is a FIFO (where a directory was expected)" mnt \
	'rm -rf mnt/output; mkfifo mnt/output'
swap "mnt is a link to a host directory" "" \
	'mv mnt old-mnt; ln -s /var/tmp/canary-dir mnt'
swap "mnt is a link to the other session's mnt" "" \
	"mv mnt old-mnt; ln -s /sessions/$B/mnt mnt"
swap "mnt is a FIFO" "" \
	'mv mnt old-mnt; mkfifo mnt'

# --- the other session ends: its own reap is as clean ---
SUPID=$B_SUPID end_session "$B"
wait_reaped "$B"
check_reaped "$B" 2
is "$(cat "/sessions/$B/mnt/output/b-file")" "output of B" "$B: its output kept its data"

check_gc "$A" "$B" "${SWAPPED[@]}"
is "$(hl_state)" "$want" "the hard-link canary is still intact after gc"

# --- gc --older-than: outputs past retention go, and the links in them are
# not followed on the way (home_remove walks like the wipe) ---
out=$(ephemeractl gc --older-than 1 2>&1)
like "$out" "deleted 0 output" "gc --older-than 1 keeps the outputs reaped today ($out)"
ok "$A: ... its output is still there" test -f "/sessions/$A/mnt/output/hello"
sqlite3 /var/lib/ephemera/ephemera.db "UPDATE sessions SET reaped_at = reaped_at - 2 * 86400 WHERE name = '$A'"
out=$(ephemeractl gc --older-than 1 2>&1)
like "$out" "deleted 1 output" "gc --older-than 1 deletes the output reaped two days ago ($out)"
ok "$A: ... its home is gone" test ! -e "/sessions/$A"
is "$(sql "SELECT count(*) FROM events WHERE session = '$A' AND kind = 'output-deleted'")" 1 \
	"$A: ... with an 'output-deleted' event"
is "$(canary_state)" "$CANARIES" "$A: ... the canaries its links pointed to are intact"
is "$(hl_state)" "$(printf '%s\n' "$HL" | sed 's/^root:root 600 3 /root:root 600 1 /')" \
	"$A: ... the hard-link canary lost only that link"
is "$(cat "/sessions/$B/mnt/output/b-file" 2>&1)" "output of B" "$B: ... and the output of today's session is kept"

done_testing
