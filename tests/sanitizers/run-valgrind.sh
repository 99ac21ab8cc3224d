#!/bin/sh
# run-valgrind.sh - the module tests (tests/module) under valgrind's
# memcheck: first with every block from malloc() (PYTHONMALLOC=malloc), so
# that memcheck sees each one, then with pymalloc (test_tracer_out_of_memory
# relies on it; so do children that a test starts with a clean
# environment), whose deliberate reads of arena headers are suppressed as
# CPython's Misc/valgrind-python.supp does (valgrind-python.supp).
#
# Usage: PYTHON=build/python2.7/bin/python2.7 tests/sanitizers/run-valgrind.sh
#
# Errors count (invalid reads and writes, uninitialised values, bad frees);
# leaks do not (the interpreter does not free everything at exit).  Child
# interpreters are traced too, compilers and Python 3 are not.  One log per
# process in build/valgrind/.  Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 2
python=${PYTHON:?PYTHON must name the patched interpreter}
logs=$(pwd)/build/valgrind
rm -rf "$logs"
mkdir -p "$logs"
command -v valgrind >/dev/null || {
    echo "run-valgrind: valgrind is missing (apt-get install valgrind)"
    echo "0 passed, 1 failed"; exit 1; }

# the C helper is built once, outside valgrind
export TRACERTEST_DIR="$logs/helpers"
STRESS_HELPER_DIR="$TRACERTEST_DIR" "$python" -c 'import sys
sys.path.insert(0, "tests/stress"); import support
support.build_helpers(["_tracertest"])' || exit 1

passed=0 failed=0
memcheck() {    # name, allocator, names of tests to leave out...
    name=$1 allocator=$2
    shift 2
    mkdir -p "$logs/$name"
    PYTHONMALLOC=$allocator valgrind --tool=memcheck --error-exitcode=99 \
        --leak-check=no --num-callers=30 --trace-children=yes \
        --trace-children-skip='*/gcc*,*/cc1*,*/as,*/ld,*/collect2,*python3*,/bin/*,/usr/bin/*' \
        --suppressions=tests/sanitizers/valgrind-python.supp \
        --log-file="$logs/$name/memcheck.%p" \
        "$python" tests/sanitizers/module_tests.py "$@" >"$logs/$name.log" 2>&1
    status=$?
    tail -n 1 "$logs/$name.log"
    errors=$(grep -h 'ERROR SUMMARY' "$logs/$name"/memcheck.* | awk '{s += $4} END {print s + 0}')
    processes=$(find "$logs/$name" -name 'memcheck.*' | wc -l)
    if [ "$status" -eq 0 ] && [ "$errors" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok      memcheck, $name: $processes processes, 0 errors"
    else
        failed=$((failed + 1))
        echo "FAILED  memcheck, $name: exit status $status, $errors errors in $processes processes; the first:"
        grep -l 'ERROR SUMMARY: [1-9]' "$logs/$name"/memcheck.* | head -n 1 | xargs -r sed -n '1,60p'
    fi
}

memcheck malloc malloc test_tracer_out_of_memory
memcheck pymalloc pymalloc
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
