"""Snapshots of a running program, taken without touching its code.

The file tracemalloc-snapshots.pth, installed in site-packages, imports this
module at startup when TRACEMALLOC_SNAPSHOT_DIR is set, and calls
start_from_environment().  Tracing itself is started by the interpreter
(PYTHONTRACEMALLOC=N or -X tracemalloc=N), before site runs.

Environment variables:

TRACEMALLOC_SNAPSHOT_DIR
    Directory the snapshot files are written to (created if missing).
    Setting it turns the service on.
TRACEMALLOC_SNAPSHOT_SIGNAL
    Signal that asks for a snapshot: a name (USR2, SIGUSR2) or a number.
    Default SIGUSR2; "none" installs no handler.
TRACEMALLOC_SNAPSHOT_INTERVAL
    Also take a snapshot every this many seconds (a float).  Default: never.
TRACEMALLOC_SNAPSHOT_KEEP
    Keep at most this many files of this process: the first one (the
    baseline to compare with) and the newest.  Default: keep them all.
TRACEMALLOC_SNAPSHOT_AT_EXIT
    1: also take a snapshot when the program exits normally (atexit).

Where snapshots are taken:

* On a signal, by a Python-level handler.  CPython's C handler only sets a
  flag; the Python handler runs in the main thread between two bytecodes,
  a point where the program's objects are consistent.  So the snapshot is
  taken as soon as the main thread runs Python code: a main thread blocked
  for good in a C call (Python 2's Thread.join() without a timeout, for
  one) never gets there.  Interrupted system calls are restarted
  (siginterrupt(signum, False)): Python 2 code rarely retries on EINTR.
* Every TRACEMALLOC_SNAPSHOT_INTERVAL seconds, by a daemon thread that
  takes the snapshot itself.  take_snapshot() copies the traces with the
  GIL held and the tracer's lock taken; writing the file then releases the
  GIL between batches like any Python code.  So the program keeps running
  while the file is written, and a main thread stuck in C does not matter.
* At exit, from an atexit function, if TRACEMALLOC_SNAPSHOT_AT_EXIT=1.  A
  process killed by a signal (SIGTERM's default action, SIGKILL) does not
  run atexit functions.

One snapshot is written at a time; a request arriving meanwhile (a signal
in the middle of a periodic snapshot, say) is served by a new snapshot right
after.  Each file is written under a temporary name (a dot file in the same
directory) and renamed: a reader never sees a partial file.  Files are
created readable by their owner only: they hold the command line.

Errors (no such directory, no permission, disk full, tracing off) are
written once each to stderr, prefixed with "tracemalloc snapshots:", and
never raised into the program.

Runs on Python 2.7 and 3.x.
"""

import atexit
import errno
import os
import signal
import sys
import time

import tracemalloc_snapshot_file

_LOG_PREFIX = 'tracemalloc snapshots: '


class ConfigError(Exception):
    """An environment variable has a value that makes no sense."""


class Config(object):
    """The service's settings, read from the environment."""

    def __init__(self, directory, signum=None, interval=None, keep=None,
                 at_exit=False):
        self.directory = directory
        self.signum = signum
        self.interval = interval
        self.keep = keep
        self.at_exit = at_exit

    @classmethod
    def from_environment(cls, environ):
        directory = environ.get('TRACEMALLOC_SNAPSHOT_DIR')
        if not directory:
            raise ConfigError('TRACEMALLOC_SNAPSHOT_DIR is not set')
        return cls(
            directory=os.path.abspath(directory),
            signum=_parse_signal(environ.get('TRACEMALLOC_SNAPSHOT_SIGNAL',
                                             'SIGUSR2')),
            interval=_parse_number(environ, 'TRACEMALLOC_SNAPSHOT_INTERVAL',
                                   float),
            keep=_parse_number(environ, 'TRACEMALLOC_SNAPSHOT_KEEP', int),
            at_exit=_parse_flag('TRACEMALLOC_SNAPSHOT_AT_EXIT',
                                environ.get('TRACEMALLOC_SNAPSHOT_AT_EXIT')))


def _parse_signal(value):
    """A signal number from 'USR2', 'SIGUSR2' or '12'; None for 'none'."""
    value = value.strip()
    if value.lower() in ('', 'none', 'off'):
        return None
    if value.isdigit():
        signum = int(value)
    else:
        name = value.upper()
        if not name.startswith('SIG'):
            name = 'SIG' + name
        signum = getattr(signal, name, None)
        if not isinstance(signum, int) or name.startswith('SIG_'):
            raise ConfigError('TRACEMALLOC_SNAPSHOT_SIGNAL=%s: no such '
                              'signal' % value)
    if signum in (signal.SIGKILL, signal.SIGSTOP) or not 0 < signum < 65:
        raise ConfigError('TRACEMALLOC_SNAPSHOT_SIGNAL=%s: cannot handle '
                          'that signal' % value)
    return signum


def _parse_number(environ, name, kind):
    """A positive number from environ[name], or None when unset, empty or
    0."""
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError('%s=%s: not a number' % (name, value))
    if number < 0 or number != number:
        raise ConfigError('%s=%s: must be positive' % (name, value))
    return number or None


def _parse_flag(name, value):
    if value is None or value.strip().lower() in ('', '0', 'no', 'false'):
        return False
    if value.strip().lower() in ('1', 'yes', 'true'):
        return True
    raise ConfigError('%s=%s: use 1 or 0' % (name, value))


# ---------------------------------------------------------------------------
# Metadata: what the process looked like when the snapshot was taken

def _read_command_line():
    """The process's command line, interpreter included: /proc has it even
    before sys.argv is set."""
    try:
        with open('/proc/self/cmdline', 'rb') as fp:
            data = fp.read()
    except EnvironmentError:
        return list(getattr(sys, 'argv', []))
    args = data.split(b'\0')
    if args and not args[-1]:
        args.pop()
    if sys.version_info[0] >= 3:
        return [os.fsdecode(arg) for arg in args]
    return args


def _current_directory():
    """The working directory, which relative filenames in tracebacks are
    relative to (a program started as "python app.py" has "app.py")."""
    try:
        return os.getcwd()
    except EnvironmentError:
        return None


def _read_rss():
    """{'rss': bytes, 'rss_peak': bytes} from /proc/self/status, or {}."""
    fields = {'VmRSS:': 'rss', 'VmHWM:': 'rss_peak'}
    result = {}
    try:
        with open('/proc/self/status') as fp:
            for line in fp:
                parts = line.split()
                if len(parts) == 3 and parts[0] in fields and \
                        parts[2] == 'kB':
                    result[fields[parts[0]]] = int(parts[1]) * 1024
    except (EnvironmentError, ValueError):
        return {}
    return result


def _read_arena_stats():
    """pymalloc's arena statistics, from the patched interpreter, or None
    when the C module does not expose them."""
    try:
        import _tracemalloc
        get_arena_stats = _tracemalloc._get_arena_stats
    except (ImportError, AttributeError):
        return None
    return dict(get_arena_stats())


def collect_metadata(tracemalloc, reason, sequence):
    """The metadata saved with a snapshot (see the README for each key)."""
    current, peak = tracemalloc.get_traced_memory()
    metadata = {
        'time': time.time(),
        'pid': os.getpid(),
        'hostname': os.uname()[1],
        'argv': _read_command_line(),
        'cwd': _current_directory(),
        'python_version': sys.version.split()[0],
        'reason': reason,
        'sequence': sequence,
        'traced_memory': current,
        'traced_memory_peak': peak,
        'tracemalloc_memory': tracemalloc.get_tracemalloc_memory(),
    }
    if hasattr(tracemalloc, 'get_dropped_traces'):
        metadata['dropped_traces'] = tracemalloc.get_dropped_traces()
    metadata.update(_read_rss())
    arena_stats = _read_arena_stats()
    if arena_stats is not None:
        metadata['arena_stats'] = arena_stats
    return metadata


# ---------------------------------------------------------------------------
# Writing snapshot files

class SnapshotService(object):
    """Takes snapshots and writes them into one directory."""

    def __init__(self, config, tracemalloc=None, stderr=None):
        if tracemalloc is None:
            import tracemalloc
        self.config = config
        self._tracemalloc = tracemalloc
        self._stderr = stderr
        self._sequence = 0
        self._logged = set()
        # Requests not served yet (reasons); only the holder of _busy pops.
        self._pending = []
        # Held while a snapshot is written; never waited for (see
        # request()), so a signal handler running in the middle of a
        # snapshot cannot deadlock.
        self._busy = _allocate_lock()
        self._stopped = False

    def log_once(self, key, message):
        """Write *message* to stderr the first time *key* is seen."""
        if key in self._logged:
            return
        self._logged.add(key)
        stream = self._stderr or sys.stderr
        try:
            stream.write(_LOG_PREFIX + message + '\n')
            stream.flush()
        except Exception:
            pass

    def request(self, reason, wait=False):
        """Take a snapshot now, or have the snapshot being written be
        followed by another one.  Return the path written, or None.

        Never raises (short of KeyboardInterrupt/SystemExit).  With *wait*,
        wait for a snapshot being written by another thread instead (at
        exit: no other snapshot will follow).
        """
        self._pending.append(reason)
        path = None
        # The request is queued before trying the lock: either the lock is
        # free, or its holder sees the request after releasing it.  A caller
        # takes at most two snapshots (its own and one for what queued up
        # meanwhile): when snapshots take longer than the interval, serving
        # until nothing is pending would never return.  What is left waits
        # for the next request.
        rounds = 0
        while self._pending and rounds < 2:
            if not self._busy.acquire(wait):
                return path
            try:
                while self._pending and rounds < 2:
                    reasons = []
                    while self._pending:
                        reasons.append(self._pending.pop(0))
                    path = self._take(reasons[0])
                    rounds += 1
            finally:
                self._busy.release()
        return path

    def _take(self, reason):
        try:
            tracemalloc = self._tracemalloc
            if not tracemalloc.is_tracing():
                self.log_once('not tracing', 'tracemalloc is not tracing: '
                              'no snapshot taken (start the program with '
                              'PYTHONTRACEMALLOC=N, N frames per traceback)')
                return None
            self._sequence += 1
            # Measured before the snapshot, which takes memory too.
            metadata = collect_metadata(tracemalloc, reason, self._sequence)
            snapshot = tracemalloc.take_snapshot()
            path = self._write(snapshot, metadata)
            del snapshot
            if path is not None and self.config.keep:
                self._prune()
            return path
        except Exception as exc:
            self.log_once(('snapshot', type(exc).__name__),
                          'cannot take a snapshot: %s: %s'
                          % (type(exc).__name__, exc))
            return None

    def _write(self, snapshot, metadata):
        directory = self.config.directory
        name = tracemalloc_snapshot_file.snapshot_filename(
            metadata['pid'], metadata['sequence'], metadata['time'])
        path = os.path.join(directory, name)
        temporary = os.path.join(directory, '.%s.tmp' % name)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600)
            try:
                with os.fdopen(fd, 'wb') as fp:
                    tracemalloc_snapshot_file.write_snapshot(
                        snapshot, fp, metadata)
                os.rename(temporary, path)
            except BaseException:
                _remove(temporary)
                raise
        except EnvironmentError as exc:
            self.log_once(('write', exc.errno),
                          'cannot write a snapshot into %s: %s'
                          % (directory, exc.strerror or exc))
            return None
        return path

    def _prune(self):
        """Remove this process's files beyond config.keep: all but the
        first one and the newest."""
        directory = self.config.directory
        pid = os.getpid()
        own = []
        for name in os.listdir(directory):
            parsed = tracemalloc_snapshot_file.parse_snapshot_filename(name)
            if parsed is not None and parsed[0] == pid:
                own.append((parsed[1], name))
        own.sort()
        keep = self.config.keep
        if keep >= 2:
            doomed = own[1:len(own) - (keep - 1)]
        else:
            doomed = own[:-1]
        for sequence, name in doomed:
            try:
                os.remove(os.path.join(directory, name))
            except EnvironmentError as exc:
                if exc.errno != errno.ENOENT:
                    self.log_once(('prune', exc.errno),
                                  'cannot remove old snapshot %s: %s'
                                  % (name, exc.strerror or exc))

    # ---- triggers

    def install_signal_handler(self, signum):
        def on_signal(signum, frame):
            self.request('signal')
        signal.signal(signum, on_signal)
        signal.siginterrupt(signum, False)

    def start_interval_thread(self, interval):
        import threading
        thread = threading.Thread(target=self._interval_loop,
                                  args=(interval, time.sleep),
                                  name='tracemalloc-snapshots')
        thread.daemon = True
        thread.start()
        return thread

    def _interval_loop(self, interval, sleep):
        # A plain sleep: Python 2's Event.wait(timeout) polls 20 times a
        # second.  *sleep* is an argument: the time module may be torn down
        # at interpreter exit while this daemon thread still runs.
        try:
            while True:
                sleep(interval)
                if self._stopped:
                    return
                self.request('interval')
        except BaseException:
            # Interpreter shutdown: die quietly.
            return

    def at_exit(self):
        self._stopped = True
        if self.config.at_exit:
            self.request('exit', wait=True)

    def stop(self):
        self._stopped = True


def _allocate_lock():
    try:
        import thread as _thread
    except ImportError:  # Python 3
        import _thread
    return _thread.allocate_lock()


def _remove(path):
    try:
        os.remove(path)
    except EnvironmentError:
        pass


# The service of this process, once started.
service = None


def start(config, tracemalloc=None):
    """Start the service with *config*; return it."""
    global service
    new_service = SnapshotService(config, tracemalloc)
    if config.signum is not None:
        try:
            new_service.install_signal_handler(config.signum)
        except (ValueError, RuntimeError, EnvironmentError) as exc:
            # ValueError: not the main thread
            new_service.log_once('signal', 'cannot handle signal %i: %s'
                                 % (config.signum, exc))
    if config.interval:
        new_service.start_interval_thread(config.interval)
    atexit.register(new_service.at_exit)
    service = new_service
    return new_service


def start_from_environment(environ=None):
    """Entry point of tracemalloc-snapshots.pth: start the service as the
    environment says, write a line to stderr for a wrong setting.  Never
    raises."""
    if service is not None:
        return service
    if environ is None:
        environ = os.environ
    try:
        config = Config.from_environment(environ)
        return start(config)
    except ConfigError as exc:
        message = str(exc)
    except Exception as exc:
        message = 'cannot start: %s: %s' % (type(exc).__name__, exc)
    try:
        sys.stderr.write(_LOG_PREFIX + message + '\n')
    except Exception:
        pass
    return None
