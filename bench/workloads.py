"""The benchmark workloads: ordinary Python code of different allocation
densities, the same source on Python 2.7, 3.3 and 3.x.

Each workload is a class with:

    name, doc     what it is
    base_n        iterations at BENCH_SCALE=1: about 250 million
                  instructions on 2.7
    setup()       imports and input data, done before measuring; returns
                  the state that run() gets
    run(state, n) the measured work: n iterations; it keeps nothing alive
                  once it returns (the growing cache drops its cache at the
                  end), so that a run with n=0 measures everything but the
                  work

The code is written the way services on these interpreters are written:
cPickle where 2.7 has it, % formatting, classes with and without
__slots__, generator pipelines.  None of it is tuned for the tracer.
"""

import sys

try:
    range = xrange  # noqa: F821 (Python 2: no list of n ints)
except NameError:
    pass

if sys.version_info[0] >= 3:
    text_type = str
else:
    text_type = unicode  # noqa: F821


class Workload(object):
    name = None
    doc = None
    base_n = 1

    def setup(self):
        return None

    def run(self, state, n):
        raise NotImplementedError


# --------------------------------------------------------------------------
# Allocation-dense: a block per few bytecodes


class ObjectChurn(Workload):
    name = 'object_churn'
    doc = 'short-lived tuples, lists and dicts, as in record processing'
    base_n = 80000

    def run(self, state, n):
        total = 0
        for i in range(n):
            point = (i, i + 1)
            row = [i, point, 'x', None]
            record = {'id': i, 'row': row, 'name': 'item'}
            pair = (record, row)
            total += len(record) + len(pair[1])
        return total


class StringBuild(Workload):
    name = 'string_build'
    doc = '% formatting, concatenation, join and split of an HTML table'
    base_n = 20000

    def setup(self):
        return ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']

    def run(self, names, n):
        parts = []
        for i in range(n):
            name = names[i % len(names)]
            cell = '<td>' + name.capitalize() + '</td>'
            parts.append('<tr><td>%d</td>%s<td>%.2f</td></tr>'
                         % (i, cell, i / 7.0))
        text = '\n'.join(parts)
        words = 0
        for line in text.split('\n'):
            words += len(line.replace('<td>', ' ').split())
        return words + len(text.upper())


class BinaryTrees(Workload):
    name = 'binary_trees'
    doc = 'recursive tree building and walking (nested tuples)'
    base_n = 30

    def run(self, state, n):
        def make(depth):
            if depth == 0:
                return (None, None)
            depth -= 1
            return (make(depth), make(depth))

        def check(node):
            left, right = node
            if left is None:
                return 1
            return 1 + check(left) + check(right)

        total = 0
        for i in range(n):
            total += check(make(11))
        return total


class Classes(Workload):
    name = 'classes'
    doc = 'instances with __dict__ and __slots__, properties, operators'
    base_n = 10000

    def setup(self):
        class Account(object):
            def __init__(self, owner, balance):
                self.owner = owner
                self.balance = balance
                self.history = []

            def deposit(self, amount):
                self.balance += amount
                self.history.append(('deposit', amount))

            @property
            def summary(self):
                return '%s: %d' % (self.owner, self.balance)

        class Vector(object):
            __slots__ = ('x', 'y')

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def __add__(self, other):
                return Vector(self.x + other.x, self.y + other.y)

            def __mul__(self, k):
                return Vector(self.x * k, self.y * k)

        return Account, Vector

    def run(self, classes, n):
        Account, Vector = classes
        total = 0
        position = Vector(0, 0)
        step = Vector(1, 2)
        for i in range(n):
            account = Account('user%d' % (i % 100), i)
            account.deposit(10)
            account.deposit(i % 7)
            total += len(account.summary)
            position = position + step * 2
        return total + position.x


class GeneratorPipeline(Workload):
    name = 'generators'
    doc = 'generator pipelines: parse, filter, group log lines'
    base_n = 20000

    def setup(self):
        methods = ['GET', 'POST', 'GET', 'PUT', 'GET']
        return ['10.0.%d.%d - - %s /api/item/%d %d %d'
                % (i % 7, i % 250, methods[i % 5], i % 97,
                   (200, 200, 404, 500)[i % 4], i * 13 % 5000)
                for i in range(500)]

    def run(self, lines, n):
        def records(count):
            for i in range(count):
                yield lines[i % len(lines)].split()

        def parsed(rows):
            for row in rows:
                yield {'ip': row[0], 'method': row[3], 'path': row[4],
                       'status': int(row[5]), 'size': int(row[6])}

        def errors(items):
            return (item for item in items if item['status'] >= 400)

        by_path = {}
        for item in errors(parsed(records(n))):
            by_path.setdefault(item['path'], []).append(item['size'])
        return sum(len(sizes) for sizes in by_path.values())


# --------------------------------------------------------------------------
# Mixed: C code does much of the work, Python objects come out of it


class JsonRoundTrip(Workload):
    name = 'json'
    doc = 'json.dumps and json.loads of a list of records'
    base_n = 50

    def setup(self):
        import json
        doc = [{'id': i, 'name': 'item %d' % i, 'price': i * 1.25,
                'tags': ['a', 'b', 'c%d' % (i % 5)],
                'stock': {'warehouse': i % 3, 'count': i * 7},
                'active': i % 2 == 0, 'note': None}
               for i in range(100)]
        return json, doc

    def run(self, state, n):
        json, doc = state
        size = 0
        for i in range(n):
            text = json.dumps(doc)
            back = json.loads(text)
            size += len(text) + len(back)
        return size


class PickleRoundTrip(Workload):
    name = 'pickle'
    doc = 'pickle (cPickle on 2.7) dumps and loads, protocol 2, instances'
    base_n = 120

    def setup(self):
        try:
            import cPickle as pickle
        except ImportError:
            import pickle
        doc = {'items': [Item(i, 'item %d' % i, i * 0.5) for i in range(60)],
               'index': dict(('key%d' % i, (i, i * 2)) for i in range(60)),
               'names': ['name %d' % i for i in range(60)]}
        return pickle, doc

    def run(self, state, n):
        pickle, doc = state
        size = 0
        for i in range(n):
            data = pickle.dumps(doc, 2)
            back = pickle.loads(data)
            size += len(data) + len(back['items'])
        return size


class Item(object):
    """Pickled by PickleRoundTrip (a module-level class, as pickle wants)."""

    def __init__(self, ident, name, weight):
        self.ident = ident
        self.name = name
        self.weight = weight


class Regex(Workload):
    name = 'regex'
    doc = 're: search, findall, sub and groups over log lines'
    base_n = 3500

    def setup(self):
        import re
        line = re.compile(r'(\d+\.\d+\.\d+\.\d+) - - \[([^\]]+)\] '
                          r'"(\w+) ([^ ]+) HTTP/1\.[01]" (\d{3}) (\d+)')
        number = re.compile(r'\d+')
        word = re.compile(r'[A-Za-z]+')
        text = ['10.1.%d.%d - - [27/Nov/2026:22:%02d:%02d +0000] '
                '"GET /api/v1/items/%d?page=%d HTTP/1.1" %d %d'
                % (i % 9, i % 200, i % 60, i % 60, i, i % 4,
                   (200, 404, 500)[i % 3], i * 37 % 9000)
                for i in range(40)]
        return line, number, word, text

    def run(self, state, n):
        line, number, word, text = state
        total = 0
        for i in range(n):
            entry = text[i % len(text)]
            match = line.match(entry)
            if match and match.group(5) != '200':
                total += len(match.groups())
            total += len(number.findall(entry))
            total += len(word.sub('x', entry))
        return total


class SortRecords(Workload):
    name = 'sort'
    doc = 'sorted() with key functions over records'
    base_n = 30

    def setup(self):
        return [('name%03d' % (i * 7919 % 1000), i * 31 % 997, i)
                for i in range(1000)]

    def run(self, records, n):
        total = 0
        for i in range(n):
            by_name = sorted(records)
            by_score = sorted(records, key=lambda r: (r[1], r[0]))
            top = sorted(records, key=lambda r: -r[2])[:10]
            total += by_name[0][2] + by_score[-1][2] + len(top)
        return total


class Unicode(Workload):
    name = 'unicode'
    doc = 'decode, split, normalize case, encode UTF-8 text'
    base_n = 400

    def setup(self):
        words = [u'caf\xe9', u'na\xefve', u'\u00e9t\u00e9', u'stra\xdfe',
                 u'Gr\xfc\xdfe', u'\u65e5\u672c', u'data', u'Ol\xe1']
        text = u' '.join(words[i % len(words)] for i in range(200))
        return text.encode('utf-8')

    def run(self, data, n):
        total = 0
        for i in range(n):
            text = data.decode('utf-8')
            words = [w.lower() for w in text.split()]
            counts = {}
            for w in words:
                counts[w] = counts.get(w, 0) + 1
            out = u','.join(sorted(counts)).upper().encode('utf-8')
            total += len(out) + len(words)
        return total


# --------------------------------------------------------------------------
# Arithmetic: floats (2.7: from a free list), no containers


class FloatArith(Workload):
    name = 'float_nbody'
    doc = 'n-body simulation: float arithmetic only'
    base_n = 3000

    def setup(self):
        bodies = [
            [4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037],
            [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
            [12.89, -15.11, -0.22, 1.08, 0.868, -0.010, 0.0017],
            [15.37, -25.91, 0.17, 0.979, 0.594, -0.034, 0.0020],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
        ]
        return bodies

    def run(self, initial, n):
        bodies = [list(b) for b in initial]
        pairs = [(bodies[i], bodies[j]) for i in range(len(bodies))
                 for j in range(i + 1, len(bodies))]
        dt = 0.01
        for step in range(n):
            for (b1, b2) in pairs:
                dx = b1[0] - b2[0]
                dy = b1[1] - b2[1]
                dz = b1[2] - b2[2]
                mag = dt * ((dx * dx + dy * dy + dz * dz) ** -1.5)
                m1 = b1[6] * mag
                m2 = b2[6] * mag
                b1[3] -= dx * m2
                b1[4] -= dy * m2
                b1[5] -= dz * m2
                b2[3] += dx * m1
                b2[4] += dy * m1
                b2[5] += dz * m1
            for b in bodies:
                b[0] += dt * b[3]
                b[1] += dt * b[4]
                b[2] += dt * b[5]
        return bodies[0][0]


# --------------------------------------------------------------------------
# Live data that grows: the trace table grows with it


class GrowingCache(Workload):
    name = 'growing_cache'
    doc = 'a memo dict growing to n entries of strings and tuples'
    base_n = 12500

    def run(self, state, n):
        cache = {}

        def lookup(key):
            try:
                return cache[key]
            except KeyError:
                value = cache[key] = (key.upper(), len(key), [key])
                return value

        total = 0
        for i in range(n):
            total += lookup('/product/%d?t=%d' % (i % 50, i))[1]
            total += lookup('/product/%d' % (i % 50))[1]
        return total + len(cache)


WORKLOADS = [ObjectChurn(), StringBuild(), BinaryTrees(), Classes(),
             GeneratorPipeline(), JsonRoundTrip(), PickleRoundTrip(),
             Regex(), SortRecords(), Unicode(), FloatArith(),
             GrowingCache()]

BY_NAME = dict((w.name, w) for w in WORKLOADS)
