"""The packaged interpreter traces from its start (-X tracemalloc=5), and
the largest allocation since then is the list built at a known line.

Run: python2.7-pep445 -X tracemalloc=5 tests/deb/top_line.py
"""
import sys
import tracemalloc

assert tracemalloc.is_tracing(), "-X tracemalloc=5 did not start tracing"
assert tracemalloc.get_traceback_limit() == 5

data = ['x' * n for n in xrange(100, 10100)]    # 10000 strings, 49 MiB
ALLOC_LINE = sys._getframe().f_lineno - 1
expected = sys.getsizeof(data) + sum(sys.getsizeof(s) for s in data)

top = tracemalloc.take_snapshot().statistics('lineno')[0]
frame = top.traceback[0]
assert (frame.filename, frame.lineno) == (__file__, ALLOC_LINE), top
# The strings, the list and its item array, and at most a few small
# temporaries kept on free lists.
assert len(data) + 2 <= top.count <= len(data) + 4, top
assert expected <= top.size <= expected + 1024, (top.size, expected)
print("top statistic: %s" % top)
