# Sourced by the bench scripts once they run inside tests/testenv: they
# write to /sessions and /etc, so they stop unless those are testenv's
# scratch copies.  (A bench run outside once left /sessions on a host.)
if ! findmnt -n -o FSROOT /sessions 2>/dev/null | grep -q '/ephemera-testenv\.'; then
	echo "bench: /sessions is not tests/testenv's scratch copy: refusing to run outside testenv" >&2
	exit 1
fi
