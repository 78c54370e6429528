#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Removes the pin directories that tests, fuzzers and benchmarks left behind
# when they died: /sys/fs/bpf/xdpsplit-test-[e2e-]PID[-N][-libxdp] whose
# process is gone. Those of a run still going (another make check, a helper's
# test) are left alone. Prints each one it removes.
for dir in /sys/fs/bpf/xdpsplit-test-*; do
	[ -d "$dir" ] || continue
	pid=$(basename "$dir" | sed -n 's/^xdpsplit-test-\(e2e-\)\{0,1\}\([0-9][0-9]*\).*/\2/p')
	# no pid in the name: not one of ours to judge; a live pid (seen in
	# /proc, whoever owns it): still in use
	[ -z "$pid" ] || [ -d "/proc/$pid" ] && continue
	echo "removing leftover pins in $dir" >&2
	rm -rf "$dir"
done
