#!/usr/bin/env python3
"""A load-balancer test client.

lb_client.py count tcp|udp VIP PORT N: N new connections (or datagrams from
N new sockets), each reading the backend's name; prints {"name": count, ...,
"failed": n} as JSON.

lb_client.py long VIP PORT STOPFILE: one connection that sends a line every
50 ms and expects it back, until STOPFILE exists; prints the backend's name
at once, then at the end {"backend": name, "rounds": n, "failed": n}.
"""
import json
import os
import socket
import sys
import time


def family(vip):
    return socket.AF_INET6 if ":" in vip else socket.AF_INET


def count(proto, vip, port, n):
    seen = {"failed": 0}
    for _ in range(n):
        if proto == "tcp":
            s = socket.socket(family(vip), socket.SOCK_STREAM)
        else:
            s = socket.socket(family(vip), socket.SOCK_DGRAM)
        s.settimeout(1.0)
        try:
            if proto == "tcp":
                s.connect((vip, port))
                data = s.recv(64)
            else:
                s.sendto(b"hi", (vip, port))
                data = s.recv(64)
            name = data.decode().strip()
            if not name:
                raise OSError("empty answer")
            seen[name] = seen.get(name, 0) + 1
        except OSError:
            seen["failed"] += 1
        finally:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
    print(json.dumps(seen), flush=True)


def long_lived(vip, port, stopfile):
    s = socket.create_connection((vip, port), timeout=2.0)
    f = s.makefile("rb")
    name = f.readline().decode().strip()
    print(name, flush=True)
    rounds = failed = 0
    while not os.path.exists(stopfile):
        try:
            s.sendall(b"ping %d\n" % rounds)
            if f.readline() != b"ping %d\n" % rounds:
                failed += 1
        except OSError:
            failed += 1
        rounds += 1
        time.sleep(0.05)
    print(json.dumps({"backend": name, "rounds": rounds, "failed": failed}), flush=True)


def main():
    if sys.argv[1] == "count":
        count(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        long_lived(sys.argv[2], int(sys.argv[3]), sys.argv[4])


if __name__ == "__main__":
    main()
