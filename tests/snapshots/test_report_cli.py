"""The tracemalloc-report command (backport/tracemalloc_report.py), run as
`python -m tracemalloc_report` by this interpreter (with the backport's
tracemalloc) and by python3 (with its standard library's tracemalloc), on
snapshots made of known traces.
"""

from __future__ import print_function

import json
import os
import shutil
import sys
import tempfile
import unittest

import support

tracemalloc = support.import_backport()
import tracemalloc_snapshot_file  # noqa: E402

REPORT_MODULES = ['tracemalloc_report.py', 'tracemalloc_report_html.py',
                  'tracemalloc_snapshot_file.py']

APP = ('/srv/app.py', 10)
LIB = ('/srv/lib.py', 7)
MAIN = ('/srv/main.py', 3)
UNKNOWN = ('<unknown>', 0)
OWN = ('/usr/lib/python2.7/tracemalloc.py', 500)

OLD_TRACES = ([(0, 100, (APP, MAIN), 2)] * 2 + [(0, 50, (LIB, MAIN), 2)]
              + [(0, 64, (OWN, MAIN), 2)])
NEW_TRACES = ([(0, 100, (APP, MAIN), 2)] * 5 + [(0, 50, (LIB, MAIN), 2)]
              + [(0, 20, (LIB, APP, MAIN), 3)] * 2 + [(1, 4000, (UNKNOWN,), 1)]
              + [(0, 64, (OWN, MAIN), 2)] * 3)
TIME = 1700000000


def frames(*frames):
    """JSON frames, oldest first, from raw frames most recent first."""
    return [{'filename': filename, 'lineno': lineno}
            for filename, lineno in reversed(frames)]


def row(location, size, count, *raw_frames):
    return {'location': location, 'size': size, 'count': count,
            'frames': frames(*raw_frames)}


def diff(location, size, size_diff, count, count_diff, *raw_frames):
    result = row(location, size, count, *raw_frames)
    result.update(size_diff=size_diff, count_diff=count_diff)
    return result


def write_snapshot(path, traces, sequence, pid=42):
    snapshot = tracemalloc.Snapshot(traces, 3)
    with open(path, 'wb') as fp:
        tracemalloc_snapshot_file.write_snapshot(
            snapshot, fp, {'pid': pid, 'time': TIME + 10 * sequence,
                           'sequence': sequence, 'reason': 'signal',
                           'traced_memory': 5000 * sequence,
                           'rss': 10 ** 6 * sequence})
    return path


class Interpreter(object):
    """Runs tracemalloc_report with one Python."""

    def __init__(self, name, executable, pythonpath):
        self.name = name
        self.executable = executable
        self.pythonpath = pythonpath

    def run(self, *args):
        env = dict(os.environ, PYTHONPATH=self.pythonpath)
        return support.run([self.executable, '-m', 'tracemalloc_report']
                           + list(args), env=env, cwd=tempfile.gettempdir())


def interpreters():
    """This Python with backport/ on its path, and python3 with only the
    report's modules (so that `import tracemalloc` is its own)."""
    found = [Interpreter('this Python', sys.executable,
                         support.BACKPORT_DIR)]
    if support.PYTHON3 is not None:
        directory = tempfile.mkdtemp(prefix='report-modules-')
        for name in REPORT_MODULES:
            shutil.copy(os.path.join(support.BACKPORT_DIR, name), directory)
        found.append(Interpreter('python3', support.PYTHON3, directory))
    return found


INTERPRETERS = interpreters()


def tearDownModule():
    for interpreter in INTERPRETERS[1:]:
        shutil.rmtree(interpreter.pythonpath)


class ReportTestCase(support.TempDirMixin, unittest.TestCase):
    def setUp(self):
        support.TempDirMixin.setUp(self)
        self.old = write_snapshot(self.path('old.pickle'), OLD_TRACES, 1)
        self.new = write_snapshot(self.path('new.pickle'), NEW_TRACES, 3)

    def each(self, *args):
        """Yield (interpreter, status, stdout, stderr) for each Python."""
        for interpreter in INTERPRETERS:
            status, stdout, stderr = interpreter.run(*args)
            yield interpreter.name, status, stdout, stderr

    def json_of(self, *args):
        """The JSON output of the command, the same on every Python."""
        results = []
        for name, status, stdout, stderr in self.each(*args):
            self.assertEqual((status, stderr), (0, ''), name)
            results.append(json.loads(stdout))
        for other in results[1:]:
            self.assertEqual(other, results[0])
        return results[0]

    def assertFails(self, args, status, stderr):
        for name, got_status, stdout, got_stderr in self.each(*args):
            self.assertEqual((got_status, stdout, got_stderr),
                             (status, '', stderr), name)


class TopTests(ReportTestCase):
    def test_top_by_line(self):
        result = self.json_of('top', '--json', self.new)
        self.assertEqual(result['statistics'], [
            row('<unknown>:0', 4000, 1, UNKNOWN),
            row('/srv/app.py:10', 500, 5, APP),
            row('/srv/lib.py:7', 90, 3, LIB)])
        self.assertEqual((result['total_size'], result['total_count']),
                         (4590, 9))
        self.assertEqual(result['others'], {'places': 0, 'size': 0,
                                            'count': 0, 'size_diff': 0,
                                            'count_diff': 0})
        self.assertEqual(result['snapshot']['metadata']['pid'], 42)
        # counted after the filters (tracemalloc's own 3 are hidden)
        self.assertEqual(result['snapshot']['traces'], 9)

    def test_top_limit(self):
        result = self.json_of('top', '--json', '--limit', '1', self.new)
        self.assertEqual(result['statistics'],
                         [row('<unknown>:0', 4000, 1, UNKNOWN)])
        self.assertEqual(result['others'], {'places': 2, 'size': 590,
                                            'count': 8, 'size_diff': 0,
                                            'count_diff': 0})

    def test_top_by_file_and_traceback(self):
        result = self.json_of('top', '--json', '--by', 'filename', self.new)
        self.assertEqual([(stat['location'], stat['size'], stat['count'])
                          for stat in result['statistics']],
                         [('<unknown>', 4000, 1), ('/srv/app.py', 500, 5),
                          ('/srv/lib.py', 90, 3)])
        result = self.json_of('top', '--json', '--by', 'traceback', self.new)
        self.assertEqual(result['statistics'], [
            row('<unknown>:0', 4000, 1, UNKNOWN),
            row('/srv/app.py:10', 500, 5, APP, MAIN),
            row('/srv/lib.py:7', 50, 1, LIB, MAIN),
            row('/srv/lib.py:7', 40, 2, LIB, APP, MAIN)])

    def test_top_cumulative(self):
        result = self.json_of('top', '--json', '--cumulative', self.new)
        self.assertEqual([(stat['location'], stat['size'], stat['count'])
                          for stat in result['statistics']],
                         [('<unknown>:0', 4000, 1),
                          ('/srv/main.py:3', 590, 8),
                          ('/srv/app.py:10', 540, 7),
                          ('/srv/lib.py:7', 90, 3)])

    def test_filters(self):
        def locations(*options):
            result = self.json_of('top', '--json', self.new, *options)
            return [(stat['location'], stat['size'])
                    for stat in result['statistics']]
        self.assertEqual(locations('--domain', '0'),
                         [('/srv/app.py:10', 500), ('/srv/lib.py:7', 90)])
        self.assertEqual(locations('--domain', '1'), [('<unknown>:0', 4000)])
        self.assertEqual(locations('--include', '/srv/*'),
                         [('/srv/app.py:10', 500), ('/srv/lib.py:7', 90)])
        self.assertEqual(locations('--include', '*/app.py',
                                   '--include', '*/lib.py'),
                         [('/srv/app.py:10', 500), ('/srv/lib.py:7', 90)])
        self.assertEqual(locations('--exclude', '*/lib.py'),
                         [('<unknown>:0', 4000), ('/srv/app.py:10', 500)])
        # tracemalloc's own allocations are hidden unless asked for
        self.assertEqual(locations('--show-tracemalloc', '--domain', '0'),
                         [('/srv/app.py:10', 500),
                          ('/usr/lib/python2.7/tracemalloc.py:500', 192),
                          ('/srv/lib.py:7', 90)])

    def test_top_text(self):
        for name, status, stdout, stderr in self.each('top', '--limit', '2',
                                                      self.new):
            self.assertEqual((status, stderr), (0, ''), name)
            self.assertEqual(stdout, (
                'Top 2 by line of %s (2023-11-14 22:13:50 UTC, pid 42)\n'
                '#1: <unknown>:0: 3.9 KiB in 1 block\n'
                '#2: /srv/app.py:10: 500 B in 5 blocks\n'
                '1 other place: 90 B in 3 blocks\n'
                'Total: 4.5 KiB in 9 blocks\n' % self.new), name)

    def test_top_of_a_directory_uses_the_newest(self):
        directory = self.path('series')
        os.mkdir(directory)
        for sequence, traces in ((1, OLD_TRACES), (2, NEW_TRACES)):
            write_snapshot(os.path.join(
                directory, tracemalloc_snapshot_file.snapshot_filename(
                    42, sequence, TIME)), traces, sequence)
        result = self.json_of('top', '--json', directory)
        self.assertTrue(result['snapshot']['path'].endswith(
            'tracemalloc-42-0002-20231114T221320Z.pickle'))
        self.assertEqual(result['total_size'], 4590)


class CompareTests(ReportTestCase):
    EXPECTED = [
        diff('<unknown>:0', 4000, 4000, 1, 1, UNKNOWN),
        diff('/srv/app.py:10', 500, 300, 5, 3, APP),
        diff('/srv/lib.py:7', 90, 40, 3, 2, LIB)]

    def test_compare_two_files(self):
        result = self.json_of('compare', '--json', self.old, self.new)
        self.assertEqual(result['statistics'], self.EXPECTED)
        self.assertEqual((result['size_diff'], result['count_diff']),
                         (4340, 6))
        self.assertEqual(result['old']['path'], self.old)
        self.assertEqual(result['new']['path'], self.new)

    def test_compare_text(self):
        for name, status, stdout, stderr in self.each('compare', self.old,
                                                      self.new):
            self.assertEqual((status, stderr), (0, ''), name)
            self.assertEqual(stdout, (
                'Top 3 differences by line\n'
                '  from %s (2023-11-14 22:13:30 UTC, pid 42)\n'
                '    to %s (2023-11-14 22:13:50 UTC, pid 42)\n'
                '#1: <unknown>:0: +3.9 KiB (now 3.9 KiB), +1 block (now 1)\n'
                '#2: /srv/app.py:10: +300 B (now 500 B), +3 blocks (now 5)\n'
                '#3: /srv/lib.py:7: +40 B (now 90 B), +2 blocks (now 3)\n'
                'Total: +4.2 KiB (now 4.5 KiB), +6 blocks (now 9)\n'
                % (self.old, self.new)), name)

    def make_series(self, pids=(42,)):
        directory = self.path('series')
        os.mkdir(directory)
        for pid in pids:
            for sequence, traces in ((1, OLD_TRACES), (2, OLD_TRACES),
                                     (3, NEW_TRACES)):
                write_snapshot(os.path.join(
                    directory, tracemalloc_snapshot_file.snapshot_filename(
                        pid, sequence, TIME + sequence)), traces, sequence,
                    pid)
        # not snapshots of the series
        for name in ('.tracemalloc-42-0004-20231114T221320Z.pickle.tmp',
                     'notes.txt'):
            with open(os.path.join(directory, name), 'w') as fp:
                fp.write('junk')
        return directory

    def test_compare_a_directory_first_and_last(self):
        directory = self.make_series()
        result = self.json_of('compare', '--json', directory)
        self.assertEqual(result['statistics'], self.EXPECTED)
        self.assertEqual(
            [os.path.basename(result[key]['path']) for key in ('old', 'new')],
            ['tracemalloc-42-0001-20231114T221321Z.pickle',
             'tracemalloc-42-0003-20231114T221323Z.pickle'])

    def test_several_processes_need_a_pid(self):
        directory = self.make_series(pids=(42, 43))
        self.assertFails(['compare', directory], 1,
                         'tracemalloc-report: error: %s holds the snapshots '
                         'of several processes (pids 42, 43): choose one '
                         'with --pid\n' % directory)
        result = self.json_of('compare', '--json', '--pid', '43', directory)
        self.assertEqual(result['statistics'], self.EXPECTED)
        self.assertEqual(result['new']['metadata']['pid'], 43)

    def test_one_snapshot_is_not_enough(self):
        self.assertFails(['compare', self.old], 1,
                         'tracemalloc-report: error: compare needs two '
                         'snapshots (OLD NEW, or a directory holding '
                         'several): %s names 1\n' % self.old)


class ErrorTests(ReportTestCase):
    def test_missing_file(self):
        missing = self.path('missing.pickle')
        self.assertFails(['top', missing], 1,
                         'tracemalloc-report: error: cannot read %s: No such '
                         'file or directory\n' % missing)

    def test_empty_and_corrupt_files(self):
        empty = self.write('empty.pickle', b'')
        self.assertFails(['top', empty], 1,
                         "tracemalloc-report: error: cannot load tracemalloc "
                         "snapshot '%s': the file is empty\n" % empty)
        with open(self.new, 'rb') as fp:
            data = fp.read()
        truncated = self.write('truncated.pickle', data[:len(data) // 2])
        for name, status, stdout, stderr in self.each('compare', self.old,
                                                      truncated):
            self.assertEqual((status, stdout), (1, ''), name)
            self.assertTrue(stderr.startswith(
                "tracemalloc-report: error: cannot load tracemalloc snapshot "
                "'%s': the file is truncated or is not a pickle ("
                % truncated), stderr)
            self.assertEqual(stderr.count('\n'), 1, stderr)

    def test_malicious_file_is_not_run(self):
        marker = self.path('pwned')
        evil = self.write('evil.pickle', (
            "cposix\nsystem\n(S'touch %s'\ntR." % marker).encode('ascii'))
        self.assertFails(['top', evil], 1,
                         "tracemalloc-report: error: cannot load tracemalloc "
                         "snapshot '%s': refers to posix.system, which is not "
                         "part of a tracemalloc snapshot; refusing to load "
                         "it\n" % evil)
        self.assertFalse(os.path.exists(marker))

    def test_newer_format(self):
        snapshot = tracemalloc.Snapshot(OLD_TRACES, 3)
        snapshot.metadata = {'format_version': 99}
        path = self.path('future.pickle')
        import pickle
        with open(path, 'wb') as fp:
            pickle.dump(snapshot, fp, 2)
        self.assertFails(['top', path], 1,
                         "tracemalloc-report: error: cannot load tracemalloc "
                         "snapshot '%s': it is written in snapshot format "
                         "version 99; this reader knows versions up to 1\n"
                         % path)

    def test_directory_without_snapshots(self):
        directory = self.path('empty-dir')
        os.mkdir(directory)
        self.assertFails(['compare', directory], 1,
                         'tracemalloc-report: error: no snapshot files '
                         '(tracemalloc-PID-SEQUENCE-TIME.pickle) in %s\n'
                         % directory)

    def test_usage_errors_exit_2(self):
        for args in ([], ['top'], ['frobnicate'], ['top', '--by', 'size',
                                                   self.new],
                     ['top', '--limit', '-1', self.new],
                     ['html', self.new]):
            for name, status, stdout, stderr in self.each(*args):
                self.assertEqual((status, stdout), (2, ''), (name, args))
                self.assertTrue(stderr.startswith('usage: tracemalloc-report'),
                                (name, args, stderr))
                self.assertIn('tracemalloc-report', stderr.splitlines()[-1])

    def test_help_everywhere(self):
        for args in (['--help'], ['top', '--help'], ['compare', '--help'],
                     ['html', '--help'], ['info', '--help']):
            for name, status, stdout, stderr in self.each(*args):
                self.assertEqual((status, stderr), (0, ''), (name, args))
                self.assertTrue(stdout.startswith(
                    'usage: tracemalloc-report %s' % ' '.join(args[:-1])
                    if len(args) > 1 else 'usage: tracemalloc-report'),
                    stdout)


class InfoAndHtmlTests(ReportTestCase):
    def test_info_json(self):
        result = self.json_of('info', '--json', self.old, self.new)
        self.assertEqual([(entry['traces'], entry['size'],
                           entry['metadata']['sequence'])
                          for entry in result], [(4, 314, 1), (12, 4782, 3)])

    def test_html(self):
        for interpreter in INTERPRETERS:
            output = self.path('report.html')
            status, stdout, stderr = interpreter.run(
                'html', '-o', output, self.old, self.new)
            self.assertEqual((status, stdout), (0, ''), interpreter.name)
            self.assertEqual(stderr, 'tracemalloc-report: wrote %s '
                             '(2 snapshots)\n' % output)
            with open(output, 'rb') as fp:
                page = fp.read().decode('utf-8')
            self.assertIn('<code class="location">&lt;unknown&gt;:0</code>',
                          page)
            self.assertEqual(page.count('<tr class="line"'), 3)
            self.assertEqual(page.count('<polyline class="series traced"'),
                             1)
            os.remove(output)


@unittest.skipIf(support.PYTHON3 is None, support.PYTHON3_MISSING)
class Python3UsesItsOwnTracemallocTests(unittest.TestCase):
    def test_stdlib_classes(self):
        interpreter = INTERPRETERS[1]
        code = ('import tracemalloc_report as r; t = r.import_tracemalloc(); '
                'print(t.__file__)')
        env = dict(os.environ, PYTHONPATH=interpreter.pythonpath)
        status, stdout, stderr = support.run([interpreter.executable, '-c',
                                              code], env=env)
        self.assertEqual((status, stderr), (0, ''))
        self.assertNotIn(support.BACKPORT_DIR, stdout)
        self.assertNotIn(interpreter.pythonpath, stdout)


if __name__ == '__main__':
    unittest.main()
