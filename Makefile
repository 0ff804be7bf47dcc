# ssm-probe build, test and demo targets. Needs Go (see go.mod) and, for the
# race detector and the cgo journal reader, gcc and libsystemd-dev.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GOFLAGS_STATIC := -trimpath -ldflags '$(LDFLAGS)'
BIN := bin

.PHONY: all deps build build-arm64 build-windows binaries test test-windows vet staticcheck mod-check fmt-check unit demo clean

all: build build-windows

## deps: install the Debian packages and the pinned nfpm that the tests,
## the lab and the packages need, when missing (root, or sudo)
deps:
	.ci/install-deps

## build: the static linux/amd64 binary in bin/ssm-probe
build:
	mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build $(GOFLAGS_STATIC) -o $(BIN)/ssm-probe ./cmd/ssm-probe

## build-arm64: the static linux/arm64 binary in bin/ssm-probe-linux-arm64
build-arm64:
	mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_STATIC) -o $(BIN)/ssm-probe-linux-arm64 ./cmd/ssm-probe

## build-windows: the windows/amd64 binary in bin/ssm-probe-windows-amd64.exe
## (CGO off: it needs no DLL beyond Windows' own)
build-windows:
	mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build $(GOFLAGS_STATIC) -o $(BIN)/ssm-probe-windows-amd64.exe ./cmd/ssm-probe

## binaries: the static Linux binaries, checked to be static, and the
## Windows one, checked to be a PE32+ x86-64 executable
binaries: build build-arm64 build-windows
	file $(BIN)/ssm-probe $(BIN)/ssm-probe-linux-arm64 $(BIN)/ssm-probe-windows-amd64.exe
	file $(BIN)/ssm-probe | grep -q 'statically linked'
	file $(BIN)/ssm-probe-linux-arm64 | grep -q 'statically linked'
	file $(BIN)/ssm-probe-windows-amd64.exe | grep -q 'PE32+ executable (console) x86-64'

## mod-check: go.mod and go.sum are tidy, so a clean clone's first build
## leaves the tree clean (a rewritten go.mod stamps every build -dirty)
mod-check:
	go mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...
	CGO_ENABLED=0 go vet ./...
	GOOS=windows CGO_ENABLED=0 go vet ./...

## staticcheck: the pinned staticcheck (.ci/install-deps installs it)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo "$$(go env GOPATH)/bin/staticcheck")
staticcheck:
	$(STATICCHECK) ./...
	GOOS=windows CGO_ENABLED=0 $(STATICCHECK) ./...

unit:
	go test -race -count=1 ./...
	# The diagnosis property test's full 10,000 worlds (a tenth run under -race).
	go test -count=1 -run '^TestDiagnoseProperties$$' -v ./probe/diagnose | grep -E '^(ok|FAIL|---|\s+diagnose_property)'

## test-windows: the Windows test binaries, run under wine (.ci/wine-exec in
## the prefix .ci/wine-setup prepares; wine64 and the mingw-w64 compiler of
## make deps), for every package with tests but those of WINE_SKIPPED
test-windows:
	.ci/wine-setup
	mkdir -p $(BIN)/wine
	printf '{"Replace":{"%s":"%s"}}\n' \
	  "$$(go env GOROOT)/src/internal/syscall/windows/zz_ssm_probe_wine_deleteat.go" \
	  "$(CURDIR)/.ci/wine/deleteat_fallback.go" > $(WINE_OVERLAY)
	mod=$$(go list -m); run=(); \
	for p in $$(GOOS=windows CGO_ENABLED=0 go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
	  p=.$${p#$$mod}; \
	  [ "$$p" = ./journal ] && continue; \
	  why=$$(awk -F' [|] ' -v p="$$p" '$$1 == p { print $$2 }' <<<"$$WINE_SKIPPED"); \
	  if [ -n "$$why" ]; then echo "test-windows: SKIPPED $$p (not run under wine): $$why"; else run+=("$$p"); fi; \
	done; \
	echo "test-windows: under wine: $${run[*]}"; \
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -v -timeout 180s \
	  -overlay $(WINE_OVERLAY) -exec "$(CURDIR)/.ci/wine-exec" "$${run[@]}" 2>&1 \
	  | tee $(BIN)/wine/test.log | awk '$(WINE_TEST_FILTER)'
	@echo "test-windows: ./journal under wine but for $(WINE_JOURNAL_SKIP): they read the agent's Linux logs, syslog and systemd journal from fixture trees under a root (--root), which Windows refuses, or run journalctl"
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -v -timeout 180s \
	  -skip '^($(WINE_JOURNAL_SKIP))$$' \
	  -overlay $(WINE_OVERLAY) -exec "$(CURDIR)/.ci/wine-exec" ./journal 2>&1 \
	  | tee -a $(BIN)/wine/test.log | awk '$(WINE_TEST_FILTER)'

# The journal's tests that read fixture trees under --root or run
# journalctl; the rest of ./journal (the catalog and its proofs on the
# agent's real lines, the parsers, the log folder of the Windows agent)
# runs under wine.
WINE_JOURNAL_SKIP := TestScanDebugAndHibernateLog|TestRolledFileCap|TestScanKillsSyslog|TestScanKillsJournal|TestRealCaptures|TestScanGolden|TestScanRotatedOrder|TestScanMissingRoot|TestJournalctl|TestJournalFilePath|TestJournalctlSince|TestJournalctlProblems|TestScanSinceSkipsOldFiles|TestTimelineFiles|TestTimelineLocalZone|TestTimelineJournal

# The Windows test binaries' packages not run under wine, one a line:
# "PACKAGE | REASON", printed when skipped (./journal runs on its own,
# above, without the tests of WINE_JOURNAL_SKIP).
define WINE_SKIPPED
./probe/host | reads Linux host facts (DMI, /etc/localtime, os-release, statfs) from fixture trees under a root (--root), which Windows refuses
./probe/host/changes | reads the Linux change timeline (resolv.conf, packages, timesyncd) from fixture trees under a root (--root), which Windows refuses
./probe/users | reads /etc/passwd and nsswitch.conf from fixture trees under a root (--root), which Windows refuses
endef
export WINE_SKIPPED

# The overlay adds .ci/wine/deleteat_fallback.go to Go's internal/syscall/
# windows for the test binaries only (why: that file).
WINE_OVERLAY := $(BIN)/wine/overlay.json

# go test -v output, shortened to each package's result and each skipped or
# failed test with the lines it logged, a line repeated by the next test
# shown once (all of it is in bin/wine/test.log).
WINE_TEST_FILTER := /^=== / { cur = $$3; next } \
  /^ *--- (SKIP|FAIL)/ { print; n = split(buf[$$3], l, "\n"); \
    for (i = 1; i < n; i++) if (l[i] != last) { print l[i]; last = l[i] }; delete buf[$$3]; next } \
  /^ *--- PASS/ { delete buf[$$3]; next } \
  /^(ok|FAIL|panic)/ { print; split("", buf); last = ""; next } \
  /^ / { buf[cur] = buf[cur] $$0 "\n" }

## test: formatting, vet (cgo, static and windows), staticcheck, race-enabled
## unit tests, the Windows tests under wine, the binaries, the packages and
## their checks, then the end-to-end lab (needs root and network namespaces)
test: mod-check fmt-check vet staticcheck unit test-windows binaries packaging-test e2e

## demo: every lab scenario's failure reproduced in network namespaces (root)
demo: lab-demo

clean:
	rm -rf $(BIN) dist

# The lab (network namespaces; make e2e, make demo-lab) and packaging
# (make dist, make packages) keep their rules beside their code.
-include probe/lab/lab.mk
-include packaging/packaging.mk
# Fuzzing (make fuzz, FUZZTIME per target) and the figures table (make bench).
-include fuzz.mk
-include bench.mk
