#!/bin/bash
# ephemeractl doctor (issue 6): on testenv's setup every check says OK and
# doctor exits 0; then each check is broken inside testenv (a copy of /etc, an
# overlay /usr, its own /sessions and database; never the host's) and shown
# to say WARN or FAIL, with FAIL and only FAIL making the exit status 1, and to
# say OK again once the condition is restored.
#
# The kernel checks cannot be broken by changing the kernel: strace injects
# EPERM into unshare(2) and EINVAL into seccomp(2) for doctor's children.
# sysctls are host-wide, so they are never written: files bound over
# /proc/sys/... in testenv's mount namespace play the kernel's answer.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

SHELL_BIN=$(command -v ephemera-shell)
DB=/var/lib/ephemera/ephemera.db
work=$(mktemp -d /tmp/ctl-doctor.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p /run/sshd # sshd -T wants its privilege separation directory, as on a host
ephemeractl alloc --owner root >/dev/null # a database to check

# Known sysctl values for the baseline (the host's may differ).
fake_sysctl() { # PATH-UNDER-/proc/sys VALUE
	local f=$work/sysctl.$(echo "$1" | tr / _).$2
	echo "$2" >"$f"
	umount "/proc/sys/$1" 2>/dev/null
	mount --bind "$f" "/proc/sys/$1"
}
fake_sysctl fs/protected_symlinks 1
fake_sysctl fs/protected_hardlinks 1
[ -e /proc/sys/dev/tty/legacy_tiocsti ] && fake_sysctl dev/tty/legacy_tiocsti 0

run_doctor() { out=$("$@" 2>&1); rc=$?; }
line_of() { printf '%s\n' "$out" | grep -E "^(OK|WARN|FAIL) +$1 "; }
# expect CHECK LEVEL RC REGEX DESC: doctor's line for CHECK says LEVEL and
# matches REGEX, and doctor exits RC
expect() {
	run_doctor ephemeractl doctor
	like "$rc $(line_of "$1")" "^$3 $2 +$1 +.*$4" "$5" || diag "$(printf '%s\n' "$out" | grep -v '^OK')"
}
back_ok() { expect "$1" OK 0 "" "  ... and OK again once restored"; }

# ---- the baseline ----
run_doctor ephemeractl doctor
like "$rc $(printf '%s\n' "$out" | tail -n 1)" '^0 [0-9]+ OK, 0 WARN, 0 FAIL$' \
	"testenv's setup: every check OK, exit status 0" || diag "$out"
is "$(printf '%s\n' "$out" | grep -cvE '^(OK|WARN|FAIL) +[a-z-]+ +.+$')" 1 \
	"one 'LEVEL NAME reason' line per check, then the summary"
snap() { find /etc /sessions "$(dirname "$SHELL_BIN")" -xdev -printf '%p %m %u %s %T@\n' 2>/dev/null | sort | md5sum; }
before=$(snap)
ephemeractl doctor >/dev/null 2>&1
is "$(snap)" "$before" "doctor changes nothing in /etc, /sessions or the shell's directory"
out=$(ephemeractl doctor extra 2>&1); rc=$?
like "$rc $out" "^2 .*doctor takes no arguments" "doctor with an argument: usage error"

# ---- config ----
cp -p /etc/ephemera/ephemera.conf "$work/conf"
printf '[allocator]\nbogus = 1\n' >/etc/ephemera/ephemera.conf
expect config FAIL 1 "ephemera.conf:2: unknown key 'bogus'" "a config that does not load: FAIL config, exit 1"
like "$(line_of uid-range)" '^WARN +uid-range +not checked' "  ... and the checks that need it say 'not checked'"
rm /etc/ephemera/ephemera.conf
expect config WARN 0 "No such file or directory: the built-in defaults apply" "no config file: WARN config"
cp -p "$work/conf" /etc/ephemera/ephemera.conf
back_ok config

# ---- the kernel ----
run_doctor strace -f -qq -o /dev/null -e trace=unshare -e inject=unshare:error=EPERM ephemeractl doctor
like "$rc $(line_of namespaces)" "^1 FAIL +namespaces +mount: Operation not permitted; pid: .*cgroup: Operation not permitted" \
	"unshare(2) refused (strace): FAIL namespaces, naming each, exit 1" || diag "$out"
run_doctor strace -f -qq -o /dev/null -e trace=seccomp -e inject=seccomp:error=EINVAL ephemeractl doctor
like "$rc $(line_of seccomp)" "^1 FAIL +seccomp +cannot load a filter: Invalid argument" \
	"seccomp(2) refused (strace): FAIL seccomp, exit 1" || diag "$out"
run_doctor strace -f -qq -o /dev/null -e trace=getppid -e inject=getppid:retval=7 ephemeractl doctor
like "$rc $(line_of seccomp)" "^1 FAIL +seccomp +a filter loaded but did not act" \
	"a filter that does not act (strace makes getppid succeed): FAIL seccomp" || diag "$out"
back_ok seccomp

# ---- ephemera-shell ----
chmod o+w "$SHELL_BIN"
expect shell FAIL 1 "writable by others" "ephemera-shell writable by others: FAIL shell, exit 1"
chmod 0755 "$SHELL_BIN"
expect shell FAIL 1 "not setuid root" "ephemera-shell without the setuid bit: FAIL shell"
chown nobody "$SHELL_BIN"
expect shell FAIL 1 "owned by uid [0-9]+, not root" "ephemera-shell not root's: FAIL shell"
chown root:root "$SHELL_BIN" && chmod 4755 "$SHELL_BIN"
back_ok shell

d=$(dirname "$SHELL_BIN")
chmod o+w "$d"
expect shell-dirs FAIL 1 "$d: owner uid 0, mode 0757" "the shell's directory writable by others: FAIL shell-dirs"
chmod o-w "$d"
chmod o+w "$(dirname "$d")"
expect shell-dirs FAIL 1 "$(dirname "$d"): owner uid 0" "  ... and so is a directory further up"
chmod o-w "$(dirname "$d")"
chgrp staff "$d" && chmod g+w "$d"
expect shell-dirs WARN 0 "$d: writable by group" "the shell's directory writable by a group: WARN shell-dirs, exit 0"
chgrp root "$d" && chmod g-w "$d"
back_ok shell-dirs

cp -p /etc/shells "$work/shells"
echo "$SHELL_BIN" >>/etc/shells
expect etc-shells FAIL 1 "lists $SHELL_BIN: su -s and chsh" "/etc/shells lists ephemera-shell: FAIL etc-shells, exit 1"
cp -p "$work/shells" /etc/shells
back_ok etc-shells

# ---- PAM ----
for svc in sshd su login; do
	cp -p "/etc/pam.d/$svc" "$work/pam.$svc"
	sed -i '/^@include ephemera$/d' "/etc/pam.d/$svc"
	expect "pam-$svc" WARN 0 "does not include ephemera" "/etc/pam.d/$svc without ephemera: WARN pam-$svc, exit 0"
	cp -p "$work/pam.$svc" "/etc/pam.d/$svc"
done
sed -i '/^@include ephemera$/d' /etc/pam.d/su
echo "session required /lib/security/pam_ephemera.so debug" >>/etc/pam.d/su
expect pam-su OK 0 "loads pam_ephemera.so" "a direct pam_ephemera.so line counts as well"
cp -p "$work/pam.su" /etc/pam.d/su
cp -p /etc/pam.d/ephemera "$work/pam.ephemera"
echo "# nothing" >/etc/pam.d/ephemera
expect pam-login WARN 0 "includes ephemera, but /etc/pam.d/ephemera does not load" \
	"an include of an /etc/pam.d/ephemera that loads nothing: WARN"
cp -p "$work/pam.ephemera" /etc/pam.d/ephemera
back_ok pam-login

mod=$(ls /lib/*/security/pam_ephemera.so | head -n 1)
mv "$mod" "$work/pam_ephemera.so"
expect pam-module FAIL 1 "$mod: No such file" "no pam_ephemera.so in the security directory: FAIL pam-module"
mv "$work/pam_ephemera.so" "$mod"
chmod o+w "$mod"
expect pam-module FAIL 1 "not writable by group or others" "pam_ephemera.so writable by others: FAIL pam-module"
chmod 0644 "$mod"
back_ok pam-module

# ---- sshd ----
snippet=/etc/ssh/sshd_config.d/ephemera.conf
cp -p "$snippet" "$work/snippet"
sed -i 's/^Match User agent-session$/Match User someone-else/' "$snippet"
expect sshd-policy WARN 0 "agent-session: forwarding or ~/.ssh/rc allowed" \
	"the sshd policy does not match the gateway account (sshd -T -C): WARN sshd-policy"
rm "$snippet"
expect sshd-policy WARN 0 "$snippet: No such file" "no sshd snippet: WARN sshd-policy"
cp -p "$work/snippet" "$snippet"
back_ok sshd-policy
cp -p /etc/ssh/sshd_config "$work/sshd_config"
sed -i 's|^Subsystem.*|Subsystem sftp internal-sftp|' /etc/ssh/sshd_config
expect sshd-sftp FAIL 1 "internal-sftp.*: it never runs ephemera-shell" \
	"Subsystem sftp internal-sftp in sshd_config: FAIL sshd-sftp, exit 1"
cp -p "$work/sshd_config" /etc/ssh/sshd_config
printf '\tForceCommand internal-sftp\n' >>"$snippet"
expect sshd-sftp FAIL 1 "internal-sftp for agent-session" "ForceCommand internal-sftp for the gateway account: FAIL sshd-sftp"
cp -p "$work/snippet" "$snippet"
back_ok sshd-sftp
rmdir /run/sshd
expect sshd-sftp WARN 0 "cannot tell: .*sshd -T failed with status 255: Missing privilege separation" \
	"sshd -T failing: WARN with sshd's own reason"
mkdir /run/sshd

# ---- the sessions directory ----
chmod o+w /sessions
expect sessions-dir FAIL 1 "writable by root alone" "/sessions writable by others: FAIL sessions-dir, exit 1"
chmod 0755 /sessions
expect sessions-dir WARN 0 "mode 0755, not 0711" "/sessions 0755: WARN sessions-dir"
is "$(stat -c %a /sessions)" 755 "  ... and doctor left the mode as it was"
chmod 0711 /sessions
chown nobody /sessions
expect sessions-dir FAIL 1 "must be owned by root" "/sessions not root's: FAIL sessions-dir"
chown root /sessions
mount -o remount,bind,suid,nodev /sessions
expect sessions-dir FAIL 1 "nosuid,nodev" "/sessions remounted suid: FAIL sessions-dir, exit 1"
mount -o remount,bind,nosuid,dev /sessions
expect sessions-dir FAIL 1 "nosuid,nodev" "/sessions remounted dev: FAIL sessions-dir"
mount -o remount,bind,nosuid,nodev /sessions
back_ok sessions-dir

# ---- the database ----
chmod 0644 "$DB"
expect database FAIL 1 "must be root's, mode 0600 \(is uid 0, mode 0644\)" "database file 0644: FAIL database, exit 1"
chmod 0600 "$DB"
chmod 0755 /var/lib/ephemera
expect database FAIL 1 "/var/lib/ephemera must be root's, mode 0700" "database directory 0755: FAIL database"
chmod 0700 /var/lib/ephemera
sql 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp -p "$DB" "$work/db"
pages=$(($(stat -c %s "$DB") / 4096))
dd if=/dev/urandom of="$DB" bs=4096 seek=2 count=$((pages - 2)) conv=notrunc status=none
expect database FAIL 1 "ephemera.db: .*(malformed|integrity|corrupt)" "a corrupt database (pages overwritten): FAIL database"
dd if=/dev/urandom of="$DB" bs=100 count=1 conv=notrunc status=none
expect database FAIL 1 "corrupt or not a database" "a database with a broken header: FAIL database"
cp -p "$work/db" "$DB" && rm -f "$DB-wal" "$DB-shm"
back_ok database

# ---- the UID range ----
# range_case FILE LINE REGEX DESC: LINE added to /etc/FILE makes uid-range FAIL
range_case() {
	touch "/etc/$1" && cp -p "/etc/$1" "$work/$1"
	echo "$2" >>"/etc/$1"
	expect uid-range FAIL 1 "/etc/$1: $3" "$4"
	cp -p "$work/$1" "/etc/$1"
}
range_case passwd "intruder:x:2013265999:100::/nonexistent:/usr/sbin/nologin" \
	"intruder has uid 2013265999" "a passwd entry inside the range: FAIL uid-range, naming it"
range_case passwd "intruder:x:1000:2013331455:x:/:/bin/sh" "intruder has gid 2013331455" \
	"  ... a passwd entry whose gid is inside"
range_case group "intruders:x:2013300000:" "intruders has gid 2013300000" "a group inside the range: FAIL uid-range"
range_case subuid "plainuser:2013200000:100000" "plainuser has 2013200000-2013299999" \
	"a subuid range overlapping it: FAIL uid-range"
range_case subgid "plainuser:2013331455:1" "plainuser has 2013331455-2013331455" \
	"a subgid range touching its top: FAIL uid-range"
printf 'garbage\n::::\nx:y:zz:\n+::::::\n' >>/etc/passwd
back_ok uid-range
cp -p "$work/passwd" /etc/passwd

# ---- gateway accounts ----
usermod -s /bin/bash agent-session
expect gateway-accounts WARN 0 "agent-session: shell /bin/bash, not $SHELL_BIN" \
	"a gateway account without ephemera-shell: WARN gateway-accounts"
usermod -s "$SHELL_BIN" agent-session
sed -i 's/^accounts = .*/accounts = agent-session, ghost, @nogroup-here/' /etc/ephemera/ephemera.conf
expect gateway-accounts WARN 0 "ghost: no such account; @nogroup-here: no such group" \
	"a configured account or group that does not exist: WARN"
sed -i 's/^accounts = .*/accounts =/' /etc/ephemera/ephemera.conf
expect gateway-accounts WARN 0 "no gateway accounts" "no gateway accounts at all: WARN"
cp -p "$work/conf" /etc/ephemera/ephemera.conf
back_ok gateway-accounts

# ---- sysctls ----
# sysctl_case CHECK PATH BAD GOOD REGEX DESC: BAD makes CHECK WARN, GOOD OK again
sysctl_case() {
	fake_sysctl "$2" "$3"
	expect "$1" WARN 0 "$5" "$6"
	fake_sysctl "$2" "$4"
	back_ok "$1"
}
sysctl_case protected-symlinks fs/protected_symlinks 0 1 "0, not 1: a symlink in a sticky" \
	"fs.protected_symlinks=0: WARN with the reason"
sysctl_case protected-hardlinks fs/protected_hardlinks 0 1 "0, not 1: users may hard-link" \
	"fs.protected_hardlinks=0: WARN with the reason"
if [ -e /proc/sys/dev/tty/legacy_tiocsti ]; then
	sysctl_case legacy-tiocsti dev/tty/legacy_tiocsti 1 0 "1, not 0: TIOCSTI can type into a terminal" \
		"dev.tty.legacy_tiocsti=1: WARN"
	umount /proc/sys/dev/tty/legacy_tiocsti
fi
mount -t tmpfs -o size=4k none /proc/sys/dev/tty # a kernel before 6.2: no such sysctl
expect legacy-tiocsti WARN 0 "no dev.tty.legacy_tiocsti on this kernel .*seccomp filter blocks it" \
	"no legacy_tiocsti sysctl: WARN, saying the seccomp filter blocks TIOCSTI"
umount /proc/sys/dev/tty
[ -e /proc/sys/dev/tty/legacy_tiocsti ] && fake_sysctl dev/tty/legacy_tiocsti 0

# The limits (issue 9): what the host can enforce is an OK line; a profile
# that sets a limit the host cannot enforce is a WARN.  No cgroup v2: a tmpfs
# over /sys/fs/cgroup in testenv's mount namespace (it covers the hybrid
# layout's /sys/fs/cgroup/unified too).
expect limits-host OK 0 "this host can enforce" "limits-host: an OK line of what this host can enforce"
cp /etc/ephemera/ephemera.conf "$work/conf.limits"
printf '[profile lab]\naccounts = agent-session\nmemory_max = 1G\n' >>/etc/ephemera/ephemera.conf
mount -t tmpfs -o size=4k none /sys/fs/cgroup
expect limits-profiles WARN 0 "profile lab: memory_max cannot be enforced: no cgroup v2 hierarchy" \
	"a profile's memory_max without cgroup v2: WARN limits-profiles, exit 0"
expect limits-host OK 0 "not memory_max, pids_max, cpu_weight" "  ... and limits-host says the host cannot"
umount /sys/fs/cgroup
run_doctor ephemeractl doctor
if [[ "$(line_of limits-host)" == *"not "*disk_quota* ]]; then
	printf 'disk_quota = 1G\n' >>/etc/ephemera/ephemera.conf
	expect limits-profiles WARN 0 "profile lab: disk_quota cannot be enforced: .*quota" \
		"disk_quota on a filesystem without user quotas: WARN limits-profiles"
fi
cp "$work/conf.limits" /etc/ephemera/ephemera.conf

run_doctor ephemeractl doctor
like "$rc $(printf '%s\n' "$out" | tail -n 1)" '^0 [0-9]+ OK, 0 WARN, 0 FAIL$' "all restored: every check OK again" ||
	diag "$out"

done_testing
