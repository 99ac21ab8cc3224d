#!/bin/sh
# build-extension.sh - build a C extension with python2.7-pep445-dev
# (distutils, pytracemalloc.h) and run it traced; see ext/owntracks_test.py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${AUTOPKGTEST_TMP:-$(mktemp -d)}

python2.7-pep445-config --includes |
    grep -q -- '-I/usr/lib/python2.7-pep445/include/python2.7'
cp "$here/ext/owntracks.c" "$here/ext/setup.py" "$here/ext/owntracks_test.py" "$work/"
cd "$work"
python2.7-pep445 setup.py -q build_ext --inplace
python2.7-pep445 -X tracemalloc owntracks_test.py
