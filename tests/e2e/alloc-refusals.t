#!/bin/bash
# What makes a UID not free (lease.h L3, L4) and what refuses an allocation
# (alloc.h A1, A2): each case is shown allocating normally first, so the
# refusal is caused by the one thing the case changes.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

base=2013265920
count_rows() { sql "SELECT count(*) FROM sessions WHERE state <> 'reaped'"; }
count_homes() { find /sessions -mindepth 1 -maxdepth 1 | wc -l; }
uids() { sql "SELECT uid FROM leases ORDER BY uid" | tr '\n' ' '; }
reset() { # release everything allocated so far
	local n
	for n in $(sql "SELECT name FROM sessions WHERE state = 'allocated'"); do
		ephemeractl release "$n" >/dev/null
	done
}

# Range exhausted: 3 UIDs, the 4th allocation fails cleanly.
set_allocator_config "uid_min = $base" "uid_max = $((base + 2))"
for i in 1 2 3; do ephemeractl alloc --owner root >/dev/null; done
out=$(ephemeractl alloc --owner root 2>&1); rc=$?
like "$rc $out" "^1 .*no free UID in $base-$((base + 2))" "range exhausted: clear error, exit 1"
is "$(count_rows) $(count_homes)" "3 3" "range exhausted: no partial row, no extra home"
is "$(sql 'SELECT count(*) FROM leases l LEFT JOIN sessions s ON s.name = l.session WHERE s.name IS NULL')" "0" \
	"no lease without its session"
reset

# /etc/subuid and /etc/subgid ranges are taken.
set_allocator_config "uid_min = $base" "uid_max = $((base + 3))"
echo "someone:$base:2" >/etc/subuid
echo "someone:$((base + 2)):1" >/etc/subgid
ephemeractl alloc --owner root >/dev/null
fails "subuid/subgid: the one free UID is used, the next allocation fails" ephemeractl alloc --owner root
is "$(uids)" "$((base + 3)) " "UIDs in /etc/subuid or /etc/subgid ranges are skipped"
: >/etc/subuid; : >/etc/subgid
reset

# A UID known to NSS (here /etc/passwd) is taken; so is a GID.
set_allocator_config "uid_min = $base" "uid_max = $((base + 2))"
useradd -M -u "$base" -s /usr/sbin/nologin inrange 2>/dev/null
groupadd -g "$((base + 1))" inrangegroup
ephemeractl alloc --owner root >/dev/null
fails "NSS: the one free UID is used, the next allocation fails" ephemeractl alloc --owner root
is "$(uids)" "$((base + 2)) " "UIDs and GIDs known to NSS are skipped"
userdel inrange; groupdel inrangegroup
reset

# A UID that owns a running process is taken, and one that owns SysV IPC.
setpriv --reuid="$base" --regid="$base" --clear-groups sleep 300 &
sleeper=$!
setpriv --reuid="$((base + 1))" --regid="$((base + 1))" --clear-groups ipcmk -M 4096 >/dev/null
sleep 0.2
ephemeractl alloc --owner root >/dev/null
fails "processes/IPC: the one free UID is used, the next allocation fails" ephemeractl alloc --owner root
is "$(uids)" "$((base + 2)) " "UIDs owning a process or a SysV IPC object are skipped"
kill "$sleeper"; wait "$sleeper" 2>/dev/null
ipcrm --all=shm
reset

# Sessions per owner are bounded, and so are the UIDs an owner holds: a lease
# still in quarantine counts (else logging in and out faster than gc frees
# UIDs would take the whole range).
set_allocator_config "max_sessions_per_owner = 2"
first=$(ephemeractl alloc --owner root); second=$(ephemeractl alloc --owner root)
out=$(ephemeractl alloc --owner root 2>&1)
like "$out" 'already holds 2 UIDs' "max_sessions_per_owner refuses the next allocation"
ok "kill ends and reaps the first session" ephemeractl kill "$first"
is "$(sql "SELECT count(*) FROM leases WHERE session = '$first'")" 0 \
	"a reap that leaves nothing of the uid releases the lease at once"
is "$(sql "SELECT kind FROM events WHERE session = '$first' AND kind = 'lease-released'")" \
	"lease-released" "  ... and says so in the events"
ok "so the owner may allocate again" ephemeractl alloc --owner root
# A reaped session whose lease could not leave quarantine (something of its
# uid was left on the sessions filesystem) still holds its UID.  The state is
# set through the database: a reap that leaves files of the uid behind is the
# reaper-*.t tests' business.
sql "UPDATE leases SET state = 'quarantine' WHERE session = '$second'" >/dev/null
sql "UPDATE sessions SET state = 'reaped', reaped_at = unixepoch() WHERE name = '$second'" >/dev/null
out=$(ephemeractl alloc --owner root 2>&1)
like "$out" 'already holds 2 UIDs' "a quarantined lease counts against max_sessions_per_owner"
reset

# Unwritable sessions directory: refused, nothing in the database.
set_allocator_config
before=$(sql "SELECT count(*) FROM sessions")
mount -o remount,bind,ro,nosuid,nodev /sessions
out=$(ephemeractl alloc --owner root 2>&1); rc=$?
like "$rc $out" "^1 .*creating /sessions/[a-z-]+: Read-only file system" "read-only sessions dir: clear error"
is "$(sql "SELECT count(*) FROM sessions")" "$before" "read-only sessions dir: no row committed"
mount -o remount,bind,rw,nosuid,nodev /sessions

# A sessions filesystem that honours setuid bits is refused: a setuid file a
# session leaves in its output would run as the session's UID on the host.
mount -o remount,bind,rw,suid,dev /sessions
out=$(ephemeractl alloc --owner root 2>&1); rc=$?
like "$rc $out" '^1 .*must be on a filesystem mounted nosuid,nodev' "a sessions filesystem without nosuid,nodev is refused"
mount -o remount,bind,rw,nosuid,nodev /sessions
ok "  ... and with nosuid,nodev allocation works again" ephemeractl alloc --owner root

# A sessions directory that others can write is refused.
chmod 0777 /sessions
out=$(ephemeractl alloc --owner root 2>&1)
like "$out" 'must be owned by root and writable by root alone' "world-writable sessions dir refused"
chmod 0711 /sessions

# A corrupt database: a clear error and no allocation (fail closed).
head -c 8192 /dev/urandom >/var/lib/ephemera/corrupt.db
chmod 0600 /var/lib/ephemera/corrupt.db
set_allocator_config "database = /var/lib/ephemera/corrupt.db"
homes=$(count_homes)
out=$(ephemeractl alloc --owner root 2>&1); rc=$?
like "$rc $out" '^1 .*corrupt.db: corrupt or not a database' "corrupt database: clear error"
is "$(count_homes)" "$homes" "corrupt database: no home created"

# A database file that is a symlink is refused (never follow into another file).
ln -s /var/lib/ephemera/ephemera.db /var/lib/ephemera/link.db
set_allocator_config "database = /var/lib/ephemera/link.db"
out=$(ephemeractl list 2>&1); rc=$?
like "$rc $out" '^1 .*link.db' "a symlinked database path is refused"

done_testing
