#!/bin/bash
# The reaper and hostile trees (issue 5, "Tests"; allocator/reaper.h P3;
# walk.h R1-R5): a 10,000-deep directory chain (and a 1,000-deep one in the
# output), chmod 000 directories with files in them, names with newlines,
# invalid UTF-8, 255 bytes or a leading dash, FIFOs and sockets, a 1 GiB
# sparse file, 100,000 small files, and bind mounts (and a tmpfs) the host
# made under the live session's home.  After each reap: the canaries are
# intact, no process of the uid lives, the home holds only mnt/output, which
# matches the manifest the session wrote before logout and is the owner's,
# and the session is reaped once.  (The 100,000-deep chain has a file of its
# own, reaper-deep.t: it is slow for a reason reported there.)
#
# How the reap is driven: every case is reaped by the reaper PAM starts on
# logout (`ephemeractl reap NAME`), as in production.  The bind-mount case
# needs the host to mount while the session is live: start_session keeps the
# login open (it plants, touches ~/.ready, waits for ~/.go); end_session
# creates ~/.go and waits for su, whose PAM close starts the reaper.
# wait_reaped polls the db until the session is reaped and no ephemeractl runs.
. "$(dirname "$0")/lib.sh"
enter_testenv "$@"

. "$(dirname "$0")/reaper-lib.sh" # helpers shared by every reaper-*.t

make_canaries
files_reaped() { sql "SELECT files_reaped FROM sessions WHERE name = '$1'"; }
ALL=()

# --- a 10,000-deep chain in the home, a 1,000-deep one (and a file at its
# bottom) in the output: walked without recursion, both ways (wipe, handover) ---
run_session 'perl -e '\''
	for ([q(chain), 10000], [q(mnt/output/chain), 1000]) {
		my ($top, $n) = @$_;
		chdir $ENV{HOME} or die; mkdir $top or die; chdir $top or die;
		for (1 .. $n) { mkdir q(d) or die "$_: $!"; chdir q(d) or die "$_: $!" }
		open my $f, q(>), q(bottom) or die; print $f "bottom of $n\n"; close $f or die;
	}'\'
wait_reaped "$NAME" 60
check_reaped "$NAME" 1003
ok "$NAME: the wipe counted the 10,000 levels ($(files_reaped "$NAME") files)" test "$(files_reaped "$NAME")" -ge 10001
bottom=$(cd "/sessions/$NAME/mnt/output/chain" && cat "$(printf 'd/%.0s' $(seq 1000))bottom" 2>&1)
is "$bottom" "bottom of 1000" "$NAME: the file at the bottom of the output's chain is intact"
ALL+=("$NAME")

# --- chmod 000 directories with files in them: no obstacle to root (the
# wipe makes each directory 0700 before emptying it, R5); in the output they
# stay 000 but the owner's, so the owner can open them ---
PLANT_POST="$PLANT_POST; chmod 000 mnt/output/locked/secret mnt/output/locked/inner mnt/output/locked" run_session '
	mkdir -p locked/inner/deeper many-locked
	echo a >locked/file; echo b >locked/inner/file; echo c >locked/inner/deeper/file
	for i in $(seq 100); do echo $i >many-locked/f$i; done
	chmod 000 locked/inner/deeper/file locked/inner/deeper locked/inner locked/file locked many-locked
	mkdir -p mnt/output/locked/inner
	echo secret >mnt/output/locked/secret; echo inner >mnt/output/locked/inner/file'
wait_reaped "$NAME"
check_reaped "$NAME" 5
ok "$NAME: the 000 directories were wiped with their files ($(files_reaped "$NAME") files)" \
	test "$(files_reaped "$NAME")" -ge 107
is "$(stat -c '%a %U' "/sessions/$NAME/mnt/output/locked" "/sessions/$NAME/mnt/output/locked/secret" | sort -u)" \
	"0 $OWNER" "$NAME: the output's 000 entries are kept as they were, now the owner's"
is "$(setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups sh -c \
	"cd /sessions/$NAME/mnt/output && chmod 700 locked && chmod 600 locked/secret && cat locked/secret" 2>&1)" \
	secret "$NAME: ... so the owner can open them"
ALL+=("$NAME")

# --- names a shell or a log would misread ---
names='
	long=$(printf "n%.0s" $(seq 255))
	for d in . mnt/output; do
		mkdir "$d/"$'"'"'dir\nwith\nnewlines'"'"'
		echo nl >"$d/"$'"'"'dir\nwith\nnewlines/file\n'"'"'
		echo ff >"$d/"$'"'"'\xff\xfe\xfd'"'"'
		mkdir "$d/"$'"'"'\xc3\x28'"'"'; echo bad >"$d/"$'"'"'\xc3\x28/\x80\xbf'"'"'
		echo nl >"$d/"$'"'"'\n'"'"'
		for n in -rf -- " " "..." "\\040" "a b" "*" "\$HOME" "$long"; do echo "$n" >"$d/$n"; done
	done'
run_session "$names"
wait_reaped "$NAME"
check_reaped "$NAME" 16
p=$(printf 'dir\nwith\nnewlines/file\n_')
ok "$NAME: the output holds the name with newlines" test -f "/sessions/$NAME/mnt/output/${p%_}"
ok "$NAME: ... and the one in invalid UTF-8" test -f "/sessions/$NAME/mnt/output/$(printf '\xff\xfe\xfd')"
ALL+=("$NAME")

# --- FIFOs, sockets, a 1 GiB sparse file: never opened, never read ---
sock='perl -MIO::Socket::UNIX -e '\''for (@ARGV) { IO::Socket::UNIX->new(Local => $_, Listen => 1) or die "$_: $!" }'\'
run_session "
	mkdir fifos && mkfifo fifo fifos/a fifos/b mnt/output/fifo
	$sock sock fifos/sock mnt/output/sock
	truncate -s 1G sparse mnt/output/sparse
	echo tail >>sparse"
wait_reaped "$NAME"
check_reaped "$NAME" 4
out=/sessions/$NAME/mnt/output
ok "$NAME: the output's FIFO is still a FIFO" test -p "$out/fifo"
ok "$NAME: the output's socket is still a socket" test -S "$out/sock"
is "$(stat -c %s "$out/sparse")" 1073741824 "$NAME: the output's sparse file keeps its size"
ok "$NAME: ... and is still sparse ($(stat -c %b "$out/sparse") blocks)" test "$(stat -c %b "$out/sparse")" -lt 2048
ALL+=("$NAME")

# --- 100,000 small files (100 directories of 1,000) ---
run_session 'perl -e '\''
	mkdir "many" or die;
	for my $d (1 .. 100) { mkdir "many/$d" or die "$d: $!";
		for (1 .. 1000) { open my $f, ">", "many/$d/f$_" or die "$d/$_: $!"; print $f "$_\n" } }
	mkdir "mnt/output/kept" or die;
	for (1 .. 1000) { open my $f, ">", "mnt/output/kept/f$_" or die; print $f "kept $_\n" }'\'
wait_reaped "$NAME" 60
check_reaped "$NAME" 1002
ok "$NAME: the wipe counted the 100,000 files ($(files_reaped "$NAME"))" test "$(files_reaped "$NAME")" -ge 100100
diag "$NAME: $(sql "SELECT detail FROM events WHERE session = '$NAME' AND kind = 'reaped'")"
ALL+=("$NAME")

# --- mounts the host made under the live session's home: detached, never
# descended into; what they showed is untouched (P3, R2) ---
start_session '
	mkdir bindpoint stacked tmpfs "bind point"$'"'"'\nnewline\\x'"'"' mnt/output/outbind
	touch bindfile
	mkdir -p deep/a/b/c/bindpoint'
home=/sessions/$NAME
mount --bind /var/tmp/canary-dir "$home/bindpoint"
mount --bind /etc/ephemera-canary "$home/bindfile"
mount --bind /var/tmp/canary-dir "$home/$(printf 'bind point\nnewline\\x')"
mount --bind /var/tmp/canary-dir "$home/mnt/output/outbind"
mount --bind /root/canary-dir "$home/deep/a/b/c/bindpoint"
mount --bind /var/tmp/canary-dir "$home/stacked"
mount --bind /var/tmp/canary-dir/sub "$home/stacked"
mount -t tmpfs -o size=1m ephemera-test "$home/tmpfs"
echo "on the tmpfs" >"$home/tmpfs/file"
mounts_under() { awk -v h="$1" 'index($5, h "/") == 1 || $5 == h' /proc/self/mountinfo | wc -l; }
is "$(mounts_under "$home")" 8 "$NAME: the host mounted 8 things under the live home"
ok "$NAME: ... the canary is seen through them" test -f "$home/bindpoint/file"
end_session "$NAME"
wait_reaped "$NAME"
check_reaped "$NAME" 2
is "$(mounts_under "$home")" 0 "$NAME: every mount under the home was detached"
is "$(listing "$home/mnt/output/outbind" 1)" "" "$NAME: the output's mount point is left, empty (what was mounted there is not the owner's)"
ALL+=("$NAME")

check_gc "${ALL[@]}"
is "$(canary_state)" "$CANARIES" "the host canaries are intact at the end"

done_testing
