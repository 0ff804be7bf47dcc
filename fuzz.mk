# fuzz.mk: the fuzz targets of the readers of untrusted input, each run for FUZZTIME (CI: 8s each). Included from the Makefile: `make fuzz`.
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
	./probe/report:FuzzJSONRoundTrip ./probe/report:FuzzText ./probe/report:FuzzPromRoundTrip \
	./probe/diagnose:FuzzDiagnoseWorld ./probe/redact:FuzzRedact

.PHONY: fuzz fuzz-seeds

## fuzz-seeds: run every fuzz target on its committed corpus only (fast)
fuzz-seeds:
	go test -count=1 -run '^Fuzz' ./resolv ./probe/agent ./journal ./probe/imds ./probe/report ./probe/diagnose ./probe/redact

## fuzz: run each fuzz target for FUZZTIME, FUZZJOBS at a time with one
## worker each (go test allows one -fuzz target per run): 21 targets x 15s
## take about 5 minutes one at a time. .ci/fuzz-one runs each target and
## says how a run ended (see its comment on the engine's deadline error).
FUZZJOBS ?= 1
fuzz: fuzz-seeds
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZJOBS) -I{} bash -c ' \
		pt={}; .ci/fuzz-one "$${pt%%:*}" "$${pt##*:}" $(FUZZTIME) || exit 255'
