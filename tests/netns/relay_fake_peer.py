#!/usr/bin/env python3
"""A fake Weir agent for the relay's tests: it answers /v1/status like an
agent, then sends garbage on /v1/flows, a different kind on each connection:

  odd connections:  12 invalid lines (truncated JSON, not JSON, not a flows
                    response), then the connection stays open and quiet
  even connections: 3 invalid lines, then one line that never ends

Usage: relay_fake_peer.py ADDRESS PORT
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BAD_LINES = [
    b'{"flow": {"time": "2026-08-05T10:1',  # truncated
    b'this is not json',
    b'{"flow": "not an object"}',
    b'[1, 2, 3]',
    b'{"unexpected": true}',
    b'{"flow": {"time": "yesterday"}}',
]

lock = threading.Lock()
connections = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        global connections
        if self.path.startswith("/v1/status"):
            body = b'{"node_name": "fake-node", "num_flows": 0, "max_flows": 1, ' \
                   b'"seen_flows": 0, "version": "fake"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/v1/flows"):
            self.send_error(404)
            return
        with lock:
            connections += 1
            n = connections
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        try:
            if n % 2:
                for i in range(12):
                    self.wfile.write(BAD_LINES[i % len(BAD_LINES)] + b"\n")
                self.wfile.flush()
                time.sleep(60)
            else:
                for i in range(3):
                    self.wfile.write(BAD_LINES[i] + b"\n")
                chunk = b"x" * 65536
                for _ in range(1024):  # 64 MiB at most: the relay hangs up long before
                    self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
