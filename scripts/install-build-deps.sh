#!/bin/sh
# install-build-deps.sh - make sure the Debian packages needed to build and
# test the interpreters are installed.  As root, install the missing ones with
# apt; otherwise print the exact apt-get command and fail.
set -eu

PACKAGES="gcc make patch quilt curl ca-certificates xz-utils
libssl-dev zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev libffi-dev
libexpat1-dev libncursesw5-dev libgdbm-dev libdb-dev abigail-tools"
# What only the tests need: a real browser for the HTML report; gdb for the
# C stacks that a hung stress round reports (tests/stress/quick.sh).  The
# fuzz targets of quick.sh build with gcc (its ASan and UBSan come with it)
# where clang cannot link libFuzzer.
TEST_PACKAGES="chromium gdb"

case "${1:-}" in
-h|--help)
    echo "Usage: scripts/install-build-deps.sh [--tests]"
    echo "Install (as root) or name (otherwise) the missing build packages"
    echo "(with --tests, also the test packages):"
    echo "$PACKAGES $TEST_PACKAGES" | tr '\n' ' '; echo
    exit 0 ;;
--tests)
    PACKAGES="$PACKAGES $TEST_PACKAGES" ;;
esac

missing=
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-build-deps: missing packages; run as root:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
fi
echo "install-build-deps: installing$missing"
apt-get update -qq
# shellcheck disable=SC2086  # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
