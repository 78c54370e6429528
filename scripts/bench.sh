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
trap 'rm -rf "$work"; rm -rf /sys/fs/bpf/xdpsplit-test-*' EXIT

echo "per-packet cost in BPF_PROG_TEST_RUN (about a minute) ..." >&2
"$build/xdpsplit-bench" "$work/figures.tsv" > "$work/testrun.md"
echo "control plane and scale ..." >&2
"$build/xdpsplit-scale" > "$work/scale.md"

gnuplot <<GNUPLOT
set terminal pngcairo size 1100,520 noenhanced font ",10"
set output "$here/bench/ns-per-packet.png"
set title "Per-packet cost, BPF_PROG_TEST_RUN, ns minus the null program (median of 3 rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ns per packet"
set xtics rotate by -20 left
set key top left
set yrange [0:*]
set datafile separator "\t"
plot "$work/figures.tsv" using 2:xtic(1) title "xdp_split", '' using 3 title "stateful floor", '' using 4 title "stateless floor"
GNUPLOT

{
	echo "# Benchmarks"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench\` on $(nproc) CPUs,"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)."
	echo "Every figure is measured in the same run as its baseline; ratios compare"
	echo "figures of one run. A virtual machine's timings are noisy: read the ranges."
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
	echo "![ns per packet](bench/ns-per-packet.png)"
	echo
	echo "## Control plane and scale"
	echo
	cat "$work/scale.md"
	echo
	echo "## Not measured yet"
	echo
	echo "Live-frame throughput with bpf_stats, HAProxy and nginx side by side,"
	echo "command-to-first-packet over 100 switches and rollback reaction over 20 are"
	echo "the next steps of the benchmark issue; the end-to-end tests already print"
	echo "single measurements of the last two (\`make check\`)."
} > "$here/BENCHMARKS.md"
cat "$work/testrun.md" "$work/scale.md"
echo "written: BENCHMARKS.md, bench/ns-per-packet.png" >&2
