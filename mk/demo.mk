# `sudo make demo`: a live ephemeral session inside tests/testenv, reaped when
# you leave.  Without a terminal (`make demo </dev/null`, as CI runs it) a
# scripted session runs and is checked instead.  The host is left unchanged.
.PHONY: demo
demo: deps
	tests/demo
