"""What the tests of tests/snapshots and tests/e2e share: the backport's
modules on sys.path, a python3 to cross-check with, child processes.

Runs on Python 2.7 and 3.x.
"""

from __future__ import print_function

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
BACKPORT_DIR = os.path.join(ROOT, 'backport')
PY2 = sys.version_info[0] == 2


def import_backport():
    """Import backport/tracemalloc.py as `tracemalloc` (pickles name
    `tracemalloc.Snapshot`), even on Python 3 where the standard library
    has a module of that name."""
    if BACKPORT_DIR not in sys.path:
        sys.path.insert(0, BACKPORT_DIR)
    module = sys.modules.get('tracemalloc')
    if module is not None and not _is_backport(module):
        del sys.modules['tracemalloc']
    import tracemalloc
    assert _is_backport(tracemalloc), tracemalloc.__file__
    return tracemalloc


def _is_backport(module):
    filename = getattr(module, '__file__', None) or ''
    return os.path.dirname(os.path.abspath(filename)) == BACKPORT_DIR


def which(program):
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _find_python3(minimum):
    """(path, None) for a python3 >= minimum on PATH, or (None, reason)."""
    python3 = which('python3')
    if python3 is None:
        return None, 'no python3 on PATH'
    check = 'import sys; sys.exit(0 if sys.version_info >= %r else 3)' % (
        minimum,)
    try:
        status = subprocess.call([python3, '-E', '-s', '-c', check],
                                 cwd=tempfile.gettempdir())
    except OSError as exc:
        return None, 'cannot run %s: %s' % (python3, exc)
    if status != 0:
        return None, '%s is older than %s' % (
            python3, '.'.join(str(part) for part in minimum))
    return python3, None


# A python3 for the report tool (3.6+), and one whose standard library
# reads the 4-tuple traces of snapshot files (3.9+).
PYTHON3, PYTHON3_MISSING = _find_python3((3, 6))
STDLIB_PYTHON3, STDLIB_PYTHON3_MISSING = _find_python3((3, 9))


def child_stderr(data):
    """The stderr bytes of a child interpreter as text, without the
    "[N refs]" line that --with-pydebug builds of 2.7 and 3.3 print at
    exit."""
    text = data.decode('utf-8', 'replace')
    return re.sub(r'\[\d+ refs\]\n\Z', '', text)


def run(command, env=None, cwd=None, stdin_data=None):
    """Run *command*; return (exit status, stdout text, stderr text)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE,
                               stdin=subprocess.PIPE, env=env, cwd=cwd)
    stdout, stderr = process.communicate(stdin_data)
    return (process.returncode, stdout.decode('utf-8', 'replace'),
            child_stderr(stderr))


def wait_for(predicate, timeout=30, what='a condition'):
    """Poll *predicate* until it returns something true; return that."""
    deadline = time.time() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(0.02)


def line_of(path, marker):
    """The number of the only line of *path* that contains *marker*."""
    with open(path) as fp:
        numbers = [number for number, line in enumerate(fp, 1)
                   if marker in line]
    assert len(numbers) == 1, (path, marker, numbers)
    return numbers[0]


class TempDirMixin(object):
    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix='test_snapshots_')
        self.addCleanup(shutil.rmtree, self.tmpdir)

    def path(self, *names):
        return os.path.join(self.tmpdir, *names)

    def write(self, name, data):
        path = self.path(name)
        with open(path, 'wb') as fp:
            fp.write(data)
        return path
