#!/bin/bash
# Per-session cgroup v2 (issue 9, "Limits"): memory_max, pids_max and
# cpu_weight of a profile go into a cgroup made for the session,
# <cgroup2>/ephemera/<name>; pid 1 is cloned into it (CLONE_INTO_CGROUP), so
# every process of the session is inside, and the cgroup namespace makes it
# the session's root.  The reaper kills what is in it (cgroup.kill) and
# removes it.  A limit whose controller this host lacks is a WARN line at
# login, not a refusal; the rlimits still hold.  A limit the host can
# enforce but that cannot be set refuses the login.
#
# The test runs in a cgroup namespace of its own under testenv's cgroup
# (limits-lib.sh), so nothing lands in the host's cgroup tree.  Each check of
# a controller runs where the host's cgroup v2 has it and is skipped, with the
# reason, where it has not (a host with cgroup v1 controllers, as this one
# may be).
#
# Checked by removing each defence: without CLONE_INTO_CGROUP (launcher.c) the
# session's processes are not in its cgroup and its /proc/self/cgroup is not
# "/"; with the cgroup chowned to the session's UID the host-side writes of
# memory.max and cgroup.procs succeed; without cgroup_session_remove in the
# reaper the cgroup is left after the reap; without the root-owner check of
# the parent cgroup a login goes on under a parent that another user owns.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"
. tests/e2e/limits-lib.sh
if ! enter_cgroup_ns "$@"; then
	skip "per-session cgroups" "no cgroup2 hierarchy on this host"
	done_testing
	exit
fi
diag "cgroup v2 controllers available to sessions: '$(cg_available)'"

cat >>/etc/ephemera/ephemera.conf <<'EOF2'
[sandbox]
memory_max = 64M
pids_max = 40
cpu_weight = 50
max_processes = 1024
EOF2

# One session that waits, to look at from the host.
su - agent-session -c 'cat /proc/self/cgroup >mnt/output/cgroup; touch .ready; sleep 30' \
	>/tmp/s1.log 2>&1 &
s1=$!
name=$(ready_session)
ok "a session with cgroup limits runs ($name)" test -n "$name"
cg=$(cg_of "$name")
uid=$(uid_of "$name")
ok "its cgroup exists: ephemera/$name" test -d "$cg"
procs=$(cat "$cg/cgroup.procs" 2>/dev/null | wc -l)
ok "its processes are in it ($procs)" test "$procs" -ge 2
others=0
for p in $(cat "$cg/cgroup.procs"); do
	[ "$(stat -c %u /proc/$p)" = "$uid" ] || others=$((others + 1))
done
is "$others" 0 "every process in it is the session's UID (the launcher stays outside)"
is "$(tail -n 1 "/sessions/$name/mnt/output/cgroup")" "0::/" \
	"inside, the session's cgroup is the root of its cgroup namespace"
ls_all=$(for p in $(ps -u "$uid" -o pid=); do tail -n 1 /proc/$p/cgroup; done | sort -u)
is "$ls_all" "0::/ephemera/$name" "no process of the UID lives outside the session's cgroup"

if has_ctl memory; then
	is "$(cat "$cg/memory.max")" 67108864 "memory.max = memory_max (64M)"
	[ -e "$cg/memory.swap.max" ] && is "$(cat "$cg/memory.swap.max")" 0 "memory.swap.max = 0"
else
	skip "memory.max = memory_max" "no memory controller in this host's cgroup v2"
	syslog_like "session=$name: memory_max cannot be enforced on this host: the memory controller" \
		"  ... and the login logged a WARN line for memory_max"
fi
if has_ctl pids; then
	is "$(cat "$cg/pids.max")" 40 "pids.max = pids_max"
else
	skip "pids.max = pids_max" "no pids controller in this host's cgroup v2"
	syslog_like "session=$name: pids_max cannot be enforced on this host" "  ... WARN for pids_max"
fi
if has_ctl cpu; then
	is "$(cat "$cg/cpu.weight")" 50 "cpu.weight = cpu_weight"
else
	skip "cpu.weight = cpu_weight" "no cpu controller in this host's cgroup v2"
	syslog_like "session=$name: cpu_weight cannot be enforced on this host" "  ... WARN for cpu_weight"
fi
[ "$(cg_available)" = "" ] && like "$(cat /tmp/s1.log)" "ephemera-shell: memory_max cannot be enforced" \
	"  ... and the session's terminal got the warning too"

# Attacks from the session's UID.  Inside, there is no cgroupfs to write to.
out=$(su - agent-session -c 'test -e /sys/fs/cgroup && echo has-sys; mkdir -p /tmp/cg;
	mount -t cgroup2 cgroup2 /tmp/cg 2>&1 && echo mounted;
	perl -e '\''my $fs = "cgroup2"; syscall(430, $fs, 0) >= 0 ? print "fsopen ok\n" : print "fsopen: $!\n"'\''' 2>&1)
like "$out" "fsopen: Operation not permitted" "inside: fsopen(cgroup2) is refused (seccomp)"
ok "  ... no /sys, and mount(cgroup2) fails" test -n "${out##*has-sys*}" -a -n "${out##*mounted*}"
# On the host, as the session's UID (as if it had a path to the cgroupfs):
as_uid() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
fails "as the UID on the host: memory.max cannot be raised" \
	as_uid sh -c "echo max >$cg/memory.max"
fails "  ... pids.max cannot be raised" as_uid sh -c "echo max >$cg/pids.max"
fails "  ... nor cgroup.max.descendants" as_uid sh -c "echo max >$cg/cgroup.max.descendants"
fails "  ... its pid cannot move to the root cgroup" \
	as_uid sh -c "echo \$\$ >/sys/fs/cgroup/cgroup.procs"
fails "  ... nor to the parent" as_uid sh -c "echo \$\$ >/sys/fs/cgroup/ephemera/cgroup.procs"
fails "  ... nor can it make a cgroup of its own" as_uid mkdir "$cg/mine"

# The reap: cgroup.kill ends it, the cgroup goes.
ephemeractl kill "$name" >/dev/null 2>&1
wait "$s1" 2>/dev/null
ok "killed and reaped" wait_state "$name" reaped
ok "its cgroup is gone after the reap" test ! -e "$cg"

# Memory: a hog is stopped by memory.max; without the controller, the
# rlimits are what holds (shell-limits.t tests them all): the hard nproc.
if has_ctl memory; then
	out=$(su - agent-session -c 'perl -e '\''my $x = "a" x (256 * 1024 * 1024); print "survived\n"'\''; echo "rc=$?"' 2>&1)
	like "$out" 'rc=137' "a 256M hog is killed at memory_max (64M)"
	ok "  ... and the host is fine: a login right after works" su - agent-session -c true
else
	skip "a 256M hog is killed at memory_max" "no memory controller in this host's cgroup v2"
	# The fallback: memory_max becomes every process's hard RLIMIT_AS.
	is "$(su - agent-session -c 'ulimit -Hv' 2>/dev/null)" 65536 \
		"  ... the rlimit path instead: hard RLIMIT_AS = memory_max (64M, in KiB)"
	out=$(su - agent-session -c 'perl -e '\''my $x = "a" x (256 * 1024 * 1024); print "survived\n"'\''; echo "rc=$?"' 2>&1)
	unlike "$out" 'survived' "  ... and a 256M hog is stopped by it"
	like "$out" 'Out of memory' "  ... perl says it is out of memory"
	like "$out" 'rc=[1-9]' "  ... and exits non-zero"
	syslog_like "memory_max cannot be enforced on this host: .*held to it by RLIMIT_AS instead" \
		"  ... and the login says so in syslog"
	is "$(su - agent-session -c 'ulimit -Hu' 2>/dev/null)" 1024 \
		"  ... and hard RLIMIT_NPROC = max_processes holds as everywhere"
fi

# pids.max stops a fork bomb even with max_processes far above it.
if has_ctl pids; then
	out=$(su - agent-session -c 'perl -e '\''my $n = 0; while ($n < 500) { my $p = fork; last unless defined $p; if (!$p) { sleep 20; exit 0 } $n++ } print "forked=$n\n"; kill 9, -$$'\''' 2>/dev/null)
	n=${out#forked=}
	ok "pids_max (40) stops a fork bomb below max_processes (1024): forked $n" \
		test "${n:-500}" -lt 40
else
	skip "pids_max stops a fork bomb" "no pids controller in this host's cgroup v2"
fi

# Fail closed: a parent cgroup that is not root's alone refuses the login.
mkdir -p /sys/fs/cgroup/ephemera
chown plainuser /sys/fs/cgroup/ephemera
fails "a login is refused when the parent cgroup is not root's" su - agent-session -c true
syslog_like "cgroup: the cgroup ephemera is not root's alone" "  ... with the reason in syslog"
chown root /sys/fs/cgroup/ephemera

# No cgroup v2 at all: the login goes on, with a WARN line per limit.
mount -t tmpfs -o size=1m none /sys/fs/cgroup
is "$(su - agent-session -c 'echo works' 2>/dev/null)" works "without cgroup v2 the login goes on"
syslog_like "memory_max cannot be enforced on this host: no cgroup v2 hierarchy" \
	"  ... and logs that memory_max cannot be enforced"
umount /sys/fs/cgroup

done_testing
