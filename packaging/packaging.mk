# Release builds and packages (included by the top Makefile, whose VERSION,
# COMMIT, GOFLAGS_STATIC and SHELL settings apply here).
#
#   make dist            static linux/amd64 and linux/arm64 binaries, the windows/amd64 zip
#                        (ssm-probe.exe, README.txt) and SHA256SUMS in dist/
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
DIST_WIN    := $(DIST)/ssm-probe-windows-amd64.zip
WIN_STAGE   := $(DIST)/.stage-windows
NFPM        ?= $(shell command -v nfpm 2>/dev/null || echo "$$(go env GOPATH)/bin/nfpm")

# The package version: the nearest release tag vX.Y.Z (dashes of
# `git describe` become dots, so later commits sort after the tag), else
# 0.0.0~dev.<commit>, which sorts before any release in dpkg and rpm.
# (The top Makefile's shell runs with -e -o pipefail: a repository without
# tags must not end the command, hence "|| true".)
PKG_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/./g' || true); echo "$${v:-0.0.0~dev.$(COMMIT)}")

.PHONY: dist packages packaging-test dist-bins dist-windows dist-sums FORCE

## dist: static release binaries for linux/amd64 and linux/arm64, the
## windows/amd64 zip, with SHA256SUMS
dist: dist-bins dist-windows dist-sums

dist-bins: $(DIST_BINS)

# Always rebuilt (FORCE): the version stamp follows the checkout.
$(DIST)/ssm-probe-linux-%: FORCE
	mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=$* go build $(GOFLAGS_STATIC) -o $@ ./cmd/ssm-probe
	@file $@ | grep -q 'statically linked' || { echo "$@ is not statically linked" >&2; file $@ >&2; exit 1; }

dist-windows: $(DIST_WIN)

# The Windows zip: ssm-probe.exe and packaging/windows/README.txt (CRLF, for
# Notepad), both dated at the commit so that the same checkout zips the
# same bytes. Always rebuilt (FORCE), as the binaries are.
$(DIST_WIN): FORCE
	rm -rf $(WIN_STAGE) $@
	mkdir -p $(WIN_STAGE)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build $(GOFLAGS_STATIC) -o $(WIN_STAGE)/ssm-probe.exe ./cmd/ssm-probe
	@file $(WIN_STAGE)/ssm-probe.exe | grep -q 'PE32+ executable (console) x86-64' || { echo "ssm-probe.exe is not a PE32+ x86-64 executable" >&2; file $(WIN_STAGE)/ssm-probe.exe >&2; exit 1; }
	sed 's/$$/\r/' packaging/windows/README.txt > $(WIN_STAGE)/README.txt
	t=$$(git log -1 --format=%ct 2>/dev/null || echo 0); touch -d "@$$t" $(WIN_STAGE)/ssm-probe.exe $(WIN_STAGE)/README.txt
	cd $(WIN_STAGE) && zip -X -9 -q ../$(notdir $@) ssm-probe.exe README.txt
	rm -rf $(WIN_STAGE)

# SHA256SUMS covers every binary, zip and package in dist/, in sha256sum -c format.
dist-sums:
	cd $(DIST) && rm -f SHA256SUMS && sha256sum $$(ls ssm-probe-linux-* *.zip *.deb *.rpm 2>/dev/null) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
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

## packaging-test: list, inspect and install the packages; verify the systemd
## units; list the Windows zip and check its executable
packaging-test: dist-windows packages
	packaging/test.sh $(DIST)
