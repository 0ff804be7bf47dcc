# bench.mk: `make bench` prints one table of the project's performance
# figures, each beside its target where it has one: binary size; the probe's wall time in the lab's worlds
# (healthy, endpoint security group without 443, silent VPC resolver, silent
# first nameserver, healthy behind the agent's proxy, everything
# black-holed) and in the slowest of all scenarios; log throughput of
# `ssm-probe logs` on the generated 180 MB set against `LC_ALL=C grep -c -E`
# with the catalog's literals, and on 50 MB of error lines; and peak RSS. Needs root for the lab and /usr/bin/time (Debian
# package `time`). Every figure is the median of BENCH_RUNS runs, with the
# spread (min-max) beside it. Only loopback and the lab's own namespaces
# are used. Output goes to a file, not /dev/null: GNU grep stops at the
# first match when its output is /dev/null.
BENCH_RUNS ?= 3
BENCH_DIR  := $(BIN)/bench
BENCH_LOGS := $(BENCH_DIR)/root/var/log/amazon/ssm
BENCH_ERRLOGS := $(BENCH_DIR)/errors
# The lab worlds timed, each with its target in seconds (--timeout is 2 s).
BENCH_WORLDS := healthy-vpc-endpoints:0.1 endpoint-sg-no-443:2.3 vpc-dns-resolution-off:2.3 \
	first-nameserver-silent:2.3 healthy-proxy:0.2 all-black-holed:2.3

.PHONY: bench bench-logset

## bench-logset: the 180 MB rolled log set (6 x 30 MB) under a host root, generated once
bench-logset:
	@if [ ! -f $(BENCH_LOGS)/amazon-ssm-agent.log ]; then \
		mkdir -p $(BENCH_LOGS) $(BENCH_DIR)/root/etc; \
		go run ./journal/internal/loggen -out $(BENCH_LOGS) >/dev/null; \
	fi
	@if [ ! -f $(BENCH_ERRLOGS)/amazon-ssm-agent.log ]; then \
		go run ./journal/internal/loggen -out $(BENCH_ERRLOGS) -rolls 1 -size 25000000 -match-rate 0.5 >/dev/null; \
	fi
	@printf 'nameserver 10.0.0.2\n' > $(BENCH_DIR)/root/etc/resolv.conf
	@printf '127.0.0.1 localhost\n' > $(BENCH_DIR)/root/etc/hosts
	@mkdir -p $(BENCH_DIR)/lits
	@printf '%s\n' 'package main' 'import ("fmt"; "regexp"; "github.com/ssm-probe/ssm-probe/journal")' \
		'// main prints the catalog literals as extended regular expressions, one a line.' \
		'func main() { for _, p := range journal.DefaultPatterns() { for _, l := range p.Literals { fmt.Println(regexp.QuoteMeta(l)) } } }' \
		> $(BENCH_DIR)/lits/main.go
	@go run ./$(BENCH_DIR)/lits > $(BENCH_DIR)/patterns.txt

## bench: build, then print the benchmark table
bench: build bench-logset
	@command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time is missing: apt-get install time"; exit 1; }
	@set -u; runs=$(BENCH_RUNS); tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	stat3() { sort -n | awk '{a[NR]=$$1} END {printf "%.4g (%.4g-%.4g)", a[int((NR+1)/2)], a[1], a[NR]}'; }; \
	wall_rss() { /usr/bin/time -f '%e %M' -o $$tmp/t "$$@" >$$tmp/out 2>&1 || true; tail -n 1 $$tmp/t; }; \
	bytes=$$(cat $(BENCH_LOGS)/amazon-ssm-agent.log* | wc -c); mb=$$(awk -v b=$$bytes 'BEGIN{printf "%.0f", b/1e6}'); \
	ebytes=$$(cat $(BENCH_ERRLOGS)/amazon-ssm-agent.log* | wc -c); emb=$$(awk -v b=$$ebytes 'BEGIN{printf "%.0f", b/1e6}'); \
	for i in $$(seq $$runs); do \
		wall_rss $(BIN)/ssm-probe logs --since 0 --format json $(BENCH_LOGS) > $$tmp/l; read w r < $$tmp/l; \
		awk -v m=$$mb -v w=$$w 'BEGIN{print m/w}' >> $$tmp/logs_mbs; echo $$((r/1024)) >> $$tmp/logs_rss; \
		wall_rss $(BIN)/ssm-probe logs --since 0 --format json $(BENCH_ERRLOGS) > $$tmp/e; read w r < $$tmp/e; \
		awk -v m=$$emb -v w=$$w 'BEGIN{print m/w}' >> $$tmp/err_mbs; \
		wall_rss env LC_ALL=C grep -c -E -f $(BENCH_DIR)/patterns.txt $(BENCH_LOGS)/amazon-ssm-agent.log* > $$tmp/g; read w r < $$tmp/g; \
		awk -v m=$$mb -v w=$$w 'BEGIN{print m/w}' >> $$tmp/grep_mbs; \
		wall_rss $(BIN)/ssm-probe --root $(BENCH_DIR)/root --since 0 --format json > $$tmp/f; read w r < $$tmp/f; \
		echo $$w >> $$tmp/full_wall; echo $$((r/1024)) >> $$tmp/full_rss; \
	done; \
	lab=none; \
	if [ -x $(BIN)/ssm-probe-lab ] || [ -d cmd/ssm-probe-lab ]; then \
		CGO_ENABLED=0 go build -trimpath -o $(BIN)/ssm-probe-lab ./cmd/ssm-probe-lab 2>/dev/null && lab=lab; \
	fi; \
	for w in $(BENCH_WORLDS); do sc=$${w%%:*}; \
		for i in $$(seq $$runs); do \
			if [ $$lab = lab ]; then \
				flock /run/ssm-probe-lab.lock $(BIN)/ssm-probe-lab e2e --probe $(BIN)/ssm-probe --scenarios probe/lab/scenarios --run $$sc 2>&1 \
					| grep -o 'probe *[0-9.]*s' | head -n 1 | grep -o '[0-9.]*' >> $$tmp/$$sc || true; \
			fi; \
		done; \
	done; \
	nsc=$$(ls probe/lab/scenarios/*.json | wc -l); \
	if [ $$lab = lab ]; then \
		flock /run/ssm-probe-lab.lock $(BIN)/ssm-probe-lab e2e --probe $(BIN)/ssm-probe --scenarios probe/lab/scenarios 2>&1 \
			| grep -o 'probe *[0-9.]*s' | grep -o '[0-9.]*' | sort -n | tail -n 1 > $$tmp/slowest || true; \
	fi; \
	row() { printf '| %-50s | %-26s | %-14s |\n' "$$1" "$$2" "$$3"; }; \
	med() { if [ -s $$tmp/$$1 ]; then stat3 < $$tmp/$$1; else echo "n/a (lab did not run)"; fi; }; \
	echo; echo "ssm-probe bench: median (min-max) of $$runs runs, $$(nproc) cores, load $$(cut -d' ' -f1 /proc/loadavg)"; \
	row "figure" "measured" "target"; row "--------------------------------------------------" "--------------------------" "--------------"; \
	row "binary size, static linux/amd64" "$$(awk -v b=$$(stat -c %s $(BIN)/ssm-probe) 'BEGIN{printf "%.1f MB", b/1e6}')" "~7 MB"; \
	for w in $(BENCH_WORLDS); do row "lab $${w%%:*} (s)" "$$(med $${w%%:*})" "<= $${w##*:} s"; done; \
	row "slowest of all $$nsc lab scenarios, one run (s)" "$$(med slowest)" "<= 2.3 s"; \
	row "ssm-probe logs, $$mb MB set (MB/s)" "$$(stat3 < $$tmp/logs_mbs)" ">= 1000 MB/s"; \
	row "ssm-probe logs, $$emb MB, half error lines (MB/s)" "$$(stat3 < $$tmp/err_mbs)" "(error-heavy)"; \
	row "LC_ALL=C grep -c -E, same literals (MB/s)" "$$(stat3 < $$tmp/grep_mbs)" "(reference)"; \
	row "peak RSS, ssm-probe logs (MB)" "$$(stat3 < $$tmp/logs_rss)" "< 50 MB"; \
	row "peak RSS, full offline run + logs (MB)" "$$(stat3 < $$tmp/full_rss)" "< 50 MB"; \
	row "wall, full offline run + logs (s)" "$$(stat3 < $$tmp/full_wall)" "<= --deadline"
