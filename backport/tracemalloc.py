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
  unicode so that Python 3's ``Snapshot.load`` can read the file.  The file
  also holds the snapshot's ``metadata`` attribute (a dict, with the file
  format version), which CPython's ``load()`` reads as a plain attribute.
  See tracemalloc_snapshot_file, which does the writing and reading.
* ``Snapshot.load()`` does not run arbitrary pickles: it only admits the
  classes a snapshot is made of, checks the shape of what it loaded, and
  raises ValueError naming the file for anything else (refused, corrupt,
  truncated, empty or newer-format files).
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

_NEEDS_PEP445 = ('_tracemalloc needs a Python interpreter patched with the '
                 'PEP 445 backport of tracemalloc-backport')

# Functions implemented in C: start(), stop(), is_tracing(), clear_traces(),
# get_traceback_limit(), get_traced_memory(), reset_peak(),
# get_tracemalloc_memory() and this backport's get_dropped_traces().
try:
    from _tracemalloc import *
    from _tracemalloc import _get_object_traceback, _get_traces
except ImportError as exc:
    # Built for a patched interpreter, loaded into a stock one: the dynamic
    # linker names a missing PEP 445 symbol.  Say what is wrong instead.
    if 'undefined symbol' not in str(exc):
        raise
    raise ImportError('%s (%s)' % (_NEEDS_PEP445, exc))

# Writing and safely reading snapshot files.
import tracemalloc_snapshot_file as _snapshot_file


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
        text = '%s:%s' % (self.filename, self.lineno)
        if not isinstance(text, str):
            # Python 2 and a unicode filename (snapshot files store
            # non-ASCII names as text): __str__ must return bytes.
            text = text.encode('utf-8')
        return text

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


class Snapshot(object):
    """The traces of all the memory blocks that were allocated and not yet
    freed at one moment, with the traceback limit in force then."""

    def __init__(self, traces, traceback_limit):
        # traces: list of raw (domain, size, frames, total_nframe) tuples,
        # see Trace.  Only 'traces' and 'traceback_limit' may be kept in
        # __dict__: that is the pickled state CPython expects.  Snapshots
        # loaded from a file may also have 'metadata' (a dict, which dump()
        # saves too).
        self.traces = _Traces(traces)
        self.traceback_limit = traceback_limit

    def dump(self, filename):
        """Save the snapshot to the file *filename*: a pickle, protocol 2,
        with the snapshot's metadata (see tracemalloc_snapshot_file)."""
        with open(filename, 'wb') as fp:
            _snapshot_file.write_snapshot(self, fp)

    @staticmethod
    def load(filename):
        """Read back a snapshot saved by dump() (here or by CPython).

        Raise ValueError if the file does not hold a tracemalloc snapshot:
        it is empty, truncated or corrupt, written in a newer format, or
        refers to anything but the classes of a snapshot (nothing it refers
        to is run).
        """
        return _snapshot_file.read_snapshot(filename, sys.modules[__name__])

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


def take_snapshot():
    """Return a Snapshot of the memory blocks traced so far.  Tracing must
    be on (see start())."""
    if not is_tracing():
        raise RuntimeError('the tracemalloc module must be tracing memory '
                           'allocations to take a snapshot')
    traces = _get_traces()
    traceback_limit = get_traceback_limit()
    return Snapshot(traces, traceback_limit)
