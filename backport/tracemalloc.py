"""Trace memory blocks allocated by Python (backport of PEP 454).

This is the pure-Python half of ``tracemalloc``, with the public API of
CPython 3.13's standard library module, for Python 2.7 and 3.3.  The tracing
itself is done by the C module ``_tracemalloc``; this module turns the raw
tuples it returns into objects (Snapshot, Statistic, Traceback...) and
computes statistics on them.

Differences from the 3.13 standard library, all deliberate:

* ``get_dropped_traces()`` is an extension re-exported from ``_tracemalloc``:
  the number of memory blocks the tracer could not record because it could
  not allocate memory for their trace.  CPython never reports those.
* ``Snapshot.dump()`` writes pickle protocol 2, which every interpreter from
  2.7 on reads, instead of the highest protocol of the running interpreter.
  On Python 2, filenames that are non-ASCII byte strings are written as
  unicode so that Python 3's ``Snapshot.load`` can read the file.
* ``Snapshot.load()`` does not run arbitrary pickles: it only admits the
  classes a snapshot is made of, checks the shape of what it loaded, and
  raises ValueError naming the file for anything else (refused, corrupt,
  truncated or empty files).
* Filenames ending in ``.pyo`` (Python 2's optimized bytecode) are normalized
  to ``.py`` like ``.pyc`` ones.

The internal state of Snapshot, _Traces, Trace, Traceback and Frame is laid
out exactly as CPython 3.9+ lays it out, so that pickled snapshots move
freely between this module and the standard library one.
"""

from __future__ import division

import fnmatch
import linecache
import os.path
import sys

try:
    from collections.abc import Iterable, Sequence
except ImportError:  # Python 2
    from collections import Iterable, Sequence

# Python 2's cPickle is an order of magnitude faster than pickle.py; both
# dump the same protocol 2 stream.
try:
    import cPickle as _cpickle
except ImportError:  # Python 3: pickle already uses its C accelerator
    _cpickle = None
import pickle

try:
    import copyreg
except ImportError:  # Python 2
    import copy_reg as copyreg

# Functions implemented in C: start(), stop(), is_tracing(), clear_traces(),
# get_traceback_limit(), get_traced_memory(), reset_peak(),
# get_tracemalloc_memory() and this backport's get_dropped_traces().
from _tracemalloc import *
from _tracemalloc import _get_object_traceback, _get_traces


_PY2 = sys.version_info[0] == 2
if _PY2:
    _int_types = (int, long)  # noqa: F821 (Python 2 only)
    _str_types = (str, unicode)  # noqa: F821 (Python 2 only)
else:
    _int_types = (int,)
    _str_types = (str,)

# Protocol written by Snapshot.dump(): the highest one Python 2.7 can read.
_PICKLE_PROTOCOL = 2


def _format_size(size, sign):
    """Format a number of bytes for humans, e.g. "12.5 KiB".

    Plain bytes are shown as an integer up to 10 KiB; in the bigger units
    a value under 100 gets one decimal and a bigger one none.  TiB is the
    largest unit.  With *sign*, positive values get an explicit "+".
    """
    if sign:
        conversion = '%+'
    else:
        conversion = '%'
    units = ('B', 'KiB', 'MiB', 'GiB', 'TiB')
    for unit in units:
        if unit != 'B' and abs(size) < 100:
            return (conversion + '.1f %s') % (size, unit)
        if abs(size) < 10 * 1024 or unit == units[-1]:
            return (conversion + '.0f %s') % (size, unit)
        size /= 1024


def _ne_from_eq(eq_result):
    # Python 2 does not derive != from ==, so every class with __eq__ also
    # needs a __ne__; it must pass NotImplemented through untouched.
    if eq_result is NotImplemented:
        return NotImplemented
    return not eq_result


class Statistic(object):
    """Total size and number of the memory blocks allocated at one place
    (a Traceback)."""

    __slots__ = ('traceback', 'size', 'count')

    def __init__(self, traceback, size, count):
        self.traceback = traceback
        self.size = size
        self.count = count

    def __hash__(self):
        return hash((self.traceback, self.size, self.count))

    def __eq__(self, other):
        if not isinstance(other, Statistic):
            return NotImplemented
        return (self.traceback, self.size, self.count) == \
            (other.traceback, other.size, other.count)

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    def __str__(self):
        text = '%s: size=%s, count=%i' % (
            self.traceback, _format_size(self.size, False), self.count)
        if self.count:
            text += ', average=%s' % _format_size(self.size / self.count,
                                                  False)
        return text

    def __repr__(self):
        return '<Statistic traceback=%r size=%i count=%i>' % (
            self.traceback, self.size, self.count)

    def _sort_key(self):
        # Biggest first (the caller sorts in reverse); the traceback makes
        # the order total, hence the same on every interpreter.
        return (self.size, self.count, self.traceback)


class StatisticDiff(object):
    """How the Statistic of one place (a Traceback) changed between an old
    and a new Snapshot."""

    __slots__ = ('traceback', 'size', 'size_diff', 'count', 'count_diff')

    def __init__(self, traceback, size, size_diff, count, count_diff):
        self.traceback = traceback
        self.size = size
        self.size_diff = size_diff
        self.count = count
        self.count_diff = count_diff

    def _fields(self):
        return (self.traceback, self.size, self.size_diff,
                self.count, self.count_diff)

    def __hash__(self):
        return hash(self._fields())

    def __eq__(self, other):
        if not isinstance(other, StatisticDiff):
            return NotImplemented
        return self._fields() == other._fields()

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    def __str__(self):
        text = '%s: size=%s (%s), count=%i (%+i)' % (
            self.traceback,
            _format_size(self.size, False),
            _format_size(self.size_diff, True),
            self.count, self.count_diff)
        if self.count:
            text += ', average=%s' % _format_size(self.size / self.count,
                                                  False)
        return text

    def __repr__(self):
        return '<StatisticDiff traceback=%r size=%i (%+i) count=%i (%+i)>' % (
            self.traceback, self.size, self.size_diff,
            self.count, self.count_diff)

    def _sort_key(self):
        # The biggest changes first, whatever their direction.
        return (abs(self.size_diff), self.size,
                abs(self.count_diff), self.count,
                self.traceback)


def _compare_grouped_stats(old_group, new_group):
    """Turn two {Traceback: Statistic} dicts into a list of StatisticDiff.

    Consumes *old_group*: what is left in it once the new statistics are
    matched are the places that no longer allocate anything.
    """
    diffs = []
    for traceback, new in new_group.items():
        old = old_group.pop(traceback, None)
        if old is None:
            diffs.append(StatisticDiff(traceback, new.size, new.size,
                                       new.count, new.count))
        else:
            diffs.append(StatisticDiff(traceback,
                                       new.size, new.size - old.size,
                                       new.count, new.count - old.count))
    for traceback, old in old_group.items():
        diffs.append(StatisticDiff(traceback, 0, -old.size, 0, -old.count))
    return diffs


class Frame(object):
    """One place in the code: a filename and a line number."""

    # The raw (filename, lineno) tuple, as _tracemalloc returns it.
    __slots__ = ('_frame',)

    def __init__(self, frame):
        self._frame = frame

    @property
    def filename(self):
        return self._frame[0]

    @property
    def lineno(self):
        return self._frame[1]

    # Comparisons are written out rather than derived with
    # functools.total_ordering: the 2.7 and 3.3 versions of that decorator
    # mishandle NotImplemented.
    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame == other._frame

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    def __lt__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame < other._frame

    def __le__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame <= other._frame

    def __gt__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame > other._frame

    def __ge__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame >= other._frame

    def __hash__(self):
        return hash(self._frame)

    def __str__(self):
        return '%s:%s' % (self.filename, self.lineno)

    def __repr__(self):
        return '<Frame filename=%r lineno=%r>' % (self.filename, self.lineno)


class Traceback(Sequence):
    """The frames a memory block was allocated from, as a sequence of
    Frame objects: index 0 is the outermost (oldest) call, index -1 the
    line that did the allocation."""

    # _frames: tuple of raw (filename, lineno) tuples, OLDEST first.
    # _tracemalloc hands frames over most recent first; they are reversed
    # once here, as CPython 3.7+ does, so that indexing is plain.
    # _total_nframe: number of frames before the traceback was truncated to
    # the traceback limit, or None when unknown.
    __slots__ = ('_frames', '_total_nframe')

    def __init__(self, frames, total_nframe=None):
        self._frames = tuple(reversed(frames))
        self._total_nframe = total_nframe

    @property
    def total_nframe(self):
        return self._total_nframe

    def __len__(self):
        return len(self._frames)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple([Frame(frame) for frame in self._frames[index]])
        return Frame(self._frames[index])

    def __contains__(self, frame):
        return frame._frame in self._frames

    def __hash__(self):
        return hash(self._frames)

    def __eq__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames == other._frames

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    def __lt__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames < other._frames

    def __le__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames <= other._frames

    def __gt__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames > other._frames

    def __ge__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames >= other._frames

    def __str__(self):
        # The oldest frame, as CPython does.
        return str(self[0])

    def __repr__(self):
        if self._total_nframe is None:
            return '<Traceback %r>' % (tuple(self),)
        return '<Traceback %r total_nframe=%s>' % (tuple(self),
                                                   self._total_nframe)

    def format(self, limit=None, most_recent_first=False):
        """Format the traceback as a list of lines, like the traceback
        module: a '  File "...", line N' line per frame, followed by the
        stripped source line when linecache can find it.

        A positive *limit* keeps the *limit* most recent frames, a negative
        one drops the abs(*limit*) most recent frames (so 0 keeps none).
        """
        frames = self
        if limit is not None:
            if limit > 0:
                frames = self[-limit:]
            else:
                frames = self[:limit]
        if most_recent_first:
            frames = reversed(frames)

        lines = []
        for frame in frames:
            lines.append('  File "%s", line %s'
                         % (frame.filename, frame.lineno))
            source = linecache.getline(frame.filename, frame.lineno).strip()
            if source:
                lines.append('    %s' % source)
        return lines


def get_object_traceback(obj):
    """Return the Traceback of the allocation of the object *obj*, or None
    when that allocation was not traced (for instance because tracing was
    off at the time)."""
    frames = _get_object_traceback(obj)
    if frames is None:
        return None
    return Traceback(frames)


class Trace(object):
    """One traced memory block: its domain, size and Traceback."""

    # The raw (domain, size, frames, total_nframe) tuple from _tracemalloc,
    # frames most recent first.
    __slots__ = ('_trace',)

    def __init__(self, trace):
        self._trace = trace

    @property
    def domain(self):
        return self._trace[0]

    @property
    def size(self):
        return self._trace[1]

    @property
    def traceback(self):
        # total_nframe is absent from the 3-tuples of CPython 3.6-3.8.
        if len(self._trace) > 3:
            return Traceback(self._trace[2], self._trace[3])
        return Traceback(self._trace[2])

    def __eq__(self, other):
        if not isinstance(other, Trace):
            return NotImplemented
        return self._trace == other._trace

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    def __hash__(self):
        return hash(self._trace)

    def __str__(self):
        return '%s: %s' % (self.traceback, _format_size(self.size, False))

    def __repr__(self):
        return '<Trace domain=%s size=%s, traceback=%r>' % (
            self.domain, _format_size(self.size, False), self.traceback)


class _Traces(Sequence):
    """Sequence of Trace objects built lazily from the raw trace tuples."""

    # No __slots__: like CPython, the raw list lives in __dict__['_traces'],
    # which is what a pickled snapshot holds.
    def __init__(self, traces):
        self._traces = traces

    def __len__(self):
        return len(self._traces)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple([Trace(trace) for trace in self._traces[index]])
        return Trace(self._traces[index])

    def __contains__(self, trace):
        return trace._trace in self._traces

    def __eq__(self, other):
        if not isinstance(other, _Traces):
            return NotImplemented
        return self._traces == other._traces

    def __ne__(self, other):
        return _ne_from_eq(self.__eq__(other))

    # Mutable contents: unhashable on Python 2 as it is on Python 3.
    __hash__ = None

    def __repr__(self):
        return '<Traces len=%s>' % len(self)


def _normalize_filename(filename):
    """Make *filename* comparable: case-normalized on case-insensitive
    systems, and a compiled-bytecode name replaced by its source name."""
    filename = os.path.normcase(filename)
    if filename.endswith(('.pyc', '.pyo')):
        filename = filename[:-1]
    return filename


class BaseFilter(object):
    """Base class of the filters given to Snapshot.filter_traces()."""

    def __init__(self, inclusive):
        self.inclusive = inclusive

    def _match(self, trace):
        # trace: a raw (domain, size, frames, total_nframe) tuple.  Return
        # True to keep the trace.
        raise NotImplementedError


class Filter(BaseFilter):
    """Keep (*inclusive* true) or drop the traces allocated in a file whose
    name matches the fnmatch pattern *filename_pattern*, optionally only at
    line *lineno* and in domain *domain*.  Only the most recent frame is
    looked at, unless *all_frames* is true."""

    def __init__(self, inclusive, filename_pattern,
                 lineno=None, all_frames=False, domain=None):
        BaseFilter.__init__(self, inclusive)
        self._filename_pattern = _normalize_filename(filename_pattern)
        self.lineno = lineno
        self.all_frames = all_frames
        self.domain = domain

    @property
    def filename_pattern(self):
        return self._filename_pattern

    def _frame_matches(self, filename, lineno):
        # Does this frame match the pattern, ignoring self.inclusive?
        if not fnmatch.fnmatch(_normalize_filename(filename),
                               self._filename_pattern):
            return False
        return self.lineno is None or lineno == self.lineno

    def _match_traceback(self, frames):
        # frames: raw tuple, most recent first.
        if self.all_frames:
            matched = False
            for filename, lineno in frames:
                if self._frame_matches(filename, lineno):
                    matched = True
                    break
        else:
            filename, lineno = frames[0]
            matched = self._frame_matches(filename, lineno)
        if self.inclusive:
            return matched
        return not matched

    def _match(self, trace):
        domain, size, frames, total_nframe = trace
        keep = self._match_traceback(frames)
        if self.domain is None:
            return keep
        # With a domain, the filter only concerns that domain: an inclusive
        # filter needs both the frame and the domain to match, an exclusive
        # one drops only the matching frames of that domain.
        if self.inclusive:
            return keep and domain == self.domain
        return keep or domain != self.domain


class DomainFilter(BaseFilter):
    """Keep (*inclusive* true) or drop the traces of the address space
    *domain*."""

    def __init__(self, inclusive, domain):
        BaseFilter.__init__(self, inclusive)
        self._domain = domain

    @property
    def domain(self):
        return self._domain

    def _match(self, trace):
        matched = trace[0] == self._domain
        if self.inclusive:
            return matched
        return not matched


class _RefusedGlobal(Exception):
    """A pickle named a global outside _SAFE_GLOBALS."""


def _find_snapshot_global(module, name):
    try:
        return _SAFE_GLOBALS[(module, name)]
    except (KeyError, TypeError):
        # The names come from the file: keep the message a sane size.
        raise _RefusedGlobal(('%s.%s' % (module, name))[:200])


class _SnapshotUnpickler(pickle.Unpickler):
    """Unpickler that can only build tracemalloc snapshots."""

    def find_class(self, module, name):
        return _find_snapshot_global(module, name)


def _refuse_extension_code(unpickler):
    raise _RefusedGlobal('a copyreg extension code')


# The EXT1/EXT2/EXT4 opcodes name a global by a number registered with
# copyreg.add_extension().  Once such a global has been unpickled, every
# unpickler (cPickle and Python 3's C one included) takes it from
# copyreg's cache without calling find_class/find_global.  So when the
# process has registered extensions, snapshots are loaded by the
# pure-Python unpickler with those opcodes disabled; a snapshot never
# contains them.
if _PY2:
    _PurePythonUnpickler = pickle.Unpickler
else:
    _PurePythonUnpickler = pickle._Unpickler


class _NoExtensionUnpickler(_PurePythonUnpickler):
    """Slow unpickler that can only build tracemalloc snapshots, even when
    copyreg extensions are registered."""

    dispatch = dict(_PurePythonUnpickler.dispatch)
    # Keys are the opcode bytes: a 1-char str on Python 2, an int on 3.
    for _opcode in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = _refuse_extension_code
    del _opcode

    def find_class(self, module, name):
        return _find_snapshot_global(module, name)


def _extensions_registered():
    return bool(copyreg._inverted_registry or copyreg._extension_cache)


def _open_unpickler(fp):
    if _PY2:
        if _extensions_registered() or _cpickle is None:
            return _NoExtensionUnpickler(fp)
        # cPickle's Unpickler cannot be subclassed; it calls find_global
        # instead for every global (GLOBAL, INST and OBJ opcodes).
        unpickler = _cpickle.Unpickler(fp)
        unpickler.find_global = _find_snapshot_global
        return unpickler
    # Byte strings from Python 2 pickles become str: decode them as UTF-8
    # and keep undecodable bytes as surrogates, like filenames on POSIX.
    if _extensions_registered():
        unpickler_class = _NoExtensionUnpickler
    else:
        unpickler_class = _SnapshotUnpickler
    return unpickler_class(fp, encoding='utf-8', errors='surrogateescape')


def _describe_exception(exc):
    try:
        text = str(exc)
    except Exception:
        text = repr(exc)
    if text:
        return '%s: %s' % (type(exc).__name__, text)
    return type(exc).__name__


def _is_empty_file(fp):
    try:
        return os.fstat(fp.fileno()).st_size == 0
    except (EnvironmentError, AttributeError, ValueError):
        return False


def _frames_problem(frames):
    """Say what is wrong with a raw frames tuple, or return None."""
    if not isinstance(frames, tuple) or not frames:
        return 'frames must be a non-empty tuple'
    for frame in frames:
        if not (isinstance(frame, tuple) and len(frame) == 2
                and isinstance(frame[0], _str_types)
                and isinstance(frame[1], _int_types)):
            return 'a frame is not a (filename, lineno) tuple'
    return None


def _snapshot_problem(snapshot):
    """Say what is wrong with the structure of a loaded snapshot, or return
    None.  Catching it here gives an error naming the file instead of an
    obscure one in statistics() later."""
    if type(snapshot) is not Snapshot:
        return 'it holds a %s object, not a Snapshot' % (
            type(snapshot).__name__,)
    state = snapshot.__dict__
    traces = state.get('traces')
    if type(traces) is not _Traces:
        return 'Snapshot.traces is not a _Traces object'
    if not isinstance(state.get('traceback_limit'), _int_types):
        return 'Snapshot.traceback_limit is not an integer'
    raw = traces.__dict__.get('_traces')
    if not isinstance(raw, (list, tuple)):
        return 'Snapshot.traces._traces is not a list'
    # Tracebacks are shared between traces (pickle keeps the sharing), so
    # each distinct frames tuple is checked once; checked holds ids of
    # objects kept alive by the snapshot itself.
    checked = set()
    for index, trace in enumerate(raw):
        if not (isinstance(trace, tuple) and len(trace) == 4):
            return ('trace #%i is not a (domain, size, frames, total_nframe)'
                    ' tuple' % index)
        domain, size, frames, total_nframe = trace
        if not (isinstance(domain, _int_types)
                and isinstance(size, _int_types)
                and (total_nframe is None
                     or isinstance(total_nframe, _int_types))):
            return ('trace #%i has a non-integer domain, size or '
                    'total_nframe' % index)
        if id(frames) not in checked:
            problem = _frames_problem(frames)
            if problem is not None:
                return 'trace #%i: %s' % (index, problem)
            checked.add(id(frames))
    return None


def _decode_filename(filename):
    # Python 2 only: a non-ASCII byte string, which Python 3's default
    # unpickler (encoding='ASCII') refuses.  Decode it as the filesystem
    # would; if that fails (e.g. an ASCII locale over UTF-8 names), UTF-8
    # with replacement characters rather than an unreadable snapshot.
    encoding = sys.getfilesystemencoding() or 'utf-8'
    try:
        return filename.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return filename.decode('utf-8', 'replace')


def _portable_frames(frames):
    """Python 2: frames with non-ASCII byte-string filenames made unicode,
    or None when there is nothing to change."""
    changed = False
    result = []
    for frame in frames:
        # dump() must not choke on whatever a caller put in a snapshot:
        # anything but a (str, lineno) pair is left alone.
        if (isinstance(frame, tuple) and len(frame) == 2
                and isinstance(frame[0], str)):
            try:
                frame[0].decode('ascii')
            except UnicodeDecodeError:
                frame = (_decode_filename(frame[0]), frame[1])
                changed = True
        result.append(frame)
    if changed:
        return tuple(result)
    return None


class Snapshot(object):
    """The traces of all the memory blocks that were allocated and not yet
    freed at one moment, with the traceback limit in force then."""

    def __init__(self, traces, traceback_limit):
        # traces: list of raw (domain, size, frames, total_nframe) tuples,
        # see Trace.  Only 'traces' and 'traceback_limit' may be kept in
        # __dict__: that is the pickled state CPython expects.
        self.traces = _Traces(traces)
        self.traceback_limit = traceback_limit

    def _portable(self):
        """The snapshot to pickle: self, except on Python 2 when filenames
        must be made readable by Python 3 (see _portable_frames)."""
        if not _PY2:
            return self
        # id(original frames tuple) -> converted tuple, or None if it needs
        # no change: traces share frames tuples, convert each once.  The
        # ids stay valid as the snapshot keeps the tuples alive.
        converted = {}
        new_traces = None
        # dump() pickles whatever the snapshot holds; only convert the
        # expected layout.
        raw = getattr(getattr(self, 'traces', None), '_traces', None)
        if not isinstance(raw, (list, tuple)):
            return self
        for index, trace in enumerate(raw):
            if not (isinstance(trace, tuple) and len(trace) > 2
                    and isinstance(trace[2], tuple)):
                continue
            frames = trace[2]
            if id(frames) in converted:
                new_frames = converted[id(frames)]
            else:
                new_frames = _portable_frames(frames)
                converted[id(frames)] = new_frames
            if new_frames is not None:
                if new_traces is None:
                    new_traces = list(raw)
                new_traces[index] = trace[:2] + (new_frames,) + trace[3:]
        if new_traces is None:
            return self
        return Snapshot(new_traces, self.traceback_limit)

    def dump(self, filename):
        """Save the snapshot to the file *filename* (a pickle, protocol 2)."""
        snapshot = self._portable()
        with open(filename, 'wb') as fp:
            if _cpickle is not None:
                _cpickle.dump(snapshot, fp, _PICKLE_PROTOCOL)
            else:
                pickle.dump(snapshot, fp, _PICKLE_PROTOCOL)

    @staticmethod
    def load(filename):
        """Read back a snapshot saved by dump() (here or by CPython).

        Raise ValueError if the file does not hold a tracemalloc snapshot:
        it is empty, truncated or corrupt, or refers to anything but the
        classes of a snapshot (nothing it refers to is run).
        """
        error = None
        with open(filename, 'rb') as fp:
            try:
                snapshot = _open_unpickler(fp).load()
            except _RefusedGlobal as exc:
                error = ('refers to %s, which is not part of a tracemalloc '
                         'snapshot; refusing to load it' % exc.args[0])
            except EnvironmentError:
                # A real I/O error: let it through, like open() errors.
                raise
            except Exception as exc:
                # Bad data makes the unpickler raise about anything:
                # UnpicklingError, EOFError, ValueError, KeyError,
                # MemoryError for absurd lengths...
                if _is_empty_file(fp):
                    error = 'the file is empty'
                else:
                    error = ('the file is truncated or is not a pickle (%s)'
                             % _describe_exception(exc))
        # Raised outside the except clauses so that Python 3 does not chain
        # the unpickler's internal error to it.
        if error is None:
            problem = _snapshot_problem(snapshot)
            if problem is not None:
                error = 'it is not a tracemalloc snapshot: %s' % problem
        if error is not None:
            raise ValueError('cannot load tracemalloc snapshot %r: %s'
                             % (filename, error))
        return snapshot

    def _filter_trace(self, include_filters, exclude_filters, trace):
        # Keep a trace matched by at least one inclusive filter (if there is
        # any) and kept by every exclusive one.
        if include_filters:
            for trace_filter in include_filters:
                if trace_filter._match(trace):
                    break
            else:
                return False
        for trace_filter in exclude_filters:
            if not trace_filter._match(trace):
                return False
        return True

    def filter_traces(self, filters):
        """Return a new Snapshot with only the traces that *filters* (an
        iterable of BaseFilter objects such as Filter and DomainFilter)
        keep: those matched by at least one inclusive filter, if any, and
        by none of the exclusive ones.  No filters: a copy of all traces."""
        if not isinstance(filters, Iterable):
            raise TypeError('filters must be a list of filters, not %s'
                            % type(filters).__name__)
        filters = list(filters)
        if not filters:
            return Snapshot(list(self.traces._traces), self.traceback_limit)
        include_filters = [f for f in filters if f.inclusive]
        exclude_filters = [f for f in filters if not f.inclusive]
        kept = [trace for trace in self.traces._traces
                if self._filter_trace(include_filters, exclude_filters,
                                      trace)]
        return Snapshot(kept, self.traceback_limit)

    def _group_by(self, key_type, cumulative):
        """Return {Traceback: Statistic} for the grouping *key_type*."""
        if key_type not in ('traceback', 'filename', 'lineno'):
            raise ValueError('unknown key_type: %r' % (key_type,))
        if cumulative and key_type not in ('lineno', 'filename'):
            # The wording, typo included, is CPython's.
            raise ValueError('cumulative mode cannot by used '
                             'with key type %r' % key_type)

        stats = {}
        # Many traces share a frames tuple (or a frame): remember the key
        # Traceback built for each to avoid building it again.
        keys = {}

        def add(raw_key, size):
            try:
                traceback = keys[raw_key]
            except KeyError:
                traceback = keys[raw_key] = Traceback(
                    _group_key_frames(key_type, cumulative, raw_key))
            stat = stats.get(traceback)
            if stat is None:
                stats[traceback] = Statistic(traceback, size, 1)
            else:
                stat.size += size
                stat.count += 1

        for trace in self.traces._traces:
            size = trace[1]
            frames = trace[2]
            if cumulative:
                # Every frame of the traceback gets the whole block, so a
                # file or line shows up as often as it appears (as CPython).
                for frame in frames:
                    add(frame, size)
            else:
                add(frames, size)
        return stats

    def statistics(self, key_type, cumulative=False):
        """Return a list of Statistic, biggest first, summing the traces
        by *key_type*: 'filename', 'lineno' or 'traceback'.  *cumulative*
        counts each block for every frame of its traceback instead of only
        the most recent one."""
        statistics = list(self._group_by(key_type, cumulative).values())
        statistics.sort(key=Statistic._sort_key, reverse=True)
        return statistics

    def compare_to(self, old_snapshot, key_type, cumulative=False):
        """Return a list of StatisticDiff describing what changed since
        *old_snapshot*, biggest change first; *key_type* and *cumulative*
        as for statistics()."""
        new_group = self._group_by(key_type, cumulative)
        old_group = old_snapshot._group_by(key_type, cumulative)
        statistics = _compare_grouped_stats(old_group, new_group)
        statistics.sort(key=StatisticDiff._sort_key, reverse=True)
        return statistics


def _group_key_frames(key_type, cumulative, raw_key):
    """Raw frames (most recent first) of the Traceback a trace is grouped
    under.  raw_key is a single frame in cumulative mode, else the trace's
    frames tuple."""
    if cumulative:
        frame = raw_key
    elif key_type == 'traceback':
        return raw_key
    else:
        frame = raw_key[0]  # the most recent frame
    if key_type == 'lineno':
        return (frame,)
    return ((frame[0], 0),)  # 'filename': the line does not matter


# The only globals a pickled snapshot may name.  Protocol 2 and later only
# name Snapshot and _Traces (objects are rebuilt with the NEWOBJ opcode);
# protocols 0 and 1, which someone may have used to pickle a snapshot by
# hand, rebuild them with copyreg._reconstructor(cls, object, None).
# _reconstructor only calls __new__/__init__ of the classes it is given, and
# those can only come from this same table.  Module names are the raw ones
# in the stream: Python 3's renaming of Python 2 modules happens inside the
# default find_class, which is replaced here.  The table maps to this
# module's own classes, whatever name it was imported under.
_SAFE_GLOBALS = {
    ('tracemalloc', 'Snapshot'): Snapshot,
    ('tracemalloc', '_Traces'): _Traces,
    ('copy_reg', '_reconstructor'): copyreg._reconstructor,
    ('copyreg', '_reconstructor'): copyreg._reconstructor,
    ('__builtin__', 'object'): object,
    ('builtins', 'object'): object,
}


def take_snapshot():
    """Return a Snapshot of the memory blocks traced so far.  Tracing must
    be on (see start())."""
    if not is_tracing():
        raise RuntimeError('the tracemalloc module must be tracing memory '
                           'allocations to take a snapshot')
    traces = _get_traces()
    traceback_limit = get_traceback_limit()
    return Snapshot(traces, traceback_limit)
