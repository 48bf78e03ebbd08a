# Drops the paragraph breaks that scdoc writes where roff has nothing to
# break (after a heading, before a heading or the end, twice in a row) and
# moves one that closes an indented block to after its .RE, so that
# `mandoc -T lint` and `groff -ww` have nothing to say about the pages.
# Used by mk/man.mk between scdoc and build/man.
function flush_pending() { if (pending) { print ".P"; pending = 0 } }
$0 == ".P" {
	if (last ~ /^\.(TH|SH|SS) /)
		next
	pending = 1
	next
}
/^\.(SH|SS) / { pending = 0 }
$0 == ".RE" { print; last = $0; next }
{ flush_pending(); print; last = $0 }
