#!/bin/bash
# Extra mounts of a profile (issue 9, "Extra mounts"; shell/mounts.h M1-M5):
# a shared read-only tools folder at mnt/.skill, a per-owner persistent
# mnt/.config and a per-owner read-only mnt/upload, with %u in the sources.
# What one session writes in .config is there in the next session of the
# same owner (another transient UID: the bind is idmapped), read and changed
# as its own, and absent for another owner; the reaper, even killing a live
# session, never wipes through a bind.  A hostile source (a link, a linked
# component, missing, someone else's, writable by others) refuses the login
# with a clear line and nothing runs.
# Checked by removing each defence: without the symlink check (M1) the two
# link cases log in; without the owner check (M2) the plainuser source does;
# without the idmapping (M4) the second session cannot read cred (EACCES);
# without the ACL check a rw source another user may write logs in; without
# both close-on-exec and pid 1's close of the clones' fds the shell holds 3.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

useradd -M -d /home/agent-two -s "$EPHEMERA_SHELL_BIN" agent-two
usermod -p '*' agent-two
mkdir -p /home/agent-two && chown root:root /home/agent-two

# On the disk of /var/lib/ephemera, as on a host (tmpfs has idmapped mounts
# only from Linux 6.3).
S=/var/lib/ephemera/srv CFG=/var/lib/ephemera/config
mkdir -p "$S/tools" "$S/upload/agent-session" "$S/upload/agent-two" "$CFG"
echo tool-v1 >"$S/tools/tool"
echo handed-in >"$S/upload/agent-session/in.txt"
chown -R agent-session: "$S/upload/agent-session"
chmod 0600 "$S/upload/agent-session/in.txt" # readable only as the owner: idmapping

conf() { # conf MOUNT-LINE...: the test config with these mount lines
	{
		printf '[gateway]\naccounts = agent-session, agent-two\n'
		printf '[allocator]\nmax_sessions_per_owner = 1000\n[sandbox]\n'
		local m
		for m in "$@"; do echo "mount = $m"; done
	} >/etc/ephemera/ephemera.conf
}
conf "ro:$S/tools:mnt/.skill" "rw:$CFG/%u:mnt/.config" "ro:$S/upload/%u:mnt/upload"
newest() { sql "SELECT name FROM sessions ORDER BY rowid DESC LIMIT 1"; }

# ---- the first session of agent-session ----
out=$(su - agent-session -c '
	cat mnt/.skill/tool mnt/upload/in.txt
	touch mnt/.skill/x 2>/dev/null || echo RO-SKILL
	touch mnt/upload/x 2>/dev/null || echo RO-UPLOAD
	echo cred-1 >mnt/.config/cred && mkdir mnt/.config/sub && echo s >mnt/.config/sub/f && echo WROTE
	stat -c "owner-inside=%U" mnt/.config/cred
	grep -cE " (ro|rw),nosuid,nodev,[^ ]*idmapped " /proc/self/mountinfo' 2>&1)
s1=$(newest)
like "$out" 'tool-v1' "the shared tools folder is at mnt/.skill"
like "$out" 'handed-in' "the owner's upload (0600, the owner's) is readable at mnt/upload"
like "$out" 'RO-SKILL' "  ... mnt/.skill is read-only"
like "$out" 'RO-UPLOAD' "  ... mnt/upload is read-only"
like "$out" 'WROTE' "the session writes to mnt/.config"
like "$out" "owner-inside=$s1" "  ... where its files are its own"
like "$out" '(^|[^0-9])3$' "  ... three binds, each nosuid,nodev and idmapped"
is "$(stat -c %U:%G "$CFG/agent-session/cred")" agent-session:agent-session \
	"on the host, what it wrote is the owner's, not the transient UID's"
is "$(find "$CFG" -uid "$(uid_of "$s1")" | wc -l)" 0 "  ... nothing there belongs to its UID"
is "$(state_of "$s1")" reaped "the first session is reaped"
is "$(cat "$CFG/agent-session/cred")" cred-1 "  ... and .config survived its reap"
is "$(cat "$S/tools/tool")" tool-v1 "  ... and so did the tools folder"

# The clones travel into pid 1 as fds from 100 up (close-on-exec, and pid 1,
# which the session cannot look into, closes them once used): none is left
# to the session.
out=$(su - agent-session -c 'ls /proc/self/fd | grep -Ec "^[0-9]{3,}$"' 2>&1)
is "$out" 0 "no fd of the clones is open in the session"

# ---- the next session of the same owner: another UID, the same .config ----
out=$(su - agent-session -c '
	cat mnt/.config/cred mnt/.config/sub/f
	echo cred-2 >>mnt/.config/cred && rm -r mnt/.config/sub && touch mnt/.config/new && echo CHANGED' 2>&1)
s2=$(newest)
ok "the second session has another UID" test "$(uid_of "$s1")" != "$(uid_of "$s2")"
like "$out" 'cred-1' "the second session reads what the first wrote"
like "$out" 'CHANGED' "  ... and changes it: appends, removes a directory, makes a file"
is "$(cat "$CFG/agent-session/cred")" "$(printf 'cred-1\ncred-2')" "  ... seen on the host"
ok "  ... the first session's directory is gone" test ! -e "$CFG/agent-session/sub"

# ---- another owner: its own .config, not agent-session's ----
out=$(su - agent-two -c '
	echo "entries=$(ls -A mnt/.config | wc -l)"
	cat mnt/.config/cred 2>/dev/null || echo NO-CRED
	ls /var/lib/ephemera 2>/dev/null || echo NO-STORE
	grep -rl --exclude-dir=proc --exclude-dir=sys cred-1 / 2>/dev/null | head -n 1' 2>&1)
like "$out" 'entries=0' "another owner's .config is its own, empty"
like "$out" 'NO-CRED' "  ... without agent-session's cred"
like "$out" 'NO-STORE' "  ... and the store itself is not in its sandbox"
is "$(echo "$out" | grep '^/')" "" "  ... nowhere in its sandbox does cred-1 appear"
is "$(stat -c %U "$CFG/agent-two")" root "agent-two's store was made root's (ACL for the owner)"
like "$(getfacl -cp "$CFG/agent-two" 2>/dev/null | grep '^user:')" '^user:agent-two:rwx' \
	"  ... with an entry for agent-two"

# ---- a killed session: the reaper does not wipe through the bind ----
su - agent-session -c 'echo live >mnt/.config/live; touch .ready; sleep 60' >/dev/null 2>&1 &
name=$(ready_session)
ok "a live session wrote to .config ($name)" test -n "$name"
ok "ephemeractl kill ends and reaps it" ephemeractl kill "$name"
is "$(state_of "$name")" reaped "  ... reaped"
is "$(cat "$CFG/agent-session/live" 2>/dev/null)" live "  ... and what it wrote in .config is kept"
is "$(cat "$CFG/agent-session/cred")" "$(printf 'cred-1\ncred-2')" "  ... as is the rest"
is "$(grep -c "$S\|$CFG" /proc/self/mountinfo)" 0 "no bind of a sandbox shows in the host's mounts"
wait

# ---- hostile sources: refused with a clear line, nothing runs ----
# refused DESC REGEX MOUNT-LINE
refused() {
	conf "$3"
	local out rc=0 before
	before=$(last_rowid)
	out=$(su - agent-session -c 'echo RAN >mnt/output/ran; echo RAN' 2>&1) || rc=$?
	if [ "$rc" != 0 ] && ! echo "$out" | grep -q RAN && echo "$out" | grep -Eq -- "$2"; then
		_report 0 "$1"
	else
		_report 1 "$1"
		echo "#   rc=$rc out: $out"
	fi
	is "$(sql "SELECT state FROM sessions WHERE rowid > $before")" failed "  ... the session is failed"
}
ln -s "$S/tools" "$S/evil" && chown -h plainuser: "$S/evil"
refused "a symlink owned by another user" "^ephemera-shell: mount $S/evil: a symbolic link$" \
	"ro:$S/evil:mnt/.skill"
ln -s tools "$S/rootlink"
refused "a symlink, even root's" "mount $S/rootlink: a symbolic link" "ro:$S/rootlink:mnt/.skill"
mkdir -p "$S/real/sub" && ln -s real "$S/lnk"
refused "a path with a linked component" "mount $S/lnk/sub: $S/lnk is a symbolic link" \
	"ro:$S/lnk/sub:mnt/.skill"
refused "a missing source" "mount $S/nothing: missing$" "ro:$S/nothing:mnt/.skill"
refused "a missing parent of a rw source" "mount $S/nothing/agent-session: missing \\($S/nothing does not exist\\)" \
	"rw:$S/nothing/%u:mnt/.config"
mkdir -p "$S/plains" && chown plainuser: "$S/plains"
refused "a source owned by an unrelated user" \
	"mount $S/plains: owned by uid $(id -u plainuser), not root or agent-session" "ro:$S/plains:mnt/.skill"
mkdir -p "$S/plainp/sub" && chown plainuser: "$S/plainp"
refused "a source below a directory of an unrelated user" \
	"mount $S/plainp/sub: $S/plainp is owned by uid $(id -u plainuser)" "ro:$S/plainp/sub:mnt/.skill"
mkdir -p "$S/open" && chmod 0777 "$S/open"
refused "a source writable by others" "mount $S/open: writable by others" "ro:$S/open:mnt/.skill"
mkdir -p "$S/acl" && setfacl -m u:plainuser:rwx "$S/acl"
refused "a rw source another user may write (ACL)" \
	"mount $S/acl: writable by a user other than root or agent-session" "rw:$S/acl:mnt/.config"
mkdir -p "$S/grpw" && chgrp plainuser "$S/grpw" && chmod 0775 "$S/grpw"
refused "a ro source its group may write" \
	"mount $S/grpw: writable by a user other than root or agent-session" "ro:$S/grpw:mnt/.skill"
# A rw source others can reach: a setuid file a session makes there is the
# owner's on the host, and they could run it.
mkdir -p "$S/reach" && chown agent-session: "$S/reach" && chmod 0755 "$S/reach"
refused "a rw source other users can reach" \
	"mount $S/reach: rw, but reachable by a user other than root or agent-session" "rw:$S/reach:mnt/.config"
mkdir -p "$S/reachacl" && chown agent-session: "$S/reachacl" && chmod 0700 "$S/reachacl" &&
	setfacl -m u:plainuser:x "$S/reachacl"
refused "  ... or through an ACL entry" "mount $S/reachacl: rw, but reachable" "rw:$S/reachacl:mnt/.config"
chmod 0700 "$S/reach"
conf "rw:$S/reach:mnt/.config"
is "$(su - agent-session -c 'echo ok >mnt/.config/f && cat mnt/.config/f' 2>/dev/null)" ok \
	"the control: the same source at 0700 is bound"
mkdir -p "$S/ownerp" && chown agent-session: "$S/ownerp"
refused "a rw source is made only under a root-owned parent" "mount $S/ownerp/agent-session: missing \\(made only" \
	"rw:$S/ownerp/%u:mnt/.config"
touch "$S/afile"
refused "a file, not a directory" "mount $S/afile: not a directory" "ro:$S/afile:mnt/.skill"
refused "a filesystem without idmapped mounts" "mount /proc/sys: its filesystem has no idmapped mounts" \
	"ro:/proc/sys:mnt/.skill"
like "$(ephemeractl doctor | grep extra-mounts)" '^FAIL extra-mounts +profile default: /proc/sys: its filesystem has no idmapped mounts' \
	"  ... and ephemeractl doctor FAILs it"
conf "ro:$S/nothing:mnt/.skill"
like "$(ephemeractl doctor | grep extra-mounts)" "^FAIL extra-mounts +profile default: $S/nothing: missing" \
	"ephemeractl doctor FAILs a missing source"
conf "ro:$S/tools:mnt/../../etc"
fails "a target out of the home is a config error: no login" su - agent-session -c true
syslog_like "mount target .* is not a plain path in the home" "  ... and syslog says why"
conf "ro:$S/tools:mnt/.skill"
is "$(su - agent-session -c 'cat mnt/.skill/tool' 2>&1)" tool-v1 "control: the same login with a clean source works"
conf "ro:$S/tools:mnt/.skill" "rw:$CFG/%u:mnt/.config"
like "$(ephemeractl doctor | grep extra-mounts)" '^OK +extra-mounts +2 mount\(s\): sources present' \
	"  ... and ephemeractl doctor finds the sources good"

done_testing
