#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: runs the benchmarks, prints the tables and writes them, with
# the date and the machine, to BENCHMARKS.md, plus a gnuplot chart.
# Usage: bench.sh BUILD_DIR
set -euo pipefail
build="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" != 0 ]; then
	echo "Error: the benchmarks load BPF programs; run 'make bench' as root" >&2
	exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; "$(dirname "$0")/clean-pins.sh"' EXIT

echo "per-packet cost in BPF_PROG_TEST_RUN (under a minute) ..." >&2
"$build/xdpsplit-bench" "$work/figures.tsv" > "$work/testrun.md"
echo "per-packet cost and rate on live frames (about two minutes) ..." >&2
"$build/xdpsplit-live" "$work/live.tsv" > "$work/live.md"
echo "two cores against one on live frames (under a minute) ..." >&2
"$build/xdpsplit-cores" > "$work/cores.md"
echo "control plane and scale ..." >&2
"$build/xdpsplit-scale" > "$work/scale.md"
"$build/xdpsplit-flowshare" >> "$work/scale.md"
echo "switch command to first packet, 100 times ..." >&2
"$build/xdpsplit-switch" "$build/splitctl" >> "$work/scale.md"
echo "rollback reaction, 20 breaches at 1 s and at 100 ms (about a minute) ..." >&2
"$build/xdpsplit-rollback" "$build/splitd" "$build/splitctl" >> "$work/scale.md"
echo "idle splitd with probes on: CPU over 10 s on the e2e lab (under a minute) ..." >&2
/usr/bin/python3 "$here/bench/idle.py" "$build" >> "$work/scale.md"

echo "xdpsplit, an XDP forwarder, HAProxy, nginx and no load balancer with wrk (about three minutes) ..." >&2
/usr/bin/python3 "$here/bench/compare.py" > "$work/compare.md"

gnuplot <<GNUPLOT
set terminal pngcairo size 1100,520 noenhanced font ",10"
set output "$here/bench/ns-per-packet.png"
set title "Per-packet cost on live frames (bpf_stats), ns minus an XDP_DROP program (median of 3 rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ns per packet"
set xtics rotate by -20 left
set key top left
set yrange [0:*]
set datafile separator "\t"
plot "$work/live.tsv" using 2:xtic(1) title "xdp_split", '' using 3 title "stateful floor", '' using 4 title "stateless floor"
GNUPLOT

# target lines go to a section of their own
grep -h '^target: ' "$work"/*.md | sed 's/^target: /- /' > "$work/targets.md" || true
for table in "$work"/*.md; do
	[ "$table" = "$work/targets.md" ] || sed -i '/^target: /d' "$table"
done

{
	echo "# Benchmarks"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench\` on $(nproc) CPUs,"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)."
	echo "Every figure is measured in the same run as its baseline; ratios compare"
	echo "figures of one run. A virtual machine's timings are noisy: read the ranges."
	echo
	echo "## Per-packet cost and rate on live frames"
	echo
	echo "A generator program run with BPF_F_TEST_XDP_LIVE_FRAMES writes a fresh"
	echo "packet of the class on every run (varying the client address and port)"
	echo "and sends it into a veth whose peer runs the program under test natively;"
	echo "that program sends it back with XDP_TX to a sink. Run-time statistics on:"
	echo "ns/packet is run_time_ns / run_cnt minus an XDP_DROP program's. Mpps is what"
	echo "the sink received over wall time, generator and NAPI on one core; the line"
	echo "under the table repeats the first class with lb0's NAPI in a thread of its"
	echo "own pinned to the other core. The connection class alternates a new"
	echo "tuple's SYN and that tuple's ACK (the handshake's third packet), so a"
	echo "connection costs two packets; the stateful floor does for it what any"
	echo "stateful splitter must: a lookup and an insert on the SYN, a lookup on the"
	echo "ACK. The ipip class is the first class sent to an ipip VIP."
	echo
	cat "$work/live.md"
	echo
	echo "![ns per packet](bench/ns-per-packet.png)"
	echo
	echo "## Two cores against one"
	echo
	echo "The LB's receive path over both CPUs: a veth pair with two queues a side,"
	echo "where veth queues a frame, and runs its NAPI, on the CPU that sent it."
	echo "One live-frames generator pinned to each CPU against one on CPU 1; Mpps is"
	echo "what the sink received over the wall time. Each CPU runs its generator"
	echo "too, so the stateless floor's scaling is the most this harness can show."
	echo
	cat "$work/cores.md"
	echo
	echo "## Per-packet cost in BPF_PROG_TEST_RUN"
	echo
	echo "Each run gets a fresh packet (\`repeat = 1\`, so a rewriting program never"
	echo "sees its own output), 100,000 packets per class and program, 3 rounds; the"
	echo "kernel's own timing of each run, minus the null program's median."
	echo "The stateful floor parses Ethernet/IPv4/TCP, does one lookup (inserting on a"
	echo "miss) in an LRU hash of xdp_split's key, value and size, rewrites the MAC"
	echo "and returns XDP_TX; the stateless floor only swaps MACs."
	echo
	cat "$work/testrun.md"
	echo
	echo "## Against HAProxy and nginx, and no load balancer"
	echo
	echo "The same client workload through each, on the same namespaces, nginx"
	echo "backends (blue1, blue2, canary1; 95/5). Extra machine CPU is the busy time"
	echo "of all CPUs (/proc/stat) per connection, minus the no-LB run's: XDP's work"
	echo "is in softirq and in no process, so per-process CPU would miss it. The"
	echo "ceiling sends every connection to one nginx worker while the load balancers"
	echo "spread them over three backends: a ratio above 1 or a negative extra CPU"
	echo "means that one backend, not the path, was the limit in that run. The XDP"
	echo "forwarder (bench/forwarder.bpf.c) runs in xdp_split's place on the LB's"
	echo "eth0 and sends the VIP's frames to blue1 as xdp_split's l2dsr path does:"
	echo "the same path and hops with no state or choice. xdpsplit on a one-backend"
	echo "VIP (blue1) runs beside it, so the two differ only in the program."
	echo
	cat "$work/compare.md"
	echo
	echo "## Control plane and scale"
	echo
	cat "$work/scale.md"
	echo
	echo "## Targets (recorded from this run, not asserted)"
	echo
	cat "$work/targets.md"
} > "$here/BENCHMARKS.md"
cat "$work/live.md" "$work/cores.md" "$work/testrun.md" "$work/compare.md" "$work/scale.md" "$work/targets.md"
echo "written: BENCHMARKS.md, bench/ns-per-packet.png" >&2
