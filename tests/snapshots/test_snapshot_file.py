"""Snapshot files (backport/tracemalloc_snapshot_file.py): the streaming,
interning writer, the metadata and format version, the safe reader.

    build/python2.7/bin/python2.7 tests/run_unittests.py tests/snapshots
"""

from __future__ import print_function

import json
import os
import pickle
import pickletools
import subprocess
import sys
import unittest

import support

tracemalloc = support.import_backport()
import tracemalloc_snapshot_file as snapshot_file  # noqa: E402

# Raw frames and tracebacks (most recent call first), as _tracemalloc
# gives them.
APP = ('app.py', 10)
MAIN = ('main.py', 3)
LIB = ('lib.py', 7)


def fresh(frames):
    """An equal but distinct copy of a frames tuple, as _tracemalloc returns
    for two tracebacks that differ only in the bytecode offset."""
    return tuple(tuple(list(frame)) for frame in list(frames))


def opcodes(path):
    with open(path, 'rb') as fp:
        return [(opcode.name, arg) for opcode, arg, position
                in pickletools.genops(fp.read())]


class WriterTests(support.TempDirMixin, unittest.TestCase):
    def dump(self, snapshot, name='snapshot.pickle', metadata=None):
        path = self.path(name)
        with open(path, 'wb') as fp:
            snapshot_file.write_snapshot(snapshot, fp, metadata)
        return path

    def test_equal_tracebacks_are_written_once(self):
        traceback = (APP, MAIN)
        traces = [(0, 100, fresh(traceback), 2) for _ in range(50)]
        traces += [(0, 30, fresh((LIB, MAIN)), 2) for _ in range(50)]
        self.assertEqual(len(set(id(trace[2]) for trace in traces)), 100)
        path = self.dump(tracemalloc.Snapshot(traces, 5))
        ops = opcodes(path)
        strings = [arg for name, arg in ops
                   if name in ('SHORT_BINSTRING', 'BINUNICODE')]
        # each filename once, plus the attribute and metadata names
        self.assertEqual(sorted(name for name in strings
                                if name.endswith('.py')),
                         ['app.py', 'lib.py', 'main.py'])
        # memo entries: 3 filenames, 3 frames, 2 tracebacks; none for the
        # 100 traces
        self.assertEqual(len([name for name, arg in ops
                              if name in ('BINPUT', 'LONG_BINPUT')]), 8)
        self.assertEqual(len([name for name, arg in ops
                              if name in ('BINGET', 'LONG_BINGET')]), 99)
        loaded = tracemalloc.Snapshot.load(path)
        raw = loaded.traces._traces
        self.assertEqual(raw, traces)
        # shared again once loaded
        self.assertEqual(len(set(id(trace[2]) for trace in raw)), 2)

    def test_file_size_grows_by_a_few_bytes_per_trace(self):
        tracebacks = [((('mod%i.py' % i), i + 1), MAIN) for i in range(20)]
        traces = [(0, 32 + i % 200, tracebacks[i % 20], 2)
                  for i in range(20000)]
        small = os.path.getsize(self.dump(
            tracemalloc.Snapshot(traces[:10000], 5), 'small.pickle'))
        big = os.path.getsize(self.dump(
            tracemalloc.Snapshot(traces, 5), 'big.pickle'))
        # per trace: MARK, BININT1 domain, BININT1 size, BINGET, BININT1
        # total_nframe, TUPLE; per batch of 1000: MARK, APPENDS
        self.assertEqual(big - small, 10000 * 10 + 10 * 2)

    def test_large_numbers_and_long_tracebacks(self):
        deep = tuple(('f%i.py' % i, i) for i in range(70))
        traces = [(0, 2 ** 40, deep, 300), (2 ** 31, 70000, deep, None),
                  (-1, 0, (('x.py', 2 ** 31 - 1),), 1),
                  (7, 2 ** 70, (('x.py', 65536),), 65535)]
        # more than 256 memo entries: LONG_BINPUT / LONG_BINGET
        traces += [(0, 1, (('m%i.py' % i, 1),), 1) for i in range(300)]
        traces += [(0, 1, (('m%i.py' % i, 1),), 1) for i in range(300)]
        path = self.dump(tracemalloc.Snapshot(traces, 70))
        loaded = tracemalloc.Snapshot.load(path)
        self.assertEqual(loaded.traces._traces, traces)
        self.assertEqual(loaded.traceback_limit, 70)

    def test_a_bad_frame_does_not_leave_a_dangling_reference(self):
        # the good frame of a bad traceback, then a good traceback with it
        fresh_frame = ('fresh.py', 5)
        traces = [(0, 1, (fresh_frame, ('a.py', 'ten')), 1),
                  (0, 2, (fresh_frame,), 1), (0, 3, (fresh_frame, APP), 2)]
        path = self.dump(tracemalloc.Snapshot(traces, 2))
        with open(path, 'rb') as fp:
            self.assertEqual(pickle.load(fp).traces._traces, traces)

    def test_malformed_traces_are_written_as_they_are(self):
        # write_snapshot() does not judge; read_snapshot() refuses.
        for bad in [(0, 1, ((APP[0], 'ten'),), 1), (0, 1, [APP], 1),
                    (0, 1.5, (APP,), 1), [0, 1, (APP,), 1], (0, 1, (APP,)),
                    (0, 1, (APP,), '1')]:
            path = self.dump(tracemalloc.Snapshot([(0, 1, (APP,), 1), bad],
                                                  1))
            with open(path, 'rb') as fp:
                raw = pickle.load(fp).traces._traces
            self.assertEqual(raw, [(0, 1, (APP,), 1), bad])
            self.assertIs(type(raw[1][1]), type(bad[1]))
            self.assertIs(type(raw[1][-1]), type(bad[-1]))
            self.assertRaises(snapshot_file.SnapshotFileError,
                              tracemalloc.Snapshot.load, path)


class MetadataTests(support.TempDirMixin, unittest.TestCase):
    def test_dump_writes_the_format_version(self):
        snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
        path = self.path('snapshot.pickle')
        snapshot.dump(path)
        self.assertEqual(sorted(vars(snapshot)),
                         ['traceback_limit', 'traces'])
        loaded = tracemalloc.Snapshot.load(path)
        self.assertEqual(loaded.metadata, {'format_version': 1})
        self.assertEqual(snapshot_file.snapshot_metadata(loaded),
                         {'format_version': 1})

    def test_metadata_round_trip(self):
        argv = [u'python', u'caf\xe9.py']
        if support.PY2:
            argv = [arg.encode('utf-8') for arg in argv]
        metadata = {'pid': 42, 'time': 1700000000.5, 'argv': argv,
                    'arena_stats': {'narenas': 3, 'arena_bytes': 786432},
                    'rss': None}
        snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
        path = self.path('snapshot.pickle')
        with open(path, 'wb') as fp:
            snapshot_file.write_snapshot(snapshot, fp, metadata)
        loaded = tracemalloc.Snapshot.load(path)
        expected = dict(metadata, format_version=1,
                        argv=[u'python', u'caf\xe9.py'])
        self.assertEqual(loaded.metadata, expected)
        # and dumped again, it keeps it
        loaded.dump(self.path('again.pickle'))
        self.assertEqual(tracemalloc.Snapshot.load(
            self.path('again.pickle')).metadata, expected)

    def test_plain_pickles_have_no_metadata(self):
        snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
        path = self.write('plain.pickle', pickle.dumps(snapshot, 2))
        loaded = tracemalloc.Snapshot.load(path)
        self.assertFalse(hasattr(loaded, 'metadata'))
        self.assertEqual(snapshot_file.snapshot_metadata(loaded), {})

    def assertLoadError(self, path, problem):
        with self.assertRaises(snapshot_file.SnapshotFileError) as cm:
            snapshot_file.read_snapshot(path, tracemalloc)
        self.assertEqual(str(cm.exception),
                         'cannot load tracemalloc snapshot %r: %s'
                         % (path, problem))
        self.assertEqual(cm.exception.filename, path)

    def test_newer_format_version_is_refused(self):
        snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
        snapshot.metadata = {'format_version': 2}
        path = self.write('new.pickle', pickle.dumps(snapshot, 2))
        self.assertLoadError(path, 'it is written in snapshot format '
                             'version 2; this reader knows versions up to 1')

    def test_bad_metadata_is_refused(self):
        for metadata, problem in (([1], 'its metadata is not a dict'),
                                  ({}, 'its metadata has no format version'),
                                  ({'format_version': '1'},
                                   'its metadata has no format version')):
            snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
            snapshot.metadata = metadata
            path = self.write('bad.pickle', pickle.dumps(snapshot, 2))
            self.assertLoadError(path, 'it is not a tracemalloc snapshot: '
                                 + problem)

    def test_newer_pickle_protocol_is_named(self):
        path = self.write('future.pickle', b'\x80\x09N.')
        self.assertLoadError(
            path, 'it is written with pickle protocol 9; this Python reads '
            'protocols up to %i (read it with a newer Python, e.g. python3 '
            '-m tracemalloc_report)' % pickle.HIGHEST_PROTOCOL)

    def test_every_truncation_is_an_error(self):
        snapshot = tracemalloc.Snapshot(
            [(0, 10, (APP, MAIN), 2), (1, 700, (LIB, MAIN), 2)], 2)
        path = self.path('snapshot.pickle')
        with open(path, 'wb') as fp:
            snapshot_file.write_snapshot(snapshot, fp, {'pid': 1})
        with open(path, 'rb') as fp:
            data = fp.read()
        for length in range(len(data)):
            truncated = self.write('truncated.pickle', data[:length])
            with self.assertRaises(snapshot_file.SnapshotFileError) as cm:
                snapshot_file.read_snapshot(truncated, tracemalloc)
            problem = cm.exception.problem
            if length == 0:
                self.assertEqual(problem, 'the file is empty')
            else:
                self.assertTrue(problem.startswith(
                    'the file is truncated or is not a pickle'),
                    (length, problem))


class SafeReadingTests(support.TempDirMixin, unittest.TestCase):
    def test_command_is_not_run(self):
        marker = self.path('pwned')

        class RunCommand(object):
            def __reduce__(self):
                return (os.system, ('touch %s' % marker,))

        snapshot = tracemalloc.Snapshot([(0, 10, (APP,), 1)], 1)
        snapshot.metadata = {'format_version': 1, 'x': RunCommand()}
        path = self.write('evil.pickle', pickle.dumps(snapshot, 2))
        with self.assertRaises(snapshot_file.SnapshotFileError) as cm:
            snapshot_file.read_snapshot(path, tracemalloc)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(str(cm.exception),
                         "cannot load tracemalloc snapshot %r: refers to "
                         "%s.system, which is not part of a tracemalloc "
                         "snapshot; refusing to load it"
                         % (path, os.system.__module__))
        # the payload is real
        pickle.loads(pickle.dumps(RunCommand(), 2))
        self.assertTrue(os.path.exists(marker))

    def test_classes_of_the_given_module(self):
        # Python 3.6-3.8's tracemalloc only knows (domain, size, frames):
        # their Traceback has no total_nframe.
        class Snapshot(object):
            pass

        class _Traces(object):
            pass

        class Traceback(object):
            pass

        class OldModule(object):
            pass

        OldModule.Snapshot = Snapshot
        OldModule._Traces = _Traces
        OldModule.Traceback = Traceback
        path = self.path('snapshot.pickle')
        tracemalloc.Snapshot([(0, 10, (APP,), 1), (1, 5, (LIB,), 1)],
                             1).dump(path)
        loaded = snapshot_file.read_snapshot(path, OldModule)
        self.assertIs(type(loaded), Snapshot)
        self.assertIs(type(loaded.traces), _Traces)
        self.assertEqual(loaded.traces._traces,
                         [(0, 10, (APP,)), (1, 5, (LIB,))])


class FilenameTests(unittest.TestCase):
    def test_snapshot_filename(self):
        name = snapshot_file.snapshot_filename(4242, 3, 1700000000.9)
        self.assertEqual(name, 'tracemalloc-4242-0003-20231114T221320Z.pickle')
        self.assertEqual(snapshot_file.parse_snapshot_filename(name),
                         (4242, 3))
        self.assertEqual(snapshot_file.parse_snapshot_filename(
            'tracemalloc-1-12345-20231114T221320Z.pickle'), (1, 12345))
        for other in ('.tracemalloc-4242-0003-20231114T221320Z.pickle.tmp',
                      'tracemalloc-4242-0003.pickle', 'snapshot.pickle',
                      'tracemalloc-x-0003-20231114T221320Z.pickle'):
            self.assertIsNone(snapshot_file.parse_snapshot_filename(other))


STDLIB_CHECK = r'''
import json, sys, tracemalloc
snapshot = tracemalloc.Snapshot.load(sys.argv[1])
top = snapshot.statistics('lineno')[0]
diff = snapshot.compare_to(snapshot.filter_traces([]), 'traceback')[0]
first = snapshot.traces[0]
json.dump({'module': tracemalloc.__file__,
           'metadata': snapshot.metadata,
           'top': [top.traceback[0].filename, top.traceback[0].lineno,
                   top.size, top.count],
           'traceback': [[frame.filename, frame.lineno]
                         for frame in diff.traceback],
           'total_nframe': first.traceback.total_nframe,
           'traces': len(snapshot.traces)}, sys.stdout)
'''


@unittest.skipIf(support.STDLIB_PYTHON3 is None,
                 support.STDLIB_PYTHON3_MISSING)
class StdlibReadsOurFilesTests(support.TempDirMixin, unittest.TestCase):
    def test_stdlib_load_with_metadata(self):
        traces = [(0, 100, fresh((APP, MAIN)), 4) for _ in range(30)]
        traces += [(1, 1000, (LIB, MAIN), 2)]
        snapshot = tracemalloc.Snapshot(traces, 5)
        path = self.path('snapshot.pickle')
        with open(path, 'wb') as fp:
            snapshot_file.write_snapshot(snapshot, fp,
                                         {'pid': 7, 'argv': ['a', 'b']})
        output = subprocess.check_output(
            [support.STDLIB_PYTHON3, '-E', '-s', '-c', STDLIB_CHECK, path],
            cwd=self.tmpdir)
        result = json.loads(output.decode('utf-8'))
        self.assertNotIn(support.BACKPORT_DIR, result['module'])
        self.assertEqual(result['metadata'], {'pid': 7, 'argv': ['a', 'b'],
                                              'format_version': 1})
        self.assertEqual(result['top'], ['app.py', 10, 3000, 30])
        self.assertEqual(result['traceback'], [['main.py', 3],
                                               ['app.py', 10]])
        self.assertEqual(result['total_nframe'], 4)
        self.assertEqual(result['traces'], 31)


if __name__ == '__main__':
    unittest.main()
