#!/bin/sh
# test-patches.sh - the quilt series applies without fuzz, with quilt and with
# plain patch -p1, to pristine sources and to Debian's 2.7.18-8+deb11u1 tree,
# and every patch carries a DEP-3 header.  A series-stock (the build fixes
# that the stock interpreter gets too, 3.3) must be the start of the series
# and apply on its own.
#
# Environment: PYTHON_VERSION (default 2.7.18), DOWNLOADS (source cache).
set -u
cd "$(dirname "$0")/.."
version=${PYTHON_VERSION:-2.7.18}
series_dir=$(pwd)/patches/${version%.*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

check() {   # description, command...
    desc=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok - $desc"
        passed=$((passed + 1))
    else
        echo "not ok - $desc"
        sed 's/^/    /' "$tmp/out" | tail -n 20
        failed=$((failed + 1))
    fi
}

patches() { grep -v '^#' "$series_dir/series" | grep -v '^$'; }
stock_patches() { grep -v '^#' "$series_dir/series-stock" | grep -v '^$'; }

stock_is_prefix() {
    n=$(stock_patches | wc -l)
    [ "$n" -gt 0 ] || { echo "series-stock names no patch"; return 1; }
    [ "$(stock_patches)" = "$(patches | head -n "$n")" ] \
        || { echo "series-stock is not the start of series"; return 1; }
}

dep3_header() {
    for p in $(patches); do
        for field in Description Author Forwarded Last-Update; do
            sed '/^---/q' "$series_dir/$p" | grep -q "^$field: ." \
                || { echo "$p: no $field field"; return 1; }
        done
    done
}

quilt_push() {  # tree
    (cd "$1" && QUILT_PATCHES=$series_dir QUILT_PC=.pc-pep445 \
        quilt --quiltrc=/dev/null push -a --fuzz=0)
}

quilt_push_stock() {    # tree
    (cd "$1" && QUILT_PATCHES=$series_dir QUILT_SERIES=series-stock \
        QUILT_PC=.pc-stock quilt --quiltrc=/dev/null push -a --fuzz=0)
}

patch_p1() {    # tree
    for p in $(patches); do
        patch -d "$1" -p1 -F0 --no-backup-if-mismatch -s <"$series_dir/$p" \
            || { echo "$p does not apply"; return 1; }
    done
}

same_trees() {  # tree tree
    diff -r -x .pc-pep445 "$1" "$2"
}

check "every patch has a DEP-3 header" dep3_header
has_stock=
if [ -f "$series_dir/series-stock" ]; then
    has_stock=yes
    check "series-stock is the start of series" stock_is_prefix
fi
for base in upstream debian; do
    [ "$base" = debian ] && [ "$version" != 2.7.18 ] && continue
    if ! scripts/fetch-source.sh --base "$base" "$version" "$tmp/$base" \
            >"$tmp/fetch.log" 2>&1; then
        echo "not ok - fetch the $base $version tree"
        tail -n 5 "$tmp/fetch.log"
        failed=$((failed + 1))
        continue
    fi
    cp -a "$tmp/$base" "$tmp/$base-p1"
    if [ -n "$has_stock" ] && [ "$base" = upstream ]; then
        cp -a "$tmp/$base" "$tmp/$base-stock"
        check "quilt push -a --fuzz=0 of series-stock on the $base tree" \
            quilt_push_stock "$tmp/$base-stock"
        rm -rf "$tmp/$base-stock"
    fi
    check "quilt push -a --fuzz=0 on the $base tree" quilt_push "$tmp/$base"
    check "patch -p1 -F0 in series order on the $base tree" patch_p1 "$tmp/$base-p1"
    check "quilt and patch give the same $base tree" \
        same_trees "$tmp/$base" "$tmp/$base-p1"
    rm -rf "$tmp/$base" "$tmp/$base-p1"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
