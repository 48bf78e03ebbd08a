# The Debian package (included by the Makefile).
#
# make deb        build/ephemera_$(VERSION)_<arch>.deb, built by dpkg-buildpackage
#                 from a copy of the source tree in build/deb/ephemera-$(VERSION)/
#                 with packaging/debian as its debian/ (the repository itself never
#                 has a debian/), then checked by lintian: a warning or an error
#                 fails the build; the overrides in packaging/debian say why each is.
# make check-deb  the same package installed with dpkg inside each tests/testenv
#                 (EPHEMERA_INSTALL=deb), and every test run against it.

DEB_DIR := $(B)/deb
DEB_SRC := $(DEB_DIR)/ephemera-$(VERSION)

# lintian reads the package as nobody when we are root (it says not to run
# it as root), from a directory of its own (the tree may not be nobody's to
# read), which also takes the temporary files lintian leaves behind.
deb_lintian = d=$$(mktemp -d) && chmod 0755 $$d && mkdir -m 1777 $$d/tmp && cp $(1) $$d/ && chmod 0644 $$d/$(notdir $(1)) && \
  { $(if $(filter 0,$(shell id -u)),setpriv --reuid=nobody --regid=nogroup --clear-groups) env HOME=$$d/tmp TMPDIR=$$d/tmp \
    lintian --fail-on error,warning --info --pedantic $$d/$(notdir $(1)); r=$$?; rm -rf $$d; exit $$r; }

.PHONY: deb deb-package check-deb

# install-deps first, then a second make, so that dpkg-architecture and
# friends are there when the package rules are read.
deb:
	packaging/install-deps --deb
	$(MAKE) --no-print-directory deb-package

# Everything git knows of, tracked or new but not ignored, as it is in the work
# tree (what `make check` would test), less packaging/debian, which becomes
# debian/.  The package build gets none of this make's flags or variables:
# the paths it compiles in are its own (packaging/debian/rules).
deb-package:
	@v=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version); \
	  [ "$$v" = "$(VERSION)" ] || { echo "deb: packaging/debian/changelog is at $$v, the Makefile at $(VERSION)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard | grep -zv '^packaging/debian/' | \
	  xargs -0 sh -c 'for f; do [ -f "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	  tar --null --no-recursion -T - -cf - | tar -xf - -C $(DEB_SRC)
	cp -R packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	  dpkg-buildpackage -b -us -uc
	arch=$$(dpkg-architecture -qDEB_HOST_ARCH) && \
	  cp $(DEB_DIR)/ephemera_$(VERSION)_$$arch.deb $(B)/ && \
	  ( $(call deb_lintian,$(B)/ephemera_$(VERSION)_$$arch.deb) ) && \
	  echo "deb: $(B)/ephemera_$(VERSION)_$$arch.deb (lintian: clean)"

# The unit tests again too (tests/run-all runs both); they do not depend on
# the mode, but the host check at the end covers the whole run.
check-deb: deb
	$(MAKE) --no-print-directory tests
	arch=$$(dpkg-architecture -qDEB_HOST_ARCH) && \
	  EPHEMERA_INSTALL=deb EPHEMERA_DEB=$(CURDIR)/$(B)/ephemera_$(VERSION)_$$arch.deb tests/run-all
