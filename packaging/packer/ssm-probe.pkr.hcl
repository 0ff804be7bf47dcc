# Packer provisioner snippet: add these two provisioners to the build block
# of an amazon-ebs source. The first installs ssm-probe from the release
# binary next to the template (make dist; checked against dist/SHA256SUMS),
# the second runs it on the build instance and fails the build when the
# verdict is fail (2) or unknown (3). The build instance needs an instance
# profile with AmazonSSMManagedInstanceCore (iam_instance_profile).
#
#   build {
#     sources = ["source.amazon-ebs.base"]
#     ... the provisioners below ...
#   }

provisioner "file" {
  sources     = ["dist/ssm-probe-linux-amd64", "dist/ssm-probe-linux-arm64", "dist/SHA256SUMS"]
  destination = "/tmp/"
}

provisioner "shell" {
  # Packer fails the build on a non-zero exit status of the script.
  inline_shebang = "/bin/bash -e"
  inline = [
    "case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) echo unsupported; exit 1 ;; esac",
    "cd /tmp && grep \" ssm-probe-linux-$arch$\" SHA256SUMS | sha256sum -c -",
    "sudo install -m 0755 /tmp/ssm-probe-linux-$arch /usr/local/bin/ssm-probe",
    "rc=0; sudo /usr/local/bin/ssm-probe run --wait 3m --no-color || rc=$?",
    "if [ $rc -ge 2 ]; then echo \"ssm-probe: verdict exit $rc (2 fail, 3 unknown): failing the image build\"; exit 1; fi",
    "echo \"ssm-probe: exit $rc (0 ok, 1 warn)\"",
  ]
}
