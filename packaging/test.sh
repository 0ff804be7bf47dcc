#!/bin/bash
# packaging/test.sh DIST: checks the packages `make packages` built in DIST.
#  - the Windows zip holds exactly ssm-probe.exe, a PE32+ x86-64 executable, and
#    README.txt, and SHA256SUMS covers it;
#  - dpkg-deb -c / -I and rpm -qpl list exactly the expected files and metadata;
#  - dpkg -i installs the amd64 .deb into a scratch root (no maintainer scripts run);
#  - the installed binary runs (version), and its --format prom output passes promtool;
#  - systemd-analyze verify accepts the installed units, with the scratch root as --root
#    so that ExecStart=/usr/bin/ssm-probe resolves to the installed binary.
# Needs dpkg, rpm, systemd-analyze, promtool, unzip and file (Debian: dpkg rpm systemd prometheus
# unzip file); with wine64 (make deps) the zipped ssm-probe.exe is also run (version).
set -euo pipefail
dist=${1:?usage: packaging/test.sh DIST}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "packaging-test: FAIL: $*" >&2; exit 1; }
for tool in dpkg dpkg-deb rpm systemd-analyze promtool unzip file; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install dpkg rpm systemd prometheus unzip file)"
done

zip="$dist/ssm-probe-windows-amd64.zip"
[ -f "$zip" ] || fail "no $zip (make dist-windows)"
echo "== unzip -l $zip"
unzip -l "$zip"
names=$(unzip -Z1 "$zip" | sort | tr '\n' ' ')
[ "$names" = "README.txt ssm-probe.exe " ] || fail "$zip holds [$names], want README.txt and ssm-probe.exe only"
wintmp=$(mktemp -d)
unzip -q -d "$wintmp" "$zip" ssm-probe.exe
exe_type=$(file -b "$wintmp/ssm-probe.exe")
echo "ssm-probe.exe: $exe_type"
grep -q '^PE32+ executable (console) x86-64' <<<"$exe_type" || fail "ssm-probe.exe in $zip is not a PE32+ x86-64 console executable: $exe_type"
# Under wine (make deps installs it; .ci/wine-exec), the zipped binary runs.
if [ -x "$here/../.ci/wine-exec" ] && { [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null; }; then
  ver=$("$here/../.ci/wine-exec" "$wintmp/ssm-probe.exe" version) || fail "ssm-probe.exe version failed under wine"
  echo "$ver"
  grep -q 'windows/amd64' <<<"$ver" || fail "ssm-probe.exe version does not say windows/amd64: $ver"
fi
rm -rf "$wintmp"
unzip -p "$zip" README.txt | grep -q 'ssm-probe.exe' || fail "README.txt in $zip does not mention ssm-probe.exe"
grep -qE '^[0-9a-f]{64}  ssm-probe-windows-amd64\.zip$' "$dist/SHA256SUMS" || fail "SHA256SUMS does not cover the zip"
(cd "$dist" && grep 'ssm-probe-windows-amd64\.zip$' SHA256SUMS | sha256sum -c --quiet -) || fail "the zip's checksum does not match SHA256SUMS"

expected=(
  ./usr/bin/ssm-probe
  ./usr/lib/systemd/system/ssm-probe.service
  ./usr/lib/systemd/system/ssm-probe-metrics.service
  ./usr/lib/systemd/system/ssm-probe.timer
  ./etc/default/ssm-probe
  ./usr/share/man/man1/ssm-probe.1.gz
  ./usr/share/doc/ssm-probe/README.md
  ./usr/share/doc/ssm-probe/report.schema.json
  ./usr/share/doc/ssm-probe/examples/cloud-init/boot-check.yaml
  ./usr/share/doc/ssm-probe/examples/cloud-init/boot-check-s3.sh
  ./usr/share/doc/ssm-probe/examples/imagebuilder/ssm-probe-component.yaml
  ./usr/share/doc/ssm-probe/examples/packer/ssm-probe.pkr.hcl
  ./usr/share/doc/ssm-probe/examples/ssm/ssm-probe-run.json
  ./var/lib/node_exporter/textfile_collector/
)

shopt -s nullglob
debs=("$dist"/*.deb)
rpms=("$dist"/*.rpm)
[ ${#debs[@]} -eq 2 ] || fail "want 2 .deb files in $dist, found ${#debs[@]}"
[ ${#rpms[@]} -eq 2 ] || fail "want 2 .rpm files in $dist, found ${#rpms[@]}"

for deb in "${debs[@]}"; do
  echo "== dpkg-deb -c $deb"
  list=$(dpkg-deb -c "$deb")
  echo "$list"
  for p in "${expected[@]}"; do
    grep -qE " ${p//./\\.}$" <<<"$list" || fail "$deb lacks $p"
  done
  grep -qE '^-rwxr-xr-x .* \./usr/bin/ssm-probe$' <<<"$list" || fail "$deb: /usr/bin/ssm-probe is not 0755"
  echo "== dpkg-deb -I $deb"
  info=$(dpkg-deb -I "$deb")
  echo "$info"
  grep -q '^ Package: ssm-probe$' <<<"$info" || fail "$deb: wrong Package"
  ! grep -qE '^ (Depends|Pre-Depends):' <<<"$info" || fail "$deb must depend on nothing"
  grep -q '/etc/default/ssm-probe' <(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) || fail "$deb: /etc/default/ssm-probe is not a conffile"
  for s in preinst postinst prerm postrm; do
    ! dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx "./$s" || fail "$deb has a $s script"
  done
done

for rpm in "${rpms[@]}"; do
  echo "== rpm -qpl $rpm"
  list=$(rpm -qpl "$rpm")
  echo "$list"
  for p in "${expected[@]}"; do
    p=${p#.}; p=${p%/}
    grep -qx "$p" <<<"$list" || fail "$rpm lacks $p"
  done
  reqs=$(rpm -qpR "$rpm")
  ! grep -vE '^rpmlib\(' <<<"$reqs" | grep -q . || fail "$rpm requires more than rpmlib features: $reqs"
  rpm -qpc "$rpm" | grep -qx /etc/default/ssm-probe || fail "$rpm: /etc/default/ssm-probe is not %config"
done

deb=$(ls "$dist"/*_amd64.deb)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/var/lib/dpkg/info" "$scratch/var/lib/dpkg/updates"
: > "$scratch/var/lib/dpkg/status"
echo "== dpkg --root $scratch -i $deb"
dpkg --root="$scratch" --log=/dev/null --force-not-root --force-script-chrootless -i "$deb"
dpkg --root="$scratch" -s ssm-probe | grep -q '^Status: install ok installed$' || fail "dpkg does not list ssm-probe as installed"
for p in "${expected[@]}"; do
  [ -e "$scratch/${p#./}" ] || fail "not installed: $p"
done
if [ "$(uname -m)" = x86_64 ]; then
  "$scratch/usr/bin/ssm-probe" version | grep -q '^ssm-probe ' || fail "installed binary does not run"
fi

echo "== systemd-analyze verify --root $scratch"
# verify checks each unit's syntax and that ExecStart= exists and is
# executable, under --root (so /usr/bin/ssm-probe is the installed binary).
# It also loads the units they order against; the scratch root gets this
# machine's target units for that. Any message is a failure: verify prints
# nothing for clean units.
for t in sysinit basic shutdown network-online multi-user timers local-fs swap; do
  src=/usr/lib/systemd/system/$t.target
  [ -e "$src" ] || src=/lib/systemd/system/$t.target
  [ -e "$src" ] && cp "$src" "$scratch/usr/lib/systemd/system/"
done
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$scratch" --man=no \
  "$scratch"/usr/lib/systemd/system/ssm-probe.service "$scratch"/usr/lib/systemd/system/ssm-probe-metrics.service \
  "$scratch"/usr/lib/systemd/system/ssm-probe.timer 2>&1) || { echo "$out"; fail "systemd-analyze verify failed"; }
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
rm -f "$scratch"/usr/lib/systemd/system/*.target

echo "== promtool check metrics (ssm-probe --format prom, offline on an empty root)"
empty=$(mktemp -d)
metrics=$("$scratch/usr/bin/ssm-probe" run --root "$empty" --format prom --since 0 --deadline 5s 2>/dev/null || true)
rm -rf "$empty"
grep -q '^ssm_probe_status ' <<<"$metrics" || fail "no ssm_probe_status in the prom output: $metrics"
promtool check metrics <<<"$metrics" || fail "promtool rejected the prom output"
echo "packaging-test: ok"
