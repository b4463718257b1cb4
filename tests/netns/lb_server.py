#!/usr/bin/env python3
"""A load-balancer test backend: answers with its own name.

lb_server.py NAME PORT: on TCP, a new connection gets "NAME\\n", then every
line it sends is echoed back until it closes; on UDP, every datagram is
answered with "NAME\\n". IPv4 and IPv6 (a dual-stack socket on ::).
"""
import selectors
import socket
import sys


def main():
    name, port = sys.argv[1].encode(), int(sys.argv[2])
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
    sel.register(tcp, selectors.EVENT_READ, "accept")
    sel.register(udp, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "accept":
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
