#!/bin/sh
# compare.sh - run CPython's regression suite on the stock and on the patched
# interpreter and compare the sets of failing tests.  Writes a report to
# RESULT and fails if the patched interpreter fails a test the stock one
# passes.
#
# Usage: tests/regrtest/compare.sh STOCK_PYTHON PATCHED_PYTHON RESULT
# Environment: REGRTEST_ARGS (default "-j2"), REGRTEST_ENV (extra variables
# for the patched run only, e.g. "PYTHONTRACEMALLOC=1").
set -eu
[ $# -eq 3 ] || { sed -n '2,10p' "$0"; exit 2; }
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
stock=$(absolute "$1") patched=$(absolute "$2") result=$3
args=${REGRTEST_ARGS:--j2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# PYTHONDONTWRITEBYTECODE breaks test_distutils; run from an empty directory.
run() {     # name, python, extra environment...
    name=$1 python=$2
    shift 2
    start=$(date +%s)
    # shellcheck disable=SC2086  # REGRTEST_ARGS is a list of words
    (cd "$tmp" && env -u PYTHONDONTWRITEBYTECODE "$@" \
        timeout 3h "$python" -m test.regrtest $args) >"$tmp/$name.log" 2>&1 || true
    echo $(( $(date +%s) - start )) >"$tmp/$name.seconds"
    # The summary lists tests after "N tests failed:" / "N tests skipped:".
    for kind in failed skipped; do
        sed -n "/tests\{0,1\} $kind:\$/,/^[^ ]/p" "$tmp/$name.log" \
            | grep '^    ' | tr ' ' '\n' | grep . | sort >"$tmp/$name.$kind"
    done
    grep -E '^[0-9]+ tests? OK\.$|^All [0-9]+ tests OK\.$' "$tmp/$name.log" \
        | grep -oE '[0-9]+' | head -n 1 >"$tmp/$name.ok" || echo 0 >"$tmp/$name.ok"
}

run stock "$stock"
# shellcheck disable=SC2086
run patched "$patched" ${REGRTEST_ENV:-}

for name in stock patched; do
    if [ "$(cat "$tmp/$name.ok")" -eq 0 ]; then
        echo "compare.sh: no test passed on $name; its log ends with:" >&2
        tail -n 20 "$tmp/$name.log" >&2
        exit 1
    fi
done
new=$(comm -13 "$tmp/stock.failed" "$tmp/patched.failed" | tr '\n' ' ')
gone=$(comm -23 "$tmp/stock.failed" "$tmp/patched.failed" | tr '\n' ' ')
{
    echo "regrtest $(date -u +%Y-%m-%d), args: $args${REGRTEST_ENV:+, patched with $REGRTEST_ENV}"
    for name in stock patched; do
        printf '%-8s %4s OK, %3s failed, %3s skipped, %5ss: %s\n' "$name" \
            "$(cat "$tmp/$name.ok")" "$(wc -l <"$tmp/$name.failed")" \
            "$(wc -l <"$tmp/$name.skipped")" "$(cat "$tmp/$name.seconds")" \
            "$(tr '\n' ' ' <"$tmp/$name.failed")"
    done
    echo "failing only when patched: ${new:-none}"
    echo "failing only when stock:   ${gone:-none}"
} | tee "$result"
[ -z "$new" ]
