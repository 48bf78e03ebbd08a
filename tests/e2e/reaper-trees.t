#!/bin/bash
# The reaper and hostile trees (issue 5, "Tests"; allocator/reaper.h P3;
# walk.h R1-R5): a 10,000-deep directory chain (and a 1,000-deep one in the
# output), chmod 000 directories with files in them, names with newlines,
# invalid UTF-8, 255 bytes or a leading dash, FIFOs and sockets, a 1 GiB
# sparse file, 100,000 small files, and bind mounts (and a tmpfs) the host
# made under the live session's home.  After each reap: the canaries are
# intact, no process of the uid lives, the home holds only mnt/output, which
# matches the manifest the session wrote before logout and is the owner's,
# and the session is reaped once.  (The 100,000-deep chain has a file of its
# own, reaper-deep.t: it is slow for a reason reported there.)
#
# How the reap is driven: every case is reaped by the reaper PAM starts on
# logout (`ephemeractl reap NAME`), as in production.  The bind-mount case
# needs the host to mount while the session is live: start_session keeps the
# login open (it plants, touches ~/.ready, waits for ~/.go); end_session
# creates ~/.go and waits for su, whose PAM close starts the reaper.
# wait_reaped polls the db until the session is reaped and no ephemeractl runs.
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
files_reaped() { sql "SELECT files_reaped FROM sessions WHERE name = '$1'"; }
ALL=()

# --- a 10,000-deep chain in the home, a 1,000-deep one (and a file at its
# bottom) in the output: walked without recursion, both ways (wipe, handover) ---
run_session 'perl -e '\''
	for ([q(chain), 10000], [q(mnt/output/chain), 1000]) {
		my ($top, $n) = @$_;
		chdir $ENV{HOME} or die; mkdir $top or die; chdir $top or die;
		for (1 .. $n) { mkdir q(d) or die "$_: $!"; chdir q(d) or die "$_: $!" }
		open my $f, q(>), q(bottom) or die; print $f "bottom of $n\n"; close $f or die;
	}'\'
wait_reaped "$NAME" 60
check_reaped "$NAME" 1003
ok "$NAME: the wipe counted the 10,000 levels ($(files_reaped "$NAME") files)" test "$(files_reaped "$NAME")" -ge 10001
bottom=$(cd "/sessions/$NAME/mnt/output/chain" && cat "$(printf 'd/%.0s' $(seq 1000))bottom" 2>&1)
is "$bottom" "bottom of 1000" "$NAME: the file at the bottom of the output's chain is intact"
ALL+=("$NAME")

# --- chmod 000 directories with files in them: no obstacle to root (the
# wipe makes each directory 0700 before emptying it, R5); in the output they
# stay 000 but the owner's, so the owner can open them ---
PLANT_POST="$PLANT_POST; chmod 000 mnt/output/locked/secret mnt/output/locked/inner mnt/output/locked" run_session '
	mkdir -p locked/inner/deeper many-locked
	echo a >locked/file; echo b >locked/inner/file; echo c >locked/inner/deeper/file
	for i in $(seq 100); do echo $i >many-locked/f$i; done
	chmod 000 locked/inner/deeper/file locked/inner/deeper locked/inner locked/file locked many-locked
	mkdir -p mnt/output/locked/inner
	echo secret >mnt/output/locked/secret; echo inner >mnt/output/locked/inner/file'
wait_reaped "$NAME"
check_reaped "$NAME" 5
ok "$NAME: the 000 directories were wiped with their files ($(files_reaped "$NAME") files)" \
	test "$(files_reaped "$NAME")" -ge 107
is "$(stat -c '%a %U' "/sessions/$NAME/mnt/output/locked" "/sessions/$NAME/mnt/output/locked/secret" | sort -u)" \
	"0 $OWNER" "$NAME: the output's 000 entries are kept as they were, now the owner's"
is "$(setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups sh -c \
	"cd /sessions/$NAME/mnt/output && chmod 700 locked && chmod 600 locked/secret && cat locked/secret" 2>&1)" \
	secret "$NAME: ... so the owner can open them"
ALL+=("$NAME")

# --- names a shell or a log would misread ---
names='
	long=$(printf "n%.0s" $(seq 255))
	for d in . mnt/output; do
		mkdir "$d/"$'"'"'dir\nwith\nnewlines'"'"'
		echo nl >"$d/"$'"'"'dir\nwith\nnewlines/file\n'"'"'
		echo ff >"$d/"$'"'"'\xff\xfe\xfd'"'"'
		mkdir "$d/"$'"'"'\xc3\x28'"'"'; echo bad >"$d/"$'"'"'\xc3\x28/\x80\xbf'"'"'
		echo nl >"$d/"$'"'"'\n'"'"'
		for n in -rf -- " " "..." "\\040" "a b" "*" "\$HOME" "$long"; do echo "$n" >"$d/$n"; done
	done'
run_session "$names"
wait_reaped "$NAME"
check_reaped "$NAME" 16
p=$(printf 'dir\nwith\nnewlines/file\n_')
ok "$NAME: the output holds the name with newlines" test -f "/sessions/$NAME/mnt/output/${p%_}"
ok "$NAME: ... and the one in invalid UTF-8" test -f "/sessions/$NAME/mnt/output/$(printf '\xff\xfe\xfd')"
ALL+=("$NAME")

# --- FIFOs, sockets, a 1 GiB sparse file: never opened, never read ---
sock='perl -MIO::Socket::UNIX -e '\''for (@ARGV) { IO::Socket::UNIX->new(Local => $_, Listen => 1) or die "$_: $!" }'\'
run_session "
	mkdir fifos && mkfifo fifo fifos/a fifos/b mnt/output/fifo
	$sock sock fifos/sock mnt/output/sock
	truncate -s 1G sparse mnt/output/sparse
	echo tail >>sparse"
wait_reaped "$NAME"
check_reaped "$NAME" 4
out=/sessions/$NAME/mnt/output
ok "$NAME: the output's FIFO is still a FIFO" test -p "$out/fifo"
ok "$NAME: the output's socket is still a socket" test -S "$out/sock"
is "$(stat -c %s "$out/sparse")" 1073741824 "$NAME: the output's sparse file keeps its size"
ok "$NAME: ... and is still sparse ($(stat -c %b "$out/sparse") blocks)" test "$(stat -c %b "$out/sparse")" -lt 2048
ALL+=("$NAME")

# --- 100,000 small files (100 directories of 1,000) ---
run_session 'perl -e '\''
	mkdir "many" or die;
	for my $d (1 .. 100) { mkdir "many/$d" or die "$d: $!";
		for (1 .. 1000) { open my $f, ">", "many/$d/f$_" or die "$d/$_: $!"; print $f "$_\n" } }
	mkdir "mnt/output/kept" or die;
	for (1 .. 1000) { open my $f, ">", "mnt/output/kept/f$_" or die; print $f "kept $_\n" }'\'
wait_reaped "$NAME" 60
check_reaped "$NAME" 1002
ok "$NAME: the wipe counted the 100,000 files ($(files_reaped "$NAME"))" test "$(files_reaped "$NAME")" -ge 100100
diag "$NAME: $(sql "SELECT detail FROM events WHERE session = '$NAME' AND kind = 'reaped'")"
ALL+=("$NAME")

# --- mounts the host made under the live session's home: detached, never
# descended into; what they showed is untouched (P3, R2) ---
start_session '
	mkdir bindpoint stacked tmpfs "bind point"$'"'"'\nnewline\\x'"'"' mnt/output/outbind
	touch bindfile
	mkdir -p deep/a/b/c/bindpoint'
home=/sessions/$NAME
mount --bind /var/tmp/canary-dir "$home/bindpoint"
mount --bind /etc/ephemera-canary "$home/bindfile"
mount --bind /var/tmp/canary-dir "$home/$(printf 'bind point\nnewline\\x')"
mount --bind /var/tmp/canary-dir "$home/mnt/output/outbind"
mount --bind /root/canary-dir "$home/deep/a/b/c/bindpoint"
mount --bind /var/tmp/canary-dir "$home/stacked"
mount --bind /var/tmp/canary-dir/sub "$home/stacked"
mount -t tmpfs -o size=1m ephemera-test "$home/tmpfs"
echo "on the tmpfs" >"$home/tmpfs/file"
mounts_under() { awk -v h="$1" 'index($5, h "/") == 1 || $5 == h' /proc/self/mountinfo | wc -l; }
is "$(mounts_under "$home")" 8 "$NAME: the host mounted 8 things under the live home"
ok "$NAME: ... the canary is seen through them" test -f "$home/bindpoint/file"
end_session "$NAME"
wait_reaped "$NAME"
check_reaped "$NAME" 2
is "$(mounts_under "$home")" 0 "$NAME: every mount under the home was detached"
is "$(listing "$home/mnt/output/outbind" 1)" "" "$NAME: the output's mount point is left, empty (what was mounted there is not the owner's)"
ALL+=("$NAME")

check_gc "${ALL[@]}"
is "$(canary_state)" "$CANARIES" "the host canaries are intact at the end"

done_testing
