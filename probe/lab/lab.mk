# The lab: the real static probe in a fake VPC made of network namespaces
# (package probe/lab, command cmd/ssm-probe-lab). Needs root on Linux, with
# iproute2, nftables and util-linux (unshare, mount). Without root or
# network namespaces, e2e reports SKIPPED, which fails under CI=true.
LAB_BIN := $(BIN)/ssm-probe-lab
# The namespaces have fixed names, so one lab run at a time on a machine:
# every lab command holds this lock (flock, util-linux).
LAB_LOCK := flock /run/ssm-probe-lab.lock

.PHONY: lab-build e2e lab-demo lab-cleanup

lab-build: build
	CGO_ENABLED=0 go build -trimpath -o $(LAB_BIN) ./cmd/ssm-probe-lab

## e2e: every lab scenario as a test: expected findings, status, wall time
e2e: lab-build
	$(LAB_LOCK) $(LAB_BIN) e2e --probe $(BIN)/ssm-probe --scenarios probe/lab/scenarios

## lab-demo: each scenario's verdict line and fail findings next to what was broken
lab-demo: lab-build
	$(LAB_LOCK) $(LAB_BIN) demo --probe $(BIN)/ssm-probe --scenarios probe/lab/scenarios

## lab-cleanup: remove what a killed lab run left (ssmp-* namespaces, /etc/netns/ssmp-*)
lab-cleanup: lab-build
	$(LAB_LOCK) $(LAB_BIN) cleanup
