#!/bin/bash
# An NSS error makes a UID taken, never free (allocator/lease.h L4): with a
# module after "files" that answers TRYAGAIN/EAGAIN (as an unreachable LDAP
# or sssd does) for part of the range, those UIDs are skipped, and once only
# they are left the allocation fails and says that NSS lookups failed.
# Control: the same range with the module answering "not found" for all
# gives every UID out.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

base=2013265920
install -m 0644 build/tests/libnss_ephemeratest.so.2 /usr/lib/x86_64-linux-gnu/
sed -i -E 's/^(passwd|group):(.*)$/\1:\2 ephemeratest/' /etc/nsswitch.conf
ok "the test NSS module is in the passwd and group lines" grep -Eq '^passwd:.* ephemeratest' /etc/nsswitch.conf
set_allocator_config "uid_min = $base" "uid_max = $((base + 2))"

# Control: nothing failing, all three UIDs are given out.
echo "1 1" >/etc/ephemera-nss-fail
for i in 1 2 3; do ephemeractl alloc --owner root >/dev/null; done
is "$(sql "SELECT count(*) FROM leases")" 3 "control: with no NSS error all three UIDs are leased"
for n in $(sql "SELECT name FROM sessions WHERE state = 'allocated'"); do ephemeractl release "$n" >/dev/null; done

# Now lookups of base and base+1 fail: only base+2 is free.
echo "$base $((base + 1))" >/etc/ephemera-nss-fail
ok "getent fails for a UID in the failing range (the module works)" sh -c "! getent passwd $base"
name=$(ephemeractl alloc --owner root)
is "$(sql "SELECT uid FROM sessions WHERE name = '$name'")" "$((base + 2))" "UIDs whose lookup failed are skipped"
out=$(ephemeractl alloc --owner root 2>&1); rc=$?
like "$rc $out" "^1 .*no free UID in $base-$((base + 2)) \(NSS lookups failed; counted as taken\)" \
	"with only failing UIDs left the allocation is refused, naming NSS"
is "$(sql "SELECT count(*) FROM leases")" 1 "  ... and nothing was leased"
done_testing
