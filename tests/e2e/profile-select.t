#!/bin/bash
# Profile selection (issue 9, "Profiles"): a user named in a profile gets it,
# a member of a group a profile names gets that one (by a supplementary or
# the primary group), the first profile in file order wins, and an account
# named only in [gateway] gets the default.  `ephemeractl show` prints the
# profile, and the sandbox is the profile's: its process limit (ulimit -u)
# and the size of its /tmp (df).  A session whose profile is removed from
# the config between allocation (PAM) and the shell refuses to start.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

gateway_user() { # gateway_user NAME [useradd options]
	local u=$1
	shift
	useradd -M -d "/home/$u" -s "$EPHEMERA_SHELL_BIN" "$@" "$u"
	usermod -p '*' "$u"
	mkdir -p "/home/$u" # root's, as agent-session's
}
groupadd lab
gateway_user agent-two
gateway_user labuser -G lab
gateway_user labprim -g lab
gateway_user dual -G lab
cat >/etc/ephemera/ephemera.conf <<'EOF'
[gateway]
accounts = agent-session
[allocator]
max_sessions_per_owner = 1000
[sandbox]
max_processes = 200
tmp_size = 64M
[profile agents]
accounts = agent-two, dual
max_processes = 100
tmp_size = 32M
[profile lab]
accounts = @lab
max_processes = 150
tmp_size = 48M
EOF

# check USER PROFILE NPROC TMP-KIB DESC
check() {
	local out name
	out=$(su - "$1" -c 'echo "nproc=$(ulimit -Hu) tmp=$(df -k --output=size /tmp | tail -n 1 | tr -d " ")"' 2>&1)
	name=$(sql "SELECT name FROM sessions WHERE owner = '$1' ORDER BY rowid DESC LIMIT 1")
	is "$(ephemeractl show "$name" | sed -n 's/^profile: *//p')" "$2" "$5: ephemeractl show prints $2"
	is "$out" "nproc=$3 tmp=$4" "  ... and its sandbox has the profile's limits"
}
check agent-session default 200 65536 "an account named only in [gateway] gets the default"
check agent-two agents 100 32768 "a user named in a profile gets it"
check labuser lab 150 49152 "a member of @lab (supplementary group) gets lab"
check labprim lab 150 49152 "a member of @lab (primary group) gets lab"
check dual agents 100 32768 "named in agents and a member of @lab: the first profile in the file wins"
is "$(sql "SELECT profile FROM sessions WHERE owner = 'labuser' ORDER BY rowid DESC LIMIT 1")" lab \
	"the profile is recorded with the session"

# The profile goes away after PAM allocated the session, before the shell:
# a PAM step after pam_ephemera edits the config, as an admin might.
cat >/usr/local/sbin/drop-lab-profile <<'EOF'
#!/bin/sh
[ "$PAM_USER" = labuser ] && sed -i 's/^\[profile lab\]$/[profile lab2]/' /etc/ephemera/ephemera.conf
exit 0
EOF
chmod 0755 /usr/local/sbin/drop-lab-profile
echo "session optional pam_exec.so /usr/local/sbin/drop-lab-profile" >>/etc/pam.d/su
rc=0
out=$(su - labuser -c 'echo RAN' 2>&1) || rc=$?
name=$(sql "SELECT name FROM sessions WHERE owner = 'labuser' ORDER BY rowid DESC LIMIT 1")
ok "the config lost the profile lab meanwhile" grep -q '^\[profile lab2\]$' /etc/ephemera/ephemera.conf
ok "a session whose profile is gone does not start (rc=$rc)" test "$rc" != 0
like "$out" "^ephemera-shell: profile 'lab' of this session is not in the config$" "  ... with a clear line"
ok "  ... nothing ran" test "${out#*RAN}" = "$out"
is "$(state_of "$name")" failed "  ... the session is failed"
like "$(sql "SELECT detail FROM events WHERE session = '$name' AND kind = 'reason'")" "profile 'lab'" \
	"  ... with the reason in its events"
sed -i '$d' /etc/pam.d/su
check labuser lab2 150 49152 "the next login of labuser gets the renamed profile"

done_testing
