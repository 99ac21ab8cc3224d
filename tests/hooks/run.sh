#!/bin/sh
# run.sh - build the _testpep445 extension against the patched interpreter's
# headers into a temporary directory, then run the hook tests with it.
#
# Environment: PYTHON, the patched interpreter (default: the one `make`
# installs into build/python2.7); CC (default: gcc).  The compiler's
# messages go to a log that test_hooks.py requires to be empty.
set -u
cd "$(dirname "$0")/../.." || exit 1

PYTHON=${PYTHON:-$PWD/build/python2.7/bin/python2.7}
CC=${CC:-gcc}

if [ ! -x "$PYTHON" ]; then
    echo "run.sh: no interpreter at $PYTHON (run make first)" >&2
    exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

include=$("$PYTHON" -c \
    'import sysconfig; print(sysconfig.get_config_var("INCLUDEPY"))') || exit 1

# C89 plus what gcc 4.4 knows; warnings are collected, not fatal.
if ! $CC -std=gnu89 -fPIC -shared -pthread -g -O2 -fno-strict-aliasing \
        -Wall -Wextra -Wdeclaration-after-statement -Wstrict-prototypes \
        -I"$include" -o "$tmp/_testpep445.so" tests/hooks/_testpep445.c \
        >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "run.sh: building _testpep445 failed" >&2
    exit 1
fi
cat "$tmp/build.log"

HOOKS_BUILD_LOG=$tmp/build.log
PYTHONPATH=$tmp${PYTHONPATH:+:$PYTHONPATH}
export HOOKS_BUILD_LOG PYTHONPATH
"$PYTHON" tests/run_unittests.py tests/hooks
