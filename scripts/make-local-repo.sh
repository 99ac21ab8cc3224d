#!/bin/sh
# make-local-repo.sh - an apt repository of the Debian packages in a directory.
set -eu

case ${1:-} in
-h|--help|'')
    cat <<'USAGE'
Usage: scripts/make-local-repo.sh PKGDIR REPODIR

Make REPODIR (replaced if it exists) a flat apt repository of the binary
packages (*.deb) and source packages (*.dsc and their files) in PKGDIR,
indexed by apt-ftparchive (apt-utils).  It is not signed; use it with

  deb [trusted=yes] file:/path/to/REPODIR ./

in a machine or chroot you test on: [trusted=yes] makes apt accept an
unsigned repository, which is fine for packages you just built yourself
and for nothing else.
USAGE
    [ -n "${1:-}" ]; exit ;;
esac
[ $# -eq 2 ] || { echo "usage: scripts/make-local-repo.sh PKGDIR REPODIR" >&2; exit 2; }
pkgdir=$1
repo=$2
command -v apt-ftparchive >/dev/null || { echo "make-local-repo: apt-get install apt-utils" >&2; exit 1; }
ls "$pkgdir"/*.deb >/dev/null 2>&1 || { echo "make-local-repo: no packages in $pkgdir" >&2; exit 1; }

rm -rf "$repo"
mkdir -p "$repo"
cp "$pkgdir"/*.deb "$repo/"
for dsc in "$pkgdir"/*.dsc; do
    [ -f "$dsc" ] || continue
    cp "$dsc" "$repo/"
    # the files the .dsc lists (orig tarballs, debian tarball)
    sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* //p' "$dsc" |
        while read -r f; do cp "$pkgdir/$f" "$repo/"; done
done
cd "$repo"
apt-ftparchive packages . >Packages
apt-ftparchive sources . >Sources
gzip -9nk Packages Sources
apt-ftparchive -o APT::FTPArchive::Release::Origin=tracemalloc-backport \
    -o APT::FTPArchive::Release::Label=local release . >Release
echo "make-local-repo: $repo: $(grep -c '^Package:' Packages) binary packages; deb [trusted=yes] file:$(pwd) ./"
