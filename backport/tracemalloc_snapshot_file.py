"""Snapshot files: tracemalloc snapshots written to disk and read back safely.

A snapshot file is a pickle, protocol 2, of a ``tracemalloc.Snapshot``:
exactly what CPython 3.9+'s ``tracemalloc.Snapshot.load()`` reads, and what
Python 2.7 can read.  The pickle names two globals only,
``tracemalloc.Snapshot`` and ``tracemalloc._Traces``; everything else in it
is a builtin (tuples, lists, dicts, strings, numbers, None).

Format version 1 adds one thing to the state that CPython pickles: a
``metadata`` entry in the Snapshot's ``__dict__``, a dict of builtins that
always holds ``format_version`` (an int) and, for snapshots taken by the
snapshot service, when and where the snapshot was taken (see
tracemalloc_snapshot_service).  The standard library never looks at it: its
``load()`` just gives the snapshot a ``metadata`` attribute.  A file without
metadata is a plain pickled snapshot (the standard library's, or one written
by hand) and is read as well.

Writing (write_snapshot) streams the pickle: the traces are encoded and
written in batches, never copied, and the pickle memo is kept for what is
shared, not for every trace.  Equal tracebacks, frames and filenames are
written once and referred to afterwards, even when the traces hold distinct
but equal tuples: the file stays small and quick to load with a million
traces.

Reading (read_snapshot) does not run what it reads: the unpickler only
admits the globals of a snapshot, the structure is checked once loaded, and
every problem raises SnapshotFileError (a ValueError) naming the file.

This module does not import ``tracemalloc``: its users give it the module
whose classes snapshots are built with (the backport's on Python 2, the
standard library's on Python 3).  It runs on Python 2.7 and 3.x.
"""

import io
import os
import pickle
import re
import struct
import sys
import time

try:
    import copyreg
except ImportError:  # Python 2
    import copy_reg as copyreg

# Python 2's cPickle is an order of magnitude faster than pickle.py.
try:
    import cPickle as _cpickle
except ImportError:  # Python 3: pickle already uses its C accelerator
    _cpickle = None

_PY2 = sys.version_info[0] == 2
_PY3_3 = sys.version_info[:2] == (3, 3)
if _PY2:
    _int_types = (int, long)  # noqa: F821 (Python 2 only)
    _str_types = (str, unicode)  # noqa: F821 (Python 2 only)
    _text_type = unicode  # noqa: F821 (Python 2 only)
else:
    _int_types = (int,)
    _str_types = (str,)
    _text_type = str

# The version of the format written here; files with a higher one are
# refused with a message saying so.
FORMAT_VERSION = 1

# The pickle protocol written: the highest one Python 2.7 reads.
PICKLE_PROTOCOL = 2


class SnapshotFileError(ValueError):
    """A file is not a tracemalloc snapshot this module can read."""

    def __init__(self, filename, problem):
        ValueError.__init__(self, 'cannot load tracemalloc snapshot %r: %s'
                            % (filename, problem))
        self.filename = filename
        self.problem = problem


# Names of the files written by the snapshot service: the process id, the
# process's sequence number (from 1), and the UTC time.  Sorting the names
# of one process by sequence number gives the series in the order taken.
_SNAPSHOT_NAME = re.compile(
    r'^tracemalloc-(?P<pid>[0-9]+)-(?P<sequence>[0-9]+)-'
    r'(?P<time>[0-9]{8}T[0-9]{6}Z)\.pickle$')


def snapshot_filename(pid, sequence, when):
    """The name of a snapshot file, e.g.
    'tracemalloc-4242-0003-20240131T235959Z.pickle'."""
    return 'tracemalloc-%i-%04i-%s.pickle' % (
        pid, sequence, time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when)))


def parse_snapshot_filename(name):
    """(pid, sequence) of a snapshot file name, or None for other names."""
    match = _SNAPSHOT_NAME.match(name)
    if match is None:
        return None
    return int(match.group('pid')), int(match.group('sequence'))


def snapshot_metadata(snapshot):
    """The metadata dict of a loaded or taken snapshot ({} if none)."""
    metadata = getattr(snapshot, 'metadata', None)
    if isinstance(metadata, dict):
        return metadata
    return {}


# ==========================================================================
# Writing
# ==========================================================================

# Opcodes of pickle protocol 2 written by hand (see pickletools).
_PROTO_2 = b'\x80\x02'
_STOP = b'.'
_MARK = b'('
_EMPTY_TUPLE = b')'
_EMPTY_LIST = b']'
_EMPTY_DICT = b'}'
_NEWOBJ = b'\x81'
_BUILD = b'b'
_SETITEMS = b'u'
_APPENDS = b'e'
_TUPLE = b't'
_TUPLE_N = (_EMPTY_TUPLE, b'\x85', b'\x86', b'\x87')  # () TUPLE1..3
_NONE = b'N'
_SNAPSHOT_CLASS = b'ctracemalloc\nSnapshot\n'
_TRACES_CLASS = b'ctracemalloc\n_Traces\n'

# Traces per APPENDS batch, as pickle does: it bounds the unpickler's stack
# and the size of each write.
_BATCH_SIZE = 1000

# Integers encoded so far, by value: sizes and line numbers repeat a lot.
# Past this many, new ones are encoded every time.
_MAX_CACHED_INTS = 1 << 16

_BYTES_HAVE_FORMAT = hasattr(bytes, '__mod__')

# Exact types (no subclasses such as bool) that the fast path encodes.
_INT_TYPES = frozenset(_int_types)
_STR_TYPES = frozenset(_str_types)
_ATOM_TYPES = _INT_TYPES | frozenset([type(None)])


def _encode_int(value):
    if 0 <= value < 0x100:
        return b'K' + struct.pack('<B', value)              # BININT1
    if 0 <= value < 0x10000:
        return b'M' + struct.pack('<H', value)              # BININT2
    if -0x80000000 <= value < 0x80000000:
        return b'J' + struct.pack('<i', value)              # BININT
    data = pickle.encode_long(value)
    if len(data) < 0x100:
        return b'\x8a' + struct.pack('<B', len(data)) + data  # LONG1
    return b'\x8b' + struct.pack('<i', len(data)) + data      # LONG4


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


def _encode_text(text):
    """The opcode for a string that every reader gets as a native string:
    an ASCII byte string (Python 2 str) as SHORT_BINSTRING/BINSTRING, which
    Python 3 decodes as ASCII; anything else as BINUNICODE."""
    if _PY2 and isinstance(text, str):
        try:
            text.decode('ascii')
        except UnicodeDecodeError:
            text = _decode_filename(text)
        else:
            if len(text) < 0x100:
                return b'U' + struct.pack('<B', len(text)) + text
            return b'T' + struct.pack('<i', len(text)) + text
    if _PY2:
        data = text.encode('utf-8')
    else:
        # Undecodable filenames are surrogate-escaped: keep them as pickle
        # does.
        data = text.encode('utf-8', 'surrogatepass')
    return b'X' + struct.pack('<I', len(data)) + data


def _portable(value):
    """A metadata value with every Python 2 non-ASCII byte string made
    unicode (Python 3 could not load it)."""
    if _PY2 and isinstance(value, str):
        try:
            value.decode('ascii')
        except UnicodeDecodeError:
            return _decode_filename(value)
        return value
    if isinstance(value, dict):
        return dict((_portable(key), _portable(item))
                    for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_portable(item) for item in value)
    return value


def _pickle_inline(obj):
    """Opcodes that push *obj* on the unpickler's stack, for the odd things
    the fast path below does not handle (metadata, malformed traces).

    A pickler in "fast" mode writes no memo PUT/GET: its opcodes can be
    dropped in the middle of the stream without clashing with its memo
    indexes."""
    buffer = io.BytesIO()
    if _cpickle is not None:
        pickler = _cpickle.Pickler(buffer, PICKLE_PROTOCOL)
    else:
        pickler = pickle.Pickler(buffer, PICKLE_PROTOCOL)
    pickler.fast = True
    pickler.dump(obj)
    data = buffer.getvalue()
    # PROTO 2 ... STOP
    return data[2:-1]


def _is_frame(frame):
    """Is *frame* a (filename, lineno) tuple of exact types (and so
    hashable)?"""
    return (type(frame) is tuple and len(frame) == 2
            and type(frame[0]) in _STR_TYPES
            and type(frame[1]) in _INT_TYPES)


class _StreamingWriter(object):
    """Writes the pickle of one snapshot to a binary file, trace by trace.

    Tracebacks, frames and filenames are interned by value: the first
    occurrence is written with a memo PUT, the next ones as a memo GET.
    Traces themselves are not memoized (each appears once), so the pickler
    keeps no reference to them and the memo stays as small as the number of
    distinct tracebacks.
    """

    def __init__(self, fp):
        self._write = fp.write
        self._memo_size = 0
        # Encoded ints (and None), by value.
        self._atoms = {None: _NONE}
        # Memo GET opcodes by value: filename -> GET, (filename, lineno) ->
        # GET, frames tuple -> GET.
        self._filenames = {}
        self._frames = {}
        self._tracebacks = {}
        # id(frames tuple) -> (the tuple, its GET): the traces of one
        # traceback usually share one tuple, which makes this the fast
        # path; the tuple is kept so that its id cannot be reused.
        self._tracebacks_by_id = {}

    # ---- memo

    def _memoize(self):
        """Return (PUT, GET) opcodes for the next memo index."""
        index = self._memo_size
        self._memo_size += 1
        if index < 0x100:
            return (b'q' + struct.pack('<B', index),       # BINPUT
                    b'h' + struct.pack('<B', index))       # BINGET
        return (b'r' + struct.pack('<I', index),           # LONG_BINPUT
                b'j' + struct.pack('<I', index))           # LONG_BINGET

    # ---- values

    def _atom(self, value):
        """Opcode for an int or None, or None for anything else."""
        if type(value) not in _ATOM_TYPES:
            return None
        code = self._atoms.get(value)
        if code is None:
            code = _encode_int(value)
            if len(self._atoms) < _MAX_CACHED_INTS:
                self._atoms[value] = code
        return code

    def _filename(self, filename):
        get = self._filenames.get(filename)
        if get is not None:
            return get
        put, get = self._memoize()
        self._filenames[filename] = get
        return _encode_text(filename) + put

    def _frame(self, frame):
        """Opcodes for a (filename, lineno) tuple (see _is_frame)."""
        get = self._frames.get(frame)
        if get is not None:
            return get
        code = self._filename(frame[0]) + self._atom(frame[1]) + _TUPLE_N[2]
        put, get = self._memoize()
        self._frames[frame] = get
        return code + put

    def _traceback(self, frames):
        """Opcodes for a frames tuple, or None if it is not a tuple of
        frames."""
        entry = self._tracebacks_by_id.get(id(frames))
        if entry is not None and entry[0] is frames:
            return entry[1]
        # Everything is checked before anything is memoized: a memo entry
        # whose PUT is not written would make later GETs dangle.
        if type(frames) is not tuple or not frames:
            return None
        for frame in frames:
            if not _is_frame(frame):
                return None
        get = self._tracebacks.get(frames)
        if get is None:
            codes = [self._frame(frame) for frame in frames]
            if len(frames) <= 3:
                code = b''.join(codes) + _TUPLE_N[len(frames)]
            else:
                code = _MARK + b''.join(codes) + _TUPLE
            put, get = self._memoize()
            self._tracebacks[frames] = get
            code += put
        else:
            code = get
        self._tracebacks_by_id[id(frames)] = (frames, get)
        return code

    def _trace(self, trace):
        """Opcodes for a (domain, size, frames, total_nframe) tuple; a trace
        of any other shape is pickled as it is."""
        if type(trace) is tuple and len(trace) == 4:
            domain = self._atom(trace[0])
            size = self._atom(trace[1])
            total_nframe = self._atom(trace[3])
            if (domain is not None and size is not None
                    and total_nframe is not None):
                frames = self._traceback(trace[2])
                if frames is not None:
                    return (_MARK + domain + size + frames + total_nframe
                            + _TUPLE)
        return _pickle_inline(trace)

    # ---- the snapshot

    def _traces(self, traces):
        """Write a list of traces as EMPTY_LIST, then MARK ... APPENDS
        batches."""
        self._write(_EMPTY_LIST)
        # The loop of this module that runs a million times: _trace()
        # inlined for the common case, a known traceback and cached ints.
        atom = self._atoms.get
        known_traceback = self._tracebacks_by_id.get
        atom_types = _ATOM_TYPES
        # bytes % is the quickest, where there is one (not in 3.3-3.4).
        trace_format = _MARK + b'%s%s%s%s' + _TUPLE
        join = b''.join
        has_format = _BYTES_HAVE_FORMAT
        encode = self._trace
        for start in range(0, len(traces), _BATCH_SIZE):
            batch = []
            append = batch.append
            for trace in traces[start:start + _BATCH_SIZE]:
                if type(trace) is tuple and len(trace) == 4:
                    domain, size, frames, total_nframe = trace
                    entry = known_traceback(id(frames))
                    if (entry is not None and entry[0] is frames
                            and type(domain) in atom_types
                            and type(size) in atom_types
                            and type(total_nframe) in atom_types):
                        domain = atom(domain)
                        size = atom(size)
                        total_nframe = atom(total_nframe)
                        if domain and size and total_nframe:
                            if has_format:
                                append(trace_format % (domain, size,
                                                       entry[1],
                                                       total_nframe))
                            else:
                                append(join((_MARK, domain, size, entry[1],
                                             total_nframe, _TUPLE)))
                            continue
                append(encode(trace))
            self._write(_MARK + b''.join(batch) + _APPENDS)

    def write(self, state, traces, metadata):
        """Write the snapshot whose __dict__ is *state*, with the raw trace
        list *traces* (its traces._traces) and *metadata*."""
        self._write(_PROTO_2 + _SNAPSHOT_CLASS + _EMPTY_TUPLE + _NEWOBJ
                    + _EMPTY_DICT + _MARK)
        # metadata first: a reader of a damaged file learns the version
        # before the traces go wrong.
        self._write(_encode_text('metadata') + _pickle_inline(metadata))
        for key, value in sorted(state.items()):
            if key in ('traces', 'metadata'):
                continue
            code = self._atom(value)
            if code is None:
                code = _pickle_inline(value)
            self._write(_encode_text(key) + code)
        self._write(_encode_text('traces') + _TRACES_CLASS + _EMPTY_TUPLE
                    + _NEWOBJ + _EMPTY_DICT + _MARK
                    + _encode_text('_traces'))
        self._traces(traces)
        self._write(_SETITEMS + _BUILD       # _Traces
                    + _SETITEMS + _BUILD     # Snapshot
                    + _STOP)


def _streamable_state(snapshot):
    """Return (state, raw traces) if the snapshot has the layout of a
    tracemalloc Snapshot, else None."""
    state = getattr(snapshot, '__dict__', None)
    if not isinstance(state, dict) or type(snapshot).__name__ != 'Snapshot':
        return None
    traces = state.get('traces')
    if type(traces).__name__ != '_Traces':
        return None
    traces_state = getattr(traces, '__dict__', None)
    if not isinstance(traces_state, dict) or list(traces_state) != ['_traces']:
        return None
    raw = traces_state['_traces']
    if not isinstance(raw, (list, tuple)):
        return None
    for key in state:
        if not isinstance(key, str):
            return None
    return state, raw


def write_snapshot(snapshot, fp, metadata=None):
    """Write *snapshot* to the binary file object *fp*.

    The file gets the snapshot's own metadata (its ``metadata`` attribute,
    if any) updated with *metadata* and the format version.  A snapshot
    that does not have the layout of a tracemalloc Snapshot is pickled as
    it is (protocol 2).
    """
    streamable = _streamable_state(snapshot)
    if streamable is None:
        if _cpickle is not None:
            _cpickle.dump(snapshot, fp, PICKLE_PROTOCOL)
        else:
            pickle.dump(snapshot, fp, PICKLE_PROTOCOL)
        return
    state, raw = streamable
    all_metadata = dict(snapshot_metadata(snapshot))
    all_metadata.update(metadata or {})
    all_metadata['format_version'] = FORMAT_VERSION
    _StreamingWriter(fp).write(state, raw, _portable(all_metadata))


# ==========================================================================
# Reading
# ==========================================================================

class _RefusedGlobal(Exception):
    """A pickle named a global that a snapshot does not contain.  Its
    `line` is the GLOBAL opcode's argument as it is in the file (bytes),
    when it came from one."""

    line = None


def _safe_globals(module):
    """The only globals a pickled snapshot may name, mapped to the classes
    of *module* (a tracemalloc module).

    Protocol 2 and later only name Snapshot and _Traces (objects are rebuilt
    with the NEWOBJ opcode); protocols 0 and 1, which someone may have used
    to pickle a snapshot by hand, rebuild them with
    copyreg._reconstructor(cls, object, None).  _reconstructor only calls
    __new__/__init__ of the classes it is given, and those can only come
    from this same table.  Module names are the raw ones in the stream:
    Python 3's renaming of Python 2 modules happens inside the default
    find_class, which is replaced here."""
    return {
        ('tracemalloc', 'Snapshot'): module.Snapshot,
        ('tracemalloc', '_Traces'): module._Traces,
        ('copy_reg', '_reconstructor'): copyreg._reconstructor,
        ('copyreg', '_reconstructor'): copyreg._reconstructor,
        ('__builtin__', 'object'): object,
        ('builtins', 'object'): object,
    }


def _global_finder(safe_globals):
    def find_global(module, name):
        try:
            return safe_globals[(module, name)]
        except (KeyError, TypeError):
            # The names come from the file: keep the message a sane size.
            exc = _RefusedGlobal(('%s.%s' % (module, name))[:200])
            try:
                exc.line = ('%s\n%s\n' % (module, name)).encode('utf-8')
            except (TypeError, UnicodeError):
                pass
            raise exc
    return find_global


def _refuse_extension_code(unpickler):
    raise _RefusedGlobal('a copyreg extension code')


# The EXT1/EXT2/EXT4 opcodes name a global by a number registered with
# copyreg.add_extension().  Once such a global has been unpickled, every
# unpickler (cPickle and Python 3's C one included) takes it from copyreg's
# cache without calling find_class/find_global.  So when the process has
# registered extensions, snapshots are loaded by the pure-Python unpickler
# with those opcodes disabled; a snapshot never contains them.
if _PY2:
    _PurePythonUnpickler = pickle.Unpickler
else:
    _PurePythonUnpickler = pickle._Unpickler


class _NoExtensionUnpickler(_PurePythonUnpickler):
    """Slow unpickler that only admits the globals it is given, even when
    copyreg extensions are registered."""

    dispatch = dict(_PurePythonUnpickler.dispatch)
    # Keys are the opcode bytes: a 1-char str on Python 2, an int on 3.
    for _opcode in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = _refuse_extension_code
    del _opcode

    def find_class(self, module, name):
        return self.find_global(module, name)


if not _PY2:
    class _SafeUnpickler(pickle.Unpickler):
        """Python 3's C unpickler, only admitting the globals it is
        given."""

        def find_class(self, module, name):
            return self.find_global(module, name)


def _extensions_registered():
    return bool(copyreg._inverted_registry or copyreg._extension_cache)


def _open_unpickler(fp, find_global):
    if _PY2:
        if _extensions_registered() or _cpickle is None:
            unpickler = _NoExtensionUnpickler(fp)
        else:
            # cPickle's Unpickler cannot be subclassed; it calls
            # find_global for every global (GLOBAL, INST and OBJ opcodes).
            unpickler = _cpickle.Unpickler(fp)
        unpickler.find_global = find_global
        return unpickler
    # Byte strings from Python 2 pickles become str: decode them as UTF-8
    # and keep undecodable bytes as surrogates, like filenames on POSIX.
    if _extensions_registered():
        unpickler_class = _NoExtensionUnpickler
    else:
        unpickler_class = _SafeUnpickler
    unpickler = unpickler_class(fp, encoding='utf-8',
                                errors='surrogateescape')
    unpickler.find_global = find_global
    return unpickler


def _describe_exception(exc):
    try:
        text = str(exc)
    except Exception:
        text = repr(exc)
    if text:
        return '%s: %s' % (type(exc).__name__, text)
    return type(exc).__name__


def _global_cut_by_end(fp, exc):
    """Python 3.3's C unpickler also reads a GLOBAL cut by the end of the
    file as a shorter name, but it reads ahead: the file itself tells
    whether the two lines of the refused global are in it, whole."""
    if exc.line is None:
        return False
    fp.seek(0)
    return exc.line not in fp.read()


def _is_empty_file(fp):
    try:
        return os.fstat(fp.fileno()).st_size == 0
    except (EnvironmentError, AttributeError, ValueError):
        return False


def _pickle_protocol(fp):
    """The protocol announced by the PROTO opcode at the start of the file,
    or None; the file position is left at the start."""
    head = fp.read(2)
    fp.seek(0)
    if len(head) == 2 and head[:1] == b'\x80':
        return struct.unpack('<B', head[1:2])[0]
    return None


def _frames_problem(frames):
    """Say what is wrong with a raw frames tuple, or return None."""
    if not isinstance(frames, tuple) or not frames:
        return 'frames must be a non-empty tuple'
    for frame in frames:
        if not (isinstance(frame, tuple) and len(frame) == 2
                and isinstance(frame[0], _str_types)
                and isinstance(frame[1], _int_types)):
            return 'a frame is not a (filename, lineno) tuple'
        if '\0' in frame[0]:
            # compile() refuses such names: no real frame has one
            return 'a filename holds a NUL byte'
    return None


def _metadata_problem(state):
    if 'metadata' not in state:
        return None
    metadata = state['metadata']
    if not isinstance(metadata, dict):
        return 'its metadata is not a dict'
    version = metadata.get('format_version')
    if not isinstance(version, _int_types) or isinstance(version, bool):
        return 'its metadata has no format version'
    return None


def _snapshot_problem(snapshot, module):
    """Say what is wrong with the structure of a loaded snapshot, or return
    None.  Catching it here gives an error naming the file instead of an
    obscure one in statistics() later."""
    if type(snapshot) is not module.Snapshot:
        return 'it holds a %s object, not a Snapshot' % (
            type(snapshot).__name__,)
    state = snapshot.__dict__
    problem = _metadata_problem(state)
    if problem is not None:
        return problem
    traces = state.get('traces')
    if type(traces) is not module._Traces:
        return 'Snapshot.traces is not a _Traces object'
    if (not isinstance(state.get('traceback_limit'), _int_types)
            or isinstance(state.get('traceback_limit'), bool)):
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


def _adapt_to_module(snapshot, module):
    """CPython 3.6-3.8 handle (domain, size, frames) traces only (3.9 added
    total_nframe, and the 4-tuples that this format always holds)."""
    if hasattr(module.Traceback, 'total_nframe'):
        return
    traces = snapshot.traces
    traces._traces = [trace[:3] for trace in traces._traces]


def read_snapshot(filename, module):
    """Load the snapshot file *filename* with the classes of *module* (a
    tracemalloc module: its Snapshot, _Traces and Traceback).

    Raise SnapshotFileError if the file does not hold a tracemalloc
    snapshot: it is empty, truncated or corrupt, written in a newer format
    or a pickle protocol this Python cannot read, or refers to anything but
    the classes of a snapshot (nothing it refers to is run).  Errors
    opening or reading the file are raised as they are (EnvironmentError).
    """
    error = None
    find_global = _global_finder(_safe_globals(module))
    with open(filename, 'rb') as fp:
        protocol = _pickle_protocol(fp)
        try:
            snapshot = _open_unpickler(fp, find_global).load()
        except _RefusedGlobal as exc:
            if _PY2 and not fp.read(1):
                # Python 2's unpicklers read a GLOBAL cut by the end of the
                # file as a shorter name ("tracemalloc\nSnap").  They read
                # no further than they parse, so the end of the file tells.
                # (Python 3.4+'s see the cut themselves.)
                error = 'the file is truncated or is not a pickle'
            elif _PY3_3 and _global_cut_by_end(fp, exc):
                error = 'the file is truncated or is not a pickle'
            else:
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
            elif protocol is not None and protocol > pickle.HIGHEST_PROTOCOL:
                error = ('it is written with pickle protocol %i; this '
                         'Python reads protocols up to %i (read it with a '
                         'newer Python, e.g. python3 -m tracemalloc_report)'
                         % (protocol, pickle.HIGHEST_PROTOCOL))
            else:
                error = ('the file is truncated or is not a pickle (%s)'
                         % _describe_exception(exc))
    # Raised outside the except clauses so that Python 3 does not chain the
    # unpickler's internal error to it.
    if error is None:
        problem = _snapshot_problem(snapshot, module)
        if problem is not None:
            error = 'it is not a tracemalloc snapshot: %s' % problem
    if error is None:
        version = snapshot_metadata(snapshot).get('format_version', 0)
        if version > FORMAT_VERSION:
            error = ('it is written in snapshot format version %i; this '
                     'reader knows versions up to %i' % (version,
                                                        FORMAT_VERSION))
    if error is not None:
        raise SnapshotFileError(filename, error)
    _adapt_to_module(snapshot, module)
    return snapshot
