#!/bin/bash
# 200 allocations from 16 parallel processes: 200 distinct UIDs, 200 distinct
# names, 200 homes, no error (lease.h L1, L2).
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

seq 200 | xargs -P 16 -I{} sh -c 'ephemeractl alloc --owner root 2>&1 || echo "FAILED"' >/tmp/names
is "$(grep -c FAILED /tmp/names)" "0" "no allocation failed"
grep -v '^[a-z]*-[a-z]*-[a-z]*$' /tmp/names | sort | uniq -c | sed 's/^/# /' 
is "$(sort -u /tmp/names | wc -l)" "200" "200 distinct names printed"
is "$(sql 'SELECT count(DISTINCT uid) FROM sessions')" "200" "200 distinct UIDs in the database"
is "$(sql 'SELECT count(*) FROM leases')" "200" "200 leases"
is "$(find /sessions -mindepth 1 -maxdepth 1 -type d | wc -l)" "200" "200 homes"
is "$(sql 'SELECT count(*) FROM sessions WHERE uid <> gid')" "0" "GID equals UID for every session"
is "$(sql 'PRAGMA integrity_check')" "ok" "database passes integrity_check"
done_testing
