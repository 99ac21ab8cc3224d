"""What the stress and fault-injection scripts share: building their C
helpers, running a child interpreter with a deadline, seeds, summaries.

Runs on the patched 2.7 (and on 3.x where it makes sense).
"""

from __future__ import print_function

import atexit
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BACKPORT = os.path.join(ROOT, 'backport')
MODULE_TESTS = os.path.join(ROOT, 'tests', 'module')

# C helpers: module name -> source file.
HELPERS = {
    '_tracertest': os.path.join(MODULE_TESTS, '_tracertest.c'),
    '_faultalloc': os.path.join(HERE, '_faultalloc.c'),
}

_SETUP = textwrap.dedent("""
    import sys
    from distutils.core import setup, Extension
    setup(name=%(name)r, script_args=sys.argv[1:],
          ext_modules=[Extension(%(name)r, [%(source)r],
                                 include_dirs=[%(include)r],
                                 libraries=['dl'])])
    """)


def build_helpers(names=('_tracertest', '_faultalloc')):
    """Build the C helpers with this interpreter; return their directory.

    STRESS_HELPER_DIR names a directory to build them in and keep them
    (rebuilt when their source is newer); by default a temporary one."""
    build_dir = os.environ.get('STRESS_HELPER_DIR')
    if build_dir:
        if not os.path.isdir(build_dir):
            os.makedirs(build_dir)
    else:
        build_dir = tempfile.mkdtemp(prefix='stress-helpers-')
        atexit.register(shutil.rmtree, build_dir, True)
    for name in names:
        target = os.path.join(build_dir, name + '.so')
        if (os.path.exists(target) and os.path.getmtime(target)
                >= os.path.getmtime(HELPERS[name])):
            continue
        setup = _SETUP % {'name': name, 'source': HELPERS[name],
                          'include': BACKPORT}
        proc = subprocess.Popen(
            [sys.executable, '-c', setup, 'build_ext', '--build-lib',
             build_dir, '--build-temp', os.path.join(build_dir, 'temp')],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.communicate()[0]
        if proc.returncode != 0:
            raise RuntimeError('cannot build %s:\n%s'
                               % (name, output.decode('utf-8', 'replace')))
    return build_dir


def child_env(helper_dir, **extra):
    """Environment of a child interpreter finding _tracemalloc and the
    helpers; PYTHONTRACEMALLOC removed unless given in extra."""
    import _tracemalloc
    env = dict(os.environ)
    env.pop('PYTHONTRACEMALLOC', None)
    paths = [os.path.dirname(os.path.abspath(_tracemalloc.__file__)),
             helper_dir, HERE]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.update(extra)
    return env


def describe_status(status):
    if status < 0:
        try:
            name = signal.Signals(-status).name      # Python 3
        except AttributeError:
            names = dict((getattr(signal, n), n) for n in dir(signal)
                         if n.startswith('SIG') and not n.startswith('SIG_'))
            name = names.get(-status, str(-status))
        return 'killed by %s' % name
    return 'exit status %d' % status


def run_child(argv, env, timeout):
    """Run a child interpreter; kill it after `timeout` seconds.
    Return (status, output, timed_out)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    # A reader thread would be overkill: children print little; poll.
    deadline = time.time() + timeout
    chunks = []
    import select
    fd = proc.stdout.fileno()
    timed_out = False
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            timed_out = True
            # the child prints its Python stacks on SIGPWR (see
            # dump_python_stacks()), then gdb gives the C ones
            try:
                os.kill(proc.pid, signal.SIGPWR)
                time.sleep(2)
                while select.select([fd], [], [], 0)[0]:
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    chunks.append(data)
            except OSError:
                pass
            chunks.append(stacks_of(proc.pid).encode('utf-8', 'replace'))
            proc.kill()
            break
        ready = select.select([fd], [], [], min(remaining, 1.0))[0]
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
    rest = proc.stdout.read()
    if rest:
        chunks.append(rest)
    proc.wait()
    output = b''.join(chunks).decode('utf-8', 'replace')
    return proc.returncode, output, timed_out


def dump_python_stacks(signum=None, frame=None):
    """Print the Python stack of every thread (installed on SIGPWR in the
    children, for hangs)."""
    import traceback
    lines = []
    for ident, top in sys._current_frames().items():
        lines.append('--- Python stack of thread %d\n' % ident)
        lines.extend(traceback.format_stack(top))
    sys.stdout.write(''.join(lines))
    sys.stdout.flush()


def stacks_of(pid):
    """The C stacks of every thread of a hung process (and of its
    children), from gdb when there is one."""
    import distutils.spawn
    gdb = distutils.spawn.find_executable('gdb')
    if gdb is None:
        return '(no gdb: no stacks)\n'
    pids = [pid]
    try:
        children = subprocess.Popen(['pgrep', '-P', str(pid)],
                                    stdout=subprocess.PIPE).communicate()[0]
        pids += [int(child) for child in children.split()]
    except OSError:
        pass
    texts = []
    # twice, 3 s apart: a thread that moved is slow, not stuck
    for one in pids + [None] + pids:
        if one is None:
            time.sleep(3)
            texts.append('=== 3 s later')
            continue
        # the tracer's state too, when the process has the module
        proc = subprocess.Popen(
            [gdb, '-p', str(one), '-batch', '-ex', 'thread apply all bt 30',
             '-ex', 'print tracer.tracing', '-ex', 'print tracer.traces',
             '-ex', 'print tables_spinlock'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.communicate()[0].decode('utf-8', 'replace')
        texts.append('--- stacks of process %d\n' % one + '\n'.join(
            line for line in output.splitlines()
            if line.startswith(('#', 'Thread', '$'))))
    return '\n'.join(texts) + '\n'


def make_seed(given=None):
    if given is not None:
        return int(given)
    return int(os.environ.get('STRESS_SEED') or random.SystemRandom()
               .randrange(1, 2 ** 31))


class Summary(object):
    """Counts results and prints run-tests.sh's summary line."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def ok(self, name, detail=''):
        self.passed += 1
        print('ok      %s%s' % (name, (': ' + detail) if detail else ''))
        sys.stdout.flush()

    def fail(self, name, detail):
        self.failed += 1
        print('FAILED  %s: %s' % (name, detail))
        sys.stdout.flush()

    def skip(self, name, reason):
        self.skipped += 1
        print('skipped %s: %s' % (name, reason))
        sys.stdout.flush()

    def finish(self):
        print('%d passed, %d failed, %d skipped'
              % (self.passed, self.failed, self.skipped))
        return 1 if self.failed else 0
