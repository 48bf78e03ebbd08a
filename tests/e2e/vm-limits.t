#!/bin/bash
# The limits tests where the limits are real (issue 9, "Limits"): a host
# whose memory, pids and cpu controllers are bound to cgroup v1, or whose
# kernel has no quota support, skips the checks of limits-cgroup.t and
# limits-quota.t that matter most (the 256M hog killed at memory_max, the
# fork bomb stopped by pids_max, cpu.weight, an ext4 quota that stops a
# write).  So this test boots Debian's kernel (unified cgroup v2 with every
# controller, CONFIG_QUOTA) in qemu and runs both tests inside, each in its
# own testenv as on a host (tests/vm/: fetch, mkinitramfs, boot, init,
# stage2), and reports their results as its own, "vm: TEST: ...".  It fails
# when an inner check fails, is skipped (in the VM every limit can be
# enforced: a skip means the VM is not what it should be), or when a test
# does not run to its end.
#
# It runs on the host, outside testenv (it starts no session there), and
# writes only under build/vm: the kernel and busybox are unpacked there with
# dpkg-deb, never installed; the VM sees the host's root read-only.  KVM is
# used where the CPU has hardware virtualization; elsewhere (a /dev/kvm that
# only runs PVM guests, or none) qemu emulates the CPU, slower but the same.
# Skipped, with the reason, only where qemu or the kernel package cannot be
# had.  (To see it fail: drop "+memory" from the subtree_control line in
# tests/vm/init -- the inner checks of memory.max skip, and "no inner check
# was skipped" fails.)
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
# host-snapshot counts the testenv scratch dirs of this tag left on the host.
export EPHEMERA_RUN_TAG=${EPHEMERA_RUN_TAG:-vm-limits-t$$}
vm=build/vm
inner="limits-cgroup.t limits-quota.t"
limit=${EPHEMERA_VM_TIMEOUT:-900}

skip_all() {
	_report 0 "the limits tests in a VM # skip $1"
	done_testing
	exit 0
}
host_state() { # what a kernel install would change
	ls -la /boot /lib/modules 2>&1
	dpkg-query -W 'linux-image-*' 2>/dev/null
	tests/host-snapshot
}

command -v qemu-system-x86_64 >/dev/null ||
	skip_all "qemu-system-x86_64 is missing (packaging/install-deps installs qemu-system-x86)"
[ "$(id -u)" = 0 ] || skip_all "not root (the inner tests build namespaces)"
before=$(host_state)
rel=$(tests/vm/fetch "$vm" 2>"$vm.fetch.err") ||
	skip_all "no kernel for the VM: $(cat "$vm.fetch.err")"
rm -f "$vm.fetch.err"
if ! ok "the build is up to date before the boot (the VM does not compile)" make -s all tests ||
	! ok "the initramfs is made (busybox, 9p, overlay, loop, ext4, quota_v2)" \
		tests/vm/mkinitramfs "$vm" "$rel"; then
	done_testing
	exit
fi

start=$(date +%s)
rc=0
tests/vm/boot "$vm" "$rel" "$limit" $inner || rc=$?
took=$(($(date +%s) - start))
out=$vm/out
diag "kernel $rel under $(cat "$out/accel" 2>/dev/null), ephemera from ${EPHEMERA_INSTALL:-build}: boot to poweroff in $took s"
is "$rc" 0 "qemu exited 0 (124: killed after $limit s)" ||
	tail -n 20 "$out/console.log" 2>/dev/null | sed 's/^/#   /'
ok "the VM ran every test and powered off" test -f "$out/done" ||
	tail -n 20 "$out/console.log" 2>/dev/null | sed 's/^/#   /'
env=$(cat "$out/env" 2>/dev/null)
printf '%s\n' "$env" | sed 's/^/# vm: /'
like "$env" "root subtree_control: .*cpu memory pids" \
	"the VM's cgroup v2 root hands down memory, pids and cpu"

# Each inner result line becomes ours, under "vm: TEST:"; comments go as they are.
skips=0
for t in $inner; do
	tap=$out/$t.tap
	if [ ! -s "$tap" ]; then
		_report 1 "vm: $t printed its TAP"
		sed 's/^/#   /' "$out/$t.err" 2>/dev/null | tail -n 20
		continue
	fi
	n=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*|"not ok "*)
			n=$((n + 1))
			desc=${line#*ok [0-9]* - }
			[[ "$desc" == *"# skip"* ]] && skips=$((skips + 1))
			_report "$([ "${line%%ok *}" = "" ] && echo 0 || echo 1)" "vm: $t: $desc"
			;;
		"#"*) echo "$line" ;;
		esac
	done <"$tap"
	is "$(grep -E '^1\.\.[0-9]+$' "$tap")" "1..$n" "vm: $t ran to its end ($n checks)"
	is "$(cat "$out/$t.rc" 2>/dev/null)" 0 "vm: $t exited 0" ||
		sed 's/^/#   /' "$out/$t.err" | tail -n 20
done
is "$skips" 0 "no inner check was skipped: every limit was enforced in the VM"
ok "the hog's rc=137 was the memory cgroup's OOM killer (the VM's dmesg)" \
	grep -qE "Memory cgroup out of memory: Killed process [0-9]+ \(perl\)" "$out/dmesg"
is "$(host_state)" "$before" "the host is as before: no kernel installed, /boot and /lib/modules unchanged"
done_testing
