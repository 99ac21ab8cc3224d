#!/bin/sh
# quick.sh - the short hardening group of `make check`: the stress
# scenarios (60 s in all), the fault sweeps sampled (--quick), each fuzz
# target for 20 s, and the regression tests of what these found.  A few
# minutes in all; the long versions are `make stress faults fuzz`.
#
# Usage: PYTHON=build/python2.7/bin/python2.7 tests/stress/quick.sh
# Ends with "N passed, N failed, N skipped" summing up its parts.
set -u
cd "$(dirname "$0")/../.." || exit 2
python=${PYTHON:?PYTHON must name the patched interpreter}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STRESS_HELPER_DIR="$work/helpers"

passed=0 failed=0 skipped=0
part() {      # name, command...
    name=$1
    shift
    echo "--- $name"
    "$@" >"$work/log" 2>&1
    status=$?
    cat "$work/log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "--- $name: no summary line (exit status $status): 1 failure"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

part "stress" "$python" tests/stress/stress.py --seconds 60
part "allocation failures" "$python" tests/stress/faults.py --quick
part "fuzzing" env PYTHON="$python" FUZZ_WORK="$work/fuzz" \
    sh tests/fuzz/run.sh 20
part "regressions" "$python" tests/run_unittests.py tests/stress \
    test_regressions.py
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
