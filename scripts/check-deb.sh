#!/bin/sh
# check-deb.sh - install the Debian packages into a fresh chroot, run the
# traced checks there, purge them, and check that nothing is left.
set -eu

usage() {
    cat <<'USAGE'
Usage: scripts/check-deb.sh bookworm|bullseye
       scripts/check-deb.sh --chroot SUITE NAME SCRIPT

bookworm  the packages of build/deb/repo (make repo) in a minbase bookworm
          chroot: install python2.7-tracemalloc, tests/deb/in-chroot.sh
          (traced script, purge, nothing left), then debian/tests with
          autopkgtest's chroot backend in a second fresh chroot.
bullseye  first builds the source package of build/deb/ in a bullseye
          chroot (bullseye's libraries), as an unprivileged user, into
          build/deb/bullseye/ and its repository; then the same checks, with
          Debian's python2.7 and python-markupsafe installed beforehand: they
          must stay byte-identical, and markupsafe's C extension must run
          traced in our interpreter (PEP445_DIST_PACKAGES=1).

--chroot SUITE NAME SCRIPT
          run the shell SCRIPT as root in a fresh SUITE chroot
          build/deb/chroot/NAME, with build/deb mounted on /srv/deb and
          tests/deb on /srv/tests; removed afterwards unless KEEP=1.

Chroots are debootstrap --variant=minbase from the Debian mirror of this
machine's apt configuration (scripts/fetch-source.sh's debian_mirrors), made
once and cached as build/deb/chroot/SUITE.tar.gz.  Run as root.
USAGE
}

say() { printf 'check-deb: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
DEB=$TOP/build/deb
CHROOTS=$DEB/chroot

# The mirror: fetch-source.sh's debian_mirrors(), used as is, not copied.
mirror() {
    APT_ETC=/etc/apt
    eval "$(sed -n '/^debian_mirrors() {$/,/^}$/p' "$TOP/scripts/fetch-source.sh")"
    debian_mirrors | head -n 1
}

# tarball SUITE: the cached minbase chroot of SUITE, made if missing.
tarball() {
    t=$CHROOTS/$1.tar.gz
    if [ ! -f "$t" ]; then
        m=$(mirror)
        [ -n "$m" ] || die "no Debian mirror in /etc/apt/sources.list{,.d}"
        command -v debootstrap >/dev/null || die "apt-get install debootstrap"
        say "debootstrap $1 from $m"
        rm -rf "$CHROOTS/$1.new"
        mkdir -p "$CHROOTS"
        debootstrap --variant=minbase "$1" "$CHROOTS/$1.new" "$m" >"$CHROOTS/$1.log" 2>&1 ||
            die "debootstrap failed, see $CHROOTS/$1.log"
        echo "deb $m $1 main" >"$CHROOTS/$1.new/etc/apt/sources.list"
        tar -C "$CHROOTS/$1.new" -czf "$t.part" . && mv "$t.part" "$t"
        rm -rf "$CHROOTS/$1.new"
    fi
    echo "$t"
}

# new_root SUITE NAME: a fresh chroot $CHROOTS/NAME of SUITE, with /dev
# (and /dev/pts) and /proc, build/deb on /srv/deb and tests/deb (read-only)
# on /srv/tests.
new_root() {
    tb=$(tarball "$1")
    ROOT=$CHROOTS/$2
    umount_all "$ROOT"
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    tar -C "$ROOT" -xzf "$tb"
    cp /etc/resolv.conf "$ROOT/etc/"
    mkdir -p "$ROOT/srv/deb" "$ROOT/srv/tests"
    mount --rbind /dev "$ROOT/dev"
    mount --make-rslave "$ROOT/dev"     # unmounting there stays there
    mount -t proc proc "$ROOT/proc"
    mount --bind "$DEB" "$ROOT/srv/deb"
    mount --bind "$TOP/tests/deb" "$ROOT/srv/tests"
    mount -o remount,bind,ro "$ROOT/srv/tests"
}

# drop_root: unmount it; remove it too unless KEEP is set.
drop_root() {
    umount_all "$ROOT"
    if [ -z "${KEEP:-}" ]; then rm -rf "$ROOT"; fi
}

# run_in SUITE SCRIPT [ARG...]: run the shell SCRIPT as root in ROOT.
run_in() {
    suite=$1 script=$2
    shift 2
    cp "$script" "$ROOT/root/job.sh"
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive SUITE="$suite" \
        sh -eu /root/job.sh "$@"
}

# umount_all DIR: every mount point at or under DIR, innermost first.
umount_all() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts |
        sort -r | while read -r mp; do umount "$mp"; done
}

ROOT=
trap '[ -z "$ROOT" ] || umount_all "$ROOT"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case ${1:-} in
    -h|--help) usage; exit 0 ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot, mount)"
case ${1:-} in
    --chroot) [ $# -eq 4 ] || { usage >&2; exit 2; }
              new_root "$2" "$3"
              run_in "$2" "$4"
              drop_root
              exit 0 ;;
    bookworm|bullseye) SUITE=$1 ;;
    *) usage >&2; exit 2 ;;
esac
command -v autopkgtest >/dev/null || die "apt-get install autopkgtest"
DSC=$(ls "$DEB"/*.dsc 2>/dev/null | head -n 1)
[ -n "$DSC" ] || die "no source package in $DEB: make deb"

# ---- the packages: bookworm's are this machine's; bullseye's are built in
# ---- a bullseye chroot, from the source package, by an unprivileged user

if [ "$SUITE" = bookworm ]; then
    OUT=$DEB REPO=repo
    [ -f "$DEB/repo/Packages" ] || die "no repository $DEB/repo: make repo"
else
    OUT=$DEB/bullseye REPO=bullseye/repo
    rm -rf "$OUT"
    mkdir -p "$OUT"
    job=$CHROOTS/build-$SUITE.sh
    cat >"$job" <<'JOB'
dsc=$1 out=$2
apt-get update -qq
apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
useradd --create-home builder
mkdir /build
# the .dsc and the files it lists
cp "/srv/deb/$dsc" /build/
sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* //p' "/srv/deb/$dsc" |
    while read -r f; do cp "/srv/deb/$f" /build/; done
chown -R builder /build
cd /build
apt-get build-dep -y -qq "./$dsc" >/dev/null
runuser -u builder -- dpkg-source -x "$dsc" tree
cd tree
runuser -u builder -- dpkg-buildpackage -us -uc -b
cp /build/*.deb /build/*.changes /build/*.buildinfo "$out/"
JOB
    say "building $(basename "$DSC") in a $SUITE chroot"
    new_root "$SUITE" "build-$SUITE"
    start=$(date +%s)
    run_in "$SUITE" "$job" "$(basename "$DSC")" "/srv/deb/bullseye" >"$OUT/build.log" 2>&1 ||
        die "the build failed; see $OUT/build.log (chroot kept: $ROOT)"
    say "built in $(( $(date +%s) - start )) s"
    drop_root
    "$TOP/scripts/make-local-repo.sh" "$OUT" "$OUT/repo"
fi

# ---- install, trace, purge: tests/deb/in-chroot.sh

say "$SUITE: install, trace, purge"
new_root "$SUITE" "check-$SUITE"
run_in "$SUITE" "$TOP/tests/deb/in-chroot.sh" "/srv/deb/$REPO" ||
    die "$SUITE: the checks failed (chroot kept: $ROOT)"
drop_root

# ---- debian/tests, by autopkgtest, in another fresh chroot

say "$SUITE: autopkgtest"
new_root "$SUITE" "autopkgtest-$SUITE"
rc=0
autopkgtest --no-built-binaries "$OUT"/*.deb "$DSC" -- chroot "$ROOT" ||
    rc=$?
drop_root
[ "$rc" -eq 0 ] || die "$SUITE: autopkgtest failed (exit status $rc)"
say "$SUITE: all checks passed"
