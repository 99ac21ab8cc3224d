#!/bin/sh
# run.sh - build the fuzz targets and run each for a bounded time.
#
# Usage: tests/fuzz/run.sh [SECONDS]          (default 60 per target)
# Environment:
#   PYTHON       the patched interpreter (its headers and libpython)
#   FUZZ_ENGINE  libfuzzer (clang -fsanitize=fuzzer, coverage-guided) or
#                driver (gcc and tests/fuzz/driver.c: corpus plus random
#                mutations, no coverage); default: libfuzzer when clang
#                can link a fuzzer, else driver
#   FUZZ_WORK    where binaries, the growing corpora and crash inputs go
#                (default build/fuzz)
#   ASAN_PYTHON  if it exists, the grown snapshot corpus is replayed on
#                this AddressSanitizer build of the interpreter afterwards
#
# Targets: tables (fuzz_tables.c: the trace table against a model),
# tracebacks (fuzz_tracebacks.c: capture, interning and the frame caches of
# the traceback store against a model), both built with AddressSanitizer
# and UBSan, and snapshot (fuzz_snapshot.c: the snapshot loader of the
# embedded interpreter).  A crash leaves its input
# in FUZZ_WORK/artifacts/; the line printed says how to replay it.  Ends
# with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 2
seconds=${1:-60}
python=${PYTHON:-build/python2.7/bin/python2.7}
python=$(cd "$(dirname "$python")" && pwd)/$(basename "$python")
prefix=$(dirname "$(dirname "$python")")
work=${FUZZ_WORK:-build/fuzz}
fuzz=$(pwd)/tests/fuzz
mkdir -p "$work/artifacts" "$work/corpus/tables" "$work/corpus/tracebacks" \
    "$work/corpus/snapshot"
work=$(cd "$work" && pwd)
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')

engine=${FUZZ_ENGINE:-}
if [ -z "$engine" ]; then
    engine=driver
    if command -v clang >/dev/null 2>&1 && echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' \
        | clang -x c -fsanitize=fuzzer -o "$work/probe" - >/dev/null 2>&1; then
        engine=libfuzzer
    fi
    rm -f "$work/probe"
fi

passed=0 failed=0
result() {     # name, status, detail
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok      $1: $3"
    else
        failed=$((failed + 1)); echo "FAILED  $1: $3"
    fi
}

# ---- build
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if [ "$engine" = libfuzzer ]; then
    cc="clang -g -O1 -fno-omit-frame-pointer"
    tables_flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
    # libpython is not instrumented: no ASan in a process that runs it
    # (pymalloc would hide most blocks anyway); see ASAN_PYTHON below
    snapshot_flags="-fsanitize=fuzzer"
    driver=
else
    cc="gcc -g -O1 -fno-omit-frame-pointer"
    tables_flags=$sanitize
    snapshot_flags=
    driver=$fuzz/driver.c
fi
echo "fuzz: engine $engine, $seconds s per target, work directory $work"
# shellcheck disable=SC2086  # flag lists
if ! $cc $tables_flags -Ibackport -I"$include" -o "$work/fuzz_tables" \
        "$fuzz/fuzz_tables.c" backport/tracemalloc_tables.c $driver; then
    echo "fuzz: cannot build fuzz_tables"; echo "0 passed, 1 failed"; exit 1
fi
# shellcheck disable=SC2086
if ! $cc $tables_flags -Ibackport -I"$include" -DFUZZ_PYTHON="\"$python\"" \
        -o "$work/fuzz_tracebacks" "$fuzz/fuzz_tracebacks.c" \
        backport/tracemalloc_tracebacks.c backport/tracemalloc_tables.c \
        $driver -L"$prefix/lib" -lpython2.7 -Wl,-rpath,"$prefix/lib"; then
    echo "fuzz: cannot build fuzz_tracebacks"; echo "0 passed, 1 failed"; exit 1
fi
# shellcheck disable=SC2086
if ! $cc $snapshot_flags -I"$include" -DFUZZ_PYTHON="\"$python\"" \
        -DFUZZ_DIR="\"$fuzz\"" -o "$work/fuzz_snapshot" \
        "$fuzz/fuzz_snapshot.c" $driver -L"$prefix/lib" -lpython2.7 \
        -Wl,-rpath,"$prefix/lib"; then
    echo "fuzz: cannot build fuzz_snapshot"; echo "0 passed, 1 failed"; exit 1
fi

# ---- run
run_target() {     # name, dictionary or empty, ASAN_OPTIONS
    name=$1 dict=$2 asan=$3
    log=$work/$name.log
    set -- "$work/fuzz_$name" -max_total_time="$seconds" \
        -artifact_prefix="$work/artifacts/$name-" -max_len=4096 \
        -print_final_stats=1 ${dict:+-dict="$dict"}
    if [ "$engine" = libfuzzer ]; then
        set -- "$@" -rss_limit_mb=2048 -timeout=25 \
            "$work/corpus/$name" "$fuzz/corpus/$name"
    else
        set -- "$@" -artifact="$work/artifacts/$name-last-input" \
            "$fuzz/corpus/$name"
    fi
    (cd "$work" && ASAN_OPTIONS=$asan "$@") >"$log" 2>&1
    status=$?
    if [ "$engine" = libfuzzer ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
        corpus=$(ls "$work/corpus/$name" | wc -l)
        detail="${runs:-?} executions in $seconds s, $cov, corpus $corpus"
    else
        detail=$(grep '^driver: .* inputs run' "$log" | sed 's/^driver: //')
    fi
    if [ $status -ne 0 ]; then
        tail -n 40 "$log"
        crash=$(ls -t "$work/artifacts/$name-"* 2>/dev/null | head -n 1)
        detail="exit status $status; input ${crash:-?}; replay: $work/fuzz_$name ${crash:-INPUT}"
    fi
    result "$name" $status "$detail"
}

run_target tables "" detect_leaks=1
# (the embedded interpreter does not free everything: no leak detection)
run_target tracebacks "" detect_leaks=0
run_target snapshot "$fuzz/snapshot.dict" detect_leaks=0

# ---- the snapshot corpus on the AddressSanitizer interpreter (cPickle is
# ---- C): every input refused or loaded, no ASan report
if [ -n "${ASAN_PYTHON:-}" ] && [ -x "${ASAN_PYTHON}" ]; then
    log=$work/snapshot-asan.log
    ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc "$ASAN_PYTHON" -c '
import os, sys
sys.path.insert(0, sys.argv[1])
import snapshot_target
count = 0
for directory in sys.argv[2:]:
    for name in sorted(os.listdir(directory)):
        snapshot_target.check(os.path.join(directory, name))
        count += 1
print("%d inputs" % count)
' "$fuzz" "$fuzz/corpus/snapshot" "$work/corpus/snapshot" >"$log" 2>&1
    status=$?
    [ $status -ne 0 ] && tail -n 40 "$log"
    result "snapshot corpus on $ASAN_PYTHON" $status "$(tail -n 1 "$log")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
