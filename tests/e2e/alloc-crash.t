#!/bin/bash
# Allocations killed with SIGKILL at random moments leave a database that
# passes integrity_check, no lease without its session and -- once the next
# allocation or `ephemeractl repair` ran -- no home without its row (alloc.h A1).
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

# An allocation takes a few milliseconds here; kill each at a random moment
# within 0-8 ms so the kills spread over startup, the /proc scan, home
# creation and commit.
killed=0
runs=150
for i in $(seq "$runs"); do
	ephemeractl alloc --owner root >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%04d' $(( RANDOM % 80 * 1 )))"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
done
diag "killed $killed of $runs allocations in flight"

is "$(sql 'PRAGMA integrity_check')" "ok" "integrity_check ok after SIGKILLs"
is "$(sql 'SELECT count(*) FROM leases l LEFT JOIN sessions s ON s.name = l.session WHERE s.name IS NULL')" "0" \
	"no lease without its session"
orphans_before=0
for d in /sessions/*; do
	[ -d "$d" ] || continue
	n=$(basename "$d")
	[ "$(sql "SELECT count(*) FROM sessions WHERE name = '$n'")" = 1 ] || orphans_before=$((orphans_before + 1))
done
diag "homes without a row before repair: $orphans_before"

removed=$(ephemeractl repair)
is "$removed" "$orphans_before" "repair removed exactly the homes without a row"
name=$(ephemeractl alloc --owner root)
ok "the next allocation succeeds" test -n "$name"
missing=0 orphans=0
for d in /sessions/*; do
	n=$(basename "$d")
	[ "$(sql "SELECT count(*) FROM sessions WHERE name = '$n'")" = 1 ] || orphans=$((orphans + 1))
done
for n in $(sql "SELECT name FROM sessions WHERE state = 'allocated'"); do
	[ -d "/sessions/$n/mnt/output" ] || missing=$((missing + 1))
done
is "$orphans" "0" "no home without its row"
is "$missing" "0" "every allocated row has its complete home"

# Make the window certain once: a home made by hand without a row, as a crash
# between home creation and commit leaves it, is removed by the next allocation.
mkdir -p /sessions/brave-calm-turing/mnt/output
ephemeractl alloc --owner root >/dev/null
ok "a home without a row is removed by the next allocation" test ! -e /sessions/brave-calm-turing
is "$(sql "SELECT kind FROM events WHERE session = 'brave-calm-turing'")" "repair" "the repair is in the audit trail"

# Repair touches only names the allocator could have made.
mkdir -p /sessions/backup/keep /sessions/brave-calm-nosuchperson
echo data >/sessions/backup/keep/file
ephemeractl repair >/dev/null
ok "repair leaves a directory with a name it could not have made" test -f /sessions/backup/keep/file
ok "repair leaves a name with a word not in its lists" test -d /sessions/brave-calm-nosuchperson
done_testing
