#!/usr/bin/python3
"""net-server DIR PORT...: plain HTTP servers on 127.0.0.1, one thread per
request, with a listen backlog deep enough for the tests' bursts (the
http.server module's default of 5 drops SYNs under 200 parallel connects)."""
import functools
import http.server
import sys
import threading


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    handler = functools.partial(Quiet, directory=sys.argv[1])
    servers = [Server(("127.0.0.1", int(p)), handler) for p in sys.argv[2:]]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


main()
