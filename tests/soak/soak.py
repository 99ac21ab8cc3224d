"""Soak test: the example service, traced, under steady load for a while.

    python2.7 tests/soak/soak.py [--seconds 600] [--interval 60] [--rate 200]
                                 [--new-every 100] [--service FILE]

examples/leaky_service.py runs on the patched interpreter with
PYTHONTRACEMALLOC=25 and the snapshot service taking a snapshot every
--interval seconds (and one at exit), while tests/soak/load.py sends
--rate requests a second from 127.0.0.1, one in --new-every with a new
query string (one more cached page: the deliberate leak).  Its RSS is read
from /proc every few seconds.  At the end it gets SIGTERM and must exit
cleanly, and:

  - no request failed, the service did not crash;
  - every snapshot file loads (tracemalloc.Snapshot.load);
  - traced memory grew by the leak and by nothing else: the growth from
    the first snapshot to the last is the new pages the client got back
    (plus their keys and the cache's table), within 1 MiB + 10 %;
  - RSS grew by no more than the traced growth, the tracer's own growth
    and 16 MiB (allocator slack, the snapshots' transient lists).

The files and a summary (summary.json) are left in build/soak/.  Ends with
"N passed, N failed".
"""

from __future__ import print_function

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MiB = 1024 * 1024


def rss_of(pid):
    try:
        with open('/proc/%d/status' % pid) as fp:
            for line in fp:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except EnvironmentError:
        pass
    return None


def sample_rss(pid, samples, stop, every=5.0):
    while not stop.is_set():
        rss = rss_of(pid)
        if rss is not None:
            samples.append((time.time(), rss))
        stop.wait(every)


def load_snapshots(directory):
    """[(name, snapshot)] in the order taken, and the problems met."""
    import tracemalloc
    import tracemalloc_snapshot_file as snapshot_file
    names = [name for name in os.listdir(directory)
             if snapshot_file.parse_snapshot_filename(name)]
    names.sort(key=snapshot_file.parse_snapshot_filename)
    loaded, problems = [], []
    for name in names:
        try:
            loaded.append((name, tracemalloc.Snapshot.load(
                os.path.join(directory, name))))
        except Exception as exc:
            problems.append('%s: %s' % (name, exc))
    others = [name for name in os.listdir(directory) if name not in names]
    if others:
        problems.append('other files: %s' % others)
    return loaded, problems


def traced_of(snapshot):
    """The program's traced memory: without what tracemalloc's own modules
    allocated (snapshots, and the int free lists Python 2 keeps after
    them)."""
    import tracemalloc
    own = tracemalloc.Filter(False, '*tracemalloc*', all_frames=True)
    return sum(trace.size
               for trace in snapshot.filter_traces([own]).traces)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=600)
    parser.add_argument('--interval', type=float, default=60)
    parser.add_argument('--rate', type=float, default=200)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--new-every', type=int, default=100)
    parser.add_argument('--service', default=os.path.join(
        ROOT, 'examples', 'leaky_service.py'))
    parser.add_argument('--output', default=os.path.join(ROOT, 'build',
                                                         'soak'))
    args = parser.parse_args()

    directory = os.path.join(args.output, 'snapshots')
    if os.path.isdir(args.output):
        shutil.rmtree(args.output)
    os.makedirs(directory)
    env = dict(os.environ)
    env.update({'PYTHONTRACEMALLOC': '25',
                'TRACEMALLOC_SNAPSHOT_DIR': directory,
                'TRACEMALLOC_SNAPSHOT_INTERVAL': str(args.interval),
                'TRACEMALLOC_SNAPSHOT_AT_EXIT': '1'})
    env.pop('TRACEMALLOC_SNAPSHOT_KEEP', None)
    service_log = open(os.path.join(args.output, 'service.log'), 'w+')
    service = subprocess.Popen([sys.executable, args.service, '0'],
                               stdout=subprocess.PIPE, stderr=service_log,
                               env=env)
    first = service.stdout.readline().decode()
    if 'http://' not in first:
        service.kill()
        print('the service did not start: %r' % first)
        print('0 passed, 1 failed')
        return 1
    url = first.split()[-1]
    print('soak: %s, %g s, %g requests/s, a new page every %d requests, a '
          'snapshot every %g s' % (url, args.seconds, args.rate,
                                   args.new_every, args.interval))
    sys.stdout.flush()

    samples = [(time.time(), rss_of(service.pid))]
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss,
                               args=(service.pid, samples, stop))
    sampler.daemon = True
    sampler.start()
    load_env = dict(os.environ)
    load_env.pop('PYTHONTRACEMALLOC', None)
    load = subprocess.Popen(
        [sys.executable, os.path.join(HERE, 'load.py'), url,
         str(args.seconds), '--rate', str(args.rate), '--clients',
         str(args.clients), '--new-every', str(args.new_every)],
        stdout=subprocess.PIPE, env=load_env)
    output = load.communicate()[0].decode()
    stop.set()
    sampler.join()
    rss_end = rss_of(service.pid)
    alive = service.poll() is None
    service.send_signal(signal.SIGTERM)
    remaining = service.communicate()[0].decode()
    status = service.wait()
    service_log.seek(0)
    stderr = service_log.read()

    try:
        client = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        client = None
    loaded, load_problems = load_snapshots(directory)
    checks = []

    def check(name, ok, detail):
        checks.append((name, bool(ok), detail))

    check('client', client is not None and client['failures'] == 0,
          'requests %s, failed %s %s' % (
              client and client['requests'], client and client['failures'],
              client and client['failure_kinds'] or ''))
    check('service', alive and status == 0 and not stderr.strip(),
          'alive until the end: %s, exit status %s, stderr %r; %s'
          % (alive, status, stderr[-300:], remaining.strip()))
    check('snapshots', not load_problems and len(loaded) >= 2,
          '%d files loaded%s' % (len(loaded), ', ' + '; '.join(load_problems)
                                 if load_problems else ''))

    summary = {'client': client, 'snapshots': [], 'rss_samples': len(samples)}
    if client is not None and len(loaded) >= 2:
        # the first periodic snapshot is the baseline; the one at exit the
        # end (the service is idle then)
        first_meta = loaded[0][1].metadata
        last_meta = loaded[-1][1].metadata
        for name, snapshot in loaded:
            meta = snapshot.metadata
            summary['snapshots'].append({
                'file': name, 'reason': meta.get('reason'),
                'traces': len(snapshot.traces),
                'traced': traced_of(snapshot),
                'traced_memory': meta.get('traced_memory'),
                'tracemalloc_memory': meta.get('tracemalloc_memory'),
                'rss': meta.get('rss')})
        growth = traced_of(loaded[-1][1]) - traced_of(loaded[0][1])
        # pages created between the two snapshots: the client's count is
        # for the whole run; the first snapshot comes after interval s
        fraction = max(0.0, (args.seconds - args.interval) / args.seconds)
        pages = client['new_pages'] * fraction
        leak = (client['new_page_bytes'] * fraction
                + pages * 120)              # key string, cache slot
        allowed = MiB + 0.10 * leak
        check('traced memory', abs(growth - leak) <= allowed,
              'grew %.1f MiB from the first snapshot to the last, the leak '
              'is about %.1f MiB (%d pages)' % (growth / float(MiB),
                                               leak / float(MiB), pages))
        tracer_growth = ((last_meta.get('tracemalloc_memory') or 0)
                         - (first_meta.get('tracemalloc_memory') or 0))
        rss_start = first_meta.get('rss') or samples[0][1]
        rss_max = max(rss for when, rss in samples if rss)
        rss_growth = (rss_end or rss_max) - rss_start
        check('RSS', rss_growth <= max(growth, 0) + tracer_growth + 16 * MiB,
              'at the first snapshot %.1f MiB, at the end %.1f MiB (max '
              '%.1f MiB); traced memory grew %.1f MiB, the tracer %.1f MiB'
              % (rss_start / float(MiB), (rss_end or 0) / float(MiB),
                 rss_max / float(MiB), growth / float(MiB),
                 tracer_growth / float(MiB)))
        summary.update({'traced_growth': growth, 'leak_estimate': leak,
                        'rss_start': rss_start, 'rss_end': rss_end,
                        'rss_max': rss_max, 'tracer_growth': tracer_growth})
    with open(os.path.join(args.output, 'summary.json'), 'w') as fp:
        json.dump(summary, fp, indent=1, sort_keys=True)

    passed = failed = 0
    for name, ok, detail in checks:
        print('%-7s %s: %s' % ('ok' if ok else 'FAILED', name, detail))
        passed += ok
        failed += not ok
    if client is not None:
        print('client: %.0f requests/s, latency p50 %.1f ms, p99 %.1f ms, '
              'max %.0f ms' % (client['rate'], 1000 * client['latency_p50'],
                               1000 * client['latency_p99'],
                               1000 * client['latency_max']))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
