"""Run the unittest modules test_*.py of one directory and end with the line
"N passed, N failed, N skipped" that tests/run-tests.sh adds up.

Usage: python run_unittests.py DIRECTORY [PATTERN]
Works on Python 2.7 and 3.x.
"""
import os
import sys
import unittest


def main():
    directory = os.path.abspath(sys.argv[1])
    pattern = sys.argv[2] if len(sys.argv) > 2 else 'test_*.py'
    sys.path.insert(0, directory)
    suite = unittest.defaultTestLoader.discover(directory, pattern=pattern,
                                                top_level_dir=directory)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    # errors outside tests (setUpClass...) are not among testsRun
    passed = max(0, result.testsRun - failed - skipped)
    if result.testsRun == 0:
        failed += 1     # a directory without tests is a broken group
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
