# Sourced by tests/e2e/reaper-*.t after enter_testenv: the helpers they share
# (sessions that plant a tree and wait, crash or end; the checks made after
# every reap).
# ---- the same helpers in every tests/e2e/reaper-*.t (each file stands alone) ----
OWNER=agent-session
OWNER_UID=$(id -u "$OWNER")
OWNER_GID=$(id -g "$OWNER")
LOGS=/tmp/reaper-test-logs
mkdir -p "$LOGS"

# Processes of a uid, zombies left out (a zombie runs nothing).
procs_of() { ps -e -o uid=,stat= | awk -v u="$1" '$1 == u && $2 !~ /^Z/' | wc -l; }
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
# The session also grants another user (plainuser) rights on hello in its
# ACL: after the handover no ACL entry may name anyone but the owner.
PLANT_PRE='set -e; cd ~; echo "hello from uid $(id -u)" >mnt/output/hello; '"setfacl -m u:$(id -u plainuser):rw,g:$(id -g plainuser):rw mnt/output/hello; "
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
	is "$(getfacl -R -P -n "$home/mnt/output" 2>/dev/null | grep -E "^(default:)?(user|group):[0-9]+:" |
		grep -vE "^(default:)?(user:$(id -u "$OWNER")|group:$OWNER_GID):" | head -n 3)" "" \
		"$name: no ACL entry names anyone but $OWNER (the session granted plainuser some)"
	is "$(setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups cat "$home/mnt/output/hello" 2>&1)" \
		"hello from uid $uid" "$name: the owner reads its output"
	fails "$name: ... and another user cannot" \
		setpriv --reuid=plainuser --regid=plainuser --init-groups cat "$home/mnt/output/hello"
}

# check_gc NAME...: every lease is released (P6: nothing under the homes
# belongs to the uids any more): by the reap itself, which checks right away,
# and gc finds nothing left to release for them.
check_gc() {
	local out n left
	for n in "$@"; do
		left=$(sql "SELECT state FROM leases WHERE session = '$n'")
		is "$left" "" "$n: the reap released the lease (no row in leases)"
	done
	out=$(ephemeractl gc 2>&1)
	like "$out" "^released [0-9]+ lease" "ephemeractl gc runs: $out"
	for n in "$@"; do
		is "$(sql "SELECT count(*) FROM events WHERE session = '$n' AND kind = 'lease-released'")" 1 \
			"$n: released once ('lease-released' event)"
	done
}
# ---- end of the shared helpers ----
