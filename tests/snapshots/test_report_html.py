"""The HTML report (backport/tracemalloc_report_html.py, with the data of
tracemalloc_report.build_html_data): self-contained, the chart's points,
the rows and their tracebacks, escaping.  The page in a real browser is
checked by tests/e2e.
"""

from __future__ import print_function

import os
import re
import unittest

import support

tracemalloc = support.import_backport()
import tracemalloc_report  # noqa: E402
import tracemalloc_report_html  # noqa: E402
import tracemalloc_snapshot_file  # noqa: E402

MAIN = ('/srv/main.py', 3)
EVIL = ('/srv/<script>alert(1)</script>.py', 4)


def polyline_points(page, name):
    match = re.search(r'<polyline class="series %s"[^>]* points="([^"]*)"'
                      % name, page)
    if match is None:
        return None
    return [tuple(float(value) for value in point.split(','))
            for point in match.group(1).split()]


class HtmlReportTests(support.TempDirMixin, unittest.TestCase):
    def setUp(self):
        support.TempDirMixin.setUp(self)
        self.source = self.path('leaky.py')
        with open(self.source, 'w') as fp:
            fp.write('CACHE = []\n'
                     'def leak():\n'
                     '    CACHE.append(" " * 1000)  # the leak\n')
        self.leak = (self.source, 3)

    def write_series(self, count, with_rss=True):
        paths = []
        for index in range(count):
            traces = [(0, 1000, (self.leak, MAIN), 2)] * (index * 10)
            traces += [(0, 50, (EVIL, MAIN), 2)] * (3 - index % 2)
            traces += [(0, 7, (MAIN,), 1)]
            metadata = {'time': 1700000000 + 60 * index,
                        'traced_memory': 100000 * (index + 1), 'pid': 9}
            if with_rss:
                metadata['rss'] = 3000000 + 100000 * index
            path = self.path('s%i.pickle' % index)
            with open(path, 'wb') as fp:
                tracemalloc_snapshot_file.write_snapshot(
                    tracemalloc.Snapshot(traces, 2), fp, metadata)
            paths.append(path)
        return paths

    def render(self, paths, limit=20):
        report = tracemalloc_report.build_html_data(paths, [], limit)
        report['filters'] = []
        return tracemalloc_report_html.render(report)

    def test_self_contained(self):
        page = self.render(self.write_series(3))
        for needle in ('<script', '<link', '<img', 'src=', 'url(',
                       '@import', '<iframe'):
            self.assertNotIn(needle, page)
        self.assertEqual(set(re.findall(r'https?://[^"\s<]*', page)),
                         set(['http://www.w3.org/2000/svg']))
        self.assertTrue(page.startswith('<!DOCTYPE html>'))

    def test_chart(self):
        page = self.render(self.write_series(3))
        traced = polyline_points(page, 'traced')
        rss = polyline_points(page, 'rss')
        self.assertEqual(len(traced), 3)
        self.assertEqual(len(rss), 3)
        # evenly spaced in time, left to right; growing values go up
        xs = [x for x, y in traced]
        self.assertEqual(xs, sorted(xs))
        self.assertAlmostEqual(xs[1] - xs[0], xs[2] - xs[1], places=1)
        self.assertEqual([y for x, y in traced],
                         sorted([y for x, y in traced], reverse=True))
        self.assertEqual(page.count('<circle class="point traced"'), 3)
        self.assertIn('<title>traced memory, snapshot 3: 293.0 KiB</title>',
                      page)
        self.assertIn('+2.0 min', page)

    def test_chart_without_rss(self):
        page = self.render(self.write_series(2, with_rss=False))
        self.assertEqual(len(polyline_points(page, 'traced')), 2)
        self.assertIsNone(polyline_points(page, 'rss'))

    def test_growing_lines(self):
        page = self.render(self.write_series(3))
        rows = re.findall(r'<tr class="line" id="line-(\d+)">(.*?)</tr>',
                          page, re.S)
        # only the leak grew (the EVIL line went 3 -> 2 -> 3 blocks)
        self.assertEqual([rank for rank, cells in rows], ['1'])
        cells = rows[0][1]
        self.assertIn('<details open><summary><code class="location">%s:3'
                      '</code><span class="source">CACHE.append(&quot; '
                      '&quot; * 1000)  # the leak</span>' % self.source,
                      cells)
        self.assertIn('<td class="num grow">+19.5 KiB</td>', cells)
        self.assertIn('<td class="num">+20</td><td class="num">20</td>',
                      cells)
        # its traceback, oldest call first, and the sizes it had
        self.assertIn('<p>+19.5 KiB (+20 blocks), now 19.5 KiB in 20 '
                      'blocks, from:</p><pre>  File &quot;/srv/main.py&quot;,'
                      ' line 3\n  File &quot;%s&quot;, line 3\n    '
                      'CACHE.append(&quot; &quot; * 1000)  # the leak</pre>'
                      % self.source, cells)
        self.assertIn(u'<title>0 B \u2192 9.8 KiB \u2192 19.5 KiB</title>',
                      cells)

    def test_single_snapshot_lists_the_biggest(self):
        page = self.render(self.write_series(2)[1:])
        self.assertIn('<h2>Top lines</h2>', page)
        self.assertNotIn('Growth', page)
        locations = re.findall(r'<code class="location">(.*?)</code>', page)
        self.assertEqual(locations, [
            '%s:3' % self.source,
            '/srv/&lt;script&gt;alert(1)&lt;/script&gt;.py:4',
            '/srv/main.py:3'])

    def test_names_are_escaped(self):
        page = self.render(self.write_series(2)[1:])
        self.assertNotIn('<script>', page)
        self.assertIn('&lt;script&gt;alert(1)&lt;/script&gt;', page)


if __name__ == '__main__':
    unittest.main()
