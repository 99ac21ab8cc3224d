#!/bin/sh
# tests/abi/run.sh - the ABI tests: the PEP 445 interpreter against what was
# built for the stock one.  Run from anywhere (tests/run-tests.sh runs it
# from the top of the tree); ends with "N passed, N failed, N skipped".
#
#  1. builds tests/abi/_stockext.c with the STOCK interpreter's headers and
#     compiler flags, like an extension that a distribution built years ago,
#     with -Wall -Wextra, into a temporary directory;
#  2. runs tests/abi/test_*.py with the PATCHED interpreter.
#
# Environment:
#   PYTHON        patched interpreter   (default build/python2.7/bin/python2.7)
#   STOCK_PYTHON  stock interpreter     (default build/python2.7-stock/bin/python2.7)
#   CC            compiler              (default: the stock interpreter's CC, else gcc)
#   STOCK_LIBPYTHON, PATCHED_LIBPYTHON
#                 the two libpython2.7.so.1.0 (libpython3.3m.so.1.0...)
#                 compared (default: lib/ next to each interpreter's bin/)
#   ABI_ITERATIONS, ABI_KNOWN_BREAKS, ABI_SERIES_DIR, ABIDIFF_REPORT,
#   PATCHED_INCLUDE, STOCK_INCLUDE
#                 passed to test_abi.py (see its docstring)
#   ABI_KEEP      if set, keep the temporary directory and print its name
#
# The --with-pydebug pair:
#   PYTHON=build/python2.7-dbg/bin/python2.7 \
#   STOCK_PYTHON=build/python2.7-stock-dbg/bin/python2.7 sh tests/abi/run.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)

PYTHON=${PYTHON:-build/python2.7/bin/python2.7}
STOCK_PYTHON=${STOCK_PYTHON:-build/python2.7-stock/bin/python2.7}
case $PYTHON in /*) ;; *) PYTHON=$top/$PYTHON ;; esac
case $STOCK_PYTHON in /*) ;; *) STOCK_PYTHON=$top/$STOCK_PYTHON ;; esac

for python in "$PYTHON" "$STOCK_PYTHON"; do
    if [ ! -x "$python" ]; then
        echo "run.sh: $python is missing (make interpreter stock)" >&2
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
    fi
done

# _stockext.c and the tests are written for the 2.7 and 3.3 C API and ABI.
version=$("$STOCK_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case $version in
    2.7|3.3) ;;
    *)  echo "run.sh: the ABI tests are written for Python 2.7 and 3.3, not $version: skipped"
        echo "0 passed, 0 failed, 1 skipped"
        exit 0 ;;
esac

libpython() {
    # lib/libpython2.7.so.1.0 (3.3: libpython3.3m.so.1.0) of an interpreter
    # installed as PREFIX/bin/python2.7
    echo "$(dirname "$(dirname "$1")")/lib/$("$1" -c \
        'import sysconfig; print(sysconfig.get_config_var("INSTSONAME"))')"
}
STOCK_LIBPYTHON=${STOCK_LIBPYTHON:-$(libpython "$STOCK_PYTHON")}
PATCHED_LIBPYTHON=${PATCHED_LIBPYTHON:-$(libpython "$PYTHON")}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/abi-test.XXXXXX") || exit 1
if [ -n "${ABI_KEEP:-}" ]; then
    echo "run.sh: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 130' INT TERM

# The stock interpreter's headers and flags, as distutils would use them.
"$STOCK_PYTHON" -c '
import sysconfig
v = sysconfig.get_config_var
print(sysconfig.get_paths()["include"])
print(v("CC") or "gcc")
print(" ".join(x for x in (v("CFLAGS"), v("CCSHARED")) if x))
' >"$tmp/config" || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
include=$(sed -n 1p "$tmp/config")
cc=${CC:-$(sed -n 2p "$tmp/config" | cut -d' ' -f1)}
cflags=$(sed -n 3p "$tmp/config")
# 3.3's PyMem_MALLOC(n) tests "(n) ? (n) : 1", which gcc 7 and later flag
# when n is a product (PyMem_NEW); 2.7's tests "(n) != 0".  A warning of
# the stock header, not of the extension.
[ "$version" = 3.3 ] && cflags="$cflags -Wno-int-in-bool-context"

if grep -q Py_PEP445_BACKPORT "$include/pymem.h"; then
    echo "run.sh: $include has the PEP 445 headers: not a stock interpreter" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

# No -lpython2.7: like the distributions' extensions, the symbols come from
# the interpreter that loads the module.
echo "run.sh: $cc $cflags -Wall -Wextra -I$include -shared _stockext.c"
# shellcheck disable=SC2086
$cc $cflags -Wall -Wextra -I"$include" -shared \
    -o "$tmp/_stockext.so" tests/abi/_stockext.c >"$tmp/build.log" 2>&1
status=$?
cat "$tmp/build.log"
if [ "$status" -ne 0 ]; then
    echo "run.sh: building _stockext failed (exit status $status)"
fi

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$tmp${PYTHONPATH:+:$PYTHONPATH}" \
STOCKEXT_DIR="$tmp" STOCKEXT_BUILD_LOG="$tmp/build.log" \
STOCK_PYTHON="$STOCK_PYTHON" \
STOCK_LIBPYTHON="$STOCK_LIBPYTHON" PATCHED_LIBPYTHON="$PATCHED_LIBPYTHON" \
    "$PYTHON" tests/run_unittests.py tests/abi
status=$?
exit $status
