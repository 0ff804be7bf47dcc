#!/bin/bash
# User data (a shell script, which cloud-init runs once at first boot):
# download ssm-probe from YOUR OWN S3 bucket, check it against the SHA-256
# written here (not against a checksum file from the same bucket, which
# whoever could replace the binary could replace too), then run the boot
# check: retry for up to 5 minutes (--wait), summary on the serial console
# (--console), full report in /var/log/ssm-probe.txt.
#
# Before use: upload dist/ssm-probe-linux-amd64 and -arm64 (make dist) to the
# bucket, set BUCKET_PREFIX and the two hashes from dist/SHA256SUMS, and give
# the instance profile s3:GetObject on those keys. The download needs a path
# to S3 (a gateway endpoint, NAT or internet gateway); when it fails, that is
# said on the console too, which is itself a clue.
set -u
BUCKET_PREFIX="s3://my-bucket/tools/ssm-probe/v0.1.0"
SHA256_AMD64="replace-with-the-sha256-of-ssm-probe-linux-amd64"
SHA256_ARM64="replace-with-the-sha256-of-ssm-probe-linux-arm64"
DEST=/usr/local/bin/ssm-probe

say() { echo "ssm-probe-userdata: $*" | tee -a /var/log/ssm-probe.txt > /dev/console; }

case "$(uname -m)" in
  x86_64)  arch=amd64; want=$SHA256_AMD64 ;;
  aarch64) arch=arm64; want=$SHA256_ARM64 ;;
  *) say "unsupported machine $(uname -m)"; exit 0 ;;
esac

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# The AWS CLI is on Amazon Linux; elsewhere use a presigned URL with curl:
#   curl -fsS --max-time 60 -o "$tmp" "https://...presigned..."
if ! timeout 120 aws s3 cp --only-show-errors "$BUCKET_PREFIX/ssm-probe-linux-$arch" "$tmp"; then
  say "download from $BUCKET_PREFIX failed: no path to S3, or no s3:GetObject for the instance profile"
  exit 0
fi
got=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  say "checksum mismatch for ssm-probe-linux-$arch: got $got, want $want; not running it"
  exit 0
fi
install -m 0755 "$tmp" "$DEST"

"$DEST" run --wait 5m --console --no-color > /var/log/ssm-probe.txt 2>&1
say "exit status $? (0 ok, 1 warn, 2 fail, 3 unknown); report in /var/log/ssm-probe.txt"
# User data must not fail the boot over a diagnosis.
exit 0
