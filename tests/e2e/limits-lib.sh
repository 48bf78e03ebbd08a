# Sourced by the limits-*.t tests after lib.sh.
#
# enter_cgroup_ns "$@": re-runs the test in a cgroup namespace of its own, so
# that the per-session cgroups land under testenv's cgroup (named by
# EPHEMERA_TESTENV_CGROUP, removed by testenv at exit) and never in the
# host's tree: the test moves into that cgroup, unshares its cgroup and mount
# namespaces (the cgroup is now their root), mounts cgroup2 on
# /sys/fs/cgroup in place of what was there, and moves itself into a leaf
# (/test), so that the root has no processes and can hand controllers to
# ephemera's cgroups.  Without a cgroup2 hierarchy on the host it returns 1
# (the caller skips).
# Afterwards CG_HOST is the host path of that root (for the log).
enter_cgroup_ns() {
	if [ -n "${LIMITS_IN_CGNS:-}" ]; then
		return 0
	fi
	local cg2 cg
	cg2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$cg2" ] || return 1
	cg=$cg2/$EPHEMERA_TESTENV_CGROUP
	mkdir -p "$cg/test" || return 1
	echo "$BASHPID" >"$cg/cgroup.procs" || return 1
	export LIMITS_IN_CGNS=1 CG_HOST=$cg
	# Whatever is on /sys/fs/cgroup goes first (in this mount namespace only):
	# where it is the host's cgroup2 itself (a host without cgroup v1), the
	# kernel refuses to mount the same hierarchy on its own root (EBUSY).
	exec unshare --cgroup --mount --propagation private -- bash -c '
		umount -l /sys/fs/cgroup 2>/dev/null
		mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup || exit 1
		echo $$ >/sys/fs/cgroup/test/cgroup.procs || exit 1
		exec "$@"' limits "$(readlink -f "$0")" "$@"
}

# What the cgroup v2 root (as the sessions see it) can hand down: "memory pids cpu" or less.
cg_available() { cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }
has_ctl() { [[ " $(cg_available) " == *" $1 "* ]]; }

# skip DESC REASON: a TAP skip
skip() { _report 0 "$1 # skip $2"; }

# The session's cgroup, as the host sees it from the test's namespace.
cg_of() { echo "/sys/fs/cgroup/ephemera/$1"; }
