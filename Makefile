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

.PHONY: all deps build build-arm64 binaries test vet staticcheck mod-check fmt-check unit demo clean

all: build

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

## binaries: both static binaries, checked to be static
binaries: build build-arm64
	file $(BIN)/ssm-probe $(BIN)/ssm-probe-linux-arm64
	file $(BIN)/ssm-probe | grep -q 'statically linked'
	file $(BIN)/ssm-probe-linux-arm64 | grep -q 'statically linked'

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

## staticcheck: the pinned staticcheck (.ci/install-deps installs it)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo "$$(go env GOPATH)/bin/staticcheck")
staticcheck:
	$(STATICCHECK) ./...

unit:
	go test -race -count=1 ./...
	# The diagnosis property test's full 10,000 worlds (a tenth run under -race).
	go test -count=1 -run '^TestDiagnoseProperties$$' -v ./probe/diagnose | grep -E '^(ok|FAIL|---|\s+diagnose_property)'

## test: formatting, vet (cgo and static), staticcheck, race-enabled unit
## tests, static builds, the packages and their checks, then the end-to-end
## lab (needs root and network namespaces)
test: mod-check fmt-check vet staticcheck unit binaries packaging-test e2e

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
