#!/bin/bash
# ephemeractl setup-gateway USER [--remove] (issue 6), inside tests/testenv:
# a new account is created and its login lands in a sandbox; an existing one
# is adopted and given its shell back; a second run changes nothing; hostile
# names are refused before anything is touched; the config keeps its
# comments, other lines, owner and mode, and is replaced atomically;
# /etc/shells is never touched.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

SHELL_BIN=$(command -v ephemera-shell)
CONF=/etc/ephemera/ephemera.conf
STATE=/var/lib/ephemera/gateways
NEW=ephgw-new
work=$(mktemp -d /tmp/ctl-gateway.XXXXXX)
trap 'rm -rf "$work"' EXIT
# accounts: the accounts value of the config, as ephemera-shell would see it
accounts() { sed -n 's/^accounts *= *//p' "$CONF"; }
shell_of() { getent passwd "$1" | cut -d: -f7; }
# gw ARGS: run setup-gateway; $out is what it said, lines joined with " | "
gw() {
	out=$(ephemeractl setup-gateway "$@" 2>&1)
	rc=$?
	out=${out//$'\n'/ | }
}
cp -p /etc/shells "$work/shells"

# ---- a new account ----
gw "$NEW"
like "$rc $out" "^0 .*created account $NEW \(shell $SHELL_BIN, home /home/$NEW\)" \
	"setup-gateway of a missing user creates it" || diag "$out"
is "$(getent passwd "$NEW" | cut -d: -f5-)" "ephemera gateway account:/home/$NEW:$SHELL_BIN" \
	"  ... with ephemera-shell as its shell and /home/$NEW as its home"
is "$(getent shadow "$NEW" | cut -d: -f2)" '*' "  ... password '*': key logins only, not locked for sshd"
is "$(getent group "$NEW" | cut -d: -f3)" "$(id -g "$NEW")" "  ... with a private group"
is "$(stat -c '%U:%G %a' "/home/$NEW" "/home/$NEW/.ssh" | tr '\n' ' ')" "root:root 755 root:root 755 " \
	"  ... its home and .ssh root's, 0755, as testenv's agent-session"
is "$(accounts)" "agent-session, $NEW" "  ... and it is added to [gateway] accounts"
is "$(cat "$STATE/$NEW")" created "  ... recorded in $STATE as created by setup-gateway"
is "$(stat -c '%U %a' "$STATE")" "root 700" "  ... a directory root's alone"
syslog_like "ephemeractl\[[0-9]+\]: created account $NEW" "  ... the account logged to syslog"
syslog_like "ephemeractl\[[0-9]+\]: added $NEW to \[gateway\] accounts of $CONF" "  ... and the config change too"

login=$(su - "$NEW" -c 'id -u; grep "^Seccomp:" /proc/self/status' 2>&1)
ok "su - $NEW lands in a sandbox: a transient UID ($(echo "$login" | head -n 1))" in_range "$(echo "$login" | head -n 1)"
like "$login" "Seccomp:[[:space:]]+2" "  ... under a seccomp filter"

cp -p "$CONF" "$work/conf.1"
getent passwd "$NEW" >"$work/pw.1"
gw "$NEW"
is "$rc $out" "0 $NEW: nothing to change" "setup-gateway a second time: nothing to change, says so"
ok "  ... the config is byte for byte the same" cmp "$CONF" "$work/conf.1"
is "$(getent passwd "$NEW")" "$(cat "$work/pw.1")" "  ... and so is the account"

# ---- adopting an existing account ----
is "$(shell_of plainuser)" /bin/bash "plainuser starts with /bin/bash (control)"
is "$(su - plainuser -c 'id -u')" "$(id -u plainuser)" "  ... and its logins run as itself"
gw plainuser
like "$rc $out" "^0 .*adopted account plainuser: shell $SHELL_BIN, was /bin/bash" \
	"setup-gateway adopts an existing account" || diag "$out"
is "$(shell_of plainuser)" "$SHELL_BIN" "  ... its shell is now ephemera-shell"
is "$(cat "$STATE/plainuser")" "adopted /bin/bash" "  ... the shell it had is recorded"
is "$(stat -c %U /home/plainuser)" plainuser "  ... its home is left as it was"
ok "  ... its logins now land in a sandbox" in_range "$(su - plainuser -c 'id -u' 2>&1)"
gw plainuser
is "$rc $out" "0 plainuser: nothing to change" "  ... and a second run changes nothing"

# ---- --remove, both ways ----
gw --remove plainuser
like "$rc $out" "^0 .*removed plainuser from \[gateway\] accounts.*restored the shell of plainuser to /bin/bash" \
	"--remove of an adopted account: out of the config, old shell back" || diag "$out"
is "$(shell_of plainuser)" /bin/bash "  ... its shell is /bin/bash again"
ok "  ... the account still exists" getent passwd plainuser
ok "  ... its record is gone" test ! -e "$STATE/plainuser"
is "$(su - plainuser -c 'id -u')" "$(id -u plainuser)" "  ... and its logins run as itself again"
syslog_like "restored the shell of plainuser to /bin/bash" "  ... logged to syslog"
gw --remove plainuser
is "$rc $out" "0 plainuser: nothing to change" "  ... a second --remove changes nothing"

gw --remove "$NEW"
like "$rc $out" "^0 .*removed $NEW from .*deleted account $NEW.*removed /home/$NEW" \
	"--remove of a created account deletes it" || diag "$out"
fails "  ... the account is gone" getent passwd "$NEW"
fails "  ... so is its group" getent group "$NEW"
ok "  ... and its home" test ! -e "/home/$NEW"
is "$(accounts)" agent-session "  ... and it is no longer in [gateway] accounts"
gw --remove "$NEW"
is "$rc $out" "0 $NEW: nothing to change" "  ... a second --remove changes nothing"

# Something an admin put into the home stays.
gw "$NEW"
echo "ssh-ed25519 AAAA admin-key" >"/home/$NEW/.ssh/authorized_keys"
gw --remove "$NEW"
like "$rc $out" "^0 .*deleted account $NEW.*left /home/$NEW: Directory not empty" \
	"--remove keeps a home that is not empty, and says so" || diag "$out"
ok "  ... authorized_keys is still there" test -s "/home/$NEW/.ssh/authorized_keys"
rm -rf "/home/$NEW"

# An account whose shell an admin changed since is not ours to delete.
gw "$NEW"
usermod -s /bin/sh "$NEW"
gw --remove "$NEW"
like "$rc $out" "^0 .*left account $NEW: its shell is /bin/sh now" \
	"--remove leaves a created account whose shell was changed since" || diag "$out"
ok "  ... the account is still there" getent passwd "$NEW"
userdel "$NEW" && rm -rf "/home/$NEW"

# The gateway account testenv made (not by setup-gateway): only the config changes.
gw --remove agent-session
like "$rc $out" "^0 .*removed agent-session from .*left the shell of agent-session as $SHELL_BIN: setup-gateway did not set it" \
	"--remove of an account setup-gateway did not make: config only, the shell is left" || diag "$out"
is "$(shell_of agent-session)" "$SHELL_BIN" "  ... its shell is untouched"
is "$(accounts)" "" "  ... accounts is empty now"
ok "  ... and the config still loads" ephemeractl list
fails "  ... with no gateway accounts, agent-session's logins are refused (fail closed)" \
	su - agent-session -c true
gw agent-session
is "$rc $out" "0 ephemeractl: added agent-session to [gateway] accounts of $CONF" \
	"setup-gateway agent-session: only the config changes"

# ---- hostile and refused names ----
cp -p "$CONF" "$work/conf.2"
cp -p /etc/passwd "$work/passwd.2"
ls -A /home "$STATE" >"$work/ls.2"
long=$(printf 'a%.0s' $(seq 33))
for name in ../x -rf "$(printf 'evil\nroot')" "$long" Root "" "a b" 'x;id' "bob:x"; do
	gw -- "$name"
	like "$rc $out" "^1 ephemeractl: setup-gateway: invalid user name" \
		"setup-gateway refuses '$(printf '%q' "$name")'" || diag "$out"
done
gw -rf
is "$rc" 2 "-rf without --: a usage error"
gw --remove -- ../x
like "$rc $out" "^1 .*invalid user name" "--remove refuses a hostile name too"
gw root
like "$rc $out" "^1 .*refusing root: uid 0 is below 1000, a system account" "root is never adopted"
gw daemon
like "$rc $out" "^1 .*refusing daemon: uid 1 is below 1000" "nor is a system account"
is "$(shell_of daemon)" /usr/sbin/nologin "  ... its shell is untouched"
ok "after all the refusals the config is unchanged" cmp "$CONF" "$work/conf.2"
ok "  ... and /etc/passwd" cmp /etc/passwd "$work/passwd.2"
is "$(ls -A /home "$STATE")" "$(cat "$work/ls.2")" "  ... and nothing was made in /home or $STATE"
gw
is "$rc" 2 "no USER: a usage error"
gw a b
is "$rc" 2 "two USERs: a usage error"

# ---- the config file: comments, layout, owner, mode, atomic replacement ----
cat >"$CONF" <<-'EOF'
	# ephemera.conf of a careful admin
	; with both kinds of comments

	[allocator]
	max_sessions_per_owner = 1000   
	[gateway]
	# who gets sandboxes
	accounts=agent-session ; the original one
	[sandbox]
	hostname = testbox
EOF
chmod 0600 "$CONF"
cp -p "$CONF" "$work/conf.3"
inode=$(stat -c %i "$CONF")
gw "$NEW"
is "$rc" 0 "setup-gateway with a commented config"
is "$(grep '^accounts' "$CONF")" "accounts=agent-session, $NEW ; the original one" \
	"  ... the accounts line gets the user, keeping its inline comment"
is "$(diff "$work/conf.3" "$CONF" | grep -c '^[<>]')" 2 "  ... and no other line changed"
is "$(stat -c '%U:%G %a' "$CONF")" "root:root 600" "  ... the file keeps its owner and mode 0600"
isnt_inode=$(stat -c %i "$CONF")
ok "  ... it was replaced by a rename (a new inode), not rewritten in place" test "$inode" != "$isnt_inode"
is "$(ls -A /etc/ephemera)" ephemera.conf "  ... and no temporary file is left beside it"
ok "  ... and ephemeractl still loads it" ephemeractl list
gw --remove "$NEW"
ok "--remove gives back the very same file" cmp "$CONF" "$work/conf.3"

printf '# no gateway section\n[allocator]\nmax_sessions_per_owner = 1000' >"$CONF"
chmod 0644 "$CONF"
gw "$NEW"
is "$(cat "$CONF")" "$(printf '# no gateway section\n[allocator]\nmax_sessions_per_owner = 1000\n\n[gateway]\naccounts = %s' "$NEW")" \
	"a config without [gateway] (and without a last newline) gets the section appended"
ok "  ... and the config loads" ephemeractl list
gw --remove "$NEW"

printf '[gateway]\n[allocator]\nmax_sessions_per_owner = 1000\n' >"$CONF"
gw "$NEW"
is "$(head -n 2 "$CONF")" "$(printf '[gateway]\naccounts = %s' "$NEW")" \
	"a [gateway] section without accounts gets the line right after its header"
gw --remove "$NEW"

rm "$CONF"
gw "$NEW"
is "$rc $(cat "$CONF")" "$(printf '0 [gateway]\naccounts = %s' "$NEW")" "no config file at all: one is made"
is "$(stat -c '%U %a' "$CONF")" "root 644" "  ... root's, mode 0644"
gw --remove "$NEW"

cp -p "$work/conf.2" "$CONF"
chmod 0666 "$CONF"
gw "$NEW"
like "$rc $out" "^1 .*must be owned by root and not writable by group or others" \
	"a config writable by others is refused" || diag "$out"
fails "  ... before the account is made" getent passwd "$NEW"
chmod 0644 "$CONF"
mv "$CONF" /etc/ephemera/real.conf && ln -s real.conf "$CONF"
gw "$NEW"
like "$rc $out" "^1 .*Too many levels of symbolic links" "a config that is a symlink is refused"
rm "$CONF" && mv /etc/ephemera/real.conf "$CONF"
printf '[gateway]\naccounts = agent-session\nbogus = 1\n' >"$CONF"
gw "$NEW"
like "$rc $out" "^1 .*ephemera.conf:3: unknown key 'bogus'" "a config that does not load is refused, with FILE:LINE"
fails "  ... before the account is made" getent passwd "$NEW"
# 193 characters: one more name takes the line past inih's 199
printf '[gateway]\naccounts = %s\n' "$(printf 'user%02d, ' $(seq 23) | sed 's/, $//')" >"$CONF"
cp -p "$CONF" "$work/conf.4"
gw "$NEW"
like "$rc $out" "^1 .*the edited file would not load: .*line longer than" \
	"an edit that would make the config unloadable is refused" || diag "$out"
ok "  ... the config is unchanged" cmp "$CONF" "$work/conf.4"
is "$(ls -A /etc/ephemera)" ephemera.conf "  ... and the temporary file removed"
fails "  ... and no account was made (the config is edited first)" getent passwd "$NEW"
cp -p "$work/conf.2" "$CONF"
mkdir "/home/$NEW"
gw "$NEW"
like "$rc $out" "^1 .*/home/$NEW already exists; refusing to create $NEW over it" \
	"a new account is not made over an existing home"
ok "  ... the config is unchanged" cmp "$CONF" "$work/conf.2"
rmdir "/home/$NEW"

# --config: another file
cp -p "$CONF" /etc/ephemera/other.conf
out=$(ephemeractl --config /etc/ephemera/other.conf setup-gateway "$NEW" 2>&1)
like "$(grep '^accounts' /etc/ephemera/other.conf)" "agent-session, $NEW" "--config PATH edits that file"
ok "  ... and not the default one" cmp "$CONF" "$work/conf.2"
ephemeractl --config /etc/ephemera/other.conf setup-gateway --remove "$NEW" >/dev/null 2>&1
rm /etc/ephemera/other.conf

ok "/etc/shells was never touched" cmp /etc/shells "$work/shells"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups ephemeractl setup-gateway "$NEW" 2>&1)
like "$out" "must be run as root" "a non-root caller is refused"

done_testing
