"""The snapshot service (backport/tracemalloc_snapshot_service.py): child
interpreters started with PYTHONTRACEMALLOC and TRACEMALLOC_SNAPSHOT_*
variables, activated by the installed tracemalloc-snapshots.pth, and the
service object in this process.

Run with the patched interpreter after `make module` (which installs the
.pth file); the children import the service from backport/ (PYTHONPATH).
"""

from __future__ import print_function

import errno
import io
import os
import platform
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import support

tracemalloc = support.import_backport()
import tracemalloc_snapshot_file  # noqa: E402
import tracemalloc_snapshot_service as service_module  # noqa: E402

try:
    import _tracemalloc
    HAVE_ARENA_STATS = hasattr(_tracemalloc, '_get_arena_stats')
except ImportError:
    HAVE_ARENA_STATS = False

ARENA_STATS_KEYS = ['arena_bytes', 'free_block_bytes', 'free_pool_bytes',
                    'narenas', 'used_block_bytes']

PTH_FILE = os.path.join(sys.prefix, 'lib',
                        'python%i.%i' % sys.version_info[:2],
                        'site-packages', 'tracemalloc-snapshots.pth')
PTH_MISSING = ('%s is not installed (run make module with this interpreter)'
               % PTH_FILE)

# The program traced: N strings allocated at a known line, then a wait for
# the stop file (the sleeps let the signal handler run).
CHILD = textwrap.dedent('''\
    import os, sys, time
    count, stop_file = int(sys.argv[1]), sys.argv[2]
    keep = [None] * count
    for i in range(count):
        keep[i] = '%06d' % i + 'x' * 100  # ALLOCATION
    sys.stdout.write('ready %d %d\\n' % (os.getpid(), sys.getsizeof(keep[0])))
    sys.stdout.flush()
    deadline = time.time() + 60
    while not os.path.exists(stop_file) and time.time() < deadline:
        time.sleep(0.02)
    sys.stdout.write('done\\n')
    ''')
ALLOCATION_LINE = 5


def child_environment(settings, tracing=3):
    env = dict((key, value) for key, value in os.environ.items()
               if not key.startswith(('TRACEMALLOC_', 'PYTHONTRACEMALLOC')))
    env['PYTHONPATH'] = support.BACKPORT_DIR
    if tracing:
        env['PYTHONTRACEMALLOC'] = str(tracing)
    for key, value in settings.items():
        env['TRACEMALLOC_SNAPSHOT_' + key] = value
    return env


class Child(object):
    """A child interpreter running CHILD."""

    def __init__(self, test, count, settings, tracing=3):
        self.script = test.path('child.py')
        with open(self.script, 'w') as fp:
            fp.write(CHILD)
        self.stop_file = test.path('stop')
        self.argv = [sys.executable, self.script, str(count), self.stop_file]
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_environment(settings, tracing), cwd=test.tmpdir)
        # never hang the tests: the child stops on its own after 60s too
        self.watchdog = threading.Timer(90, self._kill)
        self.watchdog.start()
        test.addCleanup(self.watchdog.cancel)
        line = self.process.stdout.readline().decode('ascii')
        words = line.split()
        assert words[:1] == ['ready'], (line, self.process.stderr.read())
        self.pid, self.string_size = int(words[1]), int(words[2])

    def _kill(self):
        try:
            self.process.kill()
        except OSError:
            pass

    def signal(self, signum=signal.SIGUSR2):
        os.kill(self.pid, signum)

    def stop(self):
        """Let the child finish; return (status, stdout, stderr)."""
        with open(self.stop_file, 'w'):
            pass
        stdout, stderr = self.process.communicate()
        self.watchdog.cancel()
        return (self.process.returncode, stdout.decode('utf-8'),
                support.child_stderr(stderr))


def snapshot_files(directory):
    """{sequence: name} of the snapshot files in *directory*."""
    files = {}
    for name in os.listdir(directory):
        parsed = tracemalloc_snapshot_file.parse_snapshot_filename(name)
        if parsed is not None:
            files[parsed[1]] = name
    return files


@unittest.skipUnless(os.path.exists(PTH_FILE), PTH_MISSING)
class ServiceInChildTests(support.TempDirMixin, unittest.TestCase):
    def setUp(self):
        support.TempDirMixin.setUp(self)
        self.snapshots = self.path('snapshots')

    def wait_for_sequence(self, sequence):
        return support.wait_for(
            lambda: snapshot_files(self.snapshots).get(sequence)
            if os.path.isdir(self.snapshots) else None,
            what='snapshot #%i' % sequence)

    def test_signal_writes_a_snapshot(self):
        child = Child(self, 2000, {'DIR': self.snapshots})
        child.signal()
        name = self.wait_for_sequence(1)
        self.assertEqual(tracemalloc_snapshot_file.parse_snapshot_filename(
            name), (child.pid, 1))
        status, stdout, stderr = child.stop()
        self.assertEqual((status, stdout, stderr), (0, 'done\n', ''))
        # renamed into place: no temporary file left; owner only
        self.assertEqual(os.listdir(self.snapshots), [name])
        path = os.path.join(self.snapshots, name)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

        snapshot = tracemalloc.Snapshot.load(path)
        self.assertEqual(snapshot.traceback_limit, 3)
        stats = dict(((stat.traceback[0].filename, stat.traceback[0].lineno),
                      stat) for stat in snapshot.statistics('lineno'))
        allocation = stats[(child.script, ALLOCATION_LINE)]
        self.assertEqual(allocation.count, 2000)
        self.assertEqual(allocation.size, 2000 * child.string_size)

        metadata = snapshot.metadata
        self.assertEqual(metadata['format_version'], 1)
        self.assertEqual(metadata['pid'], child.pid)
        self.assertEqual(metadata['reason'], 'signal')
        self.assertEqual(metadata['sequence'], 1)
        self.assertEqual(metadata['argv'], child.argv)
        self.assertEqual(metadata['cwd'], os.path.realpath(self.tmpdir))
        self.assertEqual(metadata['hostname'], os.uname()[1])
        self.assertEqual(metadata['python_version'],
                         platform.python_version())
        self.assertEqual(metadata['dropped_traces'], 0)
        self.assertGreaterEqual(metadata['traced_memory'], allocation.size)
        self.assertGreaterEqual(metadata['traced_memory_peak'],
                                metadata['traced_memory'])
        self.assertGreater(metadata['tracemalloc_memory'], 0)
        self.assertGreater(metadata['rss'], metadata['traced_memory'])
        self.assertGreaterEqual(metadata['rss_peak'], metadata['rss'])
        self.assertLess(abs(metadata['time'] - time.time()), 60)
        self.assertEqual(name, tracemalloc_snapshot_file.snapshot_filename(
            child.pid, 1, metadata['time']))
        if HAVE_ARENA_STATS:
            # the names of _PyObject_GetArenaStats()'s out-parameters
            self.assertEqual(sorted(metadata['arena_stats']),
                             ARENA_STATS_KEYS,
                             '_tracemalloc._get_arena_stats() keys')
        else:
            self.assertNotIn('arena_stats', metadata)

    def test_keep_keeps_the_first_and_the_newest(self):
        child = Child(self, 10, {'DIR': self.snapshots, 'KEEP': '3'})
        for sequence in range(1, 6):
            child.signal()
            self.wait_for_sequence(sequence)
        self.assertEqual(child.stop()[0], 0)
        self.assertEqual(sorted(snapshot_files(self.snapshots)), [1, 4, 5])

    def test_interval(self):
        child = Child(self, 10, {'DIR': self.snapshots, 'INTERVAL': '0.2',
                                 'SIGNAL': 'none'})
        self.wait_for_sequence(3)
        self.assertEqual(child.stop()[0], 0)
        files = snapshot_files(self.snapshots)
        self.assertEqual(sorted(files), list(range(1, len(files) + 1)))
        for name in files.values():
            snapshot = tracemalloc.Snapshot.load(
                os.path.join(self.snapshots, name))
            self.assertEqual(snapshot.metadata['reason'], 'interval')

    def test_at_exit(self):
        child = Child(self, 10, {'DIR': self.snapshots, 'AT_EXIT': '1'})
        self.assertEqual(child.stop(), (0, 'done\n', ''))
        files = snapshot_files(self.snapshots)
        self.assertEqual(list(files), [1])
        snapshot = tracemalloc.Snapshot.load(
            os.path.join(self.snapshots, files[1]))
        self.assertEqual(snapshot.metadata['reason'], 'exit')

    def test_other_signal(self):
        child = Child(self, 10, {'DIR': self.snapshots, 'SIGNAL': 'USR1'})
        child.signal(signal.SIGUSR1)
        self.wait_for_sequence(1)
        self.assertEqual(child.stop()[0], 0)

    def test_unwritable_directory_is_reported_once(self):
        self.write('file', b'')
        directory = self.path('file', 'snapshots')
        child = Child(self, 10, {'DIR': directory, 'AT_EXIT': '1'})
        for _ in range(2):
            child.signal()
            time.sleep(0.3)
        status, stdout, stderr = child.stop()
        self.assertEqual((status, stdout), (0, 'done\n'))
        self.assertEqual(stderr, 'tracemalloc snapshots: cannot write a '
                         'snapshot into %s: Not a directory\n' % directory)

    def test_not_tracing_is_reported_once(self):
        child = Child(self, 10, {'DIR': self.snapshots}, tracing=0)
        for _ in range(2):
            child.signal()
            time.sleep(0.3)
        status, stdout, stderr = child.stop()
        # SIGUSR2 did not kill it
        self.assertEqual((status, stdout), (0, 'done\n'))
        self.assertEqual(stderr, 'tracemalloc snapshots: tracemalloc is not '
                         'tracing: no snapshot taken (start the program with '
                         'PYTHONTRACEMALLOC=N, N frames per traceback)\n')
        self.assertFalse(os.path.exists(self.snapshots))

    def test_wrong_settings_are_reported(self):
        for settings, message in (
                ({'SIGNAL': 'NOPE'},
                 'TRACEMALLOC_SNAPSHOT_SIGNAL=NOPE: no such signal'),
                ({'SIGNAL': 'KILL'},
                 'TRACEMALLOC_SNAPSHOT_SIGNAL=KILL: cannot handle that '
                 'signal'),
                ({'INTERVAL': 'often'},
                 'TRACEMALLOC_SNAPSHOT_INTERVAL=often: not a number'),
                ({'KEEP': '-1'},
                 'TRACEMALLOC_SNAPSHOT_KEEP=-1: must be positive'),
                ({'AT_EXIT': 'maybe'},
                 'TRACEMALLOC_SNAPSHOT_AT_EXIT=maybe: use 1 or 0')):
            settings['DIR'] = self.snapshots
            if os.path.exists(self.path('stop')):
                os.remove(self.path('stop'))
            child = Child(self, 10, settings)
            self.assertEqual(child.stop(), (0, 'done\n',
                                            'tracemalloc snapshots: %s\n'
                                            % message))

    def test_pth_imports_nothing_unless_asked(self):
        code = ('import sys; print(sorted(name for name in sys.modules '
                'if name.startswith("tracemalloc")))')
        env = child_environment({})
        status, stdout, stderr = support.run([sys.executable, '-c', code],
                                             env=env)
        self.assertEqual((status, stdout, stderr), (0, '[]\n', ''))
        env = child_environment({'DIR': self.snapshots})
        status, stdout, stderr = support.run([sys.executable, '-c', code],
                                             env=env)
        self.assertEqual((status, stderr), (0, ''))
        self.assertEqual(stdout, "['tracemalloc', 'tracemalloc_snapshot_file'"
                         ", 'tracemalloc_snapshot_service']\n")


class FakeStderr(io.StringIO):
    def write(self, text):
        return io.StringIO.write(self, u'%s' % text)


class ServiceObjectTests(support.TempDirMixin, unittest.TestCase):
    """The service object in this process, tracing here."""

    def setUp(self):
        support.TempDirMixin.setUp(self)
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
            self.addCleanup(tracemalloc.stop)
        self.stderr = FakeStderr()
        self.directory = self.path('snapshots')
        self.service = service_module.SnapshotService(
            service_module.Config(self.directory), tracemalloc,
            stderr=self.stderr)

    def test_disk_full_is_reported_once_and_leaves_no_file(self):
        def write_half_and_fail(snapshot, fp, metadata=None):
            fp.write(b'\x80\x02' + b'x' * 1000)
            raise IOError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        real_write = tracemalloc_snapshot_file.write_snapshot
        tracemalloc_snapshot_file.write_snapshot = write_half_and_fail
        try:
            self.assertIsNone(self.service.request('signal'))
            self.assertIsNone(self.service.request('signal'))
        finally:
            tracemalloc_snapshot_file.write_snapshot = real_write
        self.assertEqual(os.listdir(self.directory), [])
        self.assertEqual(self.stderr.getvalue(),
                         u'tracemalloc snapshots: cannot write a snapshot '
                         u'into %s: No space left on device\n'
                         % self.directory)
        # and once there is room again
        path = self.service.request('signal')
        self.assertEqual(os.listdir(self.directory),
                         [os.path.basename(path)])
        self.assertEqual(tracemalloc_snapshot_file.parse_snapshot_filename(
            os.path.basename(path)), (os.getpid(), 3))

    def test_request_while_busy_is_served_right_after(self):
        # As when the signal handler runs while the interval thread writes
        # a snapshot: the request must neither wait nor be lost.
        self.service._busy.acquire()
        try:
            self.assertIsNone(self.service.request('signal'))
            self.assertFalse(os.path.exists(self.directory))
        finally:
            self.service._busy.release()
        path = self.service.request('interval')
        # both requests served by one snapshot
        self.assertEqual(os.listdir(self.directory),
                         [os.path.basename(path)])
        self.assertEqual(tracemalloc.Snapshot.load(path).metadata['reason'],
                         'signal')


if __name__ == '__main__':
    unittest.main()
