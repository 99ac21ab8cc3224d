"""The module on a stock (unpatched) interpreter: the build stops at once and
an already built module refuses to import, both with one clear sentence."""
import os
import re
import subprocess
import sys
import tempfile
import shutil
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BACKPORT = os.path.join(HERE, '..', '..', 'backport')
SENTENCE = ('_tracemalloc needs a Python interpreter patched with the '
            'PEP 445 backport of tracemalloc-backport')
STOCK_PYTHON = os.environ.get('STOCK_PYTHON')
if STOCK_PYTHON and os.sep in STOCK_PYTHON:
    STOCK_PYTHON = os.path.abspath(STOCK_PYTHON)     # the tests change cwd


def run(args, **kwargs):
    process = subprocess.Popen(args, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, **kwargs)
    output = process.communicate()[0].decode('utf-8', 'replace')
    # without the "[N refs]" that --with-pydebug builds print at exit
    output = re.sub(r'\[\d+ refs\]\n\Z', '', output)
    return process.returncode, output


@unittest.skipUnless(STOCK_PYTHON and os.path.exists(STOCK_PYTHON),
                     'STOCK_PYTHON (make stock) is needed')
class UnpatchedInterpreterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_build_stops_with_one_sentence(self):
        status, output = run([STOCK_PYTHON, 'setup.py', 'build_ext',
                              '--build-lib', self.tmp,
                              '--build-temp', self.tmp], cwd=BACKPORT)
        self.assertEqual(status, 1)
        self.assertEqual(output.count('\n'), 1, output)
        self.assertIn(SENTENCE, output)
        self.assertNotIn('gcc', output)

    def test_import_of_patched_build_names_the_problem(self):
        import _tracemalloc     # the module built for this interpreter
        shutil.copy(_tracemalloc.__file__, self.tmp)
        shutil.copy(os.path.join(BACKPORT, 'tracemalloc.py'), self.tmp)
        shutil.copy(os.path.join(BACKPORT, 'tracemalloc_snapshot_file.py'),
                    self.tmp)
        env = dict(os.environ, PYTHONPATH=self.tmp)
        status, output = run([STOCK_PYTHON, '-c', 'import tracemalloc'],
                             env=env, cwd=self.tmp)
        self.assertEqual(status, 1)
        self.assertIn('ImportError: ' + SENTENCE, output)


if __name__ == '__main__':
    unittest.main()
