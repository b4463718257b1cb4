#!/usr/bin/env python3
"""A fake Weir agent that speaks plain NDJSON only, for the relay's fallback
from the compact format: it answers /v1/status like an agent, then streams
a valid flow line every 100 ms on /v1/flows, as application/x-ndjson.

  refuse:  a request with format= gets 400, as an agent from before the
           compact format answers an unknown parameter
  ignore:  format= is ignored: the answer is plain NDJSON all the same

Each request's path goes to stdout. Usage: relay_plain_peer.py ADDRESS PORT NAME MODE
"""
import datetime
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[3]
MODE = sys.argv[4]


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def flow_line(i):
    t = now_text()
    return ('{"flow":{"time":"%s","source":{"namespace":"plain","pod_name":"%s-pod"},'
            '"destination":{"namespace":"plain","pod_name":"server"},'
            '"IP":{"source":"10.99.0.1","destination":"10.99.0.2","ipVersion":"IPv4"},'
            '"l4":{"TCP":{"source_port":%d,"destination_port":80}},"verdict":"FORWARDED",'
            '"node_name":"%s"},"node_name":"%s","time":"%s"}\n'
            % (t, NAME, 10000 + i, NAME, NAME, t)).encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        print(self.path, flush=True)
        if self.path.startswith("/v1/status"):
            body = ('{"node_name": "%s", "num_flows": 0, "max_flows": 1, '
                    '"seen_flows": 0, "version": "plain"}' % NAME).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/v1/flows"):
            self.send_error(404)
            return
        if MODE == "refuse" and "format=" in self.path:
            body = b'{"error": "bad query: format: unknown parameter"}\n'
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        try:
            for i in range(600):  # a minute at most
                self.wfile.write(flow_line(i))
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
