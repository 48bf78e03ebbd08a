#!/bin/bash
# ephemeractl alloc/list/show/release and the home layout, inside tests/testenv.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

name=$(ephemeractl alloc --owner root)
like "$name" '^[a-z]+-[a-z]+-[a-z]+$' "alloc prints an adjective-adjective-surname name"
uid=$(ephemeractl list --json | jq -r --arg n "$name" '.[] | select(.name == $n) | .uid')
ok "list --json shows the session with its UID in the default range" \
	test "$uid" -ge 2013265920 -a "$uid" -le 2013331455
is "$(ephemeractl show "$name" --json | jq -r '.state + " " + .lease + " " + .owner')" \
	"allocated leased root" "show --json: state allocated, lease leased, owner root"
is "$(ephemeractl show "$name" --json | jq -r '.events[0].kind')" "allocated" \
	"show --json lists the allocation event"
is "$(ephemeractl list --state reaped --json)" "[]" "list --state filters"

# Layout (DESIGN.md): modes, owners, ACLs.
h=/sessions/$name
is "$(stat -c '%a %U' /sessions)" "711 root" "/sessions is root's, 0711"
is "$(stat -c '%u:%g' "$h")" "0:0" "home owned by root (the session cannot chmod it)"
like "$(getfacl -cp "$h" 2>/dev/null | tr '\n' ' ')" "user::rwx user:root:r-x user:$uid:rwx group::--- mask::rwx other::---" \
	"home: ACL gives the session rwx and the owner r-x, nobody else anything"
like "$(getfacl -cp "$h/mnt/output" 2>/dev/null | tr '\n' ' ')" 'user:root:rwx .*default:user:root:rwx' \
	"mnt/output: owner rwx and a default ACL for new files"
is "$(stat -c '%a %u' "$h/mnt/upload")" "755 0" "mnt/upload belongs to the owner, read-only to the session"

# The db file and its directory are root's alone.
is "$(stat -c '%a %U' /var/lib/ephemera /var/lib/ephemera/ephemera.db)" "$(printf '700 root\n600 root')" \
	"database 0600 in a 0700 directory owned by root"
is "$(sql 'PRAGMA journal_mode')" "wal" "database in WAL mode"

# release: only a session that never started.
ok "release frees an allocated session" ephemeractl release "$name"
is "$(ephemeractl show "$name" --json | jq -r '.state + " " + (.lease // "none")')" "reaped none" \
	"released session: reaped, no lease"
ok "released session's home is gone" test ! -e "$h"
out=$(ephemeractl release "$name" 2>&1)
like "$out" 'not allocated' "releasing twice is refused with a reason"
out=$(ephemeractl release no-such-session 2>&1)
like "$out" 'no session named no-such-session' "release of an unknown name names it"

# Bad callers and bad input.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups ephemeractl list 2>&1)
like "$out" 'must be run as root' "a non-root caller is refused"
out=$(ephemeractl alloc --owner no-such-user 2>&1); rc=$?
like "$rc $out" '^1 .*no-such-user: no such user' "unknown owner: clear error"
out=$(ephemeractl alloc --owner 'Bad Name' 2>&1)
like "$out" 'invalid owner name' "hostile owner name refused"
out=$(ephemeractl frobnicate 2>&1); rc=$?
like "$rc $out" "^2 .*unknown command 'frobnicate'" "unknown command: usage error, exit 2"
ok "--help prints usage" sh -c 'ephemeractl --help | grep -q "^Usage: ephemeractl"'
is "$(sql "SELECT count(*) FROM sessions WHERE state = 'allocated'")" "0" "no rows left by refused allocations"

# A config error names the file and the line.
cp /etc/ephemera/ephemera.conf /tmp/good.conf
printf '[allocator]\nuid_min = 2013265920\nbogus_key = 1\n' >/tmp/bad.conf
out=$(ephemeractl --config /tmp/bad.conf list 2>&1)
like "$out" "/tmp/bad.conf:3: unknown key 'bogus_key'" "unknown config key: FILE:LINE in the error"
printf '[allocator]\nuid_max = 12abc\n' >/tmp/bad.conf
out=$(EPHEMERA_CONF=/tmp/bad.conf ephemeractl list 2>&1)
like "$out" "/tmp/bad.conf:2: uid_max must be a number" "bad value via EPHEMERA_CONF: FILE:LINE"

done_testing
