#!/bin/bash
# The man pages (issue 6, "Ship it"): every scdoc source has a built page in
# build/man that is not older than it, every page renders with `man -l`
# without a single troff warning (and, where mandoc is installed, without a
# mandoc lint warning), and the pages cannot fall behind the code:
#  - every command that `ephemeractl --help` lists is in the SYNOPSIS of
#    ephemeractl(8) and has an entry of its own there;
#  - every key of the keys[] table in common/config.c has an entry under its
#    section in KEYS of ephemera.conf(5) (the keys are read from the source,
#    so a new key without documentation fails here);
#  - every option of `ephemera-shell --help` and every option parse_options()
#    of pam_module/pam_ephemera.c accepts is in the page's OPTIONS.
# It reads the build and the sources only, changes nothing, and so runs
# outside tests/testenv.  Checked by mutation in a copy of the tree: a key
# removed from ephemera.conf.5.scd, a command renamed in the usage text of
# ephemeractl.c (or added to it, as doctor was before its entry), an option
# renamed in pam_ephemera.8.scd, and a bogus macro line in a page each make
# this test fail.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1

MAN=build/man
# man-db renders the pages (and brings groff and lexgrog); without it every
# check below would pass on nothing.
if ! command -v man >/dev/null || ! command -v lexgrog >/dev/null; then
	_report 1 "man and lexgrog are installed (Debian package man-db)"
	done_testing
	exit 1
fi

# render PAGE [WIDTH]: the page as man shows it, plain text
render() { MANWIDTH=${2:-200} man -l "$1" 2>/dev/null; }

# section TEXT NAME: the lines of section NAME (a heading at column 0), without the heading
section() { printf '%s\n' "$1" | awk -v s="$2" '/^[^ ]/ { on = ($0 == s); next } on'; }

# subsection TEXT NAME: the lines of subsection NAME (a heading at column 3)
subsection() {
	printf '%s\n' "$1" | awk -v s="$2" '
		/^[^ ]/ || /^   [^ ]/ { on = ($0 == "   " s); next }
		on'
}

# ---- every source has its page, built and current ----
srcs=$(ls allocator/*.scd shell/*.scd pam_module/*.scd common/*.scd doc/*.scd netproxy/*.scd 2>/dev/null)
ok "there are scdoc sources" test -n "$srcs"
pages=()
for src in $srcs; do
	page=$MAN/$(basename "$src" .scd)
	pages+=("$page")
	if [ -f "$page" ] && [ ! "$src" -nt "$page" ]; then
		_report 0 "$page is built from $src"
	else
		_report 1 "$page is built from $src"
		diag "missing or older than its source: run make"
	fi
done
for page in "$MAN"/*; do
	case " ${pages[*]} " in
	*" $page "*) ;;
	*) [ -e "$page" ] && { _report 1 "$page has a source"; diag "stale page: make clean"; } ;;
	esac
done

# ---- each page renders cleanly ----
for page in "${pages[@]}"; do
	[ -f "$page" ] || continue
	warn=$(MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null)
	is "$warn" "" "$page: man -l renders it without a warning"
	out=$(render "$page" 80)
	like "$out" '^NAME$' "  ... with a NAME section"
	ok "  ... and lexgrog reads its whatis line" lexgrog "$page"
	if command -v mandoc >/dev/null; then
		lint=$(mandoc -T lint -W warning "$page" 2>&1)
		is "$lint" "" "  ... mandoc -T lint finds nothing"
	else
		_report 0 "  ... mandoc -T lint finds nothing # SKIP mandoc is not installed"
	fi
done

# ---- ephemeractl(8) lists every command of ephemeractl --help ----
help=$(build/ephemeractl --help)
cmds=$(printf '%s\n' "$help" | awk '/^Commands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }')
ok "ephemeractl --help lists commands ($(echo $cmds))" test "$(echo "$cmds" | wc -w)" -ge 8
page=$(render $MAN/ephemeractl.8)
synopsis=$(section "$page" SYNOPSIS)
commands=$(section "$page" COMMANDS)
for c in $cmds; do
	like "$synopsis" "^ +ephemeractl( .*)? $c( |$)" "ephemeractl(8): $c is in the SYNOPSIS"
	# An entry of its own: a tag line in COMMANDS, or a section (upper
	# case, at column 0) or subsection (column 3) named after it.
	if printf '%s\n' "$commands" | grep -Eq "^       $c( |$)" ||
		printf '%s\n' "$page" | grep -Eq "^([A-Z0-9 -]*\b${c^^}\b|   [^ ].*\b$c\b)"; then
		_report 0 "ephemeractl(8): $c has an entry"
	else
		_report 1 "ephemeractl(8): $c has an entry"
		diag "no line '       $c ...' in COMMANDS and no section named $c"
	fi
done

# ---- ephemera.conf(5) documents every key config.c parses ----
# The table: {"section", "key", K_ID}, one a line; the switch of apply_key()
# has one case per key, so a table the sed no longer reads cannot pass.
keys=$(sed -n 's/^[[:space:]]*{"\([a-z_]*\)",[[:space:]]*"\([a-z_]*\)",[[:space:]]*K_[A-Z_]*},.*/\1 \2/p' common/config.c)
n_keys=$(printf '%s\n' "$keys" | grep -c .)
n_cases=$(grep -c 'case K_[A-Z_]*:' common/config.c)
is "$n_keys" "$n_cases" "config.c: the keys table read from the source has one row per key ($n_keys)"
page=$(render $MAN/ephemera.conf.5)
kdoc=$(section "$page" KEYS)
while read -r sect key; do
	[ -n "$key" ] || continue
	entries=$(subsection "$kdoc" "[$sect]" | grep -E '^       [^ ]')
	like "$entries" "(^|[ ,])$key =" "ephemera.conf(5): [$sect] $key has an entry"
done <<<"$keys"

# The profile keys: the key_names[] table of common/profile.c, one a line
# ([P_ID] = "key",), documented under [sandbox]; accounts, which only a
# [profile NAME] may give, under that.
pkeys=$(sed -n 's/^[[:space:]]*\[P_[A-Z]*\] = "\([a-z_]*\)",.*/\1/p' common/profile.c)
n_pkeys=$(printf '%s\n' "$pkeys" | grep -c .)
n_penum=$(sed -n '/^enum pkey {/,/^};/p' common/profile.c | grep -c '^[[:space:]]*P_[A-Z]*,')
is "$n_pkeys" "$n_penum" "profile.c: one name per profile key ($n_pkeys)"
sandbox_entries=$(subsection "$kdoc" "[sandbox]" | grep -E '^       [^ ]')
profile_entries=$(subsection "$kdoc" "[profile NAME]" | grep -E '^       [^ ]')
for key in $pkeys; do
	entries=$sandbox_entries
	[ "$key" = accounts ] && entries=$profile_entries
	like "$entries" "(^|[ ,])$key =" "ephemera.conf(5): profile key $key has an entry"
done

# ---- options of the shell and of the PAM module ----
shelp=$(build/ephemera-shell --help 2>&1)
sopts=$(printf '%s\n' "$shelp" | grep -oE '^  -[a-z], --[a-z-]+|^  --?[a-z-]+' | tr ',' '\n' | tr -d ' ')
ok "ephemera-shell --help lists options ($(echo $sopts))" test "$(echo "$sopts" | wc -w)" -ge 4
opts=$(section "$(render $MAN/ephemera-shell.8)" OPTIONS)
for o in $sopts; do
	like "$opts" "^       (.*, )?$o( |,|$)" "ephemera-shell(8): $o is in OPTIONS"
done
popts=$(sed -n 's/.*str[n]*cmp(argv\[i\], "\([^"]*\)".*/\1/p' pam_module/pam_ephemera.c)
ok "pam_ephemera.c accepts options ($(echo $popts))" test -n "$popts"
opts=$(section "$(render $MAN/pam_ephemera.8)" OPTIONS)
for o in $popts; do
	case $o in
	*=) re="^       $o" ;;      # conf=/PATH
	*) re="^       $o( |$)" ;; # debug, not debugging
	esac
	like "$opts" "$re" "pam_ephemera(8): $o is in OPTIONS"
done

done_testing
