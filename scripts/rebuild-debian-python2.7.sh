#!/bin/sh
# rebuild-debian-python2.7.sh - Debian's own python2.7 (bullseye's
# 2.7.18-8+deb11u1) with our patch series added: drop-in replacement
# packages.  Slow (an hour or more on two cores); not for CI.
set -eu

VERSION=2.7.18-8+deb11u1
NEW_VERSION=$VERSION+pep445.1

case ${1:-} in
-h|--help)
    cat <<USAGE
Usage: scripts/rebuild-debian-python2.7.sh

Rebuild Debian's python2.7 $VERSION (bullseye) with patches/2.7 added to
its quilt series, as $NEW_VERSION, in a bullseye chroot (bullseye's
build dependencies; scripts/check-deb.sh --chroot), as an unprivileged user:
  1. scripts/fetch-source.sh --base debian fetches and verifies the .dsc,
     .diff.gz and orig tarball from the apt-configured Debian mirror (or
     takes them from the download cache);
  2. our patches go into debian/patches, and their names at the end of
     debian/patches/series.in, from which debian/rules makes the series
     with cpp (so no '#' comment lines there);
  3. dch --newversion $NEW_VERSION;
  4. dpkg-buildpackage --build=source,any with DEB_BUILD_OPTIONS
     (default "nocheck parallel=2": CPython's test suite is left out);
  5. the rebuilt python2.7 and python2.7-dev are installed in the chroot,
     backport/'s _tracemalloc is built against them and
     tests/deb/top_line.py runs traced (-X tracemalloc=5).
Packages, source package and logs: build/deb/rebuild/out/.
USAGE
    exit 0 ;;
esac
[ $# -eq 0 ] || { echo "usage: scripts/rebuild-debian-python2.7.sh (see --help)" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
W=$TOP/build/deb/rebuild
DOWNLOADS=${DOWNLOADS:-$TOP/downloads}
export DOWNLOADS
: "${DEB_BUILD_OPTIONS:=nocheck parallel=2}"

# 1. the verified Debian source package (the tree itself is not used:
#    dpkg-source unpacks the .dsc in the chroot)
rm -rf "$W"
mkdir -p "$W/in" "$W/out"
SOURCE= "$TOP/scripts/fetch-source.sh" --base debian 2.7.18 "$W/verified"
rm -rf "$W/verified"
for f in python2.7_$VERSION.dsc python2.7_$VERSION.diff.gz; do
    cp "$DOWNLOADS/$f" "$W/in/"
done
for f in python2.7_2.7.18.orig.tar.gz Python-2.7.18.tgz; do   # the same file
    if [ -f "$DOWNLOADS/$f" ]; then
        cp "$DOWNLOADS/$f" "$W/in/python2.7_2.7.18.orig.tar.gz"
        break
    fi
done
[ -f "$W/in/python2.7_2.7.18.orig.tar.gz" ] ||
    { echo "rebuild: no python2.7_2.7.18.orig.tar.gz or Python-2.7.18.tgz in $DOWNLOADS" >&2; exit 1; }
cp -r "$TOP/patches/2.7" "$W/in/patches"
cp -r "$TOP/backport" "$W/in/backport"
maintainer=$(sed -n 's/^Maintainer: //p' "$TOP/debian/control")
name=${maintainer% <*}
email=${maintainer##*<}
email=${email%>}

cat >"$W/job.sh" <<JOB
in=/srv/deb/rebuild/in out=/srv/deb/rebuild/out
apt-get update -qq
apt-get install -y -qq --no-install-recommends dpkg-dev devscripts fakeroot quilt >/dev/null
useradd --create-home builder
mkdir /build && cp \$in/python2.7_* /build/ && chown -R builder /build
cd /build
runuser -u builder -- dpkg-source -x python2.7_$VERSION.dsc python2.7-2.7.18
cd python2.7-2.7.18

# 2. our series after Debian's
for p in \$(grep -v '^#' \$in/patches/series); do
    install -m 644 -o builder "\$in/patches/\$p" debian/patches/
done
{ echo; echo '/* tracemalloc-backport: the PEP 445 allocator API */'
  grep -v '^#' \$in/patches/series; } >>debian/patches/series.in

# 3. the version
runuser -u builder -- env DEBFULLNAME="$name" DEBEMAIL="$email" \
    dch --newversion $NEW_VERSION --distribution bullseye --force-distribution \
    "Add the PEP 445 allocator API: tracemalloc-backport's patches/2.7 series."

# 4. the build
apt-get build-dep -y -qq --arch-only . >/dev/null
start=\$(date +%s)
runuser -u builder -- env DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS" \
    dpkg-buildpackage -us -uc -rfakeroot --build=source,any
echo "rebuild: dpkg-buildpackage took \$(( \$(date +%s) - start )) s"
cd /build
cp *_$NEW_VERSION[._]* \$out/

# 5. installed, with _tracemalloc built against it, traced
apt-get install -y -qq --no-install-recommends gcc \
    ./python2.7_*.deb ./python2.7-minimal_*.deb ./libpython2.7-minimal_*.deb \
    ./libpython2.7-stdlib_*.deb ./libpython2.7_*.deb ./libpython2.7-dev_*.deb \
    ./python2.7-dev_*.deb >/dev/null
dpkg-query -W python2.7 libpython2.7-stdlib python2.7-dev
grep -q Py_PEP445_BACKPORT /usr/include/python2.7/pymem.h
cp -r \$in/backport /tmp/backport && cd /tmp/backport
python2.7 setup.py -q build_ext --build-lib /tmp/tm
cp *.py /tmp/tm/
PYTHONPATH=/tmp/tm python2.7 -X tracemalloc=5 /srv/tests/top_line.py
PYTHONMALLOC=debug python2.7 -c 'print("PYTHONMALLOC=debug: ok")'
JOB

echo "rebuild: building python2.7 $NEW_VERSION in a bullseye chroot (log: $W/out/build.log)"
start=$(date +%s)
rc=0
"$TOP/scripts/check-deb.sh" --chroot bullseye rebuild-python2.7 "$W/job.sh" >"$W/out/build.log" 2>&1 || rc=$?
tail -n 15 "$W/out/build.log"
echo "rebuild: exit status $rc after $(( $(date +%s) - start )) s; packages in $W/out"
exit "$rc"
