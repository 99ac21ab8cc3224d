"""One measurement, in the interpreter being measured; runner.py starts it.
Prints one line of JSON on stdout.  The same source for 2.7, 3.3 and 3.x.

    child.py workload NAME N NFRAME [DEPTH]
        Set the workload up, then, DEPTH frames deep (a service's handler
        runs under a few dozen frames of framework), start tracing with
        NFRAME frames (0: do not import tracemalloc at all), run N
        iterations, stop tracing.  Reports the CPU time of start+run+stop,
        the peak RSS of the process, and the tracer's own figures.
        N=0 is the baseline that callgrind counts are taken relative to.

    child.py rss KIND COUNT NFRAME
        COUNT live small objects of KIND (str: a block each; float: on 2.7
        carved out of shared blocks by the free list), with tracing started
        before (NFRAME frames) or not (0).  Reports the RSS they added and,
        when tracing, what get_tracemalloc_memory() says the tracer added.

    child.py snapshot COUNT NFRAME DIRECTORY
        COUNT live strings allocated at 1000 lines of a generated module,
        under call paths of 3 depths (1000 tracebacks), with tracing on.
        Reports the CPU time of take_snapshot(), Snapshot.dump() (tracing
        on, as in a service) and Snapshot.load() (after stop(), as in a
        reader).
"""

from __future__ import print_function

import gc
import json
import os
import resource
import sys

try:
    range = xrange  # noqa: F821 (Python 2)
except NameError:
    pass

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes():
    """The process's peak RSS.  VmHWM, not ru_maxrss: Linux carries
    ru_maxrss over exec(), so a child would report its parent's peak
    (the runner's) whenever that is higher."""
    try:
        with open('/proc/self/status') as fp:
            for line in fp:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except IOError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes():
    with open('/proc/self/statm') as fp:
        resident = int(fp.read().split()[1])
    return resident * os.sysconf('SC_PAGE_SIZE')


def at_depth(depth, function):
    """Call function() under `depth` more frames."""
    if depth <= 0:
        return function()
    return at_depth(depth - 1, function)


def tracer_figures(tracemalloc):
    traced, peak = tracemalloc.get_traced_memory()
    return {'traced_peak': peak,
            'tracemalloc_memory': tracemalloc.get_tracemalloc_memory()}


# --------------------------------------------------------------------------


def use_module_variant():
    """BENCH_MODULE_DIR: a directory holding another build of _tracemalloc
    (runner.py's variants), found before lib-dynload's."""
    directory = os.environ.get('BENCH_MODULE_DIR')
    if directory:
        sys.path.insert(0, directory)


def measure_workload(name, n, nframe, depth):
    sys.path.insert(0, HERE)
    use_module_variant()
    import workloads
    workload = workloads.BY_NAME[name]
    state = workload.setup()
    tracemalloc = None
    if nframe:
        import tracemalloc
    result = {}

    def work():
        if tracemalloc is not None:
            tracemalloc.start(nframe)
        workload.run(state, n)
        if tracemalloc is not None:
            result.update(tracer_figures(tracemalloc))
            tracemalloc.stop()

    gc.collect()
    start = cpu_seconds()
    at_depth(depth, work)
    result['cpu'] = cpu_seconds() - start
    result['peak_rss'] = peak_rss_bytes()
    return result


def fill_live_objects(kind, objects):
    if kind == 'str':
        for i in range(len(objects)):
            objects[i] = '%07d' % i
    elif kind == 'float':
        for i in range(len(objects)):
            objects[i] = i * 0.5
    else:
        raise ValueError('unknown kind %r' % kind)


def measure_rss(kind, count, nframe):
    tracemalloc = None
    if nframe:
        import tracemalloc
        tracemalloc.start(nframe)
    # The list's array exists before the first measure: only the objects
    # (and their traces) are between the two.
    objects = [None] * count
    gc.collect()
    rss_before = current_rss_bytes()
    tracer_before = tracemalloc.get_tracemalloc_memory() if nframe else 0
    fill_live_objects(kind, objects)
    rss_after = current_rss_bytes()
    result = {'rss_added': rss_after - rss_before}
    if nframe:
        result['tracer_added'] = (tracemalloc.get_tracemalloc_memory()
                                  - tracer_before)
    return result


# --------------------------------------------------------------------------

FUNCTIONS = 50
LINES_PER_FUNCTION = 20


def write_allocating_module(directory, per_line):
    """A module whose fill(keep, n) appends n strings at each of
    FUNCTIONS * LINES_PER_FUNCTION lines; each function is called through
    one of 3 call paths of different depths."""
    source = []
    for f in range(FUNCTIONS):
        source.append('def alloc%d(keep, n):' % f)
        for line in range(LINES_PER_FUNCTION):
            source.append("    keep.extend(['%%d-%d-%d' %% i for i in "
                          "range(n)])" % (f, line))
    source.append('def path_a(keep, f, n): return f(keep, n)')
    source.append('def path_b(keep, f, n): return path_a(keep, f, n)')
    source.append('def path_c(keep, f, n): return path_b(keep, f, n)')
    source.append('FUNCTIONS = [%s]' % ', '.join(
        'alloc%d' % f for f in range(FUNCTIONS)))
    source.append('def fill(keep, n):')
    source.append('    for i, f in enumerate(FUNCTIONS):')
    source.append('        (path_a, path_b, path_c)[i % 3](keep, f, n)')
    with open(os.path.join(directory, 'bench_allocations.py'), 'w') as fp:
        fp.write('\n'.join(source) + '\n')
    sys.path.insert(0, directory)
    import bench_allocations
    return bench_allocations


def timed(function, *args):
    gc.collect()
    start = cpu_seconds()
    value = function(*args)
    return value, cpu_seconds() - start


def measure_snapshot(count, nframe, directory):
    import tracemalloc
    per_line = max(1, count // (FUNCTIONS * LINES_PER_FUNCTION))
    module = write_allocating_module(directory, per_line)
    tracemalloc.start(nframe)
    keep = []
    module.fill(keep, per_line)
    snapshot, take = timed(tracemalloc.take_snapshot)
    ntraces = len(snapshot.traces)
    path = os.path.join(directory, 'snapshot.pickle')
    nothing, dump = timed(snapshot.dump, path)
    size = os.path.getsize(path)
    del snapshot, keep
    tracemalloc.stop()
    loaded, load = timed(tracemalloc.Snapshot.load, path)
    if len(loaded.traces) != ntraces:
        raise AssertionError('loaded %d traces of %d'
                             % (len(loaded.traces), ntraces))
    os.remove(path)
    return {'traces': ntraces, 'take_snapshot': take, 'dump': dump,
            'load': load, 'file_size': size}


def main(argv):
    what = argv[1]
    if what == 'workload':
        depth = int(argv[5]) if len(argv) > 5 else 0
        result = measure_workload(argv[2], int(argv[3]), int(argv[4]), depth)
    elif what == 'rss':
        result = measure_rss(argv[2], int(argv[3]), int(argv[4]))
    elif what == 'snapshot':
        result = measure_snapshot(int(argv[2]), int(argv[3]), argv[4])
    else:
        raise SystemExit('child.py: unknown measurement %r' % what)
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv)
