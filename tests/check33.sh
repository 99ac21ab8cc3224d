#!/bin/sh
# check33.sh - the Python 3.3.7 group of `make check`, and `make check33`:
# builds the patched and the stock 3.3.7 (patches/3.3) and runs the test
# groups on them (`make check PYTHON_VERSION=3.3.7`).  Ends with the line
# "N passed, N failed, N skipped".
#
# The 3.3.7 source is never downloaded here (CI cannot reach python.org):
# it is $SOURCE33 (a pinned Python-3.3.7 tarball or an unpacked source tree,
# see scripts/fetch-source.sh), else Python-3.3.7.tar.xz or .tgz in the
# download cache $DOWNLOADS.  Without either, one line says so and the
# group counts as one skipped test, never as passed.
#
# Environment: SOURCE33, DOWNLOADS (default downloads/), PYDEBUG (yes: the
# --with-pydebug builds).
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
downloads=${DOWNLOADS:-$top/downloads}

source=${SOURCE33:-}
if [ -n "$source" ]; then
    what="SOURCE33=$source"
elif [ -f "$downloads/Python-3.3.7.tar.xz" ] || [ -f "$downloads/Python-3.3.7.tgz" ]; then
    what="the download cache $downloads"
else
    echo "0 passed, 0 failed, 1 skipped: Python 3.3.7 not tested, no source" \
        "(set SOURCE33 to a Python-3.3.7 tarball or source tree, or put" \
        "Python-3.3.7.tar.xz in $downloads; it is never downloaded)"
    exit 0
fi

# A make of its own: nothing of the calling make's command line (PREFIX,
# PYTHON_VERSION...) may reach the 3.3 build.
make33() {
    env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL \
        make -C "$top" PYTHON_VERSION=3.3.7 SOURCE="$source" \
        PYDEBUG="${PYDEBUG:-}" "$@"
}

mkdir -p "$top/build" || exit 1
log=$top/build/check33-build.log
echo "check33: building the patched and the stock Python 3.3.7 from $what" \
    "(log: $log)"
if ! make33 all stock >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "check33: the 3.3.7 build failed (the whole log: $log)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
# Its last line is the total of the 3.3 groups.
make33 check
