"""Every call of the _stockext extension, with its expected result.

Imported by test_abi.py, and run as a script in child interpreters (the
stock one, and the patched one under -X tracemalloc or PYTHONMALLOC):

    python stockext_calls.py ITERATIONS
    python stockext_calls.py --readline CASE ITERATIONS

runs exercise() (or one PyOS_Readline() case: stdio, hook-macro or
hook-function) ITERATIONS times and prints one JSON object describing the
run (how many iterations, whether and how deep tracemalloc traced, the
traced memory before and after).  _stockext must be on sys.path.  Exit
status 3: no pseudo-terminal for the hook cases.
"""

import gc
import json
import os
import sys

import _stockext

try:
    xrange
except NameError:       # not needed by Python 2.7, but harmless
    xrange = range


def _check(condition, message):
    if not condition:
        raise AssertionError(message)


def _letters(n):
    alphabet = 'abcdefghijklmnopqrstuvwxyz'
    return (alphabet * (n // 26 + 1))[:n]


def exercise(m=_stockext, scale=1):
    """Call every function of the extension once and check its result.
    `scale` multiplies the sizes.  Return nothing; raise AssertionError."""
    n = 100 * scale

    # PyMem: macros (inline libc calls) and functions, mixed
    for size in (0, 1, 7, 64, 513, 4096, 70000):
        _check(m.macro_malloc_func_free(size) is True,
               'macro_malloc_func_free(%d)' % size)
        _check(m.func_malloc_macro_free(size) is True,
               'func_malloc_macro_free(%d)' % size)
    _check(m.zero_sizes() is True, 'zero_sizes()')
    for count in (1, 2, 33, n):
        _check(m.new_resize_del(count) == count * (count - 1) // 2,
               'new_resize_del(%d)' % count)
    for count in (0, 1, n, 10000):
        _check(m.new_del_mixed(count) is True, 'new_del_mixed(%d)' % count)
    for macro in (1, 0):
        for size in (0, 1, 16, 17, 1000, 5 * n):
            s = m.realloc_grow(size, macro)
            _check(s == _letters(size),
                   'realloc_grow(%d, %d): %r...' % (size, macro, s[:30]))
    # free() of a PyMem_Malloc() block: what release builds let extensions
    # get away with; a --with-pydebug build's blocks start inside what
    # malloc() returned, and free() crashes, stock or patched
    for size in (1, 24, 600, 100000) if not m.pydebug() else ():
        ok, _same = m.free_behind_back(size)
        _check(ok is True, 'free_behind_back(%d)' % size)

    # buffers that the interpreter allocates for the extension to free
    _check(m.encode(u'h\xe9') == (b'h\xc3\xa9', b'h\xc3\xa9'), 'encode')
    # PyMem with the GIL released (this thread only, here)
    _check(m.nogil_pymem(3, 300) == 3, 'nogil_pymem')

    # PyObject_MALLOC / PyObject_REALLOC / PyObject_FREE
    _check(m.object_malloc_free(n, 600) == n, 'object_malloc_free')
    _check(m.object_malloc_free(3, 1) == 3, 'object_malloc_free small')

    # a type of its own: PyObject_New / PyObject_NEW and PyObject_Del
    live = m.live_blobs()
    for macro in (0, 1):
        blob = m.make_blob(50, macro)
        _check(type(blob) is m.Blob, 'make_blob type')
        _check(len(blob) == 50, 'len(Blob)')
        _check(blob.checksum() == _blob_checksum(50), 'Blob.checksum()')
        _check(m.live_blobs() == live + 1, 'live_blobs after make_blob')
        del blob
        _check(m.live_blobs() == live, 'Blob not deallocated')
    _check(m.blobs(n, 10) == n, 'blobs()')
    _check(m.live_blobs() == live, 'blobs() leaked Blobs')

    # objects built in C and returned
    lst = m.build_list(n)
    _check(lst == list(range(n)), 'build_list')
    s = m.build_string(3 * n)
    _check(s == _letters(3 * n), 'build_string')
    d = m.build_dict(n)
    _check(len(d) == n, 'build_dict size')
    for i in (0, 1, n - 2, n - 1):
        expected = [i, str(i)] if i % 2 else i
        _check(d['key%d' % i] == expected, 'build_dict[key%d]' % i)
    t = m.build_tuple(n)
    _check(len(t) == n and t[-1] == ('x', u'uv', (n - 1) / 2.0),
           'build_tuple')
    _check(sys.getrefcount(lst) == 2 and sys.getrefcount(d) == 2,
           'extra references to the returned objects')


READLINE_CASES = ('stdio', 'hook-macro', 'hook-function')
HOOK_LINE = 'line from the stock hook\n'


class NoPty(Exception):
    pass


class Readline(object):
    """PyOS_Readline() called by a stock extension, which frees the line
    with PyMem_FREE: from a pipe (PyOS_StdioReadline()), or through a
    PyOS_ReadlineFunctionPointer hook of the extension that allocates the
    line with PyMem_MALLOC (hook-macro) or PyMem_Malloc() (hook-function,
    what the 2.7 documentation asks for).  The hook is only called when
    both files are ttys: a pseudo-terminal."""

    def __init__(self, m=_stockext):
        self.m = m
        self.fds = []
        try:
            master, slave = os.openpty()
        except (OSError, AttributeError) as exc:
            self.pty = None
            self.pty_error = str(exc)
        else:
            self.fds += [master, slave]
            self.pty = slave
        self.null = os.open(os.devnull, os.O_WRONLY)
        self.fds.append(self.null)

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    def __call__(self, case):
        if case == 'stdio':
            r, w = os.pipe()
            try:
                os.write(w, b'typed line\n')
                os.close(w)
                w = None
                line = self.m.readline(r, self.null)
            finally:
                os.close(r)
                if w is not None:
                    os.close(w)
            _check(line == 'typed line\n', 'readline stdio: %r' % line)
            return
        if self.pty is None:
            raise NoPty(self.pty_error)
        use_function = {'hook-macro': 0, 'hook-function': 1}[case]
        line = self.m.readline(self.pty, self.pty, 1, use_function)
        _check(line == HOOK_LINE, 'readline %s: %r' % (case, line))


def _blob_checksum(size):
    return sum((i * 31 + size) & 0xff for i in range(size))


def _traced():
    try:
        import _tracemalloc
    except ImportError:
        return None, 0, 0
    if not _tracemalloc.is_tracing():
        return False, 0, 0
    return (True, _tracemalloc.get_traceback_limit(),
            _tracemalloc.get_traced_memory()[0])


def main():
    args = sys.argv[1:]
    call = exercise
    readline = None
    if args[:1] == ['--readline']:
        readline = Readline()
        case = args[1]
        call = lambda: readline(case)
        args = args[2:]
    iterations = int(args[0]) if args else 1
    try:
        call()                          # warm up caches and free lists
    except NoPty as exc:
        sys.stderr.write('no pseudo-terminal: %s\n' % exc)
        return 3
    gc.collect()
    tracing, limit, before = _traced()
    for _ in xrange(iterations):      # no list of ints that outlives it
        call()
    gc.collect()
    after = _traced()[2]
    if readline is not None:
        readline.close()
    json.dump({'iterations': iterations, 'tracing': tracing,
               'traceback_limit': limit, 'traced_before': before,
               'traced_after': after, 'pydebug': _stockext.pydebug(),
               'gettotalrefcount': hasattr(sys, 'gettotalrefcount')},
              sys.stdout, sort_keys=True)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
