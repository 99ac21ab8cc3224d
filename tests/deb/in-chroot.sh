#!/bin/sh
# in-chroot.sh REPO - run by scripts/check-deb.sh as root in a fresh chroot
# (SUITE set, tests/deb on /srv/tests): install python2.7-tracemalloc from
# the apt repository REPO, run the traced checks, purge, and check that the
# system is as before.  On bullseye, Debian's python2.7 and
# python-markupsafe are installed first: they must stay byte-identical, and
# markupsafe's C extension must run traced in our interpreter.
set -eu
repo=$1

# everything under /usr, /etc and /opt, and the byte-compiled files anywhere
file_list() {
    find /usr /etc /opt -xdev ! -path /etc/ld.so.cache | sort
    find / -xdev -path /srv -prune -o \
        \( -name '*.py[co]' -o -name __pycache__ \) -print | sort
}
# Debian's python2.7: its files and everything in /usr/lib/python2.7
system_python() {
    { find /usr/lib/python2.7
      dpkg -L libpython2.7-minimal libpython2.7-stdlib python2.7-minimal \
          python2.7 python-markupsafe; } | sort -u |
    while read -r f; do
        if [ -L "$f" ]; then echo "link $f -> $(readlink "$f")"
        elif [ -f "$f" ]; then sha256sum "$f"
        else echo "dir $f"; fi
    done
}
apt_get() { apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@"; }

echo "deb [trusted=yes] file:$repo ./" >/etc/apt/sources.list.d/local.list
apt-get update -qq
if [ "$SUITE" = bullseye ]; then
    apt_get install python2.7 python-markupsafe >/dev/null
    system_python >/root/system-python.before
fi
file_list >/root/files.before

apt_get install python2.7-tracemalloc
lib=/usr/lib/python2.7-pep445/lib/python2.7
for f in $lib/os.pyc $lib/tracemalloc.pyc; do
    [ -f "$f" ] || { echo "FAIL: postinst did not compile $f"; exit 1; }
done
python2.7-pep445 -X tracemalloc=5 /srv/tests/top_line.py
if [ "$SUITE" = bullseye ]; then
    if python2.7-pep445 -c 'import markupsafe' 2>/dev/null; then
        echo "FAIL: dist-packages is on the path without PEP445_DIST_PACKAGES=1"
        exit 1
    fi
    PEP445_DIST_PACKAGES=1 python2.7-pep445 -X tracemalloc=5 \
        /srv/tests/system_extension.py
    system_python | diff /root/system-python.before - ||
        { echo "FAIL: Debian's python2.7 changed"; exit 1; }
    echo "Debian's python2.7: $(wc -l </root/system-python.before) files and directories unchanged"
fi

apt_get purge --autoremove python2.7-tracemalloc python2.7-pep445
if [ -e /usr/lib/python2.7-pep445 ]; then
    echo "FAIL: left after purge:"; find /usr/lib/python2.7-pep445; exit 1
fi
file_list | diff /root/files.before - ||
    { echo "FAIL: the purge left the system changed (above)"; exit 1; }
if [ "$SUITE" = bullseye ]; then
    system_python | diff /root/system-python.before - ||
        { echo "FAIL: Debian's python2.7 changed"; exit 1; }
fi
echo "purged: nothing left, no byte-compiled files"
