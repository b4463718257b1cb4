#!/usr/bin/env python3
"""A Kubernetes API server stand-in for weir-agent's pod watch: it replays
recorded responses in the API's wire format (tests/fixtures/k8s/), one
scripted step per request, and checks that each request is the one the
script expects: path, fieldSelector, limit/continue, watch parameters,
resourceVersion and the bearer token.

A step (script.json) is a list page:
    {"list": "FILE", "continue": TOKEN or null}
or a watch:
    {"watch": "FILE", "resourceVersion": RV, "gate_before": NAME,
     "gate": NAME, "after_gate": "FILE", "end": "close" | "drop" | "hold"}
A watch streams FILE's lines as chunks (chunked transfer encoding, one event
per line, as the API server does), waits for the file GATES/NAME, streams
after_gate's lines, then ends: close (the final chunk, as when
timeoutSeconds runs out), drop (the connection cut mid-stream) or hold
(open and quiet until the client leaves).

Every request is logged, one JSON line each, to LOG; a request that is not
the script's next gets a 400 Status and a "mismatch" line.

Usage: k8s_replay.py PORT FIXTURES SCRIPT GATES LOG TOKEN NODE
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT, FIXTURES, SCRIPT, GATES, LOG, TOKEN, NODE = sys.argv[1:8]
steps = json.load(open(SCRIPT))
lock = threading.Lock()
cursor = 0


def log(entry):
    with lock, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def lines(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return [line.strip() for line in f if line.strip()]


def wait_gate(name, handler):
    path = os.path.join(GATES, name)
    while not os.path.exists(path):
        time.sleep(0.05)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def mismatch(self, why, q):
        log({"mismatch": why, "path": self.path})
        self.send_json(400, status(400, "BadRequest", "replay: " + why))

    def do_GET(self):
        global cursor
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        log({"path": url.path, "query": q,
             "authorization": self.headers.get("Authorization", "")})
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        if url.path != "/api/v1/pods" or q.get("fieldSelector") != "spec.nodeName=" + NODE:
            return self.mismatch("not this node's pods", q)
        with lock:
            if cursor >= len(steps):
                step = None
            else:
                step = steps[cursor]
                cursor += 1
        if step is None:
            return self.mismatch("no step left", q)
        if "list" in step:
            if q.get("watch") or q.get("continue") != step["continue"] or not q.get("limit"):
                return self.mismatch("expected a list page, continue=%s" % step["continue"], q)
            with open(os.path.join(FIXTURES, step["list"]), "rb") as f:
                self.send_json(200, json.load(f))
            return
        want = {"watch": "1", "allowWatchBookmarks": "true",
                "resourceVersion": step["resourceVersion"]}
        if any(q.get(k) != v for k, v in want.items()) or not q.get("timeoutSeconds"):
            return self.mismatch("expected a watch from resourceVersion=%s" %
                                 step["resourceVersion"], q)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if step.get("gate_before"):
            wait_gate(step["gate_before"], self)
        for line in lines(step["watch"]):
            self.chunk(line + b"\n")
        if step.get("gate"):
            wait_gate(step["gate"], self)
        for line in lines(step["after_gate"]) if step.get("after_gate") else []:
            self.chunk(line + b"\n")
        end = step.get("end", "close")
        if end == "close":
            self.wfile.write(b"0\r\n\r\n")
        elif end == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            try:
                while not self.rfile.read(1) == b"":
                    pass
            except OSError:
                pass
        self.close_connection = True


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
