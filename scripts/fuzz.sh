#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs each libFuzzer target for SECONDS from the committed seed corpus (in a
# working copy, so the repository is not touched). A crash is a failure and
# leaves its input in BUILD/fuzz/ to become a regression seed.
# Usage: fuzz.sh BUILD_DIR SECONDS
set -u
build="$1" seconds="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
passed=0 failed=0
for target in config arguments control state audit packets etcd flow_share \
	fleet_documents; do
	work="$build/fuzz/corpus-$target"
	mkdir -p "$work"
	cp -n "$here/tests/fuzz/corpus/$target/"* "$work/" 2>/dev/null
	log="$build/fuzz/$target.log"
	if "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=5 \
		-rss_limit_mb=2048 -artifact_prefix="$build/fuzz/$target-" "$work" \
		> "$log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | cut -d' ' -f2)
		echo "ok   fuzz: $target (${runs:-?} runs in ${seconds}s, $(( ${runs:-0} / seconds )) a second)"
		# the packet fuzzer says what its invariants were checked on
		grep -h '^fuzz_packets:' "$log" | sed 's/^/     /'
		passed=$((passed + 1))
	else
		echo "FAIL fuzz: $target (see $log)"
		tail -20 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
rm -rf /tmp/xdpsplit-fuzz-state-*
# a packet fuzzer that crashed left its pin directory
"$here/scripts/clean-pins.sh" 2>/dev/null
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
