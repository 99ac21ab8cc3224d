"""Opted in with PEP445_DIST_PACKAGES=1, the patched interpreter imports the
modules of Debian's python2.7, C extensions included, and traces them:
markupsafe's _speedups, built by Debian for its stock python2.7, escapes
strings at a known line.

Run: PEP445_DIST_PACKAGES=1 python2.7-pep445 -X tracemalloc=5 system_extension.py
"""
import sys
import tracemalloc

import markupsafe
from markupsafe import _speedups

assert _speedups.__file__.startswith(
    '/usr/lib/python2.7/dist-packages/markupsafe/_speedups.'), _speedups
assert markupsafe.escape is _speedups.escape, "markupsafe fell back to Python"
assert tracemalloc.is_tracing()

lengths = range(100, 1100)
escaped = [_speedups.escape(u'<&>' * n) for n in lengths]
ESCAPE_LINE = sys._getframe().f_lineno - 1
# "<&>" becomes "&lt;&amp;&gt;": 13 characters of 4 bytes (UCS-4)
text_size = 4 * 13 * sum(lengths)

# The C function calls back into Python (markupsafe.Markup.__new__), where
# the result is allocated: the largest traceback runs from ESCAPE_LINE
# through _speedups to markupsafe.
top = tracemalloc.take_snapshot().statistics('traceback')[0]
frames = [(frame.filename, frame.lineno) for frame in top.traceback]
assert (__file__, ESCAPE_LINE) in frames, top.traceback.format()
assert any(filename.startswith('/usr/lib/python2.7/dist-packages/markupsafe/')
           for filename, lineno in frames), top.traceback.format()
assert top.count >= len(lengths) and top.size >= text_size, (top, text_size)
assert escaped[0] == u'&lt;&amp;&gt;' * 100
print("top statistic: %s" % top)
print("\n".join(top.traceback.format()))
