"""Run traced, with owntracks built: the block that the extension allocates
itself is traced in its domain, at the line that asked for it, and no more
once freed.

Run: python2.7-pep445 -X tracemalloc owntracks_test.py
"""
import sys
import tracemalloc

import owntracks

SIZE = 123457


def own_traces():
    snapshot = tracemalloc.take_snapshot()
    return snapshot.filter_traces([tracemalloc.DomainFilter(True,
                                                            owntracks.DOMAIN)])


assert tracemalloc.is_tracing()
address, tracked = owntracks.alloc(SIZE)
ALLOC_LINE = sys._getframe().f_lineno - 1
assert tracked == 0, tracked

stats = own_traces().statistics('lineno')
assert len(stats) == 1, stats
frame = stats[0].traceback[0]
assert (frame.filename, frame.lineno) == (__file__, ALLOC_LINE), stats[0]
assert (stats[0].size, stats[0].count) == (SIZE, 1), stats[0]

assert owntracks.free(address) == 0
assert not own_traces().traces
print("own block traced: %s" % stats[0])
