"""A small HTTP service that leaks memory, to practise finding the leak.

    python2.7 examples/leaky_service.py [PORT]

It serves "product pages" on 127.0.0.1 (PORT 0, the default, picks a free
port) and prints the URL it listens on as its first line of output.  Ctrl-C
(SIGINT) or SIGTERM stops it cleanly.

The bug is a classic: render_page() memoizes pages in a module-level dict
keyed by the whole request path, query string included.  Clients add a
cache-busting "?t=..." to every request, so every request adds a page that
is never looked up again, and the process grows without bound.  Nothing in
this file knows about tracemalloc: README.md shows how to find the leak from
the outside.
"""

import signal
import sys

try:
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # Python 3
    from http.server import BaseHTTPRequestHandler, HTTPServer

# path -> rendered page.  The leak: nothing is ever removed.
_PAGE_CACHE = {}

_PAGE_TEMPLATE = ('<html><head><title>%s</title></head><body><h1>%s</h1>'
                  '<table>%s</table><p>' + 'Lorem ipsum. ' * 300
                  + '</p></body></html>')


def render_template(path):
    """The page of a product: about 6 KiB of HTML."""
    rows = ''.join('<tr><td>option %i</td><td>%s</td></tr>' % (i, path)
                   for i in range(20))
    page = _PAGE_TEMPLATE % (path, path, rows)  # allocates the page
    return page


def render_page(path):
    page = _PAGE_CACHE.get(path)
    if page is None:
        page = _PAGE_CACHE[path] = render_template(path)  # keeps every page
    return page


class ProductHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        page = render_page(self.path)
        body = page.encode('utf-8') if not isinstance(page, bytes) else page
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # quiet: one line per request would drown the example


def stop(signum, frame):
    raise KeyboardInterrupt


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = HTTPServer(('127.0.0.1', port), ProductHandler)
    # SIGTERM stops it like Ctrl-C: serve_forever() returns through the
    # exception, and exit handlers (atexit) run.
    signal.signal(signal.SIGTERM, stop)
    print('listening on http://127.0.0.1:%i/' % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    print('stopped after %i pages cached' % len(_PAGE_CACHE))


if __name__ == '__main__':
    main()
