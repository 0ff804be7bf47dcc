# fuzz.mk: the fuzz targets of issue 9, each run for FUZZTIME (CI: 15s, about
# three minutes in all). Included from the Makefile: `make fuzz`.
# A failing input is written to the package's testdata/fuzz/<Target>/ by
# go test; commit it as a regression seed once the bug is fixed.
FUZZTIME ?= 15s

# package:Target pairs; every target has a committed seed corpus in
# <package>/testdata/fuzz/<Target>/.
FUZZ_TARGETS := \
	./resolv:FuzzParseConf ./resolv:FuzzReadHosts ./resolv:FuzzReadNSSwitch \
	./probe/agent:FuzzParseConfig ./probe/agent:FuzzParseRegistration ./probe/agent:FuzzParseIdentity \
	./probe/agent:FuzzVersion ./probe/agent:FuzzProxyRedaction \
	./journal:FuzzScanText ./journal:FuzzParseEntries ./journal:FuzzMatcher \
	./probe/imds:FuzzParseValue ./probe/imds:FuzzParseCIDRList ./probe/imds:FuzzParseRoleList \
	./probe/imds:FuzzParseIAMInfo ./probe/imds:FuzzParseCredentials \
	./probe/report:FuzzJSONRoundTrip ./probe/report:FuzzText ./probe/report:FuzzPromRoundTrip

.PHONY: fuzz fuzz-seeds

## fuzz-seeds: run every fuzz target on its committed corpus only (fast)
fuzz-seeds:
	go test -count=1 -run '^Fuzz' ./resolv ./probe/agent ./journal ./probe/imds ./probe/report

## fuzz: run each fuzz target for FUZZTIME, two at a time with one worker
## each (go test allows one -fuzz target per run; the CI machines have 2
## cores): 19 targets x 15s take about 2.5 minutes plus compilation.
## -fuzzminimizetime bounds the minimising of each new interesting input:
## unbounded (60 s by default) it can outlast a short -fuzztime, and the run
## then fails with "context deadline exceeded" although no input failed.
fuzz: fuzz-seeds
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P 2 -I{} bash -c ' \
		pt={}; pkg=$${pt%%:*}; tg=$${pt##*:}; \
		if out=$$(go test -run "^$$" -fuzz "^$$tg\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s -parallel 1 "$$pkg" 2>&1); then \
			echo "ok   $$tg ($$pkg): $$(echo "$$out" | grep -o "execs: [0-9]*" | tail -n 1)"; \
		else echo "FAIL $$tg ($$pkg)"; echo "$$out" | tail -n 30; exit 255; fi'
