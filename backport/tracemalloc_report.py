"""tracemalloc-report: where did the memory go, according to snapshot files.

    tracemalloc-report top SNAPSHOT               the biggest allocators
    tracemalloc-report compare OLD NEW            what grew between two
    tracemalloc-report compare DIRECTORY          ... the first and last of
                                                  the snapshots of a process
    tracemalloc-report html -o FILE SERIES...     a self-contained HTML report
    tracemalloc-report info SNAPSHOT...           what the files say

SNAPSHOT is a file written by tracemalloc's Snapshot.dump() (this backport's
or CPython's) or by the snapshot service, or a directory of the service's
files (the newest one for `top`; the whole series otherwise).

Runs on Python 2.7 (the interpreter patched by tracemalloc-backport) and on
any Python 3 >= 3.6, with the standard library only:

    python -m tracemalloc_report --help

Files are read with tracemalloc_snapshot_file, which runs nothing they
contain, into the Snapshot classes of the running interpreter's tracemalloc
module.  Exit status: 0 on success, 1 when a file cannot be used (one line
on stderr says why), 2 for a wrong command line.
"""

from __future__ import print_function

import argparse
import json
import linecache
import os
import signal
import sys
import time

import tracemalloc_snapshot_file

PROG = 'tracemalloc-report'

# --by values, and how titles say them
GROUPINGS = {'lineno': 'line', 'filename': 'file', 'traceback': 'traceback'}
_PY2 = sys.version_info[0] == 2


class ReportError(Exception):
    """A problem with the files or the request, reported in one line."""


# ---------------------------------------------------------------------------
# The tracemalloc module whose classes the snapshots are loaded into

_tracemalloc = None
_traceback_oldest_first = True


def import_tracemalloc():
    """Import tracemalloc: this backport's on Python 2, the standard
    library's on Python 3."""
    global _tracemalloc, _traceback_oldest_first
    if _tracemalloc is None:
        try:
            import tracemalloc
        except ImportError as exc:
            raise ReportError('cannot import tracemalloc (%s): on Python 2 '
                              'run this tool with the interpreter patched by '
                              'tracemalloc-backport, or use Python 3' % exc)
        _tracemalloc = tracemalloc
        # CPython 3.6 keeps a Traceback's frames most recent first, 3.7+
        # and the backport oldest first.
        probe = tracemalloc.Traceback((('new', 1), ('old', 2)))
        _traceback_oldest_first = probe[0].filename == 'old'
    return _tracemalloc


def load_snapshot(path, filters=()):
    """Load one snapshot file, with *filters* applied (the metadata kept)."""
    tracemalloc = import_tracemalloc()
    try:
        snapshot = tracemalloc_snapshot_file.read_snapshot(path, tracemalloc)
    except EnvironmentError as exc:
        raise ReportError('cannot read %s: %s' % (path,
                                                   exc.strerror or exc))
    except ValueError as exc:
        raise ReportError(str(exc))
    metadata = tracemalloc_snapshot_file.snapshot_metadata(snapshot)
    cwd = metadata.get('cwd')
    if isinstance(cwd, (type(u''), str)) and cwd not in _source_directories:
        _source_directories.append(cwd)
    if filters:
        snapshot = snapshot.filter_traces(filters)
        snapshot.metadata = metadata
    return snapshot


# Where tracemalloc's own modules allocate: the memory of the snapshots
# themselves, and of the free lists that Python 2 keeps after them.  Not
# counted unless --show-tracemalloc.
TRACEMALLOC_FILES = ('*/tracemalloc.py', '*/tracemalloc_snapshot_file.py',
                     '*/tracemalloc_snapshot_service.py')


def make_filters(args):
    """tracemalloc filters for --include, --exclude, --domain and
    --show-tracemalloc."""
    tracemalloc = import_tracemalloc()
    filters = []
    if not args.show_tracemalloc:
        for pattern in TRACEMALLOC_FILES:
            filters.append(tracemalloc.Filter(False, pattern))
    for pattern in args.include:
        filters.append(tracemalloc.Filter(True, pattern))
    for pattern in args.exclude:
        filters.append(tracemalloc.Filter(False, pattern))
    if args.domain is not None:
        filters.append(tracemalloc.DomainFilter(True, args.domain))
    return filters


# ---------------------------------------------------------------------------
# Series: the files named on the command line, directories expanded

def series_paths(arguments, pid=None):
    """The snapshot files that *arguments* name, in order: files as given,
    a directory as the series of snapshot files of one process, in the
    order they were taken."""
    paths = []
    for argument in arguments:
        if os.path.isdir(argument):
            paths.extend(_directory_series(argument, pid))
        else:
            paths.append(argument)
    return paths


def _directory_series(directory, pid):
    try:
        names = os.listdir(directory)
    except EnvironmentError as exc:
        raise ReportError('cannot read directory %s: %s'
                          % (directory, exc.strerror or exc))
    by_pid = {}
    for name in names:
        parsed = tracemalloc_snapshot_file.parse_snapshot_filename(name)
        if parsed is not None:
            by_pid.setdefault(parsed[0], []).append((parsed[1], name))
    if pid is not None:
        by_pid = dict((key, value) for key, value in by_pid.items()
                      if key == pid)
    if not by_pid:
        raise ReportError('no snapshot files (tracemalloc-PID-SEQUENCE-TIME'
                          '.pickle)%s in %s'
                          % (' of pid %i' % pid if pid is not None else '',
                             directory))
    if len(by_pid) > 1:
        raise ReportError('%s holds the snapshots of several processes '
                          '(pids %s): choose one with --pid'
                          % (directory, ', '.join(str(key) for key
                                                  in sorted(by_pid))))
    files = sorted(list(by_pid.values())[0])
    return [os.path.join(directory, name) for sequence, name in files]


# ---------------------------------------------------------------------------
# Rows: statistics as plain data, for the text, JSON and HTML outputs

def frames_oldest_first(traceback):
    frames = [(frame.filename, frame.lineno) for frame in traceback]
    if not _traceback_oldest_first:
        frames.reverse()
    return frames


def as_text(value):
    """A filename or other string as text: Python 2 byte strings are
    decoded as UTF-8, come what may."""
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value


def location(frames, by):
    """'file:line' of the most recent frame ('file' alone by filename)."""
    filename, lineno = frames[-1]
    if by == 'filename':
        return as_text(filename)
    return u'%s:%s' % (as_text(filename), lineno)


def statistic_row(stat, by):
    frames = frames_oldest_first(stat.traceback)
    return {'location': location(frames, by),
            'frames': [{'filename': as_text(filename), 'lineno': lineno}
                       for filename, lineno in frames],
            'size': stat.size, 'count': stat.count}


def diff_row(stat, by):
    row = statistic_row(stat, by)
    row['size_diff'] = stat.size_diff
    row['count_diff'] = stat.count_diff
    return row


def jsonable(value):
    """Metadata made of JSON types (Python 2 byte strings decoded)."""
    if isinstance(value, dict):
        return dict((as_text(key), jsonable(item))
                    for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return as_text(value)


def snapshot_summary(path, snapshot):
    """What a snapshot file is: its metadata and totals."""
    metadata = jsonable(tracemalloc_snapshot_file.snapshot_metadata(snapshot))
    raw = snapshot.traces._traces
    return {'path': as_text(path), 'metadata': metadata,
            'traces': len(raw),
            'size': sum(trace[1] for trace in raw),
            'traceback_limit': snapshot.traceback_limit}


# ---------------------------------------------------------------------------
# Text output

def format_size(size, sign=False):
    """12345 -> '12.1 KiB', as tracemalloc prints sizes."""
    prefix = '+' if sign and size > 0 else ''
    value = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(value) < 1024 or unit == 'GiB':
            break
        value /= 1024
    if unit == 'B':
        return '%s%i B' % (prefix, size)
    return '%s%.1f %s' % (prefix, value, unit)


def blocks(count, sign=False):
    """'1 block', '+3 blocks'."""
    return u'%s%i block%s' % (u'+' if sign and count > 0 else u'', count,
                              u'' if abs(count) == 1 else u's')


def other_places(count):
    return u'%i other place%s' % (count, u'' if count == 1 else u's')


def format_time(metadata):
    when = metadata.get('time')
    if not isinstance(when, (int, float)):
        return 'time unknown'
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(when))


def describe_file(summary):
    metadata = summary['metadata']
    parts = [format_time(metadata)]
    if 'pid' in metadata:
        parts.append('pid %s' % metadata['pid'])
    return '%s (%s)' % (summary['path'], ', '.join(parts))


# Directories that relative filenames may be relative to: the working
# directories of the processes whose snapshots were loaded (metadata "cwd").
_source_directories = []


def source_line(filename, lineno):
    """The stripped source line, or '' when the file is not found here."""
    line = linecache.getline(filename, lineno)
    if not line and not os.path.isabs(filename):
        for directory in _source_directories:
            line = linecache.getline(os.path.join(directory, filename),
                                     lineno)
            if line:
                break
    return line.strip()


def frame_lines(frames, indent='    '):
    """Traceback lines, oldest call first, like Python prints them."""
    lines = []
    for frame in frames:
        lines.append(u'%sFile "%s", line %s' % (indent, frame['filename'],
                                               frame['lineno']))
        source = source_line(frame['filename'], frame['lineno'])
        if source:
            lines.append(u'%s  %s' % (indent, as_text(source)))
    return lines


def write_out(text):
    """Write text to stdout as UTF-8, whatever the locale says."""
    data = text.encode('utf-8', 'replace' if _PY2 else 'surrogateescape')
    stream = getattr(sys.stdout, 'buffer', sys.stdout)
    stream.write(data)
    stream.flush()


def statistic_text(index, row, by, diff):
    if diff:
        head = u'#%i: %s: %s (now %s), %s (now %i)' % (
            index, row['location'],
            format_size(row['size_diff'], True), format_size(row['size']),
            blocks(row['count_diff'], True), row['count'])
    else:
        head = u'#%i: %s: %s in %s' % (
            index, row['location'],
            format_size(row['size']), blocks(row['count']))
    lines = [head]
    if by == 'traceback':
        lines.extend(frame_lines(row['frames']))
    elif by == 'lineno':
        frame = row['frames'][-1]
        source = source_line(frame['filename'], frame['lineno'])
        if source:
            lines.append(u'    %s' % as_text(source))
    return lines


def rows_text(title, rows, rest, by, diff):
    lines = [title]
    for index, row in enumerate(rows, 1):
        lines.extend(statistic_text(index, row, by, diff))
    if rest['count'] or rest['size']:
        if diff:
            lines.append(u'%s: %s, %s'
                         % (other_places(rest['places']),
                            format_size(rest['size_diff'], True),
                            blocks(rest['count_diff'], True)))
        else:
            lines.append(u'%s: %s in %s'
                         % (other_places(rest['places']),
                            format_size(rest['size']),
                            blocks(rest['count'])))
    return lines


def split_rows(rows, limit):
    """The first *limit* rows (all if 0) and a summary of the others."""
    if limit:
        shown, others = rows[:limit], rows[limit:]
    else:
        shown, others = rows, []
    rest = {'places': len(others),
            'size': sum(row['size'] for row in others),
            'count': sum(row['count'] for row in others),
            'size_diff': sum(row.get('size_diff', 0) for row in others),
            'count_diff': sum(row.get('count_diff', 0) for row in others)}
    return shown, rest


# ---------------------------------------------------------------------------
# Subcommands

def command_top(args):
    paths = series_paths([args.snapshot], args.pid)
    path = paths[-1]
    snapshot = load_snapshot(path, make_filters(args))
    summary = snapshot_summary(path, snapshot)
    stats = snapshot.statistics(args.by, args.cumulative)
    rows = [statistic_row(stat, args.by) for stat in stats]
    del snapshot, stats
    shown, rest = split_rows(rows, args.limit)
    if args.json:
        write_out(json.dumps({
            'snapshot': summary, 'by': args.by,
            'cumulative': args.cumulative,
            'total_size': sum(row['size'] for row in rows),
            'total_count': sum(row['count'] for row in rows),
            'statistics': shown, 'others': rest}, indent=1,
            sort_keys=True) + '\n')
        return 0
    title = u'Top %s by %s%s of %s' % (
        len(shown), GROUPINGS[args.by],
        ', cumulative' if args.cumulative else '',
        describe_file(summary))
    lines = rows_text(title, shown, rest, args.by, diff=False)
    lines.append(u'Total: %s in %s' % (
        format_size(sum(row['size'] for row in rows)),
        blocks(sum(row['count'] for row in rows))))
    write_out(u'\n'.join(lines) + u'\n')
    return 0


def command_compare(args):
    paths = series_paths(args.snapshots, args.pid)
    if len(paths) < 2:
        raise ReportError('compare needs two snapshots (OLD NEW, or a '
                          'directory holding several): %s names %i'
                          % (' '.join(args.snapshots), len(paths)))
    filters = make_filters(args)
    old = load_snapshot(paths[0], filters)
    new = load_snapshot(paths[-1], filters)
    old_summary = snapshot_summary(paths[0], old)
    new_summary = snapshot_summary(paths[-1], new)
    stats = new.compare_to(old, args.by, args.cumulative)
    rows = [diff_row(stat, args.by) for stat in stats]
    del old, new, stats
    shown, rest = split_rows(rows, args.limit)
    total_diff = new_summary['size'] - old_summary['size']
    if args.json:
        write_out(json.dumps({
            'old': old_summary, 'new': new_summary, 'by': args.by,
            'cumulative': args.cumulative, 'size_diff': total_diff,
            'count_diff': new_summary['traces'] - old_summary['traces'],
            'statistics': shown, 'others': rest}, indent=1,
            sort_keys=True) + '\n')
        return 0
    title = u'Top %s difference%s by %s%s\n  from %s\n    to %s' % (
        len(shown), u'' if len(shown) == 1 else u's', GROUPINGS[args.by],
        ', cumulative' if args.cumulative else '',
        describe_file(old_summary), describe_file(new_summary))
    lines = rows_text(title, shown, rest, args.by, diff=True)
    lines.append(u'Total: %s (now %s), %s (now %i)' % (
        format_size(total_diff, True), format_size(new_summary['size']),
        blocks(new_summary['traces'] - old_summary['traces'], True),
        new_summary['traces']))
    write_out(u'\n'.join(lines) + u'\n')
    return 0


def command_info(args):
    summaries = []
    for path in series_paths(args.snapshots, args.pid):
        snapshot = load_snapshot(path)
        summaries.append(snapshot_summary(path, snapshot))
        del snapshot
    if args.json:
        write_out(json.dumps(summaries, indent=1, sort_keys=True) + '\n')
        return 0
    lines = []
    for summary in summaries:
        metadata = summary['metadata']
        lines.append(summary['path'])
        lines.append(u'  taken: %s%s' % (
            format_time(metadata),
            ' (%s #%s)' % (metadata['reason'], metadata.get('sequence'))
            if 'reason' in metadata else ''))
        if 'pid' in metadata:
            lines.append(u'  process: pid %s on %s: %s' % (
                metadata['pid'], metadata.get('hostname', '?'),
                ' '.join(metadata.get('argv', []))))
        lines.append(u'  traces: %i, %s, traceback limit %s' % (
            summary['traces'], format_size(summary['size']),
            summary['traceback_limit']))
        for key, label in (('traced_memory', 'traced memory'),
                           ('traced_memory_peak', 'traced memory peak'),
                           ('tracemalloc_memory', 'tracemalloc memory'),
                           ('rss', 'RSS'), ('rss_peak', 'RSS peak')):
            if key in metadata:
                lines.append(u'  %s: %s' % (label,
                                            format_size(metadata[key])))
        arenas = metadata.get('arena_stats')
        if isinstance(arenas, dict):
            lines.append(u'  pymalloc arenas: %s' % ', '.join(
                '%s=%s' % (key, arenas[key]) for key in sorted(arenas)))
        lines.append(u'  format version: %s'
                     % metadata.get('format_version', '0 (plain pickle)'))
    write_out(u'\n'.join(lines) + u'\n')
    return 0


def command_html(args):
    import tracemalloc_report_html
    paths = series_paths(args.snapshots, args.pid)
    report = build_html_data(paths, make_filters(args), args.limit)
    report['filters'] = ([] if args.show_tracemalloc else
                         [u'tracemalloc\'s own allocations hidden'])
    report['filters'] += ([u'include %s' % p for p in args.include]
                         + [u'exclude %s' % p for p in args.exclude]
                         + ([u'domain %s' % args.domain]
                            if args.domain is not None else []))
    document = tracemalloc_report_html.render(report)
    try:
        with open(args.output, 'wb') as fp:
            fp.write(document.encode('utf-8'))
    except EnvironmentError as exc:
        raise ReportError('cannot write %s: %s' % (args.output,
                                                   exc.strerror or exc))
    if not args.quiet:
        sys.stderr.write('%s: wrote %s (%i snapshots)\n'
                         % (PROG, args.output, len(paths)))
    return 0


def build_html_data(paths, filters, limit):
    """Everything the HTML report shows, as plain data.

    Snapshots are loaded one at a time (the first and the last are kept
    for the comparison): a long series of big snapshots fits in memory."""
    snapshots = []
    line_sizes = []     # per snapshot: {(filename, lineno): size}
    first = last = None
    for index, path in enumerate(paths):
        snapshot = load_snapshot(path, filters)
        summary = snapshot_summary(path, snapshot)
        if 'traced_memory' not in summary['metadata']:
            # the chart's traced memory: the unfiltered one, as a process
            # would report it; a plain file only has the filtered traces.
            summary['metadata']['traced_memory'] = summary['size']
        snapshots.append(summary)
        sizes = {}
        for stat in snapshot.statistics('lineno'):
            frame = stat.traceback[0]
            sizes[(frame.filename, frame.lineno)] = stat.size
        line_sizes.append(sizes)
        if index == 0:
            first = snapshot
        if index == len(paths) - 1:
            last = snapshot
    compared = len(paths) > 1
    if compared:
        stats = [stat for stat in last.compare_to(first, 'lineno')
                 if stat.size_diff > 0]
        stats.sort(key=lambda stat: (stat.size_diff, stat.size),
                   reverse=True)
        traceback_stats = [stat for stat
                           in last.compare_to(first, 'traceback')
                           if stat.size_diff > 0]
        traceback_stats.sort(key=lambda stat: stat.size_diff, reverse=True)
        make_row = diff_row
    else:
        stats = last.statistics('lineno')
        traceback_stats = last.statistics('traceback')
        make_row = statistic_row
    if limit:
        stats = stats[:limit]
    lines = []
    by_frame = {}
    for stat in stats:
        row = make_row(stat, 'lineno')
        frame = stat.traceback[0]
        key = (frame.filename, frame.lineno)
        row['history'] = [sizes.get(key, 0) for sizes in line_sizes]
        row['tracebacks'] = []
        by_frame[key] = row
        lines.append(row)
    # The tracebacks that end at each line, biggest first, three at most.
    for stat in traceback_stats:
        frames = frames_oldest_first(stat.traceback)
        row = by_frame.get(tuple(frames[-1]))
        if row is not None and len(row['tracebacks']) < 3:
            row['tracebacks'].append(make_row(stat, 'traceback'))
    for row in lines:
        for frame in [row['frames'][-1]] + [
                frame for traceback in row['tracebacks']
                for frame in traceback['frames']]:
            frame['source'] = as_text(source_line(frame['filename'],
                                                  frame['lineno']))
    return {'snapshots': snapshots, 'lines': lines, 'compared': compared,
            'generated': time.time()}


# ---------------------------------------------------------------------------
# Command line

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number' % text)
    if value < 0:
        raise argparse.ArgumentTypeError('%r is negative' % text)
    return value


def make_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Show where the memory goes according to tracemalloc '
                    'snapshot files (Snapshot.dump() or the snapshot '
                    'service).  Nothing in the files is run.',
        epilog='Exit status: 0 on success, 1 if a file cannot be used, '
               '2 for a wrong command line.  "%s COMMAND --help" for the '
               'options of COMMAND.' % PROG)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True

    def add_command(name, help_text, description):
        command = commands.add_parser(name, help=help_text,
                                      description=description)
        command.add_argument(
            '--pid', type=int, metavar='PID',
            help='in a directory, use the snapshots of process PID')
        return command

    def add_filter_options(command):
        command.add_argument(
            '--include', action='append', default=[], metavar='PATTERN',
            help='only count memory allocated in files matching this '
                 'fnmatch pattern (most recent frame), e.g. "*/myapp/*"; '
                 'repeat to add patterns')
        command.add_argument(
            '--exclude', action='append', default=[], metavar='PATTERN',
            help='do not count memory allocated in files matching PATTERN; '
                 'repeatable')
        command.add_argument(
            '--domain', type=_positive_int, metavar='N',
            help='only count the address space N (0: Python\'s allocators)')
        command.add_argument(
            '--show-tracemalloc', action='store_true',
            help='also count the memory allocated by tracemalloc\'s own '
                 'modules (taking snapshots), which is hidden by default')

    def add_statistics_options(command):
        command.add_argument(
            '--by', choices=('lineno', 'filename', 'traceback'),
            default='lineno',
            help='group memory by line (default), by file or by whole '
                 'traceback')
        command.add_argument(
            '--cumulative', action='store_true',
            help='count each block for every frame of its traceback, not '
                 'only the most recent one (with --by lineno or filename)')
        command.add_argument(
            '--limit', type=_positive_int, default=10, metavar='N',
            help='show the first N entries (default 10; 0: all)')
        command.add_argument('--json', action='store_true',
                             help='write JSON instead of text')

    top = add_command(
        'top', 'the places that hold the most memory',
        'Show the places that hold the most memory in SNAPSHOT.')
    top.add_argument('snapshot', metavar='SNAPSHOT',
                     help='a snapshot file, or a directory of snapshot '
                          'files (its newest one is used)')
    add_filter_options(top)
    add_statistics_options(top)
    top.set_defaults(function=command_top)

    compare = add_command(
        'compare', 'what grew between two snapshots',
        'Show what changed between two snapshots, the biggest change first:'
        ' OLD and NEW, or the first and the last of the series that the '
        'files and directories name.')
    compare.add_argument('snapshots', nargs='+', metavar='SNAPSHOT',
                         help='two files (OLD NEW), or a directory of '
                              'snapshot files, or more files')
    add_filter_options(compare)
    add_statistics_options(compare)
    compare.set_defaults(function=command_compare)

    html = add_command(
        'html', 'write a self-contained HTML report of a series',
        'Write one HTML file (no network access, no JavaScript needed): '
        'traced memory and RSS over time, and the lines that grew most '
        'between the first and last snapshot, with their tracebacks.')
    html.add_argument('snapshots', nargs='+', metavar='SNAPSHOT',
                      help='snapshot files in the order taken, or a '
                           'directory of snapshot files')
    add_filter_options(html)
    html.add_argument('-o', '--output', required=True, metavar='FILE',
                      help='the HTML file to write')
    html.add_argument('--limit', type=_positive_int, default=20,
                      metavar='N',
                      help='show the first N lines (default 20; 0: all)')
    html.add_argument('--quiet', action='store_true',
                      help='do not say which file was written')
    html.set_defaults(function=command_html)

    info = add_command(
        'info', 'what the files say: time, process, memory',
        'Show the metadata and totals of snapshot files.')
    info.add_argument('snapshots', nargs='+', metavar='SNAPSHOT',
                      help='snapshot files or directories')
    info.add_argument('--json', action='store_true',
                      help='write JSON instead of text')
    info.set_defaults(function=command_info)
    return parser


def main(argv=None):
    # Die quietly when the reader of a pipe goes away (| head).
    if hasattr(signal, 'SIGPIPE'):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = make_parser().parse_args(argv)
    try:
        return args.function(args)
    except ReportError as exc:
        sys.stderr.write('%s: error: %s\n' % (PROG, exc))
        return 1
    except MemoryError:
        sys.stderr.write('%s: error: out of memory\n' % PROG)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
