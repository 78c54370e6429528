#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The client side of the end-to-end tests; prints its findings as JSON.

connect ADDRESS PORT COUNT   COUNT TCP connections, one after another: which
                             server answered each, and how many failed.
steady ADDRESS PORT RATE     RATE connections a second until killed, with a
                             JSON line of totals every second.
connect_from ADDRESS PORT LOCAL_PORT...
                             One connection from each local port.
udp ADDRESS PORT COUNT       COUNT datagrams, each from its own socket.
syn ADDRESS PORT LOCAL_PORT SEQUENCE COUNT
                             COUNT bare SYNs (IPv4) with this initial sequence
                             number from LOCAL_PORT, through a raw socket:
                             what a client's kernel sends and retransmits for
                             a handshake nobody answers.
alternate ADDRESS,ADDRESS... PORT SECONDS
                             Connections to each address in turn: when, which
                             address, which server.
hold ADDRESS PORT HELD SECONDS [PING_INTERVAL]
                             Opens HELD long-lived connections, prints
                             "ready", then for SECONDS (0: until a line comes
                             on stdin, at most 300 s) keeps opening new
                             connections and sending a line on every held one
                             PING_INTERVAL s (0.1). Reports each new connection
                             with its CLOCK_MONOTONIC time, server and TCP
                             retransmissions (a lost SYN shows there), and
                             each held connection's port, server, whether it
                             broke, and when it last answered.
race ADDRESS PORT WORKERS SECONDS
                             WORKERS processes each opening connections one
                             after another for SECONDS (after "ready"): a
                             connection reads the server's greeting, sends
                             a numbered line and reads the answer. Reports
                             each as [started, connected, greeting server,
                             answering server or "error: ...", local port,
                             retransmissions] (CLOCK_MONOTONIC times: the SYN
                             leaves at started, the handshake's ACK at
                             connected).
"""
import json
import multiprocessing
import select
import socket
import struct
import sys
import time

TIMEOUT = 2.0


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by peer")
        data += chunk
    return data.decode().strip()


def retransmissions(sock):
    """tcpi_total_retrans of struct tcp_info (8 bytes of u8 fields, then
    u32s; total_retrans is the 24th)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 100)[0]


def one_connection(address, port, counted=None):
    """Returns (server name, local port) or raises; counted (a list) gets
    the connection's retransmissions."""
    sock = socket.socket(family_of(address), socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect((address, port))
        local_port = sock.getsockname()[1]
        name = read_line(sock)
        if counted is not None:
            counted.append(retransmissions(sock))
        return name, local_port
    finally:
        sock.close()


def stop_requested():
    return bool(select.select([sys.stdin], [], [], 0)[0])


def connect(address, port, count):
    servers, errors = {}, []
    for _ in range(count):
        try:
            name, _ = one_connection(address, port)
            servers[name] = servers.get(name, 0) + 1
        except OSError as error:
            errors.append(str(error))
    return {"servers": servers, "errors": errors}


def connect_from(address, port, local_ports):
    """One connection from each given local port: which server answered."""
    answers = []
    for local_port in local_ports:
        sock = socket.socket(family_of(address), socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.settimeout(TIMEOUT)
        try:
            sock.bind(("", local_port))
            sock.connect((address, port))
            answers.append([local_port, read_line(sock)])
        except OSError as error:
            answers.append([local_port, "error: " + str(error)])
        finally:
            sock.close()
    return {"answers": answers}


def udp(address, port, count):
    servers, errors = {}, []
    for _ in range(count):
        sock = socket.socket(family_of(address), socket.SOCK_DGRAM)
        sock.settimeout(TIMEOUT)
        try:
            sock.sendto(b"ping", (address, port))
            name = sock.recv(2048).decode()
            servers[name] = servers.get(name, 0) + 1
        except OSError as error:
            errors.append(str(error))
        finally:
            sock.close()
    return {"servers": servers, "errors": errors}


def hold(address, port, held_count, seconds, ping_interval=0.1):
    held = []
    for _ in range(held_count):
        sock = socket.socket(family_of(address), socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect((address, port))
        held.append({"socket": sock, "port": sock.getsockname()[1],
                     "server": read_line(sock), "servers_seen": [],
                     "broken": None, "broken_at": None, "lines": 0,
                     "last_at": None})
    print("ready", flush=True)

    until_stdin = seconds == 0
    new, next_ping = [], 0.0
    deadline = time.monotonic() + (300 if until_stdin else seconds)
    while time.monotonic() < deadline and not (until_stdin and stop_requested()):
        started = time.monotonic()
        counted = []
        try:
            name, _ = one_connection(address, port, counted)
            new.append([started, name, counted[0]])
        except OSError as error:
            new.append([started, "error: " + str(error)])
        if started >= next_ping:
            next_ping = started + ping_interval
            for connection in held:
                if connection["broken"]:
                    continue
                try:
                    connection["socket"].sendall(b"ping\n")
                    name = read_line(connection["socket"]).split()[0]
                    connection["lines"] += 1
                    connection["last_at"] = time.monotonic()
                    if name not in connection["servers_seen"]:
                        connection["servers_seen"].append(name)
                except OSError as error:
                    connection["broken"] = str(error)
                    connection["broken_at"] = time.monotonic()
        time.sleep(0.005)
    for connection in held:
        connection["retransmissions"] = retransmissions(connection["socket"])
        connection["socket"].close()
        del connection["socket"]
    return {"new": new, "held": held}


def race_worker(arguments):
    """One client's connections until the deadline (its own process: no
    thread waits for another's interpreter lock between its timestamps and
    its packets)."""
    address, port, number, deadline = arguments
    results, sequence = [], 0
    while time.monotonic() < deadline:
        sequence += 1
        line = "race %d %d" % (number, sequence)
        sock = socket.socket(family_of(address), socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        connected, greeting, local_port, retransmitted = None, None, 0, 0
        started = time.monotonic()
        try:
            sock.connect((address, port))
            connected = time.monotonic()
            local_port = sock.getsockname()[1]
            greeting = read_line(sock)
            sock.sendall((line + "\n").encode())
            reply = read_line(sock)
            answer = (reply.split()[0] if reply.endswith(" " + line)
                      else "error: answer %r to %r" % (reply, line))
            retransmitted = retransmissions(sock)
        except OSError as error:
            answer = "error: %s" % error
        finally:
            sock.close()
        results.append([started, connected, greeting, answer, local_port,
                        retransmitted])
    return results


def race(address, port, workers, seconds):
    """Connections from WORKERS processes for SECONDS; each one's timeline,
    who greeted it and who answered its data."""
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        results = pool.map(race_worker, [(address, port, n, deadline)
                                         for n in range(workers)])
    return {"connections": [c for worker in results for c in worker]}


def alternate(addresses, port, seconds):
    """Connections to each address in turn for SECONDS: [time, address,
    server] for each, in the order they were answered."""
    answers, deadline = [], time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < deadline:
        for address in addresses:
            try:
                name, _ = one_connection(address, port)
            except OSError as error:
                name = "error: " + str(error)
            answers.append([time.monotonic(), address, name])
    return {"answers": answers}


def steady(address, port, rate):
    """Connections at RATE per second until killed; a JSON line of totals a second."""
    servers, failed, next_report = {}, 0, time.monotonic() + 1
    while True:
        started = time.monotonic()
        try:
            name, _ = one_connection(address, port)
            servers[name] = servers.get(name, 0) + 1
        except OSError:
            failed += 1
        if started >= next_report:
            print(json.dumps({"servers": servers, "failed": failed}), flush=True)
            next_report += 1
        time.sleep(max(0, 1.0 / rate - (time.monotonic() - started)))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def syn(address, port, local_port, sequence, count):
    """Bare SYNs from LOCAL_PORT, which no socket of this host holds: a
    SYN-ACK would be reset by the kernel, a reset is ignored."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((address, port))
    source = probe.getsockname()[0]
    probe.close()
    header = struct.pack("!HHIIBBHHH", local_port, port, sequence, 0, 5 << 4,
                         0x02, 64240, 0, 0)
    pseudo = (socket.inet_aton(source) + socket.inet_aton(address) +
              struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header)))
    header = header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    try:
        for i in range(count):
            raw.sendto(header, (address, 0))
            if i + 1 < count:
                time.sleep(0.2)
    finally:
        raw.close()
    return {"sent": count, "source": source}


def slow_handshake(address, port, local_port, seconds):
    """A bare SYN from LOCAL_PORT, then after SECONDS the ACK that ends
    the handshake as the LB sees it (nothing answers: the port is one no
    server listens on, and the backend's reset reaches no socket here)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((address, port))
    source = probe.getsockname()[0]
    probe.close()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    try:
        for flags, sequence in ((0x02, 1000), (0x10, 1001)):
            header = struct.pack("!HHIIBBHHH", local_port, port, sequence, 0, 5 << 4,
                                 flags, 64240, 0, 0)
            pseudo = (socket.inet_aton(source) + socket.inet_aton(address) +
                      struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header)))
            header = header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]
            raw.sendto(header, (address, 0))
            if flags == 0x02:
                time.sleep(seconds)
    finally:
        raw.close()
    return {"source": source, "seconds": seconds}


def main():
    command, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if command == "connect":
        result = connect(address, port, int(sys.argv[4]))
    elif command == "connect_from":
        result = connect_from(address, port, [int(p) for p in sys.argv[4:]])
    elif command == "slow_handshake":
        result = slow_handshake(address, port, int(sys.argv[4]), float(sys.argv[5]))
    elif command == "udp":
        result = udp(address, port, int(sys.argv[4]))
    elif command == "steady":
        steady(address, port, float(sys.argv[4]))
        return
    elif command == "syn":
        result = syn(address, port, int(sys.argv[4]), int(sys.argv[5], 0),
                     int(sys.argv[6]))
    elif command == "race":
        result = race(address, port, int(sys.argv[4]), float(sys.argv[5]))
    elif command == "alternate":
        result = alternate(address.split(","), port, float(sys.argv[4]))
    elif command == "hold":
        result = hold(address, port, int(sys.argv[4]), float(sys.argv[5]),
                      *[float(a) for a in sys.argv[6:7]])
    else:
        sys.exit("unknown command " + command)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
