#!/bin/bash
# Runs last: the host's account files, PAM, ssh config and ephemera's paths are
# exactly as tests/run-all recorded them before any test ran.  (To see it fail:
# add a line to the real /etc/pam.d/other between the snapshot and this test.)
cd "$(dirname "$0")/../.."
echo "1..1"
if [ ! -s build/host-snapshot ]; then
	echo "not ok 1 - no snapshot taken (run through tests/run-all)"
	exit 1
fi
if d=$(diff build/host-snapshot <(tests/host-snapshot)); then
	echo "ok 1 - real /etc/passwd, /etc/shadow, /etc/pam.d, /sessions unchanged by the test run"
else
	echo "not ok 1 - the host changed during the tests:"
	echo "$d" | sed 's/^/# /'
	exit 1
fi
