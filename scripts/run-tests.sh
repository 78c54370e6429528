#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the BPF/unit tests, the end-to-end tests in network namespaces and a
# short run of each fuzz target, and ends with one line counting them all. Removes any pin directory a crashed
# run left behind, so a failed run never poisons the next.
# Usage: run-tests.sh TEST_BINARY [FILTER]
set -u
tests="$1"; shift
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" != 0 ]; then
	echo "Error: the tests load BPF programs and make network namespaces; run 'make check' as root" >&2
	exit 2
fi

passed=0 failed=0 skipped=0
count() {
	local summary
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$summary" ]; then
		failed=$((failed + 1)) # the runner died before its summary
		return
	fi
	passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$summary" | cut -d' ' -f3 | tr -d ,)))
	skipped=$((skipped + $(echo "$summary" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p' | grep . || echo 0)))
}

log=$(mktemp)
"$tests" "$@" | tee "$log"
count "$log"
/usr/bin/python3 "$here/tests/e2e/run.py" "$@" | tee "$log"
count "$log"
# a short run of every fuzz target (make fuzz runs them longer)
if [ $# -eq 0 ]; then
	"$here/scripts/fuzz.sh" "$(dirname "$tests")" 5 | tee "$log"
	count "$log"
fi
rm -f "$log"

"$here/scripts/clean-pins.sh"
if [ "$skipped" -gt 0 ]; then
	echo "total: $passed passed, $failed failed, $skipped skipped"
else
	echo "total: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
