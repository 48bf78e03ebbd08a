# ephemera — top-level build.  `make`, `make check`, `make install DESTDIR= PREFIX=`.
# Our flags are appended to the user's CFLAGS/LDFLAGS; every object is built
# hardened and position independent (the same objects go into the PAM module).

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/ephemera
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
MULTIARCH  := $(shell gcc -print-multiarch 2>/dev/null)
PAMDIR     ?= /lib/$(MULTIARCH)/security

CC         ?= cc
B          := build
VERSION    := 0.1.0

# Probe each hardening flag once; keep those the compiler accepts.
probe = $(shell printf 'int main(void){return 0;}' | $(CC) -Werror $(1) -x c -o /dev/null - 2>/dev/null && echo "$(1)")
HARDEN_CFLAGS := $(call probe,-fstack-protector-strong) $(call probe,-fstack-clash-protection) \
                 $(call probe,-fcf-protection=full)
FORTIFY       := $(if $(call probe,-O2 -D_FORTIFY_SOURCE=3),-D_FORTIFY_SOURCE=3,-D_FORTIFY_SOURCE=2)

PKGS        := sqlite3 libacl inih libseccomp libcap-ng
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-security -Wwrite-strings \
            -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla -Wnull-dereference \
            -Wimplicit-fallthrough -Wundef
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -O2 -g $(FORTIFY) $(HARDEN_CFLAGS) -fPIC $(WARN) \
               -I. -DEPHEMERA_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
               -DLIBEXECDIR='"$(LIBEXECDIR)"' -DBINDIR='"$(BINDIR)"' -DSBINDIR='"$(SBINDIR)"' $(PKG_CFLAGS) -MMD -MP
ALL_CFLAGS  := $(BASE_CFLAGS) $(CFLAGS)
EXE_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack $(LDFLAGS)
SO_LDFLAGS  := -shared -Wl,-z,relro -Wl,-z,now -Wl,-z,defs -Wl,-z,noexecstack $(LDFLAGS)

LIB_SRCS := $(wildcard common/*.c) $(wildcard db/*.c) \
            $(filter-out allocator/ephemeractl.c,$(wildcard allocator/*.c)) \
            $(filter-out shell/main.c shell/gen-seccomp.c shell/seccomp-embedded.c,$(wildcard shell/*.c)) \
            $(filter-out netproxy/main.c,$(wildcard netproxy/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBEPH   := $(B)/libephemera.a

CTL      := $(B)/ephemeractl
SHELLBIN := $(B)/ephemera-shell
PAMMOD   := $(B)/pam_ephemera.so
NETPROXY := $(B)/ephemera-netproxy
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/%)

PROGRAMS := $(CTL) $(SHELLBIN) $(PAMMOD) $(NETPROXY)
# Built from the scdoc sources by mk/man.mk (MAN_PAGES).
MAN8      = $(filter %.8,$(MAN_PAGES))
MAN5      = $(filter %.5,$(MAN_PAGES))
MAN7      = $(filter %.7,$(MAN_PAGES))

.PHONY: all check deps tests install uninstall clean cppcheck bench
# Keep intermediate objects (tests are chained pattern rules).
.SECONDARY:
all: $(PROGRAMS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBEPH): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(CTL): $(B)/allocator/ephemeractl.o $(LIBEPH)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

# The proxy of network = proxy, started by the shell (ephemera-netproxy(8)).
$(NETPROXY): $(B)/netproxy/main.o $(LIBEPH)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

# The seccomp program is compiled from the table at build time (seccomp.h).
$(B)/gen-seccomp: $(B)/shell/gen-seccomp.o $(LIBEPH)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

$(B)/shell/seccomp-bpf.c: $(B)/gen-seccomp
	$(B)/gen-seccomp >$@.tmp && mv $@.tmp $@

$(B)/shell/seccomp-bpf.o: $(B)/shell/seccomp-bpf.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

SHELL_OBJS := $(B)/shell/main.o $(B)/shell/seccomp-embedded.o $(B)/shell/seccomp-bpf.o

$(SHELLBIN): $(SHELL_OBJS) $(LIBEPH)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

# test-seccomp checks that the embedded program is the table's.
$(B)/tests/test-seccomp: $(B)/shell/seccomp-bpf.o $(B)/shell/seccomp-embedded.o

# The module: only pam_sm_* exported (version script), no -pie, -z defs.
$(PAMMOD): $(B)/pam_module/pam_ephemera.o $(LIBEPH) pam_module/pam_ephemera.map
	$(CC) $(ALL_CFLAGS) -o $@ $(B)/pam_module/pam_ephemera.o $(LIBEPH) $(SO_LDFLAGS) \
	  -Wl,--version-script=pam_module/pam_ephemera.map $(PKG_LIBS) -lpam

# The PAM test drives the real module through libpam.
$(B)/tests/test-pam: PKG_LIBS += -lpam
$(B)/tests/test-pam: | $(PAMMOD)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBEPH)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

$(B)/tests/%: $(B)/tests/helpers/%.o $(LIBEPH)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(EXE_LDFLAGS) $(PKG_LIBS)

NSSTEST := $(B)/tests/libnss_ephemeratest.so.2
$(NSSTEST): tests/nss/nss_ephemeratest.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(SO_LDFLAGS) -Wl,-soname,libnss_ephemeratest.so.2

tests: all $(UNIT_BINS) $(HELPER_BINS) $(NSSTEST)

deps:
	packaging/install-deps

# The one test command (README, .ci/run).  Installs its own dependencies first,
# then builds in a second make so pkg-config sees the freshly installed libraries.
check: deps
	$(MAKE) --no-print-directory tests
	tests/run-all

# Leaks are left to the sanitizer build: cppcheck does not know cleanup attributes.
# Figures against bubblewrap, firejail, unshare and rm -rf, measured in one run
# inside tests/testenv; the report becomes bench/README.md.
bench: deps
	packaging/install-deps --bench
	$(MAKE) --no-print-directory tests
	bench/run >$(B)/bench.md
	mv $(B)/bench.md bench/README.md
	cat bench/README.md

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=resourceLeak --suppress=memleak -D_GNU_SOURCE -I. common db allocator shell netproxy

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(SYSCONFDIR)/ephemera
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(CTL) $(DESTDIR)$(SBINDIR)/ephemeractl
	install -m 4755 $(SHELLBIN) $(DESTDIR)$(BINDIR)/ephemera-shell
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(NETPROXY) $(DESTDIR)$(LIBEXECDIR)/ephemera-netproxy
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0644 $(PAMMOD) $(DESTDIR)$(PAMDIR)/pam_ephemera.so
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	test -e $(DESTDIR)$(SYSCONFDIR)/ephemera/ephemera.conf || \
	  install -m 0644 packaging/ephemera.conf $(DESTDIR)$(SYSCONFDIR)/ephemera/ephemera.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ephemeractl $(DESTDIR)$(BINDIR)/ephemera-shell \
	  $(DESTDIR)$(LIBEXECDIR)/ephemera-netproxy \
	  $(DESTDIR)$(PAMDIR)/pam_ephemera.so $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))

clean:
	rm -rf $(B)

# Targets of one job each (deb, man pages, demo) live in mk/*.mk.
-include $(sort $(wildcard mk/*.mk))

-include $(LIB_OBJS:.o=.d) $(B)/allocator/ephemeractl.d $(B)/netproxy/main.d $(B)/shell/main.d $(B)/shell/gen-seccomp.d \
  $(B)/shell/seccomp-embedded.d $(B)/pam_module/pam_ephemera.d $(UNIT_SRCS:%.c=$(B)/%.d) \
  $(HELPER_SRCS:%.c=$(B)/%.d)
