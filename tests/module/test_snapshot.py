"""Tests of the pure-Python layer of tracemalloc (backport/tracemalloc.py).

Snapshots are built from hand-made raw traces, so nothing here needs the
tracer to run; tracemalloc.py still imports the C module _tracemalloc.
Runs on Python 2.7 and 3.x:

    python tests/module/test_snapshot.py
    python -m unittest discover -s tests/module -p 'test_snapshot.py'

The compatibility tests also run a `python3` (3.9+) found on PATH, with its
own standard library tracemalloc, and are skipped when there is none.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import pickle
import pickletools
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

try:
    import copyreg
except ImportError:  # Python 2
    import copy_reg as copyreg

HERE = os.path.dirname(os.path.abspath(__file__))
BACKPORT_DIR = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir,
                                             'backport'))


def _import_backport():
    """Import backport/tracemalloc.py as `tracemalloc`, even on Python 3
    where the standard library has a module of that name: pickles refer to
    `tracemalloc.Snapshot`, so the module must be sys.modules['tracemalloc'].
    """
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


tracemalloc = _import_backport()
import _tracemalloc  # noqa: E402 (whichever one tracemalloc imported)

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
else:
    text_type = str


def as_text(filename):
    """Filenames as text, to compare Python 2 byte strings with JSON."""
    if isinstance(filename, bytes) and not isinstance(filename, text_type):
        return filename.decode('utf-8')
    return filename


# Raw frames, as _tracemalloc returns them: (filename, lineno).
A2 = ('a.py', 2)
A5 = ('a.py', 5)
B1 = ('b.py', 1)
B4 = ('b.py', 4)
C9 = ('c.py', 9)
UNKNOWN = ('<unknown>', 0)

# Raw tracebacks: most recent frame FIRST (a.py:2 was called from b.py:4).
TB1 = (A2, B4)
TB2 = (A5, B4)
TB3 = (B1,)
TB4 = (UNKNOWN,)
TB5 = (C9,)


def old_traces():
    # (domain, size, frames, total_nframe)
    return [
        (0, 10, TB1, 3),
        (0, 10, TB1, 3),
        (0, 10, TB1, 3),
        (1, 2, TB2, 2),
        (2, 66, TB3, 1),
        (0, 7, TB4, 1),
    ]


def new_traces():
    # Compared with old_traces(): one TB1 block freed, a second TB2 block
    # allocated, the TB4 block freed, a big TB5 block allocated.
    return [
        (0, 10, TB1, 3),
        (0, 10, TB1, 3),
        (1, 2, TB2, 2),
        (1, 6, TB2, 2),
        (2, 66, TB3, 1),
        (3, 5000, TB5, 1),
    ]


def make_snapshots():
    return (tracemalloc.Snapshot(old_traces(), 4),
            tracemalloc.Snapshot(new_traces(), 4))


def stat_rows(statistics):
    """Statistic list -> [(frames oldest first, size, count)]."""
    return [(tuple((frame.filename, frame.lineno) for frame in stat.traceback),
             stat.size, stat.count)
            for stat in statistics]


def diff_rows(statistics):
    """StatisticDiff list -> [(frames oldest first, size, size_diff, count,
    count_diff)]."""
    return [(tuple((frame.filename, frame.lineno) for frame in stat.traceback),
             stat.size, stat.size_diff, stat.count, stat.count_diff)
            for stat in statistics]


def which(program):
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


class TempDirMixin(object):
    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix='test_snapshot_')
        self.addCleanup(shutil.rmtree, self.tmpdir)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def write(self, name, data):
        path = self.path(name)
        with open(path, 'wb') as fp:
            fp.write(data)
        return path


class PatchMixin(object):
    def patch_module(self, name, value):
        """Replace tracemalloc.<name> for the duration of the test."""
        original = getattr(tracemalloc, name)
        setattr(tracemalloc, name, value)
        self.addCleanup(setattr, tracemalloc, name, original)


class ModuleTests(PatchMixin, unittest.TestCase):
    C_FUNCTIONS = ('start', 'stop', 'is_tracing', 'clear_traces',
                   'get_traceback_limit', 'get_traced_memory', 'reset_peak',
                   'get_tracemalloc_memory')

    def test_c_functions_reexported(self):
        for name in self.C_FUNCTIONS:
            self.assertIs(getattr(tracemalloc, name),
                          getattr(_tracemalloc, name), name)

    def test_get_dropped_traces_reexported(self):
        if not hasattr(_tracemalloc, 'get_dropped_traces'):
            if sys.version_info < (3, 4):
                self.fail('_tracemalloc lacks get_dropped_traces')
            self.skipTest("CPython's own _tracemalloc has no "
                          "get_dropped_traces (a backport extension)")
        self.assertIs(tracemalloc.get_dropped_traces,
                      _tracemalloc.get_dropped_traces)

    def test_public_names(self):
        for name in ('get_object_traceback', 'take_snapshot', 'Frame',
                     'Traceback', 'Trace', 'Statistic', 'StatisticDiff',
                     'Snapshot', 'BaseFilter', 'Filter', 'DomainFilter'):
            self.assertTrue(hasattr(tracemalloc, name), name)

    def test_take_snapshot_not_tracing(self):
        self.patch_module('is_tracing', lambda: False)
        with self.assertRaises(RuntimeError) as cm:
            tracemalloc.take_snapshot()
        self.assertEqual(str(cm.exception),
                         'the tracemalloc module must be tracing memory '
                         'allocations to take a snapshot')

    def test_take_snapshot(self):
        raw = old_traces()
        self.patch_module('is_tracing', lambda: True)
        self.patch_module('_get_traces', lambda: raw)
        self.patch_module('get_traceback_limit', lambda: 7)
        snapshot = tracemalloc.take_snapshot()
        self.assertIsInstance(snapshot, tracemalloc.Snapshot)
        self.assertIs(snapshot.traces._traces, raw)
        self.assertEqual(snapshot.traceback_limit, 7)

    def test_get_object_traceback(self):
        self.patch_module('_get_object_traceback', lambda obj: TB1)
        traceback = tracemalloc.get_object_traceback(object())
        self.assertEqual(list(traceback),
                         [tracemalloc.Frame(B4), tracemalloc.Frame(A2)])
        self.assertIsNone(traceback.total_nframe)

        self.patch_module('_get_object_traceback', lambda obj: None)
        self.assertIsNone(tracemalloc.get_object_traceback(object()))


class FrameTracebackTests(TempDirMixin, unittest.TestCase):
    def test_frame(self):
        frame = tracemalloc.Frame(A2)
        self.assertEqual(frame.filename, 'a.py')
        self.assertEqual(frame.lineno, 2)
        self.assertEqual(str(frame), 'a.py:2')
        self.assertEqual(repr(frame), "<Frame filename='a.py' lineno=2>")
        self.assertEqual(frame, tracemalloc.Frame(('a.py', 2)))
        self.assertFalse(frame != tracemalloc.Frame(('a.py', 2)))
        self.assertNotEqual(frame, tracemalloc.Frame(A5))
        self.assertNotEqual(frame, A2)
        self.assertEqual(hash(frame), hash(tracemalloc.Frame(A2)))
        self.assertTrue(frame < tracemalloc.Frame(A5))
        self.assertTrue(frame <= tracemalloc.Frame(A2))
        self.assertTrue(tracemalloc.Frame(B1) > frame)
        self.assertTrue(tracemalloc.Frame(B1) >= frame)
        self.assertEqual(sorted([tracemalloc.Frame(B1), tracemalloc.Frame(A5),
                                 frame]),
                         [frame, tracemalloc.Frame(A5), tracemalloc.Frame(B1)])

    def test_traceback_order_and_sequence(self):
        traceback = tracemalloc.Traceback(TB1, 3)
        # Oldest frame first, whereas the raw tuple is most recent first.
        self.assertEqual(len(traceback), 2)
        self.assertEqual(traceback[0], tracemalloc.Frame(B4))
        self.assertEqual(traceback[1], tracemalloc.Frame(A2))
        self.assertEqual(traceback[-1], tracemalloc.Frame(A2))
        self.assertEqual(traceback[:1], (tracemalloc.Frame(B4),))
        self.assertEqual(traceback[::-1],
                         (tracemalloc.Frame(A2), tracemalloc.Frame(B4)))
        self.assertEqual(list(reversed(traceback)),
                         [tracemalloc.Frame(A2), tracemalloc.Frame(B4)])
        self.assertIn(tracemalloc.Frame(A2), traceback)
        self.assertNotIn(tracemalloc.Frame(C9), traceback)
        self.assertEqual(traceback.index(tracemalloc.Frame(A2)), 1)
        self.assertEqual(traceback.total_nframe, 3)
        self.assertIsNone(tracemalloc.Traceback(TB1).total_nframe)
        self.assertRaises(IndexError, traceback.__getitem__, 2)

    def test_traceback_compare(self):
        tb1 = tracemalloc.Traceback(TB1, 3)
        # total_nframe is not part of the identity
        self.assertEqual(tb1, tracemalloc.Traceback(TB1))
        self.assertFalse(tb1 != tracemalloc.Traceback(TB1))
        self.assertEqual(hash(tb1), hash(tracemalloc.Traceback(TB1)))
        self.assertNotEqual(tb1, tracemalloc.Traceback(TB2))
        self.assertNotEqual(tb1, TB1)
        # compared oldest frame first: (b.py:4, a.py:2) < (b.py:4, a.py:5)
        self.assertTrue(tb1 < tracemalloc.Traceback(TB2))
        self.assertTrue(tracemalloc.Traceback(TB2) > tb1)
        self.assertTrue(tb1 <= tracemalloc.Traceback(TB1))
        self.assertTrue(tb1 >= tracemalloc.Traceback(TB1))

    def test_traceback_str_repr(self):
        traceback = tracemalloc.Traceback(TB1, 3)
        self.assertEqual(str(traceback), 'b.py:4')  # the oldest frame
        self.assertEqual(repr(traceback),
                         "<Traceback (<Frame filename='b.py' lineno=4>, "
                         "<Frame filename='a.py' lineno=2>) total_nframe=3>")
        self.assertEqual(repr(tracemalloc.Traceback(TB3)),
                         "<Traceback (<Frame filename='b.py' lineno=1>,)>")

    def make_format_traceback(self):
        source = self.path('example_source.py')
        with open(source, 'w') as fp:
            fp.write('def outer():\n'
                     '    return inner()\n'
                     '\n'
                     'def inner():\n'
                     '    data = [0] * 1000   \n')
        missing = self.path('missing.py')
        import linecache
        linecache.clearcache()
        self.addCleanup(linecache.clearcache)
        # most recent first: inner() line 5, called by outer() line 2,
        # called from a file that no longer exists.
        traceback = tracemalloc.Traceback(((source, 5), (source, 2),
                                           (missing, 7)))
        lines = {
            'missing': '  File "%s", line 7' % missing,
            'outer': '  File "%s", line 2' % source,
            'outer_src': '    return inner()',
            'inner': '  File "%s", line 5' % source,
            'inner_src': '    data = [0] * 1000',
        }
        return traceback, lines

    def test_traceback_format(self):
        traceback, L = self.make_format_traceback()
        full = [L['missing'], L['outer'], L['outer_src'],
                L['inner'], L['inner_src']]
        self.assertEqual(traceback.format(), full)
        self.assertEqual(traceback.format(limit=None), full)
        self.assertEqual(traceback.format(limit=3), full)
        self.assertEqual(traceback.format(limit=10), full)
        # A positive limit keeps the most recent frames...
        self.assertEqual(traceback.format(limit=1),
                         [L['inner'], L['inner_src']])
        self.assertEqual(traceback.format(2),
                         [L['outer'], L['outer_src'],
                          L['inner'], L['inner_src']])
        # ... a negative one drops them.
        self.assertEqual(traceback.format(limit=-1),
                         [L['missing'], L['outer'], L['outer_src']])
        self.assertEqual(traceback.format(limit=-2), [L['missing']])
        self.assertEqual(traceback.format(limit=-3), [])
        self.assertEqual(traceback.format(limit=-10), [])
        self.assertEqual(traceback.format(limit=0), [])

    def test_traceback_format_most_recent_first(self):
        traceback, L = self.make_format_traceback()
        self.assertEqual(traceback.format(most_recent_first=True),
                         [L['inner'], L['inner_src'],
                          L['outer'], L['outer_src'], L['missing']])
        self.assertEqual(traceback.format(1, True),
                         [L['inner'], L['inner_src']])
        self.assertEqual(traceback.format(limit=-1, most_recent_first=True),
                         [L['outer'], L['outer_src'], L['missing']])
        self.assertEqual(traceback.format(limit=0, most_recent_first=True),
                         [])

    def test_traceback_format_no_source(self):
        traceback = tracemalloc.Traceback((UNKNOWN,))
        self.assertEqual(traceback.format(), ['  File "<unknown>", line 0'])


class TraceTests(unittest.TestCase):
    def test_trace(self):
        old, new = make_snapshots()
        trace = new.traces[5]
        self.assertIsInstance(trace, tracemalloc.Trace)
        self.assertEqual(trace.domain, 3)
        self.assertEqual(trace.size, 5000)
        self.assertEqual(trace.traceback, tracemalloc.Traceback(TB5))
        self.assertEqual(trace.traceback.total_nframe, 1)
        self.assertEqual(str(trace), 'c.py:9: 5000 B')
        self.assertEqual(repr(trace),
                         "<Trace domain=3 size=5000 B, traceback=<Traceback "
                         "(<Frame filename='c.py' lineno=9>,) "
                         "total_nframe=1>>")
        # str() of a traceback is its oldest frame
        self.assertEqual(str(old.traces[0]), 'b.py:4: 10 B')
        self.assertEqual(trace, tracemalloc.Trace((3, 5000, TB5, 1)))
        self.assertFalse(trace != tracemalloc.Trace((3, 5000, TB5, 1)))
        self.assertNotEqual(trace, tracemalloc.Trace((3, 5000, TB5, 2)))
        self.assertEqual(hash(trace), hash(tracemalloc.Trace((3, 5000, TB5,
                                                               1))))

    def test_traces_sequence(self):
        old, new = make_snapshots()
        traces = old.traces
        self.assertEqual(len(traces), 6)
        self.assertEqual(repr(traces), '<Traces len=6>')
        self.assertEqual(traces[3], tracemalloc.Trace((1, 2, TB2, 2)))
        self.assertEqual(traces[-1], tracemalloc.Trace((0, 7, TB4, 1)))
        self.assertEqual(traces[4:],
                         (tracemalloc.Trace((2, 66, TB3, 1)),
                          tracemalloc.Trace((0, 7, TB4, 1))))
        self.assertIn(tracemalloc.Trace((0, 7, TB4, 1)), traces)
        self.assertNotIn(tracemalloc.Trace((3, 5000, TB5, 1)), traces)
        self.assertEqual([trace.size for trace in traces],
                         [10, 10, 10, 2, 66, 7])
        self.assertEqual(traces, tracemalloc.Snapshot(old_traces(), 1).traces)
        self.assertNotEqual(traces, new.traces)
        self.assertRaises(TypeError, hash, traces)


class StatisticTests(unittest.TestCase):
    def test_format_size(self):
        fmt = tracemalloc._format_size
        self.assertEqual([fmt(size, False) for size in (
            0, 1023, 10239, 10240, 102399, 102400, 10 * 1024 ** 2 - 1,
            10 * 1024 ** 2, 3 * 1024 ** 4, 200 * 1024 ** 4, 1024 ** 5)],
            ['0 B', '1023 B', '10239 B', '10.0 KiB', '100.0 KiB', '100 KiB',
             '10240 KiB', '10.0 MiB', '3072 GiB', '200 TiB', '1024 TiB'])
        self.assertEqual([fmt(size, True) for size in (5000, -7, 0, -10240)],
                         ['+5000 B', '-7 B', '+0 B', '-10.0 KiB'])

    def test_statistic(self):
        traceback = tracemalloc.Traceback((A5,))
        stat = tracemalloc.Statistic(traceback, 7, 2)
        # 7 / 2 = 3.5 rounds to 4: true division, on Python 2 too
        self.assertEqual(str(stat), 'a.py:5: size=7 B, count=2, average=4 B')
        self.assertEqual(repr(stat),
                         "<Statistic traceback=<Traceback "
                         "(<Frame filename='a.py' lineno=5>,)> size=7 "
                         "count=2>")
        self.assertEqual(str(tracemalloc.Statistic(traceback, 0, 0)),
                         'a.py:5: size=0 B, count=0')
        self.assertEqual(str(tracemalloc.Statistic(traceback, 10240, 1)),
                         'a.py:5: size=10.0 KiB, count=1, average=10.0 KiB')
        self.assertEqual(stat, tracemalloc.Statistic(
            tracemalloc.Traceback((A5,)), 7, 2))
        self.assertFalse(stat != tracemalloc.Statistic(
            tracemalloc.Traceback((A5,)), 7, 2))
        self.assertNotEqual(stat, tracemalloc.Statistic(traceback, 7, 3))
        self.assertEqual(hash(stat), hash(tracemalloc.Statistic(
            tracemalloc.Traceback((A5,)), 7, 2)))

    def test_statistic_diff(self):
        traceback = tracemalloc.Traceback((C9,))
        diff = tracemalloc.StatisticDiff(traceback, 5000, 5000, 1, 1)
        self.assertEqual(str(diff), 'c.py:9: size=5000 B (+5000 B), '
                                    'count=1 (+1), average=5000 B')
        self.assertEqual(repr(diff),
                         "<StatisticDiff traceback=<Traceback "
                         "(<Frame filename='c.py' lineno=9>,)> "
                         "size=5000 (+5000) count=1 (+1)>")
        gone = tracemalloc.StatisticDiff(tracemalloc.Traceback(TB4),
                                         0, -7, 0, -1)
        self.assertEqual(str(gone), '<unknown>:0: size=0 B (-7 B), '
                                    'count=0 (-1)')
        self.assertEqual(repr(gone),
                         "<StatisticDiff traceback=<Traceback "
                         "(<Frame filename='<unknown>' lineno=0>,)> "
                         "size=0 (-7) count=0 (-1)>")
        self.assertEqual(diff, tracemalloc.StatisticDiff(
            tracemalloc.Traceback((C9,)), 5000, 5000, 1, 1))
        self.assertNotEqual(diff, tracemalloc.StatisticDiff(
            traceback, 5000, 4999, 1, 1))
        self.assertEqual(hash(diff), hash(tracemalloc.StatisticDiff(
            tracemalloc.Traceback((C9,)), 5000, 5000, 1, 1)))


class SnapshotStatisticsTests(unittest.TestCase):
    def test_statistics_lineno(self):
        old, new = make_snapshots()
        self.assertEqual(stat_rows(old.statistics('lineno')), [
            ((B1,), 66, 1),
            ((A2,), 30, 3),
            ((UNKNOWN,), 7, 1),
            ((A5,), 2, 1),
        ])
        stats = new.statistics('lineno')
        self.assertEqual(stat_rows(stats), [
            ((C9,), 5000, 1),
            ((B1,), 66, 1),
            ((A2,), 20, 2),
            ((A5,), 8, 2),
        ])
        self.assertEqual([str(stat) for stat in stats], [
            'c.py:9: size=5000 B, count=1, average=5000 B',
            'b.py:1: size=66 B, count=1, average=66 B',
            'a.py:2: size=20 B, count=2, average=10 B',
            'a.py:5: size=8 B, count=2, average=4 B',
        ])
        # Grouping tracebacks carry no total_nframe
        self.assertIsNone(stats[0].traceback.total_nframe)

    def test_statistics_filename(self):
        old, new = make_snapshots()
        self.assertEqual(stat_rows(old.statistics('filename')), [
            ((('b.py', 0),), 66, 1),
            ((('a.py', 0),), 32, 4),
            ((UNKNOWN,), 7, 1),
        ])
        self.assertEqual([str(stat) for stat in new.statistics('filename')], [
            'c.py:0: size=5000 B, count=1, average=5000 B',
            'b.py:0: size=66 B, count=1, average=66 B',
            'a.py:0: size=28 B, count=4, average=7 B',
        ])

    def test_statistics_traceback(self):
        old, new = make_snapshots()
        self.assertEqual(stat_rows(old.statistics('traceback')), [
            ((B1,), 66, 1),
            ((B4, A2), 30, 3),
            ((UNKNOWN,), 7, 1),
            ((B4, A5), 2, 1),
        ])
        stats = new.statistics('traceback')
        self.assertEqual(stats[2].traceback, tracemalloc.Traceback(TB1))
        self.assertEqual(stats[2].traceback.format(),
                         ['  File "b.py", line 4', '  File "a.py", line 2'])

    def test_statistics_cumulative(self):
        old, new = make_snapshots()
        self.assertEqual(stat_rows(old.statistics('lineno', cumulative=True)),
                         [((B1,), 66, 1),
                          ((B4,), 32, 4),
                          ((A2,), 30, 3),
                          ((UNKNOWN,), 7, 1),
                          ((A5,), 2, 1)])
        self.assertEqual(stat_rows(old.statistics('filename', True)), [
            ((('b.py', 0),), 98, 5),
            ((('a.py', 0),), 32, 4),
            ((UNKNOWN,), 7, 1),
        ])
        # cumulative=False is the default
        self.assertEqual(old.statistics('lineno', False),
                         old.statistics('lineno'))

    def test_statistics_cumulative_same_file_twice(self):
        # Like CPython, a block is counted once per frame, even when two
        # frames of its traceback are in the same file.
        snapshot = tracemalloc.Snapshot([(0, 10, (A2, A5), 2)], 2)
        self.assertEqual(stat_rows(snapshot.statistics('filename', True)),
                         [((('a.py', 0),), 20, 2)])

    def test_statistics_ties_sorted_by_traceback(self):
        snapshot = tracemalloc.Snapshot([(0, 5, (('x.py', 1),), 1),
                                         (0, 5, (('z.py', 1),), 1),
                                         (0, 5, (('y.py', 1),), 1)], 1)
        self.assertEqual(stat_rows(snapshot.statistics('lineno')),
                         [((('z.py', 1),), 5, 1),
                          ((('y.py', 1),), 5, 1),
                          ((('x.py', 1),), 5, 1)])

    def test_statistics_empty(self):
        snapshot = tracemalloc.Snapshot([], 1)
        self.assertEqual(snapshot.statistics('lineno'), [])
        self.assertEqual(snapshot.compare_to(snapshot, 'filename'), [])

    def test_compare_to_lineno(self):
        old, new = make_snapshots()
        diffs = new.compare_to(old, 'lineno')
        self.assertEqual(diff_rows(diffs), [
            ((C9,), 5000, 5000, 1, 1),
            ((A2,), 20, -10, 2, -1),
            ((UNKNOWN,), 0, -7, 0, -1),
            ((A5,), 8, 6, 2, 1),
            ((B1,), 66, 0, 1, 0),
        ])
        self.assertEqual([str(diff) for diff in diffs], [
            'c.py:9: size=5000 B (+5000 B), count=1 (+1), average=5000 B',
            'a.py:2: size=20 B (-10 B), count=2 (-1), average=10 B',
            '<unknown>:0: size=0 B (-7 B), count=0 (-1)',
            'a.py:5: size=8 B (+6 B), count=2 (+1), average=4 B',
            'b.py:1: size=66 B (+0 B), count=1 (+0), average=66 B',
        ])

    def test_compare_to_filename(self):
        old, new = make_snapshots()
        self.assertEqual(diff_rows(new.compare_to(old, 'filename')), [
            ((('c.py', 0),), 5000, 5000, 1, 1),
            ((UNKNOWN,), 0, -7, 0, -1),
            ((('a.py', 0),), 28, -4, 4, 0),
            ((('b.py', 0),), 66, 0, 1, 0),
        ])
        self.assertEqual(diff_rows(new.compare_to(old, 'filename', True)), [
            ((('c.py', 0),), 5000, 5000, 1, 1),
            ((UNKNOWN,), 0, -7, 0, -1),
            ((('b.py', 0),), 94, -4, 5, 0),
            ((('a.py', 0),), 28, -4, 4, 0),
        ])

    def test_compare_to_traceback_and_cumulative(self):
        old, new = make_snapshots()
        self.assertEqual(diff_rows(new.compare_to(old, 'traceback')), [
            ((C9,), 5000, 5000, 1, 1),
            ((B4, A2), 20, -10, 2, -1),
            ((UNKNOWN,), 0, -7, 0, -1),
            ((B4, A5), 8, 6, 2, 1),
            ((B1,), 66, 0, 1, 0),
        ])
        self.assertEqual(
            diff_rows(new.compare_to(old, 'lineno', cumulative=True)), [
                ((C9,), 5000, 5000, 1, 1),
                ((A2,), 20, -10, 2, -1),
                ((UNKNOWN,), 0, -7, 0, -1),
                ((A5,), 8, 6, 2, 1),
                ((B4,), 28, -4, 4, 0),
                ((B1,), 66, 0, 1, 0),
            ])

    def test_compare_to_reverse_and_self(self):
        old, new = make_snapshots()
        self.assertEqual(diff_rows(old.compare_to(new, 'lineno')), [
            ((C9,), 0, -5000, 0, -1),
            ((A2,), 30, 10, 3, 1),
            ((UNKNOWN,), 7, 7, 1, 1),
            ((A5,), 2, -6, 1, -1),
            ((B1,), 66, 0, 1, 0),
        ])
        self.assertEqual(diff_rows(old.compare_to(old, 'lineno')), [
            ((B1,), 66, 0, 1, 0),
            ((A2,), 30, 0, 3, 0),
            ((UNKNOWN,), 7, 0, 1, 0),
            ((A5,), 2, 0, 1, 0),
        ])

    def test_bad_key_type(self):
        old, new = make_snapshots()
        for call in (lambda: old.statistics('unknown'),
                     lambda: new.compare_to(old, 'unknown'),
                     lambda: old.statistics('unknown', True)):
            with self.assertRaises(ValueError) as cm:
                call()
            self.assertEqual(str(cm.exception), "unknown key_type: 'unknown'")
        with self.assertRaises(ValueError) as cm:
            old.statistics(None)
        self.assertEqual(str(cm.exception), 'unknown key_type: None')

    def test_cumulative_traceback(self):
        old, new = make_snapshots()
        for call in (lambda: old.statistics('traceback', cumulative=True),
                     lambda: new.compare_to(old, 'traceback', True)):
            with self.assertRaises(ValueError) as cm:
                call()
            self.assertEqual(str(cm.exception),
                             "cumulative mode cannot by used with key type "
                             "'traceback'")


class FilterTests(unittest.TestCase):
    def filtered(self, filters):
        old, new = make_snapshots()
        result = old.filter_traces(filters)
        self.assertIsInstance(result, tracemalloc.Snapshot)
        self.assertEqual(result.traceback_limit, 4)
        # the original is left alone
        self.assertEqual(old.traces._traces, old_traces())
        return result.traces._traces

    def test_filter_attributes(self):
        f = tracemalloc.Filter(True, 'a.py')
        self.assertEqual((f.inclusive, f.filename_pattern, f.lineno,
                          f.all_frames, f.domain),
                         (True, 'a.py', None, False, None))
        f = tracemalloc.Filter(False, 'b.py', 3, True, 5)
        self.assertEqual((f.inclusive, f.filename_pattern, f.lineno,
                          f.all_frames, f.domain),
                         (False, 'b.py', 3, True, 5))
        f = tracemalloc.Filter(inclusive=False, filename_pattern='x',
                               lineno=1, all_frames=True, domain=2)
        self.assertEqual((f.inclusive, f.filename_pattern, f.lineno,
                          f.all_frames, f.domain),
                         (False, 'x', 1, True, 2))
        self.assertRaises(AttributeError, setattr, f, 'filename_pattern', 'y')
        f.lineno = 9
        f.all_frames = False
        f.domain = None
        f.inclusive = True
        self.assertIsInstance(f, tracemalloc.BaseFilter)

        d = tracemalloc.DomainFilter(False, 3)
        self.assertEqual((d.inclusive, d.domain), (False, 3))
        self.assertRaises(AttributeError, setattr, d, 'domain', 4)
        self.assertIsInstance(d, tracemalloc.BaseFilter)

    def test_base_filter(self):
        self.assertRaises(NotImplementedError,
                          tracemalloc.BaseFilter(True)._match, old_traces()[0])

        class BigBlocks(tracemalloc.BaseFilter):
            def _match(self, trace):
                return (trace[1] > 9) == self.inclusive
        self.assertEqual([t[1] for t in self.filtered([BigBlocks(True)])],
                         [10, 10, 10, 66])
        self.assertEqual([t[1] for t in self.filtered([BigBlocks(False)])],
                         [2, 7])

    def test_filename_pyc_pyo_normalized(self):
        self.assertEqual(tracemalloc.Filter(True, 'x.pyc').filename_pattern,
                         'x.py')
        self.assertEqual(tracemalloc.Filter(True, 'x.pyo').filename_pattern,
                         'x.py')
        self.assertEqual(tracemalloc.Filter(True, '*.py').filename_pattern,
                         '*.py')
        self.assertEqual(self.filtered([tracemalloc.Filter(True, 'a.pyc')]),
                         old_traces()[:4])
        snapshot = tracemalloc.Snapshot([(0, 1, (('m.pyc', 1),), 1),
                                         (0, 2, (('m.pyo', 1),), 1),
                                         (0, 4, (('m.py', 1),), 1),
                                         (0, 8, (('m.pyx', 1),), 1)], 1)
        kept = snapshot.filter_traces([tracemalloc.Filter(True, 'm.py')])
        self.assertEqual([t[1] for t in kept.traces._traces], [1, 2, 4])

    def test_include_exclude(self):
        self.assertEqual(self.filtered([tracemalloc.Filter(True, 'b.py')]),
                         [(2, 66, TB3, 1)])
        self.assertEqual(self.filtered([tracemalloc.Filter(False, 'b.py')]),
                         old_traces()[:4] + [(0, 7, TB4, 1)])
        # fnmatch patterns
        self.assertEqual(self.filtered([tracemalloc.Filter(True, '*.py')]),
                         old_traces()[:5])
        self.assertEqual(self.filtered([tracemalloc.Filter(True, '[ab].p?')]),
                         old_traces()[:5])
        self.assertEqual(self.filtered([tracemalloc.Filter(False, '<*>')]),
                         old_traces()[:5])
        # several inclusive filters: a trace needs to match one of them
        either = [tracemalloc.Filter(True, 'b.py'),
                  tracemalloc.Filter(True, '<unknown>')]
        self.assertEqual(self.filtered(either), old_traces()[4:])
        # exclusive filters: a trace must pass all of them
        self.assertEqual(self.filtered([tracemalloc.Filter(False, 'a.py'),
                                        tracemalloc.Filter(False, 'b.py')]),
                         [(0, 7, TB4, 1)])
        # inclusive then exclusive
        self.assertEqual(self.filtered([tracemalloc.Filter(True, '*.py'),
                                        tracemalloc.Filter(False, 'a.py', 2)]),
                         old_traces()[3:5])

    def test_lineno(self):
        self.assertEqual(self.filtered([tracemalloc.Filter(True, 'a.py', 5)]),
                         [(1, 2, TB2, 2)])
        self.assertEqual(
            self.filtered([tracemalloc.Filter(False, 'a.py', lineno=2)]),
            old_traces()[3:])
        # b.py:4 is never the most recent frame...
        self.assertEqual(self.filtered([tracemalloc.Filter(True, 'b.py', 4)]),
                         [])
        # ... but it is in the traceback of four traces
        self.assertEqual(
            self.filtered([tracemalloc.Filter(True, 'b.py', 4,
                                              all_frames=True)]),
            old_traces()[:4])

    def test_all_frames(self):
        self.assertEqual(
            self.filtered([tracemalloc.Filter(True, 'b.py', all_frames=True)]),
            old_traces()[:5])
        self.assertEqual(
            self.filtered([tracemalloc.Filter(False, 'b.py',
                                              all_frames=True)]),
            [(0, 7, TB4, 1)])
        self.assertEqual(
            self.filtered([tracemalloc.Filter(False, 'a.py',
                                              all_frames=True)]),
            old_traces()[4:])

    def test_filter_domain(self):
        self.assertEqual(
            self.filtered([tracemalloc.Filter(True, 'a.py', domain=1)]),
            [(1, 2, TB2, 2)])
        self.assertEqual(
            self.filtered([tracemalloc.Filter(True, 'a.py', domain=0)]),
            old_traces()[:3])
        # an exclusive filter with a domain only drops that domain's matches
        self.assertEqual(
            self.filtered([tracemalloc.Filter(False, 'a.py', domain=0)]),
            old_traces()[3:])
        self.assertEqual(
            self.filtered([tracemalloc.Filter(False, '*', domain=0)]),
            [(1, 2, TB2, 2), (2, 66, TB3, 1)])

    def test_domain_filter(self):
        self.assertEqual(self.filtered([tracemalloc.DomainFilter(True, 0)]),
                         old_traces()[:3] + [(0, 7, TB4, 1)])
        self.assertEqual(self.filtered([tracemalloc.DomainFilter(False, 0)]),
                         [(1, 2, TB2, 2), (2, 66, TB3, 1)])
        self.assertEqual(self.filtered([tracemalloc.DomainFilter(True, 9)]),
                         [])
        self.assertEqual(self.filtered([tracemalloc.Filter(True, 'a.py'),
                                        tracemalloc.DomainFilter(False, 1)]),
                         old_traces()[:3])
        self.assertEqual(self.filtered([tracemalloc.DomainFilter(True, 1),
                                        tracemalloc.DomainFilter(True, 2)]),
                         [(1, 2, TB2, 2), (2, 66, TB3, 1)])

    def test_filter_traces_no_filter(self):
        old, new = make_snapshots()
        copy = old.filter_traces([])
        self.assertEqual(copy.traces._traces, old.traces._traces)
        self.assertIsNot(copy.traces._traces, old.traces._traces)
        self.assertEqual(copy.traceback_limit, old.traceback_limit)
        # any iterable will do
        self.assertEqual(self.filtered(()), old_traces())
        self.assertEqual(
            self.filtered(f for f in [tracemalloc.DomainFilter(True, 2)]),
            [(2, 66, TB3, 1)])

    def test_filter_traces_type_errors(self):
        old, new = make_snapshots()
        for bad, name in ((tracemalloc.Filter(True, 'a.py'), 'Filter'),
                          (tracemalloc.DomainFilter(True, 1), 'DomainFilter'),
                          (None, 'NoneType'),
                          (3, 'int')):
            with self.assertRaises(TypeError) as cm:
                old.filter_traces(bad)
            self.assertEqual(str(cm.exception),
                             'filters must be a list of filters, not %s'
                             % name)


class DumpLoadTests(TempDirMixin, unittest.TestCase):
    def assertSameSnapshot(self, loaded, expected):
        self.assertIs(type(loaded), tracemalloc.Snapshot)
        self.assertEqual(loaded.traces._traces, expected.traces._traces)
        self.assertEqual(loaded.traceback_limit, expected.traceback_limit)
        for key_type in ('lineno', 'filename', 'traceback'):
            self.assertEqual(loaded.statistics(key_type),
                             expected.statistics(key_type))

    def test_internal_layout(self):
        # The state CPython 3.9+ pickles and unpickles.
        old, new = make_snapshots()
        self.assertEqual(sorted(vars(old)), ['traceback_limit', 'traces'])
        self.assertIs(type(old.traces), tracemalloc._Traces)
        self.assertEqual(vars(old.traces), {'_traces': old_traces()})
        traceback = tracemalloc.Traceback(TB1, 3)
        self.assertEqual(traceback._frames, (B4, A2))  # oldest first
        self.assertEqual(traceback._total_nframe, 3)
        self.assertEqual(tracemalloc.Trace(old_traces()[0])._trace,
                         old_traces()[0])
        self.assertEqual(tracemalloc.Frame(A2)._frame, A2)

    def test_dump_load(self):
        old, new = make_snapshots()
        path = self.path('snapshot.pickle')
        new.dump(path)
        loaded = tracemalloc.Snapshot.load(path)
        self.assertSameSnapshot(loaded, new)
        self.assertEqual(diff_rows(loaded.compare_to(old, 'lineno')),
                         diff_rows(new.compare_to(old, 'lineno')))

    def test_dump_format(self):
        old, new = make_snapshots()
        path = self.path('snapshot.pickle')
        old.dump(path)
        with open(path, 'rb') as fp:
            data = fp.read()
        self.assertEqual(data[:2], b'\x80\x02')  # protocol 2
        names = set(arg for opcode, arg, pos in pickletools.genops(data)
                    if opcode.name == 'GLOBAL')
        self.assertEqual(names, set(['tracemalloc Snapshot',
                                     'tracemalloc _Traces']))
        # plain pickle reads it too (that is what CPython's load does)
        self.assertSameSnapshot(pickle.loads(data), old)

    def test_load_other_protocols(self):
        old, new = make_snapshots()
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            path = self.write('p%i.pickle' % protocol,
                              pickle.dumps(old, protocol))
            self.assertSameSnapshot(tracemalloc.Snapshot.load(path), old)

    def test_non_ascii_filename(self):
        name = u'/tmp/caf\xe9.py'
        if PY2:
            name = name.encode('utf-8')
        snapshot = tracemalloc.Snapshot([(0, 10, ((name, 3), A2), 2),
                                         (0, 20, ((name, 3), A2), 2)], 2)
        path = self.path('snapshot.pickle')
        snapshot.dump(path)
        with open(path, 'rb') as fp:
            data = fp.read()
        # No non-ASCII byte strings, which Python 3's load would refuse.
        for opcode, arg, pos in pickletools.genops(data):
            if opcode.name in ('BINSTRING', 'SHORT_BINSTRING', 'STRING'):
                arg.decode('ascii')
        loaded = tracemalloc.Snapshot.load(path)
        frames = loaded.traces._traces[0][2]
        self.assertEqual(as_text(frames[0][0]), u'/tmp/caf\xe9.py')
        self.assertEqual(loaded.traces._traces[1][2], frames)
        self.assertEqual(stat_rows(loaded.statistics('lineno')),
                         [(((frames[0][0], 3),), 30, 2)])

    def test_missing_file(self):
        self.assertRaises(EnvironmentError, tracemalloc.Snapshot.load,
                          self.path('does-not-exist'))

    def assertLoadError(self, path, *fragments):
        with self.assertRaises(ValueError) as cm:
            tracemalloc.Snapshot.load(path)
        message = str(cm.exception)
        self.assertTrue(message.startswith(
            'cannot load tracemalloc snapshot %r: ' % (path,)), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_empty_file(self):
        self.assertLoadError(self.write('empty', b''), 'the file is empty')

    def test_truncated(self):
        old, new = make_snapshots()
        path = self.path('snapshot.pickle')
        old.dump(path)
        with open(path, 'rb') as fp:
            data = fp.read()
        for length in range(1, len(data)):
            self.assertLoadError(self.write('truncated', data[:length]),
                                 'truncated')

    def test_garbage(self):
        for data in (b'garbage', b'\x00\x01\x02\x03', b'\x80\x02garbage',
                     b'\x80\x02}q\x00.\x00\x00',
                     b'{"json": "not a pickle"}\n', b'\xff' * 100,
                     b'\x80\x09.', b'.'):
            self.assertLoadError(self.write('garbage', data))

    def test_not_a_snapshot(self):
        for obj in ([1, 2, 3], {'traces': [], 'traceback_limit': 1}, None,
                    u'text', 42):
            self.assertLoadError(self.write('other', pickle.dumps(obj, 2)),
                                 'not a tracemalloc snapshot')

    def test_bad_snapshot_state(self):
        bad = [
            tracemalloc.Snapshot([(0, 1)], 1),
            tracemalloc.Snapshot([(0, 1, TB1)], 1),
            tracemalloc.Snapshot([(0, 'size', TB1, 1)], 1),
            tracemalloc.Snapshot([(0, 1, TB1, 'n')], 1),
            tracemalloc.Snapshot([(0, 1, (), 1)], 1),
            tracemalloc.Snapshot([(0, 1, [A2], 1)], 1),
            tracemalloc.Snapshot([(0, 1, ((2, 'a.py'),), 1)], 1),
            tracemalloc.Snapshot([(0, 1, (('a.py', 2, 3),), 1)], 1),
            tracemalloc.Snapshot([[0, 1, TB1, 1]], 1),
            tracemalloc.Snapshot({}, 1),
            tracemalloc.Snapshot([], None),
        ]
        no_traces = tracemalloc.Snapshot([], 1)
        del no_traces.traces
        bad.append(no_traces)
        not_traces = tracemalloc.Snapshot([], 1)
        not_traces.traces = []
        bad.append(not_traces)
        for index, snapshot in enumerate(bad):
            path = self.path('bad%i.pickle' % index)
            snapshot.dump(path)
            self.assertLoadError(path, 'not a tracemalloc snapshot')
        # total_nframe may be None
        ok = tracemalloc.Snapshot([(0, 1, TB1, None)], 1)
        ok.dump(self.path('ok.pickle'))
        self.assertSameSnapshot(
            tracemalloc.Snapshot.load(self.path('ok.pickle')), ok)

    def test_mutations(self):
        # Random damage must give either a snapshot or ValueError; never
        # anything else (and never a crash).
        old, new = make_snapshots()
        path = self.path('snapshot.pickle')
        old.dump(path)
        with open(path, 'rb') as fp:
            data = bytearray(fp.read())
        rng = random.Random(445)
        for _ in range(300):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            self.write('damaged', bytes(damaged))
            try:
                result = tracemalloc.Snapshot.load(self.path('damaged'))
            except ValueError:
                continue
            self.assertIs(type(result), tracemalloc.Snapshot)


class _RunCommand(object):
    """Pickles into a call of os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class MaliciousPickleTests(TempDirMixin, unittest.TestCase):
    def setUp(self):
        TempDirMixin.setUp(self)
        self.marker = self.path('pwned')
        # shell builtins only: works whatever PATH is
        self.command = 'echo pwned > %s' % self.marker

    def assertRefused(self, data, refused_name, check_payload=True):
        if check_payload:
            # The payload is real: plain pickle runs the command...
            pickle.loads(data)
            self.assertTrue(os.path.exists(self.marker))
            os.unlink(self.marker)
        # ... and load() does not.
        path = self.write('evil.pickle', data)
        with self.assertRaises(ValueError) as cm:
            tracemalloc.Snapshot.load(path)
        self.assertFalse(os.path.exists(self.marker))
        self.assertEqual(str(cm.exception),
                         'cannot load tracemalloc snapshot %r: refers to %s, '
                         'which is not part of a tracemalloc snapshot; '
                         'refusing to load it' % (path, refused_name))

    def test_protocol0_os_system(self):
        data = ("cos\nsystem\n(S'%s'\ntR." % self.command).encode('ascii')
        self.assertRefused(data, 'os.system')

    def test_protocol0_inst(self):
        # INST names the class (here: function) to call inline
        data = ("(S'%s'\nios\nsystem\n." % self.command).encode('ascii')
        self.assertRefused(data, 'os.system')

    def test_reduce_os_system(self):
        # protocol 4+ names globals with STACK_GLOBAL
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            data = pickle.dumps(_RunCommand(self.command), protocol)
            self.assertRefused(data, '%s.system' % os.system.__module__)

    def test_inside_snapshot(self):
        snapshot = tracemalloc.Snapshot(
            [(0, 1, TB1, 1), _RunCommand(self.command)], 1)
        data = pickle.dumps(snapshot, 2)
        self.assertRefused(data, '%s.system' % os.system.__module__)

    def test_extension_code(self):
        # EXT opcodes name a global through copyreg's extension registry;
        # once used, the global is cached and unpicklers skip find_class.
        code = 0xbeef
        copyreg.add_extension('os', 'system', code)
        self.addCleanup(copyreg.remove_extension, 'os', 'system', code)
        command = self.command.encode('ascii')
        data = (b'\x80\x02\x83' + struct.pack('<H', code)
                + b'U' + struct.pack('<B', len(command)) + command
                + b'\x85R.')
        # registered, not cached yet
        self.assertRefused(data, 'a copyreg extension code',
                           check_payload=False)
        # cached by a plain unpickling (check_payload)
        self.assertRefused(data, 'a copyreg extension code')
        # real snapshots still load meanwhile
        old, new = make_snapshots()
        old.dump(self.path('snapshot.pickle'))
        loaded = tracemalloc.Snapshot.load(self.path('snapshot.pickle'))
        self.assertEqual(loaded.traces._traces, old_traces())

    def test_unregistered_extension_code(self):
        data = b'\x80\x02\x83' + struct.pack('<H', 0xbeee) + b'.'
        path = self.write('ext.pickle', data)
        with self.assertRaises(ValueError) as cm:
            tracemalloc.Snapshot.load(path)
        self.assertIn('truncated or is not a pickle', str(cm.exception))

    def test_other_globals(self):
        for module, name in (('__builtin__', 'eval'), ('builtins', 'eval'),
                             ('tracemalloc', 'take_snapshot'),
                             ('tracemalloc', 'Snapshot.load'),
                             ('tracemalloc', 'Trace'),
                             ('copyreg', '__newobj__'),
                             ('subprocess', 'Popen')):
            data = ('c%s\n%s\n.' % (module, name)).encode('ascii')
            self.assertRefused(data, '%s.%s' % (module, name),
                               check_payload=False)


STDLIB_SCRIPT = r'''
import json, pickle, sys, tracemalloc

KEYS = [('lineno', False), ('filename', False), ('traceback', False),
        ('lineno', True), ('filename', True)]

def frames(traceback):
    return [[frame.filename, frame.lineno] for frame in traceback]

def report(snapshot, old):
    out = {'module': tracemalloc.__file__,
           'traceback_limit': snapshot.traceback_limit,
           'traces': [[d, s, [list(f) for f in fr], n]
                      for d, s, fr, n in snapshot.traces._traces],
           'stats': [], 'diffs': []}
    for key_type, cumulative in KEYS:
        out['stats'].append([[frames(st.traceback), st.size, st.count]
                             for st in snapshot.statistics(key_type,
                                                           cumulative)])
        out['diffs'].append([[frames(st.traceback), st.size, st.size_diff,
                              st.count, st.count_diff]
                             for st in snapshot.compare_to(old, key_type,
                                                           cumulative)])
    return out

mode = sys.argv[1]
if mode == 'load':
    snapshot = tracemalloc.Snapshot.load(sys.argv[2])
    old = tracemalloc.Snapshot.load(sys.argv[3])
    json.dump(report(snapshot, old), sys.stdout)
else:
    raw = json.loads(sys.argv[3])
    traces = [(d, s, tuple(tuple(f) for f in fr), n) for d, s, fr, n in raw]
    snapshot = tracemalloc.Snapshot(traces, 5)
    if mode == 'dump-native':
        snapshot.dump(sys.argv[2])
    else:
        with open(sys.argv[2], 'wb') as fp:
            pickle.dump(snapshot, fp, 2)
    json.dump({'module': tracemalloc.__file__}, sys.stdout)
'''


def _find_stdlib_python3():
    """Return (path, None) for a python3 >= 3.9 on PATH whose tracemalloc is
    the standard library's, or (None, reason)."""
    python3 = which('python3')
    if python3 is None:
        return None, 'no python3 on PATH'
    check = ('import sys, tracemalloc; '
             'sys.exit(0 if sys.version_info >= (3, 9) else 3)')
    try:
        status = subprocess.call([python3, '-E', '-s', '-c', check],
                                 cwd=tempfile.gettempdir())
    except OSError as exc:
        return None, 'cannot run %s: %s' % (python3, exc)
    if status == 3:
        return None, '%s is older than 3.9 (other trace format)' % python3
    if status != 0:
        return None, '%s has no working tracemalloc' % python3
    return python3, None


STDLIB_PYTHON3, STDLIB_SKIP_REASON = _find_stdlib_python3()


@unittest.skipIf(STDLIB_PYTHON3 is None, STDLIB_SKIP_REASON)
class StdlibCompatibilityTests(TempDirMixin, unittest.TestCase):
    KEYS = [('lineno', False), ('filename', False), ('traceback', False),
            ('lineno', True), ('filename', True)]

    NON_ASCII = u'/srv/caf\xe9/m\xf6dule.py'

    def traces_with_non_ascii(self):
        name = self.NON_ASCII
        if PY2:
            name = name.encode('utf-8')
        return new_traces() + [(5, 123, ((name, 8), A2), 3),
                               (5, 877, ((name, 9),), 1)]

    def run_stdlib(self, *args):
        # -E: no PYTHONPATH, and the temporary directory as working
        # directory, so that the python3 imports its own tracemalloc.
        process = subprocess.Popen(
            [STDLIB_PYTHON3, '-E', '-s', '-c', STDLIB_SCRIPT] + list(args),
            cwd=self.tmpdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = process.communicate()
        self.assertEqual(process.returncode, 0, stderr.decode('utf-8',
                                                              'replace'))
        result = json.loads(stdout.decode('utf-8'))
        self.assertNotEqual(
            os.path.dirname(os.path.abspath(result['module'])), BACKPORT_DIR)
        return result

    def local_report(self, snapshot, old):
        def frames(traceback):
            return [[as_text(frame.filename), frame.lineno]
                    for frame in traceback]
        out = {'traceback_limit': snapshot.traceback_limit,
               'traces': [[d, s, [[as_text(f[0]), f[1]] for f in fr], n]
                          for d, s, fr, n in snapshot.traces._traces],
               'stats': [], 'diffs': []}
        for key_type, cumulative in self.KEYS:
            out['stats'].append(
                [[frames(st.traceback), st.size, st.count]
                 for st in snapshot.statistics(key_type, cumulative)])
            out['diffs'].append(
                [[frames(st.traceback), st.size, st.size_diff, st.count,
                  st.count_diff]
                 for st in snapshot.compare_to(old, key_type, cumulative)])
        return out

    def test_stdlib_loads_our_dump(self):
        old = tracemalloc.Snapshot(old_traces(), 4)
        new = tracemalloc.Snapshot(self.traces_with_non_ascii(), 4)
        new.dump(self.path('new.pickle'))
        old.dump(self.path('old.pickle'))
        theirs = self.run_stdlib('load', self.path('new.pickle'),
                                 self.path('old.pickle'))
        del theirs['module']
        ours = self.local_report(new, old)
        self.assertEqual(theirs, json.loads(json.dumps(ours)))
        # and the non-ASCII file did make it through
        self.assertIn([[self.NON_ASCII, 9]], [row[0] for row in
                                              theirs['stats'][0]])

    def stdlib_traces_json(self):
        return json.dumps([[d, s, [[as_text(f[0]), f[1]] for f in fr], n]
                           for d, s, fr, n in self.traces_with_non_ascii()])

    def test_we_load_stdlib_protocol2(self):
        path = self.path('stdlib2.pickle')
        self.run_stdlib('dump-protocol2', path, self.stdlib_traces_json())
        loaded = tracemalloc.Snapshot.load(path)
        expected = tracemalloc.Snapshot(self.traces_with_non_ascii(), 5)
        old = tracemalloc.Snapshot(old_traces(), 4)
        self.assertEqual(self.local_report(loaded, old),
                         self.local_report(expected, old))

    def test_we_load_stdlib_dump(self):
        # CPython's own dump() uses its highest protocol (5), which Python 2
        # cannot read: that must be a clear error there.
        path = self.path('stdlib.pickle')
        self.run_stdlib('dump-native', path, self.stdlib_traces_json())
        if sys.version_info < (3, 8):
            with self.assertRaises(ValueError) as cm:
                tracemalloc.Snapshot.load(path)
            self.assertIn(repr(path), str(cm.exception))
            return
        loaded = tracemalloc.Snapshot.load(path)
        expected = tracemalloc.Snapshot(self.traces_with_non_ascii(), 5)
        old = tracemalloc.Snapshot(old_traces(), 4)
        self.assertEqual(self.local_report(loaded, old),
                         self.local_report(expected, old))


if __name__ == '__main__':
    unittest.main()
