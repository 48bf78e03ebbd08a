# Drops the paragraph breaks that scdoc writes where roff has nothing to
# break (after a heading, before a heading or the end, twice in a row) and
# moves one that closes an indented block to after its .RE, so that
# `mandoc -T lint` and `groff -ww` have nothing to say about the pages.
# It also puts the text of a numbered item where its continuation lines
# start: scdoc moves back 4 columns (5 from 10 on), prints "N." and moves
# forward 3, whatever the width of N.  Used by mk/man.mk between scdoc and build/man.
function flush_pending() { if (pending) { print ".P"; pending = 0 } }
$0 == ".P" {
	if (last ~ /^\.(TH|SH|SS) /)
		next
	pending = 1
	next
}
/^\.(SH|SS) / { pending = 0 }
$0 == ".RE" { print; last = $0; next }
/^\\h'-0[0-9]'[0-9]+\.\\h'\+03'\\c$/ {
	back = substr($0, 6, 1)
	n = substr($0, 8)
	sub(/\\h.*/, "", n)
	$0 = "\\h'-0" back "'" n "\\h'+0" (back - length(n)) "'\\c"
}
{ flush_pending(); print; last = $0 }
