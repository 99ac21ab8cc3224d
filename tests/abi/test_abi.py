"""ABI tests: the PEP 445 interpreter against extensions and binaries of the
stock one.  Run by the PATCHED interpreter, normally through tests/abi/run.sh:

    PYTHON=build/python2.7/bin/python2.7 sh tests/abi/run.sh

which builds _stockext (tests/abi/_stockext.c) with the STOCK headers and
sets the environment below:

  STOCKEXT_DIR       directory holding _stockext.so (also on PYTHONPATH)
  STOCKEXT_BUILD_LOG what the compiler said while building it
  STOCK_PYTHON       the stock interpreter (the extension must load there too)
  STOCK_LIBPYTHON    the stock libpython2.7.so.1.0 (3.3: libpython3.3m...)
  PATCHED_LIBPYTHON  the patched libpython2.7.so.1.0
  ABI_SERIES_DIR     the quilt series (default patches/2.7 of this tree,
                     patches/3.3 on 3.3)
  PATCHED_INCLUDE, STOCK_INCLUDE
                     the headers installed with each library (default
                     PREFIX/include/python2.7, python3.3m): what the patched headers
                     declare and the stock ones don't is what the patched
                     library must add, nothing more
  ABI_ITERATIONS     rounds of calls while tracing (default 10000)
  ABI_KNOWN_BREAKS   "skip" (default) or "fail": what a test does when it
                     finds a break in an opt-in debugging mode
                     (PYTHONMALLOC=debug...); breaks of the default
                     configurations and of tracing always fail
  ABIDIFF_REPORT     if set, the abidiff report is also written there

The tracing tests need the _tracemalloc module (installed into lib-dynload
by `make module`); without it they are skipped.
"""

from __future__ import print_function

import gc
import json
import os
import re
import subprocess
import sys
import sysconfig
import unittest

try:
    xrange
except NameError:
    xrange = range

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

STOCKEXT_DIR = os.environ.get('STOCKEXT_DIR', '')
if STOCKEXT_DIR and STOCKEXT_DIR not in sys.path:
    sys.path.insert(0, STOCKEXT_DIR)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

try:
    import _stockext
    STOCKEXT_ERROR = None
except ImportError as exc:
    _stockext = None
    STOCKEXT_ERROR = str(exc)

if _stockext is not None:
    import stockext_calls
else:
    stockext_calls = None

try:
    import _tracemalloc
    TRACEMALLOC_ERROR = None
except ImportError as exc:
    _tracemalloc = None
    TRACEMALLOC_ERROR = ('_tracemalloc is not built/installed for %s (%s); '
                         'run `make module`' % (sys.executable, exc))

ITERATIONS = int(os.environ.get('ABI_ITERATIONS', '10000'))
KNOWN_BREAKS = os.environ.get('ABI_KNOWN_BREAKS', 'skip')

# The API that the series adds to libpython, at the least: the functions and
# variables of PEP 445 and of the -X tracemalloc option.  The exact list of
# what libpython gains is what the headers installed with it declare
# (PyAPI_FUNC / PyAPI_DATA) and the stock headers don't, and it must match
# what the series' patches add; nothing else may appear, nothing may
# disappear or change.
CORE_FUNCTIONS = frozenset([
    'PyMem_RawMalloc', 'PyMem_RawCalloc', 'PyMem_RawRealloc', 'PyMem_RawFree',
    'PyMem_Calloc', 'PyObject_Calloc',
    'PyMem_GetAllocator', 'PyMem_SetAllocator',
    'PyObject_GetArenaAllocator', 'PyObject_SetArenaAllocator',
    'PyMem_SetupDebugHooks', '_PyMem_SetupAllocators',
    '_Py_ParseTraceMallocFrames', '_PyObject_SetReuseHook',
])
CORE_VARIABLES = frozenset(['Py_TraceMallocFlag'])
CORE_SYMBOLS = CORE_FUNCTIONS | CORE_VARIABLES

# Tolerance on the traced memory after the objects are freed: blocks that a
# stock extension allocates with PyMem_Malloc() and releases with PyMem_FREE
# (an inline free()) keep a stale trace until the address is traced again.
# exercise() leaves at most one such block of 70000 bytes alive, and the
# drift must not grow with the number of rounds.
TRACED_DRIFT_LIMIT = 256 * 1024

# libpython2.7.so.1.0 and include/python2.7; libpython3.3m.so.1.0 and
# include/python3.3m on 3.3 (python3.3dm: --with-pydebug), the same for
# the stock and the patched build.
SONAME = sysconfig.get_config_var('INSTSONAME')
INCLUDE_NAME = os.path.basename(sysconfig.get_config_var('INCLUDEPY'))


def _series_dir():
    default = os.path.join(TOP, 'patches', '%d.%d' % sys.version_info[:2])
    return os.environ.get('ABI_SERIES_DIR', default)


def _stock_lib():
    return os.environ.get('STOCK_LIBPYTHON', os.path.join(
        TOP, 'build', 'python%d.%d-stock' % sys.version_info[:2], 'lib',
        SONAME))


def _patched_lib():
    return os.environ.get('PATCHED_LIBPYTHON', os.path.join(
        TOP, 'build', 'python%d.%d' % sys.version_info[:2], 'lib', SONAME))


def _series():
    with open(os.path.join(_series_dir(), 'series')) as f:
        return [line.split()[0] for line in f
                if line.strip() and not line.startswith('#')]


def _parse_patches(names):
    """{name: 'function' or 'variable'} of the PyAPI_FUNC / PyAPI_DATA
    declarations that the patches add, and the set of those they remove."""
    added, removed = {}, set()
    for name in names:
        with open(os.path.join(_series_dir(), name)) as f:
            for line in f:
                m = re.match(r'^([+-])\s*PyAPI_(FUNC|DATA)\([^)]*\)\s*'
                             r'\**\s*(\w+)', line)
                if not m:
                    continue
                if m.group(1) == '+':
                    added[m.group(3)] = ('function' if m.group(2) == 'FUNC'
                                         else 'variable')
                else:
                    removed.add(m.group(3))
    return added, removed


def _include_dir(lib):
    """PREFIX/include/python2.7 of PREFIX/lib/libpython2.7.so.1.0."""
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(lib)))
    return os.path.join(prefix, 'include', INCLUDE_NAME)


def _declared(include_dir):
    """{name: 'function' or 'variable'} of the PyAPI_FUNC / PyAPI_DATA
    declarations of the headers installed with a library."""
    declared = {}
    for name in sorted(os.listdir(include_dir)):
        if not name.endswith('.h'):
            continue
        with open(os.path.join(include_dir, name)) as f:
            for m in re.finditer(r'PyAPI_(FUNC|DATA)\([^)]*\)\s*\**\s*(\w+)',
                                 f.read()):
                declared[m.group(2)] = ('function' if m.group(1) == 'FUNC'
                                        else 'variable')
    return declared


def _expected_added():
    """(functions, variables) that libpython gains: what the headers
    installed with the patched library declare and the stock ones don't.
    (The series may be newer than the build: see test_build_is_current.)"""
    patched = _declared(os.environ.get('PATCHED_INCLUDE',
                                       _include_dir(_patched_lib())))
    stock = _declared(os.environ.get('STOCK_INCLUDE',
                                     _include_dir(_stock_lib())))
    added = dict((name, kind) for name, kind in patched.items()
                 if name not in stock)
    return (set(n for n, kind in added.items() if kind == 'function'),
            set(n for n, kind in added.items() if kind == 'variable'))


def _which(program):
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _run(args, env=None):
    """Run a command: (exit status, stdout, stderr)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env,
                            universal_newlines=True)
    out, err = proc.communicate()
    return proc.returncode, out, err


def _child_env(**changes):
    env = dict(os.environ)
    for name in ('PYTHONTRACEMALLOC', 'PYTHONMALLOC'):
        env.pop(name, None)
    path = [STOCKEXT_DIR, HERE]
    if env.get('PYTHONPATH'):
        path.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(p for p in path if p)
    env.update(changes)
    return env


def _stockext_path():
    return getattr(_stockext, '__file__', None)


def known_break(test, message):
    """A known break of the series (see the module docstring)."""
    text = 'KNOWN ABI BREAK: ' + message
    print('\n' + text, file=sys.stderr)
    if KNOWN_BREAKS == 'fail':
        test.fail(text)
    test.skipTest(text)


def needs_stockext(cls):
    if _stockext is None:
        return unittest.skip('_stockext did not import (built by '
                             'tests/abi/run.sh): %s' % STOCKEXT_ERROR)(cls)
    return cls


# ==========================================================================
# The extension really is a stock-header build


class StockExtensionImportTest(unittest.TestCase):

    def test_import(self):
        self.assertIsNone(STOCKEXT_ERROR,
                          '_stockext, built with the stock headers by '
                          'tests/abi/run.sh, did not import')

    def test_built_without_warnings(self):
        log = os.environ.get('STOCKEXT_BUILD_LOG')
        if not log:
            self.skipTest('STOCKEXT_BUILD_LOG not set (run tests/abi/run.sh)')
        with open(log) as f:
            text = f.read().strip()
        self.assertEqual(text, '', 'gcc -Wall -Wextra said:\n' + text)


@needs_stockext
class StockHeaderBuildTest(unittest.TestCase):
    """What the macros became in _stockext.so: proof that it was compiled
    like an extension built against stock 2.7 years ago."""

    def setUp(self):
        self.pydebug = _stockext.pydebug()
        if self.pydebug:
            self.inline = {'malloc': '_PyMem_DebugMalloc',
                           'realloc': '_PyMem_DebugRealloc',
                           'free': '_PyMem_DebugFree',
                           'PyObject_Malloc': '_PyObject_DebugMalloc',
                           'PyObject_Realloc': '_PyObject_DebugRealloc',
                           'PyObject_Free': '_PyObject_DebugFree'}
        else:
            self.inline = {'malloc': 'malloc', 'realloc': 'realloc',
                           'free': 'free', 'PyObject_Malloc': 'PyObject_Malloc',
                           'PyObject_Realloc': 'PyObject_Realloc',
                           'PyObject_Free': 'PyObject_Free'}

    def test_macro_expansions(self):
        exp = _stockext.macro_expansions()
        for macro, function in (('PyMem_MALLOC', 'malloc'),
                                ('PyMem_REALLOC', 'realloc'),
                                ('PyMem_FREE', 'free'),
                                ('PyMem_DEL', 'free'),
                                ('PyObject_MALLOC', 'PyObject_Malloc'),
                                ('PyObject_REALLOC', 'PyObject_Realloc'),
                                ('PyObject_FREE', 'PyObject_Free')):
            name = self.inline[function]
            self.assertTrue(re.match(r'.*\b%s\b' % name, exp[macro]),
                            '%s expanded to %r, not to %s()'
                            % (macro, exp[macro], name))
            self.assertNotIn('PyMem_Malloc', exp[macro])

    def _dynamic_symbols(self, path, defined):
        option = '--defined-only' if defined else '--undefined-only'
        status, out, err = _run(['nm', '-D', option, path])
        self.assertEqual(status, 0, err)
        names = set()
        for line in out.splitlines():
            fields = line.split()
            if fields:
                names.add(fields[-1].split('@')[0])
        return names

    def test_nm_undefined_symbols(self):
        """nm -D: the libc functions are called directly, and none of the
        new API is needed (it loads into the stock interpreter)."""
        undefined = self._dynamic_symbols(_stockext_path(), defined=False)
        print('\n_stockext.so needs: %s' % ' '.join(sorted(
            name for name in undefined
            if re.search('alloc|free|Free|_New$|Init$', name))),
            file=sys.stderr)
        needed = set(self.inline.values()) | set([
            'PyMem_Malloc', 'PyMem_Realloc', 'PyMem_Free', '_PyObject_New',
            'PyObject_Init'])
        self.assertEqual(needed - undefined, set(),
                         'not referenced by %s' % _stockext_path())
        new_api = CORE_SYMBOLS | set(_parse_patches(_series())[0])
        self.assertEqual(undefined & new_api, set(),
                         '_stockext uses the new API: not a stock build')

    def test_objdump_calls(self):
        """objdump -d: each function calls what its macros expand to."""
        status, out, err = _run(['objdump', '-d', '--no-show-raw-insn',
                                 _stockext_path()])
        self.assertEqual(status, 0, err)
        calls = {}
        function = None
        for line in out.splitlines():
            m = re.match(r'^[0-9a-f]+ <([^>@]+)>:$', line)
            if m:
                # gcc may move code into clones: stock_x.part.0, .isra.0
                function = m.group(1).split('.')[0]
                continue
            m = re.search(r'\b(call|jmp)\w*\s+[0-9a-f]+ <([^>@+]+)@plt>',
                          line)
            if m and function:
                calls.setdefault(function, set()).add(m.group(2))
        inline = self.inline
        expected = {
            'stock_macro_malloc_func_free': [inline['malloc'], 'PyMem_Free'],
            'stock_func_malloc_macro_free': ['PyMem_Malloc', inline['free']],
            'stock_free_behind_back': ['PyMem_Malloc', 'free', 'PyMem_Free'],
            'stock_new_resize_del': [inline['malloc'], inline['realloc'],
                                     'PyMem_Realloc', inline['free']],
            'stock_new_del_mixed': ['PyMem_Malloc', inline['malloc'],
                                    inline['free'], 'PyMem_Free'],
            'stock_realloc_grow': ['PyMem_Malloc', inline['malloc'],
                                   inline['realloc'], 'PyMem_Realloc',
                                   'PyMem_Free', inline['free']],
            'stock_object_malloc_free': [inline['PyObject_Malloc'],
                                         inline['PyObject_Realloc'],
                                         inline['PyObject_Free']],
            'blob_dealloc': ['PyMem_Free', inline['PyObject_Free']],
        }
        for function, targets in sorted(expected.items()):
            self.assertIn(function, calls, 'no calls found in %s' % function)
            missing = set(targets) - calls[function]
            self.assertEqual(missing, set(), '%s calls %s, not %s' % (
                function, sorted(calls[function]), sorted(missing)))

    def test_loads_into_stock_interpreter(self):
        """The same .so runs in the stock interpreter: the baseline."""
        stock = os.environ.get('STOCK_PYTHON')
        if not stock or not os.path.exists(stock):
            self.skipTest('STOCK_PYTHON not set or missing')
        status, out, err = _run([stock, os.path.join(HERE, 'stockext_calls.py'),
                                 '20'], env=_child_env())
        self.assertEqual(status, 0, err)
        result = json.loads(out)
        self.assertEqual(result['iterations'], 20)
        self.assertEqual(result['pydebug'], self.pydebug)


# ==========================================================================
# Calls into the patched interpreter, without tracing


@needs_stockext
class CallsTest(unittest.TestCase):
    """Every mix of macros and functions, one by one, then all together."""

    m = _stockext

    def test_pymem_macro_malloc_function_free(self):
        for size in (0, 1, 100, 1 << 20):
            self.assertIs(self.m.macro_malloc_func_free(size), True)

    def test_pymem_function_malloc_macro_free(self):
        for size in (0, 1, 100, 1 << 20):
            self.assertIs(self.m.func_malloc_macro_free(size), True)

    def test_zero_sizes(self):
        self.assertIs(self.m.zero_sizes(), True)

    def test_new_resize_del(self):
        self.assertEqual(self.m.new_resize_del(1), 0)
        self.assertEqual(self.m.new_resize_del(1000), 999 * 1000 // 2)
        self.assertIs(self.m.new_del_mixed(1000), True)

    def test_realloc_loop(self):
        for macro in (1, 0):
            s = self.m.realloc_grow(200000, macro)
            self.assertEqual(len(s), 200000)
            self.assertEqual(s[:28], 'abcdefghijklmnopqrstuvwxyzab')
            self.assertEqual(s[-1], chr(ord('a') + 199999 % 26))

    def test_free_behind_the_interpreters_back(self):
        if self.m.pydebug():
            self.skipTest('free() of a debug block crashes, stock or patched')
        for size in (1, 32, 1000, 1 << 20):
            ok, same = self.m.free_behind_back(size)
            self.assertIs(ok, True)
            self.assertIn(same, (True, False))

    def test_held_blocks(self):
        for macro in (0, 1):
            address = self.m.hold(0, 1000, macro)
            self.assertNotEqual(address, 0)
            self.m.release(0)

    def test_object_malloc(self):
        self.assertEqual(self.m.object_malloc_free(1000, 2000), 1000)

    def test_own_type(self):
        live = self.m.live_blobs()
        for macro in (0, 1):
            blob = self.m.make_blob(300, macro)
            self.assertIsInstance(blob, self.m.Blob)
            self.assertEqual(len(blob), 300)
            self.assertEqual(blob.checksum(),
                             stockext_calls._blob_checksum(300))
            self.assertEqual(self.m.live_blobs(), live + 1)
            del blob
            self.assertEqual(self.m.live_blobs(), live)
        self.assertEqual(self.m.blobs(500, 3), 500)
        self.assertEqual(self.m.live_blobs(), live)

    def test_returned_objects(self):
        lst = self.m.build_list(1000)
        self.assertEqual(lst, list(range(1000)))
        lst.append('more')      # a list of the interpreter like any other
        d = self.m.build_dict(1000)
        self.assertEqual(d['key998'], 998)
        self.assertEqual(d['key999'], [999, '999'])
        d.clear()
        self.assertEqual(self.m.build_string(5), 'abcde')
        self.assertEqual(self.m.build_tuple(2),
                         (('x', u'uv', 0.0), ('x', u'uv', 0.5)))

    def test_buffers_of_the_interpreter(self):
        """PyArg_ParseTuple "es"/"et#" buffers, released by the extension
        with PyMem_Free() and PyMem_FREE."""
        for _ in range(100):
            self.assertEqual(self.m.encode(u'\u20ac' * 50),
                             (b'\xe2\x82\xac' * 50,) * 2)

    def test_pymem_without_the_gil(self):
        run_threads(self.m)

    def test_everything_many_times(self):
        for _ in range(200):
            stockext_calls.exercise(self.m)
        gc.collect()


def run_threads(m, nthreads=8, rounds=300):
    """Threads calling nogil_pymem() (PyMem without the GIL, concurrently)
    while this one allocates Python objects."""
    import threading
    errors = []

    def work(seed):
        try:
            for i in range(rounds):
                if m.nogil_pymem(20, 16 + (seed * 7 + i) % 500) != 20:
                    errors.append('nogil_pymem result')
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(nthreads)]
    for thread in threads:
        thread.start()
    junk = []
    for i in range(rounds):
        junk.append(dict((str(j), [j]) for j in range(20)))
        if len(junk) > 10:
            del junk[:5]
    for thread in threads:
        thread.join()
    if errors:
        raise AssertionError(errors[:5])


# ==========================================================================
# The same calls while tracemalloc hooks every domain


@needs_stockext
class TracingTest(unittest.TestCase):

    def setUp(self):
        if _tracemalloc is None:
            self.skipTest(TRACEMALLOC_ERROR)
        self.was_tracing = _tracemalloc.is_tracing()
        if self.was_tracing:
            self.old_limit = _tracemalloc.get_traceback_limit()
            _tracemalloc.stop()

    def tearDown(self):
        _tracemalloc.stop()
        if self.was_tracing:
            _tracemalloc.start(self.old_limit)

    def traced(self):
        return _tracemalloc.get_traced_memory()[0]

    def test_many_rounds_return_to_baseline(self):
        stockext_calls.exercise(_stockext)      # warm up the free lists
        _tracemalloc.start(5)
        self.assertTrue(_tracemalloc.is_tracing())
        self.assertEqual(_tracemalloc.get_traceback_limit(), 5)
        stockext_calls.exercise(_stockext)
        gc.collect()
        baseline = self.traced()
        for _ in xrange(ITERATIONS):
            stockext_calls.exercise(_stockext)
        gc.collect()
        after, peak = _tracemalloc.get_traced_memory()
        dropped = _tracemalloc.get_dropped_traces()
        print('\n%d rounds traced: baseline %d, after %d (drift %+d), '
              'peak %d, dropped traces %d'
              % (ITERATIONS, baseline, after, after - baseline, peak,
                 dropped), file=sys.stderr)
        # the hooks saw the blocks of the rounds
        self.assertGreater(peak, baseline + 70000)
        self.assertLess(abs(after - baseline), TRACED_DRIFT_LIMIT)
        self.assertEqual(dropped, 0)
        _tracemalloc.stop()
        self.assertFalse(_tracemalloc.is_tracing())
        self.assertEqual(_tracemalloc.get_traced_memory(), (0, 0))
        # and all is still well without the hooks
        stockext_calls.exercise(_stockext)

    def test_pymem_function_blocks_are_traced(self):
        _tracemalloc.start(5)
        before = self.traced()
        _stockext.hold(1, 100000, 0)            # PyMem_Malloc()
        self.assertGreaterEqual(self.traced() - before, 100000)
        _stockext.release(1)                    # PyMem_FREE: inline free()
        # The inline free() is invisible: the trace goes stale until the
        # address is traced again, or untraced by PyMem_Free() here:
        _stockext.hold(2, 100000, 1)            # PyMem_MALLOC: inline
        _stockext.release(2)                    # PyMem_Free()
        _stockext.hold(3, 100000, 0)            # PyMem_Malloc()
        _stockext.hold(4, 100000, 1)            # PyMem_MALLOC: invisible
        middle = self.traced()
        self.assertGreaterEqual(middle - before, 100000)
        self.assertLess(middle - before, 300000)
        _stockext.release(4)                    # PyMem_Free()
        _stockext.release(3)                    # PyMem_FREE
        gc.collect()

    def test_objects_of_the_extension_have_tracebacks(self):
        _tracemalloc.start(5)
        lst = _stockext.build_list(10); line = sys._getframe().f_lineno
        blob = _stockext.make_blob(10)
        d = _stockext.build_dict(10)
        for obj, lineno in ((lst, line), (blob, line + 1), (d, line + 2)):
            tb = _tracemalloc._get_object_traceback(obj)
            self.assertIsNotNone(tb, type(obj))
            filename = tb[0][0]
            if filename.endswith(('.pyc', '.pyo')):
                filename = filename[:-1]
            self.assertEqual((os.path.basename(filename), tb[0][1]),
                             ('test_abi.py', lineno))
        del lst, blob, d

    def test_pymem_without_the_gil(self):
        """Threads calling PyMem_Malloc() without the GIL, as 2.7 extensions
        may (it was malloc()), while tracing."""
        _tracemalloc.start(5)
        run_threads(_stockext)
        gc.collect()
        traced = self.traced()
        dropped = _tracemalloc.get_dropped_traces()
        _tracemalloc.stop()
        # Blocks reallocated with PyMem_Realloc() and released with an
        # inline free() keep stale traces: counted, but not an error.
        print('\nthreads without the GIL: traced %d bytes after, dropped '
              'traces %d' % (traced, dropped), file=sys.stderr)
        self.assertEqual(dropped, 0)

    def test_blocks_crossing_start_and_stop(self):
        """Blocks allocated before start() released while tracing, and
        traced blocks released after stop(), by either family."""
        _stockext.hold(5, 5000, 0)              # before start()
        _stockext.hold(6, 5000, 1)
        blob = _stockext.make_blob(5000)
        _tracemalloc.start(5)
        _stockext.release(5)                    # while tracing
        _stockext.release(6)
        del blob
        blob = _stockext.make_blob(5000, 1)
        _stockext.hold(7, 5000, 0)              # while tracing
        _stockext.hold(8, 5000, 1)
        _tracemalloc.stop()
        _stockext.release(7)                    # after stop()
        _stockext.release(8)
        del blob
        _tracemalloc.start(1)
        stockext_calls.exercise(_stockext)
        _tracemalloc.stop()


@needs_stockext
class StartupTracingTest(unittest.TestCase):
    """-X tracemalloc=5 and PYTHONTRACEMALLOC=5: the hooks are installed
    before site, so every block the extension touches went through them."""

    def setUp(self):
        if _tracemalloc is None:
            self.skipTest(TRACEMALLOC_ERROR)

    def run_child(self, args, env):
        rounds = max(ITERATIONS // 5, 1)
        status, out, err = _run([sys.executable] + args + [
            os.path.join(HERE, 'stockext_calls.py'), str(rounds)], env=env)
        self.assertEqual(status, 0, 'exit status %d:\n%s' % (status, err))
        result = json.loads(out)
        self.assertEqual(result['iterations'], rounds)
        self.assertIs(result['tracing'], True)
        self.assertEqual(result['traceback_limit'], 5)
        self.assertLess(abs(result['traced_after'] - result['traced_before']),
                        TRACED_DRIFT_LIMIT, result)
        return result

    def test_x_option(self):
        result = self.run_child(['-X', 'tracemalloc=5'], _child_env())
        print('\n-X tracemalloc=5: %s' % json.dumps(result, sort_keys=True),
              file=sys.stderr)

    def test_environment_variable(self):
        self.run_child([], _child_env(PYTHONTRACEMALLOC='5'))


# ==========================================================================
# PYTHONMALLOC


# Legal 2.7 code: PyMem_MALLOC and PyMem_Free() are the same family (the
# PyMem_Malloc() family); stock 2.7 mapped both to libc in release builds and
# both to _PyMem_Debug*() in debug builds.  free() on a PyMem_Malloc() block
# (free_behind_back) is not in this list: the 2.7 documentation forbids it.
LEGAL_MIXES = [
    'macro_malloc_func_free(100)',
    'func_malloc_macro_free(100)',
    'new_resize_del(100)',
    'new_del_mixed(100)',
    'realloc_grow(1000, 1)',
    'realloc_grow(1000, 0)',
    'blobs(10, 10)',
    'build_string(100)',
    'object_malloc_free(100, 600)',
    'encode(u"text")',
    'nogil_pymem(10, 100)',
]


def _legal_mix_commands():
    """(label, argv) of child interpreters running one legal mix each."""
    commands = [(call, [sys.executable, '-c',
                        'import _stockext; _stockext.%s' % call])
                for call in LEGAL_MIXES]
    for case in stockext_calls.READLINE_CASES:
        commands.append(('readline %s' % case, [
            sys.executable, os.path.join(HERE, 'stockext_calls.py'),
            '--readline', case, '1']))
    return commands


def _first_line(text):
    lines = [line for line in text.strip().splitlines()
             if 'Fatal Python error' in line] or text.strip().splitlines()
    return lines[0] if lines else '(no output)'


@needs_stockext
class ReadlineTest(unittest.TestCase):
    """PyOS_Readline() with a stock extension on either side: as its caller
    (freeing the line with PyMem_FREE) and as the PyOS_ReadlineFunctionPointer
    hook (returning a PyMem_MALLOC or PyMem_Malloc() line, without the GIL).
    The series keeps the contract of 2.7 and 3.3: PyOS_Readline() returns
    the hook's line as it is, a PyMem_Malloc() buffer (PyOS_StdioReadline()
    makes one after taking the GIL back).  In child processes: a break is a
    crash."""

    def run_case(self, python, case, rounds, args=(), env=None):
        status, out, err = _run([python] + list(args) + [
            os.path.join(HERE, 'stockext_calls.py'), '--readline', case,
            str(rounds)], env=env or _child_env())
        if status == 3:
            self.skipTest(err.strip())
        self.assertEqual(status, 0, 'readline %s: exit status %d: %s\n%s'
                         % (case, status, _first_line(err), err[-1500:]))
        result = json.loads(out)
        self.assertEqual(result['iterations'], rounds)
        return result

    def test_stock_interpreter_baseline(self):
        stock = os.environ.get('STOCK_PYTHON')
        if not stock or not os.path.exists(stock):
            self.skipTest('STOCK_PYTHON not set or missing')
        for case in stockext_calls.READLINE_CASES:
            self.run_case(stock, case, 10)

    def test_patched_interpreter(self):
        for case in stockext_calls.READLINE_CASES:
            self.run_case(sys.executable, case, 200)

    def test_while_tracing(self):
        if _tracemalloc is None:
            self.skipTest(TRACEMALLOC_ERROR)
        rounds = max(ITERATIONS // 10, 1)
        for case in stockext_calls.READLINE_CASES:
            result = self.run_case(sys.executable, case, rounds,
                                   args=['-X', 'tracemalloc=5'])
            self.assertIs(result['tracing'], True)
            self.assertLess(abs(result['traced_after']
                                - result['traced_before']),
                            TRACED_DRIFT_LIMIT, result)


# ==========================================================================
# PYTHONMALLOC


@needs_stockext
class PythonMallocTest(unittest.TestCase):

    def test_non_debug_allocators(self):
        for name in ('malloc', 'pymalloc'):
            status, out, err = _run(
                [sys.executable, os.path.join(HERE, 'stockext_calls.py'),
                 '100'], env=_child_env(PYTHONMALLOC=name))
            self.assertEqual(status, 0, 'PYTHONMALLOC=%s: exit status %d:\n%s'
                             % (name, status, err[-2000:]))
            self.assertEqual(json.loads(out)['iterations'], 100)
            for label, command in _legal_mix_commands():
                status, out, err = _run(command,
                                        env=_child_env(PYTHONMALLOC=name))
                if status == 3 and label.startswith('readline'):
                    continue    # no pseudo-terminal
                self.assertEqual(status, 0, 'PYTHONMALLOC=%s %s: exit status '
                                 '%d: %s' % (name, label, status,
                                             _first_line(err)))

    def test_debug_hooks_accept_legal_mixes(self):
        """PYTHONMALLOC=debug (an opt-in debugging mode of release builds)
        puts the debug hooks on the MEM and RAW domains, while a stock
        release extension's PyMem_MALLOC/PyMem_FREE stay libc calls."""
        failures = []
        for name in ('debug', 'malloc_debug', 'pymalloc_debug'):
            for label, command in _legal_mix_commands():
                status, out, err = _run(command,
                                        env=_child_env(PYTHONMALLOC=name))
                if status == 3 and label.startswith('readline'):
                    continue    # no pseudo-terminal
                if status != 0:
                    failures.append('PYTHONMALLOC=%s %s: exit status %d: %s'
                                    % (name, label, status, _first_line(err)))
        if failures:
            known_break(self, 'the debug hooks of PYTHONMALLOC reject blocks '
                        'of stock-built extensions that mix PyMem_MALLOC/'
                        'PyMem_FREE with PyMem_Malloc()/PyMem_Free(), and '
                        'readline hooks\' lines:\n  ' + '\n  '.join(failures))


# ==========================================================================
# libpython2.7.so.1.0: stock against patched


class SeriesApiTest(unittest.TestCase):

    def test_series_adds_the_api_and_removes_nothing(self):
        series = _series()
        self.assertIn('pep445-allocator-api.patch', series)
        added, removed = _parse_patches(series)
        self.assertEqual(removed, set(), 'declarations removed')
        self.assertEqual(CORE_SYMBOLS - set(added), set(),
                         'the series lacks part of the PEP 445 API')
        for name in CORE_FUNCTIONS:
            self.assertEqual(added[name], 'function', name)
        for name in CORE_VARIABLES:
            self.assertEqual(added[name], 'variable', name)
        extra = sorted(set(added) - CORE_SYMBOLS)
        if extra:
            print('\nthe series also adds: %s' % ' '.join(extra),
                  file=sys.stderr)

    def test_build_is_current(self):
        """The library compared below declares what the series adds: else
        it was built from an older series, and what the newer patches add
        is not covered by these tests."""
        _needs_libs(self)
        functions, variables = _expected_added()
        added, _removed = _parse_patches(_series())
        from_series = set(added)
        if functions | variables == from_series:
            return
        lib_time = os.path.getmtime(_patched_lib())
        newer = [name for name in _series()
                 if os.path.getmtime(os.path.join(_series_dir(), name))
                 > lib_time]
        if newer:
            self.skipTest('STALE BUILD: %s is older than %s; the ABI checks '
                          'cover the patches it was built with; rebuild with '
                          '`make interpreter` (series: +%s, library: +%s)'
                          % (_patched_lib(), ', '.join(newer),
                             ' '.join(sorted(from_series - functions
                                             - variables)) or '-',
                             ' '.join(sorted(functions | variables
                                             - from_series)) or '-'))
        self.assertEqual(functions | variables, from_series,
                         'the installed headers and the series disagree')


def _needs_libs(test):
    for path in (_stock_lib(), _patched_lib()):
        if not os.path.exists(path):
            test.skipTest('%s is missing (make interpreter stock)' % path)


class LibpythonAbiTest(unittest.TestCase):

    def setUp(self):
        _needs_libs(self)

    def test_abidiff(self):
        abidiff = _which('abidiff')
        if abidiff is None:
            self.skipTest('abidiff not found (apt-get install abigail-tools)')
        status, out, err = _run([abidiff, _stock_lib(), _patched_lib()])
        report = out.strip()
        print('\n---- abidiff %s %s (exit status %d)\n%s\n----'
              % (_stock_lib(), _patched_lib(), status, report),
              file=sys.stderr)
        if os.environ.get('ABIDIFF_REPORT'):
            with open(os.environ['ABIDIFF_REPORT'], 'w') as f:
                f.write(report + '\n')
        # Exit status: a bit field, 1 error, 2 usage error, 4 ABI change,
        # 8 incompatible ABI change.  Added symbols alone set 4.
        self.assertEqual(status & 3, 0, 'abidiff failed:\n' + err)
        self.assertEqual(status & 8, 0, 'incompatible ABI change')
        self.assertIn(status, (0, 4))

        m = re.search(r'^Functions changes summary: (\d+) Removed, (\d+) '
                      r'Changed(?: \((\d+) filtered out\))?, (\d+) Added',
                      report, re.M)
        self.assertTrue(m, 'no functions summary in the report')
        self.assertEqual((m.group(1), m.group(2)), ('0', '0'),
                         'removed or changed functions')
        nfunctions = int(m.group(4))
        m = re.search(r'^Variables changes summary: (\d+) Removed, (\d+) '
                      r'Changed(?: \((\d+) filtered out\))?, (\d+) Added',
                      report, re.M)
        self.assertTrue(m, 'no variables summary in the report')
        self.assertEqual((m.group(1), m.group(2)), ('0', '0'),
                         'removed or changed variables')
        nvariables = int(m.group(4))
        # symbols without debug info, if any
        for m in re.finditer(r'^(Function|Variable) symbols changes summary:'
                             r' (\d+) Removed, (\d+) Added', report, re.M):
            self.assertEqual(m.group(2), '0', m.group(0))
            self.assertEqual(m.group(3), '0', m.group(0))

        functions, variables = set(), set()
        section = None
        for line in report.splitlines():
            m = re.match(r'^\d+ (Added|Removed|Changed) (function|variable)s?',
                         line)
            if m:
                section = (m.group(1), m.group(2))
                continue
            m = re.match(r"^\s+\[A\] '.*'\s+\{(\w+)\}", line)
            if m and section == ('Added', 'function'):
                functions.add(m.group(1))
            elif m and section == ('Added', 'variable'):
                variables.add(m.group(1))
        expected_functions, expected_variables = _expected_added()
        self.assertEqual(functions, expected_functions)
        self.assertEqual(variables, expected_variables)
        self.assertEqual((nfunctions, nvariables),
                         (len(expected_functions), len(expected_variables)))
        self.assertEqual(CORE_FUNCTIONS - functions, set())
        self.assertEqual(CORE_VARIABLES - variables, set())

    def _symbols(self, path):
        """{name: (kind, size)} of the defined dynamic symbols."""
        status, out, err = _run(['nm', '-D', '--defined-only', '-S', path])
        self.assertEqual(status, 0, err)
        symbols = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 4:
                _address, size, kind, name = fields
                size = int(size, 16)
            elif len(fields) == 3:
                _address, kind, name = fields
                size = None
            else:
                continue
            if kind in 'TtWiI':
                kind = 'function'
            elif kind in 'DdBbRrVvGgSs':
                kind = 'object'
            else:
                kind = 'other ' + kind
            symbols[name.split('@')[0]] = (kind, size)
        return symbols

    def test_nm_dynamic_symbols(self):
        stock = self._symbols(_stock_lib())
        patched = self._symbols(_patched_lib())
        self.assertGreater(len(stock), 1000)
        missing = sorted(set(stock) - set(patched))
        self.assertEqual(missing, [], 'symbols of stock libpython missing')
        kinds = sorted(name for name in stock
                       if stock[name][0] != patched[name][0])
        self.assertEqual(kinds, [], 'functions became data or the reverse')
        # an exported variable must keep its size (copy relocations)
        sizes = sorted('%s: %s -> %s' % (name, stock[name][1],
                                         patched[name][1])
                       for name in stock
                       if stock[name][0] == 'object'
                       and stock[name][1] != patched[name][1])
        self.assertEqual(sizes, [], 'exported variables changed size')
        added = dict((name, patched[name][0])
                     for name in set(patched) - set(stock))
        print('\nnm -D: %d stock symbols all present; added: %s'
              % (len(stock), ' '.join(sorted(added))), file=sys.stderr)
        expected_functions, expected_variables = _expected_added()
        self.assertEqual(set(added), expected_functions | expected_variables)
        self.assertEqual(CORE_SYMBOLS - set(added), set())
        for name in expected_functions:
            self.assertEqual(added[name], 'function', name)
        for name in expected_variables:
            self.assertEqual(added[name], 'object', name)

    def test_soname(self):
        sonames = []
        for path in (_stock_lib(), _patched_lib()):
            status, out, err = _run(['objdump', '-p', path])
            self.assertEqual(status, 0, err)
            m = re.search(r'^\s*SONAME\s+(\S+)', out, re.M)
            self.assertTrue(m, 'no SONAME in %s' % path)
            sonames.append(m.group(1))
        self.assertEqual(sonames, [SONAME] * 2)


if __name__ == '__main__':
    unittest.main()
