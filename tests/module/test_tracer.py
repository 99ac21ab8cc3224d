"""C-level behaviour of the _tracemalloc extension module.

Run with the patched interpreter, the built _tracemalloc on sys.path:

    PYTHONPATH=DIR build/python2.7/bin/python2.7 tests/module/test_tracer.py

The C helper _tracertest (tests/module/_tracertest.c) is built with
distutils into a temporary directory first, unless TRACERTEST_DIR names a
directory where it was built already.  Tests that can crash or hang the
interpreter when the tracer is wrong (threads, fork, failing allocators)
run in a child interpreter.
"""

from __future__ import print_function

import atexit
import gc
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types
import unittest
import weakref

import _tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
BACKPORT = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'backport')

# The filename that tracebacks give for the code of this module.
THIS_FILE = sys._getframe().f_code.co_filename

UNKNOWN_FRAMES = (('<unknown>', 0),)
IS_64BIT = sys.maxsize > 2 ** 32


# ---------------------------------------------------------------------------
# Helpers

def build_helper():
    """Build _tracertest and return the directory that holds it."""
    prebuilt = os.environ.get('TRACERTEST_DIR')
    if prebuilt:
        return prebuilt
    build_dir = tempfile.mkdtemp(prefix='tracertest-')
    atexit.register(shutil.rmtree, build_dir, True)
    setup = textwrap.dedent("""
        import sys
        from distutils.core import setup, Extension
        setup(name='_tracertest', script_args=sys.argv[1:],
              ext_modules=[Extension('_tracertest', [%r],
                                     include_dirs=[%r])])
        """) % (os.path.join(HERE, '_tracertest.c'), BACKPORT)
    proc = subprocess.Popen(
        [sys.executable, '-c', setup, 'build_ext',
         '--build-lib', build_dir,
         '--build-temp', os.path.join(build_dir, 'temp')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.communicate()[0]
    if proc.returncode != 0:
        raise RuntimeError('cannot build _tracertest:\n%s'
                           % output.decode('utf-8', 'replace'))
    return build_dir


def fill_free_lists():
    """2.7 keeps int and float objects in blocks that are never freed: make
    enough of them before tracing starts, so that tests do not see such
    blocks appear (and stay) while they measure."""
    junk = [int(str(i)) for i in range(200000)]
    junk += [float(i) for i in range(20000)]
    del junk
    fill_tuple_free_lists()


def fill_tuple_free_lists():
    """Fill the free lists of the small tuples that _get_traces() makes
    (up to 2000 of each size): then they hand out and take back blocks
    allocated before tracing, rather than blocks that stay traced on the
    free list once released.  Quick enough for a setUp()."""
    junk = [tuple(range(n)) for n in range(1, 6) for i in range(2100)]
    del junk


def domain_traces(*domains):
    """The traces of these domains.  A function rather than a list
    comprehension in the test: on 3.x each comprehension is a code object
    whose first run while tracing allocates (and keeps) a frame."""
    found = []
    for trace in _tracemalloc._get_traces():
        if trace[0] in domains:
            found.append(trace)
    return found


HELPER_DIR = build_helper()
sys.path.insert(0, HELPER_DIR)
import _tracertest  # noqa: E402


def child_env():
    """Environment for a child interpreter that finds both modules."""
    env = dict(os.environ)
    paths = [os.path.dirname(os.path.abspath(_tracemalloc.__file__)),
             HELPER_DIR]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.pop('PYTHONTRACEMALLOC', None)
    return env


def run_child(code, timeout=120, options=()):
    """Run `code` in a child interpreter; return (exit status, output).

    The child kills itself with SIGALRM after `timeout` seconds, so that a
    deadlock fails the test instead of hanging it."""
    prologue = 'import signal; signal.alarm(%d)\n' % timeout
    proc = subprocess.Popen([sys.executable] + list(options) +
                            ['-c', prologue + textwrap.dedent(code)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=child_env())
    output = proc.communicate()[0].decode('utf-8', 'replace')
    # without the "[N refs]" that --with-pydebug builds print at exit
    output = re.sub(r'\[\d+ refs\]\n\Z', '', output)
    return proc.returncode, output


def lineno():
    """The line number of the caller."""
    return sys._getframe(1).f_lineno


def stack_depth():
    """The number of frames on the caller's stack, the caller included."""
    frame = sys._getframe(1)
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def traced():
    return _tracemalloc.get_traced_memory()[0]


def traces_at(frames, size=None, domain=0):
    """The traces of `domain` whose frames are `frames` (and of `size`)."""
    return [trace for trace in _tracemalloc._get_traces()
            if trace[0] == domain and trace[2] == frames
            and (size is None or trace[1] == size)]


def consistent_totals():
    """Return (sum of the sizes of the traces, traced memory), read with
    nothing allocated in between (retrying if the calls themselves moved
    the counter)."""
    for attempt in range(10):
        before = traced()
        traces = _tracemalloc._get_traces()
        total = sum(trace[1] for trace in traces)
        if total == before:
            break
    return total, before


class TracerTestCase(unittest.TestCase):
    def setUp(self):
        if _tracemalloc.is_tracing():
            _tracemalloc.stop()

    def tearDown(self):
        _tracemalloc.stop()


# ---------------------------------------------------------------------------
# start(), stop(), clear_traces() and friends

class StartStopTests(TracerTestCase):
    def test_stopped_state(self):
        obj = object()
        self.assertFalse(_tracemalloc.is_tracing())
        self.assertEqual(_tracemalloc.get_traced_memory(), (0, 0))
        self.assertEqual(_tracemalloc._get_traces(), [])
        self.assertIsNone(_tracemalloc._get_object_traceback(obj))
        self.assertEqual(_tracemalloc.get_tracemalloc_memory(), 0)

    def test_start_stop(self):
        _tracemalloc.start()
        self.assertTrue(_tracemalloc.is_tracing())
        self.assertEqual(_tracemalloc.get_traceback_limit(), 1)
        _tracemalloc.stop()
        self.assertFalse(_tracemalloc.is_tracing())
        _tracemalloc.stop()     # stopping twice is harmless
        self.assertFalse(_tracemalloc.is_tracing())

    def test_traceback_limit(self):
        for nframe in (1, 2, 25, 65535):
            _tracemalloc.start(nframe)
            self.assertEqual(_tracemalloc.get_traceback_limit(), nframe)
            _tracemalloc.stop()
            # the limit is remembered after stop(), as in CPython
            self.assertEqual(_tracemalloc.get_traceback_limit(), nframe)

    def test_start_twice_keeps_limit(self):
        _tracemalloc.start(3)
        obj = [1, 2]; line = lineno()
        _tracemalloc.start(7)
        self.assertEqual(_tracemalloc.get_traceback_limit(), 3)
        # and keeps the traces
        self.assertEqual(_tracemalloc._get_object_traceback(obj)[0],
                         (THIS_FILE, line))

    def test_invalid_nframe(self):
        message = 'the number of frames must be in range [1; 65535]'
        for nframe in (0, -1, 65536, 2 ** 40, -2 ** 70):
            with self.assertRaises(ValueError) as cm:
                _tracemalloc.start(nframe)
            self.assertEqual(str(cm.exception), message)
            self.assertFalse(_tracemalloc.is_tracing())

    def test_nframe_type(self):
        for nframe in (1.0, '1', None, [1]):
            self.assertRaises(TypeError, _tracemalloc.start, nframe)
            self.assertFalse(_tracemalloc.is_tracing())
        self.assertRaises(TypeError, _tracemalloc.start, 1, 2)

    def test_start_imports_nothing(self):
        # PYTHONTRACEMALLOC starts tracing before site is imported
        before = set(sys.modules)
        _tracemalloc.start(5)
        self.assertEqual(set(sys.modules), before)

    def test_start_without_site(self):
        status, output = run_child("""
            import sys
            assert 'site' not in sys.modules
            import _tracemalloc
            _tracemalloc.start(4)
            data = [1, 2, 3]; line = sys._getframe().f_lineno
            frames = _tracemalloc._get_object_traceback(data)
            assert frames == (('<string>', line),), frames
            print('OK')
            """, options=['-S'])
        self.assertEqual((status, output.strip()), (0, 'OK'))

    def test_stop_clears_traces(self):
        _tracemalloc.start()
        obj = [1, 2, 3]
        self.assertIsNotNone(_tracemalloc._get_object_traceback(obj))
        _tracemalloc.stop()
        self.assertIsNone(_tracemalloc._get_object_traceback(obj))
        _tracemalloc.start()
        self.assertIsNone(_tracemalloc._get_object_traceback(obj))
        self.assertEqual(traces_at(((THIS_FILE, lineno() - 6),)), [])

    def test_clear_traces(self):
        _tracemalloc.start()
        old = [1, 2, 3]; old_line = lineno()
        self.assertEqual(_tracemalloc._get_object_traceback(old),
                         ((THIS_FILE, old_line),))
        _tracemalloc.clear_traces()
        self.assertTrue(_tracemalloc.is_tracing())
        self.assertIsNone(_tracemalloc._get_object_traceback(old))
        self.assertLess(traced(), 10000)
        new = [4, 5, 6]; new_line = lineno()
        self.assertEqual(_tracemalloc._get_object_traceback(new),
                         ((THIS_FILE, new_line),))
        self.assertEqual(_tracemalloc.get_dropped_traces(), 0)


# ---------------------------------------------------------------------------
# Traces and tracebacks

def allocate_at_depth(depth, nbytes):
    """Recurse `depth` times, then allocate; return (data, the lines of
    the frames, most recent first, and the stack depth at allocation)."""
    if depth > 0:
        data, lines, total = allocate_at_depth(depth - 1, nbytes)
        return data, lines + [lineno() - 1], total
    data = b'x' * nbytes; line = lineno()
    return data, [line], stack_depth()


class TraceTests(TracerTestCase):
    def test_object_traceback(self):
        _tracemalloc.start()
        obj = [None] * 1000; line = lineno()
        self.assertEqual(_tracemalloc._get_object_traceback(obj),
                         ((THIS_FILE, line),))

    def test_untraced_object(self):
        obj = [None] * 1000
        _tracemalloc.start()
        self.assertIsNone(_tracemalloc._get_object_traceback(obj))

    def test_frames_most_recent_first(self):
        _tracemalloc.start(10)
        data, lines, total = allocate_at_depth(4, 5000)
        frames = _tracemalloc._get_object_traceback(data)
        self.assertEqual(frames[:5],
                         tuple((THIS_FILE, line) for line in lines))
        self.assertEqual(len(frames), min(10, total))

    def test_total_nframe(self):
        _tracemalloc.start(2)
        data, lines, total = allocate_at_depth(6, 7001)
        self.assertGreater(total, 2)
        expected = tuple((THIS_FILE, line) for line in lines[:2])
        matches = traces_at(expected, size=sys.getsizeof(data))
        self.assertEqual(len(matches), 1)
        self.assertEqual(matches[0][3], total)

    def test_traced_memory(self):
        size = 1000 * 1000
        _tracemalloc.start()
        before = traced()
        data = b'x' * size
        after, peak = _tracemalloc.get_traced_memory()
        self.assertGreaterEqual(after - before, size)
        self.assertLess(after - before, size + 5000)
        self.assertGreaterEqual(peak, after)
        del data
        final, peak2 = _tracemalloc.get_traced_memory()
        # on 3.x, the ints `after` and `peak` are blocks of their own,
        # allocated after the first measure (2.7 takes them from its free
        # list, in blocks allocated before tracing)
        ints = 0 if sys.version_info[0] < 3 else (sys.getsizeof(after)
                                                  + sys.getsizeof(peak))
        self.assertLessEqual(final, after - size + ints)
        self.assertGreaterEqual(peak2, after)

    def test_big_block_traced_once(self):
        # pymalloc passes requests over 512 bytes to PyMem_RawMalloc():
        # the nested RAW call must not add a second trace
        _tracemalloc.start()
        data = b'y' * 100000; line = lineno()
        matches = traces_at(((THIS_FILE, line),))
        self.assertEqual([trace[1] for trace in matches],
                         [sys.getsizeof(data)])

    def test_peak(self):
        _tracemalloc.start()
        data = b'z' * (2 * 1000 * 1000)
        del data
        current, peak = _tracemalloc.get_traced_memory()
        self.assertGreaterEqual(peak - current, 2 * 1000 * 1000)
        _tracemalloc.reset_peak()
        current, peak = _tracemalloc.get_traced_memory()
        self.assertGreaterEqual(peak, current)
        self.assertLess(peak - current, 10000)
        _tracemalloc.clear_traces()
        self.assertLess(_tracemalloc.get_traced_memory()[1], 10000)

    def test_traces_format(self):
        _tracemalloc.start(3)
        data = [b'abc' * 10, {}, [1]]
        traces = _tracemalloc._get_traces()
        self.assertIsInstance(traces, list)
        self.assertTrue(traces)
        for domain, size, frames, total_nframe in traces:
            self.assertEqual(domain, 0)
            self.assertGreaterEqual(size, 0)
            self.assertIsInstance(frames, tuple)
            self.assertTrue(1 <= len(frames) <= 3)
            self.assertGreaterEqual(total_nframe, len(frames))
            for filename, line in frames:
                self.assertIsInstance(filename, str)
                self.assertGreaterEqual(line, 0)
        del data

    def test_traces_sum_to_traced_memory(self):
        _tracemalloc.start(5)
        data = [str(i) * 50 for i in range(1000)]
        total, current = consistent_totals()
        self.assertEqual(total, current)
        del data

    def test_realloc_follows_block(self):
        _tracemalloc.start()
        before = traced()
        items = []
        for i in itertools.repeat(None, 20000):
            items.append(i)
        # the list's item array was reallocated many times: only its last
        # size counts
        grown = traced() - before
        self.assertGreaterEqual(grown, 20000 * 8 if IS_64BIT else 20000 * 4)
        self.assertLess(grown, 20000 * 40)
        del items
        self.assertLess(traced() - before, 20000)

    def test_shared_tracebacks(self):
        _tracemalloc.start()
        objs = [[i] for i in range(100)]; line = lineno()
        traces = _tracemalloc._get_traces()
        frames = [trace[2] for trace in traces
                  if trace[2] == ((THIS_FILE, line),)]
        self.assertGreaterEqual(len(frames), 100)
        # one tuple per traceback, shared by its traces; tracebacks are
        # (code, instruction) pairs, and two instructions of this line
        # allocate (the outer list and the inner ones)
        self.assertLessEqual(len(set(id(f) for f in frames)), 2)
        del objs

    def test_tracemalloc_memory_grows(self):
        _tracemalloc.start()
        before = _tracemalloc.get_tracemalloc_memory()
        self.assertGreater(before, 0)
        source = '\n'.join('x%d = [%d]' % (i, i) for i in range(3000))
        namespace = {}
        exec(compile(source, 'generated', 'exec'), namespace)
        after = _tracemalloc.get_tracemalloc_memory()
        # 3000 new tracebacks, 3000 more traces
        self.assertGreater(after - before, 3000 * 16)
        self.assertEqual(namespace['x2999'], [2999])
        _tracemalloc.stop()
        self.assertEqual(_tracemalloc.get_tracemalloc_memory(), 0)

    def test_tracemalloc_memory_is_exact(self):
        # An allocator under the tracer counts the bytes it hands out;
        # stop() frees all of the tracer's memory and nothing else.
        _tracertest.install_test_allocator()
        try:
            _tracemalloc.start(3)
            source = '\n'.join('x%d = [%d]' % (i, i) for i in range(500))
            namespace = {}
            # kept alive: stop() must not free program memory
            code = compile(source, 'generated', 'exec')
            exec(code, namespace)
            for attempt in range(10):
                live = _tracertest.test_allocator_stats()[0]
                memory = _tracemalloc.get_tracemalloc_memory()
                if _tracertest.test_allocator_stats()[0] == live:
                    break
            _tracemalloc.stop()
            freed = live - _tracertest.test_allocator_stats()[0]
        finally:
            _tracemalloc.stop()
            _tracertest.remove_test_allocator()
        self.assertGreater(memory, 500 * 16)
        self.assertEqual(freed, memory)


# ---------------------------------------------------------------------------
# Tracebacks of frames that live again at the same address
#
# The tracer caches, per frame address, the stack depth and the traceback
# of each instruction that allocates; frames are reused at the same
# addresses (zombie frames, the frame free list) with other callers and
# other depths, and generator frames move between stacks.

def helper(nbytes):
    return b'h' * nbytes


def generator_allocating(nbytes):
    while True:
        data = b'g' * nbytes; line = lineno()
        nbytes = yield data, line, stack_depth()


def resume_at_depth(generator, depth, nbytes):
    if depth:
        return resume_at_depth(generator, depth - 1, nbytes)
    return generator.send(nbytes)


def trace_of(data):
    """The trace of the block of `data` (of a size no other block has)."""
    matches = [trace for trace in _tracemalloc._get_traces()
               if trace[1] == sys.getsizeof(data)]
    assert len(matches) == 1, matches
    return matches[0]


class FrameCacheTests(TracerTestCase):
    def test_varying_depths(self):
        _tracemalloc.start(3)
        for i, depth in enumerate([3, 8, 1, 8, 0, 12, 5, 5, 2, 30, 2]):
            data, lines, total = allocate_at_depth(depth, 9000 + i)
            domain, size, frames, total_nframe = trace_of(data)
            expected = tuple((THIS_FILE, line) for line in lines[:3])
            self.assertEqual(frames[:len(expected)], expected)
            self.assertEqual(total_nframe, total)

    def test_frames_freed_and_allocated_again(self):
        # beyond the frame free list (200 frames in 2.7), frames are freed
        # and new ones allocated, at the same addresses, at other depths
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(5000)
        try:
            _tracemalloc.start(3)
            depths = [600, 3, 450, 10, 700, 250, 599, 1, 800, 300] * 2
            for i, depth in enumerate(depths):
                data, lines, total = allocate_at_depth(depth, 9000 + i)
                domain, size, frames, total_nframe = trace_of(data)
                expected = tuple((THIS_FILE, line) for line in lines[:3])
                self.assertEqual(frames[:len(expected)], expected)
                self.assertEqual(total_nframe, total)
        finally:
            sys.setrecursionlimit(limit)

    def test_generator_resumed_at_other_depths(self):
        _tracemalloc.start(1)
        generator = generator_allocating(100)
        next(generator)
        for i, depth in enumerate([1, 6, 2, 9, 2, 0]):
            data, line, total = resume_at_depth(generator, depth, 30000 + i)
            domain, size, frames, total_nframe = trace_of(data)
            self.assertEqual(frames, ((THIS_FILE, line),))
            self.assertEqual(total_nframe, total)

    def test_same_instruction_other_callers(self):
        _tracemalloc.start(2)
        inner = helper.__code__.co_firstlineno + 1
        first = helper(41000); first_line = lineno()
        second = helper(41001); second_line = lineno()
        for data, line in ((first, first_line), (second, second_line)):
            self.assertEqual(_tracemalloc._get_object_traceback(data),
                             ((THIS_FILE, inner), (THIS_FILE, line)))

    def test_same_instruction_in_a_loop(self):
        _tracemalloc.start(1)
        blocks = []
        for i in range(50):
            blocks.append(b'l' * (50000 + i)); line = lineno()
        for data in blocks:
            self.assertEqual(trace_of(data)[2:],
                             (((THIS_FILE, line),), stack_depth()))


# ---------------------------------------------------------------------------
# Code objects: the tracer must not keep them alive
#
# A traceback outlives the code objects of its frames: it keeps their
# filenames and line numbers, and a code object born later at the address
# of a dead one gets its own.

# f() allocates a string of 5000 bytes on line 3 of the source, at the same
# instruction whatever the lines that come before it.
FUNCTION_SOURCE = """\
def f():
    n = 5000
    return b'x' * n
"""


def compile_function(filename, blank_lines=0):
    """A new code object for f(), on line 3 + blank_lines of `filename`.
    Its globals are a dict of their own, so that f and its code die as
    soon as the caller drops f (no cycle for the collector to find)."""
    namespace = {}
    source = '\n' * blank_lines + FUNCTION_SOURCE
    exec(compile(source, filename, 'exec'), {}, namespace)
    return namespace.pop('f')


def first_frames(obj):
    return _tracemalloc._get_object_traceback(obj)[:2]


class CodeLifetimeTests(TracerTestCase):
    def test_code_dies_with_its_function(self):
        # CPython's test_code.CodeWeakRefTest, while tracing
        _tracemalloc.start(5)
        f = compile_function('first.py')
        data = f(); line = lineno()
        expected = (('first.py', 3), (THIS_FILE, line))
        self.assertEqual(first_frames(data), expected)
        code = weakref.ref(f.__code__)
        del f
        self.assertIsNone(code())
        # the traceback recorded while the code lived reads the same
        self.assertEqual(first_frames(data), expected)
        self.assertEqual(
            [trace[1] for trace in _tracemalloc._get_traces()
             if trace[2][:2] == expected], [sys.getsizeof(data)])
        del data
        self.assertEqual(
            [trace for trace in _tracemalloc._get_traces()
             if trace[2][:2] == expected], [])

    def test_new_code_at_the_address_of_a_dead_one(self):
        _tracemalloc.start(5)
        f = compile_function('first.py')
        old = f(); old_line = lineno()
        address = id(f.__code__)
        del f
        # The next code objects compiled are likely to get the freed
        # address; they allocate at the same instruction as f did.
        functions = []
        for i in range(10):
            g = compile_function('second%d.py' % i, blank_lines=5 + i)
            new = g(); new_line = lineno()
            self.assertEqual(first_frames(new),
                             (('second%d.py' % i, 8 + i),
                              (THIS_FILE, new_line)))
            functions.append(g)     # its address is not freed again
            if id(g.__code__) == address:
                break
        self.assertEqual(first_frames(old),
                         (('first.py', 3), (THIS_FILE, old_line)))

    def test_code_compiled_again_and_again(self):
        # exec() in a loop, as namedtuple() and template engines do: each
        # code object dies after its run, and since the new ones have the
        # same filenames and lines, the tracer does not grow (but for the
        # tracebacks of the lines that measure it)
        _tracemalloc.start(5)

        def compile_and_run(count):
            alive = 0
            for i in itertools.repeat(None, count):
                f = compile_function('again.py')
                data = f()
                code = weakref.ref(f.__code__)
                del f
                alive += code() is not None
            return alive, data

        compile_and_run(100)
        gc.collect()
        before = _tracemalloc.get_tracemalloc_memory()
        traced_before = traced()
        alive, data = compile_and_run(1000); line = lineno()
        gc.collect()
        self.assertEqual(alive, 0)
        self.assertLess(_tracemalloc.get_tracemalloc_memory() - before,
                        4096)
        self.assertLess(traced() - traced_before, 1000 * 10)
        self.assertEqual(_tracemalloc._get_object_traceback(data)[:3],
                         (('again.py', 3),
                          (THIS_FILE, compile_and_run.__code__.co_firstlineno
                           + 4),
                          (THIS_FILE, line)))


    def test_strings_of_subclasses(self):
        # The tracer compares the filenames and co_lnotab of code objects:
        # by value for str and bytes, by identity for subclasses, whose
        # __hash__ and __eq__ must not run inside the allocator.
        class Refusing(str):
            def __hash__(self):
                raise AssertionError('__hash__ called')

            def __eq__(self, other):
                raise AssertionError('__eq__ called')

        class Lnotab(type(b'')):
            pass

        code = compile_function('subclass.py', blank_lines=4).__code__
        arguments = [code.co_argcount, code.co_nlocals, code.co_stacksize,
                     code.co_flags, code.co_code, code.co_consts,
                     code.co_names, code.co_varnames,
                     Refusing('subclass.py'), 'f', code.co_firstlineno,
                     Lnotab(code.co_lnotab)]
        if sys.version_info[0] >= 3:
            arguments.insert(1, code.co_kwonlyargcount)
        f = types.FunctionType(types.CodeType(*arguments), {})
        _tracemalloc.start(5)
        for i in range(3):
            data = f(); line = lineno()
            (filename, inner), outer = first_frames(data)
            # the code's own filename (compared without its __eq__)
            self.assertIs(type(filename), Refusing)
            self.assertEqual((str.__str__(filename), inner),
                             ('subclass.py', 7))
            self.assertEqual(outer, (THIS_FILE, line))


# ---------------------------------------------------------------------------
# Objects handed out again by free lists

class Dummy(object):
    def method(self):
        pass


def make_frame():
    return sys._getframe()


class ReuseTests(TracerTestCase):
    def check_reuse(self, make):
        # objects freed before and after tracing started fill the free
        # lists: the new object's traceback is the line that got it
        junk = [make() for i in range(200)]
        del junk
        _tracemalloc.start(2)
        junk = [make() for i in range(200)]
        del junk
        obj = make(); line = lineno()
        if hasattr(make, '__code__'):
            # made in a lambda, called from here
            expected = ((THIS_FILE, make.__code__.co_firstlineno),
                        (THIS_FILE, line))
        else:
            expected = ((THIS_FILE, line),)
        frames = _tracemalloc._get_object_traceback(obj)
        self.assertEqual(frames[:len(expected)], expected)

    def test_int(self):
        self.check_reuse(lambda: int('1234567'))

    def test_float(self):
        self.check_reuse(lambda: float('1.25'))

    def test_tuple(self):
        items = [1, 2, 3]
        self.check_reuse(lambda: tuple(items))

    def test_list(self):
        self.check_reuse(list)

    def test_dict(self):
        self.check_reuse(dict)

    def test_set(self):
        self.check_reuse(set)

    def test_bound_method(self):
        obj = Dummy()
        self.check_reuse(lambda: obj.method)

    def test_builtin_method(self):
        items = []
        self.check_reuse(lambda: items.append)

    def test_unicode(self):
        self.check_reuse(lambda: u'ab'.upper())

    def test_frame(self):
        make_frame()
        _tracemalloc.start()
        make_frame()            # its frame is kept for the next call
        frame = make_frame(); line = lineno()
        self.assertEqual(_tracemalloc._get_object_traceback(frame),
                         ((THIS_FILE, line),))

    def test_reused_block_keeps_one_trace(self):
        # a list freed while tracing keeps its block (and the block's
        # trace): reusing it moves the trace to the new line
        _tracemalloc.start()
        junk = [list() for i in range(100)]
        del junk
        obj = list(); line = lineno()
        matches = traces_at(((THIS_FILE, line),))
        self.assertEqual([trace[1] for trace in matches],
                         [sys.getsizeof(obj)])


# ---------------------------------------------------------------------------
# Memory the tracer does not see being freed

class StaleTraceTests(TracerTestCase):
    @unittest.skipIf(hasattr(sys, 'gettotalrefcount'),
                     'free() of a --with-pydebug build\'s block crashes')
    def test_free_behind_the_tracers_back(self):
        size = 4321
        _tracemalloc.start()
        first = _tracertest.mem_malloc(size); first_line = lineno()
        self.assertEqual(len(traces_at(((THIS_FILE, first_line),), size)),
                         1)
        before = traced()
        _tracertest.libc_free(first)   # what PyMem_FREE() did in 2.7
        second = _tracertest.mem_malloc(size); second_line = lineno()
        if second != first:
            _tracertest.mem_free(second)
            self.skipTest('malloc() did not reuse the address')
        # one trace for the address, the new one: not two
        self.assertEqual(traces_at(((THIS_FILE, first_line),), size), [])
        self.assertEqual(len(traces_at(((THIS_FILE, second_line),), size)),
                         1)
        self.assertLess(abs(traced() - before), 1000)
        _tracertest.mem_free(second)
        self.assertEqual(traces_at(((THIS_FILE, second_line),), size), [])
        self.assertLess(traced(), before - size + 1000)


# ---------------------------------------------------------------------------
# RAW allocations without the GIL

class NativeThreadTests(TracerTestCase):
    def check_native(self, op, count, size, final_size):
        _tracemalloc.start(5)
        before = traced()
        done = _tracertest.alloc_in_native_thread(op, count, size)
        self.assertEqual(done, count)
        matches = traces_at(UNKNOWN_FRAMES, final_size)
        self.assertEqual(len(matches), count)
        self.assertEqual(set(trace[3] for trace in matches), set([1]))
        del matches
        self.assertGreaterEqual(traced() - before, count * final_size)
        self.assertEqual(_tracertest.free_in_native_thread(), count)
        self.assertEqual(traces_at(UNKNOWN_FRAMES, final_size), [])
        # (the snapshots above left tuples in the tuple free list)
        self.assertLess(traced() - before, count * final_size // 4)

    def test_malloc(self):
        self.check_native('malloc', 500, 1237, 1237)

    def test_calloc(self):
        self.check_native('calloc', 500, 1239, 1239)

    def test_realloc(self):
        self.check_native('realloc', 500, 2470, 2470)
        self.assertEqual(traces_at(UNKNOWN_FRAMES, 1235), [])

    def test_raw_malloc_with_gil(self):
        # with the GIL, a RAW allocation gets the Python traceback
        _tracemalloc.start()
        address = _tracertest.raw_malloc(3331); line = lineno()
        try:
            self.assertEqual(
                len(traces_at(((THIS_FILE, line),), 3331)), 1)
        finally:
            _tracertest.raw_free(address)
        self.assertEqual(traces_at(((THIS_FILE, line),), 3331), [])

    def test_python_threads(self):
        _tracemalloc.start()
        results = {}

        def worker(n):
            results[n] = [b'w' * (3000 + n)]; results[-1] = lineno()

        threads = [threading.Thread(target=worker, args=(n,))
                   for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for n in range(4):
            self.assertEqual(
                _tracemalloc._get_object_traceback(results[n][0]),
                ((THIS_FILE, results[-1]),))


# ---------------------------------------------------------------------------
# PyTraceMalloc_Track() and PyTraceMalloc_Untrack()

class TrackTests(TracerTestCase):
    ADDRESS = 0x7f0000001000

    def setUp(self):
        TracerTestCase.setUp(self)
        _tracertest.import_capi()
        # test_track_untrack measures the traced memory: the helper's
        # frame and the tuple free lists are made before tracing
        domain_traces(5)
        fill_tuple_free_lists()

    def test_not_tracing(self):
        self.assertEqual(_tracertest.track(5, self.ADDRESS, 10), -2)
        self.assertEqual(_tracertest.untrack(5, self.ADDRESS), -2)

    def test_track_untrack(self):
        _tracemalloc.start(3)
        before = traced()
        result = _tracertest.track(5, self.ADDRESS, 1000); line = lineno()
        self.assertEqual(result, 0)
        self.assertGreaterEqual(traced() - before, 1000)
        matches = domain_traces(5)
        self.assertEqual(len(matches), 1)
        domain, size, frames, total_nframe = matches[0]
        self.assertEqual(size, 1000)
        self.assertEqual(frames[0], (THIS_FILE, line))
        self.assertEqual(total_nframe, stack_depth())

        # a second Track() of the address replaces the trace
        self.assertEqual(_tracertest.track(5, self.ADDRESS, 3000), 0)
        self.assertEqual(len(domain_traces(5)), 1)
        self.assertEqual(domain_traces(5)[0][1], 3000)

        # the same address in another domain is another block
        self.assertEqual(_tracertest.track(6, self.ADDRESS, 7), 0)
        self.assertEqual(len(domain_traces(5, 6)), 2)

        self.assertEqual(_tracertest.untrack(5, self.ADDRESS), 0)
        self.assertEqual(_tracertest.untrack(5, self.ADDRESS), 0)
        self.assertEqual(_tracertest.untrack(6, self.ADDRESS), 0)
        self.assertEqual(domain_traces(5, 6), [])
        self.assertLess(traced() - before, 1000)

    def test_null_address(self):
        _tracemalloc.start()
        self.assertEqual(_tracertest.track(5, 0, 10), -1)

    def test_track_without_gil(self):
        _tracemalloc.start()
        self.assertEqual(
            _tracertest.track_in_native_thread(9, self.ADDRESS, 123), 0)
        matches = [trace for trace in _tracemalloc._get_traces()
                   if trace[0] == 9]
        self.assertEqual(matches, [(9, 123, UNKNOWN_FRAMES, 1)])
        self.assertEqual(_tracertest.untrack(9, self.ADDRESS), 0)

    @unittest.skipUnless(IS_64BIT, 'needs 64-bit sizes')
    def test_huge_sizes(self):
        # sizes of 4 GiB and more do not fit in a trace table slot
        huge = 5 * 2 ** 30
        _tracemalloc.start()
        before = traced()
        for size in (huge, 2 ** 32 - 1, 10, huge + 1, 2 ** 32 - 2):
            self.assertEqual(_tracertest.track(7, self.ADDRESS, size), 0)
            self.assertEqual([trace[1] for trace in _tracemalloc._get_traces()
                              if trace[0] == 7], [size])
            self.assertGreaterEqual(traced() - before, size)
            self.assertLess(traced() - before, size + 10000)
        self.assertGreaterEqual(_tracemalloc.get_traced_memory()[1],
                                before + huge + 1)
        self.assertEqual(_tracertest.track(7, self.ADDRESS + 64, huge), 0)
        self.assertEqual(_tracertest.untrack(7, self.ADDRESS), 0)
        self.assertEqual([trace[1] for trace in _tracemalloc._get_traces()
                          if trace[0] == 7], [huge])
        self.assertEqual(_tracertest.untrack(7, self.ADDRESS + 64), 0)
        self.assertLess(traced() - before, 10000)


# ---------------------------------------------------------------------------
# Threads, fork() and memory exhaustion, in child interpreters

@unittest.skipUnless(hasattr(os, 'fork'), 'needs fork()')
class ChildProcessTests(unittest.TestCase):
    def test_fork_while_threads_allocate(self):
        status, output = run_child("""
            import os, threading, time
            import _tracemalloc, _tracertest

            _tracemalloc.start(3)
            _tracertest.start_raw_loop(2)
            while _tracertest.raw_loop_iterations() < 1000:
                time.sleep(0.001)
            stop = []

            def allocate():
                while not stop:
                    junk = [object() for i in range(200)]

            def wait(pid, timeout=30):
                deadline = time.time() + timeout
                while time.time() < deadline:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        return status
                    time.sleep(0.01)
                os.kill(pid, 9)
                return os.waitpid(pid, 0)[1]

            statuses = []

            def fork_many():
                for i in range(40):
                    pid = os.fork()
                    if pid == 0:
                        ok = 1
                        try:
                            obj = [1, 2, 3]
                            ok = (_tracemalloc.is_tracing()
                                  and _tracemalloc._get_object_traceback(obj)
                                  and len(_tracemalloc._get_traces()) > 10)
                        finally:
                            os._exit(0 if ok else 1)
                    statuses.append(wait(pid))

            allocator = threading.Thread(target=allocate)
            allocator.start()
            forker = threading.Thread(target=fork_many)
            forker.start()
            forker.join()
            stop.append(True)
            allocator.join()
            loops = _tracertest.stop_raw_loop()
            assert loops > 0
            print(statuses)
            """)
        self.assertEqual(status, 0, output)
        self.assertEqual(output.strip(), str([0] * 40))

    def test_stop_while_threads_allocate(self):
        status, output = run_child("""
            import threading
            import _tracemalloc, _tracertest

            import time
            _tracertest.import_capi()
            _tracertest.start_raw_loop(2)
            while _tracertest.raw_loop_iterations() < 1000:
                time.sleep(0.001)
            stop = []

            def allocate():
                while not stop:
                    junk = [(i, str(i)) for i in range(100)]
                    _tracertest.track_in_native_thread(3, 4096, 10)

            threads = [threading.Thread(target=allocate) for i in range(2)]
            for thread in threads:
                thread.start()
            for i in range(300):
                _tracemalloc.start(1 + i % 4)
                junk = [object() for j in range(50)]
                if i % 3 == 0:
                    _tracemalloc.clear_traces()
                if i % 7 == 0:
                    _tracemalloc._get_traces()
                _tracemalloc.stop()
            stop.append(True)
            for thread in threads:
                thread.join()
            assert _tracertest.stop_raw_loop() > 0
            print('OK')
            """)
        self.assertEqual((status, output.strip()), (0, 'OK'))

    def test_tracer_out_of_memory(self):
        status, output = run_child("""
            import sys
            import _tracemalloc, _tracertest

            def get_traces():
                # the tracer's copy of its tables may fail too: cleanly
                for attempt in range(50):
                    try:
                        return _tracemalloc._get_traces()
                    except MemoryError:
                        pass
                raise AssertionError('_get_traces() keeps failing')

            def totals():
                for attempt in range(50):
                    try:
                        before = _tracemalloc.get_traced_memory()[0]
                        traces = _tracemalloc._get_traces()
                    except MemoryError:
                        continue
                    total = sum(t[1] for t in traces)
                    if total == before:
                        break
                return total, before

            # Every request of 4 KiB or more fails, those of the program
            # and those of the tracer: the tables cannot grow past 4 KiB
            # and no traceback chunk can be had.
            _tracertest.install_test_allocator(1, 4096)
            _tracemalloc.start(1)
            objs = [object() for i in range(20000)]
            dropped = _tracemalloc.get_dropped_traces()
            assert dropped >= 19000, dropped
            try:
                big = b'x' * 1000000
            except MemoryError:
                pass
            else:
                raise AssertionError('the allocation should have failed')
            total, current = totals()
            assert total == current, (total, current)

            # One request of 1 KiB or more in 3 fails: some traces and
            # some tracebacks are recorded, some dropped.
            _tracertest.set_test_allocator_failures(0, 0)
            source = '\\n'.join('x%d = [object() for i in range(20)]' % i
                               for i in range(2000))
            code = compile(source, 'generated', 'exec')
            _tracemalloc.clear_traces()
            assert _tracemalloc.get_dropped_traces() == 0
            _tracertest.set_test_allocator_failures(3, 1024)
            namespace = {}
            exec(code, namespace)
            blocks = []
            for i in range(300):
                try:
                    blocks.append(b'y' * (2000 + i))
                except MemoryError:
                    pass
            for i in range(0, len(blocks), 2):
                try:
                    blocks[i] = b'z' * (3000 + i)
                except MemoryError:
                    pass
            assert _tracemalloc.get_dropped_traces() > 0
            traced_lines = set(t[2][0][1] for t in get_traces()
                               if t[2][0][0] == 'generated')
            assert len(traced_lines) > 100, len(traced_lines)
            total, current = totals()
            assert total == current, (total, current)
            assert _tracertest.test_allocator_stats()[2] > 0

            _tracertest.set_test_allocator_failures(0, 0)
            _tracemalloc.stop()
            _tracertest.remove_test_allocator()
            print('OK')
            """)
        self.assertEqual((status, output.strip()), (0, 'OK'))


def main(names):
    """Run the tests (those named, if any); print a summary line."""
    module = sys.modules[__name__]
    if names:
        suite = unittest.defaultTestLoader.loadTestsFromNames(names, module)
    else:
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


def setUpModule():
    fill_free_lists()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
