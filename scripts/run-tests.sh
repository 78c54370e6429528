#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the test binary as root and removes any pin directory a crashed run
# left behind, so a failed run never poisons the next.
set -u
tests="$1"; shift
if [ "$(id -u)" != 0 ]; then
	echo "Error: the tests load BPF programs and make network namespaces; run 'sudo make check'" >&2
	exit 2
fi
"$tests" "$@"
rc=$?
for dir in /sys/fs/bpf/xdpsplit-test-*; do
	[ -d "$dir" ] || continue
	echo "warning: removing leftover pins in $dir" >&2
	rm -rf "$dir"
done
exit $rc
