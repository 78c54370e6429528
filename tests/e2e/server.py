#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A backend for the end-to-end tests: answers with its own name.

TCP (IPv4 and IPv6, port given): sends "NAME\n" on accept, then answers each
line it reads with "NAME LINE". UDP on the same port: answers each datagram
with "NAME". HTTP on port 8080: GET /healthz answers 200 (health probes),
GET /metrics the Prometheus counters backend_requests_total and
backend_errors_total (every TCP connection is a request; with a third
argument "errors", every one is also an error, as a broken release would
report; SIGUSR1 turns that on and off in a running server, whose
connections stay),
any other path 500. Runs until killed.
"""
import selectors
import signal
import socket
import sys


def main():
    name, port = sys.argv[1], int(sys.argv[2])
    failing = len(sys.argv) > 3 and sys.argv[3] == "errors"

    def toggle(*_):
        nonlocal failing
        failing = not failing
    signal.signal(signal.SIGUSR1, toggle)
    requests = errors = 0
    selector = selectors.DefaultSelector()

    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind(("::", port))
    listener.listen(4096)
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, "accept")

    datagrams = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    datagrams.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    datagrams.bind(("::", port))
    datagrams.setblocking(False)
    selector.register(datagrams, selectors.EVENT_READ, "udp")

    health = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    health.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    health.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    health.bind(("::", 8080))
    health.listen(64)
    health.setblocking(False)
    selector.register(health, selectors.EVENT_READ, "health")

    greeting = (name + "\n").encode()
    buffers = {}
    while True:
        for key, _ in selector.select():
            if key.data == "accept":
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    continue
                connection.setblocking(False)
                requests += 1
                errors += failing
                try:
                    connection.send(greeting)
                except OSError:
                    connection.close()
                    continue
                buffers[connection] = b""
                selector.register(connection, selectors.EVENT_READ, "tcp")
            elif key.data == "health":
                try:
                    connection, _ = health.accept()
                    connection.settimeout(1)
                    request = connection.recv(1024).decode(errors="replace")
                    if request.startswith("GET /metrics "):
                        body = ("backend_requests_total{backend=\"%s\"} %d\n"
                                "backend_errors_total{backend=\"%s\"} %d\n"
                                % (name, requests, name, errors))
                        status = "200 OK"
                    else:
                        body = name + "\n"
                        status = "200 OK" if request.startswith("GET /healthz ") else "500 Error"
                    connection.sendall(("HTTP/1.0 %s\r\n\r\n%s" % (status, body)).encode())
                    connection.close()
                except OSError:
                    pass
            elif key.data == "udp":
                try:
                    _, peer = datagrams.recvfrom(2048)
                    datagrams.sendto(name.encode(), peer)
                except OSError:
                    pass
            else:
                connection = key.fileobj
                try:
                    data = connection.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(connection)
                    buffers.pop(connection, None)
                    connection.close()
                    continue
                buffers[connection] += data
                while b"\n" in buffers[connection]:
                    line, buffers[connection] = buffers[connection].split(b"\n", 1)
                    try:
                        connection.send(name.encode() + b" " + line + b"\n")
                    except OSError:
                        pass


if __name__ == "__main__":
    main()
