"""A steady HTTP load on the example service, with every response checked.

    python load.py URL SECONDS [--rate N] [--clients N] [--new-every N]

Clients (threads) send GET /product/K (K among 7 products, pages the
service has cached) at RATE requests a second in all; one request in
NEW_EVERY carries a new "?t=..." query string, which makes the service
cache one more page: the deliberate leak.  A response counts as failed
unless it is a 200 whose body is the page of that very path.  At the end,
one line of JSON: requests, failures (by kind), new pages and their bytes,
latency percentiles.  Python 2.7 or 3.
"""

from __future__ import print_function

import argparse
import json
import socket
import sys
import threading
import time

try:
    from httplib import HTTPConnection
    from urlparse import urlparse
except ImportError:  # Python 3
    from http.client import HTTPConnection
    from urllib.parse import urlparse


class Stats(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = {}
        self.new_pages = 0
        self.new_page_bytes = 0
        self.latencies = []

    def record(self, latency, failure=None, new_page_bytes=None):
        with self.lock:
            self.requests += 1
            if failure is not None:
                self.failures[failure] = self.failures.get(failure, 0) + 1
            if new_page_bytes is not None:
                self.new_pages += 1
                self.new_page_bytes += new_page_bytes
            if len(self.latencies) < 200000:
                self.latencies.append(latency)


def fetch(host, port, path):
    """(status, body) of one GET, on a connection of its own (the service
    speaks HTTP/1.0)."""
    connection = HTTPConnection(host, port, timeout=30)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def client(number, host, port, deadline, interval, new_every, counter,
           stats):
    next_time = time.time()
    while True:
        now = time.time()
        if now >= deadline:
            return
        if next_time > now:
            time.sleep(next_time - now)
        next_time += interval
        with stats.lock:
            counter[0] += 1
            sequence = counter[0]
        new = (sequence % new_every == 0)
        path = '/product/%d' % (sequence % 7)
        if new:
            path += '?t=%d' % sequence
        start = time.time()
        failure = None
        size = None
        try:
            status, body = fetch(host, port, path)
            if status != 200:
                failure = 'status %d' % status
            elif path.encode('ascii') not in body:
                failure = 'wrong page'
            elif new:
                size = len(body)
        except (socket.error, EnvironmentError) as exc:
            failure = type(exc).__name__
        except Exception as exc:
            failure = '%s: %s' % (type(exc).__name__, exc)
        stats.record(time.time() - start, failure, size)


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('url')
    parser.add_argument('seconds', type=float)
    parser.add_argument('--rate', type=float, default=200)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--new-every', type=int, default=100)
    args = parser.parse_args()
    url = urlparse(args.url)
    stats = Stats()
    counter = [0]
    deadline = time.time() + args.seconds
    interval = args.clients / args.rate
    threads = [threading.Thread(target=client, args=(
        i, url.hostname, url.port, deadline, interval, args.new_every,
        counter, stats)) for i in range(args.clients)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    result = {
        'requests': stats.requests,
        'failures': sum(stats.failures.values()),
        'failure_kinds': stats.failures,
        'new_pages': stats.new_pages,
        'new_page_bytes': stats.new_page_bytes,
        'rate': stats.requests / args.seconds,
        'latency_p50': percentile(stats.latencies, 0.5),
        'latency_p99': percentile(stats.latencies, 0.99),
        'latency_max': max(stats.latencies) if stats.latencies else None,
    }
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
