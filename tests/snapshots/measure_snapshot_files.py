"""Measure snapshot files: size, write and load times, memory taken by
writing, for a snapshot of N traces (default 100000 and 1000000).

Run with the patched interpreter (tracing is started here, with a traceback
limit of 5):

    build/python2.7/bin/python2.7 tests/snapshots/measure_snapshot_files.py \
        [N...]

The traces are N strings allocated at 300 distinct lines of a generated
module, called from a few frames deep.  Each measure is compared with what
Snapshot.dump() did before streaming (cPickle.dump of the whole snapshot,
protocol 2).  A python3 on PATH also loads the file with its standard
library's tracemalloc.Snapshot.load().
"""

from __future__ import print_function

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, 'backport'))

import tracemalloc  # noqa: E402
import tracemalloc_snapshot_file  # noqa: E402

try:
    import cPickle as plain_pickle
except ImportError:
    import pickle as plain_pickle

LINES = 300


def allocating_module(directory, per_line):
    """Write and import a module whose fill() allocates per_line strings
    at each of LINES lines."""
    source = ['def fill(keep):']
    for line in range(LINES):
        source.append("    keep.extend(['%%d-%d' %% i for i in range(%d)])"
                      % (line, per_line))
    path = os.path.join(directory, 'allocations.py')
    with open(path, 'w') as fp:
        fp.write('\n'.join(source) + '\n')
    sys.path.insert(0, directory)
    import allocations
    return allocations


def timed(function, *args):
    gc.collect()
    start = time.time()
    result = function(*args)
    return result, time.time() - start


def write_ours(snapshot, path):
    with open(path, 'wb') as fp:
        tracemalloc_snapshot_file.write_snapshot(snapshot, fp)


def write_plain(snapshot, path):
    with open(path, 'wb') as fp:
        plain_pickle.dump(snapshot, fp, 2)


def memory_taken(function, *args):
    """Peak traced memory while function runs, above what it was."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    function(*args)
    return tracemalloc.get_traced_memory()[1] - before


def stdlib_load_seconds(path):
    code = ('import time, tracemalloc, sys\n'
            't = time.time(); s = tracemalloc.Snapshot.load(sys.argv[1])\n'
            'n = len(s.traces); st = s.statistics("lineno")\n'
            'print("%.2f %d %d" % (time.time() - t, n, len(st)))\n')
    try:
        output = subprocess.check_output(['python3', '-E', '-s', '-c', code,
                                          path], cwd=tempfile.gettempdir())
    except (OSError, subprocess.CalledProcessError) as exc:
        return 'n/a (%s)' % exc
    seconds, traces, lines = output.split()
    return '%ss (with statistics(), %s traces, %s lines)' % (
        seconds.decode('ascii'), traces.decode('ascii'),
        lines.decode('ascii'))


def measure(count, directory):
    module = allocating_module(directory, count // LINES)
    keep = []
    tracemalloc.clear_traces()
    module.fill(keep)
    snapshot, seconds = timed(tracemalloc.take_snapshot)
    traces = snapshot.traces._traces
    print('take_snapshot(): %.2fs' % seconds)
    by_id = len(set(id(trace[2]) for trace in traces))
    by_value = len(set(trace[2] for trace in traces))
    print('%i traces (%i strings), %i frames tuples, %i distinct values'
          % (len(traces), len(keep), by_id, by_value))
    ours = os.path.join(directory, 'ours.pickle')
    plain = os.path.join(directory, 'plain.pickle')
    nothing, seconds = timed(write_ours, snapshot, ours)
    print('  streaming write: %.2fs, %.1f MiB, %.1f MiB traced memory taken'
          % (seconds, os.path.getsize(ours) / 1048576.,
             memory_taken(write_ours, snapshot, ours) / 1048576.))
    nothing, seconds = timed(write_plain, snapshot, plain)
    print('  cPickle.dump:    %.2fs, %.1f MiB, %.1f MiB traced memory taken'
          % (seconds, os.path.getsize(plain) / 1048576.,
             memory_taken(write_plain, snapshot, plain) / 1048576.))
    del snapshot, traces, keep
    gc.collect()
    loaded, seconds = timed(tracemalloc.Snapshot.load, ours)
    print('  load (restricted, checked), Python 2: %.2fs' % seconds)
    del loaded
    print('  load, python3 stdlib: %s' % stdlib_load_seconds(ours))
    del sys.modules['allocations']
    sys.path.remove(directory)


def main():
    counts = [int(arg) for arg in sys.argv[1:]] or [100000, 1000000]
    tracemalloc.start(5)
    for count in counts:
        directory = tempfile.mkdtemp(prefix='measure-snapshots-')
        try:
            measure(count, directory)
        finally:
            shutil.rmtree(directory)


if __name__ == '__main__':
    main()
