#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A two-port Ethernet bridge in userspace that delays one direction: the
stand-in for netem, which this kernel lacks (and there is no fq for an EDT
delay either).

delay.py INSIDE OUTSIDE MILLISECONDS

Every frame arriving on OUTSIDE is sent out of INSIDE MILLISECONDS later,
in order; every frame arriving on INSIDE goes out of OUTSIDE at once. Prints "ready"
once both ports are open; runs until killed.

A frame sent by a host of this machine may arrive with its TCP checksum
left to an offload that never happens (CHECKSUM_PARTIAL crossed the veth):
IPv4 TCP checksums are recomputed before a frame is sent on, so the
receiving kernel accepts it."""
import heapq
import select
import socket
import struct
import sys
import time

from client import checksum

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def fix_tcp_checksum(frame):
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return frame
    header_length = (frame[14] & 0x0f) * 4
    total_length = struct.unpack_from("!H", frame, 16)[0]
    l4 = 14 + header_length
    end = 14 + total_length
    if end > len(frame) or end - l4 < 20:
        return frame
    segment = bytearray(frame[l4:end])
    segment[16:18] = b"\0\0"
    pseudo = frame[26:34] + struct.pack("!BBH", 0, 6, len(segment))
    segment[16:18] = struct.pack("!H", checksum(pseudo + bytes(segment)))
    return frame[:l4] + bytes(segment) + frame[end:]


def port(name):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((name, 0))
    sock.setblocking(False)
    return sock


def main():
    inside, outside = port(sys.argv[1]), port(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    waiting, order = [], 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, waiting[0][0] - time.monotonic()) if waiting else 1.0
        readable, _, _ = select.select([inside, outside], [], [], timeout)
        for sock in readable:
            while True:
                try:
                    frame, address = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue  # our own sending, seen on the port
                if sock is inside:
                    try:
                        outside.send(fix_tcp_checksum(frame))
                    except OSError:
                        pass
                else:
                    order += 1
                    heapq.heappush(waiting, (time.monotonic() + delay, order,
                                             fix_tcp_checksum(frame)))
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            try:
                inside.send(heapq.heappop(waiting)[2])
            except OSError:
                pass


if __name__ == "__main__":
    main()
