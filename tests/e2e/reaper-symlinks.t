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

# ---- the same helpers in every tests/e2e/reaper-*.t (each file stands alone) ----
OWNER=agent-session
OWNER_UID=$(id -u "$OWNER")
OWNER_GID=$(id -g "$OWNER")
LOGS=/tmp/reaper-test-logs
mkdir -p "$LOGS"

# Processes of a uid, zombies left out (a zombie runs nothing).
procs_of() { ps -e -o uid=,stat= | awk -v u="$1" '$1 == u && $2 !~ /^Z/' | wc -l; }
state_of() { sql "SELECT state FROM sessions WHERE name = '$1'"; }
uid_of() { sql "SELECT uid FROM sessions WHERE name = '$1'"; }
max_rowid() { # 0 before the first login has created the database
	[ -s /var/lib/ephemera/ephemera.db ] && sql "SELECT coalesce(max(rowid), 0) FROM sessions" || echo 0
}
reaped_events() { sql "SELECT count(*) FROM events WHERE session = '$1' AND kind = 'reaped'"; }
# Names under a home, one a line, sorted (names are ours: no newline in them).
listing() { find "$1" -mindepth 1 -maxdepth "${2:-2}" -printf '%P\n' 2>&1 | LC_ALL=C sort; }

# The manifest: one line per entry under DIR, names hex-encoded (newlines and
# invalid UTF-8 survive), never following a link; a file's size and sha256
# (size alone past 16 MiB: the 1 GiB sparse file).  Entries named root-* are
# the host's (hard links it planted) and are checked on their own.  The session
# writes it into mnt/output/.manifest before logout; after the reap it must
# come out the same.  /usr is the testenv's overlay, bound into every sandbox.
cat >/usr/local/bin/ephemera-reaper-manifest <<'PERL'
#!/usr/bin/perl
use strict;
use warnings;
use File::Find;
use Digest::SHA;
my $top = shift // die "usage: ephemera-reaper-manifest DIR\n";
chdir $top or die "$top: $!\n";
my @out;
find({no_chdir => 1, wanted => sub {
	my $p = $File::Find::name;
	return if $p eq '.' || $p eq './.manifest';
	(my $base = $p) =~ s{.*/}{}s;
	return if $base =~ /^root-/;
	my @st = lstat($p) or die "$p: $!\n";
	my $h = unpack('H*', $p);
	if (-l _) { push @out, "l $h " . unpack('H*', readlink($p)); }
	elsif (-d _) { push @out, "d $h"; }
	elsif (-p _) { push @out, "p $h"; }
	elsif (-S _) { push @out, "s $h"; }
	elsif (-f _) {
		my $sum = $st[7] > (16 << 20) ? 'big' : Digest::SHA->new(256)->addfile($p)->hexdigest;
		push @out, "f $h $st[7] $sum";
	} else { push @out, "? $h"; }
}}, '.');
print "$_\n" for sort @out;
PERL
chmod 0755 /usr/local/bin/ephemera-reaper-manifest

# Canaries: root's files the reaper must never touch.  The sandbox cannot see
# them; sessions plant links to them by host path anyway (what matters is that
# root, walking the home, does not follow).
make_canaries() {
	printf 'canary of /etc\n' >/etc/ephemera-canary
	mkdir -p /var/tmp/canary-dir/sub /root/canary-dir
	printf 'canary file\n' >/var/tmp/canary-dir/file
	printf 'canary sub\n' >/var/tmp/canary-dir/sub/file
	printf 'canary of root\n' >/root/canary-dir/file
	chown -R root:root /etc/ephemera-canary /var/tmp/canary-dir /root/canary-dir
	chmod 0644 /etc/ephemera-canary /var/tmp/canary-dir/file /var/tmp/canary-dir/sub/file
	chmod 0755 /var/tmp/canary-dir /var/tmp/canary-dir/sub
	CANARIES=$(canary_state)
}
canary_state() {
	find /etc/ephemera-canary /var/tmp/canary-dir /root/canary-dir \
		-printf '%p %y %U:%G %m %n %s %T@\n' | LC_ALL=C sort
	find /etc/ephemera-canary /var/tmp/canary-dir /root/canary-dir -type f \
		-exec sha256sum {} + | LC_ALL=C sort
	getfacl -R -P -n /etc/ephemera-canary /var/tmp/canary-dir 2>/dev/null
}

# The session: what its user runs inside the sandbox.  PLANT_PRE and
# PLANT_POST wrap every planting command: a file the owner must be able to
# read afterwards, and the manifest of mnt/output.
PLANT_PRE='set -e; cd ~; echo "hello from uid $(id -u)" >mnt/output/hello; '
PLANT_POST='; cd ~; ephemera-reaper-manifest mnt/output >mnt/output/.manifest'

# run_session CMD: a login that plants CMD and logs out; PAM close starts the
# reaper (ephemeractl reap NAME) by itself.  Sets NAME and SUID.
run_session() {
	local before rc=0
	before=$(max_rowid)
	su - "$OWNER" -c "$PLANT_PRE$1$PLANT_POST" </dev/null >"$LOGS/su.$before.log" 2>&1 || rc=$?
	NAME=$(sql "SELECT name FROM sessions WHERE rowid > $before ORDER BY rowid LIMIT 1")
	SUID=$(uid_of "$NAME")
	is "$rc" 0 "${NAME:-?}: the session planted its tree and logged out"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$LOGS/su.$before.log" | tail -n 5
}

# start_session CMD: the same login kept open (in the background) until the
# host says go, so that the host can act on the live session (mount, plant,
# start processes) or take the reap into its own hands.  Sets NAME, SUID, SUPID.
start_session() {
	local before i
	before=$(max_rowid)
	su - "$OWNER" -c "$PLANT_PRE$1$PLANT_POST; touch ~/.ready; while [ ! -e ~/.go ]; do sleep 0.05; done" \
		</dev/null >"$LOGS/su.$before.log" 2>&1 &
	SUPID=$!
	NAME=
	for i in $(seq 600); do
		[ -n "$NAME" ] || NAME=$(sql "SELECT name FROM sessions WHERE rowid > $before ORDER BY rowid LIMIT 1" 2>/dev/null)
		[ -n "$NAME" ] && [ -e "/sessions/$NAME/.ready" ] && break
		kill -0 "$SUPID" 2>/dev/null || break
		sleep 0.1
	done
	SUID=$(uid_of "$NAME")
	ok "${NAME:-?}: the session planted its tree and is waiting" test -e "/sessions/$NAME/.ready"
}

# end_session: let the waiting session log out; PAM close starts its reaper.
end_session() {
	local i
	touch "/sessions/$1/.go"
	for i in $(seq 600); do kill -0 "$SUPID" 2>/dev/null || break; sleep 0.1; done
	ok "$1: the session logged out when told to" sh -c "! kill -0 $SUPID 2>/dev/null"
	kill -9 "$SUPID" 2>/dev/null
	wait "$SUPID" 2>/dev/null
}

# crash_session: take the reap out of PAM's hands.  SIGKILL su first (its
# close_session never runs, so no reaper is started), then the launcher (the
# sandbox's pid 1 dies with it, S2).  The session stays 'active' with a dead
# leader, as after a crash; nothing reaps it until the test runs the reaper.
crash_session() {
	local name=$1 leader i
	kill -9 "$SUPID" 2>/dev/null
	wait "$SUPID" 2>/dev/null
	leader=$(sql "SELECT leader_pid FROM sessions WHERE name = '$name'")
	[ -n "$leader" ] && kill -9 "$leader" 2>/dev/null
	for i in $(seq 100); do [ "$(procs_of "$(uid_of "$name")")" = 0 ] && break; sleep 0.05; done
}

# wait_reaped NAME [SECONDS]: until the session is reaped and no reaper runs.
wait_reaped() {
	local i n=$((${2:-30} * 10))
	for i in $(seq "$n"); do [ "$(state_of "$1")" = reaped ] && break; sleep 0.1; done
	for i in $(seq 50); do pgrep -x ephemeractl >/dev/null || break; sleep 0.1; done
}

# check_reaped NAME MIN: what must hold after every case (issue 5, "Tests"):
# the canaries are intact, no process of the uid lives, the home holds only
# mnt/output and nothing of the uid, the output matches the manifest the
# session wrote (at least MIN entries) and is the owner's (no setuid bit, no
# ACL entry of the uid or its group left), the owner can read it (and another
# user cannot), and the session is reaped, once.
check_reaped() {
	local name=$1 min=$2 home=/sessions/$1 uid
	uid=$(uid_of "$name")
	is "$(canary_state)" "$CANARIES" "$name: the host canaries are intact"
	is "$(procs_of "$uid")" 0 "$name: no process of uid $uid lives"
	is "$(state_of "$name")" reaped "$name: the session is reaped"
	is "$(reaped_events "$name")" 1 "$name: ... once (one 'reaped' event)"
	is "$(listing "$home")" "$(printf 'mnt\nmnt/output')" "$name: the home holds only mnt/output"
	is "$(find "$home" -user "$uid" -printf '%P\n' 2>&1 | head -n 3)" "" \
		"$name: nothing under the home belongs to uid $uid"
	local want got
	want=$(cat "$home/mnt/output/.manifest" 2>/dev/null)
	got=$(ephemera-reaper-manifest "$home/mnt/output" 2>&1)
	ok "$name: the manifest has at least $min entries" test "$(printf '%s\n' "$want" | grep -c .)" -ge "$min"
	is "$got" "$want" "$name: mnt/output matches the manifest written before logout"
	is "$(find "$home/mnt/output" ! -name 'root-*' \( ! -user "$OWNER" -o ! -group "$OWNER_GID" \) \
		-printf '%P\n' 2>&1 | head -n 3)" "" "$name: every entry of mnt/output is $OWNER's"
	is "$(find "$home/mnt/output" -perm /6000 ! -type d -printf '%P\n' 2>&1 | head -n 3)" "" \
		"$name: no setuid or setgid file in the output"
	is "$(getfacl -R -P -n "$home/mnt/output" 2>/dev/null | grep -E "^(default:)?(user|group):$uid:" | head -n 3)" "" \
		"$name: no ACL entry names uid/gid $uid"
	is "$(setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups cat "$home/mnt/output/hello" 2>&1)" \
		"hello from uid $uid" "$name: the owner reads its output"
	fails "$name: ... and another user cannot" \
		setpriv --reuid=plainuser --regid=plainuser --init-groups cat "$home/mnt/output/hello"
}

# check_gc NAME...: ephemeractl gc releases every lease (P6: nothing under the
# homes belongs to the uids any more).
check_gc() {
	local out n left
	out=$(ephemeractl gc 2>&1)
	like "$out" "^released [0-9]+ lease" "ephemeractl gc runs: $out"
	for n in "$@"; do
		left=$(sql "SELECT state FROM leases WHERE session = '$n'")
		is "$left" "" "$n: gc released the lease (no row in leases)"
	done
}
# ---- end of the shared helpers ----

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
