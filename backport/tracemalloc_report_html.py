"""The HTML report of tracemalloc-report: one self-contained file.

render(report) turns the plain data that tracemalloc_report.build_html_data
prepares into a page with no external resource (inline CSS, inline SVG, no
JavaScript): it opens from a file:// URL on a machine without network, in a
browser or a mail attachment.  The page has:

* a chart of traced memory and RSS over time (an SVG polyline per series,
  one circle per snapshot with its value as tooltip);
* the lines that grew most between the first and the last snapshot, each
  row expandable (<details>) to the tracebacks that lead there, with their
  source lines, and a sparkline of the line's size in every snapshot;
* the list of snapshots with their metadata.

Runs on Python 2.7 and 3.x.
"""

from __future__ import division

import time

_PAGE_STYLE = u"""
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: #1d2125; margin: 24px auto; max-width: 1150px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de;
     padding-bottom: 4px; }
p.lead { color: #57606a; margin: 0; }
code, pre { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; vertical-align: top;
         border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.grow { color: #b42318; font-weight: 600; }
td.shrink { color: #1a7f37; }
tr.line td.where { width: 62%; }
code.location { overflow-wrap: anywhere; font-weight: 600; }
span.source { display: block; color: #57606a; white-space: pre-wrap; }
details > summary { cursor: pointer; }
details[open] > summary { margin-bottom: 6px; }
div.traceback { margin: 0 0 10px 14px; }
div.traceback p { margin: 2px 0; color: #57606a; }
div.traceback pre { background: #f6f8fa; padding: 6px 8px; margin: 0;
                    white-space: pre-wrap; overflow-wrap: break-word; }
svg.chart { width: 100%; height: auto; border: 1px solid #eaeef2; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #57606a; }
svg.chart .axis { stroke: #8c959f; }
svg.chart .grid { stroke: #eaeef2; }
.legend span { display: inline-block; margin-right: 18px; }
.legend i { display: inline-block; width: 22px; height: 3px;
            vertical-align: middle; margin-right: 6px; }
p.empty { color: #57606a; font-style: italic; }
footer { margin-top: 32px; color: #8c959f; font-size: 12px; }
"""

# Colours of the chart's series.
_TRACED_COLOUR = u'#1f6feb'
_RSS_COLOUR = u'#d1242f'
_SPARK_COLOUR = u'#b42318'


def escape(text):
    """Text made safe for HTML content and attribute values."""
    if not isinstance(text, type(u'')):
        text = u'%s' % (text,)
    return (text.replace(u'&', u'&amp;').replace(u'<', u'&lt;')
            .replace(u'>', u'&gt;').replace(u'"', u'&quot;')
            .replace(u"'", u'&#39;'))


def format_size(size, sign=False):
    prefix = u'+' if sign and size > 0 else u''
    value = float(size)
    for unit in (u'B', u'KiB', u'MiB', u'GiB'):
        if abs(value) < 1024 or unit == u'GiB':
            break
        value /= 1024
    if unit == u'B':
        return u'%s%i B' % (prefix, size)
    return u'%s%.1f %s' % (prefix, value, unit)


def format_time(when):
    return time.strftime(u'%Y-%m-%d %H:%M:%S UTC', time.gmtime(when))


def format_duration(seconds):
    if seconds < 10 and seconds != int(seconds):
        return u'%.1f s' % seconds
    if seconds < 120:
        return u'%i s' % round(seconds)
    if seconds < 7200:
        return u'%.1f min' % (seconds / 60)
    return u'%.1f h' % (seconds / 3600)


# ---------------------------------------------------------------------------
# The chart

def _nice_step(span, ticks):
    """A round step (1, 2 or 5 times a power of ten) that cuts *span* in
    about *ticks* parts."""
    raw = span / ticks
    magnitude = 1.0
    while magnitude * 10 <= raw:
        magnitude *= 10
    while magnitude > raw:
        magnitude /= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _size_axis(maximum):
    """(unit name, bytes per unit, step in bytes, top in bytes) for a y axis
    from 0 to at least *maximum* bytes."""
    unit, scale = u'B', 1
    for name, factor in ((u'KiB', 1024), (u'MiB', 1024 ** 2),
                         (u'GiB', 1024 ** 3)):
        if maximum >= 2 * factor:
            unit, scale = name, factor
    step = _nice_step(max(maximum / scale, 1), 4) * scale
    top = step
    while top < maximum:
        top += step
    return unit, scale, step, top


def _snapshot_times(snapshots):
    """The x value of each snapshot: seconds since the first one if every
    snapshot has a time, else its index."""
    times = [snapshot['metadata'].get('time') for snapshot in snapshots]
    if all(isinstance(value, (int, float)) for value in times):
        return [value - times[0] for value in times], True
    return list(range(len(snapshots))), False


def chart_svg(snapshots):
    width, height = 900, 300
    left, right, top, bottom = 78, 20, 16, 42
    plot_width = width - left - right
    plot_height = height - top - bottom
    xs, timed = _snapshot_times(snapshots)
    traced = [snapshot['metadata'].get('traced_memory')
              for snapshot in snapshots]
    rss = [snapshot['metadata'].get('rss') for snapshot in snapshots]
    values = [value for value in traced + rss
              if isinstance(value, (int, float))]
    unit, scale, step, y_top = _size_axis(max(values + [1]))
    x_span = (xs[-1] - xs[0]) or 1

    def x_at(x):
        return left + (x - xs[0]) / x_span * plot_width

    def y_at(value):
        return top + plot_height - value / y_top * plot_height

    parts = [u'<svg class="chart" xmlns="http://www.w3.org/2000/svg" '
             u'viewBox="0 0 %i %i" width="%i" height="%i" role="img" '
             u'aria-label="traced memory and RSS over time">'
             % (width, height, width, height)]
    # y grid and labels
    value = 0
    while value <= y_top + step / 2:
        y = y_at(value)
        parts.append(u'<line class="grid" x1="%i" y1="%.1f" x2="%i" '
                     u'y2="%.1f"/>' % (left, y, width - right, y))
        parts.append(u'<text x="%i" y="%.1f" text-anchor="end">%s</text>'
                     % (left - 6, y + 4, escape(_axis_label(value, scale,
                                                            unit))))
        value += step
    # x labels: at most 8, first and last included
    count = len(xs)
    shown = sorted(set([0, count - 1] + list(
        range(0, count, max(1, (count + 6) // 7)))))
    for index in shown:
        x = x_at(xs[index]) if count > 1 else left + plot_width / 2
        label = (u'+' + format_duration(xs[index]) if timed
                 else u'#%i' % (index + 1))
        parts.append(u'<text x="%.1f" y="%i" text-anchor="middle">%s</text>'
                     % (x, height - bottom + 16, escape(label)))
    parts.append(u'<text x="%.1f" y="%i" text-anchor="middle">%s</text>'
                 % (left + plot_width / 2, height - 6,
                    u'time since the first snapshot' if timed
                    else u'snapshot'))
    parts.append(u'<line class="axis" x1="%i" y1="%i" x2="%i" y2="%i"/>'
                 % (left, top + plot_height, width - right,
                    top + plot_height))
    parts.append(u'<line class="axis" x1="%i" y1="%i" x2="%i" y2="%i"/>'
                 % (left, top, left, top + plot_height))
    for name, label, colour, series in (
            (u'traced', u'traced memory', _TRACED_COLOUR, traced),
            (u'rss', u'RSS', _RSS_COLOUR, rss)):
        points = []
        for index, value in enumerate(series):
            if not isinstance(value, (int, float)):
                continue
            x = x_at(xs[index]) if count > 1 else left + plot_width / 2
            points.append((x, y_at(value), index, value))
        if not points:
            continue
        parts.append(u'<polyline class="series %s" fill="none" '
                     u'stroke="%s" stroke-width="2" points="%s"/>'
                     % (name, colour, u' '.join(u'%.1f,%.1f' % (x, y)
                                                for x, y, i, v in points)))
        for x, y, index, value in points:
            parts.append(u'<circle class="point %s" cx="%.1f" cy="%.1f" '
                         u'r="3.5" fill="%s"><title>%s, snapshot %i: %s'
                         u'</title></circle>'
                         % (name, x, y, colour, escape(label), index + 1,
                            escape(format_size(value))))
    parts.append(u'</svg>')
    return u''.join(parts)


def _axis_label(value, scale, unit):
    number = value / scale
    if number == int(number):
        return u'%i %s' % (number, unit)
    return u'%.1f %s' % (number, unit)


def sparkline_svg(history):
    """A small line of a place's size in each snapshot."""
    width, height = 110, 26
    if len(history) < 2:
        return u''
    top = max(history) or 1
    step = (width - 4) / (len(history) - 1)
    points = u' '.join(u'%.1f,%.1f' % (2 + index * step,
                                       height - 2 - value / top
                                       * (height - 4))
                       for index, value in enumerate(history))
    return (u'<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" '
            u'width="%i" height="%i" viewBox="0 0 %i %i"><title>%s</title>'
            u'<polyline fill="none" stroke="%s" stroke-width="1.5" '
            u'points="%s"/></svg>'
            % (width, height, width, height,
               escape(u' \u2192 '.join(format_size(value)
                                       for value in history)),
               _SPARK_COLOUR, points))


# ---------------------------------------------------------------------------
# Tables

def traceback_text(frames):
    lines = []
    for frame in frames:
        lines.append(u'  File "%s", line %s' % (frame['filename'],
                                                frame['lineno']))
        if frame.get('source'):
            lines.append(u'    %s' % frame['source'])
    return u'\n'.join(lines)


def _line_row(rank, row, compared):
    frame = row['frames'][-1]
    # The first row is open: its traceback is what the reader came for.
    where = [u'<details%s><summary><code class="location">%s</code>'
             % (u' open' if rank == 1 else u'', escape(row['location']))]
    if frame.get('source'):
        where.append(u'<span class="source">%s</span>'
                     % escape(frame['source']))
    where.append(u'</summary>')
    if not row['tracebacks']:
        where.append(u'<p class="empty">no traceback recorded</p>')
    for traceback in row['tracebacks']:
        if compared:
            what = u'%s (%+i blocks), now %s in %i blocks, from:' % (
                format_size(traceback['size_diff'], True),
                traceback['count_diff'], format_size(traceback['size']),
                traceback['count'])
        else:
            what = u'%s in %i blocks, from:' % (
                format_size(traceback['size']), traceback['count'])
        where.append(u'<div class="traceback"><p>%s</p><pre>%s</pre></div>'
                     % (escape(what),
                        escape(traceback_text(traceback['frames']))))
    where.append(u'</details>')
    cells = [u'<td class="num">%i</td>' % rank,
             u'<td class="where">%s</td>' % u''.join(where)]
    if compared:
        cells.append(u'<td class="num grow">%s</td>'
                     % escape(format_size(row['size_diff'], True)))
        cells.append(u'<td class="num">%s</td>'
                     % escape(format_size(row['size'])))
        cells.append(u'<td class="num">%+i</td><td class="num">%i</td>'
                     % (row['count_diff'], row['count']))
    else:
        cells.append(u'<td class="num">%s</td><td class="num">%i</td>'
                     % (escape(format_size(row['size'])), row['count']))
    cells.append(u'<td>%s</td>' % sparkline_svg(row['history']))
    return u'<tr class="line" id="line-%i">%s</tr>' % (rank, u''.join(cells))


def lines_table(report):
    compared = report['compared']
    if not report['lines']:
        return (u'<p class="empty">No line grew between the first and the '
                u'last snapshot.</p>' if compared else
                u'<p class="empty">The snapshot holds no trace.</p>')
    if compared:
        head = (u'<th class="num">#</th><th>Line (click for tracebacks)</th>'
                u'<th class="num">Growth</th><th class="num">Size now</th>'
                u'<th class="num">Blocks +</th><th class="num">Blocks now'
                u'</th><th>In each snapshot</th>')
    else:
        head = (u'<th class="num">#</th><th>Line (click for tracebacks)</th>'
                u'<th class="num">Size</th><th class="num">Blocks</th>'
                u'<th></th>')
    rows = [_line_row(rank, row, compared)
            for rank, row in enumerate(report['lines'], 1)]
    return (u'<table class="lines"><thead><tr>%s</tr></thead><tbody>%s'
            u'</tbody></table>' % (head, u''.join(rows)))


def snapshots_table(report):
    rows = []
    for index, snapshot in enumerate(report['snapshots'], 1):
        metadata = snapshot['metadata']
        when = metadata.get('time')
        cells = [
            u'<td class="num">%i</td>' % index,
            u'<td><code>%s</code></td>' % escape(snapshot['path']),
            u'<td>%s</td>' % (escape(format_time(when))
                              if isinstance(when, (int, float)) else u''),
            u'<td>%s</td>' % escape(metadata.get('reason', u'')),
            u'<td class="num">%i</td>' % snapshot['traces'],
        ]
        for key in ('traced_memory', 'rss', 'tracemalloc_memory'):
            value = metadata.get(key)
            cells.append(u'<td class="num">%s</td>' % (
                escape(format_size(value))
                if isinstance(value, (int, float)) else u''))
        rows.append(u'<tr>%s</tr>' % u''.join(cells))
    return (u'<table class="snapshots"><thead><tr><th class="num">#</th>'
            u'<th>File</th><th>Taken</th><th>Why</th>'
            u'<th class="num">Traces</th><th class="num">Traced</th>'
            u'<th class="num">RSS</th><th class="num">tracemalloc</th>'
            u'</tr></thead><tbody>%s</tbody></table>' % u''.join(rows))


# ---------------------------------------------------------------------------
# The page

def _lead(report):
    snapshots = report['snapshots']
    first, last = snapshots[0]['metadata'], snapshots[-1]['metadata']
    parts = [u'%i snapshot%s' % (len(snapshots),
                                 u's' if len(snapshots) > 1 else u'')]
    if 'pid' in last:
        parts.append(u'of pid %s' % last['pid'])
        if last.get('argv'):
            parts.append(u'(%s)' % u' '.join(last['argv']))
    if isinstance(first.get('time'), (int, float)) and \
            isinstance(last.get('time'), (int, float)):
        parts.append(u'from %s to %s' % (format_time(first['time']),
                                         format_time(last['time'])))
    text = u' '.join(parts) + u'.'
    if report.get('filters'):
        text += u' Filters: %s.' % u', '.join(report['filters'])
    return text


def render(report):
    """The HTML page (text) for *report*, the data built by
    tracemalloc_report.build_html_data()."""
    compared = report['compared']
    snapshots = report['snapshots']
    if compared:
        growth_title = u'Top growing lines, first to last snapshot'
        first, last = snapshots[0], snapshots[-1]
        growth_lead = u'Memory of the traces counted here: %s \u2192 %s.' % (
            format_size(first['size']), format_size(last['size']))
    else:
        growth_title = u'Top lines'
        growth_lead = (u'Memory of the traces counted here: %s.'
                       % format_size(snapshots[0]['size']))
    legend = (u'<p class="legend"><span><i style="background:%s"></i>traced '
              u'memory (what tracemalloc sees)</span><span><i '
              u'style="background:%s"></i>RSS (what the process holds in RAM)'
              u'</span></p>' % (_TRACED_COLOUR, _RSS_COLOUR))
    body = [
        u'<header><h1>Memory report</h1><p class="lead">%s</p></header>'
        % escape(_lead(report)),
        u'<section id="memory"><h2>Memory over time</h2>%s%s</section>'
        % (legend, chart_svg(snapshots)),
        u'<section id="growth"><h2>%s</h2><p class="lead">%s</p>%s'
        u'</section>' % (growth_title, escape(growth_lead),
                         lines_table(report)),
        u'<section id="snapshots"><h2>Snapshots</h2>%s</section>'
        % snapshots_table(report),
        u'<footer>Written by tracemalloc-report on %s.</footer>'
        % escape(format_time(report['generated'])),
    ]
    return (u'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            u'<meta name="viewport" content="width=device-width">'
            u'<title>Memory report</title><style>%s</style></head>'
            u'<body>%s</body></html>\n' % (_PAGE_STYLE, u'\n'.join(body)))
