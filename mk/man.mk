# Man pages.  Each page's scdoc source (NAME.SECTION.scd) sits beside the code
# it describes (doc/ for ephemera(7)); make turns it into roff in build/man,
# and `make install` installs what is there (MAN5/MAN7/MAN8 in the Makefile).
# @VERSION@ in a source becomes $(VERSION); the date on the page is
# SOURCE_DATE_EPOCH if set, else the date of the source's last commit, so a
# rebuild of the same tree gives the same page.  doc/man-tidy.awk drops the
# empty paragraphs scdoc leaves, which mandoc and groff -ww warn about.

SCDOC     ?= scdoc
MAN_SRCS  := $(wildcard allocator/*.scd shell/*.scd pam_module/*.scd common/*.scd doc/*.scd netproxy/*.scd)
MAN_PAGES := $(patsubst %.scd,$(B)/man/%,$(notdir $(MAN_SRCS)))

vpath %.scd $(sort $(dir $(MAN_SRCS)))

.PHONY: man
all: $(MAN_PAGES)
man: $(MAN_PAGES)

$(B)/man/%: %.scd doc/man-tidy.awk
	@command -v $(SCDOC) >/dev/null || \
	  { echo "$(SCDOC) not found: run packaging/install-deps (Debian package scdoc)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	d=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct -- $< 2>/dev/null)}; \
	  sed 's/@VERSION@/$(VERSION)/g' $< | SOURCE_DATE_EPOCH=$${d:-$$(date +%s)} $(SCDOC) >$@.tmp
	awk -f doc/man-tidy.awk $@.tmp >$@.tidy && rm -f $@.tmp && mv $@.tidy $@
