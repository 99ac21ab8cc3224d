#!/bin/sh
# shellcheck disable=SC2016 # the sh -c snippets expand their own "$1"
# test-fetch-source.sh - tests for scripts/fetch-source.sh.
#
# Runs offline: python.org is replaced by a file:// URL that does not exist
# and apt's configuration by fake ones (with file:// "mirrors").  The good
# tarball/Debian files come from a local cache: $FETCH_SOURCE_TEST_CACHE,
# else downloads/ of this tree, else /work/cache (the first one holding
# python2.7_2.7.18.orig.tar.gz or Python-2.7.18.tgz); cases needing it are
# skipped without one.
# FETCH_SOURCE_TEST_NETWORK=1 adds a case that downloads from the Debian
# mirror of this machine's apt configuration into an empty cache.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd -P)
script=$top/scripts/fetch-source.sh

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
skip() { echo "ok - $1 # SKIP $2"; }
# check DESCRIPTION COMMAND...: ok if COMMAND succeeds
check() {
    c_desc=$1
    shift
    if "$@"; then ok "$c_desc"; else not_ok "$c_desc"; show; fi
}

T=$(mktemp -d "${TMPDIR:-/tmp}/test-fetch-source.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A local cache with the good files, if there is one.
CACHE=
for d in ${FETCH_SOURCE_TEST_CACHE:-} "$top/downloads" /work/cache; do
    if [ -f "$d/python2.7_2.7.18.orig.tar.gz" ] || [ -f "$d/Python-2.7.18.tgz" ]; then
        CACHE=$d
        break
    fi
done
GOOD=
if [ -n "$CACHE" ]; then
    if [ -f "$CACHE/python2.7_2.7.18.orig.tar.gz" ]; then
        GOOD=$CACHE/python2.7_2.7.18.orig.tar.gz
    else
        GOOD=$CACHE/Python-2.7.18.tgz
    fi
fi
DEB_DSC=python2.7_2.7.18-8+deb11u1.dsc
DEB_DIFF=python2.7_2.7.18-8+deb11u1.diff.gz
HAVE_DEB=
if [ -n "$CACHE" ] && [ -f "$CACHE/$DEB_DSC" ] && [ -f "$CACHE/$DEB_DIFF" ]; then
    HAVE_DEB=yes
fi

mkdir "$T/apt-empty"

# run NAME [VAR=value...] -- ARGS...: run fetch-source in an isolated
# environment; stdout/stderr/exit status land in $T/NAME.{out,err,rc}.
run() {
    r_name=$1
    shift
    r_env=
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        r_env="$r_env $1"
        shift
    done
    shift
    r_rc=0
    # shellcheck disable=SC2086 # r_env is a list of VAR=value words
    (
        unset SOURCE
        exec env DOWNLOADS="$T/dl-$r_name" \
            FETCH_SOURCE_PYTHON_ORG="file://$T/no-python-org" \
            FETCH_SOURCE_APT_ETC="$T/apt-empty" $r_env \
            "$script" "$@"
    ) >"$T/$r_name.out" 2>"$T/$r_name.err" || r_rc=$?
    echo "$r_rc" >"$T/$r_name.rc"
    LAST=$r_name
}
rc_is() { [ "$(cat "$T/$LAST.rc")" = "$1" ]; }
rc_nonzero() { ! rc_is 0; }
err_has() { grep -qF -- "$1" "$T/$LAST.err"; }
err_lines() { [ "$(wc -l <"$T/$LAST.err" | tr -d ' ')" = "$1" ]; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
no_temp_left() { [ -z "$(find "$1" -maxdepth 1 -name '.fetch-source.*' -print)" ]; }
show() { sed 's/^/#   /' "$T/$LAST.err"; echo "#   exit $(cat "$T/$LAST.rc")"; }
# py_is DIR VERSION: DIR/Include/patchlevel.h says PY_VERSION VERSION
py_is() {
    [ "$(sed -n 's/^#define[[:space:]]*PY_VERSION[[:space:]]*"\(.*\)".*/\1/p' "$1/Include/patchlevel.h")" = "$2" ]
}
# last_err_starts TEXT / last_err_has TEXT: about the last line of stderr
last_err_starts() { [ "$(tail -n 1 "$T/$LAST.err" | cut -c "1-${#1}")" = "$1" ]; }
last_err_has() { tail -n 1 "$T/$LAST.err" | grep -qF -- "$1"; }

# --- usage ---------------------------------------------------------------

run help -- --help
check "--help exits 0 and describes the script" \
    sh -c 'rc_ok=$(cat "$1/help.rc"); [ "$rc_ok" = 0 ] && grep -q "pristine" "$1/help.out"' sh "$T"

run unknown -- 2.7.17 "$T/out/unknown"
check "unknown version: exit 2" rc_is 2
check "unknown version: the one-line message" \
    sh -c '[ "$(cat "$1")" = "fetch-source: unknown version 2.7.17 (known: 2.7.18, 3.3.7)" ]' sh "$T/unknown.err"
check "unknown version: no DESTDIR" absent "$T/out/unknown"

run debian33 -- --base debian 3.3.7 "$T/out/debian33"
check "--base debian with 3.3.7: exit 2" rc_is 2

run badbase -- --base ubuntu 2.7.18 "$T/out/badbase"
check "unknown --base: exit 2" rc_is 2

run noargs -- 2.7.18
check "missing DESTDIR: exit 2" rc_is 2

# --- DESTDIR ---------------------------------------------------------------

mkdir -p "$T/out/exists"
echo keep >"$T/out/exists/file"
run exists -- 2.7.18 "$T/out/exists"
check "DESTDIR exists: non-zero exit" rc_nonzero
check "DESTDIR exists: says so" err_has "already exists"
check "DESTDIR exists: left untouched" \
    sh -c '[ "$(ls -A "$1")" = file ] && [ "$(cat "$1/file")" = keep ]' sh "$T/out/exists"

# --- SOURCE tarball ----------------------------------------------------------

printf 'not a python tarball\n' >"$T/bad.tgz"
run badsrc SOURCE="$T/bad.tgz" -- 2.7.18 "$T/out/badsrc"
check "SOURCE tarball with wrong content: non-zero exit" rc_nonzero
check "SOURCE tarball with wrong content: checksum message" err_has "checksum mismatch: SOURCE=$T/bad.tgz"
check "SOURCE tarball with wrong content: names the expected hash" \
    err_has "da3080e3b488f648a3d7a4560ddee895284c3380b11d6de75edb986526b9a814"
check "SOURCE tarball with wrong content: no DESTDIR" absent "$T/out/badsrc"
check "SOURCE tarball with wrong content: no temporary dir left" no_temp_left "$T/out"
check "SOURCE tarball with wrong content: user's file kept" test -f "$T/bad.tgz"

run nosrc SOURCE="$T/does-not-exist.tgz" -- 2.7.18 "$T/out/nosrc"
check "SOURCE missing: non-zero exit, no fallthrough" \
    sh -c '[ "$(cat "$1/nosrc.rc")" != 0 ] && grep -q "no such file" "$1/nosrc.err" && [ ! -e "$1/out/nosrc" ]' sh "$T"

if [ -n "$GOOD" ]; then
    run goodsrc SOURCE="$GOOD" -- 2.7.18 "$T/out/goodsrc"
    check "good SOURCE tarball: exit 0" rc_is 0
    check "good SOURCE tarball: tree with Include/patchlevel.h" test -f "$T/out/goodsrc/Include/patchlevel.h"
    check "good SOURCE tarball: contents directly in DESTDIR, PY_VERSION 2.7.18" \
        py_is "$T/out/goodsrc" 2.7.18
    check "good SOURCE tarball: no temporary dir left" no_temp_left "$T/out"

    run wrongver SOURCE="$GOOD" -- 3.3.7 "$T/out/wrongver"
    check "2.7.18 SOURCE tarball for 3.3.7: refused, no DESTDIR" \
        sh -c '[ "$(cat "$1/wrongver.rc")" != 0 ] && grep -q "that is Python-2.7.18.tgz" "$1/wrongver.err" && [ ! -e "$1/out/wrongver" ]' sh "$T"
else
    skip "good SOURCE tarball" "no python2.7_2.7.18.orig.tar.gz / Python-2.7.18.tgz in a local cache"
fi

# --- SOURCE directory --------------------------------------------------------

mk_fake_tree() {
    mkdir -p "$1/Include" "$1/Lib/sub/.git" "$1/.git/objects" "$1/.pc" "$1/Modules"
    printf '#define PY_VERSION "%s"\n' "$2" >"$1/Include/patchlevel.h"
    echo 'print "hello"' >"$1/Lib/hello.py"
    echo 'int main(void) { return 0; }' >"$1/Modules/main.c"
    echo 'gitdir' >"$1/Lib/sub/.git/HEAD"
    echo '.pc state' >"$1/.pc/.version"
    echo hidden >"$1/.hgtags"
    ln -s hello.py "$1/Lib/link.py"
}
mk_fake_tree "$T/srcdir" 2.7.18
run srcdir SOURCE="$T/srcdir" -- 2.7.18 "$T/out/srcdir"
check "unpacked SOURCE dir: exit 0" rc_is 0
check "unpacked SOURCE dir: copied (files, dotfiles, symlinks)" \
    sh -c 'cmp -s "$1/Lib/hello.py" "$2/Lib/hello.py" && [ -f "$2/.hgtags" ] && [ -L "$2/Lib/link.py" ] && [ -f "$2/Include/patchlevel.h" ]' \
    sh "$T/srcdir" "$T/out/srcdir"
check "unpacked SOURCE dir: without .git and .pc" \
    sh -c '[ -z "$(find "$1" -name .git -o -name .pc)" ]' sh "$T/out/srcdir"
check "unpacked SOURCE dir: the original is untouched" test -d "$T/srcdir/.git/objects"

mk_fake_tree "$T/srcdir-old" 2.7.17
run srcdirold SOURCE="$T/srcdir-old" -- 2.7.18 "$T/out/srcdirold"
check "SOURCE dir of another version: refused, no DESTDIR" \
    sh -c '[ "$(cat "$1/srcdirold.rc")" != 0 ] && grep -q "is Python 2.7.17, not 2.7.18" "$1/srcdirold.err" && [ ! -e "$1/out/srcdirold" ]' sh "$T"

mkdir -p "$T/notpython"
run notpython SOURCE="$T/notpython" -- 2.7.18 "$T/out/notpython"
check "SOURCE dir without Include/patchlevel.h: refused" rc_nonzero

mk_fake_tree "$T/srcdir-patched" 2.7.18
echo 0001-pep445.patch >"$T/srcdir-patched/.pc/applied-patches"
run srcdirpatched SOURCE="$T/srcdir-patched" -- 2.7.18 "$T/out/srcdirpatched"
check "SOURCE dir with quilt patches applied: refused" \
    sh -c '[ "$(cat "$1/srcdirpatched.rc")" != 0 ] && [ ! -e "$1/out/srcdirpatched" ]' sh "$T"

# --- download cache --------------------------------------------------------

mkdir -p "$T/dl-trunc"
if [ -n "$GOOD" ]; then
    head -c 100000 "$GOOD" >"$T/dl-trunc/Python-2.7.18.tgz"
else
    printf 'truncated\n' >"$T/dl-trunc/Python-2.7.18.tgz"
fi
run trunc -- 2.7.18 "$T/out/trunc"
check "truncated file in the cache: exit 1" rc_is 1
check "truncated file in the cache: mismatch message with both hashes" \
    sh -c 'grep -q "checksum mismatch: $1/dl-trunc/Python-2.7.18.tgz: expected sha256 da3080e3b488f648a3d7a4560ddee895284c3380b11d6de75edb986526b9a814, got [0-9a-f]\{64\}" "$1/trunc.err"' sh "$T"
check "truncated file in the cache: removed" absent "$T/dl-trunc/Python-2.7.18.tgz"
check "truncated file in the cache: final error says no source" \
    last_err_starts "fetch-source: no source for Python 2.7.18 (tried: SOURCE (unset), "
check "truncated file in the cache: final error mentions the mismatch" \
    last_err_has "Python-2.7.18.tgz (checksum mismatch - removed)"
check "truncated file in the cache: final error mentions python.org and the mirror" \
    sh -c 'tail -n 1 "$1/trunc.err" | grep -q "no-python-org/2.7.18/Python-2.7.18.tar.xz.*debian mirror"' sh "$T"
check "truncated file in the cache: no DESTDIR, no temporary dir" \
    sh -c '[ ! -e "$1/out/trunc" ] && [ -z "$(find "$1/out" -maxdepth 1 -name ".fetch-source.*")" ]' sh "$T"

run nothing -- 3.3.7 "$T/out/nothing"
check "no source at all: exit 1 with a one-line summary last" \
    sh -c '[ "$(cat "$1/nothing.rc")" = 1 ] && tail -n 1 "$1/nothing.err" | grep -q "^fetch-source: no source for Python 3.3.7 (tried: SOURCE (unset), cache $1/dl-nothing, file://$1/no-python-org/3.3.7/Python-3.3.7.tar.xz"' sh "$T"

if [ -n "$GOOD" ]; then
    mkdir -p "$T/dl-cached"
    ln -s "$GOOD" "$T/dl-cached/${GOOD##*/}"
    run cached -- 2.7.18 "$T/out/cached"
    check "good file in the cache: used" \
        sh -c '[ "$(cat "$1/cached.rc")" = 0 ] && [ -f "$1/out/cached/Include/patchlevel.h" ] && grep -q "from cache" "$1/cached.err"' sh "$T"
else
    skip "good file in the cache" "no local cache"
fi

# --- Debian mirror from apt's configuration (file:// mirrors) ---------------

# A fake apt configuration: a third-party repository, a security archive, a
# disabled stanza, a mirror with a bad file, then a good mirror.
pool=pool/main/p/python2.7
mkdir -p "$T/apt/sources.list.d" "$T/mirror-bad/debian/$pool" "$T/mirror-good/debian/$pool" \
    "$T/mirror-off/debian/$pool" "$T/mirror-sec/debian/$pool"
cat >"$T/apt/sources.list" <<EOF
# comment line: deb file://$T/mirror-off/debian bookworm main
deb [arch=amd64 signed-by=/nonexistent.gpg] file://$T/third-party/apt stable main
deb file://$T/mirror-sec/debian bookworm-security main
deb file://$T/mirror-bad/debian/ bookworm main
EOF
cat >"$T/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: file://$T/mirror-off/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb deb-src
# a comment inside a stanza
URIs: file://$T/mirror-bad/debian
  file://$T/mirror-good/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: file://$T/mirror-good/debian-security
Suites: bookworm-security
Components: main
EOF
echo 'not used' >"$T/apt/sources.list.d/ignored.list.disabled"
printf 'truncated\n' >"$T/mirror-bad/debian/$pool/python2.7_2.7.18.orig.tar.gz"
for m in mirror-off mirror-sec; do
    printf 'must not be used\n' >"$T/$m/debian/$pool/python2.7_2.7.18.orig.tar.gz"
done

if [ -n "$GOOD" ]; then
    ln -s "$GOOD" "$T/mirror-good/debian/$pool/python2.7_2.7.18.orig.tar.gz"
    run mirror FETCH_SOURCE_APT_ETC="$T/apt" -- 2.7.18 "$T/out/mirror"
    check "debian mirror from apt config: exit 0, tree unpacked" \
        sh -c '[ "$(cat "$1/mirror.rc")" = 0 ] && [ -f "$1/out/mirror/Include/patchlevel.h" ]' sh "$T"
    check "debian mirror: bad mirror reported, then the good one used" \
        sh -c 'grep -q "checksum mismatch: .*python2.7_2.7.18.orig.tar.gz.part" "$1/mirror.err" && grep -q "from file://$1/mirror-good/debian/" "$1/mirror.err"' sh "$T"
    check "debian mirror: disabled, -security and third-party entries not tried" \
        sh -c '! grep -q "mirror-off\|mirror-sec\|third-party\|debian-security" "$1/mirror.err"' sh "$T"
    check "debian mirror: download kept in the cache, no partial files" \
        sh -c '[ -f "$1/dl-mirror/python2.7_2.7.18.orig.tar.gz" ] && [ "$(ls -A "$1/dl-mirror")" = python2.7_2.7.18.orig.tar.gz ]' sh "$T"
else
    skip "debian mirror from apt config" "no local cache"
fi

rm -f "$T/mirror-good/debian/$pool/python2.7_2.7.18.orig.tar.gz"
run mirrorfail FETCH_SOURCE_APT_ETC="$T/apt" -- 2.7.18 "$T/out/mirrorfail"
check "no mirror has it: exit 1, mirrors listed in the final error" \
    sh -c '[ "$(cat "$1/mirrorfail.rc")" = 1 ] && tail -n 1 "$1/mirrorfail.err" | grep -q "mirror-bad/debian/pool/.*checksum mismatch.*mirror-good/debian/pool/.*curl exit" && [ ! -e "$1/out/mirrorfail" ]' sh "$T"
check "no mirror has it: the bad download is not left in the cache" \
    sh -c '[ -z "$(ls -A "$1/dl-mirrorfail" 2>/dev/null)" ]' sh "$T"

# --- --base debian -----------------------------------------------------------

if [ -n "$GOOD" ] && [ -n "$HAVE_DEB" ] && command -v quilt >/dev/null 2>&1; then
    mkdir -p "$T/dl-deb"
    ln -s "$GOOD" "$T/dl-deb/${GOOD##*/}"
    cp "$CACHE/$DEB_DSC" "$CACHE/$DEB_DIFF" "$T/dl-deb/"
    run deb -- --base debian 2.7.18 "$T/out/deb"
    check "--base debian: exit 0" rc_is 0
    check "--base debian: Debian's tree (debian/rules, series applied, no .pc)" \
        sh -c '[ -x "$1/debian/rules" ] && [ -s "$1/debian/patches/series" ] && [ ! -e "$1/.pc" ] && grep -q dist-packages "$1/Lib/site.py"' sh "$T/out/deb"
    check "--base debian: Linux amd64 series (no fpectl, no hurd, no langpack)" \
        sh -c '! grep -q "enable-fpectl\|cthreads\|langpack-gettext\|plat-linux2_" "$1/debian/patches/series" && grep -qx CVE-2023-40217.diff "$1/debian/patches/series"' sh "$T/out/deb"

    mkdir -p "$T/dl-debbad"
    ln -s "$GOOD" "$T/dl-debbad/${GOOD##*/}"
    cp "$CACHE/$DEB_DSC" "$T/dl-debbad/"
    head -c 1000 "$CACHE/$DEB_DIFF" >"$T/dl-debbad/$DEB_DIFF"
    run debbad -- --base debian 2.7.18 "$T/out/debbad"
    check "--base debian with a truncated diff.gz: mismatch, removed, no DESTDIR" \
        sh -c '[ "$(cat "$1/debbad.rc")" = 1 ] && grep -q "checksum mismatch: .*diff.gz" "$1/debbad.err" && [ ! -e "$1/dl-debbad/python2.7_2.7.18-8+deb11u1.diff.gz" ] && [ ! -e "$1/out/debbad" ] && [ -z "$(find "$1/out" -maxdepth 1 -name ".fetch-source.*")" ]' sh "$T"
else
    skip "--base debian" "needs the orig tarball, $DEB_DSC and $DEB_DIFF in a local cache, and quilt"
fi

# --- network (opt-in) --------------------------------------------------------

if [ "${FETCH_SOURCE_TEST_NETWORK:-}" = 1 ]; then
    rc=0
    (unset SOURCE; exec env DOWNLOADS="$T/dl-net" "$script" --base debian 2.7.18 "$T/out/net") \
        >"$T/net.out" 2>"$T/net.err" || rc=$?
    echo "$rc" >"$T/net.rc"
    LAST=net
    check "network: --base debian from an empty cache via apt's Debian mirror" \
        sh -c '[ "$(cat "$1/net.rc")" = 0 ] && [ -x "$1/out/net/debian/rules" ] && [ -f "$1/dl-net/python2.7_2.7.18.orig.tar.gz" ]' sh "$T"
else
    skip "network: download from apt's Debian mirror" "set FETCH_SOURCE_TEST_NETWORK=1"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
