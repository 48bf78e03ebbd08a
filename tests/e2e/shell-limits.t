#!/bin/bash
# Per-session limits (issue 9, "Limits", the rlimit part): max_processes,
# max_open_files and max_file_size_mb of [sandbox] become hard rlimits of the
# session, set by pid 1 while it is still root; core dumps are always off.
# Because every session runs as a UID of its own, RLIMIT_NPROC bounds one
# session: a fork bomb in session A stops at A's limit while session B logs in
# and works, and a user of the host (plainuser) can still fork.  Each limit
# is also shown not to apply outside (plainuser, same commands).
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

cat >>/etc/ephemera/ephemera.conf <<'EOF'
[sandbox]
max_processes = 64
max_open_files = 100
max_file_size_mb = 1
EOF
as_plain() { setpriv --reuid=plainuser --regid=plainuser --init-groups "$@"; }

# The limits as the session sees them.
out=$(su - agent-session -c 'ulimit -Hu; ulimit -Su; ulimit -Hn; ulimit -Hf; ulimit -Hc' 2>&1)
is "$(echo $out)" "64 64 100 1024 0" "inside: nproc 64, nofile 100, fsize 1 MiB (bash counts 1024-byte blocks), core 0, all hard"
like "$(as_plain sh -c 'ulimit -Hc; ulimit -Hf')" '^unlimited' "control: plainuser's limits are not the session's"
fails "the session cannot raise its process limit" su - agent-session -c 'ulimit -u 65'

# File size: a write past 1 MiB fails (SIGXFSZ kills dd, or EFBIG).
out=$(su - agent-session -c 'dd if=/dev/zero of=/tmp/big bs=64k count=32 2>&1; echo "rc=$?"; stat -c %s /tmp/big')
like "$out" 'rc=[1-9]' "a write past max_file_size_mb fails inside"
like "$out" '1048576$' "  ... the file stops at 1 MiB"
ok "control: plainuser writes 2 MiB" as_plain dd if=/dev/zero of=/tmp/plain-big bs=64k count=32 status=none

# Open files: the 101st descriptor cannot be had.
out=$(su - agent-session -c 'perl -e '\''my @f; while (open my $f, "<", "/dev/null") { push @f, $f } print scalar(@f) + 3, " $!\n"'\''')
like "$out" '^100 Too many open files' "at most max_open_files descriptors inside ($out)"

# The fork bomb: session A forks until the kernel says no and holds its
# children; meanwhile session B logs in and works, and the host forks.
# (perl, not the shell: bash retries a failed fork for seconds, and every
# external command after the bomb would need a fork it cannot have.)
su - agent-session -c 'perl -e '\''
	my $n = 0;
	while ($n < 1000) { my $p = fork; last unless defined $p; if (!$p) { sleep 60; exit 0 } $n++ }
	open my $f, ">", "mnt/output/bomb" or die; print $f "forked=$n\n"; close $f;
	open $f, ">", ".ready" or die; close $f; sleep 20'\''' >/tmp/bomb.log 2>&1 &
bomb=$!
name=$(ready_session)
ok "session A ran its fork bomb ($name)" test -n "$name"
uid=$(sql "SELECT uid FROM sessions WHERE name = '$name'")
forked=$(sed -n 's/^forked=//p' "/sessions/$name/mnt/output/bomb" 2>/dev/null)
ok "A's fork bomb stopped short of 1000 children ($forked)" test "${forked:-1000}" -lt 1000
count=$(ps -u "$uid" -o pid= | wc -l)
ok "A holds at most 64 processes ($count)" test "$count" -le 64 -a "$count" -ge 32
is "$(su - agent-session -c 'echo B works; sh -c "echo B forks"')" "$(printf 'B works\nB forks')" \
	"session B logs in and forks while A is at its limit"
is "$(as_plain sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 0 & done; wait; echo host forks')" "host forks" \
	"plainuser on the host forks meanwhile"
leader=$(sql "SELECT leader_pid FROM sessions WHERE name = '$name'")
kill "$leader" 2>/dev/null
wait "$bomb" 2>/dev/null

# A value out of range is refused at login, with the key's name.
sed -i 's/^max_processes = 64$/max_processes = 3/' /etc/ephemera/ephemera.conf
fails "max_processes = 3 refuses the login" su - agent-session -c true
syslog_like 'max_processes must be a number from 8' "  ... and syslog names the key"

done_testing
