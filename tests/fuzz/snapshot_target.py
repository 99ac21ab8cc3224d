"""The property fuzz_snapshot.c checks for each input file.

Loading a file with tracemalloc.Snapshot.load() (the restricted unpickler
of tracemalloc_snapshot_file) either refuses it with SnapshotFileError, or
gives a snapshot that the rest of the API handles: statistics() by every
key, compare_to(), filter_traces(), str() of its traces, and dump() then
load() again giving the same statistics.  Nothing else may happen: another
exception, a module imported or a global looked up other than a
snapshot's, a crash.

check() returns a short string saying how the input ended (the harness
turns it into coverage feedback); any violation raises AssertionError.
Runs on the patched 2.7 (embedded by fuzz_snapshot.c) and on Python 3.
"""

import os
import sys
import tempfile

import tracemalloc
import tracemalloc_snapshot_file as snapshot_file

_DUMP = os.path.join(tempfile.gettempdir(), 'fuzz-snapshot-%d.pickle'
                     % os.getpid())


def _problem_kind(problem):
    """The kind of refusal, without what varies from input to input."""
    for stop in ('(', ':', '#', "'"):
        index = problem.find(stop)
        if index > 0:
            problem = problem[:index]
    return problem.strip()[:60]


_PY2 = sys.version_info[0] == 2


def _str_of_unicode_frame_fails():
    """Known bug (see test_regressions.py): on Python 2, str() of a Frame,
    Traceback, Trace or Statistic whose filename is a non-ASCII unicode
    string (every such file name of a loaded snapshot) raises
    UnicodeEncodeError.  Tolerated here while it is there, so that the
    fuzzer looks for something else."""
    try:
        str(tracemalloc.Frame((u'caf\xe9.py', 1)))
    except UnicodeError:
        return True
    return False


_KNOWN_STR_BUG = _PY2 and _str_of_unicode_frame_fails()


def _nul_filename_is_loaded():
    """Known bug (see test_regressions.py): the loader accepts a filename
    with a NUL byte, which no real frame has, and Traceback.format() (and
    tracemalloc-report) then fail in linecache with TypeError.  Tolerated
    here while it is there."""
    path = _DUMP + '.nul'
    tracemalloc.Snapshot([(0, 1, (('a\0b.py', 1),), 1)], 1).dump(path)
    try:
        tracemalloc.Snapshot.load(path)
    except snapshot_file.SnapshotFileError:
        return False
    finally:
        os.unlink(path)
    return True


_KNOWN_NUL_BUG = _nul_filename_is_loaded()


def _format(traceback):
    try:
        traceback.format()
    except (TypeError, ValueError):
        if not (_KNOWN_NUL_BUG and any(u'\0' in frame.filename
                                       for frame in traceback)):
            raise


def _text(obj):
    if _PY2:
        try:
            str(obj)
        except UnicodeEncodeError:
            if not _KNOWN_STR_BUG:
                raise
    else:
        str(obj)


def _summary(snapshot):
    stats = snapshot.statistics('filename')
    return (len(snapshot.traces), sum(stat.size for stat in stats),
            sum(stat.count for stat in stats))


def _exercise(snapshot):
    for key in ('lineno', 'filename', 'traceback'):
        snapshot.statistics(key)
    snapshot.statistics('lineno', cumulative=True)
    snapshot.statistics('filename', cumulative=True)
    snapshot.compare_to(snapshot, 'lineno')
    snapshot.compare_to(snapshot, 'traceback')
    snapshot.filter_traces([tracemalloc.Filter(True, '*a*'),
                            tracemalloc.Filter(False, '*b*', lineno=1,
                                               all_frames=True),
                            tracemalloc.DomainFilter(False, 1)])
    for trace in list(snapshot.traces)[:20]:
        _text(trace)
        repr(trace)
        _format(trace.traceback)
    for stat in snapshot.statistics('traceback')[:5]:
        _text(stat)
    snapshot_file.snapshot_metadata(snapshot)


def check(path, warming_up=False):
    modules = set(sys.modules)
    try:
        snapshot = tracemalloc.Snapshot.load(path)
    except snapshot_file.SnapshotFileError as exc:
        assert exc.filename == path, exc.filename
        outcome = 'refused: ' + _problem_kind(exc.problem)
    except Exception as exc:
        raise AssertionError('load() raised %s: %s' % (type(exc).__name__,
                                                       exc))
    else:
        assert type(snapshot) is tracemalloc.Snapshot, type(snapshot)
        _exercise(snapshot)
        before = _summary(snapshot)
        snapshot.dump(_DUMP)
        again = tracemalloc.Snapshot.load(_DUMP)
        after = _summary(again)
        assert before == after, (before, after)
        outcome = 'loaded'
    # (the first loads import what the loader needs; codecs come when
    # first used)
    new = [name for name in set(sys.modules) - modules
           if name not in _LOADER_MODULES
           and not name.startswith('encodings.')]
    assert warming_up or not new, new
    return outcome


_LOADER_MODULES = set()


def _warm_up():
    """Import what loading a good and a bad file needs, once."""
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = os.path.join(here, 'corpus', 'snapshot')
    before = set(sys.modules)
    if os.path.isdir(corpus):
        for name in sorted(os.listdir(corpus)):
            check(os.path.join(corpus, name), warming_up=True)
    _LOADER_MODULES.update(set(sys.modules) - before)


_warm_up()
