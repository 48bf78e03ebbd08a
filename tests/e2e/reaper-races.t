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
