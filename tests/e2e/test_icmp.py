# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""ICMP too-big through the LB: a router's "fragmentation needed" (or
ICMPv6 "packet too big") about a backend's reply reaches that backend,
whose kernel lowers the path MTU to the client (a route exception, seen in
`ip route get`)."""
import subprocess

from fixtures import IMPORT_CHECKSUM
from harness import BACKENDS, BACKENDS_V6, CLIENT, PYTHON, check, test

# on every backend's loopback (topology.sh)
VIP = {4: "10.77.100.3", 6: "fd77:100::3"}
CLIENT_ADDRESS = {4: CLIENT, 6: "fd77::2"}
PORT = 80
MTU = {4: 1300, 6: 1400}

# In the client's namespace: "hello PORT" sends one datagram from PORT to
# the VIP (so the LB stores the flow) and prints the backend's name from its
# answer; "icmp PORT..." is a "router" (the client's own address: the LB
# takes any source) sending a too-big about the backend's replies
# VIP:80 -> client:PORT.
SEND = IMPORT_CHECKSUM + r"""
import socket, struct, sys
vip, port, client, mtu = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
command, ports = sys.argv[5], [int(p) for p in sys.argv[6:]]
v6 = ":" in vip
family = socket.AF_INET6 if v6 else socket.AF_INET

if command == "hello":
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((client, ports[0]))
    udp.settimeout(3)
    udp.sendto(b"hello", (vip, port))
    print(udp.recvfrom(100)[0].decode())
    sys.exit(0)
if v6:
    # the kernel sums an ICMPv6 raw socket's messages itself
    raw = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    raw = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for client_port in ports:
    if v6:
        quoted = struct.pack("!IHBB16s16s", 0x60000000, 1460, 17, 63,
                             socket.inet_pton(family, vip),
                             socket.inet_pton(family, client))
        header = struct.pack("!BBHI", 2, 0, 0, mtu)
    else:
        quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0x4000, 63,
                             17, 0, socket.inet_aton(vip),
                             socket.inet_aton(client))
        quoted = quoted[:10] + struct.pack("!H", checksum(quoted)) + quoted[12:]
        header = struct.pack("!BBHHH", 3, 4, 0, 0, mtu)
    quoted += struct.pack("!HHHH", port, client_port, 1480, 0)
    icmp = header + quoted
    if not v6:
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    raw.sendto(icmp, (vip, 0))
"""


def route_mtu(lab, family, backend):
    """The path MTU the backend's kernel has for the client, or None."""
    out = subprocess.run(["ip", "netns", "exec", lab.ns(backend), "ip",
                          "-%d" % family, "route", "get",
                          CLIENT_ADDRESS[family]],
                         capture_output=True, text=True).stdout
    words = out.split()
    return int(words[words.index("mtu") + 1]) if "mtu" in words else None


def predicted_backend(lab, family, vip, port):
    explained = lab.json("explain", vip, CLIENT_ADDRESS[family], str(port))
    names = {address: name for name, address in
             (BACKENDS if family == 4 else BACKENDS_V6).items()}
    return names.get(explained["new_flow"]["backend"])


def client(lab, family, *args):
    result = subprocess.run(
        ["ip", "netns", "exec", lab.ns("client"), PYTHON, "-c", SEND,
         VIP[family], str(PORT), CLIENT_ADDRESS[family], str(MTU[family])] +
        [str(a) for a in args],
        capture_output=True, text=True, timeout=30)
    check(result.returncode == 0, "client: " + result.stderr[-300:])
    return result.stdout


def flush_path_mtus(lab, family):
    """Forget every backend's learnt path MTUs: the lab's other tests
    should not run with ours, nor we with theirs."""
    for name in BACKENDS:
        subprocess.run(["ip", "netns", "exec", lab.ns(name), "ip",
                        "-%d" % family, "route", "flush", "cache"],
                       capture_output=True)


def too_big_lowers_the_path_mtu(lab, family):
    flush_path_mtus(lab, family)
    try:
        check_too_big(lab, family)
    finally:
        flush_path_mtus(lab, family)


def check_too_big(lab, family):
    vip = ("%s:%d/udp" if family == 4 else "[%s]:%d/udp") % (VIP[family], PORT)
    lab.service(vip, {"blue": ["blue1", "blue2"], "green": ["green1", "green2"]},
                v6=family == 6)
    stored_port, unstored_port = 40123, 40124
    stored = client(lab, family, "hello", stored_port).split()[0]
    # the weights move on: a new packet of the stored flow would now go to
    # green, so only the flow table can send its ICMP to blue
    lab.ok("switch", vip, "green")
    unstored = predicted_backend(lab, family, vip, unstored_port)
    check(predicted_backend(lab, family, vip, stored_port) != stored,
          "the stored flow would stay on %s" % stored)
    before = lab.json("stats", vip)["global"]
    client(lab, family, "icmp", stored_port, unstored_port)
    after = lab.json("stats", vip)["global"]
    mtus = {name: route_mtu(lab, family, name) for name in BACKENDS}
    print("     flow on %s (stored), flow predicted for %s (not stored); path MTU to the client: %s"
          % (stored, unstored, mtus))
    for reason in ("forward_icmp_too_big_stored_flow", "forward_icmp_too_big_new_choice"):
        check(after[reason] == before[reason] + 1,
              "%s: %d -> %d" % (reason, before[reason], after[reason]))
    lowered = {name for name, mtu in mtus.items() if mtu == MTU[family]}
    check(lowered == {stored, unstored}, "MTU %d on %s, want %s" % (
        MTU[family], sorted(lowered), sorted({stored, unstored})))


@test
def frag_needed_lowers_the_backends_path_mtu(lab):
    """ICMP frag-needed reaches the flow's backend, stored or not, and its kernel lowers the PMTU"""
    too_big_lowers_the_path_mtu(lab, 4)


@test
def packet_too_big_lowers_the_backends_path_mtu(lab):
    """ICMPv6 packet-too-big reaches the flow's backend, stored or not, and its kernel lowers the PMTU"""
    too_big_lowers_the_path_mtu(lab, 6)
