#!/bin/sh
# run-asan.sh - the module tests (tests/module), the stress tests and the
# fault sweeps on the interpreter and module built with AddressSanitizer
# and UndefinedBehaviorSanitizer (`make asan`).
#
# Usage: PYTHON=build/python2.7-asan/bin/python2.7 tests/sanitizers/run-asan.sh
#        [STRESS_SECONDS]                        (default 120)
#
# PYTHONMALLOC=malloc: every block comes from malloc(), so ASan sees each
# one (pymalloc's arenas would hide them); the module tests also run a
# second time with pymalloc, since test_tracer_out_of_memory relies on it
# (its failing allocator sits under RAW only, where pymalloc sends big
# blocks).  Not run: fork() from a multi-threaded process (the fork stress
# scenario, test_fork_while_threads_allocate): the children deadlock in
# ASan's own allocator, whose locks gcc 12's libasan does not take around
# fork() (LLVM added that in 2023, llvm-project pull request 75290); the
# other builds run them.  ASAN_OPTIONS=detect_leaks=0:
# the interpreter does not free everything at exit, by design, and
# LeakSanitizer would report that in every process.  Every report goes to
# a file of build/sanitizers/ (log_path): any ASan report fails; a UBSan
# report fails when it is in the tracer or the tests, and is listed as
# CPython's own otherwise.  Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 2
python=${PYTHON:?PYTHON must name the sanitizer build\'s interpreter}
seconds=${1:-120}
logs=$(pwd)/build/sanitizers
rm -rf "$logs"
mkdir -p "$logs"

export PYTHONMALLOC=malloc
export ASAN_OPTIONS="detect_leaks=0:log_path=$logs/asan:handle_abort=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:report_error_type=1:log_path=$logs/ubsan"
export STRESS_HELPER_DIR="$logs/helpers"
export TRACERTEST_DIR="$logs/helpers"
"$python" -c 'import sys; sys.path.insert(0, "tests/stress"); import support; support.build_helpers()' \
    || { echo "run-asan: cannot build the test helpers"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
group() {      # name, command...
    name=$1
    shift
    echo "=== $name"
    "$@" >"$logs/$name.log" 2>&1
    status=$?
    tail -n 5 "$logs/$name.log"
    if [ $status -eq 0 ]; then
        passed=$((passed + 1)); echo "ok      $name"
    else
        failed=$((failed + 1)); echo "FAILED  $name (exit status $status, $logs/$name.log)"
    fi
}

# the module tests with an allocator (PYTHONMALLOC), but those named
module_tests() {    # allocator, names of tests to leave out...
    allocator=$1
    shift
    PYTHONMALLOC=$allocator "$python" tests/sanitizers/module_tests.py "$@"
}

group module-tests module_tests malloc test_fork_while_threads_allocate \
    test_tracer_out_of_memory
group module-tests-pymalloc module_tests pymalloc \
    test_fork_while_threads_allocate
group stress "$python" tests/stress/stress.py --seconds "$seconds" \
    threads signals service
group faults "$python" tests/stress/faults.py --quick

# ---- the sanitizers' reports
asan_reports=$(ls "$logs"/asan.* 2>/dev/null | wc -l)
if [ "$asan_reports" -ne 0 ]; then
    failed=$((failed + 1))
    echo "FAILED  AddressSanitizer: $asan_reports reports, the first:"
    head -n 40 "$(ls "$logs"/asan.* | head -n 1)"
else
    passed=$((passed + 1)); echo "ok      AddressSanitizer: no report"
fi
# UBSan: "path:line:col: runtime error: ..." lines, by file and line
cat "$logs"/ubsan.* 2>/dev/null | grep 'runtime error' \
    | sed -E 's/^[^ ]*\/([^/ ]+:[0-9]+:[0-9]+:)/\1/' \
    | sort | uniq -c | sort -rn >"$logs/ubsan-summary.txt"
mine='^ *[0-9]+ (_tracemalloc|tracemalloc_tables|tracemalloc_tracebacks|_tracertest|_faultalloc|_testpep445)\.c:'
ours=$(grep -E "$mine" "$logs/ubsan-summary.txt")
theirs=$(grep -vcE "$mine" "$logs/ubsan-summary.txt")
if [ -n "$ours" ]; then
    failed=$((failed + 1))
    echo "FAILED  UBSan reports in the tracer or the tests:"
    echo "$ours"
else
    passed=$((passed + 1))
    echo "ok      UBSan: none in the tracer or the tests; $theirs distinct" \
        "places in CPython itself ($logs/ubsan-summary.txt)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
