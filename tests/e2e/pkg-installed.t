#!/bin/bash
# The Debian package as installed (make check-deb: EPHEMERA_INSTALL=deb, the
# package put in by dpkg -i in tests/testenv).  Skipped in build-tree mode.
#
#  1. What dpkg says it installed: the files, where libpam-modules keeps its
#     modules, the shell 4755 root in the .deb itself and nothing else setuid
#     or setgid, the three conffiles; systemd-analyze verify on the units;
#     systemd-tmpfiles creating /sessions 0711 and /var/lib/ephemera 0700 in
#     an empty root.
#  2. dpkg -r keeps each session's output and the database, dpkg -P deletes
#     them, here where /sessions and /var/lib/ephemera are mount points (a
#     filesystem of the admin's): emptied, never followed through a link,
#     never into another filesystem below.
#  3. Installed again and booted: systemd as pid 1 of a nested pid and mount
#     namespace (its own cgroup2 tree), with /sessions a plain directory on a
#     filesystem that honours setuid bits, as on a fresh host.  sessions.mount
#     makes it nosuid,nodev and tmpfiles 0711; the timer is waiting; a crashed
#     session with a straggler process of its UID is reaped by `systemctl
#     start ephemera-reap.service` under the unit's full hardening; one with a
#     host mount under its home is left safely half-done (the limit its
#     comments state) and a reaper from a root shell finishes it.  Then dpkg -r with systemd running stops the timer and
#     the mount and keeps the output, and dpkg -P removes /sessions.
# How the checks were checked, each on a package built with one change: with
# CAP_SETUID out of the unit's CapabilityBoundingSet= or ReadWritePaths=
# gone, the unit's reap fails; with RestrictSUIDSGID=yes (openat2: ENOSYS)
# or @mount out of SystemCallFilter= the detaching check fails; without the
# chmod in debian/rules' override_dh_fixperms the 4755 checks (and every
# login) fail; without purge_dir's -xdev the other filesystem's file goes.
. "$(dirname "$0")/lib.sh"

if [ "${EPHEMERA_INSTALL:-build}" != deb ]; then
	echo "1..0 # SKIP the build tree is installed, not the package (make check-deb runs this)"
	exit 0
fi
enter_testenv "$@"
. "$(dirname "$0")/reaper-lib.sh" # sessions that plant, crash and are checked after a reap

skip() { _report 0 "$1 # skip $2"; }
COUNTS=/tmp/pkg-installed.counts
ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

# ---- phase 3, inside the booted systemd (the script runs itself there) ----
booted() {
	T_N=$1 T_FAILED=$2
	local st
	st=$(systemctl is-system-running 2>&1)
	like "$st" '^(running|degraded)$' "systemd booted in the nested namespaces ($st)"
	[ "$st" = running ] || diag "failed units: $(systemctl --failed --no-legend --plain | tr '\n' ' ')"
	is "$(systemctl is-active sessions.mount)" active "sessions.mount is active"
	local opts
	opts=$(findmnt -n -o OPTIONS --mountpoint /sessions 2>&1)
	like ",$opts," ',nosuid,.*nodev,|,nodev,.*nosuid,' "... /sessions is a mount of its own, nosuid,nodev ($opts)"
	is "$(stat -c '%a %U %G' /sessions)" "711 root root" "systemd-tmpfiles at boot made /sessions 0711 root"
	is "$(systemctl is-enabled ephemera-reap.timer) $(systemctl is-active ephemera-reap.timer)" \
		"enabled active" "ephemera-reap.timer is enabled and waiting"

	make_canaries
	start_session 'mkdir -p deep/a/b; echo x >deep/a/b/f; chmod 000 deep/a; ln -s /var/tmp/canary-dir mnt/output/canary-link'
	crash_session "$NAME"
	# What the reaper has to deal with as root under the unit's hardening: a
	# process of the UID it must kill (as the UID, CAP_SETUID), a tree of the
	# UID's it must walk and wipe, an output to hand over.
	setpriv --reuid="$SUID" --regid="$SUID" --clear-groups sleep 600 &
	local straggler=$!
	disown "$straggler" # its SIGKILL is the reaper's business, not bash's to report
	is "$(state_of "$NAME") $(procs_of "$SUID")" "active 1" \
		"$NAME: crashed, its leader gone, one straggler of uid $SUID left"
	local rc=0
	systemctl start ephemera-reap.service >/tmp/reap-unit.log 2>&1 || rc=$?
	is "$rc $(systemctl show -p Result --value ephemera-reap.service)" "0 success" \
		"systemctl start ephemera-reap.service succeeds under the unit's hardening" ||
		journalctl -u ephemera-reap.service --no-pager -n 20 | sed 's/^/#   /'
	check_reaped "$NAME" 2
	kill -9 "$straggler" 2>/dev/null # when the reaper could not
	like "$(journalctl -u ephemera-reap.service -o cat --no-pager 2>&1)" "session=$NAME: reaped: [0-9]+ files" \
		"the unit's syslog lines reach the journal, with the session's name"
	local done_name=$NAME

	# The limit the unit documents: a mount left under a home in the host's
	# namespace is hidden below the unit's copy of the tree.  The reap must
	# fail without losing anything, and a reaper outside the unit finishes.
	start_session 'echo more >mnt/output/more'
	local home=/sessions/$NAME
	crash_session "$NAME"
	mkdir "$home/stray"
	mount -t tmpfs -o size=1m stray "$home/stray"
	echo stray >"$home/stray/file"
	rc=0
	systemctl start ephemera-reap.service >/tmp/reap-unit.log 2>&1 || rc=$?
	is "$(state_of "$NAME")" reaping "$NAME: with a host mount under the home the unit's reap stops short: reaping"
	# reap --all tells a failed reap from a session still running
	# (-EINPROGRESS): the unit fails, and its journal says which and why.
	is "$rc $(systemctl show -p Result --value ephemera-reap.service)" "1 exit-code" \
		"... and the unit says so: it fails"
	like "$(journalctl -u ephemera-reap.service -o cat --no-pager 2>&1)" "session=$NAME: reap: " \
		"... its journal names the session and why"
	systemctl reset-failed ephemera-reap.service 2>/dev/null
	is "$(journalctl -u ephemera-reap.service -o cat --no-pager | grep -c "session=$NAME: reap: detaching")" 0 \
		"... past detaching its copy of the mount (openat2, statx, umount2 allowed)"
	is "$(cat "$home/stray/file" 2>&1) $(ephemera-reaper-manifest "$home/mnt/output")" \
		"stray $(cat "$home/mnt/output/.manifest")" "... the other filesystem and the output are untouched"
	rc=0
	ephemeractl reap "$NAME" >/tmp/reap-direct.log 2>&1 || rc=$?
	is "$rc" 0 "... ephemeractl reap from a root shell finishes it" || sed 's/^/#   /' /tmp/reap-direct.log
	check_reaped "$NAME" 2
	is "$(findmnt -rn -o TARGET | grep -c "^$home/")" 0 "$NAME: no mount left under the home"
	is "$(state_of "$done_name")" reaped "$done_name: still reaped"

	# Removal with systemd running: prerm stops the timer and the mount.  A
	# policy-rc.d would forbid that: the host's shows through /usr while
	# packaging/install-deps runs; this overlay's copy goes.
	rm -f /usr/sbin/policy-rc.d
	rc=0
	dpkg -r ephemera >/tmp/dpkg-r.log 2>&1 || rc=$?
	is "$rc" 0 "dpkg -r with systemd running" || sed 's/^/#   /' /tmp/dpkg-r.log
	is "$(systemctl is-active ephemera-reap.timer sessions.mount | tr '\n' ' ')" "inactive inactive " \
		"... stopped the timer and sessions.mount"
	fails "... /sessions is a plain directory again" mountpoint -q /sessions
	is "$(cat "$home/mnt/output/hello" 2>&1)" "hello from uid $SUID" "... the output is kept"
	ok "... the database is kept" test -s /var/lib/ephemera/ephemera.db
	rc=0
	dpkg -P ephemera >/tmp/dpkg-p.log 2>&1 || rc=$?
	is "$rc" 0 "dpkg -P with systemd running" || sed 's/^/#   /' /tmp/dpkg-p.log
	fails "... removed /sessions (a plain directory)" test -e /sessions
	is "$(find /var/lib/ephemera -mindepth 1 2>&1 | head -n 3)" "" "... emptied /var/lib/ephemera"
	is "$(canary_state)" "$CANARIES" "... and followed no link (the canaries are intact)"
	fails "... and the timer is no longer wanted" test -e /etc/systemd/system/timers.target.wants/ephemera-reap.timer
	echo "$T_N $T_FAILED" >"$COUNTS"
}

# ---- pid 1 of the nested namespaces: a fresh-host /sessions, then systemd ----
pid1() {
	mount -t proc -o nosuid,nodev,noexec proc /proc
	mount -t tmpfs -o mode=0755,nosuid,nodev pid1-run /run
	# What is on /sys/fs/cgroup goes first (this mount namespace only): where
	# it is the host's cgroup2 itself, the kernel refuses to mount the same
	# hierarchy on its own root (EBUSY).
	umount -l /sys/fs/cgroup 2>/dev/null || true
	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
	# testenv's nosuid,nodev bind goes: what is left is a directory on the
	# testenv's root tmpfs, which honours setuid bits.
	umount /sessions
	mountpoint -q /sessions && exit 1
	chmod 0755 /sessions
	cat >/etc/systemd/system/ephemera-test.target <<-EOF
	[Unit]
	Description=What tests/e2e/pkg-installed.t boots: basic.target and the timers
	Requires=basic.target
	Wants=timers.target
	After=basic.target timers.target
	EOF
	exec env -i container=ephemera-testenv PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		/lib/systemd/systemd --system --unit=ephemera-test.target --log-target=console
}

case "${1:-}" in
--booted) shift; booted "$@"; exit 0 ;;
--pid1) pid1 ;;
esac

# ---- 1. what is installed ----
files=$(dpkg -L ephemera | while read -r f; do [ -d "$f" ] || echo "$f"; done | sort)
pamdir=$(dirname "$(dpkg -L libpam-modules | grep '/pam_unix\.so$')")
want=$(sort <<-EOF
/etc/ephemera/ephemera.conf
/etc/pam.d/ephemera
/etc/ssh/sshd_config.d/ephemera.conf
/lib/systemd/system/ephemera-reap.service
/lib/systemd/system/ephemera-reap.timer
/lib/systemd/system/sessions.mount
$pamdir/pam_ephemera.so
/usr/bin/ephemera-shell
/usr/lib/tmpfiles.d/ephemera.conf
/usr/libexec/ephemera/ephemera-netproxy
/usr/sbin/ephemeractl
/usr/share/doc/ephemera/README.Debian
/usr/share/doc/ephemera/README.md.gz
/usr/share/doc/ephemera/changelog.gz
/usr/share/doc/ephemera/copyright
/usr/share/lintian/overrides/ephemera
/usr/share/man/man5/ephemera.conf.5.gz
/usr/share/man/man8/ephemera-netproxy.8.gz
/usr/share/man/man8/ephemera-shell.8.gz
/usr/share/man/man8/ephemeractl.8.gz
/usr/share/man/man8/pam_ephemera.8.gz
EOF
)
is "$(comm -13 <(echo "$files") <(echo "$want"))" "" "dpkg -L lists every file expected"
# Man pages come and go with the man page sources; anything else is a surprise.
is "$(comm -23 <(echo "$files") <(echo "$want") | grep -v '^/usr/share/man/man[1-8]/[^/]*\.gz$')" "" \
	"... and nothing unexpected"
is "$pamdir" "/lib/$ARCH/security" "libpam-modules keeps its modules in /lib/$ARCH/security, as we do"
is "$(stat -c '%a %U %G' /usr/bin/ephemera-shell)" "4755 root root" "ephemera-shell is installed 4755 root:root"
like "$(dpkg-deb -c "$EPHEMERA_DEB" | grep ' \./usr/bin/ephemera-shell$')" '^-rwsr-xr-x root/root ' \
	"... and the .deb itself carries the bit (not a maintainer script)"
is "$(for f in $files; do find "$f" -maxdepth 0 -perm /6000; done)" /usr/bin/ephemera-shell \
	"nothing else of the package is setuid or setgid"
is "$(dpkg-deb -c "$EPHEMERA_DEB" | awk '$1 ~ /[sS]/ {print $NF}')" ./usr/bin/ephemera-shell \
	"... in the .deb either"
is "$(dpkg-query -W -f='${Conffiles}\n' ephemera | awk 'NF {print $1}' | sort | tr '\n' ' ')" \
	"/etc/ephemera/ephemera.conf /etc/pam.d/ephemera /etc/ssh/sshd_config.d/ephemera.conf " \
	"the config, the PAM include and the sshd policy are conffiles"
fails "ephemera-shell is not in /etc/shells" grep -qx /usr/bin/ephemera-shell /etc/shells
# Issue 6, "Done when": with the package installed, doctor passes and a
# login enters a sandbox.
out=$(ephemeractl doctor 2>&1); rc=$?
is "$rc $(printf '%s\n' "$out" | grep -c '^FAIL')" "0 0" "ephemeractl doctor passes on the installed package (no FAIL)" ||
	printf '%s\n' "$out" | sed 's/^/#   /'
out=$(su - agent-session -c 'id -u; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status' 2>&1)
like "$(printf '%s' "$out" | tr -s '\t\n' '  ')" '^20[0-9]{8} CapEff: 0000000000000000 NoNewPrivs: 1 Seccomp: 2' \
	"su - agent-session -c id enters a sandbox: a transient uid, no capabilities, no_new_privs, seccomp"
is "$(dpkg-query -W -f='${Depends}' ephemera | grep -o 'libpam0g')" libpam0g "the package depends on libpam0g"

if command -v systemd-analyze >/dev/null; then
	manopt=--man=no
	command -v man >/dev/null && manopt=--man=yes # the Documentation= pages are installed
	out=$(systemd-analyze verify $manopt /lib/systemd/system/sessions.mount \
		/lib/systemd/system/ephemera-reap.service /lib/systemd/system/ephemera-reap.timer 2>&1)
	is "$?:$out" "0:" "systemd-analyze verify ($manopt) finds nothing to say about the units"
else
	skip "systemd-analyze verify" "systemd is not installed"
fi
if command -v systemd-tmpfiles >/dev/null; then
	troot=$(mktemp -d)
	install -D -m 0644 /usr/lib/tmpfiles.d/ephemera.conf "$troot/usr/lib/tmpfiles.d/ephemera.conf"
	systemd-tmpfiles --create --root="$troot" ephemera.conf
	is "$(stat -c '%a %U %G' "$troot/sessions" "$troot/var/lib/ephemera" 2>&1 | tr '\n' ' ')" \
		"711 root root 700 root root " "systemd-tmpfiles --create makes /sessions 0711 and /var/lib/ephemera 0700"
	rm -rf "$troot"
else
	skip "systemd-tmpfiles --create" "systemd is not installed"
fi

# ---- 2. remove and purge where /sessions and /var/lib/ephemera are mount points ----
make_canaries
run_session 'echo kept >mnt/output/kept; ln -s /var/tmp/canary-dir mnt/output/canary-link'
wait_reaped "$NAME"
KEPT=$NAME
is "$(state_of "$KEPT")" reaped "$KEPT: logged in through PAM and reaped"
mkdir /sessions/other-fs
mount -t tmpfs -o size=1m other-fs /sessions/other-fs
echo other >/sessions/other-fs/file
echo sibling >/var/lib/ephemera-sibling
rc=0
dpkg -r ephemera >/tmp/dpkg-r.log 2>&1 || rc=$?
is "$rc" 0 "dpkg -r ephemera" || sed 's/^/#   /' /tmp/dpkg-r.log
is "$(dpkg-query -W -f='${Status}' ephemera)" "deinstall ok config-files" "... leaves only the conffiles"
fails "... the shell is gone" test -e /usr/bin/ephemera-shell
ok "... the config is kept until purge" test -f /etc/ephemera/ephemera.conf
is "$(cat "/sessions/$KEPT/mnt/output/kept" 2>&1)" kept "... the session's output is kept"
ok "... the database is kept" test -s /var/lib/ephemera/ephemera.db
rc=0
dpkg -P ephemera >/tmp/dpkg-p.log 2>&1 || rc=$?
is "$rc" 0 "dpkg -P ephemera" || sed 's/^/#   /' /tmp/dpkg-p.log
fails "... the config is gone" test -e /etc/ephemera
is "$(find /sessions /var/lib/ephemera -mindepth 1 2>&1 | tr '\n' ' ')" "/sessions/other-fs /sessions/other-fs/file " \
	"... /sessions and /var/lib/ephemera are empty but for another filesystem's mount"
is "$(cat /sessions/other-fs/file 2>&1)" other "... whose files are left alone"
like "$(cat /tmp/dpkg-p.log)" "left what could not be removed in /sessions" "... and purge says so"
ok "... the mount points themselves are left" test -d /sessions -a -d /var/lib/ephemera
is "$(cat /var/lib/ephemera-sibling 2>&1)" sibling "... a neighbour of /var/lib/ephemera is left"
is "$(canary_state)" "$CANARIES" "... no link in an output was followed"
umount /sessions/other-fs
rmdir /sessions/other-fs

# ---- 3. installed again, booted ----
rc=0
dpkg -i "$EPHEMERA_DEB" >/tmp/dpkg-i.log 2>&1 || rc=$?
is "$rc" 0 "dpkg -i again after the purge" || sed 's/^/#   /' /tmp/dpkg-i.log
ok "... the config is back, the shipped one" grep -qx 'accounts = agent-session' /etc/ephemera/ephemera.conf

cg2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
if [ ! -x /lib/systemd/systemd ]; then
	skip "booting systemd" "systemd is not installed"
elif [ -z "$cg2" ]; then
	skip "booting systemd" "no cgroup2 hierarchy to give it"
else
	# A cgroup of its own under the host's cgroup2 tree, named by testenv,
	# which removes it should this script not get to.
	cg=$cg2/$EPHEMERA_TESTENV_CGROUP
	mkdir "$cg"
	upid=
	cleanup() {
		[ -n "$upid" ] && kill -9 "$upid" 2>/dev/null
		local i
		for i in $(seq 100); do grep -q 'populated 0' "$cg/cgroup.events" 2>/dev/null && break; sleep 0.1; done
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	}
	trap cleanup EXIT
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		exec unshare --pid --fork --kill-child --mount --cgroup --uts --ipc --propagation private \
			-- "$0" --pid1
	) >/tmp/systemd-console.log 2>&1 &
	upid=$!
	disown "$upid"
	pid= up=0
	for i in $(seq 300); do # 30 s
		pid=$(pgrep -P "$upid" | head -n 1)
		[ -n "$pid" ] && nsenter -t "$pid" -m -p -- systemctl is-system-running 2>/dev/null |
			grep -Eqx 'running|degraded' && { up=1; break; }
		sleep 0.1
	done
	if ok "systemd came up in nested pid and mount namespaces" test "$up" = 1; then
		rm -f "$COUNTS"
		nsenter -t "$pid" -m -p -- "$0" --booted "$T_N" "$T_FAILED"
		if [ -s "$COUNTS" ]; then
			read -r T_N T_FAILED <"$COUNTS"
		else
			_report 1 "the checks inside the booted systemd ran to the end"
		fi
	fi
	[ "$T_FAILED" = 0 ] || tail -n 20 /tmp/systemd-console.log | sed 's/^/#   systemd: /'
fi

done_testing
