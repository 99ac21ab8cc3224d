"""Write the seed corpora of the fuzz targets (committed; run again only to
change them):

    build/python2.7/bin/python2.7 tests/fuzz/make_corpus.py

corpus/snapshot/: small snapshot files, good and bad: written by dump(),
plain pickles of protocols 0, 1 and 2, metadata of a newer format, a
non-ASCII filename, a truncated file, an empty one, and pickles naming
globals a snapshot must not (os.system, a copyreg extension code).
corpus/tables/: programs of the trace-table harness (fuzz_tables.c).
"""

import os
import pickle
import struct
import sys

import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPSHOTS = os.path.join(HERE, 'corpus', 'snapshot')
TABLES = os.path.join(HERE, 'corpus', 'tables')
TRACEBACKS = os.path.join(HERE, 'corpus', 'tracebacks')

TRACES = [
    (0, 32, (('a.py', 1),), 1),
    (0, 100, (('a.py', 2), ('b.py', 10)), 5),
    (0, 7, (('a.py', 1),), 1),
    (2, 4096, (('<unknown>', 0),), 1),
    (0, 5 * 2 ** 32, (('big.py', 3), ('a.py', 2), ('c.py', 7)), 3),
]


def write(directory, name, data):
    with open(os.path.join(directory, name), 'wb') as fp:
        fp.write(data)


def snapshots():
    snapshot = tracemalloc.Snapshot(list(TRACES), 3)
    path = os.path.join(SNAPSHOTS, 'dump.pickle')
    snapshot.dump(path)
    with open(path, 'rb') as fp:
        good = fp.read()
    write(SNAPSHOTS, 'truncated.pickle', good[:len(good) // 2])
    write(SNAPSHOTS, 'empty.pickle', b'')

    for protocol in (0, 1, 2):
        plain = tracemalloc.Snapshot(list(TRACES[:3]), 2)
        write(SNAPSHOTS, 'protocol%d.pickle' % protocol,
              pickle.dumps(plain, protocol))

    # (dump() would write its own format version)
    newer = tracemalloc.Snapshot(list(TRACES[:2]), 1)
    newer.metadata = {'format_version': 2, 'pid': 1}
    write(SNAPSHOTS, 'newer-format.pickle', pickle.dumps(newer, 2))

    wide = tracemalloc.Snapshot([(0, 10, ((u'caf\xe9.py', 4),), 1),
                                 (0, 11, (('\xff.py', 5),), 1)], 1)
    wide.metadata = {'argv': ['x', u'\u20ac'], 'cwd': '/tmp'}
    wide.dump(os.path.join(SNAPSHOTS, 'non-ascii.pickle'))

    # globals a snapshot never names
    write(SNAPSHOTS, 'os-system.pickle',
          b"\x80\x02cos\nsystem\nq\x00U\x04trueq\x01\x85q\x02Rq\x03.")
    write(SNAPSHOTS, 'extension-code.pickle', b'\x80\x02\x82\x01.')
    write(SNAPSHOTS, 'not-a-snapshot.pickle', pickle.dumps([1, (2, 3)], 2))


def tables():
    # op bytes as fuzz_tables.c reads them: op % 10, then arguments
    def op_set(ptr, traceback, size_how, size):
        return (b'\x00' + struct.pack('>B', ptr) + struct.pack('>I', traceback)
                + struct.pack('>B', size_how) + struct.pack('>I', size))
    program = b''.join(op_set(i, i, 4, 100 + i) for i in range(50))
    program += b'\x07\x40\x01'             # 512 at once
    program += b'\x09\x00'                 # compare everything
    program += b'\x08\x02'                 # remove most
    program += b'\x09\x00'
    write(TABLES, 'grow-shrink', program)
    huge = op_set(3, 1, 2, 0) + op_set(3, 2, 1, 0) + op_set(4, 3, 2, 0)
    huge += b'\x03\x03' + b'\x09\x00'
    write(TABLES, 'huge-sizes', huge)
    failing = b'\x06\x02' + b'\x07\x10\x02' + b'\x06\x00' + op_set(9, 9, 2, 0)
    failing += b'\x06\x00' + b'\x07\x20\x03' + b'\x05' + b'\x09\x00'
    write(TABLES, 'heap-failures', failing)


def tracebacks():
    # fuzz_tracebacks.c: the limit, then ops (op % 10, arguments)
    call = lambda slot, code, lasti: bytes(bytearray([0, slot, code, lasti]))
    ret = lambda how: bytes(bytearray([2, how]))
    capture = b'\x19'                 # capture, and check the frames
    deep = b''.join(call(i, i % 6, i * 3) + capture for i in range(20))
    deep += b''.join(ret(i) + capture for i in range(10))
    deep += b''.join(call(i, 5 - i % 6, i) + capture for i in range(10))
    write(TRACEBACKS, 'deep-stack', b'\x03' + deep)
    # a generator resumed under other callers, zombie frames reused
    generators = call(0, 0, 1) + call(1, 6, 2) + capture + ret(0)
    generators += call(2, 1, 5) + b'\x03\x01\x04' + capture + ret(1)
    generators += call(3, 2, 9) + call(4, 3, 9) + b'\x03\x01\x07' + capture
    generators += ret(0) + ret(0) + ret(0) + call(1, 4, 4) + capture
    write(TRACEBACKS, 'generators', b'\x05' + generators)
    failing = b'\x07\x02' + deep[:200] + b'\x07\x00' + capture
    failing += b'\x07\x00' + capture + b'\x08\x00' + capture
    write(TRACEBACKS, 'heap-failures', b'\x06' + failing)
    # code objects die and others take their addresses, at the same
    # instructions: the old tracebacks keep the old lines
    new_code = lambda at, code, check: bytes(bytearray([9, at, code, check]))
    reuse = call(0, 0, 0) + call(1, 1, 3) + capture + ret(1) + ret(1)
    reuse += new_code(1, 2, 0) + call(1, 1, 3) + capture
    reuse += new_code(0, 3, 0) + new_code(1, 4, 1) + call(2, 1, 3) + capture
    reuse += ret(0) + ret(0) + ret(0) + new_code(0, 0, 2) + new_code(1, 1, 2)
    reuse += call(0, 0, 0) + call(1, 1, 3) + capture
    write(TRACEBACKS, 'code-reuse', b'\x02' + reuse)


def main():
    for directory in (SNAPSHOTS, TABLES, TRACEBACKS):
        if not os.path.isdir(directory):
            os.makedirs(directory)
    snapshots()
    tables()
    tracebacks()
    return 0


if __name__ == '__main__':
    sys.exit(main())
