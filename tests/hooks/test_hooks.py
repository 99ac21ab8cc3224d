"""Tests of the PEP 445 allocator hooks of the patched 2.7 or 3.3
interpreter, with the C extension _testpep445 (built by tests/hooks/run.sh).

Each C helper installs its hooks, makes exactly the calls under test and
uninstalls them before it creates any Python object, so the logs hold only
those calls and can be compared exactly.
"""
import ast
import gc
import os
import re
import signal
import subprocess
import sys
import types
import unittest

import _testpep445 as t

RAW, MEM, OBJ = t.PYMEM_DOMAIN_RAW, t.PYMEM_DOMAIN_MEM, t.PYMEM_DOMAIN_OBJ
PY_SSIZE_T_MAX = t.PY_SSIZE_T_MAX
SIZE_MAX = t.SIZE_MAX
ARENA_SIZE = 256 * 1024
HERE = os.path.dirname(os.path.abspath(__file__))
EXT_DIR = os.path.dirname(os.path.abspath(t.__file__))

# the hook of each API's domain
APIS = {'raw': 'raw', 'mem': 'mem', 'mem_macro': 'mem',
        'obj': 'obj', 'obj_macro': 'obj'}

PYDEBUG = hasattr(sys, 'gettotalrefcount')
PY3 = sys.version_info[0] >= 3
ENV_PYTHONMALLOC = os.environ.get('PYTHONMALLOC') or None
DEBUG_HOOKS = PYDEBUG or 'debug' in (ENV_PYTHONMALLOC or '')


def counts(malloc=0, calloc=0, realloc=0, free=0, malloc_bytes=0,
           calloc_bytes=0, realloc_bytes=0):
    return {'malloc': malloc, 'calloc': calloc, 'realloc': realloc,
            'free': free, 'malloc_bytes': malloc_bytes,
            'calloc_bytes': calloc_bytes, 'realloc_bytes': realloc_bytes}


class BuildTests(unittest.TestCase):

    def test_built_without_warnings(self):
        log = os.environ.get('HOOKS_BUILD_LOG')
        if not log:
            self.skipTest('not built by run.sh (HOOKS_BUILD_LOG unset)')
        with open(log) as f:
            self.assertEqual(f.read(), '')

    def test_no_cxx_comments(self):
        with open(os.path.join(HERE, '_testpep445.c')) as f:
            source = f.read()
        # drop the comments and the strings, then look for //
        source = re.sub(r'/\*.*?\*/', '', source, flags=re.S)
        source = re.sub(r'"(\\.|[^"\\])*"', '""', source)
        self.assertNotIn('//', source)

    def test_only_init_function_exported(self):
        try:
            proc = subprocess.Popen(['nm', '-D', '--defined-only', t.__file__],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError:
            self.skipTest('no nm')
        out, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        names = set(line.split()[-1] for line in out.decode().splitlines()
                    if line.split()[-2:-1] != ['A'])
        names -= set(['_init', '_fini'])
        init = 'PyInit__testpep445' if PY3 else 'init_testpep445'
        self.assertEqual(names, set([init]))


class GetSetAllocatorTests(unittest.TestCase):

    def test_roundtrip_each_domain(self):
        # PyMem_GetAllocator() gives back, field by field, what
        # PyMem_SetAllocator() installed, then what was there before
        for domain in (RAW, MEM, OBJ):
            self.assertIs(t.hook_roundtrip(domain), True)

    def test_unknown_domain_get(self):
        self.assertEqual(t.get_allocator(42), (None,) * 5)
        self.assertEqual(t.get_allocator(-1), (None,) * 5)

    def test_unknown_domain_set_is_ignored(self):
        before = [t.get_allocator(d) for d in (RAW, MEM, OBJ)]
        self.assertIsNone(t.set_allocator_unknown(42))
        self.assertEqual([t.get_allocator(d) for d in (RAW, MEM, OBJ)],
                         before)
        self.assertEqual(t.get_allocator(42), (None,) * 5)

    @unittest.skipIf(PYDEBUG or ENV_PYTHONMALLOC,
                     'the allocators are not the release defaults')
    def test_release_defaults(self):
        raw, mem, obj = [t.get_allocator(d) for d in (RAW, MEM, OBJ)]
        # MEM keeps libc's allocator, the same as RAW; OBJ is pymalloc
        self.assertEqual(raw, mem)
        self.assertIsNone(raw[0])
        self.assertIsNone(obj[0])
        for a, b in zip(raw[1:], obj[1:]):
            self.assertNotEqual(a, b)
        self.assertNotIn(None, raw[1:])
        self.assertNotIn(None, obj[1:])


class DomainCallTests(unittest.TestCase):
    """Every public function and macro reaches its own domain's hook."""

    OPS = [('malloc', 100), ('calloc', 4, 25), ('realloc', 0, 200),
           ('free', 2), ('free', 1)]

    def check_api(self, api):
        hook = APIS[api]
        r = t.run_ops(api, self.OPS)
        p = r['results']
        self.assertEqual(r['problems'], [])
        self.assertNotIn(None, p[:3])
        self.assertEqual(r['events'], [
            (hook, 'malloc', 100, p[0]),
            (hook, 'calloc', 4, 25, p[1]),
            (hook, 'realloc', p[0], 200, p[2]),
            (hook, 'free', p[2]),
            (hook, 'free', p[1]),
        ])
        self.assertEqual(r['counts'], {hook: counts(
            malloc=1, calloc=1, realloc=1, free=2, malloc_bytes=100,
            calloc_bytes=100, realloc_bytes=200)})

    def test_raw_functions(self):
        self.check_api('raw')

    def test_mem_functions(self):
        self.check_api('mem')

    def test_mem_macros(self):
        self.check_api('mem_macro')

    def test_obj_functions(self):
        self.check_api('obj')

    def test_obj_macros(self):
        self.check_api('obj_macro')

    def test_domains_are_separate(self):
        ops = [('malloc', 16), ('calloc', 2, 8), ('realloc', 0, 32),
               ('free', 2), ('free', 1)]
        r = t.run_ops('raw', ops, ['mem', 'obj'])
        self.assertEqual(r['events'], [])
        # MEM does not go through the RAW domain (nor OBJ)
        r = t.run_ops('mem', ops, ['raw', 'obj'])
        self.assertEqual(r['events'], [])
        r = t.run_ops('mem_macro', ops, ['raw', 'obj'])
        self.assertEqual(r['events'], [])
        r = t.run_ops('obj', ops, ['mem'])
        self.assertEqual(r['events'], [])

    @unittest.skipIf(ENV_PYTHONMALLOC in ('malloc', 'malloc_debug'),
                     'no pymalloc')
    @unittest.skipIf(DEBUG_HOOKS, 'the debug hooks change the sizes')
    def test_pymalloc_big_requests_go_to_raw(self):
        # above 512 bytes pymalloc calls PyMem_RawMalloc() & co
        ops = [('malloc', 1000), ('realloc', 0, 2000), ('calloc', 100, 10),
               ('free', 1), ('free', 2)]
        r = t.run_ops('obj', ops, ['obj', 'raw'])
        p = r['results']
        self.assertEqual(r['problems'], [])
        self.assertEqual(r['events'], [
            ('obj', 'malloc', 1000, p[0]),
            ('raw', 'malloc', 1000, p[0]),
            ('obj', 'realloc', p[0], 2000, p[1]),
            ('raw', 'realloc', p[0], 2000, p[1]),
            ('obj', 'calloc', 100, 10, p[2]),
            ('raw', 'calloc', 100, 10, p[2]),
            ('obj', 'free', p[1]),
            ('raw', 'free', p[1]),
            ('obj', 'free', p[2]),
            ('raw', 'free', p[2]),
        ])

    def test_stacked_hooks(self):
        # a second hook wrapping the first: the last installed runs first
        for api, hook in (('raw', 'raw'), ('mem', 'mem'), ('obj', 'obj')):
            ops = [('malloc', 10), ('calloc', 3, 3), ('realloc', 0, 20),
                   ('free', 2), ('free', 1)]
            r = t.run_ops(api, ops, [hook, hook + '2'])
            p = r['results']
            top, below = hook + '2', hook
            self.assertEqual(r['events'], [
                (top, 'malloc', 10, p[0]), (below, 'malloc', 10, p[0]),
                (top, 'calloc', 3, 3, p[1]), (below, 'calloc', 3, 3, p[1]),
                (top, 'realloc', p[0], 20, p[2]),
                (below, 'realloc', p[0], 20, p[2]),
                (top, 'free', p[2]), (below, 'free', p[2]),
                (top, 'free', p[1]), (below, 'free', p[1]),
            ])
            self.assertEqual(r['counts'][top], r['counts'][below])

    def test_realloc_null_and_free_null(self):
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, [('realloc', None, 50), ('free', None),
                                ('free', 0)])
            p = r['results']
            self.assertIsNotNone(p[0])
            self.assertEqual(r['events'], [
                (hook, 'realloc', None, 50, p[0]),
                (hook, 'free', None),
                (hook, 'free', p[0]),
            ], api)

    def test_realloc_keeps_contents(self):
        for api in sorted(APIS):
            ops = [('malloc', 10), ('realloc', 0, 3000), ('realloc', 1, 5),
                   ('realloc', 2, 100), ('free', 3)]
            r = t.run_ops(api, ops)
            self.assertEqual(r['problems'], [], api)
            self.assertNotIn(None, r['results'][:4])


class SizeRuleTests(unittest.TestCase):
    """Above PY_SSIZE_T_MAX bytes: NULL, and the hook is never called."""

    def test_malloc_too_big(self):
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, [('malloc', PY_SSIZE_T_MAX + 1),
                                ('malloc', SIZE_MAX)])
            self.assertEqual(r['results'], [None, None], api)
            self.assertEqual(r['events'], [], api)
            self.assertEqual(r['counts'], {hook: counts()}, api)

    def test_malloc_limit_reaches_hook(self):
        # PY_SSIZE_T_MAX itself is allowed: the hook sees it, the C library
        # refuses it
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, [('malloc', PY_SSIZE_T_MAX)])
            self.assertEqual(r['results'], [None], api)
            self.assertEqual(r['events'],
                             [(hook, 'malloc', PY_SSIZE_T_MAX, None)], api)

    def test_realloc_too_big(self):
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, [('malloc', 8),
                                ('realloc', 0, PY_SSIZE_T_MAX + 1),
                                ('realloc', 0, SIZE_MAX),
                                ('free', 0)])
            p = r['results']
            self.assertEqual(p[1:3], [None, None], api)
            # the block is still there, released by the last op
            self.assertEqual(r['events'], [(hook, 'malloc', 8, p[0]),
                                           (hook, 'free', p[0])], api)
            self.assertEqual(r['problems'], [], api)

    def test_calloc_overflow(self):
        half = PY_SSIZE_T_MAX // 2 + 1
        ops = [('calloc', 2, half),             # product = PY_SSIZE_T_MAX + 1
               ('calloc', half, 2),
               ('calloc', SIZE_MAX, 2),         # wraps around in size_t
               ('calloc', 2 ** 32, 2 ** 32),    # wraps around to 0
               ('calloc', 2 ** 33, 2 ** 31)]    # likewise
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, ops)
            self.assertEqual(r['results'], [None] * 5, api)
            self.assertEqual(r['events'], [], api)
            self.assertEqual(r['counts'], {hook: counts()}, api)

    def test_calloc_limit_reaches_hook(self):
        for api, hook in sorted(APIS.items()):
            r = t.run_ops(api, [('calloc', PY_SSIZE_T_MAX, 1),
                                ('calloc', 1, PY_SSIZE_T_MAX)])
            self.assertEqual(r['results'], [None, None], api)
            self.assertEqual(r['events'], [
                (hook, 'calloc', PY_SSIZE_T_MAX, 1, None),
                (hook, 'calloc', 1, PY_SSIZE_T_MAX, None)], api)


class ZeroSizeTests(unittest.TestCase):

    OPS = [('malloc', 0), ('malloc', 0), ('calloc', 0, 0), ('calloc', 0, 8),
           ('calloc', 8, 0), ('realloc', None, 0), ('malloc', 10),
           ('realloc', 6, 0)]

    def check_api(self, api):
        hook = APIS[api]
        r = t.run_ops(api, self.OPS)
        p = r['results']
        self.assertEqual(r['problems'], [])
        live = [p[i] for i in (0, 1, 2, 3, 4, 5, 7)]
        self.assertNotIn(None, live)
        self.assertEqual(len(set(live)), len(live), 'not distinct')
        self.assertEqual(r['events'], [
            (hook, 'malloc', 0, p[0]),
            (hook, 'malloc', 0, p[1]),
            (hook, 'calloc', 0, 0, p[2]),
            (hook, 'calloc', 0, 8, p[3]),
            (hook, 'calloc', 8, 0, p[4]),
            (hook, 'realloc', None, 0, p[5]),
            (hook, 'malloc', 10, p[6]),
            (hook, 'realloc', p[6], 0, p[7]),
        ])

    def test_raw(self):
        self.check_api('raw')

    def test_mem(self):
        self.check_api('mem')

    def test_mem_macros(self):
        self.check_api('mem_macro')

    def test_obj(self):
        self.check_api('obj')

    def test_obj_macros(self):
        self.check_api('obj_macro')


class CallocTests(unittest.TestCase):

    def test_zeroed(self):
        # blocks filled with a pattern are released first, so that calloc
        # is likely to get them back
        ops = [('malloc', 64), ('malloc', 5000), ('free', 0), ('free', 1),
               ('calloc', 4, 16), ('calloc', 1000, 5), ('calloc', 1, 1),
               ('calloc', 3, 333)]
        for api in sorted(APIS):
            r = t.run_ops(api, ops)
            self.assertEqual(r['problems'], [], api)
            self.assertNotIn(None, r['results'][4:])


class InterpreterAllocationTests(unittest.TestCase):
    """The interpreter's own PyObject_MALLOC and PyMem_MALLOC calls."""

    def setUp(self):
        gc.disable()
        self.addCleanup(gc.enable)

    @unittest.skipIf(DEBUG_HOOKS, 'the debug hooks change the sizes')
    def test_string_object(self):
        r = t.interp_op('string', ['obj'])
        size = r['size']
        p = r['events'][0][-1]
        self.assertIsNotNone(p)
        self.assertEqual(r['events'], [('obj', 'malloc', size, p),
                                       ('obj', 'free', p)])
        # PyStringObject_SIZE (the header and the final NUL) + 100 chars;
        # 3.3's bytes: PyBytesObject_SIZE
        if PY3:
            header = 33 if t.SIZEOF_VOID_P == 8 else 17
        else:
            header = 37 if t.SIZEOF_VOID_P == 8 else 25
        self.assertEqual(size, header + 100)

    def test_list_items(self):
        r = t.interp_op('list', ['mem'])
        p = r['events'][0][-1]
        self.assertIsNotNone(p)
        self.assertEqual(r['events'], [('mem', 'malloc', 10 * t.SIZEOF_VOID_P,
                                        p), ('mem', 'free', p)])
        self.assertEqual(r['size'], 10 * t.SIZEOF_VOID_P)


class ArenaAllocatorTests(unittest.TestCase):

    @unittest.skipIf(ENV_PYTHONMALLOC in ('malloc', 'malloc_debug'),
                     'no pymalloc')
    def test_pymalloc_uses_arena_allocator(self):
        before = t.get_arena_allocator()
        self.assertIsNone(before[0])
        self.assertNotIn(None, before[1:])
        # 6 MiB of 16-byte blocks: 24 arenas' worth, of which the free
        # pools of the arenas already there may hold a few; 16 new at least
        r = t.arena_test(6 * 1024 * 1024 // 16, 16)
        self.assertGreaterEqual(r['alloc'], 16)
        self.assertEqual(r['free_while_allocating'], 0)
        # every arena filled by the test is released when it gets empty
        self.assertEqual(r['free'], r['alloc'])
        self.assertEqual(r['foreign_free'], 0)
        self.assertEqual((r['min_size'], r['max_size']),
                         (ARENA_SIZE, ARENA_SIZE))
        self.assertEqual(t.get_arena_allocator(), before)


class FailingAllocatorTests(unittest.TestCase):
    """MEM and OBJ return NULL: MemoryError, not a crash."""

    def check(self, kind):
        with self.assertRaises(MemoryError):
            t.fail_during(kind, 1000)
        self.assertEqual(t.failed_calls(), 1)
        # all is well afterwards
        self.assertEqual(len([0] * 1000 + ['x' * 1000]), 1001)

    def test_list(self):
        self.check('list')

    def test_string(self):
        self.check('string')

    def test_unicode(self):
        self.check('unicode')

    def test_tuple(self):
        self.check('tuple')

    def test_bytearray(self):
        self.check('bytearray')

    def test_python_function(self):
        def func():
            return 'x' * 100000
        func()
        with self.assertRaises(MemoryError):
            t.fail_call(func)
        self.assertGreaterEqual(t.failed_calls(), 1)
        self.assertEqual(len(func()), 100000)


class RawThreadTests(unittest.TestCase):

    def test_raw_from_thread_without_gil(self):
        r = t.raw_from_thread()
        p, q, z, p2 = r['ptrs']
        self.assertIs(r['no_tstate'], True)
        self.assertIs(r['zeroed'], True)
        self.assertNotIn(None, (p, q, z, p2))
        self.assertEqual(r['events'], [
            ('raw', 'malloc', 100, p),
            ('raw', 'calloc', 3, 7, q),
            ('raw', 'malloc', 0, z),
            ('raw', 'realloc', p, 300, p2),
            ('raw', 'free', p2),
            ('raw', 'free', q),
            ('raw', 'free', z),
        ])
        self.assertEqual(r['in_thread'], [True] * 7)


def fresh_function():
    """A function whose code object has never run: no zombie frame."""
    ns = {}
    exec("import sys\ndef g():\n    return sys._getframe()\n", ns)
    return ns['g']


def recurse(n):
    if n:
        return recurse(n - 1)
    return None


class C(object):
    def method(self):
        pass


class ReuseHookTests(unittest.TestCase):

    def setUp(self):
        self.assertIs(t.reuse_hook_is_null(), True)

    def tearDown(self):
        if not t.reuse_hook_is_null():
            t.reuse_hook_uninstall()
            self.fail('the hook was left installed')

    def check(self, make, tp, n=3):
        olds = [make() for i in range(n)]
        for obj in olds:
            self.assertIs(type(obj), tp)
        del olds, obj       # on the free list now
        t.reuse_hook_install()
        try:
            news = [make() for i in range(n)]
        finally:
            records = t.reuse_hook_uninstall()
        self.assertIs(t.reuse_hook_is_null(), True)
        for obj in news:
            # seen with its type and a reference count of 1
            self.assertIn((tp, id(obj), 1), records)
        for tp_, addr, refcnt in records:
            self.assertEqual(refcnt, 1)
        # uninstalled: nothing recorded any more
        count = t.reuse_count()
        more = [make() for i in range(n)]
        self.assertEqual(t.reuse_count(), count)
        del more

    @unittest.skipIf(PY3, "3.x's int (the long type) has no free list")
    def test_int(self):
        self.check(lambda: int('1000001'), int)

    def test_float(self):
        self.check(lambda: float('2.5'), float)

    def test_tuple(self):
        items = [1, 2, 3]
        self.check(lambda: tuple(items), tuple)

    def test_list(self):
        self.check(lambda: [1, 2], list)

    def test_dict(self):
        self.check(lambda: {}, dict)

    def test_set(self):
        self.check(lambda: set(), set)

    def test_frame_zombie(self):
        def f():
            return sys._getframe()
        self.check(f, types.FrameType)

    def test_frame_free_list(self):
        recurse(50)         # frames on the free list
        g = fresh_function()
        t.reuse_hook_install()
        try:
            frame = g()
        finally:
            records = t.reuse_hook_uninstall()
        self.assertIn((types.FrameType, id(frame), 1), records)

    def test_bound_method(self):
        c = C()
        self.check(lambda: c.method, types.MethodType)

    def test_builtin_method(self):
        lst = []
        self.check(lambda: lst.append, types.BuiltinMethodType)

    @unittest.skipIf(PY3, '3.3\'s str has no free list (PEP 393)')
    def test_unicode(self):
        a = u'abc'
        self.check(lambda: a + a, type(a))


def no_core_dump():
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def run_python(code, pythonmalloc=None, args=()):
    env = dict(os.environ)
    env.pop('PYTHONMALLOC', None)
    if pythonmalloc is not None:
        env['PYTHONMALLOC'] = pythonmalloc
    path = env.get('PYTHONPATH')
    env['PYTHONPATH'] = EXT_DIR + (os.pathsep + path if path else '')
    proc = subprocess.Popen([sys.executable] + list(args) + ['-c', code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, preexec_fn=no_core_dump)
    out, err = proc.communicate()
    if PY3:
        out, err = out.decode('utf-8', 'replace'), err.decode('utf-8',
                                                              'replace')
    if PYDEBUG:
        # what --with-pydebug builds of 2.7 and 3.3 print at exit
        err = re.sub(r'\[\d+ refs\]\n\Z', '', err)
    return proc.returncode, out, err


CORRECT = """if 1:
    import _testpep445 as t
    t.correct_usage()
    print('ok')
"""

STATE = """if 1:
    import sys
    sys.path.insert(0, %r)      # for -E, which ignores PYTHONPATH
    import _testpep445 as t
    raw, mem, obj = [t.get_allocator(d) for d in range(3)]
    arenas = t.arena_test(4 * 1024 * 1024 // 16, 16)['alloc']
    print(repr({'raw': raw, 'mem': mem, 'obj': obj, 'arenas': arenas,
                'fresh': t.fresh_bytes('obj', 8) + t.fresh_bytes('mem', 8)
                         + t.fresh_bytes('raw', 8)}))
""" % EXT_DIR


class PythonMallocTests(unittest.TestCase):
    """PYTHONMALLOC, in a subprocess of the same interpreter."""

    def state(self, pythonmalloc, args=()):
        rc, out, err = run_python(STATE, pythonmalloc, args)
        self.assertEqual((rc, err), (0, ''))
        return ast.literal_eval(out)

    def assertDebugHooks(self, s):
        # one debug_malloc & co, a context (the domain's API id) for each
        ctxs = [s[d][0] for d in ('raw', 'mem', 'obj')]
        self.assertNotIn(None, ctxs)
        self.assertEqual(len(set(ctxs)), 3)
        self.assertEqual(s['raw'][1:], s['mem'][1:])
        self.assertEqual(s['raw'][1:], s['obj'][1:])
        self.assertEqual(s['fresh'], b'\xcb' * 24)    # CLEANBYTE

    @unittest.skipIf(PYDEBUG, 'the debug hooks are always there')
    def test_default(self):
        for pythonmalloc in (None, '', 'pymalloc'):
            s = self.state(pythonmalloc)
            self.assertEqual(s['raw'], s['mem'])
            self.assertIsNone(s['obj'][0])
            self.assertNotEqual(s['obj'][1:], s['raw'][1:])
            self.assertGreater(s['arenas'], 0)

    def test_malloc(self):
        s = self.state('malloc')
        if not PYDEBUG:
            self.assertEqual(s['raw'], s['mem'])
            self.assertEqual(s['raw'], s['obj'])
            self.assertIsNone(s['obj'][0])
        # pymalloc is not used: it asks for no arena
        self.assertEqual(s['arenas'], 0)

    def test_E_ignores_the_variable(self):
        # as in CPython 3.6: pymalloc stays, and asks for arenas
        s = self.state('malloc', ['-E'])
        self.assertGreater(s['arenas'], 0)

    def test_debug(self):
        for pythonmalloc in ('debug', 'pymalloc_debug'):
            s = self.state(pythonmalloc)
            self.assertDebugHooks(s)
            self.assertGreater(s['arenas'], 0)

    def test_malloc_debug(self):
        s = self.state('malloc_debug')
        self.assertDebugHooks(s)
        self.assertEqual(s['arenas'], 0)

    def test_unknown(self):
        rc, out, err = run_python(CORRECT, 'bogus')
        self.assertEqual((rc, out), (1, ''))
        self.assertEqual(err, 'Fatal Python error: PYTHONMALLOC: '
                              'unknown allocator "bogus"\n')

    def test_setup_debug_hooks_twice(self):
        code = """if 1:
            import _testpep445 as t
            before = [t.get_allocator(d) for d in range(3)]
            t.setup_debug_hooks()
            print(before == [t.get_allocator(d) for d in range(3)])
        """
        rc, out, err = run_python(code, 'debug')
        self.assertEqual((rc, out, err), (0, 'True\n', ''))


class DebugHooksTests(unittest.TestCase):
    """PYTHONMALLOC=debug turns misuses into fatal errors."""

    def check_fatal(self, call, message, pythonmalloc='debug'):
        code = 'import _testpep445 as t; t.%s' % call
        rc, out, err = run_python(code, pythonmalloc)
        self.assertEqual(rc, -signal.SIGABRT, err)
        self.assertEqual(out, '')
        self.assertIn('Debug memory block at address p=0x', err)
        self.assertIn('\nFatal Python error: %s\n' % message, err)

    def test_correct_program(self):
        # the same program without misuse runs to its end, with and
        # without the hooks
        for pythonmalloc in (None, 'debug', 'malloc_debug'):
            self.assertEqual(run_python(CORRECT, pythonmalloc),
                             (0, 'ok\n', ''), pythonmalloc)

    def test_pymem_overrun(self):
        self.check_fatal("overrun('mem')", 'bad trailing pad byte')

    def test_overrun_every_domain_and_mode(self):
        for api in ('raw', 'mem', 'obj'):
            for pythonmalloc in ('debug', 'malloc_debug', 'pymalloc_debug'):
                self.check_fatal("overrun(%r)" % api, 'bad trailing pad byte',
                                 pythonmalloc)

    def test_underrun(self):
        self.check_fatal("underrun('obj')", 'bad leading pad byte')

    def test_pymem_malloc_pyobject_free(self):
        self.check_fatal("mismatch('mem', 'obj')",
                         "bad ID: Allocated using API 'm', "
                         "verified using API 'o'")

    def test_other_mismatches(self):
        self.check_fatal("mismatch('obj', 'mem')",
                         "bad ID: Allocated using API 'o', "
                         "verified using API 'm'")
        self.check_fatal("mismatch('raw', 'mem')",
                         "bad ID: Allocated using API 'r', "
                         "verified using API 'm'")
        self.check_fatal("mismatch('mem_macro', 'obj_macro')",
                         "bad ID: Allocated using API 'm', "
                         "verified using API 'o'")

    @unittest.skipIf(PYDEBUG, 'the debug hooks are always there')
    def test_mismatch_unnoticed_without_debug(self):
        # pymalloc hands a block it does not own to the C library: the
        # fatal errors above come from PYTHONMALLOC=debug
        code = ("import _testpep445 as t; t.mismatch('mem', 'obj'); "
                "print('ok')")
        self.assertEqual(run_python(code), (0, 'ok\n', ''))


if __name__ == '__main__':
    unittest.main()
