#!/bin/bash
# The sshd policy for gateway accounts (issue 4, item 4;
# packaging/sshd_config.d/ephemera.conf): TCP forwarding (-L, -R, -D) and
# agent forwarding (-A) do nothing for agent-session, subsystems and odd
# command lines still run in the sandbox, ~/.ssh/rc is never run, the
# account's home is not its own, and ephemera-shell is not in /etc/shells so
# that `su -s` cannot swap it for another shell.  Every check has a control
# against plainuser (an ordinary account on the same sshd) or a changed
# setting, showing the same thing does work there: so each check can fail.
TESTENV_ARGS=--sshd
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

read -r -a ssh_words <<<"$EPHEMERA_SSH"
SSH_OPTS=("${ssh_words[@]:1:${#ssh_words[@]}-2}") # -p 2222 -i KEY -o ...
GW=agent-session@127.0.0.1
PLAIN=plainuser@127.0.0.1
SFTP_OPTS=()
for ((i = 0; i < ${#SSH_OPTS[@]}; i++)); do
	if [ "${SSH_OPTS[i]}" = -p ]; then
		SFTP_OPTS+=(-P "${SSH_OPTS[i + 1]}")
		i=$((i + 1))
	else
		SFTP_OPTS+=("${SSH_OPTS[i]}")
	fi
done
work=$(mktemp -d /tmp/pam-policy.XXXXXX)
chmod 0755 "$work"
bg_pids=()
T="tmux -L ephemera-pam-policy-A" # one server per terminal (su_s), never reused
cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${SSH_AGENT_PID:-}" ] && kill "$SSH_AGENT_PID" 2>/dev/null
	for p in A B; do tmux -L ephemera-pam-policy-$p kill-server 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

listening() { ss -ltnH "sport = :$1" | grep -q .; }
wait_listening() { # PORT: until something listens on it (5 s)
	local i
	for i in $(seq 50); do listening "$1" && return 0; sleep 0.1; done
	return 1
}
wait_file() { # FILE REGEX: until FILE has a matching line (5 s)
	local i
	for i in $(seq 50); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# banner PORT: the first 7 bytes sent by whatever answers on 127.0.0.1:PORT
banner() { timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 7 <&3' _ "$1" 2>/dev/null; }
# socks PORT: a SOCKS5 CONNECT to 127.0.0.1:2222 through 127.0.0.1:PORT;
# prints the method reply, the connect reply and the first 7 bytes after them
socks() {
	perl -MIO::Socket::INET -e '
		$SIG{ALRM} = sub { print "timeout"; exit 0 }; alarm 5;
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0])
			or do { print "no-connect"; exit 0 };
		sub rd { my ($n) = @_; my $b = "";
			while (length($b) < $n) { my $c; my $r = sysread($s, $c, $n - length($b)); last unless $r; $b .= $c }
			return $b }
		syswrite($s, "\x05\x01\x00");
		my $m = rd(2);
		syswrite($s, "\x05\x01\x00\x01\x7f\x00\x00\x01\x08\xae"); # 127.0.0.1:2222
		my $c = rd(10);
		my $b = rd(7);
		printf "method=%s connect=%s banner=%s", unpack("H*", $m), unpack("H*", substr($c, 0, 2)), $b;
	' "$1"
}

# ---- ssh -L: a local forward to 127.0.0.1:2222 ----
# -v: testenv's LogLevel=ERROR comes first and wins over a later -o LogLevel.
ssh "${SSH_OPTS[@]}" -v -N -L 127.0.0.1:10022:127.0.0.1:2222 "$GW" 2>"$work/L.gw" &
bg_pids+=($!)
ssh "${SSH_OPTS[@]}" -N -L 127.0.0.1:10023:127.0.0.1:2222 "$PLAIN" 2>"$work/L.plain" &
bg_pids+=($!)
wait_listening 10022 && wait_listening 10023
is "$(banner 10023)" SSH-2.0 "ssh -L for plainuser: the forward reaches sshd (control)"
is "$(banner 10022)" "" "ssh -L for agent-session: nothing comes through the forward"
ok "  ... sshd refused the channel (the client logs it)" wait_file "$work/L.gw" "open failed: administratively prohibited"

# ---- ssh -R: a remote forward ----
# With ExitOnForwardFailure the client ends when sshd refuses the forward;
# wait for that, or for the port to listen (were the forward allowed).
ssh "${SSH_OPTS[@]}" -N -o ExitOnForwardFailure=yes -R 127.0.0.1:10024:127.0.0.1:2222 "$GW" >"$work/R.gw" 2>&1 &
rpid=$!
for i in $(seq 50); do kill -0 "$rpid" 2>/dev/null || break; listening 10024 && break; sleep 0.1; done
fails "ssh -R for agent-session: port 10024 does not listen on the host side" listening 10024
kill "$rpid" 2>/dev/null
wait "$rpid"
rc=$?
like "$rc $(cat "$work/R.gw")" "^255 .*remote port forwarding failed for listen port 10024" "  ... sshd refused it, and the client says so"
ssh "${SSH_OPTS[@]}" -N -o ExitOnForwardFailure=yes -R 127.0.0.1:10025:127.0.0.1:2222 "$PLAIN" 2>/dev/null &
bg_pids+=($!)
ok "ssh -R for plainuser: port 10025 listens on the host side (control)" wait_listening 10025

# ---- ssh -D: a dynamic (SOCKS) forward ----
ssh "${SSH_OPTS[@]}" -v -N -D 127.0.0.1:10026 "$GW" 2>"$work/D.gw" &
bg_pids+=($!)
ssh "${SSH_OPTS[@]}" -N -D 127.0.0.1:10027 "$PLAIN" 2>/dev/null &
bg_pids+=($!)
wait_listening 10026 && wait_listening 10027
is "$(socks 10027)" "method=0500 connect=0500 banner=SSH-2.0" "ssh -D for plainuser: SOCKS5 reaches sshd (control)"
like "$(socks 10026)" "^method=0500 connect=(05[0-9a-f][1-9a-f])? banner=\$" "ssh -D for agent-session: no proxying"
ok "  ... sshd refused the channel (the client logs it)" wait_file "$work/D.gw" "open failed: administratively prohibited"
for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg_pids=()

# ---- ssh -A: agent forwarding ----
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q /etc/ssh/testenv/client_key 2>/dev/null
ok "an ssh-agent holds the client key" ssh-add -l
# agent_sockets USER: sockets sshd made for USER's forwarded agent (/tmp/ssh-*/agent.*)
agent_sockets() { find /tmp -maxdepth 2 -path '/tmp/ssh-*/agent.*' -type s -user "$1" | wc -l; }
ssh "${SSH_OPTS[@]}" -A "$PLAIN" 'echo SOCK=[$SSH_AUTH_SOCK]; ssh-add -l; echo DONE-$((6*7)); sleep 30' \
	>"$work/A.plain" 2>&1 &
bg_pids+=($!)
ssh "${SSH_OPTS[@]}" -A "$GW" 'echo SOCK=[$SSH_AUTH_SOCK]; ssh-add -l; echo DONE-$((6*7)); sleep 30' \
	>"$work/A.gw" 2>&1 &
bg_pids+=($!)
wait_file "$work/A.plain" DONE-42
wait_file "$work/A.gw" DONE-42
like "$(grep SOCK= "$work/A.plain")" '^SOCK=\[/tmp/ssh-[^/]+/agent\.[0-9]+\]$' "ssh -A for plainuser: SSH_AUTH_SOCK is set inside (control)"
like "$(cat "$work/A.plain")" 'ED25519' "  ... and the forwarded agent lists the key"
is "$(agent_sockets plainuser)" 1 "  ... through a socket sshd made on the host"
is "$(grep SOCK= "$work/A.gw")" "SOCK=[]" "ssh -A for agent-session: SSH_AUTH_SOCK is empty inside"
ok "  ... and no agent answers there" sh -c "! grep -q ED25519 '$work/A.gw'"
is "$(agent_sockets agent-session)" 0 "  ... and sshd made no agent socket for it on the host"
for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg_pids=()
kill "$SSH_AGENT_PID"
unset SSH_AGENT_PID SSH_AUTH_SOCK

# ---- ssh -s sftp: the subsystem runs inside the sandbox ----
printf 'pwd\nls -a\n' >"$work/sftp.batch"
mark=$(last_rowid)
gw=$(sftp "${SFTP_OPTS[@]}" -b "$work/sftp.batch" "$GW" 2>&1)
name=$(sql "SELECT name FROM sessions WHERE rowid > $mark AND service = 'sshd' LIMIT 1")
plain=$(sftp "${SFTP_OPTS[@]}" -b "$work/sftp.batch" "$PLAIN" 2>&1)
like "$plain" "Remote working directory: /home/plainuser" "sftp (ssh -s sftp) for plainuser is in its home (control)"
like "$gw" "Remote working directory: /sessions/$name\$" "sftp for agent-session is in the session's home /sessions/$name"
like "$gw" "(^|[[:space:]])mnt([[:space:]]|\$)" "  ... where ls shows the session's mnt"
syslog_like "ephemera-shell\\[[0-9]+\\]: session=$name: .*entering the sandbox" "  ... entered through ephemera-shell's sandbox"
# A raw ssh -s, with no sftp client: sftp-server answers an SSH_FXP_INIT, run
# as the session's UID (the process is found while the client waits).
mark=$(last_rowid)
mkfifo "$work/fifo"
ssh "${SSH_OPTS[@]}" -s "$GW" sftp <"$work/fifo" >/dev/null 2>&1 &
bg_pids+=($!)
exec 8>"$work/fifo"
for i in $(seq 50); do
	name=$(sql "SELECT name FROM sessions WHERE rowid > $mark AND state = 'active' LIMIT 1")
	[ -n "$name" ] && sftp_uid=$(ps -C sftp-server -o uid= | tr -d ' ' | head -n 1) && [ -n "$sftp_uid" ] && break
	sleep 0.1
done
is "${sftp_uid:-}" "$(sql "SELECT uid FROM sessions WHERE name = '${name:-}'")" "ssh -s sftp: sftp-server runs as the session's uid"
exec 8>&-
for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg_pids=()

# ---- 'scp ; id -u': an odd command line is still the sandboxed shell's -c ----
gw=$(ssh "${SSH_OPTS[@]}" "$GW" 'scp ; id -u' 2>/dev/null | tail -n 1)
plain=$(ssh "${SSH_OPTS[@]}" "$PLAIN" 'scp ; id -u' 2>/dev/null | tail -n 1)
is "$plain" "$(id -u plainuser)" "'scp ; id -u' as plainuser prints its uid (control)"
ok "'scp ; id -u' as agent-session prints a transient uid ($gw)" in_range "$gw"

# ---- a planted ~/.ssh/rc ----
# sshd runs ~/.ssh/rc as "$SHELL -c '/bin/sh ~/.ssh/rc'" before the command;
# the rc prints RC-RAN-42 and leaves a marker in /tmp of the host side.
rc_body='echo RC-RAN-$((6*7)); touch /tmp/rc-marker-$(id -un)'
mkdir -p /home/plainuser/.ssh
printf '%s\n' "$rc_body" >/home/plainuser/.ssh/rc
chown -R plainuser:plainuser /home/plainuser/.ssh
printf '%s\n' "$rc_body" >/home/agent-session/.ssh/rc # root's, as an admin's mistake would be
plain=$(ssh "${SSH_OPTS[@]}" "$PLAIN" 'echo CMD-$((6*7))' 2>&1)
like "$plain" "RC-RAN-42" "plainuser's ~/.ssh/rc runs (control)"
ok "  ... leaving its marker on the host" test -e /tmp/rc-marker-plainuser
m=$(wc -l <"$EPHEMERA_SYSLOG")
gw=$(ssh "${SSH_OPTS[@]}" "$GW" 'echo CMD-$((6*7))' 2>&1)
is "$gw" CMD-42 "agent-session's ~/.ssh/rc does not run: only the command's output, nothing about the rc"
ok "  ... no marker on the host" test ! -e /tmp/rc-marker-agent-session
is "$(tail -n +$((m + 1)) "$EPHEMERA_SYSLOG" | grep -oE 'ephemera-shell\[[0-9]+\]' | sort -u | wc -l)" 1 \
	"  ... and one ephemera-shell ran, for the command alone"
# The control for agent-session: a second sshd (port 2223) without the Match
# block runs the rc, through the login shell, before the command.
sed -e '/^Include/d' -e 's/^Port 2222/Port 2223/' -e 's|^PidFile .*|PidFile /run/sshd-2223.pid|' \
	/etc/ssh/testenv/sshd_config >"$work/sshd_config.nopolicy"
/usr/sbin/sshd -f "$work/sshd_config.nopolicy" -E "$work/sshd-2223.log"
wait_listening 2223
opts2=("${SSH_OPTS[@]}")
opts2[1]=2223
gw2=$(ssh "${opts2[@]}" "$GW" 'echo CMD-$((6*7))' 2>&1)
like "$gw2" "\\.ssh/rc" "without the policy sshd does run agent-session's ~/.ssh/rc (control)"
kill "$(cat /run/sshd-2223.pid)"
rm -f /home/agent-session/.ssh/rc /home/plainuser/.ssh/rc /tmp/rc-marker-*

# ---- the gateway account's home and ~/.ssh are root's ----
is "$(stat -c '%U:%G %a' /home/agent-session /home/agent-session/.ssh)" "root:root 755
root:root 755" "agent-session's home and ~/.ssh belong to root, mode 755"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
ok "plainuser may write into its own ~/.ssh (control)" as plainuser touch /home/plainuser/.ssh/authorized_keys2
fails "agent-session may not write into ~/.ssh" as agent-session touch /home/agent-session/.ssh/authorized_keys2
fails "  ... nor into its home" as agent-session touch /home/agent-session/.profile
fails "  ... nor change their modes" as agent-session chmod 0777 /home/agent-session/.ssh

# ---- /etc/shells and su -s ----
is "$(grep -c ephemera-shell /etc/shells)" 0 "ephemera-shell is not in /etc/shells"
ok "  ... which does list /bin/bash (control)" grep -qx /bin/bash /etc/shells
# Why it matters: su lets a non-root caller pick a shell with -s only when
# the target's own shell is in /etc/shells.  plainuser, knowing the password,
# runs `su -s /bin/bash agent-session` on a terminal (tmux).
echo 'agent-session:Gw-pass-42' | chpasswd
screen() { $T capture-pane -p -t s -S -200; }
wait_for_re() { # REGEX: until a line of the pane matches (5 s)
	local i
	for i in $(seq 50); do screen | grep -qE -- "$1" && return 0; sleep 0.1; done
	return 1
}
send() { $T send-keys -t s "$@"; }
# su_s TAG: plainuser runs su -s /bin/bash agent-session -c '...'; prints the uid
su_s() {
	T="tmux -L ephemera-pam-policy-$1"
	$T new-session -d -s s -x 200 -y 50 \
		"setpriv --reuid=plainuser --regid=plainuser --init-groups env -i HOME=/home/plainuser PATH=$PATH TERM=screen bash --norc --noprofile"
	send "PS1='plain-prompt\$ '" Enter
	send "su -s /bin/bash agent-session -c 'echo $1-UID-\$(id -u)-END'" Enter
	wait_for_re '^Password: *$' || return 1
	send "Gw-pass-42" Enter
	wait_for_re "^$1-UID-[0-9]+-END" || { screen | sed 's/^/#   /' | grep -v '^#   $' >&2; return 1; }
	screen | sed -n "s/^$1-UID-\\([0-9]*\\)-END.*/\\1/p" | tail -n 1
}
got=$(su_s A)
T="tmux -L ephemera-pam-policy-A"
ok "su -s /bin/bash agent-session by plainuser gets a sandboxed session anyway (uid $got)" in_range "$got"
like "$(screen)" "using restricted shell $EPHEMERA_SHELL_BIN" "  ... su says it uses the restricted shell"
# The control: with ephemera-shell in /etc/shells, the same su runs /bin/bash
# as agent-session itself, outside any sandbox.
cp /etc/shells "$work/shells.good"
echo "$EPHEMERA_SHELL_BIN" >>/etc/shells
$T kill-server
got=$(su_s B)
is "$got" "$(id -u agent-session)" "  ... were it in /etc/shells, su -s would give an unsandboxed shell (control)"
cp "$work/shells.good" /etc/shells
tmux -L ephemera-pam-policy-B kill-server
usermod -p '*' agent-session
# chsh: a non-root chsh asks for the caller's password (PAM), and root may set
# any shell, so there is nothing more to show for chsh without a terminal
# dialogue; what protects the sandbox is the /etc/shells check above.

done_testing
