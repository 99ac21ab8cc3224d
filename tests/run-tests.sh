#!/bin/sh
# run-tests.sh - run every test group of `make check` and end with the line
# "N passed, N failed, N skipped" summing them up.  Each group prints its own
# such line; a group that ends without one, or fails without counting a
# failure, counts as one failed test.
#
# Environment (set by the Makefile): PYTHON, STOCK_PYTHON, PATCHED_SRC,
# STOCK_SRC, PYTHON_VERSION.
set -u
# Interpreter paths relative to the current directory stay valid in the
# groups, which run from the top of the tree and change directory.
abspath() {
    case $1 in
        /*) echo "$1" ;;
        */*) echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" ;;
        *) echo "$1" ;;     # a command name, looked up in PATH
    esac
}
[ -n "${PYTHON:-}" ] && PYTHON=$(abspath "$PYTHON") && export PYTHON
[ -n "${STOCK_PYTHON:-}" ] && STOCK_PYTHON=$(abspath "$STOCK_PYTHON") \
    && export STOCK_PYTHON
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_group() {
    name=$1
    shift
    echo "=== $name"
    "$@" >"$log" 2>&1
    status=$?
    cat "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "=== $name: no summary line (exit status $status): 1 failure"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
    echo "=== $name: $line"
}

run_group "source fetching" sh tests/test-fetch-source.sh
run_group "patch series" sh tests/test-patches.sh
run_group "PEP 445 hooks" sh tests/hooks/run.sh
run_group "ABI" sh tests/abi/run.sh
run_group "tracemalloc module" "$PYTHON" tests/run_unittests.py tests/module
run_group "snapshot files, service and report" \
    "$PYTHON" tests/run_unittests.py tests/snapshots
run_group "a leak in a running service, end to end" \
    "$PYTHON" tests/run_unittests.py tests/e2e
case ${PYTHON_VERSION:-2.7.18} in
2.*)
    # stress 60 s, sampled fault sweeps, fuzzing 3 x 20 s, regression tests
    run_group "short hardening (tests/stress/quick.sh)" \
        sh tests/stress/quick.sh
    # 3.3.7 from SOURCE33 or the download cache, else one skipped test
    run_group "Python 3.3.7 (tests/check33.sh)" sh tests/check33.sh
    ;;
*)
    run_group "short hardening (tests/stress/quick.sh)" \
        echo "0 passed, 0 failed, 1 skipped: its helpers are written for 2.7"
    ;;
esac

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
