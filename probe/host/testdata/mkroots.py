#!/usr/bin/env python3
"""Builds the fixture trees under testdata/roots. Run from probe/host:
python3 testdata/mkroots.py. The trees are committed; this script documents
how they were made."""
import os, shutil

R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roots")

def w(case, path, data, mode=0o644):
    p = os.path.join(R, case, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(data)
    os.chmod(p, mode)

def ln(case, path, target):
    p = os.path.join(R, case, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, p)

shutil.rmtree(R, ignore_errors=True)

# ec2-dmi: a Nitro instance; values as the kernel exports them, with a newline.
c = "ec2-dmi"
for k, v in {"board_asset_tag": "i-0123456789abcdef0", "sys_vendor": "Amazon EC2", "bios_vendor": "Amazon EC2",
             "product_name": "m6i.large", "product_uuid": "ec2e1916-9099-7caf-fd21-012345678901"}.items():
    w(c, "/sys/devices/virtual/dmi/id/" + k, v + "\n")
ln(c, "/sys/class/dmi/id", "../../devices/virtual/dmi/id")
ln(c, "/etc/localtime", "/usr/share/zoneinfo/Asia/Tokyo")
ln(c, "/var/lib/amazon", "/opt/amazon")  # the state directory lives elsewhere
os.makedirs(os.path.join(R, c, "opt/amazon/ssm"))
# git keeps no empty directory: a marker file keeps this one in a clone.
open(os.path.join(R, c, "opt/amazon/ssm/.keep"), "w").close()

# ec2-xen: an older Xen instance; DMI says Xen, the hypervisor UUID decides.
c = "ec2-xen"
w(c, "/sys/hypervisor/uuid", "EC2A1B2C-0000-1111-2222-333344445555\n")
w(c, "/sys/class/dmi/id/sys_vendor", "Xen\n")
w(c, "/sys/class/dmi/id/bios_vendor", "Xen\n")
w(c, "/sys/class/dmi/id/board_asset_tag", "\n")
w(c, "/etc/timezone", "Etc/UTC\n")

# not-ec2: a KVM guest elsewhere whose product_uuid happens not to start with ec2.
c = "not-ec2"
w(c, "/sys/class/dmi/id/sys_vendor", "QEMU\n")
w(c, "/sys/class/dmi/id/bios_vendor", "SeaBIOS\n")
w(c, "/sys/class/dmi/id/board_asset_tag", "\n")
w(c, "/sys/class/dmi/id/product_uuid", "4c4c4544-0042-3510-8052-b4c04f4e4d32\n")

# hybrid: an on-premises VMware server registered with an activation.
c = "hybrid"
w(c, "/sys/class/dmi/id/sys_vendor", "VMware, Inc.\n")
w(c, "/sys/class/dmi/id/board_asset_tag", "No Asset Tag\n")
w(c, "/var/lib/amazon/ssm/registration", '{"ManagedInstanceID":"mi-0123456789abcdef0","Region":"eu-west-1"}')

# offline: a volume mounted from an instance; no /sys at all.
c = "offline"
w(c, "/etc/hostname", "ip-10-0-0-5\n")

# The zone file the ec2-dmi link points at, copied from this machine's tzdata.
tz = os.path.join(R, "ec2-dmi", "usr/share/zoneinfo/Asia/Tokyo")
os.makedirs(os.path.dirname(tz))
shutil.copyfile("/usr/share/zoneinfo/Asia/Tokyo", tz)
# A corrupt zone file.
w("not-ec2", "/etc/localtime", "not a TZif file\n")
