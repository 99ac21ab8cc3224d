"""Stress tests of the tracer: threads, fork() and signals.

    python2.7 tests/stress/stress.py [--seconds S] [--seed N] [SCENARIO...]

Each scenario runs in a child interpreter, round after round (a round is
hundreds of iterations, with a seed of its own, derived from --seed) until
its share of --seconds is used up:

  threads   Python threads allocate and free (lists, dicts, strings,
            bytearrays, big blocks, short-lived threads, PyTraceMalloc_Track
            and Untrack with and without the GIL) and native threads
            malloc/realloc/free without the GIL, while two controller
            threads call take_snapshot(), clear_traces(), stop()/start(),
            reset_peak(), _get_traces(), get_object_traceback(); every few
            iterations everything pauses and the books are checked (the
            traces sum to get_traced_memory(), the peak is above it, no
            trace dropped, a new object has the right traceback).
  fork      the same kind of multi-threaded traced process forks, from the
            main thread or another one, again and again; each child keeps
            allocating, starts a thread, takes and checks a snapshot, and
            exits through the interpreter's normal exit.
  signals   signals arrive (an interval timer, and another thread sending
            SIGUSR1, each about every millisecond) while the main thread
            takes snapshots, dumps and loads them; the handlers allocate,
            clear the traces, stop and restart tracing in the middle of a
            snapshot, and take snapshots of their own between two.
  service   the snapshot service (tracemalloc_snapshot_service) with
            periodic snapshots every 200 ms and a SIGUSR2 request every
            20 ms for 3 s, threads allocating: every file it writes must
            load.  (Faster, snapshots of 100,000 traces run back to back
            and a loaded machine takes minutes to end a round.)

A failure, a crash or a hang (a round gets 60 s) prints the round's seed and
the command that runs that round alone.  Ends with "N passed, N failed, N
skipped", one per scenario.
"""

from __future__ import print_function

import argparse
import gc
import os
import random
import signal
import sys
import tempfile
import threading
import time

import support

SCENARIOS = ['threads', 'fork', 'signals', 'service']
ROUND_TIMEOUT = 60
THIS_FILE = os.path.abspath(__file__)
if THIS_FILE.endswith(('.pyc', '.pyo')):
    THIS_FILE = THIS_FILE[:-1]
# The filename that tracebacks give for the code of this module.
CODE_FILE = sys._getframe().f_code.co_filename


# ===========================================================================
# In the child: the scenarios
# ===========================================================================

class Failure(Exception):
    pass


def expect(condition, message, *args):
    if not condition:
        raise Failure(message % args if args else message)


def lineno():
    return sys._getframe(1).f_lineno


def consistent_totals(tm):
    """(sum of the traces, traced memory), read with nothing else running
    (retried: the calls allocate themselves)."""
    for attempt in range(20):
        before = tm.get_traced_memory()[0]
        traces = tm._get_traces()
        total = sum(trace[1] for trace in traces)
        del traces
        if total == before:
            break
    return total, before


class Pause(object):
    """Lets one thread stop others at a safe point: hold() returns once
    each of them has seen it (called wait_if_held()) and waits."""

    def __init__(self):
        self.generation = 0
        self.held = False
        self.acknowledged = {}

    def wait_if_held(self, who, stop):
        generation = self.generation
        if not self.held or self.acknowledged.get(who) == generation:
            return
        self.acknowledged[who] = generation
        while self.held and self.generation == generation \
                and not stop.is_set():
            time.sleep(0.0005)

    def hold(self, members, stop):
        self.generation += 1
        self.held = True
        generation = self.generation
        while any(self.acknowledged.get(who) != generation
                  for who in members) and not stop.is_set():
            time.sleep(0.0005)

    def release(self):
        self.held = False


class Allocator(threading.Thread):
    """A Python thread allocating and freeing until told to stop, pausing
    when asked."""

    def __init__(self, seed, pause, stop):
        import _tracertest
        threading.Thread.__init__(self)
        self.native = _tracertest
        self.daemon = True
        self.rng = random.Random(seed)
        self.pause, self.stop = pause, stop
        self.iterations = 0
        self.error = None

    def step(self, keep):
        rng = self.rng
        action = rng.randrange(10)
        if action == 0:
            keep.append([str(i) * rng.randrange(1, 5)
                         for i in range(rng.randrange(1, 200))])
        elif action == 1:
            keep.append(dict((i, (i, 'v')) for i in range(rng.randrange(50))))
        elif action == 2:
            text = ''
            for i in range(rng.randrange(1, 50)):
                text += 'abc' * i
            keep.append(text)
        elif action == 3:
            buf = bytearray()
            for i in range(rng.randrange(1, 30)):
                buf.extend(b'q' * rng.randrange(1, 400))
            keep.append(buf)
        elif action == 4:
            keep.append(b'B' * rng.randrange(513, 200000))
        elif action == 5:
            items = []
            for i in range(rng.randrange(1, 2000)):
                items.append(i)
            keep.append(items)
        elif action == 6:
            thread = threading.Thread(target=lambda: [object()
                                                      for i in range(100)])
            thread.start()
            thread.join()
        elif action == 7:
            keep.append(set(str(i) for i in range(rng.randrange(100))))
        elif action == 8:
            # free a random half
            del keep[::2]
        else:
            # PyTraceMalloc_Track()/Untrack() of another domain, with the
            # GIL or from a native thread without it
            address = 0x7e0000000000 + 4096 * rng.randrange(64)
            domain = rng.choice([5, 6])
            if rng.random() < 0.5:
                self.native.track(domain, address, rng.randrange(1, 10000))
            else:
                self.native.track_in_native_thread(domain, address,
                                                   rng.randrange(1, 10000))
            if rng.random() < 0.5:
                self.native.untrack(domain, address)
        if len(keep) > 60:
            del keep[:30]

    def run(self):
        keep = []
        try:
            while not self.stop.is_set():
                self.pause.wait_if_held(self, self.stop)
                self.step(keep)
                self.iterations += 1
        except Exception as exc:
            self.error = '%s: %s' % (type(exc).__name__, exc)


class Crowd(object):
    """Python allocator threads and native RAW allocator threads."""

    def __init__(self, rng, python_threads=3, native_threads=2):
        import _tracertest
        self.native = _tracertest
        self.native_threads = native_threads
        self.pause = Pause()
        self.stop = threading.Event()
        self.threads = [Allocator(rng.randrange(2 ** 30), self.pause,
                                  self.stop)
                        for i in range(python_threads)]

    def start(self):
        self.native.import_capi()
        for thread in self.threads:
            thread.start()
        self.native.start_raw_loop(self.native_threads)

    def hold(self, others=()):
        """Pause everybody (native threads are stopped), and `others`,
        which call self.pause.wait_if_held() too."""
        self.pause.hold(self.threads + list(others), self.stop)
        return self.native.stop_raw_loop()

    def release(self):
        self.native.start_raw_loop(self.native_threads)
        self.pause.release()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()
        loops = self.native.stop_raw_loop()
        for thread in self.threads:
            expect(thread.error is None, 'allocator thread: %s',
                   thread.error)
        return loops


def controller_action(rng, tm, tracemalloc, objects):
    """One random call into the tracer."""
    action = rng.randrange(10)
    if action in (0, 1):
        if tm.is_tracing():
            try:
                snapshot = tracemalloc.take_snapshot()
            except RuntimeError:
                pass    # stopped by the other controller meanwhile
            else:
                snapshot.statistics(rng.choice(['lineno', 'filename',
                                                'traceback']))
    elif action == 2:
        tm.clear_traces()
    elif action == 3:
        tm.stop()
        tm.start(rng.randrange(1, 30))
    elif action == 4:
        tm.reset_peak()
    elif action == 5:
        traced, peak = tm.get_traced_memory()
        # (another thread may reset or clear between the two reads, but
        # one read is consistent)
        expect(peak >= traced, 'peak %d < traced %d', peak, traced)
    elif action == 6:
        for obj in objects[-20:]:
            tm._get_object_traceback(obj)
    elif action == 7:
        tm._get_traces()
    elif action == 8:
        objects.append([rng.randrange(100)] * rng.randrange(1, 300))
        del objects[:-100]
    else:
        tm.get_tracemalloc_memory()
        tm.get_dropped_traces()


def scenario_threads(rng, iterations):
    import _tracemalloc as tm
    import tracemalloc

    tm.start(rng.randrange(1, 26))
    crowd = Crowd(rng)
    crowd.start()
    errors = []
    second_rng = random.Random(rng.randrange(2 ** 30))
    second_name = 'second controller'

    def second_controller():
        objects = []
        try:
            while not crowd.stop.is_set():
                crowd.pause.wait_if_held(second_name, crowd.stop)
                controller_action(second_rng, tm, tracemalloc, objects)
        except Exception as exc:
            errors.append('second controller: %s: %s'
                          % (type(exc).__name__, exc))

    second = threading.Thread(target=second_controller)
    second.start()
    objects = []
    checks = 0
    try:
        for i in range(iterations):
            controller_action(rng, tm, tracemalloc, objects)
            if i % 25 == 24:
                # everybody stops: the books must balance
                crowd.hold([second_name])
                if not tm.is_tracing():
                    tm.start(rng.randrange(1, 26))
                total, traced = consistent_totals(tm)
                expect(total == traced, 'iteration %d: the traces sum to '
                       '%d, get_traced_memory() says %d', i, total, traced)
                traced, peak = tm.get_traced_memory()
                expect(peak >= traced, 'peak %d < traced %d', peak, traced)
                expect(tm.get_dropped_traces() == 0, '%d traces dropped',
                       tm.get_dropped_traces())
                marker = [None] * 777; line = lineno()
                frames = tm._get_object_traceback(marker)
                expect(frames is not None and frames[0] == (CODE_FILE, line),
                       'the new object has the traceback %r', frames)
                checks += 1
                crowd.release()
            expect(not errors, '%s', errors and errors[0])
    finally:
        crowd.stop.set()
        second.join()
    expect(not errors, '%s', errors and errors[0])
    loops = crowd.finish()
    tm.stop()
    return 'checks %d, native loops %d' % (checks, loops)


def fork_child(rng, tm, tracemalloc):
    """What a forked child does; returns its exit status."""
    try:
        expect(tm.is_tracing(), 'not tracing in the child')
        keep = []
        for i in range(rng.randrange(50, 500)):
            keep.append((str(i), [i] * (i % 30)))
        thread = threading.Thread(target=lambda: keep.append(
            [object() for i in range(200)]))
        thread.start()
        thread.join()
        marker = {'child': os.getpid()}; line = lineno()
        frames = tm._get_object_traceback(marker)
        expect(frames is not None and frames[0] == (CODE_FILE, line),
               'child: the new object has the traceback %r', frames)
        snapshot = tracemalloc.take_snapshot()
        expect(len(snapshot.traces) > 100, 'child: %d traces',
               len(snapshot.traces))
        snapshot.statistics('traceback')
        # only this thread is left: the books must balance
        total, traced = consistent_totals(tm)
        expect(total == traced, 'child: traces sum to %d, traced %d',
               total, traced)
        if rng.random() < 0.2:
            tm.clear_traces()
        return 0
    except Failure as exc:
        sys.stderr.write('child: %s\n' % exc)
        return 1


def wait_for(pid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return 'hung'


def scenario_fork(rng, iterations):
    import _tracemalloc as tm
    import tracemalloc

    tm.start(rng.randrange(1, 26))
    crowd = Crowd(rng, python_threads=2)
    crowd.start()
    statuses = {}
    failures = []

    def fork_once(seed):
        pid = os.fork()
        if pid == 0:
            status = fork_child(random.Random(seed), tm, tracemalloc)
            if threading.current_thread().name != 'MainThread':
                # forked by a thread, which is the child's only one: when
                # it ends, the process ends with status 0 whatever it says
                sys.stdout.flush()
                os._exit(status)
            # the interpreter's own exit: threading._shutdown, exit
            # functions, Py_Finalize(), the tracer's exit handler
            sys.exit(status)
        status = wait_for(pid)
        statuses[status] = statuses.get(status, 0) + 1
        if status != 0:
            failures.append('fork %d (child seed %d): %s'
                            % (len(statuses), seed,
                               status if status == 'hung'
                               else support.describe_status(
                                   -os.WTERMSIG(status)
                                   if os.WIFSIGNALED(status)
                                   else os.WEXITSTATUS(status))))

    for i in range(iterations):
        seed = rng.randrange(2 ** 30)
        if rng.random() < 0.4:
            thread = threading.Thread(target=fork_once, args=(seed,))
            thread.start()
            thread.join()
        else:
            fork_once(seed)
        if rng.random() < 0.1:
            tm.clear_traces()
        expect(not failures, '%s', failures and failures[0])
    crowd.finish()
    tm.stop()
    return 'forks %d' % iterations


# Functions of tracemalloc that the signals should interrupt.
SNAPSHOT_CODE = frozenset(['take_snapshot', 'statistics', '_group_by',
                           'dump', 'load', 'write_snapshot', 'read_snapshot',
                           'add', '_traces'])

# The most traces a snapshot of the main loop of the signals scenario may
# hold: what the program keeps alive (the allocator thread at most 60
# containers, the handlers 50 lists, the last snapshot's objects that free
# lists keep) is a few thousand blocks.  Snapshots piling up would pass it
# within a few iterations (see scenario_signals()).
SIGNALS_MAX_TRACES = 100000


def run_lost_signal_handlers():
    """Run the Python handlers of signals that Python 2.7 lost track of.

    2.7's C signal handler queues a call to the Python handlers with
    Py_AddPendingCall() and ignores the signals that follow until that call
    has run (`is_tripped`).  Py_AddPendingCall() gives up when it cannot
    take its lock at once, which happens when the signal lands in the main
    thread while it takes a pending call out of the queue: the call is
    lost, `is_tripped` stays set, and no Python handler runs again until
    some C code calls PyErr_CheckSignals() itself (CPython's bpo-30703,
    fixed in 3.6 and 3.7, not in 2.7).  About one round in several hundred
    of this scenario got there.  PyObject_Repr() is such code: it runs the
    handlers of the signals that arrived and clears `is_tripped`."""
    repr(None)


def most_traces(snapshot, limit=5):
    """The tracebacks with the most traces in `snapshot`, formatted."""
    stats = snapshot.statistics('traceback')
    stats.sort(key=lambda stat: stat.count, reverse=True)
    lines = []
    for stat in stats[:limit]:
        lines.append('%d traces, %d bytes, allocated at:'
                     % (stat.count, stat.size))
        lines.extend(stat.traceback.format(limit=4))
    return '\n'.join(lines)


def scenario_signals(rng, iterations):
    import _tracemalloc as tm
    import tracemalloc

    tm.start(rng.randrange(1, 26))
    handled = [0]
    inside = [0]        # signals that arrived during a snapshot
    handler_rng = random.Random(rng.randrange(2 ** 30))
    kept = []

    def handler(signum, frame):
        handled[0] += 1
        nested = False
        while frame is not None:
            if frame.f_code.co_name in SNAPSHOT_CODE:
                inside[0] += 1
                nested = True
                break
            frame = frame.f_back
        action = handler_rng.randrange(8)
        kept.append([signum] * handler_rng.randrange(1, 100))
        del kept[:-50]
        # (no snapshot inside a snapshot: each would hold the objects of
        # the one it interrupted, and with signals arriving faster than
        # snapshots end, they would pile up without end)
        if action == 0 and tm.is_tracing() and not nested:
            tracemalloc.take_snapshot().statistics('lineno')
        elif action == 1:
            tm.clear_traces()
        elif action == 2:
            tm.stop()
            tm.start(handler_rng.randrange(1, 26))
        elif action == 3:
            tm.reset_peak()
        elif action == 4:
            tm._get_object_traceback(kept[-1])

    for signum in (signal.SIGALRM, signal.SIGUSR1):
        signal.signal(signum, handler)
        # restart interrupted system calls, as the snapshot service does
        signal.siginterrupt(signum, False)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.0013)
    stop = threading.Event()

    def sender():
        pid = os.getpid()
        while not stop.is_set():
            os.kill(pid, signal.SIGUSR1)
            time.sleep(0.001)

    crowd = Crowd(rng, python_threads=1, native_threads=1)
    crowd.start()
    thread = threading.Thread(target=sender)
    thread.start()
    directory = tempfile.mkdtemp(prefix='stress-signals-')
    largest = 0
    try:
        for i in range(iterations):
            # Nothing of the last iteration's snapshots may live on into
            # this one's.  Each trace of a snapshot is a tuple, a traced
            # block itself: a snapshot taken while the last one lives holds
            # the last one's traces too, and while the loaded copy lives as
            # well, the count grows by the copy's at every iteration, more
            # than tenfold every ten.  Only the handlers' clear_traces() and
            # stop() kept that in check; when 2.7 stopped running them (see
            # run_lost_signal_handlers()), a round took millions of traces
            # and more than its 60 s.
            snapshot = loaded = None
            run_lost_signal_handlers()
            if not tm.is_tracing():
                tm.start(rng.randrange(1, 26))
            try:
                snapshot = tracemalloc.take_snapshot()
            except RuntimeError:
                continue    # a handler stopped tracing at the wrong time
            largest = max(largest, len(snapshot.traces))
            if len(snapshot.traces) > SIGNALS_MAX_TRACES:
                raise Failure('snapshot %d holds %d traces, the most of '
                              'them:\n%s' % (i, len(snapshot.traces),
                                             most_traces(snapshot)))
            snapshot.statistics(rng.choice(['lineno', 'traceback']))
            if i % 10 == 0:
                path = os.path.join(directory, 'snapshot-%d.pickle' % i)
                snapshot.dump(path)
                loaded = tracemalloc.Snapshot.load(path)
                expect(len(loaded.traces) == len(snapshot.traces),
                       'snapshot %d: %d traces written, %d loaded', i,
                       len(snapshot.traces), len(loaded.traces))
                os.unlink(path)
            traced, peak = tm.get_traced_memory()
            expect(peak >= traced, 'peak %d < traced %d', peak, traced)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        stop.set()
        thread.join()
        crowd.finish()
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        os.rmdir(directory)
    tm.stop()
    expect(inside[0] > 0, 'no signal arrived during a snapshot (%d '
           'handled)', handled[0])
    return ('signals handled %d, %d of them during a snapshot; at most '
            '%d traces in a snapshot' % (handled[0], inside[0], largest))


def scenario_service(rng, iterations):
    """Runs in a child started with the service's environment."""
    import _tracemalloc as tm
    import tracemalloc

    expect(tm.is_tracing(), 'PYTHONTRACEMALLOC did not start tracing')
    directory = os.environ['TRACEMALLOC_SNAPSHOT_DIR']
    crowd = Crowd(rng, python_threads=2, native_threads=1)
    crowd.start()
    pid = os.getpid()
    keep = []
    # each request may cost a whole snapshot in the main thread: the round
    # ends after 3 s whatever the number sent
    deadline = time.time() + 3.0
    sent = 0
    while sent < iterations and time.time() < deadline:
        os.kill(pid, signal.SIGUSR2)
        sent += 1
        for j in range(rng.randrange(1, 20)):
            keep.append([str(j)] * rng.randrange(1, 100))
        del keep[:-200]
        time.sleep(0.02)
    crowd.finish()
    return 'requests %d' % sent


def child_main(name, seed, iterations):
    signal.signal(signal.SIGPWR, support.dump_python_stacks)
    rng = random.Random(seed)
    sys.setcheckinterval(rng.choice([1, 10, 100]))
    try:
        detail = globals()['scenario_' + name](rng, iterations)
    except Failure as exc:
        print('FAILURE: %s' % exc)
        sys.stdout.flush()
        # other threads may wait for this one: do not wait for them
        os._exit(1)
    print('OK %s' % detail)
    return 0


# ===========================================================================
# In the parent: rounds of each scenario
# ===========================================================================

ITERATIONS = {'threads': 300, 'fork': 100, 'signals': 200, 'service': 300}


def check_service_files(directory):
    """Load every snapshot file the service wrote; return (count,
    problems)."""
    import tracemalloc
    problems = []
    names = sorted(name for name in os.listdir(directory)
                   if name.endswith('.pickle'))
    for name in names:
        try:
            snapshot = tracemalloc.Snapshot.load(os.path.join(directory,
                                                              name))
            snapshot.statistics('lineno')
        except Exception as exc:
            problems.append('%s: %s' % (name, exc))
    leftovers = [name for name in os.listdir(directory)
                 if not name.endswith('.pickle')]
    if leftovers:
        problems.append('files left behind: %s' % leftovers)
    return len(names), problems


def run_round(name, seed, helper_dir, iterations):
    """Run one round; return (problem or None, detail)."""
    argv = [sys.executable, THIS_FILE, '--child', name, '--seed', str(seed),
            '--iterations', str(iterations)]
    extra = {}
    directory = None
    if name == 'service':
        directory = tempfile.mkdtemp(prefix='stress-service-')
        extra = {'PYTHONTRACEMALLOC': '10',
                 'TRACEMALLOC_SNAPSHOT_DIR': directory,
                 'TRACEMALLOC_SNAPSHOT_INTERVAL': '0.2',
                 'TRACEMALLOC_SNAPSHOT_KEEP': '30',
                 'TRACEMALLOC_SNAPSHOT_AT_EXIT': '1'}
    env = support.child_env(helper_dir, **extra)
    status, output, timed_out = support.run_child(argv, env, ROUND_TIMEOUT)
    try:
        if timed_out:
            return 'hung (killed after %d s)' % ROUND_TIMEOUT, output
        lines = output.strip().splitlines()
        last = lines[-1] if lines else ''
        if status != 0 or not last.startswith('OK'):
            return support.describe_status(status), output
        detail = last[3:]
        if directory is not None:
            count, problems = check_service_files(directory)
            if problems or count < 2:
                return ('%d snapshot files: %s' % (count, problems),
                        output)
            detail += ', snapshot files %d' % count
            if output.count('\n') > 1:
                return 'unexpected output', output
        return None, detail
    finally:
        if directory is not None:
            for entry in os.listdir(directory):
                os.unlink(os.path.join(directory, entry))
            os.rmdir(directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=60,
                        help='total time, shared by the scenarios')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--iterations', type=int,
                        help='per round (default: per scenario)')
    parser.add_argument('--rounds', type=int,
                        help='exactly this many rounds per scenario')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('scenarios', nargs='*', metavar='SCENARIO')
    args = parser.parse_args()
    if args.child:
        return child_main(args.child, args.seed,
                          args.iterations or ITERATIONS[args.child])

    scenarios = args.scenarios or SCENARIOS
    for name in scenarios:
        if name not in SCENARIOS:
            parser.error('unknown scenario %r' % name)
    seed = support.make_seed(args.seed)
    rng = random.Random(seed)
    helper_dir = support.build_helpers(['_tracertest'])
    summary = support.Summary()
    print('stress: seed %d, %g s' % (seed, args.seconds))
    for index, name in enumerate(scenarios):
        budget = args.seconds / len(scenarios)
        deadline = time.time() + budget
        rounds = 0
        details = []
        problem = None
        while True:
            round_seed = rng.randrange(2 ** 31)
            iterations = args.iterations or ITERATIONS[name]
            problem, detail = run_round(name, round_seed, helper_dir,
                                        iterations)
            rounds += 1
            if problem:
                print('%s round %d (seed %d): %s\n%s' % (
                    name, rounds, round_seed, problem, detail.rstrip()))
                print('    run it alone: %s %s --child %s --seed %d '
                      '--iterations %d' % (sys.executable, THIS_FILE, name,
                                           round_seed, iterations))
                break
            details.append(detail)
            if args.rounds:
                if rounds >= args.rounds:
                    break
            elif time.time() >= deadline:
                break
        label = '%s: %d rounds of %d iterations' % (
            name, rounds, args.iterations or ITERATIONS[name])
        if problem:
            summary.fail(label, problem)
        else:
            summary.ok(label, details[-1] if details else '')
        sys.stdout.flush()
    return summary.finish()


if __name__ == '__main__':
    sys.exit(main())
