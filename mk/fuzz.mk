# `make fuzz`: the proxy's parsers under libFuzzer with ASan and UBSan
# (clang), FUZZ_SECONDS each (default 120).  Built only on demand, never by
# `make` or `make check`.  Crashes are left in build/fuzz/ as crash-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 120
FUZZ_CFLAGS  := -std=c17 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(B)/fuzz/fuzz-http $(B)/fuzz/fuzz-socks

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_TARGETS)

$(B)/fuzz/fuzz-http: tests/fuzz/fuzz-http.c netproxy/http.c netproxy/policy.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

$(B)/fuzz/fuzz-socks: tests/fuzz/fuzz-socks.c netproxy/socks.c netproxy/policy.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

fuzz: $(FUZZ_TARGETS)
	@for t in http socks; do \
	  mkdir -p $(B)/fuzz/corpus-$$t && cp -n tests/fuzz/seeds-$$t/* $(B)/fuzz/corpus-$$t/ && \
	  (cd $(B)/fuzz && ./fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $$( [ -f ../../tests/fuzz/$$t.dict ] && echo -dict=../../tests/fuzz/$$t.dict) \
	    corpus-$$t) || exit 1; \
	done
