# Release builds and packages (included by the top Makefile, whose VERSION,
# COMMIT, GOFLAGS_STATIC and SHELL settings apply here).
#
#   make dist            static linux/amd64 and linux/arm64 binaries and SHA256SUMS in dist/
#   make packages        .deb and .rpm for both architectures in dist/ (needs nfpm v2.45.2)
#   make packaging-test  inspect and install the packages, verify the units (packaging/test.sh)
#
# nfpm: go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# packaging-test also needs dpkg, rpm, systemd (systemd-analyze) and, for
# the metrics check, prometheus (promtool); see packaging/README.md.

# Fixed: nfpm.yaml names dist/.stage, as nfpm expands no variables in paths.
DIST        := dist
DIST_ARCHES := amd64 arm64
DIST_BINS   := $(foreach a,$(DIST_ARCHES),$(DIST)/ssm-probe-linux-$(a))
PKG_STAGE   := $(DIST)/.stage
NFPM        ?= $(shell command -v nfpm 2>/dev/null || echo "$$(go env GOPATH)/bin/nfpm")

# The package version: the nearest release tag vX.Y.Z (dashes of
# `git describe` become dots, so later commits sort after the tag), else
# 0.0.0~dev.<commit>, which sorts before any release in dpkg and rpm.
# (The top Makefile's shell runs with -e -o pipefail: a repository without
# tags must not end the command, hence "|| true".)
PKG_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/./g' || true); echo "$${v:-0.0.0~dev.$(COMMIT)}")

.PHONY: dist packages packaging-test dist-bins dist-sums FORCE

## dist: static release binaries for linux/amd64 and linux/arm64, with SHA256SUMS
dist: dist-bins dist-sums

dist-bins: $(DIST_BINS)

# Always rebuilt (FORCE): the version stamp follows the checkout.
$(DIST)/ssm-probe-linux-%: FORCE
	mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=$* go build $(GOFLAGS_STATIC) -o $@ ./cmd/ssm-probe
	@file $@ | grep -q 'statically linked' || { echo "$@ is not statically linked" >&2; file $@ >&2; exit 1; }

# SHA256SUMS covers every binary and package in dist/, in sha256sum -c format.
dist-sums:
	cd $(DIST) && rm -f SHA256SUMS && sha256sum $$(ls ssm-probe-linux-* *.deb *.rpm 2>/dev/null) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
	cat $(DIST)/SHA256SUMS

$(PKG_STAGE)/ssm-probe.1.gz: packaging/man/ssm-probe.1
	mkdir -p $(PKG_STAGE)
	gzip -9 -n -c $< > $@

## packages: .deb and .rpm for both architectures, built with nfpm
packages: dist-bins $(PKG_STAGE)/ssm-probe.1.gz
	@test -x "$(NFPM)" || { echo "nfpm not found; install it: go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2" >&2; exit 1; }
	rm -f $(DIST)/*.deb $(DIST)/*.rpm
	for arch in $(DIST_ARCHES); do \
	  for fmt in deb rpm; do \
	    cp $(DIST)/ssm-probe-linux-$$arch $(PKG_STAGE)/ssm-probe; \
	    GOARCH=$$arch PKG_VERSION='$(PKG_VERSION)' \
	      "$(NFPM)" package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/; \
	  done; \
	done
	rm -f $(PKG_STAGE)/ssm-probe
	$(MAKE) --no-print-directory dist-sums

## packaging-test: list, inspect and install the packages; verify the systemd units
packaging-test: packages
	packaging/test.sh $(DIST)
