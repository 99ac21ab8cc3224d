#!/bin/sh
# fetch-source.sh - produce a pristine, verified, unpacked CPython source tree.
#
# Usage: scripts/fetch-source.sh [--base upstream|debian] VERSION DESTDIR
# (see usage() below, or run with --help).

set -eu

# ---------------------------------------------------------------------------
# Pins: every file this script will ever unpack or apply, with its SHA-256.
# Column 1 is the Python version the file belongs to ("debian" marks the
# Debian 2.7.18-8+deb11u1 source package files used by --base debian).
# Debian's python2.7_2.7.18.orig.tar.gz is byte-identical to
# Python-2.7.18.tgz, hence the same hash.
PINS='
2.7.18 Python-2.7.18.tar.xz               b62c0e7937551d0cc02b8fd5cb0f544f9405bafc9a54d3808ed4594812edef43
2.7.18 Python-2.7.18.tgz                  da3080e3b488f648a3d7a4560ddee895284c3380b11d6de75edb986526b9a814
2.7.18 python2.7_2.7.18.orig.tar.gz       da3080e3b488f648a3d7a4560ddee895284c3380b11d6de75edb986526b9a814
3.3.7  Python-3.3.7.tar.xz                85f60c327501c36bc18c33370c14d472801e6af2f901dafbba056f61685429fe
3.3.7  Python-3.3.7.tgz                   992461a9598e85a45323512d4e60fa6c1d5aaef0956bf9db98733cc5aa9b05e1
debian python2.7_2.7.18-8+deb11u1.dsc     fe0dda6d887e9e8133a7eb2b1fe2c75de81384a40eab188e20d99439d1302fd5
debian python2.7_2.7.18-8+deb11u1.diff.gz 920b54018bc1b807077778be900157cf0a786621f4f7d7f69ec2096ff5d63f8e
'
DEBIAN_DSC=python2.7_2.7.18-8+deb11u1.dsc
DEBIAN_DIFF=python2.7_2.7.18-8+deb11u1.diff.gz
DEBIAN_ORIG=python2.7_2.7.18.orig.tar.gz
DEBIAN_POOL=pool/main/p/python2.7

# Where python.org keeps release tarballs (overridable, e.g. for a local copy).
PYTHON_ORG=${FETCH_SOURCE_PYTHON_ORG:-https://www.python.org/ftp/python}
# Where apt's configuration lives (overridable for tests only).
APT_ETC=${FETCH_SOURCE_APT_ETC:-/etc/apt}

PROG=fetch-source

usage() {
    cat <<EOF
Usage: scripts/fetch-source.sh [--base upstream|debian] VERSION DESTDIR

Create DESTDIR (which must not exist yet) holding a pristine, checksum-verified
CPython VERSION source tree: the contents of Python-VERSION/ directly in
DESTDIR.  Known versions: $(known_versions_list).

Sources, tried in this order; every file is verified against the SHA-256 pins
at the top of this script before it is used:
  1. \$SOURCE: a release tarball (must match one of VERSION's pins) or an
     unpacked source tree whose Include/patchlevel.h says VERSION (copied
     without .git/.pc).  A SOURCE that is set but wrong is an error.
  2. the download cache \${DOWNLOADS:-downloads}: Python-VERSION.tar.xz,
     Python-VERSION.tgz, and for 2.7.18 also $DEBIAN_ORIG.
     A cached file with a wrong checksum is reported and removed.
  3. python.org (Python-VERSION.tar.xz, then .tgz), saved into the cache.
  4. 2.7.18 only: $DEBIAN_ORIG from each Debian mirror named in
     the machine's apt configuration (sources.list, sources.list.d).

--base upstream  (default) the release tree as is.
--base debian    (2.7.18 only) Debian's python2.7 2.7.18-8+deb11u1 tree:
                 the orig tarball plus $DEBIAN_DIFF
                 (with its .dsc; both pinned, cached in DOWNLOADS, else
                 fetched from the apt-configured Debian mirror), with
                 Debian's own quilt series (debian/patches) applied the way
                 debian/rules does for a Linux build, .pc removed.

Nothing is left behind on failure: the tree is assembled in a temporary
directory next to DESTDIR and renamed into place at the end.

Environment: SOURCE, DOWNLOADS; FETCH_SOURCE_PYTHON_ORG (python.org base URL);
DEB_HOST_ARCH (architecture for Debian's series, default: dpkg's, or amd64).
Exit status: 0 success, 1 failure, 2 usage error.
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "$*"; exit 1; }
usage_error() { say "$*"; exit 2; }

known_versions() {
    printf '%s\n' "$PINS" | awk '$1 ~ /^[0-9]/ && !seen[$1]++ { print $1 }'
}
known_versions_list() {
    known_versions | awk '{ s = s (NR > 1 ? ", " : "") $0 } END { print s }'
}
# pin_of FILENAME -> its pinned sha256 (empty if none)
pin_of() {
    printf '%s\n' "$PINS" | awk -v f="$1" '$2 == f { print $3; exit }'
}
# tarballs_of VERSION -> pinned tarball names of that version, preferred first
tarballs_of() {
    printf '%s\n' "$PINS" | awk -v v="$1" '$1 == v { print $2 }'
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum <"$1" | awk '{ print $1 }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 <"$1" | awk '{ print $1 }'
    else
        openssl dgst -sha256 <"$1" | awk '{ print $NF }'
    fi
}

# Append an entry to the list of sources tried (for the final error).
TRIED=
tried() { TRIED="${TRIED:+$TRIED, }$*"; }

# ---------------------------------------------------------------------------
# Arguments

BASE=upstream
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --base) [ $# -ge 2 ] || usage_error "--base needs an argument (upstream or debian)"
                BASE=$2; shift 2 ;;
        --base=*) BASE=${1#--base=}; shift ;;
        --) shift; break ;;
        -?*) usage_error "unknown option $1 (try --help)" ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || usage_error "usage: scripts/fetch-source.sh [--base upstream|debian] VERSION DESTDIR (try --help)"
VERSION=$1
DESTDIR=$2

if ! known_versions | grep -qxF -- "$VERSION"; then
    usage_error "unknown version $VERSION (known: $(known_versions_list))"
fi
case $BASE in
    upstream) ;;
    debian) [ "$VERSION" = 2.7.18 ] ||
                usage_error "--base debian is only available for 2.7.18, not $VERSION" ;;
    *) usage_error "unknown base $BASE (known: upstream, debian)" ;;
esac
[ -n "$DESTDIR" ] || usage_error "empty DESTDIR"
DESTDIR=${DESTDIR%/}
[ -n "$DESTDIR" ] || usage_error "refusing to use / as DESTDIR"
if [ -e "$DESTDIR" ] || [ -L "$DESTDIR" ]; then
    die "DESTDIR $DESTDIR already exists; remove it first"
fi

DOWNLOADS=${DOWNLOADS:-downloads}
DOWNLOADS=${DOWNLOADS%/}
[ -n "$DOWNLOADS" ] || DOWNLOADS=/
SOURCE=${SOURCE:-}

# ---------------------------------------------------------------------------
# Work area next to DESTDIR (same file system, so the final rename is atomic),
# removed on every exit; PART is a download in progress inside the cache.

case $DESTDIR in
    */*) PARENT=${DESTDIR%/*}; [ -n "$PARENT" ] || PARENT=/ ;;
    *) PARENT=. ;;
esac
mkdir -p -- "$PARENT"
WORK=
PART=
cleanup() {
    if [ -n "$PART" ]; then rm -f -- "$PART"; fi
    if [ -n "$WORK" ]; then rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d "$PARENT/.fetch-source.XXXXXX")
TREE=$WORK/tree         # becomes DESTDIR

# ---------------------------------------------------------------------------
# Helpers for the sources

# verify FILE NAME: 0 if FILE's sha256 equals NAME's pin; otherwise print
# the mismatch (file, expected, actual) and return 1.
verify() {
    v_expected=$(pin_of "$2")
    v_actual=$(sha256_of "$1") || return 1
    if [ "$v_actual" = "$v_expected" ]; then
        return 0
    fi
    say "checksum mismatch: $1: expected sha256 $v_expected, got $v_actual"
    return 1
}

# from_cache NAME: if DOWNLOADS/NAME exists and verifies, set FOUND to it.
# A file that fails verification is removed from the cache.
from_cache() {
    fc_file=$DOWNLOADS/$1
    [ -f "$fc_file" ] || return 1
    if verify "$fc_file" "$1"; then
        FOUND=$fc_file
        return 0
    fi
    if rm -f -- "$fc_file"; then
        say "removed $fc_file from the cache"
        tried "cache $fc_file (checksum mismatch - removed)"
    else
        tried "cache $fc_file (checksum mismatch - could not remove)"
    fi
    return 1
}

# download URL NAME: fetch URL into DOWNLOADS/NAME (via a temporary name,
# renamed only once the checksum matches) and set FOUND to it.
# On failure returns curl's exit status (or 1 for a bad checksum) and records
# what happened in TRIED.
download() {
    dl_url=$1
    dl_name=$2
    if ! command -v curl >/dev/null 2>&1; then
        tried "$dl_url (curl not installed)"
        return 1
    fi
    if ! mkdir -p -- "$DOWNLOADS" 2>/dev/null; then
        tried "$dl_url (cannot create cache $DOWNLOADS)"
        return 1
    fi
    PART=$DOWNLOADS/.$dl_name.part.$$
    say "downloading $dl_url"
    dl_rc=0
    curl --fail --silent --show-error --location \
        --connect-timeout 10 --speed-limit 1024 --speed-time 60 \
        --output "$PART" -- "$dl_url" 2>"$WORK/curl.err" || dl_rc=$?
    if [ "$dl_rc" -ne 0 ]; then
        rm -f -- "$PART"
        PART=
        dl_err=$(sed -n '$s/^curl: ([0-9]*) //p' "$WORK/curl.err" | tr ',' ';')
        tried "$dl_url (curl exit $dl_rc${dl_err:+: $dl_err})"
        return "$dl_rc"
    fi
    if ! verify "$PART" "$dl_name"; then
        rm -f -- "$PART"
        PART=
        say "discarded the download of $dl_url"
        tried "$dl_url (checksum mismatch - discarded)"
        return 1
    fi
    mv -f -- "$PART" "$DOWNLOADS/$dl_name" || return 1
    PART=
    FOUND=$DOWNLOADS/$dl_name
    return 0
}

# Debian mirrors from apt's configuration, one base URI per line, in apt's
# order (sources.list, then sources.list.d/ alphabetically), deduplicated.
# Only archives whose URI ends in /debian count (that excludes
# debian-security, debian-debug, ports and third-party repositories), and
# only for suites that are not -security; disabled deb822 stanzas are skipped.
debian_mirrors() {
    set --
    if [ -f "$APT_ETC/sources.list" ]; then
        set -- "$APT_ETC/sources.list"
    fi
    for dm_f in "$APT_ETC"/sources.list.d/*; do
        case $dm_f in
            *.list|*.sources) if [ -f "$dm_f" ]; then set -- "$@" "$dm_f"; fi ;;
        esac
    done
    [ $# -gt 0 ] || return 0
    awk '
        function emit(uri) {
            sub(/\/+$/, "", uri)
            if (uri ~ /^file:\/[^\/]/) uri = "file://" substr(uri, 6)
            if (uri !~ /^(https?|ftp|file):\/\//) return
            if (uri !~ /\/debian$/) return
            if (!(uri in seen)) { seen[uri] = 1; print uri }
        }
        # end of a deb822 stanza
        function flush(   n, i, u, s, t, ok) {
            if (uris != "" && tolower(enabled) !~ /^[ \t]*no/) {
                ok = 0
                n = split(types, t, /[ \t]+/)
                for (i = 1; i <= n; i++) if (t[i] == "deb" || t[i] == "deb-src") ok = 1
                if (ok) {
                    ok = 0
                    n = split(suites, s, /[ \t]+/)
                    for (i = 1; i <= n; i++) if (s[i] != "" && s[i] !~ /-security/) ok = 1
                }
                if (ok) {
                    n = split(uris, u, /[ \t]+/)
                    for (i = 1; i <= n; i++) if (u[i] != "") emit(u[i])
                }
            }
            types = uris = suites = enabled = cur = ""
        }
        FNR == 1 { flush() }
        # deb822 format (*.sources): "Field: value" stanzas, blank-line separated
        FILENAME ~ /\.sources$/ {
            if ($0 ~ /^#/) next
            if ($0 ~ /^[ \t]*$/) { flush(); next }
            if ($0 ~ /^[ \t]/) {            # continuation line
                if (cur == "uris") uris = uris " " $0
                else if (cur == "suites") suites = suites " " $0
                else if (cur == "types") types = types " " $0
                next
            }
            c = index($0, ":")
            if (c == 0) next
            cur = tolower(substr($0, 1, c - 1))
            val = substr($0, c + 1)
            if (cur == "types") types = val
            else if (cur == "uris") uris = val
            else if (cur == "suites") suites = val
            else if (cur == "enabled") enabled = val
            next
        }
        # one-line format: deb [options] URI SUITE [COMPONENT...]
        {
            line = $0
            sub(/#.*/, "", line)
            gsub(/\[[^]]*\]/, " ", line)
            n = split(line, f, /[ \t]+/)
            i = 1
            while (i <= n && f[i] == "") i++
            if (i + 2 <= n && (f[i] == "deb" || f[i] == "deb-src") && f[i + 2] !~ /-security/)
                emit(f[i + 1])
        }
        END { flush() }
    ' "$@"
}

# unpack_tarball FILE NAME: unpack the verified tarball FILE (pinned as NAME)
# and move its Python-VERSION/ to TREE.
unpack_tarball() {
    mkdir "$WORK/unpack"
    case $2 in
        *.tar.xz) ut_decompress='xz -dc' ;;
        *) ut_decompress='gzip -dc' ;;
    esac
    say "unpacking $1"
    # shellcheck disable=SC2086 # ut_decompress is a command with an option
    $ut_decompress -- "$1" | (cd "$WORK/unpack" && tar -xof -)
    [ -f "$WORK/unpack/Python-$VERSION/Include/patchlevel.h" ] ||
        die "$1 did not unpack to Python-$VERSION/"
    mv -- "$WORK/unpack/Python-$VERSION" "$TREE"
    rm -rf -- "$WORK/unpack"
}

# patchlevel_of DIR -> PY_VERSION from DIR/Include/patchlevel.h
patchlevel_of() {
    sed -n 's/^#[[:space:]]*define[[:space:]][[:space:]]*PY_VERSION[[:space:]][[:space:]]*"\([^"]*\)".*/\1/p' \
        "$1/Include/patchlevel.h" | head -n 1
}

# canonical DIR -> physical absolute path of an existing directory
canonical() { (cd -- "$1" && pwd -P); }

# copy_tree DIR: copy the unpacked source tree DIR to TREE, without .git/.pc.
copy_tree() {
    ct_src=$(canonical "$1")
    ct_parent=$(canonical "$PARENT")
    case $ct_parent/ in
        "$ct_src"/*) die "DESTDIR $DESTDIR must not be inside SOURCE=$1" ;;
    esac
    if [ -s "$1/.pc/applied-patches" ]; then
        die "SOURCE=$1 has quilt patches applied (see $1/.pc/applied-patches); run 'quilt pop -a' there first"
    fi
    if [ -f "$1/Makefile" ] || [ -f "$1/pyconfig.h" ]; then
        say "warning: SOURCE=$1 looks configured (Makefile/pyconfig.h present); copying it anyway"
    fi
    say "copying $1"
    mkdir "$TREE"
    for ct_f in "$ct_src"/* "$ct_src"/.[!.]* "$ct_src"/..?*; do
        [ -e "$ct_f" ] || [ -L "$ct_f" ] || continue
        case ${ct_f##*/} in
            .git|.pc) continue ;;
        esac
        cp -a -- "$ct_f" "$TREE/"
    done
    # nested ones too (e.g. submodules)
    find "$TREE" \( -name .git -o -name .pc \) -prune -exec rm -rf -- {} +
}

# ---------------------------------------------------------------------------
# 1. SOURCE

TARBALL=        # verified tarball to unpack
TARBALL_NAME=   # the pin it matched
if [ -n "$SOURCE" ]; then
    if [ -d "$SOURCE" ]; then
        [ -f "$SOURCE/Include/patchlevel.h" ] ||
            die "SOURCE=$SOURCE has no Include/patchlevel.h; not a CPython source tree"
        src_version=$(patchlevel_of "$SOURCE")
        [ "$src_version" = "$VERSION" ] ||
            die "SOURCE=$SOURCE is Python ${src_version:-(unknown)}, not $VERSION (Include/patchlevel.h)"
        copy_tree "$SOURCE"
        FROM="SOURCE=$SOURCE (source tree)"
    elif [ -f "$SOURCE" ]; then
        src_sum=$(sha256_of "$SOURCE")
        for name in $(tarballs_of "$VERSION"); do
            if [ "$src_sum" = "$(pin_of "$name")" ]; then
                TARBALL=$SOURCE
                TARBALL_NAME=$name
                break
            fi
        done
        if [ -z "$TARBALL" ]; then
            expected=
            for name in $(tarballs_of "$VERSION"); do
                pin=$(pin_of "$name")
                case $expected in
                    *"$pin"*) ;;   # same content under another name
                    *) expected="${expected:+$expected or }$pin ($name)" ;;
                esac
            done
            other=$(printf '%s\n' "$PINS" | awk -v s="$src_sum" '$3 == s { print " - that is " $2; exit }')
            die "checksum mismatch: SOURCE=$SOURCE: expected sha256 $expected, got $src_sum$other"
        fi
        FROM="SOURCE=$SOURCE ($TARBALL_NAME)"
    else
        die "SOURCE=$SOURCE: no such file or directory"
    fi
else
    tried "SOURCE (unset)"
fi

# 2. the download cache
if [ ! -d "$TREE" ] && [ -z "$TARBALL" ]; then
    for name in $(tarballs_of "$VERSION"); do
        if from_cache "$name"; then
            TARBALL=$FOUND
            TARBALL_NAME=$name
            FROM="cache $FOUND"
            break
        fi
    done
    [ -n "$TARBALL" ] || tried "cache $DOWNLOADS"
fi

# 3. python.org
if [ ! -d "$TREE" ] && [ -z "$TARBALL" ]; then
    for ext in tar.xz tgz; do
        name=Python-$VERSION.$ext
        rc=0
        download "$PYTHON_ORG/$VERSION/$name" "$name" || rc=$?
        if [ "$rc" -eq 0 ]; then
            TARBALL=$FOUND
            TARBALL_NAME=$name
            FROM="$PYTHON_ORG/$VERSION/$name"
            break
        fi
        case $rc in
            # could not resolve / connect / timed out: do not insist
            5|6|7|28) break ;;
        esac
    done
fi

# 4. Debian's orig tarball from the apt-configured Debian mirror(s)
MIRRORS=
if [ "$VERSION" = 2.7.18 ]; then
    MIRRORS=$(debian_mirrors) || MIRRORS=
fi
if [ ! -d "$TREE" ] && [ -z "$TARBALL" ] && [ "$VERSION" = 2.7.18 ]; then
    if [ -z "$MIRRORS" ]; then
        tried "debian mirror (none in $APT_ETC/sources.list{,.d})"
    fi
    for mirror in $MIRRORS; do
        if download "$mirror/$DEBIAN_POOL/$DEBIAN_ORIG" "$DEBIAN_ORIG"; then
            TARBALL=$FOUND
            TARBALL_NAME=$DEBIAN_ORIG
            FROM="$mirror/$DEBIAN_POOL/$DEBIAN_ORIG"
            break
        fi
    done
fi

if [ ! -d "$TREE" ] && [ -z "$TARBALL" ]; then
    die "no source for Python $VERSION (tried: $TRIED)"
fi

# ---------------------------------------------------------------------------
# --base debian: get and verify the .dsc and .diff.gz before unpacking.

# debian_file NAME: set FOUND to the verified NAME from the cache or a mirror.
debian_file() {
    if [ -e "$DOWNLOADS/$1" ]; then
        if from_cache "$1"; then
            return 0
        fi
    else
        tried "cache $DOWNLOADS/$1 (missing)"
    fi
    for df_mirror in $MIRRORS; do
        if download "$df_mirror/$DEBIAN_POOL/$1" "$1"; then
            return 0
        fi
    done
    [ -n "$MIRRORS" ] || tried "debian mirror (none in $APT_ETC/sources.list{,.d})"
    return 1
}

if [ "$BASE" = debian ]; then
    for tool in patch quilt cpp gzip; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "--base debian needs $tool (apt-get install quilt patch cpp gzip)"
    done
    TRIED=
    debian_file "$DEBIAN_DSC" || die "no $DEBIAN_DSC (tried: $TRIED)"
    DSC=$FOUND
    TRIED=
    debian_file "$DEBIAN_DIFF" || die "no $DEBIAN_DIFF (tried: $TRIED)"
    DIFF=$FOUND
fi

# ---------------------------------------------------------------------------
# Assemble the tree.

if [ -n "$TARBALL" ]; then
    unpack_tarball "$TARBALL" "$TARBALL_NAME"
fi

if [ "$BASE" = debian ]; then
    say "applying $DIFF"
    # A format 1.0 source package: the diff only adds debian/; dpkg-source
    # then makes debian/rules executable.
    gzip -dc -- "$DIFF" | (cd "$TREE" && patch -p1 -s -N) ||
        die "$DIFF does not apply to the source tree"
    chmod +x "$TREE/debian/rules"

    # Debian's series: debian/rules generates debian/patches/series from
    # series.in by running it through cpp, with
    #   -D$(derivative)            Debian or Ubuntu, from dpkg-vendor
    #   -DBROKEN_UTIMES            only with glibc < 2.3.5
    #   -DWITH_FPECTL              only for stretch/xenial-era releases
    #   -Darch_os_$(DEB_HOST_ARCH_OS) -Darch_$(DEB_HOST_ARCH)
    # and then applies it with "QUILT_PATCHES=debian/patches quilt push -a"
    # (it tolerates quilt's status 2, "nothing to push").  We do the same
    # for a Debian (bullseye) build on the host's architecture (amd64 by
    # default): always -DDebian, since we want Debian's tree, not Ubuntu's
    # (which would add langpack-gettext.diff); neither BROKEN_UTIMES nor
    # WITH_FPECTL.  On Linux amd64 that leaves out enable-fpectl.diff,
    # the plat-linux2_{alpha,hppa,mips,sparc}.diff patches, disable-utimes.diff,
    # langpack-gettext.diff and the Hurd-only no-large-file-support.diff and
    # cthreads.diff; everything else in series.in is applied, in order.
    # Patch files in debian/patches that series.in does not mention (or
    # only mentions in a comment, like git-updates.diff) are stale and not
    # applied by debian/rules either.
    # What debian/rules does after patching (rm configure + autoconf, touching
    # the parser files, the Lib/dist-packages symlink) is part of a build,
    # not of the source tree, and is left to the build.
    arch=${DEB_HOST_ARCH:-}
    if [ -z "$arch" ]; then
        arch=$(dpkg --print-architecture 2>/dev/null) || arch=
    fi
    [ -n "$arch" ] || arch=amd64
    case $arch in
        hurd-*) arch_os=hurd ;;
        kfreebsd-*) arch_os=kfreebsd ;;
        *) arch_os=linux ;;
    esac
    arch_os=${DEB_HOST_ARCH_OS:-$arch_os}
    series_in=$TREE/debian/patches/series.in
    [ -f "$series_in" ] || die "$DIFF has no debian/patches/series.in"
    # Lines like "# git-updates.diff" are comments to make, but invalid
    # directives to cpp (which then fails); drop them first.
    grep -v '^#[[:space:]]' "$series_in" >"$WORK/series.in"
    cpp -E -DDebian "-Darch_os_$arch_os" "-Darch_$arch" -o "$WORK/series.cpp" "$WORK/series.in" ||
        die "cpp failed on debian/patches/series.in"
    grep -Ev '^(#.*|[[:space:]]*)$' "$WORK/series.cpp" >"$TREE/debian/patches/series" || true
    [ -s "$TREE/debian/patches/series" ] || die "empty Debian series"
    while IFS= read -r p; do
        [ -f "$TREE/debian/patches/$p" ] || die "Debian series names missing patch $p"
    done <"$TREE/debian/patches/series"

    say "applying Debian's patch series ($(wc -l <"$TREE/debian/patches/series" | tr -d ' ') patches, arch $arch)"
    # No quiltrc and no inherited quilt settings: only what debian/rules uses.
    unset QUILT_PUSH_ARGS QUILT_PATCH_OPTS QUILT_PC QUILT_SERIES QUILTRC
    if ! (cd "$TREE" && QUILT_PATCHES=debian/patches QUILT_PC=.pc \
            quilt --quiltrc=/dev/null push -a) >"$WORK/quilt.log" 2>&1; then
        tail -n 20 "$WORK/quilt.log" >&2
        die "Debian's patch series does not apply (see above)"
    fi
    rm -rf -- "$TREE/.pc"
    FROM="$FROM + $DIFF ($DSC verified)"
fi

# ---------------------------------------------------------------------------
# Rename into place.

if [ -e "$DESTDIR" ] || [ -L "$DESTDIR" ]; then
    die "DESTDIR $DESTDIR appeared while unpacking; not overwriting it"
fi
mv -- "$TREE" "$DESTDIR"
say "Python $VERSION ($BASE) in $DESTDIR, from $FROM"
