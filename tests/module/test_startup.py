"""-X tracemalloc[=N] and PYTHONTRACEMALLOC=N: tracing starts before site is
imported (tracemalloc-startup-option.patch), with CPython 3.4's errors."""
import os
import re
import subprocess
import sys
import unittest

# What a traced interpreter reports about itself, and whether any trace was
# allocated by code in site.py (site is imported after tracing started).
PROBE = r'''
import sys, tracemalloc
site_frames = 0
if tracemalloc.is_tracing():
    for trace in tracemalloc.take_snapshot().traces:
        if any(frame.filename.endswith(('site.py', 'site.pyc'))
               for frame in trace.traceback):
            site_frames += 1
sys.stdout.write('%s %d %s\n' % (tracemalloc.is_tracing(),
                                 tracemalloc.get_traceback_limit(),
                                 site_frames > 0))
'''


def run(options, variable=None):
    env = dict(os.environ)
    env.pop('PYTHONTRACEMALLOC', None)
    if variable is not None:
        env['PYTHONTRACEMALLOC'] = variable
    process = subprocess.Popen([sys.executable] + options + ['-c', PROBE],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    out, err = process.communicate()
    # without the "[N refs]" of --with-pydebug builds
    err = re.sub(r'\[\d+ refs\]\s*\Z', '', err.decode())
    return process.returncode, out.decode().strip(), err.strip()


class StartupTest(unittest.TestCase):
    def assertTraced(self, result, nframe):
        self.assertEqual(result, (0, 'True %d True' % nframe, ''))

    def test_variable_traces_site(self):
        self.assertTraced(run([], '25'), 25)

    def test_option_traces_site(self):
        self.assertTraced(run(['-X', 'tracemalloc=25']), 25)

    def test_option_without_value_means_one_frame(self):
        self.assertTraced(run(['-X', 'tracemalloc']), 1)

    def test_option_takes_precedence_over_variable(self):
        self.assertTraced(run(['-X', 'tracemalloc=3'], '9'), 3)

    def test_zero_does_not_trace(self):
        self.assertEqual(run([], '0'), (0, 'False 1 False', ''))
        self.assertEqual(run(['-X', 'tracemalloc=0']),
                         (0, 'False 1 False', ''))

    def test_dash_e_ignores_the_variable(self):
        self.assertEqual(run(['-E'], '5'), (0, 'False 1 False', ''))

    def test_other_x_options_are_ignored(self):
        self.assertEqual(run(['-X', 'faulthandler']), (0, 'False 1 False', ''))

    def test_invalid_variable(self):
        for value in ('abc', '-1', '65536', '5x', ' 5'):
            self.assertEqual(
                run([], value),
                (1, '', 'Fatal Python error: PYTHONTRACEMALLOC: '
                        'invalid number of frames'), value)

    def test_invalid_option(self):
        for value in ('abc', '-1', '65536', ''):
            self.assertEqual(
                run(['-X', 'tracemalloc=' + value]),
                (1, '', 'Fatal Python error: -X tracemalloc=NFRAME: '
                        'invalid number of frames'), value)

    def test_largest_number_of_frames(self):
        self.assertTraced(run([], '65535'), 65535)


if __name__ == '__main__':
    unittest.main()
