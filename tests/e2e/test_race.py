# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Switches landing inside handshakes: real TCP clients open connections
without pause while the service switches blue -> green -> blue ... and the
handshakes are slow enough that many of them straddle a switch.

The clients sit behind a delay box (delay.py, userspace: this kernel has no
netem): every frame towards them arrives the delay late, so between a SYN
passing the LB and the handshake's ACK passing it lie the delay and more.
The box and the clients live in namespaces of their own, PREFIX-rdelay and
PREFIX-rclient, plugged into the lab's bridge; the lab's own client is
untouched."""
import json
import os
import random
import subprocess
import time

from harness import PYTHON, ROOT, check, test

VIP = "10.77.100.1:80/tcp"
SLOW_CLIENT = "10.77.0.3"
# at least this much delay; more when a switch command itself is slow (a
# sanitized build's splitctl takes ~50 ms), so that whole commands still fit
# inside handshakes
MIN_DELAY_MS = 60
WORKERS = 16
SECONDS = 14
# how long after its timestamp a client's SYN may leave (and how long before
# the timestamp after connect() its ACK may have left): scheduling slack
SLACK = 0.010


def run(*command):
    subprocess.run(list(command), check=True, capture_output=True, timeout=20)


def switch_command_ms(lab):
    """The median time of a switch command on this build and machine."""
    durations = []
    for _ in range(5):
        issued = time.monotonic()
        lab.ok("switch", VIP, "blue")
        durations.append(time.monotonic() - issued)
    return 1000 * sorted(durations)[len(durations) // 2]


def add_slow_client(lab, delay_ms):
    """The delay box and the client namespace behind it; the box's process."""
    box, client = lab.ns("rdelay"), lab.ns("rclient")
    run("ip", "netns", "add", box)
    run("ip", "netns", "add", client)
    run("ip", "netns", "exec", box, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1")
    run("ip", "link", "add", "eth0", "netns", client, "type", "veth", "peer", "name",
        "inside", "netns", box)
    run("ip", "link", "add", "outside", "netns", box, "type", "veth", "peer", "name",
        "p-race", "netns", lab.ns("sw"))
    run("ip", "-n", lab.ns("sw"), "link", "set", "p-race", "master", "br0", "up")
    run("ip", "-n", box, "link", "set", "inside", "up")
    run("ip", "-n", box, "link", "set", "outside", "up")
    run("ip", "-n", client, "link", "set", "lo", "up")
    run("ip", "-n", client, "addr", "add", SLOW_CLIENT + "/24", "dev", "eth0")
    run("ip", "-n", client, "link", "set", "eth0", "up")
    # complete checksums, as the lab's client sends them (XDP forwards
    # frames as they are)
    run("ip", "netns", "exec", client, "ethtool", "-K", "eth0", "tx", "off")
    run("ip", "-n", client, "route", "add", "10.77.100.0/24", "via", "10.77.0.1")
    process = subprocess.Popen(
        ["ip", "netns", "exec", box, PYTHON, os.path.join(ROOT, "tests/e2e/delay.py"),
         "inside", "outside", str(delay_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    check(line == "ready", "the delay box did not start: %r" % line)
    return process


def remove_slow_client(lab, box):
    if box:
        box.kill()
        box.wait(timeout=10)
    for name in ("rclient", "rdelay"):
        subprocess.run(["ip", "netns", "del", lab.ns(name)], check=False,
                       capture_output=True)


def pool_counters(lab):
    stats = lab.json("stats", VIP)
    return {p["pool"]: p for v in stats["vips"] for p in v["pools"]}


def pool_of(server):
    return server.rstrip("0123456789") if server else None


def route_at(switches, moment):
    """The live color at moment, or None when a switch may have been
    writing then (between its command's start and end)."""
    color = "blue"
    for issued, done, target in switches:
        if issued <= moment <= done:
            return None
        if done < moment:
            color = target
    return color


def switches_inside(switches, first, last):
    """Switches whose whole command ran within (first, last) and those that
    merely overlap it."""
    inside = [s for s in switches if first < s[0] and s[1] < last]
    overlapping = [s for s in switches if s[0] < last and first < s[1]]
    return inside, overlapping


@test
def switches_inside_handshakes(lab):
    """race: switch blue <-> green again and again while slow handshakes are under way, 0 broken, none moved"""
    lab.service(VIP, {"blue": ["blue1", "blue2"], "green": ["green1", "green2"]})
    box = clients = None
    try:
        delay_ms = max(MIN_DELAY_MS, int(3 * switch_command_ms(lab)))
        box = add_slow_client(lab, delay_ms)
        before = pool_counters(lab)
        clients = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("rclient"), PYTHON,
             os.path.join(ROOT, "tests/e2e/client.py"), "race", "10.77.100.1", "80",
             str(WORKERS), str(SECONDS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = clients.stdout.readline().strip()
        check(line == "ready", "the clients did not start: %r" % line)
        started = time.monotonic()
        # switches at random moments, so they land anywhere in a handshake
        randomness, color, switches = random.Random(11), "blue", []
        time.sleep(0.3)
        while time.monotonic() < started + SECONDS - 0.3:
            color = "green" if color == "blue" else "blue"
            issued = time.monotonic()
            lab.ok("switch", VIP, color)
            switches.append((issued, time.monotonic(), color))
            time.sleep(randomness.uniform(0.0, 0.1))
        out, err = clients.communicate(timeout=60)
        check(clients.returncode == 0, "the clients failed: " + err[-500:])
        connections = json.loads(out)["connections"]
        after = pool_counters(lab)
    finally:
        if clients and clients.poll() is None:
            clients.kill()
            clients.wait()
        remove_slow_client(lab, box)

    broken = [c for c in connections if c[1] is None or c[3].startswith("error")]
    moved = [c for c in connections if c not in broken and c[2] != c[3]]
    straddled = possibly = determined = 0
    wrong_pool = []
    for c in connections:
        if c in broken:
            continue
        # the SYN passes the LB just after started, the ACK just before
        # connected: the handshake's window at the LB
        inside, overlapping = switches_inside(switches, c[0] + SLACK, c[1] - SLACK)
        straddled += bool(inside)
        possibly += bool(overlapping)
        syn_route = route_at(switches, c[0])
        if syn_route and syn_route == route_at(switches, c[0] + SLACK):
            determined += 1
            if pool_of(c[2]) != syn_route:
                wrong_pool.append((c, syn_route))
    served = {}
    for c in connections:
        if c not in broken:
            served[pool_of(c[2])] = served.get(pool_of(c[2]), 0) + 1
    handshakes = {pool: after[pool]["handshakes"] - before[pool]["handshakes"]
                  for pool in ("blue", "green")}
    durations = sorted(s[1] - s[0] for s in switches)
    handshake_times = sorted(c[1] - c[0] for c in connections if c[1])
    print("     %d switches (splitctl %.0f ms median), %d connections from %d clients, "
          "handshake %.0f ms median at the client (delay %d ms)" % (
              len(switches), 1000 * durations[len(durations) // 2], len(connections),
              WORKERS, 1000 * handshake_times[len(handshake_times) // 2], delay_ms))
    print("     %d handshakes straddled a whole switch command, %d overlapped one; "
          "%d broken, %d changed backend, %d of %d with a known SYN-time route on "
          "another pool" % (straddled, possibly, len(broken), len(moved),
                            len(wrong_pool), determined))
    print("     served by pool %s; LB handshakes per pool %s" % (served, handshakes))
    check(not broken, "broken connections: %s" % broken[:3])
    check(not moved, "connections greeted by one backend, answered by another: %s"
          % moved[:3])
    check(not wrong_pool, "connections not served by the pool live at their SYN: %s"
          % wrong_pool[:3])
    check(handshakes == {pool: served.get(pool, 0) for pool in ("blue", "green")},
          "the LB's handshakes per pool %s, the servers' %s" % (handshakes, served))
    check(straddled >= 50, "only %d handshakes straddled a switch: the race was not run"
          % straddled)
