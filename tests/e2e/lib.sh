# Sourced by every end-to-end test.  A test calls `enter_testenv "$@"` first:
# outside tests/testenv it re-runs itself inside one, so every test gets a
# throwaway /etc, /sessions and /var/lib/ephemera of its own.
# TAP helpers: ok, is, like, done_testing.

T_N=0
T_FAILED=0

enter_testenv() {
	if [ -z "${EPHEMERA_TESTENV:-}" ]; then
		local here
		here=$(cd "$(dirname "$0")/../.." && pwd)
		exec "$here/tests/testenv" --quiet ${TESTENV_ARGS:-} -- "$(readlink -f "$0")" "$@"
	fi
	cd "$EPHEMERA_REPO" || exit 1
}

_report() { # _report STATUS DESC; returns STATUS, so "ok ... || diag ..." works
	T_N=$((T_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $T_N - $2"
		return 0
	fi
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $2"
	return 1
}

# ok DESC CMD...: passes when CMD exits 0
ok() {
	local desc=$1
	shift
	"$@" >/dev/null 2>&1
	_report $? "$desc"
}

# fails DESC CMD...: passes when CMD exits non-zero
fails() {
	local desc=$1
	shift
	"$@" >/dev/null 2>&1
	_report $(( $? == 0 )) "$desc"
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		_report 0 "$3"
	else
		_report 1 "$3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
		return 1
	fi
}

# like GOT EXTENDED-REGEX DESC
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_report 0 "$3"
	else
		_report 1 "$3"
		echo "#   got:  '$1'"
		echo "#   want: /$2/"
		return 1
	fi
}

unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_report 1 "$3"
		echo "#   got:  '$1'"
		echo "#   not:  /$2/"
		return 1
	fi
	_report 0 "$3"
}

diag() { echo "# $*"; }

# The session records, for the tests that look at them (the default range
# of ephemera.conf(5): testenv's config does not change it).
UID_MIN=2013265920 UID_MAX=2013331455
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$UID_MIN" ] && [ "$1" -le "$UID_MAX" ]; }
state_of() { sql "SELECT state FROM sessions WHERE name = '$1'"; }
uid_of() { sql "SELECT uid FROM sessions WHERE name = '$1'"; }
last_rowid() { # 0 before the first login has made the database
	local r
	r=$(sql "SELECT coalesce(max(rowid), 0) FROM sessions" 2>/dev/null)
	echo "${r:-0}"
}
# wait_state NAME REGEX [TENTHS]: until the session's state matches (5 s default)
wait_state() {
	local i
	for i in $(seq "${3:-50}"); do
		[[ "$(state_of "$1")" =~ ^($2)$ ]] && return 0
		sleep 0.1
	done
	return 1
}

# ready_session: the name of the newest active session once its home holds
# .ready (the session's command touches it), or "" after 10 s.
ready_session() {
	local i n
	for i in $(seq 100); do
		n=$(sql "SELECT name FROM sessions WHERE state = 'active' ORDER BY rowid DESC LIMIT 1" 2>/dev/null)
		[ -n "$n" ] && [ -e "/sessions/$n/.ready" ] && { echo "$n"; return; }
		sleep 0.1
	done
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" = 0 ]
}

# sql QUERY: ask the session database directly (read-only view for assertions)
# (waits for the lock like the allocator does: reapers may be writing)
sql() { sqlite3 -batch -noheader -cmd '.timeout 5000' /var/lib/ephemera/ephemera.db "$@"; }

# set_config KEY=VALUE...: rewrite the [allocator] section of the test config
set_allocator_config() {
	{
		echo "[gateway]"
		echo "accounts = agent-session"
		echo "[allocator]"
		local kv
		for kv in "$@"; do echo "$kv"; done
	} >/etc/ephemera/ephemera.conf
}

# syslog_like REGEX DESC: a line of testenv's syslog matches (waits up to 3 s)
syslog_like() {
	local i
	for i in $(seq 30); do
		grep -Eq -- "$1" "$EPHEMERA_SYSLOG" && { _report 0 "$2"; return; }
		sleep 0.1
	done
	_report 1 "$2"
	echo "#   no syslog line matches /$1/; last lines:"
	tail -n 5 "$EPHEMERA_SYSLOG" | sed 's/^/#   /'
}
