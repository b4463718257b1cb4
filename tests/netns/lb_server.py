#!/usr/bin/env python3
"""A load-balancer test backend: answers with its own name.

lb_server.py NAME PORT [SICKFILE]: on TCP, a new connection gets "NAME\\n",
then every line it sends is echoed back until it closes; on UDP, every
datagram is answered with "NAME\\n". On PORT + 1, an HTTP health endpoint:
any request gets "200 OK", or "503 Service Unavailable" while SICKFILE
exists. IPv4 and IPv6 (dual-stack sockets on ::).
"""
import os
import selectors
import socket
import sys


def main():
    name, port = sys.argv[1].encode(), int(sys.argv[2])
    sick = sys.argv[3] if len(sys.argv) > 3 else None
    sel = selectors.DefaultSelector()
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    tcp.bind(("::", port))
    tcp.listen(1024)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", port))
    udp.setblocking(False)
    http = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    http.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    http.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    http.bind(("::", port + 1))
    http.listen(128)
    http.setblocking(False)
    sel.register(http, selectors.EVENT_READ, "http")
    sel.register(tcp, selectors.EVENT_READ, "accept")
    sel.register(udp, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "http":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.settimeout(1.0)
                try:
                    conn.recv(4096)
                    if sick and os.path.exists(sick):
                        conn.sendall(b"HTTP/1.0 503 Service Unavailable\r\n\r\n")
                    else:
                        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                except OSError:
                    pass
                conn.close()
            elif key.data == "accept":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                try:
                    conn.send(name + b"\n")
                except OSError:
                    conn.close()
                    continue
                sel.register(conn, selectors.EVENT_READ, "conn")
            elif key.data == "udp":
                try:
                    _, peer = sock.recvfrom(2048)
                    sock.sendto(name + b"\n", peer)
                except OSError:
                    pass
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    sock.close()
                    continue
                try:
                    sock.sendall(data)
                except OSError:
                    sel.unregister(sock)
                    sock.close()


if __name__ == "__main__":
    main()
