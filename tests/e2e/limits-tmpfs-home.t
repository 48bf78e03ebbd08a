#!/bin/bash
# home = tmpfs:SIZE (issue 9, "Limits"): the session's home is a tmpfs of that
# size mounted on /sessions/<name> in the host's mount namespace, with
# mnt/output on disk (/sessions/.output/<name>, root's 0700 directory) bound
# in; the reaper's wipe is an unmount, and the output is moved back to
# /sessions/<name>/mnt/output and handed to the owner as for a disk home.
#
# Checked by removing each part: without the output bind in the sandbox plan
# (sandbox.c) the file written to mnt/output is lost with the tmpfs; without
# home_output_restore in the reaper the owner gets no output and .output/<name>
# stays; without home_detach in home_remove, releasing a session that never
# started leaves its tmpfs mounted.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

cat >>/etc/ephemera/ephemera.conf <<'EOF2'
[sandbox]
home = tmpfs:8M
EOF2
owner_uid=$(id -u agent-session)

su - agent-session -c 'stat -f -c %T ~ >mnt/output/home-fs; stat -f -c %T mnt/output >mnt/output/out-fs
	echo kept >mnt/output/result; mkdir -p .config; echo cfg >.config/x
	dd if=/dev/zero of=big bs=1M count=16 2>mnt/output/dd.err; echo "rc=$?" >>mnt/output/dd.err
	rm -f big
	ln -s /etc/passwd mnt/output/passwd-link; ln -s /etc mnt/output/etc-link
	mkdir -p mnt/output/deep/er; echo x >mnt/output/deep/er/f; mkfifo mnt/output/fifo
	touch mnt/output/suid; chmod 4755 mnt/output/suid
	touch .ready; sleep 30' >/tmp/s.log 2>&1 &
s=$!
name=$(ready_session)
ok "a session with home = tmpfs:8M runs ($name)" test -n "$name"
uid=$(uid_of "$name")
is "$(cat "/sessions/$name/mnt/output/home-fs")" tmpfs "inside, the home is a tmpfs"
is "$(stat -f -c %T "/sessions/$name")" tmpfs "  ... mounted on /sessions/$name in the host's namespace"
is "$(findmnt -n -o OPTIONS "/sessions/$name" | tr , '\n' | grep -cE '^(nosuid|nodev)$')" 2 \
	"  ... nosuid,nodev"
is "$(findmnt -n -o SIZE "/sessions/$name" | tr -d ' ')" 8M "  ... of size 8M"
isnt_tmpfs=$(cat "/sessions/$name/mnt/output/out-fs")
ok "mnt/output is not on the tmpfs ($isnt_tmpfs)" test "$isnt_tmpfs" != tmpfs
is "$(cat "/sessions/.output/$name/result")" kept "  ... it is /sessions/.output/$name, on disk"
is "$(stat -c '%u %a' /sessions/.output)" "0 700" "  ... in root's 0700 .output"
like "$(cat "/sessions/$name/mnt/output/dd.err")" 'No space left on device' \
	"a 16M write fails with ENOSPC: the tmpfs size is the home's quota"
is "$(stat -c '%U %G' "/sessions/$name")" "root root" "the home is root's as on disk"
like "$(getfacl -pn "/sessions/$name" 2>/dev/null)" "user:$uid:rwx" "  ... with the session's ACL entry"

leader=$(sql "SELECT leader_pid FROM sessions WHERE name = '$name'")
kill "$leader"
wait "$s" 2>/dev/null
ok "the session ends and is reaped" wait_state "$name" reaped 100
is "$(findmnt -n "/sessions/$name" | wc -l)" 0 "the reap unmounted the tmpfs (and the output bind)"
ok "  ... and /sessions/.output/$name is gone" test ! -e "/sessions/.output/$name"
is "$(cat "/sessions/$name/mnt/output/result" 2>&1)" kept "the output survives the reap, in /sessions/$name/mnt/output"
is "$(stat -c %u "/sessions/$name/mnt/output/result")" "$owner_uid" "  ... and is the owner's"
is "$(ls -A "/sessions/$name")" mnt "nothing but mnt is left in the home"
ok "  ... nothing else (.config went with the tmpfs)" test ! -e "/sessions/$name/.config"
is "$(find /sessions -uid "$uid" 2>/dev/null | wc -l)" 0 "nothing under /sessions is the UID's"

# The hostile parts of the output, handed over as on a disk home.
is "$(readlink "/sessions/$name/mnt/output/passwd-link")" /etc/passwd "a symlink is handed over as a symlink"
is "$(stat -c %u /etc/passwd) $(stat -c %u /etc)" "0 0" "  ... and what it points to is untouched"
is "$(stat -c %u "/sessions/$name/mnt/output/passwd-link")" "$owner_uid" "  ... the link is the owner's"
is "$(stat -c %u "/sessions/$name/mnt/output/deep/er/f")" "$owner_uid" "a deep file is the owner's"
is "$(stat -c %a "/sessions/$name/mnt/output/suid")" 755 "a setuid file loses its setuid bit"
ok "a fifo is handed over as a fifo" test -p "/sessions/$name/mnt/output/fifo"

# P5: a reaper killed right after its unmount leaves the output in .output;
# the next reaper moves it and hands it over.  (A session that never ran,
# with a file of its UID put in its output, and its tmpfs unmounted by hand
# as that reaper did.)
n2=$(ephemeractl alloc --owner agent-session 2>/dev/null | awk '{print $1; exit}')
n2=${n2%%:*}
u2=$(uid_of "$n2")
echo again >"/sessions/$n2/mnt/output/r2"
chown "$u2:$u2" "/sessions/$n2/mnt/output/r2"
umount -l "/sessions/$n2"
ok "a reap after a reaper's unmount (killed then) finishes" ephemeractl kill "$n2"
is "$(cat "/sessions/$n2/mnt/output/r2" 2>&1) $(stat -c %u "/sessions/$n2/mnt/output/r2")" \
	"again $owner_uid" "  ... the output is moved and the owner's"
ok "  ... and .output/$n2 is gone" test ! -e "/sessions/.output/$n2"

# A session that never started: release leaves no mount and no output.
n3=$(ephemeractl alloc --owner agent-session 2>/dev/null | awk '{print $1; exit}')
n3=${n3%%:*}
ok "an allocation makes a tmpfs home ($n3)" test "$(stat -f -c %T "/sessions/$n3" 2>/dev/null)" = tmpfs
ok "release removes it" ephemeractl release "$n3"
is "$(findmnt -n "/sessions/$n3" | wc -l) $(ls -A /sessions/.output | wc -l)" "0 0" \
	"  ... no mount left, no output in .output"

done_testing
