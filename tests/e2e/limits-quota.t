#!/bin/bash
# disk_quota (issue 9, "Limits"): the allocator sets a block hard limit for
# the session's UID on the sessions filesystem when it enforces user quotas,
# and the reaper clears it; elsewhere the login logs a WARN line.  The quota
# filesystem is a small ext4 image made here (mkfs.ext4 -O quota, mounted
# usrquota over /sessions in testenv's mount namespace, through a loop
# device); where loop devices cannot be had, only the WARN path is tested,
# with the reason printed.
#
# Checked by removing the defence: without quota_apply in the allocator the
# 8M write succeeds; without it in the reaper the UID keeps its limit.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"
. tests/e2e/limits-lib.sh

cat >>/etc/ephemera/ephemera.conf <<'EOF2'
[sandbox]
disk_quota = 4M
EOF2

# Where the sessions filesystem has no quotas (testenv's): a WARN, and the login goes on.
is "$(su - agent-session -c 'echo works' 2>/dev/null)" works "without user quotas the login goes on"
syslog_like "disk_quota cannot be enforced on this host: the sessions filesystem has no (user quotas|quota support)" \
	"  ... and logs a WARN line for disk_quota"

# A filesystem with user quotas.
img=/run/limits-quota.img
why=""
[ -e /dev/loop-control ] || mknod /dev/loop-control c 10 237 2>/dev/null || why="no /dev/loop-control"
for i in 0 1 2 3 4 5 6 7; do [ -e /dev/loop$i ] || mknod /dev/loop$i b 7 $i 2>/dev/null; done
if [ -z "$why" ]; then
	truncate -s 64M "$img"
	mkfs.ext4 -q -O quota -E quotatype=usrquota "$img" 2>/dev/null || why="mkfs.ext4 -O quota failed"
fi
if [ -z "$why" ]; then
	mount -o loop,nosuid,nodev,usrquota "$img" /sessions 2>/tmp/mount.err ||
		why="cannot mount an ext4 with usrquota here: $(dmesg 2>/dev/null | grep -o 'EXT4-fs.*' | tail -n 1)"
fi
if [ -n "$why" ]; then
	skip "disk_quota enforced" "$why"
	done_testing
	exit
fi
chmod 0711 /sessions
rmdir /sessions/lost+found 2>/dev/null
run_doctor_line() { ephemeractl doctor 2>&1 | grep -E "^(OK|WARN|FAIL) +limits-profiles "; }
like "$(run_doctor_line)" "^OK +limits-profiles .*all enforced" "doctor: disk_quota enforced on an ext4 with usrquota"

out=$(su - agent-session -c 'dd if=/dev/zero of=big bs=1M count=8 2>&1; echo "rc=$?"; du -k big | cut -f1; touch .ready' 2>&1)
like "$out" 'Disk quota exceeded' "an 8M write in a session with disk_quota = 4M fails (EDQUOT)"
name=$(sql "SELECT name FROM sessions ORDER BY rowid DESC LIMIT 1")
uid=$(uid_of "$name")
ok "  ... the session is reaped" wait_state "$name" reaped 100
limit=$(perl -e '
	require "syscall.ph";
	my $buf = "\0" x 72; open my $d, "<", "/sessions" or die;
	my $r = syscall(443, fileno($d), 0x800007 << 8, $ARGV[0] + 0, $buf);
	print $r < 0 ? "err $!" : (unpack "Q", $buf), "\n"' "$uid" 2>&1)
is "$limit" 0 "the reaper cleared the UID's block limit"
ok "plainuser (no quota) writes 8M there" sh -c 'dd if=/dev/zero of=/sessions/.plain bs=1M count=8 status=none && rm /sessions/.plain'

umount /sessions
done_testing
