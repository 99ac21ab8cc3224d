"""Regression tests for what the hardening tests (fuzzing, regrtest under
tracing) found.  Each test names the finding; tests/stress/quick.sh runs
them with `make check`.

    python2.7 tests/run_unittests.py tests/stress test_regressions.py
"""

from __future__ import print_function

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import tracemalloc

PY2 = sys.version_info[0] == 2


class LoadedSnapshotTests(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix='regressions-')
        self.addCleanup(shutil.rmtree, self.tmpdir)

    def dump_and_load(self, traces):
        path = os.path.join(self.tmpdir, 'snapshot.pickle')
        tracemalloc.Snapshot(traces, 1).dump(path)
        return path, tracemalloc.Snapshot.load(path)

    @unittest.skipUnless(PY2, 'Python 2 str() of unicode text')
    def test_str_of_non_ascii_filename(self):
        # Found by fuzzing the loader: a snapshot file gives unicode
        # filenames to non-ASCII ones (the writer decodes them, Python 3
        # writes nothing else), and str() of a Frame, Traceback, Trace or
        # Statistic then raised UnicodeEncodeError on Python 2, so that
        # `print(stat)` failed.
        path, snapshot = self.dump_and_load(
            [(0, 10, ((u'caf\xe9.py', 4),), 1),
             (0, 20, (('\xff.py', 5), ('b.py', 1)), 2)])
        for trace in snapshot.traces:
            self.assertIsInstance(str(trace), str)
            self.assertIsInstance(str(trace.traceback), str)
        for stat in snapshot.statistics('traceback'):
            self.assertIsInstance(str(stat), str)
        frame = tracemalloc.Frame((u'caf\xe9.py', 4))
        self.assertEqual(str(frame), u'caf\xe9.py:4'.encode('utf-8'))

    def test_nul_byte_in_filename(self):
        # Found by fuzzing the loader: it accepted a filename holding a NUL
        # byte (no real frame has one: compile() refuses such names), and
        # Traceback.format() and tracemalloc-report then died in linecache
        # with TypeError.  Either the file is refused, or both work.
        path = os.path.join(self.tmpdir, 'nul.pickle')
        tracemalloc.Snapshot([(0, 64, (('a\0b.py', 3), ('c.py', 1)), 2)],
                             2).dump(path)
        try:
            snapshot = tracemalloc.Snapshot.load(path)
        except ValueError:
            pass
        else:
            for trace in snapshot.traces:
                trace.traceback.format()
        process = subprocess.Popen(
            [sys.executable, '-m', 'tracemalloc_report', 'top', '--by',
             'traceback', path], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        out, err = process.communicate()
        self.assertIn(process.returncode, (0, 1), err)
        self.assertNotIn(b'Traceback (most recent call last)', err)


class SnapshotServiceTests(unittest.TestCase):
    # Found by the stress test's `service` scenario (rounds hung on a loaded
    # machine): the thread that holds the service's lock serves every
    # request queued meanwhile, and the interval thread queues one per
    # interval.  When a snapshot takes longer than the interval and the
    # holder is the main thread, in the SIGUSR2 handler, it takes snapshots
    # for ever: the program never runs again.
    def test_signal_request_returns_while_intervals_tick(self):
        code = textwrap.dedent("""
            import os, signal, sys, tempfile, time
            import tracemalloc
            import tracemalloc_snapshot_service as service
            signal.alarm(20)

            class Slow(object):
                # snapshots that take longer than the interval
                def __getattr__(self, name):
                    return getattr(tracemalloc, name)

                def take_snapshot(self):
                    time.sleep(0.5)
                    return tracemalloc.take_snapshot()

            tracemalloc.start(1)
            config = service.Config(tempfile.mkdtemp(), interval=0.3)
            snapshots = service.SnapshotService(config, tracemalloc=Slow())
            snapshots.start_interval_thread(0.3)
            time.sleep(0.1)                 # before the first tick
            start = time.time()
            snapshots.request('signal')     # what the SIGUSR2 handler does
            sys.stdout.write('%.1f' % (time.time() - start))
            sys.stdout.flush()
            os._exit(0)                     # the daemon thread may be busy
            """)
        env = dict(os.environ)
        env.pop('PYTHONTRACEMALLOC', None)
        env.pop('TRACEMALLOC_SNAPSHOT_DIR', None)
        process = subprocess.Popen([sys.executable, '-c', code],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env)
        out, err = process.communicate()
        self.assertEqual(process.returncode, 0,
                         'request() did not return in 20 s ' + err.decode())
        self.assertLess(float(out), 5.0)


class CodeLifetimeTests(unittest.TestCase):
    # Found by CPython's regression suite under PYTHONTRACEMALLOC=1
    # (test_code.CodeWeakRefTest failed): an interned traceback held
    # references to the code objects of its frames until clear_traces() or
    # stop(), so code compiled at run time (exec, eval, namedtuple(),
    # templates) outlived its last user while tracing.  Tracebacks now keep
    # what line numbers need (filename, co_lnotab, co_firstlineno), not the
    # code objects; tests/module/test_tracer.py (CodeLifetimeTests) checks
    # the tracebacks of dead code objects.
    def test_code_object_freed_while_tracing(self):
        code = textwrap.dedent("""
            import gc, sys, weakref
            import _tracemalloc
            _tracemalloc.start(5)
            namespace = {}
            exec(compile('def f():\\n    return [1, 2, 3]\\n', 'generated',
                         'exec'), namespace)
            f = namespace.pop('f')
            kept = f()          # allocates in f: a traceback with its code
            ref = weakref.ref(f.__code__)
            del f, namespace
            gc.collect()
            sys.stdout.write('freed' if ref() is None else 'alive')
            """)
        env = dict(os.environ)
        env.pop('PYTHONTRACEMALLOC', None)
        process = subprocess.Popen([sys.executable, '-c', code],
                                   stdout=subprocess.PIPE, env=env)
        out = process.communicate()[0].decode()
        self.assertEqual(out, 'freed')


if __name__ == '__main__':
    unittest.main()
