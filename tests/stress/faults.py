"""Allocation failures under the tracer, swept over every request.

    python2.7 tests/stress/faults.py [--quick] [--seed S]
                                     [--sweep program|tracer|persistent]
                                     [--only N]

_faultalloc (tests/stress/_faultalloc.c) is installed under the tracer in
the three domains.  For each N, a child process runs one deterministic
workload with one failure injected, and the tracer's books are checked
against the allocator's:

  program     the Nth request of the program fails.  Two children, forked
              from one heap (the zygote, see _faultalloc.c), run the workload,
              one untraced and one traced: both must end the same way (the
              same exception at the same line, or none; the same exit
              status, the same stderr), the traced one with every live
              block traced exactly once and no trace dropped;
  tracer      the Nth request of the tracer for its own memory fails: the
              program must not notice (except take_snapshot(), which may
              raise MemoryError), at most that one trace is dropped and
              get_dropped_traces() says so;
  persistent  every tracer request from the Nth on fails (the tracer out of
              memory for good): the program goes on, the traces that are
              there are exact, every missing one is counted as dropped.

In every case get_tracemalloc_memory() equals the bytes the tracer holds
from the allocator below it, and stop() gives every one of them back.

A crash, a hang (30 s) or a wrong number fails the case and prints how to
run it alone.  --quick samples a few hundred cases (make check); the full
sweep runs every N (make faults).  Ends with "N passed, N failed, N
skipped" (one per sweep).
"""

from __future__ import print_function

import argparse
import atexit
import os
import random
import shutil
import sys
import tempfile
import traceback

import support

HELPER_DIR = support.build_helpers(['_faultalloc'])
sys.path.insert(0, HELPER_DIR)

import _faultalloc  # noqa: E402
import _tracemalloc  # noqa: E402
import tracemalloc  # noqa: E402

NFRAME = 25
MODES = {'program': 1, 'tracer': 2, 'persistent': 3}
CHILD_TIMEOUT = 30
THIS_FILE = os.path.abspath(__file__)
if THIS_FILE.endswith(('.pyc', '.pyo')):
    THIS_FILE = THIS_FILE[:-1]


# ---------------------------------------------------------------------------
# The workload: deterministic, and the same requests traced or not (no
# container keyed by identity, no code object compiled and thrown away: the
# tracer keeps the code objects of its tracebacks alive, which would change
# what the program frees).

class Thing(object):
    def __init__(self, i):
        self.i = i
        self.name = 'thing-%d' % i
        self.tags = [i, i * 2]


class Slotted(object):
    __slots__ = ('a', 'b')

    def __init__(self, a):
        self.a = a
        self.b = (a, str(a))


def numbers(count):
    for i in range(count):
        yield i * 7, str(i)


def recurse(depth, found):
    # a new traceback at every depth
    if depth:
        return recurse(depth - 1, found + [depth])
    return found


def churn(count):
    # enough live blocks to grow the trace table, then freed together so
    # that it shrinks
    many = [str(i) for i in range(count)]
    del many


def snapshot_work():
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics('lineno')
    top = stats[:3]
    diff = snapshot.compare_to(snapshot, 'traceback')
    tracemalloc.reset_peak()
    return len(top) + len(diff)


def workload(snapshots):
    data = []
    for i in range(40):
        data.append([j for j in range(i % 7 + 1)])
        data.append(dict(('k%d' % j, j) for j in range(i % 5)))
    text = ''
    for i in range(30):
        text += 'x' * (i * 13 % 97)
    buf = bytearray()
    for i in range(20):
        buf.extend(b'y' * (i * 37))
    big = [b'z' * (1000 + 300 * i) for i in range(6)]
    wide = u''.join(unichr(0x100 + i) for i in range(120))
    sets = (set(range(60)), frozenset(str(i) for i in range(30)))
    things = [Thing(i) for i in range(30)] + [Slotted(i) for i in range(20)]
    pairs = list(numbers(25))
    found = recurse(40, [])
    churn(3000)
    try:
        raise ValueError('v' * 50)
    except ValueError as exc:
        message = str(exc)
    floats = [float(i) / 3 for i in range(60)]
    ints = [i * 1000003 for i in range(120)]
    del data[::3]
    result = [data, text, buf, big, wide, sets, things, pairs, found,
              message, floats, ints]
    if snapshots:
        result.append(snapshot_work())
    # clear_traces(), counted anew by the books (does nothing untraced)
    _faultalloc.clear()
    result.append([[i] * 3 for i in range(40)])
    result.append(dict.fromkeys(range(30), 'after clear'))
    return result


KEEP = []


# ---------------------------------------------------------------------------
# A child: run the workload with one failure armed, report

def describe_outcome(exc_type, tb):
    """The exception's type and where it was raised: (file, line, function)
    of each frame, from the workload down."""
    if exc_type is None:
        return None
    frames = [(os.path.basename(filename), lineno, function)
              for filename, lineno, function, line in traceback.extract_tb(tb)]
    return (exc_type.__name__, frames)


def run_workload(traced, mode, n, snapshots):
    """Run in a child; return what it reports (a dict)."""
    _faultalloc.begin(traced, NFRAME)
    exc_type = tb = None
    _faultalloc.arm(mode, n)
    try:
        KEEP.append(workload(snapshots))
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
    counts = _faultalloc.disarm()
    # an exception C code left set while returning success: CPython's bug,
    # the same with or without tracing
    pending = _faultalloc.pending_exception()
    report = {'counts': counts, 'outcome': describe_outcome(exc_type, tb),
              'pending': pending}
    del tb
    if traced:
        report['check'] = _faultalloc.check()
        report['stop'] = _faultalloc.stop_and_measure()
    return report


def case_main(kind, mode, pair, n, number):
    """A child of the zygote: run the case, write the report, _exit()."""
    # the same calls in both children: file names of one length
    base = os.path.join(WORKDIR, '%08d-%d' % (number, kind))
    err = os.open(base + '.stderr', os.O_WRONLY | os.O_CREAT, 0o600)
    os.dup2(err, 2)
    try:
        report = run_workload(kind, mode, n, not pair)
        status = 0
    except BaseException:
        report = {'error': traceback.format_exc()}
        status = 1
    with open(base + '.report', 'w') as fp:
        fp.write(repr(report))
    os._exit(status)


def describe_wait(status):
    if status == -1:
        return 'hung (killed after %d s)' % CHILD_TIMEOUT
    if os.WIFSIGNALED(status):
        return support.describe_status(-os.WTERMSIG(status))
    return support.describe_status(os.WEXITSTATUS(status))


def parse_report(text):
    if not text:
        return None
    return eval(text, {'__builtins__': {}})


def read_and_remove(path):
    try:
        with open(path) as fp:
            return fp.read()
    except IOError:
        return ''
    finally:
        if os.path.exists(path):
            os.unlink(path)


CASES = [0]


def run_children(mode, n, pair):
    """Run a case in the zygote: its traced child and, with `pair`, an
    untraced one from the same heap.  Return {traced: (how it ended,
    report, stderr)}."""
    CASES[0] += 1
    number = CASES[0]
    statuses = _faultalloc.zygote_run(mode, n, pair, number)
    results = {}
    for kind in (0, 1):
        if statuses[kind] == -2:
            continue
        base = os.path.join(WORKDIR, '%08d-%d' % (number, kind))
        results[kind] = (describe_wait(statuses[kind]),
                         parse_report(read_and_remove(base + '.report')),
                         read_and_remove(base + '.stderr'))
    return results


# ---------------------------------------------------------------------------
# Checks

def check_books(report, mode):
    """Problems with the traced child's books (a list of strings)."""
    problems = []
    check = report['check']
    failures = report['counts'][2]
    missing = check['blocks'] - check['traces']
    missing_bytes = check['bytes'] - check['traces_bytes']
    if check['bytes2'] - check['traced'] != missing_bytes:
        problems.append('get_traced_memory() %d, blocks %d, missing %d'
                        % (check['traced'], check['bytes2'], missing_bytes))
    if check['tracemalloc_memory'] != check['tracer_bytes']:
        problems.append('get_tracemalloc_memory() %d, the tracer holds %d'
                        % (check['tracemalloc_memory'],
                           check['tracer_bytes']))
    if check['peak'] < check['traced']:
        problems.append('peak %d < traced %d' % (check['peak'],
                                                 check['traced']))
    memory, held, left = report['stop']
    if memory != held:
        problems.append('before stop(): get_tracemalloc_memory() %d, the '
                        'tracer holds %d' % (memory, held))
    if left:
        problems.append('stop() left %d of the tracer\'s %d bytes'
                        % (left, held))
    if mode == 1:
        if check['dropped'] != 0:
            problems.append('%d traces dropped' % check['dropped'])
        if missing or missing_bytes:
            problems.append('%d traces (%d bytes) missing'
                            % (missing, missing_bytes))
    elif mode == 2:
        if check['dropped'] > failures:
            problems.append('%d traces dropped after %d failures'
                            % (check['dropped'], failures))
        if (missing, missing_bytes) != (0, 0):
            if not (missing == 1 and check['dropped'] == 1
                    and missing_bytes == check['candidate']):
                problems.append(
                    '%d traces (%d bytes) missing, %d dropped, the block '
                    'whose trace failed has %d bytes'
                    % (missing, missing_bytes, check['dropped'],
                       check['candidate']))
    else:
        if missing < 0 or missing_bytes < 0:
            problems.append('more traces than blocks: %d (%d bytes)'
                            % (-missing, -missing_bytes))
        if missing > check['dropped']:
            problems.append('%d traces missing, only %d dropped'
                            % (missing, check['dropped']))
    return problems


def snapshot_memory_error(outcome):
    """Is the outcome take_snapshot() failing to copy the traces?"""
    if outcome is None or outcome[0] != 'MemoryError':
        return False
    return outcome[1][-1][1:] in [
        (line, 'take_snapshot') for line in TAKE_SNAPSHOT_LINES]


TAKE_SNAPSHOT_LINES = []


def find_take_snapshot_lines():
    import inspect
    lines, start = inspect.getsourcelines(tracemalloc.take_snapshot)
    for offset, line in enumerate(lines):
        if '_get_traces()' in line:
            TAKE_SNAPSHOT_LINES.append(start + offset)


def case_kind(report):
    """What a case came to, for the tally."""
    if report is None or 'error' in report:
        return 'broken'
    parts = []
    outcome = report['outcome']
    parts.append('no error' if outcome is None else outcome[0])
    if report.get('pending'):
        parts.append('%s left pending' % report['pending'])
    dropped = report['check']['dropped']
    if dropped:
        parts.append('%s dropped' % ('1' if dropped == 1 else 'some'))
    if report['counts'][2] == 0:
        parts.append('no failure')
    return '(%s)' % ', '.join(parts)


def run_case(sweep, n):
    """Run one case; return (a list of problems (empty: passed), what it
    came to)."""
    mode = MODES[sweep]
    pair = (sweep == 'program')
    results = run_children(mode, n, pair)
    problems = []
    for traced, (ended, report, stderr) in sorted(results.items()):
        name = 'traced' if traced else 'untraced'
        if report is not None and 'error' in report:
            problems.append('%s child: %s' % (name, report['error']))
    traced_end, report, stderr = results[1]
    if report is None or 'error' in report:
        if not problems:
            problems.append('traced child %s, no report; stderr: %s'
                            % (traced_end, stderr[-2000:]))
        return problems, 'broken'

    if sweep == 'program':
        untraced_end, plain, plain_stderr = results[0]
        if plain is None or 'error' in plain:
            problems.append('untraced child %s, no report' % untraced_end)
            return problems, 'broken'
        if ((traced_end, report['outcome'], report['pending'])
                != (untraced_end, plain['outcome'], plain['pending'])):
            problems.append('untraced: %s, %r, pending %s; traced: %s, %r, '
                            'pending %s' % (untraced_end, plain['outcome'],
                                            plain['pending'], traced_end,
                                            report['outcome'],
                                            report['pending']))
        if report['counts'][0] != plain['counts'][0]:
            problems.append('%d program requests untraced, %d traced'
                            % (plain['counts'][0], report['counts'][0]))
        if stderr != plain_stderr:
            problems.append('stderr untraced %r, traced %r'
                            % (plain_stderr[-500:], stderr[-500:]))
    else:
        if traced_end != 'exit status 0':
            problems.append('traced child %s' % traced_end)
        outcome = report['outcome']
        if outcome is not None and not snapshot_memory_error(outcome):
            problems.append('the program saw %r' % (outcome,))
        if stderr:
            problems.append('stderr: %r' % stderr[-500:])
        if report['pending']:
            problems.append('%s left pending' % report['pending'])
    problems.extend(check_books(report, mode))
    if problems and report['counts'][4]:
        problems.append('the request that failed was made at %s'
                        % report['counts'][4])
    return problems, case_kind(report)


def sweep_cases(sweep, total, quick, rng):
    """The Ns to run: all of 1..total+2, or a sample."""
    every = list(range(1, total + 3))
    limit = {'program': 150, 'tracer': 120, 'persistent': 30}[sweep]
    if not quick or len(every) <= limit:
        return every
    head = every[:10]
    return head + sorted(rng.sample(every[10:], limit - 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--sweep', choices=sorted(MODES), action='append')
    parser.add_argument('--only', type=int, metavar='N')
    args = parser.parse_args()
    seed = support.make_seed(args.seed)
    rng = random.Random(seed)
    summary = support.Summary()
    # the baselines, without failures: how many requests, and a clean run
    totals = {}
    for sweep, pair in (('program', True), ('tracer', False)):
        results = run_children(0, 0, pair)
        problems = []
        for traced, (ended, report, stderr) in sorted(results.items()):
            if (ended != 'exit status 0' or report is None
                    or 'error' in report or report['outcome'] is not None
                    or stderr):
                problems.append('%s %r %s' % (ended, report, stderr))
            elif traced:
                problems.extend(check_books(report, 1))
        if pair and not problems and (results[0][1]['counts'][0]
                                      != results[1][1]['counts'][0]):
            problems.append('%d program requests untraced, %d traced'
                            % (results[0][1]['counts'][0],
                               results[1][1]['counts'][0]))
        if problems:
            summary.fail('%s workload without failures' % sweep,
                         '\n    '.join(problems))
            return summary.finish()
        totals[sweep] = results[1][1]['counts'][:2]
    totals['persistent'] = totals['tracer']
    print('workload: %d program requests; with snapshots %d, and %d '
          'tracer requests (seed %d)' % (totals['program'][0],
                                         totals['tracer'][0],
                                         totals['tracer'][1], seed))

    for sweep in args.sweep or ['program', 'tracer', 'persistent']:
        total = totals[sweep][0 if sweep == 'program' else 1]
        if args.only:
            cases = [args.only]
        else:
            cases = sweep_cases(sweep, total, args.quick, rng)
        failed = []
        seen = {}
        for n in cases:
            problems, what = run_case(sweep, n)
            seen[what] = seen.get(what, 0) + 1
            if problems:
                failed.append(n)
                print('%s N=%d:\n    %s' % (sweep, n,
                                             '\n    '.join(problems)))
                print('    run alone: %s %s --sweep %s --only %d'
                      % (sys.executable, THIS_FILE, sweep, n))
                sys.stdout.flush()
                if len(failed) >= 10:
                    break
        print('%s: %s' % (sweep, ', '.join(
            '%d %s' % (count, what) for what, count in sorted(seen.items()))))
        name = '%s failures (%d cases of %d, seed %d)' % (
            sweep, len(cases), total + 2, seed)
        if failed:
            summary.fail(name, 'failed at N = %s' % failed)
        else:
            summary.ok(name)
    return summary.finish()


def start():
    """Install the allocator, fork the zygote (before anything that
    depends on the command line); return in the parent only."""
    global WORKDIR
    _faultalloc.install(_tracemalloc)
    find_take_snapshot_lines()
    WORKDIR = tempfile.mkdtemp(prefix='faults-')
    role = _faultalloc.zygote(CHILD_TIMEOUT)
    if role[0] == 'case':
        case_main(*role[1:])
    atexit.register(shutil.rmtree, WORKDIR, True)


WORKDIR = None

if __name__ == '__main__':
    start()
    sys.exit(main())
