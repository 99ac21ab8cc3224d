"""Run the module tests (tests/module) but those named, and end with the
line "N passed, N failed, N skipped".

    python module_tests.py [TEST_NAME...]

TEST_NAME is a test method's name (test_fork_while_threads_allocate).
"""

import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
MODULE_TESTS = os.path.join(ROOT, 'tests', 'module')


def flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            for inner in flatten(test):
                yield inner
        else:
            yield test


def main(skip):
    sys.path.insert(0, MODULE_TESTS)
    found = unittest.defaultTestLoader.discover(MODULE_TESTS,
                                                top_level_dir=MODULE_TESTS)
    suite = unittest.TestSuite(test for test in flatten(found)
                               if test.id().split('.')[-1] not in skip)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print('%d passed, %d failed, %d skipped'
          % (result.testsRun - failed - skipped, failed, skipped))
    return 1 if failed or not result.testsRun else 0


if __name__ == '__main__':
    sys.exit(main(set(sys.argv[1:])))
