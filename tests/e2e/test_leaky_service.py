"""End to end: find the leak of examples/leaky_service.py while it runs.

The service runs traced (PYTHONTRACEMALLOC=5) with the snapshot service on
(TRACEMALLOC_SNAPSHOT_DIR, AT_EXIT=1), activated by the installed .pth
file: the example's code knows nothing of tracemalloc.  A client makes 300
requests with distinct query strings; SIGUSR2 takes snapshots before, in
the middle and after, SIGTERM stops the service (one more snapshot at
exit).
Then the installed tracemalloc-report must rank the leaking line first, on
this Python and on python3; python3's own tracemalloc must read the files;
and the HTML report must show the chart and the line in headless Chromium
(skipped when Chromium is not installed).

Run with the installed, patched interpreter after `make module`:

    build/python2.7/bin/python2.7 tests/run_unittests.py tests/e2e

The report's page and screenshot are kept in build/test-artefacts/.
"""

from __future__ import print_function

import filecmp
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, 'snapshots'))
import support  # noqa: E402

try:
    from urllib2 import urlopen
except ImportError:  # Python 3
    from urllib.request import urlopen

EXAMPLE = os.path.join(support.ROOT, 'examples', 'leaky_service.py')
LEAK_LINE = support.line_of(EXAMPLE, '# allocates the page')
ARTEFACTS = os.path.join(support.ROOT, 'build', 'test-artefacts')
REQUESTS_PER_ROUND = 150

# What `make module` installs, next to this interpreter.
LIBDIR = os.path.dirname(os.__file__)
BINDIR = os.path.dirname(os.path.abspath(sys.executable))
REPORT_COMMAND = os.path.join(BINDIR, 'tracemalloc-report')
REPORT_SHARE = os.path.join(os.path.dirname(BINDIR), 'share',
                            'tracemalloc-report')
INSTALLED = [(name, LIBDIR) for name in (
    'tracemalloc.py', 'tracemalloc_snapshot_file.py',
    'tracemalloc_snapshot_service.py', 'tracemalloc_report.py',
    'tracemalloc_report_html.py')]
INSTALLED += [('tracemalloc-snapshots.pth',
               os.path.join(LIBDIR, 'site-packages'))]
INSTALLED += [(name, REPORT_SHARE) for name in (
    'tracemalloc_snapshot_file.py', 'tracemalloc_report.py',
    'tracemalloc_report_html.py')]


def installation_problem():
    """Why the installed files cannot be tested, or None."""
    for name, directory in INSTALLED:
        installed = os.path.join(directory, name)
        if not os.path.exists(installed):
            return '%s is not installed: run make module' % installed
        if not filecmp.cmp(installed, os.path.join(support.BACKPORT_DIR,
                                                   name), shallow=False):
            return ('%s differs from backport/%s: run make module'
                    % (installed, name))
    if not os.access(REPORT_COMMAND, os.X_OK):
        return '%s is not installed: run make module' % REPORT_COMMAND
    return None


def service_environment(snapshots):
    env = dict((key, value) for key, value in os.environ.items()
               if not key.startswith(('TRACEMALLOC_', 'PYTHON')))
    env.update(PYTHONTRACEMALLOC='5', TRACEMALLOC_SNAPSHOT_DIR=snapshots,
               TRACEMALLOC_SNAPSHOT_AT_EXIT='1')
    return env


def page_sizes(paths):
    """What the pages of *paths* take in this interpreter (the service's
    own): the example's render_template(), run here."""
    namespace = {'__name__': 'leaky_service_copy'}
    with open(EXAMPLE) as fp:
        exec(compile(fp.read(), EXAMPLE, 'exec'), namespace)
    return sum(sys.getsizeof(namespace['render_template'](path))
               for path in paths)


def png_size(path):
    with open(path, 'rb') as fp:
        header = fp.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n', header
    return struct.unpack('>II', header[16:24])


class LeakyServiceRun(object):
    """One run of the service: the snapshots it left and what was sent."""

    def __init__(self, directory):
        self.snapshots = os.path.join(directory, 'snapshots')
        self.paths = []
        self.process = subprocess.Popen(
            [sys.executable, EXAMPLE], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=directory,
            env=service_environment(self.snapshots))
        watchdog = threading.Timer(120, self.process.kill)
        watchdog.start()
        try:
            self._drive()
        finally:
            watchdog.cancel()
            if self.process.returncode is None:
                self.process.kill()
                self.process.wait()

    def _drive(self):
        line = self.process.stdout.readline().decode('ascii')
        match = re.match(r'listening on (http://127\.0\.0\.1:\d+/)$',
                         line.strip())
        assert match, (line, self.process.stderr.read())
        self.url = match.group(1)
        self.take_snapshot(1)
        for round_number in range(2):
            for _ in range(REQUESTS_PER_ROUND):
                path = '/product/%i?t=%i' % (len(self.paths) % 7,
                                             len(self.paths))
                body = urlopen(self.url + path[1:], timeout=10).read()
                assert path.encode('ascii') in body
                self.paths.append(path)
            self.take_snapshot(round_number + 2)
        # (SIGINT would do too, but is ignored by programs that a
        # non-interactive shell starts in the background)
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.process.communicate()
        self.stdout = stdout.decode('utf-8')
        self.stderr = support.child_stderr(stderr)
        self.files = sorted(name for name in os.listdir(self.snapshots))

    def take_snapshot(self, sequence):
        os.kill(self.process.pid, signal.SIGUSR2)
        support.wait_for(lambda: self.file_of(sequence),
                         what='snapshot #%i' % sequence)

    def file_of(self, sequence):
        if not os.path.isdir(self.snapshots):
            return None
        for name in os.listdir(self.snapshots):
            if name.startswith('tracemalloc-%i-%04i-' % (self.process.pid,
                                                         sequence)):
                return os.path.join(self.snapshots, name)
        return None


PROBLEM = installation_problem()


@unittest.skipIf(PROBLEM is not None and 'not installed' in (PROBLEM or ''),
                 PROBLEM)
class LeakyServiceTests(unittest.TestCase):
    service = None

    @classmethod
    def setUpClass(cls):
        if PROBLEM is not None:
            raise AssertionError(PROBLEM)
        cls.tmpdir = tempfile.mkdtemp(prefix='e2e-leaky-service-')
        cls.service = LeakyServiceRun(cls.tmpdir)
        cls.leaked = page_sizes(cls.service.paths)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmpdir, True)

    def report(self, *args):
        return support.run([REPORT_COMMAND] + list(args),
                           cwd=tempfile.gettempdir())

    def assertLeakFirst(self, result):
        first = result['statistics'][0]
        self.assertEqual(first['location'], '%s:%i' % (EXAMPLE, LEAK_LINE))
        self.assertEqual(first['count_diff'], 2 * REQUESTS_PER_ROUND)
        self.assertEqual(first['size_diff'], self.leaked)

    def test_service_ran_and_left_four_snapshots(self):
        run = self.service
        self.assertEqual(run.process.returncode, 0, run.stderr)
        # (after the "listening on" line)
        self.assertEqual(run.stdout, 'stopped after 300 pages cached\n')
        self.assertEqual(run.stderr, '')
        self.assertEqual(run.files, [os.path.basename(run.file_of(sequence))
                                     for sequence in (1, 2, 3, 4)])
        support.import_backport()
        import tracemalloc
        reasons = []
        traced = []
        for name in run.files:
            snapshot = tracemalloc.Snapshot.load(
                os.path.join(run.snapshots, name))
            self.assertEqual(snapshot.traceback_limit, 5)
            self.assertEqual(snapshot.metadata['pid'], run.process.pid)
            self.assertEqual(snapshot.metadata['argv'],
                             [sys.executable, EXAMPLE])
            reasons.append(snapshot.metadata['reason'])
            traced.append(snapshot.metadata['traced_memory'])
        self.assertEqual(reasons, ['signal', 'signal', 'signal', 'exit'])
        self.assertGreaterEqual(traced[2] - traced[0], self.leaked)

    def test_compare_ranks_the_leak_first(self):
        status, stdout, stderr = self.report('compare', '--json',
                                             self.service.snapshots)
        self.assertEqual((status, stderr), (0, ''))
        result = json.loads(stdout)
        self.assertEqual([os.path.basename(result[key]['path'])
                          for key in ('old', 'new')],
                         [self.service.files[0], self.service.files[-1]])
        self.assertLeakFirst(result)
        # the traceback leads through the cache
        status, stdout, stderr = self.report(
            'compare', '--json', '--by', 'traceback', '--limit', '1',
            self.service.snapshots)
        frames = json.loads(stdout)['statistics'][0]['frames']
        self.assertEqual(
            [(frame['filename'], frame['lineno']) for frame in frames[-3:]],
            [(EXAMPLE, support.line_of(EXAMPLE, 'render_page(self.path)')),
             (EXAMPLE, support.line_of(EXAMPLE, '# keeps every page')),
             (EXAMPLE, LEAK_LINE)])

    def test_compare_text(self):
        status, stdout, stderr = self.report(
            'compare', '--limit', '1', self.service.file_of(1),
            self.service.file_of(3))
        self.assertEqual((status, stderr), (0, ''))
        lines = stdout.splitlines()
        self.assertTrue(lines[3].startswith('#1: %s:%i: +' % (EXAMPLE,
                                                              LEAK_LINE)),
                        stdout)
        self.assertTrue(lines[3].endswith(', +300 blocks (now 300)'), stdout)
        self.assertEqual(lines[4], '    page = _PAGE_TEMPLATE % (path, path, '
                         'rows)  # allocates the page')

    @unittest.skipIf(support.PYTHON3 is None, support.PYTHON3_MISSING)
    def test_compare_on_python3(self):
        env = dict(os.environ, PYTHONPATH=REPORT_SHARE)
        status, stdout, stderr = support.run(
            [support.PYTHON3, '-m', 'tracemalloc_report', 'compare',
             '--json', self.service.snapshots], env=env,
            cwd=tempfile.gettempdir())
        self.assertEqual((status, stderr), (0, ''))
        self.assertLeakFirst(json.loads(stdout))

    @unittest.skipIf(support.STDLIB_PYTHON3 is None,
                     support.STDLIB_PYTHON3_MISSING)
    def test_python3_stdlib_reads_the_snapshot(self):
        # the example's lines only: on 3.x, traced from the start, the
        # import machinery's code objects outweigh the leak
        code = ('import json, sys, tracemalloc\n'
                'snapshot = tracemalloc.Snapshot.load(sys.argv[1])\n'
                'example = snapshot.filter_traces('
                '[tracemalloc.Filter(True, sys.argv[2])])\n'
                'top = example.statistics("lineno")[0]\n'
                'frame = top.traceback[0]\n'
                'json.dump([tracemalloc.__file__, frame.filename, '
                'frame.lineno, top.size, top.count, '
                'snapshot.metadata["reason"]], sys.stdout)\n')
        status, stdout, stderr = support.run(
            [support.STDLIB_PYTHON3, '-E', '-s', '-c', code,
             self.service.file_of(3), EXAMPLE], cwd=tempfile.gettempdir())
        self.assertEqual((status, stderr), (0, ''))
        module, filename, lineno, size, count, reason = json.loads(stdout)
        self.assertNotIn('python2', module)
        self.assertEqual((filename, lineno, size, count, reason),
                         (EXAMPLE, LEAK_LINE, self.leaked, 300, 'signal'))

    def test_html_report_in_chromium(self):
        if not os.path.isdir(ARTEFACTS):
            os.makedirs(ARTEFACTS)
        page = os.path.join(ARTEFACTS, 'leaky_service_report.html')
        screenshot = os.path.join(ARTEFACTS, 'leaky_service_report.png')
        status, stdout, stderr = self.report('html', '--quiet', '-o', page,
                                             self.service.snapshots)
        self.assertEqual((status, stdout, stderr), (0, '', ''))
        chromium = support.which('chromium') or support.which(
            'chromium-browser')
        if chromium is None:
            self.skipTest('no chromium on PATH (apt-get install chromium)')
        dom = self.chromium(chromium, '--dump-dom', page)
        points = re.search(r'<polyline class="series traced"[^>]*'
                           r'points="([^"]*)"', dom)
        self.assertIsNotNone(points, dom[:2000])
        self.assertEqual(len(points.group(1).split()), 4)
        self.assertEqual(len(re.search(
            r'<polyline class="series rss"[^>]*points="([^"]*)"',
            dom).group(1).split()), 4)
        first_row = re.search(r'<tr class="line" id="line-1">.*?</tr>', dom,
                              re.S).group(0)
        self.assertIn('<code class="location">%s:%i</code>'
                      % (EXAMPLE, LEAK_LINE), first_row)
        self.assertIn('<details open="">', first_row)
        if os.path.exists(screenshot):
            os.remove(screenshot)
        self.chromium(chromium, '--screenshot=%s' % screenshot, page)
        self.assertEqual(png_size(screenshot), (1200, 900))

    def chromium(self, chromium, action, page):
        profile = tempfile.mkdtemp(prefix='chromium-profile-')
        try:
            process = subprocess.Popen(
                [chromium, '--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--user-data-dir=%s' % profile,
                 '--window-size=1200,900', action, 'file://' + page],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=tempfile.gettempdir())
            watchdog = threading.Timer(120, process.kill)
            watchdog.start()
            stdout, stderr = process.communicate()
            watchdog.cancel()
        finally:
            shutil.rmtree(profile, True)
        self.assertEqual(process.returncode, 0, stderr[-2000:])
        return stdout.decode('utf-8')


if __name__ == '__main__':
    unittest.main()
